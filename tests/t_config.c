/* t_config.c: loading the YAML mirror table, and its exact error positions. */
#include "common.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mirror.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

/* A pointer that no load may overwrite when it fails. */
static struct mirror	*untouched = (struct mirror *)&untouched;

static struct mirror *
load_ok(const char *yaml, size_t len, size_t rules)
{
	struct mirror	*m = NULL;
	char		*cause = NULL;

	if (config_load_buffer("t.yaml", yaml, len, &m, &cause) != 0)
		ck_abort_msg("refused: %s\n%s", cause, yaml);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(mirror_rule_count(m), rules);
	return (m);
}

static void
load_bad(const char *yaml, size_t len, const char *want)
{
	struct mirror	*m = untouched;
	char		*cause = NULL;

	ck_assert_msg(config_load_buffer("t.yaml", yaml, len, &m, &cause) ==
	    -1, "accepted:\n%s", yaml);
	ck_assert_ptr_eq(m, untouched);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strcmp(cause, want) == 0, "\n got: %s\nwant: %s\nfor:\n%s",
	    cause, want, yaml);
	free(cause);
}

static enum mirror_outcome
rewrite(const struct mirror *m, const char *image, char **out)
{
	*out = NULL;
	return (mirror_rewrite(m, image, strlen(image), out, NULL, NULL));
}

START_TEST(t_good_tables)
{
	static const struct {
		const char	*yaml;
		size_t		 rules;
	} good[] = {
		{ "mirrors: {}\n", 0 },
		{ "mirrors:\n", 0 },
		{ "mirrors: ~\nexclude:\n", 0 },
		{ "mirrors: {gcr.io: a.example}\n", 1 },
		{ "{mirrors: {gcr.io: a.example}, exclude: {namespaces: []}}", 1 },
		{ "---\nmirrors:\n  gcr.io: a.example\n...\n", 1 },
		{ "# comment\n\nmirrors:   # trailing\n  # inside\n"
		  "  gcr.io: a.example  # why\n", 1 },
		{ "mirrors:\r\n  gcr.io: a.example\r\n  quay.io: b.example\r\n",
		  2 },
		{ "\xef\xbb\xbfmirrors:\n  gcr.io: a.example\n", 1 },
		{ "exclude:\n  namespaces:\nmirrors:\n  'gcr.io': \"a.example\"\n",
		  1 },
		{ "mirrors:\n  gcr.io: >-\n    a.example/folded\n", 1 },
		{ "mirrors:\n  \"*\": ~\n  \"*.gcr.io\": '{registry}.m.example'\n"
		  "  docker.io/library/nginx:\n", 3 },
	};
	struct mirror	*m;
	size_t		 i;

	for (i = 0; i < NITEMS(good); i++) {
		m = load_ok(good[i].yaml, strlen(good[i].yaml), good[i].rules);
		mirror_free(m);
	}
}
END_TEST

START_TEST(t_design_table)
{
	static const char yaml[] =
	    "mirrors:\n"
	    "  gcr.io: my.internal.repo\n"
	    "  k8s.gcr.io: my.internal.repo/k8s\n"
	    "  docker.io: my.internal.repo/dockerhub\n"
	    "  docker.io/bitnami: harbor.internal/bitnami\n"
	    "  \"*.gcr.io\": my.internal.repo/{registry}\n"
	    "  docker.io/mycompany: ~\n"
	    "  \"*\": my.internal.repo/{registry}\n"
	    "exclude:\n"
	    "  namespaces: [kube-system, flux]\n";
	struct mirror	*m = load_ok(yaml, sizeof yaml - 1, 7);
	char		*out;

	ck_assert_int_eq(rewrite(m, "nginx", &out), MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "my.internal.repo/dockerhub/library/nginx");
	free(out);
	ck_assert_int_eq(rewrite(m, "eu.gcr.io/a:1", &out), MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "my.internal.repo/eu.gcr.io/a:1");
	free(out);
	ck_assert_int_eq(rewrite(m, "mycompany/app", &out), MIRROR_LEFT_ALONE);
	ck_assert_int_eq(rewrite(m, "my.internal.repo/x/y", &out),
	    MIRROR_ALREADY);
	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-system"), 1);
	ck_assert_int_eq(mirror_namespace_excluded(m, "flux"), 1);
	ck_assert_int_eq(mirror_namespace_excluded(m, "default"), 0);
	mirror_free(m);
}
END_TEST

