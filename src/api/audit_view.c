/*
 * The tenant's view of its audit trail (LOG-5, LOG-2, LOG-4):
 *
 *   GET /api/v1/audit-events[?filters][&format=csv|jsonl]
 *   GET /api/v1/audit-events/verify
 *   GET /api/v1/audit-events/export     (verifiable JSON lines)
 *   GET /api/v1/me/sign-ins             (the caller's own sign-ins)
 *
 * Every query is scoped by api_auth(req)->ctx: the store puts that tenant
 * in every WHERE clause, so no filter can reach another tenant's records
 * (TEN-1).  Times are shown in the tenant's zone (api_time); filters take
 * RFC 3339 timestamps with any offset.  Pages are keyset on tenant_seq,
 * newest first; the cursor is the tenant_seq to continue before.
 *
 * CSV and JSON-lines exports and the verifiable export are built in a
 * bounded buffer (EXPORT_BYTES_MAX) on the worker pool: the HTTP layer
 * sends whole replies only.  CSV/JSONL stop at EXPORT_ROWS_MAX rows and
 * say so in X-Export-Truncated; a verifiable export that does not fit is
 * refused (an operator exports it with `kura audit export`).  Exports
 * are flagged "bulk" in their own audit record so the bulk-export alert
 * can fire.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "core/tz.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define QUERY_CHUNK 1000                /* rows per store query (its max) */
#define EXPORT_ROWS_MAX 100000
#define EXPORT_BYTES_MAX ((size_t)64 << 20)

enum view_format { FMT_JSON, FMT_CSV, FMT_JSONL };

static const char *const csv_columns[] = { "id", "seq", "time", "time_us",
    "actor_type", "actor_id", "source_ip", "request_id", "action",
    "resource_type", "resource_id", "outcome", "status", "detail" };

/* ---- query parameters ---- */


/* An optional query value of [A-Za-z0-9] and extra, shorter than size. */
static bool
token_param(struct http_req *req, const char *name, size_t size,
    const char *extra, const char **ret)
{
	const char *v = http_query(req, name);

	*ret = NULL;
	if (v == NULL)
		return true;
	if (!kura_token_ok(v, size - 1, extra)) {
		api_bad_field(req, name, "has characters or a length it cannot have");
		return false;
	}
	*ret = v;
	return true;
}

/*
 * The filters, page size, cursor and format of a listing.  Replies 400
 * and returns false on a bad value.  Exports (csv, jsonl) take a limit up
 * to EXPORT_ROWS_MAX and default to it.
 */
static bool
parse_filter(struct http_req *req, struct store_audit_filter *f,
    enum view_format *ret_fmt)
{
	const char *format = http_query(req, "format");
	const char *v, *star;
	uint64_t n;

