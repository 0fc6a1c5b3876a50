#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/buf.h"
#include "core/mem.h"

#define MAGIC "KURABLB1"
#define FORMAT 1
#define SEALED_MAX (BLOB_CHUNK + BLOB_CHUNK_OVERHEAD)
#define PATH_MAX_LEN 4096

struct blob_writer {
	const struct kcrypto_tkeys *keys;
	char id[KCRYPTO_ID_MAX];
	char *dir;              /* ROOT/tenant/xx */
	char *tmp;              /* DIR/.id.part */
	char *final;            /* DIR/id */
	int fd;
	uint64_t max, total, index;
	uint32_t key_version;
	uint8_t *buf;           /* plaintext of the chunk being filled */
	size_t fill;
	uint8_t *sealed;
	gnutls_hash_hd_t sha;
	bool committed;
};

struct blob_reader {
	const struct kcrypto_tkeys *keys;
	char id[KCRYPTO_ID_MAX];
	int fd;
	uint64_t size, chunks;
	uint32_t key_version;
	uint8_t *plain;         /* last chunk opened */
	size_t plain_len;
	uint64_t plain_index;   /* UINT64_MAX: none */
	uint8_t *sealed;
};

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Associated data of one chunk: everything that must not change. */
static size_t
chunk_ad(uint8_t *ad, size_t cap, const char *tenant, const char *id,
    uint64_t index, int final, uint32_t key_version)
{
	int n = snprintf((char *)ad, cap, "kura-blob-v1|%s|%s|%llu|%d|%u|%u",
	    tenant, id, (unsigned long long)index, final, (unsigned)BLOB_CHUNK,
	    (unsigned)key_version);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static int
mkdir_private(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static kura_err
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSPC || errno == EDQUOT ? KURA_ETOOBIG : KURA_EIO;
		}
		b += w;
		n -= (size_t)w;
	}
	return KURA_OK;
}

kura_err
blob_writer_new(const char *root, const struct kcrypto_tkeys *keys,
    uint64_t max_size, struct blob_writer **ret_w)
{
	const char *tenant = kcrypto_tkeys_tenant(keys);
	struct blob_writer *w;
	uint8_t hdr[BLOB_HEADER];
	char *tdir = NULL;
	kura_err err;

	w = kura_calloc(1, sizeof(*w));
	if (w == NULL)
		return KURA_ENOMEM;
	w->fd = -1;
	w->keys = keys;
	w->max = max_size;
	w->key_version = kcrypto_tkeys_newest_version(keys);
	if ((err = kcrypto_id_new("blb", w->id)) != KURA_OK)
		goto fail;
	err = KURA_ENOMEM;
	tdir = kbuf_strdupf(PATH_MAX_LEN, "%s/%s", root, tenant);
	w->dir = kbuf_strdupf(PATH_MAX_LEN, "%s/%.2s", tdir ? tdir : "", w->id + 4);
	w->tmp = kbuf_strdupf(PATH_MAX_LEN, "%s/.%s.part", w->dir ? w->dir : "", w->id);
	w->final = kbuf_strdupf(PATH_MAX_LEN, "%s/%s", w->dir ? w->dir : "", w->id);
	w->buf = malloc(BLOB_CHUNK);
	w->sealed = malloc(SEALED_MAX);
	if (tdir == NULL || w->dir == NULL || w->tmp == NULL || w->final == NULL ||
	    w->buf == NULL || w->sealed == NULL)
		goto fail;
	err = KURA_EIO;
	if (mkdir_private(root) || mkdir_private(tdir) || mkdir_private(w->dir))
		goto fail;
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0)
		goto fail;
	if (gnutls_hash_init(&w->sha, GNUTLS_DIG_SHA256) < 0) {
		w->sha = NULL;
		goto fail;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, MAGIC, 8);
	be32(hdr + 8, FORMAT);
	be32(hdr + 12, BLOB_CHUNK);
	be32(hdr + 16, w->key_version);
	if ((err = write_all(w->fd, hdr, sizeof(hdr))) != KURA_OK)
		goto fail;
	free(tdir);
	*ret_w = w;
	return KURA_OK;
