"""Tenant export (DAT-4) through the real server: the archive holds every
record of the tenant with its decrypted values and the content of every
kept file version, its manifest's SHA-256 sums hold, its audit log verifies
offline, its stored form is encrypted (CRY-1), only exports.write may start
or download it, another tenant's export is invisible, one export runs at a
time, it expires, and its download raises the bulk-export alert (LOG-6).

The archive is a zstd-compressed POSIX tar (docs/export-format.md), read
here with python3-zstandard and tarfile.  Loopback only; every wait is
bounded."""
import hashlib
import io
import json
import os
import secrets
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from identity_helpers import (FAST_ARGON, Tenant, enrol_totp, expect_error,
                              find_bytes, unique)
from kura_fixture import KURA_BIN, KuraServer

import zstandard  # python3-zstandard, installed by scripts/install-deps.sh test

READY_S = 60          # an export of these small tenants is ready well within
POLL = 0.1

FORBIDDEN_KEYS = {"password", "password_hash", "totp_secret", "totp_pending",
                  "recovery_codes", "invite_hash", "invitation_token",
                  "token_hash", "csrf_hash", "wrapped", "secret", "token"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-exports"), settings=FAST_ARGON)
    s.start()
    yield s
    s.close()


# ---------------------------------------------------------------- helpers

def created(r, status=201):
    assert r.status_code == status, f"{r.request.method} {r.request.url}: " \
        f"{r.status_code} {r.text[:300]}"
    return r.json()


def upload(c, pid, fid, data, ctype="application/octet-stream"):
    r = c.put(f"/api/v1/projects/{pid}/files/{fid}/content", data=data,
              headers={"Content-Type": ctype}, timeout=120)
    return created(r)


def start_export(c):
    r = c.post("/api/v1/exports")
    doc = created(r, 202)
    assert doc["status"] == "queued" and doc["id"].startswith("exp_"), doc
    assert doc["download"] is None and doc["size"] == 0, doc
    return doc


def wait_ready(c, eid, timeout=READY_S):
    deadline = time.monotonic() + timeout
    while True:
        r = c.get(f"/api/v1/exports/{eid}")
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["status"] in ("ready", "failed"):
            assert doc["status"] == "ready", doc
            return doc
        assert doc["status"] in ("queued", "running"), doc
        assert time.monotonic() < deadline, f"export not ready after {timeout}s: {doc}"
        time.sleep(POLL)


def download(c, eid, headers=None):
    return c.get(f"/api/v1/exports/{eid}/download", headers=headers or {},
                 timeout=120)


def untar(archive: bytes):
    """(tar bytes, {path: bytes}, [paths in order]) of a .tar.zst."""
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(archive)) as r:
        tar_bytes = b"".join(iter(lambda: r.read(1 << 20), b""))
    members, order = {}, []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        for m in tf.getmembers():
            assert m.isfile(), m.name
            assert not m.name.startswith("/") and ".." not in m.name.split("/")
            assert m.name not in members, f"duplicate member {m.name}"
            members[m.name] = tf.extractfile(m).read()
            order.append(m.name)
    return tar_bytes, members, order


def export_blob(srv, eid):
    """The export's stored archive under the data directory (from kura.db)."""
    with sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10) as db:
        row = db.execute("SELECT blob_id, tenant_id FROM exports WHERE id = ?",
                         (eid,)).fetchone()
    assert row is not None and row[0], row
    hits = list((srv.data_dir / "blobs" / row[1]).rglob(row[0]))
    assert len(hits) == 1, hits
    return hits[0]


