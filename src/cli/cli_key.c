#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "api/tenants.h"
#include "cli/cli.h"
#include "core/log.h"

static const char key_usage[] =
    "usage: kura key list --data-dir DIR\n"
    "       kura key rotate-kek --data-dir DIR\n"
    "       kura key rotate-tenant --data-dir DIR (ID|CONTRACT-ID)\n";

/* Print KEK versions and how many tenant keys each one wraps. */
static int
do_list(struct app *app)
{
	struct store_tenant_key *rows = NULL;
	size_t n = 0, nv;
	kura_err err;

	err = store_tkey_list_all(app->store, &rows, &n);
	if (err) {
		cli_err("cannot read tenant keys: %s", kura_strerror(err));
		return CLI_FAIL;
	}
	nv = kcrypto_keyring_count(app->keyring);
	printf("%-8s  %-16s  %-8s  %s\n", "KEK", "FINGERPRINT", "CURRENT", "TENANT KEYS");
	for (size_t i = 0; i < nv; i++) {
		uint32_t v = kcrypto_keyring_version_at(app->keyring, i);
		char fp[17] = "?";
		size_t uses = 0;
		(void)kcrypto_keyring_fingerprint(app->keyring, v, fp);
		for (size_t k = 0; k < n; k++)
			uses += rows[k].kek_version == v;
		printf("%-8u  %-16s  %-8s  %zu\n", v, fp,
		    v == kcrypto_keyring_current(app->keyring) ? "yes" : "",
		    uses);
	}
	store_tkey_list_free(rows, n);
	return CLI_OK;
}

/*
 * Add a KEK version, re-wrap every tenant key under it (each a
 * compare-and-set, so a running server is never handed a half-written
 * key), then retire the versions no tenant key uses any more.  Runs under
 * the exclusive key lock so no tenant key is created meanwhile under a
 * version about to be retired.  A running `kura serve` keeps its unwrapped
 * keys and reloads the keyring when it meets a version it does not hold.
 */
