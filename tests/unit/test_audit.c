/*
 * Unit tests for src/audit (LOG-2, LOG-3): the canonical record hash
 * (known answer, computed independently), chains per tenant and global in
 * a real SQLite store, signed checkpoints, and every kind of tampering a
 * person with write access to kura.db could try, each detected with the
 * right record named; retention keeps the rest verifiable; exports verify
 * offline and a one-byte change is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "core/error.h"
#include "crypto/kcrypto.h"
#include "store/store.h"

#define TEN_A "ten_0000000000000000000000000000000a"
#define TEN_B "ten_0000000000000000000000000000000b"
#define N_RECORDS 12

struct fx {
	char dir[64];
	char db[96];
	char key[96];
	char pk[64];
	struct store *s;
	sqlite3 *raw;
	char ids[N_RECORDS + 1][STORE_ID_MAX];   /* by seq */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kura_test_audit_XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/kura.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit.key", f->dir);
	if (kcrypto_init() != KURA_OK || store_open_sqlite(f->db, &f->s) != KURA_OK ||
	    store_migrate(f->s) != KURA_OK || audit_key_create(f->key) != KURA_OK ||
	    audit_public_key(f->key, f->pk) != KURA_OK ||
	    sqlite3_open(f->db, &f->raw) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(f->raw, 5000);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char path[128];

	sqlite3_close(f->raw);
	store_close(f->s);
	unlink(f->db);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);
	unlink(f->key);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
exec(struct fx *f, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(f->raw, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void
drop_triggers(struct fx *f)
{
	exec(f, "DROP TRIGGER IF EXISTS audit_events_no_update;"
	    "DROP TRIGGER IF EXISTS audit_events_no_delete;"
	    "DROP TRIGGER IF EXISTS audit_marks_no_update;");
}

/* Append one record (tenant "" = operator) at time_us. */
static void
append(struct fx *f, const char *tenant, const char *action, int64_t time_us)
{
	struct audit_rec r;

	assert_int_equal(audit_rec_init(&r, tenant, tenant[0] ? "user" : "operator",
	    "usr_00000000000000000000000000000001", action), KURA_OK);
	r.time_us = time_us;
	snprintf(r.source_ip, sizeof(r.source_ip), "192.0.2.7");
	snprintf(r.resource_type, sizeof(r.resource_type), "user");
	r.status = 200;
	r.detail = json_pack("{s:s}", "method", "GET");
	assert_int_equal(audit_append(f->s, &r), KURA_OK);
	audit_rec_clear(&r);
}

/* N_RECORDS records: A, B, A, operator, A, B, ... at one per second. */
static void
fill(struct fx *f, int64_t t0)
{
	static const char *const who[4] = { TEN_A, TEN_B, TEN_A, "" };

	for (int i = 0; i < N_RECORDS; i++)
		append(f, who[i % 4], i % 2 ? "user.read" : "user.list",
		    t0 + (int64_t)i * 1000000);
	for (int64_t seq = 1; seq <= N_RECORDS; seq++) {
		struct store_audit row;
		assert_int_equal(store_audit_get(f->s, seq, &row), KURA_OK);
		snprintf(f->ids[seq], sizeof(f->ids[seq]), "%s", row.id);
		store_audit_clear(&row);
	}
}

static struct audit_verify_result
verify(struct fx *f, const char *tenant)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify_store(f->s, tenant, f->pk, &res), KURA_OK);
	return res;
}

static void
expect_ok(struct fx *f, const char *tenant)
{
	struct audit_verify_result res = verify(f, tenant);

	if (!res.ok)
		fail_msg("verification of %s failed: %s", tenant ? tenant : "the log",
		    res.reason);
}

/* Verification fails and names the record at global seq. */
static void
expect_bad(struct fx *f, const char *tenant, int64_t seq, const char *id)
{
	struct audit_verify_result res = verify(f, tenant);

	if (res.ok)
		fail_msg("tampering not detected (%s)", tenant ? tenant : "global");
	if (res.bad_seq != seq || strcmp(res.bad_id, id) != 0)
		fail_msg("named seq %lld id %s (%s); wanted seq %lld id %s",
		    (long long)res.bad_seq, res.bad_id, res.reason, (long long)seq, id);
}

