#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/cidr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "crypto/kcrypto.h"
#include "http/http.h"
#include "http/jsontext.h"
#include "http/ratelimit.h"
#include "http/tls.h"

#define MAX_DAEMONS CONFIG_MAX_LISTEN
#define DEFER_QUEUE_MAX 1024
/* A refused request's body up to this size is read and dropped, so the
 * client (which is still sending) gets the JSON answer; a bigger one is
 * answered at once and the connection closed (large uploads should send
 * Expect: 100-continue, which libmicrohttpd honours). */
#define DISCARD_MAX (8 * 1024 * 1024)
/* Rate-limit tables (MON-3): fixed sizes bound the memory (about 100
 * bytes an entry); idle entries are evicted first. */
#define RL_ADDR_CAPACITY 32768
#define RL_USER_CAPACITY 16384
#define RL_TENANT_CAPACITY 4096
#define RL_SWEEP_S 5                /* summaries of ended windows this often */
#define MAX_PROBES 4
/* libmicrohttpd pool room beyond max_header_bytes: header bookkeeping,
 * our reply's header lines and headers somewhat over the limit. */
#define POOL_SLACK (16 * 1024)
/* a JSON reply is one object or one page of a list, far below this */
#define REPLY_JSON_MAX ((size_t)64 << 20)

enum req_state {
	RS_NEW = 0,       /* headers seen, body (if any) arriving */
	RS_REJECTED,      /* an error reply is set; discard any body */
	RS_RUNNING,       /* handler ran or is running */
};

struct defer_job {
	struct http_req *req;
	struct defer_job *next;
};

struct http_server {
	const struct kura_config *cfg;
	struct http_app app;
	struct MHD_Daemon *daemons[MAX_DAEMONS];
	size_t n_daemons;
	/* the listen sockets, accepted by our own thread (see acceptor_main);
	 * -1 once closed */
	int listen_fds[MAX_DAEMONS];
	pthread_t acceptor;
	bool acceptor_started;
	int accept_wake;                    /* eventfd that stops it, or -1 */
	atomic_uint in_flight;
	atomic_bool draining;
	char hsts[64];
	struct cidr proxies[32];   /* trusted reverse proxies */
	size_t n_proxies;

	/* worker pool for http_defer */
	pthread_t *workers;
	size_t n_workers;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct defer_job *qhead, *qtail;
	size_t qlen;
	bool qstop;

	/* rate limits and blocks (MON-3) */
	struct ratelimit *rl_addr, *rl_user, *rl_tenant;
	atomic_uint_fast64_t rl_refusals[HTTP_RL_NSCOPES];
	const char *probes[MAX_PROBES];     /* patterns of HTTP_ROUTE_PROBE routes */
	size_t n_probes;
	pthread_t sweeper;
	bool sweeper_started;
	pthread_mutex_t swlock;
	pthread_cond_t swcond;
	bool swstop;
};

static char *
srv_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
srv_msg(const char *fmt, ...)
{
	struct kbuf b;
	va_list ap;

	kbuf_init(&b, 1024);
	va_start(ap, fmt);
	(void)kbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return kbuf_steal(&b, NULL);
}

/* ---- replies ---- */

static void
reply_clear(struct http_req *req)
{
	KURA_FREE(req->resp_body);
	req->resp_len = 0;
	if (req->resp_reader_free != NULL && req->resp_reader_arg != NULL)
		req->resp_reader_free(req->resp_reader_arg);
	req->resp_reader = NULL;
	req->resp_reader_arg = NULL;
	req->resp_reader_free = NULL;
}

void
http_reply_stream(struct http_req *req, unsigned status, const char *type,
    uint64_t len, http_reader_fn reader, void *arg, void (*free_fn)(void *arg))
{
	reply_clear(req);
	req->resp_reader = reader;
	req->resp_reader_arg = arg;
	req->resp_reader_free = free_fn;
	req->resp_stream_len = len;
	req->status = status;
	req->resp_type = type;
	req->replied = true;
}

void
http_reply_raw(struct http_req *req, unsigned status, const char *type,
    const void *data, size_t len)
{
	reply_clear(req);
	req->resp_body = malloc(len ? len : 1);
	if (req->resp_body == NULL) {
		req->status = 500;
		req->resp_type = "application/json";
		req->replied = true;
		return;
	}
	if (len > 0)
		memcpy(req->resp_body, data, len);
	req->resp_len = len;
	req->status = status;
	req->resp_type = type;
	req->replied = true;
}

void
http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
	struct kbuf text;
	char *s = NULL;

	if (body == NULL)
		body = json_object();
	/* the text json_dumps would write, without its cost (jsontext.h);
	 * most replies fit the first allocation */
	kbuf_init(&text, REPLY_JSON_MAX);
	if (kbuf_reserve(&text, 2048) == KURA_OK &&
	    json_text(body, false, &text) == KURA_OK)
		s = kbuf_steal(&text, NULL);
	kbuf_free(&text);
	json_decref(body);
	reply_clear(req);
	req->replied = true;
	req->resp_type = "application/json";
	if (s == NULL) {
		req->status = 500;
		return;
	}
	req->resp_body = s;
	req->resp_len = strlen(s);
	req->status = status;
}

void
http_reply_error(struct http_req *req, unsigned status, const char *code,
    const char *message)
{
	req->error_code = code;
	http_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", message));
}

