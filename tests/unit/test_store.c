/*
 * Unit tests for src/store (SQLite backend) against a real database file
 * in a private temporary directory.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "crypto/kcrypto.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static uint8_t sealed[] = { 0x01, 0x02, 0x03, 0x04, 0xfe, 0x00, 0xff };

static void
path_in(const struct fixture *f, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", f->dir, name);
	assert_true(n > 0 && (size_t)n < size);
}

static void
rm_db(const char *dir, const char *name)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[224];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s%s", dir, name, sfx[i]);
		unlink(p);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kura_test_store_XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/kura.db", f->dir);
	if (store_open_sqlite(f->path, &f->s) != KURA_OK ||
	    store_migrate(f->s) != KURA_OK) {
		store_close(f->s);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	rm_db(f->dir, "kura.db");
	rm_db(f->dir, "other.db");
	rm_db(f->dir, "loose.db");
	rm_db(f->dir, "link.db");
	rmdir(f->dir);
	free(f);
	return 0;
}

static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static sqlite3_int64
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3_int64 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
set_str(char *dst, size_t size, const char *src)
{
	assert_true(strlen(src) < size);
	memcpy(dst, src, strlen(src) + 1);
}

static void
make_tenant(struct store_tenant *t, const char *id, const char *contract)
{
	memset(t, 0, sizeof(*t));
	set_str(t->id, sizeof(t->id), id);
	set_str(t->contract_id, sizeof(t->contract_id), contract);
	t->name.data = sealed;
	t->name.len = sizeof(sealed);
	t->seats = 10;
	set_str(t->status, sizeof(t->status), "active");
	set_str(t->region, sizeof(t->region), "jp-east");
	set_str(t->timezone, sizeof(t->timezone), "Asia/Tokyo");
	t->created_us = 1700000000000000;
	t->updated_us = 1700000000000001;
}

static void
add_tenant(struct store *s, const char *id, const char *contract)
{
	struct store_tenant t;

	make_tenant(&t, id, contract);
	assert_int_equal(store_tenant_insert(s, &t), KURA_OK);
}

static void
make_user(struct store_user *u, const char *id, const char *login_index,
    const char *status)
{
	memset(u, 0, sizeof(*u));
	set_str(u->id, sizeof(u->id), id);
	set_str(u->login_index, sizeof(u->login_index), login_index);
	set_str(u->email_index, sizeof(u->email_index), "e0e0");
	u->login_id.data = sealed;
	u->login_id.len = sizeof(sealed);
	u->email.data = sealed;
	u->email.len = 3;
	u->display_name.data = sealed;
	u->display_name.len = 5;
	u->password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
	set_str(u->status, sizeof(u->status), status);
	u->roles = "admin,member";
	u->must_change_password = 1;
}

static struct store_tctx
tctx(const char *tenant_id)
{
	struct store_tctx c;

	memset(&c, 0, sizeof(c));
	set_str(c.tenant_id, sizeof(c.tenant_id), tenant_id);
	return c;
}

/* ---- lifecycle and migrations ---- */

static void
test_open_migrate(void **state)
{
	struct fixture *f = *state;
	int cur = -1, newest = -1;
	sqlite3 *db;

	assert_int_equal(store_schema_version(f->s, &cur, &newest), KURA_OK);
	assert_int_equal(newest, store_migrations_count);
	assert_int_equal(cur, newest);
	assert_int_equal(store_ping(f->s), KURA_OK);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'table' AND name IN "
	    "('tenants', 'tenant_keys', 'users')"), 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'index' AND name IN "
	    "('tenant_keys_kek_version', 'users_tenant_email')"), 2);
	/* journal mode is persistent in the file */
	{
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode",
		    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
		    "wal");
		sqlite3_finalize(st);
	}
	/* STRICT: a text in an INTEGER column is refused */
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO tenants VALUES "
	    "('t', 'c', x'00', 'many', 'active', 'r', 'z', 0, 0)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* second migrate is a no-op */
	assert_int_equal(store_migrate(f->s), KURA_OK);
	assert_int_equal(store_schema_version(f->s, &cur, &newest), KURA_OK);
	assert_int_equal(cur, newest);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	int cur, newest;
	sqlite3 *db;

	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_migrate(f->s), KURA_ECONFLICT);
	assert_int_equal(store_schema_version(f->s, &cur, &newest), KURA_OK);
	assert_int_equal(cur, 999);
	assert_true(newest < cur);
}

static void
test_file_modes(void **state)
{
	struct fixture *f = *state;
	struct store *s2 = NULL;
	char p[160], q[192];
	struct stat sb;
	mode_t old;
	FILE *fp;

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* a permissive umask must not leak into the files */
	path_in(f, "other.db", p, sizeof(p));
	old = umask(0);
	assert_int_equal(store_open_sqlite(p, &s2), KURA_OK);
	umask(old);
	assert_int_equal(store_migrate(s2), KURA_OK);
	add_tenant(s2, "ten_mode", "C-MODE");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(q, sizeof(q), "%s-wal", p);
	assert_int_equal(stat(q, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(q, sizeof(q), "%s-shm", p);
	assert_int_equal(stat(q, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(s2);
	s2 = NULL;

	/* an existing group/world-readable file is refused */
	path_in(f, "loose.db", p, sizeof(p));
	assert_non_null(fp = fopen(p, "w"));
	fclose(fp);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(store_open_sqlite(p, &s2), KURA_EPERM);
	assert_null(s2);

	/* so is a symlink */
	path_in(f, "link.db", q, sizeof(q));
	assert_int_equal(symlink(f->path, q), 0);
	assert_int_equal(store_open_sqlite(q, &s2), KURA_EPERM);
	assert_null(s2);

	assert_int_equal(store_open_sqlite(":memory:", &s2), KURA_EINVAL);
	assert_int_equal(store_open_sqlite("", &s2), KURA_EINVAL);
	assert_int_equal(store_open_sqlite(NULL, &s2), KURA_EINVAL);
	assert_null(s2);
}

/* ---- tenants ---- */

static void
test_tenants(void **state)
{
	struct fixture *f = *state;
	struct store_tenant t, *got = NULL, *list = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_b", "C-200");
	add_tenant(f->s, "ten_a", "C-300");
	add_tenant(f->s, "ten_c", "C-100");

	assert_int_equal(store_tenant_get(f->s, "ten_a", &got), KURA_OK);
	assert_string_equal(got->id, "ten_a");
	assert_string_equal(got->contract_id, "C-300");
	assert_int_equal(got->name.len, sizeof(sealed));
	assert_memory_equal(got->name.data, sealed, sizeof(sealed));
	assert_int_equal(got->seats, 10);
	assert_string_equal(got->status, "active");
	assert_string_equal(got->region, "jp-east");
	assert_string_equal(got->timezone, "Asia/Tokyo");
	assert_true(got->created_us == 1700000000000000);
	assert_true(got->updated_us == 1700000000000001);
	store_tenant_free(got);
	got = NULL;

	assert_int_equal(store_tenant_get_by_contract(f->s, "C-100", &got),
	    KURA_OK);
	assert_string_equal(got->id, "ten_c");
	store_tenant_free(got);
	got = NULL;

	assert_int_equal(store_tenant_list(f->s, &list, &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].contract_id, "C-100");
	assert_string_equal(list[1].contract_id, "C-200");
	assert_string_equal(list[2].contract_id, "C-300");
	store_tenant_list_free(list, n);

	/* duplicates */
	make_tenant(&t, "ten_a", "C-999");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EEXIST);
	make_tenant(&t, "ten_z", "C-100");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EEXIST);

	/* missing */
	assert_int_equal(store_tenant_get(f->s, "ten_none", &got),
	    KURA_ENOENT);
	assert_int_equal(store_tenant_get_by_contract(f->s, "C-0", &got),
	    KURA_ENOENT);
	assert_null(got);
	assert_int_equal(store_tenant_set_status(f->s, "ten_none",
	    "suspended"), KURA_ENOENT);

	/* status */
	assert_int_equal(store_tenant_set_status(f->s, "ten_b", "suspended"),
	    KURA_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_b", &got), KURA_OK);
	assert_string_equal(got->status, "suspended");
	assert_true(got->updated_us > 1700000000000001);
	store_tenant_free(got);
	got = NULL;
	assert_int_equal(store_tenant_set_status(f->s, "ten_b", "sleeping"),
	    KURA_EINVAL);

	/* validation */
	make_tenant(&t, "ten_v", "C-V");
	t.seats = 0;
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINVAL);
	make_tenant(&t, "ten_v", "C-V");
	set_str(t.status, sizeof(t.status), "gone");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINVAL);
	make_tenant(&t, "ten_v", "C-V");
	memset(t.id, 'x', sizeof(t.id));     /* no NUL in the field */
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINVAL);
	make_tenant(&t, "ten_v", "C-V");
	t.name.len = 0;
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINVAL);
	make_tenant(&t, "ten_v", "C-V");
	t.name.len = STORE_BLOB_MAX + 1;
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_ETOOBIG);
	assert_int_equal(store_tenant_insert(f->s, NULL), KURA_EINVAL);
	assert_int_equal(store_tenant_get(f->s, "", &got), KURA_EINVAL);

	/* created_us 0 means now */
	make_tenant(&t, "ten_now", "C-NOW");
	t.created_us = t.updated_us = 0;
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_now", &got), KURA_OK);
	assert_true(got->created_us > 1700000000000000);
	assert_true(got->updated_us == got->created_us);
	store_tenant_free(got);
}

/* ---- tenant keys ---- */

static void
add_key(struct store *s, const char *tenant, uint32_t version, uint32_t kek)
{
	struct store_tenant_key k;

	memset(&k, 0, sizeof(k));
	set_str(k.tenant_id, sizeof(k.tenant_id), tenant);
	k.version = version;
	k.kek_version = kek;
	k.wrapped.data = sealed;
	k.wrapped.len = sizeof(sealed);
	k.created_us = 1700000000000000 + version;
	assert_int_equal(store_tkey_insert(s, &k), KURA_OK);
}

static void
test_tenant_keys(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	struct store_tenant_key k, *list = NULL;
	static const uint8_t nw[] = { 9, 9, 9 };
	uint32_t *vers = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_key(f->s, "ten_a", 2, 1);
	add_key(f->s, "ten_a", 1, 1);
	add_key(f->s, "ten_b", 1, 3);

	/* duplicate version; unknown tenant */
	memset(&k, 0, sizeof(k));
	set_str(k.tenant_id, sizeof(k.tenant_id), "ten_a");
	k.version = 1;
	k.kek_version = 1;
	k.wrapped.data = sealed;
	k.wrapped.len = sizeof(sealed);
	assert_int_equal(store_tkey_insert(f->s, &k), KURA_EEXIST);
	set_str(k.tenant_id, sizeof(k.tenant_id), "ten_none");
	assert_int_equal(store_tkey_insert(f->s, &k), KURA_ENOENT);

	assert_int_equal(store_tkey_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].version, 1);
	assert_int_equal(list[1].version, 2);
	assert_string_equal(list[0].tenant_id, "ten_a");
	assert_int_equal(list[0].wrapped.len, sizeof(sealed));
	assert_memory_equal(list[0].wrapped.data, sealed, sizeof(sealed));
	assert_true(list[1].created_us == 1700000000000002);
	store_tkey_list_free(list, n);

	assert_int_equal(store_tkey_list(f->s, &b, &list, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].kek_version, 3);
	store_tkey_list_free(list, n);

	assert_int_equal(store_tkey_list_all(f->s, &list, &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].tenant_id, "ten_a");
	assert_int_equal(list[0].version, 1);
	assert_string_equal(list[2].tenant_id, "ten_b");
	store_tkey_list_free(list, n);

	assert_int_equal(store_tkey_kek_versions(f->s, &vers, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vers[0], 1);
	assert_int_equal(vers[1], 3);
	free(vers);

	/* rewrap ten_a v1 from KEK 1 to 3 */
	assert_int_equal(store_tkey_rewrap(f->s, "ten_a", 1, 1, 3, nw,
	    sizeof(nw)), KURA_OK);
	/* stale: somebody already moved it */
	assert_int_equal(store_tkey_rewrap(f->s, "ten_a", 1, 1, 4, nw,
	    sizeof(nw)), KURA_ECONFLICT);
	/* no such key */
	assert_int_equal(store_tkey_rewrap(f->s, "ten_a", 7, 1, 3, nw,
	    sizeof(nw)), KURA_ECONFLICT);
	assert_int_equal(store_tkey_rewrap(f->s, "ten_a", 2, 1, 3, NULL, 0),
	    KURA_EINVAL);
	assert_int_equal(store_tkey_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(list[0].kek_version, 3);
	assert_int_equal(list[0].wrapped.len, sizeof(nw));
	assert_memory_equal(list[0].wrapped.data, nw, sizeof(nw));
	assert_int_equal(list[1].kek_version, 1);
	store_tkey_list_free(list, n);

	assert_int_equal(store_tkey_rewrap(f->s, "ten_a", 2, 1, 3, nw,
	    sizeof(nw)), KURA_OK);
	assert_int_equal(store_tkey_kek_versions(f->s, &vers, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vers[0], 3);
	free(vers);

	/* empty list is a valid, freeable array */
	add_tenant(f->s, "ten_c", "C-C");
	{
		struct store_tctx c = tctx("ten_c");
		assert_int_equal(store_tkey_list(f->s, &c, &list, &n),
		    KURA_OK);
		assert_int_equal(n, 0);
		assert_non_null(list);
		store_tkey_list_free(list, n);
	}
}

/* ---- users ---- */

static void
test_users(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_user u, *got = NULL, *list = NULL;
	uint32_t seated = 0;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	make_user(&u, "usr_2", "li2", "active");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);
	make_user(&u, "usr_1", "li1", "invited");
	u.password_hash = NULL;
	u.roles = NULL;
	u.must_change_password = 0;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);
	make_user(&u, "usr_3", "li3", "disabled");
	set_str(u.tenant_id, sizeof(u.tenant_id), "ten_a");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);

	/* duplicate login index in the tenant, duplicate id */
	make_user(&u, "usr_4", "li2", "active");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EEXIST);
	make_user(&u, "usr_1", "li9", "active");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EEXIST);

	/* the row's tenant comes from the context and may not disagree */
	make_user(&u, "usr_5", "li5", "active");
	set_str(u.tenant_id, sizeof(u.tenant_id), "ten_b");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_5", "li5", "bogus");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_5", "li5", "active");
	u.must_change_password = 2;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_5", "li5", "active");
	u.email.data = NULL;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	{
		/* context for a tenant that does not exist */
		struct store_tctx x = tctx("ten_nope");
		make_user(&u, "usr_6", "li6", "active");
		assert_int_equal(store_user_insert(f->s, &x, &u),
		    KURA_ENOENT);
	}

	assert_int_equal(store_user_get(f->s, &a, "usr_2", &got), KURA_OK);
	assert_string_equal(got->id, "usr_2");
	assert_string_equal(got->tenant_id, "ten_a");
	assert_string_equal(got->login_index, "li2");
	assert_string_equal(got->email_index, "e0e0");
	assert_int_equal(got->login_id.len, sizeof(sealed));
	assert_memory_equal(got->login_id.data, sealed, sizeof(sealed));
	assert_int_equal(got->email.len, 3);
	assert_int_equal(got->display_name.len, 5);
	assert_non_null(got->password_hash);
	assert_string_equal(got->password_hash,
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
	assert_string_equal(got->status, "active");
	assert_string_equal(got->roles, "admin,member");
	assert_int_equal(got->must_change_password, 1);
	assert_true(got->created_us > 0 && got->updated_us == got->created_us);
	store_user_free(got);
	got = NULL;

	assert_int_equal(store_user_get_by_login(f->s, &a, "li1", &got),
	    KURA_OK);
	assert_string_equal(got->id, "usr_1");
	assert_null(got->password_hash);
	assert_string_equal(got->roles, "");
	assert_int_equal(got->must_change_password, 0);
	store_user_free(got);
	got = NULL;

	assert_int_equal(store_user_get(f->s, &a, "usr_none", &got),
	    KURA_ENOENT);
	assert_int_equal(store_user_get_by_login(f->s, &a, "nope", &got),
	    KURA_ENOENT);
	assert_null(got);

	assert_int_equal(store_user_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].id, "usr_1");
	assert_string_equal(list[1].id, "usr_2");
	assert_string_equal(list[2].id, "usr_3");
	store_user_list_free(list, n);

	assert_int_equal(store_user_count_seated(f->s, &a, &seated), KURA_OK);
	assert_int_equal(seated, 2);   /* active + invited, not disabled */
}

/*
 * Evidence: TEN-1 (store layer).  A row of tenant A is invisible through
 * every tenant-scoped read made with tenant B's context, even when B
 * knows A's user id and login index; the store cannot be called without
 * a context at all.
 */
static void
test_tenant_isolation(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	struct store_user u, *got = NULL, *list = NULL;
	struct store_tenant_key *keys = NULL;
	uint32_t seated = 99;
	size_t n = 99;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_key(f->s, "ten_a", 1, 1);
	make_user(&u, "usr_a1", "shared_login", "active");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);

	assert_int_equal(store_user_get(f->s, &b, "usr_a1", &got),
	    KURA_ENOENT);
	assert_int_equal(store_user_get_by_login(f->s, &b, "shared_login",
	    &got), KURA_ENOENT);
	assert_null(got);
	assert_int_equal(store_user_list(f->s, &b, &list, &n), KURA_OK);
	assert_int_equal(n, 0);
	store_user_list_free(list, n);
	assert_int_equal(store_user_count_seated(f->s, &b, &seated), KURA_OK);
	assert_int_equal(seated, 0);
	assert_int_equal(store_tkey_list(f->s, &b, &keys, &n), KURA_OK);
	assert_int_equal(n, 0);
	store_tkey_list_free(keys, n);

	/* the same login index is free in B: indexes are per tenant */
	make_user(&u, "usr_b1", "shared_login", "active");
	assert_int_equal(store_user_insert(f->s, &b, &u), KURA_OK);
	assert_int_equal(store_user_get_by_login(f->s, &b, "shared_login",
	    &got), KURA_OK);
	assert_string_equal(got->id, "usr_b1");
	assert_string_equal(got->tenant_id, "ten_b");
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get_by_login(f->s, &a, "shared_login",
	    &got), KURA_OK);
	assert_string_equal(got->id, "usr_a1");
	store_user_free(got);
	got = NULL;
	/* and B still cannot fetch A's row by id */
	assert_int_equal(store_user_get(f->s, &b, "usr_a1", &got),
	    KURA_ENOENT);
	assert_int_equal(store_user_count_seated(f->s, &a, &seated), KURA_OK);
	assert_int_equal(seated, 1);
}

static void
test_null_ctx(void **state)
{
	struct fixture *f = *state;
	struct store_tctx empty, unterminated;
	struct store_user u, *got = NULL, *list = NULL;
	struct store_tenant_key *keys = NULL;
	uint32_t seated;
	size_t n;

	add_tenant(f->s, "ten_a", "C-A");
	memset(&empty, 0, sizeof(empty));
	memset(&unterminated, 'a', sizeof(unterminated));
	make_user(&u, "usr_1", "li1", "active");

	assert_int_equal(store_user_insert(f->s, NULL, &u), KURA_EINVAL);
	assert_int_equal(store_user_insert(f->s, &empty, &u), KURA_EINVAL);
	assert_int_equal(store_user_insert(f->s, &unterminated, &u),
	    KURA_EINVAL);
	assert_int_equal(store_user_get(f->s, NULL, "usr_1", &got),
	    KURA_EINVAL);
	assert_int_equal(store_user_get(f->s, &empty, "usr_1", &got),
	    KURA_EINVAL);
	assert_int_equal(store_user_get_by_login(f->s, NULL, "li1", &got),
	    KURA_EINVAL);
	assert_int_equal(store_user_list(f->s, NULL, &list, &n), KURA_EINVAL);
	assert_int_equal(store_user_list(f->s, &empty, &list, &n),
	    KURA_EINVAL);
	assert_int_equal(store_user_count_seated(f->s, NULL, &seated),
	    KURA_EINVAL);
	assert_int_equal(store_tkey_list(f->s, NULL, &keys, &n), KURA_EINVAL);
	assert_int_equal(store_tkey_list(f->s, &empty, &keys, &n),
	    KURA_EINVAL);
	assert_null(got);
	assert_null(list);
	assert_null(keys);
}

/* ---- transactions ---- */

static void
test_transactions(void **state)
{
	struct fixture *f = *state;
	struct store_tenant *got = NULL;
	sqlite3 *db;

	assert_int_equal(store_rollback(f->s), KURA_OK);   /* no tx */
	assert_int_equal(store_commit(f->s), KURA_ECONFLICT);

	assert_int_equal(store_begin(f->s), KURA_OK);
	assert_int_equal(store_begin(f->s), KURA_ECONFLICT);
	add_tenant(f->s, "ten_r", "C-R");
	assert_int_equal(store_tenant_get(f->s, "ten_r", &got), KURA_OK);
	store_tenant_free(got);
	got = NULL;
	assert_int_equal(store_rollback(f->s), KURA_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_r", &got), KURA_ENOENT);

	assert_int_equal(store_begin(f->s), KURA_OK);
	add_tenant(f->s, "ten_k", "C-K");
	/* another connection does not see it before commit */
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants"), 0);
	assert_int_equal(store_commit(f->s), KURA_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants"), 1);
	sqlite3_close(db);
	assert_int_equal(store_tenant_get(f->s, "ten_k", &got), KURA_OK);
	assert_string_equal(got->contract_id, "C-K");
	store_tenant_free(got);
}

/* A read snapshot: one state for several reads, no writes inside. */
static void
test_read_snapshot(void **state)
{
	struct fixture *f = *state;
	struct store_tenant *got = NULL, t;
	sqlite3 *db;

	assert_int_equal(store_read_end(f->s), KURA_ECONFLICT);   /* none open */
	add_tenant(f->s, "ten_s1", "C-S1");
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_read_begin(f->s), KURA_ECONFLICT);
	assert_int_equal(store_begin(f->s), KURA_ECONFLICT);
	assert_int_equal(store_tenant_get(f->s, "ten_s1", &got), KURA_OK);
	store_tenant_free(got);
	got = NULL;
	/* another connection commits a tenant: the snapshot does not see it */
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tenants (id, contract_id, "
	    "name, seats, status, region, timezone, created_us, updated_us) "
	    "VALUES ('ten_s2', 'C-S2', x'00', 1, 'active', 'jp-east', 'UTC', 1, 1)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_s2", &got), KURA_ENOENT);
	/* a write inside the snapshot is refused and changes nothing */
	make_tenant(&t, "ten_s3", "C-S3");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINTERNAL);
	assert_int_equal(store_tenant_set_status(f->s, "ten_s1", "suspended"),
	    KURA_EINTERNAL);
	assert_int_equal(store_read_end(f->s), KURA_OK);
	assert_int_equal(store_read_end(f->s), KURA_ECONFLICT);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants WHERE id = 'ten_s3'"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants WHERE status <> 'active'"), 0);
	sqlite3_close(db);
	/* after it: the new state, and writes work again */
	assert_int_equal(store_tenant_get(f->s, "ten_s2", &got), KURA_OK);
	store_tenant_free(got);
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_OK);
	/* a snapshot that read nothing ends cleanly too */
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_read_end(f->s), KURA_OK);
	assert_int_equal(store_begin(f->s), KURA_OK);
	assert_int_equal(store_commit(f->s), KURA_OK);
}

