/*
 * Raw Argon2id rate (issue 7, sign-in budget): libsodium's
 * crypto_pwhash_str_alg (what kcrypto_pw_hash calls) with kura's default
 * cost, run back to back on several threads for a bounded time.  The
 * sign-in case of `make bench` compares kura's sign-ins per second with
 * this rate.
 * Usage: bench_argon2 [seconds [threads [memory_kib [iterations]]]]
 *        (defaults 5, 2, 19456, 2: KCRYPTO_PWPARAMS_DEFAULT)
 * Prints one line: "argon2id: <hashes> hashes in <s> s on <n> threads:
 * <rate> hashes/s, <ms> ms CPU/hash (m=<kib> KiB, t=<t>, p=1)".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sodium.h>

#include "core/parse.h"

#define MAX_THREADS 64

static uint64_t opt_seconds = 5, opt_threads = 2, opt_kib = 19456, opt_iter = 2;
static atomic_ullong done;
static atomic_int failed;
static double deadline;

static double
wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *
run(void *arg)
{
	char out[crypto_pwhash_STRBYTES];
	static const char pw[] = "Bench-Passw0rd!-not-a-secret";

	(void)arg;
	while (wall_s() < deadline) {
		if (crypto_pwhash_str_alg(out, pw, sizeof(pw) - 1,
		    (unsigned long long)opt_iter, (size_t)opt_kib * 1024,
		    crypto_pwhash_ALG_ARGON2ID13) != 0) {
			atomic_store(&failed, 1);
			break;
		}
		atomic_fetch_add(&done, 1);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	double w0, w1, c0, c1;
	uint64_t n;

	if ((argc > 1 && kura_parse_u64(argv[1], 1, 3600, &opt_seconds) != KURA_OK) ||
	    (argc > 2 && kura_parse_u64(argv[2], 1, MAX_THREADS, &opt_threads) != KURA_OK) ||
	    (argc > 3 && kura_parse_u64(argv[3], 8192, 1048576, &opt_kib) != KURA_OK) ||
	    (argc > 4 && kura_parse_u64(argv[4], 1, 16, &opt_iter) != KURA_OK) ||
	    argc > 5) {
		fprintf(stderr, "usage: bench_argon2 [seconds [threads [memory_kib [iterations]]]]\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_argon2: sodium_init failed\n");
		return 1;
	}
	c0 = cpu_s();
	w0 = wall_s();
	deadline = w0 + (double)opt_seconds;
	for (uint64_t i = 0; i < opt_threads; i++) {
		if (pthread_create(&th[i], NULL, run, NULL) != 0) {
			fprintf(stderr, "bench_argon2: cannot start threads\n");
			return 1;
		}
	}
	for (uint64_t i = 0; i < opt_threads; i++)
		pthread_join(th[i], NULL);
	w1 = wall_s();
	c1 = cpu_s();
	if (atomic_load(&failed)) {
		fprintf(stderr, "bench_argon2: crypto_pwhash_str_alg failed (memory?)\n");
		return 1;
	}
	n = atomic_load(&done);
	if (n == 0) {
		fprintf(stderr, "bench_argon2: no hash finished in time\n");
		return 1;
	}
	printf("argon2id: %llu hashes in %.2f s on %llu threads: %.2f hashes/s, "
	    "%.1f ms CPU/hash (m=%llu KiB, t=%llu, p=1)\n", (unsigned long long)n,
	    w1 - w0, (unsigned long long)opt_threads, (double)n / (w1 - w0),
	    (c1 - c0) * 1e3 / (double)n,
	    (unsigned long long)opt_kib, (unsigned long long)opt_iter);
	return 0;
}
