/*
 * The YAML layer of the configuration reader: a file or buffer loaded
 * with libyaml's document API, access to its nodes, the scalar getters
 * the schema walkers use, and the list of errors.  Every problem is
 * kept with its position and a stable code and the walk goes on, so
 * one run of "l4d -n" shows them all, in file order.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

/*
 * Caps that keep a hostile or mistaken file from costing unbounded
 * memory and time.
 */
#define PARSE_MAX_FILE		(4 * 1024 * 1024)
#define PARSE_MAX_MS		(2147483647LL * 1000)	/* fits a timeval */

/* An unknown key this close to a valid one gets "did you mean". */
#define SUGGEST_EDITS		2
#define SUGGEST_LEN		32	/* longer keys are not compared */

struct perr {
	size_t		 file;		/* the document: 0 the main one */
	size_t		 line;
	size_t		 col;
	size_t		 seq;
	char		 msg[L4D_ERRMSG_MAX];
};

static void		 verr(struct parser *, int, const yaml_mark_t *, int,
			    const char *, const char *, va_list)
			    __attribute__((__format__ (printf, 6, 0)));
static char		*file_read(const char *, size_t *, int *);
static void		 errs_add(struct conf_errors *, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));

/*
 * Durations: digits and a unit (ms, s, m, h; none means seconds), or
 * "infinite" where the caller allows it.
 */
static const char *
duration_parse(const char *s, long long *ms, int infinite_ok)
{
	long long	 n = 0, unit;
	const char	*p;

	if (strcmp(s, "infinite") == 0) {
		if (!infinite_ok)
			return "\"infinite\" is not allowed here";
		*ms = TIMEOUT_INFINITE;
		return NULL;
	}
	if (*s < '0' || *s > '9')
		return "expected a number and a unit";
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > PARSE_MAX_MS)
			return "too large";
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * 1000;
	else
		return "unknown unit";
	if (n > PARSE_MAX_MS / unit)
		return "too large";
	*ms = n * unit;
	return NULL;
}

int
parse_duration(const char *s, long long *ms, int infinite_ok)
{
	long long	 v;

	if (duration_parse(s, &v, infinite_ok) != NULL)
		return -1;
	*ms = v;
	return 0;
}

/*
 * Errors.
 */

/* A value fit for a one-line message: escaped and cut short. */
const char *
quote(const char *s, char *buf, size_t len)
{
	size_t	 o = 0;
	char	 c;

	buf[o++] = '"';
	for (; *s != '\0' && o + 8 < len; s++) {
		c = *s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if ((unsigned char)c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x",
			    (unsigned char)c);
		else
			buf[o++] = c;
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Messages and key paths may be cut short; that is fine. */
void
fmt_into(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
verr(struct parser *p, int always, const yaml_mark_t *m, int code,
    const char *hint, const char *fmt, va_list ap)
{
	struct perr	*e, *nv;
	char		 msg[L4D_ERRMSG_MAX];
	size_t		 ncap;

	if (p->quiet && !always)
		return;
	if (p->nerr == p->errcap) {
		ncap = p->errcap ? p->errcap * 2 : 16;
		if ((nv = reallocarray(p->errv, ncap, sizeof(*nv))) == NULL)
			fatal("%s", __func__);
		p->errv = nv;
		p->errcap = ncap;
	}
	e = &p->errv[p->nerr];
	e->file = p->doc_no;
	e->line = m->line + 1;
	e->col = m->column + 1;
	e->seq = p->nerr++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fmt_into(e->msg, sizeof(e->msg), "%s:%zu:%zu: L4D-E%03d: %s (hint: %s)",
	    p->name, e->line, e->col, code, msg, hint);
}

/* An error about this node alone: not repeated when an alias revisits. */
void
perr(struct parser *p, const yaml_mark_t *m, int code, const char *hint,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(p, 0, m, code, hint, fmt, ap);
	va_end(ap);
}

/* An error between objects, reported whichever path reached it. */
void
perr_always(struct parser *p, const yaml_mark_t *m, int code,
    const char *hint, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(p, 1, m, code, hint, fmt, ap);
	va_end(ap);
}

static void
errs_add(struct conf_errors *errs, const char *fmt, ...)
{
	struct conf_error	*e;
	va_list			 ap;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("%s", __func__);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	TAILQ_INSERT_TAIL(errs, e, entry);
}

static int
perr_cmp(const void *a, const void *b)
{
	const struct perr	*x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* The walk does not follow the file; the reader wants file order. */
static void
perr_flush(struct parser *p, struct conf_errors *errs)
{
	size_t	 i;

	if (p->nerr > 1)
		qsort(p->errv, p->nerr, sizeof(*p->errv), perr_cmp);
	for (i = 0; i < p->nerr; i++)
		errs_add(errs, "%s", p->errv[i].msg);
}

/*
 * Node access.
 */

yaml_node_t *
node_at(struct parser *p, int idx)
{
	return yaml_document_get_node(p->doc, idx);
}

/* Returns whether the node was already walked in this role. */
int
node_enter(struct parser *p, yaml_node_t *n, enum node_role role)
{
	size_t	 i = n - p->doc->nodes.start;
	int	 seen;

	seen = (p->seen[i] >> role) & 1;
	p->seen[i] |= 1 << role;
	if (seen)
		p->quiet++;
	return seen;
}

void
node_leave(struct parser *p, int seen)
{
	if (seen)
		p->quiet--;
}

const char *
node_desc(yaml_node_t *n, char *buf, size_t len)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (n->data.scalar.length == 0)
			return "an empty value";
		return quote((const char *)n->data.scalar.value, buf, len);
	default:
		return "nothing";
	}
}

void
type_err(struct parser *p, yaml_node_t *n, const char *path,
    const char *want, const char *hint)
{
	char	 q[PARSE_QUOTE_MAX];

	perr(p, &n->start_mark, E_TYPE, hint, "%s: expected %s, found %s",
	    path, want, node_desc(n, q, sizeof(q)));
}

/* The scalar as a C string, or NULL once E003 is reported. */
const char *
scalar_str(struct parser *p, yaml_node_t *n, const char *path,
    const char *want, const char *hint)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE) {
		type_err(p, n, path, want, hint);
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		perr(p, &n->start_mark, E_TYPE, hint,
		    "%s: expected %s, found a string with a NUL byte",
		    path, want);
		return NULL;
	}
	return s;
}