/* ---- hashing ---- */

static void
row_hash_known_answer(void **state)
{
	struct store_audit r;
	char h[AUDIT_HASH_HEX + 1];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seq = 1;
	snprintf(r.id, sizeof(r.id), "evt_00000000000000000000000000000001");
	snprintf(r.tenant_id, sizeof(r.tenant_id), TEN_A);
	r.tenant_seq = 1;
	r.time_us = 1700000000000000LL;
	snprintf(r.actor_type, sizeof(r.actor_type), "user");
	snprintf(r.actor_id, sizeof(r.actor_id), "usr_0000000000000000000000000000000b");
	snprintf(r.source_ip, sizeof(r.source_ip), "192.0.2.1");
	snprintf(r.request_id, sizeof(r.request_id), "0123456789abcdef0123456789abcdef");
	snprintf(r.action, sizeof(r.action), "user.invite");
	snprintf(r.resource_type, sizeof(r.resource_type), "user");
	snprintf(r.resource_id, sizeof(r.resource_id), "usr_0000000000000000000000000000000c");
	snprintf(r.outcome, sizeof(r.outcome), "success");
	r.status = 201;
	r.detail = (char *)"{\"method\":\"POST\"}";
	/* SHA-256 of the canonical encoding, computed with Python's hashlib */
	assert_int_equal(audit_row_hash(&r, h), KURA_OK);
	assert_string_equal(h,
	    "ed20485e12674aeada3997e28bfaf5bdf1385cb899f232f32ae50632ab3f6083");
	memset(r.prev_hash, 'a', AUDIT_HASH_HEX);
	assert_int_equal(audit_row_hash(&r, h), KURA_OK);
	assert_string_equal(h,
	    "0b8fb43c646f7ff6941553360004f48b5cf5b72def0ca58b4d06dbfc0c4861f1");
	/* every field counts */
	r.status = 200;
	assert_int_equal(audit_row_hash(&r, h), KURA_OK);
	assert_string_not_equal(h,
	    "0b8fb43c646f7ff6941553360004f48b5cf5b72def0ca58b4d06dbfc0c4861f1");
	/* integers at their edges (an operator record: no tenant, tenant_seq
	 * 0), as Python's str() writes them */
	r.status = 201;
	r.seq = INT64_MAX;
	r.tenant_id[0] = '\0';
	r.tenant_seq = 0;
	r.time_us = -1700000000000000LL;
	assert_int_equal(audit_row_hash(&r, h), KURA_OK);
	assert_string_equal(h,
	    "212d3999497ee12c57efd62082b966412a12f51742bfc5ed8f5b450af1d883c3");
}

/* ---- chains ---- */

static kura_err
collect(void *arg, const struct store_audit *row)
{
	struct store_audit *prev = arg;

	if (prev->seq != 0) {
		assert_true(row->seq > prev->seq);
		assert_string_equal(row->prev_tenant_hash, prev->hash);
		assert_int_equal(row->tenant_seq, prev->tenant_seq + 1);
	} else {
		assert_string_equal(row->prev_tenant_hash, "");
		assert_int_equal(row->tenant_seq, 1);
	}
	prev->seq = row->seq;
	prev->tenant_seq = row->tenant_seq;
	snprintf(prev->hash, sizeof(prev->hash), "%s", row->hash);
	return KURA_OK;
}

