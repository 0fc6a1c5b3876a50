#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "api/tenants.h"
#include "api/validate.h"
#include "auth/password.h"
#include "cli/cli.h"
#include "core/mem.h"
#include "core/parse.h"

static const char tenant_usage[] =
    "usage: kura tenant create --data-dir DIR --contract-id ID --name NAME --seats N\n"
    "                          --region REGION --timezone ZONE --admin-login LOGIN\n"
    "                          --admin-email EMAIL [--admin-password-file FILE]\n"
    "       kura tenant list --data-dir DIR [--json]\n"
    "       kura tenant show --data-dir DIR (ID|CONTRACT-ID) [--json]\n"
    "       kura tenant suspend|resume --data-dir DIR (ID|CONTRACT-ID)\n"
    "       kura tenant quota --data-dir DIR (ID|CONTRACT-ID) --max-bytes N --max-files N\n";

struct targs {
	const char *dir;
	struct tenant_new tn;
	const char *pw_file;
	const char *seats;
	const char *max_bytes;
	const char *max_files;
	int json;
};

static int
parse_args(int argc, char **argv, struct targs *a)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "contract-id", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "seats", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "timezone", required_argument, NULL, 't' },
		{ "admin-login", required_argument, NULL, 'l' },
		{ "admin-email", required_argument, NULL, 'e' },
		{ "admin-password-file", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-bytes", required_argument, NULL, 'B' },
		{ "max-files", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'c': a->tn.contract_id = optarg; break;
		case 'n': a->tn.name = optarg; break;
		case 's': a->seats = optarg; break;
		case 'r': a->tn.region = optarg; break;
		case 't': a->tn.timezone = optarg; break;
		case 'l': a->tn.admin_login = optarg; break;
		case 'e': a->tn.admin_email = optarg; break;
		case 'p': a->pw_file = optarg; break;
		case 'j': a->json = 1; break;
		case 'B': a->max_bytes = optarg; break;
		case 'F': a->max_files = optarg; break;
		case 'h': fputs(tenant_usage, stdout); return CLI_OK;
		default: fputs(tenant_usage, stderr); return CLI_USAGE;
		}
	}
	if (a->dir == NULL) {
		cli_err("--data-dir is required");
		return CLI_USAGE;
	}
	return -1;
}

static int
do_create(struct app *app, const struct kura_config *cfg, struct targs *a)
{
	char id[STORE_ID_MAX];
	char *pw = NULL, *onetime = NULL;
	const char *why;
	int lock, rc = CLI_FAIL;
	kura_err err;

	if (!a->tn.contract_id || !a->tn.name || !a->seats || !a->tn.region ||
	    !a->tn.timezone || !a->tn.admin_login || !a->tn.admin_email) {
		cli_err("create needs --contract-id, --name, --seats, --region, "
		    "--timezone, --admin-login and --admin-email");
		return CLI_USAGE;
	}
	if ((why = val_seats(a->seats, &a->tn.seats)) != NULL) {
		cli_err("%s", why);
		return CLI_USAGE;
	}
	if (a->pw_file != NULL) {
		pw = cli_read_secret_file(a->pw_file, AUTH_PW_MAX_LEN);
		if (pw == NULL)
			return CLI_FAIL;
		a->tn.admin_password = pw;
	}
	lock = cli_keylock(cfg, LOCK_SH);
	if (lock < 0)
		goto out;
	/* a rotation may have finished while we waited for the lock */
	err = app_reload_keyring(app);
	if (err == KURA_OK) {
		struct audit_rec rec;
		cli_audit_rec(&rec, "tenant.create", NULL, NULL);
		err = tenant_create(app, &a->tn, &rec, id, &onetime, &why);
		audit_rec_clear(&rec);
	}
	close(lock);
	if (err) {
		cli_err("cannot create the tenant: %s", why ? why : kura_strerror(err));
		goto out;
	}
	printf("created tenant %s (contract %s)\n", id, a->tn.contract_id);
	printf("tenant admin: %s\n", a->tn.admin_login);
	if (onetime != NULL)
		printf("one-time password: %s\n"
		    "(shown once, never stored in clear; the admin must change it at first sign-in)\n",
		    onetime);
	rc = CLI_OK;
out:
	kura_free_secret_str(pw);
	kura_free_secret_str(onetime);
	return rc;
}