void
key_path(char *buf, size_t len, const char *parent, const char *key)
{
	if (parent[0] == '\0')
		fmt_into(buf, len, "%s", key);
	else
		fmt_into(buf, len, "%s.%s", parent, key);
}

static void
key_list(char *buf, size_t len, const char *const keys[], size_t nkeys)
{
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < nkeys; i++) {
		if (i > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, keys[i], len);
	}
}

static int
smaller(int a, int b)
{
	return a < b ? a : b;
}

/*
 * Edits (insertions, deletions, substitutions and swaps of neighbours)
 * that make a into b; SUGGEST_EDITS + 1 for anything more, or longer.
 */
static int
edit_distance(const char *a, const char *b)
{
	int	 d[3][SUGGEST_LEN + 1], x;
	size_t	 la = strlen(a), lb = strlen(b), i, j;

	if (la > SUGGEST_LEN || lb > SUGGEST_LEN ||
	    (la > lb ? la - lb : lb - la) > SUGGEST_EDITS)
		return SUGGEST_EDITS + 1;
	for (i = 0; i <= la; i++) {
		for (j = 0; j <= lb; j++) {
			if (i == 0 || j == 0) {
				d[i % 3][j] = i + j;
				continue;
			}
			x = d[(i - 1) % 3][j - 1] + (a[i - 1] != b[j - 1]);
			x = smaller(x, d[(i - 1) % 3][j] + 1);
			x = smaller(x, d[i % 3][j - 1] + 1);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1])
				x = smaller(x, d[(i - 2) % 3][j - 2] + 1);
			d[i % 3][j] = x;
		}
	}
	return d[la % 3][lb];
}

/* The valid key an unknown one is a typo of, or NULL. */
static const char *
key_suggest(const char *ks, const char *const keys[], size_t nkeys)
{
	const char	*best = NULL;
	size_t		 i;
	int		 d, bestd = SUGGEST_EDITS + 1;

	for (i = 0; i < nkeys; i++) {
		d = edit_distance(ks, keys[i]);
		if (d < bestd && (size_t)d < strlen(keys[i])) {
			best = keys[i];
			bestd = d;
		}
	}
	return best;
}

static void
unknown_key(struct parser *p, yaml_node_t *k, const char *path,
    const char *ks, const char *const keys[], size_t nkeys,
    const char *hint)
{
	char		 h[360], q[PARSE_QUOTE_MAX];
	const char	*best;

	if ((best = key_suggest(ks, keys, nkeys)) != NULL) {
		snprintf(h, sizeof(h), "did you mean \"%s\"? %s", best, hint);
		hint = h;
	}
	perr(p, &k->start_mark, E_UNKNOWN_KEY, hint, "%s%sunknown key %s",
	    path, path[0] ? ": " : "", quote(ks, q, sizeof(q)));
}

