/* SPDX-License-Identifier: BSD-3-Clause */
/* caps.h — every limit and timer of mxray in one place, each with its reason.
 *
 * Memory must depend on concurrent flows, never on the size of the input:
 * these caps bound it, and every time one is hit a counter in the stats says so.
 */
#ifndef MX_CAPS_H
#define MX_CAPS_H

/* Flows tracked at once.  A busy gateway has a few hundred SMTP connections
 * open; 65536 leaves room for a SYN flood.  What a flow costs: mx_flow is
 * ~1.1 KB with one SYN and one ladder step inline; SYN retries, ladder
 * steps (up to 32), the in-flight rings (~0.5 KB a direction that sends
 * data) are allocated as they come; one with an SMTP dialogue adds struct
 * mx_smtp (~1.5 KB), its strings and, while open, two MX_SMTP_LINE_MAX line
 * buffers (released when it closes): ~1.2 KB for SYNs only, ~5-6 KB in a
 * dialogue.  A full table of flood SYNs is ~85 MB; the whole run at most
 * ~126 MB in any format (bench/RESULTS.md); --max-flows lowers it.  When
 * full, the least recently active flow is finished early (judged on what it
 * has) and counted as evicted. */
#define MX_MAX_FLOWS 65536

/* A flow with no packet for this long is finished.  Postfix's longest
 * default wait (smtp_data_done_timeout) is 600 s; RFC 5321 4.5.3.2 allows
 * 10 min for the final reply, so 15 min idle means the client gave up. */
#define MX_FLOW_IDLE_US (900LL * 1000000)

/* A flow whose client sent only SYNs and got nothing back (no SYN-ACK,
 * no RST, no ICMP error) is finished after this long without a packet:
 * the client has given up by then.  Linux's tcp_syn_retries = 6 (the
 * default) sends the last SYN 63 s after the first and gives up 64 s
 * later; Windows gives up after 21 s; Postfix's smtp_connect_timeout is
 * 30 s.  Waiting the full MX_FLOW_IDLE_US instead kept 15 min of
 * unanswered SYNs in the table (a long capture's largest share). */
#define MX_FLOW_SYN_IDLE_US (180LL * 1000000)

/* A closed flow (both FINs or a RST), or one that either side has closed
 * with a FIN, is kept this long after its last packet so that late
 * retransmissions, the other side's last words and injected packets
 * racing the RST (Weaver/Sommer/Paxson, NDSS 2009) still reach it. */
#define MX_FLOW_CLOSED_LINGER_US (30LL * 1000000)

/* `mxray live` ends a quiet session after the time its client would wait
 * in that phase, Postfix's defaults: smtp_connect_timeout 30 s;
 * smtp_helo/mail/rcpt/starttls/quit_timeout 300 s; smtp_data_xfer_timeout
 * 180 s; smtp_data_done_timeout 600 s (RFC 5321 4.5.3.2.6: 10 min).
 * Options override them. */
#define MX_LIVE_IDLE_CONNECT_US (30LL * 1000000)
#define MX_LIVE_IDLE_DIALOGUE_US (300LL * 1000000)
#define MX_LIVE_IDLE_DATA_US (180LL * 1000000)
#define MX_LIVE_IDLE_DATA_END_US (600LL * 1000000)

/* SYN retransmissions remembered per flow: the schedule is evidence
 * (Linux 1-3-7-15 s, Linux >= 6.5 flat 1 s, Windows 3-6 s); 16 covers
 * the longest default (tcp_syn_retries = 6). */
#define MX_SYN_TIMES_MAX 16

/* Zeek's history string repeats a letter at most for powers of ten
 * (retransmission counts); 32 letters hold any realistic connection. */
#define MX_HISTORY_MAX 32

/* Recent unACKed segments remembered per direction, to learn the largest
 * segment size the peer did ACK (a PMTU black hole passes small ones). */
#define MX_INFLIGHT_RING 16

/* Out-of-order data held per direction before it is dropped and the gap
 * marked: a window's worth of MSS-sized segments on a LAN-speed path. */
#define MX_STREAM_OOO_SEGMENTS 16
#define MX_STREAM_OOO_BYTES (64 * 1024)

/* Longest SMTP line kept for parsing.  RFC 5321 4.5.3.1.4/5 limit command
 * lines to 512 and reply lines to 512 octets; longer lines are cut and
 * counted, never a reason to grow a buffer. */
