/*
 * The backend-neutral half of the store: argument validation, the
 * per-thread connection registry, and dispatch through struct store_ops.
 * Validation lives here so that every backend enforces the same limits
 * and the same tenant-context rule.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
static const char *const session_kinds[] = {
	"preauth", "full", NULL
};

/* Recovery codes per user: a handful in practice; a hard bound anyway. */
#define RECOVERY_CODES_MAX 100
/* Settings kinds are names chosen in code ("password_policy", ...). */
#define SETTINGS_KIND_MAX 63

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

/* An optional fixed-size field: "" allowed, else as field_ok. */
static int
opt_field_ok(const char *s, size_t size)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, size);
	if (n >= size)
		return 0;
	return n == 0 || kura_text_ok(s, n);
}

/* An optional sealed value: empty ({NULL, 0} or len 0) means absent. */
static kura_err
opt_blob_check(const struct store_blob *b)
{
	if (b->len == 0)
		return KURA_OK;
	return blob_check(b->data, b->len);
}

/* A row's own tenant_id must be empty or equal to the context's: the row
 * always belongs to the context's tenant, and a disagreement is a bug in
 * the caller that must not be papered over. */
static int
row_tenant_ok(const char *tenant_id, size_t size, const struct store_tctx *ctx)
{
	if (tenant_id[0] == '\0')
		return 1;
	return strnlen(tenant_id, size) < size &&
	    strcmp(tenant_id, ctx->tenant_id) == 0;
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

/* ---- checkpoints off the commit path (decisions #53) ---- */

/* The log size (pages) at which a commit asks for a checkpoint: SQLite's
 * own wal_autocheckpoint default. */
#define CKPT_FRAMES 1000
/* The log size (pages, 16 MiB of 4 KiB) from which a checkpoint also
 * makes the log start again (decisions #59). */
#define CKPT_RESTART_FRAMES 4096

struct store_ckpt {
	struct store *s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool want, stop;
	uint64_t runs;
	uint64_t restarts;              /* checkpoints that asked for a restart */
	int last_log;                   /* the log's size after the last one */
	/* the log size that asks for the next checkpoint (see ckpt_main) */
	atomic_int next_at;
};

/* ops->wal_notify's callback, in the committing thread: only a signal */
static void
ckpt_notify(void *arg, int frames)
{
	struct store_ckpt *k = arg;

	if (frames < CKPT_FRAMES)
		return;
	if (frames < atomic_load(&k->next_at)) {
		/* a log started again since: below next_at for good */
		if (frames + CKPT_FRAMES / 4 >= atomic_load(&k->next_at))
			return;
		atomic_store(&k->next_at, 0);
	}
	pthread_mutex_lock(&k->lock);
	if (!k->want) {
		k->want = true;
		pthread_cond_signal(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
}

static kura_err conn_get(struct store *s, int create, struct store_conn **ret_c);

/*
 * The checkpoint thread: one PASSIVE checkpoint per request (requests
 * that come while one runs make one more).  SCHED_BATCH: it does not
 * preempt a request thread when signalled, but gets its share of the CPU.
 */
static void *
ckpt_main(void *arg)
{
	struct store_ckpt *k = arg;
	struct sched_param sp = { .sched_priority = 0 };
	struct store_conn *c;
	int log, done;
	bool restart;
	kura_err err;

	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->want && !k->stop)
			pthread_cond_wait(&k->cond, &k->lock);
		if (k->stop)
			break;
		k->want = false;
		pthread_mutex_unlock(&k->lock);
		log = done = 0;
		/* a log this long has not started again for a while: copy the
		 * rest and start it again, holding off writers for a moment */
		restart = k->last_log >= CKPT_RESTART_FRAMES;
		if ((err = conn_get(k->s, 1, &c)) == KURA_OK)
			err = k->s->ops->checkpoint(c->be, restart, &log, &done);
		if (err != KURA_OK)
			log_warn("store: checkpoint failed: %s", kura_strerror(err));
		/* the next one when the log has grown by a quarter more: a
		 * writer starts the log again only once it is all copied and
		 * no reader is inside it, which under load may take a while,
		 * and until then every commit would ask again */
		atomic_store(&k->next_at, log + CKPT_FRAMES / 4);
		pthread_mutex_lock(&k->lock);
		k->runs++;
		k->restarts += restart;
		k->last_log = log;
	}
	pthread_mutex_unlock(&k->lock);
	store_thread_done(k->s);
	return NULL;
}

static kura_err
ckpt_start(struct store *s)
{
	struct store_ckpt *k;
	struct store_conn *c = NULL;

	if (s->ops->wal_notify == NULL || s->ops->checkpoint == NULL)
		return KURA_OK;
	if ((k = kura_calloc(1, sizeof(*k))) == NULL)
		return KURA_ENOMEM;
	k->s = s;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
		pthread_mutex_destroy(&k->lock);
		pthread_cond_destroy(&k->cond);
		free(k);
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(k->thread, "kura-ckpt");
	s->ckpt = k;
	/* the caller's connection, opened before: connections opened from
	 * now on get the notification in conn_get */
	if (conn_get(s, 0, &c) == KURA_OK && c != NULL)
		s->ops->wal_notify(c->be, ckpt_notify, k);
	return KURA_OK;
}

static void
ckpt_stop(struct store *s)
{
	struct store_ckpt *k = s->ckpt;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
	s->ckpt = NULL;
}

uint64_t
store_checkpoints(struct store *s, uint64_t *ret_restarts)
{
	uint64_t n = 0, r = 0;

	if (s != NULL && s->ckpt != NULL) {
		pthread_mutex_lock(&s->ckpt->lock);
		n = s->ckpt->runs;
		r = s->ckpt->restarts;
		pthread_mutex_unlock(&s->ckpt->lock);
	}
	if (ret_restarts != NULL)
		*ret_restarts = r;
	return n;
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
	if (s->ckpt != NULL)
		s->ops->wal_notify(c->be, ckpt_notify, s->ckpt);
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
	ckpt_stop(s);
	/* a last sync for anybody still waiting, before the connections go */
	gsync_stop(s->group);
	s->group = NULL;
	if (s->sync_h != NULL)
		s->ops->sync_close(s->sync_h);
	s->sync_h = NULL;
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

/*
 * With group durability on (serve), every transaction is begun lazy: its
 * COMMIT does not fsync under the database's write lock.  store_commit
 * then waits for the barrier's next WAL sync (durable on return, as
 * before); store_commit_grouped returns a ticket instead and the caller
 * waits before it tells anybody (api_commit: before the reply).
 */
kura_err
store_begin(struct store *s)
{
	struct store_conn *c;
	kura_err err;

	if (s == NULL)
		return KURA_EINVAL;
	if ((err = conn_get(s, 1, &c)) != KURA_OK)
		return err;
	if ((err = s->ops->read_yield(c->be)) != KURA_OK)
		return err;
	if (s->ops->in_tx(c->be))
		return KURA_ECONFLICT;
	if (s->group == NULL) {
		c->lazy = false;
		return s->ops->begin(c->be);
	}
	if ((err = s->ops->begin_lazy(c->be)) != KURA_OK)
		return err;
	c->lazy = true;
	return KURA_OK;
}

kura_err
store_read_begin(struct store *s)
{
	void *be;
	kura_err err;

	CONN(s, be);
	if ((err = s->ops->read_yield(be)) != KURA_OK)
		return err;
	return s->ops->read_begin(be);
}

kura_err
store_read_relax(struct store *s)
{
	void *be;

	CONN(s, be);
	return s->ops->read_relax(be);
}

kura_err
store_read_end(struct store *s)
{
	void *be;

	CONN(s, be);
	return s->ops->read_end(be);
}

/* Commit the calling thread's transaction; *ret_ticket is 0 if it is
 * durable already (not lazy), else the barrier's ticket for it. */
static kura_err
commit_ticket(struct store *s, uint64_t *ret_ticket)
{
	struct store_conn *c;
	kura_err err;

	if (s == NULL)
		return KURA_EINVAL;
	if ((err = conn_get(s, 1, &c)) != KURA_OK)
		return err;
	if (!s->ops->in_tx(c->be))
		return KURA_ECONFLICT;
	if ((err = s->ops->commit(c->be)) != KURA_OK)
		return err;             /* still open: the caller rolls back */
	/* the ticket is taken after COMMIT returned: any sync that starts
	 * later covers it (core/gsync.h) */
	*ret_ticket = c->lazy ? gsync_ticket(s->group) : 0;
	c->lazy = false;
	return KURA_OK;
}

kura_err
store_commit(struct store *s)
{
	uint64_t ticket = 0;
	kura_err err;

	if ((err = commit_ticket(s, &ticket)) != KURA_OK || ticket == 0)
		return err;
	return gsync_wait(s->group, ticket);
}

kura_err
store_commit_grouped(struct store *s, uint64_t *ret_ticket)
{
	uint64_t ticket = 0;
	kura_err err;

	if (ret_ticket == NULL)
		return KURA_EINVAL;
	if ((err = commit_ticket(s, &ticket)) != KURA_OK)
		return err;
	*ret_ticket = ticket;
	return KURA_OK;
}

kura_err
store_durable_wait_async(struct store *s, uint64_t ticket,
    gsync_done_fn done, void *arg)
{
	if (s == NULL || s->group == NULL || ticket == 0)
		return KURA_EINVAL;
	return gsync_wait_async(s->group, ticket, done, arg);
}

kura_err
store_durable_wait(struct store *s, uint64_t ticket)
{
	if (ticket == 0)
		return KURA_OK;
	if (s == NULL || s->group == NULL)
		return KURA_EINVAL;
	return gsync_wait(s->group, ticket);
}

kura_err
store_group_start(struct store *s)
{
	void *h = NULL;
	kura_err err;

	if (s == NULL)
		return KURA_EINVAL;
	if (s->group != NULL)
		return KURA_ECONFLICT;
	if (s->ops->begin_lazy == NULL || s->ops->sync_open == NULL)
		return KURA_OK;         /* durable commits only, as before */
	if ((err = s->ops->sync_open(s->target, &h)) != KURA_OK)
		return err;
	if ((err = gsync_start(s->ops->sync, h, &s->group)) != KURA_OK) {
		s->ops->sync_close(h);
		return err;
	}
	s->sync_h = h;
	if ((err = ckpt_start(s)) != KURA_OK) {
		gsync_stop(s->group);
		s->group = NULL;
		s->ops->sync_close(h);
		s->sync_h = NULL;
		return err;
	}
	return KURA_OK;
}

void
store_group_stats(struct store *s, struct gsync_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (s != NULL && s->group != NULL)
		gsync_stats(s->group, ret);
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
	c->lazy = false;
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

/*
 * The checks shared by insert and update: every column that update
 * writes, plus the context and the row's tenant.  login_index and
 * login_id (insert only) are checked by the caller.
 */
static kura_err
user_check(const struct store_tctx *ctx, const struct store_user *u)
{
	kura_err err;

	if (!ctx_ok(ctx) || u == NULL)
		return KURA_EINVAL;
	if (!row_tenant_ok(u->tenant_id, sizeof(u->tenant_id), ctx))
		return KURA_EINVAL;
	if (!field_ok(u->id, sizeof(u->id)) ||
	    !field_ok(u->email_index, sizeof(u->email_index)) ||
	    !status_ok(u->status, user_statuses) ||
	    !opt_text_ok(u->password_hash) || !opt_text_ok(u->roles) ||
	    u->must_change_password > 1 || u->mfa_enabled > 1 ||
	    !opt_field_ok(u->invite_hash, sizeof(u->invite_hash)))
		return KURA_EINVAL;
	if ((err = blob_check(u->email.data, u->email.len)) != KURA_OK ||
	    (err = blob_check(u->display_name.data,
	    u->display_name.len)) != KURA_OK ||
	    (err = opt_blob_check(&u->totp_secret)) != KURA_OK ||
	    (err = opt_blob_check(&u->totp_pending)) != KURA_OK)
		return err;
	return KURA_OK;
}

kura_err
store_user_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_user *u)
{
	struct store_user row;
	kura_err err;
	void *be;

	if ((err = user_check(ctx, u)) != KURA_OK)
		return err;
	if (!field_ok(u->login_index, sizeof(u->login_index)))
		return KURA_EINVAL;
	if ((err = blob_check(u->login_id.data, u->login_id.len)) != KURA_OK)
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
	KURA_FREE(u->totp_secret.data);
	u->totp_secret.len = 0;
	KURA_FREE(u->totp_pending.data);
	u->totp_pending.len = 0;
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

/* ---- users: changes ---- */

/*
 * Write every mutable column of u in ctx's tenant (see store.h).
 * updated_us 0 means now.  KURA_ENOENT if the user is not in the tenant,
 * KURA_EEXIST if invite_hash is another user's.
 */
kura_err
store_user_update(struct store *s, const struct store_tctx *ctx,
    const struct store_user *u)
{
	struct store_user row;
	kura_err err;
	void *be;

	if ((err = user_check(ctx, u)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *u;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->user_update(be, ctx, &row);
}

/* KURA_ENOENT if the user is not in ctx's tenant. */
kura_err
store_user_delete(struct store *s, const struct store_tctx *ctx,
    const char *id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_delete(be, ctx, id);
}

kura_err
store_user_get_by_invite(struct store *s, const char *invite_hash,
    struct store_user **ret_u)
{
	void *be;

	if (!field_ok(invite_hash, STORE_INDEX_MAX) || ret_u == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->user_get_by_invite(be, invite_hash, ret_u);
}

/* ---- recovery codes ---- */

/*
 * Replace the user's codes atomically (own transaction, or a savepoint
 * inside the caller's).  At most RECOVERY_CODES_MAX codes; n == 0 just
 * removes them.  KURA_ENOENT if the user is not in ctx's tenant,
 * KURA_EEXIST if hashes repeats a value.
 */
kura_err
store_recovery_replace(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char (*hashes)[STORE_INDEX_MAX], size_t n)
{
	void *be;
	size_t i;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    (hashes == NULL && n > 0))
		return KURA_EINVAL;
	if (n > RECOVERY_CODES_MAX)
		return KURA_ETOOBIG;
	for (i = 0; i < n; i++)
		if (!field_ok(hashes[i], STORE_INDEX_MAX))
			return KURA_EINVAL;
	CONN(s, be);
	return s->ops->recovery_replace(be, ctx, user_id, hashes, n);
}

/* Marks the code used in one conditional UPDATE, so that two concurrent
 * uses of the same code cannot both succeed. */
kura_err
store_recovery_use(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *hash)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    !field_ok(hash, STORE_INDEX_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->recovery_use(be, ctx, user_id, hash, kura_now_us());
}

/* KURA_ENOENT if the user is not in ctx's tenant. */
kura_err
store_recovery_count(struct store *s, const struct store_tctx *ctx,
    const char *user_id, uint32_t *ret_unused)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    ret_unused == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->recovery_count(be, ctx, user_id, ret_unused);
}

/* KURA_ENOENT if the user is not in ctx's tenant. */
kura_err
store_recovery_delete(struct store *s, const struct store_tctx *ctx,
    const char *user_id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->recovery_delete(be, ctx, user_id);
}

/* ---- sessions ---- */

/*
 * The session's tenant is ctx's (a non-empty ses->tenant_id that differs
 * is KURA_EINVAL); KURA_ENOENT if user_id is not a user of that tenant,
 * KURA_EEXIST if the id or token hash is taken.  created_us 0 means now,
 * last_seen_us 0 means created_us; expires_us must be set.  client_ip may
 * be "" (unknown).
 */
kura_err
store_session_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_session *ses)
{
	struct store_session row;
	void *be;

	if (!ctx_ok(ctx) || ses == NULL ||
	    !row_tenant_ok(ses->tenant_id, sizeof(ses->tenant_id), ctx) ||
	    !field_ok(ses->id, sizeof(ses->id)) ||
	    !field_ok(ses->user_id, sizeof(ses->user_id)) ||
	    !field_ok(ses->token_hash, sizeof(ses->token_hash)) ||
	    !field_ok(ses->csrf_hash, sizeof(ses->csrf_hash)) ||
	    !status_ok(ses->kind, session_kinds) ||
	    !opt_field_ok(ses->client_ip, sizeof(ses->client_ip)) ||
	    ses->expires_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	row = *ses;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.last_seen_us == 0)
		row.last_seen_us = row.created_us;
	return s->ops->session_insert(be, ctx, &row);
}

kura_err
store_session_get_by_token(struct store *s, const char *token_hash,
    struct store_session **ret_ses)
{
	void *be;

	if (!field_ok(token_hash, STORE_INDEX_MAX) || ret_ses == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->session_get_by_token(be, token_hash, ret_ses);
}

/* last_seen_us never moves backwards (concurrent requests may finish out
 * of order).  KURA_ENOENT if the session is not in ctx's tenant. */
kura_err
store_session_touch(struct store *s, const struct store_tctx *ctx,
    const char *id, int64_t last_seen_us)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || last_seen_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->session_touch(be, ctx, id, last_seen_us);
}

/*
 * Only a preauth session is promoted, in one conditional UPDATE, so two
 * racing MFA submissions cannot both obtain a full session: KURA_ENOENT
 * if the session is not in ctx's tenant or is already full.
 */
kura_err
store_session_promote(struct store *s, const struct store_tctx *ctx,
    const char *id, const char *new_token_hash, const char *new_csrf_hash,
    int64_t expires_us)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) ||
	    !field_ok(new_token_hash, STORE_INDEX_MAX) ||
	    !field_ok(new_csrf_hash, STORE_INDEX_MAX) || expires_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->session_promote(be, ctx, id, new_token_hash,
	    new_csrf_hash, expires_us);
}

kura_err
store_session_delete(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->session_delete(be, ctx, user_id, id);
}

/* A user of another tenant has no sessions here: KURA_OK, 0 deleted. */
kura_err
store_session_delete_user(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *except_id, size_t *ret_n)
{
	size_t n = 0;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    (except_id != NULL && !field_ok(except_id, STORE_ID_MAX)))
		return KURA_EINVAL;
	CONN(s, be);
	if ((err = s->ops->session_delete_user(be, ctx, user_id, except_id,
	    &n)) != KURA_OK)
		return err;
	if (ret_n != NULL)
		*ret_n = n;
	return KURA_OK;
}

