/*
 * config.c: the YAML mirror table, read with libyaml.
 *
 * The buffer is read twice: first as events, to refuse what the document
 * API would hide or build at any cost (anchors and aliases, more than one
 * document, nesting deeper than the format has), then as a document, whose
 * nodes keep their marks so that every error can point at its node. The
 * table is built aside and handed out only when the whole file is good.
 *
 *	mirrors:			# mapping: source -> target or ~
 *	  gcr.io: my.internal.repo
 *	exclude:			# optional
 *	  namespaces: [kube-system]	# sequence of namespace names
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "file.h"
#include "mirror.h"

/* A table of 100,000 rules is a few MiB; more is a mistake. */
#define CONFIG_MAX_SIZE		(64 * 1024 * 1024)

/*
 * The format nests three deep (top, exclude, namespaces). libyaml 0.2.5 has
 * no yaml_set_max_nest_level(), so the event pass counts instead.
 */
#define CONFIG_MAX_DEPTH	8

struct loader {
	const char	 *name;
	const char	 *buf;
	size_t		  len;
	yaml_document_t	 *doc;
	struct mirror	 *m;
	char		**cause;
};

/* Set *cause to "NAME:LINE:COLUMN: message" at a 0-based libyaml mark. */
static int GILLY_PRINTF(3, 4)
config_error(struct loader *l, yaml_mark_t mark, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	set_cause(l->cause, "%s:%zu:%zu: %s", l->name, mark.line + 1,
	    mark.column + 1, msg);
	free(msg);
	return (-1);
}

/* The message for a parser that failed, at its problem's position. */
static int
config_parser_error(struct loader *l, const yaml_parser_t *p)
{
	yaml_mark_t	 mark = p->problem_mark;
	const char	*problem = p->problem != NULL ? p->problem : "error";
	const char	*hint = "";
	size_t		 i;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return (set_cause(l->cause, "%s: out of memory", l->name));
	case YAML_READER_ERROR:
		/* The reader knows only a byte offset: count the lines. */
		memset(&mark, 0, sizeof mark);
		for (i = 0; i < p->problem_offset && i < l->len; i++) {
			if (l->buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else
				mark.column++;
		}
		if (p->problem_value != -1)
			return (config_error(l, mark, "%s (byte 0x%02x): the "
			    "table must be UTF-8 text", problem,
			    (unsigned)p->problem_value & 0xff));
		return (config_error(l, mark, "%s: the table must be UTF-8 "
		    "text", problem));
	default:
		break;
	}
	if (p->context == NULL)
		return (config_error(l, mark, "%s", problem));
	/* The usual causes: an unquoted "*" or "*.domain" source, a tab. */
	if (strcmp(p->context, "while scanning an alias") == 0)
		hint = "; a source starting with '*' must be quoted: "
		    "\"*.gcr.io\"";
	else if (mark.index < l->len && l->buf[mark.index] == '\t')
		hint = "; YAML indents with spaces, not tabs";
	return (config_error(l, mark, "%s (%s at line %zu, column %zu)%s",
	    problem, p->context, p->context_mark.line + 1,
	    p->context_mark.column + 1, hint));
}

/*
 * The event pass: syntax errors in document order, and what the document
 * API cannot be asked about. Aliases are refused rather than resolved: the
 * format has no use for them, and an error must point at one place.
 */
static int
config_scan(struct loader *l)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	const char	*anchor;
	int		 docs = 0, depth = 0, done = 0, rv = -1;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)l->buf,
	    l->len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			config_parser_error(l, &p);
			goto end;
		}
		anchor = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				config_error(l, ev.start_mark, "a second "
				    "document: the table is one YAML "
				    "document");
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			config_error(l, ev.start_mark, "aliases (\"*%s\") are "
			    "not supported in the mirror table",
			    ev.data.alias.anchor);
			goto fail;
		case YAML_SCALAR_EVENT:
			anchor = (const char *)ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ?
			    (const char *)ev.data.sequence_start.anchor :
			    (const char *)ev.data.mapping_start.anchor;
			if (++depth > CONFIG_MAX_DEPTH) {
				config_error(l, ev.start_mark, "nested more "
				    "than %d levels deep (the mirror table "
				    "has 3)", CONFIG_MAX_DEPTH);
				goto fail;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (anchor != NULL) {
			config_error(l, ev.start_mark, "anchors (\"&%s\") are "
			    "not supported in the mirror table", anchor);
			goto fail;
		}
		yaml_event_delete(&ev);
	}
	rv = 0;
	goto end;
fail:
	yaml_event_delete(&ev);
end:
	yaml_parser_delete(&p);
	return (rv);
}

static yaml_node_t *
node_at(struct loader *l, int index)
{
	return (yaml_document_get_node(l->doc, index));
}

/* YAML's null: a plain "~", "null" or nothing (core schema). */
static int
node_is_null(const yaml_node_t *n)
{
	const char	*v = (const char *)n->data.scalar.value;

	return (n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0));
}

