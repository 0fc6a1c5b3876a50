/*
 * The HTTPS server (libmicrohttpd + GnuTLS) and the request/response model
 * handlers see.  Handlers never touch libmicrohttpd directly.
 *
 * Life of a request: headers arrive -> rate limit and block (429) ->
 * header-size limit -> route match (404/405) -> Content-Length vs the
 * route's body limit (413) -> body is read into a bounded buffer (413
 * when it overflows; streamed routes authenticate on the headers and get
 * the body in pieces instead) -> the application's gate (authn,
 * permission) -> JSON parse and depth check for JSON routes (400) ->
 * handler -> audit record durable (LOG-1) -> reply.  A handler replies at once, or calls
 * http_defer() to run slow work (Argon2id, outbound calls) on the worker
 * pool while the connection is suspended.
 */
#ifndef KURA_HTTP_HTTP_H
#define KURA_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

struct kura_config;
struct http_server;
struct http_req;

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_PUT = 1 << 2,
	HTTP_PATCH = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_HEAD = 1 << 5,
};

/* Route flags. */
#define HTTP_ROUTE_JSON   0x1   /* body, if any, must be a JSON object */
#define HTTP_ROUTE_PUBLIC 0x2   /* no authentication (healthz, login) */
#define HTTP_ROUTE_SETUP  0x4   /* allowed while a password change or MFA
                                   enrolment is still required */
#define HTTP_ROUTE_SESSION 0x8  /* account security: a browser session only,
                                   never an API token */
#define HTTP_ROUTE_PROBE  0x10  /* health probe: exempt from the per-address
                                   rate limit, not from blocks (MON-3) */
#define HTTP_ROUTE_STREAM 0x20  /* raw body streamed to the handler in phases
                                   (uploads): authenticated on the headers,
                                   never buffered; max_body is the route's
                                   own bound, capped by [limits]
                                   max_upload_bytes */

/* Phases of a streamed request: the handler runs once with START (headers
 * in, gate passed, no body yet), once per body piece with DATA (req->chunk,
 * req->chunk_len), and once with END.  Replying in START or DATA rejects
 * the upload (the rest of the body is not read). */
enum http_stream_phase {
	HTTP_STREAM_NONE = 0,
	HTTP_STREAM_START,
	HTTP_STREAM_DATA,
	HTTP_STREAM_END,
};

/* Reads len bytes of a streamed reply at pos into buf; *ret_n = 0 only at
 * the end.  An error after the headers went out aborts the connection
 * (the client sees a short body, never wrong data). */
typedef kura_err (*http_reader_fn)(void *arg, uint64_t pos, char *buf,
    size_t len, size_t *ret_n);

typedef void (*http_handler)(struct http_req *req);

/*
 * One row of the route table.  Every route names the permission it needs
 * (or is marked public) and the audit action it records; a unit test walks
 * the table and fails on a row without them.
 */
struct http_route {
	enum http_method method;
	const char *pattern;     /* "/api/v1/users/{id}": literal or {name} segments */
	http_handler handler;
	const char *permission;  /* permission name, or "public" */
	const char *audit_action;/* e.g. "user.create"; NULL only for probes */
	size_t max_body;         /* 0: no body accepted; else bytes (capped by config) */
	unsigned flags;
};

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_RESP_HEADERS 8
#define HTTP_REQUEST_ID_LEN 32

struct http_param {
	const char *name;
	char *value;
};

