/*
 * Unit tests for src/crypto (kcrypto).
 * Evidence: CRY-1, CRY-2
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
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
#include <sodium.h>

#include "core/mem.h"
#include "crypto/kcrypto.h"

#define OVH (KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN)

/* Small Argon2id cost so the tests stay fast. */
static const struct kcrypto_pwparams fast_pw = { 1, 8u << 20 };

/* ---- fixtures ---- */

struct tmp {
	char dir[64];
	char path[128];
};

static int
tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/kcrypto-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/keyring", t->dir);
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(t->dir);
	free(t);
	return 0;
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
b64_key(char out[45], uint8_t fill, size_t n)
{
	uint8_t k[40];

	memset(k, fill, sizeof(k));
	sodium_bin2base64(out, 45, k, n, sodium_base64_VARIANT_ORIGINAL);
}

static struct kcrypto_tkeys *
new_set(const char *tenant, struct kcrypto_tkey *key)
{
	struct kcrypto_tkeys *set = NULL;

	assert_int_equal(kcrypto_tkeys_new(tenant, &set), KURA_OK);
	assert_int_equal(kcrypto_tkeys_add(set, key), KURA_OK);
	return set;
}

static struct kcrypto_tkeys *
fresh_set(const char *tenant)
{
	struct kcrypto_tkey *k = NULL;

	assert_int_equal(kcrypto_tkey_generate(&k), KURA_OK);
	return new_set(tenant, k);
}

/* ---- raw AEAD ---- */

static void
aead_round_trip(const uint8_t *key, size_t n)
{
	uint8_t *pt = malloc(n + 1), *ct = malloc(n + OVH), *back = malloc(n + 1);
	size_t clen = 0, blen = 0;

	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(back);
	for (size_t i = 0; i < n; i++)
		pt[i] = (uint8_t)(i * 7);
	assert_int_equal(kcrypto_aead_seal(key, "ad", 2, pt, n, ct, n + OVH,
	    &clen), KURA_OK);
	assert_int_equal(clen, n + OVH);
	assert_int_equal(kcrypto_aead_open(key, "ad", 2, ct, clen, back, n,
	    &blen), KURA_OK);
	assert_int_equal(blen, n);
	if (n > 0)
		assert_memory_equal(pt, back, n);
	free(pt);
	free(ct);
	free(back);
}

static void
test_aead_round_trip_0_1_and_1mib_bytes(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN];

	(void)state;
	assert_int_equal(kcrypto_random(key, sizeof(key)), KURA_OK);
	aead_round_trip(key, 0);
	aead_round_trip(key, 1);
	aead_round_trip(key, 1u << 20);
}

static void
test_aead_empty_message_with_null_buffers(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN] = { 1 };
	uint8_t ct[OVH];
	size_t clen = 0, plen = 99;

	(void)state;
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, NULL, 0, ct,
	    sizeof(ct), &clen), KURA_OK);
	assert_int_equal(kcrypto_aead_open(key, NULL, 0, ct, clen, NULL, 0,
	    &plen), KURA_OK);
	assert_int_equal(plen, 0);
}

static void
test_aead_fresh_nonce_each_seal(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN] = { 2 };
	uint8_t a[8 + OVH], b[8 + OVH];
	size_t la, lb;

	(void)state;
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, "samedata", 8, a,
	    sizeof(a), &la), KURA_OK);
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, "samedata", 8, b,
	    sizeof(b), &lb), KURA_OK);
	assert_memory_not_equal(a, b, KCRYPTO_NONCE_LEN);
	assert_memory_not_equal(a + KCRYPTO_NONCE_LEN, b + KCRYPTO_NONCE_LEN, 8);
}

static void
test_aead_tampered_nonce_ct_or_tag_byte_fails_and_wipes(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN] = { 3 };
	const char *msg = "attack at dawn";
	size_t n = strlen(msg), clen, plen = 7;
	uint8_t ct[64], out[64];
	/* a nonce byte, a ciphertext byte, a tag byte */
	size_t pos[3] = { 5, KCRYPTO_NONCE_LEN + 3, KCRYPTO_NONCE_LEN + n + 9 };

	(void)state;
	assert_int_equal(kcrypto_aead_seal(key, "x", 1, msg, n, ct, sizeof(ct),
	    &clen), KURA_OK);
	for (size_t i = 0; i < 3; i++) {
		ct[pos[i]] ^= 0x01;
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(kcrypto_aead_open(key, "x", 1, ct, clen, out,
		    sizeof(out), &plen), KURA_ECRYPTO);
		assert_int_equal(plen, 7);	/* untouched on failure */
		for (size_t j = 0; j < n; j++)
			assert_int_equal(out[j], 0);	/* no partial plaintext */
		ct[pos[i]] ^= 0x01;
	}
	assert_int_equal(kcrypto_aead_open(key, "x", 1, ct, clen, out,
	    sizeof(out), &plen), KURA_OK);
	assert_memory_equal(out, msg, n);
}

static void
test_aead_wrong_ad_fails(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN] = { 4 };
	uint8_t ct[64], out[64];
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_aead_seal(key, "ad-1", 4, "hello", 5, ct,
	    sizeof(ct), &clen), KURA_OK);
	assert_int_equal(kcrypto_aead_open(key, "ad-2", 4, ct, clen, out,
	    sizeof(out), &plen), KURA_ECRYPTO);
	assert_int_equal(kcrypto_aead_open(key, NULL, 0, ct, clen, out,
	    sizeof(out), &plen), KURA_ECRYPTO);
}

