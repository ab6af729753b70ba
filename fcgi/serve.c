/*
 * serve.c: the HTTP face of gilly, behind a FastCGI server (lighttpd) or a
 * CGI one. Both hand over the same CGI variables (RFC 3875 section 4.1) and
 * expect the same CGI response (section 6), so one handler serves both
 * through a small exchange of param/read/write functions.
 */
#include "common.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "accept.h"
#include "admission.h"
#include "finish.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "serve.h"
#include "table.h"

/*
 * A changed table is in force for the requests that come this long after
 * the change or later: a busy worker looks at its table's file at most
 * once in this time, not before each request (table.c says why). A
 * mounted ConfigMap reaches the pod seconds after its update anyway.
 */
#define SERVE_TABLE_LAG_NS	UINT64_C(1000000)

/*
 * A worker that has had no request for this long writes the log lines it
 * holds (serve_fcgi). Short, so that lines reach the log while they are
 * news; long enough that a burst of requests, which lighttpd hands a worker
 * a few microseconds apart, is logged in a few writes, not one each.
 */
#define SERVE_LOG_IDLE_MS	20

/* The metrics file when neither the environment nor the socket names one. */
#define SERVE_METRICS_DEFAULT	"/run/gilly/gilly.metrics"

/* The Prometheus text exposition format (version 0.0.4). */
#define SERVE_METRICS_TYPE	"text/plain; version=0.0.4"

/* One request and the way to answer it. */
struct exchange {
	const char	*(*param)(struct exchange *, const char *);
	size_t		 (*read)(struct exchange *, char *, size_t);
	int		 (*write)(struct exchange *, const char *, size_t);
	FCGX_Request	*rq;		/* FastCGI only */
	const char	*method;
	const char	*path;		/* the URI's path, without query */
	int		 head;		/* HEAD: headers only */
	int		 body_read;	/* the whole body was read */
};

/*
 * The table in force for this request: set before each request, so that a
 * reload swaps it between requests, never during one. NULL: none loaded.
 */
static const struct mirror	*serve_table;
/* Where requests are counted. */
static struct metrics		*serve_metrics;

/*
 * The request body's buffer, kept from one request to the next: a
 * malloc() and free() of a few kilobytes each request took about 900
 * instructions of a worker's (callgrind). A buffer grown past
 * SERVE_BODY_KEEP is freed once its request is answered, so that one
 * large review does not leave a worker large.
 */
#define SERVE_BODY_KEEP		(64 * 1024)
static char			*serve_body;
static size_t			 serve_body_size;

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 411:
		return ("Length Required");
	case 413:
		return ("Content Too Large");
	case 415:
		return ("Unsupported Media Type");
	case 503:
		return ("Service Unavailable");
	}
	return ("Internal Server Error");
}

/*
 * Append to the head at *d (end: its end) v in decimal, then the strings
 * up to a NULL. Why not snprintf(): its setup was a twentieth of a
 * worker's instructions per request (callgrind of a live worker). Returns
 * 0, or -1 if the head would not fit.
 */
static int __attribute__((sentinel))
head_add(char **d, const char *end, size_t v, ...)
{
	char		 num[DECIMAL_MAX];
	const char	*s;
	va_list		 ap;
	size_t		 k;
	int		 rv = 0;

	va_start(ap, v);
	for (s = decimal(num, v); s != NULL; s = va_arg(ap, const char *)) {
		k = strlen(s);
		if ((size_t)(end - *d) < k) {
			rv = -1;
			break;
		}
		memcpy(*d, s, k);
		*d += k;
	}
	va_end(ap);
	return (rv);
}

/*
 * Send a CGI response: the Status header (RFC 3875 section 6.3.3), the type,
 * the length, extra (empty or "Name: value\r\n" lines), then the body.
 */
