# fcgi-client.py: a FastCGI front end for tests/fcgi.sh, tests/fcgi-log.sh
# and tests/fcgi-stall.sh:
#
#   fcgi-client.py [--fresh] [--term PID] [--stall BYTES[,BYTES...]
#                  [--stall-after K]] [--last-fresh] SOCKET BODY N TIMEOUT
#                  OUT
#
# Sends N POST /mutate requests, one after the other, to SOCKET (a unix
# socket's path, or HOST:PORT), each with the file BODY as its body: over
# one connection, each with the FCGI_KEEP_CONN flag, as nginx does with
# fastcgi_keep_conn (lighttpd does not); with --fresh, each on a
# connection of its own without the flag, as lighttpd does. Writes what
# the responder answered on FCGI_STDOUT to OUT.1 ... OUT.N. With --term,
# sends PID a SIGTERM the moment the last answer is complete. With
# --stall, first opens, for each BYTES in turn, a connection that sends
# the first BYTES bytes of a request (all but -BYTES of them when
# negative) and then nothing, kept open until the end, ahead of the N
# requests (with --stall-after, once K of them are answered). With
# --last-fresh, the last request goes on a connection of its own, once
# the others' is closed. Exits 0 when all N were answered
# (FCGI_END_REQUEST), 1 with a message naming the request when the
# connection closed or TIMEOUT seconds passed without a byte.
import argparse
import os
import signal
import socket
import struct
import sys

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
RESPONDER = 1
KEEP_CONN = 1


def record(kind, request_id, content):
    return struct.pack(">BBHHBx", VERSION, kind, request_id, len(content),
                       0) + content


def name_value(name, value):
    name, value = name.encode(), value.encode()

    def length(b):
        if len(b) < 128:
            return bytes([len(b)])
        return struct.pack(">I", len(b) | 0x80000000)

    return length(name) + length(value) + name + value


def receive(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the responder closed the connection")
        data += chunk
    return data


def request(body, keep):
    params = b"".join(name_value(k, v) for k, v in (
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_METHOD", "POST"),
        ("REQUEST_URI", "/mutate"),
        ("CONTENT_TYPE", "application/json"),
        ("CONTENT_LENGTH", str(len(body))),
    ))
    begin = struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0)
    out = [record(BEGIN_REQUEST, 1, begin), record(PARAMS, 1, params),
           record(PARAMS, 1, b"")]
    # A record holds at most 65535 bytes of content.
    for i in range(0, len(body), 65535):
        out.append(record(STDIN, 1, body[i:i + 65535]))
    out.append(record(STDIN, 1, b""))
    return b"".join(out)


def exchange(sock, body, keep):
    sock.sendall(request(body, keep))
    answer = b""
    while True:
        _, kind, _, length, padding = struct.unpack(">BBHHBx",
                                                    receive(sock, 8))
        content = receive(sock, length + padding)[:length]
        if kind == STDOUT:
            answer += content
        elif kind == END_REQUEST:
            return answer


def connect(where, timeout):
    if where.startswith("/") or ":" not in where:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        host, port = where.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        where = (host, int(port))
    sock.settimeout(timeout)
    sock.connect(where)
    return sock


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--term", type=int)
    p.add_argument("--stall", type=lambda s: [int(b) for b in s.split(",")])
    p.add_argument("--stall-after", type=int, default=0)
    p.add_argument("--last-fresh", action="store_true")
    for name in ("socket", "body", "n", "timeout", "out"):
        p.add_argument(name)
    a = p.parse_args()
    with open(a.body, "rb") as f:
        body = f.read()
    n, timeout = int(a.n), float(a.timeout)
    how = "a connection each" if a.fresh else "one connection"
    answers = []
    sock = None
    stalled = []
    for i in range(1, n + 1):
        try:
            if i == a.stall_after + 1:
                for b in a.stall or []:
                    stalled.append(connect(a.socket, timeout))
                    stalled[-1].sendall(request(body, False)[:b])
            if i == n and a.last_fresh and sock is not None:
                sock.close()
                sock = None
            if sock is None:
                sock = connect(a.socket, timeout)
            answers.append(exchange(sock, body, not a.fresh))
        except (OSError, EOFError) as e:
            if a.last_fresh and i == n:
                how = "a connection of its own"
            print(f"fcgi-client.py: request {i} of {n} on {how}: "
                  f"{e or 'timed out'}", file=sys.stderr)
            return 1
        if a.fresh:
            sock.close()
            sock = None
    if a.term is not None:
        os.kill(a.term, signal.SIGTERM)
    if sock is not None:
        sock.close()
    for s in stalled:
        s.close()
    for i, answer in enumerate(answers, 1):
        with open(f"{a.out}.{i}", "wb") as f:
            f.write(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
