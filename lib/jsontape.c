/*
 * jsontape.c: RFC 8259 JSON checked and indexed in one pass.
 *
 * The scanner works on a copy of the text with NULs after it (PAD bytes),
 * so that it can look ahead without a bounds check (a NUL is never valid
 * where it looks) and end each string with a NUL in place of its closing
 * quote. Strings are scanned sixteen bytes at a time while no byte needs a
 * look; the NULs after the text stop that too.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsontape.h"
#include "wordscan.h"

#define TOK_ESCAPED	0x01	/* a string holding a backslash */
#define TOK_UNICODE	0x02	/* ... and a \u escape among them */
#define TOK_DECODED	0x04	/* unescaped in place */
/* The same of a member's key: TOK_* shifted by KEY_SHIFT. */
#define KEY_SHIFT	3
#define KEY_ESCAPED	(TOK_ESCAPED << KEY_SHIFT)
#define KEY_UNICODE	(TOK_UNICODE << KEY_SHIFT)
#define KEY_DECODED	(TOK_DECODED << KEY_SHIFT)

/*
 * One value. A member of an object carries its key (the offset and the
 * KEY_* flags; the text holds a NUL where the key's closing quote was):
 * why not a token of its own, as keys had: a key is about half of the
 * strings of a review, and its token cost the scanner a push and the
 * lookups a step each (callgrind: 1,100 instructions of a review of
 * 35,300). Array elements and the root carry the empty key (no_key()).
 */
struct tok {
	uint32_t	start;	/* string: offset after its quote; else its own */
	uint32_t	len;	/* string: bytes */
	uint32_t	next;	/* index of the token after this value's subtree */
	uint32_t	key;	/* member: offset after its key's quote */
	uint8_t		type;
	uint8_t		flags;
};

struct jsontape {
	struct tok	*tok;		/* tok[0] unused: index 0 is no value */
	size_t		 ntok;
	size_t		 size;
	char		*text;		/* the copy; len bytes, then a NUL */
	size_t		 len;
	uint32_t	*stack;		/* the open containers: STACK_ARRAY | index */
};

/*
 * An open array on the stack, beside its token's index (under 2^31: a text
 * is under 2 GiB, jsontape_parse(), and a token takes a byte of it at
 * least): the scanner then need not look at the token to know what ends
 * it.
 */
#define STACK_ARRAY	UINT32_C(0x80000000)

/* NULs after the copy of the text: one step of the string scan. */
#define PAD	16

