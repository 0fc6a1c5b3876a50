#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "core/mem.h"
#include "core/parse.h"

kura_err
cidr_addr(const char *ip, uint8_t ret_addr[16])
{
	struct in_addr v4;
	struct in6_addr v6;

	if (ip == NULL)
		return KURA_EINVAL;
	if (inet_pton(AF_INET, ip, &v4) == 1) {
		memset(ret_addr, 0, 10);
		ret_addr[10] = ret_addr[11] = 0xff;
		memcpy(ret_addr + 12, &v4, 4);
		return KURA_OK;
	}
	if (inet_pton(AF_INET6, ip, &v6) == 1) {
		memcpy(ret_addr, &v6, 16);
		return KURA_OK;
	}
	return KURA_EINVAL;
}

kura_err
cidr_parse(const char *s, struct cidr *ret)
{
	char host[64];
	const char *slash;
	uint64_t prefix;
	bool v4;
	struct cidr c;

	if (s == NULL || strlen(s) >= sizeof(host))
		return KURA_EINVAL;
	slash = strchr(s, '/');
	snprintf(host, sizeof(host), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	if (cidr_addr(host, c.addr) != KURA_OK)
		return KURA_EINVAL;
	v4 = strchr(host, ':') == NULL;
	if (slash != NULL) {
		if (kura_parse_u64(slash + 1, 0, v4 ? 32 : 128, &prefix) != KURA_OK)
			return KURA_EINVAL;
	} else {
		prefix = v4 ? 32 : 128;
	}
	c.prefix = (unsigned)prefix + (v4 ? 96 : 0);
	/* host bits must be zero */
	for (unsigned bit = c.prefix; bit < 128; bit++)
		if (c.addr[bit / 8] & (0x80 >> (bit % 8)))
			return KURA_EINVAL;
	*ret = c;
	return KURA_OK;
}

bool
cidr_contains(const struct cidr *c, const uint8_t addr[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

void
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	if (c->prefix >= 96 && memcmp(c->addr, mapped, 12) == 0) {
		inet_ntop(AF_INET, c->addr + 12, ip, sizeof(ip));
		snprintf(buf, len, "%s/%u", ip, c->prefix - 96);
	} else {
		inet_ntop(AF_INET6, c->addr, ip, sizeof(ip));
		snprintf(buf, len, "%s/%u", ip, c->prefix);
	}
}
