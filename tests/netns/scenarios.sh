# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# scenarios.sh -- one function per capture scenario, plus sanity checks.
#
# Usage (from make-pcaps.sh / check-scenarios.sh):
#     . scenarios.sh
#     run_scenario NAME OUTDIR     # fresh namespaces, writes OUTDIR/NAME.pcap + .expect
#     sanity_scenario NAME OUTDIR  # checks the capture shows what the scenario intends
#
# Each scenario function sc_<name> runs inside its own subshell with lib.sh
# sourced and a teardown trap installed.  It must:
#   - build the network (setup), start servers, start the capture,
#   - run the client, stop the capture,
#   - write the expectation file with `expect key=value...`,
#   - return non-zero when the client did not behave as the scenario intends.
# The verdict fields in the .expect files are known by construction.

SCENARIOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Ordered by priority; make-pcaps and the checker run them in this order.
SCENARIOS=(
	clean-v4 clean-v6 syn-drop-v4 syn-drop-v6 refused admin-prohibited
	net-unreachable host-unreachable-fw host-down rst-forged-syn rst-forged-syn-baseline rst-mid-data
	no-greeting greeting-421 greeting-554 ehlo-dropped ehlo-noreply ehlo-rejected
	masked-greeting tls-stripped mail-loop mail-loop-hops mail-rejected relay-denied
	data-body-dropped dot-unanswered pmtu-blackhole multi-session starttls slow-lossy
	slow-greeting-ptr gateway-ptr-timeout ipv6-broken smtps-465 auth-rejected mx-fallback
	postfix-syn-timeout postfix-refused postfix-rst-mid-data postfix-greeting-421 postfix-ehlo-silent
	exim-syn-timeout exim-refused exim-greeting-421 exim-delivered
	postfix-icmp-unreachable postfix-greeting-554 postfix-data-stall postfix-dot-unanswered postfix-syslog
	postfix-late-rst
	exim-icmp-unreachable exim-rst-mid-data exim-ehlo-silent exim-data-stall exim-greeting-554
	exim-mx-fallback
	rst-forged-syn-first
	offload-bigtcp pmtu-drop-long pmtu-icmp data-stop-1k one-direction
	loopback-filter snaplen-68 capture-cut-data capture-ends-after-fin
	tls-on-plain-465 not-smtp
	redact-pmtu-icmp redact-cut-body redact-cut-auth redact-bpf-drop
)

# ------------------------------------------------------------------ helpers
# expect key=value... : append to the scenario's .expect file
expect() {
	local kv
	for kv in "$@"; do printf '%s\n' "$kv" >>"$EXPECT_FILE"; done
}

# mxray_args ARG...: extra mxray options the capture needs (NAME.args beside it)
mxray_args() { printf '%s\n' "$*" >"${EXPECT_FILE%.expect}.args"; }

# begin NAME: common start of a scenario
begin() {
	setup || return 1
	warm_neighbours
}

# client_ok / client_failed: check swaks' exit status against the intention
want_rc() { # allowed rc values...
	local r
	for r in "$@"; do [ "$SWAKS_RC" = "$r" ] && return 0; done
	log "swaks exited $SWAKS_RC, wanted one of: $*"
	sed 's/^/  swaks: /' "$WORK/swaks.out" >&2
	return 1
}
want_fail() {
	[ "$SWAKS_RC" != 0 ] && return 0
	log "swaks succeeded, but the scenario should make it fail"
	sed 's/^/  swaks: /' "$WORK/swaks.out" >&2
	return 1
}
want_out() { # pattern: swaks transcript must contain it
	grep -q -- "$1" "$WORK/swaks.out" && return 0
	log "swaks transcript lacks '$1'"
	sed 's/^/  swaks: /' "$WORK/swaks.out" >&2
	return 1
}

finish_capture() { # stop the capture and put it in place
	stop_capture
	cp "$WORK/cap.pcap" "$PCAP_FILE" || return 1
}

r2fw() { nsx "$NS_R2" 10 iptables "$@"; }
r2fw6() { nsx "$NS_R2" 10 ip6tables "$@"; }

# ------------------------------------------------------------------ scenarios

sc_clean_v4() {
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_clean_v6() {
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "[$MX_IP6]:25" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_syn_drop_v4() {
	begin && postfix_start || return 1
	sysctl_ns "$NS_GW" net.ipv4.tcp_syn_linear_timeouts=0
	r2fw -A FORWARD -p tcp --dport 25 --syn -j DROP || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 10
	finish_capture || return 1
	expect outcome=failed kind=syn_timeout phase=connect culprit.role=path
	want_rc 2
}

sc_syn_drop_v6() {
	begin && postfix_start || return 1
	r2fw6 -A FORWARD -p tcp --dport 25 --syn -j DROP || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "[$MX_IP6]:25" --to "user@$RCPT_DOMAIN" --timeout 6
	finish_capture || return 1
	expect outcome=failed kind=syn_timeout phase=connect culprit.role=path
	want_rc 2
}

sc_refused() {
	begin || return 1 # no listener on mx
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=failed kind=connect_refused phase=connect culprit.role=server culprit.ip=$MX_IP4
	want_rc 2 && want_out "refused"
}

sc_admin_prohibited() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-admin-prohibited || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=firewall culprit.ip=$R2A_IP4
	want_rc 2
}

sc_net_unreachable() {
	R1_NO_ROUTE=1 begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 4
	finish_capture || return 1
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=path culprit.ip=$R1A_IP4
	want_rc 2
}

sc_host_unreachable_fw() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-host-unreachable || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 4
	finish_capture || return 1
	# Answered at once: a reject rule, not a failed ARP look-up (that takes 3 s).
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=firewall culprit.ip=$R2A_IP4
	want_rc 2
}

sc_host_down() {
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$GHOST_IP4" --to "user@$RCPT_DOMAIN" --timeout 6
	finish_capture || return 1
	# r2's ARP for the address failed after 3 s: the host is down; the ICMP
	# source (DESIGN.md: culprit.ip of icmp_unreachable) is r2.
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=server culprit.ip=$R2A_IP4
	want_rc 2
}

sc_rst_forged_syn() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 --syn -j REJECT --reject-with tcp-reset || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	# No packet of the server's is in this capture to compare the RST's hop
	# with: mxray must say the role is uncertain (server, confidence low) and
	# not claim more; rst-forged-syn-baseline shows it right with a baseline.
	expect outcome=failed kind=connect_refused phase=connect culprit.role=server culprit.confidence=low
	want_rc 2 && want_out "refused"
}

sc_rst_forged_syn_baseline() {
	# Two sessions to the same server: a clean delivery (the server's own TTL,
	# 62, is the baseline), then r2 starts answering SYNs with forged RSTs (TTL 63).
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	want_rc 0 || return 1
	r2fw -A FORWARD -p tcp --dport 25 --syn -j REJECT --reject-with tcp-reset || return 1
	sleep 0.5
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect session.1.outcome=delivered session.1.kind=ok session.1.phase=none session.1.culprit.role=none
	expect session.2.outcome=failed session.2.kind=connect_refused session.2.phase=connect \
		session.2.culprit.role=firewall session.2.warning=forged_packet
	want_rc 2 && want_out "refused"
}

sc_rst_forged_syn_first() {
	# rst-forged-syn-baseline the other way round: r2 answers the first SYN
	# with a forged RST (TTL 63) before any packet of the server's own is in
	# the capture; then the rule goes and a delivery shows the server's TTL
	# (62).  Before both, the gateway's PTR look-up of the server goes
	# unanswered (as in gateway-ptr-timeout).  The refusal must be judged
	# again with the later baseline before anything counts it, and judging
	# again must keep its dns_timeout warning.
	begin || return 1
	ip -n "$NS_MX" addr add 203.0.113.53/24 dev mx0 || return 1
	blackhole_resolver "$NS_MX" 203.0.113.53
	ns_resolver "$NS_GW" 203.0.113.53 || return 1
	# swaks's look-up of the machine's own name answered locally: 10 s less per run.
	printf '127.0.1.1 %s\n' "$(hostname)" >>"/etc/netns/$NS_GW/hosts" || return 1
	postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 --syn -j REJECT --reject-with tcp-reset || return 1
	start_capture "$WORK/cap.pcap" || return 1
	gw_ptr_lookup_fails || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	{ want_rc 2 && want_out "refused"; } || return 1
	r2fw -D FORWARD -p tcp --dport 25 --syn -j REJECT --reject-with tcp-reset || return 1
	sleep 0.5
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect session.1.outcome=failed session.1.kind=connect_refused session.1.phase=connect \
		session.1.culprit.role=firewall session.1.culprit.hops_from_client=2 session.1.culprit.confidence=high \
		session.1.warning=forged_packet session.1.warning=dns_timeout
	expect session.2.outcome=delivered session.2.kind=ok session.2.phase=none session.2.culprit.role=none \
		session.2.warning=dns_timeout
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_rst_mid_data() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -m string --string "MARKER-RESET" --algo bm \
		-j REJECT --reject-with tcp-reset || return 1
	local body; body=$(body_file body.txt 6000 "MARKER-RESET")
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --body "@$body"
	finish_capture || return 1
	expect outcome=failed kind=reset phase=data culprit.role=firewall warning=forged_packet
	want_fail
}

sc_no_greeting() {
	begin && fake_start silent || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=failed kind=no_greeting phase=greeting culprit.role=server
	want_out "Timeout"
}

sc_greeting_421() {
	begin && fake_start greet421 || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server
	want_out "<\*\* 421"
}

sc_greeting_554() {
	begin && fake_start greet554 || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server
	want_out "<\*\* 554"
}

sc_ehlo_dropped() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -m string --string "EHLO" --algo bm -j DROP || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 4
	finish_capture || return 1
	expect outcome=failed kind=ehlo_no_reply phase=ehlo culprit.role=path
	want_out "Timeout"
}

sc_ehlo_noreply() {
	begin && fake_start noehlo || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 4
	finish_capture || return 1
	expect outcome=failed kind=ehlo_no_reply phase=ehlo culprit.role=server
	want_out "Timeout"
}

sc_ehlo_rejected() {
	begin || return 1
	printf 'nonexistent.invalid 554 5.7.1 Host not found\n' \
		>"$WORK/helo_access"
	postfix_start "smtpd_delay_reject = no" "smtpd_helo_required = yes" \
		"smtpd_helo_restrictions = check_helo_access texthash:$WORK/helo_access, permit" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	nsx "$NS_GW" 20 swaks --ehlo nonexistent.invalid --from "sender@$GW_NAME" \
		--server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 >"$WORK/swaks.out" 2>&1
	SWAKS_RC=$?
	finish_capture || return 1
	expect outcome=rejected kind=ehlo_rejected phase=ehlo culprit.role=server
	want_out "<\*\* 554 5.7.1 <nonexistent.invalid>"
}

sc_masked_greeting() {
	begin && fake_start masked || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none warning=smtp_inspection
	want_rc 0 && want_out "HELO $GW_NAME"
}

sc_tls_stripped() {
	begin && fake_start xxxx || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --tls
	finish_capture || return 1
	expect outcome=failed kind=tls_stripped phase=ehlo culprit.role=firewall warning=smtp_inspection
	want_out "did not advertise STARTTLS"
}

