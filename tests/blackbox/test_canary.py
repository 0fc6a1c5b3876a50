"""CRY-1 encryption at rest: a random canary written as a tenant's name,
its admin's e-mail and login id never appears in any file of the data
directory (database, WAL, shared memory, anything else), in UTF-8 or
UTF-16, while the server runs or after it stops; `kura tenant show` (an
authorised reader) shows it decrypted (CRY-4)."""
import os
import secrets
import tempfile
import time
from pathlib import Path

import pytest


def encodings(s: str) -> list[bytes]:
    return [s.encode("utf-8"), s.encode("utf-16-le"), s.encode("utf-16-be"),
            s.upper().encode("utf-8"), s.lower().encode("utf-8")]


def files_under(root: Path):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                yield p


def find_in_files(paths, needles: dict) -> list:
    """[(file, label)] for every needle found in any file (read as bytes)."""
    hits = []
    for p in paths:
        try:
            data = p.read_bytes()
        except (PermissionError, FileNotFoundError, IsADirectoryError):
            continue
        for label, values in needles.items():
            for v in values:
                if v in data:
                    hits.append((str(p), label, v))
    return hits


@pytest.fixture
def canaries():
    tag = secrets.token_hex(12)
    return {
        "name": f"canary{tag}",
        "email_local": f"canary{secrets.token_hex(12)}",
        "login": f"login{secrets.token_hex(12)}",
    }


def test_cry1_canary_not_in_data_dir(kura, canaries):
    """CRY-1: tenant name, admin e-mail and admin login id are encrypted
    before they reach the database, its WAL or any other file; CRY-4: the
    CLI shows them decrypted."""
    started = time.time()
    name = f"Canary Corp {canaries['name']}"
    email = f"{canaries['email_local']}@example.com"
    t = kura.create_tenant(name=name, email=email, login=canaries["login"])
    # the running server has the database open (WAL mode)
    assert kura.session().get(kura.url("/readyz")).json()["status"] == "ready"

    needles = {label: encodings(v) for label, v in canaries.items()}
    needles["email"] = encodings(email)

    files_running = list(files_under(kura.data_dir))
    assert any(p.name == "kura.db" for p in files_running)
    hits = find_in_files(files_running, needles)
    assert not hits, f"plaintext customer content on disk (server running): {hits}"

    assert kura.stop() == 0
    files_stopped = list(files_under(kura.data_dir))
    hits = find_in_files(files_stopped, needles)
    assert not hits, f"plaintext customer content on disk (server stopped): {hits}"
    # the server log never holds customer content either (LOG-1)
    hits = find_in_files([kura.log_path], needles)
    assert not hits, f"customer content in the server log: {hits}"
    # temporary files written meanwhile (SQLite temp files, spill files)
    tmp_recent = [p for p in files_under(Path(tempfile.gettempdir()))
                  if _recent_small(p, started)]
    hits = find_in_files(tmp_recent, needles)
    assert not hits, f"customer content in a temporary file: {hits}"

    # an authorised reader sees the plaintext (CRY-4)
    shown = kura.cli("tenant", "show", t["tenant_id"]).stdout
    assert name in shown and email in shown and canaries["login"] in shown
    doc = kura.tenant_show(t["contract_id"])
    assert doc["id"] == t["tenant_id"]
    assert doc["name"] == name
    assert [u["email"] for u in doc["users"]] == [email]
    assert [u["login_id"] for u in doc["users"]] == [canaries["login"]]
    listed = kura.tenant_list()
    assert [x["name"] for x in listed if x["id"] == t["tenant_id"]] == [name]


def _recent_small(p: Path, since: float) -> bool:
    try:
        st = p.stat()
    except OSError:
        return False
    return st.st_mtime >= since - 1 and st.st_size < 64 * 1024 * 1024


def test_cry1_canary_survives_restart_and_many_tenants(kura):
    """CRY-1: with several tenants (each its own data key) and a server
    restart, no tenant's canary reaches the disk and each reads back."""
    made = []
    for _ in range(3):
        c = f"canary{secrets.token_hex(12)}"
        made.append((kura.create_tenant(name=c, email=f"{c}@example.org"), c))
    kura.restart()
    kura.stop()
    needles = {c: encodings(c) for _, c in made}
    hits = find_in_files(list(files_under(kura.data_dir)), needles)
    assert not hits, hits
    for t, c in made:
        doc = kura.tenant_show(t["tenant_id"])
        assert doc["name"] == c and doc["users"][0]["email"] == f"{c}@example.org"


def test_cry1_ciphertext_is_bound_to_its_row(kura_dir):
    """CRY-1: ciphertexts are bound to tenant/table/column/row, so swapping
    two tenants' encrypted names in the database makes them unreadable
    instead of showing the other tenant's name."""
    import sqlite3
    a = kura_dir.create_tenant(name="Alpha Name")
    b = kura_dir.create_tenant(name="Bravo Name")
    con = sqlite3.connect(kura_dir.db_path)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(tenants)")]
        assert "name" in cols, cols
        na = con.execute("SELECT name FROM tenants WHERE id=?", (a["tenant_id"],)).fetchone()[0]
        nb = con.execute("SELECT name FROM tenants WHERE id=?", (b["tenant_id"],)).fetchone()[0]
        assert isinstance(na, bytes) and b"Alpha" not in na
        con.execute("UPDATE tenants SET name=? WHERE id=?", (nb, a["tenant_id"]))
        con.commit()
    finally:
        con.close()
    p = kura_dir.cli("tenant", "show", a["tenant_id"], "--json", check=False)
    assert p.returncode != 0, p.stdout
    assert "Bravo Name" not in p.stdout
    assert "Bravo Name" not in p.stderr
    assert a["tenant_id"] in p.stderr
    # the untouched tenant still reads
    assert kura_dir.tenant_show(b["tenant_id"])["name"] == "Bravo Name"