/* A relaxed snapshot: reads stay in it; the first write ends it, then
 * runs (and sees) the current state. */
static void
test_read_relaxed(void **state)
{
	struct fixture *f = *state;
	struct store_tenant *got = NULL, t;
	sqlite3 *db;

	assert_int_equal(store_read_relax(f->s), KURA_ECONFLICT);  /* none open */
	add_tenant(f->s, "ten_x1", "C-X1");
	db = raw_open(f->path);

	/* a statement that writes ends it */
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_x1", &got), KURA_OK);
	store_tenant_free(got);
	got = NULL;
	assert_int_equal(store_read_relax(f->s), KURA_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tenants (id, contract_id, "
	    "name, seats, status, region, timezone, created_us, updated_us) "
	    "VALUES ('ten_x2', 'C-X2', x'00', 1, 'active', 'jp-east', 'UTC', 1, 1)",
	    NULL, NULL, NULL), SQLITE_OK);
	/* still the snapshot: the other connection's tenant is not there */
	assert_int_equal(store_tenant_get(f->s, "ten_x2", &got), KURA_ENOENT);
	assert_int_equal(store_tenant_set_status(f->s, "ten_x1", "suspended"),
	    KURA_OK);
	assert_int_equal(raw_int(db,
	    "SELECT count(*) FROM tenants WHERE status = 'suspended'"), 1);
	/* the write ended it: the current state, and nothing left to end */
	assert_int_equal(store_tenant_get(f->s, "ten_x2", &got), KURA_OK);
	store_tenant_free(got);
	got = NULL;
	assert_int_equal(store_read_end(f->s), KURA_ECONFLICT);

	/* a transaction ends it */
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_read_relax(f->s), KURA_OK);
	assert_int_equal(store_begin(f->s), KURA_OK);
	make_tenant(&t, "ten_x3", "C-X3");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_OK);
	assert_int_equal(store_commit(f->s), KURA_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants WHERE id = 'ten_x3'"), 1);
	assert_int_equal(store_read_end(f->s), KURA_ECONFLICT);

	/* a new snapshot replaces it; a relaxed one that saw no write ends */
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_read_relax(f->s), KURA_OK);
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	assert_int_equal(store_read_relax(f->s), KURA_OK);
	assert_int_equal(store_tenant_get(f->s, "ten_x3", &got), KURA_OK);
	store_tenant_free(got);
	assert_int_equal(store_read_end(f->s), KURA_OK);
	assert_int_equal(store_read_end(f->s), KURA_ECONFLICT);
	/* and a strict one is strict again */
	assert_int_equal(store_read_begin(f->s), KURA_OK);
	make_tenant(&t, "ten_x4", "C-X4");
	assert_int_equal(store_tenant_insert(f->s, &t), KURA_EINTERNAL);
	assert_int_equal(store_read_end(f->s), KURA_OK);
	sqlite3_close(db);
}

/* Under group durability, commits only signal the checkpoint thread,
 * which copies the log into the database file off the commit path. */
struct ckpt_writer {
	struct store *s;
	kura_err err;
	int n;                          /* transactions (0: 1500) */
};

static void *
ckpt_writer_main(void *arg)
{
	struct ckpt_writer *w = arg;
	struct store_tctx a = tctx("ten_c");
	struct store_user u;
	char id[STORE_ID_MAX], li[STORE_INDEX_MAX];

	/* a thread's first use opens a connection: it gets the signal too */
	for (int i = 0; i < (w->n ? w->n : 1500) && w->err == KURA_OK; i++) {
		snprintf(id, sizeof(id), "usr_c%d", i);
		snprintf(li, sizeof(li), "li_c%d", i);
		make_user(&u, id, li, "active");
		if ((w->err = store_begin(w->s)) != KURA_OK)
			break;
		if ((w->err = store_user_insert(w->s, &a, &u)) != KURA_OK) {
			(void)store_rollback(w->s);
			break;
		}
		w->err = store_commit(w->s);
	}
	store_thread_done(w->s);
	return NULL;
}

static void
test_checkpoint_thread(void **state)
{
	struct fixture *f = *state;
	struct ckpt_writer w = { f->s, KURA_OK, 0 };
	struct stat before, after;
	pthread_t th;
	int i;

	assert_int_equal(store_checkpoints(f->s, NULL), 0);
	assert_int_equal(store_group_start(f->s), KURA_OK);
	add_tenant(f->s, "ten_c", "C-C");
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(pthread_create(&th, NULL, ckpt_writer_main, &w), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.err, KURA_OK);
	/* more than 1000 log pages were written: a checkpoint follows soon;
	 * nobody else checkpoints (no commit does it in its own thread), so
	 * a grown database file is the checkpoint thread's work */
	for (i = 0; i < 1000 && store_checkpoints(f->s, NULL) == 0; i++)
		usleep(10000);
	assert_true(store_checkpoints(f->s, NULL) >= 1);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(stat(f->path, &after), 0);
		if (after.st_size > before.st_size)
			break;
		usleep(10000);
	}
	assert_true(after.st_size > before.st_size);
}

/* A log that never stops growing under steady load: short read
 * snapshots one after another keep a PASSIVE checkpoint from ever
 * catching up with the writer, so the log would never start again.  The
 * checkpoint thread then restarts it (decisions #59): the log file stays
 * near 4096 pages however much is written. */
struct ckpt_reader {
	struct store *s;
	atomic_int stop;
	kura_err err;
};

static void *
ckpt_reader_main(void *arg)
{
	struct ckpt_reader *r = arg;
	struct store_tenant *t = NULL;

	while (!atomic_load(&r->stop) && r->err == KURA_OK) {
		if ((r->err = store_read_begin(r->s)) != KURA_OK)
			break;
		r->err = store_tenant_get(r->s, "ten_c", &t);
		store_tenant_free(t);
		t = NULL;
		if (store_read_end(r->s) != KURA_OK && r->err == KURA_OK)
			r->err = KURA_EIO;
	}
	store_thread_done(r->s);
	return NULL;
}

static void
test_checkpoint_restarts_log(void **state)
{
	struct fixture *f = *state;
	struct ckpt_writer w = { f->s, KURA_OK, 12000 };
	struct ckpt_reader r = { f->s, 0, KURA_OK };
	char wal[300];
	struct stat st;
	pthread_t tw, tr;
	uint64_t restarts = 0;

	assert_int_equal(store_group_start(f->s), KURA_OK);
	add_tenant(f->s, "ten_c", "C-C");
	assert_int_equal(pthread_create(&tr, NULL, ckpt_reader_main, &r), 0);
	assert_int_equal(pthread_create(&tw, NULL, ckpt_writer_main, &w), 0);
	assert_int_equal(pthread_join(tw, NULL), 0);
	atomic_store(&r.stop, 1);
	assert_int_equal(pthread_join(tr, NULL), 0);
	assert_int_equal(w.err, KURA_OK);
	assert_int_equal(r.err, KURA_OK);
	/* 12000 commits wrote far more than 64 MiB of log pages; a log
	 * that started again stays near 16 MiB */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size < 40 * 1024 * 1024);
	(void)store_checkpoints(f->s, &restarts);
	assert_true(restarts >= 1);
}

/* ---- threads ---- */

#define THREAD_USERS 40

struct worker {
	struct store *s;
	int n;
	int release;   /* call store_thread_done, else rely on the destructor */
	kura_err err;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct store_tctx a = tctx("ten_a");
	struct store_user u;
	char id[STORE_ID_MAX], li[STORE_INDEX_MAX];
	int i;

	w->err = KURA_OK;
	for (i = 0; i < THREAD_USERS && w->err == KURA_OK; i++) {
		snprintf(id, sizeof(id), "usr_t%d_%d", w->n, i);
		snprintf(li, sizeof(li), "li_t%d_%d", w->n, i);
		make_user(&u, id, li, "active");
		if (i % 2 == 0) {
			/* half the rows go through explicit transactions */
			if ((w->err = store_begin(w->s)) != KURA_OK)
				break;
			if ((w->err = store_user_insert(w->s, &a, &u)) !=
			    KURA_OK) {
				(void)store_rollback(w->s);
				break;
			}
			w->err = store_commit(w->s);
		} else
			w->err = store_user_insert(w->s, &a, &u);
	}
	if (w->release)
		store_thread_done(w->s);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct worker w[2];
	pthread_t th[2];
	uint32_t seated = 0;
	int i;

	add_tenant(f->s, "ten_a", "C-A");
	for (i = 0; i < 2; i++) {
		w[i].s = f->s;
		w[i].n = i;
		w[i].release = i == 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
		    &w[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].err, KURA_OK);
	}
	assert_int_equal(store_user_count_seated(f->s, &a, &seated), KURA_OK);
	assert_int_equal(seated, 2 * THREAD_USERS);

	/* the main thread can release and transparently reopen */
	store_thread_done(f->s);
	assert_int_equal(store_ping(f->s), KURA_OK);
}

/* ---- integrity ---- */

static void
test_integrity(void **state)
{
	struct fixture *f = *state;
	char *detail = (char *)"unset";
	sqlite3 *db;

	assert_int_equal(store_integrity_check(f->s, &detail), KURA_OK);
	assert_null(detail);

	/* a dangling reference written behind the store's back */
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = OFF; "
	    "INSERT INTO tenant_keys VALUES ('ten_secret_ghost', 1, 1, "
	    "x'00', 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_integrity_check(f->s, &detail), KURA_EIO);
	assert_non_null(detail);
	assert_non_null(strstr(detail, "foreign_key_check"));
	assert_null(strstr(detail, "ghost"));   /* no row content */
	free(detail);
}

/* ---- 0002: users: sign-in state, TOTP, invitations, changes ---- */

static uint8_t totp_sealed[] = { 0x70, 0x71, 0x72 };

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void
add_user(struct store *s, const char *tenant, const char *id,
    const char *login_index)
{
	struct store_tctx c = tctx(tenant);
	struct store_user u;

	make_user(&u, id, login_index, "active");
	assert_int_equal(store_user_insert(s, &c, &u), KURA_OK);
}

static void
test_user_identity_fields(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_user u, *got = NULL, *list = NULL;
	size_t n = 0;
	sqlite3 *db;

	add_tenant(f->s, "ten_a", "C-A");

	/* defaults: everything zero/empty, stored as NULL columns */
	make_user(&u, "usr_1", "li1", "active");
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);
	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got), KURA_OK);
	assert_int_equal(got->failed_logins, 0);
	assert_true(got->locked_until_us == 0 && got->last_login_us == 0 &&
	    got->password_changed_us == 0 && got->totp_last_step == 0 &&
	    got->invite_expires_us == 0);
	assert_int_equal(got->mfa_enabled, 0);
	assert_null(got->totp_secret.data);
	assert_int_equal(got->totp_secret.len, 0);
	assert_null(got->totp_pending.data);
	assert_int_equal(got->totp_pending.len, 0);
	assert_string_equal(got->invite_hash, "");
	store_user_free(got);
	got = NULL;
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM users WHERE "
	    "id = 'usr_1' AND totp_secret IS NULL AND totp_pending IS NULL "
	    "AND invite_hash IS NULL"), 1);
	sqlite3_close(db);

	/* every new field written on insert and read back */
	make_user(&u, "usr_2", "li2", "invited");
	u.password_hash = NULL;
	u.failed_logins = 3;
	u.locked_until_us = INT64_MAX;
	u.last_login_us = 1700000000000100;
	u.password_changed_us = 1700000000000200;
	u.mfa_enabled = 1;
	u.totp_secret.data = totp_sealed;
	u.totp_secret.len = sizeof(totp_sealed);
	u.totp_pending.data = sealed;
	u.totp_pending.len = 2;
	u.totp_last_step = 56666666;
	set_str(u.invite_hash, sizeof(u.invite_hash), HASH_A);
	u.invite_expires_us = 1700000000000300;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);
	assert_int_equal(store_user_get(f->s, &a, "usr_2", &got), KURA_OK);
	assert_int_equal(got->failed_logins, 3);
	assert_true(got->locked_until_us == INT64_MAX);
	assert_true(got->last_login_us == 1700000000000100);
	assert_true(got->password_changed_us == 1700000000000200);
	assert_int_equal(got->mfa_enabled, 1);
	assert_int_equal(got->totp_secret.len, sizeof(totp_sealed));
	assert_memory_equal(got->totp_secret.data, totp_sealed,
	    sizeof(totp_sealed));
	assert_int_equal(got->totp_pending.len, 2);
	assert_memory_equal(got->totp_pending.data, sealed, 2);
	assert_true(got->totp_last_step == 56666666);
	assert_string_equal(got->invite_hash, HASH_A);
	assert_true(got->invite_expires_us == 1700000000000300);
	store_user_free(got);
	got = NULL;

	/* lists carry the new fields too */
	assert_int_equal(store_user_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].invite_hash, HASH_A);
	assert_int_equal(list[1].totp_secret.len, sizeof(totp_sealed));
	assert_null(list[0].totp_secret.data);
	store_user_list_free(list, n);

	/* invitation lookup: no context, tenant filled in */
	assert_int_equal(store_user_get_by_invite(f->s, HASH_A, &got),
	    KURA_OK);
	assert_string_equal(got->id, "usr_2");
	assert_string_equal(got->tenant_id, "ten_a");
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get_by_invite(f->s, HASH_B, &got),
	    KURA_ENOENT);
	assert_int_equal(store_user_get_by_invite(f->s, "", &got),
	    KURA_EINVAL);
	assert_int_equal(store_user_get_by_invite(f->s, NULL, &got),
	    KURA_EINVAL);
	assert_null(got);
	/* the invitation hash is unique */
	make_user(&u, "usr_3", "li3", "invited");
	set_str(u.invite_hash, sizeof(u.invite_hash), HASH_A);
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EEXIST);

	/* validation of the new fields */
	make_user(&u, "usr_3", "li3", "active");
	u.mfa_enabled = 2;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_3", "li3", "active");
	u.totp_secret.len = 4;   /* data NULL */
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_3", "li3", "active");
	u.totp_pending.data = sealed;
	u.totp_pending.len = STORE_BLOB_MAX + 1;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_ETOOBIG);
	make_user(&u, "usr_3", "li3", "active");
	memset(u.invite_hash, 'h', sizeof(u.invite_hash));
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_EINVAL);
}