/* Application hooks the server calls. */
struct http_app {
	const struct http_route *routes;
	size_t n_routes;
	void *ctx;                          /* handed to handlers via req->app */
	/* Runs before every handler; returns false if it replied (401, 403...). */
	bool (*gate)(struct http_req *req);
	/* Runs on the same thread once the handler returned (or the body
	 * checks answered instead), whenever the gate let the request
	 * through; may be NULL. */
	void (*after)(struct http_req *req);
	/* Runs once per finished request (metrics); may be NULL. */
	void (*completed)(struct http_req *req);
	/* Records an /api/ request that was not audited in its transaction,
	 * or waits until the change of a request with a commit_ticket is
	 * durable.  Returns true if it will call http_record_done(req) once
	 * the record or change is durable (the server holds the reply until
	 * then); false if
	 * nothing is pending.  With req->record_nowait the record is only
	 * queued and false is returned.  May be NULL. */
	bool (*record)(struct http_req *req);
	/* Frees what the gate or handler hung on req (auth, work); may be NULL. */
	void (*cleanup)(struct http_req *req);
	/* Records a rate-limit event of a source address that no request's
	 * own record carries (MON-3): action "ratelimit.block" when the
	 * address is blocked, "ratelimit.summary" with the number of
	 * refusals whose own records were skipped.  request_id may be "".
	 * Takes detail.  Runs on request threads and the server's sweeper
	 * thread, so it must only queue.  May be NULL. */
	void (*notice)(void *ctx, const char *action, const char *client_ip,
	    const char *request_id, json_t *detail);
};

struct http_req {
	/* request, read-only for handlers */
	void *app;                          /* http_app.ctx */
	const struct http_route *route;
	enum http_method method;
	const char *path;
	char request_id[HTTP_REQUEST_ID_LEN + 1];
	char client_ip[48];                 /* textual, v4-mapped v6 unmapped */
	struct http_param params[HTTP_MAX_PARAMS];
	size_t n_params;
	struct kbuf body;
	json_t *json;                       /* parsed body for JSON routes, or NULL */
	int64_t start_us;                   /* monotonic */
	void *auth;                         /* set by the gate; freed by cleanup */
	void *work;                         /* handler state across http_defer */
	void (*work_free)(void *work);      /* frees work when the request ends */

	/* response, set through http_reply_* */
	unsigned status;
	char *resp_body;
	size_t resp_len;
	const char *resp_type;
	char *resp_hdr_name[HTTP_MAX_RESP_HEADERS];
	char *resp_hdr_value[HTTP_MAX_RESP_HEADERS];
	size_t n_resp_hdrs;
	const char *error_code;             /* for logs/audit: the error code sent */
	/* streamed reply (downloads): set by http_reply_stream */
	http_reader_fn resp_reader;
	void *resp_reader_arg;
	void (*resp_reader_free)(void *arg);
	uint64_t resp_stream_len;

	/* streamed request body (HTTP_ROUTE_STREAM) */
	enum http_stream_phase phase;
	const uint8_t *chunk;
	size_t chunk_len;
	uint64_t content_length;            /* UINT64_MAX when not given */

	/* server internals */
	struct http_server *srv;
	void *conn;
	int state;
	bool audited;                       /* record written with the change */
	bool audit_summarised;              /* a refusal counted in a summary
	                                       record instead of its own (MON-3) */
	json_t *audit_extra;                /* extra detail for the record */
	/* a change committed without waiting for the disk (the app's group
	 * durability): app.record holds the reply until the ticket is
	 * durable; commit_row is the app's, freed by app.cleanup */
	uint64_t commit_ticket;
	void *commit_row;
	bool recording;                     /* waiting for the audit writer
	                                       or the WAL sync */
	bool record_nowait;                 /* reply already sent (early 413) */
	size_t discarded;                   /* body bytes dropped after a 413 */
	bool replied;
	bool deferred;
	http_handler defer_fn;
};

/* ---- server lifecycle ---- */

/* Start listening on every cfg->listen address.  The cert and key are
 * read now (key must be mode 0600).  *ret_msg explains a failure. */
kura_err http_server_start(const struct kura_config *cfg,
    const struct http_app *app, struct http_server **ret_srv, char **ret_msg);
/* Stop accepting new connections; requests in flight go on. */
void http_server_quiesce(struct http_server *srv);
/* Requests started and not yet completed. */
unsigned http_server_in_flight(struct http_server *srv);
/* Stop everything and free; accepts NULL. */
void http_server_stop(struct http_server *srv);
/* Re-read certificate and key from the configured files; on failure the
 * old pair stays in use and *ret_msg says why. */
kura_err http_server_reload_cert(struct http_server *srv, char **ret_msg);

/* ---- replies (each replaces any earlier reply) ---- */

