"""CRY-2 key management (KEK rotation while the server runs, tenant key
rotation, retirement of unused KEK versions, keyring stays 0600) and TEN-2
contract validation of `kura tenant create`."""
import re
import threading
import time

import pytest

from kura_fixture import file_mode


def key_list(srv) -> list[dict]:
    """Rows of `kura key list`: version, fingerprint, current, tenant keys."""
    out = srv.cli("key", "list").stdout.strip().splitlines()
    assert out[0].split()[:2] == ["KEK", "FINGERPRINT"], out
    rows = []
    for line in out[1:]:
        parts = line.split()
        current = len(parts) == 4 and parts[2] == "yes"
        rows.append({"version": int(parts[0]), "fingerprint": parts[1],
                     "current": current, "tenant_keys": int(parts[-1])})
    return rows


class ReadyzWatcher:
    """Polls /readyz in the background and records every status."""

    def __init__(self, srv):
        self.srv = srv
        self.statuses: list = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        s = self.srv.session()
        while not self._stop.is_set():
            try:
                r = s.get(self.srv.url("/readyz"), timeout=5)
                self.statuses.append(r.status_code)
            except Exception as e:  # noqa: BLE001
                self.statuses.append(repr(e))
            time.sleep(0.01)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(10)


def test_cry2_rotate_kek_while_serving(kura):
    """CRY-2: `kura key rotate-kek` twice while the server runs: every
    tenant still decrypts, only the current KEK version remains, the
    keyring stays 0600, /readyz stays 200 throughout, `kura check` passes."""
    tenants = [kura.create_tenant(name=f"Rotating {i}") for i in range(3)]
    before = key_list(kura)
    assert len(before) == 1 and before[0]["current"] and before[0]["tenant_keys"] == 3

    with ReadyzWatcher(kura) as w:
        outs = []
        for _ in range(2):
            time.sleep(0.1)
            outs.append(kura.cli("key", "rotate-kek").stdout)
        time.sleep(0.1)
    assert len(w.statuses) >= 5, w.statuses
    assert all(s == 200 for s in w.statuses), w.statuses

    for out in outs:
        m = re.search(r"KEK version (\d+) is current; (\d+) tenant key\(s\) "
                      r"re-wrapped; (\d+) old version\(s\) retired", out)
        assert m, out
        assert int(m.group(2)) == 3 and int(m.group(3)) == 1, out

    after = key_list(kura)
    assert len(after) == 1, after
    assert after[0]["current"] and after[0]["tenant_keys"] == 3
    assert after[0]["version"] == before[0]["version"] + 2
    assert after[0]["fingerprint"] != before[0]["fingerprint"]
    assert file_mode(kura.keyring_path) == 0o600
    for t in tenants:
        doc = kura.tenant_show(t["tenant_id"])
        assert doc["name"] == t["name"]
        assert doc["users"][0]["email"] == t["email"]
    # the running server picks up the new keyring for new work
    kura.create_tenant(name="After rotation")
    assert kura.session().get(kura.url("/readyz")).status_code == 200
    p = kura.cli("check")
    assert p.returncode == 0 and "FAIL" not in p.stdout
    assert re.search(r"^ok\s+tenant-keys\s+4 of 4", p.stdout, re.M), p.stdout
    # and after a restart everything still opens
    kura.restart()
    assert kura.session().get(kura.url("/readyz")).json()["checks"]["keys"] == "ok"


def test_cry2_rotate_kek_concurrent_with_tenant_creation(kura):
    """CRY-2: tenants created while the KEK rotates are never left wrapped
    under a retired KEK version."""
    made, errors = [], []

    def creator():
        for i in range(6):
            try:
                made.append(kura.create_tenant(name=f"Concurrent {i}"))
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    t = threading.Thread(target=creator)
    t.start()
    rotations = []
    try:
        for _ in range(3):
            rotations.append(kura.cli("key", "rotate-kek", check=False))
    finally:
        t.join(120)
    assert not errors, errors
    for p in rotations:
        assert p.returncode == 0, p.stderr
    unreadable = []
    for tn in made:
        p = kura.cli("tenant", "show", tn["tenant_id"], "--json", check=False)
        if p.returncode != 0:
            unreadable.append((tn["tenant_id"], p.stderr.strip()))
    assert not unreadable, f"tenants no longer readable: {unreadable}"
    p = kura.cli("check", check=False)
    assert p.returncode == 0, p.stdout
    rows = key_list(kura)
    assert sum(r["tenant_keys"] for r in rows) == len(made)