#define MX_SMTP_LINE_MAX 1024

/* Stream ranges per direction the evidence file may keep (smtp.h
 * mx_smtp_keep).  A plain dialogue is a handful (consecutive lines merge;
 * each body splits them); TLS adds one per record header.  Past the cap
 * the rest of that direction blanks in the evidence, counted. */
#define MX_SMTP_KEEP_SPANS 256

/* Destination rows (one per server address) in the reports.  A gateway
 * talks to a few thousand MX hosts a day; 1M SYNs to 1M addresses made a
 * 1M-row table (~600 MB).  Past the cap a new address gets no row: its
 * sessions count in the totals and in destination_sessions_dropped, which
 * every report names. */
#define MX_MAX_DESTINATIONS 65536

/* Destination rows and sections the Markdown and HTML reports list (the
 * failing first); the rest are counted ("N more destinations not listed"). */
#define MX_TICKET_DESTINATION_ROWS 500
/* Failure sections (one per kind, culprit and server, each with a worked
 * example and its ladder, a few KB) the Markdown and HTML reports write;
 * 1M servers made 5,000 of them (24 MB of HTML).  The rest are counted. */
#define MX_TICKET_GROUP_SECTIONS 200
/* Failing destinations the ticket's one-paragraph answer phrases. */
#define MX_TICKET_ANSWER_DESTINATIONS 20

/* Replies remembered per session (for latency and reports); a session
 * that pipelines thousands of RCPTs keeps the first ones and counts the rest. */
#define MX_SMTP_REPLIES_MAX 64
#define MX_SMTP_EXTENSIONS_MAX 32
#define MX_SMTP_PENDING_MAX 64

/* EHLO/HELO commands remembered: EHLO, a HELO fallback, a second EHLO
 * after a 5xx; more than that is a client looping, counted in n_helo. */
#define MX_SMTP_HELO_MAX 4
/* Stored text (already escaped) is cut here: 512-octet reply lines
 * (RFC 5321 4.5.3.1.5) escape to at most 4x, but a report needs a line,
 * not a dump. */
#define MX_SMTP_TEXT_MAX 512
/* Masked keywords remembered (they are also in the extension list). */
#define MX_SMTP_MASKED_MAX 4

/* A capture that ends this long after a command with no reply and no
 * close from the client counts as a failure (low confidence) rather than
 * incomplete: a healthy server answers within seconds. */
#define MX_SMTP_STALL_US (30LL * 1000000)
/* A capture that ends less than this after the client's close, with nothing
 * from the server after it, ends before the server could answer: a second
 * is several round trips on any path a mail gateway uses. */
#define MX_CAPTURE_TAIL_US (1LL * 1000000)

/* A greeting later than this after the handshake earns slow_greeting:
 * resolvers retry after 5 s (glibc RES_TIMEOUT), so a server's PTR lookup
 * of the client shows as 5, 10, 15 s delays. */
#define MX_SLOW_GREETING_US (4LL * 1000000)

/* ---- diagnosis thresholds ---------------------------------------------- */

/* One unanswered SYN and a capture that ends less than this after it is
 * too early to call a timeout: Linux sends its first SYN retry after 1 s,
 * Windows after 3 s. */
#define MX_SYN_TOO_EARLY_US (3LL * 1000000)
/* A host-unreachable at least this long after the SYN comes from the last
 * router giving up on ARP/ND for the server (Linux: 3 s), so the server's
 * own LAN has no such host; sooner, it is a routing problem. */
#define MX_ICMP_ARP_FAILED_US (2500LL * 1000)
/* IP ID steps up to this between one sender's packets are a counter (a
 * host's global counter moves by its other traffic in between); a RST
 * whose ID jumps further, or repeats, was not counted by that sender. */
#define MX_IPID_STEP_MAX 256

/* Servers whose hop distance is remembered across sessions.  A gateway
 * talks to a few thousand MX hosts a day; past the cap new servers simply
 * get no cross-session baseline (said in the verdict, never guessed). */
#define MX_MAX_BASELINES 65536

/* DNS queries remembered (a ring: the oldest are overwritten).  Evidence
 * looks 60 s before a session's first SYN; 4096 queries cover that on a
 * busy gateway's resolver traffic.  A response is matched against the
 * last MX_DNS_MATCH_WINDOW queries only: resolvers answer in milliseconds
 * to seconds, not thousands of queries later. */
