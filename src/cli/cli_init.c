#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "audit/audit.h"
#include "http/tls.h"
#include "store/store.h"

/* True if dir exists and holds nothing but "." and "..". */
static bool
dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

static int
make_private_dir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (chmod(path, 0700) != 0) {
		cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * kura init --data-dir DIR: a new data directory with a documented
 * kura.ini, the KEK keyring, a self-signed certificate, and the migrated
 * database.  Refuses a directory that already has anything in it.
 */
int
cli_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kura_config *cfg = NULL;
	struct store *store = NULL;
	const char *dir = NULL;
	char *msg = NULL, *sub;
	struct kbuf path;
	int c, rc = CLI_FAIL;
	kura_err err;

	kbuf_init(&path, 8192);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: kura init --data-dir DIR\n");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		cli_err("usage: kura init --data-dir DIR");
		return CLI_USAGE;
	}
	umask(077);
	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST) {
			cli_err("%s: %s", dir, strerror(errno));
			goto out;
		}
		if (!dir_empty(dir)) {
			cli_err("%s: exists and is not empty; refusing to initialise it", dir);
			goto out;
		}
	}
	if (make_private_dir(dir) != 0)
		goto out;
	err = config_defaults(dir, &cfg);
	if (err) {
		cli_err("%s: %s", dir, kura_strerror(err));
		goto out;
	}
	err = config_write_default(cfg->config_path);
	if (err) {
		cli_err("%s: cannot write: %s", cfg->config_path, kura_strerror(err));
		goto out;
	}
	/* keys/ and tls/ hold secrets: private directories */
	for (int i = 0; i < 2; i++) {
		const char *file = i == 0 ? cfg->kek_file : cfg->tls_key;
		kbuf_reset(&path);
		if (kbuf_puts(&path, file) != KURA_OK)
			goto out;
		sub = strrchr(path.data, '/');
		if (sub != NULL) {
			*sub = '\0';
			if (make_private_dir(path.data) != 0)
				goto out;
		}
	}
	err = kcrypto_keyring_create(cfg->kek_file);
	if (err) {
		cli_err("%s: cannot create the keyring: %s", cfg->kek_file,
		    kura_strerror(err));
		goto out;
	}
	err = audit_key_create(cfg->audit_key);
	if (err) {
		cli_err("%s: cannot create the audit signing key: %s", cfg->audit_key,
		    kura_strerror(err));
		goto out;
	}
	err = tls_make_self_signed(cfg->tls_cert, cfg->tls_key, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		goto out;
	}
	err = store_open_sqlite(cfg->database, &store);
	if (err == KURA_OK)
		err = store_migrate(store);
	if (err) {
		cli_err("%s: cannot create the database: %s", cfg->database,
		    kura_strerror(err));
		goto out;
	}
	printf("initialised %s\n", cfg->data_dir);
	printf("  config       %s\n", cfg->config_path);
	printf("  keyring      %s (mode 0600; back it up separately from the data)\n",
	    cfg->kek_file);
	printf("  audit key    %s (mode 0600; signs audit checkpoints)\n",
	    cfg->audit_key);
	printf("  certificate  %s (self-signed for localhost; replace for production)\n",
	    cfg->tls_cert);
	printf("  database     %s\n", cfg->database);
	printf("next: kura tenant create --data-dir %s ..., then kura serve --data-dir %s\n",
	    dir, dir);
	rc = CLI_OK;
out:
	store_close(store);
	config_free(cfg);
	free(msg);
	kbuf_free(&path);
	return rc;
}
