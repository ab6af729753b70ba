/*
 * serve.h: gilly over HTTP, as a FastCGI responder or a CGI program.
 *
 * Owns the routes (POST /mutate, GET /healthz), the checks of a request's
 * method, length and type before its body is read, and the CGI response
 * (RFC 3875 section 6). The table is loaded once per process and held
 * behind one pointer for the life of the accept loop.
 */
#ifndef GILLY_SERVE_H
#define GILLY_SERVE_H

#include "common.h"

#include "mirror.h"

/*
 * steals table. Serve FastCGI requests on the listening socket at fd 0 until
 * libfcgi asks to stop; returns the exit status.
 */
int	serve_fcgi(struct mirror *table);

/*
 * steals table (NULL: none could be loaded, /mutate and /healthz answer
 * 503). Answer the one CGI request described by the environment and stdin
 * on stdout; returns the exit status.
 */
int	serve_cgi(struct mirror *table);

#endif