static void
test_user_update_delete(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_user *got = NULL, u;
	static uint8_t newmail[] = { 0xee, 0xee };
	char *roles;

	add_tenant(f->s, "ten_a", "C-A");
	make_user(&u, "usr_1", "li1", "invited");
	set_str(u.invite_hash, sizeof(u.invite_hash), HASH_A);
	u.invite_expires_us = 5;
	u.created_us = 1000;
	u.updated_us = 1000;
	assert_int_equal(store_user_insert(f->s, &a, &u), KURA_OK);

	/* read, modify, write in one transaction */
	assert_int_equal(store_begin(f->s), KURA_OK);
	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got), KURA_OK);
	set_str(got->status, sizeof(got->status), "active");
	set_str(got->email_index, sizeof(got->email_index), "e1e1");
	free(got->email.data);
	got->email.data = malloc(sizeof(newmail));
	assert_non_null(got->email.data);
	memcpy(got->email.data, newmail, sizeof(newmail));
	got->email.len = sizeof(newmail);
	free(got->roles);
	roles = strdup("member");
	assert_non_null(roles);
	got->roles = roles;
	got->must_change_password = 0;
	got->failed_logins = 2;
	got->locked_until_us = 77;
	got->last_login_us = 88;
	got->password_changed_us = 99;
	got->mfa_enabled = 1;
	got->totp_secret.data = malloc(sizeof(totp_sealed));
	assert_non_null(got->totp_secret.data);
	memcpy(got->totp_secret.data, totp_sealed, sizeof(totp_sealed));
	got->totp_secret.len = sizeof(totp_sealed);
	got->totp_last_step = 1234;
	got->invite_hash[0] = '\0';   /* invitation consumed */
	got->invite_expires_us = 0;
	got->updated_us = 0;          /* now */
	assert_int_equal(store_user_update(f->s, &a, got), KURA_OK);
	assert_int_equal(store_commit(f->s), KURA_OK);
	store_user_free(got);
	got = NULL;

	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got), KURA_OK);
	assert_string_equal(got->status, "active");
	assert_string_equal(got->email_index, "e1e1");
	assert_int_equal(got->email.len, sizeof(newmail));
	assert_memory_equal(got->email.data, newmail, sizeof(newmail));
	assert_string_equal(got->roles, "member");
	assert_string_equal(got->login_index, "li1");   /* not mutable */
	assert_int_equal(got->login_id.len, sizeof(sealed));
	assert_int_equal(got->must_change_password, 0);
	assert_int_equal(got->failed_logins, 2);
	assert_true(got->locked_until_us == 77 && got->last_login_us == 88 &&
	    got->password_changed_us == 99 && got->totp_last_step == 1234);
	assert_int_equal(got->mfa_enabled, 1);
	assert_int_equal(got->totp_secret.len, sizeof(totp_sealed));
	assert_string_equal(got->invite_hash, "");
	assert_true(got->created_us == 1000);
	assert_true(got->updated_us > 1000);
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get_by_invite(f->s, HASH_A, &got),
	    KURA_ENOENT);

	/* a change that keeps the indexed values (the update that leaves
	 * the indexes alone), then one that sets an invitation again (the
	 * full update) */
	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got), KURA_OK);
	got->failed_logins = 3;
	assert_int_equal(store_user_update(f->s, &a, got), KURA_OK);
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got), KURA_OK);
	assert_int_equal(got->failed_logins, 3);
	assert_string_equal(got->email_index, "e1e1");
	set_str(got->invite_hash, sizeof(got->invite_hash), HASH_B);
	assert_int_equal(store_user_update(f->s, &a, got), KURA_OK);
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get_by_invite(f->s, HASH_B, &got), KURA_OK);
	assert_string_equal(got->id, "usr_1");
	assert_int_equal(got->failed_logins, 3);
	got->invite_hash[0] = '\0';
	assert_int_equal(store_user_update(f->s, &a, got), KURA_OK);
	store_user_free(got);
	got = NULL;
	assert_int_equal(store_user_get_by_invite(f->s, HASH_B, &got),
	    KURA_ENOENT);

	/* unknown id; bad values */
	make_user(&u, "usr_none", "li1", "active");
	assert_int_equal(store_user_update(f->s, &a, &u), KURA_ENOENT);
	make_user(&u, "usr_1", "li1", "bogus");
	assert_int_equal(store_user_update(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_1", "li1", "active");
	u.display_name.len = 0;
	assert_int_equal(store_user_update(f->s, &a, &u), KURA_EINVAL);
	make_user(&u, "usr_1", "li1", "active");
	set_str(u.tenant_id, sizeof(u.tenant_id), "ten_b");
	assert_int_equal(store_user_update(f->s, &a, &u), KURA_EINVAL);
	assert_int_equal(store_user_update(f->s, NULL, &u), KURA_EINVAL);
	assert_int_equal(store_user_update(f->s, &a, NULL), KURA_EINVAL);

	/* delete */
	assert_int_equal(store_user_delete(f->s, &a, "usr_1"), KURA_OK);
	assert_int_equal(store_user_get(f->s, &a, "usr_1", &got),
	    KURA_ENOENT);
	assert_int_equal(store_user_delete(f->s, &a, "usr_1"), KURA_ENOENT);
	assert_int_equal(store_user_delete(f->s, NULL, "usr_1"), KURA_EINVAL);
	assert_int_equal(store_user_delete(f->s, &a, ""), KURA_EINVAL);
}

/* A database created by a build that knew only 0001 migrates to the
 * newest schema; its rows read back with the 0002 defaults. */
static void
test_migrate_from_0001(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_old");
	struct store_user *got = NULL;
	struct store *s2 = NULL;
	int cur = 0, newest = 0;
	char p[160];
	sqlite3 *db = NULL;

	assert_true(store_migrations_count >= 2);
	path_in(f, "other.db", p, sizeof(p));
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(sqlite3_exec(db, store_migrations[0].sql, NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1; "
	    "INSERT INTO tenants VALUES ('ten_old', 'C-OLD', x'01', 5, "
	    "'active', 'jp', 'UTC', 10, 10); "
	    "INSERT INTO users VALUES ('usr_old', 'ten_old', 'li', 'ei', "
	    "x'0102', x'0304', x'05', NULL, 'active', 'member', 1, 20, 21)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open_sqlite(p, &s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_int_equal(cur, 1);
	assert_int_equal(store_migrate(s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_int_equal(cur, newest);
	assert_int_equal(cur, store_migrations_count);

	assert_int_equal(store_user_get(s2, &a, "usr_old", &got), KURA_OK);
	assert_string_equal(got->login_index, "li");
	assert_int_equal(got->login_id.len, 2);
	assert_null(got->password_hash);
	assert_string_equal(got->roles, "member");
	assert_int_equal(got->must_change_password, 1);
	assert_true(got->created_us == 20 && got->updated_us == 21);
	assert_int_equal(got->failed_logins, 0);
	assert_true(got->locked_until_us == 0 && got->last_login_us == 0 &&
	    got->password_changed_us == 0 && got->totp_last_step == 0 &&
	    got->invite_expires_us == 0);
	assert_int_equal(got->mfa_enabled, 0);
	assert_null(got->totp_secret.data);
	assert_null(got->totp_pending.data);
	assert_string_equal(got->invite_hash, "");
	store_user_free(got);

	/* and the new tables work on the migrated file */
	{
		struct store_session ses;
		memset(&ses, 0, sizeof(ses));
		set_str(ses.id, sizeof(ses.id), "ses_old");
		set_str(ses.user_id, sizeof(ses.user_id), "usr_old");
		set_str(ses.token_hash, sizeof(ses.token_hash), HASH_A);
		set_str(ses.csrf_hash, sizeof(ses.csrf_hash), HASH_B);
		set_str(ses.kind, sizeof(ses.kind), "full");
		ses.expires_us = INT64_MAX;
		assert_int_equal(store_session_insert(s2, &a, &ses), KURA_OK);
	}
	{
		char *detail = NULL;
		assert_int_equal(store_integrity_check(s2, &detail), KURA_OK);
		assert_null(detail);
	}
	assert_int_equal(store_migrate(s2), KURA_OK);
	store_close(s2);
}

/* ---- sessions ---- */

static void
make_session(struct store_session *ses, const char *id, const char *user_id,
    const char *token_hash, const char *kind, int64_t created_us)
{
	memset(ses, 0, sizeof(*ses));
	set_str(ses->id, sizeof(ses->id), id);
	set_str(ses->user_id, sizeof(ses->user_id), user_id);
	set_str(ses->token_hash, sizeof(ses->token_hash), token_hash);
	set_str(ses->csrf_hash, sizeof(ses->csrf_hash), HASH_C);
	set_str(ses->kind, sizeof(ses->kind), kind);
	set_str(ses->client_ip, sizeof(ses->client_ip), "2001:db8::1");
	ses->created_us = created_us;
	ses->last_seen_us = created_us;
	ses->expires_us = created_us + 1000;
}

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_session ses, *got = NULL, *list = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");

	make_session(&ses, "ses_1", "usr_1", "t1", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_session(&ses, "ses_2", "usr_1", "t2", "preauth", 300);
	set_str(ses.tenant_id, sizeof(ses.tenant_id), "ten_a");
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_session(&ses, "ses_3", "usr_1", "t3", "full", 200);
	ses.client_ip[0] = '\0';   /* unknown address is allowed */
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_session(&ses, "ses_4", "usr_2", "t4", "full", 400);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);

	/* duplicates, unknown user, bad values */
	make_session(&ses, "ses_1", "usr_1", "t9", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EEXIST);
	make_session(&ses, "ses_9", "usr_1", "t1", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EEXIST);
	make_session(&ses, "ses_9", "usr_none", "t9", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_ENOENT);
	make_session(&ses, "ses_9", "usr_1", "t9", "admin", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EINVAL);
	make_session(&ses, "ses_9", "usr_1", "t9", "full", 100);
	set_str(ses.tenant_id, sizeof(ses.tenant_id), "ten_b");
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EINVAL);
	make_session(&ses, "ses_9", "usr_1", "", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EINVAL);
	make_session(&ses, "ses_9", "usr_1", "t9", "full", 100);
	ses.expires_us = 0;
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_EINVAL);
	make_session(&ses, "ses_9", "usr_1", "t9", "full", 100);
	assert_int_equal(store_session_insert(f->s, NULL, &ses), KURA_EINVAL);
	assert_int_equal(store_session_insert(f->s, &a, NULL), KURA_EINVAL);

	/* lookup by token: no context needed, everything read back */
	assert_int_equal(store_session_get_by_token(f->s, "t2", &got),
	    KURA_OK);
	assert_string_equal(got->id, "ses_2");
	assert_string_equal(got->tenant_id, "ten_a");
	assert_string_equal(got->user_id, "usr_1");
	assert_string_equal(got->token_hash, "t2");
	assert_string_equal(got->csrf_hash, HASH_C);
	assert_string_equal(got->kind, "preauth");
	assert_string_equal(got->client_ip, "2001:db8::1");
	assert_true(got->created_us == 300 && got->last_seen_us == 300 &&
	    got->expires_us == 1300);
	store_session_free(got);
	got = NULL;
	assert_int_equal(store_session_get_by_token(f->s, "nope", &got),
	    KURA_ENOENT);
	assert_int_equal(store_session_get_by_token(f->s, "", &got),
	    KURA_EINVAL);
	assert_null(got);
	store_session_free(NULL);
	store_session_list_free(NULL, 0);

	/* list: newest first, one user only */
	assert_int_equal(store_session_list_user(f->s, &a, "usr_1", &list,
	    &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].id, "ses_2");
	assert_string_equal(list[1].id, "ses_3");
	assert_string_equal(list[2].id, "ses_1");
	assert_string_equal(list[1].client_ip, "");
	store_session_list_free(list, n);
	assert_int_equal(store_session_list_user(f->s, &a, "usr_none", &list,
	    &n), KURA_OK);
	assert_int_equal(n, 0);
	assert_non_null(list);
	store_session_list_free(list, n);

	/* touch never moves backwards */
	assert_int_equal(store_session_touch(f->s, &a, "ses_1", 500), KURA_OK);
	assert_int_equal(store_session_touch(f->s, &a, "ses_1", 450), KURA_OK);
	assert_int_equal(store_session_get_by_token(f->s, "t1", &got),
	    KURA_OK);
	assert_true(got->last_seen_us == 500);
	store_session_free(got);
	got = NULL;
	assert_int_equal(store_session_touch(f->s, &a, "ses_none", 500),
	    KURA_ENOENT);

	/* promote: preauth -> full with new hashes; the old token is dead */
	assert_int_equal(store_session_promote(f->s, &a, "ses_2", "t2full",
	    HASH_A, 9999), KURA_OK);
	assert_int_equal(store_session_get_by_token(f->s, "t2", &got),
	    KURA_ENOENT);
	assert_int_equal(store_session_get_by_token(f->s, "t2full", &got),
	    KURA_OK);
	assert_string_equal(got->id, "ses_2");
	assert_string_equal(got->kind, "full");
	assert_string_equal(got->csrf_hash, HASH_A);
	assert_true(got->expires_us == 9999);
	assert_true(got->created_us == 300);
	store_session_free(got);
	got = NULL;
	/* only once: a full session is not promoted again */
	assert_int_equal(store_session_promote(f->s, &a, "ses_2", "t2again",
	    HASH_A, 9999), KURA_ENOENT);
	assert_int_equal(store_session_promote(f->s, &a, "ses_none", "tx",
	    HASH_A, 9999), KURA_ENOENT);
	/* the new token hash must be unique too */
	make_session(&ses, "ses_5", "usr_1", "t5", "preauth", 500);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	assert_int_equal(store_session_promote(f->s, &a, "ses_5", "t1",
	    HASH_A, 9999), KURA_EEXIST);
	assert_int_equal(store_session_promote(f->s, &a, "ses_5", "",
	    HASH_A, 9999), KURA_EINVAL);

	/* delete: only the owner's session */
	assert_int_equal(store_session_delete(f->s, &a, "usr_2", "ses_1"),
	    KURA_ENOENT);
	assert_int_equal(store_session_get_by_token(f->s, "t1", &got),
	    KURA_OK);
	store_session_free(got);
	got = NULL;
	assert_int_equal(store_session_delete(f->s, &a, "usr_1", "ses_1"),
	    KURA_OK);
	assert_int_equal(store_session_get_by_token(f->s, "t1", &got),
	    KURA_ENOENT);
	assert_int_equal(store_session_delete(f->s, &a, "usr_1", "ses_1"),
	    KURA_ENOENT);

	/* delete every other session of the user (sign out elsewhere) */
	n = 99;
	assert_int_equal(store_session_delete_user(f->s, &a, "usr_1", "ses_3",
	    &n), KURA_OK);
	assert_int_equal(n, 2);   /* ses_2, ses_5 */
	assert_int_equal(store_session_list_user(f->s, &a, "usr_1", &list,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, "ses_3");
	store_session_list_free(list, n);
	assert_int_equal(store_session_delete_user(f->s, &a, "usr_1", NULL,
	    NULL), KURA_OK);
	assert_int_equal(store_session_list_user(f->s, &a, "usr_1", &list,
	    &n), KURA_OK);
	assert_int_equal(n, 0);
	store_session_list_free(list, n);
	/* usr_2's session untouched */
	assert_int_equal(store_session_get_by_token(f->s, "t4", &got),
	    KURA_OK);
	store_session_free(got);
}

static void
test_session_purge(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	struct store_session ses, *got = NULL;
	size_t n = 99;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_user(f->s, "ten_a", "usr_a", "li");
	add_user(f->s, "ten_b", "usr_b", "li");

	/* expired (absolute lifetime over) */
	make_session(&ses, "ses_exp", "usr_a", "t_exp", "full", 100);
	ses.expires_us = 900;
	ses.last_seen_us = 950;
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	/* idle (not seen since before the idle bound), other tenant */
	make_session(&ses, "ses_idle", "usr_b", "t_idle", "full", 100);
	ses.expires_us = 5000;
	ses.last_seen_us = 400;
	assert_int_equal(store_session_insert(f->s, &b, &ses), KURA_OK);
	/* alive: exactly at both bounds is kept */
	make_session(&ses, "ses_live", "usr_a", "t_live", "full", 100);
	ses.expires_us = 1000;
	ses.last_seen_us = 500;
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);

	assert_int_equal(store_session_purge(f->s, 1000, 500, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_session_get_by_token(f->s, "t_exp", &got),
	    KURA_ENOENT);
	assert_int_equal(store_session_get_by_token(f->s, "t_idle", &got),
	    KURA_ENOENT);
	assert_int_equal(store_session_get_by_token(f->s, "t_live", &got),
	    KURA_OK);
	store_session_free(got);
	assert_int_equal(store_session_purge(f->s, 1000, 500, NULL), KURA_OK);
	assert_int_equal(store_session_purge(f->s, 1001, 0, &n), KURA_OK);
	assert_int_equal(n, 1);
}

/* ---- recovery codes ---- */

static void
test_recovery_codes(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	static const char codes[3][STORE_INDEX_MAX] = { HASH_A, HASH_B, "c1" };
	static const char codes2[1][STORE_INDEX_MAX] = { HASH_C };
	static const char dup[2][STORE_INDEX_MAX] = { "d", "d" };
	uint32_t unused = 99;
	sqlite3 *db;

	add_tenant(f->s, "ten_a", "C-A");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");

	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 0);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", codes, 3),
	    KURA_OK);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 3);

	/* single use */
	assert_int_equal(store_recovery_use(f->s, &a, "usr_1", HASH_B),
	    KURA_OK);
	assert_int_equal(store_recovery_use(f->s, &a, "usr_1", HASH_B),
	    KURA_ENOENT);
	/* another user's code is not this user's */
	assert_int_equal(store_recovery_use(f->s, &a, "usr_2", HASH_A),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_use(f->s, &a, "usr_1", "nope"),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 2);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM recovery_codes "
	    "WHERE used_us > 0"), 1);
	sqlite3_close(db);

	/* replace drops the old set, used or not */
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", codes2, 1),
	    KURA_OK);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 1);
	assert_int_equal(store_recovery_use(f->s, &a, "usr_1", HASH_A),
	    KURA_ENOENT);

	/* a failing replace changes nothing, inside or outside a tx */
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", dup, 2),
	    KURA_EEXIST);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 1);
	assert_int_equal(store_begin(f->s), KURA_OK);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_2", codes, 3),
	    KURA_OK);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", dup, 2),
	    KURA_EEXIST);
	assert_int_equal(store_commit(f->s), KURA_OK);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 1);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_2", &unused),
	    KURA_OK);
	assert_int_equal(unused, 3);

	/* unknown user, bad arguments, limits */
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_none", codes,
	    3), KURA_ENOENT);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_none", &unused),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_delete(f->s, &a, "usr_none"),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", NULL, 1),
	    KURA_EINVAL);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", codes,
	    1000), KURA_ETOOBIG);
	assert_int_equal(store_recovery_use(f->s, &a, "usr_1", ""),
	    KURA_EINVAL);
	assert_int_equal(store_recovery_use(f->s, NULL, "usr_1", HASH_C),
	    KURA_EINVAL);

	/* delete; replace with none */
	assert_int_equal(store_recovery_delete(f->s, &a, "usr_1"), KURA_OK);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_1", &unused),
	    KURA_OK);
	assert_int_equal(unused, 0);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_2", NULL, 0),
	    KURA_OK);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_2", &unused),
	    KURA_OK);
	assert_int_equal(unused, 0);
}

/* ---- custom roles ---- */

static void
make_role(struct store_role *r, const char *id, const char *name_index)
{
	memset(r, 0, sizeof(*r));
	set_str(r->id, sizeof(r->id), id);
	set_str(r->name_index, sizeof(r->name_index), name_index);
	r->name.data = sealed;
	r->name.len = 4;
	r->labels.data = totp_sealed;
	r->labels.len = sizeof(totp_sealed);
	r->permissions = "users.read,audit.read";
}

static void
test_roles(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	struct store_role r, *got = NULL, *list = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");

	make_role(&r, "rol_2", "ni_auditor");
	r.created_us = 10;
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_OK);
	make_role(&r, "rol_1", "ni_viewer");
	r.labels.data = NULL;
	r.labels.len = 0;
	r.permissions = NULL;
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_OK);

	/* name unique per tenant, but the same name is fine in another */
	make_role(&r, "rol_3", "ni_auditor");
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_EEXIST);
	assert_int_equal(store_role_insert(f->s, &b, &r), KURA_OK);
	make_role(&r, "rol_2", "ni_other");
	assert_int_equal(store_role_insert(f->s, &b, &r), KURA_EEXIST);

	/* validation; unknown tenant */
	make_role(&r, "rol_9", "ni_9");
	r.name.len = 0;
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_EINVAL);
	make_role(&r, "rol_9", "");
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_EINVAL);
	make_role(&r, "rol_9", "ni_9");
	r.labels.len = STORE_BLOB_MAX + 1;
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_ETOOBIG);
	make_role(&r, "rol_9", "ni_9");
	set_str(r.tenant_id, sizeof(r.tenant_id), "ten_b");
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_EINVAL);
	{
		struct store_tctx x = tctx("ten_nope");
		make_role(&r, "rol_9", "ni_9");
		assert_int_equal(store_role_insert(f->s, &x, &r),
		    KURA_ENOENT);
	}

	assert_int_equal(store_role_get(f->s, &a, "rol_2", &got), KURA_OK);
	assert_string_equal(got->id, "rol_2");
	assert_string_equal(got->tenant_id, "ten_a");
	assert_string_equal(got->name_index, "ni_auditor");
	assert_int_equal(got->name.len, 4);
	assert_memory_equal(got->name.data, sealed, 4);
	assert_int_equal(got->labels.len, sizeof(totp_sealed));
	assert_string_equal(got->permissions, "users.read,audit.read");
	assert_true(got->created_us == 10 && got->updated_us == 10);
	store_role_free(got);
	got = NULL;
	assert_int_equal(store_role_get(f->s, &a, "rol_1", &got), KURA_OK);
	assert_null(got->labels.data);
	assert_int_equal(got->labels.len, 0);
	assert_string_equal(got->permissions, "");
	store_role_free(got);
	got = NULL;
	assert_int_equal(store_role_get(f->s, &a, "rol_none", &got),
	    KURA_ENOENT);
	assert_null(got);
	store_role_free(NULL);
	store_role_list_free(NULL, 0);

	assert_int_equal(store_role_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "rol_1");
	assert_string_equal(list[1].id, "rol_2");
	store_role_list_free(list, n);

	/* update: rename to a taken name is refused; labels cleared */
	make_role(&r, "rol_1", "ni_auditor");
	assert_int_equal(store_role_update(f->s, &a, &r), KURA_EEXIST);
	make_role(&r, "rol_1", "ni_reader");
	r.labels.len = 0;
	r.permissions = "files.read";
	r.updated_us = 77;
	assert_int_equal(store_role_update(f->s, &a, &r), KURA_OK);
	assert_int_equal(store_role_get(f->s, &a, "rol_1", &got), KURA_OK);
	assert_string_equal(got->name_index, "ni_reader");
	assert_string_equal(got->permissions, "files.read");
	assert_null(got->labels.data);
	assert_true(got->updated_us == 77);
	store_role_free(got);
	got = NULL;
	make_role(&r, "rol_none", "ni_x");
	assert_int_equal(store_role_update(f->s, &a, &r), KURA_ENOENT);

	assert_int_equal(store_role_delete(f->s, &a, "rol_1"), KURA_OK);
	assert_int_equal(store_role_delete(f->s, &a, "rol_1"), KURA_ENOENT);
	assert_int_equal(store_role_get(f->s, &a, "rol_1", &got),
	    KURA_ENOENT);
	assert_int_equal(store_role_list(f->s, &a, &list, &n), KURA_OK);
	assert_int_equal(n, 1);
	store_role_list_free(list, n);
}

/* ---- API tokens ---- */

static void
make_token(struct store_token *t, const char *id, const char *user_id,
    const char *token_hash)
{
	memset(t, 0, sizeof(*t));
	set_str(t->id, sizeof(t->id), id);
	set_str(t->user_id, sizeof(t->user_id), user_id);
	set_str(t->token_hash, sizeof(t->token_hash), token_hash);
	t->name.data = sealed;
	t->name.len = 6;
	t->labels.data = totp_sealed;
	t->labels.len = 1;
	t->permissions = "files.read";
	t->expires_us = 1800000000000000;
	t->created_us = 50;
}

