/*
 * t_metrics.c: the metrics: counts that add up across processes sharing
 * one file, the histogram's buckets, the registry slots filling up to
 * "other", the exposition read back line by line as a scraper reads it,
 * and metrics files that are short, foreign or damaged.
 */
#include "common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "metrics.h"
#include "tmpdir.h"

static char	 dir[64];
static char	 path[128];


/* Each test starts without a metrics file. */
static void
setup(void)
{
	ck_assert(unlink(path) == 0 || errno == ENOENT);
}

/* Count one review of kind, with n rewrites from the registries regs. */
static void
review(struct metrics *m, enum admission_kind kind, const char *const *regs,
    size_t n, uint64_t ns)
{
	struct admission_result	 res;

	memset(&res, 0, sizeof res);
	res.kind = kind;
	res.status = kind == ADMISSION_INVALID ? 400 : 200;
	res.rewrites = n;
	res.registries = (char **)(uintptr_t)regs;
	metrics_review(m, &res, ns);
}

/*
 * The value of the sample series ("name" or "name{labels}") in the
 * exposition text, or -1 if it is not there.
 */
static long long
value(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 len = strlen(series);
	char		*end;
	long long	 v;

	for (;;) {
		if (strncmp(p, series, len) == 0 && p[len] == ' ') {
			v = strtoll(p + len + 1, &end, 10);
			ck_assert_msg(*end == '\n', "%s: not an integer", series);
			return (v);
		}
		if ((p = strchr(p, '\n')) == NULL)
			return (-1);
		p++;
	}
}

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' in labels). */
static size_t
name_len(const char *s, int label)
{
	size_t	 n = 0;

	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	    s[n] == '_' || (!label && s[n] == ':') ||
	    (n > 0 && s[n] >= '0' && s[n] <= '9'))
		n++;
	return (n);
}

/* Whether sample name belongs to the family declared as fam of type. */
static int
in_family(const char *name, size_t nlen, const char *fam, const char *type)
{
	size_t	 flen = strlen(fam);
	size_t	 i;
	static const char *const hist[] = { "_bucket", "_sum", "_count" };

	if (nlen == flen && strncmp(name, fam, flen) == 0)
		return (strcmp(type, "histogram") != 0);
	if (strcmp(type, "histogram") != 0 || nlen <= flen ||
	    strncmp(name, fam, flen) != 0)
		return (0);
	for (i = 0; i < 3; i++)
		if (nlen - flen == strlen(hist[i]) &&
		    strncmp(name + flen, hist[i], nlen - flen) == 0)
			return (1);
	return (0);
}

/* Why parse() refused its input. */
static char	 parse_error[1200];

#define REFUSE(...) do {						\
	snprintf(parse_error, sizeof parse_error, __VA_ARGS__);	\
	return (-1);							\
} while (0)

/*
 * Read an exposition as a scraper does (text format 0.0.4): HELP and TYPE
 * lines, then the family's samples, each "name{label="value",...} value"
 * with the label values escaped, each series once; a counter's name ends
 * in _total; a histogram's buckets ascend in le and count, ending with
 * +Inf equal to _count. Returns the number of samples, or -1 with
 * parse_error saying which line is wrong.
 */
