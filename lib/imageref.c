/*
 * imageref.c: the image reference grammar of github.com/distribution/reference.
 *
 *	reference        := name [ ":" tag ] [ "@" digest ]
 *	name             := [domain '/'] remote-name
 *	domain           := host [':' port-number]
 *	host             := domain-name | IPv4address | \[ IPv6address \]
 *	domain-name      := domain-component ['.' domain-component]*
 *	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *	port-number      := /[0-9]+/
 *	path-component   := alpha-numeric [separator alpha-numeric]*
 *	path             := path-component ['/' path-component]*
 *	alpha-numeric    := /[a-z0-9]+/
 *	separator        := /[_.]|__|[-]+/
 *	tag              := /[\w][\w.-]{0,127}/
 *	digest           := algorithm ":" /[0-9a-fA-F]{32,}/, and then exactly
 *	                    as many lowercase hex digits as the algorithm yields
 *
 * The grammar is written as regular expressions there; here each production
 * is a small scanner, because every byte of the reference matters and a
 * reason must name the part at fault. Normalization follows
 * ParseNormalizedNamed: split off a domain the way splitDockerDomain does,
 * refuse uppercase in the repository, then parse "domain/remainder".
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"

#define DEFAULT_DOMAIN		"docker.io"
#define LEGACY_DOMAIN		"index.docker.io"
#define OFFICIAL_PREFIX		"library/"
#define TAG_MAX			128

/* A view of bytes that are not NUL-terminated. */
struct span {
	const char	*p;
	size_t		 n;
};

static int
is_lower_alnum(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

static int
is_alnum(int c)
{
	return (is_lower_alnum(c) || (c >= 'A' && c <= 'Z'));
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
is_hex(int c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

static int
is_lower_hex(int c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f'));
}

/* Go's \w: ASCII letters, digits and underscore. */
static int
is_word(int c)
{
	return (is_alnum(c) || c == '_');
}

static int
span_eq(struct span s, const char *lit)
{
	size_t	n = strlen(lit);

	return (s.n == n && memcmp(s.p, lit, n) == 0);
}

static const char *
span_chr(struct span s, int c)
{
	return (memchr(s.p, c, s.n));
}

static int
span_has_upper(struct span s)
{
	size_t	i;

	for (i = 0; i < s.n; i++)
		if (s.p[i] >= 'A' && s.p[i] <= 'Z')
			return (1);
	return (0);
}

/* domain-component ['.' domain-component]* */
int
imageref_valid_domain_name(const char *s, size_t n)
{
	size_t	i, start = 0;

	if (n == 0)
		return (0);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
				return (0);
			continue;
		}
		/* A component is non-empty and neither starts nor ends with '-'. */
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return (0);
		start = i + 1;
	}
	return (1);
}

static int
valid_domain_name(struct span s)
{
	return (imageref_valid_domain_name(s.p, s.n));
}

/* host [':' port], host being a domain name or a bracketed IPv6 address. */
static int
valid_domain(struct span s)
{
	struct span	 host = s;
	const char	*close, *colon;
	size_t		 i, port;

	if (s.n == 0)
		return (0);
	if (s.p[0] == '[') {
		/* \[[a-fA-F0-9:]+\]: no zone identifier, no embedded IPv4. */
		if ((close = span_chr(s, ']')) == NULL || close == s.p + 1)
			return (0);
		for (i = 1; s.p + i < close; i++)
			if (!is_hex((unsigned char)s.p[i]) && s.p[i] != ':')
				return (0);
		port = (size_t)(close - s.p) + 1;
		if (port == s.n)
			return (1);
		if (s.p[port] != ':')
			return (0);
	} else {
		if ((colon = span_chr(s, ':')) == NULL)
			return (valid_domain_name(s));
		host.n = (size_t)(colon - s.p);
		if (!valid_domain_name(host))
			return (0);
		port = host.n;
	}
	/* s.p[port] is ':' and digits must follow. */
	if (port + 1 == s.n)
		return (0);
	for (i = port + 1; i < s.n; i++)
		if (!is_digit((unsigned char)s.p[i]))
			return (0);
	return (1);
}

/* alpha-numeric [separator alpha-numeric]*, separator := [_.]|__|[-]+ */
int
imageref_valid_path_component(const char *s, size_t n)
{
	size_t	i = 0;

	for (;;) {
		if (i >= n || !is_lower_alnum((unsigned char)s[i]))
			return (0);
		while (i < n && is_lower_alnum((unsigned char)s[i]))
			i++;
		if (i == n)
			return (1);
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else
			return (0);
	}
}

static int
valid_path_component(struct span s)
{
	return (imageref_valid_path_component(s.p, s.n));
}

/*
 * path-component ['/' path-component]*. On failure *bad is the component at
 * fault, for the message.
 */
static int
valid_path(struct span s, struct span *bad)
{
	size_t	i, start = 0;

	for (i = 0; i <= s.n; i++) {
		if (i < s.n && s.p[i] != '/')
			continue;
		bad->p = s.p + start;
		bad->n = i - start;
		if (!valid_path_component(*bad))
			return (0);
		start = i + 1;
	}
	return (1);
}

static int
valid_tag(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > TAG_MAX || !is_word((unsigned char)s.p[0]))
		return (0);
	for (i = 1; i < s.n; i++)
		if (!is_word((unsigned char)s.p[i]) && s.p[i] != '.' &&
		    s.p[i] != '-')
			return (0);
	return (1);
}

