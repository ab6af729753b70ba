/*
 * table.h: the mirror table in force in a FastCGI worker, reloaded when
 * its file changes.
 *
 * Owns the table's file and the decision to read it again. Before a
 * request (at most once a millisecond in a busy worker) the worker asks
 * an inotify watch of the path (tablewatch.h) whether the file may have
 * changed; it stat()s the file (following
 * links) if so, if its last stat was too close to its mtime to be
 * trusted, or if a second has gone by since it last resolved the links.
 * A new identity (device, inode), size, mtime or ctime, or a new chain of
 * symbolic links (looked at once a second: Kubernetes updates a mounted
 * ConfigMap by swapping its "..data" link), makes it read the file. Bytes
 * equal to the last ones read change nothing; new bytes are loaded into a
 * new table, which replaces the one in force only once it has loaded
 * whole. A table that does not load is logged with FILE:LINE:COLUMN and
 * counted, the last good one stays in force, and the file is read again
 * only once its stat changes again.
 *
 * The workers of one server share the last good table through a copy
 * (tablecopy.h): a worker whose file does not load takes the copy when it
 * is newer than its own table, so that a worker idle while a good table
 * came and went answers as the others do, and a worker started while the
 * file is broken starts from the copy.
 */
#ifndef GILLY_TABLE_H
#define GILLY_TABLE_H

#include "common.h"

#include <stdint.h>

#include "metrics.h"
#include "mirror.h"

struct table;

/*
 * new: *out, freed by table_free(); borrowed: metrics, which must outlive
 * it. Load the table at path, or, if it does not load, the shared copy at
 * copy (NULL: no sharing) of an earlier table read from path. Returns -1
 * with *cause set (caller frees) if neither loads.
 */
int			 table_open(const char *path, const char *copy,
			    struct metrics *, struct table **out, char **cause);

/* NULL-safe. */
void			 table_free(struct table *);

/*
 * Reload the table if its file has changed; logs and counts the outcome.
 * Looks at the file at most once every lag_ns (0: at each call), but
 * always when the call comes lag_ns or more after a change.
 */
void			 table_check(struct table *, uint64_t lag_ns);

/* borrowed: the table in force, valid until the next table_check(). */
const struct mirror	*table_get(const struct table *);

#endif
