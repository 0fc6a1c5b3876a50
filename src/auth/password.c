#include <ctype.h>
#include <string.h>

#include "auth/password.h"
#include "core/parse.h"

#include <stdbool.h>

/* Passwords (and bases of passwords) too common to allow (IAM-5).  A
 * password is refused if, lower-cased and with trailing digits and
 * symbols removed, it equals one of these, or if it is one of these. */
static const char *const common_passwords[] = {
	"password",
	"passw0rd",
	"p@ssw0rd",
	"p@ssword",
	"pa$$word",
	"pa55word",
	"password1",
	"password12",
	"password123",
	"password1234",
	"passw0rd1",
	"p@ssw0rd1",
	"p@55w0rd",
	"qwerty",
	"qwerty123",
	"qwertyuiop",
	"qwerty12",
	"1q2w3e4r",
	"1q2w3e4r5t",
	"1qaz2wsx",
	"zaq12wsx",
	"q1w2e3r4",
	"abc12345",
	"abcd1234",
	"abcdefg1",
	"a1b2c3d4",
	"12345678",
	"123456789",
	"1234567890",
	"87654321",
	"11111111",
	"00000000",
	"iloveyou",
	"iloveyou1",
	"welcome",
	"welcome1",
	"welcome123",
	"letmein",
	"letmein1",
	"admin",
	"admin123",
	"admin1234",
	"administrator",
	"changeme",
	"changeme1",
	"sunshine",
	"sunshine1",
	"princess",
	"football",
	"baseball",
	"basketball",
	"superman",
	"batman",
	"dragon",
	"monkey",
	"shadow",
	"master",
	"master123",
	"michael",
	"jennifer",
	"trustno1",
	"starwars",
	"whatever",
	"freedom",
	"computer",
	"internet",
	"summer",
	"winter",
	"spring",
	"autumn",
	"summer2024",
	"summer2025",
	"summer2026",
	"winter2024",
	"winter2025",
	"winter2026",
	"spring2025",
	"spring2026",
	"autumn2025",
	"autumn2026",
	"company",
	"company1",
	"company123",
	"secret",
	"secret123",
	"test1234",
	"testtest",
	"test123",
	"guest123",
	"login123",
	"root1234",
	"user1234",
	"temp1234",
	"default",
	"default1",
	"hello123",
	"helloworld",
	"tokyo",
	"osaka",
	"nippon",
	"japan",
	"japan123",
	"sakura",
	"sakura123",
	"tanaka",
	"suzuki",
	"yamada"
};

/* Lower-case copy of pw with trailing non-letters removed, into buf. */
static void
password_base(const char *pw, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = pw; *p != '\0' && n + 1 < len; p++)
		buf[n++] = (char)tolower((unsigned char)*p);
	buf[n] = '\0';
	while (n > 0 && !isalpha((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
}

static bool
password_common(const char *pw)
{
	char lower[AUTH_PW_MAX_LEN + 1], base[AUTH_PW_MAX_LEN + 1];
	size_t n = 0;
	bool hit = false;

	for (const char *p = pw; *p != '\0' && n + 1 < sizeof(lower); p++)
		lower[n++] = (char)tolower((unsigned char)*p);
	lower[n] = '\0';
	password_base(pw, base, sizeof(base));
	for (size_t i = 0; i < sizeof(common_passwords) / sizeof(common_passwords[0]); i++)
		if (strcmp(lower, common_passwords[i]) == 0 ||
		    (base[0] != '\0' && strcmp(base, common_passwords[i]) == 0))
			hit = true;
	return hit;
}

kura_err
auth_password_check(const struct auth_pw_policy *p, const char *pw,
    const char **ret_reason)
{
	unsigned classes = 0, upper = 0, lower = 0, digit = 0, other = 0;
	size_t len, chars = 0;

	if (pw == NULL || !kura_text_ok(pw, AUTH_PW_MAX_LEN)) {
		*ret_reason = "the password must be printable text of at most 1024 bytes";
		return KURA_EINVAL;
	}
	len = strlen(pw);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];
		if ((c & 0xc0) != 0x80)
			chars++;   /* count characters, not UTF-8 bytes */
		if (c >= 'A' && c <= 'Z')
			upper = 1;
		else if (c >= 'a' && c <= 'z')
			lower = 1;
		else if (c >= '0' && c <= '9')
			digit = 1;
		else
			other = 1;
	}
	classes = upper + lower + digit + other;
	if (chars < (p->min_len > AUTH_PW_MIN_LEN ? p->min_len : AUTH_PW_MIN_LEN)) {
		*ret_reason = "the password is too short";
		return KURA_EINVAL;
	}
	if (classes < (p->min_classes > AUTH_PW_MIN_CLASSES ? p->min_classes :
	    AUTH_PW_MIN_CLASSES)) {
		*ret_reason = "the password needs more kinds of characters "
		    "(upper case, lower case, digits, symbols)";
		return KURA_EINVAL;
	}
	if (password_common(pw)) {
		*ret_reason = "the password is too common; choose one that is harder to guess";
		return KURA_EINVAL;
	}
	return KURA_OK;
}
