#include <string.h>

#include "auth/settings.h"

static const char *const allow_names[AUTH_ALLOW_KINDS] = { "console", "api", "all" };
static const char *const mfa_names[] = { "none", "admins", "all" };

void
auth_settings_default(struct auth_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->password.min_len = AUTH_PW_MIN_LEN;
	s->password.min_classes = AUTH_PW_MIN_CLASSES;
	s->lockout_threshold = 5;
	s->lockout_minutes = 15;
	s->idle_timeout_s = 1800;
	s->absolute_lifetime_s = 43200;
	s->mfa = AUTH_MFA_NONE;
}

/* Read an integer field in [min, max] if present. */
static bool
get_u32(const json_t *obj, const char *key, uint32_t min, uint32_t max,
    uint32_t *val, const char **ret_field)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (v == NULL)
		return true;
	if (!json_is_integer(v)) {
		*ret_field = key;
		return false;
	}
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max) {
		*ret_field = key;
		return false;
	}
	*val = (uint32_t)n;
	return true;
}

kura_err
auth_settings_from_json(const json_t *j, const struct auth_settings *base,
    struct auth_settings *ret, const char **ret_field, const char **ret_msg)
{
	static const char *const known[] = { "password_min_length",
	    "password_min_classes", "lockout_threshold", "lockout_minutes",
	    "idle_timeout_seconds", "absolute_lifetime_seconds", "mfa_required",
	    "ip_allowlist" };
	struct auth_settings s = *base;
	const char *key;
	json_t *v;
	uint32_t u;

	if (!json_is_object(j)) {
		*ret_field = "settings";
		*ret_msg = "must be a JSON object";
		return KURA_EINVAL;
	}
	json_object_foreach((json_t *)j, key, v) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				ok = true;
		if (!ok) {
			*ret_field = key;
			*ret_msg = "unknown setting";
			return KURA_EINVAL;
		}
	}
	*ret_msg = "out of range or of the wrong type (see the API reference)";
	u = (uint32_t)s.password.min_len;
	if (!get_u32(j, "password_min_length", AUTH_PW_MIN_LEN, 128, &u, ret_field))
		return KURA_EINVAL;
	s.password.min_len = u;
	if (!get_u32(j, "password_min_classes", AUTH_PW_MIN_CLASSES, 4,
	    &s.password.min_classes, ret_field) ||
	    !get_u32(j, "lockout_threshold", 3, 20, &s.lockout_threshold, ret_field) ||
	    !get_u32(j, "lockout_minutes", 0, 1440, &s.lockout_minutes, ret_field) ||
	    !get_u32(j, "idle_timeout_seconds", 1, 86400, &s.idle_timeout_s, ret_field) ||
	    !get_u32(j, "absolute_lifetime_seconds", 1, 604800,
	    &s.absolute_lifetime_s, ret_field))
		return KURA_EINVAL;
	v = json_object_get(j, "mfa_required");
	if (v != NULL) {
		const char *m = json_string_value(v);
		size_t i;
		for (i = 0; m != NULL && i < 3; i++)
			if (strcmp(m, mfa_names[i]) == 0)
				break;
		if (m == NULL || i == 3) {
			*ret_field = "mfa_required";
			*ret_msg = "must be one of none, admins, all";
			return KURA_EINVAL;
		}
		s.mfa = (enum auth_mfa_req)i;
	}
	v = json_object_get(j, "ip_allowlist");
	if (v != NULL) {
		json_t *list;
		if (!json_is_object(v)) {
			*ret_field = "ip_allowlist";
			*ret_msg = "must be an object with console, api and all lists";
			return KURA_EINVAL;
		}
		json_object_foreach(v, key, list) {
			int kind = -1;
			size_t i;
			json_t *item;
			for (int k = 0; k < AUTH_ALLOW_KINDS; k++)
				if (strcmp(key, allow_names[k]) == 0)
					kind = k;
			if (kind < 0 || !json_is_array(list) ||
			    json_array_size(list) > AUTH_ALLOW_MAX) {
				*ret_field = "ip_allowlist";
				*ret_msg = "lists are console, api and all, each an array of at most 64 CIDRs";
				return KURA_EINVAL;
			}
			s.n_allow[kind] = 0;
			json_array_foreach(list, i, item) {
				if (!json_is_string(item) || cidr_parse(json_string_value(item),
				    &s.allow[kind][i]) != KURA_OK) {
					*ret_field = "ip_allowlist";
					*ret_msg = "each entry must be an IPv4 or IPv6 CIDR such as 192.0.2.0/24 (host bits zero)";
					return KURA_EINVAL;
				}
				s.n_allow[kind] = i + 1;
			}
		}
	}
	if (s.absolute_lifetime_s < s.idle_timeout_s) {
		*ret_field = "absolute_lifetime_seconds";
		*ret_msg = "must not be shorter than the idle timeout";
		return KURA_EINVAL;
	}
	*ret = s;
	return KURA_OK;
}

json_t *
auth_settings_to_json(const struct auth_settings *s)
{
	json_t *allow = json_object();
	char buf[64];

	for (int k = 0; k < AUTH_ALLOW_KINDS; k++) {
		json_t *arr = json_array();
		for (size_t i = 0; i < s->n_allow[k]; i++) {
			cidr_format(&s->allow[k][i], buf, sizeof(buf));
			json_array_append_new(arr, json_string(buf));
		}
		json_object_set_new(allow, allow_names[k], arr);
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:o}",
	    "password_min_length", (json_int_t)s->password.min_len,
	    "password_min_classes", (json_int_t)s->password.min_classes,
	    "lockout_threshold", (json_int_t)s->lockout_threshold,
	    "lockout_minutes", (json_int_t)s->lockout_minutes,
	    "idle_timeout_seconds", (json_int_t)s->idle_timeout_s,
	    "absolute_lifetime_seconds", (json_int_t)s->absolute_lifetime_s,
	    "mfa_required", mfa_names[s->mfa],
	    "ip_allowlist", allow);
}

static bool
list_allows(const struct cidr *list, size_t n, const uint8_t addr[16])
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&list[i], addr))
			return true;
	return false;
}

bool
auth_settings_ip_allowed(const struct auth_settings *s, enum auth_allow_kind kind,
    const char *ip)
{
	uint8_t addr[16];

	if (s->n_allow[AUTH_ALLOW_ALL] == 0 && (kind == AUTH_ALLOW_ALL ||
	    s->n_allow[kind] == 0))
		return true;
	if (cidr_addr(ip, addr) != KURA_OK)
		return false;
	if (!list_allows(s->allow[AUTH_ALLOW_ALL], s->n_allow[AUTH_ALLOW_ALL], addr))
		return false;
	if (kind != AUTH_ALLOW_ALL &&
	    !list_allows(s->allow[kind], s->n_allow[kind], addr))
		return false;
	return true;
}
