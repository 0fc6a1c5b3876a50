#include <gnutls/crypto.h>
#include <string.h>

#include "auth/totp.h"
#include "core/mem.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t
totp_b32_len(size_t n)
{
	return (n * 8 + 4) / 5;
}

void
totp_b32_encode(const uint8_t *in, size_t n, char *out)
{
	uint32_t buf = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buf << (5 - bits)) & 31];
	out[o] = '\0';
}

kura_err
totp_b32_decode(const char *in, uint8_t *out, size_t cap, size_t *ret_len)
{
	uint32_t buf = 0;
	int bits = 0;
	size_t o = 0;

	for (const char *p = in; *p != '\0'; p++) {
		char c = *p;
		const char *q;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		q = strchr(b32, c);
		if (q == NULL || c == '\0')
			return KURA_EINVAL;
		buf = (buf << 5) | (uint32_t)(q - b32);
		bits += 5;
		if (bits >= 8) {
			if (o == cap)
				return KURA_ERANGE;
			out[o++] = (uint8_t)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	*ret_len = o;
	return KURA_OK;
}

kura_err
totp_code(const uint8_t *key, size_t keylen, uint64_t step, unsigned digits,
    uint32_t *ret_code)
{
	uint8_t msg[8], mac[20];
	uint32_t bin, mod = 1;
	unsigned off;

	if (digits < 6 || digits > 9)
		return KURA_EINVAL;
	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(step & 0xff);
		step >>= 8;
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, keylen, msg, sizeof(msg),
	    mac) < 0)
		return KURA_ECRYPTO;
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	    ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	for (unsigned i = 0; i < digits; i++)
		mod *= 10;
	*ret_code = bin % mod;
	kura_wipe(mac, sizeof(mac));
	return KURA_OK;
}

kura_err
totp_verify(const uint8_t *key, size_t keylen, const char *code, int64_t now_s,
    int64_t last_step, int64_t *ret_step)
{
	uint32_t given = 0, want;
	int64_t now_step = now_s / TOTP_STEP_S, match = -1;
	unsigned ok_any = 0;

	if (code == NULL || strlen(code) != TOTP_DIGITS)
		return KURA_EAUTH;
	for (size_t i = 0; i < TOTP_DIGITS; i++) {
		if (code[i] < '0' || code[i] > '9')
			return KURA_EAUTH;
		given = given * 10 + (uint32_t)(code[i] - '0');
	}
	for (int64_t s = now_step - 1; s <= now_step + 1; s++) {
		unsigned eq;
		if (s < 0 || totp_code(key, keylen, (uint64_t)s, TOTP_DIGITS, &want))
			continue;
		eq = kura_ct_equal(&given, &want, sizeof(given));
		if (eq && match < 0)
			match = s;
		ok_any |= eq;
	}
	if (!ok_any || match <= last_step)
		return KURA_EAUTH;
	*ret_step = match;
	return KURA_OK;
}
