/*
 * metrics.c: counters in a file mapped by every worker, and their
 * exposition in the Prometheus text format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats).
 *
 * The file is one struct metrics_file. Every field only ever grows by
 * __atomic_fetch_add (or is claimed once by compare-and-swap), so workers
 * never lock and a worker killed mid-request loses at most its own
 * increment. Readers load each field atomically; a scrape is not one
 * snapshot (a review may be half counted in it), which Prometheus
 * counters tolerate.
 *
 * 64-bit atomics must be lock-free: libatomic's fallback locks are private
 * to a process and would protect nothing across workers.
 *
 * The file must keep its size while mapped: truncated under a worker, it
 * would fault it (SIGBUS). It lives in the run directory, which only gilly
 * writes, and nothing here ever shrinks it.
 */
#include "common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "metrics.h"

_Static_assert(__atomic_always_lock_free(sizeof (uint64_t), 0),
    "64-bit atomics must be lock-free to be shared between processes");

/* "GILLYMT1" read as a little-endian integer: the first 8 bytes. */
#define METRICS_MAGIC		UINT64_C(0x31544d594c4c4947)
/* Bumped with any change of struct metrics_file. */
#define METRICS_VERSION		1U

/* Room for more kinds without a new layout. */
#define REVIEW_KINDS		8
#define ERROR_KINDS		16

/* Upper bounds of the histogram buckets, in ns; +Inf follows. */
static const uint64_t bucket_ns[] = {
	10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 25000000, 50000000, 100000000
};
/* The same in seconds, as the "le" labels say them. */
static const char *const bucket_le[] = {
	"0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005",
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1"
};
#define BUCKETS		(sizeof bucket_ns / sizeof bucket_ns[0])

/* A registry slot: free, being claimed (its name being written), named. */
#define SLOT_FREE	0U
#define SLOT_CLAIMED	1U
#define SLOT_NAMED	2U

struct registry_slot {
	uint32_t	 state;
	char		 name[METRICS_REGISTRY_MAX + 1];	/* NUL-terminated */
	uint32_t	 pad;
	uint64_t	 count;
};

/* The file: fixed layout, all zero when new. */
struct metrics_file {
	uint64_t		 magic;
	uint32_t		 version;
	uint32_t		 size;		/* sizeof (struct metrics_file) */
	uint64_t		 reviews[REVIEW_KINDS];	/* by enum admission_kind */
	uint64_t		 pods_patched;
	uint64_t		 errors[ERROR_KINDS];	/* by enum metrics_error */
	uint64_t		 reloads;
	uint64_t		 buckets[BUCKETS + 1];	/* not cumulative; last: +Inf */
	uint64_t		 duration_ns;
	uint64_t		 other_registry;
	int32_t			 workers[METRICS_WORKER_SLOTS];	/* PIDs; 0 free */
	struct registry_slot	 registries[METRICS_REGISTRY_SLOTS];
};

_Static_assert(ADMISSION_INVALID < REVIEW_KINDS, "review kinds");
_Static_assert(METRICS_ERROR_COUNT <= ERROR_KINDS, "error kinds");
_Static_assert(sizeof (struct registry_slot) == 128, "registry slot");

struct metrics {
	struct metrics_file	*f;
	int			 shared;	/* f is mapped from the file */
};

static const char *const error_names[METRICS_ERROR_COUNT] = {
	"bad_request", "not_found", "method", "length_required", "too_large",
	"unsupported_media", "unavailable", "internal", "write", "table_reload"
};

static const enum admission_kind review_kinds[] = {
	ADMISSION_PATCHED, ADMISSION_UNCHANGED, ADMISSION_IGNORED,
	ADMISSION_EXCLUDED, ADMISSION_INVALID
};

static void
add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

/*
 * Claim a 32-bit header field for want: set it if still 0, else it must
 * already hold want. Every opener wants the same values, so racing openers
 * all succeed, and a file of another layout is refused.
 */
