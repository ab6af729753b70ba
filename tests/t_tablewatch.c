/*
 * t_tablewatch.c: the inotify watch that tells a worker when to stat()
 * its table file (fcgi/tablewatch.c). Every change that can give the path
 * another stat (a write in place, a rename over the file, a ConfigMap's
 * "..data" swap, a directory on the way going and coming back) is
 * reported, and once only; what happens to other names beside them (a
 * log written at each request, the workers' shared copy) is not.
 */
#include "common.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tablewatch.h"
#include "tmpdir.h"

static char	 dir[64];

/* dir/name, made afresh for one test. */
static void
fresh(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", dir, name);
	ck_assert_msg(mkdir(out, 0700) == 0, "mkdir %s: %s", out,
	    strerror(errno));
}

/* d/name, in one of a few static buffers. */
static const char *
in(const char *d, const char *name)
{
	static char	 bufs[8][256];
	static int	 next;
	char		*b = bufs[next++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", d, name);
	return (b);
}

/* Write text into the file at p, in place (created if need be). */
static void
put(const char *p, const char *text)
{
	FILE	*f;

	ck_assert_msg((f = fopen(p, "w")) != NULL, "%s: %s", p,
	    strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Append text to the file at p, as a log is written. */
static void
append(const char *p, const char *text)
{
	int	 fd;

	ck_assert_int_ne(fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600),
	    -1);
	ck_assert_int_eq(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
}

/* Publish text at p as a new file renamed over it. */
static void
put_new(const char *p, const char *text)
{
	char	 tmp[300];

	snprintf(tmp, sizeof tmp, "%s.tmp", p);
	put(tmp, text);
	ck_assert_int_eq(rename(tmp, p), 0);
}

static struct tablewatch *
watch(const char *p)
{
	struct tablewatch	*w = NULL;
	char			*cause = NULL;

	ck_assert_msg(tablewatch_open(p, &w, &cause) == 0,
	    "%s: not watched: %s", p, cause != NULL ? cause : "");
	ck_assert_ptr_nonnull(w);
	return (w);
}

/* Nothing to report: the caller may skip its stat. */
#define quiet(w, what)	ck_assert_msg(tablewatch_changed(w) == 0, \
	"%s: reported as a change", what)
/* A change reported, once. */
#define changed(w, what) do {						\
	ck_assert_msg(tablewatch_changed(w) == 1, "%s: not reported", what); \
	quiet(w, "the call after " what);				\
} while (0)

START_TEST(test_neighbours)
{
	struct tablewatch	*w;
	char			 d[128], name[200], buf[64];
	FILE			*f;
	int			 i;

	fresh("neighbours", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "gilly.yaml"));
	quiet(w, "nothing");
	/* An access log beside the table, the workers' copy, a rotation. */
	for (i = 0; i < 100; i++)
		append(in(d, "access.log"), "GET /healthz 200\n");
	put_new(in(d, "gilly.sock.table"), "copy");
	ck_assert_int_eq(rename(in(d, "access.log"), in(d, "access.log.1")),
	    0);
	ck_assert_int_eq(chmod(in(d, "access.log.1"), 0600), 0);
	ck_assert_int_eq(mkdir(in(d, "other"), 0700), 0);
	ck_assert_int_eq(rmdir(in(d, "other")), 0);
	/* The table read, as each worker reads it. */
	ck_assert_ptr_nonnull(f = fopen(in(d, "gilly.yaml"), "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	ck_assert_int_eq(fclose(f), 0);
	quiet(w, "other names in the directory");
	/* More events than one read() takes, then the one that counts. */
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "%s/a-rather-long-name-for-a-log-"
		    "file-to-fill-the-queue-faster.%d", d, i);
		append(name, "x");
		ck_assert_int_eq(unlink(name), 0);
	}
	quiet(w, "many other names");
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "%s/a-rather-long-name-for-a-log-"
		    "file-to-fill-the-queue-faster.%d", d, i);
		append(name, "x");
	}
	append(in(d, "gilly.yaml"), "# the end\n");
	changed(w, "a write after many other names");
	tablewatch_free(w);
}
END_TEST

