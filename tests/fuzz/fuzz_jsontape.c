/*
 * fuzz_jsontape.c: lib/jsontape.c against json-c, on arbitrary bytes.
 *
 * admission.c reads request bodies with jsontape and keeps json-c's reading
 * of them (and its error messages), so the two must agree. Properties, with
 * json-c in strict mode at the same depth limit, as admission.c runs it:
 * - a text jsontape accepts, json-c accepts;
 * - and both read it alike: the same types (json-c's int and double are
 *   numbers), the same bytes of every string, the same arrays, and objects
 *   with the same keys (as C strings: json-c's end at a NUL) mapped to the
 *   same values (the last of duplicates);
 * - a text json-c accepts and jsontape refuses is not JSON by RFC 8259, and
 *   jsontape says so for a reason of that kind (a number's form, NaN or
 *   Infinity, a control character in a string).
 * Seeds: corpus/jsontape and, when fuzzed, corpus/admission (run.sh).
 */
#include "common.h"

#include <string.h>

#include <json-c/json.h>

#include "jsontape.h"
#include "fuzz.h"

#define DEPTH	64

const char	*const fuzz_target_name = "jsontape";

/* json-c's strict parse of the whole text, as admission.c does it. */
static struct json_object *
jsonc_parse(const uint8_t *data, size_t size, int *ok)
{
	struct json_tokener	*tok;
	struct json_object	*root;
	enum json_tokener_error	 je;
	size_t			 end;

	tok = json_tokener_new_ex(DEPTH);
	FUZZ_REQUIRE(tok != NULL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (root == NULL && je == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, "", 1);
		je = json_tokener_get_error(tok);
		end = size;
	}
	*ok = je == json_tokener_success && end >= size;
	json_tokener_free(tok);
	return (root);
}

/* Value v of the tape reads as json-c's o. */
static void
same(struct jsontape *t, size_t v, struct json_object *o, int depth)
{
	struct json_object	*ov;
	const char		*s, *key;
	size_t			 len, n, i, k, e;

	FUZZ_REQUIRE(depth <= DEPTH, "deeper than the limit: %d", depth);
	switch (jsontape_type(t, v)) {
	case JSONTAPE_NULL:
		FUZZ_REQUIRE(o == NULL, "null, json-c: %s",
		    json_type_to_name(json_object_get_type(o)));
		return;
	case JSONTAPE_BOOLEAN:
		FUZZ_REQUIRE(json_object_is_type(o, json_type_boolean),
		    "boolean");
		return;
	case JSONTAPE_NUMBER:
		FUZZ_REQUIRE(json_object_is_type(o, json_type_int) ||
		    json_object_is_type(o, json_type_double), "number");
		return;
	case JSONTAPE_STRING:
		FUZZ_REQUIRE(json_object_is_type(o, json_type_string),
		    "string");
		s = jsontape_string(t, v, &len);
		FUZZ_REQUIRE(len == (size_t)json_object_get_string_len(o) &&
		    memcmp(s, json_object_get_string(o), len) == 0 &&
		    s[len] == '\0', "string bytes");
		return;
	case JSONTAPE_ARRAY:
		FUZZ_REQUIRE(json_object_is_type(o, json_type_array), "array");
		n = json_object_array_length(o);
		FUZZ_REQUIRE(jsontape_length(t, v) == n, "array length %zu, "
		    "json-c %zu", jsontape_length(t, v), n);
		for (i = 0, e = jsontape_first(t, v); i < n;
		    i++, e = jsontape_next(t, v, e)) {
			FUZZ_REQUIRE(e != 0, "element %zu missing", i);
			same(t, e, json_object_array_get_idx(o, i), depth + 1);
		}
		FUZZ_REQUIRE(e == 0, "more elements than json-c's");
		return;
	case JSONTAPE_OBJECT:
		FUZZ_REQUIRE(json_object_is_type(o, json_type_object),
		    "object");
		/* Every key of the tape is one of json-c's, with its value. */
		n = 0;
		for (k = jsontape_first(t, v); k != 0;
		    k = jsontape_next(t, v, k)) {
			n++;
			key = jsontape_key(t, k);
			FUZZ_REQUIRE(json_object_object_get_ex(o, key, &ov),
			    "key \"%s\" not json-c's", key);
			FUZZ_REQUIRE(jsontape_member(t, v, key) != 0,
			    "key \"%s\" not found again", key);
		}
		FUZZ_REQUIRE(jsontape_length(t, v) == n, "member count");
		/* Every key of json-c's is the tape's, with the same value. */
		json_object_object_foreach(o, ckey, cval) {
			e = jsontape_member(t, v, ckey);
			FUZZ_REQUIRE(e != 0, "json-c's key \"%s\" missing",
			    ckey);
			same(t, e, cval, depth + 1);
		}
		return;
	}
	FUZZ_REQUIRE(0, "unknown type");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsontape		*t = NULL;
	struct json_object	*root;
	const char		*what = NULL;
	size_t			 at = 0;
	int			 ok, r;

	/* admission.c never hands over more than ADMISSION_BODY_MAX. */
	if (size > 4 * 1024 * 1024)
		return (0);
	r = jsontape_parse((const char *)data, size, DEPTH, &t, &at, &what);
	root = jsonc_parse(data, size, &ok);
	if (r == 0) {
		FUZZ_REQUIRE(ok, "jsontape accepts what json-c refuses");
		same(t, JSONTAPE_ROOT, root, 1);
	} else {
		FUZZ_REQUIRE(t == NULL && what != NULL && at <= size,
		    "a refusal says where and why");
		if (ok)
			FUZZ_REQUIRE(strcmp(what, "invalid number") == 0 ||
			    strcmp(what, "unexpected character") == 0 ||
			    strcmp(what, "control character in a string") == 0,
			    "json-c accepts, jsontape refuses at %zu: %s", at,
			    what);
	}
	json_object_put(root);
	jsontape_free(t);
	return (0);
}