sc_mail_loop() {
	# The server greets with the client's own host name (the MX points back at
	# the gateway); the client, as Postfix would, gives up after EHLO.
	begin && fake_start loop --client-name "$GW_NAME" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --quit-after ehlo
	finish_capture || return 1
	expect kind=mail_loop culprit.role=dns
	want_rc 0 && want_out "250-$GW_NAME"
}

sc_mail_loop_hops() {
	# Postfix refuses a message that carries more Received: headers than
	# hopcount_limit: "554 5.4.0 Error: too many hops" after the final dot.
	begin && postfix_start "hopcount_limit = 5" || return 1
	local d=$WORK/loop.eml i
	{
		for i in 1 2 3 4 5 6; do
			printf 'Received: from %s (%s [%s])\r\n\tby %s with ESMTP id LOOP%d; Wed, 25 Nov 2026 12:00:0%d +0000\r\n' \
				"$GW_NAME" "$GW_NAME" "$GW_IP4" "$MX_NAME" "$i" "$i"
		done
		printf 'From: sender@%s\r\nTo: user@%s\r\nSubject: loop test\r\n\r\nThis message went round in circles.\r\n' \
			"$GW_NAME" "$RCPT_DOMAIN"
	} >"$d"
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --data "@$d"
	finish_capture || return 1
	expect kind=mail_loop culprit.role=dns
	want_out "<\*\* 554 5.4.0 Error: too many hops"
}

sc_mail_rejected() {
	begin || return 1
	printf 'sender@%s REJECT\n' "$GW_NAME" >"$WORK/sender_access"
	postfix_start "smtpd_delay_reject = no" \
		"smtpd_sender_restrictions = check_sender_access texthash:$WORK/sender_access" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=rejected kind=mail_rejected phase=mail culprit.role=server
	want_out "<\*\* 554 5.7.1 <sender@$GW_NAME>: Sender address rejected"
}

# Authenticated, then refused: swaks logs in with AUTH PLAIN (initial
# response) and with AUTH LOGIN (two 334 rounds) to a server that then
# refuses the recipient.  The AUTH exchanges are in the session's packets:
# --evidence must blank them (tests/report-check.py looks for the
# passwords' base64 in the evidence file).
sc_auth_rejected() {
	begin && fake_start auth || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 \
		--auth PLAIN --auth-user "relay@$GW_NAME" --auth-password "AUTHMARKER-plain-s3cret"
	want_out "235 2.7.0" || { finish_capture; return 1; }
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 \
		--auth LOGIN --auth-user "relay@$GW_NAME" --auth-password "AUTHMARKER-login-s3cret"
	finish_capture || return 1
	local n
	for n in 1 2; do
		expect session.$n.outcome=rejected session.$n.kind=rcpt_rejected session.$n.phase=rcpt \
			session.$n.culprit.role=server
	done
	want_out "235 2.7.0" && want_out "<\*\* 550 5.7.1"
}

sc_relay_denied() {
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@elsewhere.example.com" --timeout 5
	finish_capture || return 1
	expect outcome=rejected kind=rcpt_rejected phase=rcpt culprit.role=server
	want_out "<\*\* 554 5.7.1 <user@elsewhere.example.com>: Relay access denied"
}