/*
 * Sorts a mapping's values into vals[] by key, reporting keys that are
 * not scalars, unknown or repeated.  Returns -1 if it is no mapping.
 */
int
map_collect(struct parser *p, yaml_node_t *map, const char *path,
    const char *const keys[], size_t nkeys, yaml_node_t **vals)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *first[MAP_KEYS_MAX];
	char			 valid[256], hint[300];
	const char		*ks;
	size_t			 i;

	if (nkeys > MAP_KEYS_MAX)
		fatalx("%s: too many keys", __func__);
	for (i = 0; i < nkeys; i++)
		vals[i] = first[i] = NULL;
	if (map->type != YAML_MAPPING_NODE) {
		type_err(p, map, path[0] ? path : "top level", "a mapping",
		    "write key: value pairs here");
		return -1;
	}
	key_list(valid, sizeof(valid), keys, nkeys);
	snprintf(hint, sizeof(hint), "valid keys here: %s", valid);
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		if ((k = node_at(p, pair->key)) == NULL)
			continue;
		if ((ks = scalar_str(p, k, path[0] ? path : "top level",
		    "a scalar key", hint)) == NULL)
			continue;
		for (i = 0; i < nkeys; i++)
			if (strcmp(ks, keys[i]) == 0)
				break;
		if (i == nkeys) {
			unknown_key(p, k, path, ks, keys, nkeys, hint);
			continue;
		}
		if (vals[i] != NULL) {
			perr(p, &k->start_mark, E_DUP_KEY,
			    "remove one of them",
			    "%s%skey \"%s\" appears twice (first at line %zu)",
			    path, path[0] ? ": " : "", keys[i],
			    first[i]->start_mark.line + 1);
			continue;
		}
		first[i] = k;
		vals[i] = node_at(p, pair->value);
	}
	return 0;
}

void
missing(struct parser *p, yaml_node_t *map, const char *path,
    const char *key, const char *hint)
{
	perr(p, &map->start_mark, E_MISSING, hint,
	    "%s%smissing required key \"%s\"", path, path[0] ? ": " : "", key);
}

/*
 * Scalar values.
 */

int
get_bool(struct parser *p, yaml_node_t *n, const char *path, int *out)
{
	const char	*s;
	const char	*hint = "use true or false";

	if ((s = scalar_str(p, n, path, "a boolean", hint)) == NULL)
		return -1;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*out = 0;
	else {
		type_err(p, n, path, "a boolean", hint);
		return -1;
	}
	return 0;
}

/* An integer in [lo, hi]; E003 if it is none, code if out of range. */
int
get_int(struct parser *p, yaml_node_t *n, const char *path, long long lo,
    long long hi, int code, long long *out)
{
	const char	*s, *d;
	char		 hint[64], q[PARSE_QUOTE_MAX];
	long long	 v = 0;
	int		 big = 0;

	snprintf(hint, sizeof(hint), "use a whole number from %lld to %lld",
	    lo, hi);
	if ((s = scalar_str(p, n, path, "an integer", hint)) == NULL)
		return -1;
	d = (*s == '-' || *s == '+') ? s + 1 : s;
	if (*d == '\0') {
		type_err(p, n, path, "an integer", hint);
		return -1;
	}
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9') {
			type_err(p, n, path, "an integer", hint);
			return -1;
		}
		if (v > 1000000000000LL)
			big = 1;
		else
			v = v * 10 + (*d - '0');
	}
	if (*s == '-')
		v = -v;
	if (big || v < lo || v > hi) {
		perr(p, &n->start_mark, code, hint, "%s: %s is out of range",
		    path, quote(s, q, sizeof(q)));
		return -1;
	}
	*out = v;
	return 0;
}

int
get_enum(struct parser *p, yaml_node_t *n, const char *path,
    const char *const names[], size_t nnames, int *out)
{
	const char	*s;
	char		 valid[128], hint[160], q[PARSE_QUOTE_MAX];
	size_t		 i;

	key_list(valid, sizeof(valid), names, nnames);
	snprintf(hint, sizeof(hint), "one of: %s", valid);
	if ((s = scalar_str(p, n, path, "a scalar", hint)) == NULL)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	perr(p, &n->start_mark, E_ENUM, hint, "%s: bad value %s", path,
	    quote(s, q, sizeof(q)));
	return -1;
}

