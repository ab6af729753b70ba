/*
 * common.h: included first by every gilly source file.
 *
 * Owns the build configuration (autoconfig.h) and the allocation helpers that
 * abort on exhaustion, so that the rest of the code never tests malloc:
 * a worker that cannot allocate a few bytes is better restarted by
 * lighttpd than left limping.
 */
#ifndef GILLY_COMMON_H
#define GILLY_COMMON_H

#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>

#define GILLY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* new: caller frees with free(); abort on exhaustion. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) GILLY_PRINTF(1, 2);
char	*xvasprintf(const char *, va_list) GILLY_PRINTF(1, 0);
/* new: the C strings given, one after the other, up to a NULL. */
char	*xconcat(const char *, ...) __attribute__((sentinel));

/* Room for any size_t in decimal and a NUL. */
#define DECIMAL_MAX	21
/*
 * v in decimal at the end of buf, NUL-terminated: returns its first digit.
 * For a hot path's numbers, where snprintf()'s setup dominates (callgrind).
 */
char	*decimal(char buf[DECIMAL_MAX], size_t v);

/* Set *cause (if cause is not NULL) to a new formatted message; returns -1. */
int	 set_cause(char **cause, const char *, ...) GILLY_PRINTF(2, 3);

#endif
