/*
 * admission.c: an AdmissionReview (admission.k8s.io/v1 or v1beta1) in, the
 * response AdmissionReview out, with a JSON Patch (RFC 6902) that points
 * every image gilly acts on at the mirror.
 *
 * The body is checked and indexed once (lib/jsontape.h) rather than parsed
 * into a json-c tree: a review answers in microseconds, and most of what a
 * tree would hold (managedFields, volumes, status) is never read. Every
 * value read is type-checked and a wrong type is refused with its JSON path.
 * The response is written as text, escaped as json-c would escape it; json-c
 * is left the rare paths: the message for a body that is not JSON, and the
 * merge with an existing original-images annotation.
 */
#include "common.h"

#include <search.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/json_object_iterator.h>

#include "admission.h"
#include "jsontape.h"
#include "log.h"
#include "mirror.h"
#include "wordscan.h"

#define API_V1			"admission.k8s.io/v1"
#define API_V1BETA1		"admission.k8s.io/v1beta1"
#define SUBRESOURCE_EPHEMERAL	"ephemeralcontainers"

/* Serialize without pretty-printing, and "/spec/..." rather than "\/spec". */
#define JSON_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* How much of a hostile value an error message quotes. */
#define QUOTE_MAX	64

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* The three container lists of a PodSpec, in the order they are patched. */
static const char *const pod_lists[] = {
	"containers", "initContainers", "ephemeralContainers"
};

/* Text being written: NUL-terminated, grown on demand. */
struct out {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

/*
 * One rewritten container, a member of the original-images and
 * mirrored-images objects. Keys are C strings, as json-c's are: a second
 * rewrite under the same key replaces the first in its place.
 */
struct image_entry {
	const char	*original;	/* borrowed from the tape */
	size_t		 original_len;
	char		*mirrored;
	char		 key[];
};

/* What one review is about, and what it produces so far. */
struct review {
	const struct mirror	*table;
	struct admission_result	*res;
	struct jsontape		*tape;
	int			 update;	/* compare with oldObject */
	int			 ephemeral_only; /* the subresource */
	size_t			 old_spec;	/* oldObject.spec or 0 */
	struct out		 patch;		/* "[" and the operations */
	struct image_entry	**entries;	/* as first rewritten */
	size_t			 nentries;
	size_t			 entries_size;
	void			*keys;		/* the entries' keys, tsearch(3) */
	struct out		 warnings;	/* JSON strings, comma-separated */
	size_t			 registries_size;
};

/* out_grow() when the room is short. */
static void
out_more(struct out *o, size_t n)
{
	o->size = o->size * 2 > o->len + n + 1 ? o->size * 2 : o->len + n + 1;
	/* A Pod's answer is about a kilobyte: most grow once at most. */
	if (o->size < 1024)
		o->size = 1024;
	o->buf = xrealloc(o->buf, o->size);
}

/* Room for n more bytes and a NUL. */
static inline void
out_grow(struct out *o, size_t n)
{
	if (o->size - o->len <= n)
		out_more(o, n);
}

/*
 * Inlined: most of a review's fifty or so calls write a literal of a few
 * bytes, which the compiler then copies without a call to memcpy() (1,400
 * instructions of a review's 33,000, callgrind).
 */
static inline __attribute__((always_inline)) void
out_add(struct out *o, const char *s, size_t n)
{
	out_grow(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
out_cstr(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* A string literal, its length known when compiled. */
#define out_literal(o, lit)	out_add((o), "" lit, sizeof (lit) - 1)
/*
 * "key": of a literal key that needs no JSON escape (gilly's own names):
 * written as it is, not escaped byte by byte.
 */
#define out_literal_key(o, key)	out_literal((o), "\"" key "\":")

/*
 * The escape of each byte in a JSON string, as json-c's
 * json_object_to_json_string_ext() writes it with JSON_FLAGS: 0 for none
 * (a byte as it is, '/' too), a letter for the two-byte escapes, 'u' for
 * \u00XX (lowercase hex).
 */
static const char json_escape[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"',
	['\\'] = '\\'
};

/*
 * The n bytes at s escaped (json_escape) as within a JSON string, written
 * at d, which has room for 6 bytes each (the longest escape); returns the
 * end. Escaping byte by byte, a string's parts can be written one after
 * the other, never joined. twice: escaped again, as the JSON text of a
 * string within a JSON string is (7 bytes each at most: "\\u0001"): the
 * first escape's backslashes and quotes are escaped, and it makes no other
 * byte that needs it.
 */
static inline __attribute__((always_inline)) char *
escape(char *d, const char *s, size_t n, int twice)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k;
	char			 e;

	for (i = 0; i < n; i++) {
		/*
		 * Runs of bytes that need no escape, 16 or 8 at a time: the
		 * whole run is copied (d has room for 6 bytes each of those
		 * left), then the part before the first special byte kept.
		 */
		while (n - i >= 16) {
			memcpy(d, p + i, 16);
			k = wordscan_special16(p + i);
			d += k;
			i += k;
			if (k < 16)
				goto special;
		}
		if (n - i >= 8) {
			memcpy(d, p + i, 8);
			k = wordscan_special(p + i);
			d += k;
			i += k;
		}
special:
		if (i == n)
			break;
		if ((e = json_escape[p[i]]) == 0) {
			*d++ = (char)p[i];
			continue;
		}
		if (twice)
			*d++ = '\\';
		*d++ = '\\';
		if (e != 'u') {
			if (twice && (e == '"' || e == '\\'))
				*d++ = '\\';
			*d++ = e;
		} else {
			memcpy(d, "u00", 3);
			d[3] = hex[p[i] >> 4];
			d[4] = hex[p[i] & 0xf];
			d += 5;
		}
	}
	return (d);
}

static char *
json_escaped(char *d, const char *s, size_t n)
{
	return (escape(d, s, n, 0));
}

/* Room for 7 bytes each. */
static char *
json_escaped_twice(char *d, const char *s, size_t n)
{
	return (escape(d, s, n, 1));
}

/* The n bytes at s as a JSON string, quoted and escaped. */
static void
out_json(struct out *o, const char *s, size_t n)
{
	char	*d;

	out_grow(o, 6 * n + 2);
	d = o->buf + o->len;
	*d++ = '"';
	d = json_escaped(d, s, n);
	*d++ = '"';
	*d = '\0';
	o->len = (size_t)(d - o->buf);
}

/*
 * The same, without the quotes: a part of a string; twice: of a string
 * within a string. Inlined: twice is a constant at each call.
 */
static inline __attribute__((always_inline)) void
out_json_chars(struct out *o, const char *s, size_t n, int twice)
{
	char	*d;

	out_grow(o, 7 * n);
	d = o->buf + o->len;
	d = twice ? json_escaped_twice(d, s, n) : json_escaped(d, s, n);
	*d = '\0';
	o->len = (size_t)(d - o->buf);
}

/*
 * json-c has no base64 encoder: RFC 4648 section 4, by hand. The len
 * bytes at data written at out, which has room for 4 * ((len + 2) / 3);
 * returns the end.
 */
static char *
base64_write(char *out, const void *data, size_t len)
{
	static const char	 alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*in = data;
	char			*p = out;
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 0x3f];
		*p++ = alphabet[(v >> 6) & 0x3f];
		*p++ = alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 0x3f];
		*p++ = '=';
		*p++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 0x3f];
		*p++ = alphabet[(v >> 6) & 0x3f];
		*p++ = '=';
	}
	return (p);
}