/* Every spelling of YAML's null leaves the images alone; a quoted one not. */
START_TEST(t_null_targets)
{
	static const char yaml[] =
	    "mirrors:\n"
	    "  a.example: ~\n"
	    "  b.example: null\n"
	    "  c.example: Null\n"
	    "  d.example: NULL\n"
	    "  e.example:\n"
	    "  f.example: x.example\n";
	static const char *const images[] = {
		"a.example/x", "b.example/x", "c.example/x", "d.example/x",
		"e.example/x",
	};
	struct mirror	*m = load_ok(yaml, sizeof yaml - 1, 6);
	char		*out;
	size_t		 i;

	for (i = 0; i < NITEMS(images); i++)
		ck_assert_int_eq(rewrite(m, images[i], &out), MIRROR_LEFT_ALONE);
	ck_assert_int_eq(rewrite(m, "f.example/x", &out), MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "x.example/x");
	free(out);
	mirror_free(m);
}
END_TEST

START_TEST(t_bad_tables)
{
	static const struct {
		const char	*yaml;
		const char	*want;
	} bad[] = {
		/* YAML syntax, positioned by libyaml. */
		{ "mirrors:\n  gcr.io: a.example\n bad: x\n",
		  "t.yaml:3:2: did not find expected key (while parsing a "
		  "block mapping at line 1, column 1)" },
		{ "mirrors:\n\tgcr.io: a.example\n",
		  "t.yaml:2:1: found character that cannot start any token "
		  "(while scanning for the next token at line 2, column 1); "
		  "YAML indents with spaces, not tabs" },
		{ "mirrors:\n  gcr.io: \"a.example\n",
		  "t.yaml:3:1: found unexpected end of stream (while scanning "
		  "a quoted scalar at line 2, column 11)" },
		{ "mirrors: {gcr.io: a.example\n",
		  "t.yaml:2:1: did not find expected ',' or '}' (while parsing "
		  "a flow mapping at line 1, column 10)" },
		{ "mirrors:\n  *.gcr.io: a.example\n",
		  "t.yaml:2:4: did not find expected alphabetic or numeric "
		  "character (while scanning an alias at line 2, column 3); a "
		  "source starting with '*' must be quoted: \"*.gcr.io\"" },
		{ "mirrors:\n  \"*.gcr.io\": a.example\n  *: b.example\n",
		  "t.yaml:3:4: did not find expected alphabetic or numeric "
		  "character (while scanning an alias at line 3, column 3); a "
		  "source starting with '*' must be quoted: \"*.gcr.io\"" },

		/* The shape of the document. */
		{ "", "t.yaml:1:1: the table is empty: it needs a \"mirrors\" "
		  "mapping" },
		{ "# nothing\n\n# at all\n", "t.yaml:1:1: the table is empty: "
		  "it needs a \"mirrors\" mapping" },
		{ "---\n", "t.yaml:2:1: the top level must be a mapping with "
		  "\"mirrors\" (and \"exclude\"), not null" },
		{ "- gcr.io\n- quay.io\n", "t.yaml:1:1: the top level must be "
		  "a mapping with \"mirrors\" (and \"exclude\"), not a "
		  "sequence" },
		{ "mirrors\n", "t.yaml:1:1: the top level must be a mapping "
		  "with \"mirrors\" (and \"exclude\"), not a string" },
		{ "mirrors: {}\n---\nmirrors: {}\n", "t.yaml:2:1: a second "
		  "document: the table is one YAML document" },
		{ "mirrors: {a.example: [[[[[[[[x]]]]]]]]}\n", "t.yaml:1:28: "
		  "nested more than 8 levels deep (the mirror table has 3)" },
		{ "mirrors: &m {}\n", "t.yaml:1:10: anchors (\"&m\") are not "
		  "supported in the mirror table" },
		{ "mirrors:\n  gcr.io: &t a.example\n  quay.io: *t\n",
		  "t.yaml:2:11: anchors (\"&t\") are not supported in the "
		  "mirror table" },

		/* Keys. */
		{ "mirror:\n  gcr.io: a.example\n", "t.yaml:1:1: unknown key "
		  "\"mirror\" (expected \"mirrors\" or \"exclude\")" },
		{ "mirrors: {}\nexclude:\n  namespace: [a]\n", "t.yaml:3:3: "
		  "unknown key \"namespace\" under \"exclude\" (expected "
		  "\"namespaces\")" },
		{ "mirrors: {}\n[a]: b\n", "t.yaml:2:1: a key must be a string, "
		  "not a sequence" },
		{ "exclude:\n  namespaces: [kube-system]\n", "t.yaml:1:1: "
		  "\"mirrors\" is missing: the table needs a \"mirrors\" "
		  "mapping of source to target" },
		{ "mirrors: {}\nexclude: {}\nmirrors: {}\n", "t.yaml:3:1: "
		  "duplicate key \"mirrors\" (first at line 1, column 1)" },
		{ "mirrors: {}\nexclude:\n  namespaces: [a]\n  namespaces: [b]\n",
		  "t.yaml:4:3: duplicate key \"namespaces\" (first at line 3, "
		  "column 3)" },

		/* Values of the wrong kind. */
		{ "mirrors:\n  - gcr.io: a.example\n", "t.yaml:2:3: \"mirrors\" "
		  "must be a mapping of source to target, not a sequence" },
		{ "mirrors: gcr.io\n", "t.yaml:1:10: \"mirrors\" must be a "
		  "mapping of source to target, not a string" },
		{ "mirrors:\n  gcr.io: [a.example]\n", "t.yaml:2:11: the target "
		  "of \"gcr.io\" must be a string or ~, not a sequence" },
		{ "mirrors:\n  gcr.io:\n    host: a.example\n", "t.yaml:3:5: "
		  "the target of \"gcr.io\" must be a string or ~, not a "
		  "mapping" },
		{ "mirrors:\n  gcr.io: {registry}.a.example\n", "t.yaml:2:21: "
		  "did not find expected key (while parsing a block mapping at "
		  "line 2, column 3)" },
		{ "mirrors:\n  gcr.io: {registry}\n", "t.yaml:2:11: the target "
		  "of \"gcr.io\" must be a string or ~, not a mapping (a target "
		  "starting with \"{registry}\" must be quoted)" },
		{ "mirrors:\n  ? [gcr.io]\n  : a.example\n", "t.yaml:2:5: a "
		  "source must be a string, not a sequence" },
		{ "mirrors: {}\nexclude: [kube-system]\n", "t.yaml:2:10: "
		  "\"exclude\" must be a mapping (\"namespaces: [...]\"), not a "
		  "sequence" },
		{ "mirrors: {}\nexclude:\n  namespaces: kube-system\n",
		  "t.yaml:3:15: \"namespaces\" must be a sequence of namespace "
		  "names, not a string" },
		{ "mirrors: {}\nexclude:\n  namespaces:\n    - a\n    - {b: c}\n",
		  "t.yaml:5:7: a namespace must be a string, not a mapping" },

		/* Sources, targets and namespaces the table refuses. */
		{ "mirrors:\n  gcr.io: a.example\n  quay.io: b.example\n"
		  "  \"GCR.IO\": c.example\n", "t.yaml:4:3: duplicate source "
		  "\"GCR.IO\" (the same as \"gcr.io\" at line 2, column 3)" },
		{ "mirrors:\n  docker.io: a.example\n  index.docker.io: ~\n",
		  "t.yaml:3:3: duplicate source \"index.docker.io\" (the same "
		  "as \"docker.io\" at line 2, column 3)" },
		{ "mirrors:\n  quay.io: b.example\n  gcr.io: a.example\n"
		  "  gcr.io: ~\n", "t.yaml:4:3: duplicate source \"gcr.io\" "
		  "(the same as \"gcr.io\" at line 3, column 3)" },
		{ "mirrors:\n  gcr.io/Team: a.example\n", "t.yaml:2:3: invalid "
		  "source \"gcr.io/Team\": the path must be lowercase (only "
		  "the registry host is case-insensitive)" },
		{ "mirrors:\n  \"gcr.io/a:1\": a.example\n", "t.yaml:2:3: "
		  "invalid source \"gcr.io/a:1\": a tag (':') has no place "
		  "here: name a registry or repository prefix" },
		{ "mirrors:\n  \"*.\": a.example\n", "t.yaml:2:3: invalid source "
		  "\"*.\": \"*.\" needs a domain after it (\"*.gcr.io\")" },
		{ "mirrors:\n  \"\": a.example\n", "t.yaml:2:3: invalid source "
		  "\"\": it is empty" },
		{ "mirrors:\n  gcr.io: \"\"\n", "t.yaml:2:11: invalid target "
		  "\"\": it is empty (write ~ to leave the images alone)" },
		{ "mirrors:\n  gcr.io:    1234\n", "t.yaml:2:14: invalid target "
		  "\"1234\": \"1234\" is no registry host (an image's first "
		  "component names its registry only with a '.' or a ':port', "
		  "or as \"localhost\")" },
		{ "mirrors:\n  gcr.io: 'null'\n", "t.yaml:2:11: invalid target "
		  "\"null\": \"null\" is no registry host (an image's first "
		  "component names its registry only with a '.' or a ':port', "
		  "or as \"localhost\")" },
		{ "mirrors:\n  gcr.io: a.example/app:1.0\n", "t.yaml:2:11: "
		  "invalid target \"a.example/app:1.0\": a tag (':') has no "
		  "place here: name a registry or repository prefix" },
		{ "mirrors: {}\nexclude:\n  namespaces: [a, b, a]\n",
		  "t.yaml:3:22: duplicate namespace \"a\" (first at line 3, "
		  "column 16)" },
		{ "mirrors: {}\nexclude:\n  namespaces:\n    - Kube-System\n",
		  "t.yaml:4:7: invalid namespace \"Kube-System\": a namespace "
		  "name is 1 to 63 lowercase letters, digits and '-', starting "
		  "and ending with a letter or digit" },
		{ "mirrors:\n  gcr.io: \"a.example\\0x\"\n", "t.yaml:2:11: a "
		  "target contains a NUL character" },
	};
	size_t	i;

	for (i = 0; i < NITEMS(bad); i++)
		load_bad(bad[i].yaml, strlen(bad[i].yaml), bad[i].want);
}
END_TEST

