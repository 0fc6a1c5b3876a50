/*
 * Library initialisation, randomness, identifiers, tokens and hashing.
 * Randomness comes from GnuTLS's key-grade generator; encodings use
 * libsodium's constant-time hex and base64 helpers.
 */
#include <pthread.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <sodium.h>

#include "core/mem.h"
#include "crypto/internal.h"
#include "crypto/kcrypto.h"

#define ID_RAND_LEN 16
#define ID_PREFIX_MAX 4
#define TOKEN_MIN 16
#define TOKEN_MAX 64

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static kura_err init_result = KURA_EINTERNAL;

static void
init_run(void)
{
	/* GnuTLS initialises itself from its library constructor; we only
	 * make sure the version we link against has what we use. */
	if (gnutls_check_version("3.7.0") == NULL) {
		init_result = KURA_EINTERNAL;
		return;
	}
	if (sodium_init() < 0) {
		init_result = KURA_EINTERNAL;
		return;
	}
	init_result = KURA_OK;
}

/*
 * Initialise libsodium and check GnuTLS once per process; later calls
 * return the first call's result.  Thread-safe.  KURA_EINTERNAL if a
 * library cannot be initialised.
 */
kura_err
kcrypto_init(void)
{
	if (pthread_once(&init_once, init_run) != 0)
		return KURA_EINTERNAL;
	return init_result;
}

/*
 * Fill buf with len bytes from the key-grade RNG.  len == 0 is a no-op.
 * KURA_EINVAL for a NULL buf, KURA_EINTERNAL if the RNG fails (buf is then
 * wiped, so stale contents are never mistaken for fresh randomness).
 */
kura_err
kcrypto_random(void *buf, size_t len)
{
	if (len == 0)
		return KURA_OK;
	if (buf == NULL)
		return KURA_EINVAL;
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, len) < 0) {
		kura_wipe(buf, len);
		return KURA_EINTERNAL;
	}
	return KURA_OK;
}

static bool
prefix_ok(const char *prefix)
{
	size_t n;

	if (prefix == NULL)
		return false;
	n = strlen(prefix);
	if (n < 1 || n > ID_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (prefix[i] < 'a' || prefix[i] > 'z')
			return false;
	}
	return true;
}

/*
 * New id "<prefix>_<32 lowercase hex>" from 128 random bits.  The prefix
 * must be 1..4 chars of [a-z] (KURA_EINVAL otherwise).  ret_id must hold
 * KCRYPTO_ID_MAX bytes.
 */
kura_err
kcrypto_id_new(const char *prefix, char ret_id[KCRYPTO_ID_MAX])
{
	uint8_t raw[ID_RAND_LEN];
	char id[KCRYPTO_ID_MAX];
	size_t plen;
	kura_err err;

	if (!prefix_ok(prefix) || ret_id == NULL)
		return KURA_EINVAL;
	/* ids are unguessable but not secret: GnuTLS's nonce generator (a
	 * CSPRNG) is enough and much cheaper than the key-grade one */
	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) < 0) {
		err = KURA_ECRYPTO;
		goto out;
	}
	plen = strlen(prefix);
	memcpy(id, prefix, plen);
	id[plen] = '_';
	sodium_bin2hex(id + plen + 1, sizeof(id) - plen - 1, raw, sizeof(raw));
	memcpy(ret_id, id, sizeof(id));
	err = KURA_OK;
out:
	kura_wipe(raw, sizeof(raw));
	return err;
}

/* True iff id is exactly prefix, '_', 32 lowercase hex chars. */
bool
kcrypto_id_valid(const char *id, const char *prefix)
{
	size_t plen;

	if (id == NULL || !prefix_ok(prefix))
		return false;
	plen = strlen(prefix);
	if (strncmp(id, prefix, plen) != 0 || id[plen] != '_')
		return false;
	id += plen + 1;
	for (size_t i = 0; i < 2 * ID_RAND_LEN; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return id[2 * ID_RAND_LEN] == '\0';
}

/*
 * New secret token of nbytes (16..64, else KURA_ERANGE) random bytes,
 * base64url without padding.  *ret_token is malloc'd; free it with
 * kura_free_secret_str.
 */
kura_err
kcrypto_token_new(size_t nbytes, char **ret_token)
{
	uint8_t raw[TOKEN_MAX];
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap;
	char *tok = NULL;
	kura_err err;

	if (ret_token == NULL)
		return KURA_EINVAL;
	if (nbytes < TOKEN_MIN || nbytes > TOKEN_MAX)
		return KURA_ERANGE;
	if ((err = kcrypto_random(raw, nbytes)) != KURA_OK)
		goto out;
	cap = sodium_base64_ENCODED_LEN(nbytes, variant);
	if ((tok = malloc(cap)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	sodium_bin2base64(tok, cap, raw, nbytes, variant);
	*ret_token = tok;
	tok = NULL;
out:
	kura_wipe(raw, sizeof(raw));
	free(tok);
	return err;
}

/*
 * Lowercase hex of the first n (1..32) bytes of SHA-256(data) into out,
 * which must hold 2*n+1 bytes.  data may be NULL only when len is 0.
 */
kura_err
kcrypto_sha256_hex_n(const void *data, size_t len, size_t n, char *out)
{
	uint8_t md[32];
	static const uint8_t empty[1];

	if (out == NULL || n == 0 || n > sizeof(md) ||
	    (data == NULL && len != 0))
		return KURA_EINVAL;
	if (data == NULL)
		data = empty;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, md) < 0)
		return KURA_EINTERNAL;
	sodium_bin2hex(out, 2 * n + 1, md, n);
	kura_wipe(md, sizeof(md));
	return KURA_OK;
}

/* SHA-256 of data as 64 lowercase hex chars (token hashes). */
kura_err
kcrypto_sha256_hex(const void *data, size_t len,
    char ret_hex[KCRYPTO_INDEX_HEX_LEN + 1])
{
	char hex[KCRYPTO_INDEX_HEX_LEN + 1];
	kura_err err;

	if (ret_hex == NULL)
		return KURA_EINVAL;
	if ((err = kcrypto_sha256_hex_n(data, len, 32, hex)) != KURA_OK)
		return err;
	memcpy(ret_hex, hex, sizeof(hex));
	return KURA_OK;
}
