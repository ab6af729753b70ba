/*
 * finish.h: the end of a FastCGI request, without waiting for lighttpd.
 *
 * Owns how a worker lets go of a request's connection once its answer is
 * written (gilly's, and the benchmarks' ceiling, which must end requests
 * the same way).
 */
#ifndef GILLY_FINISH_H
#define GILLY_FINISH_H

#include <fcgiapp.h>

/*
 * In place of FCGX_Finish_r(rq): sends the answer, reads the request to its
 * end, closes the connection. unread: the handler may have left body bytes
 * unread (a refusal), which may still be on their way.
 */
void	fcgi_finish(FCGX_Request *rq, int unread);

#endif