/* Bytes that are not UTF-8 text, positioned by counting lines. */
START_TEST(t_bad_bytes)
{
	static const char nul[] = "mirrors:\n  gcr.io: a\0b\n";
	static const char latin1[] = "mirrors:\n  gcr.io: caf\xe9.example\n";
	static const char cut[] = "mirrors:\n  \xc3";

	load_bad(nul, sizeof nul - 1, "t.yaml:2:12: control characters are "
	    "not allowed (byte 0x00): the table must be UTF-8 text");
	/* libyaml points at the byte that cannot continue the sequence. */
	load_bad(latin1, sizeof latin1 - 1, "t.yaml:2:15: invalid trailing "
	    "UTF-8 octet (byte 0x2e): the table must be UTF-8 text");
	load_bad(cut, sizeof cut - 1, "t.yaml:2:3: incomplete UTF-8 octet "
	    "sequence: the table must be UTF-8 text");
}
END_TEST

/* A deep document is refused before it is built. */
START_TEST(t_too_deep)
{
	size_t	 n = 1000000, i;
	char	*yaml = xmalloc(2 * n);

	for (i = 0; i < n; i++) {
		yaml[i] = '[';
		yaml[n + i] = ']';
	}
	load_bad(yaml, 2 * n, "t.yaml:1:9: nested more than 8 levels deep "
	    "(the mirror table has 3)");
	free(yaml);
}
END_TEST

