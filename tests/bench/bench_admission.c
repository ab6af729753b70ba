/*
 * bench_admission.c: the CPU time of admission_review(), in process.
 *
 * usage: bench_admission TABLE POD [FIXTURE...]
 *
 * Prints, in microseconds of process CPU time (CLOCK_PROCESS_CPUTIME_ID) per
 * review, the median of BENCH_REPEAT (5) rounds of about BENCH_ROUND_MS
 * (40) ms each:
 * - POD and each FIXTURE as it is (the captured reviews are pretty-printed) and
 *   compacted, as the API server sends them (Go's encoding/json), beside
 *   json-c's strict parse of the same bytes alone, into a tree and freed;
 * - synthetic Pods made from POD, a Pod CREATE review: 1, 10 and 100 containers
 *   (cost should grow linearly), the same with nothing to rewrite, and a
 *   Pod of about 1 MiB (large annotation and environment);
 * - the 1-container Pod against tables of 10, 1,000 and 10,000 rules (flat:
 *   matching is a few hash probes, not a scan).
 * review_us is the same review again and again, as the Pods of one
 * Deployment are: the table's memo (lib/memo.h) answers its images.
 * new_us is the same with the memo off, as if every image were new. The
 * table sizes are measured that way only: there, the lookup is the point.
 * Logging is silenced (log_set_quiet): the log line costs a write(2),
 * which is not the handler's work. BENCH_LOG=1 keeps the lines (on
 * stderr), for their formatting's share (with BENCH_PROFILE, say).
 *
 * BENCH_PROFILE=N: nothing of the above, only N reviews of POD compacted,
 * in profile_reviews(), for a profiler: make bench-profile runs callgrind
 * over that function alone and prints the instructions per review. With
 * BENCH_MEMO=0 as well, the table's memo is off.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "admission.h"
#include "config.h"
#include "log.h"
#include "mirror.h"

#define JSON_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* One body to measure. */
struct body {
	char	*data;
	size_t	 len;
};

static int	bench_rounds = 5;
static double	bench_round_ms = 40;

static double
cpu_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* What one measured function does, n times. */
typedef void	(*work_fn)(const void *, const struct body *, long);

/*
 * The median over the rounds of the CPU µs per call of fn. The number of
 * calls per round is calibrated so that a round lasts bench_round_ms.
 */
static double
measure(work_fn fn, const void *arg, const struct body *b)
{
	double	 t0, t, per[64];
	long	 n = 1;
	int	 i, rounds;

	rounds = bench_rounds < 64 ? bench_rounds : 64;
	/* Warm up and calibrate: at least 10 ms. */
	for (;;) {
		t0 = cpu_now();
		fn(arg, b, n);
		t = cpu_now() - t0;
		if (t >= 10000)
			break;
		n *= 2;
	}
	n = (long)(n * (bench_round_ms * 1000) / t) + 1;
	for (i = 0; i < rounds; i++) {
		t0 = cpu_now();
		fn(arg, b, n);
		per[i] = (cpu_now() - t0) / n;
	}
	qsort(per, rounds, sizeof per[0], cmp_double);
	return (per[rounds / 2]);
}

static void
work_review(const void *arg, const struct body *b, long n)
{
	struct admission_result	 res;
	long			 i;

	for (i = 0; i < n; i++) {
		admission_review(arg, b->data, b->len, &res);
		admission_result_free(&res);
	}
}

/* json-c's parse alone, a new tokener each time. */
static void
work_parse(const void *arg, const struct body *b, long n)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	long			 i;

	(void)arg;
	for (i = 0; i < n; i++) {
		tok = json_tokener_new_ex(ADMISSION_DEPTH_MAX);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, b->data, (int)b->len);
		json_object_put(o);
		json_tokener_free(tok);
	}
}

/* Answer b once: the kind, and the response's size. */
static const char *
review_once(const struct mirror *table, const struct body *b, size_t *size,
    size_t *rewrites)
{
	struct admission_result	 res;
	const char		*kind;

	admission_review(table, b->data, b->len, &res);
	kind = admission_kind_name(res.kind);
	*size = res.body_len;
	*rewrites = res.rewrites;
	admission_result_free(&res);
	return (kind);
}

static void
read_file(const char *path, struct body *b)
{
	FILE	*f;
	size_t	 size = 65536, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "bench_admission: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	b->data = xmalloc(size);
	b->len = 0;
	while ((n = fread(b->data + b->len, 1, size - b->len, f)) > 0) {
		b->len += n;
		if (b->len == size)
			b->data = xrealloc(b->data, size *= 2);
	}
	if (ferror(f)) {
		fprintf(stderr, "bench_admission: %s: read error\n", path);
		exit(1);
	}
	fclose(f);
}