/* "a mapping", "null" and so on, for messages. */
static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return (node_is_null(n) ? "null" : "a string");
	case YAML_SEQUENCE_NODE:
		return ("a sequence");
	case YAML_MAPPING_NODE:
		return ("a mapping");
	default:
		return ("empty");
	}
}

/*
 * The string of a scalar node, or -1 with an error naming what (a source,
 * a namespace...) was expected.
 */
static int
node_string(struct loader *l, const yaml_node_t *n, const char *what,
    const char **s)
{
	if (n->type != YAML_SCALAR_NODE)
		return (config_error(l, n->start_mark, "%s must be a string, "
		    "not %s", what, node_kind(n)));
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return (config_error(l, n->start_mark, "%s contains a NUL "
		    "character", what));
	*s = (const char *)n->data.scalar.value;
	return (0);
}

/*
 * The key of pair i of a mapping; known (if not NULL) lists the keys
 * allowed there, and a key seen before at the same level is refused.
 */
static int
config_key(struct loader *l, yaml_node_t *map, yaml_node_pair_t *pair,
    const char *where, const char *const *known, const char **key)
{
	yaml_node_pair_t	*q;
	yaml_node_t		*k = node_at(l, pair->key), *kq;
	size_t			 i;

	if (node_string(l, k, "a key", key) != 0)
		return (-1);
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(*key, known[i]) == 0)
			break;
	if (known[i] == NULL) {
		if (i == 1)
			return (config_error(l, k->start_mark, "unknown key "
			    "\"%s\"%s (expected \"%s\")", *key, where,
			    known[0]));
		return (config_error(l, k->start_mark, "unknown key \"%s\"%s "
		    "(expected \"%s\" or \"%s\")", *key, where, known[0],
		    known[1]));
	}
	for (q = map->data.mapping.pairs.start; q < pair; q++) {
		kq = node_at(l, q->key);
		if (kq->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kq->data.scalar.value, *key) == 0)
			return (config_error(l, k->start_mark, "duplicate key "
			    "\"%s\" (first at line %zu, column %zu)", *key,
			    kq->start_mark.line + 1, kq->start_mark.column + 1));
	}
	return (0);
}

/*
 * Why mirror_add refused pair i: a bad source (at the key), a bad target
 * (at the value), or a source that an earlier one already names after
 * normalization (at the key, saying where). Runs on the error path only,
 * with throwaway tables, so that the mirror's interface stays small.
 */
static int
config_rule_error(struct loader *l, yaml_node_t *map, yaml_node_pair_t *pair,
    const char *source, const char *target)
{
	struct mirror		*t;
	yaml_node_pair_t	*q;
	yaml_node_t		*k = node_at(l, pair->key), *kq = NULL;
	char			*why = NULL;
	int			 found = 0;

	t = mirror_new();
	if (mirror_add(t, source, NULL, &why) != 0)
		goto at_key;
	mirror_free(t);
	t = mirror_new();
	if (target != NULL && mirror_add(t, source, target, &why) != 0) {
		config_error(l, node_at(l, pair->value)->start_mark, "%s",
		    why);
		goto end;
	}
	for (q = map->data.mapping.pairs.start; q < pair; q++) {
		mirror_free(t);
		t = mirror_new();
		kq = node_at(l, q->key);
		if (mirror_add(t, (const char *)kq->data.scalar.value, NULL,
		    NULL) == 0 && mirror_add(t, source, NULL, NULL) != 0) {
			found = 1;
			break;
		}
	}
	if (found) {
		config_error(l, k->start_mark, "duplicate source \"%s\" (the "
		    "same as \"%s\" at line %zu, column %zu)", source,
		    (const char *)kq->data.scalar.value,
		    kq->start_mark.line + 1, kq->start_mark.column + 1);
		goto end;
	}
	/* Not reached while mirror_add refuses only for these reasons. */
	free(why);
	why = xstrdup("the rule was refused");
at_key:
	config_error(l, k->start_mark, "%s", why);
end:
	mirror_free(t);
	free(why);
	return (-1);
}

/* mirrors: { source: target-or-null, ... } */
static int
config_mirrors(struct loader *l, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*source, *target;

	if (node_is_null(n))
		return (0);
	if (n->type != YAML_MAPPING_NODE)
		return (config_error(l, n->start_mark, "\"mirrors\" must be a "
		    "mapping of source to target, not %s", node_kind(n)));
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		k = node_at(l, pair->key);
		v = node_at(l, pair->value);
		if (node_string(l, k, "a source", &source) != 0)
			return (-1);
		target = NULL;
		if (!node_is_null(v)) {
			/* {registry}... unquoted is a flow mapping. */
			if (v->type != YAML_SCALAR_NODE)
				return (config_error(l, v->start_mark, "the "
				    "target of \"%s\" must be a string or ~, "
				    "not %s%s", source, node_kind(v),
				    v->type == YAML_MAPPING_NODE &&
				    v->data.mapping.style ==
				    YAML_FLOW_MAPPING_STYLE ? " (a target "
				    "starting with \"{registry}\" must be "
				    "quoted)" : ""));
			if (node_string(l, v, "a target", &target) != 0)
				return (-1);
		}
		if (mirror_add(l->m, source, target, NULL) != 0)
			return (config_rule_error(l, n, pair, source, target));
	}
	return (0);
}

