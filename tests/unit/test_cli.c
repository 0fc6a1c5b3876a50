/*
 * Unit tests for the field validators shared by the API and the operator
 * CLI (src/api/validate.c) and the basic password policy (IAM-5,
 * src/auth/password.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/validate.h"
#include "auth/password.h"

typedef const char *(*validator)(const char *);

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
expect_ok(validator v, const char *name, const char *value)
{
	const char *why = v(value);

	if (why != NULL)
		fail_msg("%s rejected '%s': %s", name, value, why);
}

static void
expect_bad(validator v, const char *name, const char *value)
{
	const char *why = v(value);

	if (why == NULL)
		fail_msg("%s accepted '%s'", name, value ? value : "(null)");
	assert_true(strlen(why) > 0);
}

#define OK(fn, v) expect_ok(fn, #fn, v)
#define BAD(fn, v) expect_bad(fn, #fn, v)

/* ---- validators ---- */

static void
contract_id_allows_token_chars_up_to_64(void **state)
{
	char *s;

	(void)state;
	OK(val_contract_id, "C-2024_001.a");
	OK(val_contract_id, "1");
	s = repeat('a', 64);
	OK(val_contract_id, s);
	free(s);
	s = repeat('a', 65);
	BAD(val_contract_id, s);
	free(s);
	BAD(val_contract_id, "");
	BAD(val_contract_id, NULL);
	BAD(val_contract_id, "a b");
	BAD(val_contract_id, "a/b");
	BAD(val_contract_id, "a@b");
	BAD(val_contract_id, "caf\xc3\xa9");
	BAD(val_contract_id, "a\nb");
}

static void
login_id_allows_email_like_tokens_up_to_128(void **state)
{
	char *s;

	(void)state;
	OK(val_login_id, "alice");
	OK(val_login_id, "alice.smith+x@example.com");
	OK(val_login_id, "a-b_c");
	s = repeat('l', VAL_LOGIN_MAX);
	OK(val_login_id, s);
	free(s);
	s = repeat('l', VAL_LOGIN_MAX + 1);
	BAD(val_login_id, s);
	free(s);
	BAD(val_login_id, "");
	BAD(val_login_id, NULL);
	BAD(val_login_id, "alice smith");
	BAD(val_login_id, "alice\t");
	BAD(val_login_id, "al'ice");
	BAD(val_login_id, "al\"ice");
	BAD(val_login_id, "al%ice");
	BAD(val_login_id, "\xef\xbc\xa1");  /* fullwidth A */
}

