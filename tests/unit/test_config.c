/*
 * Unit tests for src/config: the settings table, kura.ini loading and
 * validation, the written default file, and the private-file checks.
 * Every test works in its own mkdtemp directory, removed afterwards.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/error.h"

struct fixture {
	char dir[64];
	char ini[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kura_test_config_XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->ini, sizeof(f->ini), "%s/%s", f->dir, CONFIG_FILE_NAME);
	*state = f;
	return 0;
}

static const char *const extra_names[] = {
	"link.ini", "other", "sub", "target.ini", "kek", "fifo",
};

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[192];

	unlink(f->ini);
	rmdir(f->ini);
	for (size_t i = 0; i < sizeof(extra_names) / sizeof(extra_names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, extra_names[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	if (rmdir(f->dir) != 0)
		fprintf(stderr, "warning: could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Write text to DIR/kura.ini with the given mode (replacing any file). */
static void
write_ini_mode(const struct fixture *f, const char *text, mode_t mode)
{
	int fd;
	size_t len = strlen(text);

	unlink(f->ini);
	fd = open(f->ini, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_true(write(fd, text, len) == (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
write_ini(const struct fixture *f, const char *text)
{
	write_ini_mode(f, text, 0600);
}

/* Load; expect failure with err and a message containing each of the
 * NULL-terminated needles. */
static void
expect_load_fails(const struct fixture *f, kura_err want, ...)
{
	struct kura_config *cfg = NULL;
	char *msg = NULL;
	kura_err err;
	va_list ap;
	const char *needle;

	err = config_load(f->dir, &cfg, &msg);
	if (err != want)
		fail_msg("config_load: got %s, want %s (msg: %s)",
		    kura_strerror(err), kura_strerror(want), msg ? msg : "(none)");
	assert_null(cfg);
	assert_non_null(msg);
	va_start(ap, want);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		if (strstr(msg, needle) == NULL) {
			va_end(ap);
			fail_msg("message '%s' does not mention '%s'", msg, needle);
		}
	}
	va_end(ap);
	free(msg);
}

static struct kura_config *
load_ok(const struct fixture *f)
{
	struct kura_config *cfg = NULL;
	char *msg = NULL;
	kura_err err;

	err = config_load(f->dir, &cfg, &msg);
	if (err != KURA_OK)
		fail_msg("config_load: %s: %s", kura_strerror(err),
		    msg ? msg : "(no message)");
	assert_non_null(cfg);
	assert_null(msg);
	return cfg;
}

static char *
under(const struct kura_config *cfg, const char *rel)
{
	size_t n = strlen(cfg->data_dir) + strlen(rel) + 2;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s/%s", cfg->data_dir, rel);
	return s;
}

static void
assert_path_under(const struct kura_config *cfg, const char *got,
    const char *rel)
{
	char *want = under(cfg, rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
}

/* The values documented in the settings table (and docs). */
static void
assert_documented_defaults(const struct kura_config *cfg)
{
	assert_int_equal(cfg->n_listen, 2);
	assert_string_equal(cfg->listen[0], "127.0.0.1:8443");
	assert_string_equal(cfg->listen[1], "[::1]:8443");
	assert_true(cfg->threads == 0);
	assert_true(cfg->max_connections == 4096);
	assert_true(cfg->max_connections_per_ip == 256);
	assert_true(cfg->connection_timeout_s == 30);
	assert_true(cfg->shutdown_grace_s == 30);
	assert_path_under(cfg, cfg->tls_cert, "tls/cert.pem");
	assert_path_under(cfg, cfg->tls_key, "tls/key.pem");
	assert_true(cfg->hsts_max_age_s == 31536000);
	assert_true(cfg->max_header_bytes == 16384);
	assert_true(cfg->max_body_bytes == 1048576);
	assert_true(cfg->max_json_depth == 16);
	assert_path_under(cfg, cfg->kek_file, "keys/kek.keys");
	assert_path_under(cfg, cfg->database, "kura.db");
	assert_true(cfg->argon2_memory_kib == 19456);
	assert_true(cfg->argon2_iterations == 2);
	assert_string_equal(cfg->log_level, "info");
}

/* ---- defaults and the written default file ---- */

static void
defaults_are_valid_and_equal_documented_values(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char real[PATH_MAX];

	assert_int_equal(config_defaults(f->dir, &cfg), KURA_OK);
	assert_non_null(cfg);
	assert_non_null(realpath(f->dir, real));
	assert_string_equal(cfg->data_dir, real);
	assert_path_under(cfg, cfg->config_path, CONFIG_FILE_NAME);
	assert_documented_defaults(cfg);
	config_free(cfg);
	config_free(NULL);
}

static void
defaults_for_missing_data_dir_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char *msg = NULL;
	char p[192];

	snprintf(p, sizeof(p), "%s/does-not-exist", f->dir);
	assert_int_equal(config_defaults(p, &cfg), KURA_ENOENT);
	assert_null(cfg);
	assert_int_equal(config_load(p, &cfg, &msg), KURA_ENOENT);
	assert_null(cfg);
	assert_non_null(msg);
	free(msg);
}

static void
write_default_creates_mode_0600_file_that_loads_unchanged(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;
	struct stat st;

	assert_int_equal(config_write_default(f->ini), KURA_OK);
	assert_int_equal(lstat(f->ini, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(st.st_uid == geteuid());
	assert_true(st.st_size > 0);
	cfg = load_ok(f);
	assert_documented_defaults(cfg);
	config_free(cfg);
	/* O_EXCL: never overwrites an existing file */
	assert_int_equal(config_write_default(f->ini), KURA_EEXIST);
}

/* Uncommenting every ";key = default" line of the written file gives a
 * file that loads to exactly the defaults: the written defaults parse. */
static void
write_default_uncommented_loads_to_defaults(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;
	char line[512], *text;
	size_t len = 0, cap = 64 * 1024;
	unsigned settings = 0;
	FILE *in;

	assert_int_equal(config_write_default(f->ini), KURA_OK);
	in = fopen(f->ini, "r");
	assert_non_null(in);
	text = calloc(1, cap);
	assert_non_null(text);
	while (fgets(line, sizeof(line), in) != NULL) {
		const char *l = line;
		size_t n;
		/* a setting line is ";key = value"; doc lines are "; text" */
		if (line[0] == ';' && line[1] != ' ' && line[1] != '\n' &&
		    strstr(line, " = ") != NULL) {
			l = line + 1;
			settings++;
		}
		n = strlen(l);
		assert_true(len + n < cap);
		memcpy(text + len, l, n);
		len += n;
	}
	fclose(in);
	assert_true(settings >= 17);
	write_ini(f, text);
	free(text);
	cfg = load_ok(f);
	assert_documented_defaults(cfg);
	config_free(cfg);
}

static void
empty_file_loads_defaults(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;

	write_ini(f, "");
	cfg = load_ok(f);
	assert_documented_defaults(cfg);
	config_free(cfg);
	write_ini(f, "; only a comment\n# another\n\n   \n");
	cfg = load_ok(f);
	assert_documented_defaults(cfg);
	config_free(cfg);
}

static void
write_default_into_missing_dir_fails(void **state)
{
	struct fixture *f = *state;
	char p[192];

	snprintf(p, sizeof(p), "%s/nodir/kura.ini", f->dir);
	assert_int_not_equal(config_write_default(p), KURA_OK);
}

/* ---- numeric bounds ---- */

struct bound {
	const char *section, *key;
	size_t off;
	uint64_t min, max;
};

#define B(s, k, field, lo, hi) { s, k, offsetof(struct kura_config, field), lo, hi }

static const struct bound bounds[] = {
	B("server", "threads", threads, 0, 256),
	B("server", "max_connections", max_connections, 1, 1000000),
	B("server", "max_connections_per_ip", max_connections_per_ip, 1, 1000000),
	B("server", "connection_timeout_s", connection_timeout_s, 1, 3600),
	B("server", "shutdown_grace_s", shutdown_grace_s, 1, 3600),
	B("tls", "hsts_max_age_s", hsts_max_age_s, 86400, 63072000),
	B("limits", "max_header_bytes", max_header_bytes, 1024, 65536),
	B("limits", "max_body_bytes", max_body_bytes, 1024, 67108864),
	B("limits", "max_json_depth", max_json_depth, 2, 64),
	B("passwords", "argon2_memory_kib", argon2_memory_kib, 8192, 1048576),
	B("passwords", "argon2_iterations", argon2_iterations, 1, 16),
};

static uint64_t
field_u64(const struct kura_config *cfg, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)cfg + off, sizeof(v));
	return v;
}

/* The setting sits on line 3 so the message must say ":3:". */
static void
write_setting(const struct fixture *f, const char *section, const char *key,
    const char *value)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), "; test\n[%s]\n%s = %s\n",
	    section, key, value);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_ini(f, text);
}