sc_data_body_dropped() {
	begin && postfix_start || return 1
	sysctl_ns "$NS_R2" net.netfilter.nf_conntrack_acct=1
	r2fw -A FORWARD -p tcp --dport 25 -m connbytes --connbytes 12000: \
		--connbytes-dir original --connbytes-mode bytes -j DROP || return 1
	local body; body=$(body_file body.txt 40000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=failed kind=data_stall phase=data culprit.role=path
	want_out "Timeout"
}

sc_dot_unanswered() {
	begin && fake_start nodot || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6
	finish_capture || return 1
	expect outcome=failed kind=data_stall phase=data_end culprit.role=server
	want_out "Timeout"
}

sc_pmtu_blackhole() {
	MX_LINK_MTU=1280 MX_ADVMSS=1460 begin && postfix_start || return 1
	r2fw -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP || return 1
	local body; body=$(body_file body.txt 20000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=failed kind=data_stall phase=data culprit.role=path warning=pmtu_blackhole
	want_out "Timeout"
}

sc_pmtu_drop_long() {
	# A black hole made by a filter, not an MTU: r2 drops every packet to port
	# 25 longer than 1000 bytes and sends nothing back.  Smaller segments pass:
	# the server SACKs the short tail of the first flight.
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -m length --length 1001:65535 -j DROP || return 1
	local body; body=$(body_file body.txt 20000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=failed kind=data_stall phase=data culprit.role=path warning=pmtu_blackhole
	want_out "Timeout"
}

sc_pmtu_icmp() {
	# The pmtu-blackhole network with the router's fragmentation-needed let
	# through: path MTU discovery works, the client resends in 1240-byte
	# segments and the message is delivered.  No pmtu_blackhole.
	MX_LINK_MTU=1280 MX_ADVMSS=1460 begin && postfix_start || return 1
	local body; body=$(body_file body.txt 20000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none nowarning=pmtu_blackhole
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_data_stop_1k() {
	# A filter that stops the flow: everything after the first 1000 bytes the
	# client sends is dropped, small segments too.  Not a PMTU black hole.
	begin && postfix_start || return 1
	sysctl_ns "$NS_R2" net.netfilter.nf_conntrack_acct=1
	r2fw -A FORWARD -p tcp --dport 25 -m connbytes --connbytes 1000: \
		--connbytes-dir original --connbytes-mode bytes -j DROP || return 1
	local body; body=$(body_file body.txt 20000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=failed kind=data_stall phase=data culprit.role=path nowarning=pmtu_blackhole
	want_out "Timeout"
}

sc_multi_session() {
	begin && postfix_start || return 1
	local big; big=$(body_file big.txt 200000)
	cat >"$WORK/three.py" <<EOF
import smtplib, time
s = smtplib.SMTP("$MX_IP4", 25, local_hostname="$GW_NAME", timeout=10)
for i in range(3):
    s.sendmail("sender@$GW_NAME", ["user%d@$RCPT_DOMAIN" % i],
               "From: sender@$GW_NAME\r\nTo: user@$RCPT_DOMAIN\r\nSubject: message %d of 3\r\n\r\nBody %d\r\n" % (i + 1, i + 1))
    time.sleep(0.8)
s.quit()
EOF
	start_capture "$WORK/cap.pcap" || return 1
	# Sessions start 0.5 s apart so their order (by first SYN) is fixed; they overlap.
	nsbg "$NS_GW" 20 python3 "$WORK/three.py"; local p1=$LAST_PID
	sleep 0.5
	nsbg "$NS_GW" 20 swaks --ehlo "$GW_NAME" --from "sender@$GW_NAME" --server "$MX_IP4" \
		--to "user@$RCPT_DOMAIN" --timeout 8 --body "@$big" >"$WORK/swaks2.out" 2>&1; local p2=$LAST_PID
	sleep 0.5
	nsbg "$NS_GW" 20 swaks --ehlo "$GW_NAME" --from "sender@$GW_NAME" --server "[$MX_IP6]:25" \
		--to "user@$RCPT_DOMAIN" --timeout 8 >"$WORK/swaks3.out" 2>&1; local p3=$LAST_PID
	sleep 0.5
	nsbg "$NS_GW" 20 swaks --ehlo "$GW_NAME" --from "sender@$GW_NAME" --server "$MX_IP4" \
		--to "user@$RCPT_DOMAIN" --timeout 8 >"$WORK/swaks4.out" 2>&1; local p4=$LAST_PID
	local rc=0 p
	for p in $p1 $p2 $p3 $p4; do wait "$p" || rc=1; done
	finish_capture || return 1
	local n
	for n in 1 2 3 4; do
		expect session.$n.outcome=delivered session.$n.kind=ok session.$n.phase=none session.$n.culprit.role=none
	done
	[ $rc = 0 ] || { log "a multi-session client failed"; cat "$WORK"/swaks*.out >&2; return 1; }
}

sc_starttls() {
	begin || return 1
	command -v openssl >/dev/null || { log "openssl is required for starttls"; return 1; }
	nsx "$NS_MX" 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$MX_NAME" -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
		{ log "openssl req failed"; return 1; }
	chmod 644 "$WORK/key.pem"
	postfix_start "smtpd_tls_security_level = may" "smtpd_tls_cert_file = $WORK/cert.pem" \
		"smtpd_tls_key_file = $WORK/key.pem" "smtpd_tls_loglevel = 1" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --tls
	finish_capture || return 1
	# Delivered (swaks sees "250 ... queued" inside TLS), but the capture cannot
	# show the 250: outcome is left out on purpose (delivered or ok, mxray's call).
	# swaks closes without reading the server's TLS close_notify, so the
	# capture ends with a client RST after QUIT: benign.
	expect kind=ok phase=none culprit.role=none
	want_rc 0 && want_out "TLS started" && want_out "250 2.0.0 Ok: queued"
}

sc_slow_lossy() {
	# gw <-> r1 runs through lossyfwd.py: 60 ms each way, and fixed first
	# transmissions dropped (client data segments #4, #9 and #15, the server's
	# data segment #3), so the delivery succeeds after retransmissions.
	SLOW_LINK=1 setup || return 1
	lossy_start --delay 60 --seed 7 --drop-a 4,9,15 --drop-b 3 || return 1
	warm_neighbours
	postfix_start || return 1
	local body; body=$(body_file body.txt 30000)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 30 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 10 --body "@$body"
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none warning=retransmissions
	want_rc 0 && want_out "250 2.0.0 Ok: queued" &&
		[ "$(grep -c dropped "$WORK/lossyfwd.err")" = 4 ] ||
		{ log "lossyfwd: $(cat "$WORK/lossyfwd.err")"; return 1; }
}

# ------------------------------------------------------------------ driver
# run_scenario NAME OUTDIR: fresh namespaces in a subshell; returns 0 on success,
# 3 when the scenario is not implemented, 1 otherwise.
# blackhole_resolver NS ADDR: a "resolver" that takes DNS queries and never
# answers (a bound UDP socket that only reads), as a dead resolver behind a
# firewall looks: queries leave, nothing comes back, no ICMP either.
blackhole_resolver() {
	nsbg "$1" "${FAKE_LIMIT:-60}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    s.recv(4096)
' "$2"
}

# ns_resolver NS ADDR: /etc/resolv.conf inside NS (ip netns exec bind-mounts
# /etc/netns/NS/resolv.conf; teardown removes it), and an /etc/hosts that
# names nobody, so look-ups really go to DNS.  glibc's defaults: 5 s per
# try; one try keeps the scenario short.
ns_resolver() {
	mkdir -p "/etc/netns/$1" &&
	printf 'nameserver %s\noptions timeout:5 attempts:1\n' "$2" >"/etc/netns/$1/resolv.conf" &&
	printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$1/hosts"
}

# gw_ptr_lookup_fails: the gateway looks up the PTR of 203.0.113.25 through
# its resolver (as a gateway doing reverse DNS for outbound mail does); the
# resolver must not answer.
gw_ptr_lookup_fails() {
	nsx "$NS_GW" 30 python3 -c '
import socket, sys
try:
    print("PTR answered:", socket.gethostbyaddr("203.0.113.25"), file=sys.stderr)
except OSError as e:
    print("PTR look-up failed:", e, file=sys.stderr)
' 2>"$WORK/ptr.err"
	grep -q "PTR look-up failed" "$WORK/ptr.err" && return 0
	log "PTR look-up: $(cat "$WORK/ptr.err")"
	return 1
}

sc_slow_greeting_ptr() {
	# The receiving Postfix looks up the gateway's PTR before its greeting
	# (smtpd_peername_lookup = yes) through a resolver that never answers:
	# the 220 comes 5 s late, the classic cause of "timed out while
	# receiving the initial server greeting".  The delivery still succeeds.
	begin || return 1
	ns_resolver "$NS_MX" 127.0.0.53 || return 1
	blackhole_resolver "$NS_MX" 127.0.0.53
	postfix_start "smtpd_peername_lookup = yes" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 40 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 30
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none warning=slow_greeting
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_gateway_ptr_timeout() {
	# The gateway itself looks up the destination's PTR before delivering
	# (what the gateway KB's "reverse DNS lookup for outbound mail" does)
	# through a resolver at hop 3 that never answers; then it delivers.
	# The look-up shows in the capture, unanswered: dns_timeout, while the
	# session's own verdict stays what its packets show.
	begin || return 1
	ip -n "$NS_MX" addr add 203.0.113.53/24 dev mx0 || return 1
	blackhole_resolver "$NS_MX" 203.0.113.53
	ns_resolver "$NS_GW" 203.0.113.53 || return 1
	postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	gw_ptr_lookup_fails || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none warning=dns_timeout
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_ipv6_broken() {
	# DNS gives mx.example.net an AAAA and an A record; r2 drops IPv6 SYNs
	# to port 25.  swaks, given the name, tries IPv6 first (RFC 6724), times
	# out, and falls back to IPv4, which delivers: the same host, two paths.
	begin || return 1
	ip -n "$NS_MX" addr add 203.0.113.53/24 dev mx0 || return 1
	nsbg "$NS_MX" "${FAKE_LIMIT:-60}" python3 "$TESTNET_DIR/fakedns.py" --bind 203.0.113.53 \
		--limit "${FAKE_LIMIT:-60}" "$MX_NAME=$MX_IP6" "$MX_NAME=$MX_IP4" 2>"$WORK/fakedns.err"
	ns_resolver "$NS_GW" 203.0.113.53 || return 1
	postfix_start || return 1
	r2fw6 -A FORWARD -p tcp --dport 25 --syn -j DROP || return 1
	start_capture "$WORK/cap.pcap" || return 1
	# swaks tries one address only; an MTA (here smtplib through
	# socket.create_connection) tries each address getaddrinfo gives.
	nsx "$NS_GW" 40 python3 -c '
import smtplib, sys
with smtplib.SMTP(sys.argv[1], 25, local_hostname=sys.argv[2], timeout=5) as s:
    s.sendmail("sender@" + sys.argv[2], ["user@" + sys.argv[3]], "Subject: fallback\r\n\r\nvia IPv4\r\n")
print("delivered")
' "$MX_NAME" "$GW_NAME" "$RCPT_DOMAIN" >"$WORK/client.out" 2>&1
	finish_capture || return 1
	grep -q delivered "$WORK/client.out" || { log "client: $(cat "$WORK/client.out")"; return 1; }
	expect session.1.outcome=failed session.1.kind=syn_timeout session.1.culprit.role=path \
		session.2.outcome=delivered session.2.kind=ok
}

# gw_postfix_start [MAIN.CF LINE...]: the gateway's own Postfix, a second
# private instance in the gw namespace that delivers by DNS MX (through
# /etc/netns/gw's resolver) with a 3 s connect timeout, unless the lines
# given say otherwise; no listener: mail is handed in with sendmail.
# GWPF_LAUNCH: a command prefix for its master (gw_syslog_launcher).
GWPF_PID=
gw_postfix_start() {
	GWPF_DIR=$WORK/gwpostfix
	postfix_instance "$GWPF_DIR" \
		'pickup    unix  n       -       n       60      1       pickup' \
		'smtp      unix  -       -       n       -       -       smtp'
	cat >>"$GWPF_DIR/etc/main.cf" <<EOF
myhostname = $GW_NAME
mydomain = example.org
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
smtp_connect_timeout = 3s
smtp_tls_security_level = none
smtp_address_preference = ipv4
EOF
	local l
	for l in "$@"; do printf '%s\n' "$l" >>"$GWPF_DIR/etc/main.cf"; done
	touch -d '-1 minute' "$GWPF_DIR/etc/main.cf" "$GWPF_DIR/etc/master.cf"
	# shellcheck disable=SC2086 # GWPF_LAUNCH: a command prefix, word-split on purpose
	MAIL_CONFIG=$GWPF_DIR/etc nsbg "$NS_GW" "${POSTFIX_LIMIT:-120}" ${GWPF_LAUNCH:-} \
		/usr/lib/postfix/sbin/master -c "$GWPF_DIR/etc" -d 2>"$WORK/gwpostfix-master.err"
	GWPF_PID=$LAST_PID
	local i
	for i in $(seq 1 50); do [ -S "$GWPF_DIR/queue/public/pickup" ] && return 0; sleep 0.1; done
	log "gateway postfix did not start: $(cat "$WORK/gwpostfix-master.err" "$GWPF_DIR/log/maillog" 2>/dev/null)"
	return 1
}

# The MTA's own fallback: example.net has two MX hosts (fakedns), mx1 at
# 203.0.113.25 (preference 10) and mx2 at 203.0.113.26 (20), both the
# Postfix in mx; r2 drops SYNs to mx1.  The gateway's Postfix (given one
# message with sendmail) asks DNS for the MX and A records, times out on
# mx1 after 3 s (smtp_connect_timeout) and delivers through mx2.
sc_mx_fallback() {
	begin || return 1
	ip -n "$NS_MX" addr add 203.0.113.26/24 dev mx0 || return 1
	ip -n "$NS_MX" addr add 203.0.113.53/24 dev mx0 || return 1
	nsbg "$NS_MX" "${FAKE_LIMIT:-60}" python3 "$TESTNET_DIR/fakedns.py" --bind 203.0.113.53 \
		--limit "${FAKE_LIMIT:-60}" "$RCPT_DOMAIN=mx:10:mx1.$RCPT_DOMAIN" "$RCPT_DOMAIN=mx:20:mx2.$RCPT_DOMAIN" \
		"mx1.$RCPT_DOMAIN=$MX_IP4" "mx2.$RCPT_DOMAIN=203.0.113.26" 2>"$WORK/fakedns.err"
	ns_resolver "$NS_GW" 203.0.113.53 || return 1
	postfix_start "inet_interfaces = $MX_IP4, 203.0.113.26" || return 1
	r2fw -A FORWARD -p tcp -d "$MX_IP4" --dport 25 --syn -j DROP || return 1
	gw_postfix_start || return 1
	start_capture "$WORK/cap.pcap" || return 1
	printf 'From: sender@%s\nTo: user@%s\nSubject: MX fallback\n\nthrough the second MX\n' "$GW_NAME" "$RCPT_DOMAIN" |
		nsx "$NS_GW" 10 /usr/sbin/sendmail -C "$GWPF_DIR/etc" -f "sender@$GW_NAME" "user@$RCPT_DOMAIN" ||
		{ log "sendmail failed"; return 1; }
	local i
	for i in $(seq 1 150); do
		grep -q 'status=sent' "$GWPF_DIR/log/maillog" 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
	finish_capture || return 1
	gw_postfix_keep_log 'status=sent' || return 1
	# One attempt, two connections: the note "connect to mx1...: timed out"
	# and the status line naming mx2.
	expect session.1.outcome=failed session.1.kind=syn_timeout session.1.culprit.role=path \
		session.2.outcome=delivered session.2.kind=ok \
		queue.1.queue_id="$GW_QID" queue.1.status=sent \
		queue.1.attempts.1.connections.1.session=1 queue.1.attempts.1.connections.1.kind=syn_timeout \
		queue.1.attempts.1.connections.2.session=2 queue.1.attempts.1.connections.2.kind=ok
}

# ---- the gateway's Postfix delivers into a failure; its log is kept --------
# Each postfix-* scenario relays one message from the gateway's Postfix
# straight to [mx] (no DNS) into a failure, captures on gw0, and keeps the
# Postfix's own log (maillog_file) as NAME.maillog beside NAME.pcap, with
# NAME.args = --maillog NAME.maillog (read from the capture's folder).  The
# .expect names the queue ID Postfix gave the message and the session its
# attempt is joined to.

# gw_postfix_send PATTERN SECONDS [BODY_FILE]: one message into the
# gateway's Postfix, then wait (at most SECONDS) for PATTERN in its log
# (GWPF_LOG, default its maillog_file); to RCPT_TO, default user@example.net.
gw_postfix_send() {
	local pattern=$1 secs=$2 body=${3:-} i
	{
		printf 'From: sender@%s\nTo: user@%s\nSubject: mxray %s\n\n' "$GW_NAME" "$RCPT_DOMAIN" "$(basename "$PCAP_FILE" .pcap)"
		if [ -n "$body" ]; then cat "$body"; else echo "one line"; fi
	} | nsx "$NS_GW" 10 /usr/sbin/sendmail -C "$GWPF_DIR/etc" -f "sender@$GW_NAME" "${RCPT_TO:-user@$RCPT_DOMAIN}" ||
		{ log "sendmail failed"; return 1; }
	for i in $(seq 1 $((secs * 10))); do
		grep -q "$pattern" "${GWPF_LOG:-$GWPF_DIR/log/maillog}" 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
}

# gw_postfix_keep_log PATTERN: stops the gateway's Postfix, checks its log
# shows PATTERN, keeps it beside the capture; sets GW_QID (the queue ID).
gw_postfix_keep_log() {
	[ -n "$GWPF_PID" ] && kill_pid "$GWPF_PID" TERM
	GWPF_PID=
	local logf=${GWPF_LOG:-$GWPF_DIR/log/maillog} name
	grep -q -- "$1" "$logf" 2>/dev/null || { log "gateway postfix log lacks '$1': $(cat "$logf" 2>/dev/null)"; return 1; }
	GW_QID=$(sed -n 's/.* postfix\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): to=.*/\1/p' "$logf" | head -1)
	[ -n "$GW_QID" ] || { log "no queue ID in the gateway's log"; return 1; }
	name=$(basename "$PCAP_FILE" .pcap)
	cp "$logf" "${PCAP_FILE%.pcap}.maillog" || return 1
	mxray_args --maillog "$name.maillog"
}

# gw_direct [MAIN.CF LINE...]: the gateway's Postfix relaying to [mx] by address.
gw_direct() { gw_postfix_start "relayhost = [$MX_IP4]" "smtp_helo_timeout = 5s" "smtp_data_done_timeout = 5s" "$@"; }

# expect_queue STATUS KIND: what every gateway-MTA scenario expects of the
# join: one queue entry (the ID the MTA gave the message), its status, and
# its attempt joined to session 1 of kind KIND.
expect_queue() {
	expect queue.1.queue_id="$GW_QID" queue.1.status="$1" \
		queue.1.attempts.1.connections.1.session=1 queue.1.attempts.1.connections.1.kind="$2"
}

# gw_postfix_case PATTERN SECONDS [BODY_FILE [MAIN.CF LINE...]]: one message
# through the gateway's Postfix while capturing; its log kept (must show PATTERN).
gw_postfix_case() {
	gw_direct "${@:4}" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	gw_postfix_send 'status=' "$2" "${3:-}" || return 1
	finish_capture || return 1
	gw_postfix_keep_log "$1"
}

# SYNs dropped at r2: Postfix gives up after smtp_connect_timeout (3 s).
sc_postfix_syn_timeout() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 --syn -j DROP || return 1
	gw_postfix_case 'Connection timed out' 15 || return 1
	expect outcome=failed kind=syn_timeout phase=connect culprit.role=path queue.1.dsn=4.4.1 \
		queue.1.attempts.1.connections.1.finding=null
	expect_queue deferred syn_timeout
}

# Nothing listens on mx: its kernel answers the SYN with a RST.
sc_postfix_refused() {
	begin || return 1
	gw_postfix_case 'Connection refused' 15 || return 1
	expect outcome=failed kind=connect_refused phase=connect culprit.role=server \
		queue.1.attempts.1.connections.1.finding=null maillog.offset_basis=immediate
	expect_queue deferred connect_refused
}

# r2 forges a RST when the message body passes (as sc_rst_mid_data).
sc_postfix_rst_mid_data() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -m string --string "MARKER-RESET" --algo bm \
		-j REJECT --reject-with tcp-reset || return 1
	local body; body=$(body_file body.txt 6000 "MARKER-RESET")
	gw_postfix_case 'status=deferred' 15 "$body" || return 1
	expect outcome=failed kind=reset phase=data culprit.role=firewall warning=forged_packet
	expect_queue deferred reset
}

# The server greets with 421 (fakesmtp greet421).
sc_postfix_greeting_421() {
	begin && fake_start greet421 || return 1
	gw_postfix_case 'status=deferred' 15 || return 1
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server
	expect_queue deferred greeting_rejected
}

# The server greets, then never answers EHLO (fakesmtp noehlo): Postfix
# waits smtp_helo_timeout (5 s here): the article's "no HELO/EHLO response".
sc_postfix_ehlo_silent() {
	begin && fake_start noehlo || return 1
	gw_postfix_case 'status=deferred' 20 || return 1
	expect outcome=failed kind=ehlo_no_reply phase=ehlo culprit.role=server
	expect_queue deferred ehlo_no_reply
}

# r2 rejects with ICMP admin-prohibited: Linux makes that EHOSTUNREACH at
# once, so Postfix logs "No route to host" with no timeout.
sc_postfix_icmp_unreachable() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-admin-prohibited || return 1
	gw_postfix_case 'No route to host' 15 || return 1
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=firewall culprit.ip=198.18.0.2 \
		queue.1.attempts.1.connections.1.finding=null
	expect_queue deferred icmp_unreachable
}

# The server greets with 554 (fakesmtp greet554).  Postfix skips a 5XX
# greeting (smtp_skip_5xx_greeting = yes) as it would skip to the next MX:
# with none left the message is deferred (dsn 4.7.1), no bounce is sent.
sc_exim_mx_fallback() {
	# Exim with two hosts for the domain (as a dnslookup router would get
	# from two MX records): r2 drops SYNs to the first, the second accepts.
	begin || return 1
	ip -n "$NS_MX" addr add 203.0.113.26/24 dev mx0 || return 1
	postfix_start "inet_interfaces = $MX_IP4, 203.0.113.26" || return 1
	r2fw -A FORWARD -p tcp -d "$MX_IP4" --dport 25 --syn -j DROP || return 1
	EXIM_HOSTS="$MX_IP4:203.0.113.26" gw_exim_case ' => ' || return $?
	expect session.1.outcome=failed session.1.kind=syn_timeout session.1.culprit.role=path \
		session.2.outcome=delivered session.2.kind=ok queue.1.mta=exim \
		queue.1.queue_id="$GW_QID" queue.1.status=sent \
		queue.1.attempts.1.connections.1.session=1 queue.1.attempts.1.connections.1.kind=syn_timeout \
		queue.1.attempts.1.connections.2.session=2 queue.1.attempts.1.connections.2.kind=ok
}

sc_exim_greeting_554() {
	# Exim on a 5xx banner: "SMTP error from remote mail server after
	# initial connection", a permanent error for the message (bounced).
	begin && fake_start greet554 || return 1
	gw_exim_case ' \*\* ' || return $?
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server queue.1.mta=exim
	expect_queue bounced greeting_rejected
}

sc_postfix_greeting_554() {
	begin && fake_start greet554 || return 1
	gw_postfix_case 'refused to talk to me' 15 || return 1
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server
	expect_queue deferred greeting_rejected
}

# r2 stops the flow after 12 000 bytes (as sc_data_body_dropped); Postfix
# waits smtp_data_done_timeout (5 s) for the reply that never comes.
sc_postfix_data_stall() {
	begin && postfix_start || return 1
	sysctl_ns "$NS_R2" net.netfilter.nf_conntrack_acct=1
	r2fw -A FORWARD -p tcp --dport 25 -m connbytes --connbytes 12000: --connbytes-dir original \
		--connbytes-mode bytes -j DROP || return 1
	local body; body=$(body_file body.txt 40000)
	gw_postfix_case 'timed out while sending' 20 "$body" 'smtp_data_xfer_timeout = 5s' || return 1
	expect outcome=failed kind=data_stall phase=data culprit.role=path
	expect_queue deferred data_stall
}

# The server ACKs the final dot and never answers (fakesmtp nodot):
# Postfix logs "timed out while sending end of data" after 5 s.
sc_postfix_dot_unanswered() {
	begin && fake_start nodot || return 1
	gw_postfix_case 'timed out while sending end of data' 20 || return 1
	expect outcome=failed kind=data_stall phase=data_end culprit.role=server
	expect_queue deferred data_stall
}

# ---- the gateway's Postfix through a real syslog daemon -------------------
# gw_syslog_launcher ZONE: sets GWPF_LAUNCH, a prefix for the gateway's
# Postfix master that runs it (and BusyBox syslogd) in time zone ZONE, under
# the host name gw, with a /dev/log of their own: in the mount namespace
# `ip netns exec` gives the command (slave to the machine's: nothing
# propagates back), /dev becomes an overlay whose upper layer is a 1 MB
# tmpfs, so the syslogd's socket exists there only; the machine's /dev and
# its logging are never touched.  syslogd writes $WORK/syslog.log; it is
# ended with the namespace (teardown).
gw_syslog_launcher() {
	busybox syslogd --help >/dev/null 2>&1 || { log "no busybox syslogd (tools/install-deps)"; return 3; }
	mkdir -p "$WORK/privdev" || return 1
	cat >"$WORK/privlog.sh" <<'EOF'
#!/bin/sh
# privlog.sh DIR LOG CMD...: a private /dev/log served by busybox syslogd, then CMD
d=$1 logf=$2
shift 2
hostname gw    # a UTS namespace of its own (unshare --uts): the name syslogd writes
mount -t tmpfs -o size=1m,mode=700 mxray-privdev "$d" || exit 1
mkdir "$d/up" "$d/work" || exit 1
mount -t overlay mxray-dev -o "lowerdir=/dev,upperdir=$d/up,workdir=$d/work" /dev || exit 1
mount -t tmpfs -o size=1m mxray-run /run || exit 1    # syslogd's pid file stays here too
busybox syslogd -n -O "$logf" &
i=0
while [ ! -S /dev/log ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S /dev/log ] || { echo "syslogd did not start" >&2; exit 1; }
exec "$@"
EOF
	GWPF_LAUNCH="unshare --uts env TZ=$1 sh $WORK/privlog.sh $WORK/privdev $WORK/syslog.log"
}

# The gateway's Postfix logs through BusyBox syslogd (syslog(3), /dev/log):
# traditional stamps without year in local time, TZ=America/New_York (UTC-5
# in winter), BusyBox's "mail.info" after the host.  The capture box's clock
# runs 3 min 17 s behind the gateway's: the real capture is shifted with
# `editcap -t -197`, as a capture taken on another box without NTP.  Two
# messages one after the other: one delivered, one greylisted (450 to its
# RCPT by check_recipient_access): two lines written at once give the offset.
sc_postfix_syslog() {
	begin || return 1
	printf 'later@%s 450 4.2.0 greylisted, try again later\n' "$RCPT_DOMAIN" >"$WORK/rcpt_access"
	postfix_start "smtpd_recipient_restrictions = check_recipient_access texthash:$WORK/rcpt_access" || return 1
	gw_syslog_launcher America/New_York || return $?
	PF_SYSLOG=1 gw_direct || return 1
	local logf=$WORK/syslog.log
	start_capture "$WORK/cap.pcap" || return 1
	GWPF_LOG=$logf gw_postfix_send 'status=sent' 15 || return 1
	GWPF_LOG=$logf RCPT_TO=later@$RCPT_DOMAIN gw_postfix_send 'status=deferred' 15 || return 1
	finish_capture || return 1
	editcap -F pcap -t -197 "$PCAP_FILE" "$WORK/shifted.pcap" >/dev/null && mv "$WORK/shifted.pcap" "$PCAP_FILE" || return 1
	GWPF_LOG=$logf gw_postfix_keep_log 'status=deferred' || return 1
	mxray_args --maillog "$(basename "$PCAP_FILE" .pcap).maillog" --maillog-tz America/New_York
	grep -q ' mail\.info postfix/' "$logf" || { log "not BusyBox's format: $(head -3 "$logf")"; return 1; }
	local ids; ids=$(sed -n 's/.* postfix\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): to=.*/\1/p' "$logf")
	set -- $ids
	[ $# = 2 ] || { log "wanted two queue IDs: $ids"; return 1; }
	# Postfix pipelines MAIL, RCPT and DATA: the 450 to RCPT is followed by
	# "554 5.5.1 Error: no valid recipients" to DATA, a consequence only.
	expect session.1.outcome=delivered session.1.kind=ok session.2.outcome=rejected \
		session.2.kind=rcpt_rejected session.2.phase=rcpt queue.2.attempts.1.connections.1.kind=rcpt_rejected \
		queue.1.queue_id="$1" queue.1.status=sent queue.1.attempts.1.connections.1.session=1 \
		queue.1.attempts.1.connections.1.finding=null \
		queue.2.queue_id="$2" queue.2.status=deferred queue.2.dsn=4.2.0 \
		queue.2.attempts.1.connections.1.session=2 queue.2.attempts.1.connections.1.finding=null \
		maillog.time_zone=America/New_York maillog.offset_basis=immediate maillog.clock_offset_s=196..198 \
		maillog.files.1.records=2 maillog.files.1.damaged=0
}

# ---- the log and the packets disagree --------------------------------------
# The gateway's Postfix gives up connecting after 3 s (smtp_connect_timeout)
# while the path is slow: gw-r1 runs through lossyfwd.py with 2 s each way.
# Nothing listens on mx, whose kernel answers each SYN (0, 1, 2 s) with a RST
# at once, but the RSTs reach the gateway 4 s after their SYNs, when Postfix
# has logged "Connection timed out" and closed the socket.  The log says timed
# out, the packets show a refusal: mxray reports the disagreement.
sc_postfix_late_rst() {
	SLOW_LINK=1 setup || return 1
	LOSSY_LIMIT=60 lossy_start --delay 2000 || return 1
	# Fixed neighbour entries across the slow link: no ARP round trip (4 s)
	# before the first SYN.
	local gwmac r1mac
	gwmac=$(ip -n "$NS_GW" -br link show gw0 | awk '{print $3}')
	r1mac=$(ip -n "$NS_R1" -br link show r1a | awk '{print $3}')
	ip -n "$NS_GW" neigh replace "$R1A_IP4" lladdr "$r1mac" dev gw0 nud permanent &&
		ip -n "$NS_R1" neigh replace "$GW_IP4" lladdr "$gwmac" dev r1a nud permanent || return 1
	gw_direct || return 1
	start_capture "$WORK/cap.pcap" || return 1
	gw_postfix_send 'status=' 15 || return 1
	CAPTURE_TAIL=4 finish_capture || return 1
	gw_postfix_keep_log 'Connection timed out' || return 1
	expect outcome=failed kind=connect_refused phase=connect culprit.role=server
	expect_queue deferred connect_refused
	expect maillog.findings=1 maillog.offset_basis=none maillog.clock_offset_s=0
}

# ---- the gateway's Exim delivers into a failure; its main log is kept ------
# Exim (Debian's exim4-daemon-light, unpacked by tools/install-deps into
# EXIM_ROOT: as a package it conflicts with postfix) runs once per message
# in the gw namespace: `exim4 -C CONF -odi` delivers in the foreground, no
# daemon, with its own spool and log under $WORK, routing everything to
# [mx] with 3 s connect and 5 s command timeouts.  No Exim: skipped (3).
EXIM_ROOT=${EXIM_ROOT:-/opt/mxray-test/exim}
gw_exim_config() {
	[ -x "$EXIM_ROOT/usr/sbin/exim4" ] && getent passwd Debian-exim >/dev/null ||
		{ log "no unpacked exim4 in $EXIM_ROOT (tools/install-deps)"; return 3; }
	GWEXIM_DIR=$WORK/gwexim
	mkdir -p "$GWEXIM_DIR/spool" "$GWEXIM_DIR/log" || return 1
	chown Debian-exim: "$GWEXIM_DIR/spool" "$GWEXIM_DIR/log"
	cat >"$GWEXIM_DIR/exim.conf" <<EOF
primary_hostname = $GW_NAME
exim_path = $EXIM_ROOT/usr/sbin/exim4
spool_directory = $GWEXIM_DIR/spool
log_file_path = $GWEXIM_DIR/log/%slog
keep_environment =
# No TCP Fast Open, no chunking: a SYN and a DATA as every other client here.
begin routers
to_mx:
  driver = manualroute
  domains = *
  transport = remote_smtp
  route_list = * ${EXIM_HOSTS:-$MX_IP4}
begin transports
remote_smtp:
  driver = smtp
  connect_timeout = 3s
  command_timeout = 5s
  data_timeout = 5s
  final_timeout = 5s
  hosts_try_fastopen = :
  hosts_try_chunking = :
  hosts_try_prdr = :
  helo_data = $GW_NAME
begin retry
* * F,1h,15m
EOF
}

# gw_exim_send [BODY_FILE]: one message, delivered (or deferred) before it returns.
gw_exim_send() {
	local body=${1:-}
	{
		printf 'From: sender@%s\nTo: user@%s\nSubject: mxray %s\n\n' "$GW_NAME" "$RCPT_DOMAIN" "$(basename "$PCAP_FILE" .pcap)"
		if [ -n "$body" ]; then cat "$body"; else echo "one line"; fi
	} | nsx "$NS_GW" 30 "$EXIM_ROOT/usr/sbin/exim4" -C "$GWEXIM_DIR/exim.conf" -odi -f "sender@$GW_NAME" \
		"user@$RCPT_DOMAIN" >"$WORK/exim.out" 2>&1
	sleep 1
}

# gw_exim_keep_log PATTERN: checks the main log shows PATTERN, keeps it
# beside the capture; sets GW_QID (the message id).
gw_exim_keep_log() {
	local logf=$GWEXIM_DIR/log/mainlog name
	grep -q -- "$1" "$logf" 2>/dev/null ||
		{ log "exim's log lacks '$1': $(cat "$logf" "$WORK/exim.out" "$GWEXIM_DIR/log/paniclog" 2>/dev/null)"; return 1; }
	GW_QID=$(sed -n 's/^[0-9-]* [0-9:.]* \([0-9A-Za-z-]*\) <= .*/\1/p' "$logf" | head -1)
	[ -n "$GW_QID" ] || { log "no message id in exim's log"; return 1; }
	name=$(basename "$PCAP_FILE" .pcap)
	cp "$logf" "${PCAP_FILE%.pcap}.maillog" || return 1
	mxray_args --maillog "$name.maillog"
}

# gw_exim_case PATTERN [BODY_FILE]: one message through the gateway's Exim
# while capturing; its main log kept (must show PATTERN).
gw_exim_case() {
	gw_exim_config || return $?
	start_capture "$WORK/cap.pcap" || return 1
	gw_exim_send "${2:-}"
	finish_capture || return 1
	gw_exim_keep_log "$1"
}

# SYNs dropped at r2: Exim gives up after connect_timeout (3 s).
sc_exim_syn_timeout() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 --syn -j DROP || return 1
	gw_exim_case ' == ' || return $?
	expect outcome=failed kind=syn_timeout phase=connect culprit.role=path queue.1.mta=exim
	expect_queue deferred syn_timeout
}

# Nothing listens on mx: a RST answers the SYN.
sc_exim_refused() {
	begin || return 1
	gw_exim_case 'Connection refused' || return $?
	expect outcome=failed kind=connect_refused phase=connect culprit.role=server queue.1.mta=exim
	expect_queue deferred connect_refused
}

# The server greets with 421 (fakesmtp greet421).
sc_exim_greeting_421() {
	begin && fake_start greet421 || return 1
	gw_exim_case ' == ' || return $?
	expect outcome=rejected kind=greeting_rejected phase=greeting culprit.role=server queue.1.mta=exim
	expect_queue deferred greeting_rejected
}

# A clean delivery: "=>" with H= and C="250 ...".
sc_exim_delivered() {
	begin && postfix_start || return 1
	gw_exim_case ' => ' || return $?
	expect outcome=delivered kind=ok phase=none culprit.role=none queue.1.mta=exim
	expect_queue sent ok
}

# r2 rejects with ICMP admin-prohibited: "defer (113): No route to host".
sc_exim_icmp_unreachable() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-admin-prohibited || return 1
	gw_exim_case 'No route to host' || return $?
	expect outcome=failed kind=icmp_unreachable phase=connect culprit.role=firewall culprit.ip=198.18.0.2 \
		queue.1.mta=exim queue.1.attempts.1.connections.1.finding=null
	expect_queue deferred icmp_unreachable
}

# r2 forges a RST when the body passes (as sc_rst_mid_data).
sc_exim_rst_mid_data() {
	begin && postfix_start || return 1
	r2fw -A FORWARD -p tcp --dport 25 -m string --string "MARKER-RESET" --algo bm \
		-j REJECT --reject-with tcp-reset || return 1
	local body; body=$(body_file body.txt 6000 "MARKER-RESET")
	gw_exim_case ' == ' "$body" || return $?
	expect outcome=failed kind=reset phase=data culprit.role=firewall warning=forged_packet queue.1.mta=exim
	expect_queue deferred reset
}

# The server greets, then never answers EHLO (fakesmtp noehlo): Exim's
# command_timeout (5 s).
sc_exim_ehlo_silent() {
	begin && fake_start noehlo || return 1
	gw_exim_case ' == ' || return $?
	expect outcome=failed kind=ehlo_no_reply phase=ehlo culprit.role=server queue.1.mta=exim
	expect_queue deferred ehlo_no_reply
}

# r2 stops the flow after 12 000 bytes; Exim's data/final timeout (5 s).
sc_exim_data_stall() {
	begin && postfix_start || return 1
	sysctl_ns "$NS_R2" net.netfilter.nf_conntrack_acct=1
	r2fw -A FORWARD -p tcp --dport 25 -m connbytes --connbytes 12000: --connbytes-dir original \
		--connbytes-mode bytes -j DROP || return 1
	local body; body=$(body_file body.txt 40000)
	gw_exim_case ' == ' "$body" || return $?
	expect outcome=failed kind=data_stall phase=data culprit.role=path queue.1.mta=exim
	expect_queue deferred data_stall
}

sc_smtps_465() {
	# Implicit TLS (SMTPS, RFC 8314): Postfix in wrapper mode on port 465,
	# swaks speaks TLS at once (--tlsc).  mxray tracks 465 when told to.
	begin || return 1
	command -v openssl >/dev/null || { log "openssl is required for smtps-465"; return 1; }
	nsx "$NS_MX" 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$MX_NAME" -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
		{ log "openssl req failed"; return 1; }
	chmod 644 "$WORK/key.pem"
	PF_MASTER_EXTRA="465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt" \
		postfix_start "smtpd_tls_cert_file = $WORK/cert.pem" "smtpd_tls_key_file = $WORK/key.pem" || return 1
	wait_listen "$NS_MX" 465 || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --port 465 --tlsc --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	mxray_args --ports 465
	expect kind=ok phase=none culprit.role=none
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_one_direction() {
	# A clean delivery captured in one direction only, as a SPAN port of one
	# direction or asymmetric routing gives it: tcpdump keeps only what the
	# gateway sends.  The client's ACKs still rise through the server's replies.
	begin && postfix_start || return 1
	start_capture "$WORK/cap.pcap" src host "$GW_IP4" and tcp port 25 || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=incomplete kind=incomplete phase=quit culprit.role=none warning=one_sided_capture
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

sc_offload_bigtcp() {
	# IPv4 BIG TCP (Linux >= 6.3) on the gateway's interface: with TSO/GSO on and
	# gso_ipv4_max_size above 64 KB, the capture on the sender sees super-segments
	# of ~150 KB whose IPv4 total length is 0.  r1 segments them in software.
	# fakesmtp reads the body as fast as it comes: Postfix keeps the window
	# at ~14 KB, too small for a super-segment.
	begin && fake_start normal || return 1
	nsx "$NS_GW" 10 ethtool -K gw0 tx on sg on tso on gso on >/dev/null 2>&1 || return 1
	ip -n "$NS_GW" link set gw0 gso_max_size 150000 gro_max_size 150000 || return 1
	nsx "$NS_GW" 10 python3 "$TESTNET_DIR/bigtcp.py" gw0 150000 || return 1
	# A large first window both ways, so the sender has >64 KB to hand TSO at once.
	ip -n "$NS_GW" route change 203.0.113.0/24 via "$R1A_IP4" initcwnd 120 || return 1
	ip -n "$NS_MX" route change 198.51.100.0/24 via "$R2B_IP4" initrwnd 120 || return 1
	local body; body=$(body_file body.txt 700000)
	# Python's smtplib hands the whole message to one sendall(): the kernel has
	# the whole body queued and builds the largest super-segments it may.
	cat >"$WORK/send.py" <<EOF
import smtplib
body = open("$body").read()
s = smtplib.SMTP("$MX_IP4", 25, local_hostname="$GW_NAME", timeout=10)
s.sendmail("sender@$GW_NAME", ["user@$RCPT_DOMAIN"],
           "From: sender@$GW_NAME\r\nTo: user@$RCPT_DOMAIN\r\nSubject: BIG TCP\r\n\r\n" + body)
s.quit()
EOF
	start_capture "$WORK/cap.pcap" || return 1
	nsx "$NS_GW" 20 python3 "$WORK/send.py" >"$WORK/send.out" 2>&1
	local rc=$?
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none
	[ $rc = 0 ] || { log "smtplib failed: $(cat "$WORK/send.out")"; return 1; }
}

sc_loopback_filter() {
	# Postfix in mx relays every message through a loopback content filter
	# (content_filter = smtp:[127.0.0.1]:10025, a second smtpd there hands it
	# back), the classic amavis set-up without amavis.  The capture is of mx's
	# lo: Postfix's smtp client talking to 127.0.0.1:10025 from 127.0.0.1, a
	# connection to its own address that delivers.  The filter's smtpd calls
	# itself filter.example.net (amavis has its own name too).
	begin || return 1
	PF_MASTER_EXTRA="smtp      unix  -       -       n       -       -       smtp
127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o myhostname=filter.example.net -o mynetworks=127.0.0.0/8" \
		postfix_start "content_filter = smtp:[127.0.0.1]:10025" \
		"inet_interfaces = $MX_IP4, [$MX_IP6], 127.0.0.1" || return 1
	wait_listen "$NS_MX" 10025 || return 1
	CAPTURE_NS=$NS_MX CAPTURE_IF=lo start_capture "$WORK/cap.pcap" tcp port 10025 || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	local i
	for i in $(seq 1 50); do
		grep -q 'relay=127.0.0.1\[127.0.0.1\]:10025.*status=sent' "$PF_DIR/log/maillog" 2>/dev/null && break
		sleep 0.1
	done
	finish_capture || return 1
	grep -q 'relay=127.0.0.1\[127.0.0.1\]:10025.*status=sent' "$PF_DIR/log/maillog" ||
		{ log "no relay through the filter: $(cat "$PF_DIR/log/maillog")"; return 1; }
	mxray_args --ports 10025
	expect outcome=delivered kind=ok phase=none culprit.role=none
	want_rc 0
}

sc_close_fin_rst() {
	# A delivery inside STARTTLS; after its 250 and 221 (encrypted) the
	# server closes with a FIN, then a RST.
	begin || return 1
	command -v openssl >/dev/null || { log "openssl is required for close-fin-rst"; return 1; }
	nsx "$NS_MX" 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$MX_NAME" -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
		{ log "openssl req failed"; return 1; }
	fake_start finrst --cert "$WORK/cert.pem" --key "$WORK/key.pem" || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5 --tls
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none
	want_out "TLS started" && want_out "250 2.0.0 Ok: queued" && want_out "<~  221"
}

sc_snaplen_68() {
	# A clean delivery captured with a snap length of 68 bytes: every
	# header, no SMTP text (2 payload bytes a segment at most).
	begin && postfix_start || return 1
	CAPTURE_OPTS="-s 68" start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	expect outcome=incomplete kind=incomplete culprit.role=none culprit.confidence=low
	want_rc 0
}

sc_capture_cut_data() {
	# tcpdump -G 3 rotates its file every 3 s (whole seconds of the clock:
	# the first file spans 2 to 3 s); the server reads the body
	# slowly (about 20 KB/s), so the first file with packets in it ends in
	# the middle of the message with data in flight.  That file is the
	# capture (an empty pcap file is 24 bytes: its header).
	begin && fake_start slowread || return 1
	local body; body=$(body_file body.txt 120000)
	CAPTURE_OPTS="-G 3" start_capture "$WORK/cap-%s.pcap" tcp port 25 || return 1
	swaks_run 30 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 10 --body "@$body"
	stop_capture
	local f first=
	for f in $(ls "$WORK"/cap-*.pcap 2>/dev/null | sort); do
		[ "$(stat -c %s "$f")" -gt 24 ] && { first=$f; break; }
	done
	[ -n "$first" ] && cp "$first" "$PCAP_FILE" || { log "no rotated capture"; return 1; }
	expect outcome=incomplete kind=incomplete phase=data culprit.role=none
	want_rc 0
}

sc_capture_ends_after_fin() {
	# The server never greets; the client gives up after 1 s (QUIT, then its
	# FIN at 2 s) and the capture stops right after that FIN (tcpdump -c 6:
	# handshake, QUIT and its ACK, FIN), before the server's answer to it.
	begin && fake_start silent || return 1
	CAPTURE_OPTS="-c 6" start_capture "$WORK/cap.pcap" tcp port 25 || return 1
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 1
	finish_capture || return 1
	expect outcome=incomplete kind=incomplete phase=greeting culprit.role=none
	want_out "Timeout"
}

sc_tls_on_plain_465() {
	# The gateway speaks implicit TLS (SMTPS) to port 465 where the server
	# listens in plain SMTP: a mismatch between the two ends' settings.
	begin || return 1
	PF_MASTER_EXTRA="465 inet n - n - - smtpd" postfix_start || return 1
	wait_listen "$NS_MX" 465 || return 1
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 20 --server "$MX_IP4" --port 465 --tlsc --to "user@$RCPT_DOMAIN" --timeout 5
	finish_capture || return 1
	mxray_args --ports 465
	expect outcome=failed kind=tls_failed phase=tls culprit.role=client
	want_fail
}

sc_not_smtp() {
	# Neither end speaks SMTP on port 25: an HTTP request and its answer.
	begin && fake_start http || return 1
	start_capture "$WORK/cap.pcap" || return 1
	nsx "$NS_GW" 10 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\nHost: mx.example.net\r\n\r\n")
print(s.recv(4096).decode("latin-1"))
s.close()
' "$MX_IP4" >"$WORK/client.out" 2>&1
	finish_capture || return 1
	grep -q "400 Bad Request" "$WORK/client.out" || { log "client: $(cat "$WORK/client.out")"; return 1; }
	expect outcome=incomplete kind=incomplete culprit.role=none
}

# ---- captures for the redaction suite (tests/redact-check.py) -------------
# Each plants its own secrets (in the body or the AUTH exchange) that
# `read --evidence` must never keep: redact-check.py looks for them in the
# evidence's raw bytes and in every reassembly of it.

# secret_body NAME BYTES SECRET: a body whose every line carries SECRET
# (so that any part of it, an ICMP quote or a cut file, holds it)
secret_body() {
	local f=$WORK/$1
	python3 - "$f" "$2" "$3" <<'EOF'
import sys
f, n, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out, size, i = [], 0, 0
while size < n:
    l = "%06d %s the quick brown fox jumps over the lazy dog\n" % (i, secret)
    out.append(l); size += len(l); i += 1
open(f, "w").write("".join(out))
EOF
	printf '%s\n' "$f"
}

# The pmtu-icmp network: r2's fragmentation-needed (ICMP 3/4) quotes the
# first 548 bytes of the oversized segment, which is the message body.
sc_redact_pmtu_icmp() {
	MX_LINK_MTU=1280 MX_ADVMSS=1460 begin && postfix_start || return 1
	local body; body=$(secret_body body.txt 20000 PLANT-PMTU-Kx41)
	start_capture "$WORK/cap.pcap" || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=delivered kind=ok phase=none culprit.role=none
	want_rc 0 && want_out "250 2.0.0 Ok: queued"
}

# tcpdump -C 1 (size rotation: a new file after 1,000,000 bytes): a 1 MB
# body spans two files; the capture is the second, which starts in the
# middle of the body and holds its end, Postfix's refusal of the message
# (body_checks: the evidence is written for sessions that did not deliver)
# and QUIT: a file with no SYN, no greeting, no DATA.  Bytes, not time,
# decide the cut.
sc_redact_cut_body() {
	begin || return 1
	printf '/PLANT-CUTBODY/ REJECT message content refused\n' >"$WORK/body_checks"
	postfix_start "body_checks = regexp:$WORK/body_checks" || return 1
	local body; body=$(secret_body body.txt 1000000 PLANT-CUTBODY-7Qm2)
	CAPTURE_OPTS="-C 1" start_capture "$WORK/cap.pcap" tcp port 25 || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	stop_capture
	[ -s "$WORK/cap.pcap1" ] && [ ! -e "$WORK/cap.pcap2" ] && cp "$WORK/cap.pcap1" "$PCAP_FILE" ||
		{ log "tcpdump -C made not two files: $(ls -l "$WORK"/cap.pcap*)"; return 1; }
	expect outcome=rejected kind=data_rejected phase=data culprit.role=server
	want_out "<\*\* 550 5.7.1 message content refused"
}

# tcpdump -G 2 (time rotation): a client logs in with AUTH LOGIN and waits
# 2.5 s between the user name and the password, so the second file starts
# with the password line (base64), then the 235, MAIL, RCPT (refused by
# fakesmtp auth) and QUIT.  The capture is that second file.
sc_redact_cut_auth() {
	begin && fake_start auth || return 1
	CAPTURE_OPTS="-G 2" start_capture "$WORK/cap-%s.pcap" tcp port 25 || return 1
	nsx "$NS_GW" 15 python3 -c '
import base64, socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=5)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l or l[3:4] != b"-":
            return l.decode().strip()
def cmd(line):
    s.sendall(line.encode() + b"\r\n")
    return reply()
reply()
cmd("EHLO gw.example.org")
cmd("AUTH LOGIN")
cmd(base64.b64encode(b"PLANT-CUTAUTH-user-Zr8").decode())
time.sleep(2.5)
print(cmd(base64.b64encode(b"PLANT-CUTAUTH-pass-Zr8").decode()))
cmd("MAIL FROM:<sender@gw.example.org>")
print(cmd("RCPT TO:<user@example.net>"))
cmd("QUIT")
s.close()
' "$MX_IP4" >"$WORK/client.out" 2>&1
	stop_capture
	local f n=0 second=
	for f in $(ls "$WORK"/cap-*.pcap 2>/dev/null | sort); do
		[ "$(stat -c %s "$f")" -gt 24 ] || continue
		n=$((n + 1)); [ $n = 2 ] && { second=$f; break; }
	done
	[ -n "$second" ] && cp "$second" "$PCAP_FILE" || { log "no second rotated file"; return 1; }
	grep -q '^235' "$WORK/client.out" && grep -q '^550' "$WORK/client.out" ||
		{ log "client: $(cat "$WORK/client.out")"; return 1; }
	expect outcome=rejected kind=rcpt_rejected phase=rcpt culprit.role=server
}

# A BPF capture filter drops the server's 354 (the one segment whose payload
# starts "354 "), as a capture that lost one server segment: the body that
# follows DATA is not preceded by its go-ahead in the file.  The length
# test comes first: a BPF load past the packet's end rejects the packet
# whatever the expression around it says (`not` included), which would
# drop every server segment shorter than 4 payload bytes, the SYN-ACK too.
sc_redact_bpf_drop() {
	begin || return 1
	printf '/PLANT-BPF/ REJECT message content refused\n' >"$WORK/body_checks"
	postfix_start "body_checks = regexp:$WORK/body_checks" || return 1
	local body; body=$(secret_body body.txt 8000 PLANT-BPF-Hn5c)
	start_capture "$WORK/cap.pcap" tcp port 25 and not '(tcp src port 25 and' \
		'ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) >= 4 and' \
		'tcp[((tcp[12] & 0xf0) >> 2):4] = 0x33353420)' || return 1
	swaks_run 25 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 6 --body "@$body"
	finish_capture || return 1
	expect outcome=rejected kind=data_rejected phase=data culprit.role=server
	want_out "<-  354" && want_out "<\*\* 550 5.7.1 message content refused"
}

run_scenario() {
	local name=$1 out=$2
	(
		NETNS_SUFFIX=$BASHPID
		# shellcheck source=lib.sh
		. "$SCENARIOS_DIR/lib.sh"
		trap_teardown
		PCAP_FILE=$out/$name.pcap
		EXPECT_FILE=$out/$name.expect
		rm -f "$PCAP_FILE" "$EXPECT_FILE" "$out/$name.args"
		: >"$EXPECT_FILE"
		"sc_${name//-/_}"
		rc=$?
		if [ $rc != 0 ]; then
			rm -f "$PCAP_FILE" "$EXPECT_FILE" "$out/$name.args"
			[ $rc = 3 ] && exit 3
			exit 1
		fi
		exit 0
	)
}

# ------------------------------------------------------------------ sanity
# Capture checks with tshark display filters: the capture must show what the
# scenario intends, or the scenario fails.
SANITY_MSG=
ts_count() { # FILE FILTER
	timeout 60 tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l
}
has() { # FILE FILTER [MIN]
	local n; n=$(ts_count "$1" "$2")
	[ "$n" -ge "${3:-1}" ] && return 0
	SANITY_MSG="capture lacks '$2' (found $n, need ${3:-1})"
	return 1
}
before() { # FILE FILTER_A FILTER_B: the first frame matching A comes before any matching B
	local a b
	a=$(timeout 60 tshark -n -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | head -1)
	b=$(timeout 60 tshark -n -r "$1" -Y "$3" -T fields -e frame.number 2>/dev/null | head -1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] && return 0
	SANITY_MSG="'$2' (frame ${a:-none}) does not come before '$3' (frame ${b:-none})"
	return 1
}
hasnt() { # FILE FILTER
	local n; n=$(ts_count "$1" "$2")
	[ "$n" -eq 0 ] && return 0
	SANITY_MSG="capture has $n of '$2', expected none"
	return 1
}

SYN='tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==25'
SYNACK='tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.srcport==25'
RST='tcp.flags.reset==1 && tcp.srcport==25'
ICMP_ERR='icmp.type==3 || icmpv6.type==1 || icmpv6.type==2'

# sanity_scenario NAME DIR: 0 if the capture shows what NAME intends
sanity_scenario() {
	local name=$1 f=$2/$1.pcap
	SANITY_MSG=
	[ -s "$f" ] || { SANITY_MSG="no capture $f"; return 1; }
	case $name in
	clean-v4)
		has "$f" "$SYNACK && ip.src==203.0.113.25" &&
		has "$f" 'smtp.req.command=="DATA"' &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" ;;
	clean-v6)
		has "$f" "$SYNACK && ipv6.src==2001:db8:3::25" &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" ;;
	syn-drop-v4)
		has "$f" "$SYN && ip.dst==203.0.113.25" 4 &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" && hasnt "$f" "$ICMP_ERR" ;;
	syn-drop-v6)
		has "$f" "$SYN && ipv6.dst==2001:db8:3::25" 4 &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" && hasnt "$f" "$ICMP_ERR" ;;
	refused)
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==62" &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$ICMP_ERR" ;;
	admin-prohibited)
		has "$f" 'icmp.type==3 && icmp.code==13 && ip.src==198.18.0.2' &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" ;;
	net-unreachable)
		has "$f" 'icmp.type==3 && icmp.code==0 && ip.src==198.51.100.1' &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" ;;
	host-unreachable-fw)
		has "$f" 'icmp.type==3 && icmp.code==1 && ip.src==198.18.0.2' &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" &&
		sanity_icmp_delay "$f" lt 0.5 ;;
	host-down)
		has "$f" 'icmp.type==3 && icmp.code==1 && ip.src==198.18.0.2' &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" &&
		sanity_icmp_delay "$f" gt 2.0 ;;
	rst-forged-syn)
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==63" &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$ICMP_ERR" ;;
	rst-forged-syn-baseline)
		has "$f" "$SYNACK && ip.ttl==62" && hasnt "$f" "$SYNACK && ip.ttl!=62" &&
		has "$f" 'smtp.rsp.parameter contains "queued as"' &&
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==63" &&
		has "$f" "$SYN" 2 && hasnt "$f" "$ICMP_ERR" ;;
	rst-forged-syn-first)
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==63" &&
		has "$f" "$SYNACK && ip.ttl==62" && hasnt "$f" "$SYNACK && ip.ttl!=62" &&
		has "$f" 'smtp.rsp.parameter contains "queued as"' &&
		has "$f" 'dns.qry.name=="25.113.0.203.in-addr.arpa" && dns.flags.response==0' &&
		hasnt "$f" 'dns.flags.response==1' && has "$f" "$SYN" 2 && hasnt "$f" "$ICMP_ERR" &&
		before "$f" "$RST && ip.src==203.0.113.25" "$SYNACK" ;;
	rst-mid-data)
		has "$f" "$SYNACK && ip.ttl==62" &&
		has "$f" 'smtp.response.code==354' &&
		has "$f" "$RST && ip.ttl==63" &&
		hasnt "$f" "$RST && ip.ttl==62" &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' ;;
	no-greeting)
		has "$f" "$SYNACK" && hasnt "$f" 'smtp.response' && hasnt "$f" "$RST" ;;
	greeting-421)
		has "$f" 'smtp.response.code==421' && hasnt "$f" 'smtp.req.command=="EHLO"' ;;
	greeting-554)
		has "$f" 'smtp.response.code==554' && hasnt "$f" 'smtp.req.command=="MAIL"' ;;
	ehlo-dropped)
		has "$f" 'smtp.response.code==220' &&
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25 && tcp.payload contains "EHLO"' 2 &&
		hasnt "$f" 'smtp.response.code==250' && sanity_ehlo_unacked "$f" ;;
	ehlo-noreply)
		has "$f" 'smtp.response.code==220' && has "$f" 'smtp.req.command=="EHLO"' &&
		hasnt "$f" 'smtp.response.code==250' &&
		hasnt "$f" 'tcp.analysis.retransmission && tcp.dstport==25 && tcp.payload contains "EHLO"' ;;
	ehlo-rejected)
		has "$f" 'smtp.req.command=="EHLO"' &&
		has "$f" 'smtp.response.code==554 && smtp.rsp.parameter contains "Helo command rejected"' &&
		hasnt "$f" 'smtp.req.command=="MAIL"' ;;
	masked-greeting)
		has "$f" 'smtp.response.code==220 && smtp.rsp.parameter contains "*****"' &&
		has "$f" 'smtp.response.code==500' && has "$f" 'smtp.req.command=="HELO"' &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' ;;
	tls-stripped)
		has "$f" 'smtp.rsp.parameter contains "XXXXXXXA"' && hasnt "$f" 'smtp.req.command=="STARTTLS"' &&
		hasnt "$f" 'smtp.req.command=="MAIL"' ;;
	mail-loop)
		has "$f" 'smtp.response.code==220 && smtp.rsp.parameter contains "gw.example.org"' &&
		has "$f" 'smtp.req.command=="EHLO" && smtp.req.parameter=="gw.example.org"' &&
		hasnt "$f" 'smtp.req.command=="MAIL"' ;;
	mail-loop-hops)
		has "$f" 'smtp.response.code==554 && smtp.rsp.parameter contains "too many hops"' ;;
	mail-rejected)
		has "$f" 'smtp.req.command=="MAIL"' &&
		has "$f" 'smtp.response.code==554 && smtp.rsp.parameter contains "Sender address rejected"' &&
		hasnt "$f" 'smtp.req.command=="DATA"' ;;
	mx-fallback)
		has "$f" 'dns.qry.type==15 && dns.flags.response==1 && dns.count.answers==2' &&
		has "$f" "$SYN && ip.dst==203.0.113.25" &&
		hasnt "$f" "$SYNACK && ip.src==203.0.113.25" &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as" && ip.src==203.0.113.26' ;;
	exim-mx-fallback)
		has "$f" "$SYN && ip.dst==203.0.113.25" && hasnt "$f" "$SYNACK && ip.src==203.0.113.25" &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as" && ip.src==203.0.113.26' ;;
	auth-rejected)
		has "$f" 'smtp.req.command=="AUTH" && smtp.req.parameter contains "PLAIN"' &&
		has "$f" 'smtp.req.command=="AUTH" && smtp.req.parameter contains "LOGIN"' &&
		has "$f" 'smtp.response.code==235' 2 &&
		has "$f" 'smtp.response.code==550' 2 &&
		hasnt "$f" 'smtp.req.command=="DATA"' ;;
	relay-denied)
		has "$f" 'smtp.req.command=="RCPT"' &&
		has "$f" 'smtp.response.code==554 && smtp.rsp.parameter contains "Relay access denied"' &&
		hasnt "$f" 'smtp.req.command=="DATA"' ;;
	data-body-dropped)
		has "$f" 'smtp.response.code==354' &&
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25' 2 &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$ICMP_ERR" ;;
	dot-unanswered)
		has "$f" 'smtp.response.code==354' &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" 'tcp.analysis.retransmission && tcp.dstport==25' ;;
	pmtu-blackhole)
		has "$f" 'smtp.response.code==354' &&
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25 && tcp.len==1448' 2 &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$ICMP_ERR" ;;
	multi-session)
		has "$f" "$SYNACK" 4 &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' 6 &&
		hasnt "$f" "$RST" ;;
	starttls)
		has "$f" 'tcp.dstport==25 && frame contains "STARTTLS"' && has "$f" 'smtp.response.code==220' 2 &&
		has "$f" 'tls.handshake.type==1' && hasnt "$f" "$RST" ;;
	slow-lossy)
		sanity_resent "$f" 'tcp.dstport==25 && tcp.len>0' 3 &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" ;;
	slow-greeting-ptr)
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" && ! sanity_greeting_fast "$f" ;;
	gateway-ptr-timeout)
		has "$f" 'dns.qry.name=="25.113.0.203.in-addr.arpa" && dns.flags.response==0 && ip.dst==203.0.113.53' &&
		hasnt "$f" 'dns.flags.response==1' &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" ;;
	ipv6-broken)
		has "$f" 'dns.flags.response==1 && dns.aaaa==2001:db8:3::25' &&
		has "$f" "$SYN && ipv6.dst==2001:db8:3::25" 2 &&
		hasnt "$f" "$SYNACK && ipv6.src==2001:db8:3::25" &&
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' ;;
	postfix-syn-timeout | exim-syn-timeout)
		has "$f" "$SYN && ip.dst==203.0.113.25" 2 &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" && hasnt "$f" "$ICMP_ERR" ;;
	postfix-refused | exim-refused)
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==62" &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$ICMP_ERR" ;;
	postfix-rst-mid-data)
		has "$f" "$SYNACK && ip.ttl==62" && has "$f" 'smtp.response.code==354' &&
		has "$f" "$RST && ip.ttl==63" && hasnt "$f" "$RST && ip.ttl==62" &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' ;;
	postfix-late-rst)
		has "$f" "$RST && ip.src==203.0.113.25 && ip.ttl==62" && has "$f" "$SYN" 2 &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$ICMP_ERR" && sanity_rst_delay "$f" 3.5 ;;
	postfix-syslog)
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		has "$f" 'smtp.response.code==450' && has "$f" "$SYNACK" 2 ;;
	postfix-greeting-421 | exim-greeting-421)
		has "$f" 'smtp.response.code==421' && hasnt "$f" 'smtp.req.command=="MAIL"' ;;
	postfix-ehlo-silent)
		has "$f" 'smtp.response.code==220' && has "$f" 'smtp.req.command=="EHLO"' &&
		hasnt "$f" 'smtp.response.code==250' ;;
	postfix-icmp-unreachable | exim-icmp-unreachable)
		has "$f" 'icmp.type==3 && icmp.code==13 && ip.src==198.18.0.2' &&
		hasnt "$f" "$SYNACK" && hasnt "$f" "$RST" ;;
	postfix-greeting-554 | exim-greeting-554)
		has "$f" 'smtp.response.code==554' && hasnt "$f" 'smtp.req.command=="MAIL"' &&
		has "$f" "$SYN" 1 && ! has "$f" "$SYN" 2 ;;
	postfix-data-stall | exim-data-stall)
		has "$f" 'smtp.response.code==354' &&
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25' 2 &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$ICMP_ERR" ;;
	postfix-dot-unanswered)
		has "$f" 'smtp.response.code==354' &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" 'tcp.analysis.retransmission && tcp.dstport==25' ;;
	exim-rst-mid-data)
		has "$f" "$SYNACK && ip.ttl==62" && has "$f" 'smtp.response.code==354' &&
		has "$f" "$RST && ip.ttl==63" && hasnt "$f" "$RST && ip.ttl==62" &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' ;;
	exim-ehlo-silent)
		has "$f" 'smtp.response.code==220' && has "$f" 'smtp.req.command=="EHLO"' &&
		hasnt "$f" 'smtp.response.code==250' ;;
	exim-delivered)
		has "$f" 'smtp.response.code==250 && smtp.rsp.parameter contains "queued as"' &&
		hasnt "$f" "$RST" ;;
	pmtu-drop-long)
		has "$f" 'smtp.response.code==354' &&
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25 && tcp.len==1448' 2 &&
		has "$f" 'tcp.srcport==25 && tcp.options.sack.count>=1' &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$ICMP_ERR" ;;
	pmtu-icmp)
		has "$f" 'icmp.type==3 && icmp.code==4' &&
		has "$f" 'smtp.rsp.parameter contains "queued as"' ;;
	data-stop-1k)
		has "$f" 'tcp.analysis.retransmission && tcp.dstport==25' 2 &&
		hasnt "$f" 'tcp.srcport==25 && tcp.options.sack.count>=1' &&
		hasnt "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$ICMP_ERR" ;;
	one-direction)
		has "$f" "$SYN" && hasnt "$f" 'tcp.srcport==25' &&
		has "$f" 'smtp.req.command=="QUIT"' ;;
	offload-bigtcp)
		has "$f" 'ip[2:2]==00:00 && tcp.dstport==25 && frame.len > 65600' &&
		has "$f" 'smtp.rsp.parameter contains "queued as"' && hasnt "$f" "$RST" ;;
	smtps-465)
		has "$f" 'tcp.dstport==465 && tls.handshake.type==1' &&
		hasnt "$f" 'tcp.port==465 && frame contains "EHLO"' && hasnt "$f" "$RST && ip.src==203.0.113.25" ;;
	loopback-filter)
		has "$f" 'ip.src==127.0.0.1 && ip.dst==127.0.0.1 && tcp.dstport==10025 && tcp.flags.syn==1' ;;
	close-fin-rst)
		has "$f" 'tcp.srcport==25 && tcp.flags.fin==1' && has "$f" "$RST && ip.src==203.0.113.25" ;;
	snaplen-68)
		has "$f" 'frame.cap_len < frame.len && tcp.srcport==25' 3 ;;
	capture-cut-data)
		has "$f" 'smtp.response.code==354' && hasnt "$f" 'tcp.flags.fin==1' ;;
	capture-ends-after-fin)
		has "$f" "$SYNACK" && has "$f" 'tcp.dstport==25 && tcp.flags.fin==1' &&
		hasnt "$f" 'tcp.srcport==25 && tcp.len>0' ;;
	tls-on-plain-465)
		has "$f" 'tcp.dstport==465 && tls.handshake.type==1' && has "$f" 'tcp.srcport==465 && frame contains "220 "' ;;
	not-smtp)
		has "$f" 'tcp.dstport==25 && frame contains "GET /"' && has "$f" 'tcp.srcport==25 && frame contains "HTTP/1.0 400"' ;;
	redact-pmtu-icmp)
		has "$f" 'icmp.type==3 && icmp.code==4 && frame contains "PLANT-PMTU-Kx41"' &&
		has "$f" 'smtp.rsp.parameter contains "queued as"' ;;
	redact-cut-body)
		hasnt "$f" 'tcp.flags.syn==1' && hasnt "$f" 'tcp.srcport==25 && frame contains "354 "' &&
		has "$f" 'tcp.dstport==25 && frame contains "PLANT-CUTBODY-7Qm2"' 3 &&
		has "$f" 'tcp.srcport==25 && frame contains "550 5.7.1"' ;;
	redact-cut-auth)
		hasnt "$f" 'tcp.flags.syn==1' && hasnt "$f" 'tcp.srcport==25 && frame contains "334 "' &&
		has "$f" 'tcp.dstport==25 && frame contains "UExBTlQtQ1VUQVVUSC1wYXNzLVpyOA=="' &&
		has "$f" 'frame contains "235 "' ;;
	redact-bpf-drop)
		has "$f" 'smtp.req.command=="DATA"' && hasnt "$f" 'tcp.srcport==25 && frame contains "354 "' &&
		has "$f" 'tcp.dstport==25 && frame contains "PLANT-BPF-Hn5c"' &&
		has "$f" "$SYNACK" && has "$f" 'tcp.srcport==25 && tcp.len==0' 3 &&
		has "$f" 'tcp.srcport==25 && frame contains "550 5.7.1"' ;;
	*) SANITY_MSG="no sanity check for $name"; return 1 ;;
	esac || return 1
	# No other scenario means to delay the greeting (that would be slow_greeting).
	[ "$name" = slow-greeting-ptr ] || sanity_greeting_fast "$f"
}

