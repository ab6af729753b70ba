/*
 * admission.c: an AdmissionReview (admission.k8s.io/v1 or v1beta1) in, the
 * response AdmissionReview out, with a JSON Patch (RFC 6902) that points
 * every image gilly acts on at the mirror.
 *
 * One json_tokener parses the body once; every value read is type-checked
 * and a wrong type is refused with its JSON path. Values are borrowed from
 * the parse tree, which lives until the response is serialized.
 */
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/json_object_iterator.h>

#include "admission.h"
#include "log.h"
#include "mirror.h"

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

/* What one review is about, and what it produces so far. */
struct review {
	const struct mirror	*table;
	struct admission_result	*res;
	int			 update;	/* compare with oldObject */
	int			 ephemeral_only; /* the subresource */
	struct json_object	*old_spec;	/* oldObject.spec or NULL */
	struct json_object	*patch;		/* JSON Patch operations */
	struct json_object	*originals;	/* container -> original */
	struct json_object	*mirrored;	/* container -> mirrored */
	struct json_object	*warnings;	/* one line per rewrite */
	size_t			 registries_size;
};

/* The article and name of a JSON type, for messages. */
static const char *
type_name(enum json_type type)
{
	switch (type) {
	case json_type_null:
		return ("null");
	case json_type_boolean:
		return ("a boolean");
	case json_type_double:
	case json_type_int:
		return ("a number");
	case json_type_object:
		return ("an object");
	case json_type_array:
		return ("an array");
	case json_type_string:
		return ("a string");
	}
	return ("an unknown value");
}

/*
 * Look up key in obj (an object). Returns 1 with *out set when the member is
 * there with the wanted type, 0 when it is absent or null, and -1 with *cause
 * naming its JSON path ("path.key") when it has another type.
 */
static int
member(struct json_object *obj, const char *path, const char *key,
    enum json_type want, struct json_object **out, char **cause)
{
	struct json_object	*v;

	*out = NULL;
	/* json-c represents null as a NULL pointer. */
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return (0);
	if (!json_object_is_type(v, want))
		return (set_cause(cause, "%s%s%s: expected %s, found %s", path,
		    *path == '\0' ? "" : ".", key, type_name(want),
		    type_name(json_object_get_type(v))));
	*out = v;
	return (1);
}

/* A string member: as member(), with the bytes in *s and *len. */
static int
member_string(struct json_object *obj, const char *path, const char *key,
    const char **s, size_t *len, char **cause)
{
	struct json_object	*v;
	int			 r;

	*s = NULL;
	*len = 0;
	if ((r = member(obj, path, key, json_type_string, &v, cause)) != 1)
		return (r);
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return (1);
}

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
	uint64_t	 word;
	size_t		 i = 0, k, n;
	unsigned char	 c, lo, hi;

	while (i < len) {
		if (len - i >= sizeof word) {
			memcpy(&word, s + i, sizeof word);
			if ((word & UINT64_C(0x8080808080808080)) == 0) {
				i += sizeof word;
				continue;
			}
		}
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

/* Parse the body: new: the root value (never NULL on success). */
static struct json_object *
parse_body(const char *body, size_t len, char **cause)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*root = NULL;
	enum json_tokener_error	 je;
	size_t			 at, end;

	if (len == 0) {
		set_cause(cause, "empty body: expected an AdmissionReview");
		goto end;
	}
	if (len > ADMISSION_BODY_MAX) {
		set_cause(cause, "body too large: %zu bytes, the limit is %lu",
		    len, (unsigned long)ADMISSION_BODY_MAX);
		goto end;
	}
	if (utf8_check((const unsigned char *)body, len, &at) != 0) {
		set_cause(cause, "invalid UTF-8 at byte %zu", at);
		goto end;
	}
	if ((tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX)) == NULL) {
		set_cause(cause, "out of memory");
		goto end;
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
	if (je == json_tokener_error_depth) {
		set_cause(cause, "invalid JSON at byte %zu: nested deeper than "
		    "%d levels", end, ADMISSION_DEPTH_MAX);
		goto end;
	}
	if (je != json_tokener_success) {
		set_cause(cause, "invalid JSON at byte %zu: %s", end,
		    json_tokener_error_desc(je));
		goto end;
	}
	if (end < len) {
		/* json-c stops at a NUL byte: nothing may follow the value. */
		set_cause(cause, "invalid JSON at byte %zu: data after the "
		    "document", end);
		goto end;
	}
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		set_cause(cause, "not an AdmissionReview: expected an object, "
		    "found %s", type_name(json_object_get_type(root)));
		goto end;
	}
	json_tokener_free(tok);
	return (root);