/* Names of listeners, backends and users. */
int
get_name(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len)
{
	const char	*s, *c;
	const char	*hint = "1 to 63 of A-Z a-z 0-9 _ . -";
	char		 q[PARSE_QUOTE_MAX];

	if ((s = scalar_str(p, n, path, "a scalar", hint)) == NULL)
		return -1;
	for (c = s; *c != '\0'; c++)
		if ((*c < 'a' || *c > 'z') && (*c < 'A' || *c > 'Z') &&
		    (*c < '0' || *c > '9') && *c != '_' && *c != '.' &&
		    *c != '-')
			break;
	if (*s == '\0' || *c != '\0' || strlen(s) >= len ||
	    strlen(s) >= L4D_NAME_MAX) {
		perr(p, &n->start_mark, E_NAME, hint, "%s: bad name %s", path,
		    quote(s, q, sizeof(q)));
		return -1;
	}
	strlcpy(buf, s, len);
	return 0;
}

int
get_path(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len)
{
	const char	*s;
	char		 hint[64], q[PARSE_QUOTE_MAX];

	snprintf(hint, sizeof(hint), "an absolute path shorter than %zu bytes",
	    len);
	if ((s = scalar_str(p, n, path, "a path", hint)) == NULL)
		return -1;
	if (s[0] != '/' || strlen(s) >= len) {
		perr(p, &n->start_mark, E_NAME, hint, "%s: bad path %s", path,
		    quote(s, q, sizeof(q)));
		return -1;
	}
	strlcpy(buf, s, len);
	return 0;
}

void
get_duration(struct parser *p, yaml_node_t *n, const char *path,
    int infinite_ok, long long *out)
{
	const char	*s, *why;
	const char	*hint;
	char		 q[PARSE_QUOTE_MAX];
	long long	 ms;

	hint = infinite_ok ?
	    "e.g. 250ms, 5s, 2m, 1h, 30 (seconds) or infinite" :
	    "e.g. 250ms, 5s, 2m, 1h or 30 (seconds)";
	if ((s = scalar_str(p, n, path, "a duration", hint)) == NULL)
		return;
	if ((why = duration_parse(s, &ms, infinite_ok)) != NULL) {
		perr(p, &n->start_mark, E_DURATION, hint,
		    "%s: bad duration %s: %s", path, quote(s, q, sizeof(q)),
		    why);
		return;
	}
	if (ms == 0 && !infinite_ok) {
		perr(p, &n->start_mark, E_DURATION, hint,
		    "%s: bad duration %s: must be > 0", path,
		    quote(s, q, sizeof(q)));
		return;
	}
	*out = ms;
}

/*
 * The YAML layer.
 */

/* Reader errors carry a byte offset instead of a line and column. */
static void
offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else
			m->column++;
	}
}

static void
syntax_error(struct parser *p, yaml_parser_t *yp, const char *buf,
    size_t len)
{
	yaml_mark_t	 m = yp->problem_mark;
	char		 ctx[128] = "";
	const char	*problem = yp->problem ? yp->problem : "unknown error";

	if (yp->error == YAML_READER_ERROR)
		offset_mark(buf, len, yp->problem_offset, &m);
	else if (yp->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (yp->context != NULL)
		snprintf(ctx, sizeof(ctx), " (%s at line %zu)", yp->context,
		    yp->context_mark.line + 1);
	perr(p, &m, E_SYNTAX, "check indentation, quoting and brackets here",
	    "YAML syntax error: %s%s", problem, ctx);
}

/* A second document would be silently ignored; say so instead. */
static void
check_one_document(struct parser *p, yaml_parser_t *yp, const char *buf,
    size_t len)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;

	if (!yaml_parser_load(yp, &doc)) {
		syntax_error(p, yp, buf, len);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		perr(p, &doc.start_mark, E_SYNTAX,
		    "keep the whole configuration in one document",
		    "more than one YAML document");
	yaml_document_delete(&doc);
}

/*
 * libyaml's loader takes time quadratic in the depth of a document, so
 * a first pass over the parser's events refuses deep nesting before
 * anything is loaded.  Returns -1 once E023 is reported.  A syntax
 * error only ends the pass: the load that follows reports it.
 */
static int
check_depth(struct parser *p, const char *buf, size_t len)
{
	yaml_parser_t	 yp;
	yaml_event_t	 ev;
	int		 depth = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&yp))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (!done && yaml_parser_parse(&yp, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth <= PARSE_MAX_DEPTH)
				break;
			perr(p, &ev.start_mark, E_DEPTH,
			    "a configuration needs only a few levels; "
			    "check the brackets and indentation",
			    "YAML nesting too deep: more than %d levels",
			    PARSE_MAX_DEPTH);
			rc = -1;
			done = 1;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return rc;
}