static void
test_tokens(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_token t, *got = NULL, *list = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");

	make_token(&t, "tok_3", "usr_1", "h3");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);
	make_token(&t, "tok_1", "usr_2", "h1");
	t.labels.len = 0;
	t.permissions = NULL;
	t.created_us = 0;
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);
	make_token(&t, "tok_2", "usr_1", "h2");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);

	make_token(&t, "tok_3", "usr_1", "h9");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_EEXIST);
	make_token(&t, "tok_9", "usr_1", "h3");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_EEXIST);
	make_token(&t, "tok_9", "usr_none", "h9");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_ENOENT);
	make_token(&t, "tok_9", "usr_1", "h9");
	t.expires_us = 0;
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_EINVAL);
	make_token(&t, "tok_9", "usr_1", "h9");
	t.name.len = 0;
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_EINVAL);
	make_token(&t, "tok_9", "", "h9");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_EINVAL);

	assert_int_equal(store_token_get_by_hash(f->s, "h3", &got), KURA_OK);
	assert_string_equal(got->id, "tok_3");
	assert_string_equal(got->tenant_id, "ten_a");
	assert_string_equal(got->user_id, "usr_1");
	assert_string_equal(got->token_hash, "h3");
	assert_int_equal(got->name.len, 6);
	assert_memory_equal(got->name.data, sealed, 6);
	assert_int_equal(got->labels.len, 1);
	assert_string_equal(got->permissions, "files.read");
	assert_true(got->expires_us == 1800000000000000);
	assert_true(got->last_used_us == 0 && got->created_us == 50);
	store_token_free(got);
	got = NULL;
	assert_int_equal(store_token_get_by_hash(f->s, "nope", &got),
	    KURA_ENOENT);
	assert_int_equal(store_token_get(f->s, &a, "tok_1", &got), KURA_OK);
	assert_null(got->labels.data);
	assert_string_equal(got->permissions, "");
	assert_true(got->created_us > 50);
	store_token_free(got);
	got = NULL;
	assert_int_equal(store_token_get(f->s, &a, "tok_none", &got),
	    KURA_ENOENT);
	assert_null(got);
	store_token_free(NULL);
	store_token_list_free(NULL, 0);

	assert_int_equal(store_token_list(f->s, &a, NULL, &list, &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].id, "tok_1");
	assert_string_equal(list[1].id, "tok_2");
	assert_string_equal(list[2].id, "tok_3");
	store_token_list_free(list, n);
	assert_int_equal(store_token_list(f->s, &a, "usr_1", &list, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "tok_2");
	assert_string_equal(list[1].id, "tok_3");
	store_token_list_free(list, n);
	assert_int_equal(store_token_list(f->s, &a, "usr_none", &list, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	assert_non_null(list);
	store_token_list_free(list, n);

	assert_int_equal(store_token_touch(f->s, &a, "tok_3", 700), KURA_OK);
	assert_int_equal(store_token_touch(f->s, &a, "tok_3", 600), KURA_OK);
	assert_int_equal(store_token_get(f->s, &a, "tok_3", &got), KURA_OK);
	assert_true(got->last_used_us == 700);
	store_token_free(got);
	got = NULL;
	assert_int_equal(store_token_touch(f->s, &a, "tok_none", 700),
	    KURA_ENOENT);

	assert_int_equal(store_token_delete(f->s, &a, "tok_3"), KURA_OK);
	assert_int_equal(store_token_delete(f->s, &a, "tok_3"), KURA_ENOENT);
	assert_int_equal(store_token_get_by_hash(f->s, "h3", &got),
	    KURA_ENOENT);
}

/* ---- tenant settings ---- */

static void
test_settings(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	static const uint8_t doc1[] = { 1, 2, 3 }, doc2[] = { 9, 8, 7, 6 };
	struct store_blob doc = { NULL, 0 };
	sqlite3 *db;

	add_tenant(f->s, "ten_a", "C-A");
	assert_int_equal(store_settings_get(f->s, &a, "password_policy", &doc),
	    KURA_ENOENT);
	assert_null(doc.data);
	assert_int_equal(store_settings_put(f->s, &a, "password_policy", doc1,
	    sizeof(doc1), 5), KURA_OK);
	assert_int_equal(store_settings_put(f->s, &a, "ip_rules", doc2,
	    sizeof(doc2), 0), KURA_OK);
	assert_int_equal(store_settings_get(f->s, &a, "password_policy", &doc),
	    KURA_OK);
	assert_int_equal(doc.len, sizeof(doc1));
	assert_memory_equal(doc.data, doc1, sizeof(doc1));
	free(doc.data);
	doc.data = NULL;

	/* put replaces */
	assert_int_equal(store_settings_put(f->s, &a, "password_policy", doc2,
	    sizeof(doc2), 6), KURA_OK);
	assert_int_equal(store_settings_get(f->s, &a, "password_policy", &doc),
	    KURA_OK);
	assert_int_equal(doc.len, sizeof(doc2));
	assert_memory_equal(doc.data, doc2, sizeof(doc2));
	free(doc.data);
	doc.data = NULL;
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tenant_settings"),
	    2);
	assert_int_equal(raw_int(db, "SELECT updated_us FROM tenant_settings "
	    "WHERE kind = 'password_policy'"), 6);
	assert_true(raw_int(db, "SELECT updated_us FROM tenant_settings "
	    "WHERE kind = 'ip_rules'") > 6);
	sqlite3_close(db);

	/* validation; unknown tenant */
	assert_int_equal(store_settings_put(f->s, &a, "x", NULL, 0, 1),
	    KURA_EINVAL);
	assert_int_equal(store_settings_put(f->s, &a, "x", doc1,
	    STORE_BLOB_MAX + 1, 1), KURA_ETOOBIG);
	assert_int_equal(store_settings_put(f->s, &a, "", doc1, 1, 1),
	    KURA_EINVAL);
	assert_int_equal(store_settings_put(f->s, &a, "bad kind", doc1, 1, 1),
	    KURA_EINVAL);
	assert_int_equal(store_settings_get(f->s, &a, NULL, &doc),
	    KURA_EINVAL);
	assert_int_equal(store_settings_get(f->s, NULL, "ip_rules", &doc),
	    KURA_EINVAL);
	{
		struct store_tctx x = tctx("ten_nope");
		assert_int_equal(store_settings_put(f->s, &x, "ip_rules",
		    doc1, 1, 1), KURA_ENOENT);
	}
	assert_null(doc.data);
}

/* ---- deleting a user ---- */

static void
test_user_delete_cascade(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	static const char codes[2][STORE_INDEX_MAX] = { HASH_A, HASH_B };
	struct store_session ses, *sl = NULL;
	struct store_token t, *tl = NULL;
	uint32_t unused = 0;
	size_t n = 0;
	sqlite3 *db;

	add_tenant(f->s, "ten_a", "C-A");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");
	make_session(&ses, "ses_1", "usr_1", "t1", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_session(&ses, "ses_2", "usr_2", "t2", "full", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_token(&t, "tok_1", "usr_1", "h1");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);
	make_token(&t, "tok_2", "usr_2", "h2");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_1", codes, 2),
	    KURA_OK);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_2", codes, 2),
	    KURA_OK);

	assert_int_equal(store_user_delete(f->s, &a, "usr_1"), KURA_OK);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions "
	    "WHERE user_id = 'usr_1'"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM api_tokens "
	    "WHERE user_id = 'usr_1'"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM recovery_codes "
	    "WHERE user_id = 'usr_1'"), 0);
	sqlite3_close(db);
	assert_int_equal(store_session_list_user(f->s, &a, "usr_1", &sl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_session_list_free(sl, n);
	assert_int_equal(store_token_list(f->s, &a, NULL, &tl, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(tl[0].id, "tok_2");
	store_token_list_free(tl, n);
	/* the other user keeps everything */
	assert_int_equal(store_session_list_user(f->s, &a, "usr_2", &sl, &n),
	    KURA_OK);
	assert_int_equal(n, 1);
	store_session_list_free(sl, n);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_2", &unused),
	    KURA_OK);
	assert_int_equal(unused, 2);
	{
		char *detail = NULL;
		assert_int_equal(store_integrity_check(f->s, &detail),
		    KURA_OK);
		assert_null(detail);
	}
}

/*
 * Evidence: TEN-1 for the 0002 calls.  Tenant B's context, knowing every
 * id and hash of tenant A, can neither read nor change A's users,
 * sessions, recovery codes, roles, tokens or settings, nor attach its own
 * rows to A's users; each attempt is KURA_ENOENT or an empty result, and
 * A's rows read back unchanged with A's context.
 */
static void
test_tenant_isolation_identity(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	static const char codes[2][STORE_INDEX_MAX] = { HASH_A, HASH_B };
	static const char bcodes[1][STORE_INDEX_MAX] = { HASH_C };
	static const uint8_t doc_a[] = { 0xaa }, doc_b[] = { 0xbb, 0xbb };
	struct store_user u, *got = NULL;
	struct store_session ses, *sg = NULL, *sl = NULL;
	struct store_role r, *rg = NULL, *rl = NULL;
	struct store_token t, *tg = NULL, *tl = NULL;
	struct store_blob doc = { NULL, 0 };
	uint32_t unused = 99;
	size_t n = 99;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_user(f->s, "ten_a", "usr_a", "li");
	add_user(f->s, "ten_b", "usr_b", "li");
	make_session(&ses, "ses_a", "usr_a", "ta", "preauth", 100);
	assert_int_equal(store_session_insert(f->s, &a, &ses), KURA_OK);
	make_role(&r, "rol_a", "ni");
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_OK);
	make_token(&t, "tok_a", "usr_a", "ha");
	assert_int_equal(store_token_insert(f->s, &a, &t), KURA_OK);
	assert_int_equal(store_recovery_replace(f->s, &a, "usr_a", codes, 2),
	    KURA_OK);
	assert_int_equal(store_settings_put(f->s, &a, "ip_rules", doc_a,
	    sizeof(doc_a), 1), KURA_OK);

	/* users */
	make_user(&u, "usr_a", "li", "disabled");
	u.failed_logins = 9;
	assert_int_equal(store_user_update(f->s, &b, &u), KURA_ENOENT);
	assert_int_equal(store_user_delete(f->s, &b, "usr_a"), KURA_ENOENT);

	/* recovery codes */
	assert_int_equal(store_recovery_use(f->s, &b, "usr_a", HASH_A),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_count(f->s, &b, "usr_a", &unused),
	    KURA_ENOENT);
	assert_int_equal(unused, 99);
	assert_int_equal(store_recovery_replace(f->s, &b, "usr_a", bcodes, 1),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_replace(f->s, &b, "usr_a", NULL, 0),
	    KURA_ENOENT);
	assert_int_equal(store_recovery_delete(f->s, &b, "usr_a"),
	    KURA_ENOENT);

	/* sessions */
	assert_int_equal(store_session_touch(f->s, &b, "ses_a", 999),
	    KURA_ENOENT);
	assert_int_equal(store_session_promote(f->s, &b, "ses_a", "tb",
	    HASH_B, 999), KURA_ENOENT);
	assert_int_equal(store_session_delete(f->s, &b, "usr_a", "ses_a"),
	    KURA_ENOENT);
	assert_int_equal(store_session_delete(f->s, &b, "usr_b", "ses_a"),
	    KURA_ENOENT);
	assert_int_equal(store_session_delete_user(f->s, &b, "usr_a", NULL,
	    &n), KURA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_session_list_user(f->s, &b, "usr_a", &sl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_session_list_free(sl, n);
	/* B cannot attach a session or token to A's user */
	make_session(&ses, "ses_b", "usr_a", "tb", "full", 100);
	assert_int_equal(store_session_insert(f->s, &b, &ses), KURA_ENOENT);
	make_token(&t, "tok_b", "usr_a", "hb");
	assert_int_equal(store_token_insert(f->s, &b, &t), KURA_ENOENT);

	/* roles */
	assert_int_equal(store_role_get(f->s, &b, "rol_a", &rg), KURA_ENOENT);
	assert_null(rg);
	assert_int_equal(store_role_list(f->s, &b, &rl, &n), KURA_OK);
	assert_int_equal(n, 0);
	store_role_list_free(rl, n);
	make_role(&r, "rol_a", "ni_hijack");
	r.permissions = "tenant.admin";
	assert_int_equal(store_role_update(f->s, &b, &r), KURA_ENOENT);
	assert_int_equal(store_role_delete(f->s, &b, "rol_a"), KURA_ENOENT);

	/* tokens */
	assert_int_equal(store_token_get(f->s, &b, "tok_a", &tg), KURA_ENOENT);
	assert_null(tg);
	assert_int_equal(store_token_list(f->s, &b, NULL, &tl, &n), KURA_OK);
	assert_int_equal(n, 0);
	store_token_list_free(tl, n);
	assert_int_equal(store_token_list(f->s, &b, "usr_a", &tl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_token_list_free(tl, n);
	assert_int_equal(store_token_touch(f->s, &b, "tok_a", 999),
	    KURA_ENOENT);
	assert_int_equal(store_token_delete(f->s, &b, "tok_a"), KURA_ENOENT);

	/* settings: B's own document does not overwrite A's */
	assert_int_equal(store_settings_get(f->s, &b, "ip_rules", &doc),
	    KURA_ENOENT);
	assert_null(doc.data);
	assert_int_equal(store_settings_put(f->s, &b, "ip_rules", doc_b,
	    sizeof(doc_b), 2), KURA_OK);

	/* A's rows are all still there, unchanged */
	assert_int_equal(store_user_get(f->s, &a, "usr_a", &got), KURA_OK);
	assert_string_equal(got->status, "active");
	assert_int_equal(got->failed_logins, 0);
	store_user_free(got);
	assert_int_equal(store_recovery_count(f->s, &a, "usr_a", &unused),
	    KURA_OK);
	assert_int_equal(unused, 2);
	assert_int_equal(store_session_get_by_token(f->s, "ta", &sg), KURA_OK);
	assert_string_equal(sg->tenant_id, "ten_a");
	assert_string_equal(sg->kind, "preauth");
	assert_true(sg->last_seen_us == 100 && sg->expires_us == 1100);
	store_session_free(sg);
	assert_int_equal(store_role_get(f->s, &a, "rol_a", &rg), KURA_OK);
	assert_string_equal(rg->name_index, "ni");
	assert_string_equal(rg->permissions, "users.read,audit.read");
	store_role_free(rg);
	assert_int_equal(store_token_get(f->s, &a, "tok_a", &tg), KURA_OK);
	assert_true(tg->last_used_us == 0);
	store_token_free(tg);
	assert_int_equal(store_settings_get(f->s, &a, "ip_rules", &doc),
	    KURA_OK);
	assert_int_equal(doc.len, sizeof(doc_a));
	assert_memory_equal(doc.data, doc_a, sizeof(doc_a));
	free(doc.data);
	doc.data = NULL;
	assert_int_equal(store_settings_get(f->s, &b, "ip_rules", &doc),
	    KURA_OK);
	assert_int_equal(doc.len, sizeof(doc_b));
	free(doc.data);
	/* and A's code still works exactly once for A */
	assert_int_equal(store_recovery_use(f->s, &a, "usr_a", HASH_A),
	    KURA_OK);
	assert_int_equal(store_recovery_use(f->s, &a, "usr_a", HASH_A),
	    KURA_ENOENT);
}

static void
test_null_ctx_identity(void **state)
{
	struct fixture *f = *state;
	struct store_tctx empty;
	static const char codes[1][STORE_INDEX_MAX] = { HASH_A };
	struct store_session ses, *sl = NULL;
	struct store_role r, *rg = NULL, *rl = NULL;
	struct store_token t, *tg = NULL, *tl = NULL;
	struct store_user u;
	struct store_blob doc = { NULL, 0 };
	uint32_t unused;
	size_t n;
	const struct store_tctx *ctxs[2] = { NULL, &empty };
	int i;

	memset(&empty, 0, sizeof(empty));
	add_tenant(f->s, "ten_a", "C-A");
	make_user(&u, "usr_1", "li1", "active");
	make_session(&ses, "ses_1", "usr_1", "t1", "full", 100);
	make_role(&r, "rol_1", "ni");
	make_token(&t, "tok_1", "usr_1", "h1");
	for (i = 0; i < 2; i++) {
		const struct store_tctx *c = ctxs[i];
		assert_int_equal(store_user_update(f->s, c, &u), KURA_EINVAL);
		assert_int_equal(store_user_delete(f->s, c, "usr_1"),
		    KURA_EINVAL);
		assert_int_equal(store_recovery_replace(f->s, c, "usr_1",
		    codes, 1), KURA_EINVAL);
		assert_int_equal(store_recovery_use(f->s, c, "usr_1", HASH_A),
		    KURA_EINVAL);
		assert_int_equal(store_recovery_count(f->s, c, "usr_1",
		    &unused), KURA_EINVAL);
		assert_int_equal(store_recovery_delete(f->s, c, "usr_1"),
		    KURA_EINVAL);
		assert_int_equal(store_session_insert(f->s, c, &ses),
		    KURA_EINVAL);
		assert_int_equal(store_session_touch(f->s, c, "ses_1", 1),
		    KURA_EINVAL);
		assert_int_equal(store_session_promote(f->s, c, "ses_1", "x",
		    "y", 1), KURA_EINVAL);
		assert_int_equal(store_session_delete(f->s, c, "usr_1",
		    "ses_1"), KURA_EINVAL);
		assert_int_equal(store_session_delete_user(f->s, c, "usr_1",
		    NULL, &n), KURA_EINVAL);
		assert_int_equal(store_session_list_user(f->s, c, "usr_1",
		    &sl, &n), KURA_EINVAL);
		assert_int_equal(store_role_insert(f->s, c, &r), KURA_EINVAL);
		assert_int_equal(store_role_get(f->s, c, "rol_1", &rg),
		    KURA_EINVAL);
		assert_int_equal(store_role_list(f->s, c, &rl, &n),
		    KURA_EINVAL);
		assert_int_equal(store_role_update(f->s, c, &r), KURA_EINVAL);
		assert_int_equal(store_role_delete(f->s, c, "rol_1"),
		    KURA_EINVAL);
		assert_int_equal(store_token_insert(f->s, c, &t), KURA_EINVAL);
		assert_int_equal(store_token_get(f->s, c, "tok_1", &tg),
		    KURA_EINVAL);
		assert_int_equal(store_token_list(f->s, c, NULL, &tl, &n),
		    KURA_EINVAL);
		assert_int_equal(store_token_touch(f->s, c, "tok_1", 1),
		    KURA_EINVAL);
		assert_int_equal(store_token_delete(f->s, c, "tok_1"),
		    KURA_EINVAL);
		assert_int_equal(store_settings_get(f->s, c, "ip_rules", &doc),
		    KURA_EINVAL);
		assert_int_equal(store_settings_put(f->s, c, "ip_rules",
		    sealed, 1, 1), KURA_EINVAL);
	}
	assert_null(sl);
	assert_null(rg);
	assert_null(rl);
	assert_null(tg);
	assert_null(tl);
	assert_null(doc.data);
}


/* ---- workspace (0006) ---- */

static const uint8_t ws_name2[] = { 0x10, 0x20, 0x30 };

static void
make_project(struct store_project *p, const char *id, const char *name_index)
{
	memset(p, 0, sizeof(*p));
	set_str(p->id, sizeof(p->id), id);
	set_str(p->name_index, sizeof(p->name_index), name_index);
	p->name.data = sealed;
	p->name.len = sizeof(sealed);
	set_str(p->created_by, sizeof(p->created_by), "usr_1");
	p->created_us = 100;
}

static void
add_project(struct store *s, const struct store_tctx *c, const char *id,
    const char *name_index)
{
	struct store_project p;

	make_project(&p, id, name_index);
	assert_int_equal(store_project_insert(s, c, &p), KURA_OK);
}

static void
make_dir(struct store_dir *d, const char *id, const char *project_id,
    const char *parent_id, const char *name_index)
{
	memset(d, 0, sizeof(*d));
	set_str(d->id, sizeof(d->id), id);
	set_str(d->project_id, sizeof(d->project_id), project_id);
	set_str(d->parent_id, sizeof(d->parent_id), parent_id);
	set_str(d->name_index, sizeof(d->name_index), name_index);
	d->name.data = sealed;
	d->name.len = 2;
}

static void
add_dir(struct store *s, const struct store_tctx *c, const char *id,
    const char *project_id, const char *parent_id, const char *name_index)
{
	struct store_dir d;

	make_dir(&d, id, project_id, parent_id, name_index);
	assert_int_equal(store_dir_insert(s, c, &d), KURA_OK);
}

static void
make_file(struct store_file *fl, const char *id, const char *project_id,
    const char *directory_id, const char *name_index)
{
	memset(fl, 0, sizeof(*fl));
	set_str(fl->id, sizeof(fl->id), id);
	set_str(fl->project_id, sizeof(fl->project_id), project_id);
	set_str(fl->directory_id, sizeof(fl->directory_id), directory_id);
	set_str(fl->name_index, sizeof(fl->name_index), name_index);
	fl->name.data = sealed;
	fl->name.len = 3;
	set_str(fl->kind, sizeof(fl->kind), "user");
	set_str(fl->created_by, sizeof(fl->created_by), "usr_1");
}

static void
add_file(struct store *s, const struct store_tctx *c, const char *id,
    const char *project_id, const char *directory_id, const char *name_index)
{
	struct store_file fl;

	make_file(&fl, id, project_id, directory_id, name_index);
	assert_int_equal(store_file_insert(s, c, &fl), KURA_OK);
}

static void
make_version(struct store_file_version *v, const char *file_id,
    uint32_t version, const char *blob_id, uint64_t size)
{
	memset(v, 0, sizeof(*v));
	set_str(v->file_id, sizeof(v->file_id), file_id);
	v->version = version;
	set_str(v->blob_id, sizeof(v->blob_id), blob_id);
	v->size = size;
	v->sha256.data = sealed;
	v->sha256.len = sizeof(sealed);
	v->content_type.data = sealed;
	v->content_type.len = 1;
	set_str(v->uploaded_by, sizeof(v->uploaded_by), "usr_1");
	v->created_us = 1000 + version;
}

static void
add_version(struct store *s, const struct store_tctx *c, const char *file_id,
    uint32_t version, const char *blob_id, uint64_t size)
{
	struct store_file_version v;

	make_version(&v, file_id, version, blob_id, size);
	assert_int_equal(store_version_insert(s, c, &v), KURA_OK);
}

/* Sorted copy check: the n ids of list are exactly want[0..n). */
static int
ids_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
assert_ids(char (*list)[STORE_ID_MAX], size_t n, const char *const *want,
    size_t nwant)
{
	size_t i;

	assert_non_null(list);
	assert_int_equal(n, nwant);
	qsort(list, n, STORE_ID_MAX, ids_cmp);
	for (i = 0; i < n; i++)
		assert_string_equal(list[i], want[i]);
}

static sqlite3_int64
raw_count(const struct fixture *f, const char *sql)
{
	sqlite3 *db = raw_open(f->path);
	sqlite3_int64 v = raw_int(db, sql);

	sqlite3_close(db);
	return v;
}

static void
assert_sound(struct store *s)
{
	char *detail = NULL;

	assert_int_equal(store_integrity_check(s, &detail), KURA_OK);
	assert_null(detail);
}

static void
test_ws_projects(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_project p, *got = NULL, *list = NULL;
	struct store_member m, gm, *ml = NULL;
	char (*blobs)[STORE_ID_MAX] = NULL;
	size_t n = 99;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");
	add_user(f->s, "ten_b", "usr_b", "lib");

	make_project(&p, "prj_1", "n1");
	p.description.data = (uint8_t *)ws_name2;
	p.description.len = sizeof(ws_name2);
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_OK);
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_EEXIST);
	set_str(p.id, sizeof(p.id), "prj_2");
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_EEXIST);
	add_project(f->s, &a, "prj_2", "n2");
	add_project(f->s, &a, "prj_3", "n3");

	/* refused values */
	make_project(&p, "prj_x", "nx");
	p.name.len = 0;
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_EINVAL);
	make_project(&p, "prj_x", "nx");
	p.name.len = STORE_BLOB_MAX + 1;
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_ETOOBIG);
	make_project(&p, "prj_x", "nx");
	set_str(p.tenant_id, sizeof(p.tenant_id), "ten_b");
	assert_int_equal(store_project_insert(f->s, &a, &p), KURA_EINVAL);
	{
		struct store_tctx none = tctx("ten_none");
		make_project(&p, "prj_x", "nx");
		assert_int_equal(store_project_insert(f->s, &none, &p),
		    KURA_ENOENT);
	}

	assert_int_equal(store_project_get(f->s, &a, "prj_1", &got), KURA_OK);
	assert_string_equal(got->tenant_id, "ten_a");
	assert_string_equal(got->name_index, "n1");
	assert_int_equal(got->name.len, sizeof(sealed));
	assert_memory_equal(got->name.data, sealed, sizeof(sealed));
	assert_int_equal(got->description.len, sizeof(ws_name2));
	assert_null(got->labels.data);
	assert_int_equal(got->labels.len, 0);
	assert_string_equal(got->created_by, "usr_1");
	assert_true(got->created_us == 100 && got->updated_us == 100);

	/* update: name, description cleared, labels */
	got->description.len = 0;
	free(got->description.data);
	got->description.data = NULL;
	set_str(got->name_index, sizeof(got->name_index), "n2");
	assert_int_equal(store_project_update(f->s, &a, got), KURA_EEXIST);
	set_str(got->name_index, sizeof(got->name_index), "n1b");
	got->labels.data = malloc(2);
	assert_non_null(got->labels.data);
	memcpy(got->labels.data, "[]", 2);
	got->labels.len = 2;
	got->updated_us = 200;
	assert_int_equal(store_project_update(f->s, &a, got), KURA_OK);
	store_project_free(got);
	got = NULL;
	assert_int_equal(store_project_get(f->s, &a, "prj_1", &got), KURA_OK);
	assert_string_equal(got->name_index, "n1b");
	assert_null(got->description.data);
	assert_int_equal(got->labels.len, 2);
	assert_int_equal(got->updated_us, 200);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM projects "
	    "WHERE id = 'prj_1' AND description IS NULL"), 1);
	set_str(got->id, sizeof(got->id), "prj_none");
	assert_int_equal(store_project_update(f->s, &a, got), KURA_ENOENT);
	store_project_free(got);
	got = NULL;

	/* members */
	memset(&m, 0, sizeof(m));
	set_str(m.project_id, sizeof(m.project_id), "prj_1");
	set_str(m.user_id, sizeof(m.user_id), "usr_1");
	set_str(m.role, sizeof(m.role), "owner");
	m.added_us = 300;
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_OK);
	set_str(m.project_id, sizeof(m.project_id), "prj_2");
	set_str(m.role, sizeof(m.role), "viewer");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_OK);
	set_str(m.user_id, sizeof(m.user_id), "usr_2");
	set_str(m.role, sizeof(m.role), "editor");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_OK);
	/* role change keeps added_us */
	set_str(m.user_id, sizeof(m.user_id), "usr_1");
	set_str(m.role, sizeof(m.role), "editor");
	m.added_us = 999;
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_OK);
	assert_int_equal(store_member_get(f->s, &a, "prj_2", "usr_1", &gm),
	    KURA_OK);
	assert_string_equal(gm.role, "editor");
	assert_int_equal(gm.added_us, 300);
	assert_int_equal(store_member_get(f->s, &a, "prj_3", "usr_1", &gm),
	    KURA_ENOENT);
	/* bad role, foreign or missing user, missing project */
	set_str(m.role, sizeof(m.role), "admin");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_EINVAL);
	set_str(m.role, sizeof(m.role), "viewer");
	set_str(m.user_id, sizeof(m.user_id), "usr_b");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_ENOENT);
	set_str(m.user_id, sizeof(m.user_id), "usr_1");
	set_str(m.project_id, sizeof(m.project_id), "prj_none");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_ENOENT);

	assert_int_equal(store_member_list(f->s, &a, "prj_2", &ml, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ml[0].user_id, "usr_1");
	assert_string_equal(ml[1].user_id, "usr_2");
	free(ml);
	ml = NULL;
	assert_int_equal(store_member_list(f->s, &a, "prj_3", &ml, &n),
	    KURA_OK);
	assert_non_null(ml);
	assert_int_equal(n, 0);
	free(ml);

	assert_int_equal(store_project_list(f->s, &a, NULL, &list, &n),
	    KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].id, "prj_1");
	assert_string_equal(list[2].id, "prj_3");
	store_project_list_free(list, n);
	assert_int_equal(store_project_list(f->s, &a, "usr_1", &list, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "prj_1");
	assert_string_equal(list[1].id, "prj_2");
	store_project_list_free(list, n);
	assert_int_equal(store_project_list(f->s, &a, "usr_none", &list, &n),
	    KURA_OK);
	assert_non_null(list);
	assert_int_equal(n, 0);
	store_project_list_free(list, n);

	assert_int_equal(store_member_delete(f->s, &a, "prj_2", "usr_2"),
	    KURA_OK);
	assert_int_equal(store_member_delete(f->s, &a, "prj_2", "usr_2"),
	    KURA_ENOENT);
	/* deleting a user removes its memberships */
	assert_int_equal(store_user_delete(f->s, &a, "usr_1"), KURA_OK);
	assert_int_equal(store_member_get(f->s, &a, "prj_1", "usr_1", &gm),
	    KURA_ENOENT);

	/* delete: no versions, an empty (non-NULL) list */
	assert_int_equal(store_project_delete(f->s, &a, "prj_3", &blobs, &n),
	    KURA_OK);
	assert_non_null(blobs);
	assert_int_equal(n, 0);
	free(blobs);
	blobs = NULL;
	assert_int_equal(store_project_get(f->s, &a, "prj_3", &got),
	    KURA_ENOENT);
	assert_int_equal(store_project_delete(f->s, &a, "prj_3", &blobs, &n),
	    KURA_ENOENT);
	assert_null(blobs);
	assert_sound(f->s);
}

