"""CRY-3 transport: TLS 1.2/1.3 with ECDHE + AEAD only, no SHA-1
signatures, no plaintext listener.  Real handshakes with `openssl s_client`
against the running server; assertions are on the negotiated protocol and
cipher, not only on exit codes."""
import socket

import pytest

from kura_fixture import SClient

# The client's own default policy would refuse TLS 1.0/1.1 and SHA-1; lower
# it so a refusal can only come from the server.
LEGACY = ("-cipher", "DEFAULT:@SECLEVEL=0")


def refused(r: SClient) -> bool:
    return not r.established and r.rc != 0


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_cry3_old_tls_versions_refused(kura_shared, flag, v6):
    """CRY-3: TLS 1.0 and 1.1 are refused (on 127.0.0.1 and ::1)."""
    r = kura_shared.s_client(flag, *LEGACY, v6=v6)
    assert refused(r), r
    assert r.cipher is None and r.protocol is None, r


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_cry3_tls12_accepted(kura_shared, v6):
    """CRY-3: TLS 1.2 handshake succeeds with an ECDHE AEAD suite and the
    certificate verifies."""
    r = kura_shared.s_client("-tls1_2", v6=v6)
    assert r.rc == 0 and r.established, r
    assert r.protocol == "TLSv1.2", r
    assert r.cipher.startswith("ECDHE-") and ("GCM" in r.cipher or "CHACHA20" in r.cipher), r
    assert r.verify == 0, r


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_cry3_tls13_accepted(kura_shared, v6):
    """CRY-3: TLS 1.3 handshake succeeds."""
    r = kura_shared.s_client("-tls1_3", v6=v6)
    assert r.rc == 0 and r.established, r
    assert r.protocol == "TLSv1.3", r
    assert r.cipher in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                        "TLS_CHACHA20_POLY1305_SHA256"), r
    assert r.verify == 0, r


@pytest.mark.parametrize("cipher", [
    "ECDHE-ECDSA-AES128-SHA",       # CBC, SHA-1 MAC
    "ECDHE-ECDSA-AES256-SHA384",    # CBC
    "ECDHE-ECDSA-AES128-SHA256",    # CBC
    "ECDHE-RSA-AES128-SHA",         # CBC
])
def test_cry3_cbc_suites_refused(kura_shared, cipher):
    """CRY-3: CBC suites are refused under TLS 1.2."""
    r = kura_shared.s_client("-tls1_2", "-cipher", cipher + ":@SECLEVEL=0")
    assert refused(r), r


@pytest.mark.parametrize("cipher", [
    "AES256-GCM-SHA384",            # RSA key exchange, AEAD
    "AES128-GCM-SHA256",
    "PSK-AES128-GCM-SHA256",
])
def test_cry3_non_ecdhe_suites_refused(kura_shared, cipher):
    """CRY-3: suites without ECDHE key exchange are refused, even with an
    AEAD cipher."""
    r = kura_shared.s_client("-tls1_2", "-cipher", cipher + ":@SECLEVEL=0")
    assert refused(r), r


@pytest.mark.parametrize("cipher", [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
])
def test_cry3_ecdhe_aead_suites_accepted(kura_shared, cipher):
    """CRY-3: each ECDHE + AEAD suite is negotiated exactly when it is the
    only one offered."""
    r = kura_shared.s_client("-tls1_2", "-cipher", cipher)
    assert r.rc == 0 and r.established, r
    assert r.protocol == "TLSv1.2" and r.cipher == cipher, r


def test_cry3_tls13_chacha20_accepted(kura_shared):
    """CRY-3: TLS 1.3 with ChaCha20-Poly1305."""
    r = kura_shared.s_client("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
    assert r.protocol == "TLSv1.3" and r.cipher == "TLS_CHACHA20_POLY1305_SHA256", r


def test_cry3_sha1_signatures_refused(kura_shared):
    """CRY-3: a client that offers only SHA-1 signature algorithms gets no
    handshake; the same client with SHA-256 does (so the refusal is about
    SHA-1)."""
    r = kura_shared.s_client("-tls1_2", "-sigalgs", "ECDSA+SHA1", *LEGACY)
    assert refused(r), r
    ok = kura_shared.s_client("-tls1_2", "-sigalgs", "ECDSA+SHA256", *LEGACY)
    assert ok.established and ok.protocol == "TLSv1.2", ok
    assert "ECDHE" in ok.cipher, ok


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_cry3_no_plaintext_listener(kura_shared, v6):
    """CRY-3: plain HTTP on the HTTPS port gets no HTTP response."""
    host = "::1" if v6 else "127.0.0.1"
    with socket.create_connection((host, kura_shared.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        try:
            while len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert not data.startswith(b"HTTP/"), data[:200]
    assert b'"status":"ok"' not in data
    # the server is still fine afterwards
    assert kura_shared.session().get(kura_shared.url("/healthz")).status_code == 200


def test_cry3_certificate_verifies_on_both_families(kura_shared):
    """CRY-3: the self-signed certificate names 127.0.0.1 and ::1 so clients
    verify it on either address (requests with verify=<cert.pem>)."""
    s = kura_shared.session()
    for v6 in (False, True):
        r = s.get(kura_shared.url("/healthz", v6=v6))
        assert r.status_code == 200 and r.json() == {"status": "ok"}