#define MX_DNS_QUERIES 4096
#define MX_DNS_MATCH_WINDOW 512
/* Names remembered per answered address (newest kept): an MX host has one
 * or two; a shared hosting address with more keeps its latest ones. */
#define MX_DNS_NAMES_PER_ADDR 4
/* A query unanswered this long is a timeout (glibc's RES_TIMEOUT is 5 s);
 * one answered after MX_DNS_SLOW_US is slow. */
#define MX_DNS_TIMEOUT_US (5LL * 1000000)
#define MX_DNS_SLOW_US (1LL * 1000000)
#define MX_DNS_WINDOW_US (60LL * 1000000)

/* Path quality warnings.  Retransmitted data segments (SYN retries
 * aside) earn `retransmissions` from this count, or from this share of
 * the data segments; an RTT above MX_SLOW_PATH_RTT_US (more than the
 * longest intercontinental paths, ~300 ms) earns `slow_path`. */
#define MX_RETRANS_WARN_COUNT 3
#define MX_RETRANS_WARN_PERCENT 5
/* The share alone says little of a handful of segments: it counts from
 * this many data segments on. */
#define MX_RETRANS_WARN_MIN_SEGMENTS 20
#define MX_SLOW_PATH_RTT_US (400LL * 1000)

/* Packets kept per session for ladder diagrams: how it started and how
 * it ended, which is where the decisive packets are. */
#define MX_LADDER_HEAD 16
#define MX_LADDER_TAIL 16

/* Evidence entries per verdict: enough for the decisive frames. */
#define MX_EVIDENCE_MAX 12

/* `read` (every format) holds a refusal judged before the server's own hop
 * was known, to judge it again with the whole capture's baselines before it
 * is counted or written (mx_analyzer_hold_refusals); past
 * this many the oldest is judged with what is known by then and written
 * (a few MB: memory stays flat on long captures full of refusals). */
#define MX_HELD_REFUSALS 1024

/* Sessions listed per destination in the Markdown and HTML reports; the
 * rest are counted ("N more sessions to this server"). */
#define MX_TICKET_SESSION_ROWS 200

/* Sessions the Markdown and HTML reports keep (each with its ladder, a
 * few KB): a ticket that lists more is not read by anyone, and keeping
 * every session made memory grow with the capture.  Failures, warnings
 * and incomplete sessions are kept first; the rest are counted. */
#define MX_TICKET_SESSIONS_KEPT 5000

/* Sessions handed to the writer thread at a time, and batches in flight.
 * Sessions finish in bursts (idle timers expire many at once): up to
 * MX_WRITER_BATCH x MX_WRITER_BATCHES (2,048) of them, a few MB, may wait
 * to be written, so a burst does not stall the reader.  The threads meet
 * once per batch. */
#define MX_WRITER_BATCH 32
#define MX_WRITER_BATCHES 64

/* `--maillog`: records (delivery and connection lines) kept from the
 * MTA's logs, each ~300 bytes with its strings: a day of a busy gateway's
 * deliveries fits; past it lines are counted as dropped.  Log lines
 * longer than MX_MAILLOG_LINE_MAX are parsed on their first bytes (a
 * Postfix status line is a few hundred); texts kept are cut at
 * MX_MAILLOG_TEXT_MAX. */
#define MX_MAILLOG_RECORDS_MAX 200000
#define MX_MAILLOG_LINE_MAX 4096
#define MX_MAILLOG_TEXT_MAX 400
/* Sessions the join remembers (~150 bytes each): past it, later sessions
 * are counted, not joined. */
#define MX_MAILLOG_SESSIONS_MAX 200000
/* A log line comes after the connection it reports: at most the longest
 * wait of the MTA's (Postfix smtp_data_done_timeout 600 s) after the
 * session's last packet, and not before its first one (with a
 * MX_MAILLOG_SLACK_US for the log's one-second resolution). */
#define MX_MAILLOG_AFTER_US (660LL * 1000000)
#define MX_MAILLOG_SLACK_US (2LL * 1000000)
/* `live --maillog`: log records remembered (a ring; a few minutes of a
 * busy gateway's deliveries, ~600 bytes each) and finished sessions held
 * for their log line (past it the oldest goes out without). */
#define MX_LIVE_MAILLOG_RECORDS 4096
#define MX_LIVE_MAILLOG_HELD 4096
/* How long a finished session waits for its log line by default: the log
 * line of a connect timeout comes smtp_connect_timeout (Postfix: 30 s)
 * after the first SYN. */