/* namespaces: [ name, ... ] */
static int
config_namespaces(struct loader *l, yaml_node_t *n)
{
	yaml_node_item_t	*item, *q;
	yaml_node_t		*v, *vq = NULL;
	const char		*ns;
	char			*why = NULL;

	if (node_is_null(n))
		return (0);
	if (n->type != YAML_SEQUENCE_NODE)
		return (config_error(l, n->start_mark, "\"namespaces\" must be "
		    "a sequence of namespace names, not %s", node_kind(n)));
	for (item = n->data.sequence.items.start;
	    item < n->data.sequence.items.top; item++) {
		v = node_at(l, *item);
		if (node_string(l, v, "a namespace", &ns) != 0)
			return (-1);
		if (mirror_namespace_excluded(l->m, ns)) {
			for (q = n->data.sequence.items.start; q < item; q++) {
				vq = node_at(l, *q);
				if (strcmp((const char *)vq->data.scalar.value,
				    ns) == 0)
					break;
			}
			if (vq == NULL)		/* not reached */
				return (config_error(l, v->start_mark,
				    "duplicate namespace \"%s\"", ns));
			return (config_error(l, v->start_mark, "duplicate "
			    "namespace \"%s\" (first at line %zu, column %zu)",
			    ns, vq->start_mark.line + 1,
			    vq->start_mark.column + 1));
		}
		if (mirror_exclude_namespace(l->m, ns, &why) != 0) {
			config_error(l, v->start_mark, "%s", why);
			free(why);
			return (-1);
		}
	}
	return (0);
}

/* exclude: { namespaces: [...] } */
static int
config_exclude(struct loader *l, yaml_node_t *n)
{
	static const char *const known[] = { "namespaces", NULL };
	yaml_node_pair_t	*pair;
	const char		*key;

	if (node_is_null(n))
		return (0);
	if (n->type != YAML_MAPPING_NODE)
		return (config_error(l, n->start_mark, "\"exclude\" must be a "
		    "mapping (\"namespaces: [...]\"), not %s", node_kind(n)));
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		if (config_key(l, n, pair, " under \"exclude\"", known,
		    &key) != 0 ||
		    config_namespaces(l, node_at(l, pair->value)) != 0)
			return (-1);
	}
	return (0);
}

/* The top level: { mirrors: ..., exclude: ... } */
static int
config_root(struct loader *l)
{
	static const char *const known[] = { "mirrors", "exclude", NULL };
	yaml_node_pair_t	*pair;
	yaml_node_t		*root, *v;
	yaml_mark_t		 start = { 0, 0, 0 };
	const char		*key;
	int			 seen = 0;

	if ((root = yaml_document_get_root_node(l->doc)) == NULL)
		return (config_error(l, start, "the table is empty: it needs "
		    "a \"mirrors\" mapping"));
	if (root->type != YAML_MAPPING_NODE)
		return (config_error(l, root->start_mark, "the top level must "
		    "be a mapping with \"mirrors\" (and \"exclude\"), not %s",
		    node_kind(root)));
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		if (config_key(l, root, pair, "", known, &key) != 0)
			return (-1);
		v = node_at(l, pair->value);
		if (strcmp(key, "mirrors") == 0) {
			seen = 1;
			if (config_mirrors(l, v) != 0)
				return (-1);
		} else if (config_exclude(l, v) != 0)
			return (-1);
	}
	if (!seen)
		return (config_error(l, root->start_mark, "\"mirrors\" is "
		    "missing: the table needs a \"mirrors\" mapping of source "
		    "to target"));
	return (0);
}

int
config_load_buffer(const char *name, const char *buf, size_t len,
    struct mirror **out, char **cause)
{
	struct loader	 l;
	yaml_parser_t	 p;
	yaml_document_t	 doc;
	int		 have_parser = 0, have_doc = 0, rv = -1;

	memset(&l, 0, sizeof l);
	l.name = name;
	l.buf = buf;
	l.len = len;
	l.cause = cause;
	l.doc = &doc;
	if (config_scan(&l) != 0)
		goto end;

	yaml_parser_initialize(&p);
	have_parser = 1;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		config_parser_error(&l, &p);
		goto end;
	}
	have_doc = 1;
	l.m = mirror_new();
	if (config_root(&l) != 0)
		goto end;
	*out = l.m;
	l.m = NULL;
	rv = 0;
end:
	mirror_free(l.m);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&p);
	return (rv);
}

int
config_load_file(const char *path, struct mirror **out, char **cause)
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 rv = -1;

	if (file_read(path, CONFIG_MAX_SIZE, &buf, &len, cause) == 0)
		rv = config_load_buffer(path, buf, len, out, cause);
	free(buf);
	return (rv);
}
