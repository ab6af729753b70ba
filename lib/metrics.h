/*
 * metrics.h: counters of what gilly did, shared by all its workers, and
 * their Prometheus text exposition (format 0.0.4).
 *
 * Owns the metrics file: the workers are separate processes that lighttpd
 * spawns (not forks of one parent), so they count in one small file that
 * each maps (MAP_SHARED) and increments with lock-free atomic adds. Its
 * layout is fixed and versioned (a magic number, a version and the size in
 * its header); whichever worker comes first creates it zero-filled. A file
 * that cannot be opened or is not one of ours is refused with a reason,
 * and that process counts in its own memory instead (and its metrics say
 * so: gilly_metrics_shared 0).
 *
 * The cost per review is a few atomic adds; nothing here allocates or
 * locks on the way of a request, only metrics_format() does.
 */
#ifndef GILLY_METRICS_H
#define GILLY_METRICS_H

#include "common.h"

#include <stddef.h>
#include <stdint.h>

#include "admission.h"

/* Upstream registries counted by name; the rest count as "other". */
#define METRICS_REGISTRY_SLOTS	64
/* Longest registry name counted by name (a longer one is "other"). */
#define METRICS_REGISTRY_MAX	111
/* Worker processes told apart for gilly_workers. */
#define METRICS_WORKER_SLOTS	64

/* Why a request was refused, or what else went wrong: errors_total{kind}. */
enum metrics_error {
	METRICS_ERROR_BAD_REQUEST,	/* 400: the request or its review */
	METRICS_ERROR_NOT_FOUND,	/* 404 */
	METRICS_ERROR_METHOD,		/* 405 */
	METRICS_ERROR_LENGTH_REQUIRED,	/* 411 */
	METRICS_ERROR_TOO_LARGE,	/* 413 */
	METRICS_ERROR_UNSUPPORTED_MEDIA,	/* 415 */
	METRICS_ERROR_UNAVAILABLE,	/* 503: no table loaded */
	METRICS_ERROR_INTERNAL,		/* any other status */
	METRICS_ERROR_WRITE,		/* a response that could not be written */
	METRICS_ERROR_TABLE_RELOAD,	/* a changed table that did not load */
	METRICS_ERROR_COUNT
};

struct metrics;

/*
 * new: *out, freed by metrics_free(); never NULL. Map the metrics file at
 * path (created if missing) and count in it. Returns 0; or -1 with *cause
 * set (caller frees) when the file cannot be used, and then *out counts in
 * this process's memory. path NULL: process memory, quietly (returns 0).
 */
int		 metrics_open(const char *path, struct metrics **out,
		    char **cause);

/* NULL-safe. Unmaps the file; the counts stay in it. */
void		 metrics_free(struct metrics *);

/* Whether the counts are in a shared file (1) or in this process (0). */
int		 metrics_shared(const struct metrics *);

/* borrowed: the label of an error kind ("bad_request", ...). */
const char	*metrics_error_name(enum metrics_error);

/* The error kind of an HTTP error status. */
enum metrics_error metrics_error_of_status(int status);

/* Monotonic clock in nanoseconds, for metrics_review()'s duration. */
uint64_t	 metrics_clock(void);

/*
 * borrowed: res. Count one review answered (status 200 or 400): its result,
 * a patched Pod, its images rewritten by upstream registry, and its
 * duration in ns in the histogram. An invalid review also counts as a
 * bad_request error.
 */
void		 metrics_review(struct metrics *,
		    const struct admission_result *res, uint64_t ns);

/* Count one error of the kind. */
void		 metrics_error(struct metrics *, enum metrics_error);

/* Count one table loaded again after a change on disk. */
void		 metrics_reload(struct metrics *);

/*
 * new: caller frees. The exposition of every metric, as for GET /metrics;
 * rules is the number of rules of the table in force (gilly_table_rules).
 * *len (if not NULL) receives the length.
 */
char		*metrics_format(const struct metrics *, size_t rules,
		    size_t *len);

#endif
