/*
 * wordscan.h: eight bytes of a JSON string at a time.
 *
 * Owns the one test that both reading (jsontape.c) and writing
 * (admission.c) a JSON string make of every byte: is it a byte that a
 * string cannot hold as it is ('"', '\\', a control byte)? Most bytes of a
 * review are not, so both skip them a 64-bit word at a time.
 */
#ifndef GILLY_WORDSCAN_H
#define GILLY_WORDSCAN_H

#include <stdint.h>
#include <string.h>

#define WORDSCAN_ONES	UINT64_C(0x0101010101010101)
#define WORDSCAN_HIGHS	UINT64_C(0x8080808080808080)

/*
 * Of the 8 bytes at p, the index of the first that is '"', '\\' or a
 * control byte, or 8 if none is.
 */
static inline size_t
wordscan_special(const void *p)
{
	uint64_t	 w, q, b, m;

	memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	/*
	 * (x - ONES) & ~x has the high bit of each zero byte of x set, and of
	 * a byte under 0x20 for x = w and 0x20 in place of ONES. A borrow may
	 * set bits above the first such byte, never below it: the lowest set
	 * bit is exact.
	 */
	q = w ^ (WORDSCAN_ONES * '"');
	b = w ^ (WORDSCAN_ONES * '\\');
	m = (((q - WORDSCAN_ONES) & ~q) | ((b - WORDSCAN_ONES) & ~b) |
	    ((w - WORDSCAN_ONES * 0x20) & ~w)) & WORDSCAN_HIGHS;
	return (m == 0 ? 8 : (size_t)__builtin_ctzll(m) / 8);
}

#endif