/* The len bytes at data in base64. */
static void
out_base64(struct out *o, const void *data, size_t len)
{
	char	*d;

	out_grow(o, 4 * ((len + 2) / 3));
	d = base64_write(o->buf + o->len, data, len);
	*d = '\0';
	o->len = (size_t)(d - o->buf);
}

/* The article and name of a JSON type, for messages. */
static const char *
type_name(enum jsontape_type type)
{
	switch (type) {
	case JSONTAPE_NULL:
		return ("null");
	case JSONTAPE_BOOLEAN:
		return ("a boolean");
	case JSONTAPE_NUMBER:
		return ("a number");
	case JSONTAPE_OBJECT:
		return ("an object");
	case JSONTAPE_ARRAY:
		return ("an array");
	case JSONTAPE_STRING:
		return ("a string");
	}
	return ("an unknown value");
}

/*
 * Check v, the value of member key of the object at path (0: absent).
 * Returns 1 with *out set when it is there with the wanted type, 0 when it
 * is absent or null, and -1 with *cause naming its JSON path ("path.key")
 * when it has another type.
 */
static int
member_at(struct jsontape *t, size_t v, const char *path, const char *key,
    enum jsontape_type want, size_t *out, char **cause)
{
	*out = 0;
	/* null counts as absent, as it does for json-c. */
	if (v == 0 || jsontape_type(t, v) == JSONTAPE_NULL)
		return (0);
	if (jsontape_type(t, v) != want)
		return (set_cause(cause, "%s%s%s: expected %s, found %s", path,
		    *path == '\0' ? "" : ".", key, type_name(want),
		    type_name(jsontape_type(t, v))));
	*out = v;
	return (1);
}

/* member_at() of key looked up in obj (an object). */
static int
member(struct jsontape *t, size_t obj, const char *path, const char *key,
    enum jsontape_type want, size_t *out, char **cause)
{
	return (member_at(t, jsontape_member(t, obj, key), path, key, want,
	    out, cause));
}

/*
 * A string member: as member_at(), with the bytes in *s (NUL-terminated,
 * maybe holding NULs) and *len.
 */
static int
member_string_at(struct jsontape *t, size_t v, const char *path,
    const char *key, const char **s, size_t *len, char **cause)
{
	int	 r;

	*s = NULL;
	*len = 0;
	if ((r = member_at(t, v, path, key, JSONTAPE_STRING, &v, cause)) != 1)
		return (r);
	*s = jsontape_string(t, v, len);
	return (1);
}

/* member_string_at() of key looked up in obj (an object). */
static int
member_string(struct jsontape *t, size_t obj, const char *path,
    const char *key, const char **s, size_t *len, char **cause)
{
	return (member_string_at(t, jsontape_member(t, obj, key), path, key,
	    s, len, cause));
}

/*
 * The members that a review reads of each object, each set looked up in
 * one pass (jsontape_members()): a lookup walks all of an object's
 * members, and the request alone is asked for nine.
 */
static const char *const root_keys[] = { "kind", "apiVersion", "request" };
enum { ROOT_KIND, ROOT_API, ROOT_REQUEST };
static const char *const request_keys[] = { "uid", "kind", "resource",
    "operation", "subResource", "name", "namespace", "object", "oldObject" };
enum { RQ_UID, RQ_KIND, RQ_RESOURCE, RQ_OPERATION, RQ_SUBRESOURCE, RQ_NAME,
    RQ_NAMESPACE, RQ_OBJECT, RQ_OLD };
static const char *const object_keys[] = { "metadata", "spec" };
enum { OBJ_METADATA, OBJ_SPEC };
static const char *const metadata_keys[] = { "name", "generateName",
    "namespace", "annotations" };
enum { MD_NAME, MD_GENERATE_NAME, MD_NAMESPACE, MD_ANNOTATIONS };
static const char *const container_keys[] = { "name", "image" };
enum { CT_NAME, CT_IMAGE };

/* Whether the len bytes at s are the string lit. */
static int
equals(const char *s, size_t len, const char *lit)
{
	return (s != NULL && len == strlen(lit) && memcmp(s, lit, len) == 0);
}

/*
 * Check that the len bytes at s are UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), as JSON text must be (RFC 8259
 * section 8.1). Returns 0, or -1 with *at the offset of the first bad byte.
 * Done here rather than with JSON_TOKENER_VALIDATE_UTF8: with its fast path
 * for ASCII this costs a fraction of what json-c's byte-by-byte check does,
 * and it reports where the bad byte is.
 */
