/*
 * Unit tests for src/auth and the CIDR helpers in src/core.
 * Evidence: IAM-6 (TOTP, RFC 6238 vectors), IAM-10 (CIDR matching),
 * IAM-2/IAM-3 (permission evaluation), IAM-5/7/8 (settings bounds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/rbac.h"
#include "auth/settings.h"
#include "auth/totp.h"
#include "core/cidr.h"

static const uint8_t rfc_key[] = "12345678901234567890";

/* RFC 6238 appendix B, SHA-1, 8 digits. */
static void
totp_matches_rfc6238_sha1_vectors(void **state)
{
	static const struct { uint64_t t; uint32_t code; } v[] = {
		{ 59, 94287082 }, { 1111111109, 7081804 }, { 1111111111, 14050471 },
		{ 1234567890, 89005924 }, { 2000000000, 69279037 },
		{ 20000000000ULL, 65353130 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t code = 0;
		assert_int_equal(totp_code(rfc_key, 20, v[i].t / 30, 8, &code), 0);
		assert_int_equal(code, v[i].code);
		/* six digits are the last six */
		assert_int_equal(totp_code(rfc_key, 20, v[i].t / 30, 6, &code), 0);
		assert_int_equal(code, v[i].code % 1000000);
	}
}

static void
totp_verify_accepts_adjacent_steps_and_refuses_replay(void **state)
{
	int64_t step = 0;
	(void)state;
	/* 1111111111 s: step 37037037, code 050471 */
	assert_int_equal(totp_verify(rfc_key, 20, "050471", 1111111111, 0, &step), 0);
	assert_int_equal(step, 37037037);
	/* the same code again (same step) is a replay */
	assert_int_equal(totp_verify(rfc_key, 20, "050471", 1111111111, step, &step),
	    KURA_EAUTH);
	/* one step of clock skew either way is accepted */
	assert_int_equal(totp_verify(rfc_key, 20, "050471", 1111111111 + 30, 0, &step), 0);
	assert_int_equal(totp_verify(rfc_key, 20, "050471", 1111111111 - 30, 0, &step), 0);
	/* two steps away is not */
	assert_int_equal(totp_verify(rfc_key, 20, "050471", 1111111111 + 60, 0, &step),
	    KURA_EAUTH);
}

static void
totp_verify_refuses_malformed_codes(void **state)
{
	static const char *const bad[] = { "", "05047", "0504711", "05047a",
	    " 50471", "-50471", "05 471" };
	int64_t step = 0;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(totp_verify(rfc_key, 20, bad[i], 1111111111, 0, &step),
		    KURA_EAUTH);
	assert_int_equal(totp_verify(rfc_key, 20, NULL, 1111111111, 0, &step), KURA_EAUTH);
}

/* RFC 4648 section 10 vectors, without padding. */
static void
base32_matches_rfc4648_vectors(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char enc[32];
		uint8_t dec[32];
		size_t n = 0;
		totp_b32_encode((const uint8_t *)v[i].in, strlen(v[i].in), enc);
		assert_string_equal(enc, v[i].out);
		assert_int_equal(totp_b32_decode(v[i].out, dec, sizeof(dec), &n), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, n);
	}
}

static void
base32_decode_refuses_bad_input_and_overflow(void **state)
{
	uint8_t out[4];
	size_t n = 0;
	(void)state;
	assert_int_equal(totp_b32_decode("MZXW1", out, sizeof(out), &n), KURA_EINVAL);
	assert_int_equal(totp_b32_decode("MZ=", out, sizeof(out), &n), KURA_EINVAL);
	assert_int_equal(totp_b32_decode("mzxw6", out, sizeof(out), &n), 0);
	assert_int_equal(totp_b32_decode("MZXW6YTBOI", out, sizeof(out), &n), KURA_ERANGE);
}