void
http_reply_kura_err(struct http_req *req, kura_err err)
{
	switch (err) {
	case KURA_ENOENT:
		http_reply_error(req, 404, "not_found", "no such resource");
		break;
	case KURA_EINVAL:
		http_reply_error(req, 400, "invalid_request", "the request is not valid");
		break;
	case KURA_EPERM:
		http_reply_error(req, 403, "forbidden", "not permitted");
		break;
	case KURA_EEXIST:
		http_reply_error(req, 409, "conflict", "the resource already exists");
		break;
	case KURA_ECONFLICT:
		http_reply_error(req, 409, "conflict", "the resource's state does not allow this");
		break;
	case KURA_ETOOBIG:
		http_reply_error(req, 413, "too_large", "over a limit");
		break;
	case KURA_EBUSY:
		http_reply_error(req, 503, "busy", "busy, try again");
		break;
	case KURA_EAUTH:
		http_reply_error(req, 401, "unauthenticated", "authentication required");
		break;
	default:
		http_reply_error(req, 500, "internal", "internal error");
		break;
	}
}

kura_err
http_add_header(struct http_req *req, const char *name, const char *value)
{
	char *n, *v;

	if (req->n_resp_hdrs == HTTP_MAX_RESP_HEADERS)
		return KURA_ETOOBIG;
	n = kura_strdup(name);
	v = kura_strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return KURA_ENOMEM;
	}
	req->resp_hdr_name[req->n_resp_hdrs] = n;
	req->resp_hdr_value[req->n_resp_hdrs] = v;
	req->n_resp_hdrs++;
	return KURA_OK;
}

/* ---- accessors ---- */

const char *
http_header(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_cookie(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *
http_query(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_param(struct http_req *req, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < req->n_params; i++)
		if (strncmp(req->params[i].name, name, len) == 0 &&
		    req->params[i].name[len] == '}')
			return req->params[i].value;
	return NULL;
}

/* ---- sending ---- */

static void
free_cb(void *p)
{
	free(p);
}

/* A streamed reply handed to libmicrohttpd. */
struct stream_reply {
	http_reader_fn reader;
	void *arg;
	void (*free_fn)(void *arg);
};

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_reply *sr = cls;
	size_t n = 0;

	if (sr->reader(sr->arg, pos, buf, max, &n) != KURA_OK)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream_reply *sr = cls;

	if (sr->free_fn != NULL)
		sr->free_fn(sr->arg);
	free(sr);
}

/* Queue req's reply with the headers every response carries. */
static enum MHD_Result
send_reply(struct http_server *srv, struct MHD_Connection *conn,
    struct http_req *req)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!req->replied)
		http_reply_error(req, 500, "internal", "internal error");
	if (req->resp_reader != NULL) {
		struct stream_reply *sr = kura_calloc(1, sizeof(*sr));
		if (sr == NULL)
			return MHD_NO;
		sr->reader = req->resp_reader;
		sr->arg = req->resp_reader_arg;
		sr->free_fn = req->resp_reader_free;
		resp = MHD_create_response_from_callback(req->resp_stream_len,
		    64 * 1024, stream_read, sr, stream_free);
		if (resp == NULL) {
			free(sr);
			return MHD_NO;
		}
		/* the response owns the reader now */
		req->resp_reader = NULL;
		req->resp_reader_arg = NULL;
		req->resp_reader_free = NULL;
	} else if (req->resp_body == NULL) {
		/* reply ran out of memory: send a fixed body */
		static const char oom[] =
		    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}";
		resp = MHD_create_response_from_buffer(sizeof(oom) - 1,
		    (void *)oom, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer_with_free_callback(
		    req->resp_len, req->resp_body, free_cb);
		if (resp != NULL)
			req->resp_body = NULL;
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", req->resp_type ?
	    req->resp_type : "application/json");
	MHD_add_response_header(resp, "Strict-Transport-Security", srv->hsts);
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	for (size_t i = 0; i < req->n_resp_hdrs; i++)
		MHD_add_response_header(resp, req->resp_hdr_name[i],
		    req->resp_hdr_value[i]);
	if (atomic_load(&srv->draining))
		MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(conn, req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- request setup ---- */

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	size_t *total = cls;
	(void)kind;
	*total += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static void
client_ip(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(buf, len, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf,
			    (socklen_t)len);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)len);
	}
}

static bool
is_proxy(const struct http_server *srv, const char *ip)
{
	uint8_t a[16];

	if (srv->n_proxies == 0 || cidr_addr(ip, a) != KURA_OK)
		return false;
	for (size_t i = 0; i < srv->n_proxies; i++)
		if (cidr_contains(&srv->proxies[i], a))
			return true;
	return false;
}

/*
 * When the peer is a trusted proxy, the client is the right-most address
 * in X-Forwarded-For that is not itself a trusted proxy.  Anything
 * malformed leaves the peer's address in place.
 */
