#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/mem.h"
#include "http/http.h"
#include "http/tls.h"

/*
 * TLS 1.2 and 1.3 only; ECDHE key exchange; AEAD ciphers only (no CBC, so no
 * SHA-1 MACs); SHA-2/EdDSA signatures only; server's cipher order.
 * Checked with openssl s_client in tests/blackbox/test_tls.py.
 */
const char http_tls_priorities[] =
    "SECURE:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
    "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
    "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "-SIGN-ALL:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512:"
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:"
    "+SIGN-ECDSA-SECP521R1-SHA512:+SIGN-EDDSA-ED25519:"
    "+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:"
    "+SIGN-RSA-PSS-RSAE-SHA512:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:"
    "+SIGN-RSA-SHA512:-COMP-ALL:+COMP-NULL";

#define TLS_MAX_CHAIN 8
#define TLS_MAX_PEM (256 * 1024)

struct tls_pair {
	gnutls_pcert_st pcert[TLS_MAX_CHAIN];
	unsigned n;
	gnutls_privkey_t key;
	struct tls_pair *older;   /* kept until exit: sessions may still use it */
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_pair *tls_active;

static char *
tls_msg(const char *what, const char *path, int gerr)
{
	return kbuf_strdupf(512, "%s %s: %s", what, path, gnutls_strerror(gerr));
}

static void
pair_free(struct tls_pair *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n; i++)
		gnutls_pcert_deinit(&p->pcert[i]);
	if (p->key != NULL)
		gnutls_privkey_deinit(p->key);
	free(p);
}

kura_err
tls_load(const char *cert_path, const char *key_path, char **ret_msg)
{
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	struct tls_pair *p;
	unsigned n = TLS_MAX_CHAIN;
	kura_err err = KURA_EINVAL;
	int r;

	err = config_check_private_file(key_path, ret_msg);
	if (err)
		return err;
	p = kura_calloc(1, sizeof(*p));
	if (p == NULL)
		return KURA_ENOMEM;
	err = KURA_EINVAL;
	r = gnutls_load_file(cert_path, &cert);
	if (r < 0) {
		*ret_msg = tls_msg("cannot read certificate", cert_path, r);
		goto out;
	}
	r = gnutls_load_file(key_path, &key);
	if (r < 0) {
		*ret_msg = tls_msg("cannot read private key", key_path, r);
		goto out;
	}
	if (cert.size > TLS_MAX_PEM || key.size > TLS_MAX_PEM) {
		*ret_msg = tls_msg("file too large", cert_path, GNUTLS_E_MEMORY_ERROR);
		goto out;
	}
	r = gnutls_pcert_list_import_x509_raw(p->pcert, &n, &cert,
	    GNUTLS_X509_FMT_PEM, 0);
	if (r < 0 || n == 0) {
		*ret_msg = tls_msg("bad certificate", cert_path, r);
		goto out;
	}
	p->n = n;
	r = gnutls_privkey_init(&p->key);
	if (r >= 0)
		r = gnutls_privkey_import_x509_raw(p->key, &key,
		    GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		*ret_msg = tls_msg("bad private key", key_path, r);
		goto out;
	}
	/* the key must belong to the leaf certificate */
	{
		gnutls_pubkey_t pub = p->pcert[0].pubkey;
		unsigned char a[64], b[64];
		size_t alen = sizeof(a), blen = sizeof(b);
		gnutls_pubkey_t kpub;
		r = gnutls_pubkey_init(&kpub);
		if (r >= 0) {
			r = gnutls_pubkey_import_privkey(kpub, p->key, 0, 0);
			if (r >= 0)
				r = gnutls_pubkey_get_key_id(kpub, GNUTLS_KEYID_USE_SHA256, a, &alen);
			gnutls_pubkey_deinit(kpub);
		}
		if (r >= 0)
			r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, b, &blen);
		if (r < 0 || alen != blen || memcmp(a, b, alen) != 0) {
			*ret_msg = tls_msg("private key does not match certificate",
			    key_path, r < 0 ? r : GNUTLS_E_CERTIFICATE_KEY_MISMATCH);
			goto out;
		}
	}
	pthread_mutex_lock(&tls_lock);
	p->older = tls_active;
	tls_active = p;
	pthread_mutex_unlock(&tls_lock);
	p = NULL;
	err = KURA_OK;
out:
	gnutls_free(cert.data);
	if (key.data != NULL) {
		kura_wipe(key.data, key.size);
		gnutls_free(key.data);
	}
	pair_free(p);
	return err;
}

int
tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct tls_pair *p;

	(void)session;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	pthread_mutex_lock(&tls_lock);
	p = tls_active;
	pthread_mutex_unlock(&tls_lock);
	if (p == NULL)
		return -1;
	*pcert = p->pcert;
	*pcert_length = p->n;
	*pkey = p->key;
	return 0;
}

void
tls_free_all(void)
{
	struct tls_pair *p, *next;

	pthread_mutex_lock(&tls_lock);
	p = tls_active;
	tls_active = NULL;
	pthread_mutex_unlock(&tls_lock);
	for (; p != NULL; p = next) {
		next = p->older;
		pair_free(p);
	}
}

/* Write data to a new file (O_EXCL) with the given mode, fsync'd. */
static kura_err
write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	kura_err err = KURA_OK;

	if (fd < 0)
		return errno == EEXIST ? KURA_EEXIST : KURA_EIO;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
		err = KURA_EIO;
	close(fd);
	if (err)
		unlink(path);
	return err;
}

kura_err
tls_make_self_signed(const char *cert_path, const char *key_path, char **ret_msg)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = { NULL, 0 }, cpem = { NULL, 0 };
	unsigned char serial[16];
	time_t now = time(NULL);
	kura_err err = KURA_EINVAL;
	int r;

	if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
	    (r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
	    (r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		goto gerr;
	serial[0] &= 0x7f;  /* positive */
	if ((r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt, now + 397L * 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	    "localhost", 9)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
	    "localhost", 9, GNUTLS_FSAN_APPEND)) < 0)
		goto gerr;
	{
		unsigned char v4[4] = { 127, 0, 0, 1 };
		unsigned char v6[16] = { 0 };
		v6[15] = 1;
		if ((r = gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND)) < 0 ||
		    (r = gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND)) < 0)
			goto gerr;
	}
	if ((r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt,
	    GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) < 0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN, &kpem)) < 0)
		goto gerr;
	err = write_new_file(key_path, kpem.data, kpem.size, 0600);
	if (err) {
		*ret_msg = tls_msg("cannot create", key_path, GNUTLS_E_FILE_ERROR);
		goto out;
	}
	err = write_new_file(cert_path, cpem.data, cpem.size, 0644);
	if (err) {
		unlink(key_path);
		*ret_msg = tls_msg("cannot create", cert_path, GNUTLS_E_FILE_ERROR);
	}
	goto out;
gerr:
	*ret_msg = tls_msg("cannot make a certificate for", cert_path, r);
out:
	if (kpem.data != NULL) {
		kura_wipe(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return err;
}