static void
every_numeric_setting_accepts_min_and_max(void **state)
{
	struct fixture *f = *state;
	char v[32];

	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const struct bound *b = &bounds[i];
		uint64_t vals[2] = { b->min, b->max };
		for (size_t k = 0; k < 2; k++) {
			struct kura_config *cfg;
			snprintf(v, sizeof(v), "%llu", (unsigned long long)vals[k]);
			write_setting(f, b->section, b->key, v);
			cfg = load_ok(f);
			if (field_u64(cfg, b->off) != vals[k])
				fail_msg("[%s] %s = %s not stored", b->section,
				    b->key, v);
			config_free(cfg);
		}
	}
}

static void
every_numeric_setting_rejects_min_minus_1_and_max_plus_1_naming_it(void **state)
{
	struct fixture *f = *state;
	char v[32], sk[96];

	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const struct bound *b = &bounds[i];

		snprintf(sk, sizeof(sk), "[%s] %s", b->section, b->key);
		if (b->min > 0)
			snprintf(v, sizeof(v), "%llu", (unsigned long long)(b->min - 1));
		else
			snprintf(v, sizeof(v), "-1");
		write_setting(f, b->section, b->key, v);
		expect_load_fails(f, b->min > 0 ? KURA_ERANGE : KURA_EINVAL,
		    f->ini, ":3:", sk, NULL);

		snprintf(v, sizeof(v), "%llu", (unsigned long long)(b->max + 1));
		write_setting(f, b->section, b->key, v);
		expect_load_fails(f, KURA_ERANGE, f->ini, ":3:", sk, NULL);
	}
}

