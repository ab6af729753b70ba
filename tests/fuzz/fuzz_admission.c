/*
 * fuzz_admission.c: the admission handler on arbitrary bodies, with two
 * fixed tables (one without a catch-all, one with "*" and "{registry}").
 *
 * Properties (lib/admission.h, RFC 6902):
 * - the status agrees with the return value and the kind; the body is
 *   valid JSON (RFC 8259, UTF-8), {"error": res->error} for a 400, else an
 *   AdmissionReview echoing apiVersion and request.uid, allowed;
 * - a patch comes with, and only with, ADMISSION_PATCHED: its base64
 *   decodes, it is a JSON array of the operations gilly emits (a "replace"
 *   per rewritten image, and on all but the ephemeralcontainers subresource
 *   one "add" of the original-images annotation, a JSON object), and it
 *   applies to request.object; every image it writes is a valid reference
 *   already under a mirror target;
 * - the review of the patched Pod, which the API server sends when it
 *   calls again, is answered without a patch.
 * JSON Patch is applied here by a minimal RFC 6902 "add"/"replace" applier
 * over RFC 6901 pointers. json-c's json_pointer_set() will not do: in 0.16
 * it does not unescape the last reference token ("gilly.io~1original-images"
 * would be set as written) and it replaces array elements where "add"
 * inserts.
 */
#include "common.h"

#include <string.h>

#include <json-c/json.h>

#include "admission.h"
#include "config.h"
#include "imageref.h"
#include "log.h"
#include "mirror.h"
#include "fuzz.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

const char	*const fuzz_target_name = "admission";

/* conf/gilly.yaml's rules: no catch-all, an exception, an exclusion. */
static const char	table_plain[] =
	"mirrors:\n"
	"  gcr.io: my.internal.repo\n"
	"  k8s.gcr.io: my.internal.repo/k8s\n"
	"  registry.k8s.io: my.internal.repo/k8s\n"
	"  docker.io: my.internal.repo/dockerhub\n"
	"  docker.io/bitnami: harbor.internal/bitnami\n"
	"  docker.io/mycompany: ~\n"
	"  \"*.gcr.io\": my.internal.repo/{registry}\n"
	"  quay.io: my.internal.repo/quay\n"
	"exclude:\n"
	"  namespaces: [kube-system]\n";

/* Every image rewritten, "{registry}" in a host and in a path. */
static const char	table_any[] =
	"mirrors:\n"
	"  docker.io: mirror.example/hub\n"
	"  docker.io/bitnami: harbor.example/bitnami\n"
	"  \"*.gcr.io\": \"{registry}.mirror.example\"\n"
	"  docker.io/mycompany: ~\n"
	"  \"*\": mirror.example/{registry}\n"
	"exclude:\n"
	"  namespaces: [kube-system, monitoring]\n";

static struct mirror	*tables[2];

static void
init(void)
{
	char	*cause = NULL;

	if (tables[0] != NULL)
		return;
	if (config_load_buffer("plain", table_plain, sizeof table_plain - 1,
	    &tables[0], &cause) != 0 ||
	    config_load_buffer("any", table_any, sizeof table_any - 1,
	    &tables[1], &cause) != 0)
		FUZZ_REQUIRE(0, "table refused: %s", cause);
}

/*
 * Parse the len bytes at s as one JSON text, strictly (utf8: also check
 * UTF-8). new: the value, or NULL when it is no JSON text.
 */
static struct json_object *
parse(const char *s, size_t len, int utf8)
{
	struct json_tokener	*tok;
	struct json_object	*v;

	tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX);
	FUZZ_REQUIRE(tok != NULL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    (utf8 ? JSON_TOKENER_VALIDATE_UTF8 : 0));
	v = json_tokener_parse_ex(tok, s, (int)len);
	if (v == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		v = json_tokener_parse_ex(tok, "", 1);
	else if (json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) < len) {
		json_object_put(v);
		v = NULL;
	}
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(v);
		v = NULL;
	}
	json_tokener_free(tok);
	return (v);
}

