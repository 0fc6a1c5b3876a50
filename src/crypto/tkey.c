/*
 * Tenant keys: per tenant and per version a 64-byte key (DEK || blind-index
 * key) held in guarded memory, wrapped under the keyring's KEK for storage.
 * Field envelopes (kcrypto_seal/open) and blind indexes live here too.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <sodium.h>

#include "core/mem.h"
#include "crypto/internal.h"
#include "crypto/kcrypto.h"

#define TKEY_MATERIAL (2 * KCRYPTO_KEY_LEN)
#define TKEY_BLOB_LEN (KCRYPTO_NONCE_LEN + TKEY_MATERIAL + KCRYPTO_TAG_LEN)
#define TKEYS_MAX 256
#define SEAL_FORMAT 0x01
#define SEAL_HDR_LEN 5
#define SEAL_AEAD_OFF SEAL_HDR_LEN
/* Tenant keys held at once in the shared guarded slab (17 KiB); more
 * fall back to one sodium_malloc each. */
#define TKEY_SLAB_SLOTS 256

/* Lives entirely in sodium_malloc memory: a slot of the shared slab, or
 * (slab full) an allocation of its own, read-only once filled. */
struct kcrypto_tkey {
	uint32_t version;
	uint8_t km[TKEY_MATERIAL];	/* dek || index key */
};

#define TKEY_DEK(k) ((k)->km)
#define TKEY_IDX(k) ((k)->km + KCRYPTO_KEY_LEN)

struct kcrypto_tkeys {
	char *tenant;
	size_t n;
	struct kcrypto_tkey *keys[TKEYS_MAX];	/* ascending version */
};

/*
 * Every request unwraps its tenant's keys and frees them when it ends.  A
 * sodium_malloc/sodium_free pair per key costs 11 system calls (mmap,
 * mprotect x5, mlock, madvise x2, munlock, munmap), about a quarter of a
 * simple authenticated read.  So keys live in slots of one slab of
 * guarded memory (sodium_malloc: guard pages around it, mlock'd, kept out
 * of core dumps), allocated once and reused.  A slot is wiped when its key
 * is freed, so key material lives exactly as long as before; what a slot
 * gives up is a guard page and canary of its own and the read-only
 * protection (the pages are shared with keys being filled).  Neither
 * keeps key bytes from being read; they catch stray writes, which the
 * wipe-on-free and the slab's own guard pages still bound.
 */
static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kcrypto_tkey *slab;	/* TKEY_SLAB_SLOTS keys, or NULL */
static bool slab_failed;		/* sodium_malloc refused it once */
static uint64_t slab_used[TKEY_SLAB_SLOTS / 64];

/* A slab slot, or NULL if the slab is full or cannot be had. */
static struct kcrypto_tkey *
slab_take(void)
{
	struct kcrypto_tkey *k = NULL;

	pthread_mutex_lock(&slab_lock);
	if (slab == NULL && !slab_failed) {
		slab = sodium_malloc(TKEY_SLAB_SLOTS * sizeof(*slab));
		if (slab == NULL)
			slab_failed = true;
		else
			sodium_memzero(slab, TKEY_SLAB_SLOTS * sizeof(*slab));
	}
	for (size_t w = 0; slab != NULL && w < TKEY_SLAB_SLOTS / 64; w++) {
		if (slab_used[w] != UINT64_MAX) {
			unsigned b = (unsigned)__builtin_ctzll(~slab_used[w]);
			slab_used[w] |= UINT64_C(1) << b;
			k = &slab[w * 64 + b];
			break;
		}
	}
	pthread_mutex_unlock(&slab_lock);
	return k;
}

/* True if k is a slab slot.  Only called for keys from tkey_alloc, so
 * slab is already set (under the lock) whenever k came from it. */
static bool
in_slab(const struct kcrypto_tkey *k)
{
	uintptr_t p = (uintptr_t)k, lo = (uintptr_t)slab;

	return slab != NULL && p >= lo &&
	    p < lo + TKEY_SLAB_SLOTS * sizeof(*slab);
}