static void
respond(struct exchange *ex, int status, const char *type, const char *extra,
    const char *body, size_t len)
{
	static const char	 pre[] = "Status: ";
	char			 head[512], *d = head + sizeof pre - 1;

	memcpy(head, pre, sizeof pre - 1);
	if (head_add(&d, head + sizeof head, (size_t)status, " ",
	    reason(status), "\r\nContent-Type: ", type,
	    "\r\nContent-Length: ", NULL) != 0 ||
	    head_add(&d, head + sizeof head, len, "\r\n", extra, "\r\n",
	    NULL) != 0 ||
	    ex->write(ex, head, (size_t)(d - head)) != 0 ||
	    (!ex->head && len > 0 && ex->write(ex, body, len) != 0)) {
		metrics_error(serve_metrics, METRICS_ERROR_WRITE);
		log_line("[Serve] %s %s: could not write the %d response",
		    ex->method, ex->path, status);
	}
}

/* Answer with a JSON error body {"error": msg}, and log it. */
static void GILLY_PRINTF(4, 5)
fail(struct exchange *ex, int status, const char *extra, const char *fmt, ...)
{
	struct json_object	*o;
	const char		*body;
	va_list			 ap;
	char			*msg;
	size_t			 len;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	metrics_error(serve_metrics, metrics_error_of_status(status));
	log_line("[Serve] %d %s %s: %s", status, ex->method, ex->path, msg);
	o = json_object_new_object();
	if (o == NULL || json_object_object_add(o, "error",
	    json_object_new_string(msg)) != 0)
		abort();
	body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	respond(ex, status, "application/json", extra, body, len);
	json_object_put(o);
	free(msg);
}

/*
 * Parse a Content-Length (RFC 9110 section 8.6: 1*DIGIT). Returns 0 with *n
 * (saturated: an absurd length is merely too large), or -1.
 */
static int
parse_length(const char *s, unsigned long long *n)
{
	unsigned long long	 v = 0;
	unsigned		 d;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		d = (unsigned)(*s - '0');
		v = v > (~0ULL - d) / 10 ? ~0ULL : v * 10 + d;
	}
	*n = v;
	return (0);
}

/* Whether a Content-Type is application/json, parameters allowed. */
static int
is_json(const char *type)
{
	static const char	 want[] = "application/json";

	if (type == NULL)
		return (0);
	while (*type == ' ' || *type == '\t')
		type++;
	if (strncasecmp(type, want, sizeof want - 1) != 0)
		return (0);
	type += sizeof want - 1;
	while (*type == ' ' || *type == '\t')
		type++;
	return (*type == '\0' || *type == ';');
}

/* borrowed: room for n bytes and a NUL, until body_done(). */
static char *
body_room(size_t n)
{
	if (n + 1 > serve_body_size) {
		free(serve_body);
		serve_body_size = n + 1 > 4096 ? n + 1 : 4096;
		serve_body = xmalloc(serve_body_size);
	}
	return (serve_body);
}

/* The body's request is done with it; all: the worker is. */
static void
body_done(int all)
{
	if (all || serve_body_size > SERVE_BODY_KEEP) {
		free(serve_body);
		serve_body = NULL;
		serve_body_size = 0;
	}
}

/* POST /mutate: check the request, read the body, answer the review. */
static void
mutate(struct exchange *ex)
{
	struct admission_result	 res;
	unsigned long long	 n;
	uint64_t		 start;
	const char		*cl, *type;
	char			*body;
	size_t			 got;

	cl = ex->param(ex, "CONTENT_LENGTH");
	if (cl == NULL || *cl == '\0') {
		fail(ex, 411, "", "Content-Length required");
		return;
	}
	if (parse_length(cl, &n) != 0) {
		fail(ex, 400, "", "invalid Content-Length \"%.32s\"", cl);
		return;
	}
	/* Refused before a byte of the body is read. */
	if (n > ADMISSION_BODY_MAX) {
		fail(ex, 413, "", "body too large: %llu bytes, the limit is %lu",
		    n, (unsigned long)ADMISSION_BODY_MAX);
		return;
	}
	type = ex->param(ex, "CONTENT_TYPE");
	if (!is_json(type)) {
		fail(ex, 415, "", "unsupported Content-Type \"%.64s\": expected "
		    "application/json", type != NULL ? type : "");
		return;
	}
	/* The histogram's time: from the body's first byte to the answer. */
	start = metrics_clock();
	body = body_room((size_t)n);
	if ((got = ex->read(ex, body, (size_t)n)) != n) {
		fail(ex, 400, "", "body shorter than its Content-Length: %zu of "
		    "%llu bytes", got, n);
		body_done(0);
		return;
	}
	ex->body_read = 1;
	/* admission_review() logs a bad request itself. */
	admission_review(serve_table, body, (size_t)n, &res);
	respond(ex, res.status, "application/json", "", res.body,
	    res.body_len);
	metrics_review(serve_metrics, &res, metrics_clock() - start);
	admission_result_free(&res);
	body_done(0);
}