static int
parse(const char *text)
{
	char		 fam[128] = "", type[16] = "", line[1024];
	char		 seen[256][160];
	const char	*p, *q, *nl;
	size_t		 lineno = 0, n, nseen = 0, i;
	double		 v, le, last_le = -1, last_bucket = -1, inf = -1;
	char		*end;
	int		 samples = 0;

	for (p = text; *p != '\0'; p = nl + 1) {
		lineno++;
		if ((nl = strchr(p, '\n')) == NULL)
			REFUSE("line %zu: no newline at the end", lineno);
		if ((size_t)(nl - p) >= sizeof line)
			REFUSE("line %zu: too long", lineno);
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = name_len(line + 7, 0);
			if (n == 0 || line[7 + n] != ' ' || line[8 + n] == '\0')
				REFUSE("line %zu: HELP: %s", lineno, line);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			n = name_len(line + 7, 0);
			if (n == 0 || n >= sizeof fam || line[7 + n] != ' ')
				REFUSE("line %zu: TYPE: %s", lineno, line);
			memcpy(fam, line + 7, n);
			fam[n] = '\0';
			snprintf(type, sizeof type, "%s", line + 8 + n);
			if (strcmp(type, "counter") != 0 &&
			    strcmp(type, "gauge") != 0 &&
			    strcmp(type, "histogram") != 0)
				REFUSE("line %zu: type %s", lineno, type);
			if (strcmp(type, "counter") == 0 && (n <= 6 ||
			    strcmp(fam + n - 6, "_total") != 0))
				REFUSE("line %zu: counter %s without _total",
				    lineno, fam);
			last_le = last_bucket = inf = -1;
			continue;
		}
		if (line[0] == '#')
			REFUSE("line %zu: comment %s", lineno, line);
		if ((n = name_len(line, 0)) == 0)
			REFUSE("line %zu: no name: %s", lineno, line);
		if (fam[0] == '\0' || !in_family(line, n, fam, type))
			REFUSE("line %zu: %.*s outside its family (%s)", lineno,
			    (int)n, line, fam);
		q = line + n;
		le = -1;
		if (*q == '{') {
			q++;
			for (;;) {
				n = name_len(q, 1);
				if (n == 0 || q[n] != '=' || q[n + 1] != '"')
					REFUSE("line %zu: label: %s", lineno,
					    line);
				if (n == 2 && strncmp(q, "le", 2) == 0)
					le = strncmp(q + 4, "+Inf\"", 5) == 0 ?
					    1e300 : strtod(q + 4, &end);
				for (q += n + 2; *q != '"'; q++) {
					if (*q == '\0')
						REFUSE("line %zu: unterminated: "
						    "%s", lineno, line);
					if (*q != '\\')
						continue;
					q++;
					if (*q != '\\' && *q != '"' && *q != 'n')
						REFUSE("line %zu: escape \\%c",
						    lineno, *q);
				}
				q++;
				if (*q == '}')
					break;
				if (*q != ',')
					REFUSE("line %zu: after a label: %s",
					    lineno, line);
				q++;
			}
			q++;
		}
		if (*q != ' ')
			REFUSE("line %zu: no value: %s", lineno, line);
		n = (size_t)(q - line);
		for (i = 0; i < nseen; i++)
			if (strncmp(seen[i], line, n) == 0 &&
			    seen[i][n] == '\0')
				REFUSE("line %zu: %s again", lineno, line);
		if (nseen == 256 || n >= sizeof seen[0])
			REFUSE("line %zu: too many series", lineno);
		memcpy(seen[nseen], line, n);
		seen[nseen++][n] = '\0';

		v = strtod(q + 1, &end);
		if (end == q + 1 || *end != '\0' || v < 0)
			REFUSE("line %zu: value: %s", lineno, line);
		if (strstr(line, "_bucket{") != NULL) {
			if (le <= last_le || v < last_bucket)
				REFUSE("line %zu: buckets out of order",
				    lineno);
			last_le = le;
			last_bucket = v;
			if (le == 1e300)
				inf = v;
		}
		if (strncmp(line + strlen(fam), "_count ", 7) == 0 && inf != v)
			REFUSE("line %zu: _count is not the +Inf bucket",
			    lineno);
		samples++;
	}
	return (samples);
}

/* parse(), which must accept text. */
static int
parse_ok(const char *text)
{
	int	 n;

	n = parse(text);
	ck_assert_msg(n >= 0, "%s in:\n%s", parse_error, text);
	return (n);
}

START_TEST(test_local)
{
	struct metrics	*m = NULL;
	char		*cause = NULL, *text;
	size_t		 len;

	ck_assert_int_eq(metrics_open(NULL, &m, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(metrics_shared(m), 0);
	text = metrics_format(m, 7, &len);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_int_gt(parse_ok(text), 30);
	ck_assert_int_eq(value(text, "gilly_metrics_shared"), 0);
	ck_assert_int_eq(value(text, "gilly_table_rules"), 7);
	ck_assert_int_eq(value(text, "gilly_workers"), 1);
	ck_assert_int_eq(value(text, "gilly_reviews_total{result=\"patched\"}"),
	    0);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"other\"}"), 0);
	ck_assert_int_eq(value(text,
	    "gilly_errors_total{kind=\"table_reload\"}"), 0);
	ck_assert_int_eq(value(text,
	    "gilly_review_duration_seconds_count"), 0);
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}
END_TEST