#define MX_LIVE_MAILLOG_WAIT_US (60LL * 1000000)

/* ---- decode ---------------------------------------------------------- */

/* VLAN tags walked: more than this is not a real frame (QinQ uses two). */
#define MX_DECODE_VLAN_TAGS_MAX 4
/* IPv6 extension headers walked before giving up: RFC 8200 expects few. */
#define MX_DECODE_IPV6_EXT_MAX 8

/* ---- DNS records (dns.h mx_dns_query: fixed size, in a ring) --------- */

/* A name is at most 255 octets (RFC 1035 2.3.4); answers keep the first
 * few addresses and MX names, which is all the evidence needs. */
#define MX_DNS_NAME_MAX 256
#define MX_DNS_ADDRS_MAX 4
#define MX_DNS_MX_MAX 2
#define MX_DNS_MX_NAME_MAX 128
/* Compression pointers followed per name: a real name has a handful. */
#define MX_DNS_POINTERS_MAX 16

/* ---- evidence capture and redaction ---------------------------------- */

/* Kept bytes (command and reply lines) remembered per session direction
 * to compare the copies of a segment; past it they blank (safe side). */
#define MX_EVIDENCE_KEPT_MAX (16u * 1024 * 1024)
/* A quoted local part longer than this is not searched back for its
 * opening quote (RFC 5321 4.5.3.1.1: 64 octets). */
#define MX_REDACT_QUOTED_MAX 256

/* ---- live ------------------------------------------------------------ */

/* How often the timers are looked at: verdicts come at most this late. */
#define MX_LIVE_TICK_US (250LL * 1000)
/* Whole frames, as tcpdump takes them by default: SMTP payload is the evidence. */
#define MX_LIVE_SNAPLEN 262144

/* ---- probe ----------------------------------------------------------- */

/* Defaults of the command line.  30 hops is what traceroute and
 * tcptraceroute climb to; 3 probes per hop are theirs too. */
#define MX_PROBE_MAX_TTL_DEFAULT 30
#define MX_PROBE_PER_HOP_DEFAULT 3
#define MX_PROBE_PER_HOP_MAX 10
/* Seconds to wait for the answers of one TTL step: an interactive tool's
 * wait (DESIGN.md), long enough for intercontinental RTTs. */
#define MX_PROBE_WAIT_DEFAULT_S 2.0
#define MX_PROBE_WAIT_MAX_S 10.0
/* Probes are sent at least this far apart: routers rate-limit their ICMP
 * errors (Linux: net.ipv4.icmp_ratelimit, a token bucket per destination),
 * and a burst of TTL-limited SYNs would lose time-exceeded answers. */
#define MX_PROBE_INTERVAL_US (50 * 1000)
/* Consecutive TTL steps with no answer at all before the ladder stops
 * (scamper's "gap limit" idea): beyond a silent drop nothing will answer,
 * and 5 steps rule out one or two routers that simply do not send
 * time-exceeded. */
#define MX_PROBE_GAP_LIMIT 5
/* The ladder as a whole never takes longer than this, so that the probe
 * (ladder + SMTP dialogue) ends within about a minute by default. */
#define MX_PROBE_LADDER_BUDGET_US (40LL * 1000000)
/* Connect and each SMTP reply: at most 30 s (DESIGN.md: an interactive
 * tool's waits, not an MTA's 5-minute timeouts). */
#define MX_PROBE_SMTP_TIMEOUT_DEFAULT_S 30
#define MX_PROBE_SMTP_TIMEOUT_MAX_S 30
/* After the dialogue the capture runs on this long, so that the server's
 * FIN/ACK and any late ICMP error are in it. */
#define MX_PROBE_CAPTURE_TAIL_US (700 * 1000)
/* Frames kept from the dialogue: a greeting, EHLO and QUIT take ~20; a
 * server that floods us is cut here (and said so). */
#define MX_PROBE_CAPTURE_MAX_FRAMES 2000
/* The ladder's capture: IP + ICMP + quoted IP/TCP headers, with room for IPv6. */
#define MX_PROBE_LADDER_SNAPLEN 256
/* The dialogue's capture: whole frames, the analyzer reassembles the SMTP stream. */
#define MX_PROBE_DIALOGUE_SNAPLEN 65535
/* Dialogue lines kept for the text report. */
#define MX_PROBE_TRANSCRIPT_MAX 200

#endif