end:
	json_object_put(root);
	/* json_tokener_free() is not NULL-safe. */
	if (tok != NULL)
		json_tokener_free(tok);
	return (NULL);
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

/* A new JSON string for the len bytes at s. */
static struct json_object *
new_string(const char *s, size_t len)
{
	return (json_object_new_string_len(s, (int)len));
}

/* Add key: val to obj, val stolen. */
static void
add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		log_line("[Mutate] out of memory building the response");
		abort();
	}
}

/* Append val to arr, val stolen. */
static void
append(struct json_object *arr, struct json_object *val)
{
	if (val == NULL || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		log_line("[Mutate] out of memory building the response");
		abort();
	}
}

/* One JSON Patch operation (RFC 6902 section 4), val stolen. */
static void
patch_op(struct json_object *patch, const char *op, const char *path,
    struct json_object *val)
{
	struct json_object	*o;

	o = json_object_new_object();
	add(o, "op", json_object_new_string(op));
	add(o, "path", json_object_new_string(path));
	add(o, "value", val);
	append(patch, o);
}

/*
 * Find in list old (an array of oldObject's containers, or NULL) the
 * container named name. Returns 1 with *image (NULL when it has none) set,
 * 0 when there is none, -1 with *cause on a wrong type.
 */
static int
old_container(struct json_object *old, const char *list, const char *name,
    size_t name_len, const char **image, size_t *image_len, char **cause)
{
	struct json_object	*item;
	const char		*s;
	char			 path[128];
	size_t			 i, n, len;

	*image = NULL;
	*image_len = 0;
	if (old == NULL)
		return (0);
	n = json_object_array_length(old);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "request.oldObject.spec.%s[%zu]",
		    list, i);
		item = json_object_array_get_idx(old, i);
		if (!json_object_is_type(item, json_type_object))
			return (set_cause(cause, "%s: expected an object, "
			    "found %s", path,
			    type_name(json_object_get_type(item))));
		if (member_string(item, path, "name", &s, &len, cause) == -1)
			return (-1);
		if (s == NULL || len != name_len || memcmp(s, name, len) != 0)
			continue;
		if (member_string(item, path, "image", image, image_len,
		    cause) == -1)
			return (-1);
		return (1);
	}
	return (0);
}

/* Record one rewritten image in the patch, warnings and result. */
static void
record_rewrite(struct review *rv, const char *list, size_t idx,
    const char *key, const char *image, size_t image_len, const char *out,
    const struct mirror_match *match)
{
	struct admission_result	*res = rv->res;
	char			 path[128];
	char			*line, *orig;

	snprintf(path, sizeof path, "/spec/%s/%zu/image", list, idx);
	patch_op(rv->patch, "replace", path, json_object_new_string(out));
	add(rv->originals, key, new_string(image, image_len));
	add(rv->mirrored, key, json_object_new_string(out));

	/* A rewritten image is a valid reference: it holds no NUL. */
	orig = xstrndup(image, image_len);
	line = xasprintf("container \"%s\": image %s rewritten to %s", key,
	    orig, out);
	append(rv->warnings, json_object_new_string(line));
	free(line);
	free(orig);

	if (res->rewrites == rv->registries_size) {
		rv->registries_size = rv->registries_size == 0 ? 4 :
		    rv->registries_size * 2;
		res->registries = xrealloc(res->registries,
		    rv->registries_size * sizeof *res->registries);
	}
	res->registries[res->rewrites++] = xstrdup(match->registry);
}

/*
 * Rewrite the images of one container list of the Pod's spec. On UPDATE,
 * only images that differ from oldObject's container of the same name.
 */