/* borrowed: obj's member key of the given type, or NULL. */
static struct json_object *
get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object	*v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, type))
		return (NULL);
	return (v);
}

/* Whether the JSON strings a and b hold the same bytes. */
static int
same_string(struct json_object *a, struct json_object *b)
{
	return (a != NULL && b != NULL && json_object_get_string_len(a) ==
	    json_object_get_string_len(b) && memcmp(json_object_get_string(a),
	    json_object_get_string(b), (size_t)json_object_get_string_len(a))
	    == 0);
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/*
 * Decode canonical RFC 4648 section 4 base64 (padded, no whitespace).
 * new: the bytes (NUL-terminated, *outlen without it), or NULL.
 */
static char *
base64_decode(const char *s, size_t len, size_t *outlen)
{
	char		*out;
	size_t		 i, j, n = 0, pad = 0;
	unsigned long	 v;
	int		 d;

	if (len % 4 != 0)
		return (NULL);
	if (len > 0 && s[len - 1] == '=')
		pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
	out = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (i + j >= len - pad)
				d = 0;
			else if ((d = b64_value((unsigned char)s[i + j])) == -1)
				goto bad;
			v = v << 6 | (unsigned long)d;
		}
		out[n++] = (char)(v >> 16);
		out[n++] = (char)(v >> 8 & 0xff);
		out[n++] = (char)(v & 0xff);
	}
	n -= pad;
	/* Canonical: the bits under the padding are zero. */
	if (pad > 0 && (v & (pad == 1 ? 0xffUL : 0xffffUL)) != 0)
		goto bad;
	out[n] = '\0';
	*outlen = n;
	return (out);
bad:
	free(out);
	return (NULL);
}

/* An RFC 6901 array index: "0" or no leading zero, below limit. */
static int
array_index(const char *tok, size_t limit, size_t *idx)
{
	size_t	 i, v = 0;

	if (*tok == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return (-1);
	for (i = 0; tok[i] != '\0'; i++) {
		if (tok[i] < '0' || tok[i] > '9' || v > limit)
			return (-1);
		v = v * 10 + (size_t)(tok[i] - '0');
	}
	if (v >= limit)
		return (-1);
	*idx = v;
	return (0);
}

/*
 * Resolve every reference token of the pointer ptr but the last (RFC 6901
 * section 4): *parent is the value they name; new: *last, the last token
 * unescaped. Returns -1 when a token names nothing or is malformed.
 */
static int
pointer_parent(struct json_object *root, const char *ptr,
    struct json_object **parent, char **last)
{
	struct json_object	*cur = root, *next;
	const char		*p = ptr, *end;
	char			*tok = NULL;
	size_t			 i, k, n, idx;
	int			 rv = -1;

	if (*p != '/')
		goto end;
	for (;;) {
		p++;
		end = strchr(p, '/');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		free(tok);
		tok = xmalloc(n + 1);
		for (i = k = 0; i < n; i++) {
			if (p[i] != '~')
				tok[k++] = p[i];
			else if (i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1'))
				tok[k++] = p[++i] == '0' ? '~' : '/';
			else
				goto end;
		}
		tok[k] = '\0';
		if (end == NULL)
			break;
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, tok, &next))
				goto end;
		} else if (json_object_is_type(cur, json_type_array)) {
			if (array_index(tok, json_object_array_length(cur),
			    &idx) != 0)
				goto end;
			next = json_object_array_get_idx(cur, idx);
		} else
			goto end;
		cur = next;
		p = end;
	}
	*parent = cur;
	*last = tok;
	tok = NULL;
	rv = 0;
end:
	free(tok);
	return (rv);
}

/*
 * Apply one operation to doc (RFC 6902 sections 4.1 "add" and 4.3
 * "replace"). Returns NULL or what is wrong.
 */