static int
claim32(uint32_t *p, uint32_t want)
{
	uint32_t	 seen = 0;

	return (__atomic_compare_exchange_n(p, &seen, want, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || seen == want ? 0 : -1);
}

static int
claim64(uint64_t *p, uint64_t want)
{
	uint64_t	 seen = 0;

	return (__atomic_compare_exchange_n(p, &seen, want, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || seen == want ? 0 : -1);
}

/* Whether PID names a process (alive, or a zombie not yet reaped). */
static int
pid_exists(int32_t pid)
{
	return (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM));
}

/*
 * Record this process in a worker slot: a free one, or one whose process
 * is gone (a worker killed and respawned). Slots all taken: not recorded.
 */
static void
attach(struct metrics_file *f)
{
	int32_t		 self, seen;
	size_t		 i;

	self = (int32_t)getpid();
	for (i = 0; i < METRICS_WORKER_SLOTS; i++) {
		seen = __atomic_load_n(&f->workers[i], __ATOMIC_ACQUIRE);
		if (seen == self)
			return;
		if (seen != 0 && pid_exists(seen))
			continue;
		if (__atomic_compare_exchange_n(&f->workers[i], &seen, self, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return;
	}
}

/* Check or set up the header of a mapped file. */
static int
header_claim(struct metrics_file *f, const char *path, char **cause)
{
	if (claim64(&f->magic, METRICS_MAGIC) != 0)
		return (set_cause(cause, "%s: not a gilly metrics file", path));
	if (claim32(&f->version, METRICS_VERSION) != 0)
		return (set_cause(cause, "%s: metrics file version %u, this "
		    "gilly writes version %u", path,
		    __atomic_load_n(&f->version, __ATOMIC_ACQUIRE),
		    METRICS_VERSION));
	if (claim32(&f->size, (uint32_t)sizeof *f) != 0)
		return (set_cause(cause, "%s: metrics file layout of %u bytes, "
		    "expected %zu", path, __atomic_load_n(&f->size,
		    __ATOMIC_ACQUIRE), sizeof *f));
	return (0);
}

/*
 * Map the file at path, creating it zero-filled if it is new or empty.
 * O_CREAT without O_EXCL and ftruncate() to the one fixed size are safe
 * for openers racing each other; a file of any other size is someone
 * else's, and is left untouched.
 */
static int
map_file(const char *path, struct metrics_file **out, char **cause)
{
	struct metrics_file	*f = MAP_FAILED;
	struct stat		 st;
	int			 fd, rv = -1;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto end;
	}
	if (fstat(fd, &st) == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto end;
	}
	if (!S_ISREG(st.st_mode)) {
		set_cause(cause, "%s: not a regular file", path);
		goto end;
	}
	if (st.st_size == 0 && ftruncate(fd, (off_t)sizeof *f) == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto end;
	}
	if (st.st_size != 0 && st.st_size != (off_t)sizeof *f) {
		set_cause(cause, "%s: %lld bytes, a gilly metrics file has %zu",
		    path, (long long)st.st_size, sizeof *f);
		goto end;
	}
	f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED) {
		set_cause(cause, "%s: mmap: %s", path, strerror(errno));
		goto end;
	}
	if (header_claim(f, path, cause) != 0)
		goto end;
	*out = f;
	f = MAP_FAILED;
	rv = 0;
end:
	if (f != MAP_FAILED)
		munmap(f, sizeof *f);
	if (fd != -1)
		close(fd);
	return (rv);
}

int
metrics_open(const char *path, struct metrics **out, char **cause)
{
	struct metrics	*m;
	int		 rv = 0;

	m = xcalloc(1, sizeof *m);
	if (path != NULL) {
		if (map_file(path, &m->f, cause) == 0)
			m->shared = 1;
		else
			rv = -1;
	}
	if (!m->shared) {
		m->f = xcalloc(1, sizeof *m->f);
		m->f->magic = METRICS_MAGIC;
		m->f->version = METRICS_VERSION;
		m->f->size = (uint32_t)sizeof *m->f;
	}
	attach(m->f);
	*out = m;
	return (rv);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->shared)
		munmap(m->f, sizeof *m->f);
	else
		free(m->f);
	free(m);
}

int
metrics_shared(const struct metrics *m)
{
	return (m->shared);
}

const char *
metrics_error_name(enum metrics_error kind)
{
	if ((unsigned)kind >= METRICS_ERROR_COUNT)
		return ("internal");
	return (error_names[kind]);
}

enum metrics_error
metrics_error_of_status(int status)
{
	switch (status) {
	case 400:
		return (METRICS_ERROR_BAD_REQUEST);
	case 404:
		return (METRICS_ERROR_NOT_FOUND);
	case 405:
		return (METRICS_ERROR_METHOD);
	case 411:
		return (METRICS_ERROR_LENGTH_REQUIRED);
	case 413:
		return (METRICS_ERROR_TOO_LARGE);
	case 415:
		return (METRICS_ERROR_UNSUPPORTED_MEDIA);
	case 503:
		return (METRICS_ERROR_UNAVAILABLE);
	}
	return (METRICS_ERROR_INTERNAL);
}