/* GET /metrics: the counters of all the workers. */
static void
scrape(struct exchange *ex)
{
	char	*body;
	size_t	 len;

	body = metrics_format(serve_metrics, serve_table != NULL ?
	    mirror_rule_count(serve_table) : 0, &len);
	respond(ex, 200, SERVE_METRICS_TYPE, "", body, len);
	free(body);
}

/* Route one request. */
static void
handle(struct exchange *ex)
{
	const char	*uri, *script, *info;
	char		*path;

	ex->method = ex->param(ex, "REQUEST_METHOD");
	if (ex->method == NULL)
		ex->method = "";
	/* lighttpd sends REQUEST_URI; a plain CGI server may not. */
	if ((uri = ex->param(ex, "REQUEST_URI")) != NULL)
		path = xstrndup(uri, strcspn(uri, "?"));
	else {
		script = ex->param(ex, "SCRIPT_NAME");
		info = ex->param(ex, "PATH_INFO");
		path = xasprintf("%s%s", script != NULL ? script : "",
		    info != NULL ? info : "");
	}
	ex->path = path;
	ex->head = strcmp(ex->method, "HEAD") == 0;

	if (strcmp(path, "/mutate") == 0) {
		if (strcmp(ex->method, "POST") != 0)
			fail(ex, 405, "Allow: POST\r\n", "method not allowed: "
			    "use POST");
		else if (serve_table == NULL)
			fail(ex, 503, "", "no mirror table loaded");
		else
			mutate(ex);
	} else if (strcmp(path, "/healthz") == 0) {
		if (strcmp(ex->method, "GET") != 0 && !ex->head)
			fail(ex, 405, "Allow: GET, HEAD\r\n", "method not "
			    "allowed: use GET");
		else if (serve_table == NULL)
			fail(ex, 503, "", "no mirror table loaded");
		else
			respond(ex, 200, "text/plain", "", "ok\n", 3);
	} else if (strcmp(path, "/metrics") == 0) {
		/* Answered without a table too: they say what went wrong. */
		if (strcmp(ex->method, "GET") != 0 && !ex->head)
			fail(ex, 405, "Allow: GET, HEAD\r\n", "method not "
			    "allowed: use GET");
		else
			scrape(ex);
	} else
		fail(ex, 404, "", "not found: gilly serves POST /mutate, "
		    "GET /healthz and GET /metrics");
	ex->path = NULL;
	free(path);
}

static const char *
fcgx_param(struct exchange *ex, const char *name)
{
	return (FCGX_GetParam(name, ex->rq->envp));
}

static size_t
fcgx_read(struct exchange *ex, char *buf, size_t n)
{
	int	 got;

	/* n <= ADMISSION_BODY_MAX: the cast to int is safe. */
	got = FCGX_GetStr(buf, (int)n, ex->rq->in);
	return (got < 0 ? 0 : (size_t)got);
}

static int
fcgx_write(struct exchange *ex, const char *buf, size_t n)
{
	return (FCGX_PutStr(buf, (int)n, ex->rq->out) == (int)n ? 0 : -1);
}

/* The request announced a body (which the handler may have left unread). */
static int
has_body(struct exchange *ex)
{
	const char	*cl = ex->param(ex, "CONTENT_LENGTH");

	return (cl != NULL && *cl != '\0' && strcmp(cl, "0") != 0);
}