static const char *
apply_op(struct json_object *doc, struct json_object *op)
{
	struct json_object	*name, *path, *value, *parent, *cur;
	const char		*why = NULL;
	char			*last = NULL;
	size_t			 idx;
	int			 add;

	if (!json_object_is_type(op, json_type_object))
		return ("an operation is not an object");
	if ((name = get(op, "op", json_type_string)) == NULL ||
	    (path = get(op, "path", json_type_string)) == NULL ||
	    !json_object_object_get_ex(op, "value", &value))
		return ("an operation lacks op, path or value");
	if (strcmp(json_object_get_string(name), "add") == 0)
		add = 1;
	else if (strcmp(json_object_get_string(name), "replace") == 0)
		add = 0;
	else
		return ("an operation other than add or replace");
	if (strlen(json_object_get_string(path)) !=
	    (size_t)json_object_get_string_len(path))
		return ("a path holds a NUL");
	if (pointer_parent(doc, json_object_get_string(path), &parent,
	    &last) != 0)
		return ("the path's parent does not exist");

	if (json_object_is_type(parent, json_type_object)) {
		if (!add && !json_object_object_get_ex(parent, last, &cur))
			why = "replace of a member that does not exist";
		else if (json_object_object_add(parent, last,
		    json_object_get(value)) != 0)
			why = "out of memory";
	} else if (json_object_is_type(parent, json_type_array)) {
		/* gilly emits no "add" into an array (an insert, RFC 6902). */
		if (add)
			why = "an add into an array";
		else if (array_index(last, json_object_array_length(parent),
		    &idx) != 0)
			why = "an array index out of range";
		else
			json_object_array_put_idx(parent, idx,
			    json_object_get(value));
	} else
		why = "the path's parent is neither an object nor an array";
	free(last);
	return (why);
}

/* Whether path is "/spec/LIST/N/image"; *list is then LIST. */
static int
image_path(const char *path, const char **list)
{
	static const char *const lists[] = {
		"containers", "initContainers", "ephemeralContainers"
	};
	const char	*p;
	size_t		 i, n;

	if (strncmp(path, "/spec/", 6) != 0)
		return (0);
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		n = strlen(lists[i]);
		if (strncmp(path + 6, lists[i], n) != 0 || path[6 + n] != '/')
			continue;
		p = path + 6 + n + 1;
		if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' &&
		    p[1] <= '9'))
			return (0);
		while (*p >= '0' && *p <= '9')
			p++;
		*list = lists[i];
		return (strcmp(p, "/image") == 0);
	}
	return (0);
}

/* An image the patch writes: valid, and already under a target. */
static void
check_patched_image(const struct mirror *t, struct json_object *v)
{
	struct imageref		*ref = NULL;
	enum mirror_outcome	 o;
	char			*why = NULL, *out = NULL;
	const char		*s;
	size_t			 len;

	FUZZ_REQUIRE(json_object_is_type(v, json_type_string), "the patch "
	    "writes an image that is no string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (imageref_parse(s, len, &ref, &why) != 0)
		FUZZ_REQUIRE(0, "the patch writes \"%s\", no valid reference: "
		    "%s", s, why);
	o = mirror_rewrite(t, s, len, &out, NULL, NULL);
	FUZZ_REQUIRE(o == MIRROR_ALREADY || (o == MIRROR_REWRITTEN &&
	    strcmp(out, s) == 0), "the patch writes \"%s\", which is not "
	    "under a target (outcome %d: %s)", s, o, out != NULL ? out : "-");
	imageref_free(ref);
	free(out);
}

/* The original-images annotation: a JSON object of strings. */
static void
check_annotation(struct json_object *object)
{
	struct json_object	*v, *record;

	v = get(get(get(object, "metadata", json_type_object), "annotations",
	    json_type_object), ADMISSION_ANNOTATION_ORIGINAL, json_type_string);
	FUZZ_REQUIRE(v != NULL, "the patched Pod has no %s annotation",
	    ADMISSION_ANNOTATION_ORIGINAL);
	record = parse(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), 1);
	FUZZ_REQUIRE(record != NULL && json_object_is_type(record,
	    json_type_object), "annotation %s is no JSON object: %s",
	    ADMISSION_ANNOTATION_ORIGINAL, json_object_get_string(v));
	json_object_object_foreach(record, key, val) {
		FUZZ_REQUIRE(json_object_is_type(val, json_type_string),
		    "annotation %s: \"%s\" is no string",
		    ADMISSION_ANNOTATION_ORIGINAL, key);
	}
	json_object_put(record);
}