static void
test_aead_wrong_key_fails(void **state)
{
	uint8_t k1[KCRYPTO_KEY_LEN] = { 5 }, k2[KCRYPTO_KEY_LEN] = { 6 };
	uint8_t ct[64], out[64];
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_aead_seal(k1, NULL, 0, "hello", 5, ct,
	    sizeof(ct), &clen), KURA_OK);
	assert_int_equal(kcrypto_aead_open(k2, NULL, 0, ct, clen, out,
	    sizeof(out), &plen), KURA_ECRYPTO);
}

static void
test_aead_size_checks(void **state)
{
	uint8_t key[KCRYPTO_KEY_LEN] = { 7 };
	uint8_t ct[64], out[64];
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, "hello", 5, ct,
	    5 + OVH - 1, &clen), KURA_ERANGE);
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, "hello", SIZE_MAX - 3,
	    ct, sizeof(ct), &clen), KURA_ERANGE);
	assert_int_equal(kcrypto_aead_seal(key, NULL, 0, "hello", 5, ct,
	    sizeof(ct), &clen), KURA_OK);
	assert_int_equal(kcrypto_aead_open(key, NULL, 0, ct, clen, out, 4,
	    &plen), KURA_ERANGE);
	assert_int_equal(kcrypto_aead_open(key, NULL, 0, ct, OVH - 1, out,
	    sizeof(out), &plen), KURA_ECRYPTO);
	assert_int_equal(kcrypto_aead_open(key, NULL, 0, ct, clen - 1, out,
	    sizeof(out), &plen), KURA_ECRYPTO);
}

/* ---- sealed fields ---- */

static void
test_seal_open_round_trip_nul_terminated(void **state)
{
	struct kcrypto_tkeys *set = fresh_set("ten_a");
	uint8_t *ct = NULL, *pt = NULL;
	size_t clen = 0, plen = 0;

	(void)state;
	assert_int_equal(kcrypto_seal(set, "users", "email", "usr_1",
	    "a@example.com", 13, &ct, &clen), KURA_OK);
	assert_int_equal(clen, 13 + KCRYPTO_SEAL_OVERHEAD);
	assert_int_equal(ct[0], 0x01);
	assert_int_equal(kcrypto_open(set, "users", "email", "usr_1", ct, clen,
	    &pt, &plen), KURA_OK);
	assert_int_equal(plen, 13);
	assert_string_equal((char *)pt, "a@example.com");
	free(pt);
	free(ct);
	/* empty field */
	assert_int_equal(kcrypto_seal(set, "t", "c", "r", NULL, 0, &ct, &clen),
	    KURA_OK);
	assert_int_equal(kcrypto_open(set, "t", "c", "r", ct, clen, &pt,
	    &plen), KURA_OK);
	assert_int_equal(plen, 0);
	assert_int_equal(pt[0], 0);
	free(pt);
	free(ct);
	kcrypto_tkeys_free(set);
}

static void
test_open_with_other_tenants_keys_fails(void **state)
{
	struct kcrypto_tkeys *a = fresh_set("ten_a"), *b = fresh_set("ten_b");
	uint8_t *ct = NULL, *pt = NULL;
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_seal(a, "t", "c", "r", "secret", 6, &ct,
	    &clen), KURA_OK);
	assert_int_equal(kcrypto_open(b, "t", "c", "r", ct, clen, &pt, &plen),
	    KURA_ECRYPTO);
	assert_null(pt);
	free(ct);
	kcrypto_tkeys_free(a);
	kcrypto_tkeys_free(b);
}

static void
test_open_with_same_key_but_other_binding_fails(void **state)
{
	struct kcrypto_keyring *kr = NULL;
	struct tmp *t = *state;
	struct kcrypto_tkey *k = NULL, *k1 = NULL, *k2 = NULL;
	struct kcrypto_tkeys *a, *b;
	uint8_t *blob = NULL, *ct = NULL, *pt = NULL;
	size_t blen, clen, plen;
	uint32_t kv;

	/* Two copies of one key, put in sets for two different tenants. */
	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_tkey_generate(&k), KURA_OK);
	assert_int_equal(kcrypto_tkey_wrap(kr, "ten_a", k, &kv, &blob, &blen),
	    KURA_OK);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv, blob, blen,
	    &k1), KURA_OK);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv, blob, blen,
	    &k2), KURA_OK);
	a = new_set("ten_a", k1);
	b = new_set("ten_b", k2);

	assert_int_equal(kcrypto_seal(a, "users", "email", "usr_1", "v", 1,
	    &ct, &clen), KURA_OK);
	assert_int_equal(kcrypto_open(a, "users", "email", "usr_1", ct, clen,
	    &pt, &plen), KURA_OK);
	free(pt);
	pt = NULL;
	assert_int_equal(kcrypto_open(b, "users", "email", "usr_1", ct, clen,
	    &pt, &plen), KURA_ECRYPTO);
	assert_int_equal(kcrypto_open(a, "userz", "email", "usr_1", ct, clen,
	    &pt, &plen), KURA_ECRYPTO);
	assert_int_equal(kcrypto_open(a, "users", "name", "usr_1", ct, clen,
	    &pt, &plen), KURA_ECRYPTO);
	assert_int_equal(kcrypto_open(a, "users", "email", "usr_2", ct, clen,
	    &pt, &plen), KURA_ECRYPTO);
	/* length prefixes: moving a byte between parts changes the AD */
	assert_int_equal(kcrypto_open(a, "usersemail", "usr", "_1", ct, clen,
	    &pt, &plen), KURA_ECRYPTO);
	assert_null(pt);
	free(ct);
	free(blob);
	kcrypto_tkey_free(k);
	kcrypto_tkeys_free(a);
	kcrypto_tkeys_free(b);
	kcrypto_keyring_free(kr);
}

