/*
 * kura: a secure multi-tenant server for AI cloud services.
 * One binary; the first argument picks the subcommand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/kcrypto.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "init", cli_init, "init --data-dir DIR            create a data directory" },
	{ "serve", cli_serve, "serve --data-dir DIR [--listen ADDR:PORT]...  run the HTTPS server" },
	{ "tenant", cli_tenant, "tenant create|list|show|suspend|resume|quota ...  manage tenants" },
	{ "key", cli_key, "key list|rotate-kek|rotate-tenant ...   manage keys" },
	{ "audit", cli_audit_cmd, "audit verify|checkpoint|public-key|export|expire ...  the audit trail" },
	{ "alerts", cli_alerts, "alerts --data-dir DIR [--tenant ID] [--unacked] [--json]  alerts of every tenant" },
	{ "check", cli_check, "check --data-dir DIR           self-check files, TLS, keys, database" },
};

/*
 * serve runs with a larger per-thread malloc cache.  A request allocates
 * and frees many small objects (JSON, rows, records); glibc's per-thread
 * cache keeps 7 chunks of a size, the rest goes through its slower bins
 * and their consolidation.  256 took 4-6 us of CPU off an authenticated
 * read in interleaved runs (docs/performance.md, run 8).  glibc reads the
 * setting only from GLIBC_TUNABLES when a program starts, so serve runs
 * itself again once, at once, with it added (KURA_TUNED marks the second
 * start and is removed there).  An operator's own tcache_count is kept.
 * If the program cannot be run again (no /proc), serve goes on as it is.
 */
#define SERVE_TUNABLE "glibc.malloc.tcache_count=256"

static void
serve_tunables(char **argv)
{
	const char *cur = getenv("GLIBC_TUNABLES");
	char *old = NULL, *val = NULL;
	size_t n;

	if (getenv("KURA_TUNED") != NULL) {
		(void)unsetenv("KURA_TUNED");
		return;
	}
	if (cur != NULL && strstr(cur, "glibc.malloc.tcache_count=") != NULL)
		return;
	if (cur != NULL && (old = strdup(cur)) == NULL)
		return;
	n = (old != NULL ? strlen(old) + 1 : 0) + sizeof(SERVE_TUNABLE);
	if ((val = malloc(n)) == NULL)
		goto out;
	if (old != NULL && old[0] != '\0')
		snprintf(val, n, "%s:%s", old, SERVE_TUNABLE);
	else
		snprintf(val, n, "%s", SERVE_TUNABLE);
	if (setenv("GLIBC_TUNABLES", val, 1) == 0 &&
	    setenv("KURA_TUNED", "1", 1) == 0)
		(void)execv("/proc/self/exe", argv);
	/* still here: put the environment back and go on */
	(void)unsetenv("KURA_TUNED");
	if (old != NULL)
		(void)setenv("GLIBC_TUNABLES", old, 1);
	else
		(void)unsetenv("GLIBC_TUNABLES");
out:
	free(val);
	free(old);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: kura COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\nkura COMMAND --help shows a command's options.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("kura %s\n", KURA_VERSION);
		return CLI_OK;
	}
	if (strcmp(argv[1], "serve") == 0)
		serve_tunables(argv);   /* before anything is opened */
	if (kcrypto_init() != KURA_OK) {
		cli_err("cannot initialise the crypto libraries");
		return CLI_FAIL;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cli_err("unknown command '%s'", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