/*
 * new: the metrics file's path: $GILLY_METRICS_FILE; else, next to the
 * listening socket at fd 0, its path with lighttpd's "-N" suffix (one
 * socket per worker) replaced by ".metrics", so that the workers of one
 * fastcgi.server share it; else SERVE_METRICS_DEFAULT.
 */
static char *
serve_metrics_path(void)
{
	struct sockaddr_un	 sun;
	socklen_t		 slen = sizeof sun;
	const char		*env, *p;
	size_t			 n, i;

	if ((env = getenv("GILLY_METRICS_FILE")) != NULL && *env != '\0')
		return (xstrdup(env));
	memset(&sun, 0, sizeof sun);
	/* An abstract socket (a leading NUL) has no directory. */
	if (getsockname(0, (struct sockaddr *)&sun, &slen) == 0 &&
	    sun.sun_family == AF_UNIX && sun.sun_path[0] != '\0') {
		p = sun.sun_path;
		n = strnlen(p, sizeof sun.sun_path);
		for (i = n; i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9'; i--)
			;
		if (i < n && i > 1 && p[i - 1] == '-')
			n = i - 1;
		return (xasprintf("%.*s.metrics", (int)n, p));
	}
	return (xstrdup(SERVE_METRICS_DEFAULT));
}

/*
 * new: the path of the workers' shared copy of their last good table
 * (tablecopy.h): the metrics file's, its ".metrics" replaced by ".table".
 */
static char *
serve_copy_path(const char *mpath)
{
	static const char	 ext[] = ".metrics";
	size_t			 n, e = sizeof ext - 1;

	n = strlen(mpath);
	if (n > e && strcmp(mpath + n - e, ext) == 0)
		n -= e;
	return (xasprintf("%.*s.table", (int)n, mpath));
}

/*
 * Count in the file at path (NULL: in this process). A file that cannot be
 * used is said once, when the worker starts; it counts on by itself.
 */
static struct metrics *
serve_metrics_start(const char *path)
{
	struct metrics	*m;
	char		*cause = NULL;

	if (metrics_open(path, &m, &cause) != 0) {
		log_line("[Metrics] %s: this worker's metrics count only its "
		    "own requests", cause != NULL ? cause : path);
		free(cause);
	}
	return (m);
}

/*
 * Where a worker holding log lines waits for its next request, and learns
 * that none came for SERVE_LOG_IDLE_MS:
 *
 * SERVE_WAIT_ACCEPT: in accept(), on a unix socket made blocking with that
 * receive timeout (fcgi_accept() returns -EAGAIN when it passes): one system
 * call a request, as the do-nothing responder of tests/bench makes. Asking
 * ppoll() first, and writing the log at each of a busy worker's short
 * sleeps, cost it 1.9 to 2.4 calls a request more (make bench-syscalls,
 * tests/bench/README.md). Only accept() sees that timeout: on Linux a unix
 * socket's connections do not inherit it, and fcgi_accept() gives each
 * its own, of FCGI_ACCEPT_IDLE_MS (a TCP socket's connections would
 * inherit it, and libfcgi's reads of a body would time out).
 *
 * SERVE_WAIT_POLL: elsewhere, in ppoll() with that timeout, the socket made
 * non-blocking so that an accept() that finds the connection gone to
 * another process returns at once (-EAGAIN). The connections it returns
 * are blocking, as libfcgi wants them: accept(2) does not pass O_NONBLOCK
 * on (Linux).
 *
 * A worker that holds nothing sleeps in ppoll() with no timeout. lighttpd
 * gives each worker a socket of its own.
 */
enum serve_wait {
	SERVE_WAIT_NONE = -1,	/* neither could be set up: hold nothing */
	SERVE_WAIT_POLL,
	SERVE_WAIT_ACCEPT
};

static enum serve_wait
serve_wait_setup(int fd)
{
#ifdef __linux__
	static const struct timeval	 tv = { SERVE_LOG_IDLE_MS / 1000,
	    SERVE_LOG_IDLE_MS % 1000 * 1000 };
#endif
	int				 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (SERVE_WAIT_NONE);
#ifdef __linux__
	if (fcgi_is_unix(fd) &&
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0)
		return (SERVE_WAIT_ACCEPT);
#endif
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return (SERVE_WAIT_NONE);
	/*
	 * A TCP socket passes its receive timeout on to its connections
	 * (Linux), whose first bytes libfcgi reads unguarded: a client that
	 * connected and said nothing held the worker for good. Each read of
	 * a request now waits at most FCGI_ACCEPT_IDLE_MS, as fcgi_accept()
	 * makes a unix socket's wait. accept() itself, non-blocking, never.
	 */
	(void)fcgi_read_idle(fd);
	return (SERVE_WAIT_POLL);
}

/*
 * Whether something waits at fd: a connection, or a request on a kept one;
 * -1 on an error. Waits timeout at most (NULL: until something does), with
 * the signal mask mask (NULL: the one in force).
 */
static int
next_poll(int fd, const struct timespec *timeout, const sigset_t *mask)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	while ((n = ppoll(&pfd, 1, timeout, mask)) == -1)
		if (errno != EINTR)
			return (-1);
	return (n == 1 && (pfd.revents & POLLIN) != 0);
}