static void
test_open_truncated_input_fails(void **state)
{
	struct kcrypto_tkeys *set = fresh_set("ten_a");
	uint8_t *ct = NULL, *pt = NULL;
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_seal(set, "t", "c", "r", "hello", 5, &ct,
	    &clen), KURA_OK);
	for (size_t n = 0; n < clen; n++)
		assert_int_equal(kcrypto_open(set, "t", "c", "r", ct, n, &pt,
		    &plen), KURA_ECRYPTO);
	assert_null(pt);
	free(ct);
	kcrypto_tkeys_free(set);
}

static void
test_open_unknown_version_or_format_fails(void **state)
{
	struct kcrypto_tkeys *set = fresh_set("ten_a");
	uint8_t *ct = NULL, *pt = NULL;
	size_t clen, plen;

	(void)state;
	assert_int_equal(kcrypto_seal(set, "t", "c", "r", "hello", 5, &ct,
	    &clen), KURA_OK);
	ct[4] = 2;	/* key version 2: not in the set */
	assert_int_equal(kcrypto_open(set, "t", "c", "r", ct, clen, &pt,
	    &plen), KURA_ECRYPTO);
	ct[4] = 1;
	ct[0] = 0x02;	/* unknown format */
	assert_int_equal(kcrypto_open(set, "t", "c", "r", ct, clen, &pt,
	    &plen), KURA_ECRYPTO);
	ct[0] = 0x01;
	assert_int_equal(kcrypto_open(set, "t", "c", "r", ct, clen, &pt,
	    &plen), KURA_OK);
	free(pt);
	free(ct);
	kcrypto_tkeys_free(set);
}

static void
test_rotation_old_data_opens_and_new_seals_use_v2(void **state)
{
	struct kcrypto_tkey *k1 = NULL, *k2 = NULL;
	struct kcrypto_tkeys *set;
	uint8_t *c1 = NULL, *c2 = NULL, *pt = NULL;
	size_t l1, l2, plen;

	(void)state;
	assert_int_equal(kcrypto_tkey_generate(&k1), KURA_OK);
	assert_int_equal(kcrypto_tkey_rotate(k1, &k2), KURA_OK);
	assert_int_equal(kcrypto_tkey_version(k2), 2);
	set = new_set("ten_a", k1);
	assert_int_equal(kcrypto_seal(set, "t", "c", "r", "old", 3, &c1, &l1),
	    KURA_OK);
	assert_memory_equal(c1, "\x01\x00\x00\x00\x01", 5);
	assert_int_equal(kcrypto_tkeys_add(set, k2), KURA_OK);
	assert_int_equal(kcrypto_tkey_version(kcrypto_tkeys_newest(set)), 2);
	assert_int_equal(kcrypto_open(set, "t", "c", "r", c1, l1, &pt, &plen),
	    KURA_OK);
	assert_string_equal((char *)pt, "old");
	free(pt);
	assert_int_equal(kcrypto_seal(set, "t", "c", "r", "new", 3, &c2, &l2),
	    KURA_OK);
	assert_memory_equal(c2, "\x01\x00\x00\x00\x02", 5);
	assert_int_equal(kcrypto_open(set, "t", "c", "r", c2, l2, &pt, &plen),
	    KURA_OK);
	assert_string_equal((char *)pt, "new");
	free(pt);
	free(c1);
	free(c2);
	kcrypto_tkeys_free(set);
}

static void
test_tkeys_add_rejects_duplicate_and_foreign_index_key(void **state)
{
	struct kcrypto_tkey *k1 = NULL, *dup = NULL, *other = NULL, *o2 = NULL;
	struct kcrypto_tkeys *set;

	(void)state;
	assert_int_equal(kcrypto_tkey_generate(&k1), KURA_OK);
	assert_int_equal(kcrypto_tkey_generate(&dup), KURA_OK);
	assert_int_equal(kcrypto_tkey_generate(&other), KURA_OK);
	assert_int_equal(kcrypto_tkey_rotate(other, &o2), KURA_OK);
	kcrypto_tkey_free(other);
	set = new_set("ten_a", k1);
	/* ownership passes even on failure: no leaks under ASan */
	assert_int_equal(kcrypto_tkeys_add(set, dup), KURA_EEXIST);
	assert_int_equal(kcrypto_tkeys_add(set, o2), KURA_EINVAL);
	assert_string_equal(kcrypto_tkeys_tenant(set), "ten_a");
	kcrypto_tkeys_free(set);
}

/* Keys come from a shared guarded slab of 256 slots and, past it, from
 * allocations of their own: both kinds work, stay distinct, and a freed
 * slot is reused without carrying the old key into the new one. */