static void
print_tenant(json_t *j)
{
	json_t *users = json_object_get(j, "users");
	size_t i;
	json_t *u;

	printf("id:          %s\n", json_string_value(json_object_get(j, "id")));
	printf("contract id: %s\n", json_string_value(json_object_get(j, "contract_id")));
	printf("name:        %s\n", json_string_value(json_object_get(j, "name")));
	printf("status:      %s\n", json_string_value(json_object_get(j, "status")));
	printf("seats:       %lld\n", (long long)json_integer_value(json_object_get(j, "seats")));
	printf("region:      %s\n", json_string_value(json_object_get(j, "region")));
	printf("time zone:   %s\n", json_string_value(json_object_get(j, "timezone")));
	{
		json_t *use = json_object_get(j, "usage");
		if (use != NULL)
			printf("storage:     %lld of %lld bytes, %lld of %lld files\n",
			    (long long)json_integer_value(json_object_get(use, "bytes")),
			    (long long)json_integer_value(json_object_get(use, "max_bytes")),
			    (long long)json_integer_value(json_object_get(use, "files")),
			    (long long)json_integer_value(json_object_get(use, "max_files")));
	}
	json_array_foreach(users, i, u) {
		printf("user:        %s %s <%s> %s [%s]\n",
		    json_string_value(json_object_get(u, "id")),
		    json_string_value(json_object_get(u, "login_id")),
		    json_string_value(json_object_get(u, "email")),
		    json_string_value(json_object_get(u, "status")),
		    json_string_value(json_object_get(u, "roles")));
	}
}