uint64_t
metrics_clock(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec);
}

/* A registry name counted by name: printable ASCII, and short enough. */
static int
name_ok(const char *name, size_t len)
{
	size_t	 i;

	if (len == 0 || len > METRICS_REGISTRY_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return (0);
	return (1);
}

/*
 * The counter of registry name: its slot, found or claimed, else "other".
 * Named slots are never freed or renamed, so a named slot's name can be
 * read without a lock. Two workers claiming the same new name at once may
 * each take a slot; metrics_format() adds such twins together.
 */
static uint64_t *
registry_counter(struct metrics_file *f, const char *name)
{
	struct registry_slot	*s;
	uint32_t		 state;
	size_t			 i, len;

	len = strlen(name);
	if (!name_ok(name, len))
		return (&f->other_registry);
	for (i = 0; i < METRICS_REGISTRY_SLOTS; i++) {
		s = &f->registries[i];
		state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		/* A failed claim leaves the state seen in state. */
		if (state == SLOT_FREE && __atomic_compare_exchange_n(
		    &s->state, &state, SLOT_CLAIMED, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			memcpy(s->name, name, len + 1);
			__atomic_store_n(&s->state, SLOT_NAMED,
			    __ATOMIC_RELEASE);
			return (&s->count);
		}
		/*
		 * Claimed but not yet named: someone else's, being named (or
		 * never, if its worker was killed right then): passed over.
		 */
		if (state == SLOT_NAMED &&
		    strncmp(s->name, name, sizeof s->name) == 0)
			return (&s->count);
	}
	return (&f->other_registry);
}

void
metrics_review(struct metrics *m, const struct admission_result *res,
    uint64_t ns)
{
	struct metrics_file	*f = m->f;
	size_t			 i;

	if ((unsigned)res->kind < REVIEW_KINDS)
		add(&f->reviews[res->kind], 1);
	if (res->kind == ADMISSION_PATCHED)
		add(&f->pods_patched, 1);
	if (res->kind == ADMISSION_INVALID)
		add(&f->errors[METRICS_ERROR_BAD_REQUEST], 1);
	for (i = 0; i < res->rewrites; i++)
		add(registry_counter(f, res->registries[i] != NULL ?
		    res->registries[i] : ""), 1);
	for (i = 0; i < BUCKETS && ns > bucket_ns[i]; i++)
		;
	add(&f->buckets[i], 1);
	add(&f->duration_ns, ns);
}

void
metrics_error(struct metrics *m, enum metrics_error kind)
{
	if ((unsigned)kind >= METRICS_ERROR_COUNT)
		kind = METRICS_ERROR_INTERNAL;
	add(&m->f->errors[kind], 1);
}

void
metrics_reload(struct metrics *m)
{
	add(&m->f->reloads, 1);
}

/* A growing string. */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

static void GILLY_PRINTF(2, 3)
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < b->size - b->len)
			break;
		b->size = (b->size + (size_t)n + 1) * 2;
		b->p = xrealloc(b->p, b->size);
	}
	b->len += (size_t)n;
}

/* A label value, escaped as the text format wants: \\, \" and \n. */
static void
buf_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_printf(b, "\\n");
		else
			buf_printf(b, "%c", *s);
	}
}

/* The HELP and TYPE lines of a metric family. */
static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct named_count {
	const char	*name;
	uint64_t	 count;
};

static int
named_count_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct named_count *)a)->name,
	    ((const struct named_count *)b)->name));
}

/*
 * The registries named in the file, twins added together, sorted by name;
 * returns how many. Slots of a damaged file (a name not terminated, or not
 * one metrics_review() would have written) are passed over.
 */
static size_t
registries_collect(const struct metrics_file *f,
    struct named_count out[METRICS_REGISTRY_SLOTS])
{
	const struct registry_slot	*s;
	size_t				 i, j, n = 0, len;