static kura_err
tkey_alloc(struct kcrypto_tkey **ret_key)
{
	struct kcrypto_tkey *k;
	kura_err err;

	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	if ((k = slab_take()) == NULL &&
	    (k = sodium_malloc(sizeof(*k))) == NULL)
		return KURA_ENOMEM;
	*ret_key = k;
	return KURA_OK;
}

/* Make a filled key read-only where it has pages of its own. */
static void
tkey_lock(struct kcrypto_tkey *k)
{
	if (!in_slab(k))
		sodium_mprotect_readonly(k);
}

/* Wipe key and give its memory back (a slab slot, or its own pages). */
void
kcrypto_tkey_free(struct kcrypto_tkey *key)
{
	size_t i;

	if (key == NULL)
		return;
	if (!in_slab(key)) {
		sodium_free(key);
		return;
	}
	sodium_memzero(key, sizeof(*key));
	i = (size_t)(key - slab);
	pthread_mutex_lock(&slab_lock);
	slab_used[i / 64] &= ~(UINT64_C(1) << (i % 64));
	pthread_mutex_unlock(&slab_lock);
}

uint32_t
kcrypto_tkey_version(const struct kcrypto_tkey *key)
{
	return key != NULL ? key->version : 0;
}

/* Fresh version-1 key: random DEK and index key.  Caller frees. */
kura_err
kcrypto_tkey_generate(struct kcrypto_tkey **ret_key)
{
	struct kcrypto_tkey *k = NULL;
	kura_err err;

	if (ret_key == NULL)
		return KURA_EINVAL;
	if ((err = tkey_alloc(&k)) != KURA_OK)
		return err;
	if ((err = kcrypto_random(k->km, sizeof(k->km))) != KURA_OK)
		goto out;
	k->version = 1;
	tkey_lock(k);
	*ret_key = k;
	k = NULL;
out:
	kcrypto_tkey_free(k);
	return err;
}

/* Next version after prev: random DEK, same index key.  KURA_ERANGE if
 * prev is the last representable version. */
kura_err
kcrypto_tkey_rotate(const struct kcrypto_tkey *prev,
    struct kcrypto_tkey **ret_key)
{
	struct kcrypto_tkey *k = NULL;
	kura_err err;

	if (prev == NULL || ret_key == NULL)
		return KURA_EINVAL;
	if (prev->version == UINT32_MAX)
		return KURA_ERANGE;
	if ((err = tkey_alloc(&k)) != KURA_OK)
		return err;
	if ((err = kcrypto_random(TKEY_DEK(k), KCRYPTO_KEY_LEN)) != KURA_OK)
		goto out;
	memcpy(TKEY_IDX(k), TKEY_IDX(prev), KCRYPTO_KEY_LEN);
	k->version = prev->version + 1;
	tkey_lock(k);
	*ret_key = k;
	k = NULL;
out:
	kcrypto_tkey_free(k);
	return err;
}

/* AD of a wrapped tenant key: purpose, tenant, tkey version, KEK version. */
static kura_err
wrap_ad(struct kcrypto_ad *ad, const char *tenant_id, uint32_t key_version,
    uint32_t kek_version)
{
	kura_err err;

	kcrypto_ad_init(ad);
	if ((err = kcrypto_ad_add_str(ad, "kura-tenant-key-v1")) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, tenant_id)) != KURA_OK ||
	    (err = kcrypto_ad_add_u32(ad, key_version)) != KURA_OK ||
	    (err = kcrypto_ad_add_u32(ad, kek_version)) != KURA_OK)
		return err;
	return KURA_OK;
}

/*
 * Wrap key under the keyring's current KEK, bound to tenant_id and both
 * versions.  *ret_blob (malloc'd, nonce || ct || tag) is not secret.
 * KURA_EINVAL for a missing or over-long tenant id.
 */