static void
numeric_settings_reject_malformed_numbers(void **state)
{
	static const char *const bad[] = {
		"", "abc", "+4", "0x10", "1e3", "4k", "4 4", "18446744073709551616",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kura_config *cfg = NULL;
		char *msg = NULL;
		write_setting(f, "limits", "max_json_depth", bad[i]);
		if (config_load(f->dir, &cfg, &msg) == KURA_OK)
			fail_msg("max_json_depth = '%s' accepted", bad[i]);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "max_json_depth"));
		free(msg);
	}
}

static void
config_set_applies_same_validation_as_the_file(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char *msg = NULL;

	assert_int_equal(config_defaults(f->dir, &cfg), KURA_OK);
	assert_int_equal(config_set(cfg, "limits", "max_json_depth", "64", &msg),
	    KURA_OK);
	assert_null(msg);
	assert_true(cfg->max_json_depth == 64);
	assert_int_equal(config_set(cfg, "limits", "max_json_depth", "65", &msg),
	    KURA_ERANGE);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "max_json_depth"));
	free(msg);
	msg = NULL;
	assert_true(cfg->max_json_depth == 64);
	assert_int_equal(config_set(cfg, "limits", "nope", "1", &msg), KURA_EINVAL);
	assert_non_null(strstr(msg, "nope"));
	free(msg);
	msg = NULL;
	assert_int_equal(config_set(cfg, "server", "listen", "[::]:9443", &msg),
	    KURA_OK);
	assert_int_equal(cfg->n_listen, 1);
	assert_string_equal(cfg->listen[0], "[::]:9443");
	config_free(cfg);
}

/* ---- enums and strings ---- */

static void
log_level_accepts_only_its_choices(void **state)
{
	static const char *const good[] = { "debug", "info", "warn", "error" };
	static const char *const bad[] = {
		"", "DEBUG", "Info", "inf", "infoo", "warning", "info|warn", "|", "trace",
	};
	struct fixture *f = *state;
	struct kura_config *cfg;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		write_setting(f, "log", "level", good[i]);
		cfg = load_ok(f);
		assert_string_equal(cfg->log_level, good[i]);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kura_config *c = NULL;
		char *msg = NULL;
		write_setting(f, "log", "level", bad[i]);
		if (config_load(f->dir, &c, &msg) == KURA_OK)
			fail_msg("log level '%s' accepted", bad[i]);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "level"));
		free(msg);
	}
}

static void
relative_paths_resolve_under_data_dir_and_absolute_stay(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;

	write_ini(f, "[store]\ndatabase = sub/x.db\n"
	    "[keys]\nkek_file = /etc/kura/kek.keys\n"
	    "[tls]\ncertificate = c.pem\nprivate_key = ../elsewhere/k.pem\n");
	cfg = load_ok(f);
	assert_path_under(cfg, cfg->database, "sub/x.db");
	assert_string_equal(cfg->kek_file, "/etc/kura/kek.keys");
	assert_path_under(cfg, cfg->tls_cert, "c.pem");
	assert_path_under(cfg, cfg->tls_key, "../elsewhere/k.pem");
	config_free(cfg);
}

