/*
 * KEK keyring file.  Text, mode 0600, one line per version
 * "kek <version> <base64 key>" (standard base64 with padding, 32 bytes),
 * versions ascending, then "current <version>".  Every line ends in '\n'.
 *
 * Updates are atomic (temp file in the same directory, fsync, rename,
 * fsync of the directory) and serialised between processes by flock(2) on
 * "<path>.lock", so two concurrent rotations cannot lose a version.  The
 * lock file is never removed: unlinking a lock file races with lockers.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/mem.h"
#include "crypto/internal.h"
#include "crypto/kcrypto.h"

#define KR_FILE_MAX (64 * 1024)
#define KR_VERSIONS_MAX 1024
#define KR_B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define KR_B64_LEN 44	/* base64 of 32 bytes, with padding */
#define KR_TMP_TRIES 8

struct kcrypto_keyring {
	size_t n;
	size_t cap;
	uint32_t current;
	uint32_t *versions;	/* ascending */
	uint8_t *keys;		/* cap * KEY_LEN, guarded; keys[i] for versions[i] */
};

static kura_err
errno_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return KURA_ENOENT;
	case EACCES:
	case EPERM:
	case ELOOP:
	case EROFS:
		return KURA_EPERM;
	case EEXIST:
		return KURA_EEXIST;
	case ENOMEM:
		return KURA_ENOMEM;
	case ENAMETOOLONG:
		return KURA_EINVAL;
	default:
		return KURA_EIO;
	}
}

void
kcrypto_keyring_free(struct kcrypto_keyring *kr)
{
	if (kr == NULL)
		return;
	sodium_free(kr->keys);
	free(kr->versions);
	free(kr);
}

/* Empty keyring with room for cap (>= 1) versions. */
static kura_err
kr_alloc(size_t cap, struct kcrypto_keyring **ret_kr)
{
	struct kcrypto_keyring *kr;
	size_t bytes;
	kura_err err = KURA_ENOMEM;

	if (cap == 0 || !kura_size_mul(cap, KCRYPTO_KEY_LEN, &bytes))
		return KURA_EINVAL;
	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return KURA_ENOMEM;
	kr->cap = cap;
	if ((kr->versions = kura_mallocarray(cap, sizeof(uint32_t))) == NULL)
		goto out;
	if ((kr->keys = sodium_malloc(bytes)) == NULL)
		goto out;
	*ret_kr = kr;
	kr = NULL;
	err = KURA_OK;
out:
	kcrypto_keyring_free(kr);
	return err;
}

/* Index of version in kr, by binary search. */
static bool
kr_find(const struct kcrypto_keyring *kr, uint32_t version, size_t *ret_i)
{
	size_t lo = 0, hi = kr->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (kr->versions[mid] == version) {
			*ret_i = mid;
			return true;
		}
		if (kr->versions[mid] < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_i = lo;
	return false;
}

/* Insert version with key keeping the order.  KURA_EINVAL for a duplicate,
 * KURA_ETOOBIG when full. */
static kura_err
kr_insert(struct kcrypto_keyring *kr, uint32_t version, const uint8_t *key)
{
	size_t i;

	if (kr_find(kr, version, &i))
		return KURA_EINVAL;
	if (kr->n >= kr->cap || kr->n >= KR_VERSIONS_MAX)
		return KURA_ETOOBIG;
	memmove(kr->versions + i + 1, kr->versions + i,
	    (kr->n - i) * sizeof(uint32_t));
	memmove(kr->keys + (i + 1) * KCRYPTO_KEY_LEN,
	    kr->keys + i * KCRYPTO_KEY_LEN, (kr->n - i) * KCRYPTO_KEY_LEN);
	kr->versions[i] = version;
	memcpy(kr->keys + i * KCRYPTO_KEY_LEN, key, KCRYPTO_KEY_LEN);
	kr->n++;
	return KURA_OK;
}

/* Strict version number: 1..KCRYPTO_VERSION_MAX, no sign, no leading zero. */
static kura_err
parse_version(const char *s, size_t n, uint32_t *ret_v)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || s[0] < '1' || s[0] > '9')
		return KURA_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return KURA_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > KCRYPTO_VERSION_MAX)
		return KURA_EINVAL;
	*ret_v = (uint32_t)v;
	return KURA_OK;
}

