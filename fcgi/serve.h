/*
 * serve.h: gilly over HTTP, as a FastCGI responder or a CGI program.
 *
 * Owns the routes (POST /mutate, GET /healthz, GET /metrics), the checks of
 * a request's method, length and type before its body is read, the CGI
 * response (RFC 3875 section 6), and the counting of every request in the
 * metrics. A FastCGI worker looks at its table's file before a request,
 * at most once a millisecond, and reloads it when it has changed
 * (table.h).
 *
 * The metrics file (metrics.h), shared by the workers of one server:
 * $GILLY_METRICS_FILE; else, for a FastCGI worker on a unix socket, the
 * socket's path with lighttpd's "-N" suffix replaced by ".metrics"
 * (/run/gilly/gilly.sock-0 -> /run/gilly/gilly.sock.metrics); else
 * /run/gilly/gilly.metrics. A CGI program counts in the file only when
 * $GILLY_METRICS_FILE names one.
 */
#ifndef GILLY_SERVE_H
#define GILLY_SERVE_H

#include "common.h"

#include "mirror.h"

/*
 * Load the table at path, then serve FastCGI requests on the listening
 * socket at fd 0 until libfcgi asks to stop; returns the exit status (1: the
 * table did not load, the reason logged).
 */
int	serve_fcgi(const char *path);

/*
 * steals table (NULL: none could be loaded, /mutate and /healthz answer
 * 503). Answer the one CGI request described by the environment and stdin
 * on stdout; returns the exit status.
 */
int	serve_cgi(struct mirror *table);

#endif
