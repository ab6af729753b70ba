/*
 * tablecopy.h: the last good table, shared by the workers of one server.
 *
 * Owns two files beside the metrics file: NAME.table, a copy of the bytes
 * of the last table a worker loaded (with the path it came from), and
 * NAME.table.lock, whose lock puts the workers' reads of the table file
 * in one order. Held around each read of the table file, the lock makes
 * the copy the good table read last, by any worker; a worker whose file
 * does not load takes the copy, so that no two workers keep different
 * tables, and a worker started (or respawned) while the file is broken
 * starts from it rather than failing.
 */
#ifndef GILLY_TABLECOPY_H
#define GILLY_TABLECOPY_H

#include "common.h"

struct tablecopy;

/*
 * new: *out, freed by tablecopy_free(). The copy at path (the lock at
 * path.lock, created here). Returns -1 with *cause if the lock cannot be
 * created: the caller goes on alone.
 */
int	tablecopy_open(const char *path, struct tablecopy **out,
	    char **cause);

/* NULL-safe; releases the lock. */
void	tablecopy_free(struct tablecopy *);

/* Wait for the lock. Returns -1 with *cause if it cannot be taken. */
int	tablecopy_lock(struct tablecopy *, char **cause);

void	tablecopy_unlock(struct tablecopy *);

/*
 * With the lock held: make buf (len bytes, read from the table file
 * source) the copy. Returns -1 with *cause, the copy then removed.
 */
int	tablecopy_save(struct tablecopy *, const char *source,
	    const char *buf, size_t len, char **cause);

/*
 * new: *buf. With the lock held: the copy's bytes, if it was taken from
 * source. Returns 1 with *buf and *len, 0 if there is no copy of source,
 * -1 with *cause if the copy cannot be read.
 */
int	tablecopy_load(struct tablecopy *, const char *source, char **buf,
	    size_t *len, char **cause);

#endif