static int
utf8_check(const unsigned char *s, size_t len, size_t *at)
{
	uint64_t	 word[4];
	size_t		 i = 0, k, n;
	unsigned char	 c, lo, hi;

	while (i < len) {
		/*
		 * 32 bytes at a time while they are ASCII: the loop's own
		 * cost, 8 at a time, was 1.5 instructions a byte (callgrind).
		 * In a loop of its own, without the outer one's tests.
		 */
		while (len - i >= sizeof word) {
			memcpy(word, s + i, sizeof word);
			if (((word[0] | word[1] | word[2] | word[3]) &
			    UINT64_C(0x8080808080808080)) != 0)
				break;
			i += sizeof word;
		}
		if (i == len)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c == 0xe0) {
			n = 2;
			lo = 0xa0;
		} else if (c == 0xed) {
			n = 2;
			hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef)
			n = 2;
		else if (c == 0xf0) {
			n = 3;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			n = 3;
		else if (c == 0xf4) {
			n = 3;
			hi = 0x8f;
		} else
			goto bad;
		if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
			goto bad;
		for (k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
		i += n + 1;
	}
	return (0);
bad:
	*at = i;
	return (-1);
}

/*
 * The message for a body jsontape refused (at byte at: what): json-c's own,
 * as gilly has always given, unless json-c would take the body (NaN, "00",
 * a control character in a string: not JSON by RFC 8259), then jsontape's.
 */
static void
parse_error(const char *body, size_t len, size_t at, const char *what,
    char **cause)
{
	struct json_tokener	*tok;
	struct json_object	*root = NULL;
	enum json_tokener_error	 je;
	size_t			 end;

	if ((tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX)) == NULL) {
		set_cause(cause, "out of memory");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* len <= ADMISSION_BODY_MAX: the cast to int is safe. */
	root = json_tokener_parse_ex(tok, body, (int)len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (root == NULL && je == json_tokener_continue) {
		/*
		 * The body is the whole document: a NUL tells json-c so (a lone
		 * number or an unfinished document needs it to conclude).
		 */
		root = json_tokener_parse_ex(tok, "", 1);
		je = json_tokener_get_error(tok);
		end = len;
	}
	if (je == json_tokener_error_depth)
		set_cause(cause, "invalid JSON at byte %zu: nested deeper than "
		    "%d levels", end, ADMISSION_DEPTH_MAX);
	else if (je != json_tokener_success)
		set_cause(cause, "invalid JSON at byte %zu: %s", end,
		    json_tokener_error_desc(je));
	else if (end < len)
		/* json-c stops at a NUL byte: nothing may follow the value. */
		set_cause(cause, "invalid JSON at byte %zu: data after the "
		    "document", end);
	else
		set_cause(cause, "invalid JSON at byte %zu: %s (RFC 8259)", at,
		    what);
	json_object_put(root);
	json_tokener_free(tok);
}

/* Check and index the body: new: the tape, its root an object. */
static struct jsontape *
parse_body(const char *body, size_t len, char **cause)
{
	struct jsontape	*tape = NULL;
	const char	*what;
	size_t		 at;

	if (len == 0) {
		set_cause(cause, "empty body: expected an AdmissionReview");
		return (NULL);
	}
	if (len > ADMISSION_BODY_MAX) {
		set_cause(cause, "body too large: %zu bytes, the limit is %lu",
		    len, (unsigned long)ADMISSION_BODY_MAX);
		return (NULL);
	}
	if (utf8_check((const unsigned char *)body, len, &at) != 0) {
		set_cause(cause, "invalid UTF-8 at byte %zu", at);
		return (NULL);
	}
	if (jsontape_parse(body, len, ADMISSION_DEPTH_MAX, &tape, &at,
	    &what) != 0) {
		parse_error(body, len, at, what, cause);
		return (NULL);
	}
	if (jsontape_type(tape, JSONTAPE_ROOT) != JSONTAPE_OBJECT) {
		set_cause(cause, "not an AdmissionReview: expected an object, "
		    "found %s", type_name(jsontape_type(tape, JSONTAPE_ROOT)));
		jsontape_free(tape);
		return (NULL);
	}
	return (tape);
}

/*
 * Copy at most size - 1 of the len bytes at s into buf for a message, each
 * control byte shown as '?'.
 */
static void
quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; i < len && i + 1 < size; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	buf[i] = '\0';
}

/* new: a copy of the len bytes at s fit for a log line (NUL shown as '?'). */
static char *
printable(const char *s, size_t len)
{
	char	*p;
	size_t	 i;

	p = xstrndup(s, len);
	for (i = 0; i < len; i++)
		if (p[i] == '\0')
			p[i] = '?';
	return (p);
}

/*
 * Open one JSON Patch operation (RFC 6902 section 4) in the patch, up to
 * its value, which the caller writes, then closes with "}". Neither op
 * (an operation's name) nor path needs a JSON escape, and they are
 * written as they are: every path is gilly's own, of list names, indexes
 * and the annotation's name (JSON Pointer escapes are '~0' and '~1').
 */
static void
patch_op(struct review *rv, const char *op, const char *path)
{
	out_add(&rv->patch, rv->patch.len == 0 ? "[" : ",", 1);
	out_literal(&rv->patch, "{\"op\":\"");
	out_cstr(&rv->patch, op);
	out_literal(&rv->patch, "\",\"path\":\"");
	out_cstr(&rv->patch, path);
	out_literal(&rv->patch, "\",\"value\":");
}

/*
 * buf (size bytes, truncated) = head, list, open, i in decimal, close: the
 * JSON path of a container ("request.object.spec." "containers" "[" 2 "]")
 * or of its image in the patch ("/spec/" "containers" "/" 2 "/image").
 * Written on every container: snprintf cost a tenth of a review there
 * (callgrind, the compact gcr review); each part is copied whole, not
 * byte by byte with a check of room on each.
 */
static void
list_path(char *buf, size_t size, const char *head, const char *list,
    const char *open, size_t i, const char *close)
{
	const char	*part[5];
	char		 num[DECIMAL_MAX], *d = buf;
	size_t		 k, n, room = size - 1;

	part[0] = head;
	part[1] = list;
	part[2] = open;
	part[3] = decimal(num, i);
	part[4] = close;
	for (k = 0; k < 5; k++) {
		n = strlen(part[k]);
		if (n > room)
			n = room;
		memcpy(d, part[k], n);
		d += n;
		room -= n;
	}
	*d = '\0';
}

/*
 * Containers are looked up by name in balanced trees (tsearch(3), a
 * red-black tree in glibc): a scan of oldObject's list for each container
 * would make an UPDATE cost the square of its containers, and a hash
 * table could be made to, since the names are the Pod's author's to
 * choose; no choice of them makes a tree slow.
 */

/* A container of oldObject's list, by name (struct old_list). */
struct old_name {
	const char	*name;
	size_t		 len;
	size_t		 item;		/* on the tape */
	size_t		 pos;		/* in the list, for messages */
	/*
	 * Its image, once looked up: many containers may share a name, and
	 * the container's members are walked to find it.
	 */
	int		 image_known;
	const char	*image;
	size_t		 image_len;
};

/* oldObject's list of one kind of container, indexed when first asked. */
struct old_list {
	size_t		 arr;		/* the array, or 0 */
	int		 indexed;
	struct old_name	*names;
	void		*root;		/* of the names, tsearch(3) */
};

/* Names hold what their JSON strings hold, NULs too: bytes compared. */
static int
old_name_cmp(const void *a, const void *b)
{
	const struct old_name	*x = a, *y = b;
	int			 c;

	c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	return (c != 0 ? c : (x->len > y->len) - (x->len < y->len));
}

/* For tdestroy(3) of trees whose nodes point to memory freed apart. */
static void
keep_node(void *p)
{
	(void)p;
}

/*
 * Index ol's containers by name, the first of a name standing for it (as
 * a scan of the list would find it). Every container of the list must be
 * an object with a string name, if any.
 */
static int
old_index(struct jsontape *t, struct old_list *ol, const char *list,
    char **cause)
{
	struct old_name	*o;
	const char	*s;
	char		 path[128];
	size_t		 i, n = 0, item, len;

	ol->indexed = 1;
	ol->names = xmalloc((jsontape_length(t, ol->arr) + 1) *
	    sizeof *ol->names);
	for (i = 0, item = jsontape_first(t, ol->arr); item != 0;
	    i++, item = jsontape_next(t, ol->arr, item)) {
		list_path(path, sizeof path, "request.oldObject.spec.", list,
		    "[", i, "]");
		if (jsontape_type(t, item) != JSONTAPE_OBJECT)
			return (set_cause(cause, "%s: expected an object, "
			    "found %s", path, type_name(jsontape_type(t,
			    item))));
		if (member_string(t, item, path, "name", &s, &len, cause) == -1)
			return (-1);
		if (s == NULL)
			continue;
		o = &ol->names[n++];
		o->name = s;
		o->len = len;
		o->item = item;
		o->pos = i;
		o->image_known = 0;
		if (tsearch(o, &ol->root, old_name_cmp) == NULL)
			abort();
	}
	return (0);
}

/*
 * Find in oldObject's list ol the container named name. Returns 1 with
 * *image (NULL when it has none) set, 0 when there is none, -1 with *cause
 * on a wrong type.
 */
static int
old_container(struct jsontape *t, struct old_list *ol, const char *list,
    const char *name, size_t name_len, const char **image, size_t *image_len,
    char **cause)
{
	struct old_name		 probe, *o;
	char			 path[128];
	void			*node;

	*image = NULL;
	*image_len = 0;
	if (ol->arr == 0)
		return (0);
	if (!ol->indexed && old_index(t, ol, list, cause) == -1)
		return (-1);
	probe.name = name;
	probe.len = name_len;
	if ((node = tfind(&probe, &ol->root, old_name_cmp)) == NULL)
		return (0);
	o = *(struct old_name **)node;
	if (!o->image_known) {
		list_path(path, sizeof path, "request.oldObject.spec.", list,
		    "[", o->pos, "]");
		if (member_string(t, o->item, path, "image", &o->image,
		    &o->image_len, cause) == -1)
			return (-1);
		o->image_known = 1;
	}
	*image = o->image;
	*image_len = o->image_len;
	return (1);
}

static void
old_list_free(struct old_list *ol)
{
	tdestroy(ol->root, keep_node);
	free(ol->names);
}

static int
key_cmp(const void *a, const void *b)
{
	return (strcmp(a, b));
}

/*
 * The entry for key, a new one (no images yet) when there is none. The
 * tree holds the entries' own keys, each within its entry.
 */
static struct image_entry *
entry_get(struct review *rv, const char *key)
{
	struct image_entry	*e;
	const char	**node;
	size_t		 n;

	if ((node = tsearch(key, &rv->keys, key_cmp)) == NULL)
		abort();
	if (*node != key)
		return ((struct image_entry *)(void *)(*node -
		    offsetof(struct image_entry, key)));
	n = strlen(key);
	e = xmalloc(sizeof *e + n + 1);
	e->original = NULL;
	e->original_len = 0;
	e->mirrored = NULL;
	memcpy(e->key, key, n + 1);
	*node = e->key;
	if (rv->nentries == rv->entries_size) {
		rv->entries_size = rv->entries_size == 0 ? 4 :
		    2 * rv->entries_size;
		rv->entries = xrealloc(rv->entries, rv->entries_size *
		    sizeof *rv->entries);
	}
	rv->entries[rv->nentries++] = e;
	return (e);
}

/* Record one rewritten image in the patch, warnings and result. */
static void
record_rewrite(struct review *rv, const char *list, size_t idx,
    const char *key, const char *image, size_t image_len, char *out,
    const struct mirror_match *match)
{
	struct admission_result	*res = rv->res;
	struct image_entry		*e;
	char			 path[128];

	list_path(path, sizeof path, "/spec/", list, "/", idx, "/image");
	patch_op(rv, "replace", path);
	out_json(&rv->patch, out, strlen(out));
	out_add(&rv->patch, "}", 1);

	/* One string, written in its parts: no line to join and free. */
	if (rv->warnings.len > 0)
		out_add(&rv->warnings, ",", 1);
	out_literal(&rv->warnings, "\"container \\\"");
	out_json_chars(&rv->warnings, key, strlen(key), 0);
	out_literal(&rv->warnings, "\\\": image ");
	/* A rewritten image is a valid reference: it holds no NUL. */
	out_json_chars(&rv->warnings, image, image_len, 0);
	out_literal(&rv->warnings, " rewritten to ");
	out_json_chars(&rv->warnings, out, strlen(out), 0);
	out_add(&rv->warnings, "\"", 1);

	e = entry_get(rv, key);
	free(e->mirrored);
	e->original = image;
	e->original_len = image_len;
	e->mirrored = out;	/* stolen */

	if (res->rewrites == rv->registries_size) {
		rv->registries_size = rv->registries_size == 0 ? 4 :
		    rv->registries_size * 2;
		res->registries = xrealloc(res->registries,
		    rv->registries_size * sizeof *res->registries);
	}
	res->registries[res->rewrites++] = xstrdup(match->registry);
}

/*
 * Rewrite the images of one container list of the Pod's spec, value v of
 * its member list (0: absent). On UPDATE, only images that differ from
 * oldObject's container of the same name.
 */
static int
review_list(struct review *rv, size_t v, const char *list, char **cause)
{
	struct jsontape		*t = rv->tape;
	struct mirror_match	 match;
	enum mirror_outcome	 outcome;
	const char		*name, *image, *old_image;
	char			 path[128], keybuf[128], oldpath[64];
	char			*out = NULL, *why = NULL, *shown;
	const char		*key;
	struct old_list		 old = { 0, 0, NULL, NULL };
	size_t			 arr, item, i, name_len, image_len;
	size_t			 old_len, ct[nitems(container_keys)];
	int			 r, found;

	if ((r = member_at(t, v, "request.object.spec", list, JSONTAPE_ARRAY,
	    &arr, cause)) != 1)
		return (r);
	if (rv->update && rv->old_spec != 0) {
		if (member(t, rv->old_spec, "request.oldObject.spec", list,
		    JSONTAPE_ARRAY, &old.arr, cause) == -1)
			return (-1);
	}
	r = -1;
	for (i = 0, item = jsontape_first(t, arr); item != 0;
	    i++, item = jsontape_next(t, arr, item)) {
		list_path(path, sizeof path, "request.object.spec.", list,
		    "[", i, "]");
		if (jsontape_type(t, item) != JSONTAPE_OBJECT) {
			set_cause(cause, "%s: expected an object, found %s",
			    path, type_name(jsontape_type(t, item)));
			goto end;
		}
		jsontape_members(t, item, container_keys,
		    nitems(container_keys), ct);
		if (member_string_at(t, ct[CT_NAME], path, "name", &name,
		    &name_len, cause) == -1 ||
		    member_string_at(t, ct[CT_IMAGE], path, "image", &image,
		    &image_len, cause) == -1)
			goto end;
		/* image is optional in the Pod API: nothing to rewrite. */
		if (image == NULL)
			continue;
		if (name != NULL)
			key = name;
		else {
			snprintf(keybuf, sizeof keybuf, "%s[%zu]", list, i);
			key = keybuf;
		}
		if (rv->update && name != NULL) {
			if ((found = old_container(t, &old, list, name,
			    name_len, &old_image, &old_len, cause)) == -1)
				goto end;
			/* Unchanged by this update: leave it be. */
			if (found == 1 && old_image != NULL &&
			    old_len == image_len &&
			    memcmp(old_image, image, image_len) == 0)
				continue;
		}

		outcome = mirror_rewrite(rv->table, image, image_len, &out,
		    &match, &why);
		if (outcome != MIRROR_INVALID && match.registry[0] != '\0')
			log_concat("[ProcessPod] Found registry => ",
			    match.registry, (char *)NULL);
		switch (outcome) {
		case MIRROR_REWRITTEN:
			log_concat("[ReplaceImageRegistry] Image ", image,
			    " => ", out, (char *)NULL);
			record_rewrite(rv, list, i, key, image, image_len, out,
			    &match);
			out = NULL;	/* the entry's now */
			break;
		case MIRROR_NO_RULE:
			log_line("[ReplaceImageRegistry] Image %s unchanged: no "
			    "mirror rule", image);
			break;
		case MIRROR_LEFT_ALONE:
			log_line("[ReplaceImageRegistry] Image %s unchanged: "
			    "rule \"%s\" leaves it alone", image, match.source);
			break;
		case MIRROR_ALREADY:
			log_line("[ReplaceImageRegistry] Image %s unchanged: "
			    "already on a mirror", image);
			break;
		case MIRROR_INVALID:
			snprintf(oldpath, sizeof oldpath, "%s[%zu]", list, i);
			shown = printable(image, image_len);
			log_line("[ProcessPod] Invalid image reference \"%s\" in "
			    "%s (container \"%s\"): %s: left unchanged", shown,
			    oldpath, key, why != NULL ? why : "invalid");
			free(shown);
			rv->res->invalid++;
			break;
		case MIRROR_REFUSED:
			/* The table's fault, not the Pod's: said as such. */
			snprintf(oldpath, sizeof oldpath, "%s[%zu]", list, i);
			log_line("[ReplaceImageRegistry] Image %s in %s "
			    "(container \"%s\") unchanged: %s", image, oldpath,
			    key, why != NULL ? why : "refused");
			rv->res->invalid++;
			break;
		}
		free(out);
		out = NULL;
		free(why);
		why = NULL;
	}
	r = 0;
end:
	old_list_free(&old);
	return (r);
}

/*
 * The entries as a JSON string of a JSON object, {"name":"image",...}:
 * the original images, or the mirrored ones. Written escaped twice, not
 * as the object's text first: that was a buffer more, and a second pass
 * over it, three times a review (callgrind).
 */
static void
out_entries_json(struct out *o, const struct review *rv, int original)
{
	const struct image_entry	*e;
	size_t			 i;

	out_literal(o, "\"{");
	for (i = 0; i < rv->nentries; i++) {
		e = rv->entries[i];
		if (i > 0)
			out_literal(o, ",");
		out_literal(o, "\\\"");
		out_json_chars(o, e->key, strlen(e->key), 1);
		out_literal(o, "\\\":\\\"");
		if (original)
			out_json_chars(o, e->original, e->original_len, 1);
		else
			out_json_chars(o, e->mirrored, strlen(e->mirrored),
			    1);
		out_literal(o, "\\\"");
	}
	out_literal(o, "}\"");
}

/* Copy into dst the members of src whose values are strings. */
static void
merge_strings(struct json_object *dst, struct json_object *src)
{
	struct json_object_iterator	 it, end;
	struct json_object		*v;

	it = json_object_iter_begin(src);
	end = json_object_iter_end(src);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (json_object_is_type(v, json_type_string) &&
		    json_object_object_add(dst, json_object_iter_peek_name(&it),
		    json_object_get(v)) != 0)
			abort();
	}
}