/* One "kek <version> <base64>" line body (after "kek "). */
static kura_err
parse_kek(struct kcrypto_keyring *kr, const char *s, size_t n)
{
	uint8_t key[KCRYPTO_KEY_LEN];
	const char *sp, *b64, *end = NULL;
	size_t keylen = 0;
	uint32_t v;
	kura_err err;

	if ((sp = memchr(s, ' ', n)) == NULL)
		return KURA_EINVAL;
	if ((err = parse_version(s, (size_t)(sp - s), &v)) != KURA_OK)
		return err;
	b64 = sp + 1;
	if ((size_t)(s + n - b64) != KR_B64_LEN)
		return KURA_EINVAL;
	if (sodium_base642bin(key, sizeof(key), b64, KR_B64_LEN, NULL,
	    &keylen, &end, KR_B64_VARIANT) != 0 || keylen != sizeof(key) ||
	    end != b64 + KR_B64_LEN) {
		err = KURA_EINVAL;
		goto out;
	}
	err = kr_insert(kr, v, key);
out:
	kura_wipe(key, sizeof(key));
	return err;
}

/*
 * Parse a whole file image into a new keyring.  Any deviation from the
 * format is KURA_EINVAL; more than KR_VERSIONS_MAX versions KURA_ETOOBIG.
 */
static kura_err
kr_parse(const char *buf, size_t len, struct kcrypto_keyring **ret_kr)
{
	struct kcrypto_keyring *kr = NULL;
	const char *p, *end = buf + len, *nl;
	size_t lines = 0;
	bool have_current = false;
	size_t idx;
	kura_err err;

	if (len == 0 || memchr(buf, '\0', len) != NULL || buf[len - 1] != '\n')
		return KURA_EINVAL;
	for (p = buf; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		lines++;
	}
	if (lines > KR_VERSIONS_MAX + 1)
		return KURA_ETOOBIG;
	if ((err = kr_alloc(lines, &kr)) != KURA_OK)
		return err;
	for (p = buf; p < end; p = nl + 1) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(nl - p);
		if (n > 4 && memcmp(p, "kek ", 4) == 0) {
			if ((err = parse_kek(kr, p + 4, n - 4)) != KURA_OK)
				goto out;
		} else if (n > 8 && memcmp(p, "current ", 8) == 0) {
			if (have_current) {
				err = KURA_EINVAL;
				goto out;
			}
			err = parse_version(p + 8, n - 8, &kr->current);
			if (err != KURA_OK)
				goto out;
			have_current = true;
		} else {
			err = KURA_EINVAL;
			goto out;
		}
	}
	if (!have_current || !kr_find(kr, kr->current, &idx)) {
		err = KURA_EINVAL;
		goto out;
	}
	*ret_kr = kr;
	kr = NULL;
out:
	kcrypto_keyring_free(kr);
	return err;
}

/*
 * Load the keyring at path.  The file must be a regular file (a symlink
 * is refused), owned by the effective uid, with no group/other permission
 * bits (KURA_EPERM otherwise); at most 64 KiB (KURA_ETOOBIG) and strictly
 * well formed (KURA_EINVAL).  KURA_ENOENT if it does not exist.  The
 * caller owns *ret_kr (kcrypto_keyring_free).
 */