	memset(f, 0, sizeof(*f));
	*ret_fmt = FMT_JSON;
	if (format != NULL) {
		if (strcmp(format, "csv") == 0)
			*ret_fmt = FMT_CSV;
		else if (strcmp(format, "jsonl") == 0)
			*ret_fmt = FMT_JSONL;
		else if (strcmp(format, "json") != 0) {
			api_bad_field(req, "format", "must be json, csv or jsonl");
			return false;
		}
	}
	if ((v = http_query(req, "from")) != NULL && !tz_parse_rfc3339(v, &f->from_us)) {
		api_bad_field(req, "from", "an RFC 3339 time such as 2026-11-21T09:00:00+09:00");
		return false;
	}
	if ((v = http_query(req, "to")) != NULL) {
		if (!tz_parse_rfc3339(v, &f->to_us)) {
			api_bad_field(req, "to", "an RFC 3339 time such as 2026-11-21T09:00:00+09:00");
			return false;
		}
		if (f->to_us == 0)
			f->to_us = 1;       /* 0 would mean "no bound" */
	}
	if (!token_param(req, "actor", 64, "_-.@", &f->actor_id) ||
	    !token_param(req, "action", 64, "_.*", &f->action) ||
	    !token_param(req, "resource_type", 32, "_-.", &f->resource_type) ||
	    !token_param(req, "resource_id", 64, "_-.@", &f->resource_id) ||
	    !token_param(req, "source_ip", 48, ".:", &f->source_ip))
		return false;
	/* '*' only as the last character, after a '.' or alone: "user.*" */
	if (f->action != NULL && (star = strchr(f->action, '*')) != NULL &&
	    (star[1] != '\0' || (star != f->action && star[-1] != '.'))) {
		api_bad_field(req, "action", "an action name, or a prefix such as user.*");
		return false;
	}
	if ((v = http_query(req, "outcome")) != NULL) {
		if (strcmp(v, "success") != 0 && strcmp(v, "failure") != 0 &&
		    strcmp(v, "denied") != 0) {
			api_bad_field(req, "outcome", "must be success, failure or denied");
			return false;
		}
		f->outcome = v;
	}
	n = *ret_fmt == FMT_JSON ? PAGE_DEFAULT : EXPORT_ROWS_MAX;
	if ((v = http_query(req, "limit")) != NULL && kura_parse_u64(v, 1,
	    *ret_fmt == FMT_JSON ? PAGE_MAX : EXPORT_ROWS_MAX, &n) != KURA_OK) {
		api_bad_field(req, "limit", *ret_fmt == FMT_JSON ?
		    "a whole number from 1 to 200" : "a whole number from 1 to 100000");
		return false;
	}
	f->limit = (size_t)n;
	if ((v = http_query(req, "cursor")) != NULL) {
		if (kura_parse_u64(v, 1, INT64_MAX, &n) != KURA_OK) {
			api_bad_field(req, "cursor", "not a cursor this listing gave");
			return false;
		}
		f->before_tenant_seq = (int64_t)n;
	}
	return true;
}

/* ---- rendering ---- */

static json_t *
opt_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* One record as the tenant sees it (no chain hashes: those are in the
 * verifiable export). */
static json_t *
view_item(const struct api_auth *a, const struct store_audit *r)
{
	json_t *detail = json_loads(r->detail ? r->detail : "{}", 0, NULL);

	if (!json_is_object(detail)) {
		json_decref(detail);
		detail = json_object();
	}
	return json_pack("{s:s,s:I,s:o,s:I,s:{s:s,s:o},s:s,s:o,s:s,s:{s:o,s:o},"
	    "s:s,s:I,s:o}",
	    "id", r->id, "seq", (json_int_t)r->tenant_seq,
	    "time", api_time(a, r->time_us), "time_us", (json_int_t)r->time_us,
	    "actor", "type", r->actor_type, "id", opt_str(r->actor_id),
	    "source_ip", r->source_ip, "request_id", opt_str(r->request_id),
	    "action", r->action,
	    "resource", "type", opt_str(r->resource_type), "id", opt_str(r->resource_id),
	    "outcome", r->outcome, "status", (json_int_t)r->status,
	    "detail", detail);
}

static kura_err
csv_header(struct kbuf *b)
{
	kura_err err = KURA_OK;

	for (size_t c = 0; err == KURA_OK && c < sizeof(csv_columns) /
	    sizeof(csv_columns[0]); c++)
		err = api_csv_field(b, csv_columns[c], c == 0);
	return err ? err : kbuf_puts(b, "\r\n");
}

static kura_err
csv_row(struct kbuf *b, const struct api_auth *a, const struct store_audit *r)
{
	char seq[24], us[24], status[24];
	json_t *t = api_time(a, r->time_us);
	const char *cols[14];
	kura_err err = KURA_OK;

	snprintf(seq, sizeof(seq), "%lld", (long long)r->tenant_seq);
	snprintf(us, sizeof(us), "%lld", (long long)r->time_us);
	snprintf(status, sizeof(status), "%lld", (long long)r->status);
	cols[0] = r->id;
	cols[1] = seq;
	cols[2] = json_is_string(t) ? json_string_value(t) : "";
	cols[3] = us;
	cols[4] = r->actor_type;
	cols[5] = r->actor_id;
	cols[6] = r->source_ip;
	cols[7] = r->request_id;
	cols[8] = r->action;
	cols[9] = r->resource_type;
	cols[10] = r->resource_id;
	cols[11] = r->outcome;
	cols[12] = status;
	cols[13] = r->detail ? r->detail : "{}";
	for (size_t i = 0; err == KURA_OK && i < 14; i++)
		err = api_csv_field(b, cols[i], i == 0);
	if (err == KURA_OK)
		err = kbuf_puts(b, "\r\n");
	json_decref(t);
	return err;
}

