/*
 * The backend-neutral half of the store: argument validation, the
 * per-thread connection registry, and dispatch through struct store_ops.
 * Validation lives here so that every backend enforces the same limits
 * and the same tenant-context rule.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "store/store.h"

static const char *const tenant_statuses[] = {
	"active", "suspended", "terminated", "purged", NULL
};
static const char *const user_statuses[] = {
	"invited", "active", "disabled", NULL
};

/* ---- validation ---- */

/* s is non-NULL, non-empty, NUL-terminated within a field of size bytes,
 * and printable UTF-8. */
static int
field_ok(const char *s, size_t size)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return 0;
	n = strnlen(s, size);
	if (n >= size)
		return 0;
	return kura_text_ok(s, n);
}

static int
ctx_ok(const struct store_tctx *ctx)
{
	return ctx != NULL && field_ok(ctx->tenant_id, sizeof(ctx->tenant_id));
}

static int
status_ok(const char *s, const char *const *allowed)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(s, allowed[i]) == 0)
			return 1;
	return 0;
}

/* A sealed value is never empty. */
static kura_err
blob_check(const uint8_t *data, size_t len)
{
	if (data == NULL || len == 0)
		return KURA_EINVAL;
	if (len > STORE_BLOB_MAX)
		return KURA_ETOOBIG;
	return KURA_OK;
}

/* Optional free text (password hash, roles): NULL allowed. */
static int
opt_text_ok(const char *s)
{
	return s == NULL || (strnlen(s, STORE_TEXT_MAX + 1) <= STORE_TEXT_MAX &&
	    kura_text_ok(s, STORE_TEXT_MAX));
}

/* ---- connections ---- */

static void
conn_unlink(struct store *s, struct store_conn *c)
{
	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	pthread_mutex_unlock(&s->lock);
}

/* pthread key destructor: the thread exits holding a connection. */
static void
conn_destroy(void *arg)
{
	struct store_conn *c = arg;
	struct store *s = c->store;

	conn_unlink(s, c);
	s->ops->conn_close(c->be);
	free(c);
}

/*
 * The calling thread's connection, opened and registered on first use.
 * With create == 0, *ret_c is NULL if the thread has none yet.
 */
static kura_err
conn_get(struct store *s, int create, struct store_conn **ret_c)
{
	struct store_conn *c;
	kura_err err;

	if ((c = pthread_getspecific(s->key)) != NULL || !create) {
		*ret_c = c;
		return KURA_OK;
	}
	if ((c = kura_calloc(1, sizeof(*c))) == NULL)
		return KURA_ENOMEM;
	c->store = s;
	if ((err = s->ops->conn_open(s->target, &c->be)) != KURA_OK) {
		free(c);
		return err;
	}
	if (pthread_setspecific(s->key, c) != 0) {
		s->ops->conn_close(c->be);
		free(c);
		return KURA_ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	*ret_c = c;
	return KURA_OK;
}

/* Shorthand: the calling thread's backend connection, or return err. */
#define CONN(s, be) do {						\
	struct store_conn *c_;						\
	kura_err e_;							\
	if ((s) == NULL)						\
		return KURA_EINVAL;					\
	if ((e_ = conn_get((s), 1, &c_)) != KURA_OK)			\
		return e_;						\
	(be) = c_->be;							\
} while (0)

/* ---- lifecycle ---- */

/*
 * Create a store over the given backend.  The first connection is opened
 * here (on the calling thread) so that a bad path or database fails now.
 */
static kura_err
store_new(const struct store_ops *ops, const char *target,
    struct store **ret_store)
{
	struct store *s = NULL;
	struct store_conn *c;
	int have_key = 0, have_lock = 0;
	kura_err err;

