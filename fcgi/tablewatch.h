/*
 * tablewatch.h: whether the table's file may have changed, without a
 * stat() per request.
 *
 * Owns an inotify descriptor watching each directory that the resolution
 * of the table's path goes through (symbolic links followed, as the
 * kernel does), for the names looked up in it, and the file itself for
 * writes in place. Events for other names in those directories (a log
 * written beside the table, the workers' shared copy) are not changes.
 * When inotify cannot watch the path, every call says "may have changed"
 * and the watch is tried again at most once a second.
 *
 * inotify sees what this kernel does to the files, not writes through
 * mmap() nor a filesystem mounted over a directory on the way, nor the
 * changes of another machine on a network filesystem: the caller still
 * stat()s the file now and then (table.c: once a second).
 */
#ifndef GILLY_TABLEWATCH_H
#define GILLY_TABLEWATCH_H

#include "common.h"

struct tablewatch;

/*
 * new: *out, freed by tablewatch_free(), set even on failure. Watch the
 * file at path (relative: to the current directory). Returns -1 with
 * *cause if it cannot be watched now: *out then says "changed" at every
 * call until a later try, at most once a second, sets the watch.
 */
int	tablewatch_open(const char *path, struct tablewatch **out,
	    char **cause);

/* NULL-safe. */
void	tablewatch_free(struct tablewatch *);

/*
 * 1 if the file may have changed since the last call (or the open), or
 * if it is not watched; else 0. On 1 the watch already follows the path
 * as it resolves now, so that whatever the caller reads next is covered.
 */
int	tablewatch_changed(struct tablewatch *);

#endif