kura_err
kcrypto_keyring_load(const char *path, struct kcrypto_keyring **ret_kr)
{
	struct kcrypto_keyring *kr = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;
	kura_err err;

	if (path == NULL || ret_kr == NULL)
		return KURA_EINVAL;
	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	/* O_NONBLOCK so a FIFO planted at path cannot hang us before the
	 * fstat check refuses it. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno_err(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		err = KURA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		err = KURA_EPERM;
		goto out;
	}
	if (st.st_size > KR_FILE_MAX) {
		err = KURA_ETOOBIG;
		goto out;
	}
	/* The file holds keys: read it into guarded memory. */
	if ((buf = sodium_malloc(KR_FILE_MAX + 1)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, KR_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = KURA_EIO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > KR_FILE_MAX) {
			err = KURA_ETOOBIG;
			goto out;
		}
	}
	if ((err = kr_parse(buf, len, &kr)) != KURA_OK)
		goto out;
	sodium_mprotect_readonly(kr->keys);
	*ret_kr = kr;
	kr = NULL;
out:
	if (buf != NULL) {
		sodium_memzero(buf, len);
		sodium_free(buf);
	}
	if (fd >= 0)
		close(fd);
	kcrypto_keyring_free(kr);
	return err;
}

/* Serialise kr into guarded memory; caller sodium_free's *ret_buf. */
static kura_err
kr_format(const struct kcrypto_keyring *kr, char **ret_buf, size_t *ret_len)
{
	char *buf;
	size_t len = 0;
	int n;
	kura_err err = KURA_EINTERNAL;

	if ((buf = sodium_malloc(KR_FILE_MAX)) == NULL)
		return KURA_ENOMEM;
	for (size_t i = 0; i < kr->n; i++) {
		n = snprintf(buf + len, KR_FILE_MAX - len, "kek %u ",
		    kr->versions[i]);
		if (n < 0 || (size_t)n >= KR_FILE_MAX - len)
			goto out;
		len += (size_t)n;
		if (KR_FILE_MAX - len < KR_B64_LEN + 2)
			goto out;
		sodium_bin2base64(buf + len, KR_B64_LEN + 1,
		    kr->keys + i * KCRYPTO_KEY_LEN, KCRYPTO_KEY_LEN,
		    KR_B64_VARIANT);
		len += KR_B64_LEN;
		buf[len++] = '\n';
	}
	n = snprintf(buf + len, KR_FILE_MAX - len, "current %u\n", kr->current);
	if (n < 0 || (size_t)n >= KR_FILE_MAX - len)
		goto out;
	len += (size_t)n;
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	err = KURA_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	return err;
}

/* Directory part of path ("." if none); malloc'd. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return kura_strdup(".");
	if (slash == path)
		return kura_strdup("/");
	return kura_strndup(path, (size_t)(slash - path));
}

static kura_err
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return KURA_EIO;
		p += w;
		len -= (size_t)w;
	}
	return KURA_OK;
}

/*
 * Write data to path atomically: a fresh 0600 temp file in the same
 * directory (O_EXCL|O_NOFOLLOW), fsync, then rename over path (replace) or
 * link to path (create; KURA_EEXIST if path exists), then fsync the
 * directory.  The temp file is removed on every failure.
 */
static kura_err
write_atomic(const char *path, const char *data, size_t len, bool replace)
{
	uint8_t rnd[8];
	char *tmp = NULL, *dir = NULL;
	size_t tmpcap;
	int fd = -1, dfd = -1;
	bool have_tmp = false;
	kura_err err;

	if (!kura_size_add(strlen(path), 32, &tmpcap) ||
	    (tmp = malloc(tmpcap)) == NULL || (dir = dir_of(path)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (int i = 0; i < KR_TMP_TRIES && fd < 0; i++) {
		char hex[2 * sizeof(rnd) + 1];

		if ((err = kcrypto_random(rnd, sizeof(rnd))) != KURA_OK)
			goto out;
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(tmp, tmpcap, "%s.tmp.%s", path, hex);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			err = errno_err(errno);
			goto out;
		}
	}
	if (fd < 0) {
		err = KURA_EIO;
		goto out;
	}
	have_tmp = true;
	if ((err = write_all(fd, data, len)) != KURA_OK)
		goto out;
	if (fsync(fd) != 0) {
		err = KURA_EIO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = KURA_EIO;
		goto out;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) != 0) {
			err = errno_err(errno);
			goto out;
		}
		have_tmp = false;
	} else if (link(tmp, path) != 0) {
		err = errno_err(errno);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		err = KURA_EIO;
		goto out;
	}
	err = KURA_OK;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (have_tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return err;
}

