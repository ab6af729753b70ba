/*
 * mirror.c: the mirror table and the rewrite of one image.
 *
 * Every lookup is a handful of hash probes: one per path component of the
 * image for the exact sources, one per host label for the "*." wildcards,
 * and as many again for the "already under a target" check. The keys are
 * normalized "host/path" strings (host lowercased, "index.docker.io" read
 * as "docker.io"); paths need no folding, the grammar allows only lowercase.
 *
 * Decisions the table format leaves open:
 * - An image under a target is answered MIRROR_ALREADY before any rule is
 *   looked at. That is what makes a second rewrite a no-op; a rule whose
 *   source lies under some target therefore never fires.
 * - "{registry}" is either one whole path component of a target or the
 *   leading labels of its host ("{registry}.mirror.example"), at most once.
 * - A port is part of the registry: "*.corp.example" covers
 *   "r.corp.example" but not "r.corp.example:5000".
 * - A source or target host must read as a registry host in an image
 *   reference (a '.', a ':port' or "localhost"): "mirror/x" would name a
 *   Docker Hub repository.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "imageref.h"
#include "memo.h"
#include "mirror.h"

#define NAME_MAX_LEN	255		/* longest source or target accepted */
#define TOKEN		"{registry}"
#define TOKEN_LEN	(sizeof TOKEN - 1)
#define NO_TOKEN	SIZE_MAX
#define NS_MAX_LEN	63		/* a namespace is an RFC 1123 label */

/*
 * A small open-addressing hash table (linear probing, no deletion) from byte
 * strings to pointers. hsearch(3) will not do: it is one table per process,
 * and gilly needs several per mirror table, and two tables side by side
 * while a reload builds the new one.
 */
struct hslot {
	char		*key;		/* owned; NULL for a free slot */
	size_t		 len;
	uint64_t	 hash;
	void		*val;
};

struct htab {
	struct hslot	*slots;
	size_t		 size;		/* a power of two */
	size_t		 used;
	size_t		 longest;	/* key; a longer one is not looked for */
};

struct rule {
	struct rule	*next;		/* every rule, for mirror_free */
	char		*source;	/* as written */
	char		*target;	/* normalized; NULL: leave alone */
	size_t		 token;		/* offset of {registry} or NO_TOKEN */
	size_t		 hostlen;	/* length of the target's host part */
};

/*
 * Where the targets with "{registry}" put images, for the "already" check:
 * their keys (the part before "/{registry}", or after a leading
 * "{registry}"), and pairs "key\0rest", rest being what must follow the
 * key for an image to lie under the target ("" or path components). An
 * image is then matched in probes of its own path's prefixes, however many
 * targets share a key.
 */
struct tpats {
	struct htab	 keys;
	struct htab	 pairs;
};

/* Longest pair: a target is at most NAME_MAX_LEN bytes as written. */
#define TPAT_PAIR_MAX	(2 * NAME_MAX_LEN + 2)

struct mirror {
	struct htab	 exact;		/* "host[/path]" of a source -> rule */
	struct htab	 wild;		/* ".domain" of "*.domain" -> rule */
	struct rule	*any;		/* "*" */
	struct htab	 targets;	/* "host[/path]" of a plain target */
	struct tpats	 tpath;		/* "host[/path]" before "/{registry}" */
	struct tpats	 thost;		/* host after a leading "{registry}" */
	struct htab	 namespaces;
	struct rule	*rules;
	size_t		 nrules;
	struct memo	*memo;		/* NULL: off, mirror_set_memo() */
};

enum source_kind {
	SOURCE_EXACT,
	SOURCE_WILD,
	SOURCE_ANY
};

static void
htab_init(struct htab *h)
{
	h->size = 16;
	h->used = 0;
	h->longest = 0;
	h->slots = xcalloc(h->size, sizeof *h->slots);
}

static void
htab_free(struct htab *h)
{
	size_t	i;

	if (h->slots == NULL)
		return;
	for (i = 0; i < h->size; i++)
		free(h->slots[i].key);
	free(h->slots);
	h->slots = NULL;
}

