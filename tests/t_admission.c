/*
 * t_admission.c: AdmissionReview in, response out: base64, JSON Pointer
 * escaping, each request shape, each kind of bad input.
 */
#include "common.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admission.h"
#include "config.h"
#include "log.h"
#include "mirror.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static const char table_yaml[] =
    "mirrors:\n"
    "  gcr.io: my.internal.repo\n"
    "  docker.io: my.internal.repo/dockerhub\n"
    "  docker.io/mycompany: ~\n"
    "exclude:\n"
    "  namespaces: [kube-system]\n";

static struct mirror		*table;
static struct admission_result	 res;
static struct json_object	*parsed;	/* res.body, parsed */

static void
setup(void)
{
	char	*cause = NULL;

	log_set_quiet(1);
	if (config_load_buffer("t.yaml", table_yaml, strlen(table_yaml),
	    &table, &cause) != 0)
		ck_abort_msg("table: %s", cause);
	memset(&res, 0, sizeof res);
	parsed = NULL;
}

static void
teardown(void)
{
	json_object_put(parsed);
	parsed = NULL;
	admission_result_free(&res);
	mirror_free(table);
	table = NULL;
}

/* Review the len bytes at body; parse the response body. */
static int
review_bytes(const char *body, size_t len)
{
	int	 rc;

	json_object_put(parsed);
	admission_result_free(&res);
	rc = admission_review(table, body, len, &res);
	ck_assert_ptr_nonnull(res.body);
	ck_assert_uint_eq(strlen(res.body), res.body_len);
	parsed = json_tokener_parse(res.body);
	ck_assert_msg(parsed != NULL, "response is not JSON: %s", res.body);
	if (rc == 0) {
		ck_assert_int_eq(res.status, 200);
		ck_assert_ptr_null(res.error);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(res.status, 400);
		ck_assert_int_eq(res.kind, ADMISSION_INVALID);
		ck_assert_ptr_nonnull(res.error);
		ck_assert_uint_eq(res.rewrites, 0);
	}
	return (rc);
}

/* Review s, written with ' for " (easier to read in C). */
static int
review(const char *s)
{
	char	*b, *p;
	int	 rc;

	b = xstrdup(s);
	for (p = b; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	rc = review_bytes(b, strlen(b));
	free(b);
	return (rc);
}

/* A Pod review: extra is more members of request (or ""). */
static int
pod(const char *op, const char *extra, const char *meta, const char *spec)
{
	char	*s;
	int	 rc;

	s = xasprintf("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u-1',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'resource':{'group':'','version':'v1','resource':'pods'},"
	    "'operation':'%s','namespace':'default'%s,"
	    "'object':{'metadata':%s,'spec':%s}}}", op, extra, meta, spec);
	rc = review(s);
	free(s);
	return (rc);
}

/* Refused with 400, and the message holds want. */
static void
expect_bad(int rc, const char *want)
{
	struct json_object	*e;

	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(res.error, want) != NULL, "error \"%s\" lacks "
	    "\"%s\"", res.error, want);
	ck_assert(json_object_object_get_ex(parsed, "error", &e));
	ck_assert_str_eq(json_object_get_string(e), res.error);
}

/* borrowed: response.key, or NULL. */
static struct json_object *
response(const char *key)
{
	struct json_object	*r, *v;

	ck_assert(json_object_object_get_ex(parsed, "response", &r));
	if (!json_object_object_get_ex(r, key, &v))
		return (NULL);
	return (v);
}

/* An independent base64 decoder (RFC 4648), for round trips. */
static int
b64_value(int c)
{
	const char	*alphabet =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return (-1);
	return ((int)(p - alphabet));
}

static char *
b64_decode(const char *s, size_t *outlen)
{
	size_t		 len = strlen(s), i, n = 0;
	unsigned char	*out;
	int		 v[4], k;

	ck_assert_uint_eq(len % 4, 0);
	out = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
			ck_assert_int_ge(v[k], 0);
		}
		out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			out[n++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			out[n++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	out[n] = '\0';
	*outlen = n;
	return ((char *)out);
}

/* new: the decoded patch of the response, an array (NULL if none). */
static struct json_object *
patch(void)
{
	struct json_object	*p, *type, *ops;
	char			*raw;
	size_t			 len;

	if ((p = response("patch")) == NULL) {
		ck_assert_ptr_null(response("patchType"));
		return (NULL);
	}
	type = response("patchType");
	ck_assert_ptr_nonnull(type);
	ck_assert_str_eq(json_object_get_string(type), "JSONPatch");
	raw = b64_decode(json_object_get_string(p), &len);
	ops = json_tokener_parse(raw);
	free(raw);
	ck_assert_msg(json_object_is_type(ops, json_type_array),
	    "patch is not an array");
	return (ops);
}

/* Operation i of ops: its op, path, and value as JSON text. */
static void
expect_op(struct json_object *ops, size_t i, const char *op,
    const char *path, const char *value)
{
	struct json_object	*o, *v;

	ck_assert_uint_gt(json_object_array_length(ops), i);
	o = json_object_array_get_idx(ops, i);
	ck_assert(json_object_object_get_ex(o, "op", &v));
	ck_assert_str_eq(json_object_get_string(v), op);
	ck_assert(json_object_object_get_ex(o, "path", &v));
	ck_assert_str_eq(json_object_get_string(v), path);
	ck_assert(json_object_object_get_ex(o, "value", &v));
	ck_assert_str_eq(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), value);
}