static kura_err
kr_write(const char *path, const struct kcrypto_keyring *kr, bool replace)
{
	char *buf = NULL;
	size_t len = 0;
	kura_err err;

	if ((err = kr_format(kr, &buf, &len)) != KURA_OK)
		return err;
	err = write_atomic(path, buf, len, replace);
	sodium_memzero(buf, len);
	sodium_free(buf);
	return err;
}

/*
 * Take the exclusive cross-process lock for path ("<path>.lock", created
 * 0600 if missing).  *ret_fd holds the lock until closed.  KURA_EPERM if
 * the lock file is not ours or not a regular file.
 */
static kura_err
kr_lock(const char *path, int *ret_fd)
{
	struct stat st;
	char *lpath = NULL;
	size_t cap;
	int fd = -1;
	kura_err err;

	if (!kura_size_add(strlen(path), sizeof(".lock"), &cap) ||
	    (lpath = malloc(cap)) == NULL)
		return KURA_ENOMEM;
	snprintf(lpath, cap, "%s.lock", path);
	fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0600);
	if (fd < 0) {
		err = errno_err(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		err = KURA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		err = KURA_EPERM;
		goto out;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err = KURA_EIO;
			goto out;
		}
	}
	*ret_fd = fd;
	fd = -1;
	err = KURA_OK;
out:
	if (fd >= 0)
		close(fd);
	free(lpath);
	return err;
}

/*
 * Create a keyring file at path holding one random version 1, current.
 * KURA_EEXIST if path exists (never overwrites).
 */
kura_err
kcrypto_keyring_create(const char *path)
{
	struct kcrypto_keyring *kr = NULL;
	kura_err err;

	if (path == NULL || *path == '\0')
		return KURA_EINVAL;
	if ((err = kr_alloc(1, &kr)) != KURA_OK)
		return err;
	if ((err = kcrypto_random(kr->keys, KCRYPTO_KEY_LEN)) != KURA_OK)
		goto out;
	kr->versions[0] = 1;
	kr->n = 1;
	kr->current = 1;
	err = kr_write(path, kr, false);
out:
	kcrypto_keyring_free(kr);
	return err;
}

/*
 * Under the lock: load path, add version max+1 with a random key, make it
 * current, write back atomically.  KURA_ETOOBIG at KR_VERSIONS_MAX
 * versions, KURA_ERANGE past KCRYPTO_VERSION_MAX, load errors as
 * kcrypto_keyring_load.
 */
kura_err
kcrypto_keyring_add_version(const char *path, uint32_t *ret_version)
{
	struct kcrypto_keyring *old = NULL, *kr = NULL;
	uint32_t v;
	int lfd = -1;
	kura_err err;

	if (path == NULL || ret_version == NULL)
		return KURA_EINVAL;
	if ((err = kr_lock(path, &lfd)) != KURA_OK)
		return err;
	if ((err = kcrypto_keyring_load(path, &old)) != KURA_OK)
		goto out;
	if (old->n >= KR_VERSIONS_MAX) {
		err = KURA_ETOOBIG;
		goto out;
	}
	v = old->versions[old->n - 1];
	if (v >= KCRYPTO_VERSION_MAX) {
		err = KURA_ERANGE;
		goto out;
	}
	v++;
	if ((err = kr_alloc(old->n + 1, &kr)) != KURA_OK)
		goto out;
	memcpy(kr->versions, old->versions, old->n * sizeof(uint32_t));
	memcpy(kr->keys, old->keys, old->n * KCRYPTO_KEY_LEN);
	kr->versions[old->n] = v;
	if ((err = kcrypto_random(kr->keys + old->n * KCRYPTO_KEY_LEN,
	    KCRYPTO_KEY_LEN)) != KURA_OK)
		goto out;
	kr->n = old->n + 1;
	kr->current = v;
	if ((err = kr_write(path, kr, true)) != KURA_OK)
		goto out;
	*ret_version = v;
out:
	kcrypto_keyring_free(kr);
	kcrypto_keyring_free(old);
	close(lfd);
	return err;
}