static void
test_tkey_slab_and_fallback_keys(void **state)
{
	enum { N = 300 };
	static struct kcrypto_tkey *k[N];
	char fp[N][17], again[17];

	(void)state;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(kcrypto_tkey_generate(&k[i]), KURA_OK);
		assert_int_equal(kcrypto_tkey_fingerprint(k[i], fp[i]), KURA_OK);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(fp[i], fp[j]);
	}
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(kcrypto_tkey_fingerprint(k[i], again), KURA_OK);
		assert_string_equal(again, fp[i]);
	}
	for (size_t i = 0; i < N; i += 2)
		kcrypto_tkey_free(k[i]);
	for (size_t i = 0; i < N; i += 2) {
		assert_int_equal(kcrypto_tkey_rotate(k[i + 1], &k[i]), KURA_OK);
		assert_int_equal(kcrypto_tkey_version(k[i]), 2);
		assert_int_equal(kcrypto_tkey_fingerprint(k[i], again), KURA_OK);
		assert_string_not_equal(again, fp[i]);
		assert_string_not_equal(again, fp[i + 1]);
	}
	for (size_t i = 0; i < N; i++)
		kcrypto_tkey_free(k[i]);
	kcrypto_tkey_free(NULL);
}

/* ---- blind index ---- */

static void
test_blind_index_properties(void **state)
{
	struct kcrypto_tkey *k1 = NULL, *k2 = NULL;
	struct kcrypto_tkeys *a, *a2, *b;
	char h1[65], h2[65], h3[65], h4[65], h5[65];

	(void)state;
	assert_int_equal(kcrypto_tkey_generate(&k1), KURA_OK);
	assert_int_equal(kcrypto_tkey_rotate(k1, &k2), KURA_OK);
	a = new_set("ten_a", k1);
	a2 = new_set("ten_a", k2);	/* only version 2 */
	b = fresh_set("ten_b");

	assert_int_equal(kcrypto_blind_index(a, "email", "x@y.z", 5, h1),
	    KURA_OK);
	assert_int_equal(strlen(h1), 64);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", h1[i]));
	assert_int_equal(kcrypto_blind_index(a, "email", "x@y.z", 5, h2),
	    KURA_OK);
	assert_string_equal(h1, h2);				/* stable */
	assert_int_equal(kcrypto_blind_index(a, "login", "x@y.z", 5, h3),
	    KURA_OK);
	assert_string_not_equal(h1, h3);			/* purpose */
	assert_int_equal(kcrypto_blind_index(b, "email", "x@y.z", 5, h4),
	    KURA_OK);
	assert_string_not_equal(h1, h4);			/* tenant */
	assert_int_equal(kcrypto_blind_index(a2, "email", "x@y.z", 5, h5),
	    KURA_OK);
	assert_string_equal(h1, h5);				/* key version */
	assert_int_equal(kcrypto_blind_index(a, "email", "x@y.Z", 5, h2),
	    KURA_OK);
	assert_string_not_equal(h1, h2);			/* value */
	kcrypto_tkeys_free(a);
	kcrypto_tkeys_free(a2);
	kcrypto_tkeys_free(b);
}

/* ---- keyring ---- */

static void
test_keyring_create_load_add_retire_round_trip(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	struct stat st;
	char fp1[17], fp1b[17], fp2[17];
	uint32_t v = 0, keep[1];
	size_t removed = 99;

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	assert_int_equal(kcrypto_keyring_create(t->path), KURA_EEXIST);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_current(kr), 1);
	assert_int_equal(kcrypto_keyring_count(kr), 1);
	assert_int_equal(kcrypto_keyring_fingerprint(kr, 1, fp1), KURA_OK);
	assert_int_equal(strlen(fp1), 16);
	assert_int_equal(kcrypto_keyring_fingerprint(kr, 2, fp2), KURA_ENOENT);
	kcrypto_keyring_free(kr);

	assert_int_equal(kcrypto_keyring_add_version(t->path, &v), KURA_OK);
	assert_int_equal(v, 2);
	assert_int_equal(kcrypto_keyring_add_version(t->path, &v), KURA_OK);
	assert_int_equal(v, 3);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_current(kr), 3);
	assert_int_equal(kcrypto_keyring_count(kr), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(kcrypto_keyring_version_at(kr, i), i + 1);
	assert_int_equal(kcrypto_keyring_version_at(kr, 3), 0);
	assert_true(kcrypto_keyring_has(kr, 1));
	assert_false(kcrypto_keyring_has(kr, 4));
	assert_int_equal(kcrypto_keyring_fingerprint(kr, 1, fp1b), KURA_OK);
	assert_string_equal(fp1, fp1b);		/* v1 survived rotation */
	assert_int_equal(kcrypto_keyring_fingerprint(kr, 2, fp2), KURA_OK);
	assert_string_not_equal(fp1, fp2);
	kcrypto_keyring_free(kr);

	keep[0] = 2;
	assert_int_equal(kcrypto_keyring_retire(t->path, keep, 1, &removed),
	    KURA_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(kcrypto_keyring_retire(t->path, keep, 1, &removed),
	    KURA_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_count(kr), 2);
	assert_false(kcrypto_keyring_has(kr, 1));
	assert_true(kcrypto_keyring_has(kr, 2));
	assert_true(kcrypto_keyring_has(kr, 3));
	kcrypto_keyring_free(kr);
	/* current is never retired */
	assert_int_equal(kcrypto_keyring_retire(t->path, NULL, 0, &removed),
	    KURA_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_count(kr), 1);
	assert_int_equal(kcrypto_keyring_current(kr), 3);
	kcrypto_keyring_free(kr);
	/* next version continues after the highest, never reuses */
	assert_int_equal(kcrypto_keyring_add_version(t->path, &v), KURA_OK);
	assert_int_equal(v, 4);
	/* no temp files left behind: only the keyring and its lock file */
	assert_int_equal(count_entries(t->dir), 2);
}

static void
test_keyring_load_refuses_group_or_other_bits(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	assert_int_equal(chmod(t->path, 0640), 0);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_EPERM);
	assert_int_equal(chmod(t->path, 0604), 0);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_EPERM);
	assert_int_equal(chmod(t->path, 0400), 0);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	kcrypto_keyring_free(kr);
}

