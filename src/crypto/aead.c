/*
 * Raw AEAD: AES-256-GCM from GnuTLS with a fresh random 96-bit nonce per
 * message and a 128-bit tag.  Layout: nonce || ciphertext || tag.
 * Also the length-prefixed associated-data builder used by the envelopes.
 */
#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "core/mem.h"
#include "crypto/internal.h"
#include "crypto/kcrypto.h"

#define AEAD_OVERHEAD (KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN)

void
kcrypto_ad_init(struct kcrypto_ad *ad)
{
	ad->len = 0;
}

/*
 * Append a u32 big-endian length and the bytes.  KURA_EINVAL for a part
 * over KCRYPTO_AD_PART_MAX (or NULL with nonzero length), KURA_ETOOBIG if
 * the AD is full.  On error the AD is unchanged.
 */
kura_err
kcrypto_ad_add(struct kcrypto_ad *ad, const void *p, size_t len)
{
	size_t need;

	if (len > KCRYPTO_AD_PART_MAX || (p == NULL && len != 0))
		return KURA_EINVAL;
	if (!kura_size_add(ad->len, 4 + len, &need) || need > sizeof(ad->buf))
		return KURA_ETOOBIG;
	kcrypto_be32_put(ad->buf + ad->len, (uint32_t)len);
	if (len > 0)
		memcpy(ad->buf + ad->len + 4, p, len);
	ad->len = need;
	return KURA_OK;
}

kura_err
kcrypto_ad_add_str(struct kcrypto_ad *ad, const char *s)
{
	if (s == NULL || *s == '\0')
		return KURA_EINVAL;
	return kcrypto_ad_add(ad, s, strnlen(s, KCRYPTO_AD_PART_MAX + 1));
}

kura_err
kcrypto_ad_add_u32(struct kcrypto_ad *ad, uint32_t v)
{
	char dec[16];
	int n;

	n = snprintf(dec, sizeof(dec), "%u", v);
	if (n <= 0 || (size_t)n >= sizeof(dec))
		return KURA_EINTERNAL;
	return kcrypto_ad_add(ad, dec, (size_t)n);
}

static kura_err
aead_handle(const uint8_t key[KCRYPTO_KEY_LEN], gnutls_aead_cipher_hd_t *ret_h)
{
	gnutls_datum_t k;
	int rc;

	/* GnuTLS copies the key into the handle; it never writes through
	 * the datum. */
	k.data = (unsigned char *)(uintptr_t)key;
	k.size = KCRYPTO_KEY_LEN;
	rc = gnutls_aead_cipher_init(ret_h, GNUTLS_CIPHER_AES_256_GCM, &k);
	if (rc == GNUTLS_E_MEMORY_ERROR)
		return KURA_ENOMEM;
	if (rc < 0)
		return KURA_EINTERNAL;
	return KURA_OK;
}

/*
 * Encrypt pt under key with ad as associated data.  out receives
 * nonce || ct || tag (ptlen + 28 bytes); out must not overlap pt.
 * KURA_EINVAL for NULL arguments, KURA_ERANGE if outcap is too small or
 * the sizes overflow.  *ret_len is set on success only; on failure the
 * contents of out are unspecified but hold no plaintext.
 */
kura_err
kcrypto_aead_seal(const uint8_t key[KCRYPTO_KEY_LEN],
    const void *ad, size_t adlen, const void *pt, size_t ptlen,
    uint8_t *out, size_t outcap, size_t *ret_len)
{
	static const uint8_t empty[1];
	gnutls_aead_cipher_hd_t h = NULL;
	size_t need, ctlen;
	kura_err err;

	if (key == NULL || out == NULL || ret_len == NULL ||
	    (ad == NULL && adlen != 0) || (pt == NULL && ptlen != 0))
		return KURA_EINVAL;
	if (!kura_size_add(ptlen, AEAD_OVERHEAD, &need) || outcap < need)
		return KURA_ERANGE;
	if (ad == NULL)
		ad = empty;
	if (pt == NULL)
		pt = empty;
	if ((err = kcrypto_random(out, KCRYPTO_NONCE_LEN)) != KURA_OK)
		goto out;
	if ((err = aead_handle(key, &h)) != KURA_OK)
		goto out;
	ctlen = outcap - KCRYPTO_NONCE_LEN;
	if (gnutls_aead_cipher_encrypt(h, out, KCRYPTO_NONCE_LEN, ad, adlen,
	    KCRYPTO_TAG_LEN, pt, ptlen, out + KCRYPTO_NONCE_LEN,
	    &ctlen) < 0 || ctlen != ptlen + KCRYPTO_TAG_LEN) {
		kura_wipe(out, need);
		err = KURA_EINTERNAL;
		goto out;
	}
	*ret_len = need;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	return err;
}

/*
 * Decrypt and authenticate in (nonce || ct || tag) under key and ad into
 * out (inlen - 28 bytes; must not overlap in).  KURA_ECRYPTO if in is too
 * short to be a message or does not authenticate; out is wiped then and
 * never holds unauthenticated plaintext.  KURA_ERANGE if outcap is too
 * small.  *ret_len is set on success only.
 */
kura_err
kcrypto_aead_open(const uint8_t key[KCRYPTO_KEY_LEN],
    const void *ad, size_t adlen, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outcap, size_t *ret_len)
{
	static const uint8_t empty[1];
	uint8_t dummy[1];
	gnutls_aead_cipher_hd_t h = NULL;
	size_t ptlen, got;
	kura_err err;

	if (key == NULL || in == NULL || ret_len == NULL ||
	    (ad == NULL && adlen != 0) || (out == NULL && outcap != 0))
		return KURA_EINVAL;
	if (inlen < AEAD_OVERHEAD)
		return KURA_ECRYPTO;
	ptlen = inlen - AEAD_OVERHEAD;
	if (outcap < ptlen)
		return KURA_ERANGE;
	if (ad == NULL)
		ad = empty;
	if (out == NULL) {
		out = dummy;
		outcap = sizeof(dummy);
	}
	if ((err = aead_handle(key, &h)) != KURA_OK)
		goto out;
	got = outcap;
	if (gnutls_aead_cipher_decrypt(h, in, KCRYPTO_NONCE_LEN, ad, adlen,
	    KCRYPTO_TAG_LEN, in + KCRYPTO_NONCE_LEN,
	    inlen - KCRYPTO_NONCE_LEN, out, &got) < 0 || got != ptlen) {
		kura_wipe(out, ptlen);
		err = KURA_ECRYPTO;
		goto out;
	}
	*ret_len = ptlen;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	return err;
}
