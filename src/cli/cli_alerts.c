/*
 * kura alerts: the operator's cross-tenant view of alerts (LOG-6), newest
 * first.  Before listing it evaluates audit records of operator commands
 * not yet seen (e.g. a failed `kura audit verify`), so it is current even
 * when no server runs.  The listing itself is an audited operator action.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "cli/cli.h"

static const char alerts_usage[] =
    "usage: kura alerts --data-dir DIR [--tenant ID] [--unacked] [--json]\n"
    "  --tenant ID   only this tenant's alerts (\"-\": operator-wide only)\n"
    "  --unacked     only alerts not acknowledged yet\n"
    "  --json        a JSON array instead of a table\n";

/* "2026-11-21T09:00:00Z" (UTC) for a microsecond time. */
static void
utc(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	if (us <= 0 || gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static json_t *
alert_json(const struct store_alert *al)
{
	char created[32], acked[32];

	utc(al->created_us, created, sizeof(created));
	utc(al->acked_us, acked, sizeof(acked));
	return json_pack("{s:s,s:s?,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}",
	    "id", al->id, "tenant_id", al->tenant_id[0] ? al->tenant_id : NULL,
	    "rule", al->rule, "severity", al->severity, "summary", al->summary,
	    "event_seq", (json_int_t)al->event_seq, "event_id", al->event_id,
	    "actor_id", al->actor_id, "source_ip", al->source_ip,
	    "created", created, "acked", al->acked_us != 0,
	    "acked_at", al->acked_us != 0 ? acked : NULL,
	    "acked_by", al->acked_by[0] ? al->acked_by : NULL);
}

/* Print the alerts as a JSON array or a table; false on a write error. */
static bool
print_alerts(const struct store_alert *list, size_t n, bool as_json)
{
	char created[32];
	json_t *arr, *item;
	bool ok = true;
	size_t i;

	if (as_json) {
		if ((arr = json_array()) == NULL)
			return false;
		for (i = 0; i < n && ok; i++)
			ok = (item = alert_json(&list[i])) != NULL &&
			    json_array_append_new(arr, item) == 0;
		if (ok)
			ok = json_dumpf(arr, stdout, JSON_INDENT(2)) == 0 &&
			    fputc('\n', stdout) != EOF;
		json_decref(arr);
		return ok;
	}
	printf("%-20s  %-8s  %-36s  %-22s  %-5s  %s\n", "CREATED (UTC)",
	    "SEVERITY", "TENANT", "RULE", "ACKED", "SUMMARY");
	for (i = 0; i < n; i++) {
		utc(list[i].created_us, created, sizeof(created));
		printf("%-20s  %-8s  %-36s  %-22s  %-5s  %s\n", created,
		    list[i].severity, list[i].tenant_id[0] ? list[i].tenant_id :
		    "(operator)", list[i].rule, list[i].acked_us ? "yes" : "no",
		    list[i].summary);
	}
	printf("%zu alert(s)\n", n);
	return true;
}

int
cli_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "tenant", required_argument, NULL, 't' },
		{ "unacked", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *tenant = NULL;
	struct store_alert_filter f;
	struct store_alert *list = NULL;
	struct kura_config *cfg = NULL;
	struct app app;
	bool unacked = false, as_json = false;
	size_t n = 0;
	int c, rc = CLI_FAIL;
	kura_err err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': tenant = optarg; break;
		case 'u': unacked = true; break;
		case 'j': as_json = true; break;
		case 'h': fputs(alerts_usage, stdout); return CLI_OK;
		default: fputs(alerts_usage, stderr); return CLI_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		fputs(alerts_usage, stderr);
		return CLI_USAGE;
	}
	if (tenant != NULL && strcmp(tenant, "-") != 0 &&
	    !kcrypto_id_valid(tenant, "ten")) {
		cli_err("--tenant: not a tenant id (ten_...)");
		return CLI_USAGE;
	}
	if (cli_open(dir, &cfg, &app) != CLI_OK)
		return CLI_FAIL;
	if ((err = alerts_catch_up(app.store, NULL)) != KURA_OK)
		cli_err("warning: operator records not evaluated: %s",
		    kura_strerror(err));
	memset(&f, 0, sizeof(f));
	f.acked = unacked ? 0 : -1;
	f.tenant_id = tenant == NULL ? NULL : strcmp(tenant, "-") == 0 ? "" :
	    tenant;
	f.limit = STORE_ALERT_PAGE_MAX;
	err = store_alert_list_all(app.store, &f, &list, &n);
	if (err) {
		cli_err("cannot list alerts: %s", kura_strerror(err));
		(void)cli_audit(&app, "alert.list", f.tenant_id && *f.tenant_id ?
		    f.tenant_id : NULL, NULL, "failure");
		goto out;
	}
	if (!print_alerts(list, n, as_json)) {
		cli_err("cannot write the list");
		goto out;
	}
	if (n == STORE_ALERT_PAGE_MAX)
		cli_err("showing the newest %d alerts only", STORE_ALERT_PAGE_MAX);
	rc = cli_audit(&app, "alert.list", f.tenant_id && *f.tenant_id ?
	    f.tenant_id : NULL, NULL, "success") ? CLI_FAIL : CLI_OK;
out:
	free(list);
	cli_close(cfg, &app);
	return rc;
}
