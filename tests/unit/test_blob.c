/*
 * Encrypted content files.  Evidence: CRY-1 (no plaintext on disk, chunks
 * bound to file, position, end and tenant), DAT-2 storage layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blob/blob.h"
#include "core/buf.h"

struct fx {
	char root[64];
	struct kcrypto_tkeys *keys, *other;
};

static struct kcrypto_tkeys *
make_keys(const char *tenant)
{
	struct kcrypto_tkeys *set = NULL;
	struct kcrypto_tkey *k = NULL;

	assert_int_equal(kcrypto_tkeys_new(tenant, &set), 0);
	assert_int_equal(kcrypto_tkey_generate(&k), 0);
	assert_int_equal(kcrypto_tkeys_add(set, k), 0);
	return set;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(kcrypto_init(), 0);
	snprintf(f->root, sizeof(f->root), "/tmp/kura-blob-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->keys = make_keys("ten_0123456789abcdef0123456789abcdef");
	f->other = make_keys("ten_fedcba9876543210fedcba9876543210");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	kcrypto_tkeys_free(f->keys);
	kcrypto_tkeys_free(f->other);
	free(f);
	return 0;
}

static uint8_t *
pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 31 + seed) ^ (i >> 8));
	return p;
}

/* Write n bytes in pieces of `piece`, return the id. */
static void
put(struct fx *f, const uint8_t *data, size_t n, size_t piece, char id[KCRYPTO_ID_MAX])
{
	struct blob_writer *w = NULL;
	char sha[BLOB_SHA256_HEX + 1];
	uint64_t size = 0;

	assert_int_equal(blob_writer_new(f->root, f->keys, UINT64_MAX, &w), 0);
	for (size_t off = 0; off < n; off += piece)
		assert_int_equal(blob_write(w, data + off, n - off < piece ? n - off : piece), 0);
	assert_int_equal(blob_commit(w, id, &size, sha), 0);
	assert_int_equal(size, n);
	assert_int_equal(strlen(sha), 64);
	blob_writer_free(w);
}

static void
get_all(struct fx *f, const char *id, const uint8_t *want, size_t n)
{
	struct blob_reader *r = NULL;
	uint8_t *got = malloc(n + 1);
	size_t have = 0;

	assert_int_equal(blob_open(f->root, f->keys, id, &r), 0);
	assert_int_equal(blob_size(r), n);
	assert_int_equal(blob_read(r, 0, got, n + 1, &have), 0);
	assert_int_equal(have, n);
	if (n)
		assert_memory_equal(got, want, n);
	blob_close(r);
	free(got);
}

static void
round_trips_at_chunk_boundaries(void **state)
{
	struct fx *f = *state;
	const size_t sizes[] = { 0, 1, BLOB_CHUNK - 1, BLOB_CHUNK, BLOB_CHUNK + 1,
	    3 * BLOB_CHUNK + 5 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char id[KCRYPTO_ID_MAX];
		uint8_t *d = pattern(sizes[i], (unsigned)i);
		put(f, d, sizes[i], 4097, id);
		get_all(f, id, d, sizes[i]);
		free(d);
	}
}

static void
random_access_reads_match(void **state)
{
	struct fx *f = *state;
	size_t n = 2 * BLOB_CHUNK + 333;
	uint8_t *d = pattern(n, 7), buf[5000];
	struct blob_reader *r = NULL;
	char id[KCRYPTO_ID_MAX];
	const uint64_t offs[] = { 0, 1, BLOB_CHUNK - 10, BLOB_CHUNK, 2 * BLOB_CHUNK + 300,
	    (uint64_t)n - 1, (uint64_t)n, (uint64_t)n + 100 };
	size_t got;

	put(f, d, n, n, id);
	assert_int_equal(blob_open(f->root, f->keys, id, &r), 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t expect = offs[i] >= n ? 0 : (n - offs[i] < sizeof(buf) ? n - offs[i] : sizeof(buf));
		assert_int_equal(blob_read(r, offs[i], buf, sizeof(buf), &got), 0);
		assert_int_equal(got, expect);
		if (got)
			assert_memory_equal(buf, d + offs[i], got);
	}
	blob_close(r);
	free(d);
}

static char *
path_of(struct fx *f, const char *id)
{
	return kbuf_strdupf(512, "%s/%s/%.2s/%s", f->root,
	    kcrypto_tkeys_tenant(f->keys), id + 4, id);
}