/*
 * Directories and files: the tree, sibling-name uniqueness across
 * directories and files (also at the root), moves and the cycle check,
 * project scoping.
 */
static void
test_ws_tree(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_dir d, *gd = NULL, *dl = NULL;
	struct store_file fl, *gf = NULL, *fll = NULL;
	uint64_t kids = 0;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_project(f->s, &a, "prj_1", "n1");
	add_project(f->s, &a, "prj_2", "n2");

	/* prj_1: /a, /a/b, /a/b/c, /x (file), /a/y (file) */
	add_dir(f->s, &a, "dir_a", "prj_1", "", "a");
	add_dir(f->s, &a, "dir_b", "prj_1", "dir_a", "b");
	add_dir(f->s, &a, "dir_c", "prj_1", "dir_b", "c");
	add_file(f->s, &a, "fil_x", "prj_1", "", "x");
	add_file(f->s, &a, "fil_y", "prj_1", "dir_a", "y");

	/* one name per parent across directories and files, root included */
	make_dir(&d, "dir_d", "prj_1", "", "a");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_EEXIST);
	make_dir(&d, "dir_d", "prj_1", "", "x");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_EEXIST);
	make_file(&fl, "fil_z", "prj_1", "", "a");
	assert_int_equal(store_file_insert(f->s, &a, &fl), KURA_EEXIST);
	make_file(&fl, "fil_z", "prj_1", "", "x");
	assert_int_equal(store_file_insert(f->s, &a, &fl), KURA_EEXIST);
	make_file(&fl, "fil_z", "prj_1", "dir_a", "b");
	assert_int_equal(store_file_insert(f->s, &a, &fl), KURA_EEXIST);
	make_dir(&d, "dir_d", "prj_1", "dir_a", "y");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_EEXIST);
	/* the same name elsewhere is fine: other directory, other project */
	add_file(f->s, &a, "fil_x2", "prj_1", "dir_b", "x");
	add_dir(f->s, &a, "dir_a2", "prj_1", "dir_c", "a");
	add_dir(f->s, &a, "dir_p2", "prj_2", "", "a");
	add_file(f->s, &a, "fil_p2", "prj_2", "", "x");
	/* a parent of another project, or none, or itself */
	make_dir(&d, "dir_d", "prj_2", "dir_a", "d");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_ENOENT);
	make_dir(&d, "dir_d", "prj_1", "dir_none", "d");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_ENOENT);
	make_dir(&d, "dir_d", "prj_1", "dir_d", "d");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_ECONFLICT);
	make_file(&fl, "fil_z", "prj_2", "dir_a", "z");
	assert_int_equal(store_file_insert(f->s, &a, &fl), KURA_ENOENT);
	make_file(&fl, "fil_z", "prj_1", "", "z");
	set_str(fl.kind, sizeof(fl.kind), "other");
	assert_int_equal(store_file_insert(f->s, &a, &fl), KURA_EINVAL);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM directories"), 5);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM files"), 4);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM entry_names"), 9);

	/* reads */
	assert_int_equal(store_dir_get(f->s, &a, "prj_1", "dir_b", &gd),
	    KURA_OK);
	assert_string_equal(gd->parent_id, "dir_a");
	assert_string_equal(gd->tenant_id, "ten_a");
	assert_int_equal(gd->name.len, 2);
	assert_true(gd->created_us > 0 && gd->updated_us == gd->created_us);
	store_dir_free(gd);
	gd = NULL;
	assert_int_equal(store_dir_get(f->s, &a, "prj_1", "dir_a", &gd),
	    KURA_OK);
	assert_string_equal(gd->parent_id, "");
	store_dir_free(gd);
	gd = NULL;
	assert_int_equal(store_dir_list(f->s, &a, "prj_1", STORE_ROOT_DIR, &dl,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(dl[0].id, "dir_a");
	store_dir_list_free(dl, n);
	assert_int_equal(store_dir_list(f->s, &a, "prj_1", "dir_b", &dl, &n),
	    KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(dl[0].id, "dir_c");
	store_dir_list_free(dl, n);
	assert_int_equal(store_dir_list(f->s, &a, "prj_1", NULL, &dl, &n),
	    KURA_OK);
	assert_int_equal(n, 4);
	store_dir_list_free(dl, n);
	assert_int_equal(store_dir_list(f->s, &a, "prj_1", "dir_y", &dl, &n),
	    KURA_OK);
	assert_non_null(dl);
	assert_int_equal(n, 0);
	store_dir_list_free(dl, n);

	assert_int_equal(store_file_get(f->s, &a, "prj_1", "fil_y", &gf),
	    KURA_OK);
	assert_string_equal(gf->directory_id, "dir_a");
	assert_string_equal(gf->kind, "user");
	assert_int_equal(gf->current_version, 0);
	assert_string_equal(gf->created_by, "usr_1");
	store_file_free(gf);
	gf = NULL;
	assert_int_equal(store_file_get_by_name(f->s, &a, "prj_1", "", "x",
	    &gf), KURA_OK);
	assert_string_equal(gf->id, "fil_x");
	store_file_free(gf);
	gf = NULL;
	assert_int_equal(store_file_get_by_name(f->s, &a, "prj_1", "dir_b", "x",
	    &gf), KURA_OK);
	assert_string_equal(gf->id, "fil_x2");
	store_file_free(gf);
	gf = NULL;
	assert_int_equal(store_file_get_by_name(f->s, &a, "prj_1", "", "y",
	    &gf), KURA_ENOENT);
	assert_int_equal(store_file_list(f->s, &a, "prj_1", STORE_ROOT_DIR,
	    &fll, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(fll[0].id, "fil_x");
	store_file_list_free(fll, n);
	assert_int_equal(store_file_list(f->s, &a, "prj_1", NULL, &fll, &n),
	    KURA_OK);
	assert_int_equal(n, 3);
	store_file_list_free(fll, n);

	assert_int_equal(store_dir_children(f->s, &a, "prj_1", "dir_a", &kids),
	    KURA_OK);
	assert_int_equal(kids, 2);
	assert_int_equal(store_dir_children(f->s, &a, "prj_1", "", &kids),
	    KURA_OK);
	assert_int_equal(kids, 2);
	assert_int_equal(store_dir_children(f->s, &a, "prj_1", "dir_a2", &kids),
	    KURA_OK);
	assert_int_equal(kids, 0);
	assert_int_equal(store_dir_children(f->s, &a, "prj_2", "dir_a", &kids),
	    KURA_ENOENT);
	assert_int_equal(store_dir_children(f->s, &a, "prj_none", "", &kids),
	    KURA_ENOENT);

	/* project scoping: prj_1's rows are not found through prj_2 */
	assert_int_equal(store_file_get(f->s, &a, "prj_2", "fil_x", &gf),
	    KURA_ENOENT);
	assert_int_equal(store_file_get_by_name(f->s, &a, "prj_2", "dir_a", "y",
	    &gf), KURA_ENOENT);
	assert_int_equal(store_dir_get(f->s, &a, "prj_2", "dir_a", &gd),
	    KURA_ENOENT);
	assert_int_equal(store_file_list(f->s, &a, "prj_2", "dir_a", &fll, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_file_list_free(fll, n);
	make_file(&fl, "fil_x", "prj_2", "", "renamed");
	assert_int_equal(store_file_update(f->s, &a, &fl), KURA_ENOENT);
	make_dir(&d, "dir_a", "prj_2", "", "renamed");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ENOENT);
	{
		char (*blobs)[STORE_ID_MAX] = NULL;
		assert_int_equal(store_file_delete(f->s, &a, "prj_2", "fil_x",
		    &blobs, &n), KURA_ENOENT);
		assert_int_equal(store_dir_delete_tree(f->s, &a, "prj_2",
		    "dir_a", &blobs, &n), KURA_ENOENT);
		assert_null(blobs);
	}
	assert_int_equal(raw_count(f, "SELECT count(*) FROM files "
	    "WHERE name_index = 'renamed'"), 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM directories "
	    "WHERE name_index = 'renamed'"), 0);

	/* renames and moves keep the names unique */
	make_file(&fl, "fil_x", "prj_1", "", "a");
	assert_int_equal(store_file_update(f->s, &a, &fl), KURA_EEXIST);
	make_file(&fl, "fil_x", "prj_1", "dir_a", "y");
	assert_int_equal(store_file_update(f->s, &a, &fl), KURA_EEXIST);
	make_file(&fl, "fil_x", "prj_1", "dir_c", "x");
	fl.current_version = 7;
	set_str(fl.kind, sizeof(fl.kind), "generated");
	fl.updated_us = 500;
	assert_int_equal(store_file_update(f->s, &a, &fl), KURA_OK);
	assert_int_equal(store_file_get(f->s, &a, "prj_1", "fil_x", &gf),
	    KURA_OK);
	assert_string_equal(gf->directory_id, "dir_c");
	assert_int_equal(gf->current_version, 7);
	assert_string_equal(gf->kind, "generated");
	assert_int_equal(gf->updated_us, 500);
	store_file_free(gf);
	gf = NULL;
	/* its old name at the root is free again */
	make_dir(&d, "dir_x", "prj_1", "", "x");
	assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_OK);
	make_file(&fl, "fil_x", "prj_1", "dir_none", "x");
	assert_int_equal(store_file_update(f->s, &a, &fl), KURA_ENOENT);

	/* directory moves: never into its own subtree */
	make_dir(&d, "dir_a", "prj_1", "dir_a", "a");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ECONFLICT);
	make_dir(&d, "dir_a", "prj_1", "dir_b", "a");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ECONFLICT);
	make_dir(&d, "dir_a", "prj_1", "dir_c", "a9");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ECONFLICT);
	make_dir(&d, "dir_b", "prj_1", "dir_a2", "b");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ECONFLICT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM directories "
	    "WHERE id = 'dir_a' AND parent_id IS NULL"), 1);
	/* a sideways move is fine; a taken name is not */
	make_dir(&d, "dir_c", "prj_1", "", "x");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_EEXIST);
	make_dir(&d, "dir_c", "prj_1", "", "c");
	d.updated_us = 600;
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_OK);
	assert_int_equal(store_dir_get(f->s, &a, "prj_1", "dir_c", &gd),
	    KURA_OK);
	assert_string_equal(gd->parent_id, "");
	assert_int_equal(gd->updated_us, 600);
	store_dir_free(gd);
	gd = NULL;
	/* now /a can go under /c (no longer its descendant) */
	make_dir(&d, "dir_a", "prj_1", "dir_c", "a");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_EEXIST);
	make_dir(&d, "dir_a", "prj_1", "dir_c", "a3");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_OK);
	make_dir(&d, "dir_c", "prj_1", "dir_b", "c");
	assert_int_equal(store_dir_update(f->s, &a, &d), KURA_ECONFLICT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM entry_names e "
	    "WHERE NOT EXISTS (SELECT 1 FROM directories d WHERE d.id = "
	    "e.entry_id AND COALESCE(d.parent_id, '') = e.parent_id AND "
	    "d.name_index = e.name_index) AND NOT EXISTS (SELECT 1 FROM files "
	    "fl WHERE fl.id = e.entry_id AND COALESCE(fl.directory_id, '') = "
	    "e.parent_id AND fl.name_index = e.name_index)"), 0);
	assert_sound(f->s);
}

/* Concurrent creates of one name: exactly one succeeds. */
#define NAME_RACERS 4

struct name_racer {
	struct store *s;
	int n;
	kura_err err;
};

static void *
name_racer_main(void *arg)
{
	struct name_racer *r = arg;
	struct store_tctx a = tctx("ten_a");
	struct store_file fl;
	struct store_dir d;
	char id[STORE_ID_MAX];

	snprintf(id, sizeof(id), "race_%d", r->n);
	if (r->n % 2 == 0) {
		make_file(&fl, id, "prj_1", "", "same");
		r->err = store_file_insert(r->s, &a, &fl);
	} else {
		make_dir(&d, id, "prj_1", "", "same");
		r->err = store_dir_insert(r->s, &a, &d);
	}
	store_thread_done(r->s);
	return NULL;
}

static void
test_ws_name_race(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct name_racer r[NAME_RACERS];
	pthread_t th[NAME_RACERS];
	int i, ok = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_project(f->s, &a, "prj_1", "n1");
	for (i = 0; i < NAME_RACERS; i++) {
		r[i].s = f->s;
		r[i].n = i;
		assert_int_equal(pthread_create(&th[i], NULL, name_racer_main,
		    &r[i]), 0);
	}
	for (i = 0; i < NAME_RACERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (r[i].err == KURA_OK)
			ok++;
		else
			assert_int_equal(r[i].err, KURA_EEXIST);
	}
	assert_int_equal(ok, 1);
	assert_int_equal(raw_count(f, "SELECT (SELECT count(*) FROM files) + "
	    "(SELECT count(*) FROM directories)"), 1);
}

static void
test_ws_versions(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_file_version v, *vl = NULL;
	char (*blobs)[STORE_ID_MAX] = NULL;
	static const char *const pruned[] = { "blb_1", "blb_2", "blb_3" };
	uint64_t bytes = 0;
	size_t n = 0;
	uint32_t i;

	add_tenant(f->s, "ten_a", "C-A");
	add_project(f->s, &a, "prj_1", "n1");
	add_file(f->s, &a, "fil_1", "prj_1", "", "f1");
	add_file(f->s, &a, "fil_2", "prj_1", "", "f2");
	for (i = 1; i <= 5; i++) {
		char b[16];
		snprintf(b, sizeof(b), "blb_%u", i);
		add_version(f->s, &a, "fil_1", i, b, 100 * i);
	}
	add_version(f->s, &a, "fil_2", 1, "blb_f2", 7);
	/* taken version or blob id, unknown file, bad values */
	make_version(&v, "fil_1", 5, "blb_new", 1);
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_EEXIST);
	make_version(&v, "fil_1", 6, "blb_f2", 1);
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_EEXIST);
	make_version(&v, "fil_none", 1, "blb_new", 1);
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_ENOENT);
	make_version(&v, "fil_1", 0, "blb_new", 1);
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_EINVAL);
	make_version(&v, "fil_1", 6, "blb_new", (uint64_t)INT64_MAX + 1);
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_EINVAL);
	make_version(&v, "fil_1", 6, "blb_new", 1);
	v.sha256.len = 0;
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_EINVAL);

	memset(&v, 0, sizeof(v));
	assert_int_equal(store_version_get(f->s, &a, "fil_1", 3, &v), KURA_OK);
	assert_string_equal(v.file_id, "fil_1");
	assert_int_equal(v.version, 3);
	assert_string_equal(v.blob_id, "blb_3");
	assert_int_equal(v.size, 300);
	assert_int_equal(v.sha256.len, sizeof(sealed));
	assert_int_equal(v.content_type.len, 1);
	assert_string_equal(v.uploaded_by, "usr_1");
	assert_int_equal(v.created_us, 1003);
	store_version_clear(&v);
	assert_null(v.sha256.data);
	assert_int_equal(store_version_get(f->s, &a, "fil_1", 9, &v),
	    KURA_ENOENT);
	/* empty content type and uploader are NULL in the database */
	make_version(&v, "fil_2", 2, "blb_f2b", 0);
	v.content_type.len = 0;
	v.uploaded_by[0] = '\0';
	assert_int_equal(store_version_insert(f->s, &a, &v), KURA_OK);
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_version_get(f->s, &a, "fil_2", 2, &v), KURA_OK);
	assert_null(v.content_type.data);
	assert_string_equal(v.uploaded_by, "");
	assert_int_equal(v.size, 0);
	store_version_clear(&v);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM file_versions "
	    "WHERE blob_id = 'blb_f2b' AND content_type IS NULL AND "
	    "uploaded_by IS NULL"), 1);

	assert_int_equal(store_version_list(f->s, &a, "fil_1", &vl, &n),
	    KURA_OK);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(vl[i].version, 5 - i);
	store_version_list_free(vl, n);

	/* prune keeps the newest two */
	assert_int_equal(store_version_prune(f->s, &a, "fil_1", 0, &blobs, &n,
	    &bytes), KURA_EINVAL);
	assert_int_equal(store_version_prune(f->s, &a, "fil_1", 2, &blobs, &n,
	    &bytes), KURA_OK);
	assert_ids(blobs, n, pruned, 3);
	assert_int_equal(bytes, 600);
	free(blobs);
	blobs = NULL;
	assert_int_equal(store_version_list(f->s, &a, "fil_1", &vl, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vl[0].version, 5);
	assert_int_equal(vl[1].version, 4);
	store_version_list_free(vl, n);
	/* nothing more to prune: an empty list */
	bytes = 99;
	assert_int_equal(store_version_prune(f->s, &a, "fil_1", 2, &blobs, &n,
	    &bytes), KURA_OK);
	assert_non_null(blobs);
	assert_int_equal(n, 0);
	assert_int_equal(bytes, 0);
	free(blobs);
	blobs = NULL;
	assert_int_equal(store_version_prune(f->s, &a, "fil_none", 1, &blobs,
	    &n, &bytes), KURA_ENOENT);
	assert_null(blobs);
	/* the other file kept its versions */
	assert_int_equal(raw_count(f, "SELECT count(*) FROM file_versions "
	    "WHERE file_id = 'fil_2'"), 2);

	/* deleting the file returns its blobs and removes the versions */
	{
		static const char *const left[] = { "blb_4", "blb_5" };
		assert_int_equal(store_file_delete(f->s, &a, "prj_1", "fil_1",
		    &blobs, &n), KURA_OK);
		assert_ids(blobs, n, left, 2);
		free(blobs);
		blobs = NULL;
	}
	assert_int_equal(raw_count(f, "SELECT count(*) FROM file_versions "
	    "WHERE file_id = 'fil_1'"), 0);
	assert_int_equal(store_version_list(f->s, &a, "fil_1", &vl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_version_list_free(vl, n);
	/* its name is free again */
	add_file(f->s, &a, "fil_1b", "prj_1", "", "f1");
	assert_sound(f->s);
}

/* Files and versions under a directory tree: recursive deletes return
 * every blob id and cascade to versions, names, links and labels; a tree
 * deeper than SQLite's trigger depth still goes in one call. */
#define DEEP_TREE 1200

static void
test_ws_deletes(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	char (*blobs)[STORE_ID_MAX] = NULL;
	static const char *const tree_blobs[] = { "blb_a1", "blb_a2",
	    "blb_b1", "blb_c1" };
	static const char *const rest_blobs[] = { "blb_deep", "blb_r1",
	    "blb_r2" };
	char id[STORE_ID_MAX], parent[STORE_ID_MAX];
	struct store_dir *gd = NULL;
	size_t n = 0;
	int i;

	add_tenant(f->s, "ten_a", "C-A");
	add_project(f->s, &a, "prj_1", "n1");
	add_project(f->s, &a, "prj_2", "n2");
	add_dir(f->s, &a, "dir_a", "prj_1", "", "a");
	add_dir(f->s, &a, "dir_b", "prj_1", "dir_a", "b");
	add_dir(f->s, &a, "dir_c", "prj_1", "dir_b", "c");
	add_dir(f->s, &a, "dir_s", "prj_1", "", "s");
	add_file(f->s, &a, "fil_a", "prj_1", "dir_a", "fa");
	add_file(f->s, &a, "fil_b", "prj_1", "dir_b", "fb");
	add_file(f->s, &a, "fil_c", "prj_1", "dir_c", "fc");
	add_file(f->s, &a, "fil_c0", "prj_1", "dir_c", "fc0");  /* no versions */
	add_file(f->s, &a, "fil_r", "prj_1", "", "fr");
	add_file(f->s, &a, "fil_s", "prj_1", "dir_s", "fs");
	add_file(f->s, &a, "fil_o", "prj_2", "", "fo");
	add_version(f->s, &a, "fil_a", 1, "blb_a1", 1);
	add_version(f->s, &a, "fil_a", 2, "blb_a2", 2);
	add_version(f->s, &a, "fil_b", 1, "blb_b1", 3);
	add_version(f->s, &a, "fil_c", 1, "blb_c1", 4);
	add_version(f->s, &a, "fil_r", 1, "blb_r1", 5);
	add_version(f->s, &a, "fil_s", 1, "blb_r2", 6);
	add_version(f->s, &a, "fil_o", 1, "blb_o1", 7);
	/* labels on things in the tree */
	{
		static const char idx[1][STORE_INDEX_MAX] = { HASH_A };
		assert_int_equal(store_labels_set(f->s, &a, "directory", "dir_b",
		    idx, 1), KURA_OK);
		assert_int_equal(store_labels_set(f->s, &a, "file", "fil_c",
		    idx, 1), KURA_OK);
		assert_int_equal(store_labels_set(f->s, &a, "file", "fil_r",
		    idx, 1), KURA_OK);
	}

	assert_int_equal(store_dir_delete_tree(f->s, &a, "prj_1", "dir_a",
	    &blobs, &n), KURA_OK);
	assert_ids(blobs, n, tree_blobs, 4);
	free(blobs);
	blobs = NULL;
	assert_int_equal(store_dir_get(f->s, &a, "prj_1", "dir_c", &gd),
	    KURA_ENOENT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM directories "
	    "WHERE project_id = 'prj_1'"), 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM files "
	    "WHERE project_id = 'prj_1'"), 2);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM file_versions"), 3);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM entry_names "
	    "WHERE project_id = 'prj_1'"), 3);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels"),
	    1);
	/* the names are free again */
	add_dir(f->s, &a, "dir_a_new", "prj_1", "", "a");
	assert_int_equal(store_dir_delete_tree(f->s, &a, "prj_1", "dir_a",
	    &blobs, &n), KURA_ENOENT);

	/* a deep chain under /s */
	assert_int_equal(store_begin(f->s), KURA_OK);
	set_str(parent, sizeof(parent), "dir_s");
	for (i = 0; i < DEEP_TREE; i++) {
		struct store_dir d;
		snprintf(id, sizeof(id), "dir_deep%d", i);
		make_dir(&d, id, "prj_1", parent, "d");
		assert_int_equal(store_dir_insert(f->s, &a, &d), KURA_OK);
		set_str(parent, sizeof(parent), id);
	}
	add_file(f->s, &a, "fil_deep", "prj_1", parent, "fd");
	add_version(f->s, &a, "fil_deep", 1, "blb_deep", 8);
	assert_int_equal(store_commit(f->s), KURA_OK);
	/* the bottom of the chain cannot be moved above its top */
	{
		struct store_dir d;
		make_dir(&d, "dir_deep0", "prj_1", parent, "d");
		assert_int_equal(store_dir_update(f->s, &a, &d),
		    KURA_ECONFLICT);
	}

	/* the project goes with everything in it; the other one stays */
	assert_int_equal(store_project_delete(f->s, &a, "prj_1", &blobs, &n),
	    KURA_OK);
	assert_ids(blobs, n, rest_blobs, 3);
	free(blobs);
	blobs = NULL;
	assert_int_equal(raw_count(f, "SELECT (SELECT count(*) FROM "
	    "directories) + (SELECT count(*) FROM files) + (SELECT count(*) "
	    "FROM file_versions) + (SELECT count(*) FROM entry_names) + "
	    "(SELECT count(*) FROM resource_labels) WHERE 1"), 1 + 1 + 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM files "
	    "WHERE id = 'fil_o'"), 1);
	assert_sound(f->s);
}