kura_err
kcrypto_tkey_wrap(const struct kcrypto_keyring *kr,
    const char *tenant_id, const struct kcrypto_tkey *key,
    uint32_t *ret_kek_version, uint8_t **ret_blob, size_t *ret_len)
{
	struct kcrypto_ad ad;
	const uint8_t *kek;
	uint8_t *blob = NULL;
	uint32_t kv;
	size_t len;
	kura_err err;

	if (kr == NULL || key == NULL || ret_kek_version == NULL ||
	    ret_blob == NULL || ret_len == NULL)
		return KURA_EINVAL;
	kv = kcrypto_keyring_current(kr);
	if ((kek = kcrypto_keyring_key(kr, kv)) == NULL)
		return KURA_EINTERNAL;
	if ((err = wrap_ad(&ad, tenant_id, key->version, kv)) != KURA_OK)
		return err;
	if ((blob = malloc(TKEY_BLOB_LEN)) == NULL)
		return KURA_ENOMEM;
	if ((err = kcrypto_aead_seal(kek, ad.buf, ad.len, key->km,
	    sizeof(key->km), blob, TKEY_BLOB_LEN, &len)) != KURA_OK)
		goto out;
	*ret_kek_version = kv;
	*ret_blob = blob;
	*ret_len = len;
	blob = NULL;
out:
	free(blob);
	return err;
}

/*
 * Unwrap a blob from kcrypto_tkey_wrap.  KURA_ENOENT if the keyring lacks
 * kek_version, KURA_ECRYPTO if the blob has the wrong size or does not
 * authenticate for this tenant and these versions.  Caller frees *ret_key.
 */
kura_err
kcrypto_tkey_unwrap(const struct kcrypto_keyring *kr,
    const char *tenant_id, uint32_t key_version, uint32_t kek_version,
    const uint8_t *blob, size_t len, struct kcrypto_tkey **ret_key)
{
	struct kcrypto_ad ad;
	struct kcrypto_tkey *k = NULL;
	uint8_t km[TKEY_MATERIAL];
	const uint8_t *kek;
	size_t kmlen = 0;
	kura_err err;

	if (kr == NULL || blob == NULL || ret_key == NULL || key_version == 0)
		return KURA_EINVAL;
	if ((kek = kcrypto_keyring_key(kr, kek_version)) == NULL)
		return KURA_ENOENT;
	if (len != TKEY_BLOB_LEN)
		return KURA_ECRYPTO;
	if ((err = wrap_ad(&ad, tenant_id, key_version, kek_version)) !=
	    KURA_OK)
		return err;
	if ((err = kcrypto_aead_open(kek, ad.buf, ad.len, blob, len, km,
	    sizeof(km), &kmlen)) != KURA_OK)
		goto out;
	if (kmlen != sizeof(km)) {
		err = KURA_ECRYPTO;
		goto out;
	}
	if ((err = tkey_alloc(&k)) != KURA_OK)
		goto out;
	memcpy(k->km, km, sizeof(km));
	k->version = key_version;
	tkey_lock(k);
	*ret_key = k;
out:
	kura_wipe(km, sizeof(km));
	return err;
}

/* First 16 hex chars of SHA-256 of the DEK. */
kura_err
kcrypto_tkey_fingerprint(const struct kcrypto_tkey *key, char ret_fp[17])
{
	char fp[17];
	kura_err err;

	if (key == NULL || ret_fp == NULL)
		return KURA_EINVAL;
	if ((err = kcrypto_sha256_hex_n(TKEY_DEK(key), KCRYPTO_KEY_LEN, 8,
	    fp)) != KURA_OK)
		return err;
	memcpy(ret_fp, fp, sizeof(fp));
	return KURA_OK;
}

