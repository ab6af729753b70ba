/*
 * memo.c: a two-way set-associative cache of mirror_rewrite()'s answers.
 *
 * Why a fixed array of sets and not a hash table that grows: a fixed
 * number of answers, and their bytes counted against MEMO_BYTES_MAX, bound
 * the memory a worker spends on them whatever images come. Two ways, the
 * one used last first: two images in use that hash to the same set both
 * stay; a third pushes out the one used least recently. A new answer that
 * would pass the budget pushes out, besides, the least recent answers of
 * the sets from a hand that goes round them: long answers that filled the
 * memo give way to the next images.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "memo.h"

#define MEMO_SETS	256	/* a power of two */
/*
 * Longest image kept, which bounds an answer's size: room for a 255-byte
 * repository with its host, a tag and a sha512 digest. Longer ones, if
 * any, are answered afresh each time.
 */
#define MEMO_IMAGE_MAX	640

/* One answer, with its strings after it in one block. */
struct kept {
	uint64_t		 hash;
	size_t			 len;		/* of the image */
	enum mirror_outcome	 outcome;
	size_t			 out_len;	/* 0 unless MIRROR_REWRITTEN */
	size_t			 registry_len;
	size_t			 source_len;
	size_t			 size;		/* of the whole block */
	char			 bytes[];	/* the image, then out,
						   registry and source, each
						   with a NUL after it */
};

/* Each set, its answer used last first. */
struct memo {
	struct kept	*set[MEMO_SETS][2];
	size_t		 bytes;		/* of the answers kept */
	size_t		 hand;		/* the next set to give way */
};

struct memo *
memo_new(void)
{
	return (xcalloc(1, sizeof(struct memo)));
}

void
memo_free(struct memo *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < MEMO_SETS; i++) {
		free(m->set[i][0]);
		free(m->set[i][1]);
	}
	free(m);
}

/* Whether k is the answer for the len bytes at image, of that hash. */
static inline int
kept_is(const struct kept *k, const char *image, size_t len, uint64_t hash)
{
	return (k != NULL && k->hash == hash && k->len == len &&
	    memcmp(k->bytes, image, len) == 0);
}

int
memo_find(struct memo *m, const char *image, size_t len, char **out,
    struct mirror_match *match)
{
	struct kept	**set, *k;
	const char	*p;
	uint64_t	 hash;

	if (len > MEMO_IMAGE_MAX)
		return (0);
	hash = hash_bytes(image, len);
	set = m->set[hash & (MEMO_SETS - 1)];
	if (!kept_is(k = set[0], image, len, hash)) {
		if (!kept_is(k = set[1], image, len, hash))
			return (0);
		set[1] = set[0];
		set[0] = k;
	}
	p = k->bytes + len;
	memset(match, 0, sizeof *match);
	match->outcome = k->outcome;
	if (k->outcome == MIRROR_REWRITTEN) {
		*out = xmalloc(k->out_len + 1);
		memcpy(*out, p, k->out_len + 1);
	}
	p += k->out_len + 1;
	memcpy(match->registry, p, k->registry_len + 1);
	p += k->registry_len + 1;
	memcpy(match->source, p, k->source_len + 1);
	return (1);
}

void
memo_keep(struct memo *m, const char *image, size_t len, const char *out,
    const struct mirror_match *match)
{
	struct kept	*k, **set, **victim;
	char		*p;
	uint64_t	 hash;
	size_t		 out_len = 0, registry_len, source_len, size;

	if (len > MEMO_IMAGE_MAX || match->outcome == MIRROR_INVALID ||
	    match->outcome == MIRROR_REFUSED)
		return;
	if (match->outcome == MIRROR_REWRITTEN)
		out_len = strlen(out);
	hash = hash_bytes(image, len);
	/* Kept after a miss (memo.h): the image is in neither way. */
	set = m->set[hash & (MEMO_SETS - 1)];
	if (set[1] != NULL) {
		m->bytes -= set[1]->size;
		free(set[1]);
		set[1] = NULL;
	}
	registry_len = strlen(match->registry);
	source_len = strlen(match->source);
	size = sizeof *k + len + out_len + 1 + registry_len + 1 + source_len +
	    1;
	/* Ends: an answer is far smaller than MEMO_BYTES_MAX. */
	while (m->bytes + size > MEMO_BYTES_MAX) {
		victim = m->set[m->hand++ & (MEMO_SETS - 1)];
		if (victim[1] != NULL)
			victim++;
		if (*victim != NULL) {
			m->bytes -= (*victim)->size;
			free(*victim);
			*victim = NULL;
		}
	}
	k = xmalloc(size);
	k->size = size;
	k->hash = hash;
	k->len = len;
	k->outcome = match->outcome;
	k->out_len = out_len;
	k->registry_len = registry_len;
	k->source_len = source_len;
	p = k->bytes;
	memcpy(p, image, len);
	p += len;
	if (out_len > 0)
		memcpy(p, out, out_len);
	p[out_len] = '\0';
	p += out_len + 1;
	memcpy(p, match->registry, k->registry_len + 1);
	p += k->registry_len + 1;
	memcpy(p, match->source, k->source_len + 1);
	set[1] = set[0];
	set[0] = k;
	m->bytes += size;
}

size_t
memo_size(const struct memo *m)
{
	return (m->bytes);
}