static void
no_plaintext_on_disk(void **state)
{
	struct fx *f = *state;
	const char canary[] = "canary-7f3a9e1c-not-on-disk";
	size_t n = 3 * BLOB_CHUNK;
	uint8_t *d = malloc(n), *file;
	char id[KCRYPTO_ID_MAX], *p;
	struct stat st;
	FILE *fp;

	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)canary[i % (sizeof(canary) - 1)];
	put(f, d, n, 65536, id);
	p = path_of(f, id);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	file = malloc((size_t)st.st_size);
	fp = fopen(p, "rb");
	assert_int_equal(fread(file, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);
	assert_null(memmem(file, (size_t)st.st_size, canary, 10));
	free(file);
	free(p);
	free(d);
}

/* Rewrite the file at path with an edit applied; expect reads to fail. */
static void
expect_tamper_detected(struct fx *f, const char *id, const struct kcrypto_tkeys *keys)
{
	struct blob_reader *r = NULL;
	uint8_t buf[4096];
	size_t got = 0;
	kura_err err = blob_open(f->root, keys, id, &r);
	uint64_t off = 0;

	if (err == KURA_OK) {
		/* some chunk must fail; no read may return wrong data */
		for (;;) {
			err = blob_read(r, off, buf, sizeof(buf), &got);
			if (err || got == 0)
				break;
			off += got;
		}
		blob_close(r);
	}
	assert_int_equal(err, KURA_ECRYPTO);
}

static void
tampering_is_detected(void **state)
{
	struct fx *f = *state;
	size_t n = 3 * BLOB_CHUNK + 10;
	uint8_t *d = pattern(n, 3), *file;
	char id[KCRYPTO_ID_MAX], id2[KCRYPTO_ID_MAX], *p, *p2;
	struct stat st;
	FILE *fp;
	size_t len, sealed = BLOB_CHUNK + BLOB_CHUNK_OVERHEAD;

	put(f, d, n, n, id);
	p = path_of(f, id);
	assert_int_equal(stat(p, &st), 0);
	len = (size_t)st.st_size;
	file = malloc(len);
	fp = fopen(p, "rb");
	assert_int_equal(fread(file, 1, len, fp), len);
	fclose(fp);

	/* 1. a flipped byte inside chunk 1 */
	file[BLOB_HEADER + sealed + 100] ^= 1;
	fp = fopen(p, "wb"); fwrite(file, 1, len, fp); fclose(fp);
	expect_tamper_detected(f, id, f->keys);
	file[BLOB_HEADER + sealed + 100] ^= 1;

	/* 2. chunks 0 and 1 swapped */
	{
		uint8_t *tmp = malloc(sealed);
		memcpy(tmp, file + BLOB_HEADER, sealed);
		memcpy(file + BLOB_HEADER, file + BLOB_HEADER + sealed, sealed);
		memcpy(file + BLOB_HEADER + sealed, tmp, sealed);
		fp = fopen(p, "wb"); fwrite(file, 1, len, fp); fclose(fp);
		expect_tamper_detected(f, id, f->keys);
		memcpy(file + BLOB_HEADER + sealed, file + BLOB_HEADER, sealed);
		memcpy(file + BLOB_HEADER, tmp, sealed);
		free(tmp);
	}
	/* 3. truncated at a chunk boundary: the new last chunk is not final */
	fp = fopen(p, "wb"); fwrite(file, 1, BLOB_HEADER + 3 * sealed, fp); fclose(fp);
	expect_tamper_detected(f, id, f->keys);
	/* 4. another key version written into the header */
	file[16] ^= 0x40;
	fp = fopen(p, "wb"); fwrite(file, 1, len, fp); fclose(fp);
	expect_tamper_detected(f, id, f->keys);
	file[16] ^= 0x40;
	/* the untouched file reads again */
	fp = fopen(p, "wb"); fwrite(file, 1, len, fp); fclose(fp);
	get_all(f, id, d, n);
	/* 5. the file moved to another blob id */
	put(f, d, 1, 1, id2);
	p2 = path_of(f, id2);
	fp = fopen(p2, "wb"); fwrite(file, 1, len, fp); fclose(fp);
	expect_tamper_detected(f, id2, f->keys);
	/* 6. read with another tenant's keys (copied under its directory) */
	{
		char *op = kbuf_strdupf(512, "%s/%s", f->root, kcrypto_tkeys_tenant(f->other));
		char *od = kbuf_strdupf(512, "%s/%.2s", op, id + 4);
		char *of = kbuf_strdupf(512, "%s/%s", od, id);
		mkdir(op, 0700);
		mkdir(od, 0700);
		fp = fopen(of, "wb"); fwrite(file, 1, len, fp); fclose(fp);
		expect_tamper_detected(f, id, f->other);
		free(op); free(od); free(of);
	}
	free(p2);
	free(p);
	free(file);
	free(d);
}