START_TEST(test_in_place)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("in-place", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "gilly.yaml"));
	quiet(w, "nothing");
	append(in(d, "gilly.yaml"), "# appended\n");
	changed(w, "an append");
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	changed(w, "a rewrite in place");
	ck_assert_int_eq(chmod(in(d, "gilly.yaml"), 0600), 0);
	changed(w, "a chmod");
	ck_assert_int_eq(utimensat(AT_FDCWD, in(d, "gilly.yaml"), NULL, 0), 0);
	changed(w, "a touch");
	ck_assert_int_eq(truncate(in(d, "gilly.yaml"), 0), 0);
	changed(w, "a truncation");
	tablewatch_free(w);
}
END_TEST

START_TEST(test_rename_over)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("rename-over", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "gilly.yaml"));
	put_new(in(d, "gilly.yaml"), "mirrors: {}\n");
	changed(w, "a rename over the file");
	/* The new file is the one watched now. */
	append(in(d, "gilly.yaml"), "# appended\n");
	changed(w, "a write to the new file");
	ck_assert_int_eq(unlink(in(d, "gilly.yaml")), 0);
	changed(w, "an unlink");
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	changed(w, "the file made again");
	ck_assert_int_eq(rename(in(d, "gilly.yaml"), in(d, "gilly.old")), 0);
	changed(w, "a rename away");
	tablewatch_free(w);
}
END_TEST

/* As the kubelet lays out and updates a ConfigMap volume. */
START_TEST(test_configmap)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("configmap", d, sizeof d);
	ck_assert_int_eq(mkdir(in(d, "..2026_01_01_00_00_00.1"), 0755), 0);
	put(in(d, "..2026_01_01_00_00_00.1/gilly.yaml"), "mirrors: {}\n");
	ck_assert_int_eq(symlink("..2026_01_01_00_00_00.1", in(d, "..data")),
	    0);
	ck_assert_int_eq(symlink("..data/gilly.yaml", in(d, "gilly.yaml")), 0);
	w = watch(in(d, "gilly.yaml"));
	quiet(w, "nothing");
	/* The new version written beside the old: not yet published. */
	ck_assert_int_eq(mkdir(in(d, "..2026_01_01_00_01_00.2"), 0755), 0);
	put(in(d, "..2026_01_01_00_01_00.2/gilly.yaml"), "mirrors: {}\n");
	ck_assert_int_eq(symlink("..2026_01_01_00_01_00.2",
	    in(d, "..data_tmp")), 0);
	quiet(w, "a version not yet published");
	ck_assert_int_eq(rename(in(d, "..data_tmp"), in(d, "..data")), 0);
	changed(w, "the ..data swap");
	/* The old version removed: no longer on the way. */
	ck_assert_int_eq(unlink(in(d, "..2026_01_01_00_00_00.1/gilly.yaml")),
	    0);
	ck_assert_int_eq(rmdir(in(d, "..2026_01_01_00_00_00.1")), 0);
	quiet(w, "the old version removed");
	append(in(d, "..2026_01_01_00_01_00.2/gilly.yaml"), "# appended\n");
	changed(w, "a write to the new version's file");
	tablewatch_free(w);
}
END_TEST

/* A link to an absolute path, through a link to a directory. */
START_TEST(test_absolute_link)
{
	struct tablewatch	*w;
	char			 d[128], target[300];

	fresh("absolute-link", d, sizeof d);
	ck_assert_int_eq(mkdir(in(d, "v1"), 0755), 0);
	ck_assert_int_eq(mkdir(in(d, "v2"), 0755), 0);
	put(in(d, "v1/gilly.yaml"), "mirrors: {}\n");
	put(in(d, "v2/gilly.yaml"), "mirrors: {}\n");
	ck_assert_int_eq(symlink("v1", in(d, "current")), 0);
	/* An absolute target, with a detour through "." and "..". */
	snprintf(target, sizeof target, "%s/./v2/../current/gilly.yaml", d);
	ck_assert_int_eq(symlink(target, in(d, "gilly.yaml")), 0);
	w = watch(in(d, "gilly.yaml"));
	append(in(d, "v2/gilly.yaml"), "# appended\n");
	quiet(w, "a write to a file not on the way");
	append(in(d, "v1/gilly.yaml"), "# appended\n");
	changed(w, "a write to the file at the end");
	ck_assert_int_eq(unlink(in(d, "current")), 0);
	ck_assert_int_eq(symlink("v2", in(d, "current")), 0);
	changed(w, "a link on the way replaced");
	append(in(d, "v2/gilly.yaml"), "# appended\n");
	changed(w, "a write to the new file at the end");
	ck_assert_int_eq(rename(in(d, "v2"), in(d, "v3")), 0);
	changed(w, "a directory on the way renamed");
	tablewatch_free(w);
}
END_TEST