START_TEST(test_counts)
{
	static const char *const two[] = { "gcr.io", "quay.io" };
	static const char *const one[] = { "gcr.io" };
	struct metrics	*m = NULL;
	char		*text;

	ck_assert_int_eq(metrics_open(NULL, &m, NULL), 0);
	review(m, ADMISSION_PATCHED, two, 2, 1000);
	review(m, ADMISSION_PATCHED, one, 1, 1000);
	review(m, ADMISSION_UNCHANGED, NULL, 0, 1000);
	review(m, ADMISSION_IGNORED, NULL, 0, 1000);
	review(m, ADMISSION_IGNORED, NULL, 0, 1000);
	review(m, ADMISSION_EXCLUDED, NULL, 0, 1000);
	review(m, ADMISSION_INVALID, NULL, 0, 1000);
	metrics_error(m, METRICS_ERROR_METHOD);
	metrics_error(m, metrics_error_of_status(413));
	metrics_error(m, metrics_error_of_status(413));
	metrics_error(m, METRICS_ERROR_TABLE_RELOAD);
	metrics_reload(m);
	metrics_reload(m);
	text = metrics_format(m, 3, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text, "gilly_reviews_total{result=\"patched\"}"),
	    2);
	ck_assert_int_eq(value(text,
	    "gilly_reviews_total{result=\"unchanged\"}"), 1);
	ck_assert_int_eq(value(text, "gilly_reviews_total{result=\"ignored\"}"),
	    2);
	ck_assert_int_eq(value(text,
	    "gilly_reviews_total{result=\"excluded\"}"), 1);
	ck_assert_int_eq(value(text, "gilly_reviews_total{result=\"invalid\"}"),
	    1);
	ck_assert_int_eq(value(text, "gilly_pods_patched_total"), 2);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"gcr.io\"}"), 2);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"quay.io\"}"), 1);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"other\"}"), 0);
	/* An invalid review is a bad request too. */
	ck_assert_int_eq(value(text, "gilly_errors_total{kind=\"bad_request\"}"),
	    1);
	ck_assert_int_eq(value(text, "gilly_errors_total{kind=\"method\"}"), 1);
	ck_assert_int_eq(value(text, "gilly_errors_total{kind=\"too_large\"}"),
	    2);
	ck_assert_int_eq(value(text,
	    "gilly_errors_total{kind=\"table_reload\"}"), 1);
	ck_assert_int_eq(value(text, "gilly_table_reloads_total"), 2);
	ck_assert_int_eq(value(text, "gilly_review_duration_seconds_count"),
	    7);
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_error_kinds)
{
	static const struct {
		int		 status;
		const char	*name;
	} map[] = {
		{ 400, "bad_request" }, { 404, "not_found" }, { 405, "method" },
		{ 411, "length_required" }, { 413, "too_large" },
		{ 415, "unsupported_media" }, { 503, "unavailable" },
		{ 500, "internal" }, { 418, "internal" },
	};
	size_t	 i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		ck_assert_str_eq(metrics_error_name(
		    metrics_error_of_status(map[i].status)), map[i].name);
	ck_assert_str_eq(metrics_error_name(METRICS_ERROR_WRITE), "write");
	ck_assert_str_eq(metrics_error_name(METRICS_ERROR_TABLE_RELOAD),
	    "table_reload");
}
END_TEST

