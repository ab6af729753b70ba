/*
 * fuzz_config.c: the YAML table loader on arbitrary bytes, and the rewrite
 * of images with every table that loads.
 *
 * Properties (lib/config.h, lib/mirror.h, lib/mirror.c): a refused table
 * leaves *out alone and says "NAME:LINE:COLUMN: message"; a loaded table
 * rewrites each image to one outcome, setting *out for MIRROR_REWRITTEN
 * only and *cause for MIRROR_INVALID and MIRROR_REFUSED only; an image
 * that is no valid reference is MIRROR_INVALID, and one that is never is;
 * a rewritten image is a valid reference that
 * keeps the tag and digest byte for byte, and lies under a target, so that
 * rewriting it again is MIRROR_ALREADY (or, at the least, the same string);
 * the same image a second time (the answer kept in the table's memo, when
 * it keeps one) gets the same answer to the byte.
 *
 * Besides a fixed list, the images rewritten are those of the input's lines
 * "#img IMAGE": a YAML comment, so the fuzzer mutates table and images
 * together without spoiling the table.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "imageref.h"
#include "mirror.h"
#include "fuzz.h"

#define NAME		"fuzz.yaml"
#define IMG_PREFIX	"#img "
#define IMG_MAX		16	/* "#img" lines looked at */

const char	*const fuzz_target_name = "config";

/* One of each shape the rules tell apart, and the awkward corners. */
static const char *const images[] = {
	"nginx",
	"nginx:1.25",
	("library/nginx@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	"bitnami/redis:7.2",
	"mycompany/app:1",
	"index.docker.io/foo/bar",
	"docker.io/library/busybox:1.36",
	"gcr.io/team/app:1",
	"eu.gcr.io/proj/img:v2",
	"k8s.gcr.io/pause:3.9",
	"registry.k8s.io/coredns/coredns:v1.11.1",
	"quay.io/prometheus/node-exporter:v1.7.0",
	"ghcr.io/org/tool",
	"localhost/foo",
	"localhost:5000/foo/bar:tag",
	"[::1]:5000/foo",
	"Registry.Example.COM:443/a/b/c:Tag_1",
	"my_host.com/x",
	"Foo/bar",
	"my.internal.repo/team/app:1",
	"my.internal.repo/gcr.io/x",
	"gcr.io.mirror.example/x",
	"mirror.example/hub/library/nginx",
	"",
	"UPPER/case",
	"bad//path",
};

static const char *
outcome_name(enum mirror_outcome o)
{
	switch (o) {
	case MIRROR_REWRITTEN:
		return ("MIRROR_REWRITTEN");
	case MIRROR_NO_RULE:
		return ("MIRROR_NO_RULE");
	case MIRROR_LEFT_ALONE:
		return ("MIRROR_LEFT_ALONE");
	case MIRROR_ALREADY:
		return ("MIRROR_ALREADY");
	case MIRROR_INVALID:
		return ("MIRROR_INVALID");
	case MIRROR_REFUSED:
		return ("MIRROR_REFUSED");
	}
	return ("an unknown outcome");
}

/* "NAME:LINE:COLUMN: message", or the libyaml allocation failure. */
static int
well_formed_cause(const char *cause)
{
	const char	*p;
	int		 i;

	if (strncmp(cause, NAME ":", sizeof NAME) != 0)
		return (0);
	p = cause + sizeof NAME;
	if (strcmp(p, " out of memory") == 0)
		return (1);
	for (i = 0; i < 2; i++) {
		if (*p < '1' || *p > '9')
			return (0);
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p++ != ':')
			return (0);
	}
	return (*p == ' ' && p[1] != '\0');
}

/* Both NULL, or the same string. */
static int
same(const char *a, const char *b)
{
	return (a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0);
}