static void
chains_link_globally_and_per_tenant(void **state)
{
	struct fx *f = *state;
	struct store_audit prev;
	char h[AUDIT_HASH_HEX + 1];
	int64_t seq;

	fill(f, 1700000000000000LL);
	/* global: seq 1..N, each prev_hash the hash before */
	for (seq = 1; seq <= N_RECORDS; seq++) {
		struct store_audit row;
		assert_int_equal(store_audit_get(f->s, seq, &row), KURA_OK);
		assert_int_equal(audit_row_hash(&row, h), KURA_OK);
		assert_string_equal(h, row.hash);
		if (seq == 1)
			assert_string_equal(row.prev_hash, "");
		else
			assert_string_equal(row.prev_hash, prev.hash);
		assert_int_equal(row.tenant_seq == 0, row.tenant_id[0] == '\0');
		snprintf(prev.hash, sizeof(prev.hash), "%s", row.hash);
		store_audit_clear(&row);
	}
	/* per tenant: tenant_seq 1, 2, 3 ... linked by prev_tenant_hash */
	memset(&prev, 0, sizeof(prev));
	assert_int_equal(store_audit_scan(f->s, TEN_A, 0, collect, &prev), KURA_OK);
	assert_int_equal(prev.tenant_seq, N_RECORDS / 2);
	memset(&prev, 0, sizeof(prev));
	assert_int_equal(store_audit_scan(f->s, TEN_B, 0, collect, &prev), KURA_OK);
	assert_int_equal(prev.tenant_seq, N_RECORDS / 4);
	expect_ok(f, NULL);
	expect_ok(f, TEN_A);
	expect_ok(f, TEN_B);
}

/* The stored detail: compact JSON with sorted keys and ASCII escapes; up
 * to AUDIT_DETAIL_MAX bytes kept, a longer one stored as the marker. */
static void
detail_text_and_its_limit(void **state)
{
	struct fx *f = *state;
	struct store_audit row;
	struct audit_rec r;
	size_t pad;
	char *s;

	for (int round = 0; round < 4; round++) {
		assert_int_equal(audit_rec_init(&r, TEN_A, "user",
		    "usr_00000000000000000000000000000001", "user.read"), KURA_OK);
		switch (round) {
		case 0:
			r.detail = json_pack("{s:s,s:b,s:i}", "z", "\xc3\xa9", "a", 1,
			    "m", 7);
			break;
		case 1:
			r.detail = NULL;
			break;
		default:
			/* {"p":"xx...x"} is 8 + pad bytes: 2048, then 2049 */
			pad = AUDIT_DETAIL_MAX - 8 + (size_t)(round - 2);
			s = calloc(1, pad + 1);
			assert_non_null(s);
			memset(s, 'x', pad);
			r.detail = json_pack("{s:s}", "p", s);
			free(s);
			break;
		}
		assert_int_equal(audit_append(f->s, &r), KURA_OK);
		audit_rec_clear(&r);
		assert_int_equal(store_audit_get(f->s, round + 1, &row), KURA_OK);
		if (round == 0)
			assert_string_equal(row.detail,
			    "{\"a\":true,\"m\":7,\"z\":\"\\u00E9\"}");
		else if (round == 1)
			assert_string_equal(row.detail, "{}");
		else if (round == 2)
			assert_int_equal(strlen(row.detail), AUDIT_DETAIL_MAX);
		else
			assert_string_equal(row.detail, AUDIT_DETAIL_TRUNCATED);
		store_audit_clear(&row);
	}
	expect_ok(f, TEN_A);
}

