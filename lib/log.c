/* log.c: timestamped log lines on stderr. */
#include "common.h"

#include <stdio.h>
#include <time.h>

#include "log.h"

static int	log_quiet;

void
log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

void
log_line(const char *fmt, ...)
{
	char		 stamp[32];
	char		 line[4096];
	struct tm	 tm;
	time_t		 now;
	va_list		 ap;
	char		*p;

	if (log_quiet)
		return;
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Names in a line come from the network: no control byte may forge a line. */
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* One fprintf per line: lines from several workers do not interleave. */
	fprintf(stderr, "%s %s\n", stamp, line);
}