static void
apply_forwarded(const struct http_server *srv, struct MHD_Connection *conn,
    char *ip, size_t len)
{
	const char *xff;
	char buf[1024], *p;
	uint8_t a[16];

	if (!is_proxy(srv, ip))
		return;
	xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff == NULL || strlen(xff) >= sizeof(buf))
		return;
	snprintf(buf, sizeof(buf), "%s", xff);
	for (;;) {
		char *comma = strrchr(buf, ',');
		p = comma ? comma + 1 : buf;
		while (*p == ' ')
			p++;
		if (cidr_addr(p, a) != KURA_OK)
			return;
		if (!is_proxy(srv, p) || comma == NULL)
			break;
		*comma = '\0';
	}
	if (strlen(p) < len)
		memcpy(ip, p, strlen(p) + 1);
}

static void
req_free(struct http_server *srv, struct http_req *req)
{
	if (req == NULL)
		return;
	if (srv->app.cleanup != NULL)
		srv->app.cleanup(req);
	if (req->work != NULL && req->work_free != NULL)
		req->work_free(req->work);
	http_params_free(req->params, req->n_params);
	kbuf_free(&req->body);
	json_decref(req->json);
	json_decref(req->audit_extra);
	reply_clear(req);
	for (size_t i = 0; i < req->n_resp_hdrs; i++) {
		free(req->resp_hdr_name[i]);
		free(req->resp_hdr_value[i]);
	}
	free(req);
}

/* ---- rate limits (MON-3) ---- */

static const char *const rl_scope_names[HTTP_RL_NSCOPES] = {
	[HTTP_RL_ADDRESS] = "address",
	[HTTP_RL_USER] = "user",
	[HTTP_RL_TENANT] = "tenant",
	[HTTP_RL_BLOCKED] = "blocked",
};

const char *
http_rl_scope_name(enum http_rl_scope scope)
{
	return (unsigned)scope < HTTP_RL_NSCOPES ? rl_scope_names[scope] : "unknown";
}

/*
 * Audit without flooding: the first refusal of an address in each minute
 * (and the first while it is blocked) keeps its own record, so the log
 * shows who was refused and on which route; later ones only count
 * (req->audit_summarised) and the sweeper records one "ratelimit.summary"
 * per address and minute with their number.  The start of a block is a
 * record of its own ("ratelimit.block").  Both go through the app's
 * notice hook, which only queues, so a refusal never waits on the disk.
 */
static void
rl_notice(struct http_server *srv, const char *action, const char *ip,
    const char *request_id, json_t *detail)
{
	if (srv->app.notice != NULL && detail != NULL)
		srv->app.notice(srv->app.ctx, action, ip, request_id, detail);
	else
		json_decref(detail);
}

/* Reply 429 for a refusal in scope, with Retry-After. */
static void
rl_refuse(struct http_server *srv, struct http_req *req,
    enum http_rl_scope scope, const struct ratelimit_result *res)
{
	char retry[24];

	atomic_fetch_add_explicit(&srv->rl_refusals[scope], 1, memory_order_relaxed);
	if (scope == HTTP_RL_BLOCKED)
		http_reply_error(req, 429, "blocked",
		    "too many refused requests from your address; try again later");
	else
		http_reply_error(req, 429, "rate_limited",
		    "too many requests; slow down and try again later");
	snprintf(retry, sizeof(retry), "%u", res->retry_after_s);
	(void)http_add_header(req, "Retry-After", retry);
	if (res->audit) {
		if (req->audit_extra == NULL)
			req->audit_extra = json_object();
		if (req->audit_extra != NULL)
			json_object_set_new(req->audit_extra, "ratelimit",
			    json_string(rl_scope_names[scope]));
	} else {
		req->audit_summarised = true;
	}
	if (res->blocked_now) {
		log_warn("address %s blocked for %llu s after %llu refused "
		    "requests within a minute", req->client_ip,
		    (unsigned long long)srv->cfg->rl_block_s,
		    (unsigned long long)res->refusals);
		rl_notice(srv, "ratelimit.block", req->client_ip, req->request_id,
		    json_pack("{s:I,s:I,s:s}", "refusals", (json_int_t)res->refusals,
		    "block_s", (json_int_t)srv->cfg->rl_block_s,
		    "scope", rl_scope_names[scope]));
	}
}

static bool
is_probe(const struct http_server *srv, const char *url)
{
	for (size_t i = 0; i < srv->n_probes; i++)
		if (strcmp(srv->probes[i], url) == 0)
			return true;
	return false;
}

/* Block and per-address bucket of req's client; false after a 429.
 * Probes are only refused while the address is blocked. */
static bool
rl_address(struct http_server *srv, struct http_req *req, const char *url)
{
	struct ratelimit_result res;

	ratelimit_take(srv->rl_addr, req->client_ip, kura_mono_us(),
	    is_probe(srv, url), &res);
	if (res.verdict == RATELIMIT_PASS)
		return true;
	rl_refuse(srv, req, res.verdict == RATELIMIT_BLOCKED ? HTTP_RL_BLOCKED :
	    HTTP_RL_ADDRESS, &res);
	return false;
}

bool
http_rate_limit(struct http_req *req, enum http_rl_scope scope, const char *key)
{
	struct http_server *srv = req->srv;
	struct ratelimit_result res, addr;
	struct ratelimit *rl;
	int64_t now = kura_mono_us();

	rl = scope == HTTP_RL_USER ? srv->rl_user :
	    scope == HTTP_RL_TENANT ? srv->rl_tenant : NULL;
	if (rl == NULL || key == NULL || key[0] == '\0')
		return true;
	ratelimit_take(rl, key, now, false, &res);
	if (res.verdict == RATELIMIT_PASS)
		return true;
	/* auditing and blocking go by address, whatever bucket refused */
	ratelimit_note_refusal(srv->rl_addr, req->client_ip, now, &addr);
	addr.retry_after_s = res.retry_after_s;
	rl_refuse(srv, req, scope, &addr);
	return false;
}

