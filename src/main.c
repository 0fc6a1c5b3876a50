/*
 * kura: a secure multi-tenant server for AI cloud services.
 * One binary; the first argument picks the subcommand.
 */
#include <stdio.h>
#include <string.h>

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
