/*
 * memo.c: a two-way set-associative cache of mirror_rewrite()'s answers.
 *
 * Why a fixed array of sets and not a hash table that grows: a fixed
 * number of answers of bounded size bounds the memory a worker spends on
 * them (MEMO_SETS * 2 answers of at most a few kilobytes: about a megabyte
 * at worst, tens of kilobytes for a cluster's real images), whatever
 * images come. Two ways, the one used last first: two images in use that
 * hash to the same set both stay; a third pushes out the one used least
 * recently.
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
	char			 bytes[];	/* image, then out, registry and
						   source, each with a NUL */
};

/* Each set, its answer used last first. */
struct memo {
	struct kept	*set[MEMO_SETS][2];
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
	struct kept	*k, **set;
	char		*p;
	uint64_t	 hash;
	size_t		 out_len = 0;

	if (len > MEMO_IMAGE_MAX || match->outcome == MIRROR_INVALID ||
	    match->outcome == MIRROR_REFUSED)
		return;
	if (match->outcome == MIRROR_REWRITTEN)
		out_len = strlen(out);
	hash = hash_bytes(image, len);
	k = xmalloc(sizeof *k + len + out_len + 1 +
	    strlen(match->registry) + 1 + strlen(match->source) + 1);
	k->hash = hash;
	k->len = len;
	k->outcome = match->outcome;
	k->out_len = out_len;
	k->registry_len = strlen(match->registry);
	k->source_len = strlen(match->source);
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
	/* Kept after a miss (memo.h): the image is in neither way. */
	set = m->set[hash & (MEMO_SETS - 1)];
	free(set[1]);
	set[1] = set[0];
	set[0] = k;
}