static void
path_settings_reject_empty_and_control_characters(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char *msg = NULL, *big;

	write_setting(f, "store", "database", "");
	expect_load_fails(f, KURA_EINVAL, ":3:", "database", NULL);
	write_setting(f, "store", "database", "a\x7f" "b");
	expect_load_fails(f, KURA_EINVAL, "database", NULL);
	write_setting(f, "store", "database", "a\xc0\xae" "b");
	expect_load_fails(f, KURA_EINVAL, "database", NULL);

	/* the 4096-byte limit, through config_set (no line-length limit) */
	assert_int_equal(config_defaults(f->dir, &cfg), KURA_OK);
	big = malloc(4098);
	assert_non_null(big);
	memset(big, 'p', 4097);
	big[0] = '/';
	big[4096] = '\0';
	assert_int_equal(config_set(cfg, "store", "database", big, &msg), KURA_OK);
	assert_string_equal(cfg->database, big);
	big[4096] = 'p';
	big[4097] = '\0';
	assert_int_equal(config_set(cfg, "store", "database", big, &msg),
	    KURA_EINVAL);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "database"));
	free(msg);
	msg = NULL;
	assert_int_equal(config_set(cfg, "tls", "certificate", "a\tb", &msg),
	    KURA_EINVAL);
	free(msg);
	free(big);
	config_free(cfg);
}

/* A line longer than the INI reader's line buffer must not be loaded with
 * a silently truncated value: either the whole value or an error. */
