/*
 * Audit records: build, hash, chain, append (in a caller's transaction or
 * on the group-commit writer thread), notify observers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "crypto/kcrypto.h"
#include "http/jsontext.h"

_Static_assert(AUDIT_HASH_HEX == KCRYPTO_INDEX_HEX_LEN,
    "audit_row_hash writes kcrypto_sha256_hex's text");

/* ---- records ---- */

static kura_err
copy_field(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return KURA_ETOOBIG;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
	return KURA_OK;
}

kura_err
audit_rec_init(struct audit_rec *r, const char *tenant_id, const char *actor_type,
    const char *actor_id, const char *action)
{
	kura_err err;

	memset(r, 0, sizeof(*r));
	r->time_us = kura_now_us();
	if ((err = copy_field(r->tenant_id, sizeof(r->tenant_id), tenant_id)) ||
	    (err = copy_field(r->actor_type, sizeof(r->actor_type), actor_type)) ||
	    (err = copy_field(r->actor_id, sizeof(r->actor_id), actor_id)) ||
	    (err = copy_field(r->action, sizeof(r->action), action)))
		return err;
	snprintf(r->source_ip, sizeof(r->source_ip), "local");
	snprintf(r->outcome, sizeof(r->outcome), "success");
	return KURA_OK;
}

void
audit_rec_clear(struct audit_rec *r)
{
	if (r == NULL)
		return;
	json_decref(r->detail);
	r->detail = NULL;
}

/* ---- hashing ---- */

/*
 * The hash input: each field as a 4-byte big-endian length and its bytes.
 * Written into p while it fits cap, and counted (checked sums) in any
 * case: the common record fits the caller's stack buffer in one pass; a
 * larger one is written again into a buffer of the counted size.
 */
#define HASH_INPUT_MAX (64 * 1024)      /* a longer row is refused */
struct hin {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool too_big;
};

static void
put_field(struct hin *b, const char *s, size_t n)
{
	size_t end;

	if (b->too_big || n > HASH_INPUT_MAX ||
	    !kura_size_add(b->len, 4 + n, &end) || end > HASH_INPUT_MAX) {
		b->too_big = true;
		return;
	}
	if (end <= b->cap) {
		b->p[b->len] = (uint8_t)(n >> 24);
		b->p[b->len + 1] = (uint8_t)(n >> 16);
		b->p[b->len + 2] = (uint8_t)(n >> 8);
		b->p[b->len + 3] = (uint8_t)n;
		if (n > 0)
			memcpy(b->p + b->len + 4, s, n);
	}
	b->len = end;
}

static void
put_str(struct hin *b, const char *s)
{
	put_field(b, s, strlen(s));
}

/* The decimal form of v, as "%lld" would write it (without printf's
 * cost: four of these per record, appended and verified). */
static void
put_int(struct hin *b, int64_t v)
{
	char num[KURA_I64_TEXT_MAX];

	put_field(b, num, kura_i64_text(v, num));
}

static void
put_row(struct hin *b, const struct store_audit *r)
{
	put_str(b, "kura-audit-v1");
	put_int(b, r->seq);
	put_str(b, r->id);
	put_str(b, r->tenant_id);
	put_int(b, r->tenant_seq);
	put_int(b, r->time_us);
	put_str(b, r->actor_type);
	put_str(b, r->actor_id);
	put_str(b, r->source_ip);
	put_str(b, r->request_id);
	put_str(b, r->action);
	put_str(b, r->resource_type);
	put_str(b, r->resource_id);
	put_str(b, r->outcome);
	put_int(b, r->status);
	put_str(b, r->detail ? r->detail : "");
	put_str(b, r->prev_tenant_hash);
	put_str(b, r->prev_hash);
}

kura_err
audit_row_hash(const struct store_audit *r, char ret_hex[AUDIT_HASH_HEX + 1])
{
	uint8_t stack[1024];
	struct hin b = { stack, sizeof(stack), 0, false };
	size_t need;
	kura_err err = KURA_OK;

	put_row(&b, r);
	if (b.too_big)
		return KURA_ETOOBIG;
	if (b.len > b.cap) {
		/* larger than the stack buffer: again, at its size */
		need = b.len;
		if ((b.p = kura_mallocarray(need, 1)) == NULL)
			return KURA_ENOMEM;
		b.cap = need;
		b.len = 0;
		put_row(&b, r);
		if (b.too_big || b.len != need) {
			err = KURA_EINTERNAL;
			goto out;
		}
	}
	err = kcrypto_sha256_hex(b.p, b.len, ret_hex);
out:
	if (b.p != stack)
		free(b.p);
	return err;
}

/* ---- appending ---- */

/* The head a new record links to: the last record, or the retention
 * anchor when every earlier record has expired, or nothing. */
