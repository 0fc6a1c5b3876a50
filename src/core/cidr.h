/* IPv4/IPv6 CIDR lists for IP allowlists (IAM-10). */
#ifndef KURA_CORE_CIDR_H
#define KURA_CORE_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct cidr {
	uint8_t addr[16];   /* IPv4 as v4-mapped IPv6 */
	unsigned prefix;    /* 0..128 (IPv4 prefixes + 96) */
};

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (host route).
 * Host bits must be zero ("10.0.0.1/8" is KURA_EINVAL). */
kura_err cidr_parse(const char *s, struct cidr *ret);
/* Parse a textual address into the same 16-byte form. */
kura_err cidr_addr(const char *ip, uint8_t ret_addr[16]);
bool cidr_contains(const struct cidr *c, const uint8_t addr[16]);
/* Canonical text of c into buf (at least 64 bytes). */
void cidr_format(const struct cidr *c, char *buf, size_t len);

#endif