static kura_err
jsonl_row(struct kbuf *b, const struct api_auth *a, const struct store_audit *r)
{
	json_t *o = view_item(a, r);
	char *s;
	kura_err err;

	if (o == NULL)
		return KURA_ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		return KURA_ENOMEM;
	err = kbuf_puts(b, s);
	if (err == KURA_OK)
		err = kbuf_puts(b, "\n");
	free(s);
	return err;
}

static void
reply_err(struct http_req *req, const char *what, kura_err err)
{
	log_error("request %s: %s: %s", req->request_id, what, kura_strerror(err));
	http_reply_kura_err(req, err);
}

/*
 * The tenant_seq at and below which nothing belongs in the view: the
 * tenant's newest retention anchor (0 if none).  Rows there (or with no
 * tenant_seq) are outside the chain that verification covers, so they can
 * only have been put there by hand; the view never shows them.
 */
static kura_err
chain_floor(struct app *app, const struct store_tctx *ctx, int64_t *ret_floor)
{
	struct store_audit_mark m;
	kura_err err = store_audit_last_mark(app->store, "anchor", ctx->tenant_id, &m);

	if (err == KURA_ENOENT) {
		*ret_floor = 0;
		return KURA_OK;
	}
	if (err == KURA_OK)
		*ret_floor = m.seq;
	return err;
}

/* Rows are newest first: keep the prefix above the floor. */
static size_t
above_floor(const struct store_audit *rows, size_t n, int64_t floor)
{
	size_t i = 0;

	while (i < n && rows[i].tenant_seq > floor)
		i++;
	return i;
}

/* ---- listing (JSON page) ---- */

static void
list_page(struct http_req *req, struct store_audit_filter *f)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_audit *rows = NULL;
	size_t n = 0, shown, want = f->limit;
	json_t *items, *next = json_null();
	int64_t floor = 0;
	char cur[24];
	kura_err err;

	f->limit = want + 1;            /* one more tells whether more remain */
	err = chain_floor(app, &a->ctx, &floor);
	if (err == KURA_OK)
		err = store_audit_query(app->store, &a->ctx, f, &rows, &n);
	if (err) {
		json_decref(next);
		reply_err(req, "audit listing", err);
		return;
	}
	shown = above_floor(rows, n, floor);
	items = json_array();
	for (size_t i = 0; i < shown && i < want; i++)
		json_array_append_new(items, view_item(a, &rows[i]));
	if (shown > want) {
		snprintf(cur, sizeof(cur), "%lld", (long long)rows[want - 1].tenant_seq);
		json_decref(next);
		next = json_string(cur);
	}
	store_audit_list_free(rows, n);
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "items", items,
	    "next_cursor", next));
}

/* ---- CSV / JSON lines over the filters ---- */

struct view_work {
	struct store_audit_filter f;
	enum view_format fmt;
	char resource_id[STORE_ID_MAX];     /* sign-ins: the caller */
	char action[8];
};

/* Runs on the worker pool: every matching row, newest first, in chunks
 * of QUERY_CHUNK, into one bounded buffer. */