START_TEST(t_large_table)
{
	struct mirror	*m;
	char		*yaml, *p, *out;
	size_t		 size = 10000 * 64 + 64;
	int		 i;

	p = yaml = xmalloc(size);
	p += sprintf(p, "mirrors:\n");
	for (i = 0; i < 10000; i++)
		p += sprintf(p, "  r%d.example.com/team: m.example/r%d\n", i, i);
	m = load_ok(yaml, (size_t)(p - yaml), 10000);
	ck_assert_int_eq(rewrite(m, "r9999.example.com/team/app", &out),
	    MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "m.example/r9999/app");
	free(out);
	mirror_free(m);

	/* One duplicate at the end is found, and named with its twin. */
	p += sprintf(p, "  R5000.Example.COM/team: ~\n");
	load_bad(yaml, (size_t)(p - yaml), "t.yaml:10002:3: duplicate source "
	    "\"R5000.Example.COM/team\" (the same as "
	    "\"r5000.example.com/team\" at line 5002, column 3)");
	free(yaml);
}
END_TEST

/* The source tree, for the example table and tests/data. */
static const char *
srcdir(void)
{
	static char	 dir[4096];
	const char	*s, *cut;

	if ((s = getenv("SRCDIR")) != NULL && *s != '\0')
		return (s);
	/* Run by hand: __FILE__ is SRCDIR/tests/t_config.c. */
	if ((cut = strstr(__FILE__, "tests/t_config.c")) == NULL)
		return (".");
	snprintf(dir, sizeof dir, "%.*s.", (int)(cut - __FILE__), __FILE__);
	return (dir);
}

