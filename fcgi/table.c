/*
 * table.c: the table in force, and its reload when the file changes.
 *
 * Why not a stat() per request: a look before a request is what makes
 * "a request after a change uses the new table" true without a timer or a
 * thread, but a stat() of the file cost about 1.3 µs in a loaded worker.
 * The look is an inotify watch instead (tablewatch.h): one read() of a
 * descriptor that has nothing to say unless a name on the way to the
 * file, or the file itself, changed; only then is the file stat()ed. A
 * log written beside the table is no such change. A path that cannot be
 * watched is stat()ed at each look, as before.
 *
 * Even that read() found nothing at nearly every request, and was the one
 * system call a worker made per request beyond the ceiling's (strace),
 * about 0.2 µs each: the caller may have the looks made at most once
 * every lag_ns. A call lag_ns or more after a change still looks (the
 * look before it came before the change), so the change is in force for
 * every request that comes lag_ns after it or later.
 *
 * Once a second the file is stat()ed all the same, and its symbolic links
 * resolved (realpath(), about five µs): inotify misses writes through
 * mmap(), a filesystem mounted on the way, and another machine's writes
 * on a network filesystem, which are thus seen within a second. The
 * realpath() catches nothing the stat() misses in practice (a ConfigMap
 * update writes its new file, a new inode, before it swaps the link), but
 * once a second it costs nothing to be sure.
 *
 * Timestamps are coarse (a kernel tick), so a file rewritten in place with
 * the same size within one tick keeps its stat. As git does for its index,
 * a stat taken within RACY_NS of the file's mtime is not trusted: the file
 * is stat()ed and read again at each request, watch or not, until it is
 * older than that. Reading is cheap, and comparing the bytes with the
 * last ones read keeps a reread of the same bytes from counting as a
 * reload.
 *
 * The workers read the file in turns, under the lock of their shared copy
 * (tablecopy.h), each read with its parse: after a change, the last of N
 * workers to see it may wait for N - 1 parses. Tables are small and
 * changes rare; the order is what makes the copy the latest good table.
 */
#include "common.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "table.h"
#include "tablecopy.h"
#include "tablewatch.h"

/* Largest table file read, as config_load_file() has it. */
#define TABLE_MAX_SIZE		(64UL * 1024 * 1024)
/* The file is stat()ed, its links resolved, at least this often. */
#define CHAIN_INTERVAL_NS	UINT64_C(1000000000)
/* A stat within this of the file's mtime may miss a write (see above). */
#define RACY_NS			INT64_C(50000000)

/* What stat() says of the file; equal stamps (not racy) mean equal bytes. */
struct stamp {
	int		 err;		/* stat()'s errno; 0: the rest is set */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
};

struct table {
	char		*path;
	struct metrics	*metrics;	/* borrowed */
	struct mirror	*table;		/* in force; never NULL */
	struct stamp	 seen;		/* at the last read (or failed stat) */
	int		 racy;		/* seen may miss a write: read again */
	char		*chain;		/* realpath() at the last look; or NULL */
	uint64_t	 chain_at;	/* metrics_clock() of that look */
	uint64_t	 looked_at;	/* metrics_clock() of the last look */
	char		*bytes;		/* the file as last read; or NULL */
	size_t		 len;
	char		*good;		/* the bytes of the table in force */
	size_t		 good_len;
	struct tablecopy *copy;		/* shared with the other workers; or NULL */
	struct tablewatch *watch;	/* says when the stat can be skipped */
};

/* What a look at the file did to the table in force. */
enum look {
	LOOK_SAME,		/* nothing new: the table in force stays */
	LOOK_LOADED,		/* new bytes, loaded: in force */
	LOOK_KEPT,		/* unreadable or broken: the table stays */
	LOOK_COPIED,		/* unreadable or broken: the shared copy, newer */
	LOOK_NONE		/* unreadable or broken, and no table at all */
};

static void
stamp_take(const char *path, struct stamp *s)
{
	struct stat	 st;

	memset(s, 0, sizeof *s);
	if (stat(path, &st) == -1) {
		s->err = errno != 0 ? errno : EIO;
		return;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtim = st.st_mtim;
	s->ctim = st.st_ctim;
}

static int
ts_equal(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec);
}

static int
stamp_equal(const struct stamp *a, const struct stamp *b)
{
	if (a->err != 0 || b->err != 0)
		return (a->err == b->err);
	return (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    ts_equal(&a->mtim, &b->mtim) && ts_equal(&a->ctim, &b->ctim));
}

