/*
 * accept.c: the start of a FastCGI request, on a unix socket without a
 * system call spent on each connection's first byte.
 *
 * libfcgi's FCGX_Accept_r() accepts a connection on a unix socket, then asks
 * poll() whether a byte arrives within 2 s, and drops the connection if
 * none does: a guard against a client that connects and says nothing,
 * which would hold the worker in its first read. lighttpd writes its
 * request as it connects, so that poll() only costs each request a system
 * call (make bench-syscalls: accept, poll, read, write, close). Here the
 * worker accepts the connection itself and gives it a receive timeout:
 * every read of the request, not only the first, waits at most
 * FCGI_ACCEPT_IDLE_MS (a client that sent a byte and stalled held
 * libfcgi's worker for good), for a setsockopt() that costs half a poll()
 * on a socket ready to read. Then FCGX_Accept_r() reads the request from
 * that connection as from one kept open by the front end. A TCP socket
 * stays libfcgi's: it checks FCGI_WEB_SERVER_ADDRS and sets TCP_NODELAY
 * there, and asks poll() nothing.
 */
#include "common.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>

#include "accept.h"

/* Whether fd is a unix socket; asked once a socket, the answer kept. */
static int
is_unix(int fd)
{
	static int		 known = -1, answer;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;

	if (fd != known) {
		answer = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
		    ss.ss_family == AF_UNIX;
		known = fd;
	}
	return (answer);
}

int
fcgi_accept(FCGX_Request *rq)
{
	static const struct timeval	 idle = { FCGI_ACCEPT_IDLE_MS / 1000,
	    FCGI_ACCEPT_IDLE_MS % 1000 * 1000 };
	int				 fd;

	if (rq->ipcFd < 0 && is_unix(rq->listen_sock)) {
		/* As libfcgi: a connection gone before it is taken is no error. */
		while ((fd = accept(rq->listen_sock, NULL, NULL)) == -1)
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EPROTO)
				return (-errno);
		/*
		 * Cannot fail on a connected unix socket; were it to, the
		 * request would be served without the timeout, as libfcgi
		 * serves one once its first byte is in.
		 */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle,
		    sizeof idle);
		/*
		 * FCGX_Accept_r() first ends the request before, closing
		 * ipcFd unless the front end asked to keep the connection:
		 * this one it must keep. It sets keepConnection again from
		 * the new request's FCGI_BEGIN_REQUEST, and on a request it
		 * cannot read, closes the connection and accepts the next
		 * itself.
		 */
		rq->ipcFd = fd;
		rq->keepConnection = 1;
	}
	return (FCGX_Accept_r(rq));
}
