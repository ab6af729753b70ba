/* t_mirror.c: the mirror table: priority, boundaries, {registry}, idempotency. */
#include "common.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memo.h"
#include "mirror.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])
#define DIGEST		"sha256:0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"

struct def {
	const char	*source;
	const char	*target;	/* NULL: leave alone */
};

/* The table of design.md, with the catch-all. */
static const struct def design[] = {
	{ "gcr.io", "my.internal.repo" },
	{ "k8s.gcr.io", "my.internal.repo/k8s" },
	{ "docker.io", "my.internal.repo/dockerhub" },
	{ "docker.io/bitnami", "harbor.internal/bitnami" },
	{ "*.gcr.io", "my.internal.repo/{registry}" },
	{ "docker.io/mycompany", NULL },
	{ "*", "my.internal.repo/{registry}" },
};

struct expect {
	const char		*image;
	enum mirror_outcome	 outcome;
	const char		*out;		/* for MIRROR_REWRITTEN */
	const char		*source;	/* the rule expected in match */
};

static struct mirror *
load(const struct def *defs, size_t n)
{
	struct mirror	*m = mirror_new();
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (mirror_add(m, defs[i].source, defs[i].target, &cause) != 0)
			ck_abort_msg("mirror_add(%s): %s", defs[i].source, cause);
	}
	ck_assert_uint_eq(mirror_rule_count(m), n);
	return (m);
}

static void
check_one(const struct mirror *m, const struct expect *e)
{
	struct mirror_match	 mm;
	char			*out = NULL, *cause = NULL;
	enum mirror_outcome	 o;

	o = mirror_rewrite(m, e->image, strlen(e->image), &out, &mm, &cause);
	ck_assert_msg(o == e->outcome, "%s: outcome %d, expected %d (%s)",
	    e->image, o, e->outcome, cause != NULL ? cause : "");
	ck_assert_int_eq(mm.outcome, o);
	if (o == MIRROR_REWRITTEN) {
		ck_assert_ptr_nonnull(out);
		ck_assert_msg(strcmp(out, e->out) == 0, "%s: got %s, expected %s",
		    e->image, out, e->out);
	} else
		ck_assert_ptr_null(out);
	if (o == MIRROR_INVALID || o == MIRROR_REFUSED)
		ck_assert_ptr_nonnull(cause);
	else
		ck_assert_ptr_null(cause);
	if (e->source != NULL)
		ck_assert_msg(strcmp(mm.source, e->source) == 0,
		    "%s: source \"%s\", expected \"%s\"", e->image, mm.source,
		    e->source);
	free(out);
	free(cause);
}

/*
 * Every expectation three ways: worked out afresh (the memo off), then
 * with the memo, when it first sees each image and when it sees it again.
 */
static void
check_all(const struct def *defs, size_t ndefs, const struct expect *e,
    size_t n)
{
	struct mirror	*m = load(defs, ndefs);
	size_t		 i;
	int		 pass;

	mirror_set_memo(m, 0);
	for (i = 0; i < n; i++)
		check_one(m, &e[i]);
	mirror_set_memo(m, 1);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			check_one(m, &e[i]);
	mirror_free(m);
}

START_TEST(t_design_table)
{
	static const struct expect e[] = {
		{ "gcr.io/sgryczan/rocket:latest", MIRROR_REWRITTEN,
		  "my.internal.repo/sgryczan/rocket:latest", "gcr.io" },
		{ "nginx", MIRROR_REWRITTEN,
		  "my.internal.repo/dockerhub/library/nginx", "docker.io" },
		{ "library/nginx:1.25", MIRROR_REWRITTEN,
		  "my.internal.repo/dockerhub/library/nginx:1.25", "docker.io" },
		{ "docker.io/nginx", MIRROR_REWRITTEN,
		  "my.internal.repo/dockerhub/library/nginx", "docker.io" },
		{ "index.docker.io/nginx", MIRROR_REWRITTEN,
		  "my.internal.repo/dockerhub/library/nginx", "docker.io" },
		{ "k8s.gcr.io/pause:3.9", MIRROR_REWRITTEN,
		  "my.internal.repo/k8s/pause:3.9", "k8s.gcr.io" },
		{ "bitnami/redis:7.2", MIRROR_REWRITTEN,
		  "harbor.internal/bitnami/redis:7.2", "docker.io/bitnami" },
		{ "docker.io/bitnami/charts/redis", MIRROR_REWRITTEN,
		  "harbor.internal/bitnami/charts/redis", "docker.io/bitnami" },
		{ "eu.gcr.io/team/app", MIRROR_REWRITTEN,
		  "my.internal.repo/eu.gcr.io/team/app", "*.gcr.io" },
		{ "mycompany/app:1", MIRROR_LEFT_ALONE, NULL,
		  "docker.io/mycompany" },
		{ "docker.io/mycompany/team/app", MIRROR_LEFT_ALONE, NULL,
		  "docker.io/mycompany" },
		{ "quay.io/prometheus/prometheus:v2.45.0", MIRROR_REWRITTEN,
		  "my.internal.repo/quay.io/prometheus/prometheus:v2.45.0",
		  "*" },
		{ "my.internal.repo/team/app:2.0", MIRROR_ALREADY, NULL, "" },
		{ "harbor.internal/bitnami/redis", MIRROR_ALREADY, NULL, "" },
	};

	check_all(design, NITEMS(design), e, NITEMS(e));
}
END_TEST