START_TEST(test_base64_rfc4648)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char	*s;
	size_t	 i, len;

	for (i = 0; i < NITEMS(vec); i++) {
		s = admission_base64(vec[i][0], strlen(vec[i][0]), &len);
		ck_assert_str_eq(s, vec[i][1]);
		ck_assert_uint_eq(len, strlen(vec[i][1]));
		free(s);
	}
}
END_TEST

START_TEST(test_base64_bytes)
{
	unsigned char	 in[256];
	char		*s, *back;
	size_t		 i, n, len, blen;

	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(255 - i);
	s = admission_base64("\xff\xfe\xfd", 3, NULL);
	ck_assert_str_eq(s, "//79");
	free(s);
	s = admission_base64("\0\0", 2, NULL);
	ck_assert_str_eq(s, "AAA=");
	free(s);
	/* Every length, every byte value, back through another decoder. */
	for (n = 0; n <= sizeof in; n++) {
		s = admission_base64(in, n, &len);
		ck_assert_uint_eq(len, (n + 2) / 3 * 4);
		back = b64_decode(s, &blen);
		ck_assert_uint_eq(blen, n);
		ck_assert(memcmp(back, in, n) == 0);
		free(back);
		free(s);
	}
}
END_TEST

START_TEST(test_pointer_escape)
{
	static const char *const vec[][2] = {
		{ "gilly.io/original-images", "gilly.io~1original-images" },
		{ "a~b/c", "a~0b~1c" },
		{ "~1", "~01" },
		{ "//", "~1~1" },
		{ "plain", "plain" },
		{ "", "" },
	};
	char	*s;
	size_t	 i;

	for (i = 0; i < NITEMS(vec); i++) {
		s = admission_pointer_escape(vec[i][0], strlen(vec[i][0]));
		ck_assert_str_eq(s, vec[i][1]);
		free(s);
	}
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(admission_kind_name(ADMISSION_PATCHED), "patched");
	ck_assert_str_eq(admission_kind_name(ADMISSION_UNCHANGED), "unchanged");
	ck_assert_str_eq(admission_kind_name(ADMISSION_IGNORED), "ignored");
	ck_assert_str_eq(admission_kind_name(ADMISSION_EXCLUDED), "excluded");
	ck_assert_str_eq(admission_kind_name(ADMISSION_INVALID), "invalid");
}
END_TEST

START_TEST(test_create)
{
	struct json_object	*ops, *w, *audit, *v;

	ck_assert_int_eq(pod("CREATE", "", "{'name':'web'}",
	    "{'containers':[{'name':'a','image':'gcr.io/t/a:1'},"
	    "{'name':'b','image':'nginx'}],"
	    "'initContainers':[{'name':'i','image':'quay.io/x/y'},"
	    "{'name':'j','image':'busybox@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}],"
	    "'ephemeralContainers':[{'name':'e','image':'gcr.io/t/dbg'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
	ck_assert_uint_eq(res.rewrites, 4);
	ck_assert_uint_eq(res.invalid, 0);
	ck_assert_str_eq(res.registries[0], "gcr.io");
	ck_assert_str_eq(res.registries[1], "docker.io");
	ck_assert_str_eq(res.registries[2], "docker.io");
	ck_assert_str_eq(res.registries[3], "gcr.io");
	ck_assert_str_eq(json_object_get_string(response("uid")), "u-1");
	ck_assert(json_object_get_boolean(response("allowed")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(parsed,
	    "apiVersion")), "admission.k8s.io/v1");

	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), 5);
	expect_op(ops, 0, "replace", "/spec/containers/0/image",
	    "\"my.internal.repo/t/a:1\"");
	expect_op(ops, 1, "replace", "/spec/containers/1/image",
	    "\"my.internal.repo/dockerhub/library/nginx\"");
	expect_op(ops, 2, "replace", "/spec/initContainers/1/image",
	    "\"my.internal.repo/dockerhub/library/busybox@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"");
	expect_op(ops, 3, "replace", "/spec/ephemeralContainers/0/image",
	    "\"my.internal.repo/t/dbg\"");
	/* No annotations yet: the whole map is added. */
	expect_op(ops, 4, "add", "/metadata/annotations",
	    "{\"gilly.io/original-images\":\"{\\\"a\\\":\\\"gcr.io/t/a:1\\\","
	    "\\\"b\\\":\\\"nginx\\\",\\\"j\\\":\\\"busybox@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "\\\",\\\"e\\\":\\\"gcr.io/t/dbg\\\"}\"}");
	json_object_put(ops);

	w = response("warnings");
	ck_assert_uint_eq(json_object_array_length(w), 4);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(w,
	    0)), "container \"a\": image gcr.io/t/a:1 rewritten to "
	    "my.internal.repo/t/a:1");
	audit = response("auditAnnotations");
	ck_assert(json_object_object_get_ex(audit, ADMISSION_AUDIT_MIRRORED,
	    &v));
	ck_assert(strstr(json_object_get_string(v),
	    "\"a\":\"my.internal.repo/t/a:1\"") != NULL);
	ck_assert(json_object_object_get_ex(audit, ADMISSION_AUDIT_ORIGINAL,
	    &v));
	ck_assert(strstr(json_object_get_string(v), "\"b\":\"nginx\"") != NULL);
}
END_TEST

