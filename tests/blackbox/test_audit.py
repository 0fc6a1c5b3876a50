"""LOG-1..LOG-5 and TEN-1 evidence for the audit trail, through the real
server, its CLI and its database file:

  LOG-1  every kind of action leaves one record with the right fields, and
         no secret or customer content reaches any record;
  LOG-2  changing, deleting, inserting or reordering rows of kura.db, and
         cutting the tail after a checkpoint, is detected by
         `kura audit verify` with the first bad record named; the tenant's
         own verification and the offline verification of an export;
  LOG-3  retention with the clock 400 days ahead (faketime) removes old
         records and the rest, plus new ones, still verify;
  LOG-4  times in the tenant's zone (+09:00 for Asia/Tokyo, Z for UTC);
  LOG-5  filters, keyset paging, CSV and JSON-lines exports, own sign-ins;
  TEN-1  one tenant never sees another's records.

Everything runs on loopback against servers these tests start.
"""
from __future__ import annotations

import csv
import io
import json
import re
import secrets
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from identity_helpers import (FAST_ARGON, Api, Tenant, accept, enrol_totp,
                              raw_login, random_id, signed_in, strong_password)
from kura_fixture import KURA_BIN, KuraServer, run_kura

# generous request limits: these tests count records, not 429s
SETTINGS = dict(FAST_ARGON)
SETTINGS.update({("ratelimit", k): v for k, v in (
    ("per_address_rate", "100000"), ("per_address_burst", "100000"),
    ("per_user_rate", "100000"), ("per_user_burst", "100000"),
    ("per_tenant_rate", "100000"), ("per_tenant_burst", "100000"),
    ("block_after", "1000000"))})

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
FIRST_BAD = re.compile(r"first bad record: seq (\d+), id (evt_[0-9a-f]{32})")


class Bearer(Api):
    def __init__(self, srv, token):
        super().__init__(srv)
        self.s.headers["Authorization"] = f"Bearer {token}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-audit"), settings=SETTINGS)
    try:
        s.start()
        yield s
    finally:
        s.close()


def db_rows(srv: KuraServer, where: str = "1", args: tuple = ()) -> list[dict]:
    con = sqlite3.connect(str(srv.db_path), timeout=10)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(
            f"SELECT * FROM audit_events WHERE {where} ORDER BY seq", args)]
    finally:
        con.close()


def record_of(srv: KuraServer, r) -> dict:
    """The one audit record of response r (by its X-Request-Id)."""
    rid = r.headers["X-Request-Id"]
    rows = db_rows(srv, "request_id = ?", (rid,))
    assert len(rows) == 1, f"{len(rows)} records for request {rid} " \
        f"({r.request.method} {r.request.url} -> {r.status_code})"
    return rows[0]


def check(rec: dict, **want) -> None:
    for k, v in want.items():
        got = rec[k]
        if k == "detail":
            got = json.loads(got)
            for dk, dv in v.items():
                assert got.get(dk) == dv, f"detail.{dk}: {got} (record {rec})"
            continue
        assert got == v, f"{k}: want {v!r}, got {got!r} in {rec}"


def tenant_in_zone(srv: KuraServer, zone: str) -> Tenant:
    """A Tenant (see identity_helpers) whose display zone is zone."""
    t = Tenant.__new__(Tenant)
    t.srv = srv
    t.admin_password = strong_password()
    info = srv.create_tenant(timezone=zone, password=t.admin_password)
    t.info = info
    t.tenant_id, t.contract_id = info["tenant_id"], info["contract_id"]
    t.admin_login = "admin"
    t.admin = signed_in(srv, t.contract_id, "admin", t.admin_password)
    t.admin_id = t.admin.user["id"]
    return t


def all_items(c: Api, path="/api/v1/audit-events", limit=200, **params) -> list:
    """Every item of a listing, following next_cursor."""
    items, cursor, pages = [], None, 0
    while True:
        q = dict(params, limit=limit)
        if cursor is not None:
            q["cursor"] = cursor
        r = c.get(path, params=q)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert set(doc) == {"items", "next_cursor"}, doc
        items += doc["items"]
        cursor = doc["next_cursor"]
        pages += 1
        assert pages < 1000
        if cursor is None:
            return items
        assert isinstance(cursor, str)


# ---------------------------------------------------------------- LOG-1