def test_cry2_tenant_create_waiting_for_rotation_uses_new_kek(kura_dir):
    """CRY-2, deterministic form of the race above: a `tenant create` that
    loaded the keyring and then waited for the key lock while a KEK
    rotation completed must wrap the new tenant key under the current KEK,
    not under the version the rotation just retired.

    The wait is forced by holding the key lock (keys/kek.keys.rotation-lock)
    and then replacing the lock file so the rotation does not wait."""
    import fcntl
    import os
    import subprocess

    from kura_fixture import KURA_BIN

    kura_dir.create_tenant(name="Existing")
    kura_dir.cli("key", "rotate-kek")
    lock_path = kura_dir.keyring_path.with_name("kek.keys.rotation-lock")
    assert lock_path.exists(), "key lock file not where expected"
    fd = os.open(lock_path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    proc = None
    try:
        proc = subprocess.Popen(
            [KURA_BIN, "tenant", "create", "--data-dir", str(kura_dir.data_dir),
             "--contract-id", "late-comer", "--name", "Late Comer", "--seats", "3",
             "--region", "jp", "--timezone", "UTC", "--admin-login", "admin",
             "--admin-email", "late@example.com"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.7)
        assert proc.poll() is None, "tenant create did not wait for the key lock"
        lock_path.unlink()
        rot = kura_dir.cli("key", "rotate-kek")
        assert re.search(r"[1-9]\d* old version\(s\) retired", rot.stdout), rot.stdout
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        if proc is not None:
            out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    current = [r for r in key_list(kura_dir) if r["current"]]
    assert len(current) == 1
    p = kura_dir.cli("tenant", "show", "late-comer", "--json", check=False)
    assert p.returncode == 0, f"new tenant unreadable: {p.stderr}"
    assert kura_dir.tenant_show("late-comer")["name"] == "Late Comer"
    p = kura_dir.cli("check", check=False)
    assert p.returncode == 0, p.stdout


def test_cry2_rotate_tenant_key(kura):
    """CRY-2: `kura key rotate-tenant` adds a data-key version; data sealed
    under the old version still reads; other tenants are untouched."""
    a = kura.create_tenant(name="Tenant A")
    b = kura.create_tenant(name="Tenant B")
    out = kura.cli("key", "rotate-tenant", a["contract_id"]).stdout
    m = re.search(r"tenant (ten_[0-9a-f]+): data key version (\d+) is current", out)
    assert m and m.group(1) == a["tenant_id"] and int(m.group(2)) == 2, out
    out = kura.cli("key", "rotate-tenant", a["tenant_id"]).stdout
    assert re.search(r"data key version 3 is current", out), out
    assert sum(r["tenant_keys"] for r in key_list(kura)) == 4
    assert kura.tenant_show(a["tenant_id"])["name"] == "Tenant A"
    assert kura.tenant_show(b["tenant_id"])["name"] == "Tenant B"
    # KEK rotation re-wraps every version of every tenant key
    out = kura.cli("key", "rotate-kek").stdout
    assert re.search(r"\b4 tenant key\(s\) re-wrapped", out), out
    assert kura.tenant_show(a["tenant_id"])["users"][0]["email"] == a["email"]
    p = kura.cli("check")
    assert re.search(r"^ok\s+tenant-keys\s+4 of 4", p.stdout, re.M), p.stdout
    assert kura.session().get(kura.url("/readyz")).status_code == 200


def test_cry2_rotate_tenant_unknown(kura_dir):
    """`kura key rotate-tenant` of an unknown tenant fails and adds nothing."""
    p = kura_dir.cli("key", "rotate-tenant", "no-such-contract", check=False)
    assert p.returncode != 0
    assert "no-such-contract" in p.stderr
    assert sum(r["tenant_keys"] for r in key_list(kura_dir)) == 0


def test_cry2_key_list_never_prints_key_material(kura_dir):
    """CRY-2: keys are never printed: key list shows 16-hex fingerprints,
    not the keyring's contents."""
    kura_dir.create_tenant()
    out = kura_dir.cli("key", "list").stdout
    ring = kura_dir.keyring_path.read_bytes()
    for token in re.findall(rb"[0-9A-Za-z+/=]{20,}", ring):
        assert token.decode() not in out
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["fingerprint"]) for r in key_list(kura_dir))