/* Rewrite the len bytes at image with m twice, and once more what came out. */
static void
check_rewrite(const struct mirror *m, const char *image, size_t len)
{
	struct mirror_match	 match, match2, again;
	enum mirror_outcome	 o, o2;
	struct imageref		*in = NULL, *res = NULL;
	char			*out = NULL, *out2 = NULL, *why = NULL;
	char			*why2 = NULL, *out_again = NULL, *why_again = NULL;
	int			 valid;

	valid = imageref_parse(image, len, &in, &why) == 0;
	free(why);
	why = NULL;

	o = mirror_rewrite(m, image, len, &out, &match, &why);
	FUZZ_REQUIRE(o == match.outcome, "returned %s, match says %s",
	    outcome_name(o), outcome_name(match.outcome));
	FUZZ_REQUIRE(memchr(match.registry, '\0', sizeof match.registry) &&
	    memchr(match.source, '\0', sizeof match.source), "unterminated "
	    "match fields");
	FUZZ_REQUIRE(valid == (o != MIRROR_INVALID), "\"%.*s\" is %s valid "
	    "reference, but the outcome is %s", (int)len, image,
	    valid ? "a" : "no", outcome_name(o));
	FUZZ_REQUIRE((o == MIRROR_REWRITTEN) == (out != NULL), "%s with out "
	    "%s", outcome_name(o), out != NULL ? out : "NULL");
	FUZZ_REQUIRE((o == MIRROR_INVALID || o == MIRROR_REFUSED) ==
	    (why != NULL), "%s with cause "
	    "%s", outcome_name(o), why != NULL ? why : "NULL");

	FUZZ_REQUIRE(mirror_rewrite(m, image, len, &out_again, &again,
	    &why_again) == o && again.outcome == o && same(out, out_again) &&
	    strcmp(match.registry, again.registry) == 0 &&
	    strcmp(match.source, again.source) == 0 && same(why, why_again),
	    "\"%.*s\" answered %s %s (%s, %s), then %s %s (%s, %s)", (int)len,
	    image, outcome_name(o), out != NULL ? out : why != NULL ? why : "",
	    match.registry, match.source, outcome_name(again.outcome),
	    out_again != NULL ? out_again : why_again != NULL ? why_again : "",
	    again.registry, again.source);
	if (o != MIRROR_REWRITTEN)
		goto end;

	if (imageref_parse(out, strlen(out), &res, &why) != 0)
		FUZZ_REQUIRE(0, "\"%.*s\" rewritten to \"%s\", no valid "
		    "reference: %s", (int)len, image, out, why);
	FUZZ_REQUIRE(in->tag == NULL ? res->tag == NULL :
	    res->tag != NULL && strcmp(in->tag, res->tag) == 0,
	    "\"%.*s\" rewritten to \"%s\": the tag changed", (int)len, image,
	    out);
	FUZZ_REQUIRE(in->digest == NULL ? res->digest == NULL :
	    res->digest != NULL && strcmp(in->digest, res->digest) == 0,
	    "\"%.*s\" rewritten to \"%s\": the digest changed", (int)len,
	    image, out);

	/* mirror.c: an image under a target is MIRROR_ALREADY. */
	o2 = mirror_rewrite(m, out, strlen(out), &out2, &match2, &why2);
	FUZZ_REQUIRE(o2 == MIRROR_ALREADY || (o2 == MIRROR_REWRITTEN &&
	    strcmp(out, out2) == 0), "\"%.*s\" rewritten to \"%s\", which "
	    "then gives %s%s%s", (int)len, image, out, outcome_name(o2),
	    o2 == MIRROR_REWRITTEN ? " " : why2 != NULL ? ": " : "",
	    o2 == MIRROR_REWRITTEN ? out2 : why2 != NULL ? why2 : "");
end:
	imageref_free(in);
	imageref_free(res);
	free(out);
	free(out_again);
	free(why_again);
	free(out2);
	free(why);
	free(why2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mirror	*m = NULL;
	const char	*s = (const char *)data, *p, *end, *nl;
	char		*cause = NULL, *image;
	size_t		 i, n;
	int		 lines = 0;

	if (config_load_buffer(NAME, s, size, &m, &cause) != 0) {
		FUZZ_REQUIRE(m == NULL, "*out set by a refused table");
		FUZZ_REQUIRE(cause != NULL && well_formed_cause(cause),
		    "malformed cause \"%s\"", cause != NULL ? cause : "NULL");
		goto end;
	}
	FUZZ_REQUIRE(m != NULL, "loaded without a table");
	FUZZ_REQUIRE(cause == NULL, "loaded, with a cause \"%s\"", cause);
	(void)mirror_rule_count(m);
	(void)mirror_namespace_excluded(m, "kube-system");

	for (i = 0; i < sizeof images / sizeof images[0]; i++)
		check_rewrite(m, images[i], strlen(images[i]));
	for (p = s, end = s + size; p < end && lines < IMG_MAX; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n >= strlen(IMG_PREFIX) &&
		    memcmp(p, IMG_PREFIX, strlen(IMG_PREFIX)) == 0) {
			/* A copy of its own: ASan sees a read past its end. */
			n -= strlen(IMG_PREFIX);
			image = xmalloc(n);
			memcpy(image, p + strlen(IMG_PREFIX), n);
			check_rewrite(m, image, n);
			free(image);
			lines++;
		}
	}
end:
	free(cause);
	mirror_free(m);
	return (0);
}
