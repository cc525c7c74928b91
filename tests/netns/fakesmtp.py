#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""fakesmtp.py -- a small scripted SMTP server for mxray test captures.

Behaviour no real MTA shows, selected by MODE:

  silent    accept TCP, never send a greeting
  masked    ASA-style masked greeting "220 *****...0*0*0", EHLO answered
            "500 5.5.1 Command unrecognized", HELO accepted, then a normal
            transaction that ends with 250 after the final dot
  xxxx      normal greeting; EHLO reply carries "250-XXXXXXXA" where
            STARTTLS would be (SMTP fixup masking); otherwise normal
  nodot     normal until the end of data; the final dot is never answered
  noehlo    greets; the EHLO is read (and ACKed by TCP) but never answered
  greet421  "421 4.7.0 ..." greeting, then close
  greet554  "554 5.7.1 ..." greeting; answers 503 to everything but QUIT
  loop      greeting and EHLO reply name the client's own host (--client-name)
  auth      offers AUTH PLAIN LOGIN and accepts any credentials (235), then
            refuses every recipient "550 5.7.1 ... not allowed for this
            user": an authenticated session that fails, so that its AUTH
            exchange goes into an evidence capture
  finrst    a normal server that, after its 221, closes with a FIN and then
            a RST (shutdown, then close with SO_LINGER 0), as some MTAs and
            TLS terminators do: a delivery all the same.  With --cert and
            --key it offers STARTTLS and the dialogue goes on inside TLS
  slowread  a normal server that reads the message body in small bites with
            pauses, so that a transfer takes seconds (captures cut mid-DATA)
  http      not SMTP at all: waits for the client's request and answers
            "HTTP/1.0 400 Bad Request", then closes
  normal    a plain, well-behaved server

Python standard library only.  Bounded: the process exits after --limit
seconds whatever happens.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

MODES = ("silent", "masked", "xxxx", "nodot", "noehlo", "greet421", "greet554",
         "loop", "auth", "finrst", "slowread", "http", "normal")


def log(msg):
    sys.stderr.write("fakesmtp: %s\n" % msg)
    sys.stderr.flush()