static void
rl_summary(void *arg, const char *key, uint64_t unaudited)
{
	struct http_server *srv = arg;

	rl_notice(srv, "ratelimit.summary", key, "", json_pack("{s:I,s:I}",
	    "refusals", (json_int_t)unaudited,
	    "window_s", (json_int_t)(RATELIMIT_WINDOW_US / 1000000)));
}

void
http_server_rl_stats(struct http_server *srv, struct http_rl_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < HTTP_RL_NSCOPES; i++)
		ret->refusals[i] = atomic_load_explicit(&srv->rl_refusals[i],
		    memory_order_relaxed);
	/* a sweep also reports windows that have ended: harmless here */
	ret->blocked_addresses = ratelimit_sweep(srv->rl_addr, kura_mono_us(),
	    false, rl_summary, srv);
}

static void *
sweeper_main(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->swlock);
	while (!srv->swstop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RL_SWEEP_S;
		while (!srv->swstop &&
		    pthread_cond_timedwait(&srv->swcond, &srv->swlock, &until) == 0)
			;
		if (srv->swstop)
			break;
		pthread_mutex_unlock(&srv->swlock);
		(void)ratelimit_sweep(srv->rl_addr, kura_mono_us(), false,
		    rl_summary, srv);
		pthread_mutex_lock(&srv->swlock);
	}
	pthread_mutex_unlock(&srv->swlock);
	return NULL;
}

/* The three tables from the config, the probe list, the sweeper. */
static kura_err
rl_start(struct http_server *srv, char **ret_msg)
{
	const struct kura_config *cfg = srv->cfg;
	struct ratelimit_policy addr = { cfg->rl_ip_rate, cfg->rl_ip_burst,
	    cfg->rl_block_after, cfg->rl_block_s };
	struct ratelimit_policy user = { cfg->rl_user_rate, cfg->rl_user_burst, 0, 0 };
	struct ratelimit_policy tenant = { cfg->rl_tenant_rate, cfg->rl_tenant_burst,
	    0, 0 };
	kura_err err;

	for (size_t i = 0; i < srv->app.n_routes; i++)
		if ((srv->app.routes[i].flags & HTTP_ROUTE_PROBE) &&
		    srv->n_probes < MAX_PROBES)
			srv->probes[srv->n_probes++] = srv->app.routes[i].pattern;
	if ((err = ratelimit_new(RL_ADDR_CAPACITY, &addr, &srv->rl_addr)) ||
	    (err = ratelimit_new(RL_USER_CAPACITY, &user, &srv->rl_user)) ||
	    (err = ratelimit_new(RL_TENANT_CAPACITY, &tenant, &srv->rl_tenant))) {
		*ret_msg = srv_msg("cannot set up the rate limits: %s",
		    kura_strerror(err));
		return err;
	}
	if (pthread_create(&srv->sweeper, NULL, sweeper_main, srv) != 0) {
		*ret_msg = srv_msg("cannot start the rate-limit thread");
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(srv->sweeper, "kura-sweeper");
	srv->sweeper_started = true;
	return KURA_OK;
}

/* Stop the sweeper and record what is still unreported (shutdown: the
 * audit writer stops after the server). */
static void
rl_stop(struct http_server *srv)
{
	if (srv->sweeper_started) {
		pthread_mutex_lock(&srv->swlock);
		srv->swstop = true;
		pthread_cond_signal(&srv->swcond);
		pthread_mutex_unlock(&srv->swlock);
		pthread_join(srv->sweeper, NULL);
		srv->sweeper_started = false;
	}
	if (srv->rl_addr != NULL)
		(void)ratelimit_sweep(srv->rl_addr, kura_mono_us(), true,
		    rl_summary, srv);
	ratelimit_free(srv->rl_addr);
	ratelimit_free(srv->rl_user);
	ratelimit_free(srv->rl_tenant);
	srv->rl_addr = srv->rl_user = srv->rl_tenant = NULL;
}

/* First call for a request: limits that need only the headers. */
static void
req_start(struct http_server *srv, struct http_req *req,
    struct MHD_Connection *conn, const char *url, const char *method,
    const char *version)
{
	const struct kura_config *cfg = srv->cfg;
	unsigned allowed = 0;
	size_t hdr_bytes = strlen(url) + strlen(method) + 16;
	const char *cl;
	uint8_t rnd[HTTP_REQUEST_ID_LEN / 2];
	kura_err err;

	req->srv = srv;
	req->conn = conn;
	req->app = srv->app.ctx;
	req->start_us = kura_mono_us();
	req->path = url;
	if (kcrypto_random(rnd, sizeof(rnd)) == KURA_OK) {
		sodium_bin2hex(req->request_id, sizeof(req->request_id), rnd,
		    sizeof(rnd));
	} else {
		snprintf(req->request_id, sizeof(req->request_id), "unavailable");
	}
	client_ip(conn, req->client_ip, sizeof(req->client_ip));
	apply_forwarded(srv, conn, req->client_ip, sizeof(req->client_ip));
	/* blocks and the per-address limit come before anything else */
	if (!rl_address(srv, req, url)) {
		req->state = RS_REJECTED;
		return;
	}

	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host") == NULL) {
		http_reply_error(req, 400, "missing_host",
		    "HTTP/1.1 requests need a Host header");
		req->state = RS_REJECTED;
		return;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hdr_bytes);
	if (hdr_bytes > cfg->max_header_bytes) {
		http_reply_error(req, 431, "headers_too_large",
		    "request headers are larger than allowed");
		req->state = RS_REJECTED;
		return;
	}
	req->method = http_method_parse(method);
	if (req->method == 0) {
		http_reply_error(req, 405, "method_not_allowed",
		    "this method is not supported");
		req->state = RS_REJECTED;
		return;
	}
	err = http_route_match(srv->app.routes, srv->app.n_routes, req->method,
	    url, &req->route, req->params, &req->n_params, &allowed);
	if (err == KURA_ECONFLICT) {
		char allow[64];
		http_methods_str(allowed, allow, sizeof(allow));
		http_reply_error(req, 405, "method_not_allowed",
		    "this method is not allowed on this resource");
		http_add_header(req, "Allow", allow);
		req->state = RS_REJECTED;
		return;
	} else if (err) {
		http_reply_error(req, 404, "not_found", "no such resource");
		req->state = RS_REJECTED;
		return;
	}
	if (req->route->flags & HTTP_ROUTE_STREAM) {
		/* streamed: nothing is buffered; the bound is the route's */
		kbuf_init(&req->body, 0);
		req->body.max = req->route->max_body < cfg->max_upload_bytes ?
		    req->route->max_body : (size_t)cfg->max_upload_bytes;
	} else {
		kbuf_init(&req->body, req->route->max_body < cfg->max_body_bytes ?
		    req->route->max_body : cfg->max_body_bytes);
	}
	req->content_length = UINT64_MAX;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		uint64_t n;
		if (kura_parse_u64(cl, 0, UINT64_MAX, &n) != KURA_OK) {
			http_reply_error(req, 400, "invalid_request",
			    "Content-Length is not valid");
			req->state = RS_REJECTED;
		} else {
			req->content_length = n;
			if (n > req->body.max) {
				http_reply_error(req, 413, "body_too_large",
				    "the request body is larger than allowed");
				req->state = RS_REJECTED;
			}
		}
	}
	if (req->state == RS_NEW && (req->route->flags & HTTP_ROUTE_STREAM)) {
		/* authenticate on the headers, before accepting body bytes */
		if (srv->app.gate != NULL && !srv->app.gate(req)) {
			req->state = RS_REJECTED;
			return;
		}
		req->phase = HTTP_STREAM_START;
		req->route->handler(req);
		if (srv->app.after != NULL)
			srv->app.after(req);
		if (req->replied)
			req->state = RS_REJECTED;
	}
}

