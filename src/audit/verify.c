/*
 * Verification of the audit trail (LOG-2): recompute every record's hash,
 * follow the global and per-tenant chains from their anchors, check that
 * every signed checkpoint and anchor verifies and that the chain still
 * holds the record each checkpoint sealed.  The first bad record is named.
 * Works on the store or on an exported JSON-lines file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"
#include "core/mem.h"
#include "crypto/kcrypto.h"

#include <stdarg.h>

/* ---- a small string-keyed table ---- */
struct slot {
	char key[STORE_ID_MAX + 24];
	int64_t seq;                    /* chain: last seq; checkpoint: sealed seq */
	char hash[STORE_INDEX_MAX];
	int used;
	int matched;                    /* checkpoint: seen in the chain */
};

struct table {
	struct slot *slots;
	size_t cap, n;
};

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct slot *
table_get(struct table *t, const char *key, int create)
{
	size_t i;

	if (t->cap == 0 || (create && (t->n + 1) * 2 > t->cap)) {
		struct table nt = { NULL, t->cap ? t->cap * 2 : 64, 0 };
		if (!create && t->cap == 0)
			return NULL;
		nt.slots = kura_calloc(nt.cap, sizeof(struct slot));
		if (nt.slots == NULL)
			return NULL;
		for (i = 0; i < t->cap; i++) {
			if (!t->slots[i].used)
				continue;
			size_t j = fnv(t->slots[i].key) & (nt.cap - 1);
			while (nt.slots[j].used)
				j = (j + 1) & (nt.cap - 1);
			nt.slots[j] = t->slots[i];
			nt.n++;
		}
		free(t->slots);
		*t = nt;
	}
	i = fnv(key) & (t->cap - 1);
	while (t->slots[i].used) {
		if (strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	if (!create || strlen(key) >= sizeof(t->slots[i].key))
		return NULL;
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	snprintf(t->slots[i].key, sizeof(t->slots[i].key), "%s", key);
	t->slots[i].used = 1;
	t->n++;
	return &t->slots[i];
}

/* ---- the verifier ---- */
struct verifier {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char key_id[24];                /* of pk: marks must name it */
	const char *tenant;             /* NULL: the whole log */
	int64_t next;                   /* next expected seq (or tenant_seq) */
	char prev[STORE_INDEX_MAX];
	int64_t anchor;                 /* expired prefix end of the scope */
	struct table chains;            /* global mode: per-tenant state */
	struct table anchors;           /* per-tenant anchor seqs */
	struct table checkpoints;       /* "scope/seq" -> sealed hash */
	struct audit_verify_result *res;
};

static void
bad(struct verifier *v, const struct store_audit *row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad(struct verifier *v, const struct store_audit *row, const char *fmt, ...)
{
	va_list ap;

	if (!v->res->ok)
		return;             /* keep the first */
	v->res->ok = false;
	if (row != NULL) {
		v->res->bad_seq = row->seq;
		snprintf(v->res->bad_id, sizeof(v->res->bad_id), "%s", row->id);
	}
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
}

static void
ckpt_key(char *buf, size_t len, const char *scope, int64_t seq)
{
	snprintf(buf, len, "%s/%lld", scope, (long long)seq);
}

/* Take in one mark (before any record). */
static kura_err
add_mark(struct verifier *v, const struct store_audit_mark *m)
{
	char key[STORE_ID_MAX + 24];
	struct slot *sl;

	if (strcmp(m->key_id, v->key_id) != 0) {
		bad(v, NULL, "%s of %s at %lld names key %s, not the key being "
		    "verified with (%s)", m->kind, m->scope, (long long)m->seq,
		    m->key_id, v->key_id);
		return KURA_OK;
	}
	if (!audit_mark_verify(v->pk, m)) {
		bad(v, NULL, "%s of %s at %lld: the signature does not verify",
		    m->kind, m->scope, (long long)m->seq);
		return KURA_OK;
	}
	v->res->checkpoints++;
	if (strcmp(m->kind, "anchor") == 0) {
		bool mine = v->tenant ? strcmp(m->scope, v->tenant) == 0 :
		    strcmp(m->scope, "global") == 0;
		if (mine && m->seq > v->anchor) {
			v->anchor = m->seq;
			v->next = m->seq + 1;
			snprintf(v->prev, sizeof(v->prev), "%s", m->hash);
		}
		if (v->tenant == NULL && strcmp(m->scope, "global") != 0) {
			sl = table_get(&v->chains, m->scope, 1);
			if (sl == NULL)
				return KURA_ENOMEM;
			if (m->seq > sl->seq) {
				sl->seq = m->seq;
				snprintf(sl->hash, sizeof(sl->hash), "%s", m->hash);
			}
			sl = table_get(&v->anchors, m->scope, 1);
			if (sl == NULL)
				return KURA_ENOMEM;
			if (m->seq > sl->seq)
				sl->seq = m->seq;
		}
		return KURA_OK;
	}
	ckpt_key(key, sizeof(key), m->scope, m->seq);
	sl = table_get(&v->checkpoints, key, 1);
	if (sl == NULL)
		return KURA_ENOMEM;
	sl->seq = m->seq;
	snprintf(sl->hash, sizeof(sl->hash), "%s", m->hash);
	return KURA_OK;
}

static void
match_checkpoint(struct verifier *v, const struct store_audit *row,
    const char *scope, int64_t seq)
{
	char key[STORE_ID_MAX + 24];
	struct slot *sl;

	ckpt_key(key, sizeof(key), scope, seq);
	sl = table_get(&v->checkpoints, key, 0);
	if (sl == NULL)
		return;
	sl->matched = 1;
	if (strcmp(sl->hash, row->hash) != 0)
		bad(v, row, "record %lld differs from what checkpoint %s/%lld sealed",
		    (long long)row->seq, scope, (long long)seq);
}

static kura_err
check_row(void *arg, const struct store_audit *row)
{
	struct verifier *v = arg;
	char h[AUDIT_HASH_HEX + 1];
	kura_err err;

	if (!v->res->ok)
		return KURA_OK;
	v->res->records++;
	/* nothing may lie at or below the start of the chain (the retention
	 * anchor, or 0): such a row was inserted by someone else */
	if ((v->tenant == NULL && (row->seq <= v->anchor || row->seq <= 0)) ||
	    (v->tenant != NULL && (row->tenant_seq <= v->anchor ||
	    row->tenant_seq <= 0))) {
		bad(v, row, "record %lld lies before the start of the chain: it was "
		    "inserted", (long long)row->seq);
		return KURA_OK;
	}
	if ((err = audit_row_hash(row, h)) != KURA_OK)
		return err;
	if (strcmp(h, row->hash) != 0) {
		bad(v, row, "record %lld was changed (its hash does not match)",
		    (long long)row->seq);
		return KURA_OK;
	}
	if (v->tenant != NULL) {
		if (strcmp(row->tenant_id, v->tenant) != 0) {
			bad(v, row, "record %lld belongs to another tenant",
			    (long long)row->seq);
			return KURA_OK;
		}
		if (row->tenant_seq != v->next || strcmp(row->prev_tenant_hash, v->prev)) {
			bad(v, row, "the tenant chain breaks at record %lld (a record "
			    "before it was removed, inserted or moved)",
			    (long long)row->seq);
			return KURA_OK;
		}
		v->next = row->tenant_seq + 1;
		snprintf(v->prev, sizeof(v->prev), "%s", row->hash);
		match_checkpoint(v, row, v->tenant, row->tenant_seq);
		return KURA_OK;
	}
	if (row->seq != v->next || strcmp(row->prev_hash, v->prev) != 0) {
		bad(v, row, "the chain breaks at record %lld (a record before it "
		    "was removed, inserted or moved)", (long long)row->seq);
		return KURA_OK;
	}
	v->next = row->seq + 1;
	snprintf(v->prev, sizeof(v->prev), "%s", row->hash);
	match_checkpoint(v, row, "global", row->seq);
	if (row->tenant_id[0] != '\0') {
		struct slot *sl = table_get(&v->chains, row->tenant_id, 1);
		if (sl == NULL)
			return KURA_ENOMEM;
		if (row->tenant_seq != sl->seq + 1 ||
		    strcmp(row->prev_tenant_hash, sl->hash) != 0) {
			bad(v, row, "the chain of tenant %s breaks at record %lld",
			    row->tenant_id, (long long)row->seq);
			return KURA_OK;
		}
		sl->seq = row->tenant_seq;
		snprintf(sl->hash, sizeof(sl->hash), "%s", row->hash);
		match_checkpoint(v, row, row->tenant_id, row->tenant_seq);
	}
	return KURA_OK;
}

/* After the scan: a checkpoint past the end means records were cut off. */
static void
finish(struct verifier *v)
{
	for (size_t i = 0; v->res->ok && i < v->checkpoints.cap; i++) {
		struct slot *sl = &v->checkpoints.slots[i];
		char scope[STORE_ID_MAX + 24], *slash;
		int64_t floor = 0;

		if (!sl->used || sl->matched)
			continue;
		snprintf(scope, sizeof(scope), "%s", sl->key);
		slash = strrchr(scope, '/');
		if (slash != NULL)
			*slash = '\0';
		if (v->tenant == NULL && strcmp(scope, "global") != 0) {
			struct slot *an = table_get(&v->anchors, scope, 0);
			floor = an ? an->seq : 0;
		} else if (v->tenant == NULL || strcmp(scope, v->tenant) == 0) {
			floor = v->anchor;
		}
		if (v->tenant != NULL && strcmp(scope, v->tenant) != 0)
			continue;
		if (sl->seq <= floor)
			continue;   /* sealed a record that retention removed */
		bad(v, NULL, "checkpoint %s/%lld sealed a record that is missing "
		    "(records were removed from the end)", scope, (long long)sl->seq);
	}
}

static void
verifier_free(struct verifier *v)
{
	free(v->chains.slots);
	free(v->anchors.slots);
	free(v->checkpoints.slots);
}

static kura_err
verifier_init(struct verifier *v, const char *tenant, const char *pk_b64,
    struct audit_verify_result *res)
{
	memset(v, 0, sizeof(*v));
	memset(res, 0, sizeof(*res));
	res->ok = true;
	v->res = res;
	v->tenant = tenant;
	v->next = 1;
	if (kcrypto_init() != KURA_OK)
		return KURA_EINTERNAL;
	if (audit_pk_decode(pk_b64, v->pk) != KURA_OK)
		return KURA_EINVAL;
	audit_key_id(v->pk, v->key_id);
	return KURA_OK;
}

kura_err
audit_verify_store(struct store *s, const char *tenant_id,
    const char *public_key_b64, struct audit_verify_result *ret)
{
	struct store_audit_mark *marks = NULL;
	struct verifier v;
	size_t n = 0;
	kura_err err;

	err = verifier_init(&v, tenant_id, public_key_b64, ret);
	if (err)
		return err;
	for (int kind = 0; kind < 2 && err == KURA_OK; kind++) {
		err = store_audit_marks(s, kind ? "checkpoint" : "anchor", tenant_id,
		    &marks, &n);
		for (size_t i = 0; err == KURA_OK && i < n; i++)
			err = add_mark(&v, &marks[i]);
		free(marks);
		marks = NULL;
	}
	/* from the very bottom: rows below the anchor are forgeries */
	if (err == KURA_OK)
		err = store_audit_scan(s, tenant_id, INT64_MIN, check_row, &v);
	if (err == KURA_OK)
		finish(&v);
	verifier_free(&v);
	return err;
}

/* ---- exported files ---- */

static kura_err
str_field(json_t *o, const char *key, char *dst, size_t size, bool opt)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (s == NULL) {
		if (opt && (v == NULL || json_is_null(v))) {
			dst[0] = '\0';
			return KURA_OK;
		}
		return KURA_EINVAL;
	}
	if (strlen(s) >= size)
		return KURA_EINVAL;
	snprintf(dst, size, "%s", s);
	return KURA_OK;
}

static kura_err
int_field(json_t *o, const char *key, int64_t *dst)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return KURA_EINVAL;
	*dst = json_integer_value(v);
	return KURA_OK;
}

static kura_err
parse_row(json_t *o, struct store_audit *r)
{
	kura_err err;
	json_t *detail = json_object_get(o, "detail");

	memset(r, 0, sizeof(*r));
	if ((err = int_field(o, "seq", &r->seq)) ||
	    (err = str_field(o, "id", r->id, sizeof(r->id), false)) ||
	    (err = str_field(o, "tenant_id", r->tenant_id, sizeof(r->tenant_id), true)) ||
	    (err = int_field(o, "tenant_seq", &r->tenant_seq)) ||
	    (err = int_field(o, "time_us", &r->time_us)) ||
	    (err = str_field(o, "actor_type", r->actor_type, sizeof(r->actor_type), false)) ||
	    (err = str_field(o, "actor_id", r->actor_id, sizeof(r->actor_id), false)) ||
	    (err = str_field(o, "source_ip", r->source_ip, sizeof(r->source_ip), false)) ||
	    (err = str_field(o, "request_id", r->request_id, sizeof(r->request_id), false)) ||
	    (err = str_field(o, "action", r->action, sizeof(r->action), false)) ||
	    (err = str_field(o, "resource_type", r->resource_type, sizeof(r->resource_type), false)) ||
	    (err = str_field(o, "resource_id", r->resource_id, sizeof(r->resource_id), false)) ||
	    (err = str_field(o, "outcome", r->outcome, sizeof(r->outcome), false)) ||
	    (err = int_field(o, "status", &r->status)) ||
	    (err = str_field(o, "prev_tenant_hash", r->prev_tenant_hash, sizeof(r->prev_tenant_hash), false)) ||
	    (err = str_field(o, "prev_hash", r->prev_hash, sizeof(r->prev_hash), false)) ||
	    (err = str_field(o, "hash", r->hash, sizeof(r->hash), false)))
		return err;
	if (!json_is_object(detail))
		return KURA_EINVAL;
	/* the stored text was written with the same flags: same bytes */
	r->detail = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	return r->detail ? KURA_OK : KURA_ENOMEM;
}

static kura_err
parse_mark(json_t *o, struct store_audit_mark *m)
{
	kura_err err;

	memset(m, 0, sizeof(*m));
	if ((err = str_field(o, "type", m->kind, sizeof(m->kind), false)) ||
	    (err = str_field(o, "scope", m->scope, sizeof(m->scope), false)) ||
	    (err = int_field(o, "seq", &m->seq)) ||
	    (err = str_field(o, "hash", m->hash, sizeof(m->hash), false)) ||
	    (err = int_field(o, "time_us", &m->time_us)) ||
	    (err = str_field(o, "key_id", m->key_id, sizeof(m->key_id), false)) ||
	    (err = str_field(o, "signature", m->signature, sizeof(m->signature), false)))
		return err;
	return KURA_OK;
}

kura_err
audit_verify_file(const char *path, const char *public_key_b64,
    struct audit_verify_result *ret)
{
	char tenant[STORE_ID_MAX] = "";
	struct verifier v;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	bool records = false, header = false;
	kura_err err;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return KURA_ENOENT;
	err = verifier_init(&v, NULL, public_key_b64, ret);
	while (err == KURA_OK && (len = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *o;
		const char *type;

		lineno++;
		if (len > 256 * 1024) {
			err = KURA_ETOOBIG;
			break;
		}
		o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		type = json_string_value(json_object_get(o, "type"));
		if (o == NULL || type == NULL) {
			json_decref(o);
			bad(&v, NULL, "line %ld is not an export line", lineno);
			break;
		}
		if (strcmp(type, "export") == 0 && !header && lineno == 1) {
			const char *scope = json_string_value(json_object_get(o, "scope"));
			header = true;
			if (scope != NULL && strcmp(scope, "global") != 0 &&
			    strlen(scope) < sizeof(tenant)) {
				snprintf(tenant, sizeof(tenant), "%s", scope);
				v.tenant = tenant;
			}
		} else if ((strcmp(type, "checkpoint") == 0 ||
		    strcmp(type, "anchor") == 0) && !records) {
			struct store_audit_mark m;
			if (parse_mark(o, &m) != KURA_OK)
				bad(&v, NULL, "line %ld: malformed %s", lineno, type);
			else
				err = add_mark(&v, &m);
		} else if (strcmp(type, "record") == 0 && header) {
			struct store_audit r;
			records = true;
			if (parse_row(o, &r) != KURA_OK)
				bad(&v, NULL, "line %ld: malformed record", lineno);
			else
				err = check_row(&v, &r);
			store_audit_clear(&r);
		} else {
			bad(&v, NULL, "line %ld: unexpected '%s' line", lineno, type);
		}
		json_decref(o);
		if (!ret->ok)
			break;
	}
	if (err == KURA_OK && !header)
		bad(&v, NULL, "the file has no export header line");
	if (err == KURA_OK && ret->ok)
		finish(&v);
	free(line);
	fclose(f);
	verifier_free(&v);
	return err;
}