/* Whether a write could follow the stat s and leave its stamp as it is. */
static int
stamp_racy(const struct stamp *s)
{
	struct timespec	 now;
	int64_t		 age;

	if (s->err != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return (0);
	age = ((int64_t)now.tv_sec - (int64_t)s->mtim.tv_sec) * 1000000000 +
	    ((int64_t)now.tv_nsec - (int64_t)s->mtim.tv_nsec);
	/* A file from the future says nothing about ticks: trusted. */
	return (age > -RACY_NS && age < RACY_NS);
}

/* Resolve the links again; returns whether the chain changed. */
static int
chain_update(struct table *t)
{
	char	*now;
	int	 changed;

	now = realpath(t->path, NULL);
	changed = now == NULL || t->chain == NULL ? now != t->chain :
	    strcmp(now, t->chain) != 0;
	free(t->chain);
	t->chain = now;
	t->chain_at = metrics_clock();
	return (changed);
}

/* Put m, loaded from buf, in force; the old table is freed. */
static void
table_install(struct table *t, struct mirror *m, const char *buf, size_t len)
{
	mirror_free(t->table);
	t->table = m;
	free(t->good);
	t->good = xmalloc(len + 1);
	memcpy(t->good, buf, len);
	t->good[len] = '\0';
	t->good_len = len;
}

/*
 * The file did not load: take the shared copy if it holds a table other
 * than the one in force (another worker read it since). Logs a copy that
 * does not load; returns LOOK_COPIED, LOOK_KEPT or LOOK_NONE.
 */
static enum look
table_take_copy(struct table *t)
{
	struct mirror	*m = NULL;
	char		*buf = NULL, *cause = NULL;
	size_t		 len = 0;
	enum look	 rv;

	rv = t->table != NULL ? LOOK_KEPT : LOOK_NONE;
	if (t->copy == NULL)
		return (rv);
	switch (tablecopy_load(t->copy, t->path, &buf, &len, &cause)) {
	case 1:
		break;
	case -1:
		log_line("[Config] the shared copy of the last good table: %s",
		    cause);
		/* FALLTHROUGH */
	default:
		goto end;
	}
	if (t->table != NULL && len == t->good_len &&
	    memcmp(buf, t->good, len) == 0)
		goto end;
	/* It loaded once; it does not load now only if gilly changed. */
	if (config_load_buffer(t->path, buf, len, &m, &cause) != 0) {
		log_line("[Config] the shared copy of the last good table: %s",
		    cause);
		goto end;
	}
	table_install(t, m, buf, len);
	rv = LOOK_COPIED;
end:
	free(buf);
	free(cause);
	return (rv);
}

/*
 * The table in force was just read from the file (again): make it the
 * copy, unless it is already. Another worker may have saved a table read
 * earlier or later since; this read is the latest, under the lock.
 */
static void
table_share(struct table *t)
{
	char	*buf = NULL, *why = NULL;
	size_t	 len = 0;

	if (t->copy == NULL)
		return;
	if (tablecopy_load(t->copy, t->path, &buf, &len, &why) == 1 &&
	    len == t->good_len && memcmp(buf, t->good, len) == 0)
		goto end;
	free(why);
	why = NULL;
	if (tablecopy_save(t->copy, t->path, t->good, t->good_len,
	    &why) != 0)
		log_line("[Config] the other workers will not see this table "
		    "if the file breaks: %s", why);
end:
	free(buf);
	free(why);
}

/*
 * Read the file whose stat is st, load it if its bytes are new, and share
 * it; if it cannot be read or loaded (*cause says why), the shared copy
 * may replace the table in force. Called with the copy's lock held: the
 * workers' reads of the file follow one another, and the copy is the
 * table of the latest read that loaded.
 */
static enum look
table_look_locked(struct table *t, const struct stamp *st, char **cause)
{
	struct mirror	*m = NULL;
	char		*buf = NULL;
	size_t		 len = 0;
	enum look	 rv;

	t->seen = *st;
	t->racy = stamp_racy(st);
	chain_update(t);
	if (st->err != 0) {
		set_cause(cause, "%s: %s", t->path, strerror(st->err));
		goto unread;
	}
	if (file_read(t->path, TABLE_MAX_SIZE, &buf, &len, cause) != 0)
		goto unread;
	/* Kept even if they do not load: not loaded again until they change. */
	if (t->bytes != NULL && len == t->len &&
	    memcmp(buf, t->bytes, len) == 0) {
		free(buf);
		if (t->table != NULL && len == t->good_len &&
		    memcmp(t->bytes, t->good, len) == 0) {
			table_share(t);
			return (LOOK_SAME);
		}
		/* Broken as before, said before; the copy may be newer. */
		set_cause(cause, "%s: does not load, as before", t->path);
		rv = table_take_copy(t);
		return (rv == LOOK_KEPT ? LOOK_SAME : rv);
	}
	free(t->bytes);
	t->bytes = buf;
	t->len = len;
	/* The table in force, read again (a file put back, say). */
	if (t->table != NULL && len == t->good_len &&
	    memcmp(buf, t->good, len) == 0) {
		table_share(t);
		return (LOOK_SAME);
	}
	/* Into a new table: the one in force is untouched until it loads. */
	if (config_load_buffer(t->path, buf, len, &m, cause) != 0)
		return (table_take_copy(t));
	table_install(t, m, buf, len);
	table_share(t);
	return (LOOK_LOADED);
unread:
	/* Whatever is read next is loaded, even bytes seen before. */
	free(t->bytes);
	t->bytes = NULL;
	t->len = 0;
	return (table_take_copy(t));
}

/* table_look_locked() under the copy's lock, where there is one. */
static enum look
table_look(struct table *t, const struct stamp *st, char **cause)
{
	enum look	 rv;
	char		*why = NULL;

	if (t->copy != NULL && tablecopy_lock(t->copy, &why) != 0) {
		/* Alone, as without a copy at all. */
		log_line("[Config] %s: this worker reloads on its own", why);
		free(why);
		tablecopy_free(t->copy);
		t->copy = NULL;
	}
	rv = table_look_locked(t, st, cause);
	if (t->copy != NULL)
		tablecopy_unlock(t->copy);
	return (rv);
}

int
table_open(const char *path, const char *copy, struct metrics *metrics,
    struct table **out, char **cause)
{
	struct table	*t;
	struct stamp	 st;
	char		*why = NULL;
	int		 rv = -1;

	t = xcalloc(1, sizeof *t);
	t->path = xstrdup(path);
	t->metrics = metrics;
	if (copy != NULL && tablecopy_open(copy, &t->copy, &why) != 0) {
		log_line("[Config] %s: this worker reloads on its own", why);
		free(why);
		why = NULL;
	}
	/* Before the first stat: a change after it is an event. */
	if (tablewatch_open(path, &t->watch, &why) != 0) {
		log_line("[Config] %s: %s: each request stat()s the file until "
		    "it can be watched", path, why);
		free(why);
	}
	stamp_take(path, &st);
	switch (table_look(t, &st, cause)) {
	case LOOK_LOADED:
		break;
	case LOOK_COPIED:
		metrics_error(t->metrics, METRICS_ERROR_TABLE_RELOAD);
		log_line("[Config] %s; starting from the last good table read "
		    "by another worker (%zu rules)", *cause, 
		    mirror_rule_count(t->table));
		free(*cause);
		*cause = NULL;
		break;
	default:
		goto end;
	}
	*out = t;
	t = NULL;
	rv = 0;
end:
	table_free(t);
	return (rv);
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	mirror_free(t->table);
	tablecopy_free(t->copy);
	tablewatch_free(t->watch);
	free(t->path);
	free(t->chain);
	free(t->bytes);
	free(t->good);
	free(t);
}

void
table_check(struct table *t, uint64_t lag_ns)
{
	struct stamp	 st;
	char		*cause = NULL;
	uint64_t	 now;
	int		 changed;

	now = metrics_clock();
	/* A racy stamp is looked at again at each call (above). */
	if (!t->racy && t->looked_at != 0 && now - t->looked_at < lag_ns)
		return;
	t->looked_at = now;
	/* First: on a change it watches the path anew, before the stat. */
	changed = tablewatch_changed(t->watch);
	if (!changed && !t->racy && now - t->chain_at < CHAIN_INTERVAL_NS)
		return;
	stamp_take(t->path, &st);
	if (!t->racy && stamp_equal(&st, &t->seen) &&
	    (metrics_clock() - t->chain_at < CHAIN_INTERVAL_NS ||
	    !chain_update(t)))
		return;
	switch (table_look(t, &st, &cause)) {
	case LOOK_LOADED:
		metrics_reload(t->metrics);
		log_line("[Config] %s changed: reloaded, %zu rules", t->path,
		    mirror_rule_count(t->table));
		break;
	case LOOK_COPIED:
		metrics_reload(t->metrics);
		metrics_error(t->metrics, METRICS_ERROR_TABLE_RELOAD);
		log_line("[Config] %s; the last good table, read since by "
		    "another worker, is now in force (%zu rules)", cause,
		    mirror_rule_count(t->table));
		break;
	case LOOK_KEPT:
	case LOOK_NONE:
		metrics_error(t->metrics, METRICS_ERROR_TABLE_RELOAD);
		log_line("[Config] %s; the table loaded before stays in force "
		    "(%zu rules)", cause, mirror_rule_count(t->table));
		break;
	case LOOK_SAME:
		break;
	}
	free(cause);
}

const struct mirror *
table_get(const struct table *t)
{
	return (t->table);
}