# sanity_greeting_fast FILE: the first server payload comes < 1 s after the SYN-ACK
sanity_greeting_fast() {
	local d
	d=$(timeout 60 tshark -n -r "$1" -T fields -e frame.time_relative -e tcp.len \
		-Y "($SYNACK) || (tcp.srcport==25 && tcp.len>0)" 2>/dev/null | awk '
		NR == 1 && $2 == 0 { t = $1; next }
		t != "" && $2 > 0 { printf "%.3f", $1 - t; exit }')
	[ -z "$d" ] && return 0
	awk -v d="$d" 'BEGIN { exit !(d < 1.0) }' && return 0
	SANITY_MSG="greeting came $d s after the SYN-ACK (slow)"
	return 1
}

# sanity_icmp_delay FILE lt|gt SECONDS: delay from the first SYN to the first ICMP error
sanity_icmp_delay() {
	local d
	d=$(timeout 60 tshark -n -r "$1" -T fields -e frame.time_relative -e icmp.type \
		-Y "($SYN) || icmp.type==3" 2>/dev/null | python3 -c '
import sys
syn = icmp = None
for l in sys.stdin:
    p = l.split()
    if not p: continue
    t = float(p[0])
    if len(p) == 1 and syn is None: syn = t
    elif len(p) > 1 and icmp is None: icmp = t
print("%.3f" % (icmp - syn) if syn is not None and icmp is not None else "nan")')
	if python3 -c "import sys; d=float('$d'); sys.exit(0 if (d < $3 if '$2'=='lt' else d > $3) else 1)" 2>/dev/null; then
		return 0
	fi
	SANITY_MSG="ICMP delay after SYN is $d s, expected $2 $3 s"
	return 1
}

# sanity_rst_delay FILE SECONDS: the first RST comes more than SECONDS after the first SYN
sanity_rst_delay() {
	local d
	d=$(timeout 60 tshark -n -r "$1" -T fields -e frame.time_relative -e tcp.flags.reset \
		-Y "($SYN) || ($RST)" 2>/dev/null | awk '
		$2 ~ /^(0|False)$/ && s == "" { s = $1 }
		$2 ~ /^(1|True)$/ && s != "" { printf "%.3f", $1 - s; exit }')
	[ -n "$d" ] && awk -v d="$d" -v m="$2" 'BEGIN { exit !(d > m) }' && return 0
	SANITY_MSG="first RST ${d:-never} s after the first SYN, expected more than $2 s"
	return 1
}

# sanity_ehlo_unacked FILE: the EHLO segment is never acknowledged by the server
sanity_ehlo_unacked() {
	local r
	r=$(timeout 60 tshark -n -r "$1" -T fields -e tcp.srcport -e tcp.seq -e tcp.len -e tcp.ack -e tcp.flags.ack \
		-e tcp.payload -Y 'tcp.port==25' 2>/dev/null | python3 -c '
import sys
ehlo_end = None; maxack = 0
for l in sys.stdin:
    p = l.rstrip("\n").split("\t")
    if len(p) < 6: continue
    sport, seq, ln, ack, fack, pay = p
    if sport != "25" and pay and bytes.fromhex(pay.replace(":", "")).startswith(b"EHLO") and ehlo_end is None:
        ehlo_end = int(seq) + int(ln)
    if sport == "25" and fack in ("1", "True"):
        maxack = max(maxack, int(ack))
print("ok" if ehlo_end is not None and maxack < ehlo_end else "bad %s %s" % (ehlo_end, maxack))')
	[ "$r" = ok ] && return 0
	SANITY_MSG="EHLO segment acknowledged or missing ($r)"
	return 1
}

# sanity_resent FILE FILTER MIN: at least MIN segments matching FILTER were sent
# more than once (same stream, sequence number and length)
sanity_resent() {
	local n
	n=$(timeout 60 tshark -n -r "$1" -Y "$2" -T fields -e tcp.stream -e tcp.seq -e tcp.len 2>/dev/null |
		sort | uniq -d | wc -l)
	[ "$n" -ge "$3" ] && return 0
	SANITY_MSG="only $n segments matching '$2' were sent again, expected >= $3"
	return 1
}
