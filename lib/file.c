/*
 * file.c: whole-file reads, and atomic replacement by rename().
 *
 * Read to EOF rather than trust st_size: a file being rewritten in place
 * can grow between fstat() and read(), and /proc or a pipe have no size.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

int
file_read(const char *path, size_t max, char **buf, size_t *len, char **cause)
{
	char	*p = NULL;
	size_t	 n = 0, size = 0;
	ssize_t	 got;
	int	 fd, rv = -1, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		set_cause(cause, "%s: %s", path, strerror(err));
		goto end;
	}
	for (;;) {
		/* One byte beyond the data for the NUL. */
		if (n + 1 >= size) {
			if (size > max) {
				err = EFBIG;
				set_cause(cause, "%s: larger than %zu bytes",
				    path, max);
				goto end;
			}
			size = size == 0 ? 8192 : size * 2;
			p = xrealloc(p, size);
		}
		if ((got = read(fd, p + n, size - n - 1)) == -1) {
			if (errno == EINTR)
				continue;
			err = errno;
			set_cause(cause, "%s: %s", path, strerror(err));
			goto end;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		err = EFBIG;
		set_cause(cause, "%s: larger than %zu bytes", path, max);
		goto end;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	p = NULL;
	rv = 0;
end:
	free(p);
	if (fd != -1)
		close(fd);
	errno = err;
	return (rv);
}

/* Write all of buf, through short writes and signals. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

int
file_replace(const char *path, const void *const *bases, const size_t *lens,
    int n, char **cause)
{
	char	*tmp;
	int	 fd, i, rv = -1;

	/* A new file of its own (O_EXCL, 0600), whatever else is there. */
	tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (write_all(fd, bases[i], lens[i]) != 0) {
			set_cause(cause, "%s: %s", tmp, strerror(errno));
			goto end;
		}
	if (close(fd) != 0) {
		fd = -1;
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto end;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto end;
	}
	rv = 0;
end:
	if (fd != -1)
		close(fd);
	if (rv != 0)
		unlink(tmp);
	free(tmp);
	return (rv);
}
