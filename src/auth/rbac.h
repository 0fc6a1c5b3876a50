/*
 * Permissions and roles (IAM-2, IAM-3).  A permission is a bit; a role is
 * a set of bits.  Built-in roles: tenant_admin (everything) and member.
 * Custom roles are rows (store_role) whose permissions are names from
 * this catalogue.  Route permissions name one of these, or "self" (any
 * signed-in user acting on their own account), or "public".
 */
#ifndef KURA_AUTH_RBAC_H
#define KURA_AUTH_RBAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef uint64_t rbac_perms;

struct rbac_perm_info {
	const char *name;       /* "users.write" */
	rbac_perms bit;
	int admin_only;         /* privileged: only roles that include it may grant it */
	const char *en;         /* description (English) */
	const char *ja;         /* description (Japanese) */
};

extern const struct rbac_perm_info rbac_catalogue[];
extern const size_t rbac_catalogue_len;

#define RBAC_ROLE_ADMIN "tenant_admin"
#define RBAC_ROLE_MEMBER "member"

/* Bit for a permission name; 0 if unknown. */
rbac_perms rbac_perm_bit(const char *name);
/* Every permission. */
rbac_perms rbac_all(void);
/* Permissions of a built-in role; false if name is not built in. */
bool rbac_builtin(const char *role, rbac_perms *ret_perms);
/* Parse "a,b,c" into bits; KURA_EINVAL naming the first unknown name via
 * *ret_bad (points into a static catalogue or is NULL). */
kura_err rbac_parse(const char *csv, rbac_perms *ret_perms);
/* Render bits as "a,b,c" (catalogue order) into a malloc'd string. */
char *rbac_format(rbac_perms perms);
/* True if route permission name is satisfied by perms ("self" and
 * "public" always are). */
bool rbac_allows(rbac_perms perms, const char *route_perm);
/* True if name is a known permission or "self"/"public". */
bool rbac_route_perm_known(const char *name);

#endif