static void
test_keyring_load_refuses_symlink_and_non_regular(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	char link[160], fifo[160];

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	snprintf(link, sizeof(link), "%s/link", t->dir);
	assert_int_equal(symlink(t->path, link), 0);
	assert_int_equal(kcrypto_keyring_load(link, &kr), KURA_EPERM);
	snprintf(fifo, sizeof(fifo), "%s/fifo", t->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(kcrypto_keyring_load(fifo, &kr), KURA_EPERM);
	assert_int_equal(kcrypto_keyring_load(t->dir, &kr), KURA_EPERM);
	snprintf(fifo, sizeof(fifo), "%s/missing", t->dir);
	assert_int_equal(kcrypto_keyring_load(fifo, &kr), KURA_ENOENT);
	assert_null(kr);
}

static void
test_keyring_load_refuses_malformed_files(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	char k[45], k31[45], bad[8][256], ok[256];
	char *big;
	const char *cases[] = {
		"",
		"current 1\n",
		"kek 1 K\n",				/* no current */
		"kek 1 K\ncurrent 2\n",			/* current absent */
		"kek 1 K\ncurrent 1",			/* no final newline */
		"kek 1 K\ncurrent 1\ncurrent 1\n",	/* two currents */
		"kek 1 K\nkek 1 K\ncurrent 1\n",	/* duplicate */
		"kek 0 K\ncurrent 0\n",			/* version 0 */
		"kek 01 K\ncurrent 01\n",		/* leading zero */
		"kek +1 K\ncurrent 1\n",
		"kek 2147483649 K\ncurrent 2147483649\n", /* > 2^31 */
		"kek 1 K \ncurrent 1\n",		/* trailing space */
		"kek  1 K\ncurrent 1\n",		/* double space */
		"kek 1 K\n\ncurrent 1\n",		/* empty line */
		"# keys\nkek 1 K\ncurrent 1\n",		/* comment */
		"kek 1 K\r\ncurrent 1\n",		/* CRLF */
		"KEK 1 K\ncurrent 1\n",
		"kek 1 S\ncurrent 1\n",			/* 31-byte key */
		"kek 1 AAAA\ncurrent 1\n",		/* short key */
		"kek 1 K\ncurrent 1 \n",
	};
	char buf[512];

	b64_key(k, 0x11, 32);
	b64_key(k31, 0x11, 31);
	assert_int_equal(strlen(k31), 44);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t o = 0;

		for (const char *p = cases[i]; *p != '\0'; p++) {
			if (*p == 'K')
				o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				    "%s", k);
			else if (*p == 'S')
				o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				    "%s", k31);
			else
				buf[o++] = *p;
		}
		write_file(t->path, buf, o, 0600);
		assert_int_equal(kcrypto_keyring_load(t->path, &kr),
		    KURA_EINVAL);
	}
	/* characters outside the alphabet, non-canonical last quantum, a
	 * URL-safe character, embedded NUL */
	snprintf(bad[0], sizeof(bad[0]), "kek 1 %.43s!\ncurrent 1\n", k);
	snprintf(bad[1], sizeof(bad[1]), "kek 1 %.42sF=\ncurrent 1\n", k);
	snprintf(bad[2], sizeof(bad[2]), "kek 1 -%.43s\ncurrent 1\n", k + 1);
	for (size_t i = 0; i < 3; i++) {
		write_file(t->path, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(kcrypto_keyring_load(t->path, &kr),
		    KURA_EINVAL);
	}
	snprintf(bad[3], sizeof(bad[3]), "kek 1 %s\ncurrent 1\n", k);
	bad[3][3] = '\0';
	write_file(t->path, bad[3], strlen(bad[3] + 4) + 4, 0600);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_EINVAL);
	/* over 64 KiB */
	big = malloc(70000);
	assert_non_null(big);
	memset(big, '\n', 70000);
	write_file(t->path, big, 70000, 0600);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_ETOOBIG);
	free(big);
	assert_null(kr);
	/* the edges that are valid: version 2^31, versions out of order */
	snprintf(ok, sizeof(ok), "kek 2147483648 %s\nkek 7 %s\ncurrent 7\n",
	    k, k);
	write_file(t->path, ok, strlen(ok), 0600);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_count(kr), 2);
	assert_int_equal(kcrypto_keyring_version_at(kr, 0), 7);
	assert_int_equal(kcrypto_keyring_version_at(kr, 1), 2147483648u);
	kcrypto_keyring_free(kr);
	/* and no more versions can be added past 2^31 */
	{
		uint32_t v;
		assert_int_equal(kcrypto_keyring_add_version(t->path, &v),
		    KURA_ERANGE);
	}
}