START_TEST(test_histogram)
{
	/* ns, and the first bucket (le) that holds it. */
	static const uint64_t ns[] = {
		0, 10000, 10001, 25000, 99999, 1000000, 100000000, 100000001,
		3000000000ULL
	};
	struct metrics	*m = NULL;
	char		*text;
	uint64_t	 sum = 0;
	char		 want[64];
	size_t		 i;

	ck_assert_int_eq(metrics_open(NULL, &m, NULL), 0);
	for (i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		review(m, ADMISSION_UNCHANGED, NULL, 0, ns[i]);
		sum += ns[i];
	}
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	/* le is "less than or equal": 10000 ns lies in the 10 us bucket. */
#define BUCKET(le)	"gilly_review_duration_seconds_bucket{le=\"" le "\"}"
	ck_assert_int_eq(value(text, BUCKET("0.00001")), 2);
	ck_assert_int_eq(value(text, BUCKET("0.000025")), 4);
	ck_assert_int_eq(value(text, BUCKET("0.00005")), 4);
	ck_assert_int_eq(value(text, BUCKET("0.0001")), 5);
	ck_assert_int_eq(value(text, BUCKET("0.0005")), 5);
	ck_assert_int_eq(value(text, BUCKET("0.001")), 6);
	ck_assert_int_eq(value(text, BUCKET("0.05")), 6);
	ck_assert_int_eq(value(text, BUCKET("0.1")), 7);
	ck_assert_int_eq(value(text, BUCKET("+Inf")), 9);
#undef BUCKET
	ck_assert_int_eq(value(text, "gilly_review_duration_seconds_count"),
	    9);
	/* The sum in seconds, to the nanosecond. */
	snprintf(want, sizeof want, "\ngilly_review_duration_seconds_sum "
	    "%llu.%09llu\n", (unsigned long long)(sum / 1000000000),
	    (unsigned long long)(sum % 1000000000));
	ck_assert_str_eq(want, "\ngilly_review_duration_seconds_sum "
	    "3.201145001\n");
	ck_assert_msg(strstr(text, want) != NULL, "no %s in:\n%s", want + 1,
	    text);
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_registry_slots)
{
	struct metrics	*m = NULL;
	char		*text, name[METRICS_REGISTRY_MAX + 2], series[256];
	const char	*regs[1];
	size_t		 i;

	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	regs[0] = name;
	/* Every slot taken, the first one twice. */
	for (i = 0; i < METRICS_REGISTRY_SLOTS; i++) {
		snprintf(name, sizeof name, "r%zu.example:5000", i);
		review(m, ADMISSION_PATCHED, regs, 1, 1);
	}
	snprintf(name, sizeof name, "r0.example:5000");
	review(m, ADMISSION_PATCHED, regs, 1, 1);
	/* No slot left: "other". */
	snprintf(name, sizeof name, "late.example");
	review(m, ADMISSION_PATCHED, regs, 1, 1);
	review(m, ADMISSION_PATCHED, regs, 1, 1);
	/* Names that are never a slot's: empty, too long, a control byte. */
	name[0] = '\0';
	review(m, ADMISSION_PATCHED, regs, 1, 1);
	memset(name, 'a', METRICS_REGISTRY_MAX + 1);
	name[METRICS_REGISTRY_MAX + 1] = '\0';
	review(m, ADMISSION_PATCHED, regs, 1, 1);
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"r0.example:5000\"}"), 2);
	for (i = 1; i < METRICS_REGISTRY_SLOTS; i++) {
		snprintf(series, sizeof series, "gilly_images_rewritten_total"
		    "{registry=\"r%zu.example:5000\"}", i);
		ck_assert_int_eq(value(text, series), 1);
	}
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"late.example\"}"), -1);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"other\"}"), 4);
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_label_escape)
{
	static const char *const regs[] = { "a\"b\\c.example", "plain.example" };
	struct metrics	*m = NULL;
	char		*text;

	ck_assert_int_eq(metrics_open(NULL, &m, NULL), 0);
	review(m, ADMISSION_PATCHED, regs, 2, 1);
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text, "gilly_images_rewritten_total"
	    "{registry=\"a\\\"b\\\\c.example\"}"), 1);
	free(text);
	metrics_free(m);
}
END_TEST

/* Child of a fork: count n reviews in its own mapping of path, then exit. */
static void
child_counts(int fd_ready, int fd_go, int n)
{
	static const char *const regs[] = { "gcr.io", "quay.io", NULL };
	const char	*racing[1];
	struct metrics	*m = NULL;
	char		 name[32], c = 'x';
	int		 i;

	if (metrics_open(path, &m, NULL) != 0)
		_exit(2);
	/* Attached: say so, and wait until told to count. */
	if (write(fd_ready, &c, 1) != 1 || read(fd_go, &c, 1) != 1)
		_exit(3);
	for (i = 0; i < n; i++) {
		review(m, ADMISSION_PATCHED, regs, 2, 20000);
		metrics_error(m, METRICS_ERROR_NOT_FOUND);
		/* New names claimed by every process at about once. */
		snprintf(name, sizeof name, "race%d.example", i % 10);
		racing[0] = name;
		if (i < 10)
			review(m, ADMISSION_PATCHED, racing, 1, 20000);
	}
	metrics_free(m);
	_exit(0);
}