static int
review_list(struct review *rv, struct json_object *spec, const char *list,
    char **cause)
{
	struct json_object	*arr, *old = NULL, *item;
	struct mirror_match	 match;
	enum mirror_outcome	 outcome;
	const char		*name, *image, *old_image;
	char			 path[128], keybuf[128], oldpath[64];
	char			*out = NULL, *why = NULL, *shown;
	const char		*key;
	size_t			 i, n, name_len, image_len, old_len;
	int			 r;

	if ((r = member(spec, "request.object.spec", list, json_type_array,
	    &arr, cause)) != 1)
		return (r);
	if (rv->update && rv->old_spec != NULL) {
		if (member(rv->old_spec, "request.oldObject.spec", list,
		    json_type_array, &old, cause) == -1)
			return (-1);
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "request.object.spec.%s[%zu]",
		    list, i);
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object))
			return (set_cause(cause, "%s: expected an object, "
			    "found %s", path,
			    type_name(json_object_get_type(item))));
		if (member_string(item, path, "name", &name, &name_len,
		    cause) == -1 ||
		    member_string(item, path, "image", &image, &image_len,
		    cause) == -1)
			return (-1);
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
			if ((r = old_container(old, list, name, name_len,
			    &old_image, &old_len, cause)) == -1)
				return (-1);
			/* Unchanged by this update: leave it be. */
			if (r == 1 && old_image != NULL &&
			    old_len == image_len &&
			    memcmp(old_image, image, image_len) == 0)
				continue;
		}

		outcome = mirror_rewrite(rv->table, image, image_len, &out,
		    &match, &why);
		if (outcome != MIRROR_INVALID && match.registry[0] != '\0')
			log_line("[ProcessPod] Found registry => %s",
			    match.registry);
		switch (outcome) {
		case MIRROR_REWRITTEN:
			log_line("[ReplaceImageRegistry] Image %s => %s", image,
			    out);
			record_rewrite(rv, list, i, key, image, image_len, out,
			    &match);
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
		}
		free(out);
		out = NULL;
		free(why);
		why = NULL;
	}
	return (0);
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
		if (json_object_is_type(v, json_type_string))
			add(dst, json_object_iter_peek_name(&it),
			    json_object_get(v));
	}
}

/*
 * The value of the original-images annotation: the entries of the Pod's
 * existing record (if it is a JSON object of strings), then this review's.
 * new: caller frees.
 */
static char *
original_record(struct review *rv, struct json_object *annotations)
{
	struct json_tokener	*tok;
	struct json_object	*merged, *old = NULL, *v;
	const char		*s;
	char			*value;
	size_t			 len;

	merged = json_object_new_object();
	if (annotations != NULL &&
	    json_object_object_get_ex(annotations,
	    ADMISSION_ANNOTATION_ORIGINAL, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX)) != NULL) {
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		old = json_tokener_parse_ex(tok, s, (int)len + 1);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(old, json_type_object)) {
			log_line("[Mutate] Annotation %s is not a JSON object: "
			    "replaced", ADMISSION_ANNOTATION_ORIGINAL);
		} else
			merge_strings(merged, old);
		json_object_put(old);
		json_tokener_free(tok);
	}
	merge_strings(merged, rv->originals);
	value = xstrdup(json_object_to_json_string_ext(merged, JSON_FLAGS));
	json_object_put(merged);
	return (value);
}

/* Add to the patch the annotation that records the original images. */
static void
patch_annotation(struct review *rv, struct json_object *metadata,
    struct json_object *annotations)
{
	struct json_object	*map, *meta;
	char			*value, *escaped, *path;

	value = original_record(rv, annotations);
	if (metadata == NULL) {
		map = json_object_new_object();
		add(map, ADMISSION_ANNOTATION_ORIGINAL,
		    json_object_new_string(value));
		meta = json_object_new_object();
		add(meta, "annotations", map);
		patch_op(rv->patch, "add", "/metadata", meta);
	} else if (annotations == NULL) {
		map = json_object_new_object();
		add(map, ADMISSION_ANNOTATION_ORIGINAL,
		    json_object_new_string(value));
		patch_op(rv->patch, "add", "/metadata/annotations", map);
	} else {
		/* "add" of an existing member replaces it (RFC 6902 4.1). */
		escaped = admission_pointer_escape(ADMISSION_ANNOTATION_ORIGINAL,
		    strlen(ADMISSION_ANNOTATION_ORIGINAL));
		path = xasprintf("/metadata/annotations/%s", escaped);
		patch_op(rv->patch, "add", path, json_object_new_string(value));
		free(path);
		free(escaped);
	}
	free(value);
}

/* new: the serialized form of obj; *len its length. */
static char *
serialize(struct json_object *obj, size_t *len)
{
	const char	*s;

	s = json_object_to_json_string_length(obj, JSON_FLAGS, len);
	return (xstrndup(s, *len));
}