/*
 * Wait for the worker's next request (serve_wait), unless accept() is to.
 * Where a front end keeps its connection (FCGI_KEEP_CONN, which lighttpd
 * does not set and nginx's fastcgi_keep_conn does), libfcgi reads the next
 * request from it without an accept(), in reads that give up after
 * FCGI_ACCEPT_IDLE_MS (fcgi/accept.h): that wait is a ppoll(), of
 * SERVE_LOG_IDLE_MS while lines are held. With no line held, the worker
 * sleeps with the signal mask awake, the only place a stop signal is let
 * in (serve_fcgi).
 * Returns -1 on an error.
 */
static int
next_wait(const FCGX_Request *rq, enum serve_wait wait_in,
    const sigset_t *awake)
{
	static const struct timespec	 idle = { SERVE_LOG_IDLE_MS / 1000,
	    SERVE_LOG_IDLE_MS % 1000 * 1000000L };
	int				 fd;

	fd = rq->ipcFd >= 0 ? rq->ipcFd : rq->listen_sock;
	if (log_held()) {
		if (rq->ipcFd < 0 && wait_in == SERVE_WAIT_ACCEPT)
			return (0);
		switch (next_poll(fd, &idle, NULL)) {
		case -1:
			return (-1);
		case 1:
			return (0);
		}
		log_flush();
	}
	return (next_poll(fd, NULL, awake) == -1 ? -1 : 0);
}

