/*
 * wordscan.h: eight or sixteen bytes of a JSON string at a time.
 *
 * Owns the one test that both reading (jsontape.c) and writing
 * (admission.c) a JSON string make of every byte: is it a byte that a
 * string cannot hold as it is ('"', '\\', a control byte)? Most bytes of a
 * review are not, so both skip them a 64-bit word, or a 128-bit SSE2
 * register, at a time.
 */
#ifndef GILLY_WORDSCAN_H
#define GILLY_WORDSCAN_H

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/*
 * Of the 16 bytes at p, the index of the first that is '"', '\\' or a
 * control byte, or 16 if none is. Why a second width: most strings of a
 * review are keys and names under 16 bytes, which SSE2 (in every x86-64)
 * clears in one step where the word needs two. Elsewhere, two words.
 */
static inline size_t
wordscan_special16(const void *p)
{
#ifdef __SSE2__
	__m128i		 x;
	unsigned	 m;

	x = _mm_loadu_si128((const __m128i *)p);
	/* max(x, 0x1f) == 0x1f: x is 0x1f or less, unsigned. */
	m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
	    _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)),
	    _mm_set1_epi8(0x1f))));
	return (m == 0 ? 16 : (size_t)__builtin_ctz(m));
#else
	size_t	 n;

	if ((n = wordscan_special(p)) < 8)
		return (n);
	return (8 + wordscan_special((const char *)p + 8));
#endif
}

#endif