/*
 * Load a document: its root, or NULL when it is empty or does not load
 * (the error is said).  seen gets a bit set per node, for the walk.
 */
static yaml_node_t *
doc_load(struct parser *p, yaml_document_t *doc, uint16_t **seen,
    const char *buf, size_t len)
{
	yaml_parser_t	 yp;
	yaml_node_t	*root;
	size_t		 nnodes;

	*seen = NULL;
	if (check_depth(p, buf, len) == -1)
		return NULL;
	if (!yaml_parser_initialize(&yp))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&yp, doc)) {
		syntax_error(p, &yp, buf, len);
		yaml_parser_delete(&yp);
		memset(doc, 0, sizeof(*doc));
		return NULL;
	}
	if ((root = yaml_document_get_root_node(doc)) != NULL) {
		check_one_document(p, &yp, buf, len);
		nnodes = doc->nodes.top - doc->nodes.start;
		if ((*seen = calloc(nnodes, sizeof(**seen))) == NULL)
			fatal("%s", __func__);
	}
	yaml_parser_delete(&yp);
	return root;
}

static void
parse_document(struct parser *p, const char *buf, size_t len)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;
	yaml_mark_t	 start = { 0, 0, 0 };
	size_t		 i;

	memset(&doc, 0, sizeof(doc));
	root = doc_load(p, &doc, &p->seen, buf, len);
	p->doc = &doc;
	p->main_doc = &doc;
	p->main_seen = p->seen;
	p->main_name = p->name;
	if (root == NULL && p->nerr == 0)
		perr(p, &start, E_EMPTY,
		    "the file is a mapping with listeners: and backends:",
		    "the configuration is empty");
	else if (root != NULL)
		parse_top(p, root);
	for (i = 0; i < p->ndocs; i++) {
		yaml_document_delete(&p->docs[i].doc);
		free(p->docs[i].seen);
	}
	p->doc = NULL;
	yaml_document_delete(&doc);
}

/*
 * include:.  A pattern names files relative to the main file's folder
 * unless it starts with /; glob(3) expands it, in order.  A pattern
 * with a wildcard may match nothing (the running configuration says so
 * in include_note); a plain path must be there.  A file matched twice
 * is read once.
 */
void
doc_switch(struct parser *p, size_t i)
{
	if (i == 0) {
		p->doc = p->main_doc;
		p->seen = p->main_seen;
		p->name = p->main_name;
	} else {
		p->doc = &p->docs[i - 1].doc;
		p->seen = p->docs[i - 1].seen;
		p->name = p->docs[i - 1].name;
	}
	p->doc_no = i;
}

/* "line N" in the document being walked, "FILE:N" in another. */
const char *
pobj_where(struct parser *p, const struct pobj *o, char *buf, size_t len)
{
	if (o->file == NULL || o->file == p->name)
		snprintf(buf, len, "line %zu", o->line);
	else
		snprintf(buf, len, "%s:%zu", o->file, o->line);
	return buf;
}

static void
include_note(struct parser *p, const char *pattern)
{
	char	*note = p->conf->include_note;
	size_t	 len = sizeof(p->conf->include_note);

	if (note[0] == '\0')
		strlcpy(note, "include: no file matches ", len);
	else
		strlcat(note, ", ", len);
	strlcat(note, pattern, len);
}

static int
include_seen(struct parser *p, const char *path)
{
	size_t	 i;

	if (strcmp(path, p->main_name) == 0)
		return 1;
	for (i = 0; i < p->ndocs; i++)
		if (strcmp(p->docs[i].name, path) == 0)
			return 1;
	return 0;
}