static void
limits_and_aborted_uploads_leave_nothing(void **state)
{
	struct fx *f = *state;
	struct blob_writer *w = NULL;
	uint8_t buf[100] = { 0 };
	size_t swept = 99;
	char cmd[256];

	assert_int_equal(blob_writer_new(f->root, f->keys, 150, &w), 0);
	assert_int_equal(blob_write(w, buf, 100), 0);
	assert_int_equal(blob_write(w, buf, 100), KURA_ETOOBIG);
	assert_int_equal(blob_written(w), 100);
	blob_writer_free(w);        /* never committed */
	snprintf(cmd, sizeof(cmd), "test -z \"$(find %s -name '*.part')\"", f->root);
	assert_int_equal(system(cmd), 0);
	/* a stale temporary file (a crash mid-upload) is swept */
	assert_int_equal(blob_writer_new(f->root, f->keys, 150, &w), 0);
	snprintf(cmd, sizeof(cmd), "find %s -name '*.part' -exec touch -d '2 days ago' {} +", f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(blob_sweep(f->root, 3600, NULL, NULL, &swept), 0);
	assert_int_equal(swept, 1);
	blob_writer_free(w);
	assert_int_equal(blob_open(f->root, f->keys, "blb_00000000000000000000000000000000", &(struct blob_reader *){ NULL }), KURA_ENOENT);
}

static void
delete_removes_the_file(void **state)
{
	struct fx *f = *state;
	char id[KCRYPTO_ID_MAX];
	struct blob_reader *r = NULL;

	put(f, (const uint8_t *)"x", 1, 1, id);
	assert_int_equal(blob_delete(f->root, kcrypto_tkeys_tenant(f->keys), id), 0);
	assert_int_equal(blob_open(f->root, f->keys, id, &r), KURA_ENOENT);
	assert_int_equal(blob_delete(f->root, kcrypto_tkeys_tenant(f->keys), id), KURA_ENOENT);
	assert_int_equal(blob_delete(f->root, "../etc", id), KURA_EINVAL);
}

static char orphan_id[KCRYPTO_ID_MAX];

static bool
owned_unless_orphan(void *arg, const char *tenant_id, const char *blob_id)
{
	(void)arg;
	(void)tenant_id;
	return strcmp(blob_id, orphan_id) != 0;
}

/* A committed file that no row owns (a crash between writing it and
 * committing its row) is removed once old; owned ones stay. */
static void
sweep_removes_old_orphans_only(void **state)
{
	struct fx *f = *state;
	char kept[KCRYPTO_ID_MAX], cmd[256];
	struct blob_reader *r = NULL;
	size_t swept = 0;

	put(f, (const uint8_t *)"owned", 5, 5, kept);
	put(f, (const uint8_t *)"orphan", 6, 6, orphan_id);
	/* young files are never touched */
	assert_int_equal(blob_sweep(f->root, 3600, owned_unless_orphan, NULL, &swept), 0);
	assert_int_equal(swept, 0);
	snprintf(cmd, sizeof(cmd), "find %s -name 'blb_*' -exec touch -d '2 days ago' {} +",
	    f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(blob_sweep(f->root, 3600, owned_unless_orphan, NULL, &swept), 0);
	assert_int_equal(swept, 1);
	assert_int_equal(blob_open(f->root, f->keys, orphan_id, &r), KURA_ENOENT);
	assert_int_equal(blob_open(f->root, f->keys, kept, &r), 0);
	blob_close(r);
}


int
main(void)
{
	static const struct CMUnitTest blob_tests[] = {
		cmocka_unit_test_setup_teardown(round_trips_at_chunk_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(random_access_reads_match, setup, teardown),
		cmocka_unit_test_setup_teardown(no_plaintext_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(tampering_is_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(limits_and_aborted_uploads_leave_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(delete_removes_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_removes_old_orphans_only, setup, teardown),
	};
	return cmocka_run_group_tests_name("blob", blob_tests, NULL, NULL);
}
