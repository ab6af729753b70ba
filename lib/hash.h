/*
 * hash.h: the hash of byte strings behind gilly's hash tables.
 *
 * Owns the one function that the mirror table's indexes, its memo of
 * answers and a review's index of containers share. FNV-1a: the keys are
 * short (hosts, paths, image references, container names), and it is
 * unkeyed: whoever writes a Pod can choose names that collide, which
 * slows those tables down but never makes them wrong.
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
