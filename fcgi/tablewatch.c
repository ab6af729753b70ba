/*
 * tablewatch.c: the table's path under inotify.
 *
 * What stat(path) says depends only on the lookups of its resolution:
 * each (directory, name) it goes through, the target of each symbolic
 * link met, and the file at the end. So the walk below resolves the path
 * as the kernel does, component by component, and watches each directory
 * for those names being created, deleted or renamed (a link is changed
 * only so) and for the directory's own removal, move or change of
 * permissions; and the file at the end for writes. The directories are
 * not watched for writes: a log beside the table, written at each
 * request, would give each worker events to read and sort through at
 * each request.
 *
 * A watch is never amended: after any event that counts, the descriptor
 * is closed and the path walked again on a new one, before the caller
 * looks at the file. The old walk's events (a ConfigMap's old directory
 * being removed) go with the old descriptor, and anything that changes
 * after the new walk began is an event on the new one: each directory is
 * watched before its names are looked up.
 */
#include "common.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tablewatch.h"

/* Symbolic links followed in one resolution, as Linux's MAXSYMLINKS. */
#define WATCH_MAX_LINKS		40
/* An unwatched path is tried again at most this often. */
#define WATCH_RETRY_NS		UINT64_C(1000000000)
/*
 * IN_MASK_ADD: a directory met twice (a link back to "/") is one watch,
 * whose mask must not lose what an earlier add asked for.
 */
#define WATCH_DIR_MASK		(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | \
	IN_ONLYDIR | IN_MASK_ADD)
#define WATCH_FILE_MASK		(IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_MASK_ADD)
/* Whatever the watch: what it watches moved or gone, or events lost. */
#define WATCH_LOST_MASK		(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | \
	IN_UNMOUNT | IN_Q_OVERFLOW)

/* A directory on the way, and the names looked up in it. */
struct watchdir {
	int		  wd;
	char		**names;
	size_t		  nnames;
};

struct tablewatch {
	char		*path;
	int		 fd;		/* inotify; -1: unwatched */
	int		 file_wd;	/* the file's own watch; or -1 */
	struct watchdir	*dirs;
	size_t		 ndirs;
	uint64_t	 retry_at;	/* unwatched: the next try's clock */
};

static uint64_t
watch_clock(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec);
}

/* Close the descriptor and forget the walk: unwatched. */
static void
watch_clear(struct tablewatch *w)
{
	size_t	 i, j;

	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	w->file_wd = -1;
	for (i = 0; i < w->ndirs; i++) {
		for (j = 0; j < w->dirs[i].nnames; j++)
			free(w->dirs[i].names[j]);
		free(w->dirs[i].names);
	}
	free(w->dirs);
	w->dirs = NULL;
	w->ndirs = 0;
}

/* Watch dir for name (and for anything done to dir itself). */
static int
watch_name(struct tablewatch *w, const char *dir, const char *name,
    char **cause)
{
	struct watchdir	*d = NULL;
	size_t		 i;
	int		 wd;

	wd = inotify_add_watch(w->fd, dir, WATCH_DIR_MASK);
	if (wd == -1)
		return (set_cause(cause, "inotify_add_watch %s: %s", dir,
		    strerror(errno)));
	for (i = 0; i < w->ndirs; i++)
		if (w->dirs[i].wd == wd)
			d = &w->dirs[i];
	if (d == NULL) {
		w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof *w->dirs);
		d = &w->dirs[w->ndirs++];
		memset(d, 0, sizeof *d);
		d->wd = wd;
	}
	for (i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i], name) == 0)
			return (0);
	d->names = xrealloc(d->names, (d->nnames + 1) * sizeof *d->names);
	d->names[d->nnames++] = xstrdup(name);
	return (0);
}

/* Watch the file at the end for writes in place. */
static int
watch_file(struct tablewatch *w, const char *path, char **cause)
{
	int	 wd;

	wd = inotify_add_watch(w->fd, path, WATCH_FILE_MASK);
	if (wd != -1)
		w->file_wd = wd;
	/* Gone since its lookup: its directory's watch saw it go. */
	else if (errno != ENOENT)
		return (set_cause(cause, "inotify_add_watch %s: %s", path,
		    strerror(errno)));
	return (0);
}