	for (i = 0; i < METRICS_REGISTRY_SLOTS; i++) {
		s = &f->registries[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_NAMED)
			continue;
		len = strnlen(s->name, sizeof s->name);
		if (len == sizeof s->name || !name_ok(s->name, len))
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(out[j].name, s->name) == 0)
				break;
		if (j == n) {
			out[n].name = s->name;
			out[n++].count = 0;
		}
		out[j].count += get(&s->count);
	}
	qsort(out, n, sizeof *out, named_count_cmp);
	return (n);
}

/* Worker slots whose process exists. */
static size_t
workers_count(const struct metrics_file *f)
{
	size_t	 i, n = 0;

	for (i = 0; i < METRICS_WORKER_SLOTS; i++)
		if (pid_exists(__atomic_load_n(&f->workers[i],
		    __ATOMIC_ACQUIRE)))
			n++;
	return (n);
}

char *
metrics_format(const struct metrics *m, size_t rules, size_t *len)
{
	const struct metrics_file	*f = m->f;
	struct named_count		 regs[METRICS_REGISTRY_SLOTS];
	struct buf			 b;
	uint64_t			 cum, ns;
	size_t				 i, n;

	memset(&b, 0, sizeof b);
	b.size = 4096;
	b.p = xmalloc(b.size);
	b.p[0] = '\0';

	family(&b, "gilly_reviews_total", "counter",
	    "AdmissionReviews answered, by result.");
	for (i = 0; i < sizeof review_kinds / sizeof review_kinds[0]; i++)
		buf_printf(&b, "gilly_reviews_total{result=\"%s\"} %llu\n",
		    admission_kind_name(review_kinds[i]),
		    (unsigned long long)get(&f->reviews[review_kinds[i]]));

	family(&b, "gilly_pods_patched_total", "counter",
	    "Pods answered with a patch that rewrites images.");
	buf_printf(&b, "gilly_pods_patched_total %llu\n",
	    (unsigned long long)get(&f->pods_patched));

	family(&b, "gilly_images_rewritten_total", "counter",
	    "Images rewritten, by upstream registry (\"other\" past the "
	    "first 64 registries).");
	n = registries_collect(f, regs);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "gilly_images_rewritten_total{registry=\"");
		buf_label(&b, regs[i].name);
		buf_printf(&b, "\"} %llu\n", (unsigned long long)regs[i].count);
	}
	buf_printf(&b, "gilly_images_rewritten_total{registry=\"other\"} "
	    "%llu\n", (unsigned long long)get(&f->other_registry));

	family(&b, "gilly_errors_total", "counter",
	    "Requests refused with an HTTP error, by kind, responses that "
	    "could not be written, and changed tables that did not load.");
	for (i = 0; i < METRICS_ERROR_COUNT; i++)
		buf_printf(&b, "gilly_errors_total{kind=\"%s\"} %llu\n",
		    error_names[i], (unsigned long long)get(&f->errors[i]));

	family(&b, "gilly_review_duration_seconds", "histogram",
	    "Time to read, answer and write one review.");
	for (i = 0, cum = 0; i <= BUCKETS; i++) {
		cum += get(&f->buckets[i]);
		buf_printf(&b, "gilly_review_duration_seconds_bucket"
		    "{le=\"%s\"} %llu\n", i < BUCKETS ? bucket_le[i] : "+Inf",
		    (unsigned long long)cum);
	}
	ns = get(&f->duration_ns);
	buf_printf(&b, "gilly_review_duration_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(ns / 1000000000U),
	    (unsigned long long)(ns % 1000000000U));
	buf_printf(&b, "gilly_review_duration_seconds_count %llu\n",
	    (unsigned long long)cum);

	family(&b, "gilly_table_rules", "gauge",
	    "Rules of the mirror table in force.");
	buf_printf(&b, "gilly_table_rules %zu\n", rules);

	family(&b, "gilly_table_reloads_total", "counter",
	    "Tables loaded again after a change on disk (each worker loads "
	    "its own).");
	buf_printf(&b, "gilly_table_reloads_total %llu\n",
	    (unsigned long long)get(&f->reloads));

	family(&b, "gilly_workers", "gauge",
	    "Worker processes counting in these metrics.");
	buf_printf(&b, "gilly_workers %zu\n", workers_count(f));

	family(&b, "gilly_metrics_shared", "gauge",
	    "1 when these counts are all the workers', 0 when they are only "
	    "the answering worker's (the metrics file could not be used).");
	buf_printf(&b, "gilly_metrics_shared %d\n", m->shared);

	if (len != NULL)
		*len = b.len;
	return (b.p);
}