/* borrowed: the value at the pointer ptr (gilly's: no "-"), or NULL. */
static struct json_object *
pointer_get(struct json_object *doc, const char *ptr)
{
	struct json_object	*parent, *v = NULL;
	char			*last;
	size_t			 idx;

	if (pointer_parent(doc, ptr, &parent, &last) != 0)
		return (NULL);
	if (json_object_is_type(parent, json_type_object))
		json_object_object_get_ex(parent, last, &v);
	else if (json_object_is_type(parent, json_type_array) &&
	    array_index(last, json_object_array_length(parent), &idx) == 0)
		v = json_object_array_get_idx(parent, idx);
	free(last);
	return (v);
}

/*
 * Check the response's patch against root (the input review, parsed) and
 * apply it to root's request.object in place.
 */
static void
check_patch(const struct mirror *t, const struct admission_result *res,
    struct json_object *response, struct json_object *root)
{
	struct json_object	*request, *object, *sub, *patch, *op, *path;
	struct json_object	*value, *v;
	const char		*list, *why;
	char			*decoded;
	size_t			 len, i, n, images = 0, meta = 0;
	int			 ephemeral;

	request = get(root, "request", json_type_object);
	object = get(request, "object", json_type_object);
	FUZZ_REQUIRE(object != NULL, "a patch for a review without "
	    "request.object");
	sub = get(request, "subResource", json_type_string);
	ephemeral = sub != NULL && json_object_get_string_len(sub) > 0;

	v = get(response, "patchType", json_type_string);
	FUZZ_REQUIRE(v != NULL && strcmp(json_object_get_string(v),
	    "JSONPatch") == 0, "a patch without patchType JSONPatch");
	v = get(response, "patch", json_type_string);
	decoded = base64_decode(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), &len);
	FUZZ_REQUIRE(decoded != NULL, "the patch is no base64: %s",
	    json_object_get_string(v));
	patch = parse(decoded, len, 1);
	FUZZ_REQUIRE(patch != NULL && json_object_is_type(patch,
	    json_type_array), "the patch is no JSON array: %s", decoded);

	n = json_object_array_length(patch);
	for (i = 0; i < n; i++) {
		op = json_object_array_get_idx(patch, i);
		if ((why = apply_op(object, op)) != NULL)
			FUZZ_REQUIRE(0, "operation %zu does not apply: %s\n"
			    "patch: %s", i, why, decoded);
		path = get(op, "path", json_type_string);
		if (image_path(json_object_get_string(path), &list)) {
			FUZZ_REQUIRE(strcmp(json_object_get_string(get(op,
			    "op", json_type_string)), "replace") == 0,
			    "an image is added, not replaced: %s", decoded);
			FUZZ_REQUIRE(!ephemeral || strcmp(list,
			    "ephemeralContainers") == 0, "the ephemeral"
			    "containers subresource patched %s", list);
			json_object_object_get_ex(op, "value", &value);
			check_patched_image(t, value);
			images++;
		} else if (strncmp(json_object_get_string(path), "/metadata",
		    9) == 0)
			meta++;
		else
			FUZZ_REQUIRE(0, "the patch touches %s",
			    json_object_get_string(path));
	}
	FUZZ_REQUIRE(images == res->rewrites && images > 0, "%zu images "
	    "patched, %zu rewrites", images, res->rewrites);
	FUZZ_REQUIRE(meta == (ephemeral ? 0U : 1U), "%zu operations on "
	    "metadata (subresource: %d)", meta, ephemeral);

	/* Each image operation's value stands in the patched Pod. */
	for (i = 0; i < n; i++) {
		op = json_object_array_get_idx(patch, i);
		path = get(op, "path", json_type_string);
		if (!image_path(json_object_get_string(path), &list))
			continue;
		json_object_object_get_ex(op, "value", &value);
		FUZZ_REQUIRE(same_string(pointer_get(object,
		    json_object_get_string(path)), value), "%s does not hold "
		    "the patch's value: %s", json_object_get_string(path),
		    decoded);
	}
	if (!ephemeral)
		check_annotation(object);
	json_object_put(patch);
	free(decoded);
}

