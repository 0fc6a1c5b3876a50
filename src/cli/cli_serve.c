#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/log.h"
#include "alerts/alerts.h"
#include "api/api.h"
#include "audit/audit.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "siem/siem.h"

static void
set_log_level(const char *level)
{
	if (strcmp(level, "debug") == 0)
		kura_log_set_level(KURA_LOG_DEBUG);
	else if (strcmp(level, "warn") == 0)
		kura_log_set_level(KURA_LOG_WARN);
	else if (strcmp(level, "error") == 0)
		kura_log_set_level(KURA_LOG_ERROR);
	else
		kura_log_set_level(KURA_LOG_INFO);
}

/* SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to
 * shutdown_grace_s), then stop.  Returns the exit code. */
static int
drain(struct http_server *srv, const struct kura_config *cfg)
{
	int64_t deadline = kura_mono_us() + (int64_t)cfg->shutdown_grace_s * 1000000;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned left;

	http_server_quiesce(srv);
	log_info("draining: %u request(s) in flight", http_server_in_flight(srv));
	while ((left = http_server_in_flight(srv)) > 0 && kura_mono_us() < deadline)
		nanosleep(&tick, NULL);
	/* SIGTERM is an orderly stop either way (exit 0); requests still
	 * running after the grace period are cut off, and that is logged */
	if (left > 0)
		log_warn("grace period over with %u request(s) unfinished", left);
	http_server_stop(srv);
	log_info("stopped");
	return CLI_OK;
}

int
cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kura_config *cfg = NULL;
	struct http_server *srv = NULL;
	struct jobs *jobs = NULL;
	struct http_app happ;
	struct app app;
	const char *dir = NULL;
	struct kbuf listen;
	char *msg = NULL;
	sigset_t set;
	int c, sig, rc = CLI_FAIL;
	kura_err err;
	bool opened = false;

	memset(&app, 0, sizeof(app));
	kbuf_init(&listen, 4096);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'l':
			if ((listen.len > 0 && kbuf_puts(&listen, ",") != KURA_OK) ||
			    kbuf_puts(&listen, optarg) != KURA_OK) {
				cli_err("too many --listen addresses");
				goto out;
			}
			break;
		case 'h':
			printf("usage: kura serve --data-dir DIR [--listen ADDR:PORT]...\n");
			rc = CLI_OK;
			goto out;
		default:
			rc = CLI_USAGE;
			goto out;
		}
	}
	if (dir == NULL || optind != argc) {
		cli_err("usage: kura serve --data-dir DIR [--listen ADDR:PORT]...");
		rc = CLI_USAGE;
		goto out;
	}
	/* Signals are taken by sigwait below; block them before any thread
	 * exists so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cli_open(dir, &cfg, &app) != CLI_OK)
		goto out;
	opened = true;
	if (listen.len > 0 &&
	    config_set(cfg, "server", "listen", listen.data, &msg) != KURA_OK) {
		cli_err("--listen: %s", msg);
		goto out;
	}
	set_log_level(cfg->log_level);
	/* before any other thread uses the store: every transaction from
	 * here on commits lazily and is made durable by one WAL sync per
	 * group (decisions #47) */
	err = store_group_start(app.store);
	if (err) {
		cli_err("cannot start the group commit thread: %s",
		    kura_strerror(err));
		goto out;
	}
	err = audit_key_ensure(app.store, cfg->audit_key, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		goto out;
	}
	err = audit_start(app.store, cfg->audit_key, (size_t)cfg->audit_batch_max,
	    &app.audit);
	if (err) {
		cli_err("cannot start the audit writer: %s", kura_strerror(err));
		goto out;
	}
	/* observers of the audit stream start before serving */
	/* alerts start */
	err = alerts_serve_start(app.store, cfg);
	if (err) {
		cli_err("cannot start the alerts engine: %s", kura_strerror(err));
		goto out;
	}
	/* siem start */
	err = siem_serve_start(cfg, app.store, &msg);
	if (err) {
		cli_err("cannot start the SIEM forwarder: %s",
		    msg ? msg : kura_strerror(err));
		goto out;
	}
	app_http(&app, &happ);
	/* metrics and rate limits */
	err = api_metrics_check(cfg, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		goto out;
	}
	log_info("rate limits: %llu/s (burst %llu) per address, %llu/s (%llu) per "
	    "user or token, %llu/s (%llu) per tenant; block after %llu refusals "
	    "a minute for %llu s", (unsigned long long)cfg->rl_ip_rate,
	    (unsigned long long)cfg->rl_ip_burst, (unsigned long long)cfg->rl_user_rate,
	    (unsigned long long)cfg->rl_user_burst,
	    (unsigned long long)cfg->rl_tenant_rate,
	    (unsigned long long)cfg->rl_tenant_burst,
	    (unsigned long long)cfg->rl_block_after,
	    (unsigned long long)cfg->rl_block_s);
	err = http_server_start(cfg, &happ, &srv, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		goto out;
	}
	err = jobs_start(&app, (unsigned)cfg->audit_checkpoint_s, &jobs);
	if (err) {
		cli_err("cannot start the housekeeping thread: %s", kura_strerror(err));
		goto out;
	}
#ifdef KURA_BENCH_NO_AUDIT
	log_warn("BENCHMARK-ONLY BUILD: requests are NOT audited; never use in production");
#endif
#ifdef KURA_BENCH_NO_ENCRYPT
	log_warn("BENCHMARK-ONLY BUILD: file content is NOT encrypted; never use in production");
#endif
	for (size_t i = 0; i < cfg->n_listen; i++)
		log_info("listening on https://%s", cfg->listen[i]);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			free(msg);
			msg = NULL;
			if (http_server_reload_cert(srv, &msg) == KURA_OK)
				log_info("certificate reloaded");
			else
				log_error("certificate reload failed, keeping the old one: %s",
				    msg ? msg : "unknown error");
			continue;
		}
		log_info("signal %d: shutting down", sig);
		rc = drain(srv, cfg);
		srv = NULL;
		break;
	}
out:
	jobs_stop(jobs);
	http_server_stop(srv);
	/* after the server: draining requests wait for their records */
	audit_stop(app.audit);
	app.audit = NULL;
	/* alerts stop */
	alerts_serve_stop();
	/* siem stop */
	siem_serve_stop(SIEM_DRAIN_US);
	if (opened) {
		struct gsync_stats gs;
		store_group_stats(app.store, &gs);
		if (gs.syncs > 0)
			log_info("group commit: %llu WAL syncs for %llu waiting "
			    "commits (largest group %llu)",
			    (unsigned long long)gs.syncs,
			    (unsigned long long)gs.waiters,
			    (unsigned long long)gs.max_group);
		cli_close(cfg, &app);
	}
	free(msg);
	kbuf_free(&listen);
	return rc;
}