static void
make_task(struct store_task *t, const char *id, const char *project_id,
    const char *status, const char *assignee_id)
{
	memset(t, 0, sizeof(*t));
	set_str(t->id, sizeof(t->id), id);
	set_str(t->project_id, sizeof(t->project_id), project_id);
	t->title.data = sealed;
	t->title.len = 4;
	set_str(t->status, sizeof(t->status), status);
	set_str(t->assignee_id, sizeof(t->assignee_id), assignee_id);
	set_str(t->created_by, sizeof(t->created_by), "usr_1");
}

static void
add_task(struct store *s, const struct store_tctx *c, const char *id,
    const char *project_id, const char *status, const char *assignee_id)
{
	struct store_task t;

	make_task(&t, id, project_id, status, assignee_id);
	assert_int_equal(store_task_insert(s, c, &t), KURA_OK);
}

static void
test_ws_tasks(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	struct store_task t, *gt = NULL, *tl = NULL;
	char (*ids)[STORE_ID_MAX] = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_user(f->s, "ten_a", "usr_2", "li2");
	add_user(f->s, "ten_b", "usr_b", "lib");
	add_project(f->s, &a, "prj_1", "n1");
	add_project(f->s, &a, "prj_2", "n2");
	add_file(f->s, &a, "fil_1", "prj_1", "", "f1");
	add_file(f->s, &a, "fil_2", "prj_1", "", "f2");
	add_file(f->s, &a, "fil_p2", "prj_2", "", "f1");

	make_task(&t, "tsk_1", "prj_1", "open", "usr_1");
	t.description.data = (uint8_t *)ws_name2;
	t.description.len = sizeof(ws_name2);
	t.due_us = 5000;
	t.created_us = 10;
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_OK);
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_EEXIST);
	add_task(f->s, &a, "tsk_2", "prj_1", "done", "usr_2");
	add_task(f->s, &a, "tsk_3", "prj_1", "open", "");
	add_task(f->s, &a, "tsk_4", "prj_2", "open", "usr_1");
	/* bad status, a user of another tenant, a missing project */
	make_task(&t, "tsk_x", "prj_1", "closed", "");
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_EINVAL);
	make_task(&t, "tsk_x", "prj_1", "open", "usr_b");
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_ENOENT);
	make_task(&t, "tsk_x", "prj_none", "open", "");
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_ENOENT);
	make_task(&t, "tsk_x", "prj_1", "open", "");
	t.title.len = 0;
	assert_int_equal(store_task_insert(f->s, &a, &t), KURA_EINVAL);

	assert_int_equal(store_task_get(f->s, &a, "prj_1", "tsk_1", &gt),
	    KURA_OK);
	assert_string_equal(gt->tenant_id, "ten_a");
	assert_string_equal(gt->status, "open");
	assert_string_equal(gt->assignee_id, "usr_1");
	assert_int_equal(gt->description.len, sizeof(ws_name2));
	assert_null(gt->labels.data);
	assert_int_equal(gt->due_us, 5000);
	assert_true(gt->created_us == 10 && gt->updated_us == 10);
	assert_string_equal(gt->created_by, "usr_1");
	store_task_free(gt);
	gt = NULL;
	assert_int_equal(store_task_get(f->s, &a, "prj_2", "tsk_1", &gt),
	    KURA_ENOENT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tasks "
	    "WHERE id = 'tsk_3' AND assignee_id IS NULL"), 1);

	/* filters */
	assert_int_equal(store_task_list(f->s, &a, "prj_1", NULL, NULL, &tl,
	    &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(tl[0].id, "tsk_1");
	store_task_list_free(tl, n);
	assert_int_equal(store_task_list(f->s, &a, "prj_1", "open", NULL, &tl,
	    &n), KURA_OK);
	assert_int_equal(n, 2);
	store_task_list_free(tl, n);
	assert_int_equal(store_task_list(f->s, &a, "prj_1", NULL, "usr_2", &tl,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(tl[0].id, "tsk_2");
	store_task_list_free(tl, n);
	assert_int_equal(store_task_list(f->s, &a, "prj_1", "open", "", &tl,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(tl[0].id, "tsk_3");
	store_task_list_free(tl, n);
	assert_int_equal(store_task_list(f->s, &a, "prj_1", "in_progress",
	    NULL, &tl, &n), KURA_OK);
	assert_non_null(tl);
	assert_int_equal(n, 0);
	store_task_list_free(tl, n);
	assert_int_equal(store_task_list(f->s, &a, "prj_1", "nope", NULL, &tl,
	    &n), KURA_EINVAL);

	/* update */
	make_task(&t, "tsk_3", "prj_1", "in_progress", "usr_2");
	t.due_us = 7;
	t.updated_us = 77;
	assert_int_equal(store_task_update(f->s, &a, &t), KURA_OK);
	assert_int_equal(store_task_get(f->s, &a, "prj_1", "tsk_3", &gt),
	    KURA_OK);
	assert_string_equal(gt->status, "in_progress");
	assert_string_equal(gt->assignee_id, "usr_2");
	assert_true(gt->due_us == 7 && gt->updated_us == 77);
	store_task_free(gt);
	gt = NULL;
	make_task(&t, "tsk_3", "prj_1", "open", "usr_b");
	assert_int_equal(store_task_update(f->s, &a, &t), KURA_ENOENT);
	make_task(&t, "tsk_3", "prj_2", "open", "");
	assert_int_equal(store_task_update(f->s, &a, &t), KURA_ENOENT);

	/* deleting a user clears its assignments */
	assert_int_equal(store_user_delete(f->s, &a, "usr_2"), KURA_OK);
	assert_int_equal(store_task_get(f->s, &a, "prj_1", "tsk_2", &gt),
	    KURA_OK);
	assert_string_equal(gt->assignee_id, "");
	store_task_free(gt);
	gt = NULL;
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tasks "
	    "WHERE assignee_id IS NULL"), 2);

	/* links: same project only, once */
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_1"), KURA_OK);
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_2"), KURA_OK);
	assert_int_equal(store_task_link(f->s, &a, "tsk_2", "fil_1"), KURA_OK);
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_1"),
	    KURA_EEXIST);
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_p2"),
	    KURA_ENOENT);
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_none"),
	    KURA_ENOENT);
	assert_int_equal(store_task_link(f->s, &a, "tsk_none", "fil_1"),
	    KURA_ENOENT);
	assert_int_equal(store_task_files(f->s, &a, "tsk_1", &ids, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "fil_1");
	assert_string_equal(ids[1], "fil_2");
	free(ids);
	ids = NULL;
	assert_int_equal(store_task_files(f->s, &a, "tsk_4", &ids, &n),
	    KURA_OK);
	assert_non_null(ids);
	assert_int_equal(n, 0);
	free(ids);
	ids = NULL;
	assert_int_equal(store_task_files(f->s, &a, "tsk_none", &ids, &n),
	    KURA_ENOENT);
	assert_int_equal(store_task_unlink(f->s, &a, "tsk_1", "fil_2"),
	    KURA_OK);
	assert_int_equal(store_task_unlink(f->s, &a, "tsk_1", "fil_2"),
	    KURA_ENOENT);
	/* a deleted file leaves its tasks; a deleted task its links */
	{
		char (*blobs)[STORE_ID_MAX] = NULL;
		assert_int_equal(store_file_delete(f->s, &a, "prj_1", "fil_1",
		    &blobs, &n), KURA_OK);
		free(blobs);
	}
	assert_int_equal(store_task_files(f->s, &a, "tsk_1", &ids, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	free(ids);
	ids = NULL;
	assert_int_equal(store_task_link(f->s, &a, "tsk_1", "fil_2"), KURA_OK);
	assert_int_equal(store_task_delete(f->s, &a, "prj_2", "tsk_1"),
	    KURA_ENOENT);
	assert_int_equal(store_task_delete(f->s, &a, "prj_1", "tsk_1"),
	    KURA_OK);
	assert_int_equal(store_task_delete(f->s, &a, "prj_1", "tsk_1"),
	    KURA_ENOENT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM task_files"), 0);
	assert_sound(f->s);
}

static void
test_ws_labels(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a");
	static const char two[2][STORE_INDEX_MAX] = { HASH_A, HASH_B };
	static const char rep[3][STORE_INDEX_MAX] = { HASH_B, HASH_C, HASH_B };
	static const char one[1][STORE_INDEX_MAX] = { HASH_C };
	static const char *const ab[] = { "prj_1", "prj_2" };
	char (*ids)[STORE_ID_MAX] = NULL, (*blobs)[STORE_ID_MAX] = NULL;
	char (*many)[STORE_INDEX_MAX] = NULL;
	struct store_role r;
	struct store_token tk;
	size_t n = 0, i;

	add_tenant(f->s, "ten_a", "C-A");
	add_user(f->s, "ten_a", "usr_1", "li1");
	add_project(f->s, &a, "prj_1", "n1");
	add_project(f->s, &a, "prj_2", "n2");
	add_dir(f->s, &a, "dir_1", "prj_1", "", "d");
	add_file(f->s, &a, "fil_1", "prj_1", "dir_1", "f");
	add_task(f->s, &a, "tsk_1", "prj_1", "open", "");
	make_role(&r, "rol_1", "r1");
	assert_int_equal(store_role_insert(f->s, &a, &r), KURA_OK);
	make_token(&tk, "tok_1", "usr_1", "h1");
	assert_int_equal(store_token_insert(f->s, &a, &tk), KURA_OK);

	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_1", two, 2),
	    KURA_OK);
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2", two, 1),
	    KURA_OK);
	assert_int_equal(store_labels_find(f->s, &a, "project", HASH_A, &ids,
	    &n), KURA_OK);
	assert_ids(ids, n, ab, 2);
	free(ids);
	ids = NULL;
	/* by type: a file with the label is not a project */
	assert_int_equal(store_labels_set(f->s, &a, "file", "fil_1", one, 1),
	    KURA_OK);
	assert_int_equal(store_labels_find(f->s, &a, "project", HASH_C, &ids,
	    &n), KURA_OK);
	assert_non_null(ids);
	assert_int_equal(n, 0);
	free(ids);
	ids = NULL;
	/* replace, repeats stored once */
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_1", rep, 3),
	    KURA_OK);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels "
	    "WHERE resource_id = 'prj_1'"), 2);
	assert_int_equal(store_labels_find(f->s, &a, "project", HASH_A, &ids,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "prj_2");
	free(ids);
	ids = NULL;
	assert_int_equal(store_labels_find(f->s, &a, "project", HASH_C, &ids,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "prj_1");
	free(ids);
	ids = NULL;
	/* clear */
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2", NULL,
	    0), KURA_OK);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels "
	    "WHERE resource_id = 'prj_2'"), 0);
	/* limits and bad values */
	many = calloc(101, STORE_INDEX_MAX);
	assert_non_null(many);
	for (i = 0; i < 101; i++)
		snprintf(many[i], STORE_INDEX_MAX, "idx%zu", i);
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2",
	    (const char (*)[STORE_INDEX_MAX])many, 101), KURA_ETOOBIG);
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2",
	    (const char (*)[STORE_INDEX_MAX])many, 100), KURA_OK);
	many[3][0] = '\0';
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2",
	    (const char (*)[STORE_INDEX_MAX])many, 5), KURA_EINVAL);
	free(many);
	assert_int_equal(store_labels_set(f->s, &a, "user", "usr_1", one, 1),
	    KURA_EINVAL);
	assert_int_equal(store_labels_set(f->s, &a, "project", "prj_2", NULL,
	    1), KURA_EINVAL);
	assert_int_equal(store_labels_find(f->s, &a, "widget", HASH_A, &ids,
	    &n), KURA_EINVAL);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels "
	    "WHERE resource_id = 'prj_2'"), 100);

	/* every resource type loses its rows with the resource */
	assert_int_equal(store_labels_set(f->s, &a, "directory", "dir_1", one,
	    1), KURA_OK);
	assert_int_equal(store_labels_set(f->s, &a, "task", "tsk_1", one, 1),
	    KURA_OK);
	assert_int_equal(store_labels_set(f->s, &a, "role", "rol_1", one, 1),
	    KURA_OK);
	assert_int_equal(store_labels_set(f->s, &a, "token", "tok_1", one, 1),
	    KURA_OK);
	assert_int_equal(store_role_delete(f->s, &a, "rol_1"), KURA_OK);
	assert_int_equal(store_user_delete(f->s, &a, "usr_1"), KURA_OK);
	assert_int_equal(store_task_delete(f->s, &a, "prj_1", "tsk_1"),
	    KURA_OK);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels "
	    "WHERE resource_type IN ('role', 'token', 'task')"), 0);
	assert_int_equal(store_dir_delete_tree(f->s, &a, "prj_1", "dir_1",
	    &blobs, &n), KURA_OK);
	free(blobs);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels "
	    "WHERE resource_type IN ('directory', 'file')"), 0);
	assert_int_equal(store_project_delete(f->s, &a, "prj_2", &blobs, &n),
	    KURA_OK);
	free(blobs);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM resource_labels"),
	    2);
	assert_int_equal(store_labels_find(f->s, &a, "project", HASH_B, &ids,
	    &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "prj_1");
	free(ids);
	assert_sound(f->s);
}

static void
assert_usage(struct store *s, const struct store_tctx *c, uint64_t bytes,
    uint64_t files)
{
	struct store_usage u;

	assert_int_equal(store_usage_get(s, c, 1000, 10, &u), KURA_OK);
	assert_int_equal(u.bytes, bytes);
	assert_int_equal(u.files, files);
}

static void
test_ws_usage(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), none = tctx("ten_none");
	struct store_usage u;

	add_tenant(f->s, "ten_a", "C-A");
	/* no rows yet: zero usage, the defaults */
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(store_usage_get(f->s, &a, 1000, 10, &u), KURA_OK);
	assert_true(u.bytes == 0 && u.files == 0);
	assert_true(u.max_bytes == 1000 && u.max_files == 10);
	assert_int_equal(store_usage_get(f->s, &a, UINT64_MAX, 3, &u), KURA_OK);
	assert_true(u.max_bytes == UINT64_MAX && u.max_files == 3);

	/* within the quota, up to exactly the quota */
	assert_int_equal(store_usage_add(f->s, &a, 600, 1, 1000, 10), KURA_OK);
	assert_usage(f->s, &a, 600, 1);
	assert_int_equal(store_usage_add(f->s, &a, 400, 9, 1000, 10), KURA_OK);
	assert_usage(f->s, &a, 1000, 10);
	/* over: refused, nothing changes (neither counter) */
	assert_int_equal(store_usage_add(f->s, &a, 1, 0, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, 0, 1, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, -5, 1, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, INT64_MAX, 0, 1000, 10),
	    KURA_ETOOBIG);
	assert_usage(f->s, &a, 1000, 10);
	/* removing is always allowed, also over the quota */
	assert_int_equal(store_usage_add(f->s, &a, -300, -2, 1000, 10),
	    KURA_OK);
	assert_usage(f->s, &a, 700, 8);
	assert_int_equal(store_usage_add(f->s, &a, 0, 0, 1, 1), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, -1, 0, 1, 1), KURA_OK);
	assert_usage(f->s, &a, 699, 8);
	/* never below zero */
	assert_int_equal(store_usage_add(f->s, &a, INT64_MIN, -100, 1000, 10),
	    KURA_OK);
	assert_usage(f->s, &a, 0, 0);
	/* unlimited default */
	assert_int_equal(store_usage_add(f->s, &a, INT64_MAX, 0, UINT64_MAX,
	    UINT64_MAX), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 1, 0, UINT64_MAX,
	    UINT64_MAX), KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, INT64_MIN, 0, 1000, 10),
	    KURA_OK);
	assert_usage(f->s, &a, 0, 0);

	/* an operator quota overrides the defaults */
	assert_int_equal(store_quota_set(f->s, "ten_a", 50, 2), KURA_OK);
	assert_int_equal(store_usage_get(f->s, &a, 1000, 10, &u), KURA_OK);
	assert_true(u.max_bytes == 50 && u.max_files == 2);
	assert_int_equal(store_usage_add(f->s, &a, 51, 0, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, 50, 2, 1000, 10), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 0, 1, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_quota_set(f->s, "ten_a", 100, 5), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 50, 3, 1000, 10), KURA_OK);
	assert_usage(f->s, &a, 100, 5);
	/* lowered below the usage: positive deltas refused, negative fine */
	assert_int_equal(store_quota_set(f->s, "ten_a", 10, 1), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 1, 0, 1000, 10),
	    KURA_ETOOBIG);
	assert_int_equal(store_usage_add(f->s, &a, -10, -1, 1000, 10), KURA_OK);
	assert_usage(f->s, &a, 90, 4);
	assert_int_equal(store_quota_set(f->s, "ten_a", UINT64_MAX, UINT64_MAX),
	    KURA_OK);
	assert_int_equal(store_usage_get(f->s, &a, 1, 1, &u), KURA_OK);
	assert_true(u.max_bytes == INT64_MAX && u.max_files == INT64_MAX);

	/* inside a transaction: rolled back with it */
	assert_int_equal(store_begin(f->s), KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 10, 1, 1000, 10), KURA_OK);
	assert_usage(f->s, &a, 100, 5);
	assert_int_equal(store_rollback(f->s), KURA_OK);
	assert_usage(f->s, &a, 90, 4);

	/* unknown tenant */
	assert_int_equal(store_usage_get(f->s, &none, 1, 1, &u), KURA_ENOENT);
	assert_int_equal(store_usage_add(f->s, &none, 1, 1, 10, 10),
	    KURA_ENOENT);
	assert_int_equal(store_quota_set(f->s, "ten_none", 1, 1), KURA_ENOENT);
	assert_int_equal(store_quota_set(f->s, "", 1, 1), KURA_EINVAL);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tenant_usage"), 1);
}

static void
make_export(struct store_export *e, const char *id, const char *status,
    int64_t created_us)
{
	memset(e, 0, sizeof(*e));
	set_str(e->id, sizeof(e->id), id);
	set_str(e->status, sizeof(e->status), status);
	set_str(e->requested_by, sizeof(e->requested_by), "usr_1");
	e->created_us = created_us;
}

