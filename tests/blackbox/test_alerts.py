"""
LOG-6 alerts, end to end through a real `kura serve`: every rule fires on
the audit stream (failed sign-in bursts per account and per address,
lockout, sign-in from a new network, admin role grant, API token
creation, IP allowlist change, bulk export and bulk reads, audit
verification failure); tenant admins list and acknowledge their own
tenant's alerts only (TEN-1); operators see every tenant's with
`kura alerts`; each alert has a pending e-mail row in the notification
outbox; no alert carries names, e-mail addresses or secrets.

Alerts are raised asynchronously by the alerts engine: tests poll with a
bounded timeout (at most 5 s).
"""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

from identity_helpers import (FAST_ARGON, Api, Tenant, dump, raw_login,
                              strong_password, unique)
from kura_fixture import KuraServer

POLL_S = 5.0
# Low thresholds so a test can reach them quickly (the minimums allowed).
ALERT_SETTINGS = {
    **FAST_ARGON,
    ("alerts", "failed_logins_per_account"): "3",
    ("alerts", "failed_logins_per_address"): "4",
    ("alerts", "window_s"): "60",
    ("alerts", "bulk_reads_per_user"): "10",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-alerts"), settings=ALERT_SETTINGS)
    try:
        s.start()
        yield s
    finally:
        s.close()


# Everything the tests typed that must never show up in an alert.
SECRETS: list[str] = []


def tenant(srv: KuraServer) -> Tenant:
    t = Tenant(srv, name=f"Alert Corp {unique('n')}", admin_login=unique("adm"))
    SECRETS.extend([t.info["name"], t.info["email"], t.admin_login,
                    t.admin_password])
    return t


def member(t: Tenant, roles=None) -> dict:
    login = unique("mbr")
    u = t.add_user(roles=roles or ["member"], login_id=login,
                   email=f"{login}@alerts.example.com",
                   display_name=f"Display {login}")
    SECRETS.extend([login, f"{login}@alerts.example.com", f"Display {login}",
                    u["password"]])
    return u


def alerts(c: Api, **query) -> list[dict]:
    r = c.get("/api/v1/alerts", params=query)
    assert r.status_code == 200, dump(r)
    doc = r.json()
    assert set(doc) == {"items", "next_cursor"}, doc
    return doc["items"]


def wait_alerts(c: Api, rule: str, n: int = 1, **query) -> list[dict]:
    """Poll GET /alerts?rule=RULE until at least n items (<= POLL_S)."""
    deadline = time.monotonic() + POLL_S
    while True:
        items = alerts(c, rule=rule, **query)
        if len(items) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(items) >= n, f"no {rule} alert after {POLL_S}s: {items}"
    return items


def no_alert(c: Api, rule: str, wait: float = 1.5) -> None:
    time.sleep(wait)
    assert alerts(c, rule=rule) == [], f"unexpected {rule} alert"


def check_item(item: dict, rule: str, severity: str) -> None:
    assert item["rule"] == rule
    assert item["severity"] == severity
    assert item["id"].startswith("alr_")
    assert item["acked"] is False and item["acked_by"] is None
    assert item["created"].endswith(("Z", "+00:00", "+09:00")), item
    assert rule in item["summary"]


# ---------------------------------------------------------------- rules

def test_failed_signin_burst_per_account(srv):
    """LOG-6: refused sign-ins of one account reaching the threshold (3)
    within the window raise one failed_login_account alert naming it."""
    t = tenant(srv)
    u = member(t)
    for _ in range(2):
        assert raw_login(srv, t.contract_id, u["login"], "wrong-" + strong_password()).status_code == 401
    no_alert(t.admin, "failed_login_account", wait=1.2)
    assert raw_login(srv, t.contract_id, u["login"], "wrong").status_code == 401
    items = wait_alerts(t.admin, "failed_login_account")
    assert len(items) == 1, items
    check_item(items[0], "failed_login_account", "warning")
    assert items[0]["actor_id"] == u["id"]
    assert u["id"] in items[0]["summary"]


def test_failed_signin_burst_per_address(srv):
    """LOG-6: refused sign-ins from one address (unknown login ids, so no
    account reaches its own threshold) raise failed_login_address."""
    t = tenant(srv)
    for i in range(4):
        assert raw_login(srv, t.contract_id, unique("nobody"), "x" * 12).status_code == 401
    items = wait_alerts(t.admin, "failed_login_address")
    check_item(items[0], "failed_login_address", "warning")
    assert items[0]["source_ip"] == "127.0.0.1"
    assert alerts(t.admin, rule="failed_login_account") == []


def test_lockout(srv):
    """LOG-6 / IAM-7: the failure that locks an account raises
    account_locked."""
    t = tenant(srv)
    t.security(lockout_threshold=3)
    u = member(t)
    for _ in range(3):
        assert raw_login(srv, t.contract_id, u["login"], "wrong").status_code == 401
    items = wait_alerts(t.admin, "account_locked")
    assert len(items) == 1
    check_item(items[0], "account_locked", "warning")
    assert items[0]["actor_id"] == u["id"]


def test_signin_from_new_network(srv):
    """LOG-6: the first sign-in (127.0.0.1) is remembered silently; the
    same network again is quiet; ::1 is a new network and alerts."""
    t = tenant(srv)
    u = member(t)
    v4 = Api(srv)
    assert v4.login(t.contract_id, u["login"], u["password"]).status_code == 200
    assert v4.login(t.contract_id, u["login"], u["password"]).status_code == 200
    no_alert(t.admin, "new_network")
    v6 = Api(srv, v6=True)
    assert v6.login(t.contract_id, u["login"], u["password"]).status_code == 200
    items = wait_alerts(t.admin, "new_network")
    assert len(items) == 1, items
    check_item(items[0], "new_network", "warning")
    assert items[0]["actor_id"] == u["id"]
    assert items[0]["source_ip"] == "::1"


def test_admin_role_grant(srv):
    """LOG-6: granting tenant_admin (invite or role change) alerts;
    a member invite does not."""
    t = tenant(srv)
    u = member(t)
    no_alert(t.admin, "admin_granted", wait=1.0)
    r = t.admin.patch(f"/api/v1/users/{u['id']}", {"roles": ["tenant_admin"]})
    assert r.status_code == 200, dump(r)
    items = wait_alerts(t.admin, "admin_granted")
    check_item(items[0], "admin_granted", "warning")
    assert items[0]["actor_id"] == t.admin_id
    assert u["id"] in items[0]["summary"]
    t.invite(login_id=unique("adm2"), roles=["tenant_admin"])
    wait_alerts(t.admin, "admin_granted", n=2)


def test_token_creation(srv):
    """LOG-6: creating an API token alerts (info); the secret is nowhere
    in the alert."""
    t = tenant(srv)
    r = t.admin.post("/api/v1/tokens", {"name": "ci " + unique("tok"),
                                        "permissions": ["users.read"]})
    assert r.status_code == 201, dump(r)
    SECRETS.append(r.json()["token"])
    items = wait_alerts(t.admin, "token_created")
    check_item(items[0], "token_created", "info")
    assert r.json()["id"] in items[0]["summary"]


def test_allowlist_change(srv):
    """LOG-6: a change of the IP allowlists alerts; other setting changes
    do not."""
    t = tenant(srv)
    t.security(idle_timeout_seconds=1200)
    no_alert(t.admin, "allowlist_changed", wait=1.0)
    t.security(ip_allowlist={"console": ["127.0.0.0/8", "::1/128"],
                             "api": [], "all": []})
    items = wait_alerts(t.admin, "allowlist_changed")
    assert len(items) == 1
    check_item(items[0], "allowlist_changed", "warning")
    # the same lists again: no change, no alert
    t.security(ip_allowlist={"console": ["127.0.0.0/8", "::1/128"],
                             "api": [], "all": []})
    time.sleep(1.0)
    assert len(alerts(t.admin, rule="allowlist_changed")) == 1


def test_bulk_export(srv):
    """LOG-6: an export of the audit log is a bulk download and alerts."""
    t = tenant(srv)
    r = t.admin.get("/api/v1/audit-events/export")
    assert r.status_code == 200, r.text
    assert r.status_code == 200, r.text[:300]
    items = wait_alerts(t.admin, "bulk_export")
    check_item(items[0], "bulk_export", "warning")
    assert items[0]["actor_id"] == t.admin_id


def test_bulk_reads(srv):
    """LOG-6: more reads by one actor than bulk_reads_per_user (10) within
    the window alert once."""
    t = tenant(srv)
    u = member(t)
    c = t.login(u["login"], u["password"])
    for _ in range(11):
        assert c.get("/api/v1/me").status_code == 200
    items = wait_alerts(t.admin, "bulk_reads")
    assert [i["actor_id"] for i in items].count(u["id"]) == 1, items


# ---------------------------------------------------------------- API

def test_list_ack_and_isolation(srv):
    """LOG-6 / TEN-1: tenant admins list their alerts (a member gets 403),
    filter and page them, acknowledge once (409 the second time); another
    tenant sees none of them and cannot acknowledge them (404)."""
    a = tenant(srv)
    b = tenant(srv)
    for _ in range(2):
        r = a.admin.post("/api/v1/tokens", {"name": unique("t"),
                                            "permissions": ["users.read"]})
        assert r.status_code == 201
        SECRETS.append(r.json()["token"])
    items = wait_alerts(a.admin, "token_created", n=2)
    m = member(a)
    mc = a.login(m["login"], m["password"])
    r = mc.get("/api/v1/alerts")
    assert r.status_code == 403, dump(r)

    # pagination: one per page, newest first
    r = a.admin.get("/api/v1/alerts", params={"rule": "token_created", "limit": 1})
    page1 = r.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"] == page1["items"][0]["id"]
    r = a.admin.get("/api/v1/alerts", params={"rule": "token_created", "limit": 1,
                                              "cursor": page1["next_cursor"]})
    page2 = r.json()
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None, page2
    assert {page1["items"][0]["id"], page2["items"][0]["id"]} == {i["id"] for i in items}
    for bad in ({"acked": "maybe"}, {"limit": "0"}, {"cursor": "nope"}, {"rule": "a b"}):
        assert a.admin.get("/api/v1/alerts", params=bad).status_code == 400, bad

    target = items[0]["id"]
    # tenant B: not in its list, and its ack answers 404 like a random id
    assert target not in {i["id"] for i in alerts(b.admin)}
    r = b.admin.post(f"/api/v1/alerts/{target}/ack")
    assert r.status_code == 404, dump(r)
    r = b.admin.post("/api/v1/alerts/alr_" + "0" * 32 + "/ack")
    assert r.status_code == 404, dump(r)
    r = b.admin.post("/api/v1/alerts/not-an-id/ack")
    assert r.status_code == 404, dump(r)
    assert mc.post(f"/api/v1/alerts/{target}/ack").status_code == 403

    r = a.admin.post(f"/api/v1/alerts/{target}/ack")
    assert r.status_code == 200, dump(r)
    doc = r.json()
    assert doc["id"] == target and doc["acked"] is True
    assert doc["acked_by"] == a.admin_id and doc["acked_at"]
    r = a.admin.post(f"/api/v1/alerts/{target}/ack")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_acknowledged"

    acked = {i["id"] for i in alerts(a.admin, acked="true")}
    pending = {i["id"] for i in alerts(a.admin, acked="false")}
    assert target in acked and target not in pending
    assert items[1]["id"] in pending


def test_audit_verify_failure_and_operator_view(srv, kura_factory):
    """LOG-6 / LOG-2: a tampered log makes `kura audit verify` fail; the
    critical audit_verify_failed alert shows in `kura alerts` (operator,
    cross-tenant) and, for a tenant's check, in that tenant's list."""
    s = kura_factory(settings=FAST_ARGON)
    t = Tenant(s, admin_login=unique("adm"))
    assert t.admin.get("/api/v1/me").status_code == 200
    s.stop()
    db = sqlite3.connect(s.db_path)
    try:
        db.execute("DROP TRIGGER audit_events_no_update")
        db.execute("UPDATE audit_events SET status = 299 WHERE seq = "
                   "(SELECT MIN(seq) FROM audit_events WHERE tenant_id = ?)",
                   (t.tenant_id,))
        db.commit()
    finally:
        db.close()
    p = s.cli("audit", "verify", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    p = s.cli("audit", "verify", "--tenant", t.tenant_id, check=False)
    assert p.returncode == 1, p.stdout + p.stderr

    out = json.loads(s.cli("alerts", "--json").stdout)
    crit = [a for a in out if a["rule"] == "audit_verify_failed"]
    assert {a["severity"] for a in crit} == {"critical"}
    assert sum(1 for a in crit if a["tenant_id"] is None) == 2, crit
    assert sum(1 for a in crit if a["tenant_id"] == t.tenant_id) == 1, crit
    # filters of the operator view
    only_t = json.loads(s.cli("alerts", "--json", "--tenant", t.tenant_id).stdout)
    assert {a["tenant_id"] for a in only_t} == {t.tenant_id}
    op = json.loads(s.cli("alerts", "--json", "--tenant", "-").stdout)
    assert op and {a["tenant_id"] for a in op} == {None}
    table = s.cli("alerts", "--unacked").stdout
    assert "audit_verify_failed" in table and "critical" in table
    # listing again raises nothing twice
    again = json.loads(s.cli("alerts", "--json").stdout)
    assert len([a for a in again if a["rule"] == "audit_verify_failed"]) == 3

    # the tenant admin sees the tenant's copy once the server runs again
    s.start()
    t.relogin_admin()
    items = wait_alerts(t.admin, "audit_verify_failed")
    assert items[0]["severity"] == "critical"


# ---------------------------------------------------------------- storage

def test_outbox_and_no_secrets(srv):
    """LOG-6: every alert has a pending e-mail notification in the outbox
    (tenant admins, or operators for operator-wide ones); neither alerts
    nor payloads contain the names, e-mail addresses, login ids, passwords
    or token secrets the tests used."""
    assert SECRETS, "run with the other tests of this module"
    out = json.loads(srv.cli("alerts", "--json").stdout)
    assert len(out) >= 8
    db = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, tenant_id, rule, severity, summary, "
                          "actor_id, source_ip FROM alerts").fetchall()
        ob = db.execute("SELECT alert_id, tenant_id, channel, payload, "
                        "delivered_us FROM notification_outbox").fetchall()
    finally:
        db.close()
    assert len(rows) >= len(out)
    by_alert = {}
    for alert_id, tenant_id, channel, payload, delivered in ob:
        by_alert.setdefault(alert_id, []).append((tenant_id, channel, payload, delivered))
    for row in rows:
        aid, tid = row[0], row[1]
        assert aid in by_alert, f"no outbox row for {row}"
        (otid, channel, payload, delivered), = by_alert[aid]
        assert otid == tid and channel == "email" and delivered == 0
        p = json.loads(payload)
        assert p["alert_id"] == aid and p["rule"] == row[2]
        assert p["recipients"] == ("tenant_admins" if tid else "operators")
    text = json.dumps([rows, [o[2] for o in ob], out])
    for s in SECRETS:
        assert s not in text, f"{s!r} appears in an alert"