static void
include_file(struct parser *p, yaml_node_t *n, const char *path,
    const char *file)
{
	struct pdoc	*d, *nv;
	char		*buf;
	size_t		 len;
	int		 error;

	if (include_seen(p, file))
		return;
	if (p->ndocs == PARSE_MAX_INCLUDES) {
		perr(p, &n->start_mark, E_INCLUDE, "merge some fragments",
		    "%s: more than %d files", path, PARSE_MAX_INCLUDES);
		return;
	}
	if ((buf = file_read(file, &len, &error)) == NULL) {
		perr(p, &n->start_mark, E_READ,
		    "check the path and its permissions",
		    "%s: cannot read %s: %s", path, file, strerror(error));
		return;
	}
	if ((nv = reallocarray(p->docs, p->ndocs + 1, sizeof(*nv))) == NULL)
		fatal("%s", __func__);
	p->docs = nv;
	d = &p->docs[p->ndocs++];
	memset(d, 0, sizeof(*d));
	if ((d->name = strdup(file)) == NULL)
		fatal("%s", __func__);
	doc_switch(p, p->ndocs);
	include_root(p, doc_load(p, &d->doc, &d->seen, buf, len), d);
	doc_switch(p, 0);
	free(buf);
}

void
include_add(struct parser *p, yaml_node_t *n, const char *path)
{
	const char	*pattern;
	char		 full[PATH_MAX], dir[PATH_MAX], *slash;
	glob_t		 g;
	size_t		 i;
	int		 rc;

	if ((pattern = scalar_str(p, n, path, "a path or a glob",
	    "\"/etc/l4d.d/*.yaml\"")) == NULL)
		return;
	strlcpy(dir, p->main_name, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(dir, ".", sizeof(dir));
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s",
	    pattern[0] == '/' ? "" : dir, pattern[0] == '/' ? "" : "/",
	    pattern) >= sizeof(full) || pattern[0] == '\0') {
		perr(p, &n->start_mark, E_INCLUDE, "use a shorter path",
		    "%s: the path is empty or too long", path);
		return;
	}
	if (strpbrk(pattern, "*?[") == NULL) {
		include_file(p, n, path, full);
		return;
	}
	memset(&g, 0, sizeof(g));
	if ((rc = glob(full, 0, NULL, &g)) == GLOB_NOMATCH)
		include_note(p, full);
	else if (rc != 0)
		perr(p, &n->start_mark, E_INCLUDE,
		    "check the pattern and the folder's permissions",
		    "%s: cannot expand %s", path, full);
	else
		for (i = 0; i < g.gl_pathc; i++)
			include_file(p, n, path, g.gl_pathv[i]);
	globfree(&g);
}

struct l4d_config *
parse_config_buffer(const char *name, const char *buf, size_t len,
    int resolve, struct conf_errors *errs)
{
	struct parser		 p;
	struct l4d_config	*conf;
	size_t			 i;

	if (name == NULL)
		name = "<buffer>";
	if (buf == NULL)
		buf = "";
	if ((conf = config_new_empty()) == NULL)
		fatal("%s", __func__);
	strlcpy(conf->path, name, sizeof(conf->path));
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.conf = conf;
	p.resolve = resolve;
	parse_document(&p, buf, len);
	if (p.nerr == 0 && config_link(conf) == -1)
		fatalx("%s: config_link failed after a clean parse", __func__);
	perr_flush(&p, errs);
	tlsconf_done(&p);
	free(p.main_seen);
	for (i = 0; i < p.ndocs; i++)
		free(p.docs[i].name);
	free(p.docs);
	free(p.errv);
	free(p.lv);
	free(p.bv);
	if (p.nerr > 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* A file's bytes, NUL-terminated; NULL with *error set. */
static char *
file_read(const char *path, size_t *lenp, int *error)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if (st.st_size > PARSE_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc(st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		if ((n = read(fd, buf + off, st.st_size - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		off += n;
	}
	close(fd);
	buf[off] = '\0';
	*lenp = off;
	return buf;
 fail:
	*error = errno;
	free(buf);
	if (fd != -1)
		close(fd);
	return NULL;
}

static char *
read_file(const char *path, size_t *lenp, struct conf_errors *errs)
{
	char	*buf;
	int	 error;

	if ((buf = file_read(path, lenp, &error)) == NULL)
		errs_add(errs, "%s:1:1: L4D-E%03d: cannot read the file: %s "
		    "(hint: check the path and its permissions)", path, E_READ,
		    strerror(error));
	return buf;
}

struct l4d_config *
parse_config(const char *path, struct conf_errors *errs)
{
	struct l4d_config	*conf;
	char			*buf;
	size_t			 len;

	if ((buf = read_file(path, &len, errs)) == NULL)
		return NULL;
	conf = parse_config_buffer(path, buf, len, 1, errs);
	free(buf);
	return conf;
}