/*
 * Container names that JSON must escape, in the record of the original
 * images (a JSON object written within a JSON string, so escaped twice)
 * and in the audit annotations: each parses back to the same names.
 */
START_TEST(test_escaped_names)
{
	static const char *const names[] = { "q\"uote", "back\\slash",
	    "ctl\001x", "nl\nx", "\xc3\xa9", "sl/ash" };
	static const char	 body[] = "{\"apiVersion\":"
	    "\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	    "\"request\":{\"uid\":\"u-e\",\"kind\":{\"group\":\"\","
	    "\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\","
	    "\"namespace\":\"default\",\"object\":{\"metadata\":{},"
	    "\"spec\":{\"containers\":["
	    "{\"name\":\"q\\\"uote\",\"image\":\"gcr.io/t/0\"},"
	    "{\"name\":\"back\\\\slash\",\"image\":\"gcr.io/t/1\"},"
	    "{\"name\":\"ctl\\u0001x\",\"image\":\"gcr.io/t/2\"},"
	    "{\"name\":\"nl\\nx\",\"image\":\"gcr.io/t/3\"},"
	    "{\"name\":\"\\u00e9\",\"image\":\"gcr.io/t/4\"},"
	    "{\"name\":\"sl\\/ash\",\"image\":\"gcr.io/t/5\"}]}}}}";
	struct json_object	*ops, *op, *v, *rec, *audit, *e;
	const char		*records[3];
	char			 want[64];
	size_t			 i, k;

	ck_assert_int_eq(review_bytes(body, sizeof body - 1), 0);
	ck_assert_uint_eq(res.rewrites, NITEMS(names));
	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), NITEMS(names) + 1);
	op = json_object_array_get_idx(ops, NITEMS(names));
	ck_assert(json_object_object_get_ex(op, "value", &v));
	ck_assert(json_object_object_get_ex(v, ADMISSION_ANNOTATION_ORIGINAL,
	    &v));
	records[0] = json_object_get_string(v);
	audit = response("auditAnnotations");
	ck_assert(json_object_object_get_ex(audit, ADMISSION_AUDIT_ORIGINAL,
	    &v));
	records[1] = json_object_get_string(v);
	ck_assert(json_object_object_get_ex(audit, ADMISSION_AUDIT_MIRRORED,
	    &v));
	records[2] = json_object_get_string(v);
	for (k = 0; k < 3; k++) {
		rec = json_tokener_parse(records[k]);
		ck_assert_msg(json_object_is_type(rec, json_type_object),
		    "record %zu is not a JSON object: %s", k, records[k]);
		ck_assert_int_eq(json_object_object_length(rec),
		    (int)NITEMS(names));
		for (i = 0; i < NITEMS(names); i++) {
			snprintf(want, sizeof want, "%s/t/%zu", k < 2 ?
			    "gcr.io" : "my.internal.repo", i);
			ck_assert_msg(json_object_object_get_ex(rec, names[i],
			    &e), "record %zu: name %zu missing: %s", k, i,
			    records[k]);
			ck_assert_str_eq(json_object_get_string(e), want);
		}
		json_object_put(rec);
	}
	json_object_put(ops);
}
END_TEST