/*
 * The value of the original-images annotation, into o as a JSON string:
 * the entries of the Pod's existing record (if it is a JSON object of
 * strings), then this review's. The merge, on an UPDATE of a Pod already
 * rewritten, is json-c's.
 */
static void
original_record(struct review *rv, size_t annotations, struct out *o)
{
	struct json_tokener	*tok;
	struct json_object	*merged, *old;
	const struct image_entry	*e;
	const char		*s;
	size_t			 v, len, i;

	if (annotations == 0 || (v = jsontape_member(rv->tape, annotations,
	    ADMISSION_ANNOTATION_ORIGINAL)) == 0 ||
	    jsontape_type(rv->tape, v) != JSONTAPE_STRING ||
	    (tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX)) == NULL) {
		out_entries_json(o, rv, 1);
		return;
	}
	s = jsontape_string(rv->tape, v, &len);
	/* With the NUL after it: the value is the whole document. */
	old = json_tokener_parse_ex(tok, s, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(old, json_type_object)) {
		log_line("[Mutate] Annotation %s is not a JSON object: "
		    "replaced", ADMISSION_ANNOTATION_ORIGINAL);
		json_object_put(old);
		json_tokener_free(tok);
		out_entries_json(o, rv, 1);
		return;
	}
	merged = json_object_new_object();
	if (merged == NULL)
		abort();
	merge_strings(merged, old);
	for (i = 0; i < rv->nentries; i++) {
		e = rv->entries[i];
		if (json_object_object_add(merged, e->key,
		    json_object_new_string_len(e->original,
		    (int)e->original_len)) != 0)
			abort();
	}
	s = json_object_to_json_string_length(merged, JSON_FLAGS, &len);
	out_json(o, s, len);
	json_object_put(merged);
	json_object_put(old);
	json_tokener_free(tok);
}