/* Fill the response's body with the JSON error body for msg. */
static void
error_body(struct admission_result *res, const char *msg)
{
	struct json_object	*o;

	o = json_object_new_object();
	add(o, "error", json_object_new_string(msg));
	res->body = serialize(o, &res->body_len);
	json_object_put(o);
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
review_pod(struct review *rv, struct json_object *request, const char *op,
    const char *rns, size_t rns_len, char **cause)
{
	struct json_object	*object, *metadata = NULL, *annotations = NULL;
	struct json_object	*spec = NULL, *old, *skip;
	const char		*name, *gname, *ons, *ns;
	size_t			 len, i;
	int			 r;

	if ((r = member(request, "request", "object", json_type_object,
	    &object, cause)) == -1)
		return (-1);
	if (r == 0)
		return (set_cause(cause, "request.object: missing"));
	if (member(object, "request.object", "metadata", json_type_object,
	    &metadata, cause) == -1)
		return (-1);
	name = gname = ons = NULL;
	if (metadata != NULL) {
		if (member_string(metadata, "request.object.metadata", "name",
		    &name, &len, cause) == -1 ||
		    member_string(metadata, "request.object.metadata",
		    "generateName", &gname, &len, cause) == -1 ||
		    member_string(metadata, "request.object.metadata",
		    "namespace", &ons, &len, cause) == -1)
			return (-1);
		if (member(metadata, "request.object.metadata", "annotations",
		    json_type_object, &annotations, cause) == -1)
			return (-1);
	}
	/* The request's namespace, else the object's own. */
	ns = (rns != NULL && rns_len > 0) ? rns : (ons != NULL ? ons : "");

	if (name != NULL && *name != '\0')
		log_line("[Mutate] Received POD %s event%s. Name: %s, "
		    "Namespace: %s", op, rv->ephemeral_only ?
		    " (subresource ephemeralcontainers)" : "", name, ns);
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
	if (annotations != NULL &&
	    json_object_object_get_ex(annotations, ADMISSION_ANNOTATION_SKIP,
	    &skip) && skip != NULL) {
		if (!json_object_is_type(skip, json_type_string))
			return (set_cause(cause, "request.object.metadata."
			    "annotations[\"%s\"]: expected a string, found %s",
			    ADMISSION_ANNOTATION_SKIP,
			    type_name(json_object_get_type(skip))));
		if (equals(json_object_get_string(skip),
		    (size_t)json_object_get_string_len(skip), "true")) {
			log_line("[Mutate] Pod opted out (annotation %s: "
			    "\"true\"): left unchanged",
			    ADMISSION_ANNOTATION_SKIP);
			rv->res->kind = ADMISSION_EXCLUDED;
			return (0);
		}
	}

	if (member(object, "request.object", "spec", json_type_object, &spec,
	    cause) == -1)
		return (-1);
	if (rv->update) {
		if ((r = member(request, "request", "oldObject",
		    json_type_object, &old, cause)) == -1)
			return (-1);
		/* Without it, every image would look changed. */
		if (r == 0)
			return (set_cause(cause, "request.oldObject: missing "
			    "(an UPDATE carries the previous Pod)"));
		if (member(old, "request.oldObject", "spec", json_type_object,
		    &rv->old_spec, cause) == -1)
			return (-1);
	}
	if (spec != NULL) {
		for (i = 0; i < nitems(pod_lists); i++) {
			/* The subresource changes ephemeral containers only. */
			if (rv->ephemeral_only &&
			    strcmp(pod_lists[i], "ephemeralContainers") != 0)
				continue;
			if (review_list(rv, spec, pod_lists[i], cause) == -1)
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
	struct json_object	*review, *response, *audit;
	const char		*p;
	char			*b64;
	size_t			 len;

	response = json_object_new_object();
	add(response, "uid", new_string(uid, uid_len));
	add(response, "allowed", json_object_new_boolean(1));
	if (rv->res->kind == ADMISSION_PATCHED) {
		if (json_object_array_length(rv->patch) > 0) {
			p = json_object_to_json_string_length(rv->patch,
			    JSON_FLAGS, &len);
			b64 = admission_base64(p, len, NULL);
			add(response, "patchType",
			    json_object_new_string("JSONPatch"));
			add(response, "patch", json_object_new_string(b64));
			free(b64);
		}
		add(response, "warnings", json_object_get(rv->warnings));
		audit = json_object_new_object();
		add(audit, ADMISSION_AUDIT_ORIGINAL, json_object_new_string(
		    json_object_to_json_string_ext(rv->originals, JSON_FLAGS)));
		add(audit, ADMISSION_AUDIT_MIRRORED, json_object_new_string(
		    json_object_to_json_string_ext(rv->mirrored, JSON_FLAGS)));
		add(response, "auditAnnotations", audit);
	}
	review = json_object_new_object();
	add(review, "apiVersion", json_object_new_string(api));
	add(review, "kind", json_object_new_string("AdmissionReview"));
	add(review, "response", response);
	rv->res->body = serialize(review, &rv->res->body_len);
	json_object_put(review);
}

int
admission_review(const struct mirror *table, const char *body, size_t len,
    struct admission_result *res)
{
	struct review		 rv;
	struct json_object	*root = NULL, *request, *kind, *resource;
	const char		*api, *s, *uid, *op, *sub, *kname, *group;
	const char		*rname, *rns, *resname = NULL;
	char			*cause = NULL, opl[16], shown[QUOTE_MAX + 1];
	size_t			 api_len, slen, uid_len, op_len, sub_len;
	size_t			 kname_len, group_len, rname_len, rns_len;
	size_t			 resname_len = 0;
	int			 r, is_pod, rc = -1;

	memset(res, 0, sizeof *res);
	res->status = 400;
	res->kind = ADMISSION_INVALID;
	memset(&rv, 0, sizeof rv);
	rv.table = table;
	rv.res = res;

	if ((root = parse_body(body, len, &cause)) == NULL)
		goto end;

	/* The envelope: kind, apiVersion, request.uid. */
	if ((r = member_string(root, "", "kind", &s, &slen, &cause)) == -1)
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
	if (member_string(root, "", "apiVersion", &api, &api_len,
	    &cause) == -1)
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
	if ((r = member(root, "", "request", json_type_object, &request,
	    &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request: missing");
		goto end;
	}
	if (member_string(request, "request", "uid", &uid, &uid_len,
	    &cause) == -1)
		goto end;
	if (uid == NULL || uid_len == 0) {
		set_cause(&cause, "request.uid: missing");
		goto end;
	}

	/* What is asked: kind, operation, subresource. */
	if ((r = member(request, "request", "kind", json_type_object, &kind,
	    &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request.kind: missing");
		goto end;
	}
	if (member_string(kind, "request.kind", "kind", &kname, &kname_len,
	    &cause) == -1 ||
	    member_string(kind, "request.kind", "group", &group, &group_len,
	    &cause) == -1)
		goto end;
	if (kname == NULL) {
		set_cause(&cause, "request.kind.kind: missing");
		goto end;
	}
	if (member(request, "request", "resource", json_type_object,
	    &resource, &cause) == -1)
		goto end;
	if (resource != NULL && member_string(resource, "request.resource",
	    "resource", &resname, &resname_len, &cause) == -1)
		goto end;
	if ((r = member_string(request, "request", "operation", &op, &op_len,
	    &cause)) == -1)
		goto end;
	if (r == 0) {
		set_cause(&cause, "request.operation: missing");
		goto end;
	}
	if (member_string(request, "request", "subResource", &sub, &sub_len,
	    &cause) == -1 ||
	    member_string(request, "request", "name", &rname, &rname_len,
	    &cause) == -1 ||
	    member_string(request, "request", "namespace", &rns, &rns_len,
	    &cause) == -1)
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
		rv.patch = json_object_new_array();
		rv.originals = json_object_new_object();
		rv.mirrored = json_object_new_object();
		rv.warnings = json_object_new_array();
		if (review_pod(&rv, request, opl, rns, rns_len, &cause) == -1) {
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
	json_object_put(rv.patch);
	json_object_put(rv.originals);
	json_object_put(rv.mirrored);
	json_object_put(rv.warnings);
	json_object_put(root);
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

/* json-c has no base64 encoder: RFC 4648 section 4, by hand. */
char *
admission_base64(const void *data, size_t len, size_t *outlen)
{
	static const char	 alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*in = data;
	char			*out, *p;
	uint32_t		 v;
	size_t			 i;

	p = out = xmalloc(4 * ((len + 2) / 3) + 1);
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
	*p = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(p - out);
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
