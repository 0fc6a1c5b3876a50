/*
 * Private to src/crypto: shared structures and helpers of the kcrypto
 * module.  Nothing outside src/crypto includes this file.
 */
#ifndef KURA_CRYPTO_INTERNAL_H
#define KURA_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/kcrypto.h"

/* Highest version number accepted for KEKs (and written to files). */
#define KCRYPTO_VERSION_MAX 0x80000000u

/* Longest single component (tenant id, table, column, row id, ...) bound
 * into associated data, and the room for a whole AD (6 parts, each with a
 * 4-byte length prefix). */
#define KCRYPTO_AD_PART_MAX 1024
#define KCRYPTO_AD_MAX (6 * (4 + KCRYPTO_AD_PART_MAX))

/* Associated data made of length-prefixed parts (u32 big-endian length,
 * then the bytes), so no two different lists encode to the same bytes. */
struct kcrypto_ad {
	size_t len;
	uint8_t buf[KCRYPTO_AD_MAX];
};

void kcrypto_ad_init(struct kcrypto_ad *ad);
/* Append one part.  KURA_EINVAL if the part is longer than
 * KCRYPTO_AD_PART_MAX, KURA_ETOOBIG if the AD would overflow. */
kura_err kcrypto_ad_add(struct kcrypto_ad *ad, const void *p, size_t len);
/* Append a NUL-terminated string part; KURA_EINVAL for NULL or "". */
kura_err kcrypto_ad_add_str(struct kcrypto_ad *ad, const char *s);
/* Append the decimal form of v. */
kura_err kcrypto_ad_add_u32(struct kcrypto_ad *ad, uint32_t v);

/* The key bytes (KCRYPTO_KEY_LEN) of a KEK version, or NULL if absent.
 * The pointer stays valid until kcrypto_keyring_free. */
const uint8_t *kcrypto_keyring_key(const struct kcrypto_keyring *kr,
    uint32_t version);

/* Lowercase hex of the first n bytes of SHA-256(data) into out (2*n+1). */
kura_err kcrypto_sha256_hex_n(const void *data, size_t len, size_t n,
    char *out);

static inline void
kcrypto_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
kcrypto_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