START_TEST(test_processes)
{
	/* Enough increments that plain adds would lose some on two cores. */
	enum { CHILDREN = 4, N = 200000 };
	struct metrics	*m = NULL;
	char		*text, c = 'g', series[128];
	pid_t		 pids[CHILDREN], pid;
	int		 ready[2], go[2], i, status;

	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	ck_assert_int_eq(metrics_shared(m), 1);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < CHILDREN; i++) {
		ck_assert_int_ne(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_counts(ready[1], go[0], N);
	}
	for (i = 0; i < CHILDREN; i++)
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
	/* All attached and alive: this process and its children. */
	text = metrics_format(m, 0, NULL);
	ck_assert_int_eq(value(text, "gilly_workers"), CHILDREN + 1);
	free(text);
	for (i = 0; i < CHILDREN; i++)
		ck_assert_int_eq(write(go[1], &c, 1), 1);

	/* A child forked after the open shares the parent's mapping. */
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		for (i = 0; i < N; i++)
			metrics_error(m, METRICS_ERROR_NOT_FOUND);
		_exit(0);
	}
	for (i = 0; i < N; i++)
		metrics_error(m, METRICS_ERROR_NOT_FOUND);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d: status %d", i, status);
	}

	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text, "gilly_metrics_shared"), 1);
	ck_assert_int_eq(value(text, "gilly_reviews_total{result=\"patched\"}"),
	    CHILDREN * (N + 10));
	ck_assert_int_eq(value(text, "gilly_pods_patched_total"),
	    CHILDREN * (N + 10));
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"gcr.io\"}"), CHILDREN * N);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"quay.io\"}"), CHILDREN * N);
	/* Claimed by the children racing, each name counted in one line. */
	for (i = 0; i < 10; i++) {
		snprintf(series, sizeof series, "gilly_images_rewritten_total"
		    "{registry=\"race%d.example\"}", i);
		ck_assert_int_eq(value(text, series), CHILDREN);
	}
	ck_assert_int_eq(value(text, "gilly_errors_total{kind=\"not_found\"}"),
	    CHILDREN * N + 2 * N);
	ck_assert_int_eq(value(text, "gilly_review_duration_seconds_count"),
	    CHILDREN * (N + 10));
	ck_assert_int_eq(value(text,
	    "gilly_review_duration_seconds_bucket{le=\"0.000025\"}"),
	    CHILDREN * (N + 10));
	/* The children are gone: only this process is left. */
	ck_assert_int_eq(value(text, "gilly_workers"), 1);
	free(text);
	metrics_free(m);

	/* The counts outlive the processes: a new opener sees them. */
	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	text = metrics_format(m, 0, NULL);
	ck_assert_int_eq(value(text, "gilly_pods_patched_total"),
	    CHILDREN * (N + 10));
	free(text);
	metrics_free(m);
}
END_TEST

/* Write len bytes of c to a new file at path. */
static void
write_file(const char *p, int c, size_t len)
{
	char	*buf;
	int	 fd;

	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	memset(buf, c, len);
	ck_assert_int_ne(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600), -1);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

static off_t
file_size(const char *p)
{
	struct stat	 st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (st.st_size);
}

/* Open path expecting a refusal that says want; the fallback counts. */
static void
refused(const char *p, const char *want)
{
	static const char *const regs[] = { "gcr.io" };
	struct metrics	*m = NULL;
	char		*cause = NULL, *text;

	ck_assert_int_eq(metrics_open(p, &m, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, want);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(metrics_shared(m), 0);
	review(m, ADMISSION_PATCHED, regs, 1, 5);
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text, "gilly_metrics_shared"), 0);
	ck_assert_int_eq(value(text, "gilly_pods_patched_total"), 1);
	free(text);
	free(cause);
	metrics_free(m);
}

START_TEST(test_bad_files)
{
	struct metrics	*m = NULL;
	char		 p[192];
	off_t		 size;

	/* Short, foreign: refused and left as it is. */
	write_file(path, 'x', 100);
	refused(path, "100 bytes");
	ck_assert_int_eq(file_size(path), 100);

	/* Empty: made a metrics file. */
	write_file(path, 'x', 0);
	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	ck_assert_int_eq(metrics_shared(m), 1);
	metrics_free(m);
	size = file_size(path);
	ck_assert_int_gt(size, 4096);

	/* The right size, not ours. */
	write_file(path, 'x', (size_t)size);
	refused(path, "not a gilly metrics file");

	/* Ours, of another version: the magic, then version 99. */
	unlink(path);
	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	metrics_free(m);
	{
		int		 fd;
		uint32_t	 v = 99;

		ck_assert_int_ne(fd = open(path, O_WRONLY), -1);
		ck_assert_int_eq(pwrite(fd, &v, sizeof v, 8), sizeof v);
		close(fd);
	}
	refused(path, "version 99");

	/* Not a file, or nowhere to create one. */
	refused("/dev/null", "not a regular file");
	refused(dir, "Is a directory");
	snprintf(p, sizeof p, "%s/missing/gilly.metrics", dir);
	refused(p, "missing/gilly.metrics: No such file or directory");
}
END_TEST

