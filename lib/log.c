/*
 * log.c: timestamped log lines on stderr.
 *
 * Why not fprintf(stderr) per line: a review logs three lines or more,
 * and unbuffered stderr makes each a write(2), a wake-up of whatever reads
 * the log, and a local time formatted again. In a FastCGI worker a
 * request's lines are kept (log_begin) and written once its answer is out
 * (log_flush), off the latency path; while more requests come to the
 * worker, they are held for the next requests' (log_hold) and written
 * together, up to PIPE_BUF bytes, once none has come for a moment
 * (fcgi/serve.c). The price: a worker killed by SIGKILL, SIGINT or a
 * crash loses the lines it held; lighttpd logs the death. SIGTERM and
 * SIGUSR1 wait until they are out (fcgi/serve.c). The stamp is formatted
 * once a second.
 */
#include "common.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The longest message kept (longer ones are cut), as before. */
#define LOG_MSG_MAX	4096
/*
 * The batch is written out before it would exceed this: a pipe's PIPE_BUF
 * (4096 on Linux), so that lines from several workers never interleave.
 */
#define LOG_BATCH_MAX	4096

/*
 * Held lines are written once the oldest is this old, busy or not: looked
 * at after each request, so a request that takes longer (a body streamed
 * slowly) holds them as long. lighttpd.conf hands workers whole bodies.
 */
#define LOG_HOLD_MS	1000

static int	log_quiet;
static int	log_batching;
/*
 * CLOCK_MONOTONIC_COARSE millisecond of the oldest line held; 0: none.
 * Not whole seconds: the next second may begin a moment later.
 */
static long long log_held_at;
/*
 * Lines waiting for log_flush(): fewer than LOG_BATCH_MAX bytes between
 * calls, and room for one full line (stamp, message, newline) beyond.
 */
static char	log_buf[LOG_BATCH_MAX + 32 + LOG_MSG_MAX + 2];
static size_t	log_len;
/* The stamp of the second log_stamp_at, "YYYY/MM/DD HH:MM:SS ". */
static time_t	log_stamp_at = (time_t)-1;
static char	log_stamp[32];
static size_t	log_stamp_len;

void
log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

static void
log_write(const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void
log_begin(void)
{
	log_batching = 1;
}

void
log_hold(void)
{
	struct timespec	 ts;
	long long	 now;

	if (log_len == 0)
		return;
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (log_held_at == 0)
		log_held_at = now;
	else if (now - log_held_at >= LOG_HOLD_MS)
		log_flush();
}

int
log_held(void)
{
	return (log_len > 0);
}

void
log_flush(void)
{
	if (log_len > 0)
		log_write(log_buf, log_len);
	log_len = 0;
	log_held_at = 0;
	log_batching = 0;
}

/*
 * Begin a line at the end of the batch: its stamp, formatted once a
 * second. Returns where its message goes (room for LOG_MSG_MAX bytes).
 */
static char *
line_begin(void)
{
	struct tm	 tm;
	time_t		 now;

	now = time(NULL);
	if (now != log_stamp_at) {
		if (localtime_r(&now, &tm) == NULL || (log_stamp_len =
		    strftime(log_stamp, sizeof log_stamp, "%Y/%m/%d %H:%M:%S ",
		    &tm)) == 0) {
			log_stamp[0] = ' ';
			log_stamp[1] = '\0';
			log_stamp_len = 1;
		}
		log_stamp_at = now;
	}
	memcpy(log_buf + log_len, log_stamp, log_stamp_len);
	return (log_buf + log_len + log_stamp_len);
}

/*
 * Whether any of the 8 bytes at p is a control byte (under 0x20, or DEL):
 * (x - ONES) & ~x sets the high bit of some byte if x has a zero byte.
 */
static inline int
has_control(const char *p)
{
	const uint64_t	 ones = UINT64_C(0x0101010101010101);
	const uint64_t	 highs = UINT64_C(0x8080808080808080);
	uint64_t	 w, d;

	memcpy(&w, p, sizeof w);
	d = w ^ (ones * 0x7f);
	return (((((w - ones * 0x20) & ~w) | ((d - ones) & ~d)) & highs) != 0);
}

/* End the line begun at line, its message n bytes long (< LOG_MSG_MAX). */
static void
line_end(char *line, size_t n)
{
	char	*p;
	size_t	 start = log_len, end;

	/* Names in a line come from the network: no control byte may forge a line. */
	for (p = line; p < line + n; p++) {
		/* Eight plain bytes at a time: a third of line_end()'s cost. */
		while (line + n - p >= 8 && !has_control(p))
			p += 8;
		if (p == line + n)
			break;
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	line[n] = '\n';
	end = start + log_stamp_len + n + 1;
	/* No write over LOG_BATCH_MAX but a single long line. */
	if (start > 0 && end > LOG_BATCH_MAX) {
		log_write(log_buf, start);
		memmove(log_buf, log_buf + start, end - start);
		end -= start;
		log_held_at = 0;
	}
	log_len = end;
	/* Outside a request, or a full batch: written now. */
	if (!log_batching || log_len >= LOG_BATCH_MAX) {
		log_write(log_buf, log_len);
		log_len = 0;
		log_held_at = 0;
	}
}

void
log_line(const char *fmt, ...)
{
	va_list		 ap;
	char		*line;
	int		 n;

	if (log_quiet)
		return;
	line = line_begin();
	va_start(ap, fmt);
	n = vsnprintf(line, LOG_MSG_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	else if (n >= LOG_MSG_MAX)
		n = LOG_MSG_MAX - 1;
	line_end(line, (size_t)n);
}

/*
 * Why beside log_line(): a review logs three lines or more, and
 * vsnprintf()'s setup costs more than the copy of their few strings
 * (about 0.4 µs a review in a loaded worker, perf).
 */
void
log_concat(const char *s, ...)
{
	va_list		 ap;
	char		*line;
	size_t		 n = 0, len;

	if (log_quiet)
		return;
	line = line_begin();
	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		len = strlen(s);
		if (len > LOG_MSG_MAX - 1 - n)
			len = LOG_MSG_MAX - 1 - n;
		memcpy(line + n, s, len);
		n += len;
	}
	va_end(ap);
	line_end(line, n);
}