static void
test_ws_exports(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	struct store_export e, g, *el = NULL;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	make_export(&e, "exp_1", "queued", 100);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_OK);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_EEXIST);
	make_export(&e, "exp_2", "queued", 300);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_OK);
	make_export(&e, "exp_b1", "queued", 200);
	assert_int_equal(store_export_insert(f->s, &b, &e), KURA_OK);
	make_export(&e, "exp_x", "ready", 1);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_EINVAL);
	make_export(&e, "exp_x", "done", 1);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_EINVAL);

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_export_get(f->s, &a, "exp_1", &g), KURA_OK);
	assert_string_equal(g.tenant_id, "ten_a");
	assert_string_equal(g.status, "queued");
	assert_string_equal(g.blob_id, "");
	assert_string_equal(g.requested_by, "usr_1");
	assert_true(g.size == 0 && g.ready_us == 0 && g.expires_us == 0 &&
	    g.created_us == 100);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM exports "
	    "WHERE id = 'exp_1' AND blob_id IS NULL"), 1);

	assert_int_equal(store_export_list(f->s, &a, &el, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(el[0].id, "exp_2");
	assert_string_equal(el[1].id, "exp_1");
	free(el);
	assert_int_equal(store_export_queued(f->s, &el, &n), KURA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(el[0].id, "exp_1");
	assert_string_equal(el[1].id, "exp_b1");
	assert_string_equal(el[2].id, "exp_2");
	free(el);

	/* running, then ready with its archive */
	g = (struct store_export){ 0 };
	make_export(&g, "exp_1", "running", 0);
	assert_int_equal(store_export_update(f->s, &a, &g), KURA_OK);
	set_str(g.status, sizeof(g.status), "ready");
	assert_int_equal(store_export_update(f->s, &a, &g), KURA_EINVAL);
	set_str(g.blob_id, sizeof(g.blob_id), "blb_exp1");
	g.size = 12345;
	g.ready_us = 1000;
	g.expires_us = 5000;
	assert_int_equal(store_export_update(f->s, &a, &g), KURA_OK);
	make_export(&e, "exp_2", "failed", 0);
	assert_int_equal(store_export_update(f->s, &a, &e), KURA_OK);
	make_export(&e, "exp_none", "failed", 0);
	assert_int_equal(store_export_update(f->s, &a, &e), KURA_ENOENT);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_export_get(f->s, &a, "exp_1", &g), KURA_OK);
	assert_string_equal(g.status, "ready");
	assert_string_equal(g.blob_id, "blb_exp1");
	assert_true(g.size == 12345 && g.ready_us == 1000 &&
	    g.expires_us == 5000 && g.created_us == 100);

	assert_int_equal(store_export_queued(f->s, &el, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(el[0].id, "exp_b1");
	free(el);
	assert_int_equal(store_export_expired(f->s, 4999, &el, &n), KURA_OK);
	assert_non_null(el);
	assert_int_equal(n, 0);
	free(el);
	assert_int_equal(store_export_expired(f->s, 5000, &el, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(el[0].id, "exp_1");
	assert_string_equal(el[0].tenant_id, "ten_a");
	free(el);
	/* expired: no longer listed as expiring */
	set_str(g.status, sizeof(g.status), "expired");
	assert_int_equal(store_export_update(f->s, &a, &g), KURA_OK);
	assert_int_equal(store_export_expired(f->s, INT64_MAX, &el, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	free(el);
	assert_int_equal(store_export_expired(f->s, -1, &el, &n), KURA_EINVAL);
}

/*
 * Evidence: TEN-1 for the 0006 calls.  Tenant B's context, knowing every
 * id of tenant A, can neither read nor change A's projects, members,
 * directories, files, versions, tasks, links, labels, usage or exports,
 * nor attach its rows to A's; each attempt is KURA_ENOENT or an empty
 * result, and A's rows read back unchanged.
 */
static void
test_ws_isolation(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_a"), b = tctx("ten_b");
	static const char lab[1][STORE_INDEX_MAX] = { HASH_A };
	struct store_project p, *gp = NULL, *pl = NULL;
	struct store_member m, gm, *ml = NULL;
	struct store_dir d, *gd = NULL, *dl = NULL;
	struct store_file fl, *gf = NULL, *fll = NULL;
	struct store_file_version v, *vl = NULL;
	struct store_task t, *gt = NULL, *tl = NULL;
	struct store_export e, ge, *el = NULL;
	struct store_usage u;
	char (*ids)[STORE_ID_MAX] = NULL;
	uint64_t kids = 0, bytes = 0;
	sqlite3_int64 before;
	size_t n = 0;

	add_tenant(f->s, "ten_a", "C-A");
	add_tenant(f->s, "ten_b", "C-B");
	add_user(f->s, "ten_a", "usr_a", "lia");
	add_user(f->s, "ten_b", "usr_b", "lib");
	add_project(f->s, &a, "prj_a", "n1");
	add_project(f->s, &b, "prj_b", "n1");   /* same name: per tenant */
	memset(&m, 0, sizeof(m));
	set_str(m.project_id, sizeof(m.project_id), "prj_a");
	set_str(m.user_id, sizeof(m.user_id), "usr_a");
	set_str(m.role, sizeof(m.role), "owner");
	assert_int_equal(store_member_put(f->s, &a, &m), KURA_OK);
	add_dir(f->s, &a, "dir_a", "prj_a", "", "d");
	add_dir(f->s, &a, "dir_a2", "prj_a", "dir_a", "d2");
	add_file(f->s, &a, "fil_a", "prj_a", "dir_a", "f");
	add_version(f->s, &a, "fil_a", 1, "blb_a1", 10);
	add_version(f->s, &a, "fil_a", 2, "blb_a2", 20);
	add_task(f->s, &a, "tsk_a", "prj_a", "open", "usr_a");
	assert_int_equal(store_task_link(f->s, &a, "tsk_a", "fil_a"), KURA_OK);
	assert_int_equal(store_labels_set(f->s, &a, "file", "fil_a", lab, 1),
	    KURA_OK);
	assert_int_equal(store_usage_add(f->s, &a, 30, 1, 1000, 10), KURA_OK);
	make_export(&e, "exp_a", "queued", 10);
	assert_int_equal(store_export_insert(f->s, &a, &e), KURA_OK);
	add_dir(f->s, &b, "dir_b", "prj_b", "", "d");
	add_file(f->s, &b, "fil_b", "prj_b", "", "f");
	add_task(f->s, &b, "tsk_b", "prj_b", "open", "");
	before = raw_count(f, "SELECT (SELECT count(*) FROM projects) + "
	    "(SELECT count(*) FROM project_members) + (SELECT count(*) FROM "
	    "directories) + (SELECT count(*) FROM files) + (SELECT count(*) "
	    "FROM file_versions) + (SELECT count(*) FROM tasks) + (SELECT "
	    "count(*) FROM task_files) + (SELECT count(*) FROM exports) + "
	    "(SELECT count(*) FROM entry_names)");

	/* projects and members */
	assert_int_equal(store_project_get(f->s, &b, "prj_a", &gp),
	    KURA_ENOENT);
	assert_int_equal(store_project_list(f->s, &b, NULL, &pl, &n), KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(pl[0].id, "prj_b");
	store_project_list_free(pl, n);
	assert_int_equal(store_project_list(f->s, &b, "usr_a", &pl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_project_list_free(pl, n);
	make_project(&p, "prj_a", "hijack");
	assert_int_equal(store_project_update(f->s, &b, &p), KURA_ENOENT);
	assert_int_equal(store_project_insert(f->s, &b, &p), KURA_EEXIST);
	assert_int_equal(store_project_delete(f->s, &b, "prj_a", &ids, &n),
	    KURA_ENOENT);
	assert_int_equal(store_member_get(f->s, &b, "prj_a", "usr_a", &gm),
	    KURA_ENOENT);
	assert_int_equal(store_member_list(f->s, &b, "prj_a", &ml, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	free(ml);
	set_str(m.role, sizeof(m.role), "viewer");
	assert_int_equal(store_member_put(f->s, &b, &m), KURA_ENOENT);
	set_str(m.user_id, sizeof(m.user_id), "usr_b");
	assert_int_equal(store_member_put(f->s, &b, &m), KURA_ENOENT);
	set_str(m.project_id, sizeof(m.project_id), "prj_b");
	set_str(m.user_id, sizeof(m.user_id), "usr_a");
	assert_int_equal(store_member_put(f->s, &b, &m), KURA_ENOENT);
	assert_int_equal(store_member_delete(f->s, &b, "prj_a", "usr_a"),
	    KURA_ENOENT);

	/* directories */
	assert_int_equal(store_dir_get(f->s, &b, "prj_a", "dir_a", &gd),
	    KURA_ENOENT);
	assert_int_equal(store_dir_get(f->s, &b, "prj_b", "dir_a", &gd),
	    KURA_ENOENT);
	assert_int_equal(store_dir_list(f->s, &b, "prj_a", "", &dl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_dir_list_free(dl, n);
	assert_int_equal(store_dir_list(f->s, &b, "prj_a", NULL, &dl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_dir_list_free(dl, n);
	assert_int_equal(store_dir_children(f->s, &b, "prj_a", "dir_a", &kids),
	    KURA_ENOENT);
	assert_int_equal(store_dir_children(f->s, &b, "prj_a", "", &kids),
	    KURA_ENOENT);
	make_dir(&d, "dir_a", "prj_a", "", "x");
	assert_int_equal(store_dir_update(f->s, &b, &d), KURA_ENOENT);
	make_dir(&d, "dir_x", "prj_a", "", "x");
	assert_int_equal(store_dir_insert(f->s, &b, &d), KURA_ENOENT);
	make_dir(&d, "dir_x", "prj_b", "dir_a", "x");   /* under A's dir */
	assert_int_equal(store_dir_insert(f->s, &b, &d), KURA_ENOENT);
	make_dir(&d, "dir_b", "prj_b", "dir_a", "d");   /* move under A's */
	assert_int_equal(store_dir_update(f->s, &b, &d), KURA_ENOENT);
	assert_int_equal(store_dir_delete_tree(f->s, &b, "prj_a", "dir_a",
	    &ids, &n), KURA_ENOENT);

	/* files and versions */
	assert_int_equal(store_file_get(f->s, &b, "prj_a", "fil_a", &gf),
	    KURA_ENOENT);
	assert_int_equal(store_file_get_by_name(f->s, &b, "prj_a", "dir_a", "f",
	    &gf), KURA_ENOENT);
	assert_int_equal(store_file_list(f->s, &b, "prj_a", "dir_a", &fll, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_file_list_free(fll, n);
	assert_int_equal(store_file_list(f->s, &b, "prj_a", NULL, &fll, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_file_list_free(fll, n);
	make_file(&fl, "fil_a", "prj_a", "dir_a", "x");
	assert_int_equal(store_file_update(f->s, &b, &fl), KURA_ENOENT);
	make_file(&fl, "fil_x", "prj_a", "", "x");
	assert_int_equal(store_file_insert(f->s, &b, &fl), KURA_ENOENT);
	make_file(&fl, "fil_x", "prj_b", "dir_a", "x");
	assert_int_equal(store_file_insert(f->s, &b, &fl), KURA_ENOENT);
	make_file(&fl, "fil_b", "prj_b", "dir_a", "f");
	assert_int_equal(store_file_update(f->s, &b, &fl), KURA_ENOENT);
	assert_int_equal(store_file_delete(f->s, &b, "prj_a", "fil_a", &ids,
	    &n), KURA_ENOENT);
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_version_get(f->s, &b, "fil_a", 1, &v),
	    KURA_ENOENT);
	assert_int_equal(store_version_list(f->s, &b, "fil_a", &vl, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	store_version_list_free(vl, n);
	make_version(&v, "fil_a", 3, "blb_b3", 1);
	assert_int_equal(store_version_insert(f->s, &b, &v), KURA_ENOENT);
	assert_int_equal(store_version_prune(f->s, &b, "fil_a", 1, &ids, &n,
	    &bytes), KURA_ENOENT);

	/* tasks and links */
	assert_int_equal(store_task_get(f->s, &b, "prj_a", "tsk_a", &gt),
	    KURA_ENOENT);
	assert_int_equal(store_task_list(f->s, &b, "prj_a", NULL, NULL, &tl,
	    &n), KURA_OK);
	assert_int_equal(n, 0);
	store_task_list_free(tl, n);
	make_task(&t, "tsk_a", "prj_a", "done", "");
	assert_int_equal(store_task_update(f->s, &b, &t), KURA_ENOENT);
	make_task(&t, "tsk_x", "prj_a", "open", "");
	assert_int_equal(store_task_insert(f->s, &b, &t), KURA_ENOENT);
	make_task(&t, "tsk_x", "prj_b", "open", "usr_a");
	assert_int_equal(store_task_insert(f->s, &b, &t), KURA_ENOENT);
	make_task(&t, "tsk_b", "prj_b", "open", "usr_a");
	assert_int_equal(store_task_update(f->s, &b, &t), KURA_ENOENT);
	assert_int_equal(store_task_delete(f->s, &b, "prj_a", "tsk_a"),
	    KURA_ENOENT);
	assert_int_equal(store_task_link(f->s, &b, "tsk_a", "fil_b"),
	    KURA_ENOENT);
	assert_int_equal(store_task_link(f->s, &b, "tsk_b", "fil_a"),
	    KURA_ENOENT);
	assert_int_equal(store_task_unlink(f->s, &b, "tsk_a", "fil_a"),
	    KURA_ENOENT);
	assert_int_equal(store_task_files(f->s, &b, "tsk_a", &ids, &n),
	    KURA_ENOENT);

	/* labels: B's rows never touch A's */
	assert_int_equal(store_labels_find(f->s, &b, "file", HASH_A, &ids, &n),
	    KURA_OK);
	assert_int_equal(n, 0);
	free(ids);
	ids = NULL;
	assert_int_equal(store_labels_set(f->s, &b, "file", "fil_a", NULL, 0),
	    KURA_OK);
	assert_int_equal(store_labels_find(f->s, &a, "file", HASH_A, &ids, &n),
	    KURA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "fil_a");
	free(ids);
	ids = NULL;

	/* usage and exports */
	assert_int_equal(store_usage_add(f->s, &b, -30, -1, 1000, 10), KURA_OK);
	assert_int_equal(store_usage_get(f->s, &b, 1000, 10, &u), KURA_OK);
	assert_true(u.bytes == 0 && u.files == 0);
	assert_usage(f->s, &a, 30, 1);
	memset(&ge, 0, sizeof(ge));
	assert_int_equal(store_export_get(f->s, &b, "exp_a", &ge), KURA_ENOENT);
	assert_int_equal(store_export_list(f->s, &b, &el, &n), KURA_OK);
	assert_non_null(el);
	assert_int_equal(n, 0);
	free(el);
	make_export(&e, "exp_a", "ready", 0);
	set_str(e.blob_id, sizeof(e.blob_id), "blb_evil");
	assert_int_equal(store_export_update(f->s, &b, &e), KURA_ENOENT);
	assert_int_equal(store_export_insert(f->s, &b, &e), KURA_EEXIST);
	/* a row naming A's tenant under B's context is refused */
	make_export(&e, "exp_y", "queued", 0);
	set_str(e.tenant_id, sizeof(e.tenant_id), "ten_a");
	assert_int_equal(store_export_insert(f->s, &b, &e), KURA_EINVAL);

	/* nothing of A changed, nothing of B was added */
	assert_int_equal(raw_count(f, "SELECT (SELECT count(*) FROM projects) "
	    "+ (SELECT count(*) FROM project_members) + (SELECT count(*) FROM "
	    "directories) + (SELECT count(*) FROM files) + (SELECT count(*) "
	    "FROM file_versions) + (SELECT count(*) FROM tasks) + (SELECT "
	    "count(*) FROM task_files) + (SELECT count(*) FROM exports) + "
	    "(SELECT count(*) FROM entry_names)"), before);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM projects "
	    "WHERE name_index = 'hijack'"), 0);
	assert_int_equal(store_project_get(f->s, &a, "prj_a", &gp), KURA_OK);
	assert_string_equal(gp->name_index, "n1");
	store_project_free(gp);
	assert_int_equal(store_member_get(f->s, &a, "prj_a", "usr_a", &gm),
	    KURA_OK);
	assert_string_equal(gm.role, "owner");
	assert_int_equal(store_dir_get(f->s, &a, "prj_a", "dir_a", &gd),
	    KURA_OK);
	assert_string_equal(gd->name_index, "d");
	store_dir_free(gd);
	assert_int_equal(store_file_get(f->s, &a, "prj_a", "fil_a", &gf),
	    KURA_OK);
	assert_string_equal(gf->name_index, "f");
	assert_string_equal(gf->directory_id, "dir_a");
	store_file_free(gf);
	assert_int_equal(store_version_list(f->s, &a, "fil_a", &vl, &n),
	    KURA_OK);
	assert_int_equal(n, 2);
	store_version_list_free(vl, n);
	assert_int_equal(store_task_get(f->s, &a, "prj_a", "tsk_a", &gt),
	    KURA_OK);
	assert_string_equal(gt->status, "open");
	assert_string_equal(gt->assignee_id, "usr_a");
	store_task_free(gt);
	assert_int_equal(store_task_files(f->s, &a, "tsk_a", &ids, &n),
	    KURA_OK);
	assert_int_equal(n, 1);
	free(ids);
	assert_int_equal(store_export_get(f->s, &a, "exp_a", &ge), KURA_OK);
	assert_string_equal(ge.status, "queued");
	assert_string_equal(ge.blob_id, "");

	/* no context, no call */
	assert_int_equal(store_project_get(f->s, NULL, "prj_a", &gp),
	    KURA_EINVAL);
	assert_int_equal(store_file_list(f->s, NULL, "prj_a", NULL, &fll, &n),
	    KURA_EINVAL);
	assert_int_equal(store_version_list(f->s, NULL, "fil_a", &vl, &n),
	    KURA_EINVAL);
	assert_int_equal(store_task_files(f->s, NULL, "tsk_a", &ids, &n),
	    KURA_EINVAL);
	assert_int_equal(store_labels_find(f->s, NULL, "file", HASH_A, &ids,
	    &n), KURA_EINVAL);
	assert_int_equal(store_usage_add(f->s, NULL, 1, 1, 10, 10),
	    KURA_EINVAL);
	assert_int_equal(store_export_list(f->s, NULL, &el, &n), KURA_EINVAL);
	assert_sound(f->s);
}

/* A 0005 database with data migrates to 0006 and keeps it. */
static void
test_ws_migrate_from_0005(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_old");
	struct store_user *gu = NULL;
	struct store_role *gr = NULL;
	struct store_member m;
	struct store *s2 = NULL;
	int cur = 0, newest = 0, i;
	char p[160];
	sqlite3 *db = NULL;

	assert_true(store_migrations_count >= 6);
	path_in(f, "other.db", p, sizeof(p));
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(chmod(p, 0600), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL,
		    NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 5; "
	    "INSERT INTO tenants VALUES ('ten_old', 'C-OLD', x'01', 5, "
	    "'active', 'jp', 'UTC', 10, 10); "
	    "INSERT INTO users (id, tenant_id, login_index, email_index, "
	    "login_id, email, display_name, status, roles, created_us, "
	    "updated_us) VALUES ('usr_old', 'ten_old', 'li', 'ei', x'0102', "
	    "x'0304', x'05', 'active', 'member', 20, 21); "
	    "INSERT INTO roles VALUES ('rol_old', 'ten_old', 'ri', x'06', "
	    "NULL, 'files.read', 30, 31); "
	    "INSERT INTO health_checks (component, status, detail, checked_us) "
	    "VALUES ('disk', 'ok', 'fine', 40)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open_sqlite(p, &s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_int_equal(cur, 5);
	assert_int_equal(store_migrate(s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_int_equal(cur, newest);

	assert_int_equal(store_user_get(s2, &a, "usr_old", &gu), KURA_OK);
	assert_string_equal(gu->login_index, "li");
	assert_true(gu->created_us == 20 && gu->updated_us == 21);
	store_user_free(gu);
	assert_int_equal(store_role_get(s2, &a, "rol_old", &gr), KURA_OK);
	assert_string_equal(gr->permissions, "files.read");
	store_role_free(gr);
	{
		struct store_health *hl = NULL;
		size_t n = 0;
		assert_int_equal(store_health_latest(s2, &hl, &n), KURA_OK);
		assert_int_equal(n, 1);
		assert_string_equal(hl[0].detail, "fine");
		free(hl);
	}

	/* the new tables work with the old rows */
	add_project(s2, &a, "prj_new", "n1");
	memset(&m, 0, sizeof(m));
	set_str(m.project_id, sizeof(m.project_id), "prj_new");
	set_str(m.user_id, sizeof(m.user_id), "usr_old");
	set_str(m.role, sizeof(m.role), "owner");
	assert_int_equal(store_member_put(s2, &a, &m), KURA_OK);
	add_task(s2, &a, "tsk_new", "prj_new", "open", "usr_old");
	{
		static const char lab[1][STORE_INDEX_MAX] = { HASH_A };
		assert_int_equal(store_labels_set(s2, &a, "role", "rol_old",
		    lab, 1), KURA_OK);
		assert_int_equal(store_role_delete(s2, &a, "rol_old"), KURA_OK);
	}
	assert_int_equal(store_user_delete(s2, &a, "usr_old"), KURA_OK);
	assert_sound(s2);
	assert_int_equal(store_migrate(s2), KURA_OK);
	store_close(s2);
}

/* ---- 0007: CHECK constraints without IN lists ---- */

/* How many rows of EXPLAIN sql have the given opcode (prepare must work). */
static int
explain_count(sqlite3 *db, const char *sql, const char *opcode)
{
	sqlite3_stmt *st = NULL;
	char *q = sqlite3_mprintf("EXPLAIN %s", sql);
	int n = 0, rc;

	assert_non_null(q);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), opcode) == 0)
			n++;
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_free(q);
	return n;
}

/*
 * The OpenEphemeral opcodes that CHECK constraints add to sql: those of
 * its program minus those with PRAGMA ignore_check_constraints, which
 * leaves the CHECKs out of the code.  An UPDATE can need an ephemeral
 * table of its own (rows to visit when a trigger or a key change rules
 * out one pass: audit_events, files, ...); that one is built once per
 * statement, not per row, and is not counted.
 */
static int
check_ephemerals(sqlite3 *db, const char *sql)
{
	int with, without;

	with = explain_count(db, sql, "OpenEphemeral");
	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = ON",
	    NULL, NULL, NULL), SQLITE_OK);
	without = explain_count(db, sql, "OpenEphemeral");
	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = "
	    "OFF", NULL, NULL, NULL), SQLITE_OK);
	return with - without;
}

/*
 * No CHECK constraint makes an INSERT or UPDATE of any table build an
 * ephemeral b-tree: SQLite 3.40 does that for a CHECK (col IN (3 or more
 * values)) on every row written (decisions #48).  The tables and columns
 * come from the schema itself, so this also holds every later migration
 * to the rule.
 */
static void
test_checks_no_ephemeral(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *tabs, *cols;
	sqlite3 *db = raw_open(f->path);
	int ntab = 0, ncol = 0;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema "
	    "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	    "ORDER BY name", -1, &tabs, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM "
	    "pragma_table_info(?1) ORDER BY cid", -1, &cols, NULL), SQLITE_OK);
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tabs, 0);
		char *sql = sqlite3_mprintf("INSERT INTO \"%w\" DEFAULT VALUES",
		    t);

		assert_non_null(sql);
		if (check_ephemerals(db, sql) != 0)
			fail_msg("%s: OpenEphemeral for a CHECK (an IN list?)",
			    sql);
		sqlite3_free(sql);
		assert_int_equal(sqlite3_bind_text(cols, 1, t, -1,
		    SQLITE_TRANSIENT), SQLITE_OK);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(cols,
			    0);
			sql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = \"%w\"",
			    t, c, c);
			assert_non_null(sql);
			if (check_ephemerals(db, sql) != 0)
				fail_msg("%s: OpenEphemeral for a CHECK (an IN "
				    "list?)", sql);
			sqlite3_free(sql);
			ncol++;
		}
		sqlite3_reset(cols);
		ntab++;
	}
	sqlite3_finalize(cols);
	sqlite3_finalize(tabs);
	sqlite3_close(db);
	/* the loops ran over the real schema */
	assert_true(ntab >= 10 && ncol >= 100);
}

/*
 * Each column whose CHECK 0007 rewrote.  insert is a whole row for a raw
 * connection (foreign keys off): ?1 the value, ?2 a number unique to the
 * row.  good is every value the CHECK allows.
 */
static const struct check_case {
	const char *table;
	const char *column;
	const char *insert;
	const char *good[7];
	const char *bad;
	bool append_only;       /* a trigger refuses UPDATE before any CHECK */
} check_cases[] = {
	{ "tenants", "status",
	    "INSERT INTO tenants (id, contract_id, name, seats, status, region, "
	    "timezone, created_us, updated_us) VALUES ('ten_' || ?2, "
	    "'C-' || ?2, x'01', 1, ?1, 'r', 'UTC', 1, 1)",
	    { "active", "suspended", "terminated", "purged" }, "x", false },
	{ "users", "status",
	    "INSERT INTO users (id, tenant_id, login_index, email_index, "
	    "login_id, email, display_name, status, roles, created_us, "
	    "updated_us) VALUES ('usr_' || ?2, 'ten_x', 'li' || ?2, "
	    "'ei' || ?2, x'01', x'02', x'03', ?1, 'member', 1, 1)",
	    { "invited", "active", "disabled" }, "bogus", false },
	{ "audit_events", "actor_type",
	    "INSERT INTO audit_events (id, time_us, actor_type, actor_id, "
	    "source_ip, request_id, action, resource_type, resource_id, "
	    "outcome, status, detail, prev_tenant_hash, prev_hash, hash) "
	    "VALUES ('evt_' || ?2, 1, ?1, 'a', 'ip', 'r', 'x.y', 'rt', 'ri', "
	    "'success', 200, '{}', '', '', 'h' || ?2)",
	    { "user", "token", "operator", "system", "anonymous" }, "admin",
	    true },
	{ "audit_events", "outcome",
	    "INSERT INTO audit_events (id, time_us, actor_type, actor_id, "
	    "source_ip, request_id, action, resource_type, resource_id, "
	    "outcome, status, detail, prev_tenant_hash, prev_hash, hash) "
	    "VALUES ('evt_' || ?2, 1, 'user', 'a', 'ip', 'r', 'x.y', 'rt', "
	    "'ri', ?1, 200, '{}', '', '', 'h' || ?2)",
	    { "success", "failure", "denied" }, "maybe", true },
	{ "alerts", "severity",
	    "INSERT INTO alerts (id, rule, severity, summary, event_seq, "
	    "event_id, actor_id, source_ip, created_us) VALUES ('alr_' || ?2, "
	    "'r', ?1, 's', ?2, 'e', 'a', 'ip', 1)",
	    { "info", "warning", "critical" }, "fatal", false },
	{ "notification_outbox", "channel",
	    "INSERT INTO notification_outbox (id, channel, alert_id, payload, "
	    "created_us) VALUES ('out_' || ?2, ?1, 'alr', 'p', 1)",
	    { "console", "email", "webhook" }, "sms", false },
	{ "health_checks", "status",
	    "INSERT INTO health_checks (component, status, detail, checked_us) "
	    "VALUES ('c' || ?2, ?1, 'd', 1)",
	    { "ok", "degraded", "failing" }, "down", false },
	{ "project_members", "role",
	    "INSERT INTO project_members (tenant_id, project_id, user_id, role, "
	    "added_us) VALUES ('ten_x', 'prj_x', 'usr_' || ?2, ?1, 1)",
	    { "owner", "editor", "viewer" }, "admin", false },
	{ "tasks", "status",
	    "INSERT INTO tasks (id, tenant_id, project_id, title, status, "
	    "created_us, updated_us) VALUES ('tsk_' || ?2, 'ten_x', 'prj_x', "
	    "x'01', ?1, 1, 1)",
	    { "open", "in_progress", "done" }, "closed", false },
	{ "resource_labels", "resource_type",
	    "INSERT INTO resource_labels (tenant_id, resource_type, "
	    "resource_id, label_index) VALUES ('ten_x', ?1, 'r' || ?2, 'l')",
	    { "project", "directory", "file", "task", "role", "token" },
	    "user", false },
	{ "exports", "status",
	    "INSERT INTO exports (id, tenant_id, status, blob_id, created_us) "
	    "VALUES ('exp_' || ?2, 'ten_x', ?1, 'blb', 1)",
	    { "queued", "running", "ready", "failed", "expired" }, "done",
	    false },
};

/* Run st with ?1 = value (and ?2 = n if it has one); the result code
 * (extended for errors). */
static int
check_run(sqlite3 *db, sqlite3_stmt *st, const char *value, int n)
{
	int rc;

	assert_int_equal(sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT),
	    SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) >= 2)
		assert_int_equal(sqlite3_bind_int(st, 2, n), SQLITE_OK);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? rc : sqlite3_extended_errcode(db);
}

/* The rewritten CHECKs allow exactly what the IN lists allowed: every
 * listed value on INSERT and UPDATE, and nothing else, not even a value
 * that differs in case or by a space (BINARY comparison). */
static void
test_checks_enforced(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = raw_open(f->path);
	size_t i, j;
	int n = 0;

	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *k = &check_cases[i];
		sqlite3_stmt *ins, *upd, *def;
		char upper[32], spaced[32], *sql, *want;
		const char *bad[4];

		/* the definition holds the OR form, not the list */
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM "
		    "sqlite_schema WHERE type = 'table' AND name = ?1", -1, &def,
		    NULL), SQLITE_OK);
		sqlite3_bind_text(def, 1, k->table, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(def), SQLITE_ROW);
		want = sqlite3_mprintf("CHECK ((%s = '%s' OR ", k->column,
		    k->good[0]);
		assert_non_null(strstr((const char *)sqlite3_column_text(def, 0),
		    want));
		sqlite3_free(want);
		want = sqlite3_mprintf("%s IN (", k->column);
		assert_null(strstr((const char *)sqlite3_column_text(def, 0),
		    want));
		sqlite3_free(want);
		sqlite3_finalize(def);

		assert_int_equal(sqlite3_prepare_v2(db, k->insert, -1, &ins,
		    NULL), SQLITE_OK);
		sql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = ?1", k->table,
		    k->column);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &upd, NULL),
		    SQLITE_OK);
		sqlite3_free(sql);

		for (j = 0; j < 7 && k->good[j] != NULL; j++) {
			if (check_run(db, ins, k->good[j], ++n) != SQLITE_DONE)
				fail_msg("%s.%s = '%s' refused: %s", k->table,
				    k->column, k->good[j], sqlite3_errmsg(db));
			if (!k->append_only &&
			    check_run(db, upd, k->good[j], 0) != SQLITE_DONE)
				fail_msg("UPDATE %s.%s = '%s' refused: %s",
				    k->table, k->column, k->good[j],
				    sqlite3_errmsg(db));
		}

		snprintf(upper, sizeof(upper), "%s", k->good[0]);
		upper[0] = (char)(upper[0] - 'a' + 'A');
		snprintf(spaced, sizeof(spaced), "%s ", k->good[0]);
		bad[0] = k->bad;
		bad[1] = upper;
		bad[2] = spaced;
		bad[3] = "";
		for (j = 0; j < 4; j++) {
			if (check_run(db, ins, bad[j], ++n) !=
			    SQLITE_CONSTRAINT_CHECK)
				fail_msg("%s.%s = '%s' not refused by its CHECK",
				    k->table, k->column, bad[j]);
			if (!k->append_only && check_run(db, upd, bad[j], 0) !=
			    SQLITE_CONSTRAINT_CHECK)
				fail_msg("UPDATE %s.%s = '%s' not refused by its "
				    "CHECK", k->table, k->column, bad[j]);
		}
		sqlite3_finalize(upd);
		sqlite3_finalize(ins);
	}
	sqlite3_close(db);
}

/* Migrate the database at path to version n on a connection of its own. */
static void
migrate_to(const char *path, int n)
{
	void *be = NULL;

	assert_true(n <= store_migrations_count);
	assert_int_equal(store_sqlite_ops.init(path), KURA_OK);
	assert_int_equal(store_sqlite_ops.conn_open(path, &be), KURA_OK);
	assert_int_equal(store_sqlite_ops.migrate(be, store_migrations, n),
	    KURA_OK);
	store_sqlite_ops.conn_close(be);
}

static void
append_event(struct store *s, const char *tenant, const char *action)
{
	struct audit_rec r;

	assert_int_equal(audit_rec_init(&r, tenant, tenant[0] ? "user" :
	    "operator", "usr_old", action), KURA_OK);
	snprintf(r.source_ip, sizeof(r.source_ip), "192.0.2.7");
	snprintf(r.resource_type, sizeof(r.resource_type), "user");
	r.status = 200;
	r.detail = json_pack("{s:s}", "method", "GET");
	assert_int_equal(audit_append(s, &r), KURA_OK);
	audit_rec_clear(&r);
}

/*
 * A 0006 database with users and audit records migrates to 0007: rows
 * kept, integrity_check clean, the audit chain still verifies (record
 * hashes do not cover the schema), and a connection that was open during
 * the migration re-prepares its statement for the new schema.
 */
static void
test_checks_migrate_from_0006(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx("ten_old");
	struct store_user u, *got = NULL;
	struct audit_verify_result res;
	struct store *s2 = NULL;
	sqlite3_stmt *ins;
	sqlite3 *other;
	char p[160], key[160], pk[64];
	int cur = 0, newest = 0;

	assert_true(store_migrations_count >= 7);
	assert_false(store_migrations[5].schema_edit);
	assert_true(store_migrations[6].schema_edit);
	path_in(f, "other.db", p, sizeof(p));
	path_in(f, "audit.key", key, sizeof(key));
	migrate_to(p, 6);

	/* before 0007: the detector of test_checks_no_ephemeral sees the
	 * two lists of audit_events, also next to an UPDATE's own table */
	other = raw_open(p);
	assert_int_equal(check_ephemerals(other, "INSERT INTO audit_events "
	    "DEFAULT VALUES"), 2);
	assert_int_equal(check_ephemerals(other, "UPDATE audit_events SET "
	    "outcome = outcome"), 1);
	assert_int_equal(explain_count(other, "UPDATE audit_events SET "
	    "outcome = outcome", "OpenEphemeral"), 2);
	assert_int_equal(sqlite3_prepare_v2(other, "INSERT INTO health_checks "
	    "(component, status, detail, checked_us) VALUES (?1, ?2, 'd', 1)",
	    -1, &ins, NULL), SQLITE_OK);
	sqlite3_bind_text(ins, 1, "disk", -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, "ok", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
	sqlite3_reset(ins);

	assert_int_equal(kcrypto_init(), KURA_OK);
	assert_int_equal(audit_key_create(key), KURA_OK);
	assert_int_equal(audit_public_key(key, pk), KURA_OK);
	assert_int_equal(store_open_sqlite(p, &s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_int_equal(cur, 6);
	add_tenant(s2, "ten_old", "C-OLD");
	make_user(&u, "usr_old", "li", "active");
	assert_int_equal(store_user_insert(s2, &a, &u), KURA_OK);
	append_event(s2, "ten_old", "user.create");
	append_event(s2, "", "tenant.create");
	append_event(s2, "ten_old", "auth.login");

	assert_int_equal(store_migrate(s2), KURA_OK);
	assert_int_equal(store_schema_version(s2, &cur, &newest), KURA_OK);
	assert_true(cur >= 7);
	assert_int_equal(cur, newest);
	/* 0008: the unused audit index is gone, the one queries use stays */
	{
		sqlite3 *raw = raw_open(p);
		assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema "
		    "WHERE name = 'audit_events_tenant_time'"), 0);
		assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema "
		    "WHERE name = 'audit_events_tenant_seq'"), 1);
		sqlite3_close(raw);
	}

	assert_int_equal(store_user_get(s2, &a, "usr_old", &got), KURA_OK);
	assert_string_equal(got->login_index, "li");
	assert_string_equal(got->status, "active");
	store_user_free(got);
	assert_int_equal(audit_verify_store(s2, NULL, pk, &res), KURA_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, 3);
	assert_int_equal(audit_verify_store(s2, "ten_old", pk, &res), KURA_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, 2);
	append_event(s2, "ten_old", "auth.logout");
	assert_int_equal(audit_verify_store(s2, NULL, pk, &res), KURA_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, 4);
	{
		char *detail = NULL;
		assert_int_equal(store_integrity_check(s2, &detail), KURA_OK);
		assert_null(detail);
	}

	/* the connection open across the migration saw the new cookie */
	sqlite3_bind_text(ins, 1, "db", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
	sqlite3_reset(ins);
	assert_true(sqlite3_stmt_status(ins, SQLITE_STMTSTATUS_REPREPARE, 0) >=
	    1);
	sqlite3_bind_text(ins, 1, "dns", -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, "bogus", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(ins), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_extended_errcode(other),
	    SQLITE_CONSTRAINT_CHECK);
	sqlite3_finalize(ins);
	assert_int_equal(check_ephemerals(other, "INSERT INTO audit_events "
	    "DEFAULT VALUES"), 0);
	assert_int_equal(check_ephemerals(other, "UPDATE audit_events SET "
	    "outcome = outcome"), 0);
	assert_int_equal(raw_int(other, "SELECT count(*) FROM health_checks"),
	    2);
	assert_int_equal(raw_int(other, "SELECT count(*) FROM users"), 1);
	sqlite3_close(other);

	assert_int_equal(store_migrate(s2), KURA_OK);
	store_close(s2);
	unlink(key);
}

/* DEFENSIVE is on and writable_schema off: turning writable_schema on is
 * ignored and sqlite_schema cannot be written. */
static void
assert_defensive(sqlite3 *db)
{
	sqlite3_int64 cookie;
	char sql[64];
	int on = -1;

	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1,
	    &on), SQLITE_OK);
	assert_int_equal(on, 1);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA,
	    -1, &on), SQLITE_OK);
	assert_int_equal(on, 0);
	assert_int_equal(sqlite3_exec(db, "PRAGMA writable_schema = ON", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE sqlite_schema SET sql = "
	    "sql WHERE type = 'table' AND name = 'tenants'", NULL, NULL, NULL),
	    SQLITE_OK);
	/* and PRAGMA schema_version = N does nothing */
	cookie = raw_int(db, "PRAGMA schema_version");
	snprintf(sql, sizeof(sql), "PRAGMA schema_version = %lld",
	    (long long)cookie + 5);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie);
}

