/* Certificate set for the TLS listeners, swappable at run time (SIGHUP). */
#ifndef KURA_HTTP_TLS_H
#define KURA_HTTP_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "core/error.h"

/* Load cert chain and key from PEM files and make them the active pair.
 * The key file must pass config_check_private_file.  On failure the
 * active pair (if any) is kept and *ret_msg explains. */
kura_err tls_load(const char *cert_path, const char *key_path, char **ret_msg);
/* gnutls_certificate_retrieve_function2 handing out the active pair. */
int tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);
/* Free every pair ever loaded (only after all TLS sessions are gone). */
void tls_free_all(void);



/* Create a self-signed ECDSA P-256 certificate (CN and SAN localhost,
 * 127.0.0.1, ::1; valid 397 days) and its key; both files are created
 * with O_EXCL, the key mode 0600. */
kura_err tls_make_self_signed(const char *cert_path, const char *key_path,
    char **ret_msg);
#endif