static void
export_rows_run(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct view_work *w = req->work;
	struct store_audit_filter f = w->f;
	size_t rows = 0, max = w->f.limit;
	bool truncated = false, csv = w->fmt == FMT_CSV;
	int64_t floor = 0;
	struct kbuf b;
	kura_err err = KURA_OK;

	kbuf_init(&b, EXPORT_BYTES_MAX);
	err = chain_floor(app, &a->ctx, &floor);
	if (err == KURA_OK && csv)
		err = csv_header(&b);
	while (err == KURA_OK && rows < max) {
		struct store_audit *list = NULL;
		size_t n = 0, got, i;

		f.limit = max - rows < QUERY_CHUNK ? max - rows : QUERY_CHUNK;
		if ((err = store_audit_query(app->store, &a->ctx, &f, &list, &n)))
			break;
		got = n;
		n = above_floor(list, n, floor);       /* the chain ends there */
		for (i = 0; err == KURA_OK && i < n; i++) {
			size_t mark = b.len;
			err = csv ? csv_row(&b, a, &list[i]) : jsonl_row(&b, a, &list[i]);
			if (err == KURA_ETOOBIG) {
				/* keep whole rows only; say that more exist */
				b.len = mark;
				b.data[mark] = '\0';
				truncated = true;
				err = KURA_OK;
				break;
			}
			rows++;
		}
		if (n > 0)
			f.before_tenant_seq = list[i > 0 ? i - 1 : 0].tenant_seq;
		store_audit_list_free(list, got);
		if (truncated || got < f.limit || n < got)
			break;
		if (rows == max) {
			/* more beyond the row cap? */
			struct store_audit *more = NULL;
			size_t m = 0;
			f.limit = 1;
			if (store_audit_query(app->store, &a->ctx, &f, &more, &m) == KURA_OK)
				truncated = above_floor(more, m, floor) > 0;
			store_audit_list_free(more, m);
		}
	}
	if (err) {
		kbuf_free(&b);
		reply_err(req, "audit export", err);
		return;
	}
	api_audit_detail(req, "bulk", json_true());
	api_audit_detail(req, "format", json_string(csv ? "csv" : "jsonl"));
	api_audit_detail(req, "rows", json_integer((json_int_t)rows));
	err = http_add_header(req, "Content-Disposition", csv ?
	    "attachment; filename=\"audit-events.csv\"" :
	    "attachment; filename=\"audit-events.jsonl\"");
	if (err == KURA_OK && truncated)
		err = http_add_header(req, "X-Export-Truncated", "true");
	if (err == KURA_OK)
		http_reply_raw(req, 200, csv ? "text/csv; charset=utf-8" :
		    "application/x-ndjson", b.data ? b.data : "", b.len);
	else
		reply_err(req, "audit export", err);
	kbuf_free(&b);
}

/* Hand an export to the worker pool (the filter's strings point into the
 * connection's query values, which live until the request ends). */
static void
export_rows(struct http_req *req, const struct store_audit_filter *f,
    enum view_format fmt, const char *resource_id)
{
	struct view_work *w = kura_calloc(1, sizeof(*w));

	if (w == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	w->f = *f;
	w->fmt = fmt;
	if (resource_id != NULL) {
		snprintf(w->resource_id, sizeof(w->resource_id), "%s", resource_id);
		w->f.resource_id = w->resource_id;
		snprintf(w->action, sizeof(w->action), "auth.*");
		w->f.action = w->action;
	}
	req->work = w;
	req->work_free = free;
	http_defer(req, export_rows_run);
}

/* GET /api/v1/audit-events */
void
api_audit_events_list(struct http_req *req)
{
	struct store_audit_filter f;
	enum view_format fmt;

	if (!parse_filter(req, &f, &fmt))
		return;
	if (fmt == FMT_JSON)
		list_page(req, &f);
	else
		export_rows(req, &f, fmt, NULL);
}

/* GET /api/v1/me/sign-ins: the caller's own sign-in events (auth.*
 * records whose resource is the caller), with the same paging and
 * formats; other filters narrow it further but cannot widen it. */
void
api_me_sign_ins(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct store_audit_filter f;
	enum view_format fmt;

	if (!parse_filter(req, &f, &fmt))
		return;
	if (http_query(req, "action") != NULL || http_query(req, "resource_id") != NULL ||
	    http_query(req, "resource_type") != NULL) {
		api_bad_field(req, "query", "sign-ins take from, to, outcome, "
		    "source_ip, actor, limit, cursor and format");
		return;
	}
	if (a->user == NULL) {
		http_reply_error(req, 403, "forbidden", "a signed-in user is needed");
		return;
	}
	if (fmt != FMT_JSON) {
		export_rows(req, &f, fmt, a->user->id);
		return;
	}
	f.action = "auth.*";
	f.resource_id = a->user->id;
	list_page(req, &f);
}

/* ---- verification and the verifiable export ---- */

/* First 16 hex of SHA-256 of the raw public key (as checkpoints name it). */
static void
key_id_of(const char *pk_b64, char ret[24])
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char hex[KCRYPTO_INDEX_HEX_LEN + 1];
	size_t n = 0;