/* Add to the patch the annotation that records the original images. */
static void
patch_annotation(struct review *rv, size_t metadata, size_t annotations)
{
	char		*escaped, *path;

	if (metadata == 0) {
		patch_op(rv, "add", "/metadata");
		out_literal(&rv->patch, "{\"annotations\":{");
		out_literal_key(&rv->patch, ADMISSION_ANNOTATION_ORIGINAL);
		original_record(rv, annotations, &rv->patch);
		out_literal(&rv->patch, "}}}");
	} else if (annotations == 0) {
		patch_op(rv, "add", "/metadata/annotations");
		out_add(&rv->patch, "{", 1);
		out_literal_key(&rv->patch, ADMISSION_ANNOTATION_ORIGINAL);
		original_record(rv, annotations, &rv->patch);
		out_literal(&rv->patch, "}}");
	} else {
		/* "add" of an existing member replaces it (RFC 6902 4.1). */
		escaped = admission_pointer_escape(ADMISSION_ANNOTATION_ORIGINAL,
		    strlen(ADMISSION_ANNOTATION_ORIGINAL));
		path = xasprintf("/metadata/annotations/%s", escaped);
		patch_op(rv, "add", path);
		original_record(rv, annotations, &rv->patch);
		out_add(&rv->patch, "}", 1);
		free(path);
		free(escaped);
	}
}