/*
 * Review the len bytes at body with table t and check the answer. On the
 * first pass, review the patched Pod again: it must need no patch.
 */
static void
review(const struct mirror *t, const char *body, size_t len, int pass)
{
	struct admission_result	 res;
	struct json_object	*answer = NULL, *root = NULL, *response, *v;
	const char		*again;
	size_t			 again_len, i;
	int			 rc;

	rc = admission_review(t, body, len, &res);
	FUZZ_REQUIRE((rc == 0 && res.status == 200 &&
	    res.kind != ADMISSION_INVALID) || (rc == -1 && res.status == 400 &&
	    res.kind == ADMISSION_INVALID), "returned %d, status %d, kind %s",
	    rc, res.status, admission_kind_name(res.kind));
	FUZZ_REQUIRE(res.body != NULL && res.body[res.body_len] == '\0' &&
	    strlen(res.body) == res.body_len, "the body is not a string of "
	    "body_len bytes");
	answer = parse(res.body, res.body_len, 1);
	FUZZ_REQUIRE(answer != NULL && json_object_is_type(answer,
	    json_type_object), "the body is no JSON object: %s", res.body);
	for (i = 0; i < res.rewrites; i++)
		FUZZ_REQUIRE(res.registries[i] != NULL, "no registry %zu", i);

	if (rc == -1) {
		v = get(answer, "error", json_type_string);
		FUZZ_REQUIRE(res.error != NULL && v != NULL &&
		    json_object_object_length(answer) == 1 &&
		    strcmp(json_object_get_string(v), res.error) == 0,
		    "a 400 whose body is not {\"error\": res.error}: %s",
		    res.body);
		FUZZ_REQUIRE(res.rewrites == 0, "a 400 with rewrites");
		FUZZ_REQUIRE(pass == 1, "the patched review is refused: %s",
		    res.error);
		goto end;
	}

	FUZZ_REQUIRE(res.error == NULL, "a 200 with an error");
	root = parse(body, len, 0);
	FUZZ_REQUIRE(root != NULL, "the body was answered, but json-c does "
	    "not parse it here");
	FUZZ_REQUIRE(same_string(get(answer, "apiVersion", json_type_string),
	    get(root, "apiVersion", json_type_string)), "apiVersion not "
	    "echoed: %s", res.body);
	v = get(answer, "kind", json_type_string);
	FUZZ_REQUIRE(v != NULL && strcmp(json_object_get_string(v),
	    "AdmissionReview") == 0, "kind is not AdmissionReview: %s",
	    res.body);
	response = get(answer, "response", json_type_object);
	FUZZ_REQUIRE(same_string(get(response, "uid", json_type_string),
	    get(get(root, "request", json_type_object), "uid",
	    json_type_string)), "request.uid not echoed: %s", res.body);
	v = get(response, "allowed", json_type_boolean);
	FUZZ_REQUIRE(v != NULL && json_object_get_boolean(v), "not allowed: "
	    "%s", res.body);
	v = get(response, "patch", json_type_string);
	FUZZ_REQUIRE((v != NULL) == (res.kind == ADMISSION_PATCHED), "kind %s "
	    "with%s a patch", admission_kind_name(res.kind), v != NULL ? "" :
	    "out");
	if (v == NULL)
		goto end;
	FUZZ_REQUIRE(pass == 1, "the patched review is patched again: %s",
	    res.body);

	check_patch(t, &res, response, root);
	/* The API server may call again (reinvocationPolicy: IfNeeded). */
	again = json_object_to_json_string_length(root, JSON_FLAGS, &again_len);
	review(t, again, again_len, 2);
end:
	json_object_put(root);
	json_object_put(answer);
	admission_result_free(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	i;

	init();
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		review(tables[i], (const char *)data, size, 1);
	return (0);
}