/* Empty key set for tenant_id (1..KCRYPTO_AD_PART_MAX bytes). */
kura_err
kcrypto_tkeys_new(const char *tenant_id, struct kcrypto_tkeys **ret)
{
	struct kcrypto_tkeys *set;
	size_t n;

	if (tenant_id == NULL || ret == NULL)
		return KURA_EINVAL;
	n = strnlen(tenant_id, KCRYPTO_AD_PART_MAX + 1);
	if (n == 0 || n > KCRYPTO_AD_PART_MAX)
		return KURA_EINVAL;
	if ((set = calloc(1, sizeof(*set))) == NULL)
		return KURA_ENOMEM;
	if ((set->tenant = kura_strdup(tenant_id)) == NULL) {
		free(set);
		return KURA_ENOMEM;
	}
	*ret = set;
	return KURA_OK;
}

void
kcrypto_tkeys_free(struct kcrypto_tkeys *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		kcrypto_tkey_free(set->keys[i]);
	free(set->tenant);
	free(set);
}

/*
 * Add key to set, which takes ownership (key is freed on failure too).
 * KURA_EEXIST if the version is already present, KURA_EINVAL if its index
 * key differs from the set's (a mixed set would split blind indexes),
 * KURA_ETOOBIG past TKEYS_MAX versions.
 */
kura_err
kcrypto_tkeys_add(struct kcrypto_tkeys *set, struct kcrypto_tkey *key)
{
	size_t i;
	kura_err err;

	if (set == NULL || key == NULL) {
		err = KURA_EINVAL;
		goto out;
	}
	for (i = 0; i < set->n; i++) {
		if (set->keys[i]->version == key->version) {
			err = KURA_EEXIST;
			goto out;
		}
	}
	if (set->n > 0 && !kura_ct_equal(TKEY_IDX(set->keys[0]), TKEY_IDX(key),
	    KCRYPTO_KEY_LEN)) {
		err = KURA_EINVAL;
		goto out;
	}
	if (set->n >= TKEYS_MAX) {
		err = KURA_ETOOBIG;
		goto out;
	}
	for (i = set->n; i > 0 && set->keys[i - 1]->version > key->version; i--)
		set->keys[i] = set->keys[i - 1];
	set->keys[i] = key;
	set->n++;
	return KURA_OK;
out:
	kcrypto_tkey_free(key);
	return err;
}

/* Highest version, or NULL for an empty set. */
const struct kcrypto_tkey *
kcrypto_tkeys_newest(const struct kcrypto_tkeys *set)
{
	if (set == NULL || set->n == 0)
		return NULL;
	return set->keys[set->n - 1];
}

const char *
kcrypto_tkeys_tenant(const struct kcrypto_tkeys *set)
{
	return set != NULL ? set->tenant : NULL;
}

static const struct kcrypto_tkey *
tkeys_find(const struct kcrypto_tkeys *set, uint32_t version)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v = set->keys[mid]->version;

		if (v == version)
			return set->keys[mid];
		if (v < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* AD of a sealed field: header, purpose, tenant, table, column, row id. */
static kura_err
seal_ad(struct kcrypto_ad *ad, const uint8_t hdr[SEAL_HDR_LEN],
    const char *tenant, const char *table, const char *column,
    const char *row_id)
{
	kura_err err;

	kcrypto_ad_init(ad);
	if ((err = kcrypto_ad_add(ad, hdr, SEAL_HDR_LEN)) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, "kura-field-v1")) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, tenant)) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, table)) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, column)) != KURA_OK ||
	    (err = kcrypto_ad_add_str(ad, row_id)) != KURA_OK)
		return err;
	return KURA_OK;
}

/*
 * Seal pt with the set's newest DEK, bound to tenant, table, column and
 * row id (each 1..KCRYPTO_AD_PART_MAX bytes, else KURA_EINVAL).  *ret_ct
 * is malloc'd, ptlen + KCRYPTO_SEAL_OVERHEAD bytes.  KURA_ENOENT for an
 * empty set, KURA_ERANGE if the size overflows.
 */
