/*
 * t_table.c: the table in force in the FastCGI workers, and the last good
 * table they share (fcgi/table.c, fcgi/tablecopy.c). Several struct table
 * in one process stand for several workers on one table file and one
 * copy: whatever order they look in, once they have all looked they
 * answer from the same table, the one read last that loaded.
 */
#include "common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/*
 * The mirror t sends gcr.io/x to, after table_check() with lag_ns: at most
 * one look in that time.
 */
static void
answers_lag(struct table *t, uint64_t lag_ns, const char *want)
{
	char	*out = NULL, *cause = NULL;
	size_t	 n = strlen(want);

	table_check(t, lag_ns);
	ck_assert_int_eq(mirror_rewrite(table_get(t), "gcr.io/x", 8, &out,
	    NULL, &cause), MIRROR_REWRITTEN);
	ck_assert_msg(strncmp(out, want, n) == 0 && out[n] == '/',
	    "answers %s, expected %s/x", out, want);
	free(out);
}

/* The same, after a look at the file. */
static void
answers(struct table *t, const char *want)
{
	answers_lag(t, 0, want);
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

/* A worker on the table file at p, which must load. */
static struct table *
worker_at(const char *p)
{
	struct table	*t = NULL;
	char		*cause = NULL;

	ck_assert_msg(table_open(p, copy, metrics, &t, &cause) == 0,
	    "the worker did not start: %s", cause != NULL ? cause : "");
	return (t);
}

/*
 * Wait until t's last read of its file is no longer racy, and look again
 * (answering want): from then on only a change seen makes t read it.
 */
static void
settle(struct table *t, const char *want)
{
	struct timespec	 racy = { 0, 100000000 };

	ck_assert_int_eq(nanosleep(&racy, NULL), 0);
	answers(t, want);
}

/* Write a table sending gcr.io to mirror into the file p, in place. */
static void
rewrite_table(const char *p, const char *mirror)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_eq(fprintf(f, "mirrors:\n  gcr.io: %s\n", mirror) > 0,
	    1);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Publish version n (from 1) of a ConfigMap volume at d holding a table
 * for mirror, as the kubelet does: the version's directory written, a new
 * "..data" link renamed over the old one, the old version removed; d's
 * gilly.yaml is a link to ..data/gilly.yaml.
 */
static void
configmap_publish(const char *d, int n, const char *mirror)
{
	char	 v[64], p[256], to[256];

	snprintf(v, sizeof v, "..2026_01_01_00_00_%02d.%d", n, n);
	snprintf(p, sizeof p, "%s/%s", d, v);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/gilly.yaml", d, v);
	rewrite_table(p, mirror);
	snprintf(p, sizeof p, "%s/..data_tmp", d);
	ck_assert_int_eq(symlink(v, p), 0);
	snprintf(to, sizeof to, "%s/..data", d);
	ck_assert_int_eq(rename(p, to), 0);
	snprintf(p, sizeof p, "%s/gilly.yaml", d);
	if (n == 1)
		ck_assert_int_eq(symlink("..data/gilly.yaml", p), 0);
	else {
		snprintf(p, sizeof p, "%s/..2026_01_01_00_00_%02d.%d/gilly.yaml",
		    d, n - 1, n - 1);
		ck_assert_int_eq(unlink(p), 0);
		*strrchr(p, '/') = '\0';
		ck_assert_int_eq(rmdir(p), 0);
	}
}

/* A ConfigMap update is answered at the next request. */
START_TEST(test_configmap)
{
	struct table	*w;
	char		 d[128], p[160];

	snprintf(d, sizeof d, "%s/configmap", dir);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	configmap_publish(d, 1, "a.example");
	snprintf(p, sizeof p, "%s/gilly.yaml", d);
	w = worker_at(p);
	settle(w, "a.example");
	configmap_publish(d, 2, "b.example");
	answers(w, "b.example");
	settle(w, "b.example");
	configmap_publish(d, 3, "c.example");
	answers(w, "c.example");
	table_free(w);
}
END_TEST

/* A file rewritten in place, with the same size, at once and again. */
START_TEST(test_in_place)
{
	struct table	*w;

	publish_table("a.example");
	w = worker();
	settle(w, "a.example");
	rewrite_table(path, "b.example");
	answers(w, "b.example");
	settle(w, "b.example");
	rewrite_table(path, "c.example");
	answers(w, "c.example");
	table_free(w);
}
END_TEST

/* Its directory removed, then made again with a new table. */
START_TEST(test_directory_recreated)
{
	struct table	*w;
	char		 d[128], p[160];

	snprintf(d, sizeof d, "%s/recreated", dir);
	snprintf(p, sizeof p, "%s/gilly.yaml", d);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	rewrite_table(p, "a.example");
	w = worker_at(p);
	settle(w, "a.example");
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(rmdir(d), 0);
	answers(w, "a.example");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	rewrite_table(p, "b.example");
	answers(w, "b.example");
	table_free(w);
}
END_TEST

/*
 * Between changes the stat is skipped indeed: a write that inotify does
 * not report (through mmap()) is not seen at the next request, nor after
 * a log written and another file replaced beside the table; the stat
 * made once a second all the same finds it.
 */
START_TEST(test_stat_skipped)
{
	struct table	*w;
	struct timespec	 second = { 1, 100000000 };
	struct stat	 st;
	char		*map, *at, log[160], other[160], tmp[160];
	int		 fd, i;

	publish_table("a.example");
	ck_assert_int_ne(fd = open(path, O_RDWR), -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	w = worker();
	settle(w, "a.example");
	ck_assert_ptr_nonnull(at = memchr(map, 'a', (size_t)st.st_size));
	ck_assert_int_eq(strncmp(at, "a.example", 9), 0);
	*at = 'b';
	answers(w, "a.example");
	snprintf(log, sizeof log, "%s/access.log", dir);
	snprintf(other, sizeof other, "%s/other.yaml", dir);
	snprintf(tmp, sizeof tmp, "%s/other.yaml.new", dir);
	for (i = 0; i < 10; i++) {
		rewrite_table(log, "not a table");
		rewrite_table(tmp, "d.example");
		ck_assert_int_eq(rename(tmp, other), 0);
		answers(w, "a.example");
	}
	ck_assert_int_eq(nanosleep(&second, NULL), 0);
	answers(w, "b.example");
	ck_assert_int_eq(munmap(map, (size_t)st.st_size), 0);
	ck_assert_int_eq(close(fd), 0);
	table_free(w);
}
END_TEST

/*
 * A busy worker looks at most once in lag_ns: a change just after a look
 * waits, and is in force for the first call lag_ns after it. The stamps
 * are older than RACY_NS here, which would have the file looked at again
 * at every call.
 */
START_TEST(test_lag)
{
	const uint64_t	 lag = UINT64_C(1000000000);
	struct table	*w;
	struct timespec	 settle = { 0, 200000000 }, wait = { 1, 0 };
	uint64_t	 before;
	int		 i;

	publish_table("a.example");
	ck_assert_int_eq(nanosleep(&settle, NULL), 0);
	w = worker();
	before = metrics_clock();
	answers_lag(w, lag, "a.example");
	publish_table("b.example");
	/*
	 * Within the lag of the look above (it began after before): not
	 * looked at. A machine so slow that a second went by says nothing.
	 */
	for (i = 0; i < 2; i++)
		if (metrics_clock() - before < lag)
			answers_lag(w, lag, "a.example");
		else
			fprintf(stderr, "test_lag: a second went by: call %d "
			    "not checked\n", i);
	ck_assert_int_eq(nanosleep(&wait, NULL), 0);
	answers_lag(w, lag, "b.example");
	publish_table("c.example");
	answers_lag(w, 0, "c.example");
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
	tcase_add_test(tc, test_configmap);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_directory_recreated);
	tcase_add_test(tc, test_stat_skipped);
	tcase_add_test(tc, test_lag);
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