int
serve_fcgi(const char *path)
{
	struct exchange	 ex;
	struct table	*table = NULL;
	FCGX_Request	 rq;
	enum serve_wait	 wait_in;
	sigset_t	 stop, awake;
	char		*mpath, *cpath, *cause = NULL;
	int		 opened, rc, rv = 1;

	mpath = serve_metrics_path();
	cpath = serve_copy_path(mpath);
	serve_metrics = serve_metrics_start(mpath);
	free(mpath);
	opened = table_open(path, cpath, serve_metrics, &table, &cause);
	free(cpath);
	if (opened != 0) {
		log_line("[Config] %s", cause != NULL ? cause : path);
		free(cause);
		goto end;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0) {
		log_line("[Serve] cannot initialize libfcgi");
		goto end;
	}
	/*
	 * libfcgi's SIGTERM and SIGUSR1 handlers only set a flag, which its
	 * accept() looks at but this loop cannot: a worker signalled between
	 * two requests would sleep on; woken by a connection, it would leave
	 * that connection unaccepted. lighttpd sends SIGTERM as it stops,
	 * having drained its requests, so dying is what it asks for, and
	 * SIGUSR1 (sent by hand, if at all) is read the same way.
	 */
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	log_line("[Serve] %s %s serving FastCGI with %zu rules", PACKAGE_NAME,
	    PACKAGE_VERSION, mirror_rule_count(table_get(table)));
	memset(&ex, 0, sizeof ex);
	ex.param = fcgx_param;
	ex.read = fcgx_read;
	ex.write = fcgx_write;
	ex.rq = &rq;
	/*
	 * Held log lines would die with the worker: a stop signal waits,
	 * blocked, until the worker sleeps, having written them (next_wait),
	 * once no request has come for SERVE_LOG_IDLE_MS. So a busy worker
	 * serves the requests that keep coming first; lighttpd stops sending
	 * before it signals. One that cannot wait so (SERVE_WAIT_NONE) holds
	 * nothing, and lets the signals in at any time.
	 */
	wait_in = SERVE_WAIT_NONE;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &stop, &awake) == 0) {
		if ((wait_in = serve_wait_setup(rq.listen_sock)) !=
		    SERVE_WAIT_NONE) {
			sigdelset(&awake, SIGTERM);
			sigdelset(&awake, SIGUSR1);
		} else
			sigprocmask(SIG_SETMASK, &awake, NULL);
	}
	for (;;) {
		if (wait_in != SERVE_WAIT_NONE &&
		    next_wait(&rq, wait_in, &awake) == -1)
			break;
		/* Lines are kept and written together, after the answer. */
		log_begin();
		/*
		 * libfcgi returns -errno even where accept() was not called
		 * (a shutdown flag set by a signal): a stale -EAGAIN would
		 * read as "no request came" and the loop would spin.
		 */
		errno = 0;
		/*
		 * A worker that cannot wait in ppoll() first (SERVE_WAIT_NONE)
		 * leaves its connections to libfcgi, with no read timeout: a
		 * kept connection's next request may be long in coming.
		 */
		rc = wait_in != SERVE_WAIT_NONE ? fcgi_accept(&rq) :
		    FCGX_Accept_r(&rq);
		if (rc < 0) {
			log_flush();
			/*
			 * No request came for SERVE_LOG_IDLE_MS, or (in
			 * ppoll()) another process took it: the lines are
			 * out, and the worker sleeps.
			 */
			if (wait_in != SERVE_WAIT_NONE &&
			    (rc == -EAGAIN || rc == -EWOULDBLOCK))
				continue;
			break;
		}
		/* Between requests: the table changes only here. */
		table_check(table, SERVE_TABLE_LAG_NS);
		serve_table = table_get(table);
		ex.body_read = 0;
		handle(&ex);
		fcgi_finish(&rq, !ex.body_read && has_body(&ex));
		if (wait_in != SERVE_WAIT_NONE)
			log_hold();
		else
			log_flush();
	}
	FCGX_Free(&rq, 1);
	rv = 0;
end:
	body_done(1);
	serve_table = NULL;
	table_free(table);
	metrics_free(serve_metrics);
	serve_metrics = NULL;
	return (rv);
}

static const char *
cgi_param(struct exchange *ex, const char *name)
{
	(void)ex;
	return (getenv(name));
}

static size_t
cgi_read(struct exchange *ex, char *buf, size_t n)
{
	(void)ex;
	return (fread(buf, 1, n, stdin));
}

static int
cgi_write(struct exchange *ex, const char *buf, size_t n)
{
	(void)ex;
	return (fwrite(buf, 1, n, stdout) == n ? 0 : -1);
}

int
serve_cgi(struct mirror *table)
{
	struct exchange	 ex;
	const char	*mpath;
	int		 rc;

	/* One request per process: shared counts only where asked for. */
	mpath = getenv("GILLY_METRICS_FILE");
	serve_metrics = serve_metrics_start(mpath != NULL && *mpath != '\0' ?
	    mpath : NULL);
	serve_table = table;
	memset(&ex, 0, sizeof ex);
	ex.param = cgi_param;
	ex.read = cgi_read;
	ex.write = cgi_write;
	handle(&ex);
	body_done(1);
	rc = fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
	serve_table = NULL;
	mirror_free(table);
	metrics_free(serve_metrics);
	serve_metrics = NULL;
	return (rc);
}