static int
do_rotate_kek(struct app *app, const struct kura_config *cfg)
{
	struct store_tenant_key *rows = NULL;
	struct kcrypto_keyring *kr = NULL;
	uint32_t *in_use = NULL, newv = 0;
	size_t n = 0, n_use = 0, removed = 0, done = 0;
	int lock, rc = CLI_FAIL;
	kura_err err;

	lock = cli_keylock(cfg, LOCK_EX);
	if (lock < 0)
		return CLI_FAIL;
	err = kcrypto_keyring_add_version(cfg->kek_file, &newv);
	if (err == KURA_OK)
		err = kcrypto_keyring_load(cfg->kek_file, &kr);
	if (err) {
		cli_err("%s: cannot add a KEK version: %s", cfg->kek_file,
		    kura_strerror(err));
		goto out;
	}
	err = store_tkey_list_all(app->store, &rows, &n);
	if (err) {
		cli_err("cannot read tenant keys: %s", kura_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct kcrypto_tkey *k = NULL;
		uint8_t *blob = NULL;
		size_t blen = 0;
		uint32_t kv = 0;

		if (rows[i].kek_version == newv)
			continue;
		err = kcrypto_tkey_unwrap(kr, rows[i].tenant_id, rows[i].version,
		    rows[i].kek_version, rows[i].wrapped.data, rows[i].wrapped.len, &k);
		if (err == KURA_OK)
			err = kcrypto_tkey_wrap(kr, rows[i].tenant_id, k, &kv, &blob, &blen);
		if (err == KURA_OK)
			err = store_tkey_rewrap(app->store, rows[i].tenant_id,
			    rows[i].version, rows[i].kek_version, kv, blob, blen);
		kcrypto_tkey_free(k);
		free(blob);
		if (err) {
			cli_err("tenant %s key v%u: %s; the old KEK versions stay "
			    "until a later rotate-kek succeeds", rows[i].tenant_id,
			    rows[i].version, kura_strerror(err));
			goto out;
		}
		done++;
	}
	err = store_tkey_kek_versions(app->store, &in_use, &n_use);
	if (err == KURA_OK)
		err = kcrypto_keyring_retire(cfg->kek_file, in_use, n_use, &removed);
	if (err) {
		cli_err("cannot retire old KEK versions: %s", kura_strerror(err));
		goto out;
	}
	if (cli_audit(app, "key.rotate_kek", NULL, NULL, "success") != KURA_OK)
		goto out;
	printf("KEK version %u is current; %zu tenant key(s) re-wrapped; "
	    "%zu old version(s) retired\n", newv, done, removed);
	rc = CLI_OK;
out:
	free(in_use);
	store_tkey_list_free(rows, n);
	kcrypto_keyring_free(kr);
	close(lock);
	return rc;
}

/* New data-key version for one tenant: new content is sealed with it,
 * older content stays readable with the older versions. */
static int
do_rotate_tenant(struct app *app, const struct kura_config *cfg,
    const char *target)
{
	struct store_tenant *t = NULL;
	struct kcrypto_tkeys *keys = NULL;
	struct kcrypto_tkey *next = NULL;
	struct store_tenant_key row;
	struct store_tctx ctx;
	int lock = -1, rc = CLI_FAIL;
	kura_err err;

	memset(&row, 0, sizeof(row));
	err = tenant_find(app, target, &t);
	if (err) {
		cli_err("tenant %s: %s", target, kura_strerror(err));
		return CLI_FAIL;
	}
	lock = cli_keylock(cfg, LOCK_SH);
	if (lock < 0)
		goto out;
	snprintf(ctx.tenant_id, sizeof(ctx.tenant_id), "%s", t->id);
	/* a rotation may have finished while we waited for the lock */
	err = app_reload_keyring(app);
	if (err == KURA_OK)
		err = app_tenant_keys(app, &ctx, &keys);
	if (err == KURA_OK)
		err = kcrypto_tkey_rotate(kcrypto_tkeys_newest(keys), &next);
	if (err == KURA_OK) {
		pthread_rwlock_rdlock(&app->kr_lock);
		err = kcrypto_tkey_wrap(app->keyring, t->id, next, &row.kek_version,
		    &row.wrapped.data, &row.wrapped.len);
		pthread_rwlock_unlock(&app->kr_lock);
	}
	if (err == KURA_OK) {
		snprintf(row.tenant_id, sizeof(row.tenant_id), "%s", t->id);
		row.version = kcrypto_tkey_version(next);
		row.created_us = kura_now_us();
		err = store_tkey_insert(app->store, &row);
	}
	if (err) {
		cli_err("tenant %s: cannot rotate its key: %s", t->id,
		    kura_strerror(err));
		goto out;
	}
	if (cli_audit(app, "key.rotate_tenant", t->id, t->id, "success") != KURA_OK)
		goto out;
	printf("tenant %s: data key version %u is current\n", t->id, row.version);
	rc = CLI_OK;
out:
	if (lock >= 0)
		close(lock);
	free(row.wrapped.data);
	kcrypto_tkey_free(next);
	kcrypto_tkeys_free(keys);
	store_tenant_free(t);
	return rc;
}

int
cli_key(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kura_config *cfg = NULL;
	struct app app;
	const char *dir = NULL, *verb;
	int c, rc;

	if (argc < 2) {
		fputs(key_usage, stderr);
		return CLI_USAGE;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else if (c == 'h') {
			fputs(key_usage, stdout);
			return CLI_OK;
		} else {
			fputs(key_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (dir == NULL) {
		cli_err("--data-dir is required");
		return CLI_USAGE;
	}
	if (strcmp(verb, "rotate-tenant") == 0 ? optind != argc - 1 : optind != argc) {
		fputs(key_usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(verb, "list") != 0 && strcmp(verb, "rotate-kek") != 0 &&
	    strcmp(verb, "rotate-tenant") != 0) {
		cli_err("unknown key command '%s'", verb);
		return CLI_USAGE;
	}
	if (cli_open(dir, &cfg, &app) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(verb, "list") == 0)
		rc = do_list(&app);
	else if (strcmp(verb, "rotate-kek") == 0)
		rc = do_rotate_kek(&app, cfg);
	else
		rc = do_rotate_tenant(&app, cfg, argv[optind]);
	cli_close(cfg, &app);
	return rc;
}