/* ---- deferred work ---- */

static void *
worker_main(void *arg)
{
	struct http_server *srv = arg;

	for (;;) {
		struct defer_job *job;
		pthread_mutex_lock(&srv->qlock);
		while (srv->qhead == NULL && !srv->qstop)
			pthread_cond_wait(&srv->qcond, &srv->qlock);
		if (srv->qhead == NULL) {
			pthread_mutex_unlock(&srv->qlock);
			break;
		}
		job = srv->qhead;
		srv->qhead = job->next;
		if (srv->qhead == NULL)
			srv->qtail = NULL;
		srv->qlen--;
		pthread_mutex_unlock(&srv->qlock);

		job->req->defer_fn(job->req);
		if (!job->req->replied)
			http_reply_error(job->req, 500, "internal", "internal error");
		MHD_resume_connection(job->req->conn);
		free(job);
	}
	return NULL;
}

void
http_defer(struct http_req *req, http_handler fn)
{
	struct http_server *srv = req->srv;
	struct defer_job *job;

	job = kura_calloc(1, sizeof(*job));
	if (job == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	pthread_mutex_lock(&srv->qlock);
	if (srv->qlen >= DEFER_QUEUE_MAX || srv->qstop) {
		pthread_mutex_unlock(&srv->qlock);
		free(job);
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		http_add_header(req, "Retry-After", "1");
		return;
	}
	req->deferred = true;
	req->defer_fn = fn;
	req->replied = false;
	/* suspend before the job is visible, so resume cannot come first */
	MHD_suspend_connection(req->conn);
	job->req = req;
	if (srv->qtail != NULL)
		srv->qtail->next = job;
	else
		srv->qhead = job;
	srv->qtail = job;
	srv->qlen++;
	pthread_cond_signal(&srv->qcond);
	pthread_mutex_unlock(&srv->qlock);
}

/*
 * The CPUs this process may run on (its affinity mask: taskset, cgroup
 * cpusets, container limits), else every online CPU.  One request thread
 * per usable CPU: more only add context switches on the same cores.
 */
static long
usable_cpus(void)
{
	cpu_set_t set;
	long n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
}

/* ---- audit hand-off ---- */

static bool
needs_record(const struct http_server *srv, const struct http_req *req)
{
	return srv->app.record != NULL && (req->commit_ticket != 0 ||
	    (!req->audited && !req->audit_summarised &&
	    strncmp(req->path, "/api/", 5) == 0));
}

void
http_record_done(struct http_req *req)
{
	MHD_resume_connection(req->conn);
}

/* ---- the access handler ---- */

/* The body checks, then the handler. */
static void
handle(struct http_server *srv, struct http_req *req)
{
	if ((req->route->flags & HTTP_ROUTE_JSON) && req->method != HTTP_GET &&
	    req->method != HTTP_HEAD && (req->method != HTTP_DELETE ||
	    req->route->max_body > 0)) {
		const char *code, *msg;
		const char *ct = http_header(req, "Content-Type");
		if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
		    (ct[16] != '\0' && ct[16] != ';')) {
			http_reply_error(req, 415, "unsupported_media_type",
			    "send Content-Type: application/json");
			return;
		}
		if (http_json_parse(req->body.data, req->body.len,
		    srv->cfg->max_json_depth, &req->json, &code, &msg) != KURA_OK) {
			http_reply_error(req, 400, code, msg);
			return;
		}
	} else if (req->body.len > 0 && req->route->max_body == 0) {
		http_reply_error(req, 413, "body_too_large",
		    "this resource takes no request body");
		return;
	}
	req->route->handler(req);
}