START_TEST(test_v1beta1)
{
	ck_assert_int_eq(review("{'apiVersion':'admission.k8s.io/v1beta1',"
	    "'kind':'AdmissionReview','request':{'uid':'b-2',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','object':{'metadata':{'namespace':'x'},"
	    "'spec':{'containers':[{'name':'a','image':'gcr.io/a'}]}}}}"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(parsed,
	    "apiVersion")), "admission.k8s.io/v1beta1");
	ck_assert_str_eq(json_object_get_string(response("uid")), "b-2");
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
}
END_TEST

START_TEST(test_existing_annotations)
{
	struct json_object	*ops;

	ck_assert_int_eq(pod("CREATE", "", "{'annotations':{'team':'a'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/t/a:1'}]}"), 0);
	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), 2);
	expect_op(ops, 1, "add", "/metadata/annotations/gilly.io~1original-images",
	    "\"{\\\"a\\\":\\\"gcr.io/t/a:1\\\"}\"");
	json_object_put(ops);

	/* No metadata at all: /metadata is added. */
	ck_assert_int_eq(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','object':{"
	    "'spec':{'containers':[{'name':'a','image':'gcr.io/a'}]}}}}"), 0);
	ops = patch();
	expect_op(ops, 1, "add", "/metadata",
	    "{\"annotations\":{\"gilly.io/original-images\":"
	    "\"{\\\"a\\\":\\\"gcr.io/a\\\"}\"}}");
	json_object_put(ops);

	/* A record from an earlier rewrite is kept and extended. */
	ck_assert_int_eq(pod("CREATE", "", "{'annotations':"
	    "{'gilly.io/original-images':'{\\'z\\':\\'gcr.io/z\\'}'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ops = patch();
	expect_op(ops, 1, "add", "/metadata/annotations/gilly.io~1original-images",
	    "\"{\\\"z\\\":\\\"gcr.io/z\\\",\\\"a\\\":\\\"gcr.io/a\\\"}\"");
	json_object_put(ops);

	/* A record that is not JSON is replaced. */
	ck_assert_int_eq(pod("CREATE", "", "{'annotations':"
	    "{'gilly.io/original-images':'garbage'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ops = patch();
	expect_op(ops, 1, "add", "/metadata/annotations/gilly.io~1original-images",
	    "\"{\\\"a\\\":\\\"gcr.io/a\\\"}\"");
	json_object_put(ops);
}
END_TEST

START_TEST(test_unchanged)
{
	/* No rule, a leave-alone rule, already mirrored, no image at all. */
	ck_assert_int_eq(pod("CREATE", "", "{}",
	    "{'containers':[{'name':'a','image':'quay.io/a'},"
	    "{'name':'b','image':'mycompany/tool'},"
	    "{'name':'c','image':'my.internal.repo/t/a:1'},{'name':'d'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_UNCHANGED);
	ck_assert_uint_eq(res.rewrites, 0);
	ck_assert_ptr_null(patch());
	ck_assert_ptr_null(response("warnings"));
	ck_assert_ptr_null(response("auditAnnotations"));
	ck_assert(json_object_get_boolean(response("allowed")));

	/* No spec: nothing to do. */
	ck_assert_int_eq(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','object':{}}}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_UNCHANGED);
}
END_TEST

START_TEST(test_invalid_image)
{
	struct json_object	*ops;
	const char		 body[] = "{\"apiVersion\":\"admission.k8s.io/v1\","
	    "\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\","
	    "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	    "\"operation\":\"CREATE\",\"object\":{\"spec\":{\"containers\":["
	    "{\"name\":\"nul\",\"image\":\"gcr.io/a\\u0000b\"},"
	    "{\"name\":\"upper\",\"image\":\"gcr.io/A\"},"
	    "{\"name\":\"ok\",\"image\":\"gcr.io/a\"}]}}}}";

	/* Left as they are, never "fixed"; the valid one still rewritten. */
	ck_assert_int_eq(review_bytes(body, sizeof body - 1), 0);
	ck_assert_uint_eq(res.invalid, 2);
	ck_assert_uint_eq(res.rewrites, 1);
	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), 2);
	expect_op(ops, 0, "replace", "/spec/containers/2/image",
	    "\"my.internal.repo/a\"");
	json_object_put(ops);
}
END_TEST

START_TEST(test_excluded)
{
	ck_assert_int_eq(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','namespace':'kube-system','object':{"
	    "'spec':{'containers':[{'name':'a','image':'gcr.io/a'}]}}}}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_EXCLUDED);
	ck_assert_ptr_null(patch());

	/* No namespace in the request: the object's own counts. */
	ck_assert_int_eq(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','namespace':'','object':{'metadata':"
	    "{'namespace':'kube-system'},"
	    "'spec':{'containers':[{'name':'a','image':'gcr.io/a'}]}}}}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_EXCLUDED);

	/* The request's namespace wins over the object's. */
	ck_assert_int_eq(pod("CREATE", "", "{'namespace':'kube-system'}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);

	ck_assert_int_eq(pod("CREATE", "", "{'annotations':"
	    "{'gilly.io/skip':'true'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_EXCLUDED);
	ck_assert_ptr_null(patch());

	ck_assert_int_eq(pod("CREATE", "", "{'annotations':"
	    "{'gilly.io/skip':'false'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
}
END_TEST

START_TEST(test_ignored)
{
	static const char *const reqs[] = {
		/* Another kind. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'apps','version':'v1',"
		"'kind':'Deployment'},'operation':'CREATE','object':{'spec':"
		"{'template':{'spec':{'containers':[{'image':'gcr.io/a'}]}}}}}}",
		/* A Pod of another group. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'example.com','version':"
		"'v1','kind':'Pod'},'operation':'CREATE','object':{'spec':"
		"{'containers':[{'image':'gcr.io/a'}]}}}}",
		/* DELETE: no object. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'','version':'v1','kind':"
		"'Pod'},'operation':'DELETE','object':null,'oldObject':{'spec':"
		"{'containers':[{'image':'gcr.io/a'}]}}}}",
		/* Another subresource. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'','version':'v1','kind':"
		"'Pod'},'subResource':'status','operation':'UPDATE','object':"
		"{'spec':{'containers':[{'image':'gcr.io/a'}]}},'oldObject':"
		"{'spec':{'containers':[{'image':'gcr.io/a'}]}}}}",
		/* CONNECT. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'','version':'v1','kind':"
		"'PodExecOptions'},'subResource':'exec','operation':'CONNECT',"
		"'object':{}}}",
		/* The ephemeralcontainers subresource on CREATE is not kubectl debug. */
		"{'apiVersion':'admission.k8s.io/v1','kind':'AdmissionReview',"
		"'request':{'uid':'u','kind':{'group':'','version':'v1','kind':"
		"'Pod'},'subResource':'ephemeralcontainers','operation':'CREATE',"
		"'object':{'spec':{'ephemeralContainers':[{'image':'gcr.io/a'}]}}}}",
	};
	size_t	 i;

	for (i = 0; i < NITEMS(reqs); i++) {
		ck_assert_msg(review(reqs[i]) == 0, "%zu: %s", i, res.error);
		ck_assert_msg(res.kind == ADMISSION_IGNORED, "request %zu", i);
		ck_assert_ptr_null(patch());
		ck_assert(json_object_get_boolean(response("allowed")));
		ck_assert_str_eq(json_object_get_string(response("uid")), "u");
	}
}
END_TEST

START_TEST(test_update)
{
	struct json_object	*ops;

	/* Only labels changed: nothing, though gcr.io images remain. */
	ck_assert_int_eq(pod("UPDATE", ",'oldObject':{'metadata':{},'spec':"
	    "{'containers':[{'name':'a','image':'gcr.io/a'}],"
	    "'initContainers':[{'name':'i','image':'gcr.io/i'}]}}",
	    "{'labels':{'x':'y'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}],"
	    "'initContainers':[{'name':'i','image':'gcr.io/i'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_UNCHANGED);
	ck_assert_ptr_null(patch());

	/* One image set: that one only; the order of containers is no matter. */
	ck_assert_int_eq(pod("UPDATE", ",'oldObject':{'spec':{'containers':["
	    "{'name':'b','image':'gcr.io/b:1'},{'name':'a','image':'gcr.io/a'}]}}",
	    "{}", "{'containers':[{'name':'a','image':'gcr.io/a'},"
	    "{'name':'b','image':'gcr.io/b:2'},"
	    "{'name':'c','image':'gcr.io/c'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), 3);
	expect_op(ops, 0, "replace", "/spec/containers/1/image",
	    "\"my.internal.repo/b:2\"");
	/* c is new in this update. */
	expect_op(ops, 1, "replace", "/spec/containers/2/image",
	    "\"my.internal.repo/c\"");
	json_object_put(ops);

	/* A name repeated: each compared with oldObject's container. */
	ck_assert_int_eq(pod("UPDATE", ",'oldObject':{'spec':{'containers':["
	    "{'name':'a','image':'gcr.io/a'}]}}", "{}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'},"
	    "{'name':'a','image':'gcr.io/b'},{'name':'a','image':'gcr.io/a'}]}"),
	    0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
	ops = patch();
	ck_assert_uint_eq(json_object_array_length(ops), 2);
	expect_op(ops, 0, "replace", "/spec/containers/1/image",
	    "\"my.internal.repo/b\"");
	json_object_put(ops);

	/* The same name in another list does not count. */
	ck_assert_int_eq(pod("UPDATE", ",'oldObject':{'spec':{'containers':["
	    "{'name':'a','image':'gcr.io/a'}]}}", "{}",
	    "{'initContainers':[{'name':'a','image':'gcr.io/a'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
}
END_TEST

/* Append the formatted text to the string *s. */
static void
append(char **s, const char *fmt, const char *name, int n)
{
	char	*part, *joined;

	part = xasprintf(fmt, name, n);
	joined = xconcat(*s, part, (char *)NULL);
	free(part);
	free(*s);
	*s = joined;
}

/*
 * An UPDATE of many containers, oldObject's in the reverse order: each
 * found by its name wherever it is, the first of a repeated name standing
 * for it, names compared to the byte (a NUL within too).
 */
START_TEST(test_update_many)
{
	struct json_object	*ops;
	char			*old = xstrdup(""), *cur = xstrdup(""), *extra;
	char			 path[64];
	size_t			 k;
	int			 i, n = 3000;

	/* Every third image changed; c6's first entry in oldObject agrees. */
	append(&old, "{'name':'%s','image':'gcr.io/x:%d'},", "c6", 2);
	for (i = n - 1; i >= 0; i--) {
		snprintf(path, sizeof path, "c%d", i);
		append(&old, "{'name':'%s','image':'gcr.io/x:%d'},", path, 1);
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "c%d", i);
		append(&cur, "{'name':'%s','image':'gcr.io/x:%d'},", path,
		    i % 3 == 0 ? 2 : 1);
	}
	/* "n\u0000" is not "n": new; "m\u0000" was there already. */
	append(&old, "{'name':'%s','image':'gcr.io/y:%d'},", "n", 1);
	append(&old, "{'name':'%s\\u0000','image':'gcr.io/y:%d'}", "m", 1);
	append(&cur, "{'name':'%s\\u0000','image':'gcr.io/y:%d'},", "n", 1);
	append(&cur, "{'name':'%s\\u0000','image':'gcr.io/y:%d'}", "m", 1);

	extra = xasprintf(",'oldObject':{'spec':{'containers':[%s]}}", old);
	free(old);
	old = xasprintf("{'containers':[%s]}", cur);
	ck_assert_int_eq(pod("UPDATE", extra, "{}", old), 0);
	free(extra);
	free(old);
	free(cur);

	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
	ops = patch();
	/* 1,000 changed but c6, n, and the annotation. */
	ck_assert_uint_eq(json_object_array_length(ops), 1001);
	for (i = 0, k = 0; i < n; i += 3) {
		if (i == 6)
			continue;
		snprintf(path, sizeof path, "/spec/containers/%d/image", i);
		expect_op(ops, k++, "replace", path,
		    "\"my.internal.repo/x:2\"");
	}
	snprintf(path, sizeof path, "/spec/containers/%d/image", n);
	expect_op(ops, k, "replace", path, "\"my.internal.repo/y:1\"");
	json_object_put(ops);
}
END_TEST

START_TEST(test_ephemeral_subresource)
{
	struct json_object	*ops;

	ck_assert_int_eq(pod("UPDATE", ",'subResource':'ephemeralcontainers',"
	    "'oldObject':{'spec':{'containers':[{'name':'a','image':'gcr.io/a'}],"
	    "'ephemeralContainers':[{'name':'d1','image':'gcr.io/d1'}]}}",
	    "{'annotations':{'k':'v'}}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}],"
	    "'ephemeralContainers':[{'name':'d1','image':'gcr.io/d1'},"
	    "{'name':'d2','image':'gcr.io/d2'}]}"), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
	ck_assert_uint_eq(res.rewrites, 1);
	ops = patch();
	/* No annotation: the API server would drop it anyway. */
	ck_assert_uint_eq(json_object_array_length(ops), 1);
	expect_op(ops, 0, "replace", "/spec/ephemeralContainers/1/image",
	    "\"my.internal.repo/d2\"");
	json_object_put(ops);
	ck_assert_uint_eq(json_object_array_length(response("warnings")), 1);
	ck_assert(strstr(json_object_get_string(json_object_object_get(
	    response("auditAnnotations"), ADMISSION_AUDIT_ORIGINAL)),
	    "\"d2\":\"gcr.io/d2\"") != NULL);
}
END_TEST

START_TEST(test_bad_envelope)
{
	char	*big;

	expect_bad(review_bytes("", 0), "empty body");
	big = xmalloc(ADMISSION_BODY_MAX + 1);
	memset(big, ' ', ADMISSION_BODY_MAX + 1);
	expect_bad(review_bytes(big, ADMISSION_BODY_MAX + 1), "too large");
	free(big);
	expect_bad(review("{"), "invalid JSON at byte 1");
	expect_bad(review("   "), "invalid JSON");
	expect_bad(review("{'a':}"), "invalid JSON at byte 5");
	expect_bad(review("{} x"), "invalid JSON at byte 3");
	expect_bad(review_bytes("{}\0{}", 5), "data after the document");
	expect_bad(review_bytes("{\"a\":\"\xff\"}", 8), "invalid UTF-8 at byte 6");
	expect_bad(review_bytes("{\"a\":\"\xc0\xaf\"}", 9), "UTF-8");
	expect_bad(review_bytes("{\"a\":\"\xed\xa0\x80\"}", 10), "UTF-8");
	expect_bad(review_bytes("{\"a\":\"\xe2\x82\"}", 9), "UTF-8");
	expect_bad(review("[]"), "expected an object, found an array");
	expect_bad(review("null"), "expected an object, found null");
	expect_bad(review("12"), "expected an object, found a number");
	expect_bad(review("{}"), "kind: missing");
	expect_bad(review("{'kind':'Pod'}"), "kind: expected \"AdmissionReview\"");
	expect_bad(review("{'kind':7}"), "kind: expected a string, found a number");
	expect_bad(review("{'kind':'AdmissionReview'}"), "apiVersion: missing");
	expect_bad(review("{'kind':'AdmissionReview','apiVersion':'v1'}"),
	    "apiVersion: expected");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1'}"), "request: missing");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':[]}"),
	    "request: expected an object, found an array");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{}}"),
	    "request.uid: missing");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{'uid':''}}"),
	    "request.uid: missing");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{'uid':1}}"),
	    "request.uid: expected a string, found a number");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{'uid':'u'}}"),
	    "request.kind: missing");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{'uid':'u',"
	    "'kind':{'kind':'Pod'}}}"), "request.operation: missing");
	expect_bad(review("{'kind':'AdmissionReview',"
	    "'apiVersion':'admission.k8s.io/v1','request':{'uid':'u',"
	    "'kind':{'kind':true},'operation':'CREATE'}}"),
	    "request.kind.kind: expected a string, found a boolean");
}
END_TEST

START_TEST(test_bad_pod)
{
	static const char *const cases[][3] = {
		{ "{}", "[]", "request.object.spec: expected an object, found "
		    "an array" },
		{ "[]", "{}", "request.object.metadata: expected an object" },
		{ "{'name':1}", "{}", "request.object.metadata.name: expected "
		    "a string" },
		{ "{'annotations':[]}", "{}", "request.object.metadata."
		    "annotations: expected an object" },
		{ "{'annotations':{'gilly.io/skip':true}}", "{}",
		    "request.object.metadata.annotations[\"gilly.io/skip\"]: "
		    "expected a string, found a boolean" },
		{ "{}", "{'containers':{}}", "request.object.spec.containers: "
		    "expected an array, found an object" },
		{ "{}", "{'initContainers':'x'}", "request.object.spec."
		    "initContainers: expected an array, found a string" },
		{ "{}", "{'containers':[{'image':'gcr.io/a'},7]}",
		    "request.object.spec.containers[1]: expected an object, "
		    "found a number" },
		{ "{}", "{'containers':[{'image':'gcr.io/a'},{'image':3}]}",
		    "request.object.spec.containers[1].image: expected a "
		    "string, found a number" },
		{ "{}", "{'ephemeralContainers':[{'name':[],'image':'a'}]}",
		    "request.object.spec.ephemeralContainers[0].name: expected "
		    "a string, found an array" },
	};
	size_t	 i;

	for (i = 0; i < NITEMS(cases); i++)
		expect_bad(pod("CREATE", "", cases[i][0], cases[i][1]),
		    cases[i][2]);

	expect_bad(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE'}}"), "request.object: missing");
	expect_bad(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','object':'pod'}}"),
	    "request.object: expected an object, found a string");
	expect_bad(review("{'apiVersion':'admission.k8s.io/v1',"
	    "'kind':'AdmissionReview','request':{'uid':'u',"
	    "'kind':{'group':'','version':'v1','kind':'Pod'},"
	    "'operation':'CREATE','namespace':5,'object':{}}}"),
	    "request.namespace: expected a string");
	expect_bad(pod("UPDATE", "", "{}", "{'containers':[]}"),
	    "request.oldObject: missing");
	expect_bad(pod("UPDATE", ",'oldObject':{'spec':{'containers':5}}", "{}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"),
	    "request.oldObject.spec.containers: expected an array");
	expect_bad(pod("UPDATE", ",'oldObject':{'spec':{'containers':"
	    "[{'name':'a','image':false}]}}", "{}",
	    "{'containers':[{'name':'a','image':'gcr.io/a'}]}"),
	    "request.oldObject.spec.containers[0].image: expected a string");
	/* Every container of oldObject's list, not only those before a match. */
	expect_bad(pod("UPDATE", ",'oldObject':{'spec':{'containers':"
	    "[{'name':'a','image':'gcr.io/a'},5]}}", "{}",
	    "{'containers':[{'name':'a','image':'gcr.io/b'}]}"),
	    "request.oldObject.spec.containers[1]: expected an object, found "
	    "a number");
	expect_bad(pod("UPDATE", ",'oldObject':{'spec':{'containers':"
	    "[{'name':'a','image':'gcr.io/a'},{'name':[]}]}}", "{}",
	    "{'containers':[{'name':'a','image':'gcr.io/b'}]}"),
	    "request.oldObject.spec.containers[1].name: expected a string");
	/* A bad type after a rewrite: no patch survives. */
	expect_bad(pod("CREATE", "", "{}", "{'containers':[{'name':'a',"
	    "'image':'gcr.io/a'}],'initContainers':[{'image':{}}]}"),
	    "request.object.spec.initContainers[0].image");
}
END_TEST

/* A valid review with an array nested depth levels deep in userInfo. */
static int
nested(int depth)
{
	char	*s, *open, *close;
	int	 rc;

	/* The review, request and userInfo objects take three levels. */
	open = xmalloc((size_t)depth + 1);
	close = xmalloc((size_t)depth + 1);
	memset(open, '[', (size_t)depth - 3);
	memset(close, ']', (size_t)depth - 3);
	open[depth - 3] = close[depth - 3] = '\0';
	s = xasprintf("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":"
	    "\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":"
	    "\"Secret\"},\"operation\":\"CREATE\",\"userInfo\":{\"x\":%s%s}}}",
	    open, close);
	rc = review_bytes(s, strlen(s));
	free(s);
	free(open);
	free(close);
	return (rc);
}

START_TEST(test_depth)
{
	ck_assert_int_eq(nested(ADMISSION_DEPTH_MAX), 0);
	ck_assert_int_eq(res.kind, ADMISSION_IGNORED);
	expect_bad(nested(ADMISSION_DEPTH_MAX + 1), "nested deeper than 64");
	expect_bad(nested(10000), "nested deeper");
}
END_TEST

START_TEST(test_body_max)
{
	const char	 head[] = "{\"apiVersion\":\"admission.k8s.io/v1\","
	    "\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":"
	    "{\"kind\":\"Secret\"},\"operation\":\"CREATE\",\"x\":\"";
	const char	 tail[] = "\"}}";
	char		*s;
	size_t		 len = ADMISSION_BODY_MAX;

	/* Exactly the limit is accepted. */
	s = xmalloc(len);
	memset(s, 'a', len);
	memcpy(s, head, sizeof head - 1);
	memcpy(s + len - (sizeof tail - 1), tail, sizeof tail - 1);
	ck_assert_int_eq(review_bytes(s, len), 0);
	free(s);
}
END_TEST

/* Every prefix of a real review is refused cleanly, never a crash. */
START_TEST(test_truncated)
{
	const char	*full = "{\"apiVersion\":\"admission.k8s.io/v1\","
	    "\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\","
	    "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	    "\"operation\":\"CREATE\",\"object\":{\"metadata\":{\"name\":\"p\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"gcr.io/a\"}]"
	    "}}}}";
	size_t		 n, len = strlen(full);

	for (n = 0; n < len; n++)
		ck_assert_int_eq(review_bytes(full, n), -1);
	ck_assert_int_eq(review_bytes(full, len), 0);
	ck_assert_int_eq(res.kind, ADMISSION_PATCHED);
}
END_TEST

static Suite *
admission_suite(void)
{
	Suite	*s = suite_create("admission");
	TCase	*tc;

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_base64_rfc4648);
	tcase_add_test(tc, test_base64_bytes);
	tcase_add_test(tc, test_pointer_escape);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("shapes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_escaped_names);
	tcase_add_test(tc, test_v1beta1);
	tcase_add_test(tc, test_existing_annotations);
	tcase_add_test(tc, test_unchanged);
	tcase_add_test(tc, test_invalid_image);
	tcase_add_test(tc, test_excluded);
	tcase_add_test(tc, test_ignored);
	tcase_add_test(tc, test_update);
	tcase_add_test(tc, test_update_many);
	tcase_add_test(tc, test_ephemeral_subresource);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bad_envelope);
	tcase_add_test(tc, test_bad_pod);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_body_max);
	tcase_add_test(tc, test_truncated);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(admission_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
