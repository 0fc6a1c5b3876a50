/*
 * kura's cryptography, on GnuTLS (AEAD, HMAC, HKDF, RNG) and libsodium
 * (Argon2id, guarded memory).  The prefix is kcrypto_ so it never collides
 * with libsodium's crypto_* namespace.
 *
 * Key hierarchy:
 *   KEK keyring file (versions 1..n, one current)      -- kcrypto_keyring_*
 *     wraps, per tenant and per tenant-key version,
 *     a 64-byte tenant key: DEK (32) || blind-index key (32)
 *                                                        -- kcrypto_tkey_*
 *   DEK encrypts customer content (AES-256-GCM) with associated data that
 *   binds tenant, table, column and row id               -- kcrypto_seal/open
 *   Index key makes blind indexes (HMAC-SHA256)          -- kcrypto_blind_index
 *
 * All key material lives in sodium_malloc'd memory (guard pages, mlock'd
 * where possible) and is wiped on free.
 */
#ifndef KURA_CRYPTO_KCRYPTO_H
#define KURA_CRYPTO_KCRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define KCRYPTO_KEY_LEN 32
#define KCRYPTO_NONCE_LEN 12
#define KCRYPTO_TAG_LEN 16
/* sealed field: 1 format byte, 4 key-version bytes (big endian), nonce, ct, tag */
#define KCRYPTO_SEAL_OVERHEAD (1 + 4 + KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN)
/* ids: prefix (<= 4 chars) + '_' + 32 lowercase hex chars + NUL */
#define KCRYPTO_ID_MAX 40
#define KCRYPTO_INDEX_HEX_LEN 64

/* Must be called once before anything else (initialises libsodium and
 * checks GnuTLS).  Safe to call more than once. */
kura_err kcrypto_init(void);

/* ---- randomness and identifiers ---- */

/* Fill buf with len bytes from GnuTLS's key-grade RNG. */
kura_err kcrypto_random(void *buf, size_t len);
/* New random 128-bit id "<prefix>_<32 hex>" into ret_id (KCRYPTO_ID_MAX). */
kura_err kcrypto_id_new(const char *prefix, char ret_id[KCRYPTO_ID_MAX]);
/* True if id is exactly "<prefix>_" followed by 32 lowercase hex chars. */
bool kcrypto_id_valid(const char *id, const char *prefix);
/* New secret token: nbytes random bytes, base64url without padding, into a
 * malloc'd string (caller frees with kura_free_secret_str). */
kura_err kcrypto_token_new(size_t nbytes, char **ret_token);
/* SHA-256 of data as 64 lowercase hex chars (for storing token hashes). */
kura_err kcrypto_sha256_hex(const void *data, size_t len,
    char ret_hex[KCRYPTO_INDEX_HEX_LEN + 1]);

/* ---- raw AEAD (AES-256-GCM) ---- */

/* out receives nonce || ciphertext || tag; outcap must be at least
 * ptlen + KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN.  A fresh random nonce is used. */
kura_err kcrypto_aead_seal(const uint8_t key[KCRYPTO_KEY_LEN],
    const void *ad, size_t adlen, const void *pt, size_t ptlen,
    uint8_t *out, size_t outcap, size_t *ret_len);
/* Inverse of kcrypto_aead_seal.  KURA_ECRYPTO on any authentication
 * failure; out is wiped in that case. */
kura_err kcrypto_aead_open(const uint8_t key[KCRYPTO_KEY_LEN],
    const void *ad, size_t adlen, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outcap, size_t *ret_len);

/* ---- KEK keyring file ----
 * Text file, mode 0600, one line per version: "kek <version> <base64 key>",
 * plus one line "current <version>".  Written atomically (temp + fsync +
 * rename).  Loading refuses a file that is not a regular file owned by the
 * effective uid or that any group/other permission bit is set on (KURA_EPERM). */
struct kcrypto_keyring;

/* Create a new keyring at path with version 1 current.  KURA_EEXIST if the
 * file exists. */