struct adder {
	const char *path;
	kura_err err;
};

static void *
adder_run(void *arg)
{
	struct adder *a = arg;
	uint32_t v;

	for (int i = 0; i < 5 && a->err == KURA_OK; i++)
		a->err = kcrypto_keyring_add_version(a->path, &v);
	return NULL;
}

static void
test_keyring_concurrent_rotations_lose_no_version(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	pthread_t th[4];
	struct adder ad[4];

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	for (int i = 0; i < 4; i++) {
		ad[i].path = t->path;
		ad[i].err = KURA_OK;
		assert_int_equal(pthread_create(&th[i], NULL, adder_run,
		    &ad[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ad[i].err, KURA_OK);
	}
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_keyring_count(kr), 21);
	assert_int_equal(kcrypto_keyring_current(kr), 21);
	kcrypto_keyring_free(kr);
}

/* ---- tenant key wrapping ---- */

static void
test_kek_rotation_keeps_every_tenant_key_readable(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	struct kcrypto_tkey *k = NULL, *u = NULL;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1, l2, removed;
	uint32_t kv1, kv2, v, in_use[1];
	char fpk[17], fpu[17];

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_tkey_generate(&k), KURA_OK);
	assert_int_equal(kcrypto_tkey_fingerprint(k, fpk), KURA_OK);
	assert_int_equal(kcrypto_tkey_wrap(kr, "ten_a", k, &kv1, &b1, &l1),
	    KURA_OK);
	assert_int_equal(kv1, 1);
	assert_int_equal(l1, 64 + OVH);
	kcrypto_keyring_free(kr);

	assert_int_equal(kcrypto_keyring_add_version(t->path, &v), KURA_OK);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	/* old blob still opens after rotation */
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv1, b1, l1, &u),
	    KURA_OK);
	assert_int_equal(kcrypto_tkey_fingerprint(u, fpu), KURA_OK);
	assert_string_equal(fpk, fpu);
	/* rewrap under the current KEK */
	assert_int_equal(kcrypto_tkey_wrap(kr, "ten_a", u, &kv2, &b2, &l2),
	    KURA_OK);
	assert_int_equal(kv2, 2);
	kcrypto_tkey_free(u);
	u = NULL;
	kcrypto_keyring_free(kr);

	in_use[0] = kv2;
	assert_int_equal(kcrypto_keyring_retire(t->path, in_use, 1, &removed),
	    KURA_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv2, b2, l2, &u),
	    KURA_OK);
	assert_int_equal(kcrypto_tkey_fingerprint(u, fpu), KURA_OK);
	assert_string_equal(fpk, fpu);
	kcrypto_tkey_free(u);
	u = NULL;
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv1, b1, l1, &u),
	    KURA_ENOENT);
	assert_null(u);
	kcrypto_keyring_free(kr);
	kcrypto_tkey_free(k);
	free(b1);
	free(b2);
}

static void
test_wrap_binds_tenant_and_versions(void **state)
{
	struct tmp *t = *state;
	struct kcrypto_keyring *kr = NULL;
	struct kcrypto_tkey *k = NULL, *u = NULL;
	uint8_t *b = NULL;
	size_t l;
	uint32_t kv, v;

	assert_int_equal(kcrypto_keyring_create(t->path), KURA_OK);
	assert_int_equal(kcrypto_keyring_add_version(t->path, &v), KURA_OK);
	assert_int_equal(kcrypto_keyring_load(t->path, &kr), KURA_OK);
	assert_int_equal(kcrypto_tkey_generate(&k), KURA_OK);
	assert_int_equal(kcrypto_tkey_wrap(kr, "ten_a", k, &kv, &b, &l),
	    KURA_OK);
	assert_int_equal(kv, 2);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_b", 1, kv, b, l, &u),
	    KURA_ECRYPTO);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 2, kv, b, l, &u),
	    KURA_ECRYPTO);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, 1, b, l, &u),
	    KURA_ECRYPTO);		/* other KEK version (present) */
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, 3, b, l, &u),
	    KURA_ENOENT);		/* KEK version not in keyring */
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv, b, l - 1,
	    &u), KURA_ECRYPTO);
	b[20] ^= 0x80;
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv, b, l, &u),
	    KURA_ECRYPTO);
	b[20] ^= 0x80;
	assert_null(u);
	assert_int_equal(kcrypto_tkey_unwrap(kr, "ten_a", 1, kv, b, l, &u),
	    KURA_OK);
	assert_int_equal(kcrypto_tkey_version(u), 1);
	kcrypto_tkey_free(u);
	kcrypto_tkey_free(k);
	kcrypto_keyring_free(kr);
	free(b);
}

/* ---- ids, tokens, hashes ---- */

