/*
 * hash.h: the hash of byte strings behind gilly's hash tables.
 *
 * Owns the one function that the mirror table's indexes and its memo of
 * answers share. FNV-1a: the keys are short (hosts, paths, image
 * references). It is unkeyed: the indexes hold what the table's author
 * wrote, and images that collide in the memo, whoever chose them, only
 * push each other out.
 */
#ifndef GILLY_HASH_H
#define GILLY_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 h = UINT64_C(14695981039346656037);
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return (h);
}

#endif
