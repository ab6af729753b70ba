/*
 * t_log.c: the log lines (lib/log.c) as they reach stderr: the stamp and
 * the message, bytes that could forge a line replaced, long messages cut;
 * and how lines are batched into writes: none within a request until its
 * log_flush(), lines held across requests by log_hold() until a flush, a
 * full batch or a second (not the clock's next), log_held() saying so, and
 * never a write over PIPE_BUF bytes.
 *
 * stderr is one end of a SOCK_SEQPACKET socket pair here: each write(2)
 * arrives as one record, so the tests see the writes, not only the bytes.
 */
#include "common.h"

#include <sys/socket.h>

#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A pipe's PIPE_BUF on Linux: what log.c promises a write stays within. */
#define BATCH_MAX	4096

static int	 saved_stderr = -1;
static int	 peer = -1;	/* the other end of stderr */

static void
setup(void)
{
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	/* Room for every write of a test: none may block. */
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
	    &(int){ 1 << 20 }, sizeof(int)), 0);
	ck_assert_int_ne(saved_stderr = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(sv[0], STDERR_FILENO), -1);
	close(sv[0]);
	peer = sv[1];
	ck_assert_int_ne(fcntl(peer, F_SETFL, O_NONBLOCK), -1);
}

static void
teardown(void)
{
	log_flush();
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(peer);
}

/* The next write to stderr, NUL-terminated, in buf; its length, or -1. */
static ssize_t
next_write(char *buf, size_t size)
{
	ssize_t	 n;

	n = recv(peer, buf, size - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return (n);
}

static void
expect_no_write(void)
{
	char	 buf[16];

	ck_assert_int_eq(next_write(buf, sizeof buf), -1);
}

/* The message of the one line in buf, after its stamp and before '\n'. */
static const char *
message(char *buf)
{
	regex_t		 re;
	size_t		 n = strlen(buf);

	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}/[0-9]{2}/[0-9]{2} "
	    "[0-9]{2}:[0-9]{2}:[0-9]{2} ", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, buf, 0, NULL, 0) == 0, "no stamp: %s",
	    buf);
	regfree(&re);
	ck_assert_msg(n > 0 && buf[n - 1] == '\n' &&
	    strchr(buf, '\n') == buf + n - 1, "not one line: %s", buf);
	buf[n - 1] = '\0';
	return (buf + 20);
}

START_TEST(test_line)
{
	char	 buf[256];

	log_line("[Test] %s, %d", "a", 1);
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_str_eq(message(buf), "[Test] a, 1");
	expect_no_write();
}
END_TEST

/* log_concat() writes what log_line() would. */
START_TEST(test_concat)
{
	char	 a[256], b[256];

	log_line("[Test] Image %s => %s", "x/y:1", "m/y:1");
	log_concat("[Test] Image ", "x/y:1", " => ", "m/y:1", (char *)NULL);
	ck_assert_int_gt(next_write(a, sizeof a), 0);
	ck_assert_int_gt(next_write(b, sizeof b), 0);
	ck_assert_str_eq(message(b), message(a));
	log_concat("", (char *)NULL);
	ck_assert_int_gt(next_write(a, sizeof a), 0);
	ck_assert_str_eq(message(a), "");
}
END_TEST

/* A name from the network cannot start a line of its own. */
START_TEST(test_control_bytes)
{
	char	 buf[256];

	log_concat("[Test] ", "a\nb\rc\x7f" "d\x01", (char *)NULL);
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_str_eq(message(buf), "[Test] a?b?c?d?");
	log_line("[Test] %s", "e\nf");
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_str_eq(message(buf), "[Test] e?f");
}
END_TEST

/*
 * Every control byte at every place of a message longer than the eight
 * bytes the scan skips at a time; bytes 0x80 and up stay as they are.
 */
START_TEST(test_control_every_place)
{
	char		 buf[256], msg[41], want[sizeof msg + 7];
	size_t		 pos, i;
	unsigned	 c;

	for (c = 1; c < 0x100; c++) {
		if (c >= 0x20 && c != 0x7f)
			continue;
		for (pos = 0; pos < sizeof msg - 1; pos++) {
			for (i = 0; i < sizeof msg - 1; i++)
				msg[i] = (char)(i % 2 ? 'a' : 0xe9);
			msg[sizeof msg - 1] = '\0';
			msg[pos] = (char)c;
			memcpy(want, "[Test] ", 7);
			memcpy(want + 7, msg, sizeof msg);
			want[7 + pos] = '?';
			log_concat("[Test] ", msg, (char *)NULL);
			ck_assert_int_gt(next_write(buf, sizeof buf), 0);
			ck_assert_str_eq(message(buf), want);
		}
	}
}
END_TEST

/* A message is cut at 4095 bytes, however it is made. */
START_TEST(test_long)
{
	static char	 big[6000], buf[8192];
	size_t		 i;

	memset(big, 'x', sizeof big - 1);
	log_concat("[Test] ", big, "tail", (char *)NULL);
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_uint_eq(strlen(message(buf)), 4095);
	log_line("[Test] %s", big);
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_uint_eq(strlen(message(buf)), 4095);
	for (i = 0; i < 4095 - 7; i++)
		ck_assert_int_eq(buf[20 + 7 + i], 'x');
}
END_TEST

