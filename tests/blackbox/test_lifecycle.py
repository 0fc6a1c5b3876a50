"""Process lifecycle: SIGTERM drains in-flight requests (MON-3/AVL-2),
refused start on readable secrets (CRY-2), `kura check`, SIGHUP certificate
reload (CRY-3), IPv4 + IPv6, and `kura init` file permissions (CRY-2)."""
import hashlib
import json
import os
import re
import socket
import time

import pytest
import requests

from kura_fixture import (cert_fingerprint_pem, file_mode,
                          make_self_signed, peer_cert_der, read_http_response,
                          run_kura)

LOGIN = "/api/v1/auth/login"


def _connect_refused(host: str, port: int) -> bool:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
    except (ConnectionRefusedError, socket.timeout, OSError):
        return True
    finally:
        s.close()
    return False


# ---------------------------------------------------------------- SIGTERM

def test_sigterm_drains_in_flight_request(kura):
    """MON-3/AVL-2: SIGTERM lets an in-flight request finish (a complete
    response, not a reset), refuses new connections, then exits 0."""
    body = json.dumps({"contract_id": "no-such-contract", "login_id": "nobody",
                       "password": "Wrong-password-1"}).encode()
    half = len(body) // 2
    s = kura.tls_socket()
    try:
        s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\n"
                  b"Host: localhost\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:half])
        time.sleep(0.3)  # the server has the headers: the request is in flight
        kura.sigterm()
        time.sleep(0.5)
        assert kura.running, "server exited with a request in flight:\n" + kura.log()
        # no new connections while draining, on either family
        assert _connect_refused("127.0.0.1", kura.port)
        assert _connect_refused("::1", kura.port)
        s.sendall(body[half:])
        resp = read_http_response(s, timeout=10)
    finally:
        s.close()
    assert resp.status in (400, 401), resp
    doc = resp.json()
    assert set(doc) == {"error"} and isinstance(doc["error"]["code"], str), doc
    code = kura.wait(timeout=5)
    assert code == 0, kura.log()
    assert re.search(r"shutting down", kura.log())


def test_sigterm_idle_server_exits_zero_quickly(kura):
    """A SIGTERM with nothing in flight stops the server at once with 0."""
    assert kura.session().get(kura.url("/healthz")).status_code == 200
    t0 = time.monotonic()
    kura.sigterm()
    assert kura.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 3
    assert _connect_refused("127.0.0.1", kura.port)


def test_restart_keeps_data(kura):
    """Data written before a restart is readable after it; the server
    answers again on both families."""
    t = kura.create_tenant(name="Restart Co")
    kura.restart()
    assert kura.tenant_show(t["tenant_id"])["name"] == "Restart Co"
    s = kura.session()
    for v6 in (False, True):
        assert s.get(kura.url("/readyz", v6=v6)).status_code == 200


# ---------------------------------------------------------------- refused start

@pytest.mark.parametrize("rel,mode", [
    ("keys/kek.keys", 0o644),
    ("keys/kek.keys", 0o640),
    ("kura.ini", 0o640),
    ("kura.ini", 0o604),
    ("tls/key.pem", 0o604),
])
def test_cry2_refuses_start_with_readable_secret(kura_dir, rel, mode):
    """CRY-2: `kura serve` refuses to start when the keyring, the config or
    the TLS key is readable by group or others, and names the file."""
    path = kura_dir.data_dir / rel
    os.chmod(path, mode)
    t0 = time.monotonic()
    proc = kura_dir.spawn()
    code = proc.wait(timeout=10)
    assert code != 0
    assert time.monotonic() - t0 < 5
    log = kura_dir.log()
    assert str(path) in log, log
    assert re.search(r"group or others", log), log
    assert _connect_refused("127.0.0.1", kura_dir.port)
    # fixed permissions: it starts
    os.chmod(path, 0o600)
    kura_dir.start()
    assert kura_dir.session().get(kura_dir.url("/readyz")).status_code == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_cry2_refuses_keyring_owned_by_someone_else(kura_dir):
    """CRY-2: a keyring not owned by the user running kura is refused."""
    os.chown(kura_dir.keyring_path, 65534, 65534)
    proc = kura_dir.spawn()
    assert proc.wait(timeout=10) != 0
    log = kura_dir.log()
    assert str(kura_dir.keyring_path) in log and "owned by" in log, log


def test_cry2_refuses_symlinked_keyring(kura_dir, tmp_path):
    """CRY-2: the keyring is opened without following symlinks."""
    real = tmp_path / "elsewhere.keys"
    real.write_bytes(kura_dir.keyring_path.read_bytes())
    os.chmod(real, 0o600)
    kura_dir.keyring_path.unlink()
    kura_dir.keyring_path.symlink_to(real)
    proc = kura_dir.spawn()
    assert proc.wait(timeout=10) != 0
    assert "kek.keys" in kura_dir.log()


# ---------------------------------------------------------------- kura check

