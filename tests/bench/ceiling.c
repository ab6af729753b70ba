/*
 * ceiling.c: a FastCGI responder that does nothing, the ceiling of the
 * lighttpd + FastCGI architecture in the end-to-end benchmark.
 *
 * usage: ceiling [FILE]	(spawned by lighttpd, fd 0 a listening socket)
 *
 * For every request it reads the whole body (CONTENT_LENGTH bytes, as gilly
 * does), ignores it, and answers with the bytes of FILE under the headers
 * gilly sends (fcgi/serve.c: Status, Content-Type, Content-Length). The
 * benchmark makes FILE gilly's own answer to the review it posts, so both
 * move the same bytes. FILE defaults to $GILLY_CONFIG, the one variable
 * lighttpd.conf hands its workers: the pod's configuration runs it as it is.
 * It takes and ends its connections as gilly's workers do (fcgi/accept.c,
 * fcgi/finish.c), so that the two differ in what they do with a request.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "accept.h"
#include "finish.h"

/* new: the bytes of path, *len their count. */
static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 size = 4096, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "ceiling: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = xmalloc(size);
	*len = 0;
	while ((n = fread(buf + *len, 1, size - *len, f)) > 0) {
		*len += n;
		if (*len == size)
			buf = xrealloc(buf, size *= 2);
	}
	fclose(f);
	return (buf);
}

int
main(int argc, char **argv)
{
	FCGX_Request	 rq;
	const char	*path, *cl;
	char		*answer, *buf, head[256];
	size_t		 len;
	long		 n;
	int		 hlen, got;

	path = argc > 1 ? argv[1] : getenv("GILLY_CONFIG");
	if (path == NULL) {
		fprintf(stderr, "usage: ceiling FILE (or GILLY_CONFIG=FILE)\n");
		return (2);
	}
	answer = slurp(path, &len);
	hlen = snprintf(head, sizeof head, "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    len);
	buf = xmalloc(65536);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0) {
		fprintf(stderr, "ceiling: cannot initialize libfcgi\n");
		return (1);
	}
	while (fcgi_accept(&rq) >= 0) {
		/* Read the body as gilly does: all of CONTENT_LENGTH. */
		cl = FCGX_GetParam("CONTENT_LENGTH", rq.envp);
		n = cl != NULL ? strtol(cl, NULL, 10) : 0;
		while (n > 0 && (got = FCGX_GetStr(buf, n < 65536 ? (int)n :
		    65536, rq.in)) > 0)
			n -= got;
		FCGX_PutStr(head, hlen, rq.out);
		FCGX_PutStr(answer, (int)len, rq.out);
		/* The whole body was read above. */
		fcgi_finish(&rq, 0);
	}
	free(buf);
	free(answer);
	return (0);
}