/* A request's lines go out together, at log_flush(). */
START_TEST(test_batch)
{
	char	 buf[1024];

	log_begin();
	log_line("[Test] one");
	log_concat("[Test] ", "two", (char *)NULL);
	log_line("[Test] three");
	expect_no_write();
	log_flush();
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_ptr_nonnull(strstr(buf, "[Test] one\n"));
	ck_assert_ptr_nonnull(strstr(buf, "[Test] two\n"));
	ck_assert_ptr_nonnull(strstr(buf, "[Test] three\n"));
	expect_no_write();
	/* Outside a batch again: at once. */
	log_line("[Test] four");
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_str_eq(message(buf), "[Test] four");
}
END_TEST

/*
 * Held lines wait for the next requests', until a flush; log_held() says
 * whether any wait (a worker holding some sleeps only so long).
 */
START_TEST(test_hold)
{
	char	 buf[1024];

	ck_assert(!log_held());
	log_begin();
	log_line("[Test] first request");
	log_hold();
	expect_no_write();
	ck_assert(log_held());
	log_begin();
	log_line("[Test] second request");
	log_hold();
	expect_no_write();
	log_flush();
	ck_assert(!log_held());
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_ptr_nonnull(strstr(buf, "first request\n"));
	ck_assert_ptr_nonnull(strstr(buf, "second request\n"));
	ck_assert(strstr(buf, "first") < strstr(buf, "second"));
	expect_no_write();
	/* Nothing held: log_hold() writes nothing. */
	log_begin();
	log_hold();
	expect_no_write();
	ck_assert(!log_held());
	/* Outside a batch, a line is written at once and nothing is held. */
	log_flush();
	log_line("[Test] between requests");
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert(!log_held());
}
END_TEST

/*
 * Held for a second, not until the clock's next second: lines held just
 * before a second begins are still held just after it.
 */
START_TEST(test_hold_boundary)
{
	struct timespec	 now, nap = { 0, 1000000 };
	time_t		 sec;

	do {
		nanosleep(&nap, NULL);
		ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC_COARSE, &now),
		    0);
	} while (now.tv_nsec < 950000000);
	sec = now.tv_sec;
	log_begin();
	log_line("[Test] before");
	log_hold();
	do {
		nanosleep(&nap, NULL);
		ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC_COARSE, &now),
		    0);
	} while (now.tv_sec == sec);
	log_begin();
	log_line("[Test] after");
	log_hold();
	expect_no_write();
}
END_TEST

/* No line is held a second after it was logged, busy or not. */
START_TEST(test_hold_age)
{
	struct timespec	 wait = { 1, 200000000 };
	char		 buf[1024];

	log_begin();
	log_line("[Test] old");
	log_hold();
	expect_no_write();
	nanosleep(&wait, NULL);
	log_begin();
	log_line("[Test] new");
	log_hold();
	ck_assert_int_gt(next_write(buf, sizeof buf), 0);
	ck_assert_ptr_nonnull(strstr(buf, "[Test] old\n"));
	ck_assert_ptr_nonnull(strstr(buf, "[Test] new\n"));
}
END_TEST

/*
 * However many lines are held, each write is whole lines of at most
 * BATCH_MAX bytes (a pipe's atomic write), all of them in order.
 */
START_TEST(test_batch_max)
{
	static char	 all[64 * 1024], want[64 * 1024];
	char		 buf[8192], line[64];
	size_t		 len = 0, wlen = 0;
	ssize_t		 n;
	int		 i, writes = 0;

	for (i = 0; i < 400; i++) {
		if (i % 7 == 0)
			log_begin();
		snprintf(line, sizeof line, "[Test] line %d of the batch", i);
		log_line("%s", line);
		wlen += (size_t)snprintf(want + wlen, sizeof want - wlen,
		    "%s\n", line);
		if (i % 7 == 6)
			log_hold();
	}
	log_flush();
	while ((n = next_write(buf, sizeof buf)) > 0) {
		writes++;
		ck_assert_int_le(n, BATCH_MAX);
		ck_assert_int_eq(buf[n - 1], '\n');
		/* Without the stamps, for the comparison. */
		for (char *p = buf; *p != '\0'; p = strchr(p, '\n') + 1) {
			size_t	 l = (size_t)(strchr(p, '\n') - p) - 20 + 1;

			memcpy(all + len, p + 20, l);
			len += l;
		}
	}
	ck_assert_int_gt(writes, 1);
	ck_assert_uint_eq(len, wlen);
	ck_assert(memcmp(all, want, len) == 0);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_line);
	tcase_add_test(tc, test_concat);
	tcase_add_test(tc, test_control_bytes);
	tcase_add_test(tc, test_control_every_place);
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_hold_boundary);
	tcase_add_test(tc, test_hold_age);
	tcase_add_test(tc, test_batch_max);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