static void
run_handler(struct http_server *srv, struct http_req *req)
{
	/* authenticate before looking at the body: an anonymous caller of a
	 * protected route learns nothing from body errors (the gate lets
	 * public routes through at once) */
	if (srv->app.gate != NULL && !srv->app.gate(req))
		return;
	handle(srv, req);
	if (srv->app.after != NULL)
		srv->app.after(req);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_req *req = *con_cls;

	if (req == NULL) {
		req = kura_calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		*con_cls = req;
		atomic_fetch_add(&srv->in_flight, 1);
		req_start(srv, req, conn, url, method, version);
		/* A rejected request with a body pending: answer now and let
		 * libmicrohttpd close the connection rather than read the body. */
		if (req->state == RS_REJECTED && (req->status == 413 ||
		    (req->route != NULL && (req->route->flags & HTTP_ROUTE_STREAM))) &&
		    req->content_length != UINT64_MAX &&
		    req->content_length > DISCARD_MAX) {
			if (needs_record(srv, req)) {
				req->record_nowait = true;
				(void)srv->app.record(req);
			}
			return send_reply(srv, conn, req);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->state != RS_NEW) {
			/* libmicrohttpd takes a reply only after the whole body: an
			 * over-limit body (chunked, so not caught by Content-Length)
			 * is read and dropped, up to a bound past which the
			 * connection is simply closed */
			req->discarded += n;
			if (req->discarded > DISCARD_MAX)
				return MHD_NO;
			return MHD_YES;
		}
		if (req->route->flags & HTTP_ROUTE_STREAM) {
			/* body.len counts streamed bytes (body.data stays empty) */
			if (__builtin_add_overflow(req->body.len, n, &req->body.len) ||
			    req->body.len > req->body.max) {
				http_reply_error(req, 413, "body_too_large",
				    "the upload is larger than allowed");
			} else {
				req->phase = HTTP_STREAM_DATA;
				req->chunk = (const uint8_t *)upload_data;
				req->chunk_len = n;
				req->route->handler(req);
				req->chunk = NULL;
				req->chunk_len = 0;
			}
			if (req->replied) {
				/* rejected mid-body: no reply can be queued until
				 * the body ends, so stop reading (close) */
				req->state = RS_REJECTED;
				if (needs_record(srv, req)) {
					req->record_nowait = true;
					(void)srv->app.record(req);
				}
				return MHD_NO;
			}
			return MHD_YES;
		}
		if (kbuf_append(&req->body, upload_data, n) != KURA_OK) {
			http_reply_error(req, 413, "body_too_large",
			    "the request body is larger than allowed");
			req->state = RS_REJECTED;
			req->discarded = req->body.len + n;
			kbuf_free(&req->body);
		}
		return MHD_YES;
	}
	if (req->recording) {
		/* resumed by the audit writer: the record is durable */
		return send_reply(srv, conn, req);
	}
	if (req->state != RS_REJECTED && !req->deferred) {
		req->state = RS_RUNNING;
		if (req->route->flags & HTTP_ROUTE_STREAM) {
			/* the gate ran on the headers; the body went to the handler */
			req->phase = HTTP_STREAM_END;
			req->route->handler(req);
		} else {
			run_handler(srv, req);
		}
		if (req->deferred)
			return MHD_YES;
	}
	/* the reply is ready (rejected, handled, or back from the worker
	 * pool); an /api/ request not audited with its change waits until
	 * its record is durable (LOG-1) */
	if (needs_record(srv, req)) {
		req->recording = true;
		/* suspend before submitting, so the writer cannot resume first */
		MHD_suspend_connection(conn);
		if (!srv->app.record(req))
			MHD_resume_connection(conn);
		return MHD_YES;
	}
	return send_reply(srv, conn, req);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_req *req = *con_cls;

	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	if (srv->app.completed != NULL)
		srv->app.completed(req);
	req_free(srv, req);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

static void
on_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	log_error("libmicrohttpd panic at %s:%u: %s", file ? file : "?", line,
	    reason ? reason : "?");
	abort();
}

/* ---- lifecycle ---- */

