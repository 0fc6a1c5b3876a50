#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

static const char audit_usage[] =
    "usage: kura audit verify --data-dir DIR [--tenant ID]\n"
    "       kura audit verify --file EXPORT --public-key KEY\n"
    "       kura audit checkpoint --data-dir DIR\n"
    "       kura audit public-key --data-dir DIR\n"
    "       kura audit export --data-dir DIR [--tenant ID]   (JSON lines on stdout)\n"
    "       kura audit expire --data-dir DIR   (remove records past [audit] retention_days)\n";

static int
report(const struct audit_verify_result *r)
{
	if (r->ok) {
		printf("audit log verified: %llu record(s), %llu signed "
		    "checkpoint(s)/anchor(s); no change, deletion, insertion or "
		    "reordering found\n", (unsigned long long)r->records,
		    (unsigned long long)r->checkpoints);
		return CLI_OK;
	}
	printf("AUDIT LOG VERIFICATION FAILED: %s\n", r->reason);
	if (r->bad_seq > 0)
		printf("first bad record: seq %lld, id %s\n", (long long)r->bad_seq,
		    r->bad_id[0] ? r->bad_id : "?");
	return CLI_FAIL;
}

static kura_err
write_stdout(void *arg, const char *line, size_t len)
{
	(void)arg;
	return fwrite(line, 1, len, stdout) == len ? KURA_OK : KURA_EIO;
}

/*
 * kura audit expire: what the housekeeping round does for retention
 * (LOG-3), on demand: records older than [audit] retention_days before
 * now go as a whole prefix, leaving signed anchors so the rest still
 * verifies.  The run is itself audited, after the removal, so its record
 * is never the one removed.
 */
static int
expire(struct app *app, const struct kura_config *cfg)
{
	int64_t now = kura_now_us();
	int64_t keep_us = (int64_t)cfg->audit_retention_days * 86400 * 1000000;
	struct audit_rec rec;
	size_t n = 0;
	kura_err err;

	err = audit_expire(app->store, cfg->audit_key, now - keep_us, &n);
	if (err) {
		cli_err("expiry failed: %s", kura_strerror(err));
		(void)cli_audit(app, "audit.expire", NULL, NULL, "failure");
		return CLI_FAIL;
	}
	printf("%zu audit record(s) older than %llu day(s) removed\n", n,
	    (unsigned long long)cfg->audit_retention_days);
	cli_audit_rec(&rec, "audit.expire", NULL, NULL);
	json_object_set_new(rec.detail, "removed", json_integer((json_int_t)n));
	json_object_set_new(rec.detail, "retention_days",
	    json_integer((json_int_t)cfg->audit_retention_days));
	err = audit_append(app->store, &rec);
	audit_rec_clear(&rec);
	if (err) {
		cli_err("cannot write the audit record for audit.expire: %s",
		    kura_strerror(err));
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* kura audit ...: verify the log (LOG-2), seal it, show the public key,
 * export it.  Verification of the store is itself an audited operator
 * action. */
int
cli_audit_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "tenant", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *tenant = NULL, *file = NULL, *pk = NULL, *verb;
	struct audit_verify_result res;
	struct kura_config *cfg = NULL;
	struct app app;
	char pub[64];
	int c, rc = CLI_FAIL;
	kura_err err;

	if (argc < 2) {
		fputs(audit_usage, stderr);
		return CLI_USAGE;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': tenant = optarg; break;
		case 'f': file = optarg; break;
		case 'k': pk = optarg; break;
		case 'h': fputs(audit_usage, stdout); return CLI_OK;
		default: fputs(audit_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fputs(audit_usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(verb, "verify") == 0 && file != NULL) {
		/* offline: needs nothing but the file and the public key */
		if (pk == NULL || dir != NULL) {
			cli_err("verify --file needs --public-key (and no --data-dir)");
			return CLI_USAGE;
		}
		err = audit_verify_file(file, pk, &res);
		if (err) {
			cli_err("%s: %s", file, err == KURA_EINVAL ?
			    "the public key is not valid base64 Ed25519" :
			    kura_strerror(err));
			return CLI_FAIL;
		}
		return report(&res);
	}
	if (dir == NULL) {
		cli_err("--data-dir is required");
		return CLI_USAGE;
	}
	if (strcmp(verb, "verify") != 0 && strcmp(verb, "checkpoint") != 0 &&
	    strcmp(verb, "public-key") != 0 && strcmp(verb, "export") != 0 &&
	    strcmp(verb, "expire") != 0) {
		cli_err("unknown audit command '%s'", verb);
		return CLI_USAGE;
	}
	if (cli_open(dir, &cfg, &app) != CLI_OK)
		return CLI_FAIL;
	{
		char *msg = NULL;
		err = audit_key_ensure(app.store, cfg->audit_key, &msg);
		if (err) {
			cli_err("%s", msg ? msg : kura_strerror(err));
			free(msg);
			goto out;
		}
	}
	err = audit_public_key(cfg->audit_key, pub);
	if (err) {
		cli_err("%s: %s", cfg->audit_key, kura_strerror(err));
		goto out;
	}
	if (strcmp(verb, "public-key") == 0) {
		printf("%s\n", pub);
		rc = CLI_OK;
	} else if (strcmp(verb, "checkpoint") == 0) {
		size_t n = 0;
		err = audit_checkpoint(app.store, cfg->audit_key, &n);
		if (err) {
			cli_err("checkpoint failed: %s", kura_strerror(err));
			goto out;
		}
		printf("%zu checkpoint(s) signed\n", n);
		rc = cli_audit(&app, "audit.checkpoint", NULL, NULL, "success") ?
		    CLI_FAIL : CLI_OK;
	} else if (strcmp(verb, "expire") == 0) {
		rc = expire(&app, cfg);
	} else if (strcmp(verb, "export") == 0) {
		err = audit_export(app.store, tenant, pub, write_stdout, NULL);
		if (err) {
			cli_err("export failed: %s", kura_strerror(err));
			goto out;
		}
		rc = cli_audit(&app, "audit.export", tenant, tenant, "success") ?
		    CLI_FAIL : CLI_OK;
	} else {
		err = audit_verify_store(app.store, tenant, pub, &res);
		if (err) {
			cli_err("verification could not run: %s", kura_strerror(err));
			goto out;
		}
		rc = report(&res);
		(void)cli_audit(&app, "audit.verify", tenant, tenant,
		    res.ok ? "success" : "failure");
	}
out:
	cli_close(cfg, &app);
	return rc;
}