/* Fill the response's body with the JSON error body for msg. */
static void
error_body(struct admission_result *res, const char *msg)
{
	struct out	 o = { NULL, 0, 0 };

	out_add(&o, "{", 1);
	out_literal_key(&o, "error");
	out_json(&o, msg, strlen(msg));
	out_add(&o, "}", 1);
	res->body = o.buf;
	res->body_len = o.len;
}

/* The lowercase operation for log lines ("create"). */
static void
op_lower(const char *op, size_t len, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; i < len && i + 1 < size && op[i] != '\0'; i++)
		buf[i] = (op[i] >= 'A' && op[i] <= 'Z') ? op[i] - 'A' + 'a' :
		    op[i];
	buf[i] = '\0';
}

/*
 * Act on the Pod of a CREATE or UPDATE; the caller answers allowed. Fills
 * rv's patch, warnings and the result's kind.
 */
static int
review_pod(struct review *rv, const size_t rq[], const char *op,
    const char *rns, size_t rns_len, char **cause)
{
	struct jsontape	*t = rv->tape;
	const char	*name, *gname, *ons, *ns, *s;
	size_t		 object, metadata = 0, annotations = 0, spec = 0;
	size_t		 old, skip, len, i, ob[nitems(object_keys)];
	size_t		 md[nitems(metadata_keys)], lists[nitems(pod_lists)];
	int		 r;

	if ((r = member_at(t, rq[RQ_OBJECT], "request", "object",
	    JSONTAPE_OBJECT, &object, cause)) == -1)
		return (-1);
	if (r == 0)
		return (set_cause(cause, "request.object: missing"));
	jsontape_members(t, object, object_keys, nitems(object_keys), ob);
	if (member_at(t, ob[OBJ_METADATA], "request.object", "metadata",
	    JSONTAPE_OBJECT, &metadata, cause) == -1)
		return (-1);
	name = gname = ons = NULL;
	if (metadata != 0) {
		jsontape_members(t, metadata, metadata_keys,
		    nitems(metadata_keys), md);
		if (member_string_at(t, md[MD_NAME],
		    "request.object.metadata", "name", &name, &len,
		    cause) == -1 ||
		    member_string_at(t, md[MD_GENERATE_NAME],
		    "request.object.metadata", "generateName", &gname, &len,
		    cause) == -1 ||
		    member_string_at(t, md[MD_NAMESPACE],
		    "request.object.metadata", "namespace", &ons, &len,
		    cause) == -1)
			return (-1);
		if (member_at(t, md[MD_ANNOTATIONS], "request.object.metadata",
		    "annotations", JSONTAPE_OBJECT, &annotations, cause) == -1)
			return (-1);
	}
	/* The request's namespace, else the object's own. */
	ns = (rns != NULL && rns_len > 0) ? rns : (ons != NULL ? ons : "");

	if (name != NULL && *name != '\0')
		log_concat("[Mutate] Received POD ", op, " event",
		    rv->ephemeral_only ? " (subresource ephemeralcontainers)" :
		    "", ". Name: ", name, ", Namespace: ", ns, (char *)NULL);
	else if (gname != NULL && *gname != '\0')
		log_line("[Mutate] Received POD %s event%s. Name: %s "
		    "(generateName, no name yet), Namespace: %s", op,
		    rv->ephemeral_only ? " (subresource ephemeralcontainers)" :
		    "", gname, ns);
	else
		log_line("[Mutate] Received POD %s event%s. Name: (none), "
		    "Namespace: %s", op, rv->ephemeral_only ?
		    " (subresource ephemeralcontainers)" : "", ns);

	if (*ns != '\0' && mirror_namespace_excluded(rv->table, ns)) {
		log_line("[Mutate] Namespace %s is excluded: Pod left "
		    "unchanged", ns);
		rv->res->kind = ADMISSION_EXCLUDED;
		return (0);
	}
	/* Annotation values are strings; null counts as absent. */
	if (annotations != 0 && (skip = jsontape_member(t, annotations,
	    ADMISSION_ANNOTATION_SKIP)) != 0 &&
	    jsontape_type(t, skip) != JSONTAPE_NULL) {
		if (jsontape_type(t, skip) != JSONTAPE_STRING)
			return (set_cause(cause, "request.object.metadata."
			    "annotations[\"%s\"]: expected a string, found %s",
			    ADMISSION_ANNOTATION_SKIP,
			    type_name(jsontape_type(t, skip))));
		s = jsontape_string(t, skip, &len);
		if (equals(s, len, "true")) {
			log_line("[Mutate] Pod opted out (annotation %s: "
			    "\"true\"): left unchanged",
			    ADMISSION_ANNOTATION_SKIP);
			rv->res->kind = ADMISSION_EXCLUDED;
			return (0);
		}
	}

	if (member_at(t, ob[OBJ_SPEC], "request.object", "spec",
	    JSONTAPE_OBJECT, &spec, cause) == -1)
		return (-1);
	if (rv->update) {
		if ((r = member_at(t, rq[RQ_OLD], "request", "oldObject",
		    JSONTAPE_OBJECT, &old, cause)) == -1)
			return (-1);
		/* Without it, every image would look changed. */
		if (r == 0)
			return (set_cause(cause, "request.oldObject: missing "
			    "(an UPDATE carries the previous Pod)"));
		if (member(t, old, "request.oldObject", "spec", JSONTAPE_OBJECT,
		    &rv->old_spec, cause) == -1)
			return (-1);
	}
	if (spec != 0) {
		jsontape_members(t, spec, pod_lists, nitems(pod_lists), lists);
		for (i = 0; i < nitems(pod_lists); i++) {
			/* The subresource changes ephemeral containers only. */
			if (rv->ephemeral_only &&
			    strcmp(pod_lists[i], "ephemeralContainers") != 0)
				continue;
			if (review_list(rv, lists[i], pod_lists[i], cause) == -1)
				return (-1);
		}
	}
	if (rv->res->rewrites == 0) {
		rv->res->kind = ADMISSION_UNCHANGED;
		return (0);
	}
	/* The API server drops the rest of an ephemeralcontainers patch. */
	if (!rv->ephemeral_only)
		patch_annotation(rv, metadata, annotations);
	rv->res->kind = ADMISSION_PATCHED;
	return (0);
}