/* Bind a listening socket for "host:port" (numeric hosts only, so a
 * config cannot make kura resolve names at start). */
static int
bind_listener(const char *spec, char **ret_msg)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char *host = NULL;
	uint16_t port;
	int fd = -1, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (kura_parse_hostport(spec, &host, &port) != KURA_OK) {
		*ret_msg = srv_msg("listen address '%s' is not host:port", spec);
		return -1;
	}
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *in6 = (void *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		sl = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		if (strcmp(host, "localhost") == 0)
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		sl = sizeof(*in);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0)
		goto sys;
	free(host);
	return fd;
sys:
	*ret_msg = srv_msg("cannot listen on %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(host);
	return -1;
bad:
	*ret_msg = srv_msg("listen address '%s': host must be a numeric IPv4 or IPv6 address", spec);
	free(host);
	return -1;
}

/*
 * The acceptor thread (kura-accept).  libmicrohttpd does not accept on
 * its own (MHD_USE_NO_LISTEN_SOCKET): this thread takes each new
 * connection and hands it to the address's daemon (MHD_add_connection,
 * which applies the connection and per-address limits and closes the
 * socket if it refuses it).  The reason is shutdown: to stop accepting
 * while requests drain, libmicrohttpd 0.9.75 offers MHD_quiesce_daemon,
 * which with epoll and internal threads races with the daemon's own
 * threads over removing the listen socket from their epoll sets, and
 * aborts the process when it loses (decisions #60).  Here stopping is
 * ours: join this thread, close the sockets, and new connections are
 * refused at once.
 */
/* The daemon of address i holds max_connections already. */
static bool
at_limit(struct http_server *srv, size_t i)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemons[i],
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return di != NULL && di->num_connections >= srv->cfg->max_connections;
}

static void *
acceptor_main(void *arg)
{
	struct http_server *srv = arg;
	struct pollfd pfd[MAX_DAEMONS + 1];
	size_t n = srv->n_daemons, i;
	int64_t quiet_until = 0;

	for (i = 0; i < n; i++) {
		pfd[i].fd = srv->listen_fds[i];
		pfd[i].events = POLLIN;
	}
	pfd[n].fd = srv->accept_wake;
	pfd[n].events = POLLIN;
	for (;;) {
		int wait_ms = -1;

		/* at the connection limit an address's queue waits in the
		 * kernel (as with libmicrohttpd's own accept) until one of its
		 * connections closes; looked at again every 50 ms */
		for (i = 0; i < n; i++) {
			bool full = at_limit(srv, i);
			pfd[i].events = full ? 0 : POLLIN;
			if (full)
				wait_ms = 50;
		}
		if (poll(pfd, (nfds_t)n + 1, wait_ms) < 0) {
			if (errno != EINTR)
				(void)usleep(10000);
			continue;
		}
		if (pfd[n].revents != 0)
			break;                      /* acceptor_stop */
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			/* what is queued, a bounded batch per address in turn,
			 * and never past the limit (the count may have grown
			 * since poll began) */
			for (int k = 0; k < 64 && !at_limit(srv, i); k++) {
				struct sockaddr_storage ss;
				socklen_t sl = sizeof(ss);
				int c = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sl,
				    SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (c >= 0) {
					/* closes c itself if it refuses it */
					(void)MHD_add_connection(srv->daemons[i], c,
					    (const struct sockaddr *)&ss, sl);
					continue;
				}
				if (errno == EINTR || errno == ECONNABORTED ||
				    errno == EPROTO)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					/* out of descriptors or memory: the socket
					 * stays readable, so pause instead of
					 * spinning; say so at most every 10 s */
					if (kura_mono_us() >= quiet_until) {
						log_warn("accept failed: %s",
						    strerror(errno));
						quiet_until = kura_mono_us() + 10000000;
					}
					(void)usleep(10000);
				}
				break;
			}
		}
	}
	return NULL;
}

/* Stop accepting: new connections are refused from now on.  Idempotent;
 * also closes the sockets of a server whose acceptor never started. */
static void
acceptor_stop(struct http_server *srv)
{
	if (srv->acceptor_started) {
		uint64_t one = 1;
		while (write(srv->accept_wake, &one, sizeof(one)) < 0 &&
		    errno == EINTR)
			;
		pthread_join(srv->acceptor, NULL);
		srv->acceptor_started = false;
	}
	for (size_t i = 0; i < MAX_DAEMONS; i++) {
		if (srv->listen_fds[i] >= 0)
			close(srv->listen_fds[i]);
		srv->listen_fds[i] = -1;
	}
	if (srv->accept_wake >= 0)
		close(srv->accept_wake);
	srv->accept_wake = -1;
}

kura_err
http_server_reload_cert(struct http_server *srv, char **ret_msg)
{
	return tls_load(srv->cfg->tls_cert, srv->cfg->tls_key, ret_msg);
}

kura_err
http_server_start(const struct kura_config *cfg, const struct http_app *app,
    struct http_server **ret_srv, char **ret_msg)
{
	struct http_server *srv;
	unsigned threads;
	size_t mem_limit;
	kura_err err;
	long ncpu;