static void
checkpoint_and_verify(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	size_t n = 0;

	fill(f, 1700000000000000LL);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	assert_int_equal(n, 3);         /* global, A, B */
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	assert_int_equal(n, 0);         /* nothing moved */
	res = verify(f, NULL);
	assert_true(res.ok);
	assert_int_equal(res.records, N_RECORDS);
	assert_int_equal(res.checkpoints, 3);
	res = verify(f, TEN_A);
	assert_true(res.ok);
	assert_int_equal(res.records, N_RECORDS / 2);
	/* a wrong public key fails every signature */
	{
		char other[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
		assert_int_equal(audit_verify_store(f->s, NULL, other, &res), KURA_OK);
		assert_false(res.ok);
		assert_int_equal(audit_verify_store(f->s, NULL, "not base64!", &res),
		    KURA_EINVAL);
	}
}

/* ---- tampering ---- */

static void
tamper_update_field(void **state)
{
	struct fx *f = *state;

	fill(f, 1700000000000000LL);
	drop_triggers(f);
	exec(f, "UPDATE audit_events SET outcome = 'failure' WHERE seq = 5");
	expect_bad(f, NULL, 5, f->ids[5]);
	expect_bad(f, TEN_A, 5, f->ids[5]);
	expect_ok(f, TEN_B);
	/* the detail too */
	exec(f, "UPDATE audit_events SET outcome = 'success' WHERE seq = 5");
	expect_ok(f, NULL);
	exec(f, "UPDATE audit_events SET detail = '{\"method\":\"PUT\"}' WHERE seq = 6");
	expect_bad(f, NULL, 6, f->ids[6]);
	expect_bad(f, TEN_B, 6, f->ids[6]);
}

static void
tamper_delete_middle_row(void **state)
{
	struct fx *f = *state;

	fill(f, 1700000000000000LL);
	drop_triggers(f);
	exec(f, "DELETE FROM audit_events WHERE seq = 5");       /* A's 3rd */
	/* globally the next record no longer links; in A's chain, A's next */
	expect_bad(f, NULL, 6, f->ids[6]);
	expect_bad(f, TEN_A, 7, f->ids[7]);
	expect_ok(f, TEN_B);
}

static void
tamper_insert_forged_row(void **state)
{
	struct fx *f = *state;
	struct store_audit row;

	fill(f, 1700000000000000LL);
	drop_triggers(f);
	/* make room after seq 5 and insert an operator row with a made-up hash */
	exec(f, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 5;"
	    "UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000;");
	exec(f, "INSERT INTO audit_events (seq, id, tenant_id, tenant_seq, time_us, "
	    "actor_type, actor_id, source_ip, request_id, action, resource_type, "
	    "resource_id, outcome, status, detail, prev_tenant_hash, prev_hash, hash) "
	    "SELECT 6, 'evt_ffffffffffffffffffffffffffffffff', NULL, 0, time_us, "
	    "'operator', 'mallory', 'local', '', 'tenant.suspend', 'tenant', '', "
	    "'success', 0, '{}', '', hash, "
	    "'0000000000000000000000000000000000000000000000000000000000000000' "
	    "FROM audit_events WHERE seq = 5");
	expect_bad(f, NULL, 6, "evt_ffffffffffffffffffffffffffffffff");

	/* a careful forger computes a valid hash: then the record after it,
	 * which no longer sits where it was hashed, is named */
	assert_int_equal(store_audit_get(f->s, 6, &row), KURA_OK);
	assert_int_equal(audit_row_hash(&row, row.hash), KURA_OK);
	{
		char sql[256];
		snprintf(sql, sizeof(sql), "UPDATE audit_events SET hash = '%s' "
		    "WHERE seq = 6", row.hash);
		exec(f, sql);
	}
	store_audit_clear(&row);
	expect_bad(f, NULL, 7, f->ids[6]);
}

static void
tamper_forged_row_before_the_chain(void **state)
{
	struct fx *f = *state;

	fill(f, 1700000000000000LL);
	drop_triggers(f);
	/* a row outside the numbered chain (seq 0, tenant_seq 0) would show
	 * in the tenant's view; verification must not skip it */
	exec(f, "INSERT INTO audit_events (seq, id, tenant_id, tenant_seq, time_us, "
	    "actor_type, actor_id, source_ip, request_id, action, resource_type, "
	    "resource_id, outcome, status, detail, prev_tenant_hash, prev_hash, hash) "
	    "VALUES (0, 'evt_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', '" TEN_A "', 0, "
	    "1700000000000000, 'user', 'usr_00000000000000000000000000000009', "
	    "'192.0.2.9', '', 'user.delete', 'user', '', 'success', 200, '{}', '', "
	    "'', '')");
	expect_bad(f, NULL, 0, "evt_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	expect_bad(f, TEN_A, 0, "evt_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
}

static void
tamper_reorder_two_rows(void **state)
{
	struct fx *f = *state;

	fill(f, 1700000000000000LL);
	drop_triggers(f);
	exec(f, "UPDATE audit_events SET seq = 1004 WHERE seq = 4;"
	    "UPDATE audit_events SET seq = 4 WHERE seq = 5;"
	    "UPDATE audit_events SET seq = 5 WHERE seq = 1004;");
	/* the record now at 4 is the one hashed at 5 */
	expect_bad(f, NULL, 4, f->ids[5]);
}

static void
tamper_cut_tail_after_checkpoint(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	size_t n = 0;

	fill(f, 1700000000000000LL);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	drop_triggers(f);
	exec(f, "DELETE FROM audit_events WHERE seq > 9");
	res = verify(f, NULL);
	assert_false(res.ok);
	/* the global seal of 12, or the seal of a tenant head that went */
	if (strstr(res.reason, "global/12") == NULL &&
	    strstr(res.reason, TEN_A "/6") == NULL &&
	    strstr(res.reason, TEN_B "/3") == NULL)
		fail_msg("unexpected reason: %s", res.reason);
	/* tenant B's last record (seq 10) went with it */
	res = verify(f, TEN_B);
	assert_false(res.ok);
	assert_non_null(strstr(res.reason, "missing"));
	/* A's last record (seq 11) too */
	res = verify(f, TEN_A);
	assert_false(res.ok);
}

static void
tamper_forge_checkpoint_signature(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	size_t n = 0;

	fill(f, 1700000000000000LL);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	drop_triggers(f);
	/* reseal the head with another hash but keep the signature */
	exec(f, "UPDATE audit_marks SET hash = "
	    "'1111111111111111111111111111111111111111111111111111111111111111' "
	    "WHERE kind = 'checkpoint' AND scope = 'global'");
	res = verify(f, NULL);
	assert_false(res.ok);
	assert_non_null(strstr(res.reason, "signature"));
	/* a signature made up from scratch */
	exec(f, "UPDATE audit_marks SET hash = (SELECT hash FROM audit_events "
	    "WHERE seq = 12), signature = '" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==' "
	    "WHERE kind = 'checkpoint' AND scope = 'global'");
	res = verify(f, NULL);
	assert_false(res.ok);
	assert_non_null(strstr(res.reason, "signature"));
}

/* ---- retention ---- */

static void
expiry_keeps_verification_green(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	size_t n = 0;
	int64_t t0 = 1700000000000000LL;

	fill(f, t0);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	/* the first 6 records are older than the cut */
	assert_int_equal(audit_expire(f->s, f->key, t0 + 6 * 1000000, &n), KURA_OK);
	assert_int_equal(n, 6);
	res = verify(f, NULL);
	if (!res.ok)
		fail_msg("after expiry: %s", res.reason);
	assert_int_equal(res.records, N_RECORDS - 6);
	expect_ok(f, TEN_A);
	expect_ok(f, TEN_B);
	/* again with nothing to remove */
	assert_int_equal(audit_expire(f->s, f->key, t0 + 6 * 1000000, &n), KURA_OK);
	assert_int_equal(n, 0);
	/* new records chain onto what is left */
	append(f, TEN_A, "user.read", t0 + 100 * 1000000LL);
	append(f, TEN_B, "user.read", t0 + 101 * 1000000LL);
	expect_ok(f, NULL);
	expect_ok(f, TEN_A);
	expect_ok(f, TEN_B);
	/* everything expires: new records chain onto the anchors */
	assert_int_equal(audit_expire(f->s, f->key, t0 + 1000 * 1000000LL, &n), KURA_OK);
	assert_int_equal(n, N_RECORDS - 6 + 2);
	append(f, TEN_A, "user.read", t0 + 2000 * 1000000LL);
	append(f, "", "tenant.create", t0 + 2001 * 1000000LL);
	expect_ok(f, NULL);
	expect_ok(f, TEN_A);
	expect_ok(f, TEN_B);
	res = verify(f, NULL);
	assert_int_equal(res.records, 2);
	/* removing a record the anchor does not cover is still caught */
	drop_triggers(f);
	exec(f, "DELETE FROM audit_events WHERE seq = (SELECT MIN(seq) FROM audit_events)");
	res = verify(f, NULL);
	assert_false(res.ok);
}

/* ---- export ---- */

struct sink {
	FILE *f;
};

static kura_err
to_file(void *arg, const char *line, size_t len)
{
	struct sink *k = arg;

	return fwrite(line, 1, len, k->f) == len ? KURA_OK : KURA_EIO;
}

/* A checkpoint or anchor must name the key it is verified with. */
static void
mark_naming_another_key_is_refused(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	char path[128], *buf, *p;
	struct sink k;
	size_t n = 0, len;
	long size;
	FILE *fp;

	fill(f, 1700000000000000LL);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	snprintf(path, sizeof(path), "%s/export-key.jsonl", f->dir);
	k.f = fopen(path, "w");
	assert_non_null(k.f);
	assert_int_equal(audit_export(f->s, NULL, f->pk, to_file, &k), KURA_OK);
	fclose(k.f);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	len = (size_t)size;
	buf = calloc(1, len + 1);
	rewind(fp);
	assert_int_equal(fread(buf, 1, len, fp), len);
	p = strstr(buf, "\"key_id\":\"");
	assert_non_null(p);
	p += strlen("\"key_id\":\"");
	*p = *p == '0' ? '1' : '0';       /* another key id, same length */
	rewind(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(audit_verify_file(path, f->pk, &res), KURA_OK);
	assert_false(res.ok);
	assert_non_null(strstr(res.reason, "names key"));
	free(buf);
	unlink(path);
}

static void
export_verifies_offline_and_a_byte_change_is_caught(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result res;
	char path[128], *buf;
	struct sink k;
	size_t n = 0, len, flips = 0;
	long size;
	FILE *fp;

	fill(f, 1700000000000000LL);
	assert_int_equal(audit_checkpoint(f->s, f->key, &n), KURA_OK);
	assert_int_equal(audit_expire(f->s, f->key, 1700000000000000LL + 2000000, &n),
	    KURA_OK);
	append(f, TEN_A, "user.read", 1700000000000000LL + 50 * 1000000LL);
	for (int scope = 0; scope < 2; scope++) {
		snprintf(path, sizeof(path), "%s/export-%d.jsonl", f->dir, scope);
		k.f = fopen(path, "w");
		assert_non_null(k.f);
		assert_int_equal(audit_export(f->s, scope ? TEN_A : NULL, f->pk, to_file,
		    &k), KURA_OK);
		fclose(k.f);
		assert_int_equal(audit_verify_file(path, f->pk, &res), KURA_OK);
		if (!res.ok)
			fail_msg("export %d: %s", scope, res.reason);
		assert_true(res.records > 0);

		/* one byte changed anywhere in a record line is detected */
		fp = fopen(path, "r+");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		size = ftell(fp);
		assert_true(size > 0);
		len = (size_t)size;
		buf = malloc(len);
		assert_non_null(buf);
		rewind(fp);
		assert_int_equal(fread(buf, 1, len, fp), len);
		for (size_t i = 0; i < len; i += 97) {
			char was = buf[i];
			const char *line = buf + i;
			/* skip the header line: it only names the scope */
			while (line > buf && line[-1] != '\n')
				line--;
			if (line == buf || was == '\n')
				continue;
			buf[i] = (char)(was == 'a' ? 'b' : was == '0' ? '1' :
			    was == '"' ? '\'' : 'a' + (was == 'a'));
			if (buf[i] == was)
				buf[i] = 'z';
			rewind(fp);
			assert_int_equal(fwrite(buf, 1, len, fp), len);
			fflush(fp);
			assert_int_equal(audit_verify_file(path, f->pk, &res), KURA_OK);
			if (res.ok)
				fail_msg("export %d: byte %zu ('%c' -> '%c') not detected",
				    scope, i, was, buf[i]);
			buf[i] = was;
			flips++;
		}
		rewind(fp);
		assert_int_equal(fwrite(buf, 1, len, fp), len);
		fclose(fp);
		free(buf);
		assert_int_equal(audit_verify_file(path, f->pk, &res), KURA_OK);
		assert_true(res.ok);
		unlink(path);
	}
	assert_true(flips > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_hash_known_answer),
		cmocka_unit_test_setup_teardown(chains_link_globally_and_per_tenant,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(detail_text_and_its_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(checkpoint_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_update_field, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_delete_middle_row, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_insert_forged_row, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_forged_row_before_the_chain,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_reorder_two_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_cut_tail_after_checkpoint,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_forge_checkpoint_signature,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_keeps_verification_green,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    export_verifies_offline_and_a_byte_change_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    mark_naming_another_key_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