/* The whole schema as text, to compare before and after a failed edit. */
static char *
schema_text(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *s;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(type || "
	    "name || coalesce(sql, ''), ';') FROM (SELECT * FROM sqlite_schema "
	    "ORDER BY name)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = strdup((const char *)sqlite3_column_text(st, 0));
	assert_non_null(s);
	sqlite3_finalize(st);
	return s;
}

/*
 * The schema-edit path of the migration runner: DEFENSIVE is back on
 * afterwards on the migrating connection itself, and a schema-edit
 * migration that matches nothing, changes two rows, asserts wrongly,
 * does anything besides writing sqlite_schema.sql, or leaves a schema
 * that does not parse or that a row breaks, is rolled back whole with
 * DEFENSIVE on again and the connection still usable.
 */
static void
test_checks_schema_edit_runner(void **state)
{
	static const struct {
		const char *sql;
		kura_err want;
	} bad[] = {
		/* no match: the WHERE names text that is not there */
		{ "UPDATE sqlite_schema SET sql = replace(sql, 'no such', 'x') "
		    "WHERE type = 'table' AND name = 'tenants' AND "
		    "instr(sql, 'no such') > 0", KURA_ECONFLICT },
		{ "UPDATE sqlite_schema SET sql = sql WHERE type = 'table' AND "
		    "name IN ('tenants', 'users')", KURA_ECONFLICT },
		{ "SELECT name FROM sqlite_schema WHERE name = 'tenants'",
		    KURA_ECONFLICT },
		/* the authorizer */
		{ "DELETE FROM tenants", KURA_EIO },
		{ "UPDATE tenants SET seats = seats", KURA_EIO },
		{ "UPDATE sqlite_schema SET name = name WHERE name = 'tenants'",
		    KURA_EIO },
		{ "CREATE TABLE t (a)", KURA_EIO },
		{ "PRAGMA foreign_keys = OFF", KURA_EIO },
		/* the result is checked with writable_schema off */
		{ "UPDATE sqlite_schema SET sql = replace(sql, "
		    "'CHECK (seats > 0)', 'CHECK (seats > 0') WHERE "
		    "type = 'table' AND name = 'tenants'", KURA_EIO },
		{ "UPDATE sqlite_schema SET sql = replace(sql, "
		    "'CHECK (seats > 0)', 'CHECK (seatz > 0)') WHERE "
		    "type = 'table' AND name = 'tenants'", KURA_EIO },
		{ "UPDATE sqlite_schema SET sql = replace(sql, "
		    "'CHECK (seats > 0)', 'CHECK (seats > 10)') WHERE "
		    "type = 'table' AND name = 'tenants'", KURA_EIO },
	};
	struct fixture *f = *state;
	struct store_migration m[16];
	void *be = NULL;
	sqlite3 *db;
	sqlite3_int64 cookie;
	char p[160], *before, *after;
	int n = store_migrations_count, v = 0;
	size_t i;

	assert_true(n + 1 <= (int)(sizeof(m) / sizeof(m[0])));
	memcpy(m, store_migrations, (size_t)n * sizeof(m[0]));
	path_in(f, "other.db", p, sizeof(p));
	assert_int_equal(store_sqlite_ops.init(p), KURA_OK);
	assert_int_equal(store_sqlite_ops.conn_open(p, &be), KURA_OK);
	db = store_sqlite_db(be);
	assert_int_equal(store_sqlite_ops.migrate(be, m, n), KURA_OK);
	assert_defensive(db);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tenants VALUES "
	    "('ten_a', 'C-A', x'01', 5, 'active', 'r', 'UTC', 1, 1)", NULL,
	    NULL, NULL), SQLITE_OK);

	before = schema_text(db);
	cookie = raw_int(db, "PRAGMA schema_version");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char sql[512];

		snprintf(sql, sizeof(sql), "-- kura:schema-edit\n%s;\n",
		    bad[i].sql);
		m[n] = (struct store_migration){ n + 1, "test.sql", sql, true };
		if (store_sqlite_ops.migrate(be, m, n + 1) != bad[i].want)
			fail_msg("not refused as expected: %s", bad[i].sql);
		assert_defensive(db);
		assert_int_equal(store_sqlite_ops.schema_version(be, &v),
		    KURA_OK);
		assert_int_equal(v, n);
		assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie);
		after = schema_text(db);
		assert_string_equal(before, after);
		free(after);
		assert_int_equal(store_sqlite_ops.ping(be), KURA_OK);
		assert_int_equal(raw_int(db, "SELECT seats FROM tenants"), 5);
	}
	free(before);

	/* a good edit goes through: one cookie step, DEFENSIVE back on, the
	 * new definition in force on this connection at once */
	m[n] = (struct store_migration){ n + 1, "test.sql",
	    "-- kura:schema-edit\n"
	    "UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (seats > 0)', "
	    "'CHECK (seats > 1)') WHERE type = 'table' AND name = 'tenants' "
	    "AND instr(sql, 'CHECK (seats > 0)') > 0;\n"
	    "SELECT 1 WHERE 0;\n", true };
	assert_int_equal(store_sqlite_ops.migrate(be, m, n + 1), KURA_OK);
	assert_defensive(db);
	assert_int_equal(store_sqlite_ops.schema_version(be, &v), KURA_OK);
	assert_int_equal(v, n + 1);
	assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie + 1);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tenants VALUES "
	    "('ten_b', 'C-B', x'01', 1, 'active', 'r', 'UTC', 1, 1)", NULL,
	    NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
	store_sqlite_ops.conn_close(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_isolation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_null_ctx, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_relaxed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_restarts_log, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integrity, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_user_identity_fields,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_update_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_0001, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_purge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recovery_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_delete_cascade, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tenant_isolation_identity,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_ctx_identity, setup,
		    teardown),
		/* workspace (0006) */
		cmocka_unit_test_setup_teardown(test_ws_projects, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ws_name_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_versions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_deletes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_tasks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ws_labels, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ws_exports, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_isolation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_migrate_from_0005,
		    setup, teardown),
		/* CHECK constraints without IN lists (0007) */
		cmocka_unit_test_setup_teardown(test_checks_no_ephemeral, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checks_enforced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checks_migrate_from_0006,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_checks_schema_edit_runner,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