kura_err
kcrypto_seal(const struct kcrypto_tkeys *set, const char *table,
    const char *column, const char *row_id, const void *pt, size_t ptlen,
    uint8_t **ret_ct, size_t *ret_len)
{
	struct kcrypto_ad ad;
	const struct kcrypto_tkey *key;
	uint8_t *out = NULL;
	size_t cap, len;
	kura_err err;

	if (set == NULL || ret_ct == NULL || ret_len == NULL ||
	    (pt == NULL && ptlen != 0))
		return KURA_EINVAL;
	if ((key = kcrypto_tkeys_newest(set)) == NULL)
		return KURA_ENOENT;
	if (!kura_size_add(ptlen, KCRYPTO_SEAL_OVERHEAD, &cap))
		return KURA_ERANGE;
	if ((out = malloc(cap)) == NULL)
		return KURA_ENOMEM;
	out[0] = SEAL_FORMAT;
	kcrypto_be32_put(out + 1, key->version);
	if ((err = seal_ad(&ad, out, set->tenant, table, column, row_id)) !=
	    KURA_OK)
		goto out;
	if ((err = kcrypto_aead_seal(TKEY_DEK(key), ad.buf, ad.len, pt, ptlen,
	    out + SEAL_AEAD_OFF, cap - SEAL_AEAD_OFF, &len)) != KURA_OK)
		goto out;
	*ret_ct = out;
	*ret_len = SEAL_AEAD_OFF + len;
	out = NULL;
out:
	free(out);
	return err;
}

/*
 * Open a field sealed by kcrypto_seal for the same tenant, table, column
 * and row id.  KURA_ECRYPTO for any mismatch: short input, unknown format
 * byte, unknown key version, wrong binding or tampering (one code for all,
 * so callers cannot learn which).  *ret_pt is malloc'd with a NUL after the
 * plaintext; the caller frees it (wiping it first if it is sensitive).
 */
kura_err
kcrypto_open(const struct kcrypto_tkeys *set, const char *table,
    const char *column, const char *row_id, const uint8_t *ct, size_t ctlen,
    uint8_t **ret_pt, size_t *ret_len)
{
	struct kcrypto_ad ad;
	const struct kcrypto_tkey *key;
	uint8_t *pt = NULL;
	size_t ptcap, len = 0;
	kura_err err;

	if (set == NULL || ct == NULL || ret_pt == NULL || ret_len == NULL)
		return KURA_EINVAL;
	if (ctlen < KCRYPTO_SEAL_OVERHEAD || ct[0] != SEAL_FORMAT)
		return KURA_ECRYPTO;
	if ((key = tkeys_find(set, kcrypto_be32_get(ct + 1))) == NULL)
		return KURA_ECRYPTO;
	if ((err = seal_ad(&ad, ct, set->tenant, table, column, row_id)) !=
	    KURA_OK)
		return err;
	ptcap = ctlen - KCRYPTO_SEAL_OVERHEAD + 1;
	if ((pt = malloc(ptcap)) == NULL)
		return KURA_ENOMEM;
	if ((err = kcrypto_aead_open(TKEY_DEK(key), ad.buf, ad.len,
	    ct + SEAL_AEAD_OFF, ctlen - SEAL_AEAD_OFF, pt, ptcap, &len)) !=
	    KURA_OK)
		goto out;
	pt[len] = '\0';
	*ret_pt = pt;
	*ret_len = len;
	pt = NULL;
out:
	if (pt != NULL) {
		kura_wipe(pt, ptcap);
		free(pt);
	}
	return err;
}

/*
 * HMAC-SHA256 under the tenant's index key of purpose || 0x00 || value, as
 * 64 lowercase hex.  purpose is a non-empty C string (so the 0x00 makes
 * the split unambiguous).  KURA_ENOENT for an empty set.
 */