	ret[0] = '\0';
	if (sodium_base642bin(pk, sizeof(pk), pk_b64, strlen(pk_b64), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(pk) ||
	    kcrypto_sha256_hex(pk, sizeof(pk), hex) != KURA_OK)
		return;
	snprintf(ret, 24, "%.16s", hex);
}

/* Runs on the worker pool: verification reads the tenant's whole chain. */
static void
verify_run(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct audit_verify_result res;
	struct store_audit_mark last;
	json_t *first_bad = json_null(), *ckpt = json_null();
	char pk[64], key_id[24];
	kura_err err;

	err = audit_public_key(app->cfg->audit_key, pk);
	if (err == KURA_OK)
		err = audit_verify_store(app->store, a->ctx.tenant_id, pk, &res);
	if (err) {
		json_decref(first_bad);
		json_decref(ckpt);
		reply_err(req, "audit verify", err);
		return;
	}
	key_id_of(pk, key_id);
	if (!res.ok && res.bad_seq > 0) {
		json_decref(first_bad);
		first_bad = json_pack("{s:I,s:s}", "seq", (json_int_t)res.bad_seq,
		    "id", res.bad_id);
	}
	err = store_audit_last_mark(app->store, "checkpoint", a->ctx.tenant_id, &last);
	if (err == KURA_OK) {
		json_decref(ckpt);
		ckpt = json_pack("{s:I,s:s,s:o,s:I,s:s,s:s}", "seq", (json_int_t)last.seq,
		    "hash", last.hash, "time", api_time(a, last.time_us),
		    "time_us", (json_int_t)last.time_us, "key_id", last.key_id,
		    "signature", last.signature);
	} else if (err != KURA_ENOENT) {
		json_decref(first_bad);
		json_decref(ckpt);
		reply_err(req, "audit verify", err);
		return;
	}
	api_audit_detail(req, "verified", json_boolean(res.ok));
	http_reply_json(req, 200, json_pack("{s:b,s:I,s:I,s:o,s:s?,s:s,s:s,s:o}",
	    "ok", res.ok, "records", (json_int_t)res.records,
	    "checkpoints", (json_int_t)res.checkpoints, "first_bad", first_bad,
	    "reason", res.ok ? NULL : res.reason, "public_key", pk,
	    "key_id", key_id, "last_checkpoint", ckpt));
}

/* GET /api/v1/audit-events/verify */
void
api_audit_events_verify(struct http_req *req)
{
	http_defer(req, verify_run);
}

static kura_err
append_line(void *arg, const char *line, size_t len)
{
	return kbuf_append(arg, line, len);
}

static void
export_run(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct kbuf b;
	char pk[64];
	kura_err err;

	kbuf_init(&b, EXPORT_BYTES_MAX);
	err = audit_public_key(app->cfg->audit_key, pk);
	if (err == KURA_OK)
		err = audit_export(app->store, a->ctx.tenant_id, pk, append_line, &b);
	if (err == KURA_ETOOBIG) {
		http_reply_error(req, 409, "export_too_large", "the audit log is too "
		    "large to export over the API; ask the operator for "
		    "`kura audit export --tenant`");
		goto out;
	}
	if (err == KURA_OK)
		err = http_add_header(req, "Content-Disposition",
		    "attachment; filename=\"audit-export.jsonl\"");
	if (err) {
		reply_err(req, "audit export", err);
		goto out;
	}
	api_audit_detail(req, "bulk", json_true());
	api_audit_detail(req, "format", json_string("verifiable"));
	http_reply_raw(req, 200, "application/x-ndjson", b.data ? b.data : "", b.len);
out:
	kbuf_free(&b);
}

/* GET /api/v1/audit-events/export: the tenant's chain with its anchors
 * and checkpoints, verifiable offline with
 * `kura audit verify --file F --public-key K`. */
void
api_audit_events_export(struct http_req *req)
{
	if (http_query(req, "format") != NULL) {
		api_bad_field(req, "format", "the verifiable export has one format");
		return;
	}
	http_defer(req, export_run);
}
