/*
 * finish.c: the end of a FastCGI request, without waiting for lighttpd.
 *
 * libfcgi's FCGX_Finish_r() writes the answer's last records, then shuts
 * the socket's sending side and waits (up to 2 s) for lighttpd to close its
 * end before closing its own: a guard against a TCP stack answering data
 * still unread with a reset that would discard the answer. The worker sleeps
 * and is woken once more for every request (strace: shutdown, poll, read;
 * what that costs: tests/bench/README.md). Here the worker first reads the
 * request to its end, the empty FCGI_STDIN record that lighttpd sends after
 * the body, so that nothing lighttpd sent is left unread and no reset can
 * follow; then it closes at once. FCGX_Detach() is what makes
 * FCGX_Finish_r() close without the wait (libfcgi 2.4: a detached request's
 * socket is closed without shutdown()); the next FCGX_Accept_r() takes the
 * worker's next connection as before.
 */
#include "common.h"

#include "finish.h"

void
fcgi_finish(FCGX_Request *rq, int unread)
{
	char	 rest[4096];

	/*
	 * A body refused unread may still be arriving where lighttpd streams
	 * bodies (server.stream-request-body 1 or 2; the pod's lighttpd.conf
	 * buffers them): the answer goes out first, so that neither its
	 * client nor the next request waits for the rest. A body read whole
	 * leaves only FCGI_STDIN's empty end record, already sent: the answer
	 * then goes out in one write with FCGX_Finish_r()'s end of request.
	 */
	if (unread)
		(void)FCGX_FFlush(rq->out);
	/* 0 at the end of FCGI_STDIN, or once the stream has failed. */
	while (FCGX_GetStr(rest, sizeof rest, rq->in) > 0)
		;
	(void)FCGX_Detach(rq);
	FCGX_Finish_r(rq);
}
