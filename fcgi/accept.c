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
 * worker accepts each connection itself and gives it a receive timeout:
 * every read of the request, not only the first, waits at most
 * FCGI_ACCEPT_IDLE_MS (a client that sent a byte and stalled held
 * libfcgi's worker for good), for a setsockopt() that costs half a poll()
 * on a socket ready to read. FCGX_Accept_r() then reads the request from
 * that connection as from one kept open by the front end. A TCP socket
 * stays libfcgi's: it checks FCGI_WEB_SERVER_ADDRS and sets TCP_NODELAY
 * there, and asks poll() nothing.
 */
#include "common.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>

#include "accept.h"

int
fcgi_is_unix(int fd)
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
fcgi_read_idle(int fd)
{
	static const struct timeval	 idle = { FCGI_ACCEPT_IDLE_MS / 1000,
	    FCGI_ACCEPT_IDLE_MS % 1000 * 1000 };

	return (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle));
}

/* The next connection of listening socket ls, as rq's; 0 or -errno. */
static int
take(FCGX_Request *rq, int ls)
{
	int	 fd;

	/* A connection gone before it is taken is no error. */
	while ((fd = accept(ls, NULL, NULL)) == -1)
		if (errno != EINTR && errno != ECONNABORTED &&
		    errno != EPROTO)
			return (-errno);
	/*
	 * Cannot fail on a connected unix socket; were it to, the request
	 * would be served without the timeout, as libfcgi serves one once
	 * its first byte is in.
	 */
	(void)fcgi_read_idle(fd);
	rq->ipcFd = fd;
	/*
	 * FCGX_Accept_r() first ends the request before, closing ipcFd
	 * unless the front end asked to keep the connection: this one it
	 * must keep. It sets keepConnection again from the new request's
	 * FCGI_BEGIN_REQUEST.
	 */
	rq->keepConnection = 1;
	/*
	 * A connection it drops, having read no request from it, it closes
	 * at once, as fcgi_finish() has it close one answered; not after
	 * shutdown() and a wait of up to 2 s for the client to close first.
	 */
	(void)FCGX_Detach(rq);
	return (0);
}

int
fcgi_accept(FCGX_Request *rq)
{
	int	 ls = rq->listen_sock, rc;

	if (!fcgi_is_unix(ls))
		return (FCGX_Accept_r(rq));
	/*
	 * Having dropped a connection it could read no request from (a
	 * timeout, an end, a record out of place), or when a kept one ends,
	 * FCGX_Accept_r() would take the next itself, unguarded: with the
	 * listening socket hidden from it, it returns -EBADF instead, and
	 * the next is taken here.
	 */
	for (;;) {
		if (rq->ipcFd < 0 && (rc = take(rq, ls)) != 0)
			return (rc);
		rq->listen_sock = -1;
		rc = FCGX_Accept_r(rq);
		rq->listen_sock = ls;
		if (rc != -EBADF)
			return (rc);
	}
}