	srv = kura_calloc(1, sizeof(*srv));
	if (srv == NULL)
		return KURA_ENOMEM;
	for (size_t i = 0; i < MAX_DAEMONS; i++)
		srv->listen_fds[i] = -1;
	srv->accept_wake = -1;
	srv->cfg = cfg;
	srv->app = *app;
	/* libmicrohttpd reports fatal internal errors here; never continue. */
	MHD_set_panic_func(on_panic, NULL);
	pthread_mutex_init(&srv->qlock, NULL);
	pthread_cond_init(&srv->qcond, NULL);
	pthread_mutex_init(&srv->swlock, NULL);
	pthread_cond_init(&srv->swcond, NULL);
	snprintf(srv->hsts, sizeof(srv->hsts), "max-age=%llu; includeSubDomains",
	    (unsigned long long)cfg->hsts_max_age_s);

	err = tls_load(cfg->tls_cert, cfg->tls_key, ret_msg);
	if (err)
		goto fail;
	err = rl_start(srv, ret_msg);
	if (err)
		goto fail;
	if (cfg->trusted_proxies != NULL && strcmp(cfg->trusted_proxies, "-") != 0) {
		char *copy = kura_strdup(cfg->trusted_proxies), *save = NULL, *tok;
		if (copy == NULL) {
			err = KURA_ENOMEM;
			goto fail;
		}
		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			if (srv->n_proxies == sizeof(srv->proxies) / sizeof(srv->proxies[0]) ||
			    cidr_parse(tok, &srv->proxies[srv->n_proxies]) != KURA_OK) {
				*ret_msg = srv_msg("trusted_proxies: at most 32 valid CIDRs");
				free(copy);
				err = KURA_EINVAL;
				goto fail;
			}
			srv->n_proxies++;
		}
		free(copy);
	}

	ncpu = usable_cpus();
	threads = cfg->threads ? (unsigned)cfg->threads : (unsigned)ncpu;
	srv->n_workers = (size_t)ncpu;
	srv->workers = kura_calloc(srv->n_workers, sizeof(pthread_t));
	if (srv->workers == NULL) {
		err = KURA_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < srv->n_workers; i++) {
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0) {
			srv->n_workers = i;
			*ret_msg = srv_msg("cannot start worker threads");
			err = KURA_ENOMEM;
			goto fail;
		}
		(void)pthread_setname_np(srv->workers[i], "kura-defer");
	}

	/* Headers beyond max_header_bytes get our JSON 431; the pool must hold
	 * them (plus buffers) for that, so it is sized from the limit.  Every
	 * byte of it is resident for every open connection (libmicrohttpd
	 * zeroes the whole pool after each request), so the slack is kept
	 * small: headers up to max_header_bytes + about 12 KiB get our 431,
	 * larger ones libmicrohttpd's own 431 (and a closed connection). */
	mem_limit = (size_t)cfg->max_header_bytes + POOL_SLACK;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		int fd = bind_listener(cfg->listen[i], ret_msg);
		if (fd < 0) {
			err = KURA_EIO;
			goto fail;
		}
		srv->listen_fds[i] = fd;
		/* no listen socket: acceptor_main hands it the connections */
		srv->daemons[i] = MHD_start_daemon(
		    MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD |
		    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
		    MHD_USE_NO_LISTEN_SOCKET,
		    0, NULL, NULL, on_request, srv,
		    MHD_OPTION_HTTPS_CERT_CALLBACK, tls_cert_callback,
		    MHD_OPTION_HTTPS_PRIORITIES, http_tls_priorities,
		    MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)cfg->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem_limit,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		    /* default strictness: a missing Host reaches req_start,
		     * which answers it in JSON with our headers */
		    MHD_OPTION_STRICT_FOR_CLIENT, 0,
		    MHD_OPTION_END);
		if (srv->daemons[i] == NULL) {
			*ret_msg = srv_msg("cannot start the HTTPS server on %s",
			    cfg->listen[i]);
			err = KURA_EIO;
			goto fail;
		}
		srv->n_daemons++;
	}
	srv->accept_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->accept_wake < 0 ||
	    pthread_create(&srv->acceptor, NULL, acceptor_main, srv) != 0) {
		*ret_msg = srv_msg("cannot start the accepting thread");
		err = KURA_ENOMEM;
		goto fail;
	}
	srv->acceptor_started = true;
	(void)pthread_setname_np(srv->acceptor, "kura-accept");
	*ret_srv = srv;
	return KURA_OK;
fail:
	http_server_stop(srv);
	return err;
}

void
http_server_quiesce(struct http_server *srv)
{
	atomic_store(&srv->draining, true);
	acceptor_stop(srv);
}

unsigned
http_server_in_flight(struct http_server *srv)
{
	return atomic_load(&srv->in_flight);
}

void
http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->qlock);
	srv->qstop = true;
	pthread_cond_broadcast(&srv->qcond);
	pthread_mutex_unlock(&srv->qlock);
	for (size_t i = 0; i < srv->n_workers; i++)
		pthread_join(srv->workers[i], NULL);
	acceptor_stop(srv);
	for (size_t i = 0; i < srv->n_daemons; i++)
		MHD_stop_daemon(srv->daemons[i]);
	rl_stop(srv);
	free(srv->workers);
	pthread_mutex_destroy(&srv->qlock);
	pthread_cond_destroy(&srv->qcond);
	pthread_mutex_destroy(&srv->swlock);
	pthread_cond_destroy(&srv->swcond);
	tls_free_all();
	free(srv);
}