kura_err
store_session_list_user(struct store *s, const struct store_tctx *ctx,
    const char *user_id, struct store_session **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->session_list_user(be, ctx, user_id, ret_list, ret_n);
}

/* Operator scope (no context): housekeeping over every tenant.  ret_n
 * may be NULL. */
kura_err
store_session_purge(struct store *s, int64_t now_us, int64_t idle_before_us,
    size_t *ret_n)
{
	size_t n = 0;
	kura_err err;
	void *be;

	CONN(s, be);
	if ((err = s->ops->session_purge(be, now_us, idle_before_us, &n)) !=
	    KURA_OK)
		return err;
	if (ret_n != NULL)
		*ret_n = n;
	return KURA_OK;
}

void
store_session_free(struct store_session *ses)
{
	free(ses);
}

void
store_session_list_free(struct store_session *list, size_t n)
{
	(void)n;
	free(list);
}

/* ---- custom roles ---- */

static kura_err
role_check(const struct store_tctx *ctx, const struct store_role *r)
{
	kura_err err;

	if (!ctx_ok(ctx) || r == NULL ||
	    !row_tenant_ok(r->tenant_id, sizeof(r->tenant_id), ctx) ||
	    !field_ok(r->id, sizeof(r->id)) ||
	    !field_ok(r->name_index, sizeof(r->name_index)) ||
	    !opt_text_ok(r->permissions))
		return KURA_EINVAL;
	if ((err = blob_check(r->name.data, r->name.len)) != KURA_OK ||
	    (err = opt_blob_check(&r->labels)) != KURA_OK)
		return err;
	return KURA_OK;
}