def test_log1_each_action_kind_recorded_without_secrets(srv):
    """LOG-1: sign-in success, failure and lockout; user invite, update
    (incl. a role change) and delete; a settings change; token creation and
    deletion; reads; a 404; 401 and 403 refusals; an operator CLI action
    (`kura tenant suspend`): each leaves exactly one record with the right
    tenant, actor, source address, request id, action, resource, outcome
    and status.  Then no password, session cookie, CSRF token, API token,
    TOTP secret, invitation token, name or e-mail address of the test is
    found in any record (tenant export, tenant views, raw audit tables)."""
    t = Tenant(srv, name=f"Audit Secrets {secrets.token_hex(3)}")
    tid, admin = t.tenant_id, t.admin
    secrets_seen = {"admin password": t.admin_password, "admin email": t.info["email"],
                    "tenant name": t.info["name"], "admin csrf": admin.csrf,
                    "admin cookie": admin.cookie}

    # sign-in success (a fresh one, to find its record by request id)
    c = Api(srv)
    r = c.login(t.contract_id, "admin", t.admin_password)
    assert r.status_code == 200
    secrets_seen.update({"csrf 2": c.csrf, "cookie 2": c.cookie})
    check(record_of(srv, r), tenant_id=tid, actor_type="user", actor_id=t.admin_id, source_ip="127.0.0.1",
          action="auth.login", resource_type="auth", resource_id=t.admin_id,
          outcome="success", status=200)

    # user invite with a name and an e-mail address
    display = f"Taro Yamada {secrets.token_hex(3)}"
    login = f"taro{secrets.token_hex(3)}"
    email = f"{login}@example.org"
    r = admin.post("/api/v1/users", {"login_id": login, "email": email,
                                     "display_name": display})
    assert r.status_code == 201, r.text
    uid, invite = r.json()["id"], r.json()["invitation_token"]
    secrets_seen.update({"display name": display, "login id": login,
                         "user email": email, "invitation token": invite})
    check(record_of(srv, r), tenant_id=tid, actor_type="user", actor_id=t.admin_id,
          action="user.invite", resource_type="user", resource_id=uid,
          outcome="success", status=201)
    pw = strong_password()
    secrets_seen["user password"] = pw
    r = accept(srv, invite, pw)
    assert r.status_code == 200, r.text
    check(record_of(srv, r), tenant_id=tid, action="auth.accept_invitation",
          resource_id=uid, outcome="success")

    # sign-in failure, then lockout (threshold 3)
    t.security(lockout_threshold=3)
    wrong = "Wr0ng!" + secrets.token_hex(4)
    secrets_seen["wrong password"] = wrong
    fails = [raw_login(srv, t.contract_id, login, wrong) for _ in range(3)]
    for i, r in enumerate(fails):
        assert r.status_code == 401, r.text
        rec = record_of(srv, r)
        check(rec, tenant_id=tid, actor_type="anonymous", actor_id="",
              action="auth.login", resource_id=uid, outcome="denied", status=401,
              source_ip="127.0.0.1")
    check(record_of(srv, fails[-1]), detail={"locked": True})
    r = admin.post(f"/api/v1/users/{uid}/unlock")
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="user.unlock", resource_id=uid, outcome="success")

    # user update, role change
    r = admin.patch(f"/api/v1/users/{uid}", {"display_name": display + " II"})
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="user.update", resource_id=uid, status=200)
    r = admin.patch(f"/api/v1/users/{uid}", {"roles": ["tenant_admin"]})
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="user.update", resource_id=uid,
          detail={"granted_admin": True})

    # settings change
    r = admin.put("/api/v1/settings/security", {"lockout_threshold": 5})
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="settings.security_update", outcome="success")

    # TOTP secret of the user (enrolment)
    u = signed_in(srv, t.contract_id, login, pw)
    secrets_seen.update({"user csrf": u.csrf, "user cookie": u.cookie})
    totp_secret, codes, _ = enrol_totp(u)
    secrets_seen["totp secret"] = totp_secret
    for i, code in enumerate(codes):
        secrets_seen[f"recovery code {i}"] = code

    # token create / use / delete; 403 with a narrow token
    r = admin.post("/api/v1/tokens", {"name": f"ci-{secrets.token_hex(3)}",
                                      "permissions": ["files.read"]})
    assert r.status_code == 201, r.text
    tok_id, tok = r.json()["id"], r.json()["token"]
    secrets_seen.update({"api token": tok, "token name": r.json()["name"]})
    check(record_of(srv, r), action="token.create", resource_id=tok_id, status=201)
    b = Bearer(srv, tok)
    r = b.get("/api/v1/users")
    assert r.status_code == 403, r.text
    check(record_of(srv, r), tenant_id=tid, actor_type="token", actor_id=tok_id,
          action="user.list", outcome="denied", status=403)
    r = admin.delete(f"/api/v1/tokens/{tok_id}")
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="token.delete", resource_id=tok_id, status=200)

    # reads, a 404 of an id, an unknown path, a 401
    r = admin.get("/api/v1/users")
    check(record_of(srv, r), tenant_id=tid, actor_type="user", actor_id=t.admin_id,
          action="user.list", outcome="success", status=200,
          detail={"method": "GET", "route": "/api/v1/users"})
    missing = random_id("usr")
    r = admin.get(f"/api/v1/users/{missing}")
    assert r.status_code == 404
    check(record_of(srv, r), tenant_id=tid, action="user.read", resource_id=missing,
          outcome="failure", status=404)
    r = admin.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    check(record_of(srv, r), action="http.not_found", outcome="failure", status=404)
    r = Api(srv, v6=True).get("/api/v1/users")
    assert r.status_code == 401
    check(record_of(srv, r), tenant_id=None, actor_type="anonymous",
          action="user.list", outcome="denied", status=401, source_ip="::1")

    # user delete
    r = admin.delete(f"/api/v1/users/{uid}")
    assert r.status_code == 200, r.text
    check(record_of(srv, r), action="user.delete", resource_id=uid, status=200)

    # the tenant's export, views and CSV, then the operator suspends it
    export = admin.get("/api/v1/audit-events/export")
    assert export.status_code == 200
    views = [admin.get("/api/v1/audit-events", params={"limit": 200}).text,
             admin.get("/api/v1/audit-events", params={"format": "csv"}).text,
             admin.get("/api/v1/audit-events", params={"format": "jsonl"}).text]
    n_before = len(db_rows(srv, "tenant_id = ?", (tid,)))
    p = srv.cli("tenant", "suspend", t.contract_id)
    ops = db_rows(srv, "tenant_id = ? AND action = 'tenant.suspend'", (tid,))
    assert len(ops) == 1, p.stdout
    check(ops[0], actor_type="operator", source_ip="local", resource_type="tenant",
          outcome="success", detail={"via": "cli"})
    assert ops[0]["actor_id"], ops[0]
    assert len(db_rows(srv, "tenant_id = ?", (tid,))) == n_before + 1
    srv.cli("tenant", "resume", t.contract_id)

    con = sqlite3.connect(str(srv.db_path))
    try:
        raw = "\n".join(str(tuple(row)) for table in ("audit_events", "audit_marks")
                        for row in con.execute(f"SELECT * FROM {table}"))
    finally:
        con.close()
    haystacks = {"export": export.text, "raw audit tables": raw,
                 **{f"view {i}": v for i, v in enumerate(views)}}
    for label, value in secrets_seen.items():
        assert value, label
        for where, text in haystacks.items():
            assert value not in text and value.lower() not in text.lower(), \
                f"{label} found in {where}"