def walk_keys(doc, where="") -> list:
    """Every (path, key) of JSON objects in doc."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((where, k))
            out += walk_keys(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += walk_keys(v, f"{where}[{i}]")
    return out


def by_id(items):
    return {x["id"]: x for x in items}


# ---------------------------------------------------------------- the source

def build_tenant(srv, canary):
    """A tenant with users (one with TOTP, one only invited), a custom role,
    an API token, two projects with members, nested directories, files
    with versions (one empty, one of several chunks) and tasks, all named
    and labelled with the canary.  Returns what was created."""
    t = Tenant(srv, name=f"Export Org {canary}", admin_login=unique("adm"))
    src = {"t": t, "uploads": {}}
    # users
    m = t.add_user(roles=["member"], display_name=f"Member {canary}",
                   email=f"member-{canary.lower()}@example.com")
    mc = t.login(m["login"], m["password"])
    totp_secret, recovery, _ = enrol_totp(mc)
    invited = t.invite(display_name=f"Invitee {canary}")
    src.update(member=m, member_client=mc, totp_secret=totp_secret,
               recovery=recovery, invited=invited)
    # a custom role and a token
    role = created(t.admin.post("/api/v1/roles", {
        "name": f"Role {canary}", "permissions": ["files.read"],
        "labels": [f"role-{canary}"]}))
    tok = created(t.admin.post("/api/v1/tokens", {
        "name": f"Token {canary}", "permissions": ["files.read"],
        "labels": [f"tok-{canary}"]}))
    src.update(role=role, token=tok)
    # projects, members, directories, files, versions, tasks
    projects = []
    for k in range(2):
        p = created(t.admin.post("/api/v1/projects", {
            "name": f"Project {k} {canary}", "description": f"About {canary}\nline 2",
            "labels": [f"prj-{canary}", "shared"]}))
        r = t.admin.put(f"/api/v1/projects/{p['id']}/members/{m['id']}",
                        {"role": "editor" if k == 0 else "viewer"})
        assert r.status_code in (200, 201), r.text
        projects.append(p)
    pid = projects[0]["id"]
    d1 = created(t.admin.post(f"/api/v1/projects/{pid}/directories", {
        "name": f"dir {canary}", "labels": [f"dir-{canary}"]}))
    d2 = created(t.admin.post(f"/api/v1/projects/{pid}/directories", {
        "name": f"sub {canary}", "parent_id": d1["id"]}))
    files = []
    specs = [(None, b"root file " + canary.encode()),
             (d1["id"], b""),
             (d2["id"], (canary.encode() + b" content ") * 300000)]  # ~ 8 MiB
    for n, (dir_id, data) in enumerate(specs):
        body = {"name": f"file{n} {canary}.txt", "labels": [f"file-{canary}"]}
        if dir_id:
            body["directory_id"] = dir_id
        f = created(t.admin.post(f"/api/v1/projects/{pid}/files", body))
        upload(t.admin, pid, f["id"], data, "text/plain")
        src["uploads"][(f["id"], 1)] = data
        files.append(f)
    # a second version of the first file
    v2 = b"second version " + canary.encode() + os.urandom(4000)
    upload(t.admin, pid, files[0]["id"], v2, "application/x-test")
    src["uploads"][(files[0]["id"], 2)] = v2
    # a file in the second project
    p2 = projects[1]["id"]
    f = created(t.admin.post(f"/api/v1/projects/{p2}/files",
                             {"name": f"other {canary}"}))
    data = os.urandom(3 * 1024 * 1024 + 17)
    upload(t.admin, p2, f["id"], data)
    src["uploads"][(f["id"], 1)] = data
    files.append(f)
    tasks = [created(t.admin.post(f"/api/v1/projects/{pid}/tasks", {
        "title": f"Task {canary}", "description": f"Do {canary}",
        "labels": [f"task-{canary}"], "status": "in_progress",
        "assignee_id": m["id"], "due": "2027-01-31T09:00:00+09:00",
        "file_ids": [files[0]["id"], files[2]["id"]]})),
        created(t.admin.post(f"/api/v1/projects/{p2}/tasks",
                             {"title": f"Other task {canary}"}))]
    src.update(projects=projects, dirs=[d1, d2], files=files, tasks=tasks)
    return src


# ---------------------------------------------------------------- tests

def test_export_archive_matches_source(srv, tmp_path):
    """DAT-4: the archive has every record of the tenant with its decrypted
    values, the content of every kept version, manifest SHA-256 sums that
    hold, and an audit log that verifies offline.  CRY-1: the stored
    archive (and the whole data directory) holds no canary byte while the
    archive downloaded does.  LOG-6: the download raises a bulk_export
    alert.  No password hashes, TOTP secrets, recovery codes, token
    secrets or invitation tokens are in it."""
    canary = "XpCanary" + secrets.token_hex(6)
    src = build_tenant(srv, canary)
    t = src["t"]
    c = t.admin

    exp = start_export(c)
    eid = exp["id"]
    doc = wait_ready(c, eid)
    assert doc["size"] > 0 and doc["ready"] and doc["expires"], doc
    assert doc["download"] == f"/api/v1/exports/{eid}/download", doc
    assert doc["requested_by"] == t.admin_id, doc
    listed = c.get("/api/v1/exports")
    assert listed.status_code == 200, listed.text
    assert [x["id"] for x in listed.json()["items"]] == [eid], listed.text

    r = download(c, eid)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "application/zstd", r.headers
    assert r.headers["Content-Disposition"] == \
        f'attachment; filename="kura-export-{eid}.tar.zst"', r.headers
    assert r.headers["X-Content-Type-Options"] == "nosniff", r.headers
    archive = r.content
    assert len(archive) == doc["size"]
    # Range, as for file downloads
    rr = download(c, eid, {"Range": "bytes=0-99"})
    assert rr.status_code == 206 and rr.content == archive[:100], rr.status_code
    rr = download(c, eid, {"Range": f"bytes={len(archive)}-"})
    expect_error(rr, 416, "range_not_satisfiable")

    tar_bytes, mem, order = untar(archive)
    assert tar_bytes[257:262] == b"ustar", "not a POSIX tar"

    # manifest: the last member; every other member with its size and sum
    assert order[-1] == "manifest.json", order
    man = json.loads(mem["manifest.json"])
    assert man["format"] == "kura-tenant-export" and man["version"] == 1, man
    assert man["export_id"] == eid and man["tenant_id"] == t.tenant_id, man
    assert man["contract_id"] == t.contract_id and man["created"], man
    listed_paths = [e["path"] for e in man["members"]]
    assert sorted(listed_paths) == sorted(p for p in mem if p != "manifest.json")
    assert man["member_count"] == len(listed_paths)
    for e in man["members"]:
        data = mem[e["path"]]
        assert e["size"] == len(data), e
        assert e["sha256"] == hashlib.sha256(data).hexdigest(), e
    for name in ("tenant.json", "users.json", "roles.json", "tokens.json",
                 "settings.json", "projects.json", "directories.json",
                 "files.json", "tasks.json", "audit.jsonl",
                 "audit-public-key.txt"):
        assert name in mem, f"{name} missing: {order}"

    # nothing secret, anywhere
    for name in mem:
        if name.endswith(".json"):
            for where, key in walk_keys(json.loads(mem[name])):
                assert key not in FORBIDDEN_KEYS, f"{name}{where}: {key}"
    secrets_typed = {
        "admin password": t.admin_password, "member password": src["member"]["password"],
        "TOTP secret": src["totp_secret"], "invitation": src["invited"]["invitation_token"],
        "API token": src["token"]["token"], "argon2 hash": "$argon2id$",
    }
    for code in src["recovery"]:
        secrets_typed[f"recovery {code}"] = code
    for label, value in secrets_typed.items():
        assert value.encode() not in tar_bytes, f"{label} is in the archive"

    # tenant
    ten = json.loads(mem["tenant.json"])
    assert ten["id"] == t.tenant_id and ten["contract_id"] == t.contract_id
    assert ten["name"] == f"Export Org {canary}" and ten["seats"] == 10, ten
    assert ten["region"] == "jp" and ten["timezone"] == "Asia/Tokyo", ten

    # users: every user as GET /users shows them
    users = by_id(json.loads(mem["users.json"]))
    api_users = c.get("/api/v1/users", params={"limit": 200})
    assert api_users.status_code == 200, api_users.text
    api_users = by_id(api_users.json()["items"])
    assert set(users) == set(api_users) and len(users) == 3, (users, api_users)
    for uid, u in api_users.items():
        for k in ("login_id", "email", "display_name", "status", "roles",
                  "mfa_enabled", "must_change_password", "created"):
            assert users[uid][k] == u[k], (k, users[uid], u)
    assert users[src["member"]["id"]]["mfa_enabled"] is True
    assert users[src["member"]["id"]]["display_name"] == f"Member {canary}"
    assert users[src["invited"]["id"]]["status"] == "invited"

    # roles: built-ins with permissions, the custom one with its labels
    roles = json.loads(mem["roles.json"])
    names = {r_["name"]: r_ for r_ in roles}
    assert names["tenant_admin"]["builtin"] and "exports.write" in \
        names["tenant_admin"]["permissions"], names
    assert "exports.write" not in names["member"]["permissions"]
    custom = by_id(roles)[src["role"]["id"]]
    assert custom["name"] == f"Role {canary}" and custom["labels"] == [f"role-{canary}"]
    assert custom["permissions"] == ["files.read"], custom

    # tokens (metadata only)
    toks = by_id(json.loads(mem["tokens.json"]))
    tk = toks[src["token"]["id"]]
    assert tk["name"] == f"Token {canary}" and tk["labels"] == [f"tok-{canary}"]
    assert tk["user_id"] == t.admin_id and tk["permissions"] == ["files.read"]

    # settings
    sec = c.get("/api/v1/settings/security")
    assert sec.status_code == 200
    assert json.loads(mem["settings.json"])["security"] == sec.json()

    # projects with members
    projects = by_id(json.loads(mem["projects.json"]))
    assert set(projects) == {p["id"] for p in src["projects"]}
    for k, p in enumerate(src["projects"]):
        e = projects[p["id"]]
        api_p = c.get(f"/api/v1/projects/{p['id']}").json()
        for key in ("name", "description", "labels", "created_by", "created"):
            assert e[key] == api_p[key], (key, e, api_p)
        roles_of = {x["user_id"]: x["role"] for x in e["members"]}
        assert roles_of[src["member"]["id"]] == ("editor" if k == 0 else "viewer")
    assert projects[src["projects"][0]["id"]]["name"] == f"Project 0 {canary}"

    # directories
    dirs = by_id(json.loads(mem["directories.json"]))
    d1, d2 = src["dirs"]
    assert set(dirs) == {d1["id"], d2["id"]}
    assert dirs[d1["id"]]["name"] == f"dir {canary}" and dirs[d1["id"]]["parent_id"] is None
    assert dirs[d1["id"]]["labels"] == [f"dir-{canary}"]
    assert dirs[d2["id"]]["parent_id"] == d1["id"] and dirs[d2["id"]]["name"] == f"sub {canary}"

    # files, versions and their content
    files = by_id(json.loads(mem["files.json"]))
    assert set(files) == {f["id"] for f in src["files"]}
    want_paths = set()
    for (fid, ver), data in src["uploads"].items():
        f = files[fid]
        v = {x["version"]: x for x in f["versions"]}[ver]
        path = f"files/{fid}/{ver}"
        want_paths.add(path)
        assert v["path"] == path and mem[path] == data, (fid, ver)
        assert v["size"] == len(data) and v["sha256"] == hashlib.sha256(data).hexdigest()
    assert {p for p in mem if p.startswith("files/")} == want_paths
    for f in src["files"]:
        api_f = c.get(f"/api/v1/projects/{f['project_id']}/files/{f['id']}").json()
        e = files[f["id"]]
        for key in ("name", "labels", "directory_id", "kind", "current_version",
                    "created_by", "created"):
            assert e[key] == api_f[key], (key, e, api_f)
        assert [(x["version"], x["size"], x["sha256"], x["content_type"], x["created"])
                for x in e["versions"]] == \
            sorted((x["version"], x["size"], x["sha256"], x["content_type"], x["created"])
                   for x in api_f["versions"])
    f0 = files[src["files"][0]["id"]]
    assert [v["content_type"] for v in f0["versions"]] == ["text/plain", "application/x-test"]

    # tasks with their file links
    tasks = by_id(json.loads(mem["tasks.json"]))
    assert set(tasks) == {x["id"] for x in src["tasks"]}
    for tk_src in src["tasks"]:
        e = tasks[tk_src["id"]]
        for key in ("project_id", "title", "description", "labels", "status",
                    "assignee_id", "due", "created"):
            assert e[key] == tk_src[key], (key, e, tk_src)
        assert sorted(e["file_ids"]) == sorted(tk_src["file_ids"])
    assert tasks[src["tasks"][0]["id"]]["title"] == f"Task {canary}"

    # the audit log verifies offline with the server's public key
    pk = mem["audit-public-key.txt"].decode().strip()
    ver = c.get("/api/v1/audit-events/verify")
    assert ver.status_code == 200 and ver.json()["public_key"] == pk, ver.text
    assert man["audit_public_key"] == pk
    audit_file = tmp_path / "audit.jsonl"
    audit_file.write_bytes(mem["audit.jsonl"])
    p = subprocess.run([KURA_BIN, "audit", "verify", "--file", str(audit_file),
                        "--public-key", pk], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [json.loads(x) for x in mem["audit.jsonl"].splitlines() if x.strip()]
    actions = {x.get("action") for x in lines if x.get("type") == "record"}
    assert "export.create" in actions and "file.upload" in actions, actions
    assert all(x.get("tenant_id") in (None, t.tenant_id) for x in lines
               if x.get("type") == "record")

    # CRY-1: the canary is in the archive downloaded, not in its stored
    # form nor anywhere else under the data directory
    needle = canary.encode()
    assert needle in tar_bytes
    blob = export_blob(srv, eid)
    assert blob.stat().st_size > len(archive)       # sealed: tags and header
    assert needle not in blob.read_bytes()
    assert archive[:64] not in blob.read_bytes()
    # nothing else left behind: the tenant's content files are its kept
    # versions and the one archive (temporary spools are gone)
    stored = [p_ for p_ in (srv.data_dir / "blobs" / t.tenant_id).rglob("*")
              if p_.is_file()]
    assert len(stored) == len(src["uploads"]) + 1, stored
    hits = find_bytes(srv.data_dir, {"canary": [needle, needle.upper(),
                                                needle.lower(),
                                                canary.encode("utf-16-le")]})
    assert hits == [], hits

    # LOG-6: the download is a bulk export and alerts
    deadline = time.monotonic() + 15
    while True:
        al = c.get("/api/v1/alerts", params={"rule": "bulk_export"})
        assert al.status_code == 200, al.text
        items = al.json()["items"]
        if items:
            break
        assert time.monotonic() < deadline, "no bulk_export alert"
        time.sleep(0.2)
    assert items[0]["actor_id"] == t.admin_id
    assert "export.download" in items[0]["summary"], items[0]
    ev = c.get("/api/v1/audit-events", params={"action": "export.download"})
    assert ev.status_code == 200, ev.text
    recs = ev.json()["items"]
    assert recs and all(x["resource"]["id"] == eid for x in recs), recs
    assert any(x["detail"].get("bulk") is True and x["status"] == 200
               for x in recs), recs


def test_export_access(srv):
    """DAT-4, TEN-1: only exports.write may start, list, read or download
    an export (a member gets 403); another tenant's export id answers 404
    exactly like one that does not exist; the request takes no body."""
    a = Tenant(srv, admin_login=unique("adm"))
    b = Tenant(srv, admin_login=unique("adm"))
    m = a.add_user(roles=["member"])
    mc = a.login(m["login"], m["password"])
    exp = start_export(a.admin)
    eid = exp["id"]
    expect_error(mc.post("/api/v1/exports"), 403, "forbidden")
    expect_error(mc.get("/api/v1/exports"), 403, "forbidden")
    expect_error(mc.get(f"/api/v1/exports/{eid}"), 403, "forbidden")
    expect_error(mc.get(f"/api/v1/exports/{eid}/download"), 403, "forbidden")
    wait_ready(a.admin, eid)
    expect_error(mc.get(f"/api/v1/exports/{eid}/download"), 403, "forbidden")
    # the other tenant's admin
    expect_error(b.admin.get(f"/api/v1/exports/{eid}"), 404, "not_found")
    expect_error(b.admin.get(f"/api/v1/exports/{eid}/download"), 404, "not_found")
    assert b.admin.get("/api/v1/exports").json()["items"] == []
    missing = "exp_" + secrets.token_hex(16)
    expect_error(a.admin.get(f"/api/v1/exports/{missing}"), 404, "not_found")
    expect_error(a.admin.get(f"/api/v1/exports/{missing}/download"), 404, "not_found")
    expect_error(a.admin.get("/api/v1/exports/not-an-id"), 404, "not_found")
    # the tenant is the caller's: a body naming another is refused
    expect_error(a.admin.post("/api/v1/exports", {"tenant_id": b.tenant_id}),
                 413, "body_too_large")
    # B's export of its own tenant holds none of A's ids
    eb = start_export(b.admin)["id"]
    wait_ready(b.admin, eb)
    r = download(b.admin, eb)
    assert r.status_code == 200
    tar_bytes, mem, _ = untar(r.content)
    assert a.tenant_id.encode() not in tar_bytes
    assert a.admin_id.encode() not in tar_bytes
    assert json.loads(mem["tenant.json"])["id"] == b.tenant_id


def test_export_one_at_a_time(srv):
    """DAT-4: while an export is queued or running, a second one answers 409
    export_in_progress and its download 409 not_ready; once it is ready
    another may start.  (A 48 MiB random file keeps the first one busy for
    a while: incompressible data is decrypted, compressed and sealed.)"""
    t = Tenant(srv, admin_login=unique("adm"))
    c = t.admin
    p = created(c.post("/api/v1/projects", {"name": "big"}))
    f = created(c.post(f"/api/v1/projects/{p['id']}/files", {"name": "big.bin"}))
    upload(c, p["id"], f["id"], os.urandom(48 << 20))
    eid = start_export(c)["id"]
    expect_error(c.post("/api/v1/exports"), 409, "export_in_progress")
    expect_error(download(c, eid), 409, "not_ready")
    wait_ready(c, eid)
    e2 = start_export(c)["id"]
    wait_ready(c, e2)
    ids = [x["id"] for x in c.get("/api/v1/exports").json()["items"]]
    assert ids == [e2, eid], ids          # newest first
    page = c.get("/api/v1/exports", params={"limit": 1}).json()
    assert [x["id"] for x in page["items"]] == [e2] and page["next_cursor"] == e2
    page = c.get("/api/v1/exports", params={"limit": 1, "cursor": e2}).json()
    assert [x["id"] for x in page["items"]] == [eid] and page["next_cursor"] is None
    # at most EXPORTS_KEEP_MAX (3) ready archives per tenant
    wait_ready(c, start_export(c)["id"])
    expect_error(c.post("/api/v1/exports"), 409, "too_many_exports")


def test_export_across_restarts(kura_factory):
    """DAT-4: an export interrupted by a shutdown is queued again and
    finishes after the restart; one interrupted by kill -9 ends failed or
    ready (never stuck running), and a new export can start."""
    srv = kura_factory(settings=FAST_ARGON)
    t = Tenant(srv, admin_login=unique("adm"))
    c = t.admin
    p = created(c.post("/api/v1/projects", {"name": "big"}))
    f = created(c.post(f"/api/v1/projects/{p['id']}/files", {"name": "big.bin"}))
    data = os.urandom(48 << 20)
    upload(c, p["id"], f["id"], data)
    eid = start_export(c)["id"]
    srv.restart()
    c = t.relogin_admin()
    doc = wait_ready(c, eid)
    r = download(c, eid)
    assert r.status_code == 200 and len(r.content) == doc["size"]
    _, mem, _ = untar(r.content)
    assert mem[f"files/{f['id']}/1"] == data
    # kill -9 while the next one is (probably) running
    e2 = start_export(c)["id"]
    srv.kill()
    srv.start()
    c = t.relogin_admin()
    deadline = time.monotonic() + READY_S
    while True:
        doc = c.get(f"/api/v1/exports/{e2}").json()
        if doc["status"] in ("ready", "failed"):
            break
        assert time.monotonic() < deadline, doc
        time.sleep(POLL)
    wait_ready(c, start_export(c)["id"])


def test_export_expiry(srv):
    """DAT-4: an export past its expiry answers 410 expired at once, and the
    export thread deletes its stored archive and marks it expired (the
    expiry is moved into the past in kura.db: [exports] expire_hours is at
    least one hour)."""
    t = Tenant(srv, admin_login=unique("adm"))
    c = t.admin
    eid = start_export(c)["id"]
    doc = wait_ready(c, eid)
    assert doc["expires"] > doc["ready"]
    blob = export_blob(srv, eid)
    assert blob.exists()
    with sqlite3.connect(str(srv.db_path), timeout=10) as db:
        row = db.execute("SELECT ready_us, expires_us FROM exports WHERE id = ?",
                         (eid,)).fetchone()
        # the default retention: 72 hours
        assert row[1] - row[0] == 72 * 3600 * 1000000, row
        db.execute("UPDATE exports SET expires_us = ? WHERE id = ?",
                   (int(time.time() * 1e6) - 1000000, eid))
    db.close()
    expect_error(download(c, eid), 410, "expired")
    deadline = time.monotonic() + 15
    while blob.exists():
        assert time.monotonic() < deadline, "expired archive not removed"
        time.sleep(0.2)
    doc = c.get(f"/api/v1/exports/{eid}").json()
    assert doc["status"] == "expired" and doc["download"] is None, doc
    expect_error(download(c, eid), 410, "expired")
    ev = c.get("/api/v1/audit-events", params={"action": "export.expire"})
    assert ev.status_code == 200 and ev.json()["items"], ev.text
    # a new export may start after that
    start_export(c)