/* The slot holding key, or the free slot where it would go. */
static struct hslot *
htab_slot(const struct htab *h, const char *key, size_t len, uint64_t hash)
{
	struct hslot	*s;
	size_t		 i;

	for (i = (size_t)hash & (h->size - 1);; i = (i + 1) & (h->size - 1)) {
		s = &h->slots[i];
		if (s->key == NULL ||
		    (s->hash == hash && s->len == len &&
		    memcmp(s->key, key, len) == 0))
			return (s);
	}
}

/*
 * The value stored under key, or NULL. A key longer than any in the table
 * is not hashed: an image's host has no length limit, and the lookups
 * probe its suffixes and prefixes, which would make a long one cost the
 * square of its length.
 */
static void *
htab_find(const struct htab *h, const char *key, size_t len)
{
	struct hslot	*s;

	if (len > h->longest)
		return (NULL);
	s = htab_slot(h, key, len, hash_bytes(key, len));
	return (s->key != NULL ? s->val : NULL);
}

/* The value cell of key, created (holding NULL) when absent. */
static void **
htab_insert(struct htab *h, const char *key, size_t len)
{
	struct hslot	*old, *s;
	size_t		 oldsize, i;
	uint64_t	 hash = hash_bytes(key, len);

	s = htab_slot(h, key, len, hash);
	if (s->key != NULL)
		return (&s->val);

	/* Keep the load under one half, so that probe runs stay short. */
	if (2 * (h->used + 1) > h->size) {
		old = h->slots;
		oldsize = h->size;
		h->size *= 2;
		h->slots = xcalloc(h->size, sizeof *h->slots);
		for (i = 0; i < oldsize; i++) {
			if (old[i].key != NULL)
				*htab_slot(h, old[i].key, old[i].len,
				    old[i].hash) = old[i];
		}
		free(old);
		s = htab_slot(h, key, len, hash);
	}
	s->key = xstrndup(key, len);
	s->len = len;
	s->hash = hash;
	s->val = NULL;
	h->used++;
	if (len > h->longest)
		h->longest = len;
	return (&s->val);
}

static void
tpats_init(struct tpats *tp)
{
	htab_init(&tp->keys);
	htab_init(&tp->pairs);
}

