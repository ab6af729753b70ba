/*
 * tablecopy.c: the last good table's bytes in a file, under a lock.
 *
 * The copy is replaced by rename(), so it is never seen half written, even
 * after a worker killed while it writes; its lock is a separate file,
 * because a lock follows an inode and rename() gives the name a new one.
 * flock() locks are released by the kernel when their holder dies.
 *
 * The copy's layout: COPY_MAGIC, the source path's length and the table's
 * length (each 8 bytes, this machine's order: the file never leaves it),
 * the source path, the table.
 */
#include "common.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "tablecopy.h"

#define COPY_MAGIC	"GILLYTB1"
#define COPY_MAGIC_LEN	(sizeof COPY_MAGIC - 1)
#define COPY_HEAD_LEN	(COPY_MAGIC_LEN + 2 * sizeof (uint64_t))
/* A table file holds at most 64 MiB (table.c); its path, PATH_MAX. */
#define COPY_MAX	(COPY_HEAD_LEN + 4096 + 64 * 1024 * 1024)

struct tablecopy {
	char	*path;
	int	 lock_fd;
};

int
tablecopy_open(const char *path, struct tablecopy **out, char **cause)
{
	struct tablecopy	*c;
	char			*lock;
	int			 fd;

	lock = xasprintf("%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		set_cause(cause, "%s: %s", lock, strerror(errno));
		free(lock);
		return (-1);
	}
	free(lock);
	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	c->lock_fd = fd;
	*out = c;
	return (0);
}

void
tablecopy_free(struct tablecopy *c)
{
	if (c == NULL)
		return;
	close(c->lock_fd);
	free(c->path);
	free(c);
}

int
tablecopy_lock(struct tablecopy *c, char **cause)
{
	while (flock(c->lock_fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return (set_cause(cause, "%s.lock: %s", c->path,
			    strerror(errno)));
	return (0);
}

void
tablecopy_unlock(struct tablecopy *c)
{
	flock(c->lock_fd, LOCK_UN);
}

int
tablecopy_save(struct tablecopy *c, const char *source, const char *buf,
    size_t len, char **cause)
{
	char		 head[COPY_HEAD_LEN];
	uint64_t	 n;
	const void	*bases[3];
	size_t		 lens[3];

	memcpy(head, COPY_MAGIC, COPY_MAGIC_LEN);
	n = strlen(source);
	memcpy(head + COPY_MAGIC_LEN, &n, sizeof n);
	n = len;
	memcpy(head + COPY_MAGIC_LEN + sizeof n, &n, sizeof n);
	bases[0] = head;
	lens[0] = sizeof head;
	bases[1] = source;
	lens[1] = strlen(source);
	bases[2] = buf;
	lens[2] = len;
	if (file_replace(c->path, bases, lens, 3, cause) == 0)
		return (0);
	/*
	 * An older copy left in place would outrank this newer table in a
	 * worker whose file breaks: none at all is better.
	 */
	unlink(c->path);
	return (-1);
}

int
tablecopy_load(struct tablecopy *c, const char *source, char **buf,
    size_t *len, char **cause)
{
	uint64_t	 slen, tlen;
	char		*all = NULL;
	size_t		 n;
	int		 rv = -1;

	if (file_read(c->path, COPY_MAX, &all, &n, cause) != 0) {
		if (errno == ENOENT) {
			if (cause != NULL) {
				free(*cause);
				*cause = NULL;
			}
			rv = 0;
		}
		goto end;
	}
	if (n < COPY_HEAD_LEN || memcmp(all, COPY_MAGIC, COPY_MAGIC_LEN) != 0) {
		set_cause(cause, "%s: not a copy of a table", c->path);
		goto end;
	}
	memcpy(&slen, all + COPY_MAGIC_LEN, sizeof slen);
	memcpy(&tlen, all + COPY_MAGIC_LEN + sizeof slen, sizeof tlen);
	if (slen > n - COPY_HEAD_LEN || tlen != n - COPY_HEAD_LEN - slen) {
		set_cause(cause, "%s: lengths do not match its size", c->path);
		goto end;
	}
	/* A copy of another table (an older run's, say) is no copy of ours. */
	if (slen != strlen(source) ||
	    memcmp(all + COPY_HEAD_LEN, source, slen) != 0) {
		rv = 0;
		goto end;
	}
	/* The table moves to the front; file_read()'s NUL stays after it. */
	memmove(all, all + COPY_HEAD_LEN + slen, tlen + 1);
	*buf = all;
	*len = tlen;
	all = NULL;
	rv = 1;
end:
	free(all);
	return (rv);
}
