/*
 * jsontape.h: a JSON text checked and indexed in one pass, without a tree.
 *
 * Owns the reading of request bodies. jsontape_parse() accepts exactly the
 * texts RFC 8259 calls JSON (so no NaN or Infinity, no leading zeros, no
 * "1.", no raw control characters in strings), nested at most max_depth
 * deep (every value one level, as json-c counts: [[1]] is 3 deep, [[]] 2),
 * and records every value in a flat array, the tape, in document
 * order, a member's value with its key: a lookup skips a whole subtree in
 * one step, and nothing is allocated per value. Bytes 0x80 and up pass as
 * they are: the caller checks UTF-8 first (RFC 8259 section 8.1).
 *
 * Every text it accepts, json-c accepts in strict mode, and reads the same
 * way (tests/fuzz/fuzz_jsontape.c checks both against the json-c linked):
 * strings are unescaped on first read, in the tape's own copy of the text,
 * as json-c unescapes them (a lone surrogate becomes U+FFFD); an object key
 * ends at its first NUL; of duplicate keys the last wins. The converse does
 * not hold: json-c also takes NaN, "00", "1." and control characters in
 * strings.
 *
 * A value is named by its index on the tape, a size_t; 0 names no value
 * (a member absent), and the root is JSONTAPE_ROOT.
 */
#ifndef GILLY_JSONTAPE_H
#define GILLY_JSONTAPE_H

#include "common.h"

#include <stddef.h>

#define JSONTAPE_ROOT	1

enum jsontape_type {
	JSONTAPE_NULL,
	JSONTAPE_BOOLEAN,
	JSONTAPE_NUMBER,
	JSONTAPE_STRING,
	JSONTAPE_ARRAY,
	JSONTAPE_OBJECT
};

struct jsontape;

/*
 * Check and index the len bytes at text (need not be NUL-terminated), with
 * values nested at most max_depth deep (the outermost counting as 1).
 * new: *out, freed by jsontape_free(). On a text that is not JSON, returns -1
 * with *at the offset of the first byte in fault and *what (static) saying
 * what is wrong there.
 */
int		 jsontape_parse(const char *text, size_t len, size_t max_depth,
		    struct jsontape **out, size_t *at, const char **what);

/* NULL-safe. */
void		 jsontape_free(struct jsontape *);

/* The type of value v (not 0). */
enum jsontape_type jsontape_type(const struct jsontape *, size_t v);

/*
 * The value of the member named key (a C string) of object obj, the last
 * one when the key is repeated, or 0 when there is none. Decodes keys that
 * hold escapes, in place.
 */
size_t		 jsontape_member(struct jsontape *, size_t obj,
		    const char *key);

/*
 * jsontape_member() of n distinct keys in one pass over obj's members:
 * out[j] the value of keys[j], or 0. An object asked for several members
 * is walked once, not once each.
 */
void		 jsontape_members(struct jsontape *, size_t obj,
		    const char *const keys[], size_t n, size_t out[]);

/* The number of elements of array v, or of members of object v. */
size_t		 jsontape_length(const struct jsontape *, size_t v);

/*
 * Iteration over array or object c, in document order: its first element
 * or member's value (0 when empty), and the one after v (0 after the last).
 */
size_t		 jsontape_first(const struct jsontape *, size_t c);
size_t		 jsontape_next(const struct jsontape *, size_t c, size_t v);

/*
 * The key of v, a member's value (from jsontape_first() and jsontape_next()
 * over an object), unescaped, as a C string: like json-c's, it ends at its
 * first NUL; "" for an array's element or the root. borrowed: valid while
 * the tape lives.
 */
const char	*jsontape_key(struct jsontape *, size_t v);

/*
 * The bytes of string v, unescaped, with a NUL after them (there may be
 * NULs within: *len counts them). borrowed: valid while the tape lives.
 */
const char	*jsontape_string(struct jsontape *, size_t v, size_t *len);

#endif