static kura_err
head_of(struct store *s, const char *scope_tenant, int64_t *ret_seq,
    char ret_hash[STORE_INDEX_MAX])
{
	struct store_audit_mark m;
	kura_err err;

	err = store_audit_head(s, scope_tenant, ret_seq, ret_hash);
	if (err != KURA_ENOENT)
		return err;
	err = store_audit_last_mark(s, "anchor", scope_tenant ? scope_tenant :
	    "global", &m);
	if (err == KURA_ENOENT) {
		*ret_seq = 0;
		ret_hash[0] = '\0';
		return KURA_OK;
	}
	if (err)
		return err;
	*ret_seq = m.seq;
	memcpy(ret_hash, m.hash, STORE_INDEX_MAX);
	return KURA_OK;
}

/* Chain heads remembered within one write transaction (the writer's
 * batch): nobody else can append while it holds the write lock. */
#define HEADS_TENANTS 32
struct audit_heads {
	bool have_global;
	int64_t seq;
	char hash[STORE_INDEX_MAX];
	size_t nt, next;
	struct {
		char tenant[STORE_ID_MAX];
		int64_t seq;
		char hash[STORE_INDEX_MAX];
	} t[HEADS_TENANTS];
};

static kura_err
cached_head(struct store *s, struct audit_heads *h, const char *tenant,
    int64_t *ret_seq, char ret_hash[STORE_INDEX_MAX])
{
	size_t i;
	kura_err err;

	if (h == NULL)
		return head_of(s, tenant, ret_seq, ret_hash);
	if (tenant == NULL) {
		if (!h->have_global) {
			if ((err = head_of(s, NULL, &h->seq, h->hash)) != KURA_OK)
				return err;
			h->have_global = true;
		}
		*ret_seq = h->seq;
		memcpy(ret_hash, h->hash, STORE_INDEX_MAX);
		return KURA_OK;
	}
	for (i = 0; i < h->nt; i++)
		if (strcmp(h->t[i].tenant, tenant) == 0)
			break;
	if (i == h->nt) {
		/* fill or replace round-robin; a miss only costs a lookup */
		i = h->nt < HEADS_TENANTS ? h->nt++ : (h->next++ % HEADS_TENANTS);
		snprintf(h->t[i].tenant, sizeof(h->t[i].tenant), "%s", tenant);
		if ((err = head_of(s, tenant, &h->t[i].seq, h->t[i].hash)) != KURA_OK) {
			h->t[i].tenant[0] = '\0';
			return err;
		}
	}
	*ret_seq = h->t[i].seq;
	memcpy(ret_hash, h->t[i].hash, STORE_INDEX_MAX);
	return KURA_OK;
}

/* After an insert: the new row is the head of its chains. */
static void
advance(struct audit_heads *h, const struct store_audit *row)
{
	if (h == NULL)
		return;
	h->have_global = true;
	h->seq = row->seq;
	memcpy(h->hash, row->hash, STORE_INDEX_MAX);
	for (size_t i = 0; row->tenant_id[0] != '\0' && i < h->nt; i++) {
		if (strcmp(h->t[i].tenant, row->tenant_id) == 0) {
			h->t[i].seq = row->tenant_seq;
			memcpy(h->t[i].hash, row->hash, STORE_INDEX_MAX);
		}
	}
}

static kura_err append_with(struct store *s, struct audit_heads *h,
    const struct audit_rec *r, struct store_audit *ret_row);

/* The stored text of a detail: compact, sorted keys, ASCII, as
 * json_dumps writes it (so that an export's object gives the same text
 * back; http/jsontext.h); one that is too long is stored as
 * AUDIT_DETAIL_TRUNCATED.  NULL if out of memory (or not UTF-8, which
 * jansson's checked constructors never let in). */
static char *
detail_text(const json_t *d)
{
	struct kbuf b;
	char *s = NULL;
	kura_err err;

	if (d == NULL)
		return kura_strdup("{}");
	kbuf_init(&b, AUDIT_DETAIL_MAX);
	err = kbuf_reserve(&b, 128);
	if (err == KURA_OK)
		err = json_text(d, true, &b);
	if (err == KURA_OK)
		s = kbuf_steal(&b, NULL);
	else if (err == KURA_ETOOBIG)
		s = kura_strdup(AUDIT_DETAIL_TRUNCATED);
	kbuf_free(&b);
	return s;
}

kura_err
audit_append_tx(struct store *s, const struct audit_rec *r,
    struct store_audit *ret_row)
{
	return append_with(s, NULL, r, ret_row);
}

struct audit_heads *
audit_heads_new(void)
{
	return kura_calloc(1, sizeof(struct audit_heads));
}

kura_err
audit_append_batch(struct store *s, struct audit_heads *h,
    const struct audit_rec *r, struct store_audit *ret_row)
{
	return append_with(s, h, r, ret_row);
}

static kura_err
append_with(struct store *s, struct audit_heads *h, const struct audit_rec *r,
    struct store_audit *ret_row)
{
	struct store_audit row;
	char *detail = NULL;
	int64_t seq = 0;
	kura_err err;