	if (target == NULL || target[0] == '\0')
		return KURA_EINVAL;
	if (ops->init != NULL && (err = ops->init(target)) != KURA_OK)
		return err;
	if ((s = kura_calloc(1, sizeof(*s))) == NULL)
		return KURA_ENOMEM;
	s->ops = ops;
	if ((s->target = kura_strdup(target)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		err = KURA_ENOMEM;
		goto out;
	}
	have_lock = 1;
	if (pthread_key_create(&s->key, conn_destroy) != 0) {
		err = KURA_ENOMEM;
		goto out;
	}
	have_key = 1;
	if ((err = conn_get(s, 1, &c)) != KURA_OK)
		goto out;
	*ret_store = s;
	s = NULL;
out:
	if (s != NULL) {
		if (have_key)
			pthread_key_delete(s->key);
		if (have_lock)
			pthread_mutex_destroy(&s->lock);
		free(s->target);
		free(s);
	}
	return err;
}

kura_err
store_open_sqlite(const char *path, struct store **ret_store)
{
	if (ret_store == NULL)
		return KURA_EINVAL;
	return store_new(&store_sqlite_ops, path, ret_store);
}

/* Close every thread's connection; see store.h for the threading rule. */
void
store_close(struct store *s)
{
	struct store_conn *c, *next;

	if (s == NULL)
		return;
	pthread_setspecific(s->key, NULL);
	pthread_mutex_lock(&s->lock);
	c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		s->ops->conn_close(c->be);
		free(c);
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	free(s->target);
	free(s);
}

void
store_thread_done(struct store *s)
{
	struct store_conn *c;

	if (s == NULL || conn_get(s, 0, &c) != KURA_OK || c == NULL)
		return;
	pthread_setspecific(s->key, NULL);
	conn_unlink(s, c);
	s->ops->conn_close(c->be);
	free(c);
}

kura_err
store_migrate(struct store *s)
{
	void *be;

	CONN(s, be);
	return s->ops->migrate(be, store_migrations, store_migrations_count);
}

kura_err
store_schema_version(struct store *s, int *ret_current, int *ret_newest)
{
	void *be;
	kura_err err;
	int cur = 0;

	if (ret_current == NULL || ret_newest == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	if ((err = s->ops->schema_version(be, &cur)) != KURA_OK)
		return err;
	*ret_current = cur;
	*ret_newest = store_migrations_count > 0 ?
	    store_migrations[store_migrations_count - 1].version : 0;
	return KURA_OK;
}

kura_err
store_ping(struct store *s)
{
	void *be;

	CONN(s, be);
	return s->ops->ping(be);
}

kura_err
store_integrity_check(struct store *s, char **ret_detail)
{
	char *detail = NULL;
	kura_err err;
	void *be;

	if (ret_detail == NULL)
		return KURA_EINVAL;
	*ret_detail = NULL;
	CONN(s, be);
	err = s->ops->integrity_check(be, &detail);
	*ret_detail = detail;
	return err;
}

/* ---- transactions ---- */

kura_err
store_begin(struct store *s)
{
	void *be;

	CONN(s, be);
	if (s->ops->in_tx(be))
		return KURA_ECONFLICT;
	return s->ops->begin(be);
}

kura_err
store_commit(struct store *s)
{
	void *be;

	CONN(s, be);
	if (!s->ops->in_tx(be))
		return KURA_ECONFLICT;
	return s->ops->commit(be);
}

kura_err
store_rollback(struct store *s)
{
	struct store_conn *c;
	kura_err err;

	if (s == NULL)
		return KURA_EINVAL;
	if ((err = conn_get(s, 0, &c)) != KURA_OK)
		return err;
	if (c == NULL || !s->ops->in_tx(c->be))
		return KURA_OK;
	return s->ops->rollback(c->be);
}

/* ---- tenant registry ---- */

kura_err
store_tenant_insert(struct store *s, const struct store_tenant *t)
{
	struct store_tenant row;
	kura_err err;
	void *be;
	int64_t now;

	if (t == NULL || !field_ok(t->id, sizeof(t->id)) ||
	    !field_ok(t->contract_id, sizeof(t->contract_id)) ||
	    !status_ok(t->status, tenant_statuses) || t->seats == 0 ||
	    !field_ok(t->region, sizeof(t->region)) ||
	    !field_ok(t->timezone, sizeof(t->timezone)))
		return KURA_EINVAL;
	if ((err = blob_check(t->name.data, t->name.len)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *t;
	now = kura_now_us();
	if (row.created_us == 0)
		row.created_us = now;
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->tenant_insert(be, &row);
}

kura_err
store_tenant_get(struct store *s, const char *id, struct store_tenant **ret_t)
{
	void *be;

	if (!field_ok(id, STORE_ID_MAX) || ret_t == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tenant_get(be, id, ret_t);
}

kura_err
store_tenant_get_by_contract(struct store *s, const char *contract_id,
    struct store_tenant **ret_t)
{
	void *be;

	if (!field_ok(contract_id, STORE_CONTRACT_MAX + 1) || ret_t == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tenant_get_by_contract(be, contract_id, ret_t);
}

kura_err
store_tenant_list(struct store *s, struct store_tenant **ret_list,
    size_t *ret_n)
{
	void *be;

	if (ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tenant_list(be, ret_list, ret_n);
}

/* Sets status and updated_us (now).  KURA_ENOENT if no such tenant. */
kura_err
store_tenant_set_status(struct store *s, const char *id, const char *status)
{
	void *be;

	if (!field_ok(id, STORE_ID_MAX) || !status_ok(status, tenant_statuses))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tenant_set_status(be, id, status, kura_now_us());
}

void
store_tenant_clear(struct store_tenant *t)
{
	if (t == NULL)
		return;
	KURA_FREE(t->name.data);
	t->name.len = 0;
}

void
store_tenant_free(struct store_tenant *t)
{
	store_tenant_clear(t);
	free(t);
}

void
store_tenant_list_free(struct store_tenant *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_tenant_clear(&list[i]);
	free(list);
}

/* ---- tenant keys ---- */

kura_err
store_tkey_insert(struct store *s, const struct store_tenant_key *k)
{
	struct store_tenant_key row;
	kura_err err;
	void *be;

	if (k == NULL || !field_ok(k->tenant_id, sizeof(k->tenant_id)))
		return KURA_EINVAL;
	if ((err = blob_check(k->wrapped.data, k->wrapped.len)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *k;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	return s->ops->tkey_insert(be, &row);
}

kura_err
store_tkey_list(struct store *s, const struct store_tctx *ctx,
    struct store_tenant_key **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tkey_list(be, ctx, ret_list, ret_n);
}

kura_err
store_tkey_list_all(struct store *s, struct store_tenant_key **ret_list,
    size_t *ret_n)
{
	void *be;

	if (ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tkey_list_all(be, ret_list, ret_n);
}

kura_err
store_tkey_rewrap(struct store *s, const char *tenant_id, uint32_t version,
    uint32_t old_kek_version, uint32_t new_kek_version, const uint8_t *blob,
    size_t len)
{
	kura_err err;
	void *be;

	if (!field_ok(tenant_id, STORE_ID_MAX))
		return KURA_EINVAL;
	if ((err = blob_check(blob, len)) != KURA_OK)
		return err;
	CONN(s, be);
	return s->ops->tkey_rewrap(be, tenant_id, version, old_kek_version,
	    new_kek_version, blob, len);
}

kura_err
store_tkey_kek_versions(struct store *s, uint32_t **ret_versions,
    size_t *ret_n)
{
	void *be;

	if (ret_versions == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->tkey_kek_versions(be, ret_versions, ret_n);
}

void
store_tkey_list_free(struct store_tenant_key *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		kura_wipe(list[i].wrapped.data, list[i].wrapped.len);
		free(list[i].wrapped.data);
	}
	free(list);
}

/* ---- users ---- */

kura_err
store_user_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_user *u)
{
	struct store_user row;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || u == NULL)
		return KURA_EINVAL;
	/* the row belongs to the context's tenant, whatever u says */
	if (u->tenant_id[0] != '\0' &&
	    (strnlen(u->tenant_id, sizeof(u->tenant_id)) >=
	    sizeof(u->tenant_id) || strcmp(u->tenant_id, ctx->tenant_id) != 0))
		return KURA_EINVAL;
	if (!field_ok(u->id, sizeof(u->id)) ||
	    !field_ok(u->login_index, sizeof(u->login_index)) ||
	    !field_ok(u->email_index, sizeof(u->email_index)) ||
	    !status_ok(u->status, user_statuses) ||
	    !opt_text_ok(u->password_hash) || !opt_text_ok(u->roles) ||
	    u->must_change_password > 1)
		return KURA_EINVAL;
	if ((err = blob_check(u->login_id.data, u->login_id.len)) != KURA_OK ||
	    (err = blob_check(u->email.data, u->email.len)) != KURA_OK ||
	    (err = blob_check(u->display_name.data,
	    u->display_name.len)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *u;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->user_insert(be, ctx, &row);
}

kura_err
store_user_get(struct store *s, const struct store_tctx *ctx, const char *id,
    struct store_user **ret_u)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_u == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_get(be, ctx, id, ret_u);
}

kura_err
store_user_get_by_login(struct store *s, const struct store_tctx *ctx,
    const char *login_index, struct store_user **ret_u)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(login_index, STORE_INDEX_MAX) ||
	    ret_u == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_get_by_login(be, ctx, login_index, ret_u);
}

kura_err
store_user_list(struct store *s, const struct store_tctx *ctx,
    struct store_user **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_list(be, ctx, ret_list, ret_n);
}

kura_err
store_user_count_seated(struct store *s, const struct store_tctx *ctx,
    uint32_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_count_seated(be, ctx, ret_n);
}

void
store_user_clear(struct store_user *u)
{
	if (u == NULL)
		return;
	KURA_FREE(u->login_id.data);
	u->login_id.len = 0;
	KURA_FREE(u->email.data);
	u->email.len = 0;
	KURA_FREE(u->display_name.data);
	u->display_name.len = 0;
	kura_free_secret_str(u->password_hash);
	u->password_hash = NULL;
	KURA_FREE(u->roles);
}

void
store_user_free(struct store_user *u)
{
	store_user_clear(u);
	free(u);
}

void
store_user_list_free(struct store_user *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_user_clear(&list[i]);
	free(list);
}