START_TEST(t_boundaries)
{
	static const struct def d[] = {
		{ "docker.io/bit", "a.example/bit" },
		{ "docker.io/library/nginx", "a.example/nginx" },
		{ "gcr.io/team", "a.example/team" },
		{ "gcr.io/team/sub", "b.example/sub" },
		{ "ghcr.io", "c.example/ghcr" },
	};
	static const struct expect e[] = {
		/* A prefix that stops inside a component does not match. */
		{ "docker.io/bitnami/redis", MIRROR_NO_RULE, NULL, "" },
		{ "docker.io/bit/redis", MIRROR_REWRITTEN,
		  "a.example/bit/redis", "docker.io/bit" },
		/* One component: "docker.io/library/bit". */
		{ "docker.io/bit", MIRROR_NO_RULE, NULL, "" },
		/* The source names the whole repository: the rest is empty. */
		{ "nginx:1.25", MIRROR_REWRITTEN, "a.example/nginx:1.25",
		  "docker.io/library/nginx" },
		{ "nginx-extra", MIRROR_NO_RULE, NULL, "" },
		{ "library/nginx/sub", MIRROR_REWRITTEN, "a.example/nginx/sub",
		  "docker.io/library/nginx" },
		{ "gcr.io/teams/x", MIRROR_NO_RULE, NULL, "" },
		{ "gcr.io/team/x", MIRROR_REWRITTEN, "a.example/team/x",
		  "gcr.io/team" },
		{ "gcr.io/team/sub/x", MIRROR_REWRITTEN, "b.example/sub/x",
		  "gcr.io/team/sub" },
		{ "gcr.io/team/subx/x", MIRROR_REWRITTEN,
		  "a.example/team/subx/x", "gcr.io/team" },
		/* A host is a whole component too. */
		{ "ghcr.io.evil.example/x", MIRROR_NO_RULE, NULL, "" },
		{ "evil-ghcr.io/x", MIRROR_NO_RULE, NULL, "" },
		{ "ghcr.io:5000/x", MIRROR_NO_RULE, NULL, "" },
		{ "ghcr.io/x/y", MIRROR_REWRITTEN, "c.example/ghcr/x/y",
		  "ghcr.io" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

START_TEST(t_priority)
{
	static const struct def d[] = {
		{ "*", "any.example" },
		{ "*.gcr.io", "wild.example" },
		{ "*.eu.gcr.io", "wildeu.example" },
		{ "eu.gcr.io/team", "exact.example" },
		{ "gcr.io", "apex.example" },
		{ "localhost:5000", "port.example" },
		{ "*.corp.example:5000", "corpport.example" },
	};
	static const struct expect e[] = {
		{ "gcr.io/a", MIRROR_REWRITTEN, "apex.example/a", "gcr.io" },
		/* A wildcard is for subdomains, never the apex. */
		{ "us.gcr.io/a", MIRROR_REWRITTEN, "wild.example/a",
		  "*.gcr.io" },
		{ "x.y.gcr.io/a", MIRROR_REWRITTEN, "wild.example/a",
		  "*.gcr.io" },
		/* The most specific wildcard wins. */
		{ "eu.gcr.io/a", MIRROR_REWRITTEN, "wild.example/a",
		  "*.gcr.io" },
		{ "x.eu.gcr.io/a", MIRROR_REWRITTEN, "wildeu.example/a",
		  "*.eu.gcr.io" },
		/* An exact source beats any wildcard. */
		{ "eu.gcr.io/team/a", MIRROR_REWRITTEN, "exact.example/a",
		  "eu.gcr.io/team" },
		{ "quay.io/a", MIRROR_REWRITTEN, "any.example/a", "*" },
		{ "gcr.io.example/a", MIRROR_REWRITTEN, "any.example/a", "*" },
		/* The port is part of the registry. */
		{ "localhost:5000/a", MIRROR_REWRITTEN, "port.example/a",
		  "localhost:5000" },
		{ "localhost/a", MIRROR_REWRITTEN, "any.example/a", "*" },
		{ "localhost:5001/a", MIRROR_REWRITTEN, "any.example/a", "*" },
		{ "r.corp.example:5000/a", MIRROR_REWRITTEN,
		  "corpport.example/a", "*.corp.example:5000" },
		{ "r.corp.example/a", MIRROR_REWRITTEN, "any.example/a", "*" },
		{ "nginx", MIRROR_REWRITTEN, "any.example/library/nginx", "*" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

START_TEST(t_case_insensitive_hosts)
{
	static const struct def d[] = {
		{ "GCR.io", "Mirror.Example" },
		{ "QUAY.io/team", "q.example" },
		{ "*.ECR.aws", "ecr.example/{registry}" },
		{ "INDEX.docker.io/bitnami", "b.example" },
	};
	static const struct expect e[] = {
		{ "gcr.io/a", MIRROR_REWRITTEN, "mirror.example/a", "GCR.io" },
		{ "GCR.IO/a", MIRROR_REWRITTEN, "mirror.example/a", "GCR.io" },
		{ "Gcr.Io/a/b:TAG", MIRROR_REWRITTEN, "mirror.example/a/b:TAG",
		  "GCR.io" },
		{ "quay.io/team/x", MIRROR_REWRITTEN, "q.example/x",
		  "QUAY.io/team" },
		/* {registry} is the host lowercased. */
		{ "Public.ECR.AWS/x", MIRROR_REWRITTEN,
		  "ecr.example/public.ecr.aws/x", "*.ECR.aws" },
		{ "bitnami/redis", MIRROR_REWRITTEN, "b.example/redis",
		  "INDEX.docker.io/bitnami" },
		/* The mirror's own host, in any case, is already mirrored. */
		{ "MIRROR.example/x", MIRROR_ALREADY, NULL, "" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

START_TEST(t_registry_token)
{
	static const struct def d[] = {
		{ "*.gcr.io", "mirror.example/{registry}" },
		{ "quay.io", "mirror.example/{registry}/hub" },
		{ "ghcr.io", "{registry}.mirror.example" },
		{ "registry.k8s.io", "{registry}.mirror.example:8443/k8s" },
		{ "*", "mirror.example/{registry}" },
	};
	static const struct expect e[] = {
		{ "eu.gcr.io/a/b:1", MIRROR_REWRITTEN,
		  "mirror.example/eu.gcr.io/a/b:1", "*.gcr.io" },
		{ "quay.io/a/b", MIRROR_REWRITTEN,
		  "mirror.example/quay.io/hub/a/b", "quay.io" },
		{ "ghcr.io/a/b", MIRROR_REWRITTEN,
		  "ghcr.io.mirror.example/a/b", "ghcr.io" },
		{ "registry.k8s.io/pause:3.9", MIRROR_REWRITTEN,
		  "registry.k8s.io.mirror.example:8443/k8s/pause:3.9",
		  "registry.k8s.io" },
		{ "nginx", MIRROR_REWRITTEN,
		  "mirror.example/docker.io/library/nginx", "*" },
		/* A host:port cannot be a path component. */
		{ "localhost:5000/a", MIRROR_REFUSED, NULL, "*" },
		{ "[::1]/a", MIRROR_REFUSED, NULL, "*" },
		/* Already under one of the targets. */
		{ "mirror.example/team/app:2.0", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/quay.io/hub/x", MIRROR_ALREADY, NULL, "" },
		{ "x.mirror.example/y", MIRROR_ALREADY, NULL, "" },
		{ "a.b.mirror.example:8443/k8s/y", MIRROR_ALREADY, NULL, "" },
		/* The leading labels must not be empty: this goes to "*". */
		{ "mirror.example:8443/k8s/y", MIRROR_REFUSED, NULL, "*" },
	};
	struct mirror	*m;
	char		*out = NULL, *cause = NULL;

	check_all(d, NITEMS(d), e, NITEMS(e));

	/* The cause names the rule and the reference it would have made. */
	m = load(d, NITEMS(d));
	ck_assert_int_eq(mirror_rewrite(m, "localhost:5000/a", 16, &out, NULL,
	    &cause), MIRROR_REFUSED);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(cause, "rule \"*\": the result "
	    "\"mirror.example/localhost:5000/a\" is not a valid reference: "
	    "repository component \"localhost:5000\" is not valid (lowercase "
	    "letters and digits, separated by one '.', one or two '_', or "
	    "'-'s)");
	free(cause);
	mirror_free(m);
}
END_TEST

START_TEST(t_registry_token_host_label)
{
	static const struct def d[] = {
		{ "*", "{registry}.mirror.example" },
	};
	static const struct expect e[] = {
		{ "gcr.io/a", MIRROR_REWRITTEN, "gcr.io.mirror.example/a", "*" },
		{ "nginx", MIRROR_REWRITTEN,
		  "docker.io.mirror.example/library/nginx", "*" },
		/* The mirror itself is no subdomain of itself. */
		{ "mirror.example/a", MIRROR_REWRITTEN,
		  "mirror.example.mirror.example/a", "*" },
		{ "gcr.io.mirror.example/a", MIRROR_ALREADY, NULL, "" },
		/* "host:port." is no host. */
		{ "localhost:5000/a", MIRROR_REFUSED, NULL, "*" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

/* What follows {registry} in a target matches whole components too. */
START_TEST(t_registry_token_rest)
{
	static const struct def d[] = {
		{ "quay.io", "mirror.example/{registry}/hub" },
		{ "ghcr.io", "{registry}.m.example/gh" },
		{ "*", "{registry}/mirror" },
	};
	static const struct expect e[] = {
		{ "mirror.example/quay.io/hub/x", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/other.io/hub", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/quay.io/hubble/x", MIRROR_REWRITTEN,
		  "mirror.example/mirror/quay.io/hubble/x", "*" },
		{ "mirror.example/hub/x", MIRROR_REWRITTEN,
		  "mirror.example/mirror/hub/x", "*" },
		{ "x.m.example/gh/a", MIRROR_ALREADY, NULL, "" },
		{ "x.m.example/ghost/a", MIRROR_REWRITTEN,
		  "x.m.example/mirror/ghost/a", "*" },
		/* "{registry}" alone as the host: any host, then "mirror". */
		{ "gcr.io/mirror/a", MIRROR_ALREADY, NULL, "" },
		{ "gcr.io/mirrors/a", MIRROR_REWRITTEN,
		  "gcr.io/mirror/mirrors/a", "*" },
	};
	struct mirror	*m;
	char		*out = NULL, *cause = NULL;

	check_all(d, NITEMS(d), e, NITEMS(e));

	/*
	 * A host without '.' or ':' is a registry only while it has
	 * uppercase: lowercased, it would be read as a Docker Hub path.
	 */
	m = load(d, NITEMS(d));
	ck_assert_int_eq(mirror_rewrite(m, "Upper/x", 7, &out, NULL, &cause),
	    MIRROR_REFUSED);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(cause, "rule \"*\": the result \"upper/mirror/x\" "
	    "would be read as an image of registry \"docker.io\"");
	free(cause);
	mirror_free(m);
}
END_TEST

/*
 * Targets with "{registry}" that share the part before it (or after it,
 * in the host): an image lies under one of them when its path after the
 * registry starts with that target's rest, component by component.
 */
START_TEST(t_registry_token_shared)
{
	static const struct def path[] = {
		{ "s1.example", "mirror.example/{registry}/p1" },
		{ "s2.example", "mirror.example/{registry}/p2/q" },
		{ "s3.example", "mirror.example/{registry}/p3/q/r" },
	};
	static const struct expect path_e[] = {
		{ "mirror.example/any.io/p1/x", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/any.io/p1", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/any.io/p2/q/r", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/any.io/p2/q", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/any.io/p3/q/r/s", MIRROR_ALREADY, NULL, "" },
		{ "mirror.example/any.io/p2/qr", MIRROR_NO_RULE, NULL, "" },
		{ "mirror.example/any.io/p2", MIRROR_NO_RULE, NULL, "" },
		{ "mirror.example/any.io/p3/q", MIRROR_NO_RULE, NULL, "" },
		{ "mirror.example/any.io/p11/x", MIRROR_NO_RULE, NULL, "" },
		{ "mirror.example/p1/x", MIRROR_NO_RULE, NULL, "" },
		{ "s2.example/x", MIRROR_REWRITTEN,
		  "mirror.example/s2.example/p2/q/x", "s2.example" },
	};
	static const struct def host[] = {
		{ "s1.example", "{registry}.mirror.example/p1" },
		{ "s2.example", "{registry}.mirror.example/p2/q" },
	};
	static const struct expect host_e[] = {
		{ "any.mirror.example/p1/x", MIRROR_ALREADY, NULL, "" },
		{ "a.b.mirror.example/p2/q", MIRROR_ALREADY, NULL, "" },
		{ "any.mirror.example/p2/qr", MIRROR_NO_RULE, NULL, "" },
		{ "any.mirror.example/p2", MIRROR_NO_RULE, NULL, "" },
		{ "mirror.example/p1/x", MIRROR_NO_RULE, NULL, "" },
		{ "s1.example/x", MIRROR_REWRITTEN,
		  "s1.example.mirror.example/p1/x", "s1.example" },
	};

	check_all(path, NITEMS(path), path_e, NITEMS(path_e));
	check_all(host, NITEMS(host), host_e, NITEMS(host_e));
}
END_TEST

/*
 * A host far longer than any key of the table (the grammar sets no limit)
 * is still matched by its short suffixes. 4 MB, as long as a body may be:
 * a lookup that hashed every suffix of it, each whole, would not end
 * within any test's timeout.
 */
START_TEST(t_long_host)
{
	static const struct def d[] = {
		{ "*.example", "mirror.example/w" },
		{ "gcr.io", "{registry}.mirror.example" },
	};
	struct mirror	*m = load(d, NITEMS(d));
	char		*image, *out = NULL, *cause = NULL;
	size_t		 i, n = 4000000;

	image = xmalloc(n + 1);
	for (i = 0; i + 1 < n - strlen("example/x"); i += 2)
		memcpy(image + i, "a.", 2);
	strcpy(image + i, "example/x");
	ck_assert_int_eq(mirror_rewrite(m, image, strlen(image), &out, NULL,
	    &cause), MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "mirror.example/w/x");
	free(out);
	free(image);
	mirror_free(m);
}
END_TEST

START_TEST(t_null_rules)
{
	static const struct def d[] = {
		{ "docker.io", "hub.example" },
		{ "docker.io/mycompany", NULL },
		{ "docker.io/mycompany/public", "pub.example" },
		{ "*.internal.example", NULL },
		{ "*", "any.example/{registry}" },
	};
	static const struct expect e[] = {
		{ "mycompany/app", MIRROR_LEFT_ALONE, NULL,
		  "docker.io/mycompany" },
		{ "mycompanyx/app", MIRROR_REWRITTEN,
		  "hub.example/mycompanyx/app", "docker.io" },
		{ "mycompany/public/app", MIRROR_REWRITTEN,
		  "pub.example/app", "docker.io/mycompany/public" },
		{ "mycompany/publicity/app", MIRROR_LEFT_ALONE, NULL,
		  "docker.io/mycompany" },
		{ "reg.internal.example/a", MIRROR_LEFT_ALONE, NULL,
		  "*.internal.example" },
		{ "internal.example/a", MIRROR_REWRITTEN,
		  "any.example/internal.example/a", "*" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

START_TEST(t_tag_and_digest_kept)
{
	static const struct def d[] = {
		{ "gcr.io", "m.example/g" },
		{ "docker.io", "m.example/hub" },
	};
	static const struct expect e[] = {
		{ "gcr.io/a:V1.0_RC-1", MIRROR_REWRITTEN,
		  "m.example/g/a:V1.0_RC-1", "gcr.io" },
		{ "gcr.io/a@" DIGEST, MIRROR_REWRITTEN,
		  "m.example/g/a@" DIGEST, "gcr.io" },
		{ "gcr.io/a:latest@" DIGEST, MIRROR_REWRITTEN,
		  "m.example/g/a:latest@" DIGEST, "gcr.io" },
		{ "nginx:__weird.._--TAG", MIRROR_REWRITTEN,
		  "m.example/hub/library/nginx:__weird.._--TAG", "docker.io" },
		{ "nginx@sha512:" "0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef",
		  MIRROR_REWRITTEN, "m.example/hub/library/nginx@sha512:"
		  "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef", "docker.io" },
	};

	check_all(d, NITEMS(d), e, NITEMS(e));
}
END_TEST

START_TEST(t_invalid_images)
{
	struct mirror_match	 mm;
	struct mirror		*m = load(design, NITEMS(design));
	char			*out = NULL, *cause = NULL;

	ck_assert_int_eq(mirror_rewrite(m, "Nginx", 5, &out, &mm, &cause),
	    MIRROR_INVALID);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(mm.registry, "");
	ck_assert_str_eq(mm.source, "");
	free(cause);
	cause = NULL;

	ck_assert_int_eq(mirror_rewrite(m, "", 0, &out, NULL, &cause),
	    MIRROR_INVALID);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;

	/* len counts: the NUL inside is part of the image. */
	ck_assert_int_eq(mirror_rewrite(m, "nginx\0x", 7, &out, NULL, &cause),
	    MIRROR_INVALID);
	free(cause);
	cause = NULL;
	/* ...and bytes past len are not. */
	ck_assert_int_eq(mirror_rewrite(m, "nginx!!", 5, &out, NULL, &cause),
	    MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "my.internal.repo/dockerhub/library/nginx");
	free(out);
	out = NULL;

	/* Without a domain (the reference leaves "my_host.com" a path). */
	ck_assert_int_eq(mirror_rewrite(m, "my_host.com/x", 13, &out, &mm,
	    &cause), MIRROR_NO_RULE);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(mm.registry, "");

	/* A NULL cause is allowed. */
	ck_assert_int_eq(mirror_rewrite(m, "a b", 3, &out, NULL, NULL),
	    MIRROR_INVALID);
	mirror_free(m);
}
END_TEST

START_TEST(t_match_fields)
{
	struct mirror_match	 mm;
	struct mirror		*m = load(design, NITEMS(design));
	char			*out = NULL;

	ck_assert_int_eq(mirror_rewrite(m, "EU.gcr.io/a", 11, &out, &mm, NULL),
	    MIRROR_REWRITTEN);
	ck_assert_int_eq(mm.outcome, MIRROR_REWRITTEN);
	ck_assert_str_eq(mm.registry, "eu.gcr.io");
	ck_assert_str_eq(mm.source, "*.gcr.io");
	free(out);
	out = NULL;

	ck_assert_int_eq(mirror_rewrite(m, "my.internal.repo/x", 18, &out, &mm,
	    NULL), MIRROR_ALREADY);
	ck_assert_str_eq(mm.registry, "my.internal.repo");
	ck_assert_str_eq(mm.source, "");
	ck_assert_ptr_null(out);

	ck_assert_int_eq(mirror_rewrite(m, "mycompany/x", 11, &out, &mm, NULL),
	    MIRROR_LEFT_ALONE);
	ck_assert_str_eq(mm.registry, "docker.io");
	ck_assert_str_eq(mm.source, "docker.io/mycompany");
	mirror_free(m);

	m = mirror_new();
	ck_assert_int_eq(mirror_rewrite(m, "quay.io/x", 9, &out, &mm, NULL),
	    MIRROR_NO_RULE);
	ck_assert_str_eq(mm.registry, "quay.io");
	ck_assert_str_eq(mm.source, "");
	ck_assert_uint_eq(mirror_rule_count(m), 0);
	mirror_free(m);
}
END_TEST

/* Images of every shape, for the idempotency check. */
static const char *const images[] = {
	"nginx", "nginx:1.25", "library/nginx", "docker.io/nginx",
	"index.docker.io/library/nginx:1", "bitnami/redis:7",
	"docker.io/bitnami/redis", "mycompany/app", "mycompany/app/x:1",
	"gcr.io/a", "gcr.io/a/b/c:1", "GCR.IO/a", "k8s.gcr.io/pause:3.9",
	"eu.gcr.io/x/y", "a.b.gcr.io/x", "registry.k8s.io/kube-proxy:v1.29.0",
	"quay.io/prometheus/prometheus", "ghcr.io/org/app@" DIGEST,
	"localhost/app", "localhost:5000/app", "[::1]:5000/app",
	"10.0.0.1:5000/team/app:1", "public.ecr.aws/a/b",
	"my.internal.repo/team/app:2.0", "my.internal.repo/dockerhub/x",
	"my.internal.repo", "my.internal.repo/k8s/pause",
	"harbor.internal/bitnami/x", "harbor.internal/other/x",
	"mirror.example/x", "x.mirror.example/y", "Upper.Example/x/y:T",
	"gcr.io/a:t@" DIGEST, "my_host.com/x",
};

/* rewrite(rewrite(x)) == rewrite(x), and the second is "already". */
static void
check_idempotent(const struct def *defs, size_t ndefs)
{
	struct mirror		*m = load(defs, ndefs);
	enum mirror_outcome	 o, o2;
	const char		*y;
	char			*out = NULL, *out2 = NULL;
	size_t			 i;

	for (i = 0; i < NITEMS(images); i++) {
		o = mirror_rewrite(m, images[i], strlen(images[i]), &out, NULL,
		    NULL);
		y = o == MIRROR_REWRITTEN ? out : images[i];
		o2 = mirror_rewrite(m, y, strlen(y), &out2, NULL, NULL);
		ck_assert_msg(o2 != MIRROR_REWRITTEN, "%s -> %s -> %s",
		    images[i], y, out2);
		if (o == MIRROR_REWRITTEN)
			ck_assert_msg(o2 == MIRROR_ALREADY, "%s -> %s: %d",
			    images[i], y, o2);
		else
			ck_assert_int_eq(o2, o);
		free(out);
		out = NULL;
	}
	mirror_free(m);
}

START_TEST(t_idempotent)
{
	static const struct def path_token[] = {
		{ "*", "mirror.example/{registry}" },
		{ "docker.io", "mirror.example/{registry}/hub" },
	};
	static const struct def host_token[] = {
		{ "*", "{registry}.mirror.example" },
		{ "gcr.io", "{registry}.mirror.example:5000/g" },
	};
	static const struct def plain[] = {
		{ "gcr.io", "mirror.example" },
		{ "*.gcr.io", "mirror.example/sub" },
		{ "docker.io", "mirror.example/hub" },
		{ "quay.io/prometheus", "mirror.example/hub/prom" },
	};

	check_idempotent(design, NITEMS(design));
	check_idempotent(path_token, NITEMS(path_token));
	check_idempotent(host_token, NITEMS(host_token));
	check_idempotent(plain, NITEMS(plain));
}
END_TEST

/*
 * A target on Docker Hub with one path component yields, for an image that
 * is the whole source, a result that reads as "docker.io/library/...":
 * outside the target, so a second review would rewrite it again. Refused.
 */
START_TEST(t_result_outside_target)
{
	static const struct def defs[] = {
		{ "docker.io", "my.internal.repo/dockerhub" },
		{ "quay.io/foo/bar", "docker.io/bar" },
		{ "r.example/b", "docker.io/g" },
	};
	static const struct expect cases[] = {
		{ "quay.io/foo/bar:1", MIRROR_REFUSED, NULL, "quay.io/foo/bar" },
		{ "r.example/b", MIRROR_REFUSED, NULL, "r.example/b" },
		{ "quay.io/foo/bar/x:2", MIRROR_REWRITTEN, "docker.io/bar/x:2",
		    "quay.io/foo/bar" },
		{ "docker.io/bar/x:2", MIRROR_ALREADY, NULL, NULL },
	};
	struct mirror	*m = load(defs, NITEMS(defs));
	size_t		 i;

	for (i = 0; i < NITEMS(cases); i++)
		check_one(m, &cases[i]);
	check_idempotent(defs, NITEMS(defs));
	mirror_free(m);
}
END_TEST

START_TEST(t_invalid_sources)
{
	static const struct {
		const char	*source;
		const char	*cause;
	} bad[] = {
		{ "", "invalid source \"\": it is empty" },
		{ "*.", "invalid source \"*.\": \"*.\" needs a domain after it "
		  "(\"*.gcr.io\")" },
		{ "*gcr.io", "invalid source \"*gcr.io\": '*' is allowed only "
		  "as the whole source \"*\" or as a leading \"*.\" of a "
		  "source" },
		{ "gcr.*.io", "invalid source \"gcr.*.io\": '*' is allowed "
		  "only as the whole source \"*\" or as a leading \"*.\" of a "
		  "source" },
		{ "*.*.io", "invalid source \"*.*.io\": '*' is allowed only as "
		  "the whole source \"*\" or as a leading \"*.\" of a source" },
		{ "**", "invalid source \"**\": '*' is allowed only as the "
		  "whole source \"*\" or as a leading \"*.\" of a source" },
		{ "*.gcr.io/team", "invalid source \"*.gcr.io/team\": a \"*.\" "
		  "wildcard names hosts only, not a path" },
		{ "*.[::1]", "invalid source \"*.[::1]\": a \"*.\" wildcard "
		  "needs a domain name, not an IPv6 address" },
		{ "*.-bad.io", "invalid source \"*.-bad.io\": the registry host "
		  "is not a valid host name (letters, digits and '-', in "
		  "labels separated by '.')" },
		{ "gcr.io/Team", "invalid source \"gcr.io/Team\": the path must "
		  "be lowercase (only the registry host is case-insensitive)" },
		{ "gcr.io/a:1.0", "invalid source \"gcr.io/a:1.0\": a tag (':') "
		  "has no place here: name a registry or repository prefix" },
		{ "gcr.io/a@" DIGEST, "invalid source \"gcr.io/a@" DIGEST "\": "
		  "a digest ('@') has no place here: name a registry or "
		  "repository prefix" },
		{ "gcr.io:latest", "invalid source \"gcr.io:latest\": the port "
		  "after ':' is not a number (a source or target names no "
		  "tag)" },
		{ "gcr.io:", "invalid source \"gcr.io:\": the port after ':' is "
		  "empty" },
		{ "gcr.io/", "invalid source \"gcr.io/\": the path has an empty "
		  "component (\"//\" or a trailing \"/\")" },
		{ "gcr.io//a", "invalid source \"gcr.io//a\": the path has an "
		  "empty component (\"//\" or a trailing \"/\")" },
		{ "/a", "invalid source \"/a\": the registry host is empty" },
		{ "gcr..io", "invalid source \"gcr..io\": the registry host is "
		  "not a valid host name (letters, digits and '-', in labels "
		  "separated by '.')" },
		{ "my_host.com", "invalid source \"my_host.com\": the registry "
		  "host is not a valid host name (letters, digits and '-', in "
		  "labels separated by '.')" },
		{ "gcr.io/a_-b", "invalid source \"gcr.io/a_-b\": a path "
		  "component is not valid (lowercase letters and digits, "
		  "separated by one '.', one or two '_', or '-'s)" },
		{ "bitnami", "invalid source \"bitnami\": \"bitnami\" is no "
		  "registry host (an image's first component names its "
		  "registry only with a '.' or a ':port', or as \"localhost\"; "
		  "Docker Hub repositories are under \"docker.io/\")" },
		{ "gcr.io/{registry}", "invalid source \"gcr.io/{registry}\": "
		  "\"{registry}\" may appear in a target only" },
		{ "[::1", "invalid source \"[::1\": the bracketed IPv6 address "
		  "is not closed" },
		{ "[::g]", "invalid source \"[::g]\": the bracketed IPv6 "
		  "address is not valid" },
		{ "gcr.io io", "invalid source \"gcr.io io\": the registry host "
		  "is not a valid host name (letters, digits and '-', in "
		  "labels separated by '.')" },
	};
	struct mirror	*m = mirror_new();
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NITEMS(bad); i++) {
		ck_assert_msg(mirror_add(m, bad[i].source, "m.example",
		    &cause) == -1, "%s accepted", bad[i].source);
		ck_assert_str_eq(cause, bad[i].cause);
		free(cause);
		cause = NULL;
		/* The source is refused whatever the target. */
		ck_assert_int_eq(mirror_add(m, bad[i].source, NULL, NULL), -1);
	}
	ck_assert_uint_eq(mirror_rule_count(m), 0);
	mirror_free(m);
}
END_TEST

START_TEST(t_valid_sources)
{
	static const char *const good[] = {
		"*", "*.gcr.io", "*.io", "*.Corp.Example:5000", "gcr.io",
		"GCR.IO", "localhost", "localhost:5000", "[::1]", "[::1]:5000",
		"10.0.0.1", "10.0.0.1:5000/team", "docker.io/library/nginx",
		"docker.io/a__b/c-d/e.f", "a-b.example/x",
	};
	struct mirror	*m;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NITEMS(good); i++) {
		m = mirror_new();
		ck_assert_msg(mirror_add(m, good[i], "m.example", &cause) == 0,
		    "%s: %s", good[i], cause);
		mirror_free(m);
	}
}
END_TEST

START_TEST(t_invalid_targets)
{
	static const struct {
		const char	*target;
		const char	*cause;
	} bad[] = {
		{ "", "invalid target \"\": it is empty (write ~ to leave the "
		  "images alone)" },
		{ "1234", "invalid target \"1234\": \"1234\" is no registry "
		  "host (an image's first component names its registry only "
		  "with a '.' or a ':port', or as \"localhost\")" },
		{ "mirror/dockerhub", "invalid target \"mirror/dockerhub\": "
		  "\"mirror\" is no registry host (an image's first component "
		  "names its registry only with a '.' or a ':port', or as "
		  "\"localhost\")" },
		{ "m.example/a:1", "invalid target \"m.example/a:1\": a tag "
		  "(':') has no place here: name a registry or repository "
		  "prefix" },
		{ "m.example/a@" DIGEST, "invalid target \"m.example/a@" DIGEST
		  "\": a digest ('@') has no place here: name a registry or "
		  "repository prefix" },
		{ "m.example/A", "invalid target \"m.example/A\": the path must "
		  "be lowercase (only the registry host is case-insensitive)" },
		{ "m.example/", "invalid target \"m.example/\": the path has an "
		  "empty component (\"//\" or a trailing \"/\")" },
		{ "*", "invalid target \"*\": '*' is allowed only as the whole "
		  "source \"*\" or as a leading \"*.\" of a source" },
		{ "m.example/{registry}/{registry}", "invalid target "
		  "\"m.example/{registry}/{registry}\": \"{registry}\" may "
		  "appear only once" },
		{ "m.example/x{registry}", "invalid target "
		  "\"m.example/x{registry}\": \"{registry}\" in the path must "
		  "be a whole component (\"mirror.example/{registry}/\")" },
		{ "m.example/{registry}x", "invalid target "
		  "\"m.example/{registry}x\": \"{registry}\" in the path must "
		  "be a whole component (\"mirror.example/{registry}/\")" },
		{ "m.{registry}.example", "invalid target "
		  "\"m.{registry}.example\": \"{registry}\" in the host must be "
		  "its leading labels (\"{registry}.mirror.example\")" },
		{ "{registry}x.example", "invalid target "
		  "\"{registry}x.example\": \"{registry}\" in the host must be "
		  "its leading labels (\"{registry}.mirror.example\")" },
		{ "{registry}.-x", "invalid target \"{registry}.-x\": the "
		  "registry host is not a valid host name (letters, digits and "
		  "'-', in labels separated by '.')" },
		{ "m.example/{reg}", "invalid target \"m.example/{reg}\": a path "
		  "component is not valid (lowercase letters and digits, "
		  "separated by one '.', one or two '_', or '-'s)" },
		{ "{registry", "invalid target \"{registry\": the registry host "
		  "is not a valid host name (letters, digits and '-', in "
		  "labels separated by '.')" },
		{ "m.example:x", "invalid target \"m.example:x\": the port "
		  "after ':' is not a number (a source or target names no "
		  "tag)" },
	};
	struct mirror	*m = mirror_new();
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NITEMS(bad); i++) {
		ck_assert_msg(mirror_add(m, "gcr.io", bad[i].target, &cause) ==
		    -1, "%s accepted", bad[i].target);
		ck_assert_str_eq(cause, bad[i].cause);
		free(cause);
		cause = NULL;
	}
	ck_assert_uint_eq(mirror_rule_count(m), 0);
	/* Nothing half-added: the source is still free. */
	ck_assert_int_eq(mirror_add(m, "gcr.io", "m.example", NULL), 0);
	mirror_free(m);
}
END_TEST

START_TEST(t_duplicates)
{
	static const struct {
		const char	*first, *second;
	} dup[] = {
		{ "gcr.io", "gcr.io" },
		{ "gcr.io", "GCR.io" },
		{ "docker.io", "index.docker.io" },
		{ "docker.io/bitnami", "Index.Docker.IO/bitnami" },
		{ "*.gcr.io", "*.GCR.IO" },
		{ "*", "*" },
	};
	struct mirror	*m;
	char		*cause = NULL, *want;
	size_t		 i;

	for (i = 0; i < NITEMS(dup); i++) {
		m = mirror_new();
		ck_assert_int_eq(mirror_add(m, dup[i].first, NULL, NULL), 0);
		ck_assert_int_eq(mirror_add(m, dup[i].second, "m.example",
		    &cause), -1);
		want = xasprintf("duplicate source \"%s\": the table already "
		    "has \"%s\"", dup[i].second, dup[i].first);
		ck_assert_str_eq(cause, want);
		free(want);
		free(cause);
		cause = NULL;
		ck_assert_uint_eq(mirror_rule_count(m), 1);
		mirror_free(m);
	}

	/* Not duplicates: apex and wildcard, wildcard and "*", two paths. */
	m = mirror_new();
	ck_assert_int_eq(mirror_add(m, "gcr.io", "a.example", NULL), 0);
	ck_assert_int_eq(mirror_add(m, "*.gcr.io", "a.example", NULL), 0);
	ck_assert_int_eq(mirror_add(m, "*", "a.example", NULL), 0);
	ck_assert_int_eq(mirror_add(m, "gcr.io/a", "b.example", NULL), 0);
	ck_assert_int_eq(mirror_add(m, "gcr.io/a/b", NULL, NULL), 0);
	ck_assert_int_eq(mirror_add(m, "*.index.docker.io", NULL, NULL), 0);
	ck_assert_int_eq(mirror_add(m, "*.docker.io", NULL, NULL), 0);
	ck_assert_uint_eq(mirror_rule_count(m), 7);
	mirror_free(m);
}
END_TEST

START_TEST(t_large_table)
{
	struct mirror	*m = mirror_new();
	char		 src[64], tgt[64], img[128], want[128];
	char		*out = NULL;
	int		 i;

	/* 10,000 rules: 4,000 hosts, 4,000 paths, 2,000 wildcards. */
	for (i = 0; i < 4000; i++) {
		snprintf(src, sizeof src, "r%d.example.com", i);
		snprintf(tgt, sizeof tgt, "m.example/h%d", i);
		ck_assert_int_eq(mirror_add(m, src, tgt, NULL), 0);
		snprintf(src, sizeof src, "docker.io/team%d", i);
		snprintf(tgt, sizeof tgt, "m.example/t%d", i);
		ck_assert_int_eq(mirror_add(m, src, i % 7 == 0 ? NULL : tgt,
		    NULL), 0);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(src, sizeof src, "*.w%d.example.org", i);
		snprintf(tgt, sizeof tgt, "m.example/w%d/{registry}", i);
		ck_assert_int_eq(mirror_add(m, src, tgt, NULL), 0);
	}
	ck_assert_uint_eq(mirror_rule_count(m), 10000);

	for (i = 0; i < 4000; i += 37) {
		snprintf(img, sizeof img, "R%d.example.com/a/b:%d", i, i);
		snprintf(want, sizeof want, "m.example/h%d/a/b:%d", i, i);
		ck_assert_int_eq(mirror_rewrite(m, img, strlen(img), &out,
		    NULL, NULL), MIRROR_REWRITTEN);
		ck_assert_str_eq(out, want);
		free(out);
		out = NULL;

		snprintf(img, sizeof img, "team%d/app", i);
		snprintf(want, sizeof want, "m.example/t%d/app", i);
		ck_assert_int_eq(mirror_rewrite(m, img, strlen(img), &out,
		    NULL, NULL), i % 7 == 0 ? MIRROR_LEFT_ALONE :
		    MIRROR_REWRITTEN);
		if (i % 7 != 0)
			ck_assert_str_eq(out, want);
		free(out);
		out = NULL;

		/* Already under the target of rule i (null rules have none). */
		ck_assert_int_eq(mirror_rewrite(m, want, strlen(want), &out,
		    NULL, NULL), i % 7 == 0 ? MIRROR_NO_RULE : MIRROR_ALREADY);
	}
	for (i = 0; i < 2000; i += 41) {
		snprintf(img, sizeof img, "x.w%d.example.org/app", i);
		snprintf(want, sizeof want, "m.example/w%d/x.w%d.example.org/app",
		    i, i);
		ck_assert_int_eq(mirror_rewrite(m, img, strlen(img), &out,
		    NULL, NULL), MIRROR_REWRITTEN);
		ck_assert_str_eq(out, want);
		free(out);
		out = NULL;
		/* The apex is not covered. */
		snprintf(img, sizeof img, "w%d.example.org/app", i);
		ck_assert_int_eq(mirror_rewrite(m, img, strlen(img), &out,
		    NULL, NULL), MIRROR_NO_RULE);
	}
	ck_assert_int_eq(mirror_rewrite(m, "r4000.example.com/a", 19, &out,
	    NULL, NULL), MIRROR_NO_RULE);
	ck_assert_int_eq(mirror_rewrite(m, "team4000/a", 10, &out, NULL, NULL),
	    MIRROR_NO_RULE);
	mirror_free(m);
}
END_TEST

START_TEST(t_namespaces)
{
	struct mirror	*m = mirror_new();
	char		*cause = NULL, name[80];
	int		 i;

	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-system"), 0);
	ck_assert_int_eq(mirror_exclude_namespace(m, "kube-system", &cause),
	    0);
	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-system"), 1);
	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-syste"), 0);
	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-system2"), 0);
	ck_assert_int_eq(mirror_namespace_excluded(m, "Kube-System"), 0);
	ck_assert_int_eq(mirror_namespace_excluded(m, ""), 0);
	ck_assert_int_eq(mirror_namespace_excluded(m, NULL), 0);

	ck_assert_int_eq(mirror_exclude_namespace(m, "kube-system", &cause),
	    -1);
	ck_assert_str_eq(cause, "duplicate namespace \"kube-system\"");
	free(cause);
	cause = NULL;

	ck_assert_int_eq(mirror_exclude_namespace(m, "Kube-System", &cause),
	    -1);
	ck_assert_str_eq(cause, "invalid namespace \"Kube-System\": a "
	    "namespace name is 1 to 63 lowercase letters, digits and '-', "
	    "starting and ending with a letter or digit");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(mirror_exclude_namespace(m, "", NULL), -1);
	ck_assert_int_eq(mirror_exclude_namespace(m, "-a", NULL), -1);
	ck_assert_int_eq(mirror_exclude_namespace(m, "a-", NULL), -1);
	ck_assert_int_eq(mirror_exclude_namespace(m, "a.b", NULL), -1);
	memset(name, 'a', 64);
	name[64] = '\0';
	ck_assert_int_eq(mirror_exclude_namespace(m, name, NULL), -1);
	name[63] = '\0';
	ck_assert_int_eq(mirror_exclude_namespace(m, name, NULL), 0);

	/* Enough to grow the table a few times. */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "ns-%d", i);
		ck_assert_int_eq(mirror_exclude_namespace(m, name, NULL), 0);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "ns-%d", i);
		ck_assert_int_eq(mirror_namespace_excluded(m, name), 1);
	}
	ck_assert_int_eq(mirror_namespace_excluded(m, "ns-3000"), 0);
	/* Namespaces are no rules. */
	ck_assert_uint_eq(mirror_rule_count(m), 0);
	mirror_free(m);
	mirror_free(NULL);
}
END_TEST

/* The whole answer for image, as one string to compare. */
static char *
answer(const struct mirror *m, const char *image)
{
	struct mirror_match	 mm;
	char			*out = NULL, *cause = NULL, *s;

	memset(&mm, 0x5a, sizeof mm);
	mirror_rewrite(m, image, strlen(image), &out, &mm, &cause);
	s = xasprintf("%d|%s|%s|%s|%s", (int)mm.outcome,
	    out != NULL ? out : "-", mm.registry, mm.source,
	    cause != NULL ? cause : "-");
	free(out);
	free(cause);
	return (s);
}

/*
 * Many more images than the memo has slots, each seen several times and
 * in several orders, so that answers are kept, found and replaced: every
 * answer must be the one worked out afresh.
 */
START_TEST(t_memo_same_answers)
{
	static const struct def defs[] = {
		{ "gcr.io", "my.internal.repo" },
		{ "docker.io", "my.internal.repo/dockerhub" },
		{ "docker.io/mycompany", NULL },
		{ "*.gcr.io", "my.internal.repo/{registry}" },
		{ "quay.io", "docker.io/x" },
		{ "quay.io/refused", "docker.io/bar" },
		{ "*", "my.internal.repo/{registry}" },
	};
	static const char *const shapes[] = {
		"gcr.io/team/app-%d:1", "app-%d", "eu.gcr.io/a/b%d@" DIGEST,
		"docker.io/mycompany/x%d", "my.internal.repo/y%d",
		"r%d.example:5000/z", "Bad%d", "quay.io/q%d",
		"quay.io/refused:%d",
	};
	struct mirror	*fresh = load(defs, NITEMS(defs));
	struct mirror	*memo = load(defs, NITEMS(defs));
	char		 image[128], *a, *b;
	int		 pass, i, j, k;

	mirror_set_memo(fresh, 0);
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < 400; i++) {
			/* Forward, backward, then every image beside image 0. */
			k = pass == 1 ? 399 - i : pass == 2 && i % 2 ? 0 : i;
			for (j = 0; j < (int)NITEMS(shapes); j++) {
				snprintf(image, sizeof image, shapes[j], k);
				a = answer(fresh, image);
				b = answer(memo, image);
				ck_assert_msg(strcmp(a, b) == 0,
				    "%s: afresh %s, with the memo %s", image, a,
				    b);
				free(a);
				free(b);
			}
		}
	}
	mirror_free(fresh);
	mirror_free(memo);
}
END_TEST

/* What the memo keeps and what it leaves out, through its own interface. */
START_TEST(t_memo_keeps)
{
	struct memo		*m = memo_new();
	struct mirror_match	 mm, got;
	char			 long_image[700], *out = NULL;

	memset(&mm, 0, sizeof mm);
	mm.outcome = MIRROR_REWRITTEN;
	strcpy(mm.registry, "gcr.io");
	strcpy(mm.source, "gcr.io");
	ck_assert_int_eq(memo_find(m, "gcr.io/a", 8, &out, &got), 0);
	memo_keep(m, "gcr.io/a", 8, "mirror.example/a", &mm);
	ck_assert_int_eq(memo_find(m, "gcr.io/a", 8, &out, &got), 1);
	ck_assert_str_eq(out, "mirror.example/a");
	ck_assert_int_eq(got.outcome, MIRROR_REWRITTEN);
	ck_assert_str_eq(got.registry, "gcr.io");
	ck_assert_str_eq(got.source, "gcr.io");
	free(out);
	out = NULL;

	/* Bytes, not C strings: a prefix or an embedded NUL is another image. */
	ck_assert_int_eq(memo_find(m, "gcr.io/", 7, &out, &got), 0);
	ck_assert_int_eq(memo_find(m, "gcr.io/a\0", 9, &out, &got), 0);

	/* No out but for MIRROR_REWRITTEN. */
	mm.outcome = MIRROR_NO_RULE;
	mm.source[0] = '\0';
	memo_keep(m, "quay.io/b", 9, NULL, &mm);
	ck_assert_int_eq(memo_find(m, "quay.io/b", 9, &out, &got), 1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(got.outcome, MIRROR_NO_RULE);
	ck_assert_str_eq(got.source, "");

	/* Answers with a cause are worked out again each time. */
	mm.outcome = MIRROR_INVALID;
	memo_keep(m, "Bad", 3, NULL, &mm);
	ck_assert_int_eq(memo_find(m, "Bad", 3, &out, &got), 0);
	mm.outcome = MIRROR_REFUSED;
	memo_keep(m, "quay.io/c", 9, NULL, &mm);
	ck_assert_int_eq(memo_find(m, "quay.io/c", 9, &out, &got), 0);

	/* An image longer than any a registry serves is not kept. */
	memset(long_image, 'a', sizeof long_image);
	mm.outcome = MIRROR_NO_RULE;
	memo_keep(m, long_image, sizeof long_image, NULL, &mm);
	ck_assert_int_eq(memo_find(m, long_image, sizeof long_image, &out,
	    &got), 0);
	memo_free(m);
}
END_TEST

/*
 * The answers' bytes stay within MEMO_BYTES_MAX however long the images,
 * and long answers that filled the memo give way to new ones.
 */
START_TEST(t_memo_budget)
{
	struct memo		*m = memo_new();
	struct mirror_match	 mm, got;
	char			 image[640], long_out[600], *out = NULL;
	int			 i, kept = 0;

	memset(&mm, 0, sizeof mm);
	mm.outcome = MIRROR_REWRITTEN;
	memset(mm.registry, 'r', 255);
	memset(mm.source, 's', 255);
	memset(image, 'a', sizeof image);
	memset(long_out, 'o', sizeof long_out - 1);
	long_out[sizeof long_out - 1] = '\0';
	for (i = 0; i < 5000; i++) {
		snprintf(image, sizeof image, "%d", i);
		image[strlen(image)] = 'a';
		memo_keep(m, image, sizeof image, long_out, &mm);
		ck_assert_uint_le(memo_size(m), MEMO_BYTES_MAX);
	}
	ck_assert_uint_gt(memo_size(m), MEMO_BYTES_MAX / 2);

	/* Short answers, each pushing out a long one of its set. */
	mm.registry[3] = mm.source[3] = '\0';
	for (i = 0; i < 200; i++) {
		snprintf(image, sizeof image, "gcr.io/x%d", i);
		memo_keep(m, image, strlen(image), "m.example/x", &mm);
		if (memo_find(m, image, strlen(image), &out, &got)) {
			ck_assert_str_eq(out, "m.example/x");
			free(out);
			out = NULL;
			kept++;
		}
	}
	ck_assert_int_eq(kept, 200);
	memo_free(m);
}
END_TEST

/* A rule added after a rewrite: the answer remembered no longer stands. */
START_TEST(t_memo_rule_added)
{
	struct mirror	*m = mirror_new();
	char		*out = NULL, *cause = NULL;

	ck_assert_int_eq(mirror_add(m, "gcr.io", "m.example", &cause), 0);
	ck_assert_int_eq(mirror_rewrite(m, "gcr.io/a/b", 10, &out, NULL, NULL),
	    MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "m.example/a/b");
	free(out);
	ck_assert_int_eq(mirror_add(m, "gcr.io/a", "n.example", &cause), 0);
	ck_assert_int_eq(mirror_rewrite(m, "gcr.io/a/b", 10, &out, NULL, NULL),
	    MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "n.example/b");
	free(out);
	mirror_free(m);
}
END_TEST

static Suite *
mirror_suite(void)
{
	Suite	*s = suite_create("mirror");
	TCase	*tc;

	tc = tcase_create("match");
	tcase_add_test(tc, t_design_table);
	tcase_add_test(tc, t_boundaries);
	tcase_add_test(tc, t_priority);
	tcase_add_test(tc, t_case_insensitive_hosts);
	tcase_add_test(tc, t_registry_token);
	tcase_add_test(tc, t_registry_token_host_label);
	tcase_add_test(tc, t_registry_token_rest);
	tcase_add_test(tc, t_registry_token_shared);
	tcase_add_test(tc, t_long_host);
	tcase_add_test(tc, t_null_rules);
	tcase_add_test(tc, t_tag_and_digest_kept);
	tcase_add_test(tc, t_invalid_images);
	tcase_add_test(tc, t_match_fields);
	tcase_add_test(tc, t_idempotent);
	tcase_add_test(tc, t_result_outside_target);
	tcase_add_test(tc, t_large_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, t_invalid_sources);
	tcase_add_test(tc, t_valid_sources);
	tcase_add_test(tc, t_invalid_targets);
	tcase_add_test(tc, t_duplicates);
	tcase_add_test(tc, t_namespaces);
	suite_add_tcase(s, tc);

	tc = tcase_create("memo");
	tcase_add_test(tc, t_memo_same_answers);
	tcase_add_test(tc, t_memo_keeps);
	tcase_add_test(tc, t_memo_budget);
	tcase_add_test(tc, t_memo_rule_added);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(mirror_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
