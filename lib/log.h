/*
 * log.h: gilly's log lines on stderr.
 *
 * One event per line, prefixed with a local timestamp in the format users of
 * the original webhook know ("2020/06/03 16:41:06 [Mutate] ..."). Under
 * lighttpd, stderr is lighttpd's error log; stdout is never used for logs.
 */
#ifndef GILLY_LOG_H
#define GILLY_LOG_H

#include "common.h"

/* Write one timestamped line to stderr (a newline is added). */
void	log_line(const char *, ...) GILLY_PRINTF(1, 2);

/* The same, of its strings one after the other, up to a NULL. */
void	log_concat(const char *, ...) __attribute__((sentinel));

/*
 * Between log_begin() and log_flush(), lines are kept and written together
 * by log_flush() (at most PIPE_BUF bytes a write): one write(2) per request
 * instead of one per line.
 */
void	log_begin(void);
void	log_flush(void);

/*
 * Within log_begin(), at the end of a request: its lines may wait for the
 * next request's (a batch is still written at LOG_BATCH_MAX bytes), until
 * log_flush(), or until the oldest is a second old.
 */
void	log_hold(void);

/* Whether lines wait for log_flush(). */
int	log_held(void);

/* Silence (1) or restore (0) log_line: for tests and benchmarks. */
void	log_set_quiet(int);

#endif