static void
overlong_line_is_never_truncated_silently(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char *msg = NULL, path[400];
	kura_err err;

	memset(path, 'q', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	write_setting(f, "store", "database", path);
	err = config_load(f->dir, &cfg, &msg);
	if (err == KURA_OK) {
		assert_string_equal(cfg->database, path);
		config_free(cfg);
	} else {
		assert_null(cfg);
		assert_non_null(msg);
		free(msg);
	}
}

/* ---- unknown, duplicate, malformed ---- */

static void
unknown_key_and_section_are_rejected_naming_them(void **state)
{
	struct fixture *f = *state;

	write_ini(f, "[server]\nthreads = 2\nthread = 2\n");
	expect_load_fails(f, KURA_EINVAL, ":3:", "unknown", "thread", NULL);
	write_ini(f, "[limts]\nmax_body_bytes = 2048\n");
	expect_load_fails(f, KURA_EINVAL, ":1:", "unknown", "limts", NULL);
	/* an unknown section with no keys at all is refused too */
	write_ini(f, "[server]\nthreads = 2\n[nope]\n");
	expect_load_fails(f, KURA_EINVAL, ":3:", "unknown section", "nope", NULL);
	/* lines longer than inih reads whole are refused, not split */
	{
		char line[400];
		memset(line, 'a', sizeof(line));
		memcpy(line, "[server]\nlisten = ", 18);
		line[sizeof(line) - 2] = '\n';
		line[sizeof(line) - 1] = '\0';
		write_ini(f, line);
		expect_load_fails(f, KURA_EINVAL, ":2:", "longer than", NULL);
	}
	/* a key of one section written under another */
	write_ini(f, "[server]\nmax_body_bytes = 2048\n");
	expect_load_fails(f, KURA_EINVAL, ":2:", "max_body_bytes", NULL);
	/* a key before any section */
	write_ini(f, "threads = 2\n");
	expect_load_fails(f, KURA_EINVAL, ":1:", "threads", NULL);
	/* case matters */
	write_ini(f, "[Server]\nthreads = 2\n");
	expect_load_fails(f, KURA_EINVAL, ":1:", NULL);
}

static void
a_key_set_twice_is_rejected(void **state)
{
	struct fixture *f = *state;

	write_ini(f, "[server]\nthreads = 1\nthreads = 1\n");
	expect_load_fails(f, KURA_EINVAL, ":3:", "threads", "twice", NULL);
	/* also when the section is opened twice */
	write_ini(f, "[server]\nthreads = 1\n[log]\nlevel = info\n"
	    "[server]\nthreads = 2\n");
	expect_load_fails(f, KURA_EINVAL, ":6:", "threads", "twice", NULL);
	write_ini(f, "[server]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n");
	expect_load_fails(f, KURA_EINVAL, ":3:", "listen", "twice", NULL);
}

static void
malformed_lines_are_rejected_with_line_number(void **state)
{
	static const struct { const char *text; const char *line; } bad[] = {
		{ "[server]\nthreads 2\n", ":2:" },
		{ "[server\nthreads = 2\n", ":1:" },
		{ "[log]\nlevel = info\njunk\n", ":3:" },
		{ "[server]\n= 2\n", ":2:" },
		{ "[]\nthreads = 2\n", ":1:" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kura_config *cfg = NULL;
		char *msg = NULL;
		write_ini(f, bad[i].text);
		if (config_load(f->dir, &cfg, &msg) == KURA_OK)
			fail_msg("malformed file #%zu accepted", i);
		assert_null(cfg);
		assert_non_null(msg);
		if (strstr(msg, bad[i].line) == NULL)
			fail_msg("file #%zu: message '%s' lacks '%s'", i, msg,
			    bad[i].line);
		free(msg);
	}
}

static void
inline_comments_and_spacing_are_accepted(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;

	write_ini(f, "\xef\xbb\xbf; with a BOM\n[server]\n  threads=3  \n"
	    "max_connections = 100 ; a comment\n# hash comment\n");
	cfg = load_ok(f);
	assert_true(cfg->threads == 3);
	assert_true(cfg->max_connections == 100);
	config_free(cfg);
}

/* ---- listen lists ---- */

static void
listen_list_parses_v4_and_v6(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;

	write_setting(f, "server", "listen", "0.0.0.0:443, [::]:8443,[fe80::1]:1");
	cfg = load_ok(f);
	assert_int_equal(cfg->n_listen, 3);
	assert_string_equal(cfg->listen[0], "0.0.0.0:443");
	assert_string_equal(cfg->listen[1], "[::]:8443");
	assert_string_equal(cfg->listen[2], "[fe80::1]:1");
	config_free(cfg);
}

static void
listen_list_accepts_eight_and_rejects_nine(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg;
	char v[512];
	size_t off = 0;

	for (int i = 1; i <= 8; i++)
		off += (size_t)snprintf(v + off, sizeof(v) - off, "%s127.0.0.1:%d",
		    i > 1 ? "," : "", 8000 + i);
	write_setting(f, "server", "listen", v);
	cfg = load_ok(f);
	assert_int_equal(cfg->n_listen, CONFIG_MAX_LISTEN);
	assert_string_equal(cfg->listen[7], "127.0.0.1:8008");
	config_free(cfg);

	snprintf(v + off, sizeof(v) - off, ",[::1]:9000");
	write_setting(f, "server", "listen", v);
	expect_load_fails(f, KURA_ERANGE, ":3:", "listen", "8", NULL);
}

static void
listen_list_rejects_bad_forms(void **state)
{
	static const char *const bad[] = {
		"localhost", "[::1]", "::1:8443", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:", ":8443", "127.0.0.1:8443,nope", "[]:1", ",", "",
		"127.0.0.1:http",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kura_config *cfg = NULL;
		char *msg = NULL;
		write_setting(f, "server", "listen", bad[i]);
		if (config_load(f->dir, &cfg, &msg) == KURA_OK)
			fail_msg("listen = '%s' accepted", bad[i]);
		assert_null(cfg);
		assert_non_null(msg);
		if (strstr(msg, "listen") == NULL || strstr(msg, ":3:") == NULL)
			fail_msg("message '%s' does not name listen on line 3", msg);
		free(msg);
	}
}

/* ---- file permissions ---- */

static void
load_refuses_group_or_other_accessible_file(void **state)
{
	static const mode_t modes[] = { 0640, 0604, 0660, 0644, 0606, 0610, 0601, 0666 };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_ini_mode(f, "[server]\nthreads = 1\n", modes[i]);
		expect_load_fails(f, KURA_EPERM, "group or others", NULL);
	}
	/* owner-only modes are fine, including read-only */
	write_ini_mode(f, "[server]\nthreads = 1\n", 0400);
	config_free(load_ok(f));
}

static void
load_refuses_symlinked_config(void **state)
{
	struct fixture *f = *state;
	char target[192];

	snprintf(target, sizeof(target), "%s/target.ini", f->dir);
	write_ini(f, "[server]\nthreads = 1\n");
	assert_int_equal(rename(f->ini, target), 0);
	assert_int_equal(symlink(target, f->ini), 0);
	expect_load_fails(f, KURA_EPERM, f->ini, NULL);
}

static void
load_missing_file_is_enoent_with_message(void **state)
{
	struct fixture *f = *state;

	expect_load_fails(f, KURA_ENOENT, f->ini, NULL);
}

static void
check_private_file_accepts_0600_and_explains_refusals(void **state)
{
	struct fixture *f = *state;
	char p[192], link[192];
	char *msg = NULL;
	int fd;

	snprintf(p, sizeof(p), "%s/kek", f->dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	assert_int_equal(config_check_private_file(p, &msg), KURA_OK);
	assert_null(msg);

	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(config_check_private_file(p, &msg), KURA_EPERM);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "group or others"));
	assert_non_null(strstr(msg, "chmod 600"));
	assert_non_null(strstr(msg, "0640"));
	free(msg);
	msg = NULL;

	assert_int_equal(chmod(p, 0604), 0);
	assert_int_equal(config_check_private_file(p, &msg), KURA_EPERM);
	assert_non_null(strstr(msg, "group or others"));
	free(msg);
	msg = NULL;
	assert_int_equal(chmod(p, 0600), 0);

	/* symlink to a good file is refused */
	snprintf(link, sizeof(link), "%s/link.ini", f->dir);
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(config_check_private_file(link, &msg), KURA_EPERM);
	assert_non_null(msg);
	free(msg);
	msg = NULL;

	/* a directory is not a regular file */
	snprintf(p, sizeof(p), "%s/sub", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(config_check_private_file(p, &msg), KURA_EPERM);
	assert_non_null(strstr(msg, "regular"));
	free(msg);
	msg = NULL;

	/* missing file */
	snprintf(p, sizeof(p), "%s/other", f->dir);
	assert_int_equal(config_check_private_file(p, &msg), KURA_ENOENT);
	assert_non_null(msg);
	free(msg);
}

static void
load_refuses_directory_named_kura_ini(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->ini, 0700), 0);
	expect_load_fails(f, KURA_EPERM, "regular", NULL);
}