# ---------------------------------------------------------------- LOG-2

def _tamper_copy(src: KuraServer, base: Path, name: str) -> Path:
    d = base / name
    shutil.copytree(src.data_dir, d, symlinks=True)
    return d


def _sql(data_dir: Path, *statements: str) -> None:
    con = sqlite3.connect(str(data_dir / "kura.db"))
    try:
        con.executescript("DROP TRIGGER IF EXISTS audit_events_no_update;"
                          "DROP TRIGGER IF EXISTS audit_events_no_delete;")
        for s in statements:
            con.executescript(s)
        con.commit()
    finally:
        con.close()


def _cli_verify(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_kura("audit", "verify", "--data-dir", str(data_dir), *extra,
                    check=False)


def _named(p: subprocess.CompletedProcess) -> tuple[int, str]:
    assert p.returncode == 1, f"tampering not detected:\n{p.stdout}{p.stderr}"
    assert "AUDIT LOG VERIFICATION FAILED" in p.stdout, p.stdout
    m = FIRST_BAD.search(p.stdout)
    assert m, p.stdout
    return int(m.group(1)), m.group(2)


@pytest.fixture(scope="module")
def stopped_log(tmp_path_factory):
    """A data directory with a tenant's worth of records, server stopped:
    copies of it are tampered with."""
    s = KuraServer(tmp_path_factory.mktemp("kura-tamper"), settings=SETTINGS)
    s.start()
    try:
        t = Tenant(s)
        for _ in range(6):
            assert t.admin.get("/api/v1/users").status_code == 200
        t.invite()
        assert raw_login(s, t.contract_id, "admin", "nope").status_code == 401
    finally:
        s.close()
    p = _cli_verify(s.data_dir)
    assert p.returncode == 0, p.stdout + p.stderr
    yield s


def _ids(data_dir: Path) -> dict[int, str]:
    con = sqlite3.connect(str(data_dir / "kura.db"))
    try:
        return dict(con.execute("SELECT seq, id FROM audit_events"))
    finally:
        con.close()


def test_log2_tamper_update_detected(stopped_log, tmp_path):
    """LOG-2: changing one field of one row in kura.db (after dropping the
    append-only triggers) is detected by `kura audit verify` naming that
    row."""
    d = _tamper_copy(stopped_log, tmp_path, "update")
    ids = _ids(d)
    mid = sorted(ids)[len(ids) // 2]
    _sql(d, f"UPDATE audit_events SET status = 299 WHERE seq = {mid}")
    assert _named(_cli_verify(d)) == (mid, ids[mid])
    # the same for the tenant's chain
    tenant = sqlite3.connect(str(d / "kura.db")).execute(
        "SELECT tenant_id FROM audit_events WHERE seq = ?", (mid,)).fetchone()[0]
    if tenant:
        assert _named(_cli_verify(d, "--tenant", tenant)) == (mid, ids[mid])


def test_log2_tamper_delete_detected(stopped_log, tmp_path):
    """LOG-2: deleting a middle row is detected; the record after the gap
    is named (it no longer links to its predecessor)."""
    d = _tamper_copy(stopped_log, tmp_path, "delete")
    ids = _ids(d)
    seqs = sorted(ids)
    mid = seqs[len(seqs) // 2]
    _sql(d, f"DELETE FROM audit_events WHERE seq = {mid}")
    nxt = seqs[seqs.index(mid) + 1]
    assert _named(_cli_verify(d)) == (nxt, ids[nxt])


def test_log2_tamper_insert_detected(stopped_log, tmp_path):
    """LOG-2: inserting a forged row in the middle (later rows moved up
    by one) is detected and the forged row is named."""
    d = _tamper_copy(stopped_log, tmp_path, "insert")
    ids = _ids(d)
    mid = sorted(ids)[len(ids) // 2]
    forged = "evt_" + "f" * 32
    _sql(d, f"UPDATE audit_events SET seq = seq + 100000 WHERE seq >= {mid}",
         f"UPDATE audit_events SET seq = seq - 99999 WHERE seq >= 100000",
         "INSERT INTO audit_events (seq, id, tenant_id, tenant_seq, time_us, "
         "actor_type, actor_id, source_ip, request_id, action, resource_type, "
         "resource_id, outcome, status, detail, prev_tenant_hash, prev_hash, hash) "
         f"SELECT {mid}, '{forged}', NULL, 0, time_us, 'operator', 'mallory', "
         "'local', '', 'tenant.resume', 'tenant', '', 'success', 0, '{}', '', "
         f"hash, hash FROM audit_events WHERE seq = {mid - 1}")
    assert _named(_cli_verify(d)) == (mid, forged)


def test_log2_tamper_reorder_detected(stopped_log, tmp_path):
    """LOG-2: swapping two rows' positions is detected; the first row out
    of place is named."""
    d = _tamper_copy(stopped_log, tmp_path, "reorder")
    ids = _ids(d)
    mid = sorted(ids)[len(ids) // 2]
    _sql(d, f"UPDATE audit_events SET seq = -1 WHERE seq = {mid}",
         f"UPDATE audit_events SET seq = {mid} WHERE seq = {mid + 1}",
         f"UPDATE audit_events SET seq = {mid + 1} WHERE seq = -1")
    assert _named(_cli_verify(d)) == (mid, ids[mid + 1])


def test_log2_tail_cut_after_checkpoint_detected(stopped_log, tmp_path):
    """LOG-2: after `kura audit checkpoint`, removing the newest records
    (a cut that leaves a consistent chain) is detected through the signed
    checkpoint."""
    d = _tamper_copy(stopped_log, tmp_path, "tail")
    p = run_kura("audit", "checkpoint", "--data-dir", str(d))
    assert re.search(r"[1-9]\d* checkpoint\(s\) signed", p.stdout), p.stdout
    assert _cli_verify(d).returncode == 0
    # the checkpoint run recorded itself after sealing: cut it and the
    # last sealed records
    ids = _ids(d)
    last = max(ids)
    _sql(d, f"DELETE FROM audit_events WHERE seq >= {last - 2}")
    p = _cli_verify(d)
    assert p.returncode == 1, p.stdout
    assert "AUDIT LOG VERIFICATION FAILED" in p.stdout and "checkpoint" in p.stdout \
        and "missing" in p.stdout, p.stdout


def test_log2_tenant_verify_and_offline_export(srv, tmp_path):
    """LOG-2: GET /audit-events/verify checks the caller's tenant (ok, its
    record count, the public key shown to the admin equals
    `kura audit public-key`); GET /audit-events/export verifies offline
    with `kura audit verify --file F --public-key K`, and a copy with one
    record changed (or one line removed) fails naming the record."""
    t = Tenant(srv)
    for _ in range(3):
        t.admin.get("/api/v1/users")
    srv.cli("audit", "checkpoint")
    t.admin.get("/api/v1/roles")
    r = t.admin.get("/api/v1/audit-events/verify")
    assert r.status_code == 200, r.text
    v = r.json()
    assert set(v) == {"ok", "records", "checkpoints", "first_bad", "reason",
                      "public_key", "key_id", "last_checkpoint"}, v
    assert v["ok"] is True and v["first_bad"] is None and v["reason"] is None, v
    n_db = len(db_rows(srv, "tenant_id = ?", (t.tenant_id,)))
    assert n_db - 1 <= v["records"] <= n_db, (v, n_db)   # its own record follows
    assert v["checkpoints"] >= 1 and v["last_checkpoint"]["seq"] >= 1, v
    assert RFC3339.match(v["last_checkpoint"]["time"]), v
    pk = srv.cli("audit", "public-key").stdout.strip()
    assert v["public_key"] == pk and re.fullmatch(r"[0-9a-f]{16}", v["key_id"])

    r = t.admin.get("/api/v1/audit-events/export")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in r.headers["Content-Disposition"]
    lines = r.text.splitlines()
    head = json.loads(lines[0])
    assert head["type"] == "export" and head["scope"] == t.tenant_id
    recs = [json.loads(x) for x in lines if json.loads(x)["type"] == "record"]
    assert recs and all(x["tenant_id"] == t.tenant_id for x in recs)
    f = tmp_path / "export.jsonl"
    f.write_text(r.text)
    p = run_kura("audit", "verify", "--file", str(f), "--public-key", pk, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    # the export is flagged as a bulk download in its own record
    check(record_of(srv, r), action="audit.export", detail={"bulk": True})

    # one changed record
    victim = recs[len(recs) // 2]
    bad = [json.dumps(dict(json.loads(x), status=201)) if json.loads(x).get("id") == victim["id"]
           else x for x in lines]
    f2 = tmp_path / "export-changed.jsonl"
    f2.write_text("\n".join(bad) + "\n")
    p = run_kura("audit", "verify", "--file", str(f2), "--public-key", pk, check=False)
    assert _named(p) == (victim["seq"], victim["id"])
    # one removed record
    f3 = tmp_path / "export-cut.jsonl"
    f3.write_text("\n".join(x for x in lines if victim["id"] not in x) + "\n")
    p = run_kura("audit", "verify", "--file", str(f3), "--public-key", pk, check=False)
    assert p.returncode == 1, p.stdout
    # another key does not verify it
    other = run_kura("audit", "public-key", "--data-dir",
                     str(KuraServer(tmp_path / "other").data_dir)).stdout.strip()
    p = run_kura("audit", "verify", "--file", str(f), "--public-key", other, check=False)
    assert p.returncode == 1, p.stdout


# ---------------------------------------------------------------- LOG-3

def test_log3_retention_expiry_400_days_later(kura_factory):
    """LOG-3: with the clock 400 days ahead (faketime), `kura audit expire`
    removes every record older than the retention (365 days by default),
    leaves signed anchors, and verification stays green; new records
    (after the server restarts) chain onto the anchors and verify, for the
    whole log and through the tenant's own verification."""
    if shutil.which("faketime") is None:
        pytest.fail("faketime is not installed (scripts/install-deps.sh test)")
    srv = kura_factory(settings=SETTINGS)
    t = Tenant(srv)
    for _ in range(5):
        t.admin.get("/api/v1/users")
    srv.stop()
    old = len(db_rows(srv))
    assert old >= 6

    fake = ["faketime", "+400 days", KURA_BIN]
    p = subprocess.run(fake + ["audit", "expire", "--data-dir", str(srv.data_dir)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"(\d+) audit record\(s\) older than 365 day\(s\) removed", p.stdout)
    assert m and int(m.group(1)) == old, p.stdout
    left = db_rows(srv)
    assert [r["action"] for r in left] == ["audit.expire"], left
    assert json.loads(left[0]["detail"])["removed"] == old
    con = sqlite3.connect(str(srv.db_path))
    anchors = con.execute("SELECT scope, seq FROM audit_marks WHERE kind = 'anchor'").fetchall()
    con.close()
    assert ("global", old) in anchors, anchors
    assert any(scope == t.tenant_id for scope, _ in anchors), anchors
    for cmd in (fake, [KURA_BIN]):
        p = subprocess.run(cmd + ["audit", "verify", "--data-dir", str(srv.data_dir)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr

    # nothing more to remove the second time
    p = subprocess.run(fake + ["audit", "expire", "--data-dir", str(srv.data_dir)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("0 audit record"), p.stdout

    srv.start()
    a = t.relogin_admin()
    assert a.get("/api/v1/users").status_code == 200
    r = a.get("/api/v1/audit-events/verify")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    items = all_items(a)
    assert items and all(i["action"] != "tenant.create" for i in items), items
    assert min(i["seq"] for i in items) > 1
    srv.stop()
    p = run_kura("audit", "verify", "--data-dir", str(srv.data_dir), check=False)
    assert p.returncode == 0, p.stdout


# ---------------------------------------------------------------- LOG-4

def _offset_of(stamp: str) -> timedelta:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset()


def test_log4_times_in_the_tenant_zone(srv):
    """LOG-4: stored in UTC microseconds, shown in the tenant's zone: a
    tenant in Asia/Tokyo sees "+09:00", one in UTC sees "Z", one in
    America/New_York the offset in force at that instant; every rendering
    is the same instant as time_us, in the listing, the exports and the
    users API."""
    for zone, suffix in (("Asia/Tokyo", "+09:00"), ("UTC", "Z"),
                         ("America/New_York", None)):
        t = tenant_in_zone(srv, zone)
        t.admin.get("/api/v1/users")
        items = all_items(t.admin)
        assert items
        for it in items:
            assert RFC3339.match(it["time"]), it
            if suffix is not None:
                assert it["time"].endswith(suffix), (zone, it["time"])
            when = datetime.fromisoformat(it["time"].replace("Z", "+00:00"))
            us = it["time_us"]
            assert when == datetime.fromtimestamp(us // 1000000, timezone.utc) + \
                timedelta(microseconds=us % 1000000), it
            want = datetime.fromtimestamp(us / 1e6, ZoneInfo(zone)).utcoffset()
            assert _offset_of(it["time"]) == want, (zone, it["time"])
        line = t.admin.get("/api/v1/audit-events", params={"format": "jsonl"}).text
        assert json.loads(line.splitlines()[0])["time"].endswith(suffix or "")
        rows = list(csv.DictReader(io.StringIO(
            t.admin.get("/api/v1/audit-events", params={"format": "csv"}).text)))
        assert rows and all(RFC3339.match(r["time"]) for r in rows)
        if suffix:
            assert all(r["time"].endswith(suffix) for r in rows)
        me = t.admin.get(f"/api/v1/users/{t.admin_id}").json()
        assert RFC3339.match(me["created"]) and (suffix is None or
                                                  me["created"].endswith(suffix)), me


# ---------------------------------------------------------------- LOG-5

@pytest.fixture(scope="module")
def busy(srv):
    """A tenant with a mix of records: reads over IPv4 and IPv6, refusals
    of a narrow token, a 404 with a formula-like id, a member's sign-ins."""
    t = Tenant(srv)
    member = t.add_user(roles=["member"])
    mc = t.login(member["login"], member["password"])
    assert raw_login(srv, t.contract_id, member["login"], "Wrong-pass-1").status_code == 401
    v6 = signed_in_v6(srv, t)
    for _ in range(12):
        assert t.admin.get("/api/v1/users").status_code == 200
    for _ in range(5):
        assert v6.get("/api/v1/roles").status_code == 200
    r = t.admin.post("/api/v1/tokens", {"name": "narrow", "permissions": ["files.read"]})
    tok_id = r.json()["id"]
    b = Bearer(srv, r.json()["token"])
    for _ in range(3):
        assert b.get("/api/v1/users").status_code == 403
    assert t.admin.get("/api/v1/users/=HYPERLINK(1)").status_code == 404
    return {"t": t, "member": member, "mc": mc, "tok_id": tok_id}


def signed_in_v6(srv, t: Tenant) -> Api:
    c = Api(srv, v6=True)
    r = c.login(t.contract_id, t.admin_login, t.admin_password)
    assert r.status_code == 200, r.text
    return c


def test_log5_filters_and_keyset_paging(busy):
    """LOG-5: keyset pages (limit 7) show every record exactly once,
    newest first, and agree with the JSON-lines export; each filter
    (action exact and prefix, outcome, actor, resource type and id, source
    address, time range with any offset) returns exactly the matching
    records; bad parameters answer 400."""
    t, a = busy["t"], busy["t"].admin
    everything = all_items(a)
    paged = all_items(a, limit=7)
    seqs = [i["seq"] for i in paged]
    assert len(seqs) == len(set(seqs)), "a record appeared twice"
    assert seqs == sorted(seqs, reverse=True), "not newest first"
    # paging started later, so it also holds the listings' own records
    by_id = {i["id"]: i for i in paged}
    assert {i["id"] for i in everything} <= set(by_id), "paging skipped records"
    top = max(i["seq"] for i in everything)
    assert {i["id"] for i in paged if i["seq"] <= top} == {i["id"] for i in everything}
    assert all(by_id[i["id"]] == i for i in everything)
    for it in everything:
        assert set(it) == {"id", "seq", "time", "time_us", "actor", "source_ip",
                           "request_id", "action", "resource", "outcome", "status",
                           "detail"}, it
        assert set(it["actor"]) == {"type", "id"} and set(it["resource"]) == {"type", "id"}

    def only(**params):
        return all_items(a, **params)

    def ok_subset(items, pred, what):
        assert items, f"no items for {what}"
        bad = [i for i in items if not pred(i)]
        assert not bad, f"{what}: {bad[:2]}"

    base = only()
    ul = only(action="user.list")
    ok_subset(ul, lambda i: i["action"] == "user.list", "action=user.list")
    assert len(ul) == len([i for i in base if i["action"] == "user.list"])
    pref = only(action="user.*")
    ok_subset(pref, lambda i: i["action"].startswith("user."), "action=user.*")
    assert {i["action"] for i in pref} >= {"user.list", "user.invite", "user.read"}
    denied = only(outcome="denied")
    ok_subset(denied, lambda i: i["outcome"] == "denied", "outcome=denied")
    tok = only(actor=busy["tok_id"])
    assert len(tok) == 3 and all(i["actor"] == {"type": "token", "id": busy["tok_id"]}
                                 for i in tok), tok
    roles = only(resource_type="role")
    ok_subset(roles, lambda i: i["resource"]["type"] == "role", "resource_type=role")
    mem = only(resource_id=busy["member"]["id"])
    ok_subset(mem, lambda i: i["resource"]["id"] == busy["member"]["id"], "resource_id")
    six = only(source_ip="::1")
    ok_subset(six, lambda i: i["source_ip"] == "::1", "source_ip=::1")
    assert len(six) >= 6   # sign-in + 5 reads
    assert only(source_ip="192.0.2.1") == []
    # time range, given in another offset than the tenant's
    mid = base[len(base) // 2]
    t_mid = datetime.fromtimestamp(mid["time_us"] / 1e6, timezone.utc)
    stamp = (t_mid.astimezone(timezone(timedelta(hours=-7)))).isoformat(timespec="microseconds")
    newer = only(**{"from": stamp})
    older = only(to=stamp)
    assert all(i["time_us"] >= mid["time_us"] for i in newer)
    assert all(i["time_us"] < mid["time_us"] for i in older)
    assert {i["id"] for i in newer} | {i["id"] for i in older} >= {i["id"] for i in base}
    assert mid["id"] in {i["id"] for i in newer}
    # combined filters narrow
    both = only(action="user.list", outcome="denied")
    assert both and all(i["action"] == "user.list" and i["outcome"] == "denied" for i in both)
    for q in ({"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"cursor": "abc"},
              {"cursor": "-1"}, {"outcome": "maybe"}, {"from": "yesterday"},
              {"to": "2026-13-01T00:00:00Z"}, {"from": "2026-02-30T00:00:00Z"},
              {"format": "xml"}, {"action": "us*er"}, {"action": "user'--"},
              {"source_ip": "1.2.3.4; DROP"}):
        r = a.get("/api/v1/audit-events", params=q)
        assert r.status_code == 400, (q, r.status_code, r.text)


def test_log5_csv_and_jsonl_exports_parse(busy):
    """LOG-5: ?format=csv (text/csv, header row, RFC 4180, formula-like
    values neutralised) and ?format=jsonl (one JSON object per line) parse
    with Python's csv and json modules, hold the same records as the
    listing, honour the filters, and are flagged as bulk downloads."""
    a = busy["t"].admin
    items = all_items(a)
    r = a.get("/api/v1/audit-events", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    header, body = rows[0], rows[1:]
    assert header == ["id", "seq", "time", "time_us", "actor_type", "actor_id",
                      "source_ip", "request_id", "action", "resource_type",
                      "resource_id", "outcome", "status", "detail"]
    by_id = {i["id"]: i for i in items}
    listed = [row for row in body if row[0] in by_id]
    assert len(listed) == len(items), "CSV lacks records of the listing"
    for row in listed:
        it = dict(zip(header, row))
        want = by_id[it["id"]]
        assert int(it["seq"]) == want["seq"] and it["time"] == want["time"]
        assert it["action"] == want["action"] and int(it["status"]) == want["status"]
        assert json.loads(it["detail"]) == want["detail"]
    # the formula-like id is text in the CSV, raw in JSON
    formula = [row for row in body if "HYPERLINK" in row[10]]
    assert formula and all(row[10].startswith("'=") for row in formula), formula
    assert any(i["resource"]["id"] == "=HYPERLINK(1)" for i in items)
    check(record_of(a.srv, r), action="audit.list",
          detail={"bulk": True, "format": "csv"})

    r = a.get("/api/v1/audit-events", params={"format": "jsonl", "outcome": "denied"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines and all(x["outcome"] == "denied" for x in lines)
    assert [x["seq"] for x in lines] == sorted((x["seq"] for x in lines), reverse=True)
    assert {x["id"] for x in lines} == {i["id"] for i in all_items(a, outcome="denied")}
    r = a.get("/api/v1/audit-events", params={"format": "jsonl", "limit": "3"})
    assert len(r.text.splitlines()) == 3


def test_log5_own_sign_ins_only(busy, srv):
    """LOG-5: GET /me/sign-ins shows the caller's own sign-in events
    (success and failure, newest first, paged) and nobody else's; a member
    without audit.read cannot read the tenant's log."""
    t, member, mc = busy["t"], busy["member"], busy["mc"]
    items = all_items(mc, path="/api/v1/me/sign-ins", limit=1)
    assert items
    assert all(i["action"].startswith("auth.") and i["resource"]["id"] == member["id"]
               for i in items), items
    outcomes = {(i["action"], i["outcome"]) for i in items}
    assert ("auth.login", "success") in outcomes and ("auth.login", "denied") in outcomes
    assert ("auth.accept_invitation", "success") in outcomes
    adm = all_items(t.admin, path="/api/v1/me/sign-ins")
    assert adm and all(i["resource"]["id"] == t.admin_id for i in adm)
    assert not {i["id"] for i in adm} & {i["id"] for i in items}
    # narrowing filters work; widening ones are refused
    ok = all_items(mc, path="/api/v1/me/sign-ins", outcome="success")
    assert ok and all(i["outcome"] == "success" for i in ok)
    for q in ({"action": "user.*"}, {"resource_id": t.admin_id}):
        assert mc.get("/api/v1/me/sign-ins", params=q).status_code == 400
    r = mc.get("/api/v1/me/sign-ins", params={"format": "jsonl"})
    assert r.status_code == 200 and {json.loads(x)["id"] for x in r.text.splitlines()} \
        >= {i["id"] for i in items}
    for path in ("/api/v1/audit-events", "/api/v1/audit-events/verify",
                 "/api/v1/audit-events/export"):
        assert mc.get(path).status_code == 403, path


# ---------------------------------------------------------------- TEN-1

def test_ten1_audit_records_stay_in_their_tenant(srv):
    """TEN-1: tenant B's admin never sees tenant A's records: not in the
    listing (with or without filters naming A's ids), the CSV/JSONL
    exports, the verifiable export, its verification counts or its own
    sign-ins; B's counts equal B's rows in the database."""
    A, B = Tenant(srv), Tenant(srv)
    ra = [A.admin.get("/api/v1/users") for _ in range(4)]
    a_user = A.add_user()
    a_marks = {A.tenant_id, A.admin_id, a_user["id"], A.contract_id} | \
        {r.headers["X-Request-Id"] for r in ra}
    B.admin.get("/api/v1/users")
    texts = [
        B.admin.get("/api/v1/audit-events", params={"limit": 200}).text,
        B.admin.get("/api/v1/audit-events", params={"format": "csv"}).text,
        B.admin.get("/api/v1/audit-events", params={"format": "jsonl"}).text,
        B.admin.get("/api/v1/audit-events/export").text,
        B.admin.get("/api/v1/audit-events/verify").text,
        B.admin.get("/api/v1/me/sign-ins").text,
        B.admin.get("/api/v1/audit-events", params={"actor": A.admin_id}).text,
        B.admin.get("/api/v1/audit-events", params={"resource_id": a_user["id"]}).text,
        B.admin.get("/api/v1/audit-events",
                    params={"tenant_id": A.tenant_id, "tenant": A.tenant_id}).text,
    ]
    for text in texts:
        leaked = [m for m in a_marks if m in text]
        assert not leaked, f"B sees A's {leaked}: {text[:300]}"
    b_rows = db_rows(srv, "tenant_id = ?", (B.tenant_id,))
    v = B.admin.get("/api/v1/audit-events/verify").json()
    assert v["ok"] and len(b_rows) <= v["records"] + 1 and v["records"] <= len(b_rows)
    exp = [json.loads(x) for x in B.admin.get("/api/v1/audit-events/export").text.splitlines()]
    recs = [x for x in exp if x["type"] == "record"]
    assert recs and {x["tenant_id"] for x in recs} == {B.tenant_id}
    assert {x["id"] for x in recs} <= {r["id"] for r in db_rows(srv, "tenant_id = ?",
                                                                  (B.tenant_id,))}
    for x in exp:
        if x["type"] in ("checkpoint", "anchor"):
            assert x["scope"] == B.tenant_id, x
    # keyset cursors are per tenant: a cursor past A's sequence shows only B
    r = B.admin.get("/api/v1/audit-events", params={"cursor": "1000000"})
    items = r.json()["items"]
    assert items and {i["id"] for i in items} <= \
        {x["id"] for x in db_rows(srv, "tenant_id = ?", (B.tenant_id,))}