# ---------------------------------------------------------------- TEN-2 validation

@pytest.mark.parametrize("override,field", [
    ({"timezone": "Mars/Base"}, "time zone"),
    ({"timezone": "../../etc/passwd"}, "time zone"),
    ({"seats": 0}, "seats"),
    ({"seats": -1}, "seats"),
    ({"seats": "ten"}, "seats"),
    ({"seats": 1000001}, "seats"),
    ({"contract_id": "a b"}, "contract id"),
    ({"contract_id": "x" * 65}, "contract id"),
    ({"email": "no-at-sign.example.com"}, "e-mail"),
    ({"email": "two@@example.com"}, "e-mail"),
    ({"name": ""}, "name"),
    ({"name": "bad\x01name"}, "name"),
    ({"region": "JP"}, "region"),
    ({"login": "has space"}, "login"),
])
def test_ten2_invalid_tenant_fields_refused(kura_dir, override, field):
    """TEN-2: a bad field fails with a message naming the field and leaves
    no tenant (and no tenant key) behind."""
    before = kura_dir.tenant_list()
    keys_before = sum(r["tenant_keys"] for r in key_list(kura_dir))
    res = kura_dir.create_tenant(check=False, **override)
    assert "error" in res, res
    p = res["error"]
    assert p.returncode != 0
    assert field in p.stderr, p.stderr
    assert "created tenant" not in p.stdout
    assert kura_dir.tenant_list() == before
    assert sum(r["tenant_keys"] for r in key_list(kura_dir)) == keys_before


def test_ten2_duplicate_contract_id_refused(kura_dir):
    """TEN-2: a contract id is unique; the second create fails, names it,
    and leaves the first tenant as it was."""
    first = kura_dir.create_tenant(contract_id="acme-001", name="First")
    res = kura_dir.create_tenant(contract_id="acme-001", name="Second", check=False)
    assert "error" in res
    assert res["error"].returncode != 0
    assert "contract id" in res["error"].stderr, res["error"].stderr
    listed = kura_dir.tenant_list()
    assert [t["contract_id"] for t in listed] == ["acme-001"]
    assert listed[0]["id"] == first["tenant_id"] and listed[0]["name"] == "First"
    assert sum(r["tenant_keys"] for r in key_list(kura_dir)) == 1


def test_ten2_tenant_fields_round_trip(kura_dir):
    """TEN-2: contract id, name, seats, status, region and time zone are
    stored as given; a new tenant is active with one tenant admin."""
    t = kura_dir.create_tenant(contract_id="round-trip", name="Round Trip 株式会社",
                               seats=25, timezone="UTC", region="jp")
    doc = kura_dir.tenant_show("round-trip")
    assert doc["contract_id"] == "round-trip"
    assert doc["name"] == "Round Trip 株式会社"
    assert doc["seats"] == 25 and doc["status"] == "active"
    assert doc["region"] == "jp" and doc["timezone"] == "UTC"
    assert len(doc["users"]) == 1
    assert doc["users"][0]["roles"] == "tenant_admin"
    assert doc["users"][0]["login_id"] == t["login"]


def test_ten2_admin_password_file(kura_dir):
    """TEN-2: --admin-password-file sets the admin password (no one-time
    password printed); a weak one is refused with no tenant created."""
    t = kura_dir.create_tenant(password="Correct-Horse-42!")
    assert "one-time password" not in t["stdout"]
    before = kura_dir.tenant_list()
    res = kura_dir.create_tenant(password="password", check=False)
    assert "error" in res and res["error"].returncode != 0
    assert "password" in res["error"].stderr.lower()
    assert kura_dir.tenant_list() == before


def test_ten2_generated_password_is_strong_and_unique(kura_dir):
    """A generated one-time password is long, mixed, and never repeats."""
    pws = [kura_dir.create_tenant()["password"] for _ in range(3)]
    assert len(set(pws)) == 3
    for pw in pws:
        assert len(pw) >= 12
        classes = sum(bool(re.search(p, pw)) for p in
                      (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
        assert classes >= 3, pw