/* new: *out, the target of the symbolic link at path. */
static int
watch_readlink(const char *path, char **out, char **cause)
{
	char	*buf = NULL;
	size_t	 size = 256;
	ssize_t	 n;
	int	 rv = -1;

	for (;;) {
		buf = xrealloc(buf, size);
		n = readlink(path, buf, size);
		if (n == -1) {
			set_cause(cause, "readlink %s: %s", path,
			    strerror(errno));
			goto end;
		}
		if ((size_t)n < size)
			break;
		size *= 2;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	rv = 0;
end:
	free(buf);
	return (rv);
}

/* The parent of the absolute path dir, in place; "/" stays "/". */
static void
watch_up(char *dir)
{
	char	*slash = strrchr(dir, '/');

	if (slash == dir)
		dir[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
}

/*
 * Resolve w->path, watching each lookup (see above). A resolution that
 * fails where stat() would (a name missing, a file where a directory was
 * expected, a loop of links) is watched up to there and is no error: what
 * makes it fail is watched. Returns -1 with *cause if a watch cannot be
 * added or a lookup fails otherwise.
 */
static int
watch_walk(struct tablewatch *w, char **cause)
{
	struct stat	 st;
	char		*rest = NULL, *cur, *name = NULL, *full = NULL;
	char		*target = NULL, *cwd, *p, *spliced;
	size_t		 len;
	int		 links = 0, rv = -1;

	cur = xstrdup("/");
	/* Relative: from where stat() starts now, as it would. */
	if (w->path[0] == '/')
		rest = xstrdup(w->path);
	else if ((cwd = getcwd(NULL, 0)) == NULL) {
		set_cause(cause, "getcwd: %s", strerror(errno));
		goto end;
	} else {
		rest = xconcat(cwd, "/", w->path, (char *)NULL);
		free(cwd);
	}
	p = rest;
	for (;;) {
		p += strspn(p, "/");
		if (*p == '\0')
			break;
		len = strcspn(p, "/");
		free(name);
		name = xstrndup(p, len);
		p += len;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			watch_up(cur);
			continue;
		}
		if (watch_name(w, cur, name, cause) != 0)
			goto end;
		free(full);
		full = strcmp(cur, "/") == 0 ? xconcat("/", name, (char *)NULL) :
		    xconcat(cur, "/", name, (char *)NULL);
		if (lstat(full, &st) == -1) {
			if (errno == ENOENT || errno == ENOTDIR)
				rv = 0;
			else
				set_cause(cause, "%s: %s", full,
				    strerror(errno));
			goto end;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > WATCH_MAX_LINKS) {
				rv = 0;
				goto end;
			}
			free(target);
			target = NULL;
			if (watch_readlink(full, &target, cause) != 0)
				goto end;
			/* The target, then what was left after the link. */
			spliced = xconcat(target, "/", p, (char *)NULL);
			free(rest);
			rest = p = spliced;
			if (target[0] == '/') {
				free(cur);
				cur = xstrdup("/");
			}
			continue;
		}
		if (p[strspn(p, "/")] == '\0') {
			rv = watch_file(w, full, cause);
			goto end;
		}
		if (!S_ISDIR(st.st_mode)) {
			rv = 0;
			goto end;
		}
		free(cur);
		cur = full;
		full = NULL;
	}
	/* A path ending in "." or "..", or a link to one: a directory. */
	rv = watch_file(w, cur, cause);
end:
	free(rest);
	free(cur);
	free(name);
	free(full);
	free(target);
	return (rv);
}

/* Watch the path anew, on a new descriptor; or unwatched, for a second. */
static int
watch_set(struct tablewatch *w, char **cause)
{
	watch_clear(w);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd == -1)
		set_cause(cause, "inotify_init1: %s", strerror(errno));
	else if (watch_walk(w, cause) == 0)
		return (0);
	watch_clear(w);
	w->retry_at = watch_clock() + WATCH_RETRY_NS;
	return (-1);
}

/* Whether ev can change what stat() says of the path. */
static int
watch_counts(const struct tablewatch *w, const struct inotify_event *ev)
{
	const struct watchdir	*d;
	size_t			 i, j;

	if ((ev->mask & WATCH_LOST_MASK) != 0 ||
	    (w->file_wd != -1 && ev->wd == w->file_wd))
		return (1);
	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		if (d->wd != ev->wd)
			continue;
		/* No name: the directory itself (its permissions, say). */
		if (ev->len == 0)
			return (1);
		for (j = 0; j < d->nnames; j++)
			if (strcmp(ev->name, d->names[j]) == 0)
				return (1);
		return (0);
	}
	/* Not a watch of this walk: nothing to say it does not count. */
	return (1);
}

int
tablewatch_open(const char *path, struct tablewatch **out, char **cause)
{
	struct tablewatch	*w;

	w = xcalloc(1, sizeof *w);
	w->path = xstrdup(path);
	w->fd = -1;
	w->file_wd = -1;
	*out = w;
	return (watch_set(w, cause));
}

void
tablewatch_free(struct tablewatch *w)
{
	if (w == NULL)
		return;
	watch_clear(w);
	free(w->path);
	free(w);
}

int
tablewatch_changed(struct tablewatch *w)
{
	union {
		struct inotify_event	ev;	/* the alignment of events */
		char			buf[4096];
	} u;
	const struct inotify_event *ev;
	ssize_t	 n;
	size_t	 off;
	int	 rv = 1;

	if (w->fd == -1) {
		if (watch_clock() >= w->retry_at)
			watch_set(w, NULL);
		goto end;
	}
	for (;;) {
		n = read(w->fd, u.buf, sizeof u.buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			rv = 0;
			goto end;
		}
		/* A descriptor that says nothing sure is no watch. */
		if (n <= 0)
			break;
		off = 0;
		while (off + sizeof *ev <= (size_t)n) {
			ev = (const struct inotify_event *)(u.buf + off);
			if (watch_counts(w, ev))
				goto changed;
			off += sizeof *ev + ev->len;
		}
	}
changed:
	watch_set(w, NULL);
end:
	return (rv);
}