kura_err kcrypto_keyring_create(const char *path);
kura_err kcrypto_keyring_load(const char *path, struct kcrypto_keyring **ret_kr);
void kcrypto_keyring_free(struct kcrypto_keyring *kr);
uint32_t kcrypto_keyring_current(const struct kcrypto_keyring *kr);
bool kcrypto_keyring_has(const struct kcrypto_keyring *kr, uint32_t version);
/* Number of versions held, and the i-th version number (ascending). */
size_t kcrypto_keyring_count(const struct kcrypto_keyring *kr);
uint32_t kcrypto_keyring_version_at(const struct kcrypto_keyring *kr, size_t i);
/* Add a fresh random version to the file at path and make it current.
 * Atomic: a concurrent reader sees either the old or the new file. */
kura_err kcrypto_keyring_add_version(const char *path, uint32_t *ret_version);
/* Remove from the file every version that is neither current nor listed in
 * in_use.  Returns how many were removed. */
kura_err kcrypto_keyring_retire(const char *path, const uint32_t *in_use,
    size_t n_in_use, size_t *ret_removed);
/* SHA-256 fingerprint (first 16 hex chars) of a version, for display. */
kura_err kcrypto_keyring_fingerprint(const struct kcrypto_keyring *kr,
    uint32_t version, char ret_fp[17]);

/* ---- tenant keys ----
 * A tenant has one or more key versions; new content is sealed with the
 * newest, old content stays readable.  The blind-index key is the same in
 * every version (copied on rotation) so lookups stay stable. */
struct kcrypto_tkey;   /* one version: dek + index key, guarded memory */
struct kcrypto_tkeys;  /* all versions of one tenant */

/* Fresh version-1 key (random DEK and index key). */
kura_err kcrypto_tkey_generate(struct kcrypto_tkey **ret_key);
/* Next version: random DEK, index key copied from prev. */
kura_err kcrypto_tkey_rotate(const struct kcrypto_tkey *prev,
    struct kcrypto_tkey **ret_key);
uint32_t kcrypto_tkey_version(const struct kcrypto_tkey *key);
void kcrypto_tkey_free(struct kcrypto_tkey *key);
/* Wrap with the keyring's current KEK.  Associated data binds tenant id and
 * tenant key version.  ret_blob is malloc'd. */
kura_err kcrypto_tkey_wrap(const struct kcrypto_keyring *kr,
    const char *tenant_id, const struct kcrypto_tkey *key,
    uint32_t *ret_kek_version, uint8_t **ret_blob, size_t *ret_len);
/* Unwrap a blob made by kcrypto_tkey_wrap.  KURA_ENOENT if the keyring lacks
 * kek_version; KURA_ECRYPTO if the blob does not authenticate (wrong tenant,
 * version, KEK or tampered). */
kura_err kcrypto_tkey_unwrap(const struct kcrypto_keyring *kr,
    const char *tenant_id, uint32_t key_version, uint32_t kek_version,
    const uint8_t *blob, size_t len, struct kcrypto_tkey **ret_key);
/* Fingerprint of a tenant key version (SHA-256 of the DEK, 16 hex), for
 * purge certificates and display; reveals nothing usable. */
kura_err kcrypto_tkey_fingerprint(const struct kcrypto_tkey *key,
    char ret_fp[17]);

kura_err kcrypto_tkeys_new(const char *tenant_id, struct kcrypto_tkeys **ret);
/* Takes ownership of key (also on failure). */
kura_err kcrypto_tkeys_add(struct kcrypto_tkeys *set, struct kcrypto_tkey *key);
const struct kcrypto_tkey *kcrypto_tkeys_newest(const struct kcrypto_tkeys *set);
const char *kcrypto_tkeys_tenant(const struct kcrypto_tkeys *set);
void kcrypto_tkeys_free(struct kcrypto_tkeys *set);

/* Seal one field of customer content with the set's newest key.  Associated
 * data binds the format byte, key version, tenant, table, column and row id
 * (length-prefixed, so no two bindings collide).  ret_ct is malloc'd and is
 * ptlen + KCRYPTO_SEAL_OVERHEAD bytes. */