START_TEST(test_directory_recreated)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("recreated", d, sizeof d);
	ck_assert_int_eq(mkdir(in(d, "sub"), 0755), 0);
	put(in(d, "sub/gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "sub/gilly.yaml"));
	ck_assert_int_eq(unlink(in(d, "sub/gilly.yaml")), 0);
	changed(w, "the file deleted");
	ck_assert_int_eq(rmdir(in(d, "sub")), 0);
	changed(w, "its directory deleted");
	ck_assert_int_eq(mkdir(in(d, "sub"), 0755), 0);
	changed(w, "the directory made again");
	put(in(d, "sub/gilly.yaml"), "mirrors: {}\n");
	changed(w, "the file made again");
	append(in(d, "sub/gilly.yaml"), "# appended\n");
	changed(w, "a write to the new file");
	ck_assert_int_eq(chmod(in(d, "sub"), 0700), 0);
	changed(w, "a chmod of the directory");
	tablewatch_free(w);
}
END_TEST

/* A path whose directories do not exist yet is watched from above. */
START_TEST(test_missing)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("missing", d, sizeof d);
	w = watch(in(d, "a/b/gilly.yaml"));
	quiet(w, "nothing");
	ck_assert_int_eq(mkdir(in(d, "a"), 0755), 0);
	changed(w, "the first directory made");
	ck_assert_int_eq(mkdir(in(d, "a/b"), 0755), 0);
	changed(w, "the second directory made");
	put(in(d, "a/b/other.yaml"), "mirrors: {}\n");
	quiet(w, "another file made");
	put(in(d, "a/b/gilly.yaml"), "mirrors: {}\n");
	changed(w, "the file made");
	tablewatch_free(w);
}
END_TEST

START_TEST(test_relative)
{
	struct tablewatch	*w;
	char			 d[128], *cwd;

	fresh("relative", d, sizeof d);
	ck_assert_int_eq(mkdir(in(d, "sub"), 0755), 0);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	ck_assert_ptr_nonnull(cwd = getcwd(NULL, 0));
	/* Where stat() would start from it, at each walk. */
	ck_assert_int_eq(chdir(d), 0);
	w = watch("sub/../gilly.yaml");
	append(in(d, "access.log"), "GET /healthz 200\n");
	quiet(w, "another file");
	append(in(d, "gilly.yaml"), "# appended\n");
	changed(w, "a write");
	append(in(d, "gilly.yaml"), "# appended\n");
	changed(w, "a write, after a walk again");
	ck_assert_int_eq(rename(in(d, "sub"), in(d, "sub.old")), 0);
	changed(w, "a directory on the way renamed");
	ck_assert_int_eq(chdir(cwd), 0);
	free(cwd);
	tablewatch_free(w);
}
END_TEST

/* A loop of links fails stat() as it fails the walk: each link watched. */
START_TEST(test_link_loop)
{
	struct tablewatch	*w;
	char			 d[128];

	fresh("loop", d, sizeof d);
	ck_assert_int_eq(symlink("two", in(d, "one")), 0);
	ck_assert_int_eq(symlink("one", in(d, "two")), 0);
	w = watch(in(d, "one"));
	quiet(w, "nothing");
	put_new(in(d, "two"), "mirrors: {}\n");
	changed(w, "the loop broken");
	append(in(d, "two"), "# appended\n");
	changed(w, "a write to the file at the end of the link");
	tablewatch_free(w);
}
END_TEST