/* Build the response AdmissionReview into res->body. */
static void
review_respond(struct review *rv, const char *api, const char *uid,
    size_t uid_len)
{
	struct out	 o = { NULL, 0, 0 };

	/* Members in json-c's order of insertion, as gilly always wrote them. */
	out_add(&o, "{", 1);
	out_literal_key(&o, "apiVersion");
	out_json(&o, api, strlen(api));
	out_literal(&o, ",\"kind\":\"AdmissionReview\",\"response\":{");
	out_literal_key(&o, "uid");
	out_json(&o, uid, uid_len);
	out_literal(&o, ",\"allowed\":true");
	if (rv->res->kind == ADMISSION_PATCHED) {
		if (rv->patch.len > 0) {
			out_add(&rv->patch, "]", 1);
			/* base64 needs no escape. */
			out_literal(&o, ",\"patchType\":\"JSONPatch\","
			    "\"patch\":\"");
			out_base64(&o, rv->patch.buf, rv->patch.len);
			out_add(&o, "\"", 1);
		}
		out_literal(&o, ",\"warnings\":[");
		if (rv->warnings.len > 0)
			out_add(&o, rv->warnings.buf, rv->warnings.len);
		out_literal(&o, "],\"auditAnnotations\":{");
		out_literal_key(&o, ADMISSION_AUDIT_ORIGINAL);
		out_entries_json(&o, rv, 1);
		out_add(&o, ",", 1);
		out_literal_key(&o, ADMISSION_AUDIT_MIRRORED);
		out_entries_json(&o, rv, 0);
		out_add(&o, "}", 1);
	}
	out_literal(&o, "}}");
	rv->res->body = o.buf;
	rv->res->body_len = o.len;
}

int
admission_review(const struct mirror *table, const char *body, size_t len,
    struct admission_result *res)
{
	struct review		 rv;
	struct jsontape		*t = NULL;
	const char		*api, *s, *uid, *op, *sub, *kname, *group;
	const char		*rname, *rns, *resname = NULL;
	char			*cause = NULL, opl[16], shown[QUOTE_MAX + 1];
	size_t			 api_len, slen, uid_len, op_len, sub_len;
	size_t			 kname_len, group_len, rname_len, rns_len;
	size_t			 resname_len = 0, request, kind, resource, i;
	size_t			 root[nitems(root_keys)];
	size_t			 rq[nitems(request_keys)];
	int			 r, is_pod, rc = -1;

	memset(res, 0, sizeof *res);
	res->status = 400;
	res->kind = ADMISSION_INVALID;
	memset(&rv, 0, sizeof rv);
	rv.table = table;
	rv.res = res;

	if ((t = parse_body(body, len, &cause)) == NULL)
		goto end;
	rv.tape = t;

