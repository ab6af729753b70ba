/*
 * nolookup.c: the host name lookup of a statically linked gilly.
 *
 * libfcgi resolves a host name in one place only, FCGX_OpenSocket() given
 * "host:port", which gilly never calls: lighttpd hands each worker its
 * listening socket. A static link would still pull in glibc's resolver for
 * it, which needs the shared name service modules at run time (the linker
 * says so). configure links with --wrap=gethostbyname so that libfcgi's
 * reference lands here instead; without --wrap nothing calls this.
 */
#include "common.h"

#include <netdb.h>

struct hostent	*__wrap_gethostbyname(const char *);

struct hostent *
__wrap_gethostbyname(const char *name)
{
	(void)name;
	h_errno = NO_RECOVERY;
	return (NULL);
}