def test_check_good_data_dir(kura_dir):
    """`kura check` on a fresh data dir: exit 0, one ok line per check
    (data-dir, config, tls-policy, tls-cert, keyring, tenant-keys, schema,
    database)."""
    kura_dir.create_tenant()
    p = kura_dir.cli("check")
    assert p.returncode == 0
    lines = p.stdout.strip().splitlines()
    checks = [ln for ln in lines if re.match(r"^(ok|FAIL)\s", ln)]
    assert checks and all(ln.startswith("ok") for ln in checks), p.stdout
    names = {ln.split()[1] for ln in checks}
    for want in ("data-dir", "config", "tls-policy", "tls-cert", "keyring",
                 "tenant-keys", "database"):
        assert want in names, (want, p.stdout)
    assert len(names) == len(checks), "one line per check"
    assert "FAIL" not in p.stdout


def test_check_fails_on_readable_keyring(kura_dir):
    """CRY-2: after chmod 0644 of the keyring, `kura check` exits 1 and a
    FAIL line names the keyring."""
    os.chmod(kura_dir.keyring_path, 0o644)
    p = kura_dir.cli("check", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    fails = [ln for ln in p.stdout.splitlines() if ln.startswith("FAIL")]
    assert any("kek.keys" in ln for ln in fails), p.stdout


@pytest.mark.parametrize("rel", ["kura.ini", "tls/key.pem"])
def test_check_fails_on_other_readable_secrets(kura_dir, rel):
    """CRY-2/CRY-3: `kura check` also flags a readable config or TLS key."""
    os.chmod(kura_dir.data_dir / rel, 0o644)
    p = kura_dir.cli("check", check=False)
    assert p.returncode == 1
    fails = [ln for ln in p.stdout.splitlines() if ln.startswith("FAIL")]
    assert any(rel.split("/")[-1] in ln for ln in fails), p.stdout


def test_check_fails_on_open_data_dir(kura_dir):
    """`kura check` flags a data directory others can enter."""
    os.chmod(kura_dir.data_dir, 0o755)
    p = kura_dir.cli("check", check=False)
    assert p.returncode == 1
    assert re.search(r"^FAIL\s+data-dir", p.stdout, re.M), p.stdout


# ---------------------------------------------------------------- SIGHUP

def _sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def test_cry3_sighup_reloads_certificate(kura):
    """CRY-3: a new certificate written over tls/cert.pem + key.pem is
    presented to new connections after SIGHUP; the log says so."""
    old_fp = cert_fingerprint_pem(kura.cert_path)
    assert _sha256(peer_cert_der(kura.port, cafile=kura.cert_path)) == old_fp
    make_self_signed(kura.cert_path, kura.key_path, cn="reloaded",
                     san="IP:127.0.0.1,IP:::1,DNS:localhost")
    assert file_mode(kura.key_path) == 0o600
    new_fp = cert_fingerprint_pem(kura.cert_path)
    assert new_fp != old_fp
    kura.sighup()
    deadline = time.monotonic() + 5
    seen = None
    while time.monotonic() < deadline:
        seen = _sha256(peer_cert_der(kura.port))
        if seen == new_fp:
            break
        time.sleep(0.1)
    assert seen == new_fp, "new connections still get the old certificate"
    # verifies against the new certificate, on both families
    for host in ("127.0.0.1", "::1"):
        assert _sha256(peer_cert_der(kura.port, host=host,
                                     cafile=kura.cert_path)) == new_fp
    assert kura.session().get(kura.url("/healthz")).status_code == 200
    assert re.search(r"certificate reloaded", kura.log()), kura.log()
    assert kura.running


def test_cry3_sighup_with_bad_certificate_keeps_old(kura):
    """CRY-3: SIGHUP with a broken certificate keeps serving the old one,
    logs the failure, and the server stays up."""
    good_fp = cert_fingerprint_pem(kura.cert_path)
    good_pem = kura.cert_path.read_text()
    kura.cert_path.write_text("-----BEGIN CERTIFICATE-----\nnot a cert\n"
                              "-----END CERTIFICATE-----\n")
    kura.sighup()
    time.sleep(0.5)
    assert kura.running
    assert _sha256(peer_cert_der(kura.port)) == good_fp
    log = kura.log()
    assert re.search(r"reload failed", log), log
    # verification against the old certificate still works
    s = requests.Session()
    s.trust_env = False
    pinned = kura.base / "old-cert.pem"
    pinned.write_text(good_pem)
    s.verify = str(pinned)
    assert s.get(kura.url("/readyz")).status_code == 200


def test_cry3_sighup_with_mismatched_key_keeps_old(kura, tmp_path):
    """CRY-3: a certificate whose key does not match is refused on reload."""
    good_fp = cert_fingerprint_pem(kura.cert_path)
    other = tmp_path / "other"
    other.mkdir()
    make_self_signed(other / "cert.pem", other / "key.pem")
    kura.key_path.write_bytes((other / "key.pem").read_bytes())
    assert file_mode(kura.key_path) == 0o600
    kura.sighup()
    time.sleep(0.5)
    assert kura.running
    assert _sha256(peer_cert_der(kura.port)) == good_fp
    assert re.search(r"reload failed", kura.log()), kura.log()


def test_cry2_sighup_refuses_readable_key(kura):
    """CRY-2/CRY-3: a reload does not accept a key file others can read."""
    good_fp = cert_fingerprint_pem(kura.cert_path)
    make_self_signed(kura.cert_path, kura.key_path, cn="readable")
    os.chmod(kura.key_path, 0o644)
    kura.sighup()
    time.sleep(0.5)
    assert kura.running
    assert _sha256(peer_cert_der(kura.port)) == good_fp
    assert re.search(r"reload failed.*group or others", kura.log()), kura.log()


# ---------------------------------------------------------------- families

def test_ipv4_and_ipv6_both_answer(kura):
    """CRY-3: the server listens on 127.0.0.1 and ::1 with TLS."""
    s = kura.session()
    for v6 in (False, True):
        r = s.get(kura.url("/readyz", v6=v6))
        assert r.status_code == 200 and r.json()["status"] == "ready"
        assert r.headers["Strict-Transport-Security"]


# ---------------------------------------------------------------- init

def test_init_modes(kura_dir):
    """CRY-2: `kura init` makes the data dir 0700 and the config, keyring,
    TLS key and database 0600; the secret subdirectories are 0700."""
    d = kura_dir.data_dir
    assert file_mode(d) == 0o700
    for rel in ("kura.ini", "keys/kek.keys", "tls/key.pem", "kura.db"):
        assert file_mode(d / rel) == 0o600, rel
    for rel in ("keys", "tls"):
        assert file_mode(d / rel) == 0o700, rel
    # every other file is private too
    for root, dirs, files in os.walk(d):
        for name in files:
            assert file_mode(os.path.join(root, name)) & 0o077 == 0, name
    # the keyring holds 256-bit key material, not an empty file
    assert kura_dir.keyring_path.stat().st_size >= 32


def test_init_refuses_non_empty_dir(tmp_path):
    """`kura init` does not touch a directory that already has content."""
    d = tmp_path / "occupied"
    d.mkdir()
    (d / "precious.txt").write_text("keep me")
    p = run_kura("init", "--data-dir", str(d), check=False)
    assert p.returncode != 0
    assert "not empty" in p.stderr, p.stderr
    assert sorted(os.listdir(d)) == ["precious.txt"]
    assert (d / "precious.txt").read_text() == "keep me"


def test_init_refuses_existing_data_dir(kura_dir):
    """Re-running `kura init` on a data directory keeps its keyring."""
    before = kura_dir.keyring_path.read_bytes()
    p = run_kura("init", "--data-dir", str(kura_dir.data_dir), check=False)
    assert p.returncode != 0
    assert kura_dir.keyring_path.read_bytes() == before


def test_init_certificate_names_loopback(kura_dir):
    """The generated certificate is ECDSA P-256 with SANs for localhost,
    127.0.0.1 and ::1."""
    import subprocess
    out = subprocess.run(["openssl", "x509", "-in", str(kura_dir.cert_path),
                          "-noout", "-text"], capture_output=True, text=True,
                         check=True).stdout
    assert re.search(r"prime256v1|P-256", out), out
    assert "DNS:localhost" in out
    assert "IP Address:127.0.0.1" in out
    assert re.search(r"IP Address:0:0:0:0:0:0:0:1|IP Address:::1", out), out
    assert not re.search(r"sha1With", out, re.I)


# ---------------------------------------------------------- malloc cache

def _start_env(kura_dir) -> bytes:
    """Start serve and return the environment its running program was
    started with (after its own re-execution: same process id).  The raw
    block: glibc cuts GLIBC_TUNABLES at each ':' in place as it reads it."""
    kura_dir.start()
    return open(f"/proc/{kura_dir.proc.pid}/environ", "rb").read()


def test_serve_runs_with_a_larger_malloc_cache(kura_dir):
    """Performance (issue 7, docs/performance.md run 8): serve runs itself
    again once with glibc's per-thread cache raised; an operator's own
    tcache_count is kept, other tunables are kept and added to."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("GLIBC_TUNABLES", "KURA_TUNED")}

    kura_dir.env = base
    env = _start_env(kura_dir)
    assert b"\0GLIBC_TUNABLES=glibc.malloc.tcache_count=256\0" in b"\0" + env
    assert b"KURA_TUNED=1" in env           # the second start
    assert kura_dir.session().get(kura_dir.url("/healthz")).status_code == 200
    assert kura_dir.stop() == 0

    kura_dir.env = dict(base, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=131072")
    env = _start_env(kura_dir)
    assert (b"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072\0"
            b"glibc.malloc.tcache_count=256\0") in env
    assert kura_dir.stop() == 0

    kura_dir.env = dict(base, GLIBC_TUNABLES="glibc.malloc.tcache_count=16")
    env = _start_env(kura_dir)
    assert b"GLIBC_TUNABLES=glibc.malloc.tcache_count=16\0" in env
    assert b"tcache_count=256" not in env
    assert b"KURA_TUNED=" not in env        # not run again
    assert kura_dir.stop() == 0
