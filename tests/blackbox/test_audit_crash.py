"""LOG-1 durability: `kill -9` of the server in the middle of a bounded
load, then restart: the audit log still verifies, and every request that
was answered 2xx has its record (a read's record was durable before its
reply; a change's record committed with the change).  Loopback only; the
load is bounded in time (about 3 s) and in requests per thread."""
from __future__ import annotations

import sqlite3
import threading
import time

import requests

from identity_helpers import Api, Tenant
from kura_fixture import run_kura
from test_audit import SETTINGS

THREADS = 4
LOAD_SECONDS = 3.0
KILL_AFTER = 1.5
MAX_PER_THREAD = 2000


def test_log1_every_2xx_has_its_record_after_kill_9(kura_factory):
    """LOG-1: a few threads do authenticated reads (users, roles, me) and
    some writes (token create/delete, user updates) for ~3 s; the server
    is killed with SIGKILL half-way.  After a restart `kura audit verify`
    passes, and every X-Request-Id that got a 2xx is found in kura.db's
    audit_events exactly once."""
    srv = kura_factory(settings=SETTINGS)
    t = Tenant(srv)
    users = [t.add_user(roles=["member"]) for _ in range(THREADS)]
    ok: list[tuple[str, str, int]] = []
    lock = threading.Lock()
    errors: list[str] = []
    stop_at = time.monotonic() + LOAD_SECONDS

    def worker(i: int) -> None:
        c = Api(srv)
        c.s.cookies = t.admin.s.cookies.copy()
        c.csrf = t.admin.csrf
        uid = users[i]["id"]
        n = 0
        while time.monotonic() < stop_at and n < MAX_PER_THREAD:
            n += 1
            try:
                k = n % 10
                if k == 0:
                    r = c.post("/api/v1/tokens", {"name": f"load-{i}-{n}",
                                                  "permissions": ["users.read"]},
                               timeout=5)
                    if r.status_code == 201:
                        with lock:
                            ok.append((r.headers["X-Request-Id"], "token.create", 201))
                        r = c.delete(f"/api/v1/tokens/{r.json()['id']}", timeout=5)
                elif k == 5:
                    r = c.patch(f"/api/v1/users/{uid}",
                                {"display_name": f"load {i} {n}"}, timeout=5)
                else:
                    path = ("/api/v1/users", "/api/v1/roles", "/api/v1/me")[k % 3]
                    r = c.get(path, timeout=5)
            except requests.RequestException:
                time.sleep(0.02)       # the server is gone: keep trying briefly
                continue
            if 200 <= r.status_code < 300:
                with lock:
                    ok.append((r.headers["X-Request-Id"], r.request.method, r.status_code))
            elif r.status_code >= 500 and srv.running:
                with lock:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    time.sleep(KILL_AFTER)
    srv.kill()                          # SIGKILL, mid-load
    for th in threads:
        th.join(timeout=LOAD_SECONDS + 30)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors[:5]
    assert len(ok) >= 50, f"only {len(ok)} successful requests before the kill"
    writes = [x for x in ok if x[1] != "GET"]
    print(f"{len(ok)} requests answered 2xx before the kill, {len(writes)} writes")
    assert writes, "no write succeeded before the kill"

    srv.start()                         # recovers the WAL, serves again
    assert t.relogin_admin().get("/api/v1/users").status_code == 200
    srv.stop()
    p = run_kura("audit", "verify", "--data-dir", str(srv.data_dir), check=False)
    assert p.returncode == 0, p.stdout + p.stderr

    con = sqlite3.connect(str(srv.db_path))
    try:
        have: dict[str, int] = {}
        for (rid,) in con.execute("SELECT request_id FROM audit_events "
                                  "WHERE request_id != ''"):
            have[rid] = have.get(rid, 0) + 1
    finally:
        con.close()
    missing = [x for x in ok if x[0] not in have]
    assert not missing, f"{len(missing)} of {len(ok)} answered requests have no " \
        f"record, e.g. {missing[:5]}"
    twice = [x for x in ok if have.get(x[0], 0) != 1]
    assert not twice, f"requests with more than one record: {twice[:5]}"