class Conn:
    def __init__(self, sock, peer, args):
        self.s = sock
        self.peer = peer
        self.args = args
        self.buf = bytearray()
        self.pos = 0
        self.queued = 0
        self.indata = False
        self.tls = False

    def send(self, *lines):
        data = b"".join(l.encode() + b"\r\n" for l in lines)
        self.s.sendall(data)

    def readline(self):
        # An index into one buffer, not a split per line: a multi-megabyte body
        # is read as fast as it arrives (offload-bigtcp needs an open window),
        # unless the mode reads slowly on purpose.
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                break
            if self.args.mode == "slowread" and self.indata:
                time.sleep(0.05)
                chunk = self.s.recv(1024)
            else:
                chunk = self.s.recv(1 << 20)
            if not chunk:
                return None
            del self.buf[:self.pos]
            self.pos = 0
            self.buf += chunk
        line = bytes(self.buf[self.pos:i])
        self.pos = i + 1
        return line.rstrip(b"\r").decode("latin-1")

    def drain(self):
        """Read and discard until the peer closes."""
        try:
            while self.s.recv(65536):
                pass
        except OSError:
            pass

    def ehlo_lines(self, host, extra_tls, auth=False):
        lines = ["250-%s" % host, "250-PIPELINING", "250-SIZE 10240000"]
        if extra_tls:
            lines.append("250-XXXXXXXA")
        if self.args.cert and not self.tls:
            lines.append("250-STARTTLS")
        if auth:
            lines.append("250-AUTH PLAIN LOGIN")
        lines += ["250-ENHANCEDSTATUSCODES", "250 8BITMIME"]
        return lines

    def run(self):
        a = self.args
        mode = a.mode
        host = a.hostname
        if mode == "silent":
            self.drain()
            return
        if mode == "http":
            self.readline()
            self.s.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        if mode == "masked":
            self.send("220 ******************************0*0*0")
        elif mode == "greet421":
            self.send("421 4.7.0 %s Service not available, closing transmission channel" % host)
            # Read what the client sends next (its QUIT) so that closing gives a
            # FIN, not a RST for unread data; then close without answering.
            self.s.settimeout(2.0)
            try:
                self.readline()
            except OSError:
                pass
            return
        elif mode == "greet554":
            self.send("554 5.7.1 %s No SMTP service here" % host)
        elif mode == "loop":
            self.send("220 %s ESMTP" % a.client_name)
        else:
            self.send("220 %s ESMTP" % host)
        indata = False
        while True:
            self.indata = indata
            line = self.readline()
            if line is None:
                return
            if indata:
                if line == ".":
                    indata = False
                    if mode == "nodot":
                        log("end of data seen, not answering")
                        self.drain()
                        return
                    self.queued += 1
                    self.send("250 2.0.0 Ok: queued as FAKE%04d" % self.queued)
                continue
            verb = line.split(" ", 1)[0].upper()
            if mode == "greet554":
                if verb == "QUIT":
                    self.send("221 2.0.0 Bye")
                    return
                self.send("503 5.5.1 Error: no SMTP service")
                continue
            if verb == "EHLO":
                if mode == "noehlo":
                    log("EHLO seen, not answering")
                    self.drain()
                    return
                if mode == "masked":
                    self.send("500 5.5.1 Command unrecognized")
                elif mode == "loop":
                    self.send(*self.ehlo_lines(a.client_name, False))
                else:
                    self.send(*self.ehlo_lines(host, mode == "xxxx", mode == "auth"))
            elif verb == "HELO":
                if mode == "noehlo":
                    self.drain()
                    return
                self.send("250 %s" % (a.client_name if mode == "loop" else host))
            elif verb == "MAIL":
                self.send("250 2.1.0 Ok")
            elif verb == "AUTH" and mode == "auth":
                words = line.split()
                mech = words[1].upper() if len(words) > 1 else ""
                if mech == "PLAIN" and len(words) < 3:
                    self.send("334 ")
                    self.readline()
                elif mech == "LOGIN":
                    if len(words) < 3:
                        self.send("334 VXNlcm5hbWU6")      # "Username:"
                        self.readline()
                    self.send("334 UGFzc3dvcmQ6")          # "Password:"
                    self.readline()
                self.send("235 2.7.0 Authentication successful")
            elif verb == "RCPT" and mode == "auth":
                self.send("550 5.7.1 %s: Recipient address rejected: not allowed for this user"
                          % line.split(":", 1)[-1].strip())
            elif verb == "RCPT":
                self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>")
                indata = True
            elif verb == "RSET":
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                if mode == "finrst":
                    # FIN first, then a RST for the same socket: close() with
                    # a zero linger time aborts the connection.
                    self.s.shutdown(socket.SHUT_WR)
                    self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            elif verb == "STARTTLS" and a.cert and not self.tls:
                import ssl
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(a.cert, a.key)
                self.send("220 2.0.0 Ready to start TLS")
                self.s = ctx.wrap_socket(self.s, server_side=True)
                self.tls = True
                self.buf = bytearray()
                self.pos = 0
            elif verb == "STARTTLS":
                self.send("454 4.7.0 TLS not available")
            else:
                self.send("502 5.5.2 Error: command not recognized")


def serve_conn(sock, peer, args):
    try:
        log("connection from %s mode %s" % (peer[0], args.mode))
        Conn(sock, peer, args).run()
    except OSError as e:
        log("connection error: %s" % e)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=MODES)
    p.add_argument("--bind", action="append", default=[],
                   help="address to listen on (repeatable)")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--limit", type=float, default=60.0,
                   help="exit after this many seconds")
    p.add_argument("--hostname", default="mx.example.net")
    p.add_argument("--client-name", default="gw.example.org",
                   help="name the loop mode puts in its greeting")
    p.add_argument("--cert", help="PEM certificate: offer STARTTLS (finrst)")
    p.add_argument("--key", help="PEM key for --cert")
    args = p.parse_args()
    if not args.bind:
        args.bind = ["127.0.0.1"]

    def bye(*_):
        os._exit(0)
    signal.signal(signal.SIGALRM, bye)
    signal.signal(signal.SIGTERM, bye)
    signal.setitimer(signal.ITIMER_REAL, args.limit)

    socks = []
    for b in args.bind:
        fam = socket.AF_INET6 if ":" in b else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.mode == "slowread":
            # A small receive buffer, set before listen() so that the window
            # is small from the SYN-ACK on: with the pauses in readline(),
            # the client's window fills and the transfer takes seconds.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((b, args.port))
        s.listen(16)
        socks.append(s)
        log("listening on %s port %d mode %s" % (b, args.port, args.mode))

    def acceptor(s):
        while True:
            c, peer = s.accept()
            threading.Thread(target=serve_conn, args=(c, peer, args), daemon=True).start()

    for s in socks[1:]:
        threading.Thread(target=acceptor, args=(s,), daemon=True).start()
    acceptor(socks[0])


if __name__ == "__main__":
    main()