START_TEST(test_damaged_slots)
{
	static const char *const regs[] = {
		"aaaaaaaa.example", "bbbbbbbb.example", "good.example"
	};
	struct metrics	*m = NULL;
	char		*text, *buf, *at;
	size_t		 size, i;
	int		 fd;

	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	review(m, ADMISSION_PATCHED, regs, 3, 1);
	metrics_free(m);

	/* Damage two slots' names behind the program's back. */
	size = (size_t)file_size(path);
	buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ne(fd = open(path, O_RDWR), -1);
	ck_assert_int_eq(pread(fd, buf, size, 0), (ssize_t)size);
	/* No terminating NUL: the name runs over the whole slot. */
	at = memmem(buf, size, regs[0], strlen(regs[0]));
	ck_assert_ptr_nonnull(at);
	for (i = 0; i < METRICS_REGISTRY_MAX + 1; i++)
		at[i] = 'a';
	/* A control byte, which no registry name holds. */
	at = memmem(buf, size, regs[1], strlen(regs[1]));
	ck_assert_ptr_nonnull(at);
	at[0] = '\n';
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	free(buf);

	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	review(m, ADMISSION_PATCHED, regs + 2, 1, 1);
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"good.example\"}"), 2);
	ck_assert_ptr_null(strstr(text, "aaaaaaaa"));
	ck_assert_ptr_null(strstr(text, "bbbbbbb"));
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_twins)
{
	static const char *const regs[] = { "twin.example", "twjn.example" };
	struct metrics	*m = NULL;
	char		*text, *buf, *at;
	size_t		 size;
	int		 fd;

	/*
	 * Two workers claiming one new name at once may each name a slot
	 * with it: made here by renaming the second slot like the first.
	 */
	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	review(m, ADMISSION_PATCHED, regs, 2, 1);
	review(m, ADMISSION_PATCHED, regs + 1, 1, 1);
	metrics_free(m);
	size = (size_t)file_size(path);
	buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ne(fd = open(path, O_RDWR), -1);
	ck_assert_int_eq(pread(fd, buf, size, 0), (ssize_t)size);
	at = memmem(buf, size, regs[1], strlen(regs[1]));
	ck_assert_ptr_nonnull(at);
	at[2] = 'i';
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	free(buf);

	ck_assert_int_eq(metrics_open(path, &m, NULL), 0);
	text = metrics_format(m, 0, NULL);
	parse_ok(text);
	ck_assert_int_eq(value(text,
	    "gilly_images_rewritten_total{registry=\"twin.example\"}"), 3);
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_parser_fails)
{
	/* The parser above must catch what it is there to catch. */
	static const char *const bad[] = {
		"gilly_x_total 1\n",
		"# TYPE gilly_x_total counter\ngilly_x_total one\n",
		"# TYPE gilly_x_total counter\ngilly_x_total 1",
		"# TYPE gilly_x counter\ngilly_x 1\n",
		"# TYPE gilly_x_total counter\ngilly_x_total{a=\"\\q\"} 1\n",
		"# TYPE gilly_x_total counter\ngilly_x_total{a=\"b} 1\n",
		"# TYPE gilly_x_total counter\ngilly_x_total 1\ngilly_x_total 2\n",
		"# TYPE gilly_x_total counter\ngilly_y_total 1\n",
		"# TYPE gilly_h histogram\ngilly_h_bucket{le=\"1\"} 2\n"
		    "gilly_h_bucket{le=\"+Inf\"} 1\n",
		"# TYPE gilly_h histogram\ngilly_h_bucket{le=\"+Inf\"} 1\n"
		    "gilly_h_count 2\n",
	};
	size_t	 i;

	ck_assert_int_eq(parse("# HELP gilly_x_total Some.\n"
	    "# TYPE gilly_x_total counter\ngilly_x_total{a=\"\\\"\"} 1\n"), 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse(bad[i]) == -1, "parse() accepted: %s",
		    bad[i]);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("counts");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_error_kinds);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_registry_slots);
	tcase_add_test(tc, test_label_escape);
	tcase_add_test(tc, test_parser_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared file");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_processes);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_damaged_slots);
	tcase_add_test(tc, test_twins);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(metrics_suite());
	int	 failed;

	tmpdir_make("t_metrics", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/gilly.metrics", dir);
	srunner_run_all(sr, CK_NORMAL);
	tmpdir_remove(dir);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
