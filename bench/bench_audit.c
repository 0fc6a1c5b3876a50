/*
 * Audit trail costs (issue 4 budgets): CPU per appended record through the
 * group-commit path (batches in one transaction, as the writer does), and
 * verification speed in records per second on one core.
 * Usage: bench_audit [records]   (default 200000); prints one line each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "core/buf.h"
#include "core/parse.h"
#include "crypto/kcrypto.h"

static double
cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double
wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	uint64_t n = 200000;
	char dir[] = "/tmp/kura-bench-audit-XXXXXX", *db, *key, pk[64];
	struct store *s = NULL;
	struct audit_verify_result res;
	double c0, c1, w0, w1;
	size_t batch = 256, ck = 0;

	if (argc > 1 && kura_parse_u64(argv[1], 1000, 100000000, &n) != KURA_OK) {
		fprintf(stderr, "usage: bench_audit [records]\n");
		return 2;
	}
	if (kcrypto_init() || mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_audit: cannot set up %s\n", dir);
		return 1;
	}
	db = kbuf_strdupf(256, "%s/kura.db", dir);
	key = kbuf_strdupf(256, "%s/audit.key", dir);
	{
		kura_err e;
		if ((e = store_open_sqlite(db, &s)) || (e = store_migrate(s)) ||
		    (e = audit_key_create(key)) || (e = audit_public_key(key, pk))) {
			fprintf(stderr, "bench_audit: setup: %s\n", kura_strerror(e));
			return 1;
		}
	}
	c0 = cpu_s();
	w0 = wall_s();
	for (uint64_t i = 0; i < n; i += batch) {
		struct audit_heads *h = audit_heads_new();
		if (h == NULL || store_begin(s))
			return 1;
		for (uint64_t k = i; k < i + batch && k < n; k++) {
			struct audit_rec r;
			audit_rec_init(&r, (k % 4) ? "ten_0123456789abcdef0123456789abcdef" : "",
			    "user", "usr_0123456789abcdef0123456789abcdef", "me.read");
			snprintf(r.source_ip, sizeof(r.source_ip), "192.0.2.%u", (unsigned)(k % 250));
			snprintf(r.request_id, sizeof(r.request_id), "%032llx", (unsigned long long)k);
			snprintf(r.resource_type, sizeof(r.resource_type), "me");
			r.status = 200;
			r.detail = json_pack("{s:s,s:s,s:b}", "method", "GET", "route",
			    "/api/v1/me", "session", 1);
			/* as the writer does: heads cached within the batch */
			kura_err e = audit_append_batch(s, h, &r, NULL);
			if (e) {
				fprintf(stderr, "bench_audit: append: %s\n", kura_strerror(e));
				return 1;
			}
			audit_rec_clear(&r);
		}
		if (store_commit(s))
			return 1;
		free(h);
	}
	c1 = cpu_s();
	w1 = wall_s();
	printf("audit append: %llu records, %.2f us CPU/record, %.0f records/s wall "
	    "(batches of %zu, synchronous=FULL)\n", (unsigned long long)n,
	    (c1 - c0) * 1e6 / (double)n, (double)n / (w1 - w0), batch);
	if (audit_checkpoint(s, key, &ck))
		return 1;
	c0 = cpu_s();
	if (audit_verify_store(s, NULL, pk, &res) || !res.ok) {
		fprintf(stderr, "verify failed: %s\n", res.reason);
		return 1;
	}
	c1 = cpu_s();
	printf("audit verify: %llu records in %.3f s CPU: %.0f records/s per core\n",
	    (unsigned long long)res.records, c1 - c0, (double)res.records / (c1 - c0));
	store_close(s);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	free(db);
	free(key);
	return 0;
}