static void
cidr_parses_and_matches_v4_and_v6(void **state)
{
	struct cidr c;
	uint8_t a[16];
	char buf[64];
	(void)state;
	assert_int_equal(cidr_parse("192.0.2.0/24", &c), 0);
	assert_int_equal(cidr_addr("192.0.2.77", a), 0);
	assert_true(cidr_contains(&c, a));
	assert_int_equal(cidr_addr("192.0.3.1", a), 0);
	assert_false(cidr_contains(&c, a));
	cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24");

	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	assert_int_equal(cidr_addr("2001:db8:ffff::1", a), 0);
	assert_true(cidr_contains(&c, a));
	assert_int_equal(cidr_addr("2001:db9::1", a), 0);
	assert_false(cidr_contains(&c, a));
	/* an IPv4 address never matches an IPv6 prefix that excludes ::ffff:0:0/96 */
	assert_int_equal(cidr_addr("192.0.2.1", a), 0);
	assert_false(cidr_contains(&c, a));

	/* bare addresses are host routes */
	assert_int_equal(cidr_parse("::1", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("10.1.2.3", &c), 0);
	assert_int_equal(cidr_addr("10.1.2.3", a), 0);
	assert_true(cidr_contains(&c, a));
	assert_int_equal(cidr_addr("10.1.2.4", a), 0);
	assert_false(cidr_contains(&c, a));
	/* /0 matches everything of its family */
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_true(cidr_contains(&c, a));
	/* odd prefix lengths compare the partial byte */
	assert_int_equal(cidr_parse("10.0.0.0/9", &c), 0);
	assert_int_equal(cidr_addr("10.127.0.1", a), 0);
	assert_true(cidr_contains(&c, a));
	assert_int_equal(cidr_addr("10.128.0.1", a), 0);
	assert_false(cidr_contains(&c, a));
}

static void
cidr_refuses_malformed_and_host_bits(void **state)
{
	static const char *const bad[] = { "", "10.0.0.1/8", "10.0.0.0/33",
	    "10.0.0.0/-1", "10.0.0.0/", "10.0.0/8", "2001:db8::1/32",
	    "2001:db8::/129", "example.com", "10.0.0.0/8/8", "1.2.3.4 ",
	    "::ffff:1.2.3.4/200" };
	struct cidr c;
	uint8_t a[16];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(cidr_parse(bad[i], &c), 0);
	assert_int_not_equal(cidr_addr("not-an-ip", a), 0);
	assert_int_not_equal(cidr_addr(NULL, a), 0);
}

static void
rbac_builtin_roles_and_evaluation(void **state)
{
	rbac_perms admin = 0, member = 0, p = 0;
	char *s;
	(void)state;
	assert_true(rbac_builtin("tenant_admin", &admin));
	assert_true(rbac_builtin("member", &member));
	assert_false(rbac_builtin("rol_0123", &p));
	assert_int_equal(admin, rbac_all());
	/* a member may use the AI services and files, not administration */
	assert_true(rbac_allows(member, "ai.chat"));
	assert_true(rbac_allows(member, "files.write"));
	assert_false(rbac_allows(member, "users.read"));
	assert_false(rbac_allows(member, "settings.write"));
	assert_false(rbac_allows(member, "audit.read"));
	/* self and public are satisfied by any caller; unknown names by none */
	assert_true(rbac_allows(0, "self"));
	assert_true(rbac_allows(0, "public"));
	assert_false(rbac_allows(rbac_all(), "no.such.permission"));
	assert_true(rbac_route_perm_known("users.write"));
	assert_false(rbac_route_perm_known("users.writ"));
	/* parse/format round trip in catalogue order */
	assert_int_equal(rbac_parse("ai.speech,users.read", &p), 0);
	s = rbac_format(p);
	assert_string_equal(s, "users.read,ai.speech");
	free(s);
	assert_int_equal(rbac_parse("", &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(rbac_parse("users.read,", &p), KURA_EINVAL);
	assert_int_equal(rbac_parse("users.read,bogus", &p), KURA_EINVAL);
	assert_int_equal(rbac_parse("users", &p), KURA_EINVAL);
}

static void
rbac_catalogue_is_consistent(void **state)
{
	rbac_perms seen = 0;
	(void)state;
	for (size_t i = 0; i < rbac_catalogue_len; i++) {
		const struct rbac_perm_info *p = &rbac_catalogue[i];
		assert_non_null(p->en);
		assert_non_null(p->ja);
		assert_true(p->bit != 0 && (p->bit & (p->bit - 1)) == 0);
		assert_int_equal(seen & p->bit, 0);
		seen |= p->bit;
		assert_int_equal(rbac_perm_bit(p->name), p->bit);
	}
}

static json_t *
j(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static void
settings_defaults_and_bounds(void **state)
{
	struct auth_settings def, out;
	const char *field = NULL, *msg = NULL;
	static const char *const bad[] = {
		"{\"password_min_length\":7}", "{\"password_min_length\":129}",
		"{\"password_min_classes\":2}", "{\"lockout_threshold\":2}",
		"{\"lockout_threshold\":21}", "{\"lockout_minutes\":1441}",
		"{\"idle_timeout_seconds\":0}", "{\"absolute_lifetime_seconds\":604801}",
		"{\"idle_timeout_seconds\":100,\"absolute_lifetime_seconds\":50}",
		"{\"mfa_required\":\"sometimes\"}", "{\"mfa_required\":1}",
		"{\"lockout_threshold\":\"5\"}", "{\"unknown\":1}",
		"{\"ip_allowlist\":{\"web\":[]}}", "{\"ip_allowlist\":{\"api\":[\"10.0.0.1/8\"]}}",
		"{\"ip_allowlist\":[]}",
	};
	json_t *v;
	(void)state;
	auth_settings_default(&def);
	assert_int_equal(def.password.min_len, 8);
	assert_int_equal(def.password.min_classes, 3);
	assert_int_equal(def.lockout_threshold, 5);
	assert_int_equal(def.lockout_minutes, 15);
	assert_int_equal(def.idle_timeout_s, 1800);
	assert_int_equal(def.absolute_lifetime_s, 43200);
	assert_int_equal(def.mfa, AUTH_MFA_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = j(bad[i]);
		if (auth_settings_from_json(v, &def, &out, &field, &msg) == KURA_OK)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(field);
		json_decref(v);
	}
	/* partial update keeps the rest; round trip through JSON */
	v = j("{\"lockout_threshold\":3,\"mfa_required\":\"admins\","
	    "\"ip_allowlist\":{\"console\":[\"192.0.2.0/24\",\"2001:db8::/32\"]}}");
	assert_int_equal(auth_settings_from_json(v, &def, &out, &field, &msg), 0);
	json_decref(v);
	assert_int_equal(out.lockout_threshold, 3);
	assert_int_equal(out.idle_timeout_s, 1800);
	assert_int_equal(out.mfa, AUTH_MFA_ADMINS);
	assert_int_equal(out.n_allow[AUTH_ALLOW_CONSOLE], 2);
	v = auth_settings_to_json(&out);
	{
		struct auth_settings back;
		assert_int_equal(auth_settings_from_json(v, &def, &back, &field, &msg), 0);
		assert_memory_equal(&back, &out, sizeof(back));
	}
	json_decref(v);
}

static void
settings_ip_allowlist_logic(void **state)
{
	struct auth_settings s, out;
	const char *field, *msg;
	json_t *v;
	(void)state;
	auth_settings_default(&s);
	/* empty lists allow everyone */
	assert_true(auth_settings_ip_allowed(&s, AUTH_ALLOW_CONSOLE, "198.51.100.1"));
	v = j("{\"ip_allowlist\":{\"console\":[\"192.0.2.0/24\"],\"all\":[\"192.0.2.0/23\",\"::1\"]}}");
	assert_int_equal(auth_settings_from_json(v, &s, &out, &field, &msg), 0);
	json_decref(v);
	assert_true(auth_settings_ip_allowed(&out, AUTH_ALLOW_CONSOLE, "192.0.2.5"));
	/* in "all" but not in "console" */
	assert_false(auth_settings_ip_allowed(&out, AUTH_ALLOW_CONSOLE, "192.0.3.5"));
	/* api has no own list: "all" decides */
	assert_true(auth_settings_ip_allowed(&out, AUTH_ALLOW_API, "192.0.3.5"));
	assert_true(auth_settings_ip_allowed(&out, AUTH_ALLOW_API, "::1"));
	assert_false(auth_settings_ip_allowed(&out, AUTH_ALLOW_API, "198.51.100.1"));
	assert_false(auth_settings_ip_allowed(&out, AUTH_ALLOW_CONSOLE, "garbage"));
}

int
main(void)
{
	static const struct CMUnitTest auth_tests[] = {
		cmocka_unit_test(totp_matches_rfc6238_sha1_vectors),
		cmocka_unit_test(totp_verify_accepts_adjacent_steps_and_refuses_replay),
		cmocka_unit_test(totp_verify_refuses_malformed_codes),
		cmocka_unit_test(base32_matches_rfc4648_vectors),
		cmocka_unit_test(base32_decode_refuses_bad_input_and_overflow),
		cmocka_unit_test(cidr_parses_and_matches_v4_and_v6),
		cmocka_unit_test(cidr_refuses_malformed_and_host_bits),
		cmocka_unit_test(rbac_builtin_roles_and_evaluation),
		cmocka_unit_test(rbac_catalogue_is_consistent),
		cmocka_unit_test(settings_defaults_and_bounds),
		cmocka_unit_test(settings_ip_allowlist_logic),
	};
	return cmocka_run_group_tests_name("auth", auth_tests, NULL, NULL);
}
