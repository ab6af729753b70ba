/*
 * t_table.c: the table in force in the FastCGI workers, and the last good
 * table they share (fcgi/table.c, fcgi/tablecopy.c). Several struct table
 * in one process stand for several workers on one table file and one
 * copy: whatever order they look in, once they have all looked they
 * answer from the same table, the one read last that loaded.
 */
#include "common.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "table.h"
#include "tmpdir.h"

static char		 dir[64];
static char		 path[128];	/* the table file */
static char		 copy[128];	/* the workers' shared copy */
static struct metrics	*metrics;

/* Each test starts without a table file or a copy. */
static void
setup(void)
{
	char	*cause = NULL;

	ck_assert(unlink(path) == 0 || errno == ENOENT);
	ck_assert(unlink(copy) == 0 || errno == ENOENT);
	ck_assert_int_eq(metrics_open(NULL, &metrics, &cause), 0);
}

static void
teardown(void)
{
	metrics_free(metrics);
	metrics = NULL;
}

/*
 * Publish text at path as a new file renamed over it, as a ConfigMap
 * update or an editor does: a new inode, which every worker's stat sees.
 */
static void
publish(const char *text)
{
	char	 tmp[160];
	FILE	*f;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* A table sending gcr.io to mirror. */
static void
publish_table(const char *mirror)
{
	char	 text[128];

	snprintf(text, sizeof text, "mirrors:\n  gcr.io: %s\n", mirror);
	publish(text);
}

static const char	 broken[] = "mirrors:\n  gcr.io: [unclosed\n";

/* A worker starting on the file as it is; it must start. */
static struct table *
worker(void)
{
	struct table	*t = NULL;
	char		*cause = NULL;

	ck_assert_msg(table_open(path, copy, metrics, &t, &cause) == 0,
	    "the worker did not start: %s", cause != NULL ? cause : "");
	return (t);
}

/* The mirror t sends gcr.io/x to, after a look at the file. */
static void
answers(struct table *t, const char *want)
{
	char	*out = NULL, *cause = NULL;
	size_t	 n = strlen(want);

	table_check(t);
	ck_assert_int_eq(mirror_rewrite(table_get(t), "gcr.io/x", 8, &out,
	    NULL, &cause), MIRROR_REWRITTEN);
	ck_assert_msg(strncmp(out, want, n) == 0 && out[n] == '/',
	    "answers %s, expected %s/x", out, want);
	free(out);
}

START_TEST(test_alone)
{
	struct table	*w;

	publish_table("a.example");
	w = worker();
	answers(w, "a.example");
	publish_table("b.example");
	answers(w, "b.example");
	publish(broken);
	answers(w, "b.example");
	publish_table("c.example");
	answers(w, "c.example");
	table_free(w);
}
END_TEST

/* A worker idle while a good table came and went answers from it. */
START_TEST(test_idle_worker)
{
	struct table	*w, *x;

	publish_table("a.example");
	w = worker();
	x = worker();
	publish_table("b.example");
	answers(x, "b.example");
	publish(broken);
	answers(w, "b.example");
	answers(x, "b.example");
	table_free(w);
	table_free(x);
}
END_TEST

/* The same broken bytes met again still let the copy in. */
START_TEST(test_same_broken_bytes)
{
	struct table	*w, *x;

	publish_table("a.example");
	w = worker();
	x = worker();
	publish(broken);
	answers(w, "a.example");
	answers(x, "a.example");
	publish_table("b.example");
	answers(x, "b.example");
	publish(broken);
	answers(w, "b.example");
	answers(x, "b.example");
	table_free(w);
	table_free(x);
}
END_TEST

/* A table put back and read again is the last good one, not a later one. */
START_TEST(test_put_back)
{
	struct table	*w, *x, *y;

	publish_table("a.example");
	w = worker();
	x = worker();
	publish_table("b.example");
	answers(w, "b.example");
	publish_table("c.example");
	answers(x, "c.example");
	publish_table("b.example");
	answers(w, "b.example");
	publish(broken);
	answers(x, "b.example");
	answers(w, "b.example");
	/* And a worker started now. */
	y = worker();
	answers(y, "b.example");
	table_free(w);
	table_free(x);
	table_free(y);
}
END_TEST

/* Started while the file is broken: from the copy; without one, not. */
START_TEST(test_start)
{
	struct table	*w, *y = NULL;
	char		*cause = NULL;

	publish_table("a.example");
	w = worker();
	publish(broken);
	y = worker();
	answers(y, "a.example");
	table_free(y);
	table_free(w);

	ck_assert_int_eq(unlink(copy), 0);
	y = NULL;
	ck_assert_int_eq(table_open(path, copy, metrics, &y, &cause), -1);
	ck_assert_ptr_null(y);
	/* The file's own error, with its position. */
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0 &&
	    cause[strlen(path)] == ':', "cause: %s", cause);
	free(cause);
}
END_TEST

