/*
 * Strict parsing of numbers and small strings from configuration, the
 * command line and URLs.  No leading/trailing space, no signs, no trailing
 * garbage, explicit bounds.
 */
#ifndef KURA_CORE_PARSE_H
#define KURA_CORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Decimal unsigned in [min, max].  KURA_EINVAL if not a number, KURA_ERANGE
 * if outside the bounds. */
kura_err kura_parse_u64(const char *s, uint64_t min, uint64_t max,
    uint64_t *ret_val);
/* "true"/"false"/"yes"/"no"/"on"/"off"/"1"/"0". */
kura_err kura_parse_bool(const char *s, bool *ret_val);
/* True if s is valid UTF-8 of at most max_bytes bytes with no control
 * characters (U+0000..U+001F, U+007F..U+009F). */
bool kura_text_ok(const char *s, size_t max_bytes);
/* The code point of the UTF-8 sequence that starts at s[0] (a byte of
 * 0x80 or more) and its length in bytes; 0 if it is not valid UTF-8:
 * a bad lead or continuation byte, an overlong form, a surrogate, or
 * above U+10FFFF.  Reads no further than n bytes, and no further than
 * the first byte that is not a continuation (so a NUL-terminated string
 * may pass SIZE_MAX). */
size_t kura_utf8_next(const unsigned char *s, size_t n, uint32_t *ret_cp);
/* The decimal text of v as "%lld" writes it, without printf's cost:
 * written to buf (no NUL), its length returned. */
#define KURA_I64_TEXT_MAX 20
size_t kura_i64_text(int64_t v, char buf[KURA_I64_TEXT_MAX]);
/* True if s is non-empty, at most max bytes, and every byte is in
 * [A-Za-z0-9] or in the extra set. */
bool kura_token_ok(const char *s, size_t max, const char *extra);
/* Split "host:port" or "[v6]:port" into a host (brackets removed) and port.
 * ret_host is malloc'd. */
kura_err kura_parse_hostport(const char *s, char **ret_host,
    uint16_t *ret_port);

#endif