/* More events than the queue holds: it overflows, which counts. */
START_TEST(test_overflow)
{
	struct tablewatch	*w;
	char			 d[128], name[160];
	FILE			*f;
	long			 max = 0, i;

	ck_assert_ptr_nonnull(f = fopen("/proc/sys/fs/inotify/"
	    "max_queued_events", "r"));
	ck_assert_int_eq(fscanf(f, "%ld", &max), 1);
	fclose(f);
	ck_assert_msg(max > 0 && max <= 1L << 20,
	    "max_queued_events %ld: too many events to overflow", max);
	fresh("overflow", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "gilly.yaml"));
	/* Two events each (a create, a delete), none for the file. */
	for (i = 0; i <= max / 2; i++) {
		snprintf(name, sizeof name, "%s/log.%ld", d, i);
		append(name, "x");
		ck_assert_int_eq(unlink(name), 0);
	}
	changed(w, "an overflow");
	tablewatch_free(w);
}
END_TEST

/*
 * Without a descriptor for inotify, every call says "changed" (the caller
 * stat()s as it did before), and the watch is tried again a second later,
 * not at each call.
 */
START_TEST(test_unwatched)
{
	struct tablewatch	*w = NULL;
	struct rlimit		 was, now;
	struct timespec		 wait = { 1, 100000000 };
	char			 d[128], *cause = NULL;
	int			 fd, rv;

	fresh("unwatched", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	/* The lowest free descriptor is the first one refused. */
	ck_assert_int_ne(fd = open("/dev/null", O_RDONLY), -1);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
	now = was;
	now.rlim_cur = (rlim_t)fd;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &now), 0);
	rv = tablewatch_open(in(d, "gilly.yaml"), &w, &cause);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &was), 0);
	ck_assert_int_eq(rv, -1);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(cause != NULL && strstr(cause, "inotify") != NULL,
	    "cause: %s", cause != NULL ? cause : "none");
	free(cause);
	ck_assert_int_eq(tablewatch_changed(w), 1);
	ck_assert_int_eq(tablewatch_changed(w), 1);
	ck_assert_int_eq(nanosleep(&wait, NULL), 0);
	ck_assert_int_eq(tablewatch_changed(w), 1);
	quiet(w, "nothing, once watched again");
	append(in(d, "gilly.yaml"), "# appended\n");
	changed(w, "a write, once watched again");
	tablewatch_free(w);
}
END_TEST

/*
 * A change made by another process, as the kubelet makes it, is there
 * to be read once that process is done.
 */
START_TEST(test_other_process)
{
	struct tablewatch	*w;
	char			 d[128], cmd[400];
	int			 i;

	fresh("other-process", d, sizeof d);
	put(in(d, "gilly.yaml"), "mirrors: {}\n");
	w = watch(in(d, "gilly.yaml"));
	/* A shell, not a fork of this process (valgrind would check it). */
	for (i = 0; i < 20; i++) {
		snprintf(cmd, sizeof cmd, "echo '#' >>'%s'",
		    in(d, i % 2 ? "gilly.yaml" : "other.log"));
		ck_assert_msg(system(cmd) == 0, "%s: failed", cmd);
		if (i % 2)
			changed(w, "a write by another process");
		else
			quiet(w, "another file, written by another process");
	}
	tablewatch_free(w);
}
END_TEST

static Suite *
tablewatch_suite(void)
{
	Suite	*s = suite_create("tablewatch");
	TCase	*tc;

	tc = tcase_create("watch");
	tcase_add_test(tc, test_neighbours);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_rename_over);
	tcase_add_test(tc, test_configmap);
	tcase_add_test(tc, test_absolute_link);
	tcase_add_test(tc, test_directory_recreated);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_relative);
	tcase_add_test(tc, test_link_loop);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_unwatched);
	tcase_add_test(tc, test_other_process);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(tablewatch_suite());
	int	 failed;

	tmpdir_make("t_tablewatch", dir, sizeof dir);
	srunner_run_all(sr, CK_NORMAL);
	tmpdir_remove(dir);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