	/* The envelope: kind, apiVersion, request.uid. */
	jsontape_members(t, JSONTAPE_ROOT, root_keys, nitems(root_keys), root);
	if ((r = member_string_at(t, root[ROOT_KIND], "", "kind", &s, &slen,
	    &cause)) == -1)
		goto end;
	if (s == NULL) {
		set_cause(&cause, "kind: missing (not an AdmissionReview)");
		goto end;
	}
	if (!equals(s, slen, "AdmissionReview")) {
		quote(s, slen, shown, sizeof shown);
		set_cause(&cause, "kind: expected \"AdmissionReview\", found "
		    "\"%s\"", shown);
		goto end;
	}
	if (member_string_at(t, root[ROOT_API], "", "apiVersion", &api,
	    &api_len, &cause) == -1)
		goto end;
	if (api == NULL) {
		set_cause(&cause, "apiVersion: missing");
		goto end;
	}
	if (!equals(api, api_len, API_V1) && !equals(api, api_len,
	    API_V1BETA1)) {
		quote(api, api_len, shown, sizeof shown);
		set_cause(&cause, "apiVersion: expected \"%s\" or \"%s\", "
		    "found \"%s\"", API_V1, API_V1BETA1, shown);
		goto end;
	}
	if ((r = member_at(t, root[ROOT_REQUEST], "", "request",
	    JSONTAPE_OBJECT, &request, &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request: missing");
		goto end;
	}
	jsontape_members(t, request, request_keys, nitems(request_keys), rq);
	if (member_string_at(t, rq[RQ_UID], "request", "uid", &uid, &uid_len,
	    &cause) == -1)
		goto end;
	if (uid == NULL || uid_len == 0) {
		set_cause(&cause, "request.uid: missing");
		goto end;
	}

	/* What is asked: kind, operation, subresource. */
	if ((r = member_at(t, rq[RQ_KIND], "request", "kind", JSONTAPE_OBJECT,
	    &kind, &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request.kind: missing");
		goto end;
	}
	if (member_string(t, kind, "request.kind", "kind", &kname, &kname_len,
	    &cause) == -1 ||
	    member_string(t, kind, "request.kind", "group", &group, &group_len,
	    &cause) == -1)
		goto end;
	if (kname == NULL) {
		set_cause(&cause, "request.kind.kind: missing");
		goto end;
	}
	if (member_at(t, rq[RQ_RESOURCE], "request", "resource",
	    JSONTAPE_OBJECT, &resource, &cause) == -1)
		goto end;
	if (resource != 0 && member_string(t, resource, "request.resource",
	    "resource", &resname, &resname_len, &cause) == -1)
		goto end;
	if ((r = member_string_at(t, rq[RQ_OPERATION], "request", "operation",
	    &op, &op_len, &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request.operation: missing");
		goto end;
	}
	if (member_string_at(t, rq[RQ_SUBRESOURCE], "request", "subResource",
	    &sub, &sub_len, &cause) == -1 ||
	    member_string_at(t, rq[RQ_NAME], "request", "name", &rname,
	    &rname_len, &cause) == -1 ||
	    member_string_at(t, rq[RQ_NAMESPACE], "request", "namespace", &rns,
	    &rns_len, &cause) == -1)
		goto end;

	res->status = 200;
	op_lower(op, op_len, opl, sizeof opl);
	/* A core-group Pod; the resource, when given, agrees. */
	is_pod = equals(kname, kname_len, "Pod") && group_len == 0 &&
	    (resname == NULL || equals(resname, resname_len, "pods"));
	if (!is_pod) {
		/* kubectl's way of naming a kind: "Deployment.apps". */
		log_line("[Mutate] Received %s%s%s %s event: not a Pod, allowed "
		    "unchanged. Name: %s, Namespace: %s", kname,
		    group_len > 0 ? "." : "", group_len > 0 ? group : "", opl,
		    rname != NULL ? rname : "", rns != NULL ? rns : "");
		res->kind = ADMISSION_IGNORED;
	} else if (sub_len > 0 && !(equals(sub, sub_len,
	    SUBRESOURCE_EPHEMERAL) && equals(op, op_len, "UPDATE"))) {
		log_line("[Mutate] Received POD %s event on subresource %s: "
		    "allowed unchanged. Name: %s, Namespace: %s", opl, sub,
		    rname != NULL ? rname : "", rns != NULL ? rns : "");
		res->kind = ADMISSION_IGNORED;
	} else if (!equals(op, op_len, "CREATE") && !equals(op, op_len,
	    "UPDATE")) {
		log_line("[Mutate] Received POD %s event: allowed unchanged. "
		    "Name: %s, Namespace: %s", opl, rname != NULL ? rname : "",
		    rns != NULL ? rns : "");
		res->kind = ADMISSION_IGNORED;
	} else {
		rv.update = equals(op, op_len, "UPDATE");
		rv.ephemeral_only = sub_len > 0;
		if (review_pod(&rv, rq, opl, rns, rns_len, &cause) == -1) {
			res->status = 400;
			res->kind = ADMISSION_INVALID;
			goto end;
		}
	}
	review_respond(&rv, api, uid, uid_len);
	rc = 0;
end:
	if (rc == -1) {
		log_line("[Mutate] Bad request: %s", cause);
		/* No rewrite stands: the API server gets no patch. */
		for (slen = 0; slen < res->rewrites; slen++)
			free(res->registries[slen]);
		free(res->registries);
		res->registries = NULL;
		res->rewrites = 0;
		res->invalid = 0;
		error_body(res, cause);
		res->error = cause;
	} else
		free(cause);
	for (i = 0; i < rv.nentries; i++) {
		free(rv.entries[i]->mirrored);
		free(rv.entries[i]);
	}
	free(rv.entries);
	tdestroy(rv.keys, keep_node);
	free(rv.patch.buf);
	free(rv.warnings.buf);
	jsontape_free(t);
	return (rc);
}

void
admission_result_free(struct admission_result *res)
{
	size_t	 i;

	if (res == NULL)
		return;
	for (i = 0; i < res->rewrites; i++)
		free(res->registries[i]);
	free(res->registries);
	free(res->body);
	free(res->error);
	memset(res, 0, sizeof *res);
}

const char *
admission_kind_name(enum admission_kind kind)
{
	switch (kind) {
	case ADMISSION_PATCHED:
		return ("patched");
	case ADMISSION_UNCHANGED:
		return ("unchanged");
	case ADMISSION_IGNORED:
		return ("ignored");
	case ADMISSION_EXCLUDED:
		return ("excluded");
	case ADMISSION_INVALID:
		return ("invalid");
	}
	return ("unknown");
}

char *
admission_base64(const void *data, size_t len, size_t *outlen)
{
	char	*out, *end;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	end = base64_write(out, data, len);
	*end = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(end - out);
	return (out);
}

char *
admission_pointer_escape(const char *s, size_t len)
{
	char	*out, *p;
	size_t	 i;

	p = out = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '~') {
			*p++ = '~';
			*p++ = '0';
		} else if (s[i] == '/') {
			*p++ = '~';
			*p++ = '1';
		} else
			*p++ = s[i];
	}
	*p = '\0';
	return (out);
}