kura_err
kcrypto_blind_index(const struct kcrypto_tkeys *set,
    const char *purpose, const void *value, size_t len,
    char ret_hex[KCRYPTO_INDEX_HEX_LEN + 1])
{
	static const uint8_t zero[1];
	const struct kcrypto_tkey *key;
	gnutls_hmac_hd_t h;
	uint8_t mac[32];
	char hex[KCRYPTO_INDEX_HEX_LEN + 1];
	int rc;

	if (set == NULL || purpose == NULL || *purpose == '\0' ||
	    ret_hex == NULL || (value == NULL && len != 0))
		return KURA_EINVAL;
	if ((key = kcrypto_tkeys_newest(set)) == NULL)
		return KURA_ENOENT;
	if (value == NULL)
		value = zero;
	rc = gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, TKEY_IDX(key),
	    KCRYPTO_KEY_LEN);
	if (rc == GNUTLS_E_MEMORY_ERROR)
		return KURA_ENOMEM;
	if (rc < 0)
		return KURA_EINTERNAL;
	if (gnutls_hmac(h, purpose, strlen(purpose)) < 0 ||
	    gnutls_hmac(h, zero, 1) < 0 || gnutls_hmac(h, value, len) < 0) {
		gnutls_hmac_deinit(h, NULL);
		return KURA_EINTERNAL;
	}
	gnutls_hmac_deinit(h, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	memcpy(ret_hex, hex, sizeof(hex));
	return KURA_OK;
}

uint32_t
kcrypto_tkeys_newest_version(const struct kcrypto_tkeys *set)
{
	const struct kcrypto_tkey *k = kcrypto_tkeys_newest(set);

	return k != NULL ? k->version : 0;
}

kura_err
kcrypto_chunk_seal(const struct kcrypto_tkeys *set, const void *ad, size_t adlen,
    const void *pt, size_t ptlen, uint8_t *out, size_t outcap, size_t *ret_len,
    uint32_t *ret_version)
{
	const struct kcrypto_tkey *key;
	kura_err err;

	if (set == NULL || ret_version == NULL)
		return KURA_EINVAL;
	if ((key = kcrypto_tkeys_newest(set)) == NULL)
		return KURA_ENOENT;
#ifdef KURA_BENCH_NO_ENCRYPT
	/* Benchmark-only build: same framing, plaintext copied, no AEAD. */
	(void)ad;
	(void)adlen;
	if (ptlen > outcap || outcap - ptlen < KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN)
		return KURA_ERANGE;
	memset(out, 0, KCRYPTO_NONCE_LEN);
	memcpy(out + KCRYPTO_NONCE_LEN, pt, ptlen);
	memset(out + KCRYPTO_NONCE_LEN + ptlen, 0, KCRYPTO_TAG_LEN);
	*ret_len = ptlen + KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN;
	err = KURA_OK;
#else
	err = kcrypto_aead_seal(TKEY_DEK(key), ad, adlen, pt, ptlen, out, outcap,
	    ret_len);
#endif
	if (err == KURA_OK)
		*ret_version = key->version;
	return err;
}

kura_err
kcrypto_chunk_open(const struct kcrypto_tkeys *set, uint32_t version,
    const void *ad, size_t adlen, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outcap, size_t *ret_len)
{
	const struct kcrypto_tkey *key;

	if (set == NULL)
		return KURA_EINVAL;
	if ((key = tkeys_find(set, version)) == NULL)
		return KURA_ECRYPTO;
#ifdef KURA_BENCH_NO_ENCRYPT
	(void)ad;
	(void)adlen;
	if (inlen < KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN ||
	    inlen - KCRYPTO_NONCE_LEN - KCRYPTO_TAG_LEN > outcap)
		return KURA_ECRYPTO;
	memcpy(out, in + KCRYPTO_NONCE_LEN, inlen - KCRYPTO_NONCE_LEN - KCRYPTO_TAG_LEN);
	*ret_len = inlen - KCRYPTO_NONCE_LEN - KCRYPTO_TAG_LEN;
	return KURA_OK;
#endif
	return kcrypto_aead_open(TKEY_DEK(key), ad, adlen, in, inlen, out, outcap,
	    ret_len);
}
