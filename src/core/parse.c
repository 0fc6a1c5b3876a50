#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/parse.h"

kura_err
kura_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret_val)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return KURA_EINVAL;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return KURA_EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return KURA_ERANGE;
	}
	if (v < min || v > max)
		return KURA_ERANGE;
	*ret_val = v;
	return KURA_OK;
}

kura_err
kura_parse_bool(const char *s, bool *ret_val)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	if (s == NULL)
		return KURA_EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*ret_val = true;
			return KURA_OK;
		}
		if (strcmp(s, no[i]) == 0) {
			*ret_val = false;
			return KURA_OK;
		}
	}
	return KURA_EINVAL;
}

size_t
kura_utf8_next(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	uint32_t cp, min;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

bool
kura_text_ok(const char *s, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k;
	uint32_t cp;

	if (s == NULL)
		return false;
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			n++;
			continue;
		}
		/* not UTF-8, or a C1 control */
		if ((k = kura_utf8_next(p, SIZE_MAX, &cp)) == 0 ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		p += k;
		n += k;
	}
	return n <= max_bytes;
}

bool
kura_token_ok(const char *s, size_t max, const char *extra)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return false;
	n = strlen(s);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (extra != NULL && strchr(extra, c) != NULL)
			continue;
		return false;
	}
	return true;
}

kura_err
kura_parse_hostport(const char *s, char **ret_host, uint16_t *ret_port)
{
	const char *colon, *hs, *he;
	uint64_t port;
	char *host;
	kura_err err;

	if (s == NULL || *s == '\0')
		return KURA_EINVAL;
	if (s[0] == '[') {
		he = strchr(s, ']');
		if (he == NULL || he[1] != ':')
			return KURA_EINVAL;
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return KURA_EINVAL;
		hs = s;
		he = colon;
	}
	if (he == hs)
		return KURA_EINVAL;
	err = kura_parse_u64(colon + 1, 1, 65535, &port);
	if (err)
		return err;
	host = kura_strndup(hs, (size_t)(he - hs));
	if (host == NULL)
		return KURA_ENOMEM;
	*ret_host = host;
	*ret_port = (uint16_t)port;
	return KURA_OK;
}

size_t
kura_i64_text(int64_t v, char buf[KURA_I64_TEXT_MAX])
{
	char num[KURA_I64_TEXT_MAX];
	size_t i = sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		num[--i] = '-';
	memcpy(buf, num + i, sizeof(num) - i);
	return sizeof(num) - i;
}