/* JSON reply; takes ownership of body (may be NULL for an empty object). */
void http_reply_json(struct http_req *req, unsigned status, json_t *body);
/* {"error":{"code":code,"message":message}} */
void http_reply_error(struct http_req *req, unsigned status, const char *code,
    const char *message);
/* Raw reply; copies data. */
void http_reply_raw(struct http_req *req, unsigned status, const char *type,
    const void *data, size_t len);
/* Streamed reply of len bytes read through reader (which owns arg; free
 * is called with arg when the response is done, may be NULL). */
void http_reply_stream(struct http_req *req, unsigned status, const char *type,
    uint64_t len, http_reader_fn reader, void *arg, void (*free_fn)(void *arg));
/* Extra response header (Set-Cookie, Retry-After, Allow...); copies both. */
kura_err http_add_header(struct http_req *req, const char *name,
    const char *value);
/* Map a kura_err to a status and JSON error reply. */
void http_reply_kura_err(struct http_req *req, kura_err err);

/* The audit record of req is durable (or failed, with req's reply
 * replaced): send the reply.  Called from the audit writer thread. */
void http_record_done(struct http_req *req);

/* Run fn(req) on the worker pool; the connection is suspended and the
 * reply fn sets is sent when it returns.  Replies 503 if the queue is full. */
void http_defer(struct http_req *req, http_handler fn);

/* ---- rate limits (MON-3) ---- */

enum http_rl_scope {
	HTTP_RL_ADDRESS = 0,
	HTTP_RL_USER,           /* a user, or an API token on its own */
	HTTP_RL_TENANT,
	HTTP_RL_BLOCKED,        /* refused because the address is blocked */
	HTTP_RL_NSCOPES,
};

/* Take a token from the per-user or per-tenant bucket of key (the gate,
 * after authentication).  True: go on.  False: req has its 429 reply with
 * Retry-After; the refusal also counts toward blocking req's address. */
bool http_rate_limit(struct http_req *req, enum http_rl_scope scope,
    const char *key);

struct http_rl_stats {
	uint64_t refusals[HTTP_RL_NSCOPES];
	size_t blocked_addresses;           /* blocked right now */
};
/* Counters for /metrics. */
void http_server_rl_stats(struct http_server *srv, struct http_rl_stats *ret);
/* Name of a scope for labels: "address", "user", "tenant", "blocked". */
const char *http_rl_scope_name(enum http_rl_scope scope);

/* ---- request accessors ---- */
const char *http_header(struct http_req *req, const char *name);
const char *http_cookie(struct http_req *req, const char *name);
const char *http_query(struct http_req *req, const char *name);
const char *http_param(struct http_req *req, const char *name);

/* ---- pieces exposed for unit tests and fuzzers ---- */

/* Parse body as a JSON object no deeper than max_depth.  On failure
 * returns KURA_EINVAL (malformed, not an object) or KURA_ERANGE (too deep)
 * and sets *ret_code / *ret_msg to static strings for the error reply. */
kura_err http_json_parse(const char *body, size_t len, size_t max_depth,
    json_t **ret_json, const char **ret_code, const char **ret_msg);
/* Depth of a JSON value: scalars 0, [] and {} 1, [[]] 2 ... */
size_t http_json_depth(const json_t *v);

/* Match path against the table.  KURA_OK with *ret_route and params
 * filled; KURA_ENOENT for no route; KURA_ECONFLICT when the path exists
 * for other methods (*ret_allowed has their bits).  Params point into
 * a malloc'd copy the caller frees with http_params_free. */
kura_err http_route_match(const struct http_route *routes, size_t n,
    enum http_method method, const char *path, const struct http_route **ret_route,
    struct http_param *params, size_t *ret_n_params, unsigned *ret_allowed);
void http_params_free(struct http_param *params, size_t n);
enum http_method http_method_parse(const char *s);
/* "GET, POST" for the Allow header into buf. */
void http_methods_str(unsigned bits, char *buf, size_t len);

/* The fixed TLS policy (see docs/decisions.md). */
extern const char http_tls_priorities[];

#endif