static bool
listed(uint32_t v, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] == v)
			return true;
	}
	return false;
}

/*
 * Under the lock: drop from the file every version that is neither
 * current nor in in_use, and report how many went.  The file is only
 * rewritten when something is removed.  The caller must pass every KEK
 * version still referenced by a wrapped tenant key: a dropped KEK makes
 * the keys it wrapped unrecoverable.
 */
kura_err
kcrypto_keyring_retire(const char *path, const uint32_t *in_use,
    size_t n_in_use, size_t *ret_removed)
{
	struct kcrypto_keyring *old = NULL, *kr = NULL;
	size_t keep = 0;
	int lfd = -1;
	kura_err err;

	if (path == NULL || ret_removed == NULL ||
	    (in_use == NULL && n_in_use != 0))
		return KURA_EINVAL;
	if ((err = kr_lock(path, &lfd)) != KURA_OK)
		return err;
	if ((err = kcrypto_keyring_load(path, &old)) != KURA_OK)
		goto out;
	if ((err = kr_alloc(old->n, &kr)) != KURA_OK)
		goto out;
	for (size_t i = 0; i < old->n; i++) {
		uint32_t v = old->versions[i];

		if (v != old->current && !listed(v, in_use, n_in_use))
			continue;
		kr->versions[keep] = v;
		memcpy(kr->keys + keep * KCRYPTO_KEY_LEN,
		    old->keys + i * KCRYPTO_KEY_LEN, KCRYPTO_KEY_LEN);
		keep++;
	}
	kr->n = keep;
	kr->current = old->current;
	if (keep != old->n && (err = kr_write(path, kr, true)) != KURA_OK)
		goto out;
	*ret_removed = old->n - keep;
out:
	kcrypto_keyring_free(kr);
	kcrypto_keyring_free(old);
	close(lfd);
	return err;
}

uint32_t
kcrypto_keyring_current(const struct kcrypto_keyring *kr)
{
	return kr != NULL ? kr->current : 0;
}

bool
kcrypto_keyring_has(const struct kcrypto_keyring *kr, uint32_t version)
{
	size_t i;

	return kr != NULL && kr_find(kr, version, &i);
}

size_t
kcrypto_keyring_count(const struct kcrypto_keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

/* The i-th version, ascending; 0 if i is out of range. */
uint32_t
kcrypto_keyring_version_at(const struct kcrypto_keyring *kr, size_t i)
{
	if (kr == NULL || i >= kr->n)
		return 0;
	return kr->versions[i];
}

const uint8_t *
kcrypto_keyring_key(const struct kcrypto_keyring *kr, uint32_t version)
{
	size_t i;

	if (kr == NULL || !kr_find(kr, version, &i))
		return NULL;
	return kr->keys + i * KCRYPTO_KEY_LEN;
}

/* First 16 hex chars of SHA-256 of the KEK; KURA_ENOENT if absent. */
kura_err
kcrypto_keyring_fingerprint(const struct kcrypto_keyring *kr,
    uint32_t version, char ret_fp[17])
{
	const uint8_t *key;
	char fp[17];
	kura_err err;

	if (ret_fp == NULL)
		return KURA_EINVAL;
	if ((key = kcrypto_keyring_key(kr, version)) == NULL)
		return KURA_ENOENT;
	if ((err = kcrypto_sha256_hex_n(key, KCRYPTO_KEY_LEN, 8, fp)) !=
	    KURA_OK)
		return err;
	memcpy(ret_fp, fp, sizeof(fp));
	return KURA_OK;
}