fail:
	free(tdir);
	blob_writer_free(w);
	return err;
}

/* Seal the buffered plaintext as chunk w->index. */
static kura_err
flush_chunk(struct blob_writer *w, int final)
{
	uint8_t ad[256];
	size_t adlen, n = 0;
	uint32_t ver = 0;
	kura_err err;

	adlen = chunk_ad(ad, sizeof(ad), kcrypto_tkeys_tenant(w->keys), w->id,
	    w->index, final, w->key_version);
	if (adlen == 0)
		return KURA_EINVAL;
	err = kcrypto_chunk_seal(w->keys, ad, adlen, w->buf, w->fill, w->sealed,
	    SEALED_MAX, &n, &ver);
	kura_wipe(w->buf, w->fill);
	if (err)
		return err;
	if (ver != w->key_version)
		return KURA_ECONFLICT;      /* the key set changed under us */
	err = write_all(w->fd, w->sealed, n);
	w->index++;
	w->fill = 0;
	return err;
}

kura_err
blob_write(struct blob_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t total;
	kura_err err;

	if (w == NULL || w->committed || (len > 0 && data == NULL))
		return KURA_EINVAL;
	if (__builtin_add_overflow(w->total, (uint64_t)len, &total) || total > w->max)
		return KURA_ETOOBIG;
	if (len > 0 && gnutls_hash(w->sha, data, len) < 0)
		return KURA_ECRYPTO;
	w->total = total;
	while (len > 0) {
		size_t n = BLOB_CHUNK - w->fill;
		if (n > len)
			n = len;
		memcpy(w->buf + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		/* a full chunk is sealed only once more data follows, so the
		 * last chunk can carry the final flag */
		if (w->fill == BLOB_CHUNK && len > 0 && (err = flush_chunk(w, 0)))
			return err;
	}
	return KURA_OK;
}

uint64_t
blob_written(const struct blob_writer *w)
{
	return w->total;
}

kura_err
blob_commit(struct blob_writer *w, char ret_id[KCRYPTO_ID_MAX], uint64_t *ret_size,
    char ret_sha256[BLOB_SHA256_HEX + 1])
{
	uint8_t digest[32];
	kura_err err;
	int dfd;

	if (w == NULL || w->committed)
		return KURA_EINVAL;
	/* a pending full chunk that turned out to be the last one */
	if ((err = flush_chunk(w, 1)) != KURA_OK)
		return err;
	if (fsync(w->fd) != 0)
		return KURA_EIO;
	if (rename(w->tmp, w->final) != 0)
		return KURA_EIO;
	w->committed = true;
	dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	gnutls_hash_output(w->sha, digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(ret_sha256 + 2 * i, 3, "%02x", digest[i]);
	memcpy(ret_id, w->id, KCRYPTO_ID_MAX);
	*ret_size = w->total;
	return KURA_OK;
}

void
blob_writer_free(struct blob_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->committed && w->tmp != NULL)
		(void)unlink(w->tmp);
	if (w->sha != NULL)
		gnutls_hash_deinit(w->sha, NULL);
	if (w->buf != NULL) {
		kura_wipe(w->buf, BLOB_CHUNK);
		free(w->buf);
	}
	free(w->sealed);
	free(w->dir);
	free(w->tmp);
	free(w->final);
	free(w);
}

kura_err
blob_open(const char *root, const struct kcrypto_tkeys *keys, const char *blob_id,
    struct blob_reader **ret_r)
{
	struct blob_reader *r;
	uint8_t hdr[BLOB_HEADER];
	struct stat st;
	char *path;
	uint64_t data, full, rem;
	kura_err err = KURA_ECRYPTO;

	if (!kcrypto_id_valid(blob_id, "blb"))
		return KURA_ENOENT;
	path = kbuf_strdupf(PATH_MAX_LEN, "%s/%s/%.2s/%s", root,
	    kcrypto_tkeys_tenant(keys), blob_id + 4, blob_id);
	if (path == NULL)
		return KURA_ENOMEM;
	r = kura_calloc(1, sizeof(*r));
	if (r == NULL) {
		free(path);
		return KURA_ENOMEM;
	}
	r->keys = keys;
	r->plain_index = UINT64_MAX;
	snprintf(r->id, sizeof(r->id), "%s", blob_id);
	r->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (r->fd < 0) {
		err = errno == ENOENT ? KURA_ENOENT : KURA_EIO;
		goto fail;
	}
	if (fstat(r->fd, &st) != 0 || pread(r->fd, hdr, sizeof(hdr), 0) !=
	    (ssize_t)sizeof(hdr) || memcmp(hdr, MAGIC, 8) != 0 ||
	    get_be32(hdr + 8) != FORMAT || get_be32(hdr + 12) != BLOB_CHUNK)
		goto fail;
	r->key_version = get_be32(hdr + 16);
	/* the plaintext size follows from the length: full chunks, then a
	 * last one of BLOB_CHUNK_OVERHEAD..SEALED_MAX bytes */
	if ((uint64_t)st.st_size < BLOB_HEADER + BLOB_CHUNK_OVERHEAD)
		goto fail;
	data = (uint64_t)st.st_size - BLOB_HEADER;
	full = data / SEALED_MAX;
	rem = data % SEALED_MAX;
	if (rem == 0) {
		r->size = full * BLOB_CHUNK;
		r->chunks = full;
	} else {
		if (rem < BLOB_CHUNK_OVERHEAD)
			goto fail;
		r->size = full * BLOB_CHUNK + (rem - BLOB_CHUNK_OVERHEAD);
		r->chunks = full + 1;
	}
	r->plain = malloc(BLOB_CHUNK);
	r->sealed = malloc(SEALED_MAX);
	if (r->plain == NULL || r->sealed == NULL) {
		err = KURA_ENOMEM;
		goto fail;
	}
	*ret_r = r;
	return KURA_OK;
fail:
	blob_close(r);
	return err;
}

uint64_t
blob_size(const struct blob_reader *r)
{
	return r->size;
}

/* Authenticate and decrypt chunk i into r->plain. */
static kura_err
load_chunk(struct blob_reader *r, uint64_t i)
{
	uint8_t ad[256];
	size_t adlen, plen = 0, want;
	uint64_t off;
	kura_err err;

	if (r->plain_index == i)
		return KURA_OK;
	r->plain_index = UINT64_MAX;
	want = (i + 1 < r->chunks ? BLOB_CHUNK :
	    (size_t)(r->size - i * (uint64_t)BLOB_CHUNK)) + BLOB_CHUNK_OVERHEAD;
	off = BLOB_HEADER + i * (uint64_t)SEALED_MAX;
	if (pread(r->fd, r->sealed, want, (off_t)off) != (ssize_t)want)
		return KURA_EIO;
	adlen = chunk_ad(ad, sizeof(ad), kcrypto_tkeys_tenant(r->keys), r->id, i,
	    i + 1 == r->chunks, r->key_version);
	if (adlen == 0)
		return KURA_EINVAL;
	err = kcrypto_chunk_open(r->keys, r->key_version, ad, adlen, r->sealed,
	    want, r->plain, BLOB_CHUNK, &plen);
	if (err)
		return KURA_ECRYPTO;
	r->plain_len = plen;
	r->plain_index = i;
	return KURA_OK;
}

kura_err
blob_read(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
    size_t *ret_n)
{
	uint8_t *out = buf;
	size_t done = 0;
	kura_err err;

	if (r == NULL || (len > 0 && buf == NULL))
		return KURA_EINVAL;
	if (offset == 0 && r->size == 0 && (err = load_chunk(r, 0)) != KURA_OK)
		return err;         /* even an empty blob proves it is whole */
	while (done < len && offset < r->size) {
		uint64_t i = offset / BLOB_CHUNK;
		size_t in = (size_t)(offset % BLOB_CHUNK), n;
		if ((err = load_chunk(r, i)) != KURA_OK)
			return err;
		if (in >= r->plain_len)
			return KURA_ECRYPTO;
		n = r->plain_len - in;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, r->plain + in, n);
		done += n;
		offset += n;
	}
	*ret_n = done;
	return KURA_OK;
}

