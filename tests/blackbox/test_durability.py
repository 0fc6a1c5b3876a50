"""Group commit durability (decisions #47): a write is answered only once
its change and its audit record are durable.

- SIGKILL right after each 200, restart: the change and its record are
  there (many rounds).
- Under strace: every write's answer leaves the server only after an
  fdatasync of the WAL that began after the write's last WAL write (the
  power-loss guarantee, seen from the system calls).
- fdatasync failing (strace fault injection): the write is answered 503
  `busy`, the failure is logged, and later requests fail too (a failed
  fsync is sticky until restart).

strace is a test dependency (scripts/install-deps.sh test): where it is
missing or cannot attach, the strace tests fail, they are never skipped."""
from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import time


from identity_helpers import Tenant
from kura_fixture import run_kura
from test_audit import SETTINGS

ROUNDS = 15


def _record(db, request_id: str) -> list:
    con = sqlite3.connect(str(db))
    try:
        return con.execute("SELECT action, outcome, status FROM audit_events "
                           "WHERE request_id = ?", (request_id,)).fetchall()
    finally:
        con.close()


def test_write_and_record_survive_sigkill_right_after_200(kura_factory):
    srv = kura_factory(settings=SETTINGS)
    t = Tenant(srv)
    uid = t.add_user(roles=["member"])["id"]
    done = []
    for i in range(ROUNDS):
        name = f"durable {i} {time.monotonic_ns()}"
        r = t.admin.patch(f"/api/v1/users/{uid}", {"display_name": name})
        assert r.status_code == 200, r.text
        srv.proc.send_signal(signal.SIGKILL)   # at once after the answer
        srv.proc.wait(timeout=10)
        done.append((name, r.headers["X-Request-Id"]))
        srv.start()
        t.relogin_admin()
        assert t.user(uid)["display_name"] == name, f"round {i}"
        rec = _record(srv.db_path, r.headers["X-Request-Id"])
        assert rec == [("user.update", "success", 200)], (i, rec)
    srv.stop()
    for name, rid in done:
        assert len(_record(srv.db_path, rid)) == 1, rid
    p = run_kura("audit", "verify", "--data-dir", str(srv.data_dir), check=False)
    assert p.returncode == 0, p.stdout + p.stderr


def _strace(pid: int, out, *extra: str) -> subprocess.Popen:
    assert shutil.which("strace") is not None, \
        "strace is not installed (scripts/install-deps.sh test installs it)"
    p = subprocess.Popen(["strace", "-f", "-ttt", "-T", "-y", "-qq", "-s", "0",
                          "-o", str(out), *extra, "-p", str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)                     # attached to every thread
    assert p.poll() is None, "strace cannot attach: " + \
        p.stderr.read().decode(errors="replace")[:200]
    return p


def _strace_stop(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)


LINE = re.compile(r"^(\d+) +(\d+\.\d+) (?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
DUR = re.compile(r"<(\d+\.\d+)>$")


def _calls(path) -> list[dict]:
    """Parse strace -f -ttt -T -y output: one dict per finished call with
    tid, name, start, end, the first argument (fd<path>) and result."""
    open_calls: dict[tuple[int, str], dict] = {}
    calls = []
    for line in open(path, errors="replace"):
        m = LINE.match(line.rstrip("\n"))
        if not m:
            continue
        tid, ts = int(m.group(1)), float(m.group(2))
        if m.group(3):                  # <... name resumed>
            c = open_calls.pop((tid, m.group(3)), None)
            if c is None:
                continue
            rest = m.group(5)
        else:
            c = {"tid": tid, "name": m.group(4), "start": ts,
                 "arg0": m.group(5).split(",", 1)[0].split(")", 1)[0]}
            rest = m.group(5)
            if rest.endswith("<unfinished ...>"):
                open_calls[(tid, c["name"])] = c
                continue
        d = DUR.search(rest)
        c["end"] = ts + float(d.group(1)) if d else ts
        res = rest.rsplit("= ", 1)
        c["ok"] = len(res) == 2 and not res[1].startswith("-1")
        calls.append(c)
    return calls


def test_write_answered_only_after_wal_fdatasync(kura_factory, tmp_path):
    """Each PATCH's answer (the thread's first send after its commit) goes
    out after an fdatasync of kura.db-wal that started after the last WAL
    write of that thread and ended successfully."""
    srv = kura_factory(settings=SETTINGS)
    t = Tenant(srv)
    uid = t.add_user(roles=["member"])["id"]
    out = tmp_path / "strace.txt"
    st = _strace(srv.proc.pid, out, "-e",
                         "trace=pwrite64,fdatasync,fsync,sendmsg,sendto,write")
    try:
        n = 30
        for i in range(n):
            r = t.admin.patch(f"/api/v1/users/{uid}",
                              {"display_name": f"traced {i}"})
            assert r.status_code == 200, r.text
    finally:
        _strace_stop(st)
    calls = _calls(out)
    wal = [c for c in calls if c["arg0"].endswith("-wal>")]
    syncs = [c for c in wal if c["name"] in ("fdatasync", "fsync") and c["ok"]]
    writes = [c for c in wal if c["name"] == "pwrite64"]
    sends = [c for c in calls if c["name"] in ("sendmsg", "sendto", "write")
             and ("TCP" in c["arg0"] or "socket:" in c["arg0"])]
    assert writes and syncs and sends, (len(writes), len(syncs), len(sends))
    checked = 0
    for w_last in writes:
        # the first send by the same thread after this WAL write, with no
        # other WAL write of that thread in between: the answer of the
        # request whose commit ended with w_last
        tid = w_last["tid"]
        later_w = [w for w in writes if w["tid"] == tid and w["start"] > w_last["start"]]
        nxt_w = min((w["start"] for w in later_w), default=float("inf"))
        send = next((s for s in sends if s["tid"] == tid and
                     s["start"] > w_last["end"] and s["start"] < nxt_w), None)
        if send is None:
            continue
        covered = [s for s in syncs if s["start"] >= w_last["end"] and
                   s["end"] <= send["start"]]
        assert covered, f"answer sent at {send['start']} before any WAL sync " \
            f"after the commit's write at {w_last['end']}"
        checked += 1
    assert checked >= n // 2, f"only {checked} of {n} answers matched to commits"


def test_failed_wal_fdatasync_answers_503_and_sticks(kura_factory, tmp_path):
    srv = kura_factory(settings=SETTINGS)
    t = Tenant(srv)
    uid = t.add_user(roles=["member"])["id"]
    r = t.admin.patch(f"/api/v1/users/{uid}", {"display_name": "before"})
    assert r.status_code == 200, r.text
    out = tmp_path / "strace.txt"
    st = _strace(srv.proc.pid, out, "-e", "trace=fdatasync",
                         "-e", "inject=fdatasync:error=EIO")
    try:
        r = t.admin.patch(f"/api/v1/users/{uid}", {"display_name": "lost?"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "busy"
    finally:
        _strace_stop(st)
    # strace is gone, fdatasync works again: still refused until restart,
    # since what the failed sync should have written is not provably on disk
    r = t.admin.patch(f"/api/v1/users/{uid}", {"display_name": "after"})
    assert r.status_code == 503, r.text
    assert t.admin.get("/api/v1/me").status_code == 503
    log = srv.log()
    assert "not made durable" in log or "not written" in log, log[-2000:]
    srv.restart()
    t.relogin_admin()
    r = t.admin.patch(f"/api/v1/users/{uid}", {"display_name": "after restart"})
    assert r.status_code == 200, r.text
    assert t.user(uid)["display_name"] == "after restart"