static inline int
is_ws(unsigned char c)
{
	return (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

/*
 * The index of the first byte from i on that is not white space. A review
 * as the API server sends it has none: one comparison says so.
 */
static inline size_t
skip_ws(const char *p, size_t i)
{
	while ((unsigned char)p[i] <= ' ' && is_ws((unsigned char)p[i]))
		i++;
	return (i);
}

static inline int
is_digit(unsigned char c)
{
	return (c >= '0' && c <= '9');
}

static inline int
is_hex(unsigned char c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/*
 * The scanner's per-value helpers are inlined into scan(): a call's own cost
 * was a third of theirs (callgrind, a compact Pod review).
 */
#define INLINE	static inline __attribute__((always_inline))

/*
 * The tape being written, in the scanner's own variables: stores of bytes
 * (a string's NUL, a token's type) may alias anything, so that fields read
 * through the tape were read again after each; these the compiler keeps in
 * registers. scan() copies them back.
 */
struct build {
	struct jsontape	*t;
	char		*text;
	size_t		 len;
	struct tok	*tok;
	size_t		 ntok;
	size_t		 size;
	uint32_t	 key;		/* the next member's key: tok.key */
	uint8_t		 key_flags;	/* ... and its KEY_* flags */
};

/*
 * The tokens of tape t, size of them at tok, in twice the room: the first
 * time out of the tape's block (jsontape_parse()) into one of their own.
 */
static struct tok *
grow(struct jsontape *t, struct tok *tok, size_t size)
{
	struct tok	*more;

	if (tok != (struct tok *)(t + 1))
		return (xrealloc(tok, 2 * size * sizeof *tok));
	more = xmalloc(2 * size * sizeof *more);
	memcpy(more, tok, size * sizeof *more);
	return (more);
}

/*
 * The next values are an array's elements or the root: their key is the
 * empty string, the NUL after the text, and has no escape to decode, so
 * that jsontape_key() of one says "" and touches no member's key.
 */
INLINE void
no_key(struct build *b)
{
	b->key = (uint32_t)b->len;
	b->key_flags = 0;
}

/* Append a token for a value starting at offset start; returns its index. */
INLINE size_t
push(struct build *b, enum jsontape_type type, size_t start)
{
	struct tok	*k;

	if (b->ntok == b->size) {
		b->tok = grow(b->t, b->tok, b->size);
		b->size *= 2;
	}
	k = &b->tok[b->ntok];
	k->start = (uint32_t)start;
	k->len = 0;
	k->next = (uint32_t)b->ntok + 1;
	k->key = b->key;
	k->type = type;
	k->flags = b->key_flags;
	return (b->ntok++);
}

/*
 * The string whose quote is at *i, checked, its closing quote replaced by
 * a NUL; *i moves past it, and *flags says what escapes it holds (TOK_*).
 * RFC 8259 section 7.
 */
INLINE int
scan_chars(struct build *b, size_t *i, int *flags_out, size_t *at,
    const char **what)
{
	char		*p = b->text;
	size_t		 j = *i + 1, len = b->len, n;
	unsigned char	 c;
	int		 flags = 0;

	for (;;) {
		/* j <= len: the NUL at len is a control byte, and stops it. */
		while ((n = wordscan_special16(p + j)) == 16)
			j += 16;
		j += n;
		c = (unsigned char)p[j];
		if (c == '"')
			break;
		if (c == '\\') {
			flags |= TOK_ESCAPED;
			switch (p[j + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				j += 2;
				continue;
			case 'u':
				/* The NUL after the text stops this early. */
				for (n = 0; n < 4 && is_hex(p[j + 2 + n]); n++)
					;
				if (n == 4) {
					flags |= TOK_UNICODE;
					j += 6;
					continue;
				}
				*at = j + 2 + n;
				*what = j + 2 + n == len ? "unexpected end of data" :
				    "invalid \\u escape in a string";
				return (-1);
			}
			*at = j + 1;
			*what = j + 1 == len ? "unexpected end of data" :
			    "invalid escape in a string";
			return (-1);
		}
		if (c < 0x20) {
			*at = j;
			*what = j == len ? "unexpected end of data" :
			    "control character in a string";
			return (-1);
		}
		j++;
	}
	p[j] = '\0';
	*i = j + 1;
	*flags_out = flags;
	return (0);
}

/* The string value whose quote is at *i: a token; *i moves past it. */
INLINE int
scan_string(struct build *b, size_t *i, size_t *at, const char **what)
{
	size_t	 start = *i, k;
	int	 flags;

	if (scan_chars(b, i, &flags, at, what) != 0)
		return (-1);
	k = push(b, JSONTAPE_STRING, start + 1);
	/* *i is past the closing quote. */
	b->tok[k].len = (uint32_t)(*i - start - 2);
	b->tok[k].flags |= flags;
	return (0);
}

/* The key whose quote is at *i: the next member's; *i moves past it. */
INLINE int
scan_key(struct build *b, size_t *i, size_t *at, const char **what)
{
	size_t	 start = *i;
	int	 flags;

	if (scan_chars(b, i, &flags, at, what) != 0)
		return (-1);
	b->key = (uint32_t)(start + 1);
	b->key_flags = (uint8_t)(flags << KEY_SHIFT);
	return (0);
}

/* The number at *i; *i moves past it. RFC 8259 section 6. */
INLINE int
scan_number(struct build *b, size_t *i, size_t *at, const char **what)
{
	const char	*p = b->text;
	size_t		 j = *i;

	if (p[j] == '-')
		j++;
	if (p[j] == '0')
		j++;
	else if (p[j] >= '1' && p[j] <= '9') {
		while (is_digit(p[j]))
			j++;
	} else
		goto bad;
	if (p[j] == '.') {
		j++;
		if (!is_digit(p[j]))
			goto bad;
		while (is_digit(p[j]))
			j++;
	}
	if (p[j] == 'e' || p[j] == 'E') {
		j++;
		if (p[j] == '+' || p[j] == '-')
			j++;
		if (!is_digit(p[j]))
			goto bad;
		while (is_digit(p[j]))
			j++;
	}
	/* "01", "-0x": a digit or letter may not follow. */
	if (is_digit(p[j]) || p[j] == '.' || p[j] == 'e' || p[j] == 'E')
		goto bad;
	push(b, JSONTAPE_NUMBER, *i);
	*i = j;
	return (0);
bad:
	*at = j;
	*what = "invalid number";
	return (-1);
}

/* The literal lit (true, false, null) at *i. */
INLINE int
scan_literal(struct build *b, size_t *i, const char *lit,
    enum jsontape_type type, size_t *at, const char **what)
{
	size_t	 n;

	/* The NUL after the text stops the comparison. */
	for (n = 0; lit[n] != '\0' && b->text[*i + n] == lit[n]; n++)
		;
	if (lit[n] != '\0') {
		*at = *i + n;
		*what = *i + n == b->len ? "unexpected end of data" :
		    "unexpected character";
		return (-1);
	}
	push(b, type, *i);
	*i += n;
	return (0);
}

/*
 * The grammar of RFC 8259 section 2, without recursion. White space is
 * looked for only where the byte expected is not there (a review as the
 * API server sends it has none): a fifth of the scanner's instructions
 * went to skip_ws() finding none (callgrind, a compact Pod review).
 */
INLINE int
scan_tape(struct build *b, size_t max_depth, size_t *at,
    const char **what)
{
	const char	*p = b->text;
	uint32_t	*stack = b->t->stack;
	size_t		 i = 0, depth = 0, v, top;
	unsigned char	 c;

value:
	if (depth + 1 > max_depth) {
		*at = skip_ws(p, i);
		*what = "nesting too deep";
		return (-1);
	}
	/*
	 * Strings and objects first: they are most of a review's values, and
	 * the switch's jump cost them eleven instructions each (callgrind).
	 */
	if (p[i] == '"') {
		if (scan_string(b, &i, at, what) != 0)
			return (-1);
		goto after;
	}
	if (p[i] == '{')
		goto object;
	switch (p[i]) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		i = skip_ws(p, i);
		goto value;
	case '{':
object:
		v = push(b, JSONTAPE_OBJECT, i);
		stack[depth++] = (uint32_t)v;
		i++;
		i = skip_ws(p, i);
		if (p[i] == '}') {
			i++;
			goto close;
		}
		goto key;
	case '[':
		v = push(b, JSONTAPE_ARRAY, i);
		stack[depth++] = STACK_ARRAY | (uint32_t)v;
		no_key(b);
		i++;
		i = skip_ws(p, i);
		if (p[i] == ']') {
			i++;
			goto close;
		}
		goto value;
	case 't':
		if (scan_literal(b, &i, "true", JSONTAPE_BOOLEAN, at,
		    what) != 0)
			return (-1);
		break;
	case 'f':
		if (scan_literal(b, &i, "false", JSONTAPE_BOOLEAN, at,
		    what) != 0)
			return (-1);
		break;
	case 'n':
		if (scan_literal(b, &i, "null", JSONTAPE_NULL, at, what) != 0)
			return (-1);
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (scan_number(b, &i, at, what) != 0)
			return (-1);
		break;
	default:
		*at = i;
		*what = i == b->len ? "unexpected end of data" :
		    "unexpected character";
		return (-1);
	}

after:
	if (depth == 0) {
		i = skip_ws(p, i);
		if (i == b->len)
			return (0);
		*at = i;
		*what = "data after the document";
		return (-1);
	}
	top = stack[depth - 1];
	c = (unsigned char)p[i];
	if (top & STACK_ARRAY) {
		if (c == ',') {
			no_key(b);
			i++;
			goto value;
		}
		if (c == ']') {
			i++;
			goto close;
		}
		if (is_ws(c)) {
			i = skip_ws(p, i);
			goto after;
		}
		*at = i;
		*what = i == b->len ? "unexpected end of data" :
		    "expected ',' or ']'";
		return (-1);
	}
	if (c == ',') {
		i++;
		goto key;
	}
	if (c == '}') {
		i++;
		goto close;
	}
	if (is_ws(c)) {
		i = skip_ws(p, i);
		goto after;
	}
	*at = i;
	*what = i == b->len ? "unexpected end of data" : "expected ',' or '}'";
	return (-1);

close:
	top = stack[--depth] & ~STACK_ARRAY;
	b->tok[top].next = (uint32_t)b->ntok;
	goto after;

key:
	if (p[i] != '"')
		i = skip_ws(p, i);
	if (p[i] != '"') {
		*at = i;
		*what = i == b->len ? "unexpected end of data" :
		    "expected a quoted key";
		return (-1);
	}
	if (scan_key(b, &i, at, what) != 0)
		return (-1);
	if (p[i] != ':')
		i = skip_ws(p, i);
	if (p[i] != ':') {
		*at = i;
		*what = i == b->len ? "unexpected end of data" : "expected ':'";
		return (-1);
	}
	i++;
	/*
	 * A member whose value is a string, the most common, and the next
	 * member or the object's end right after it: what value and after
	 * would find, without their looks at the depth and the stack.
	 */
	if (p[i] == '"' && depth < max_depth) {
		if (scan_string(b, &i, at, what) != 0)
			return (-1);
		if (p[i] == ',') {
			i++;
			goto key;
		}
		if (p[i] == '}') {
			i++;
			goto close;
		}
		goto after;
	}
	goto value;
}

static int
scan(struct jsontape *t, size_t max_depth, size_t *at, const char **what)
{
	struct build	 b;
	int		 rc;

	b.t = t;
	b.text = t->text;
	b.len = t->len;
	b.tok = t->tok;
	b.ntok = t->ntok;
	b.size = t->size;
	no_key(&b);
	rc = scan_tape(&b, max_depth, at, what);
	t->tok = b.tok;
	t->ntok = b.ntok;
	t->size = b.size;
	return (rc);
}

int
jsontape_parse(const char *text, size_t len, size_t max_depth,
    struct jsontape **out, size_t *at, const char **what)
{
	struct jsontape	*t;
	size_t		 size;

	*out = NULL;
	/*
	 * Under 2 GiB, for STACK_ARRAY; and where size_t is 32 bits, under
	 * SIZE_MAX / 128, so that the tokens (len + 2 at most, 20 bytes each,
	 * in room doubled as needed) never ask grow() for more than half of
	 * SIZE_MAX.
	 */
	if (len >= UINT32_MAX / 2 || len > SIZE_MAX / 128) {
		*at = 0;
		*what = "text too large";
		return (-1);
	}
	if (max_depth == 0)
		max_depth = 1;
	/*
	 * Room for a value per 12 bytes: a compact Pod review has one per 19
	 * (a Pod's managedFields, with many "f:name":{}, one per 10 or so:
	 * grow() then moves them once). Twice that room made the block one
	 * that malloc() took 380 instructions more to find (callgrind).
	 */
	size = len / 12 + 16;
	/*
	 * The sum below must not wrap: the text and its first tokens (2 len
	 * + 256 bytes) fit in half of SIZE_MAX (above), and the stack must
	 * fit in the rest.
	 */
	if (max_depth > (SIZE_MAX / 2 - sizeof *t - PAD - len - size *
	    sizeof *t->tok) / sizeof *t->stack) {
		*at = 0;
		*what = "text too large";
		return (-1);
	}
	/*
	 * One block for the tape, its first tokens, the stack and the copy
	 * (at the end: it may be long), so that a review costs one malloc()
	 * of a few kilobytes, not three. Tokens past size move out (grow()).
	 */
	t = xmalloc(sizeof *t + size * sizeof *t->tok + max_depth *
	    sizeof *t->stack + len + PAD);
	memset(t, 0, sizeof *t);
	t->len = len;
	t->size = size;
	t->tok = (struct tok *)(t + 1);
	t->stack = (uint32_t *)(t->tok + size);
	t->text = (char *)(t->stack + max_depth);
	memcpy(t->text, text, len);
	memset(t->text + len, 0, PAD);
	t->ntok = 1;
	memset(&t->tok[0], 0, sizeof t->tok[0]);
	if (scan(t, max_depth, at, what) != 0) {
		jsontape_free(t);
		return (-1);
	}
	*out = t;
	return (0);
}

void
jsontape_free(struct jsontape *t)
{
	if (t == NULL)
		return;
	if (t->tok != (struct tok *)(t + 1))
		free(t->tok);
	free(t);
}

enum jsontape_type
jsontape_type(const struct jsontape *t, size_t v)
{
	return (t->tok[v].type);
}

/*
 * Unescape in place the len bytes at p, a string scanned with a NUL in
 * place of its closing quote, as json-c does: the result is never longer
 * than the escaped form. \u escapes (unicode), with json-c's handling of
 * surrogates, are left to json-c itself, so that the two can never
 * disagree. Returns the length unescaped, a NUL after it.
 */
static size_t
decode_at(char *p, size_t len, int unicode)
{
	struct json_tokener	*jt;
	struct json_object	*o;
	const char		*s;
	size_t			 r, w, n;

	if (unicode) {
		/* The string with its quotes, as it was scanned. */
		p[len] = '"';
		if ((jt = json_tokener_new()) == NULL)
			abort();
		o = json_tokener_parse_ex(jt, p - 1, (int)len + 2);
		if (o == NULL && json_tokener_get_error(jt) ==
		    json_tokener_continue)
			o = json_tokener_parse_ex(jt, "", 1);
		if (!json_object_is_type(o, json_type_string))
			abort();
		s = json_object_get_string(o);
		n = (size_t)json_object_get_string_len(o);
		if (n > len)
			abort();
		memcpy(p, s, n);
		json_object_put(o);
		json_tokener_free(jt);
	} else {
		for (r = w = 0; r < len; w++) {
			if (p[r] != '\\') {
				p[w] = p[r++];
				continue;
			}
			switch (p[r + 1]) {
			case 'b':
				p[w] = '\b';
				break;
			case 'f':
				p[w] = '\f';
				break;
			case 'n':
				p[w] = '\n';
				break;
			case 'r':
				p[w] = '\r';
				break;
			case 't':
				p[w] = '\t';
				break;
			default:	/* '"', '\\', '/' */
				p[w] = p[r + 1];
				break;
			}
			r += 2;
		}
		n = w;
	}
	p[n] = '\0';
	return (n);
}

/* String value v unescaped in place. */
static void
decode(struct jsontape *t, size_t v)
{
	struct tok	*k = &t->tok[v];

	k->len = (uint32_t)decode_at(t->text + k->start, k->len,
	    (k->flags & TOK_UNICODE) != 0);
	k->flags |= TOK_DECODED;
}

/*
 * The name of member v's key, as a C string: the scanner refused control
 * bytes (NUL among them) within strings and wrote a NUL over each closing
 * quote, and a key with escapes is decoded here first, the way json-c
 * decodes it (its keys too end at their first NUL). So strcmp() compares
 * keys as json-c would, and needs no length.
 */
static inline const char *
key_name(struct jsontape *t, size_t v)
{
	struct tok	*k = &t->tok[v];
	char		*p = t->text + k->key;

	if ((k->flags & (KEY_ESCAPED | KEY_DECODED)) == KEY_ESCAPED) {
		/* Undecoded, the key is the bytes up to that NUL. */
		(void)decode_at(p, strlen(p), (k->flags & KEY_UNICODE) != 0);
		k->flags |= KEY_DECODED;
	}
	return (p);
}

/*
 * What jsontape_members() does, inlined in both it and jsontape_member():
 * there, with n a constant 1, the loop over the keys goes away.
 */
INLINE void
members(struct jsontape *t, size_t obj, const char *const keys[], size_t n,
    size_t out[])
{
	const char	*name;
	size_t		 v, j, end;

	for (j = 0; j < n; j++)
		out[j] = 0;
	if (t->tok[obj].type != JSONTAPE_OBJECT)
		return;
	end = t->tok[obj].next;
	for (v = obj + 1; v < end; v = t->tok[v].next) {
		name = key_name(t, v);
		/* The first byte sets most names apart without a call. */
		for (j = 0; j < n; j++)
			if (name[0] == keys[j][0] &&
			    strcmp(name, keys[j]) == 0) {
				out[j] = v;
				break;
			}
	}
}

size_t
jsontape_member(struct jsontape *t, size_t obj, const char *key)
{
	size_t	 found;

	members(t, obj, &key, 1, &found);
	return (found);
}

void
jsontape_members(struct jsontape *t, size_t obj, const char *const keys[],
    size_t n, size_t out[])
{
	members(t, obj, keys, n, out);
}

/* Counted when asked, rarely: the scanner does not count as it goes. */
size_t
jsontape_length(const struct jsontape *t, size_t v)
{
	size_t	 i, n = 0, end = t->tok[v].next;

	if (t->tok[v].type == JSONTAPE_ARRAY ||
	    t->tok[v].type == JSONTAPE_OBJECT)
		for (i = v + 1; i < end; i = t->tok[i].next)
			n++;
	return (n);
}

/* A container's first entry, if any, is the token after it. */
size_t
jsontape_first(const struct jsontape *t, size_t c)
{
	return ((t->tok[c].type == JSONTAPE_ARRAY ||
	    t->tok[c].type == JSONTAPE_OBJECT) &&
	    c + 1 < t->tok[c].next ? c + 1 : 0);
}

size_t
jsontape_next(const struct jsontape *t, size_t c, size_t v)
{
	return (t->tok[v].next < t->tok[c].next ? t->tok[v].next : 0);
}

const char *
jsontape_key(struct jsontape *t, size_t v)
{
	return (key_name(t, v));
}

const char *
jsontape_string(struct jsontape *t, size_t v, size_t *len)
{
	struct tok	*k = &t->tok[v];

	if ((k->flags & (TOK_ESCAPED | TOK_DECODED)) == TOK_ESCAPED)
		decode(t, v);
	*len = k->len;
	return (t->text + k->start);
}
