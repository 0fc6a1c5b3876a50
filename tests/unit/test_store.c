/*
 * Unit tests for src/store (SQLite backend) against a real database file
 * in a private temporary directory.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

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
		cmocka_unit_test_setup_teardown(test_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integrity, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