/*
 * The digest, first as the reference grammar shapes it, then as
 * github.com/opencontainers/go-digest validates it: only the registered
 * algorithms, with exactly their length of lowercase hex.
 */
static int
check_digest(struct span s, char **cause)
{
	static const struct {
		const char	*name;
		size_t		 hexlen;
	} algorithms[] = {
		{ "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 }
	};
	const char	*colon;
	struct span	 alg, hex;
	size_t		 i;

	if ((colon = span_chr(s, ':')) == NULL)
		return (set_cause(cause, "digest \"%.*s\" has no ':' between "
		    "algorithm and hex", (int)s.n, s.p));
	alg.p = s.p;
	alg.n = (size_t)(colon - s.p);
	hex.p = colon + 1;
	hex.n = s.n - alg.n - 1;

	/* [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* */
	for (i = 0; i < alg.n; i++) {
		int	c = (unsigned char)alg.p[i];
		int	first = (i == 0 || strchr("-_+.", alg.p[i - 1]) != NULL);

		if (first ? !is_alnum(c) || is_digit(c) :
		    !is_alnum(c) && strchr("-_+.", c) == NULL)
			break;
	}
	if (alg.n == 0 || i < alg.n ||
	    strchr("-_+.", alg.p[alg.n - 1]) != NULL)
		return (set_cause(cause, "digest algorithm \"%.*s\" is not "
		    "valid", (int)alg.n, alg.p));
	for (i = 0; i < hex.n; i++)
		if (!is_hex((unsigned char)hex.p[i]))
			return (set_cause(cause, "digest \"%.*s\" has a "
			    "non-hex character '%c'", (int)s.n, s.p, hex.p[i]));
	if (hex.n < 32)
		return (set_cause(cause, "digest \"%.*s\" is shorter than "
		    "32 hex digits", (int)s.n, s.p));

	for (i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
		if (span_eq(alg, algorithms[i].name))
			break;
	if (i == sizeof algorithms / sizeof algorithms[0])
		return (set_cause(cause, "digest algorithm \"%.*s\" is not "
		    "supported (sha256, sha384, sha512)", (int)alg.n, alg.p));
	if (hex.n != algorithms[i].hexlen)
		return (set_cause(cause, "%s digest must have %zu hex digits, "
		    "not %zu", algorithms[i].name, algorithms[i].hexlen, hex.n));
	for (i = 0; i < hex.n; i++)
		if (!is_lower_hex((unsigned char)hex.p[i]))
			return (set_cause(cause, "digest hex must be lowercase "
			    "(\"%.*s\")", (int)s.n, s.p));
	return (0);
}

/* The 64-hex identifier that ParseNormalizedNamed refuses as a name. */
static int
is_identifier(const char *s, size_t len)
{
	size_t	i;

	if (len != 64)
		return (0);
	for (i = 0; i < len; i++)
		if (!is_lower_hex((unsigned char)s[i]))
			return (0);
	return (1);
}

/*
 * Parse "domain/remainder" as Parse() does. name is the whole name (before
 * tag and digest); the result's domain is its first component when that is
 * a valid domain, else empty (the whole name then being the path).
 */
static int
parse_reference(struct span ref, struct span *domain, struct span *path,
    struct span *tag, struct span *digest, char **cause)
{
	struct span	 name = ref, rest, bad;
	const char	*at, *slash, *colon;

	memset(path, 0, sizeof *path);
	memset(tag, 0, sizeof *tag);
	memset(digest, 0, sizeof *digest);

	if ((at = span_chr(ref, '@')) != NULL) {
		name.n = (size_t)(at - ref.p);
		digest->p = at + 1;
		digest->n = ref.n - name.n - 1;
		if (span_chr(*digest, '@') != NULL)
			return (set_cause(cause, "more than one '@'"));
	}
	/* A tag follows the last ':' after the last '/': a path has no ':'. */
	slash = name.p;
	while ((colon = memchr(slash, '/', name.n - (size_t)(slash - name.p)))
	    != NULL)
		slash = colon + 1;
	if ((colon = memchr(slash, ':', name.n - (size_t)(slash - name.p)))
	    != NULL) {
		tag->p = colon + 1;
		tag->n = name.n - (size_t)(tag->p - name.p);
		name.n = (size_t)(colon - name.p);
		if (!valid_tag(*tag))
			return (set_cause(cause, "tag \"%.*s\" is not valid "
			    "(1 to %d of A-Z a-z 0-9 _ . -, not starting with "
			    ". or -)", (int)tag->n, tag->p, TAG_MAX));
	}

	/* The caller joined domain and remainder with '/', unless '@' cut it. */
	if ((slash = span_chr(name, '/')) == NULL)
		return (set_cause(cause, "'@' must come after the repository "
		    "name, before the digest"));
	domain->p = name.p;
	domain->n = (size_t)(slash - name.p);
	rest.p = slash + 1;
	rest.n = name.n - domain->n - 1;
	if (rest.n == 0)
		return (set_cause(cause, "repository name is empty"));
	if (!valid_path(rest, &bad))
		goto bad_component;
	if (valid_domain(*domain)) {
		*path = rest;
	} else {
		/* The first component may still be a path component. */
		bad = *domain;
		if (!valid_path_component(bad)) {
			if (span_has_upper(bad))
				return (set_cause(cause, "\"%.*s\" is neither a "
				    "registry host nor a lowercase repository "
				    "component", (int)bad.n, bad.p));
			return (set_cause(cause, "\"%.*s\" is not a valid "
			    "registry host[:port]", (int)bad.n, bad.p));
		}
		*path = name;
		domain->n = 0;
	}
	if (path->n > IMAGEREF_PATH_MAX)
		return (set_cause(cause, "repository name must not be more "
		    "than %d characters (it has %zu)", IMAGEREF_PATH_MAX,
		    path->n));
	if (digest->p != NULL && check_digest(*digest, cause) != 0)
		return (-1);
	return (0);

bad_component:
	if (bad.n == 0)
		return (set_cause(cause, "repository name has an empty "
		    "component (\"//\" or a trailing \"/\")"));
	if (span_has_upper(bad))
		return (set_cause(cause, "repository name must be lowercase "
		    "(\"%.*s\")", (int)bad.n, bad.p));
	return (set_cause(cause, "repository component \"%.*s\" is not valid "
	    "(lowercase letters and digits, separated by one '.', one or two "
	    "'_', or '-'s)", (int)bad.n, bad.p));
}

/*
 * Whether a reference may hold byte c at all (its grammar is checked
 * after). Why not strchr() of the punctuation: a call for each of a
 * reference's dots, slashes and colons, most of this pass's cost.
 */
static int
ref_byte(unsigned char c)
{
	switch (c) {
	case '.':
	case '_':
	case '-':
	case '/':
	case ':':
	case '@':
	case '+':
	case '[':
	case ']':
		return (1);
	}
	return (is_alnum(c));
}

int
imageref_parse(const char *s, size_t len, struct imageref **out, char **cause)
{
	struct imageref	*ref = NULL;
	struct span	 in = { s, len }, first, remainder, remote;
	struct span	 domain, path, tag, digest;
	const char	*slash, *colon;
	/* Room for the joined name of nearly every image, without malloc(). */
	char		 room[512];
	char		*joined = NULL, *p;
	size_t		 i, n;
	int		 rv = -1;

	if (len == 0) {
		set_cause(cause, "reference is empty");
		goto end;
	}
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (!ref_byte(c)) {
			if (c >= ' ' && c < 0x7f)
				set_cause(cause, "character '%c' at position "
				    "%zu is not allowed", c, i + 1);
			else
				set_cause(cause, "byte 0x%02x at position "
				    "%zu is not allowed", c, i + 1);
			goto end;
		}
	}
	if (is_identifier(s, len)) {
		set_cause(cause, "a 64-character hexadecimal string is an "
		    "image ID, not a repository name");
		goto end;
	}

	/* splitDockerDomain: is the first component a registry host? */
	domain.p = DEFAULT_DOMAIN;
	domain.n = strlen(DEFAULT_DOMAIN);
	remainder = in;
	if ((slash = span_chr(in, '/')) != NULL) {
		first.p = s;
		first.n = (size_t)(slash - s);
		if (span_eq(first, LEGACY_DOMAIN)) {
			remainder.p = slash + 1;
			remainder.n = len - first.n - 1;
		} else if (span_eq(first, "localhost") ||
		    memchr(first.p, '.', first.n) != NULL ||
		    memchr(first.p, ':', first.n) != NULL ||
		    span_has_upper(first)) {
			domain = first;
			remainder.p = slash + 1;
			remainder.n = len - first.n - 1;
		}
	}

	/* The repository (up to the first ':') must be lowercase. */
	remote = remainder;
	if ((colon = span_chr(remainder, ':')) != NULL)
		remote.n = (size_t)(colon - remainder.p);
	if (span_has_upper(remote)) {
		set_cause(cause, "repository name must be lowercase (\"%.*s\")",
		    (int)remote.n, remote.p);
		goto end;
	}

	/* domain "/" [library/] remainder */
	n = domain.n + 1 + remainder.n + strlen(OFFICIAL_PREFIX) + 1;
	p = joined = n <= sizeof room ? room : xmalloc(n);
	memcpy(p, domain.p, domain.n);
	p += domain.n;
	*p++ = '/';
	if (span_eq(domain, DEFAULT_DOMAIN) && span_chr(remainder, '/') == NULL) {
		memcpy(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX));
		p += strlen(OFFICIAL_PREFIX);
	}
	memcpy(p, remainder.p, remainder.n);
	p += remainder.n;
	in.p = joined;
	in.n = (size_t)(p - joined);

	if (parse_reference(in, &domain, &path, &tag, &digest, cause) != 0)
		goto end;

	ref = xmalloc(sizeof *ref + domain.n + path.n + tag.n + digest.n + 4);
	p = ref->buf;
	ref->domain = p;
	ref->domain_len = domain.n;
	memcpy(p, domain.p, domain.n);
	p += domain.n;
	*p++ = '\0';
	ref->path = p;
	ref->path_len = path.n;
	memcpy(p, path.p, path.n);
	p += path.n;
	*p++ = '\0';
	ref->tag = NULL;
	if (tag.p != NULL) {
		ref->tag = p;
		memcpy(p, tag.p, tag.n);
		p += tag.n;
		*p++ = '\0';
	}
	ref->digest = NULL;
	if (digest.p != NULL) {
		ref->digest = p;
		memcpy(p, digest.p, digest.n);
		p += digest.n;
		*p = '\0';
	}
	*out = ref;
	rv = 0;
end:
	if (joined != room)
		free(joined);
	return (rv);
}

char *
imageref_format(const struct imageref *ref)
{
	return (xconcat(ref->domain, ref->domain_len > 0 ? "/" : "",
	    ref->path, ref->tag != NULL ? ":" : "",
	    ref->tag != NULL ? ref->tag : "", ref->digest != NULL ? "@" : "",
	    ref->digest != NULL ? ref->digest : "", (char *)NULL));
}

void
imageref_free(struct imageref *ref)
{
	free(ref);
}
