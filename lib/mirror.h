/*
 * mirror.h: the mirror table and the matching of images against it.
 *
 * Owns the rules (upstream source -> mirror target, or "leave alone"), the
 * excluded namespaces, and the rewrite of one image. Lookups cost a few hash
 * probes per path component, whatever the size of the table.
 *
 * Priority: the longest exact source prefix (matched at path-component
 * boundaries, registry hosts case-insensitive), then the most specific
 * "*.domain" wildcard, then "*". A target may contain "{registry}", the
 * upstream host. An image that already lies under a target is never
 * rewritten again.
 *
 * A table is for one thread at a time, even through a const pointer: its
 * lookups keep a memo of their answers (lib/memo.h).
 */
#ifndef GILLY_MIRROR_H
#define GILLY_MIRROR_H

#include "common.h"

#include <stddef.h>

struct mirror;

enum mirror_outcome {
	MIRROR_REWRITTEN,	/* *out holds the mirrored image */
	MIRROR_NO_RULE,		/* no source matches: unchanged */
	MIRROR_LEFT_ALONE,	/* the best match is a null ("~") rule */
	MIRROR_ALREADY,		/* the image already lies under a target */
	MIRROR_INVALID,		/* not a valid reference: unchanged, *cause says why */
	MIRROR_REFUSED		/* a rule matches, but its result is no valid
				   reference or lies outside the target:
				   unchanged, *cause says why */
};

/* What a lookup found, for log lines and metrics. */
struct mirror_match {
	enum mirror_outcome	 outcome;
	char			 registry[256];	/* upstream host, lowercased; "" if unknown */
	char			 source[256];	/* the matching rule's source as written; "" if none */
};

/* new: an empty table; caller frees with mirror_free(). */
struct mirror	*mirror_new(void);
/* NULL-safe. */
void		 mirror_free(struct mirror *);

/*
 * Add a rule. target NULL means "leave matching images alone". The answers
 * the table remembered (mirror_rewrite()) are forgotten.
 * Returns -1 with *cause set (caller frees) for an invalid source or target,
 * or a source already in the table (compared after normalization).
 */
int		 mirror_add(struct mirror *, const char *source,
		    const char *target, char **cause);

/* Exclude a namespace from rewriting. Returns -1 with *cause on a duplicate. */
int		 mirror_exclude_namespace(struct mirror *, const char *ns,
		    char **cause);
int		 mirror_namespace_excluded(const struct mirror *, const char *ns);

/* Number of rules in the table. */
size_t		 mirror_rule_count(const struct mirror *);

/*
 * Rewrite one image (len bytes at image). Returns the outcome, also stored in
 * match (if not NULL). new: *out is set, and must be freed by the caller, only
 * for MIRROR_REWRITTEN; *cause only for MIRROR_INVALID and MIRROR_REFUSED
 * (cause may be NULL).
 *
 * The table remembers the answers for the images it saw last (lib/memo.h),
 * so that the same image again costs a hash and a copy: one table is for
 * one thread at a time.
 */
enum mirror_outcome mirror_rewrite(const struct mirror *, const char *image,
		    size_t len, char **out, struct mirror_match *match,
		    char **cause);

/*
 * Whether mirror_rewrite() remembers its answers: on in a new table. Off,
 * every image is worked out afresh: for benchmarks, and for tests that
 * compare the two.
 */
void		 mirror_set_memo(struct mirror *, int on);

#endif
