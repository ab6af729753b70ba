/*
 * imageref.h: the container image reference grammar.
 *
 * Owns parsing, validation, normalization and formatting of image references
 * exactly as github.com/distribution/reference does in ParseNormalizedNamed
 * and String(): "nginx" is "docker.io/library/nginx", "index.docker.io"
 * means "docker.io", tags and digests are kept byte for byte.
 */
#ifndef GILLY_IMAGEREF_H
#define GILLY_IMAGEREF_H

#include "common.h"

#include <stddef.h>

/* Longest repository path the grammar allows (RepositoryNameTotalLengthMax). */
#define IMAGEREF_PATH_MAX	255

struct imageref {
	/*
	 * The registry host[:port] as written ("docker.io" when implicit or
	 * "index.docker.io"). Empty only for the rare names the reference
	 * implementation itself leaves without a domain ("my_host.com/x":
	 * the first component is a valid path component but no valid host).
	 */
	const char	*domain;
	const char	*path;		/* "library/nginx" */
	const char	*tag;		/* NULL when absent */
	const char	*digest;	/* "sha256:..." or NULL when absent */
	size_t		 domain_len;
	size_t		 path_len;
	char		 buf[];		/* holds the strings above */
};

/*
 * Parse the len bytes at s (which need not be NUL-terminated; an embedded NUL
 * is invalid) as ParseNormalizedNamed does.
 * new: on success *out, caller frees with imageref_free(); returns 0.
 * On error returns -1 and sets *cause (caller frees) to a reason a person
 * can act on; *out is untouched.
 */
int	 imageref_parse(const char *s, size_t len, struct imageref **out,
	    char **cause);

/* new: the fully qualified form, "docker.io/library/nginx:1.25"; caller frees. */
char	*imageref_format(const struct imageref *);

/* NULL-safe. */
void	 imageref_free(struct imageref *);

/*
 * The grammar's pieces, for the mirror table's sources and targets: whether
 * the n bytes at s are a domain name (domain-component ['.'
 * domain-component]*, no port), or one path component (lowercase
 * alphanumerics joined by '.', '_', '__' or runs of '-').
 */
int	 imageref_valid_domain_name(const char *s, size_t n);
int	 imageref_valid_path_component(const char *s, size_t n);

#endif