	memset(&row, 0, sizeof(row));
	if ((detail = detail_text(r->detail)) == NULL)
		return KURA_ENOMEM;
	row.detail = detail;
	if ((err = kcrypto_id_new("evt", row.id)) != KURA_OK)
		goto out;
	memcpy(row.tenant_id, r->tenant_id, sizeof(row.tenant_id));
	row.time_us = r->time_us ? r->time_us : kura_now_us();
	memcpy(row.actor_type, r->actor_type, sizeof(row.actor_type));
	memcpy(row.actor_id, r->actor_id, sizeof(row.actor_id));
	memcpy(row.source_ip, r->source_ip, sizeof(row.source_ip));
	memcpy(row.request_id, r->request_id, sizeof(row.request_id));
	memcpy(row.action, r->action, sizeof(row.action));
	memcpy(row.resource_type, r->resource_type, sizeof(row.resource_type));
	memcpy(row.resource_id, r->resource_id, sizeof(row.resource_id));
	memcpy(row.outcome, r->outcome, sizeof(row.outcome));
	row.status = r->status;
	if ((err = cached_head(s, h, NULL, &seq, row.prev_hash)) != KURA_OK)
		goto out;
	row.seq = seq + 1;
	if (row.tenant_id[0] != '\0') {
		if ((err = cached_head(s, h, row.tenant_id, &seq,
		    row.prev_tenant_hash)))
			goto out;
		row.tenant_seq = seq + 1;
	}
	if ((err = audit_row_hash(&row, row.hash)) != KURA_OK ||
	    (err = store_audit_insert(s, &row)) != KURA_OK)
		goto out;
	advance(h, &row);
	if (ret_row != NULL) {
		*ret_row = row;
		row.detail = NULL;
	}
out:
	free(row.detail);
	return err;
}

kura_err
audit_append(struct store *s, const struct audit_rec *r)
{
	struct store_audit row;
	kura_err err;

	memset(&row, 0, sizeof(row));
	err = store_begin(s);
	if (err)
		return err;
	err = audit_append_tx(s, r, &row);
	if (err == KURA_OK)
		err = store_commit(s);
	if (err)
		(void)store_rollback(s);
	else
		audit_notify(&row);
	store_audit_clear(&row);
	return err;
}

/* ---- observers ---- */

#define OBSERVERS_MAX 8
static struct { audit_observer_fn fn; void *arg; } observers[OBSERVERS_MAX];
static size_t n_observers;
static pthread_mutex_t observers_lock = PTHREAD_MUTEX_INITIALIZER;

kura_err
audit_add_observer(audit_observer_fn fn, void *arg)
{
	kura_err err = KURA_OK;

	pthread_mutex_lock(&observers_lock);
	if (n_observers == OBSERVERS_MAX) {
		err = KURA_ETOOBIG;
	} else {
		observers[n_observers].fn = fn;
		observers[n_observers].arg = arg;
		n_observers++;
	}
	pthread_mutex_unlock(&observers_lock);
	return err;
}

void
audit_notify(const struct store_audit *row)
{
	size_t n;

	pthread_mutex_lock(&observers_lock);
	n = n_observers;
	pthread_mutex_unlock(&observers_lock);
	/* observers are only added before serving, so reading the array
	 * without the lock after the count is safe */
	for (size_t i = 0; i < n; i++)
		observers[i].fn(observers[i].arg, row);
}

/* ---- export format ---- */

json_t *
audit_row_to_json(const struct store_audit *r)
{
	json_t *detail = json_loads(r->detail ? r->detail : "{}", 0, NULL);

	return json_pack("{s:s,s:I,s:s,s:s?,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
	    "s:s,s:I,s:o,s:s,s:s,s:s}",
	    "type", "record", "seq", (json_int_t)r->seq, "id", r->id,
	    "tenant_id", r->tenant_id[0] ? r->tenant_id : NULL,
	    "tenant_seq", (json_int_t)r->tenant_seq,
	    "time_us", (json_int_t)r->time_us, "actor_type", r->actor_type,
	    "actor_id", r->actor_id, "source_ip", r->source_ip,
	    "request_id", r->request_id, "action", r->action,
	    "resource_type", r->resource_type, "resource_id", r->resource_id,
	    "outcome", r->outcome, "status", (json_int_t)r->status,
	    "detail", detail ? detail : json_object(),
	    "prev_tenant_hash", r->prev_tenant_hash, "prev_hash", r->prev_hash,
	    "hash", r->hash);
}

json_t *
audit_mark_to_json(const struct store_audit_mark *m)
{
	return json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:s}", "type", m->kind,
	    "scope", m->scope, "seq", (json_int_t)m->seq, "hash", m->hash,
	    "time_us", (json_int_t)m->time_us, "key_id", m->key_id,
	    "signature", m->signature);
}