/* "-" means "none" only for an optional path ([metrics] token_file); a
 * required path given as "-" is still a path under the data directory
 * (found by fuzz_config). */
static void
dash_is_none_only_for_optional_paths(void **state)
{
	struct fixture *f = *state;
	struct kura_config *cfg = NULL;
	char *msg = NULL;

	write_ini(f, "[store]\ndatabase = -\n[metrics]\ntoken_file = -\n");
	assert_int_equal(config_load(f->dir, &cfg, &msg), KURA_OK);
	assert_non_null(cfg);
	assert_true(cfg->database[0] == '/');
	assert_string_equal(cfg->metrics_token_file, "-");
	config_free(cfg);
	write_ini(f, "[metrics]\ntoken_file = metrics.token\n");
	assert_int_equal(config_load(f->dir, &cfg, &msg), KURA_OK);
	assert_true(cfg->metrics_token_file[0] == '/');
	config_free(cfg);
}


int
main(void)
{
	static const struct CMUnitTest config_tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(defaults_are_valid_and_equal_documented_values),
		T(defaults_for_missing_data_dir_is_enoent),
		T(write_default_creates_mode_0600_file_that_loads_unchanged),
		T(write_default_uncommented_loads_to_defaults),
		T(empty_file_loads_defaults),
		T(write_default_into_missing_dir_fails),
		T(every_numeric_setting_accepts_min_and_max),
		T(every_numeric_setting_rejects_min_minus_1_and_max_plus_1_naming_it),
		T(numeric_settings_reject_malformed_numbers),
		T(config_set_applies_same_validation_as_the_file),
		T(log_level_accepts_only_its_choices),
		T(relative_paths_resolve_under_data_dir_and_absolute_stay),
		T(path_settings_reject_empty_and_control_characters),
		T(overlong_line_is_never_truncated_silently),
		T(unknown_key_and_section_are_rejected_naming_them),
		T(dash_is_none_only_for_optional_paths),
		T(a_key_set_twice_is_rejected),
		T(malformed_lines_are_rejected_with_line_number),
		T(inline_comments_and_spacing_are_accepted),
		T(listen_list_parses_v4_and_v6),
		T(listen_list_accepts_eight_and_rejects_nine),
		T(listen_list_rejects_bad_forms),
		T(load_refuses_group_or_other_accessible_file),
		T(load_refuses_symlinked_config),
		T(load_missing_file_is_enoent_with_message),
		T(check_private_file_accepts_0600_and_explains_refusals),
		T(load_refuses_directory_named_kura_ini),
#undef T
	};

	return cmocka_run_group_tests_name("config", config_tests, NULL, NULL);
}