/* b without the whitespace between tokens. */
static void
compact(const struct body *b, struct body *out)
{
	size_t	 i;
	int	 instr = 0, esc = 0;
	char	 c;

	out->data = xmalloc(b->len + 1);
	out->len = 0;
	for (i = 0; i < b->len; i++) {
		c = b->data[i];
		if (instr) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		else if (c == '"')
			instr = 1;
		out->data[out->len++] = c;
	}
}

static void
from_json(struct json_object *o, struct body *b)
{
	const char	*s;

	s = json_object_to_json_string_length(o, JSON_FLAGS, &b->len);
	b->data = xstrndup(s, b->len);
}

static struct json_object *
get_path(struct json_object *o, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (!json_object_object_get_ex(o, *keys, &o) || o == NULL) {
			fprintf(stderr, "bench_admission: POD has no %s\n",
			    *keys);
			exit(1);
		}
	return (o);
}

/*
 * A Pod review made from the fixture root: n containers, copies of its
 * first, with images from gcr.io (or already on the mirror when mirrored),
 * and env_bytes of environment in the first container and as much again
 * in an annotation.
 */
static void
make_pod(struct json_object *root, int n, int mirrored, size_t env_bytes,
    struct body *b)
{
	static const char *const spec_path[] = {
		"request", "object", "spec", NULL
	};
	static const char *const meta_path[] = {
		"request", "object", "metadata", NULL
	};
	struct json_object	*copy = NULL, *spec, *meta, *list, *first, *c;
	struct json_object	*env, *var, *ann;
	char			 s[128], *big;
	size_t			 done;
	int			 i;

	if (json_object_deep_copy(root, &copy, NULL) != 0)
		abort();
	spec = get_path(copy, spec_path);
	meta = get_path(copy, meta_path);
	list = json_object_object_get(spec, "containers");
	first = json_object_get(json_object_array_get_idx(list, 0));
	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		c = NULL;
		if (json_object_deep_copy(first, &c, NULL) != 0)
			abort();
		snprintf(s, sizeof s, "app-%d", i);
		json_object_object_add(c, "name", json_object_new_string(s));
		snprintf(s, sizeof s, "%s/team/app-%d:1.%d", mirrored ?
		    "my.internal.repo" : "gcr.io", i, i);
		json_object_object_add(c, "image", json_object_new_string(s));
		json_object_array_add(list, c);
	}
	json_object_put(first);
	json_object_object_add(spec, "containers", list);
	if (env_bytes > 0) {
		big = xmalloc(1025);
		memset(big, 'x', 1024);
		big[1024] = '\0';
		env = json_object_new_array();
		for (done = 0, i = 0; done < env_bytes; done += 1024, i++) {
			var = json_object_new_object();
			snprintf(s, sizeof s, "VAR_%d", i);
			json_object_object_add(var, "name",
			    json_object_new_string(s));
			json_object_object_add(var, "value",
			    json_object_new_string(big));
			json_object_array_add(env, var);
		}
		json_object_object_add(json_object_array_get_idx(list, 0),
		    "env", env);
		free(big);
		big = xmalloc(env_bytes + 1);
		memset(big, 'y', env_bytes);
		big[env_bytes] = '\0';
		ann = json_object_new_object();
		json_object_object_add(ann,
		    "kubectl.kubernetes.io/last-applied-configuration",
		    json_object_new_string(big));
		json_object_object_add(meta, "annotations", ann);
		free(big);
	}
	from_json(copy, b);
	json_object_put(copy);
}

/* A table of n rules: hosts and repository prefixes that match nothing. */
static struct mirror *
make_table(int n, const char *conf_rules)
{
	struct mirror	*m;
	char		 src[128], dst[128], *cause = NULL;
	int		 i;

	if (config_load_buffer("bench", conf_rules, strlen(conf_rules), &m,
	    &cause) != 0) {
		fprintf(stderr, "bench_admission: %s\n", cause);
		exit(1);
	}
	for (i = (int)mirror_rule_count(m); i < n; i++) {
		if (i % 2 == 0)
			snprintf(src, sizeof src, "registry-%d.example.com", i);
		else
			snprintf(src, sizeof src, "docker.io/team-%d", i);
		snprintf(dst, sizeof dst, "mirror.example/r%d", i);
		if (mirror_add(m, src, dst, &cause) != 0) {
			fprintf(stderr, "bench_admission: %s\n", cause);
			exit(1);
		}
	}
	return (m);
}

static const char *
base_name(const char *path)
{
	const char	*p;

	return ((p = strrchr(path, '/')) != NULL ? p + 1 : path);
}

/*
 * One line: b reviewed with the memo on (unless memo says not) and off,
 * and parsed by json-c alone (if parse).
 */
