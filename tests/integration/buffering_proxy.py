#!/usr/bin/env python3
"""A TLS-intercepting HTTP proxy that buffers whole responses (issue 10,
t_ctl_poll.sh): it answers CONNECT, terminates the client's TLS with its own
certificate, sends each request on to the server over a new TLS connection
(Connection: close) and passes the response on only once it is complete,
re-framed with Content-Length; a chunked response that never ends (a stream)
never reaches the client at all. Upgrade requests get 502 (a proxy that breaks
Upgrade). Why not a real proxy: squid and tinyproxy stream responses as they
come (squid has no setting that holds a whole reply back), and a CONNECT
tunnel cannot buffer what it cannot read. Debian's mitmproxy (8.1 in
bookworm) buffers by default, but it is not in the lab's packages and pulls
39 more; the test also needs a fault at one exact point (a poll's reply cut
after the server sent it), which is a few lines here.

  buffering_proxy.py --listen ADDR:PORT --cert PEM --key PEM [--control FILE]

--control FILE: when FILE holds "drop-poll", the next reply to a stream poll
(GET /v1/stream?poll=1...) that carries lines is taken from the server but not passed on (the
client's connection is closed instead), as a proxy or NAT that cuts a
connection at the wrong moment; FILE is then emptied. While FILE holds
"hold-polls", stream polls are held back before they reach the server. Each request is logged
on stdout: method, target, status, body length, and for a poll reply its
body (lines joined by " | ", at most 4000 characters).
"""
import argparse
import http.client
import os
import socket
import ssl
import sys
import threading
import time

HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
       "transfer-encoding", "upgrade", "content-length"}
LOCK = threading.Lock()


def log(text):
    with LOCK:
        print(text, flush=True)


def read_head(f):
    line = f.readline(65536)
    if not line:
        return None, None
    headers = []
    while True:
        h = f.readline(65536)
        if not h or h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def take_drop(control):
    if not control:
        return False
    try:
        with open(control) as f:
            want = f.read().strip() == "drop-poll"
        if want:
            open(control, "w").close()
        return want
    except OSError:
        return False


def hold_polls(control):
    """While FILE holds "hold-polls", stream polls wait here (the server
    queues lines meanwhile)."""
    while control:
        try:
            with open(control) as f:
                if f.read().strip() != "hold-polls":
                    return
        except OSError:
            return
        time.sleep(0.1)


def forward(host, port, method, target, headers, body):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, port, context=ctx)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        if name.lower() not in HOP:
            conn.putheader(name, value)
    if body:
        conn.putheader("Content-Length", str(len(body)))
    conn.putheader("Connection", "close")
    conn.endheaders(body or None)
    resp = conn.getresponse()
    data = resp.read()  # whole: a reply that never ends never gets through
    out = [(n, v) for n, v in resp.getheaders() if n.lower() not in HOP]
    conn.close()
    return resp.status, resp.reason, out, data


def serve_tls(client, host, port, args):
    f = client.makefile("rb")
    while True:
        line, headers = read_head(f)
        if not line:
            return
        method, target, _ = line.split(" ", 2)
        length = int(next((v for n, v in headers if n.lower() == "content-length"), "0"))
        body = f.read(length) if length else b""
        if any(n.lower() == "upgrade" for n, _ in headers):
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            log(f"{method} {target} 502 upgrade refused")
            continue
        if target.startswith("/v1/stream?"):
            hold_polls(args.control)
        status, reason, out, data = forward(host, port, method, target, headers, body)
        poll = target.startswith("/v1/stream?")
        shown = data.decode("latin-1").replace("\n", " | ")[:4000] if poll else ""
        if poll and data.count(b"\n") > 1 and take_drop(args.control):
            log(f"{method} {target} {status} {len(data)} DROPPED {shown}")
            return
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in out)
        head += f"Content-Length: {len(data)}\r\n\r\n"
        client.sendall(head.encode("latin-1") + data)
        log(f"{method} {target} {status} {len(data)} {shown}")


def handle(sock, args, tls_ctx):
    try:
        f = sock.makefile("rb")
        line, _ = read_head(f)
        if not line or not line.startswith("CONNECT "):
            sock.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = line.split(" ")[1].rpartition(":")
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client = tls_ctx.wrap_socket(sock, server_side=True)
        serve_tls(client, host.strip("[]"), int(port), args)
    except (OSError, ValueError, http.client.HTTPException) as e:
        log(f"connection ended: {e.__class__.__name__}: {e}")
    finally:
        sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--control")
    args = p.parse_args()
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ctx.load_cert_chain(args.cert, args.key)
    addr, _, port = args.listen.rpartition(":")
    srv = socket.create_server((addr, int(port)), reuse_port=False)
    log(f"buffering proxy on {args.listen}")
    while True:
        sock, _ = srv.accept()
        threading.Thread(target=handle, args=(sock, args, tls_ctx), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
