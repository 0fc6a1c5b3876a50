/* TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) for MFA (IAM-6). */
#ifndef KURA_AUTH_TOTP_H
#define KURA_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TOTP_SECRET_BYTES 20
#define TOTP_B32_LEN 32          /* 20 bytes -> 32 base32 chars, no padding */
#define TOTP_STEP_S 30
#define TOTP_DIGITS 6

/* RFC 4648 base32 without padding.  out must hold 8*ceil(n/5)/... use
 * totp_b32_len(n) + 1. */
size_t totp_b32_len(size_t n);
void totp_b32_encode(const uint8_t *in, size_t n, char *out);
/* Decode (case-insensitive, no padding/spaces); KURA_EINVAL on bad input. */
kura_err totp_b32_decode(const char *in, uint8_t *out, size_t cap,
    size_t *ret_len);
/* The code for a given step, as a number < 10^digits. */
kura_err totp_code(const uint8_t *key, size_t keylen, uint64_t step,
    unsigned digits, uint32_t *ret_code);
/*
 * Check a 6-digit code against steps now-1, now, now+1 (clock skew).
 * A step <= last_step is refused (replay).  On success *ret_step is the
 * matched step to store as the new last_step.  Comparison is constant
 * time over every candidate.  KURA_EAUTH on mismatch or replay.
 */
kura_err totp_verify(const uint8_t *key, size_t keylen, const char *code,
    int64_t now_s, int64_t last_step, int64_t *ret_step);

#endif