void
blob_close(struct blob_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->plain != NULL) {
		kura_wipe(r->plain, BLOB_CHUNK);
		free(r->plain);
	}
	free(r->sealed);
	free(r);
}

kura_err
blob_delete(const char *root, const char *tenant_id, const char *blob_id)
{
	char *path;
	int rc;

	if (!kcrypto_id_valid(blob_id, "blb") || !kcrypto_id_valid(tenant_id, "ten"))
		return KURA_EINVAL;
	path = kbuf_strdupf(PATH_MAX_LEN, "%s/%s/%.2s/%s", root, tenant_id,
	    blob_id + 4, blob_id);
	if (path == NULL)
		return KURA_ENOMEM;
	rc = unlink(path);
	free(path);
	if (rc != 0)
		return errno == ENOENT ? KURA_ENOENT : KURA_EIO;
	return KURA_OK;
}

/* Walk ROOT/tenant/xx: stale ".*.part" files, and committed files no row
 * owns (asked of owned), older than the cutoff, are removed. */
kura_err
blob_sweep(const char *root, int64_t older_than_s, blob_owned_fn owned,
    void *arg, size_t *ret_n)
{
	DIR *d1 = opendir(root), *d2, *d3;
	struct dirent *e1, *e2, *e3;
	time_t cutoff = time(NULL) - (time_t)older_than_s;
	size_t n = 0;

	if (d1 == NULL) {
		*ret_n = 0;
		return errno == ENOENT ? KURA_OK : KURA_EIO;
	}
	while ((e1 = readdir(d1)) != NULL) {
		char *p1;
		if (e1->d_name[0] == '.')
			continue;
		p1 = kbuf_strdupf(PATH_MAX_LEN, "%s/%s", root, e1->d_name);
		if (p1 == NULL || (d2 = opendir(p1)) == NULL) {
			free(p1);
			continue;
		}
		while ((e2 = readdir(d2)) != NULL) {
			char *p2;
			if (e2->d_name[0] == '.')
				continue;
			p2 = kbuf_strdupf(PATH_MAX_LEN, "%s/%s", p1, e2->d_name);
			if (p2 == NULL || (d3 = opendir(p2)) == NULL) {
				free(p2);
				continue;
			}
			while ((e3 = readdir(d3)) != NULL) {
				struct stat st;
				size_t len = strlen(e3->d_name);
				bool part = e3->d_name[0] == '.' && len >= 6 &&
				    strcmp(e3->d_name + len - 5, ".part") == 0;
				bool orphan_candidate = owned != NULL &&
				    kcrypto_id_valid(e3->d_name, "blb") &&
				    kcrypto_id_valid(e1->d_name, "ten");
				char *p3;
				if (!part && !orphan_candidate)
					continue;
				p3 = kbuf_strdupf(PATH_MAX_LEN, "%s/%s", p2, e3->d_name);
				if (p3 != NULL && lstat(p3, &st) == 0 &&
				    S_ISREG(st.st_mode) && st.st_mtime < cutoff &&
				    (part || !owned(arg, e1->d_name, e3->d_name)) &&
				    unlink(p3) == 0)
					n++;
				free(p3);
			}
			closedir(d3);
			free(p2);
		}
		closedir(d2);
		free(p1);
	}
	closedir(d1);
	*ret_n = n;
	return KURA_OK;
}
