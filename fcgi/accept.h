/*
 * accept.h: the start of a FastCGI request, on a unix socket without a
 * system call spent on each connection's first byte.
 *
 * Owns how a worker takes its next connection (gilly's, and the
 * benchmarks' ceiling, which must take requests the same way) and how long
 * a connection may keep it waiting for the request's bytes.
 */
#ifndef GILLY_ACCEPT_H
#define GILLY_ACCEPT_H

#include <fcgiapp.h>

/*
 * A read of a request's bytes waits at most this long: libfcgi's own wait
 * for a new connection's first byte, before it drops the connection.
 * lighttpd.conf's server.stream-request-body = 0 makes lighttpd send a
 * request only once it holds all of it, so that its reads never wait on
 * the client; a body streamed as it arrives could pause longer, and be
 * answered 400, shorter than its Content-Length.
 */
#define FCGI_ACCEPT_IDLE_MS	2000

/* Whether fd is a unix socket; asked once a socket, the answer kept. */
int	fcgi_is_unix(int fd);

/*
 * Give each read on socket fd FCGI_ACCEPT_IDLE_MS (on a listening TCP
 * socket, Linux passes it on to the connections). 0, or -1 with errno.
 */
int	fcgi_read_idle(int fd);

/*
 * In place of FCGX_Accept_r(rq), whose return it returns (0, or -errno:
 * -EAGAIN when the listening socket has a receive timeout and it passed,
 * or is non-blocking and nothing waited). On a unix listening socket with
 * no connection open, takes the next connection itself, and gives each
 * read on it FCGI_ACCEPT_IDLE_MS.
 */
int	fcgi_accept(FCGX_Request *rq);

#endif