/* Only a copy of this table file, and only a whole one, is taken. */
START_TEST(test_foreign_copies)
{
	static const char *const junk[] = {
		"",
		"GILLYTB1",
		"not a copy of a table at all",
	};
	/* A header whose lengths run past the file. */
	static const char overrun[24] = "GILLYTB1"
	    "\xff\xff\xff\xff\xff\xff\xff\x7f\x01";
	struct table	*w, *y;
	char		 other[160], *cause = NULL;
	FILE		*f;
	size_t		 i;

	/* A copy of another file. */
	snprintf(other, sizeof other, "%s/other.yaml", dir);
	publish_table("a.example");
	ck_assert_int_eq(rename(path, other), 0);
	ck_assert_int_eq(table_open(other, copy, metrics, &w, &cause), 0);
	table_free(w);
	publish(broken);
	y = NULL;
	ck_assert_int_eq(table_open(path, copy, metrics, &y, &cause), -1);
	ck_assert_ptr_null(y);
	free(cause);
	cause = NULL;

	/* Damaged copies. */
	for (i = 0; i <= sizeof junk / sizeof junk[0]; i++) {
		ck_assert_ptr_nonnull(f = fopen(copy, "w"));
		if (i < sizeof junk / sizeof junk[0])
			fwrite(junk[i], 1, strlen(junk[i]), f);
		else
			fwrite(overrun, 1, sizeof overrun, f);
		ck_assert_int_eq(fclose(f), 0);
		y = NULL;
		ck_assert_msg(table_open(path, copy, metrics, &y, &cause) == -1,
		    "started from damaged copy %zu", i);
		free(cause);
		cause = NULL;
	}
}
END_TEST

/* Without a usable copy (its directory gone), each worker goes alone. */
START_TEST(test_no_copy)
{
	struct table	*w;
	char		 nowhere[160], *cause = NULL;

	snprintf(nowhere, sizeof nowhere, "%s/missing/gilly.sock.table", dir);
	publish_table("a.example");
	ck_assert_int_eq(table_open(path, nowhere, metrics, &w, &cause), 0);
	publish_table("b.example");
	answers(w, "b.example");
	publish(broken);
	answers(w, "b.example");
	table_free(w);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite	*s = suite_create("table");
	TCase	*tc;

	tc = tcase_create("workers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alone);
	tcase_add_test(tc, test_idle_worker);
	tcase_add_test(tc, test_same_broken_bytes);
	tcase_add_test(tc, test_put_back);
	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_foreign_copies);
	tcase_add_test(tc, test_no_copy);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(table_suite());
	int	 failed;

	/* Every failed load is logged: the checks say what matters. */
	log_set_quiet(1);
	tmpdir_make("t_table", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/gilly.yaml", dir);
	snprintf(copy, sizeof copy, "%s/gilly.sock.table", dir);
	srunner_run_all(sr, CK_NORMAL);
	tmpdir_remove(dir);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