static void
email_requires_one_at_and_a_dotted_domain(void **state)
{
	static const char *const good[] = {
		"a@example.com", "first.last+tag@sub.example.co.jp",
		"x@y.z", "\xe5\xb1\xb1\xe7\x94\xb0@example.jp",
	};
	static const char *const bad[] = {
		"", "plain", "@example.com", "a@", "a@example", "a@example.",
		"a@@example.com", "a@b@example.com", "a b@example.com",
		"a@exa mple.com", "a@example.com\n", "a\x01@example.com",
		"a@\xc0\xae.com", "a@example.com\x7f",
	};
	char *s, *local;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		OK(val_email, good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(val_email, bad[i]);
	BAD(val_email, NULL);
	/* 254 bytes is the limit */
	local = repeat('a', VAL_EMAIL_MAX - strlen("@example.com"));
	s = malloc(VAL_EMAIL_MAX + 2);
	assert_non_null(s);
	snprintf(s, VAL_EMAIL_MAX + 2, "%s@example.com", local);
	assert_int_equal(strlen(s), VAL_EMAIL_MAX);
	OK(val_email, s);
	snprintf(s, VAL_EMAIL_MAX + 2, "a%s@example.com", local);
	BAD(val_email, s);
	free(s);
	free(local);
}

static void
display_name_is_text_of_1_to_200_bytes(void **state)
{
	char *s;

	(void)state;
	OK(val_display_name, "Acme Corporation");
	OK(val_display_name, "\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe");
	OK(val_display_name, "O'Brien & Sons <ok>");
	s = repeat('n', VAL_NAME_MAX);
	OK(val_display_name, s);
	free(s);
	s = repeat('n', VAL_NAME_MAX + 1);
	BAD(val_display_name, s);
	free(s);
	BAD(val_display_name, "");
	BAD(val_display_name, NULL);
	BAD(val_display_name, "line\nbreak");
	BAD(val_display_name, "tab\there");
	BAD(val_display_name, "del\x7f");
	BAD(val_display_name, "c1\xc2\x85");
	BAD(val_display_name, "bad\xff");
	BAD(val_display_name, "sur\xed\xa0\x80");
}

static void
region_is_lowercase_token_up_to_31(void **state)
{
	char *s;

	(void)state;
	OK(val_region, "ap-northeast-1");
	OK(val_region, "eu");
	s = repeat('r', 31);
	OK(val_region, s);
	free(s);
	s = repeat('r', 32);
	BAD(val_region, s);
	free(s);
	BAD(val_region, "");
	BAD(val_region, NULL);
	BAD(val_region, "AP-1");
	BAD(val_region, "ap_1");
	BAD(val_region, "ap.1");
	BAD(val_region, "ap 1");
	BAD(val_region, "ap/1");
}

static void
timezone_accepts_known_iana_names_only(void **state)
{
	static const char *const bad[] = {
		"", "Nowhere/City", "../../../etc/passwd", "/etc/passwd",
		"Asia/../../etc/passwd", "Asia", "-Asia/Tokyo", "Asia/Tokyo ",
		"Asia\\Tokyo", "asia/tokyo\n", "Asia/Tokyo\x01", "zone.tab",
	};
	char *s;

	(void)state;
	OK(val_timezone, "UTC");
	OK(val_timezone, "Asia/Tokyo");
	OK(val_timezone, "America/New_York");
	OK(val_timezone, "Etc/GMT+9");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(val_timezone, bad[i]);
	BAD(val_timezone, NULL);
	s = repeat('A', 65);
	BAD(val_timezone, s);
	free(s);
}

static void
seats_is_whole_number_1_to_1000000(void **state)
{
	static const char *const bad[] = {
		"0", "1000001", "-1", "+5", " 5", "5 ", "", "5.0", "1e3", "0x10",
		"4294967297", "18446744073709551616",
	};
	uint32_t n = 77;

	(void)state;
	assert_null(val_seats("1", &n));
	assert_int_equal(n, 1);
	assert_null(val_seats("1000000", &n));
	assert_int_equal(n, 1000000);
	assert_null(val_seats("25", &n));
	assert_int_equal(n, 25);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 77;
		if (val_seats(bad[i], &n) == NULL)
			fail_msg("val_seats accepted '%s'", bad[i]);
		assert_int_equal(n, 77);
	}
	assert_non_null(val_seats(NULL, &n));
	assert_int_equal(n, 77);
}

static void
validator_messages_never_echo_the_value(void **state)
{
	static const validator all[] = {
		val_contract_id, val_login_id, val_email, val_display_name,
		val_region, val_timezone,
	};
	static const char *const marks[] = {
		"zqx\nsecret", "zqx\x01secret", "zqx\xffsecret",
	};
	uint32_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
			const char *why = all[i](marks[k]);
			assert_non_null(why);
			assert_null(strstr(why, "zqx"));
		}
	}
	assert_null(strstr(val_seats("zqx", &n), "zqx"));
}

/* ---- password policy (IAM-5) ---- */

static kura_err
pw(const char *s, const char **why)
{
	static const struct auth_pw_policy def = AUTH_PW_POLICY_DEFAULT;

	*why = NULL;
	return auth_password_check(&def, s, why);
}

static void
expect_pw_ok(const char *s)
{
	const char *why;

	if (pw(s, &why) != KURA_OK)
		fail_msg("password '%s' rejected: %s", s, why ? why : "?");
}

static void
expect_pw_bad(const char *s)
{
	const char *why;

	if (pw(s, &why) != KURA_EINVAL)
		fail_msg("password '%s' accepted", s ? s : "(null)");
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	if (s != NULL && strlen(s) >= 4 && strstr(why, s) != NULL)
		fail_msg("reason echoes the password");
}

static void
password_minimum_length_is_8_characters(void **state)
{
	(void)state;
	assert_int_equal(AUTH_PW_MIN_LEN, 8);
	assert_int_equal(AUTH_PW_MIN_CLASSES, 3);
	expect_pw_ok("Abcdef1!");
	expect_pw_ok("Kestrel9");
	expect_pw_bad("Abcde1!");
	expect_pw_bad("Ab1!");
	expect_pw_bad("");
	expect_pw_bad(NULL);
}

static void
password_needs_three_of_four_classes(void **state)
{
	(void)state;
	/* exactly two classes: refused */
	expect_pw_bad("abcdefgh");
	expect_pw_bad("ABCDEFGH");
	expect_pw_bad("12345678");
	expect_pw_bad("!!!!!!!!");
	expect_pw_bad("abcdEFGH");
	expect_pw_bad("abcd1234");
	expect_pw_bad("ABCD1234");
	expect_pw_bad("abcd!@#$");
	expect_pw_bad("ABCD!@#$");
	expect_pw_bad("1234!@#$");
	/* three classes, each combination */
	expect_pw_ok("abcdEF12");
	expect_pw_ok("abcdEF!?");
	expect_pw_ok("abcd12!?");
	expect_pw_ok("ABCD12!?");
	/* all four */
	expect_pw_ok("aB3$aB3$");
	/* space counts as a symbol */
	expect_pw_ok("abcd EF gh");
}