static void
row(const char *name, struct mirror *table, const struct body *b, int memo,
    int parse)
{
	const char	*kind;
	size_t		 size, rewrites;

	kind = review_once(table, b, &size, &rewrites);
	printf("%-34s %8zu %9s %4zu %8zu", name, b->len, kind, rewrites, size);
	if (memo)
		printf(" %9.2f", measure(work_review, table, b));
	else
		printf(" %9s", "-");
	mirror_set_memo(table, 0);
	printf(" %9.2f", measure(work_review, table, b));
	mirror_set_memo(table, 1);
	if (parse)
		printf(" %9.2f", measure(work_parse, NULL, b));
	printf("\n");
	fflush(stdout);
}

static void
header(const char *title, int parse)
{
	printf("\n%s\n%-34s %8s %9s %4s %8s %9s %9s", title, "review",
	    "bytes", "kind", "rw", "response", "review_us", "new_us");
	if (parse)
		printf(" %9s", "jsonc_us");
	printf("\n");
}

/* Kept out of line: callgrind counts this function alone. */
static __attribute__((noinline)) void
profile_reviews(const struct mirror *table, const struct body *b, long n)
{
	struct admission_result	 res;

	for (; n > 0; n--) {
		admission_review(table, b->data, b->len, &res);
		admission_result_free(&res);
	}
}

int
main(int argc, char **argv)
{
	static const int	 sizes[] = { 1, 10, 100 };
	static const int	 rules[] = { 10, 1000, 10000 };
	struct mirror		*table, *t;
	struct json_object	*root;
	struct body		 b, c;
	const char		*e, *name;
	char			*conf, *cause = NULL, label[64];
	size_t			 i;
	long			 n;
	int			 k, memo;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_admission TABLE POD "
		    "[FIXTURE...]\n");
		return (2);
	}
	if ((e = getenv("BENCH_REPEAT")) != NULL && atoi(e) > 0)
		bench_rounds = atoi(e);
	if ((e = getenv("BENCH_ROUND_MS")) != NULL && atof(e) > 0)
		bench_round_ms = atof(e);
	log_set_quiet(getenv("BENCH_LOG") == NULL);
	if (config_load_file(argv[1], &table, &cause) != 0) {
		fprintf(stderr, "bench_admission: %s\n", cause);
		return (1);
	}
	if ((e = getenv("BENCH_PROFILE")) != NULL && (n = atol(e)) > 0) {
		memo = (e = getenv("BENCH_MEMO")) == NULL || atoi(e) != 0;
		mirror_set_memo(table, memo);
		read_file(argv[2], &b);
		compact(&b, &c);
		profile_reviews(table, &c, n);
		printf("%ld reviews of %s, compact (%zu bytes), memo %s\n", n,
		    base_name(argv[2]), c.len, memo ? "on" : "off");
		free(c.data);
		free(b.data);
		mirror_free(table);
		return (0);
	}
	printf("CPU microseconds per call (median of %d rounds of %.0f ms); "
	    "table %s (%zu rules)\n", bench_rounds, bench_round_ms, argv[1],
	    mirror_rule_count(table));
	printf("jsonc_us: json-c's strict parse of the same bytes alone, "
	    "for comparison\n");

	header("Captured reviews (as stored, pretty-printed; then compacted "
	    "as the API server sends them)", 1);
	for (k = 2; k < argc; k++) {
		name = base_name(argv[k]);
		/* POD again in the list (a glob): once is enough. */
		if (k > 2 && strcmp(name, base_name(argv[2])) == 0)
			continue;
		read_file(argv[k], &b);
		row(name, table, &b, 1, 1);
		compact(&b, &c);
		row("  compact", table, &c, 1, 1);
		free(c.data);
		free(b.data);
	}

	read_file(argv[2], &b);
	if ((root = json_tokener_parse(b.data)) == NULL) {
		fprintf(stderr, "bench_admission: %s: not JSON\n", argv[2]);
		return (1);
	}
	free(b.data);
	header("Synthetic Pods (compact, made from POD)", 1);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		make_pod(root, sizes[i], 0, 0, &b);
		snprintf(label, sizeof label, "%d container%s", sizes[i],
		    sizes[i] == 1 ? "" : "s");
		row(label, table, &b, 1, 1);
		free(b.data);
	}
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		make_pod(root, sizes[i], 1, 0, &b);
		snprintf(label, sizeof label, "%d container%s, on the mirror",
		    sizes[i], sizes[i] == 1 ? "" : "s");
		row(label, table, &b, 1, 1);
		free(b.data);
	}
	make_pod(root, 1, 0, 512 * 1024, &b);
	row("1 MiB Pod (env, annotation)", table, &b, 1, 1);
	free(b.data);

	make_pod(root, 1, 0, 0, &b);
	header("Table size (the 1-container Pod)", 0);
	conf = xasprintf("mirrors:\n  gcr.io: my.internal.repo\n");
	for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		t = make_table(rules[i], conf);
		snprintf(label, sizeof label, "%zu rules", mirror_rule_count(t));
		row(label, t, &b, 0, 0);
		mirror_free(t);
	}
	free(conf);
	free(b.data);
	json_object_put(root);
	mirror_free(table);
	return (0);
}