START_TEST(t_files)
{
	struct mirror	*m = untouched;
	char		*path, *cause = NULL, *out;

	path = xasprintf("%s/conf/gilly.yaml", srcdir());
	ck_assert_msg(config_load_file(path, &m, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(mirror_rule_count(m), 8);
	ck_assert_int_eq(mirror_namespace_excluded(m, "kube-system"), 1);
	ck_assert_int_eq(rewrite(m, "bitnami/redis:7", &out), MIRROR_REWRITTEN);
	ck_assert_str_eq(out, "harbor.internal/bitnami/redis:7");
	free(out);
	mirror_free(m);
	free(path);

	m = untouched;
	path = xasprintf("%s/tests/data/config/good.yaml", srcdir());
	ck_assert_msg(config_load_file(path, &m, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(mirror_rule_count(m), 5);
	ck_assert_int_eq(mirror_namespace_excluded(m, "monitoring"), 1);
	mirror_free(m);
	free(path);

	m = untouched;
	path = xasprintf("%s/tests/data/config/bad-duplicate.yaml", srcdir());
	ck_assert_int_eq(config_load_file(path, &m, &cause), -1);
	ck_assert_ptr_eq(m, untouched);
	out = xasprintf("%s:9:3: duplicate source \"Index.Docker.IO\" (the "
	    "same as \"docker.io\" at line 4, column 3)", path);
	ck_assert_str_eq(cause, out);
	free(out);
	free(cause);
	free(path);
}
END_TEST

START_TEST(t_file_errors)
{
	struct mirror	*m = untouched;
	const char	*tmp = getenv("TMPDIR");
	char		*dir, *path, *cause = NULL, *want;
	FILE		*f;
	int		 i;

	dir = xasprintf("%s/t_config.XXXXXX", tmp != NULL && *tmp != '\0' ?
	    tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));

	path = xasprintf("%s/missing.yaml", dir);
	ck_assert_int_eq(config_load_file(path, &m, &cause), -1);
	want = xasprintf("%s: No such file or directory", path);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	ck_assert_ptr_eq(m, untouched);

	/* A directory opens, and fails at read. */
	ck_assert_int_eq(config_load_file(dir, &m, &cause), -1);
	want = xasprintf("%s: Is a directory", dir);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	ck_assert_ptr_eq(m, untouched);

	/* Larger than one read buffer, and an error on its last line. */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "mirrors:\n");
	for (i = 0; i < 2000; i++)
		fprintf(f, "  r%d.example.com: m.example/r%d\n", i, i);
	fprintf(f, "  r1999.example.com/x: m.example/X\n");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(config_load_file(path, &m, &cause), -1);
	want = xasprintf("%s:2002:24: invalid target \"m.example/X\": the "
	    "path must be lowercase (only the registry host is "
	    "case-insensitive)", path);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	ck_assert_ptr_eq(m, untouched);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(path);
	free(dir);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("load");
	tcase_add_test(tc, t_good_tables);
	tcase_add_test(tc, t_design_table);
	tcase_add_test(tc, t_null_targets);
	tcase_add_test(tc, t_large_table);
	tcase_add_test(tc, t_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, t_bad_tables);
	tcase_add_test(tc, t_bad_bytes);
	tcase_add_test(tc, t_too_deep);
	tcase_add_test(tc, t_file_errors);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