static void
password_length_counts_utf8_characters_not_bytes(void **state)
{
	(void)state;
	/* 7 characters, 13 bytes: too short although over 8 bytes */
	expect_pw_bad("A1\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88" "b");
	/* 8 characters with multi-byte ones: long enough; non-ASCII is a symbol */
	expect_pw_ok("A1\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88" "bc");
	/* 7 emoji + 1: 29 bytes, 8 characters, but only 2 classes */
	expect_pw_bad("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80" "a");
	expect_pw_ok("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80" "a1");
}

static void
password_rejects_control_characters_and_bad_utf8(void **state)
{
	(void)state;
	expect_pw_bad("Abcdef1!\n");
	expect_pw_bad("Abc\tdef1!");
	expect_pw_bad("Abcdef1!\r");
	expect_pw_bad("Abcdef1!\x1b");
	expect_pw_bad("Abcdef1!\x7f");
	expect_pw_bad("Abcdef1!\xc2\x85");    /* C1 NEL */
	expect_pw_bad("Abcdef1!\xff");
	expect_pw_bad("Abcdef1!\xc0\xaf");    /* overlong */
	expect_pw_bad("Abcdef1!\xed\xa0\x80");/* surrogate */
}

static void
password_refuses_common_passwords_and_their_bases(void **state)
{
	(void)state;
	expect_pw_bad("Password1!");
	expect_pw_bad("P@ssw0rd");
	expect_pw_bad("Welcome123!");
	expect_pw_bad("Sakura2024!!");
	expect_pw_bad("Qwerty123!");
	expect_pw_bad("Abcd1234");
	/* a common word inside a longer password is not refused by this list */
	expect_pw_ok("Sakura-tree-7");
}

static void
password_limited_to_1024_bytes(void **state)
{
	char *s = repeat('a', AUTH_PW_MAX_LEN + 1);

	(void)state;
	memcpy(s, "A1!", 3);
	s[AUTH_PW_MAX_LEN] = '\0';
	expect_pw_ok(s);
	s[AUTH_PW_MAX_LEN] = 'a';
	expect_pw_bad(s);
	free(s);
}

static void
password_tenant_policy_can_only_be_stricter(void **state)
{
	struct auth_pw_policy strict = { 12, 4 };
	struct auth_pw_policy lax = { 4, 1 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(auth_password_check(&strict, "Abcdefgh1!", &why),
	    KURA_EINVAL);
	assert_non_null(why);
	assert_int_equal(auth_password_check(&strict, "Abcdefghij1!", &why),
	    KURA_OK);
	assert_int_equal(auth_password_check(&strict, "Abcdefghijk1", &why),
	    KURA_EINVAL);
	/* a policy below the floor does not weaken the floor */
	why = NULL;
	assert_int_equal(auth_password_check(&lax, "Ab1!", &why), KURA_EINVAL);
	assert_non_null(why);
	assert_int_equal(auth_password_check(&lax, "abcdefgh", &why), KURA_EINVAL);
	assert_int_equal(auth_password_check(&lax, "abcdEF12", &why), KURA_OK);
}

int
main(void)
{
	static const struct CMUnitTest cli_tests[] = {
		cmocka_unit_test(contract_id_allows_token_chars_up_to_64),
		cmocka_unit_test(login_id_allows_email_like_tokens_up_to_128),
		cmocka_unit_test(email_requires_one_at_and_a_dotted_domain),
		cmocka_unit_test(display_name_is_text_of_1_to_200_bytes),
		cmocka_unit_test(region_is_lowercase_token_up_to_31),
		cmocka_unit_test(timezone_accepts_known_iana_names_only),
		cmocka_unit_test(seats_is_whole_number_1_to_1000000),
		cmocka_unit_test(validator_messages_never_echo_the_value),
		cmocka_unit_test(password_minimum_length_is_8_characters),
		cmocka_unit_test(password_needs_three_of_four_classes),
		cmocka_unit_test(password_length_counts_utf8_characters_not_bytes),
		cmocka_unit_test(password_rejects_control_characters_and_bad_utf8),
		cmocka_unit_test(password_refuses_common_passwords_and_their_bases),
		cmocka_unit_test(password_limited_to_1024_bytes),
		cmocka_unit_test(password_tenant_policy_can_only_be_stricter),
	};

	return cmocka_run_group_tests_name("cli", cli_tests, NULL, NULL);
}
