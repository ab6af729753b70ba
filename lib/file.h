/*
 * file.h: whole files read into memory, and written so that a reader sees
 * either the old bytes or the new ones.
 *
 * Owns nothing past a call: the table's file (config.c, fcgi/table.c) and
 * the workers' shared copy of the last good table (fcgi/tablecopy.c) are
 * read whole.
 */
#ifndef GILLY_FILE_H
#define GILLY_FILE_H

#include "common.h"

/*
 * new: *buf (NUL-terminated, not counted in *len). Read the file at path to
 * its end, refusing one larger than max bytes. Returns 0, or -1 with
 * *cause; errno then holds the failing call's error (ENOENT: no file), or
 * EFBIG for one too large.
 */
int	file_read(const char *path, size_t max, char **buf, size_t *len,
	    char **cause);

/*
 * Write the n parts (bases[i], lens[i]) to a file beside path, then
 * rename it over path: a reader opening path gets the old file or the
 * new one, never a part. Returns 0, or -1 with *cause.
 */
int	file_replace(const char *path, const void *const *bases,
	    const size_t *lens, int n, char **cause);

#endif
