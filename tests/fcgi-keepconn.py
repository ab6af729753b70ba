# fcgi-keepconn.py: a FastCGI front end that keeps its connection, as
# nginx does with fastcgi_keep_conn (lighttpd does not), for tests/fcgi.sh:
#
#   fcgi-keepconn.py SOCKET BODY N TIMEOUT OUT
#
# Connects once to the unix socket SOCKET and sends N POST /mutate
# requests one after the other over that connection, each with the
# FCGI_KEEP_CONN flag and the file BODY as its body; writes what the
# responder answered on FCGI_STDOUT to OUT.1 ... OUT.N. Exits 0 when all N
# were answered (FCGI_END_REQUEST), 1 with a message naming the request
# when the connection closed or TIMEOUT seconds passed without a byte.
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


def exchange(sock, body):
    params = b"".join(name_value(k, v) for k, v in (
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_METHOD", "POST"),
        ("REQUEST_URI", "/mutate"),
        ("CONTENT_TYPE", "application/json"),
        ("CONTENT_LENGTH", str(len(body))),
    ))
    begin = struct.pack(">HB5x", RESPONDER, KEEP_CONN)
    out = [record(BEGIN_REQUEST, 1, begin), record(PARAMS, 1, params),
           record(PARAMS, 1, b"")]
    # A record holds at most 65535 bytes of content.
    for i in range(0, len(body), 65535):
        out.append(record(STDIN, 1, body[i:i + 65535]))
    out.append(record(STDIN, 1, b""))
    sock.sendall(b"".join(out))
    answer = b""
    while True:
        _, kind, _, length, padding = struct.unpack(">BBHHBx",
                                                    receive(sock, 8))
        content = receive(sock, length + padding)[:length]
        if kind == STDOUT:
            answer += content
        elif kind == END_REQUEST:
            return answer


def main(argv):
    if len(argv) != 6:
        sys.exit("usage: fcgi-keepconn.py SOCKET BODY N TIMEOUT OUT")
    path, body_file, n, timeout, out = argv[1:]
    with open(body_file, "rb") as f:
        body = f.read()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(float(timeout))
    sock.connect(path)
    for i in range(1, int(n) + 1):
        try:
            answer = exchange(sock, body)
        except (OSError, EOFError) as e:
            print(f"fcgi-keepconn.py: request {i} of {n} on one "
                  f"connection: {e or 'timed out'}", file=sys.stderr)
            return 1
        with open(f"{out}.{i}", "wb") as f:
            f.write(answer)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