/* KURA_EEXIST if the id or name_index is taken (name_index per tenant),
 * KURA_ENOENT if ctx's tenant does not exist.  permissions NULL is
 * stored as "", empty labels as absent. */
kura_err
store_role_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_role *r)
{
	struct store_role row;
	kura_err err;
	void *be;

	if ((err = role_check(ctx, r)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *r;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->role_insert(be, ctx, &row);
}

kura_err
store_role_get(struct store *s, const struct store_tctx *ctx, const char *id,
    struct store_role **ret_r)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_r == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->role_get(be, ctx, id, ret_r);
}

/* Roles of the tenant ordered by id. */
kura_err
store_role_list(struct store *s, const struct store_tctx *ctx,
    struct store_role **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->role_list(be, ctx, ret_list, ret_n);
}

/* updated_us 0 means now.  KURA_ENOENT if the role is not in ctx's
 * tenant, KURA_EEXIST if the new name_index is another role's. */
kura_err
store_role_update(struct store *s, const struct store_tctx *ctx,
    const struct store_role *r)
{
	struct store_role row;
	kura_err err;
	void *be;

	if ((err = role_check(ctx, r)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *r;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->role_update(be, ctx, &row);
}

kura_err
store_role_delete(struct store *s, const struct store_tctx *ctx,
    const char *id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->role_delete(be, ctx, id);
}

void
store_role_clear(struct store_role *r)
{
	if (r == NULL)
		return;
	KURA_FREE(r->name.data);
	r->name.len = 0;
	KURA_FREE(r->labels.data);
	r->labels.len = 0;
	KURA_FREE(r->permissions);
}

void
store_role_free(struct store_role *r)
{
	store_role_clear(r);
	free(r);
}

void
store_role_list_free(struct store_role *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_role_clear(&list[i]);
	free(list);
}

/* ---- API tokens ---- */

/*
 * The token's tenant is ctx's (a non-empty t->tenant_id that differs is
 * KURA_EINVAL); KURA_ENOENT if user_id is not a user of that tenant,
 * KURA_EEXIST if the id or token hash is taken.  created_us 0 means now;
 * permissions NULL is stored as "".
 */
kura_err
store_token_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_token *t)
{
	struct store_token row;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || t == NULL ||
	    !row_tenant_ok(t->tenant_id, sizeof(t->tenant_id), ctx) ||
	    !field_ok(t->id, sizeof(t->id)) ||
	    !field_ok(t->user_id, sizeof(t->user_id)) ||
	    !field_ok(t->token_hash, sizeof(t->token_hash)) ||
	    !opt_text_ok(t->permissions) || t->expires_us <= 0 ||
	    t->last_used_us < 0)
		return KURA_EINVAL;
	if ((err = blob_check(t->name.data, t->name.len)) != KURA_OK ||
	    (err = opt_blob_check(&t->labels)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *t;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	return s->ops->token_insert(be, ctx, &row);
}

kura_err
store_token_get_by_hash(struct store *s, const char *token_hash,
    struct store_token **ret_t)
{
	void *be;

	if (!field_ok(token_hash, STORE_INDEX_MAX) || ret_t == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->token_get_by_hash(be, token_hash, ret_t);
}

kura_err
store_token_get(struct store *s, const struct store_tctx *ctx, const char *id,
    struct store_token **ret_t)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_t == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->token_get(be, ctx, id, ret_t);
}

kura_err
store_token_list(struct store *s, const struct store_tctx *ctx,
    const char *user_id, struct store_token **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) ||
	    (user_id != NULL && !field_ok(user_id, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->token_list(be, ctx, user_id, ret_list, ret_n);
}

/* last_used_us never moves backwards.  KURA_ENOENT if the token is not
 * in ctx's tenant. */
kura_err
store_token_touch(struct store *s, const struct store_tctx *ctx,
    const char *id, int64_t last_used_us)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || last_used_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->token_touch(be, ctx, id, last_used_us);
}

kura_err
store_token_delete(struct store *s, const struct store_tctx *ctx,
    const char *id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->token_delete(be, ctx, id);
}

void
store_token_clear(struct store_token *t)
{
	if (t == NULL)
		return;
	KURA_FREE(t->name.data);
	t->name.len = 0;
	KURA_FREE(t->labels.data);
	t->labels.len = 0;
	KURA_FREE(t->permissions);
}

void
store_token_free(struct store_token *t)
{
	store_token_clear(t);
	free(t);
}

void
store_token_list_free(struct store_token *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_token_clear(&list[i]);
	free(list);
}

/* ---- tenant settings ---- */

static int
settings_kind_ok(const char *kind)
{
	return kind != NULL &&
	    strnlen(kind, SETTINGS_KIND_MAX + 1) <= SETTINGS_KIND_MAX &&
	    kura_token_ok(kind, SETTINGS_KIND_MAX, "_.-");
}

/* *ret_doc receives a malloc'd copy (free ret_doc->data with free()). */
kura_err
store_settings_get(struct store *s, const struct store_tctx *ctx,
    const char *kind, struct store_blob *ret_doc)
{
	void *be;

	if (!ctx_ok(ctx) || !settings_kind_ok(kind) || ret_doc == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->settings_get(be, ctx, kind, ret_doc);
}

/* Insert or replace the document.  updated_us 0 means now; KURA_ENOENT
 * if ctx's tenant does not exist. */
kura_err
store_settings_put(struct store *s, const struct store_tctx *ctx,
    const char *kind, const uint8_t *doc, size_t len, int64_t updated_us)
{
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || !settings_kind_ok(kind))
		return KURA_EINVAL;
	if ((err = blob_check(doc, len)) != KURA_OK)
		return err;
	CONN(s, be);
	return s->ops->settings_put(be, ctx, kind, doc, len,
	    updated_us != 0 ? updated_us : kura_now_us());
}

/* ---- audit trail ---- */

static const char *const audit_actor_types[] = { "user", "token", "operator",
    "system", "anonymous", NULL };
static const char *const audit_outcomes[] = { "success", "failure", "denied",
    NULL };
static const char *const audit_mark_kinds[] = { "checkpoint", "anchor", NULL };

kura_err
store_audit_head(struct store *s, const char *tenant_id, int64_t *ret_seq,
    char ret_hash[STORE_INDEX_MAX])
{
	void *be;

	if ((tenant_id != NULL && !field_ok(tenant_id, STORE_ID_MAX)) ||
	    ret_seq == NULL || ret_hash == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_head(be, tenant_id, ret_seq, ret_hash);
}

kura_err
store_audit_insert(struct store *s, const struct store_audit *r)
{
	void *be;

	if (r == NULL || r->seq <= 0 || !field_ok(r->id, sizeof(r->id)) ||
	    !opt_field_ok(r->tenant_id, sizeof(r->tenant_id)) ||
	    (r->tenant_id[0] != '\0') != (r->tenant_seq > 0) ||
	    !status_ok(r->actor_type, audit_actor_types) ||
	    !status_ok(r->outcome, audit_outcomes) ||
	    !opt_field_ok(r->actor_id, sizeof(r->actor_id)) ||
	    !field_ok(r->source_ip, sizeof(r->source_ip)) ||
	    !opt_field_ok(r->request_id, sizeof(r->request_id)) ||
	    !field_ok(r->action, sizeof(r->action)) ||
	    !opt_field_ok(r->resource_type, sizeof(r->resource_type)) ||
	    !opt_field_ok(r->resource_id, sizeof(r->resource_id)) ||
	    r->detail == NULL || !opt_text_ok(r->detail) ||
	    !field_ok(r->hash, sizeof(r->hash)))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_insert(be, r);
}

kura_err
store_audit_scan(struct store *s, const char *tenant_id, int64_t after,
    store_audit_cb cb, void *arg)
{
	void *be;

	/* after may be negative: verification scans from the very bottom so
	 * that no forged row below the chain start goes unseen */
	if ((tenant_id != NULL && !field_ok(tenant_id, STORE_ID_MAX)) || cb == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_scan(be, tenant_id, after, cb, arg);
}

kura_err
store_audit_query(struct store *s, const struct store_tctx *ctx,
    const struct store_audit_filter *f, struct store_audit **ret_list,
    size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || f == NULL || f->limit < 1 || f->limit > 1000 ||
	    f->from_us < 0 || f->to_us < 0 || f->before_tenant_seq < 0 ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_query(be, ctx, f, ret_list, ret_n);
}

kura_err
store_audit_tenant_heads(struct store *s, int64_t max_seq,
    struct store_audit_mark **ret_list, size_t *ret_n)
{
	void *be;

	if (max_seq < 0 || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_tenant_heads(be, max_seq, ret_list, ret_n);
}

kura_err
store_audit_get(struct store *s, int64_t seq, struct store_audit *ret_row)
{
	void *be;

	if (seq <= 0 || ret_row == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_get(be, seq, ret_row);
}

kura_err
store_audit_mark_put(struct store *s, const struct store_audit_mark *m)
{
	void *be;

	if (m == NULL || !status_ok(m->kind, audit_mark_kinds) ||
	    !field_ok(m->scope, sizeof(m->scope)) || m->seq < 0 ||
	    !field_ok(m->hash, sizeof(m->hash)) ||
	    !field_ok(m->key_id, sizeof(m->key_id)) ||
	    !field_ok(m->signature, sizeof(m->signature)))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_mark_put(be, m);
}

kura_err
store_audit_marks(struct store *s, const char *kind, const char *scope,
    struct store_audit_mark **ret_list, size_t *ret_n)
{
	void *be;

	if (!status_ok(kind, audit_mark_kinds) ||
	    (scope != NULL && !field_ok(scope, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_marks(be, kind, scope, ret_list, ret_n);
}

kura_err
store_audit_last_mark(struct store *s, const char *kind, const char *scope,
    struct store_audit_mark *ret_mark)
{
	void *be;

	if (!status_ok(kind, audit_mark_kinds) || !field_ok(scope, STORE_ID_MAX) ||
	    ret_mark == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_last_mark(be, kind, scope, ret_mark);
}

kura_err
store_audit_prefix_end(struct store *s, int64_t before_us, int64_t *ret_seq)
{
	void *be;

	if (before_us < 0 || ret_seq == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_prefix_end(be, before_us, ret_seq);
}

kura_err
store_audit_delete_prefix(struct store *s, int64_t max_seq, size_t *ret_n)
{
	void *be;

	if (max_seq < 0 || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->audit_delete_prefix(be, max_seq, ret_n);
}

void
store_audit_clear(struct store_audit *row)
{
	if (row == NULL)
		return;
	free(row->detail);
	row->detail = NULL;
}

void
store_audit_list_free(struct store_audit *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_audit_clear(&list[i]);
	free(list);
}

/* ---- alerts and notification outbox (0004) ---- */

static const char *const alert_severities[] = { "info", "warning", "critical",
    NULL };
static const char *const outbox_channels[] = { "console", "email", "webhook",
    NULL };
/* Outbox rows one alert may carry (one per channel). */
#define ALERT_OUTBOX_MAX 4
#define NETWORK_TEXT_MAX 64
#define CURSOR_NAME_MAX 63

/* Rule names and cursor names are chosen in code: [a-z0-9_.]. */
static int
alert_name_ok(const char *s, size_t size)
{
	return field_ok(s, size) && kura_token_ok(s, size - 1, "_.");
}

static kura_err
alert_check(const struct store_alert *a, const struct store_outbox *o,
    size_t n_o)
{
	size_t i;

	if (a == NULL || !field_ok(a->id, sizeof(a->id)) ||
	    !opt_field_ok(a->tenant_id, sizeof(a->tenant_id)) ||
	    !alert_name_ok(a->rule, sizeof(a->rule)) ||
	    !status_ok(a->severity, alert_severities) ||
	    !field_ok(a->summary, sizeof(a->summary)) || a->event_seq <= 0 ||
	    !opt_field_ok(a->event_id, sizeof(a->event_id)) ||
	    !opt_field_ok(a->actor_id, sizeof(a->actor_id)) ||
	    !opt_field_ok(a->source_ip, sizeof(a->source_ip)) ||
	    a->created_us < 0 || a->acked_us != 0 || a->acked_by[0] != '\0' ||
	    n_o > ALERT_OUTBOX_MAX || (n_o > 0 && o == NULL))
		return KURA_EINVAL;
	for (i = 0; i < n_o; i++) {
		if (!field_ok(o[i].id, sizeof(o[i].id)) ||
		    strcmp(o[i].tenant_id, a->tenant_id) != 0 ||
		    !status_ok(o[i].channel, outbox_channels) ||
		    strcmp(o[i].alert_id, a->id) != 0 ||
		    !field_ok(o[i].payload, sizeof(o[i].payload)) ||
		    o[i].delivered_us < 0 || o[i].next_attempt_us < 0)
			return KURA_EINVAL;
	}
	return KURA_OK;
}

/* Write the alert with its outbox rows; times of 0 become now. */
kura_err
store_alert_insert(struct store *s, const struct store_alert *a,
    const struct store_outbox *o, size_t n_o)
{
	struct store_outbox rows[ALERT_OUTBOX_MAX];
	struct store_alert row;
	kura_err err;
	size_t i;
	void *be;

	if ((err = alert_check(a, o, n_o)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *a;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	for (i = 0; i < n_o; i++) {
		rows[i] = o[i];
		if (rows[i].created_us == 0)
			rows[i].created_us = row.created_us;
	}
	return s->ops->alert_insert(be, &row, rows, n_o);
}

kura_err
store_alert_get(struct store *s, const struct store_tctx *ctx, const char *id,
    struct store_alert *ret_a)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_a == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_get(be, ctx, id, ret_a);
}

static int
alert_filter_ok(const struct store_alert_filter *f)
{
	return f != NULL && f->acked >= -1 && f->acked <= 1 &&
	    (f->rule == NULL || alert_name_ok(f->rule, STORE_ALERT_RULE_MAX)) &&
	    (f->after_id == NULL || field_ok(f->after_id, STORE_ID_MAX)) &&
	    (f->tenant_id == NULL || opt_field_ok(f->tenant_id, STORE_ID_MAX)) &&
	    f->limit >= 1 && f->limit <= STORE_ALERT_PAGE_MAX;
}

kura_err
store_alert_list(struct store *s, const struct store_tctx *ctx,
    const struct store_alert_filter *f, struct store_alert **ret_list,
    size_t *ret_n)
{
	struct store_alert_filter tf;
	void *be;

	if (!ctx_ok(ctx) || !alert_filter_ok(f) || ret_list == NULL ||
	    ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	tf = *f;
	tf.tenant_id = NULL;    /* the context decides the tenant */
	return s->ops->alert_list(be, ctx, &tf, ret_list, ret_n);
}

kura_err
store_alert_list_all(struct store *s, const struct store_alert_filter *f,
    struct store_alert **ret_list, size_t *ret_n)
{
	void *be;

	if (!alert_filter_ok(f) || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_list(be, NULL, f, ret_list, ret_n);
}

kura_err
store_alert_ack(struct store *s, const struct store_tctx *ctx, const char *id,
    const char *acked_by, int64_t acked_us)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) ||
	    !field_ok(acked_by, 64) || acked_us < 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_ack(be, ctx, id, acked_by,
	    acked_us != 0 ? acked_us : kura_now_us());
}

kura_err
store_outbox_pending(struct store *s, const char *channel, int64_t now_us,
    size_t limit, struct store_outbox **ret_list, size_t *ret_n)
{
	void *be;

	if (!status_ok(channel, outbox_channels) || now_us < 0 || limit < 1 ||
	    limit > STORE_ALERT_PAGE_MAX || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->outbox_pending(be, channel, now_us, limit, ret_list, ret_n);
}

kura_err
store_outbox_attempt(struct store *s, const char *id, int64_t delivered_us,
    int64_t next_attempt_us)
{
	void *be;

	if (!field_ok(id, STORE_ID_MAX) || delivered_us < 0 ||
	    next_attempt_us < 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->outbox_attempt(be, id, delivered_us, next_attempt_us);
}

kura_err
store_network_seen(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *network, int64_t seen_us,
    enum store_net_seen *ret_seen)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(user_id, STORE_ID_MAX) ||
	    !field_ok(network, NETWORK_TEXT_MAX) || seen_us < 0 ||
	    ret_seen == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->network_seen(be, ctx, user_id, network,
	    seen_us != 0 ? seen_us : kura_now_us(), ret_seen);
}

kura_err
store_alert_operator_events(struct store *s, int64_t after, int64_t upto,
    size_t limit, struct store_audit **ret_list, size_t *ret_n)
{
	void *be;

	if (after < 0 || upto < 0 || limit < 1 || limit > STORE_ALERT_PAGE_MAX ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_operator_events(be, after, upto, limit, ret_list,
	    ret_n);
}

kura_err
store_alert_cursor_get(struct store *s, const char *name, int64_t *ret_seq)
{
	void *be;

	if (!alert_name_ok(name, CURSOR_NAME_MAX + 1) || ret_seq == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_cursor_get(be, name, ret_seq);
}

kura_err
store_alert_cursor_put(struct store *s, const char *name, int64_t seq)
{
	void *be;

	if (!alert_name_ok(name, CURSOR_NAME_MAX + 1) || seq < 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->alert_cursor_put(be, name, seq);
}


/* ---- health checks (0005) ---- */

static const char *const health_statuses[] = { "ok", "degraded", "failing", NULL };

kura_err
store_health_put(struct store *s, const struct store_health *h)
{
	void *be;

	if (h == NULL || !field_ok(h->component, sizeof(h->component)) ||
	    !status_ok(h->status, health_statuses) ||
	    !field_ok(h->detail, sizeof(h->detail)) || h->checked_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->health_put(be, h);
}

kura_err
store_health_latest(struct store *s, struct store_health **ret_list,
    size_t *ret_n)
{
	void *be;

	if (ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->health_latest(be, ret_list, ret_n);
}

kura_err
store_health_prune(struct store *s, int64_t before_us, size_t *ret_n)
{
	void *be;

	if (before_us < 0 || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->health_prune(be, before_us, ret_n);
}

kura_err
store_health_probe(struct store *s, const char *value, int64_t now_us)
{
	char back[STORE_HEALTH_PROBE_MAX];
	kura_err err;
	void *be;

	if (!field_ok(value, STORE_HEALTH_PROBE_MAX) || now_us <= 0)
		return KURA_EINVAL;
	CONN(s, be);
	if ((err = s->ops->health_probe_put(be, value, now_us)) != KURA_OK ||
	    (err = s->ops->health_probe_get(be, back)) != KURA_OK)
		return err;
	return strcmp(back, value) == 0 ? KURA_OK : KURA_EIO;
}

/* ---- workspace (0006) ---- */

static const char *const member_roles[] = { "owner", "editor", "viewer", NULL };
static const char *const file_kinds[] = { "user", "generated", NULL };
static const char *const task_statuses[] = { "open", "in_progress", "done",
    NULL };
static const char *const label_types[] = { "project", "directory", "file",
    "task", "role", "token", NULL };
static const char *const export_statuses[] = { "queued", "running", "ready",
    "failed", "expired", NULL };

/* Label indexes one resource may carry. */
#define LABELS_MAX 100

/* A byte count or size the database stores as a signed 64-bit integer. */
static int
size_ok(uint64_t v)
{
	return v <= (uint64_t)INT64_MAX;
}

/* Quotas above INT64_MAX mean "unlimited" and are stored as INT64_MAX. */
static int64_t
quota_clamp(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Arguments of the delete calls that hand back blob ids. */
static int
blobs_out_ok(char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n)
{
	return ret_blobs != NULL && ret_n != NULL;
}

/* projects */

/* Every column insert and update write, plus the context and the row's
 * tenant. */
static kura_err
project_check(const struct store_tctx *ctx, const struct store_project *p)
{
	kura_err err;

	if (!ctx_ok(ctx) || p == NULL ||
	    !row_tenant_ok(p->tenant_id, sizeof(p->tenant_id), ctx) ||
	    !field_ok(p->id, sizeof(p->id)) ||
	    !field_ok(p->name_index, sizeof(p->name_index)) ||
	    !opt_field_ok(p->created_by, sizeof(p->created_by)))
		return KURA_EINVAL;
	if ((err = blob_check(p->name.data, p->name.len)) != KURA_OK ||
	    (err = opt_blob_check(&p->description)) != KURA_OK ||
	    (err = opt_blob_check(&p->labels)) != KURA_OK)
		return err;
	return KURA_OK;
}

/* The row's tenant is ctx's.  created_us 0 means now, updated_us 0 means
 * created_us; created_by may be "" (stored as NULL).  KURA_EEXIST for a
 * taken id or name_index, KURA_ENOENT if the tenant does not exist. */
kura_err
store_project_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_project *p)
{
	struct store_project row;
	kura_err err;
	void *be;

	if ((err = project_check(ctx, p)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *p;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->project_insert(be, ctx, &row);
}

kura_err
store_project_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_project **ret_p)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_p == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->project_get(be, ctx, id, ret_p);
}

kura_err
store_project_list(struct store *s, const struct store_tctx *ctx,
    const char *member_id, struct store_project **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) ||
	    (member_id != NULL && !field_ok(member_id, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->project_list(be, ctx, member_id, ret_list, ret_n);
}

/* updated_us 0 means now.  KURA_ENOENT if the project is not ctx's
 * tenant's, KURA_EEXIST if name_index is another project's. */
kura_err
store_project_update(struct store *s, const struct store_tctx *ctx,
    const struct store_project *p)
{
	struct store_project row;
	kura_err err;
	void *be;

	if ((err = project_check(ctx, p)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *p;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->project_update(be, ctx, &row);
}

/* Atomic (own transaction or a savepoint in the caller's): the blob ids
 * are those of exactly the versions deleted.  *ret_blobs is non-NULL even
 * when empty; free it with free().  KURA_ENOENT if no such project. */
kura_err
store_project_delete(struct store *s, const struct store_tctx *ctx,
    const char *id, char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) ||
	    !blobs_out_ok(ret_blobs, ret_n))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->project_delete(be, ctx, id, ret_blobs, ret_n);
}

void
store_project_clear(struct store_project *p)
{
	if (p == NULL)
		return;
	KURA_FREE(p->name.data);
	p->name.len = 0;
	KURA_FREE(p->description.data);
	p->description.len = 0;
	KURA_FREE(p->labels.data);
	p->labels.len = 0;
}

void
store_project_free(struct store_project *p)
{
	store_project_clear(p);
	free(p);
}

void
store_project_list_free(struct store_project *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_project_clear(&list[i]);
	free(list);
}

/* members */

/* Insert, or change the role of an existing member (added_us is kept
 * then).  added_us 0 means now.  KURA_ENOENT if the project or the user
 * is not ctx's tenant's. */
kura_err
store_member_put(struct store *s, const struct store_tctx *ctx,
    const struct store_member *m)
{
	struct store_member row;
	void *be;

	if (!ctx_ok(ctx) || m == NULL ||
	    !field_ok(m->project_id, sizeof(m->project_id)) ||
	    !field_ok(m->user_id, sizeof(m->user_id)) ||
	    !status_ok(m->role, member_roles) || m->added_us < 0)
		return KURA_EINVAL;
	CONN(s, be);
	row = *m;
	if (row.added_us == 0)
		row.added_us = kura_now_us();
	return s->ops->member_put(be, ctx, &row);
}

kura_err
store_member_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *user_id, struct store_member *ret_m)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(user_id, STORE_ID_MAX) || ret_m == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->member_get(be, ctx, project_id, user_id, ret_m);
}

/* Ordered by user id; free the array with free(). */
kura_err
store_member_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, struct store_member **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->member_list(be, ctx, project_id, ret_list, ret_n);
}

kura_err
store_member_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *user_id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(user_id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->member_delete(be, ctx, project_id, user_id);
}

/* directories */

/* parent_id equal to id is refused here (KURA_ECONFLICT): on insert the
 * database could not tell, as the row would be its own parent. */
static kura_err
dir_check(const struct store_tctx *ctx, const struct store_dir *d)
{
	kura_err err;

	if (!ctx_ok(ctx) || d == NULL ||
	    !row_tenant_ok(d->tenant_id, sizeof(d->tenant_id), ctx) ||
	    !field_ok(d->id, sizeof(d->id)) ||
	    !field_ok(d->project_id, sizeof(d->project_id)) ||
	    !opt_field_ok(d->parent_id, sizeof(d->parent_id)) ||
	    !field_ok(d->name_index, sizeof(d->name_index)))
		return KURA_EINVAL;
	if ((err = blob_check(d->name.data, d->name.len)) != KURA_OK ||
	    (err = opt_blob_check(&d->labels)) != KURA_OK)
		return err;
	if (strcmp(d->parent_id, d->id) == 0)
		return KURA_ECONFLICT;
	return KURA_OK;
}

/* created_us 0 means now, updated_us 0 means created_us.  KURA_EEXIST
 * for a taken id or sibling name, KURA_ENOENT if the project or parent
 * is not ctx's tenant's (or the parent is another project's). */
kura_err
store_dir_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_dir *d)
{
	struct store_dir row;
	kura_err err;
	void *be;

	if ((err = dir_check(ctx, d)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *d;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->dir_insert(be, ctx, &row);
}

kura_err
store_dir_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_dir **ret_d)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX) || ret_d == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->dir_get(be, ctx, project_id, id, ret_d);
}

/* parent_id NULL lists every directory of the project (exports). */
kura_err
store_dir_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *parent_id, struct store_dir **ret_list,
    size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    (parent_id != NULL && !opt_field_ok(parent_id, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->dir_list(be, ctx, project_id, parent_id, ret_list,
	    ret_n);
}

/* Matched by (ctx tenant, d->project_id, d->id); updated_us 0 means now.
 * The ancestry check and the write are one group.  KURA_ECONFLICT for a
 * move into the directory's own subtree, KURA_EEXIST for a taken sibling
 * name, KURA_ENOENT if the directory or new parent is not there. */
kura_err
store_dir_update(struct store *s, const struct store_tctx *ctx,
    const struct store_dir *d)
{
	struct store_dir row;
	kura_err err;
	void *be;

	if ((err = dir_check(ctx, d)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *d;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->dir_update(be, ctx, &row);
}

/* id "" counts the entries at the project's root.  KURA_ENOENT if the
 * project or directory is not there. */
kura_err
store_dir_children(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, uint64_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !opt_field_ok(id, STORE_ID_MAX) || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->dir_children(be, ctx, project_id, id, ret_n);
}

/* Atomic, like store_project_delete; the tree is removed by one
 * statement whatever its depth.  KURA_ENOENT if no such directory. */
kura_err
store_dir_delete_tree(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX) || !blobs_out_ok(ret_blobs, ret_n))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->dir_delete_tree(be, ctx, project_id, id, ret_blobs,
	    ret_n);
}

void
store_dir_clear(struct store_dir *d)
{
	if (d == NULL)
		return;
	KURA_FREE(d->name.data);
	d->name.len = 0;
	KURA_FREE(d->labels.data);
	d->labels.len = 0;
}

void
store_dir_free(struct store_dir *d)
{
	store_dir_clear(d);
	free(d);
}

void
store_dir_list_free(struct store_dir *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_dir_clear(&list[i]);
	free(list);
}

/* files */

static kura_err
file_check(const struct store_tctx *ctx, const struct store_file *f)
{
	kura_err err;

	if (!ctx_ok(ctx) || f == NULL ||
	    !row_tenant_ok(f->tenant_id, sizeof(f->tenant_id), ctx) ||
	    !field_ok(f->id, sizeof(f->id)) ||
	    !field_ok(f->project_id, sizeof(f->project_id)) ||
	    !opt_field_ok(f->directory_id, sizeof(f->directory_id)) ||
	    !field_ok(f->name_index, sizeof(f->name_index)) ||
	    !status_ok(f->kind, file_kinds) ||
	    !opt_field_ok(f->created_by, sizeof(f->created_by)))
		return KURA_EINVAL;
	if ((err = blob_check(f->name.data, f->name.len)) != KURA_OK ||
	    (err = opt_blob_check(&f->labels)) != KURA_OK)
		return err;
	return KURA_OK;
}

/* As store_dir_insert; directory_id "" is the root. */
kura_err
store_file_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_file *f)
{
	struct store_file row;
	kura_err err;
	void *be;

	if ((err = file_check(ctx, f)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *f;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->file_insert(be, ctx, &row);
}

kura_err
store_file_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_file **ret_f)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX) || ret_f == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->file_get(be, ctx, project_id, id, ret_f);
}

kura_err
store_file_get_by_name(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *directory_id, const char *name_index,
    struct store_file **ret_f)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !opt_field_ok(directory_id, STORE_ID_MAX) ||
	    !field_ok(name_index, STORE_INDEX_MAX) || ret_f == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->file_get_by_name(be, ctx, project_id, directory_id,
	    name_index, ret_f);
}

/* Ordered by id; directory_id NULL lists every file of the project
 * (exports). */
kura_err
store_file_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *directory_id,
    struct store_file **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    (directory_id != NULL &&
	    !opt_field_ok(directory_id, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->file_list(be, ctx, project_id, directory_id, ret_list,
	    ret_n);
}

/* Matched by (ctx tenant, f->project_id, f->id); updated_us 0 means now.
 * KURA_EEXIST for a taken sibling name, KURA_ENOENT if the file or the
 * target directory is not there. */
kura_err
store_file_update(struct store *s, const struct store_tctx *ctx,
    const struct store_file *f)
{
	struct store_file row;
	kura_err err;
	void *be;

	if ((err = file_check(ctx, f)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *f;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->file_update(be, ctx, &row);
}

/* Atomic, like store_project_delete.  KURA_ENOENT if no such file. */
kura_err
store_file_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX) || !blobs_out_ok(ret_blobs, ret_n))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->file_delete(be, ctx, project_id, id, ret_blobs, ret_n);
}

void
store_file_clear(struct store_file *f)
{
	if (f == NULL)
		return;
	KURA_FREE(f->name.data);
	f->name.len = 0;
	KURA_FREE(f->labels.data);
	f->labels.len = 0;
}

void
store_file_free(struct store_file *f)
{
	store_file_clear(f);
	free(f);
}

void
store_file_list_free(struct store_file *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_file_clear(&list[i]);
	free(list);
}

/* file versions */

/* created_us 0 means now; uploaded_by may be "" (a generated file).
 * KURA_ENOENT if the file is not ctx's tenant's, KURA_EEXIST if the
 * version number or the blob id is taken. */
kura_err
store_version_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_file_version *v)
{
	struct store_file_version row;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || v == NULL ||
	    !field_ok(v->file_id, sizeof(v->file_id)) || v->version == 0 ||
	    !field_ok(v->blob_id, sizeof(v->blob_id)) || !size_ok(v->size) ||
	    !opt_field_ok(v->uploaded_by, sizeof(v->uploaded_by)) ||
	    v->created_us < 0)
		return KURA_EINVAL;
	if ((err = blob_check(v->sha256.data, v->sha256.len)) != KURA_OK ||
	    (err = opt_blob_check(&v->content_type)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *v;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	return s->ops->version_insert(be, ctx, &row);
}

/* *ret_v owns its blobs: release them with store_version_clear. */
kura_err
store_version_get(struct store *s, const struct store_tctx *ctx,
    const char *file_id, uint32_t version, struct store_file_version *ret_v)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(file_id, STORE_ID_MAX) || version == 0 ||
	    ret_v == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->version_get(be, ctx, file_id, version, ret_v);
}

kura_err
store_version_list(struct store *s, const struct store_tctx *ctx,
    const char *file_id, struct store_file_version **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(file_id, STORE_ID_MAX) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->version_list(be, ctx, file_id, ret_list, ret_n);
}

/* keep >= 1 (store_file_delete removes them all).  Atomic; *ret_blobs as
 * for store_project_delete; ret_bytes may be NULL.  KURA_ENOENT if the
 * file is not ctx's tenant's. */
kura_err
store_version_prune(struct store *s, const struct store_tctx *ctx,
    const char *file_id, uint32_t keep, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n, uint64_t *ret_bytes)
{
	uint64_t bytes = 0;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || !field_ok(file_id, STORE_ID_MAX) || keep == 0 ||
	    !blobs_out_ok(ret_blobs, ret_n))
		return KURA_EINVAL;
	CONN(s, be);
	if ((err = s->ops->version_prune(be, ctx, file_id, keep, ret_blobs,
	    ret_n, &bytes)) != KURA_OK)
		return err;
	if (ret_bytes != NULL)
		*ret_bytes = bytes;
	return KURA_OK;
}

void
store_version_clear(struct store_file_version *v)
{
	if (v == NULL)
		return;
	KURA_FREE(v->sha256.data);
	v->sha256.len = 0;
	KURA_FREE(v->content_type.data);
	v->content_type.len = 0;
}

void
store_version_list_free(struct store_file_version *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_version_clear(&list[i]);
	free(list);
}

/* tasks */

static kura_err
task_check(const struct store_tctx *ctx, const struct store_task *t)
{
	kura_err err;

	if (!ctx_ok(ctx) || t == NULL ||
	    !row_tenant_ok(t->tenant_id, sizeof(t->tenant_id), ctx) ||
	    !field_ok(t->id, sizeof(t->id)) ||
	    !field_ok(t->project_id, sizeof(t->project_id)) ||
	    !status_ok(t->status, task_statuses) ||
	    !opt_field_ok(t->assignee_id, sizeof(t->assignee_id)) ||
	    t->due_us < 0 ||
	    !opt_field_ok(t->created_by, sizeof(t->created_by)))
		return KURA_EINVAL;
	if ((err = blob_check(t->title.data, t->title.len)) != KURA_OK ||
	    (err = opt_blob_check(&t->description)) != KURA_OK ||
	    (err = opt_blob_check(&t->labels)) != KURA_OK)
		return err;
	return KURA_OK;
}

/* created_us 0 means now, updated_us 0 means created_us.  KURA_ENOENT if
 * the project or the assignee is not ctx's tenant's. */
kura_err
store_task_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_task *t)
{
	struct store_task row;
	kura_err err;
	void *be;

	if ((err = task_check(ctx, t)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *t;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	if (row.updated_us == 0)
		row.updated_us = row.created_us;
	return s->ops->task_insert(be, ctx, &row);
}

kura_err
store_task_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_task **ret_t)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX) || ret_t == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_get(be, ctx, project_id, id, ret_t);
}

/* Ordered by id.  assignee_id "" selects the unassigned tasks. */
kura_err
store_task_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *status, const char *assignee_id,
    struct store_task **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    (status != NULL && !status_ok(status, task_statuses)) ||
	    (assignee_id != NULL && !opt_field_ok(assignee_id, STORE_ID_MAX)) ||
	    ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_list(be, ctx, project_id, status, assignee_id,
	    ret_list, ret_n);
}

/* Matched by (ctx tenant, t->project_id, t->id); updated_us 0 means now.
 * KURA_ENOENT if the task or the assignee is not there. */
kura_err
store_task_update(struct store *s, const struct store_tctx *ctx,
    const struct store_task *t)
{
	struct store_task row;
	kura_err err;
	void *be;

	if ((err = task_check(ctx, t)) != KURA_OK)
		return err;
	CONN(s, be);
	row = *t;
	if (row.updated_us == 0)
		row.updated_us = kura_now_us();
	return s->ops->task_update(be, ctx, &row);
}

/* Removes its file links and label rows too. */
kura_err
store_task_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(project_id, STORE_ID_MAX) ||
	    !field_ok(id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_delete(be, ctx, project_id, id);
}

/* KURA_ENOENT if the task is not ctx's tenant's or the file is not in the
 * task's project; KURA_EEXIST if they are linked already. */
kura_err
store_task_link(struct store *s, const struct store_tctx *ctx,
    const char *task_id, const char *file_id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(task_id, STORE_ID_MAX) ||
	    !field_ok(file_id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_link(be, ctx, task_id, file_id);
}

/* KURA_ENOENT if there is no such link in ctx's tenant. */
kura_err
store_task_unlink(struct store *s, const struct store_tctx *ctx,
    const char *task_id, const char *file_id)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(task_id, STORE_ID_MAX) ||
	    !field_ok(file_id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_unlink(be, ctx, task_id, file_id);
}

/* Ordered by file id; free with free().  KURA_ENOENT if the task is not
 * ctx's tenant's. */
kura_err
store_task_files(struct store *s, const struct store_tctx *ctx,
    const char *task_id, char (**ret_ids)[STORE_ID_MAX], size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(task_id, STORE_ID_MAX) ||
	    ret_ids == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->task_files(be, ctx, task_id, ret_ids, ret_n);
}

void
store_task_clear(struct store_task *t)
{
	if (t == NULL)
		return;
	KURA_FREE(t->title.data);
	t->title.len = 0;
	KURA_FREE(t->description.data);
	t->description.len = 0;
	KURA_FREE(t->labels.data);
	t->labels.len = 0;
}

void
store_task_free(struct store_task *t)
{
	store_task_clear(t);
	free(t);
}

void
store_task_list_free(struct store_task *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_task_clear(&list[i]);
	free(list);
}

/* labels */

/*
 * Replace the resource's label indexes with indexes[0..n) atomically (at
 * most LABELS_MAX, else KURA_ETOOBIG; repeats are stored once; n == 0
 * removes them).  The rows are ctx's tenant's.  The resource need not
 * exist yet (handlers set labels before inserting the row, in the same
 * transaction); rows of a resource that never comes are never found by
 * another tenant, and deleting a resource removes its rows.
 */
kura_err
store_labels_set(struct store *s, const struct store_tctx *ctx,
    const char *resource_type, const char *resource_id,
    const char (*indexes)[STORE_INDEX_MAX], size_t n)
{
	void *be;
	size_t i;

	if (!ctx_ok(ctx) || !status_ok(resource_type, label_types) ||
	    !field_ok(resource_id, STORE_ID_MAX) || (indexes == NULL && n > 0))
		return KURA_EINVAL;
	if (n > LABELS_MAX)
		return KURA_ETOOBIG;
	for (i = 0; i < n; i++)
		if (!field_ok(indexes[i], STORE_INDEX_MAX))
			return KURA_EINVAL;
	CONN(s, be);
	return s->ops->labels_set(be, ctx, resource_type, resource_id, indexes,
	    n);
}

/* Ordered by id; *ret_ids is non-NULL even when empty; free with free(). */
kura_err
store_labels_find(struct store *s, const struct store_tctx *ctx,
    const char *resource_type, const char *label_index,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || !status_ok(resource_type, label_types) ||
	    !field_ok(label_index, STORE_INDEX_MAX) || ret_ids == NULL ||
	    ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->labels_find(be, ctx, resource_type, label_index,
	    ret_ids, ret_n);
}

/* usage and quotas */

/* KURA_ENOENT if ctx's tenant does not exist. */
kura_err
store_usage_get(struct store *s, const struct store_tctx *ctx,
    uint64_t default_max_bytes, uint64_t default_max_files,
    struct store_usage *ret_u)
{
	struct store_usage u;
	kura_err err;
	void *be;

	if (!ctx_ok(ctx) || ret_u == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	memset(&u, 0, sizeof(u));
	u.max_bytes = default_max_bytes;
	u.max_files = default_max_files;
	if ((err = s->ops->usage_get(be, ctx, &u)) != KURA_OK)
		return err;
	*ret_u = u;
	return KURA_OK;
}

/*
 * One conditional UPDATE inside a group: a positive delta is refused
 * (KURA_ETOOBIG, nothing changes) when it would take its counter over the
 * quota; negative deltas always apply and stop at zero.  Defaults above
 * INT64_MAX mean unlimited.  KURA_ENOENT if ctx's tenant does not exist.
 */
kura_err
store_usage_add(struct store *s, const struct store_tctx *ctx,
    int64_t delta_bytes, int64_t delta_files, uint64_t default_max_bytes,
    uint64_t default_max_files)
{
	void *be;

	if (!ctx_ok(ctx))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->usage_add(be, ctx, delta_bytes, delta_files,
	    quota_clamp(default_max_bytes), quota_clamp(default_max_files));
}

/* Operator scope: insert or replace the tenant's quota (values above
 * INT64_MAX are stored as INT64_MAX, unlimited).  KURA_ENOENT if no such
 * tenant. */
kura_err
store_quota_set(struct store *s, const char *tenant_id, uint64_t max_bytes,
    uint64_t max_files)
{
	void *be;

	if (!field_ok(tenant_id, STORE_ID_MAX))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->quota_set(be, tenant_id,
	    (uint64_t)quota_clamp(max_bytes), (uint64_t)quota_clamp(max_files),
	    kura_now_us());
}

/* exports */

/* The columns update writes; a ready export names its blob. */
static int
export_ok(const struct store_export *e)
{
	return e != NULL && field_ok(e->id, sizeof(e->id)) &&
	    status_ok(e->status, export_statuses) &&
	    opt_field_ok(e->blob_id, sizeof(e->blob_id)) &&
	    (strcmp(e->status, "ready") != 0 || e->blob_id[0] != '\0') &&
	    size_ok(e->size) && e->ready_us >= 0 && e->expires_us >= 0;
}

/* created_us 0 means now; requested_by may be "".  KURA_EEXIST for a
 * taken id, KURA_ENOENT if the tenant does not exist. */
kura_err
store_export_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_export *e)
{
	struct store_export row;
	void *be;

	if (!ctx_ok(ctx) || !export_ok(e) ||
	    !row_tenant_ok(e->tenant_id, sizeof(e->tenant_id), ctx) ||
	    !opt_field_ok(e->requested_by, sizeof(e->requested_by)) ||
	    e->created_us < 0)
		return KURA_EINVAL;
	CONN(s, be);
	row = *e;
	if (row.created_us == 0)
		row.created_us = kura_now_us();
	return s->ops->export_insert(be, ctx, &row);
}

kura_err
store_export_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_export *ret_e)
{
	void *be;

	if (!ctx_ok(ctx) || !field_ok(id, STORE_ID_MAX) || ret_e == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->export_get(be, ctx, id, ret_e);
}

/* Newest first; free with free(). */
kura_err
store_export_list(struct store *s, const struct store_tctx *ctx,
    struct store_export **ret_list, size_t *ret_n)
{
	void *be;

	if (!ctx_ok(ctx) || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->export_list(be, ctx, ret_list, ret_n);
}

/* Matched by (ctx tenant, e->id).  KURA_ENOENT if not ctx's tenant's. */
kura_err
store_export_update(struct store *s, const struct store_tctx *ctx,
    const struct store_export *e)
{
	void *be;

	if (!ctx_ok(ctx) || !export_ok(e) ||
	    !row_tenant_ok(e->tenant_id, sizeof(e->tenant_id), ctx))
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->export_update(be, ctx, e);
}

/* Operator scope; free with free(). */
kura_err
store_export_queued(struct store *s, struct store_export **ret_list,
    size_t *ret_n)
{
	void *be;

	if (ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->export_queued(be, ret_list, ret_n);
}

/* Operator scope: ready exports with expires_us <= now_us, soonest
 * first; free with free(). */
kura_err
store_export_expired(struct store *s, int64_t now_us,
    struct store_export **ret_list, size_t *ret_n)
{
	void *be;

	if (now_us < 0 || ret_list == NULL || ret_n == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->export_expired(be, now_us, ret_list, ret_n);
}

kura_err
store_blob_referenced(struct store *s, const char *tenant_id, const char *blob_id,
    bool *ret)
{
	void *be;

	if (!field_ok(tenant_id, STORE_ID_MAX) || !field_ok(blob_id, STORE_ID_MAX) ||
	    ret == NULL)
		return KURA_EINVAL;
	CONN(s, be);
	return s->ops->blob_referenced(be, tenant_id, blob_id, ret);
}