static void
test_id_new_and_valid(void **state)
{
	char id[KCRYPTO_ID_MAX], id2[KCRYPTO_ID_MAX];

	(void)state;
	assert_int_equal(kcrypto_id_new("usr", id), KURA_OK);
	assert_int_equal(strlen(id), 4 + 32);
	assert_true(kcrypto_id_valid(id, "usr"));
	assert_false(kcrypto_id_valid(id, "ten"));
	assert_false(kcrypto_id_valid(id, "us"));
	assert_int_equal(kcrypto_id_new("usr", id2), KURA_OK);
	assert_string_not_equal(id, id2);
	assert_int_equal(kcrypto_id_new("abcd", id), KURA_OK);
	assert_true(kcrypto_id_valid(id, "abcd"));
	assert_int_equal(kcrypto_id_new("t", id), KURA_OK);
	assert_true(kcrypto_id_valid(id, "t"));

	assert_int_equal(kcrypto_id_new("", id), KURA_EINVAL);
	assert_int_equal(kcrypto_id_new("abcde", id), KURA_EINVAL);
	assert_int_equal(kcrypto_id_new("Usr", id), KURA_EINVAL);
	assert_int_equal(kcrypto_id_new("u_r", id), KURA_EINVAL);
	assert_int_equal(kcrypto_id_new(NULL, id), KURA_EINVAL);

	assert_true(kcrypto_id_valid("ten_0123456789abcdef0123456789abcdef",
	    "ten"));
	assert_false(kcrypto_id_valid("ten_0123456789ABCDEF0123456789abcdef",
	    "ten"));
	assert_false(kcrypto_id_valid("ten_0123456789abcdef0123456789abcde",
	    "ten"));
	assert_false(kcrypto_id_valid("ten_0123456789abcdef0123456789abcdef0",
	    "ten"));
	assert_false(kcrypto_id_valid("ten-0123456789abcdef0123456789abcdef",
	    "ten"));
	assert_false(kcrypto_id_valid("tenx0123456789abcdef0123456789abcdef",
	    "te"));
	assert_false(kcrypto_id_valid("ten_0123456789abcdeg0123456789abcdef",
	    "ten"));
	assert_false(kcrypto_id_valid("", "ten"));
	assert_false(kcrypto_id_valid(NULL, "ten"));
	assert_false(kcrypto_id_valid("ten_0123456789abcdef0123456789abcdef",
	    NULL));
}

static void
test_token_length_and_alphabet(void **state)
{
	char *tok = NULL, *tok2 = NULL;
	size_t sizes[] = { 16, 32, 33, 64 };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		size_t n = sizes[i];

		assert_int_equal(kcrypto_token_new(n, &tok), KURA_OK);
		assert_int_equal(strlen(tok), (4 * n + 2) / 3);
		assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_"), strlen(tok));
		kura_free_secret_str(tok);
		tok = NULL;
	}
	assert_int_equal(kcrypto_token_new(32, &tok), KURA_OK);
	assert_int_equal(kcrypto_token_new(32, &tok2), KURA_OK);
	assert_string_not_equal(tok, tok2);
	kura_free_secret_str(tok);
	kura_free_secret_str(tok2);
	tok = NULL;
	assert_int_equal(kcrypto_token_new(15, &tok), KURA_ERANGE);
	assert_int_equal(kcrypto_token_new(65, &tok), KURA_ERANGE);
	assert_null(tok);
}