kura_err kcrypto_seal(const struct kcrypto_tkeys *set, const char *table,
    const char *column, const char *row_id, const void *pt, size_t ptlen,
    uint8_t **ret_ct, size_t *ret_len);
/* Open a sealed field.  The key version is read from the header.
 * ret_pt is malloc'd with a NUL after the plaintext (so text fields can be
 * used as C strings); KURA_ECRYPTO on any mismatch. */
kura_err kcrypto_open(const struct kcrypto_tkeys *set, const char *table,
    const char *column, const char *row_id, const uint8_t *ct, size_t ctlen,
    uint8_t **ret_pt, size_t *ret_len);
/* Chunk AEAD for streamed content (files): seal with the set's newest
 * key under caller-built associated data that must bind the content's
 * identity, position and whether it is the last chunk.  out receives
 * nonce || ciphertext || tag (ptlen + 28 bytes); *ret_version is the key
 * version used, to be stored with the content. */
kura_err kcrypto_chunk_seal(const struct kcrypto_tkeys *set, const void *ad,
    size_t adlen, const void *pt, size_t ptlen, uint8_t *out, size_t outcap,
    size_t *ret_len, uint32_t *ret_version);
/* Open a chunk sealed with key version; KURA_ECRYPTO on any mismatch
 * (out is wiped then). */
kura_err kcrypto_chunk_open(const struct kcrypto_tkeys *set, uint32_t version,
    const void *ad, size_t adlen, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outcap, size_t *ret_len);
/* Version of the set's newest key. */
uint32_t kcrypto_tkeys_newest_version(const struct kcrypto_tkeys *set);

/* Blind index: HMAC-SHA256 under the tenant's index key over
 * purpose || 0x00 || value, as 64 lowercase hex chars. */
kura_err kcrypto_blind_index(const struct kcrypto_tkeys *set,
    const char *purpose, const void *value, size_t len,
    char ret_hex[KCRYPTO_INDEX_HEX_LEN + 1]);

/* ---- passwords (Argon2id via libsodium) ---- */
struct kcrypto_pwparams {
	uint64_t opslimit;   /* t, iterations; default 2 */
	size_t memlimit;     /* bytes; default 19 MiB */
};
/* OWASP minimum for Argon2id: t=2, m=19 MiB. */
#define KCRYPTO_PWPARAMS_DEFAULT { 2, 19u << 20 }
/* Accepted parameter range (KURA_ERANGE outside); also the most a stored
 * hash may cost to verify. */
#define KCRYPTO_PW_OPSLIMIT_MAX 16
#define KCRYPTO_PW_MEMLIMIT_MIN ((size_t)8 << 20)
#define KCRYPTO_PW_MEMLIMIT_MAX ((size_t)1 << 30)
/* Longest password accepted (bytes), to bound work; KURA_ETOOBIG beyond. */
#define KCRYPTO_PW_MAX 1024
/* Length range for kcrypto_pw_generate. */
#define KCRYPTO_PW_GEN_MIN 12
#define KCRYPTO_PW_GEN_MAX 128
/* Hash into ret_hash (libsodium's encoded string, crypto_pwhash_STRBYTES
 * = 128 bytes including NUL).  p NULL means KCRYPTO_PWPARAMS_DEFAULT. */
#define KCRYPTO_PWHASH_LEN 128
kura_err kcrypto_pw_hash(const struct kcrypto_pwparams *p, const char *pw,
    char ret_hash[KCRYPTO_PWHASH_LEN]);
/* KURA_OK if pw matches hash, KURA_EAUTH if not, other errors for a
 * malformed hash. */
kura_err kcrypto_pw_verify(const char *hash, const char *pw);
/* *ret_needs: hash was made with parameters other than p (NULL: the
 * defaults) and should be recomputed at the next successful login. */
kura_err kcrypto_pw_needs_rehash(const char *hash,
    const struct kcrypto_pwparams *p, bool *ret_needs);
/* A random password of len characters meeting the default policy (upper,
 * lower, digit, symbol), for one-time admin passwords.  Caller frees with
 * kura_free_secret_str. */
kura_err kcrypto_pw_generate(size_t len, char **ret_pw);

#endif