static void
tpats_free(struct tpats *tp)
{
	htab_free(&tp->keys);
	htab_free(&tp->pairs);
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
is_lower_alnum(int c)
{
	return ((c >= 'a' && c <= 'z') || is_digit(c));
}

static int
is_hex(int c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

static int
to_lower(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/*
 * host [':' port], host a domain name or a bracketed IPv6 address, as the
 * reference grammar has it. Returns NULL or what is wrong.
 */
static const char *
check_host(const char *s, size_t n)
{
	const char	*end, *colon;
	size_t		 hn, i;

	if (n == 0)
		return ("the registry host is empty");
	if (s[0] == '[') {
		if ((end = memchr(s, ']', n)) == NULL || end == s + 1)
			return ("the bracketed IPv6 address is not closed");
		for (i = 1; s + i < end; i++)
			if (!is_hex((unsigned char)s[i]) && s[i] != ':')
				return ("the bracketed IPv6 address is not "
				    "valid");
		hn = (size_t)(end - s) + 1;
		if (hn < n && s[hn] != ':')
			return ("only a ':port' may follow an IPv6 address");
	} else {
		colon = memchr(s, ':', n);
		hn = colon != NULL ? (size_t)(colon - s) : n;
		if (!imageref_valid_domain_name(s, hn))
			return ("the registry host is not a valid host name "
			    "(letters, digits and '-', in labels separated "
			    "by '.')");
	}
	if (hn == n)
		return (NULL);
	if (hn + 1 == n)
		return ("the port after ':' is empty");
	for (i = hn + 1; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return ("the port after ':' is not a number (a "
			    "source or target names no tag)");
	return (NULL);
}

/*
 * Whether an image reference would take this (lowercased) host as its
 * registry: splitDockerDomain reads a first component without '.' or ':'
 * (other than "localhost") as a Docker Hub repository.
 */
static int
reads_as_host(const char *s, size_t n)
{
	return (memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	    (n == 9 && memcmp(s, "localhost", 9) == 0));
}

/*
 * Check the path after the host: components of the reference grammar, or
 * (when token is set) exactly "{registry}". Returns NULL or what is wrong.
 */
static const char *
check_path(const char *s, size_t n, int token)
{
	size_t	i, start = 0, j;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == start)
			return ("the path has an empty component (\"//\" or a "
			    "trailing \"/\")");
		if (!(token && i - start == TOKEN_LEN &&
		    memcmp(s + start, TOKEN, TOKEN_LEN) == 0) &&
		    !imageref_valid_path_component(s + start, i - start)) {
			for (j = start; j < i; j++)
				if (s[j] >= 'A' && s[j] <= 'Z')
					return ("the path must be lowercase "
					    "(only the registry host is "
					    "case-insensitive)");
			return ("a path component is not valid (lowercase "
			    "letters and digits, separated by one '.', one "
			    "or two '_', or '-'s)");
		}
		start = i + 1;
	}
	return (NULL);
}

/* Tag, digest and stray '*' or '{registry}' checks shared by both sides. */
static const char *
check_name_chars(const char *s, size_t n, size_t hostlen, int token)
{
	if (memchr(s, '@', n) != NULL)
		return ("a digest ('@') has no place here: name a registry "
		    "or repository prefix");
	if (hostlen < n && memchr(s + hostlen, ':', n - hostlen) != NULL)
		return ("a tag (':') has no place here: name a registry or "
		    "repository prefix");
	if (memchr(s, '*', n) != NULL)
		return ("'*' is allowed only as the whole source \"*\" or "
		    "as a leading \"*.\" of a source");
	if (!token && memchr(s, '{', n) != NULL)
		return ("\"{registry}\" may appear in a target only");
	return (NULL);
}

static void
lowercase(char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		s[i] = (char)to_lower((unsigned char)s[i]);
}

/*
 * Normalize the host at the start of the string s in place: lowercase, and
 * "index.docker.io" is "docker.io" (what follows moves up). Returns the new
 * length of the host.
 */
static size_t
normalize_host(char *s, size_t n)
{
	lowercase(s, n);
	if (n == 15 && memcmp(s, "index.docker.io", 15) == 0) {
		memmove(s, s + 6, strlen(s + 6) + 1);
		return (9);
	}
	return (n);
}

/*
 * Parse a source: "*", "*.domain[:port]", or "host[:port][/path]".
 * new: *key (NULL for "*"), the hash key.
 */
static int
parse_source(const char *src, enum source_kind *kind, char **key,
    char **cause)
{
	const char	*why, *slash;
	char		*k = NULL;
	size_t		 n = strlen(src), hostlen;
	int		 rv = -1;

	*key = NULL;
	if (n == 0) {
		set_cause(cause, "invalid source \"\": it is empty");
		goto end;
	}
	if (n > NAME_MAX_LEN) {
		set_cause(cause, "invalid source \"%.40s...\": longer than %d "
		    "characters", src, NAME_MAX_LEN);
		goto end;
	}
	if (strcmp(src, "*") == 0) {
		*kind = SOURCE_ANY;
		rv = 0;
		goto end;
	}
	if (strncmp(src, "*.", 2) == 0) {
		/* Keep the dot: the key is the suffix an image host ends with. */
		*kind = SOURCE_WILD;
		if (n == 2) {
			set_cause(cause, "invalid source \"%s\": \"*.\" needs "
			    "a domain after it (\"*.gcr.io\")", src);
			goto end;
		}
		if (strchr(src + 2, '/') != NULL) {
			set_cause(cause, "invalid source \"%s\": a \"*.\" "
			    "wildcard names hosts only, not a path", src);
			goto end;
		}
		if (src[2] == '[')
			why = "a \"*.\" wildcard needs a domain name, not an "
			    "IPv6 address";
		else if ((why = check_name_chars(src + 2, n - 2, n - 2, 0)) ==
		    NULL)
			why = check_host(src + 2, n - 2);
		if (why != NULL) {
			set_cause(cause, "invalid source \"%s\": %s", src, why);
			goto end;
		}
		/* Lowercase only: "*.index.docker.io" is not "*.docker.io". */
		k = xstrdup(src + 1);
		lowercase(k, n - 1);
		rv = 0;
		goto end;
	}

	*kind = SOURCE_EXACT;
	slash = strchr(src, '/');
	hostlen = slash != NULL ? (size_t)(slash - src) : n;
	why = check_name_chars(src, n, hostlen, 0);
	if (why == NULL)
		why = check_host(src, hostlen);
	if (why == NULL && slash != NULL)
		why = check_path(slash + 1, n - hostlen - 1, 0);
	if (why != NULL) {
		set_cause(cause, "invalid source \"%s\": %s", src, why);
		goto end;
	}
	k = xstrdup(src);
	hostlen = normalize_host(k, hostlen);
	if (!reads_as_host(k, hostlen)) {
		set_cause(cause, "invalid source \"%s\": \"%.*s\" is no "
		    "registry host (an image's first component names its "
		    "registry only with a '.' or a ':port', or as "
		    "\"localhost\"; Docker Hub repositories are under "
		    "\"docker.io/\")", src, (int)hostlen, k);
		goto end;
	}
	rv = 0;
end:
	if (rv == 0)
		*key = k;
	else
		free(k);
	return (rv);
}

/*
 * Parse a target: "host[:port][/path]", where "{registry}" may stand for
 * the leading labels of the host or for one whole path component.
 * new: *norm, the target with its host normalized.
 */
static int
parse_target(const char *tgt, char **norm, size_t *token, size_t *hostlen,
    char **cause)
{
	const char	*why = NULL, *slash, *tok;
	char		*t = NULL, *probe = NULL;
	size_t		 n = strlen(tgt), hl, at, newhl;
	int		 rv = -1;

	*token = NO_TOKEN;
	if (n == 0) {
		set_cause(cause, "invalid target \"\": it is empty (write ~ "
		    "to leave the images alone)");
		goto end;
	}
	if (n > NAME_MAX_LEN) {
		set_cause(cause, "invalid target \"%.40s...\": longer than %d "
		    "characters", tgt, NAME_MAX_LEN);
		goto end;
	}
	slash = strchr(tgt, '/');
	hl = slash != NULL ? (size_t)(slash - tgt) : n;
	if ((tok = strstr(tgt, TOKEN)) != NULL) {
		at = (size_t)(tok - tgt);
		if (strstr(tok + 1, TOKEN) != NULL)
			why = "\"{registry}\" may appear only once";
		else if (at < hl && (at != 0 || (at + TOKEN_LEN < hl &&
		    tgt[TOKEN_LEN] != '.' && tgt[TOKEN_LEN] != ':')))
			why = "\"{registry}\" in the host must be its leading "
			    "labels (\"{registry}.mirror.example\")";
		else if (at > hl && (tgt[at - 1] != '/' ||
		    (tgt[at + TOKEN_LEN] != '/' && tgt[at + TOKEN_LEN] != '\0')))
			why = "\"{registry}\" in the path must be a whole "
			    "component (\"mirror.example/{registry}/\")";
		else
			*token = at;
	}
	if (why == NULL)
		why = check_name_chars(tgt, n, hl, 1);
	if (why == NULL && *token == 0) {
		/* Check the host with a stand-in for the upstream labels. */
		probe = xasprintf("%s%.*s", tgt[TOKEN_LEN] == '.' ? "x" :
		    "x.y", (int)(hl - TOKEN_LEN), tgt + TOKEN_LEN);
		why = check_host(probe, strlen(probe));
	} else if (why == NULL)
		why = check_host(tgt, hl);
	if (why == NULL && slash != NULL)
		why = check_path(slash + 1, n - hl - 1, 1);
	if (why != NULL) {
		set_cause(cause, "invalid target \"%s\": %s", tgt, why);
		goto end;
	}
	t = xstrdup(tgt);
	if (*token == 0)
		newhl = TOKEN_LEN + normalize_host(t + TOKEN_LEN,
		    hl - TOKEN_LEN);
	else
		newhl = normalize_host(t, hl);
	if (*token != NO_TOKEN && *token != 0)
		*token -= hl - newhl;
	if (*token != 0 && !reads_as_host(t, newhl)) {
		set_cause(cause, "invalid target \"%s\": \"%.*s\" is no "
		    "registry host (an image's first component names its "
		    "registry only with a '.' or a ':port', or as "
		    "\"localhost\")", tgt, (int)newhl, t);
		goto end;
	}
	*hostlen = newhl;
	rv = 0;
end:
	free(probe);
	if (rv == 0)
		*norm = t;
	else
		free(t);
	return (rv);
}

/* Add the pair of key and rest, and key. */
static void
tpat_add(struct tpats *tp, const char *key, size_t keylen, const char *rest,
    size_t restlen)
{
	char	 pair[TPAT_PAIR_MAX];

	if (keylen + 1 + restlen > sizeof pair)
		abort();
	*htab_insert(&tp->keys, key, keylen) = tp;
	memcpy(pair, key, keylen);
	pair[keylen] = '\0';
	memcpy(pair + keylen + 1, rest, restlen);
	*htab_insert(&tp->pairs, pair, keylen + 1 + restlen) = tp;
}

/* Remember where a rule's target puts images, for the "already" check. */
static void
mirror_register_target(struct mirror *m, const struct rule *r)
{
	const char	*t = r->target, *rest;
	size_t		 n = strlen(t), keylen;
	void		**cell;

	if (r->token == NO_TOKEN) {
		cell = htab_insert(&m->targets, t, n);
		*cell = (void *)r;
	} else if (r->token == 0) {
		/* "{registry}.suffix[/path]": key ".suffix", rest "path". */
		rest = r->hostlen < n ? t + r->hostlen + 1 : t + n;
		tpat_add(&m->thost, t + TOKEN_LEN, r->hostlen - TOKEN_LEN,
		    rest, strlen(rest));
	} else {
		/* "host[/a]/{registry}[/b]": key "host[/a]", rest "b". */
		keylen = r->token - 1;
		rest = t + r->token + TOKEN_LEN;
		if (*rest == '/')
			rest++;
		tpat_add(&m->tpath, t, keylen, rest, strlen(rest));
	}
}

struct mirror *
mirror_new(void)
{
	struct mirror	*m;

	m = xcalloc(1, sizeof *m);
	htab_init(&m->exact);
	htab_init(&m->wild);
	htab_init(&m->targets);
	tpats_init(&m->tpath);
	tpats_init(&m->thost);
	htab_init(&m->namespaces);
	m->memo = memo_new();
	return (m);
}

void
mirror_free(struct mirror *m)
{
	struct rule	*r, *next;

	if (m == NULL)
		return;
	for (r = m->rules; r != NULL; r = next) {
		next = r->next;
		free(r->source);
		free(r->target);
		free(r);
	}
	htab_free(&m->exact);
	htab_free(&m->wild);
	htab_free(&m->targets);
	tpats_free(&m->tpath);
	tpats_free(&m->thost);
	htab_free(&m->namespaces);
	memo_free(m->memo);
	free(m);
}

void
mirror_set_memo(struct mirror *m, int on)
{
	if (on && m->memo == NULL)
		m->memo = memo_new();
	else if (!on) {
		memo_free(m->memo);
		m->memo = NULL;
	}
}

int
mirror_add(struct mirror *m, const char *source, const char *target,
    char **cause)
{
	struct rule	 *r = NULL, *old;
	enum source_kind  kind;
	struct htab	 *h;
	char		 *key = NULL, *norm = NULL;
	size_t		  token = NO_TOKEN, hostlen = 0;
	int		  rv = -1;

	if (parse_source(source, &kind, &key, cause) != 0)
		goto end;
	if (target != NULL &&
	    parse_target(target, &norm, &token, &hostlen, cause) != 0)
		goto end;

	h = kind == SOURCE_WILD ? &m->wild : &m->exact;
	old = kind == SOURCE_ANY ? m->any : htab_find(h, key, strlen(key));
	if (old != NULL) {
		set_cause(cause, "duplicate source \"%s\": the table already "
		    "has \"%s\"", source, old->source);
		goto end;
	}

	r = xcalloc(1, sizeof *r);
	r->source = xstrdup(source);
	r->target = norm;
	r->token = token;
	r->hostlen = hostlen;
	norm = NULL;
	if (kind == SOURCE_ANY)
		m->any = r;
	else
		*htab_insert(h, key, strlen(key)) = r;
	if (r->target != NULL)
		mirror_register_target(m, r);
	r->next = m->rules;
	m->rules = r;
	m->nrules++;
	/* A rule changes answers: none kept before it may stand. */
	if (m->memo != NULL) {
		memo_free(m->memo);
		m->memo = memo_new();
	}
	rv = 0;
end:
	free(key);
	free(norm);
	return (rv);
}

size_t
mirror_rule_count(const struct mirror *m)
{
	return (m->nrules);
}

int
mirror_exclude_namespace(struct mirror *m, const char *ns, char **cause)
{
	size_t	n = strlen(ns), i;
	void	**cell;

	/* RFC 1123 label, as Kubernetes requires of namespace names. */
	for (i = 0; i < n; i++)
		if (!is_lower_alnum((unsigned char)ns[i]) && ns[i] != '-')
			break;
	if (n == 0 || n > NS_MAX_LEN || i < n || ns[0] == '-' ||
	    ns[n - 1] == '-')
		return (set_cause(cause, "invalid namespace \"%s\": a "
		    "namespace name is 1 to %d lowercase letters, digits "
		    "and '-', starting and ending with a letter or digit",
		    ns, NS_MAX_LEN));
	cell = htab_insert(&m->namespaces, ns, n);
	if (*cell != NULL)
		return (set_cause(cause, "duplicate namespace \"%s\"", ns));
	*cell = m;
	return (0);
}

int
mirror_namespace_excluded(const struct mirror *m, const char *ns)
{
	if (ns == NULL)
		return (0);
	return (htab_find(&m->namespaces, ns, strlen(ns)) != NULL);
}

/*
 * Whether, for key (keylen bytes), path (n bytes) starts with the
 * components of a rest of tp: "" or any prefix of path at a component
 * boundary is a pair.
 */
static int
tpat_match(const struct tpats *tp, const char *key, size_t keylen,
    const char *path, size_t n)
{
	const char	*slash;
	char		 pair[TPAT_PAIR_MAX];
	size_t		 e = 0, done = 0;

	if (htab_find(&tp->keys, key, keylen) == NULL)
		return (0);
	/* The keys are no longer than the pairs: key and NUL fit. */
	memcpy(pair, key, keylen);
	pair[keylen] = '\0';
	for (;;) {
		if (keylen + 1 + e > tp->pairs.longest)
			return (0);
		memcpy(pair + keylen + 1 + done, path + done, e - done);
		done = e;
		if (htab_find(&tp->pairs, pair, keylen + 1 + e) != NULL)
			return (1);
		if (e == n)
			return (0);
		slash = memchr(path + e + (e > 0), '/', n - e - (e > 0));
		e = slash != NULL ? (size_t)(slash - path) : n;
	}
}

/*
 * Whether the image (key "host/path", n bytes, host hl bytes) lies under a
 * target: every prefix at a component boundary is probed, once as a plain
 * target and once as the part before a "/{registry}" component; every
 * suffix of the host at a '.' or ':' once as the part after a leading
 * "{registry}".
 */
static int
mirror_already(const struct mirror *m, const char *key, size_t n, size_t hl)
{
	const char	*next;
	size_t		 e, f, i;

	for (e = hl; e <= n; e = f) {
		if (htab_find(&m->targets, key, e) != NULL)
			return (1);
		if (e == n)
			break;
		/* key[e] is '/': the next component stands for {registry}. */
		next = memchr(key + e + 1, '/', n - e - 1);
		f = next != NULL ? (size_t)(next - key) : n;
		if (m->tpath.keys.used > 0 && tpat_match(&m->tpath, key, e,
		    key + f + (f < n), n - f - (f < n)))
			return (1);
	}
	if (m->thost.keys.used == 0)
		return (0);
	for (i = 1; i <= hl; i++) {
		if (i < hl && key[i] != '.' && key[i] != ':')
			continue;
		if (tpat_match(&m->thost, key + i, hl - i, key + hl + 1,
		    n - hl - 1))
			return (1);
	}
	return (0);
}

/*
 * The rule for the image: the longest exact source at a component
 * boundary, then the longest "*." suffix of the host, then "*". *used is
 * how many bytes of key the source covered (0 for wildcards).
 */
static const struct rule *
mirror_lookup(const struct mirror *m, const char *key, size_t n, size_t hl,
    size_t *used)
{
	const struct rule	*r;
	size_t			 e, i;

	for (e = n; e >= hl; e--) {
		if (e < n && key[e] != '/')
			continue;
		if ((r = htab_find(&m->exact, key, e)) != NULL) {
			*used = e;
			return (r);
		}
	}
	*used = 0;
	if (m->wild.used > 0 && key[0] != '[') {
		for (i = 0; i < hl; i++) {
			if (key[i] == '.' &&
			    (r = htab_find(&m->wild, key + i, hl - i)) != NULL)
				return (r);
		}
	}
	return (m->any);
}

/* Copy s into a fixed field, cut to fit. */
static void
copy_field(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * Build "target[/rest][:tag][@digest]" with {registry} expanded, and check
 * that it is a reference whose registry is the target's. new: *out and
 * *parsed, the result read again as a reference (for mirror_result_stays()).
 */
static enum mirror_outcome
mirror_build(const struct rule *r, const char *host, size_t hl,
    const char *rest, size_t restlen, const struct imageref *ref,
    char **out, struct imageref **parsed, char **cause)
{
	struct imageref	*check = NULL;
	const char	*t = r->target;
	char		*s = NULL, *why = NULL, *p;
	size_t		 tl = strlen(t), n, outhost, i;
	enum mirror_outcome rv = MIRROR_REFUSED;

	n = tl + hl + 1 + restlen + 1 + (ref->tag != NULL ?
	    strlen(ref->tag) : 0) + 1 + (ref->digest != NULL ?
	    strlen(ref->digest) : 0) + 1;
	p = s = xmalloc(n);
	if (r->token != NO_TOKEN) {
		memcpy(p, t, r->token);
		p += r->token;
		memcpy(p, host, hl);
		p += hl;
		memcpy(p, t + r->token + TOKEN_LEN, tl - r->token - TOKEN_LEN);
		p += tl - r->token - TOKEN_LEN;
	} else {
		memcpy(p, t, tl);
		p += tl;
	}
	outhost = r->hostlen + (r->token == 0 ? hl - TOKEN_LEN : 0);
	if (restlen > 0) {
		*p++ = '/';
		memcpy(p, rest, restlen);
		p += restlen;
	}
	if (ref->tag != NULL) {
		*p++ = ':';
		memcpy(p, ref->tag, strlen(ref->tag));
		p += strlen(ref->tag);
	}
	if (ref->digest != NULL) {
		*p++ = '@';
		memcpy(p, ref->digest, strlen(ref->digest));
		p += strlen(ref->digest);
	}
	*p = '\0';

	if (imageref_parse(s, (size_t)(p - s), &check, &why) != 0) {
		set_cause(cause, "rule \"%s\": the result \"%s\" is not a valid "
		    "reference: %s", r->source, s, why);
		goto end;
	}
	/* The result must name the target's registry, not Docker Hub. */
	if (check->domain_len != outhost)
		goto wrong_registry;
	for (i = 0; i < outhost; i++)
		if (to_lower((unsigned char)check->domain[i]) != s[i])
			goto wrong_registry;
	*out = s;
	s = NULL;
	*parsed = check;
	check = NULL;
	rv = MIRROR_REWRITTEN;
	goto end;

wrong_registry:
	set_cause(cause, "rule \"%s\": the result \"%s\" would be read as an "
	    "image of registry \"%s\"", r->source, s, check->domain);
end:
	imageref_free(check);
	free(why);
	free(s);
	return (rv);
}

/* new: the lookup key of a parsed image, normalized "host/path". */
static char *
image_key(const struct imageref *ref, size_t *n, size_t *hl)
{
	char	*key;

	key = xmalloc(ref->domain_len + 1 + ref->path_len + 1);
	memcpy(key, ref->domain, ref->domain_len);
	key[ref->domain_len] = '\0';
	*hl = normalize_host(key, ref->domain_len);
	key[*hl] = '/';
	memcpy(key + *hl + 1, ref->path, ref->path_len);
	*n = *hl + 1 + ref->path_len;
	key[*n] = '\0';
	return (key);
}

/*
 * Whether a result, read again as an image (ref), lies under a target, so
 * that a second review of the same Pod leaves it alone. It may not: a
 * target on Docker Hub with one path component ("docker.io/bar") yields a
 * result that reads as "docker.io/library/bar".
 */
static int
mirror_result_stays(const struct mirror *m, const struct rule *r,
    const char *result, const struct imageref *ref, char **cause)
{
	char		*key, *norm = NULL;
	size_t		 n, hl;
	int		 rv = 0;

	key = image_key(ref, &n, &hl);
	if (mirror_already(m, key, n, hl))
		rv = 1;
	else {
		norm = imageref_format(ref);
		set_cause(cause, "rule \"%s\": the result \"%s\" reads as "
		    "\"%s\", which lies outside the target \"%s\"", r->source,
		    result, norm, r->target);
	}
	free(norm);
	free(key);
	return (rv);
}

/* mirror_rewrite() without its memo. */
static void
rewrite(const struct mirror *m, const char *image, size_t len, char **out,
    struct mirror_match *match, char **cause)
{
	struct mirror_match	 mm;
	struct imageref		*ref = NULL, *result = NULL;
	const struct rule	*r;
	char			*key = NULL, *why = NULL;
	size_t			 hl, n, used;
	const char		*rest;

	memset(&mm, 0, sizeof mm);
	mm.outcome = MIRROR_INVALID;
	if (imageref_parse(image, len, &ref, &why) != 0) {
		if (cause != NULL) {
			*cause = why;
			why = NULL;
		}
		goto end;
	}
	mm.outcome = MIRROR_NO_RULE;
	if (ref->domain_len == 0)
		goto end;

	key = image_key(ref, &n, &hl);
	copy_field(mm.registry, sizeof mm.registry, key, hl);

	if (mirror_already(m, key, n, hl)) {
		mm.outcome = MIRROR_ALREADY;
		goto end;
	}
	if ((r = mirror_lookup(m, key, n, hl, &used)) == NULL)
		goto end;
	copy_field(mm.source, sizeof mm.source, r->source, strlen(r->source));
	if (r->target == NULL) {
		mm.outcome = MIRROR_LEFT_ALONE;
		goto end;
	}
	/* The rest of the path after the source (all of it for wildcards). */
	if (used == 0)
		used = hl;
	rest = key + used + (used < n);
	mm.outcome = mirror_build(r, key, hl, rest, n - used - (used < n),
	    ref, out, &result, cause);
	if (mm.outcome == MIRROR_REWRITTEN && !mirror_result_stays(m, r, *out,
	    result, cause)) {
		free(*out);
		*out = NULL;
		mm.outcome = MIRROR_REFUSED;
	}
end:
	*match = mm;
	imageref_free(ref);
	imageref_free(result);
	free(key);
	free(why);
}

enum mirror_outcome
mirror_rewrite(const struct mirror *m, const char *image, size_t len,
    char **out, struct mirror_match *match, char **cause)
{
	struct mirror_match	 mm;

	if (m->memo == NULL || !memo_find(m->memo, image, len, out, &mm)) {
		rewrite(m, image, len, out, &mm, cause);
		if (m->memo != NULL)
			memo_keep(m->memo, image, len, mm.outcome ==
			    MIRROR_REWRITTEN ? *out : NULL, &mm);
	}
	if (match != NULL)
		*match = mm;
	return (mm.outcome);
}