static void
test_sha256_hex_known_answer(void **state)
{
	char hex[65];

	(void)state;
	assert_int_equal(kcrypto_sha256_hex("abc", 3, hex), KURA_OK);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(kcrypto_sha256_hex(NULL, 0, hex), KURA_OK);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

/* ---- passwords ---- */

static void
test_pw_hash_verify_and_wrong_password(void **state)
{
	char hash[KCRYPTO_PWHASH_LEN];
	bool needs = false;

	(void)state;
	assert_int_equal(kcrypto_pw_hash(&fast_pw, "correct horse", hash),
	    KURA_OK);
	assert_non_null(strstr(hash, "$argon2id$"));
	assert_int_equal(kcrypto_pw_verify(hash, "correct horse"), KURA_OK);
	assert_int_equal(kcrypto_pw_verify(hash, "correct horsf"), KURA_EAUTH);
	assert_int_equal(kcrypto_pw_verify(hash, ""), KURA_EAUTH);
	assert_int_equal(kcrypto_pw_needs_rehash(hash, &fast_pw, &needs),
	    KURA_OK);
	assert_false(needs);
	assert_int_equal(kcrypto_pw_needs_rehash(hash, NULL, &needs), KURA_OK);
	assert_true(needs);
}

static void
test_pw_param_and_length_bounds(void **state)
{
	struct kcrypto_pwparams p;
	char hash[KCRYPTO_PWHASH_LEN], forged[KCRYPTO_PWHASH_LEN];
	char *longpw;
	const struct kcrypto_pwparams def = KCRYPTO_PWPARAMS_DEFAULT;

	(void)state;
	assert_int_equal(def.opslimit, 2);
	assert_int_equal(def.memlimit, 19u << 20);
	p = fast_pw;
	p.opslimit = crypto_pwhash_OPSLIMIT_MIN - 1;
	assert_int_equal(kcrypto_pw_hash(&p, "pw", hash), KURA_ERANGE);
	p = fast_pw;
	p.opslimit = KCRYPTO_PW_OPSLIMIT_MAX + 1;
	assert_int_equal(kcrypto_pw_hash(&p, "pw", hash), KURA_ERANGE);
	p = fast_pw;
	p.memlimit = (8u << 20) - 1;
	assert_int_equal(kcrypto_pw_hash(&p, "pw", hash), KURA_ERANGE);
	p.memlimit = ((size_t)1 << 30) + 1;
	assert_int_equal(kcrypto_pw_hash(&p, "pw", hash), KURA_ERANGE);

	longpw = malloc(KCRYPTO_PW_MAX + 2);
	assert_non_null(longpw);
	memset(longpw, 'a', KCRYPTO_PW_MAX + 1);
	longpw[KCRYPTO_PW_MAX + 1] = '\0';
	assert_int_equal(kcrypto_pw_hash(&fast_pw, longpw, hash),
	    KURA_ETOOBIG);
	longpw[KCRYPTO_PW_MAX] = '\0';
	assert_int_equal(kcrypto_pw_hash(&fast_pw, longpw, hash), KURA_OK);
	assert_int_equal(kcrypto_pw_verify(hash, longpw), KURA_OK);
	longpw[KCRYPTO_PW_MAX] = 'a';
	assert_int_equal(kcrypto_pw_verify(hash, longpw), KURA_ETOOBIG);
	free(longpw);
	assert_int_equal(kcrypto_pw_hash(&fast_pw, "", hash), KURA_EINVAL);

	/* malformed and over-expensive stored hashes */
	assert_int_equal(kcrypto_pw_verify("", "pw"), KURA_EINVAL);
	assert_int_equal(kcrypto_pw_verify("plaintext", "pw"), KURA_EINVAL);
	assert_int_equal(kcrypto_pw_verify("$argon2i$v=19$m=8192,t=1,p=1$"
	    "c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "pw"), KURA_EINVAL);
	assert_int_equal(kcrypto_pw_verify("$argon2id$v=19$m=8192,t=1,p=1$!!",
	    "pw"), KURA_EINVAL);
	assert_int_equal(kcrypto_pw_hash(&fast_pw, "pw", hash), KURA_OK);
	snprintf(forged, sizeof(forged), "$argon2id$v=19$m=4194304%s",
	    strstr(hash, ",t="));
	assert_int_equal(kcrypto_pw_verify(forged, "pw"), KURA_ERANGE);
}

static void
test_pw_generate_has_all_classes_and_no_lookalikes(void **state)
{
	char *pw = NULL;

	(void)state;
	for (size_t len = 12; len <= 128; len += 29) {
		for (int rep = 0; rep < 50; rep++) {
			assert_int_equal(kcrypto_pw_generate(len, &pw),
			    KURA_OK);
			assert_int_equal(strlen(pw), len);
			assert_non_null(strpbrk(pw, "ABCDEFGHJKLMNPQRSTUVWXYZ"));
			assert_non_null(strpbrk(pw, "abcdefghijkmnopqrstuvwxyz"));
			assert_non_null(strpbrk(pw, "23456789"));
			assert_non_null(strpbrk(pw, "!#$%&*+-=?@^_~"));
			assert_null(strpbrk(pw, "IOl01 '\"`\\|"));
			kura_free_secret_str(pw);
			pw = NULL;
		}
	}
	assert_int_equal(kcrypto_pw_generate(11, &pw), KURA_ERANGE);
	assert_int_equal(kcrypto_pw_generate(129, &pw), KURA_ERANGE);
	assert_null(pw);
}

static void
test_init_is_idempotent(void **state)
{
	(void)state;
	assert_int_equal(kcrypto_init(), KURA_OK);
	assert_int_equal(kcrypto_init(), KURA_OK);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_idempotent),
		cmocka_unit_test(test_aead_round_trip_0_1_and_1mib_bytes),
		cmocka_unit_test(test_aead_empty_message_with_null_buffers),
		cmocka_unit_test(test_aead_fresh_nonce_each_seal),
		cmocka_unit_test(
		    test_aead_tampered_nonce_ct_or_tag_byte_fails_and_wipes),
		cmocka_unit_test(test_aead_wrong_ad_fails),
		cmocka_unit_test(test_aead_wrong_key_fails),
		cmocka_unit_test(test_aead_size_checks),
		cmocka_unit_test(test_seal_open_round_trip_nul_terminated),
		cmocka_unit_test(test_open_with_other_tenants_keys_fails),
		TMP_TEST(test_open_with_same_key_but_other_binding_fails),
		cmocka_unit_test(test_open_truncated_input_fails),
		cmocka_unit_test(test_open_unknown_version_or_format_fails),
		cmocka_unit_test(
		    test_rotation_old_data_opens_and_new_seals_use_v2),
		cmocka_unit_test(
		    test_tkeys_add_rejects_duplicate_and_foreign_index_key),
		cmocka_unit_test(test_tkey_slab_and_fallback_keys),
		cmocka_unit_test(test_blind_index_properties),
		TMP_TEST(test_keyring_create_load_add_retire_round_trip),
		TMP_TEST(test_keyring_load_refuses_group_or_other_bits),
		TMP_TEST(test_keyring_load_refuses_symlink_and_non_regular),
		TMP_TEST(test_keyring_load_refuses_malformed_files),
		TMP_TEST(test_keyring_concurrent_rotations_lose_no_version),
		TMP_TEST(test_kek_rotation_keeps_every_tenant_key_readable),
		TMP_TEST(test_wrap_binds_tenant_and_versions),
		cmocka_unit_test(test_id_new_and_valid),
		cmocka_unit_test(test_token_length_and_alphabet),
		cmocka_unit_test(test_sha256_hex_known_answer),
		cmocka_unit_test(test_pw_hash_verify_and_wrong_password),
		cmocka_unit_test(test_pw_param_and_length_bounds),
		cmocka_unit_test(
		    test_pw_generate_has_all_classes_and_no_lookalikes),
	};

	if (kcrypto_init() != KURA_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
