#include <getopt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "http/http.h"
#include "http/tls.h"

struct checker {
	int failed;
};

static void
report(struct checker *ck, bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct checker *ck, bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%-4s  %-12s ", ok ? "ok" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		ck->failed++;
}

static void
check_dir(struct checker *ck, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		report(ck, false, "data-dir", "%s is not a directory", dir);
		return;
	}
	report(ck, st.st_uid == geteuid() && (st.st_mode & 077) == 0, "data-dir",
	    "%s mode %04o owner uid %u (want 0700, uid %u)", dir,
	    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
	    (unsigned)geteuid());
}

static void
check_tls_policy(struct checker *ck)
{
	gnutls_priority_t prio;
	const unsigned *list;
	const char *errpos = NULL;
	bool ok = true;
	int n;

	if (gnutls_priority_init(&prio, http_tls_priorities, &errpos) < 0) {
		report(ck, false, "tls-policy", "priority string rejected near '%s'",
		    errpos ? errpos : "?");
		return;
	}
	n = gnutls_priority_protocol_list(prio, &list);
	for (int i = 0; i < n; i++)
		if (list[i] != GNUTLS_TLS1_2 && list[i] != GNUTLS_TLS1_3)
			ok = false;
	n = gnutls_priority_cipher_list(prio, &list);
	for (int i = 0; i < n; i++)
		if (list[i] != GNUTLS_CIPHER_AES_256_GCM &&
		    list[i] != GNUTLS_CIPHER_AES_128_GCM &&
		    list[i] != GNUTLS_CIPHER_CHACHA20_POLY1305)
			ok = false;
	n = gnutls_priority_kx_list(prio, &list);
	for (int i = 0; i < n; i++)
		if (list[i] != GNUTLS_KX_ECDHE_ECDSA && list[i] != GNUTLS_KX_ECDHE_RSA)
			ok = false;
	gnutls_priority_deinit(prio);
	report(ck, ok, "tls-policy", "%s", ok ?
	    "TLS 1.2/1.3, ECDHE, AES-GCM/ChaCha20-Poly1305 only" :
	    "the TLS policy allows a protocol, cipher or key exchange it should not");
}

static void
check_cert(struct checker *ck, const struct kura_config *cfg)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	char *msg = NULL;
	time_t exp, now = time(NULL);

	if (tls_load(cfg->tls_cert, cfg->tls_key, &msg) != KURA_OK) {
		report(ck, false, "tls-cert", "%s", msg ? msg : "cannot load");
		free(msg);
		return;
	}
	tls_free_all();
	if (gnutls_load_file(cfg->tls_cert, &pem) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0) {
		report(ck, false, "tls-cert", "%s: cannot parse", cfg->tls_cert);
		goto out;
	}
	exp = gnutls_x509_crt_get_expiration_time(crt);
	if (exp < now)
		report(ck, false, "tls-cert", "%s expired", cfg->tls_cert);
	else
		report(ck, true, "tls-cert", "%s matches its key, %s mode 0600, "
		    "expires in %ld days%s", cfg->tls_cert, cfg->tls_key,
		    (long)((exp - now) / 86400),
		    exp - now < 30 * 86400 ? " (renew soon)" : "");
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(pem.data);
}

static void
check_keys(struct checker *ck, struct app *app)
{
	struct store_tenant_key *rows = NULL;
	size_t n = 0, bad = 0;

	report(ck, true, "keyring", "%s mode 0600, %zu KEK version(s), current v%u",
	    app->cfg->kek_file, kcrypto_keyring_count(app->keyring),
	    kcrypto_keyring_current(app->keyring));
	if (store_tkey_list_all(app->store, &rows, &n) != KURA_OK) {
		report(ck, false, "tenant-keys", "cannot read tenant keys");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct kcrypto_tkey *k = NULL;
		if (kcrypto_tkey_unwrap(app->keyring, rows[i].tenant_id,
		    rows[i].version, rows[i].kek_version, rows[i].wrapped.data,
		    rows[i].wrapped.len, &k) != KURA_OK) {
			bad++;
			printf("      tenant %s key v%u (KEK v%u) does not unwrap\n",
			    rows[i].tenant_id, rows[i].version, rows[i].kek_version);
		}
		kcrypto_tkey_free(k);
	}
	report(ck, bad == 0, "tenant-keys", "%zu of %zu tenant key(s) unwrap",
	    n - bad, n);
	store_tkey_list_free(rows, n);
}

static void
check_db(struct checker *ck, struct app *app)
{
	char *detail = NULL;
	int cur = 0, newest = 0;

	if (store_schema_version(app->store, &cur, &newest) != KURA_OK)
		report(ck, false, "schema", "cannot read the schema version");
	else
		report(ck, cur == newest, "schema", "version %d (this binary: %d)",
		    cur, newest);
	if (store_integrity_check(app->store, &detail) != KURA_OK)
		report(ck, false, "database", "%s: %s", app->cfg->database,
		    detail ? detail : "integrity check failed");
	else
		report(ck, true, "database", "%s integrity ok", app->cfg->database);
	free(detail);
}

/* kura check --data-dir DIR: one line per check; exit 1 if any failed. */
int
cli_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct checker ck = { 0 };
	struct kura_config *cfg = NULL;
	struct app app;
	const char *dir = NULL;
	char *msg = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else if (c == 'h') {
			printf("usage: kura check --data-dir DIR\n");
			return CLI_OK;
		} else {
			return CLI_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		cli_err("usage: kura check --data-dir DIR");
		return CLI_USAGE;
	}
	check_dir(&ck, dir);
	if (config_load(dir, &cfg, &msg) != KURA_OK) {
		report(&ck, false, "config", "%s", msg ? msg : "cannot load");
		free(msg);
		goto out;
	}
	report(&ck, true, "config", "%s mode 0600, all settings valid",
	    cfg->config_path);
	check_tls_policy(&ck);
	check_cert(&ck, cfg);
	if (app_init(&app, cfg, false, &msg) != KURA_OK) {
		report(&ck, false, "keys+db", "%s", msg ? msg : "cannot open");
		free(msg);
		goto out;
	}
	check_keys(&ck, &app);
	{
		char *amsg = NULL;
		kura_err ae;
		/* a check never creates keys: only look */
		if (access(cfg->audit_key, F_OK) != 0)
			report(&ck, false, "audit-key", "%s is missing", cfg->audit_key);
		else if ((ae = audit_key_ensure(app.store, cfg->audit_key, &amsg)) != KURA_OK)
			report(&ck, false, "audit-key", "%s", amsg ? amsg : kura_strerror(ae));
		else
			report(&ck, true, "audit-key", "%s mode 0600, matches the newest "
			    "checkpoint", cfg->audit_key);
		free(amsg);
	}
	check_db(&ck, &app);
	app_fini(&app);
out:
	config_free(cfg);
	printf("%s: %d check(s) failed\n", ck.failed ? "FAILED" : "OK", ck.failed);
	return ck.failed ? CLI_FAIL : CLI_OK;
}