static int
do_list(struct app *app, struct targs *a)
{
	struct store_tenant *list = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	kura_err err;
	int rc = CLI_FAIL;

	err = store_tenant_list(app->store, &list, &n);
	if (err) {
		cli_err("cannot list tenants: %s", kura_strerror(err));
		goto out;
	}
	if (!a->json)
		printf("%-36s  %-20s  %-10s  %6s  %-8s  %s\n", "ID", "CONTRACT",
		    "STATUS", "SEATS", "REGION", "NAME");
	for (size_t i = 0; i < n; i++) {
		json_t *j = NULL;
		err = tenant_to_json(app, &list[i], 0, &j);
		if (err) {
			cli_err("tenant %s: %s", list[i].id, kura_strerror(err));
			goto out;
		}
		/* each tenant's log shows the operator read its name (TEN-3) */
		if (cli_audit(app, "tenant.list", list[i].id, list[i].id,
		    "success") != KURA_OK) {
			json_decref(j);
			goto out;
		}
		if (a->json) {
			json_array_append_new(arr, j);
			continue;
		}
		printf("%-36s  %-20s  %-10s  %6u  %-8s  %s\n", list[i].id,
		    list[i].contract_id, list[i].status, list[i].seats,
		    list[i].region, json_string_value(json_object_get(j, "name")));
		json_decref(j);
	}
	if (a->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = CLI_OK;
out:
	json_decref(arr);
	store_tenant_list_free(list, n);
	return rc;
}

static int
do_show_or_status(struct app *app, struct targs *a, const char *verb,
    const char *target)
{
	struct store_tenant *t = NULL;
	json_t *j = NULL;
	kura_err err;
	int rc = CLI_FAIL;

	err = tenant_find(app, target, &t);
	if (err) {
		cli_err("tenant %s: %s", target, kura_strerror(err));
		return CLI_FAIL;
	}
	if (strcmp(verb, "show") != 0) {
		const char *from = strcmp(verb, "suspend") == 0 ? "active" : "suspended";
		const char *to = strcmp(verb, "suspend") == 0 ? "suspended" : "active";
		if (strcmp(t->status, from) != 0) {
			cli_err("tenant %s is %s; only a %s tenant can be %sd", t->id,
			    t->status, from, verb);
			goto out;
		}
		{
			/* the change and its audit record in one transaction */
			struct store_audit row;
			struct audit_rec rec;
			memset(&row, 0, sizeof(row));
			cli_audit_rec(&rec, strcmp(verb, "suspend") == 0 ?
			    "tenant.suspend" : "tenant.resume", t->id, t->id);
			err = store_begin(app->store);
			if (err == KURA_OK)
				err = store_tenant_set_status(app->store, t->id, to);
			if (err == KURA_OK)
				err = audit_append_tx(app->store, &rec, &row);
			if (err == KURA_OK)
				err = store_commit(app->store);
			if (err)
				(void)store_rollback(app->store);
			else
				audit_notify(&row);
			audit_rec_clear(&rec);
			store_audit_clear(&row);
		}
		if (err) {
			cli_err("tenant %s: %s", t->id, kura_strerror(err));
			goto out;
		}
		printf("tenant %s is now %s\n", t->id, to);
		rc = CLI_OK;
		goto out;
	}
	err = tenant_to_json(app, t, 1, &j);
	if (err) {
		cli_err("tenant %s: %s", t->id, kura_strerror(err));
		goto out;
	}
	/* the operator is about to read customer content (names, e-mail
	 * addresses): the tenant's own audit log says so (TEN-3), and nothing
	 * is shown if that record cannot be written */
	if (cli_audit(app, "tenant.read", t->id, t->id, "success") != KURA_OK)
		goto out;
	if (a->json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_tenant(j);
	}
	rc = CLI_OK;
out:
	json_decref(j);
	store_tenant_free(t);
	return rc;
}

/*
 * kura tenant quota: set the tenant's storage quota (bytes of every kept
 * file version, number of files).  Below current usage is allowed: new
 * uploads are then refused until enough is deleted.  The change and its
 * audit record (tenant.quota, in the tenant's log) commit together.
 */
static int
do_quota(struct app *app, struct targs *a, const char *target)
{
	struct store_tenant *t = NULL;
	struct store_audit row;
	struct audit_rec rec;
	uint64_t max_bytes, max_files;
	kura_err err;

	if (a->max_bytes == NULL || a->max_files == NULL) {
		cli_err("quota needs --max-bytes and --max-files");
		return CLI_USAGE;
	}
	/* the store keeps them as signed 64-bit numbers */
	if (kura_parse_u64(a->max_bytes, 0, INT64_MAX, &max_bytes) != KURA_OK ||
	    kura_parse_u64(a->max_files, 0, INT64_MAX, &max_files) != KURA_OK) {
		cli_err("--max-bytes and --max-files must be whole numbers (bytes, files)");
		return CLI_USAGE;
	}
	err = tenant_find(app, target, &t);
	if (err) {
		cli_err("tenant %s: %s", target, kura_strerror(err));
		return CLI_FAIL;
	}
	memset(&row, 0, sizeof(row));
	cli_audit_rec(&rec, "tenant.quota", t->id, t->id);
	if (rec.detail != NULL) {
		json_object_set_new(rec.detail, "max_bytes", json_integer((json_int_t)max_bytes));
		json_object_set_new(rec.detail, "max_files", json_integer((json_int_t)max_files));
	}
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_quota_set(app->store, t->id, max_bytes, max_files);
	if (err == KURA_OK)
		err = audit_append_tx(app->store, &rec, &row);
	if (err == KURA_OK)
		err = store_commit(app->store);
	if (err)
		(void)store_rollback(app->store);
	else
		audit_notify(&row);
	audit_rec_clear(&rec);
	store_audit_clear(&row);
	if (err) {
		cli_err("tenant %s: %s", t->id, kura_strerror(err));
		store_tenant_free(t);
		return CLI_FAIL;
	}
	printf("tenant %s quota: %llu bytes, %llu files\n", t->id,
	    (unsigned long long)max_bytes, (unsigned long long)max_files);
	store_tenant_free(t);
	return CLI_OK;
}

int
cli_tenant(int argc, char **argv)
{
	struct kura_config *cfg = NULL;
	struct targs a;
	struct app app;
	const char *verb;
	int rc;

	if (argc < 2) {
		fputs(tenant_usage, stderr);
		return CLI_USAGE;
	}
	verb = argv[1];
	rc = parse_args(argc - 1, argv + 1, &a);
	if (rc >= 0)
		return rc;
	argc -= 1;
	argv += 1;
	if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "show") != 0 && strcmp(verb, "suspend") != 0 &&
	    strcmp(verb, "resume") != 0 && strcmp(verb, "quota") != 0) {
		cli_err("unknown tenant command '%s'", verb);
		fputs(tenant_usage, stderr);
		return CLI_USAGE;
	}
	if ((strcmp(verb, "create") == 0 || strcmp(verb, "list") == 0) ?
	    optind != argc : optind != argc - 1) {
		fputs(tenant_usage, stderr);
		return CLI_USAGE;
	}
	if (cli_open(a.dir, &cfg, &app) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(verb, "create") == 0)
		rc = do_create(&app, cfg, &a);
	else if (strcmp(verb, "list") == 0)
		rc = do_list(&app, &a);
	else if (strcmp(verb, "quota") == 0)
		rc = do_quota(&app, &a, argv[optind]);
	else
		rc = do_show_or_status(&app, &a, verb, argv[optind]);
	cli_close(cfg, &app);
	return rc;
}
