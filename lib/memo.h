/*
 * memo.h: the answers mirror_rewrite() gave for the images it saw last.
 *
 * Owns a small cache, one for each mirror table, from an image (its bytes)
 * to the whole answer: the outcome, the mirrored image and the match. The
 * Pods of one Deployment, Job or DaemonSet name the same images, and a
 * scale-up sends hundreds of them at once; an answer depends on nothing
 * but the table and the image, and a table reloaded is a new table with
 * an empty memo.
 *
 * It holds a fixed number of answers in at most MEMO_BYTES_MAX bytes, the
 * least recently used of a set making room for a new one: the memory
 * stays bounded whatever images come (whoever writes a Pod chooses them),
 * and a miss costs two hashes of the image and the copy of its answer.
 * Answers that carry a cause (MIRROR_INVALID, MIRROR_REFUSED) are not
 * kept: they are rare, and their messages long.
 */
#ifndef GILLY_MEMO_H
#define GILLY_MEMO_H

#include "common.h"

#include <stddef.h>

#include "mirror.h"

/*
 * The answers' bytes at most: a few hundred real images' worth, a small
 * part of a worker's memory.
 */
#define MEMO_BYTES_MAX	(128 * 1024)

struct memo;

/* new: an empty memo; caller frees with memo_free(). */
struct memo	*memo_new(void);
/* NULL-safe. */
void		 memo_free(struct memo *);

/*
 * The answer kept for the len bytes at image: returns 1 with *match
 * filled and, for MIRROR_REWRITTEN, *out set (new: caller frees); returns
 * 0, touching neither, when none is kept.
 */
int		 memo_find(struct memo *, const char *image, size_t len,
		    char **out, struct mirror_match *match);

/*
 * Keep the answer for the len bytes at image, after memo_find() found
 * none: match, and out (the mirrored image) for MIRROR_REWRITTEN. Answers
 * with a cause, and images longer than any real one, are left out.
 */
void		 memo_keep(struct memo *, const char *image, size_t len,
		    const char *out, const struct mirror_match *match);

/* The bytes the kept answers take, at most MEMO_BYTES_MAX. */
size_t		 memo_size(const struct memo *);

#endif
