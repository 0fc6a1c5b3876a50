"""Session evidence through the real server (IAM-8): cookie attributes,
only a hash of the token stored, CSRF, idle and absolute expiry with a
test configuration of a few seconds, logout, sign-out everywhere, own
session list and revocation, admin revocation, and the per-user cap."""
import time

from identity_helpers import (Api, Tenant, cookie_client, encodings,  # noqa: F401
                              error_code, expect_error, fast_kura, find_bytes,
                              random_id)


def cookie_attrs(set_cookie: str) -> tuple[str, str, dict]:
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return name, value, attrs


def test_iam8_cookie_attributes(fast_kura):
    """IAM-8: the session cookie is Secure, HttpOnly, SameSite=Strict,
    Path=/, a browser-session cookie carrying a long random token; logout
    clears it."""
    srv = fast_kura
    t = Tenant(srv)
    c = Api(srv)
    r = c.login(t.contract_id, "admin", t.admin_password)
    assert r.status_code == 200, r.text
    raw = r.raw.headers.getlist("Set-Cookie")
    assert len(raw) == 1, raw
    name, value, attrs = cookie_attrs(raw[0])
    assert name == "kura_session"
    assert len(value) >= 40, value
    assert "secure" in attrs and "httponly" in attrs, raw
    assert attrs.get("samesite") == "Strict", raw
    assert attrs.get("path") == "/", raw
    assert "domain" not in attrs, raw
    assert value not in r.text  # the token is not in the body either
    # a second sign-in gets a different token
    c2 = Api(srv)
    c2.login(t.contract_id, "admin", t.admin_password)
    assert c2.cookie and c2.cookie != value and c2.csrf != c.csrf

    r = c.post("/api/v1/auth/logout")
    assert r.status_code == 200, r.text
    name, value2, attrs = cookie_attrs(r.raw.headers.getlist("Set-Cookie")[0])
    assert name == "kura_session" and value2 == "" and attrs.get("max-age") == "0"
    assert "secure" in attrs and "httponly" in attrs and attrs.get("samesite") == "Strict"


def test_iam8_only_token_hash_stored(fast_kura):
    """IAM-8: neither the session token nor the CSRF token is stored: a
    byte search of the database (and WAL) and the server log finds
    neither, while the session works."""
    srv = fast_kura
    t = Tenant(srv)
    c = t.login("admin", t.admin_password)
    assert c.me().status_code == 200
    needles = {"session": encodings(c.cookie), "csrf": encodings(c.csrf)}
    files = [p.name for p in srv.data_dir.iterdir()]
    assert "kura.db" in files, files
    hits = find_bytes(srv.data_dir, needles)
    assert not hits, f"session secrets stored in clear: {hits}"
    log = srv.log()
    assert c.cookie not in log and c.csrf not in log


def test_iam8_csrf_required_for_state_changes(fast_kura):
    """IAM-8: with the session cookie, a state-changing request without
    X-CSRF-Token, with a wrong one, or with another session's one answers
    403 csrf_failed and changes nothing; GET needs none; the session
    token is not accepted as a bearer token either."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.admin
    other = t.login("admin", t.admin_password)
    wrong = {"none": False, "wrong": "x" * 43, "other session's": other.csrf,
             "empty": ""}
    for what, tok in wrong.items():
        for method, path, body in (
                ("POST", "/api/v1/auth/logout", None),
                ("POST", "/api/v1/auth/logout-all", None),
                ("PATCH", f"/api/v1/users/{u['id']}", {"display_name": "csrf-changed"}),
                ("POST", "/api/v1/users", {"login_id": "csrfuser", "email": "c@example.com"}),
                ("DELETE", f"/api/v1/users/{u['id']}", None),
                ("PUT", "/api/v1/settings/security", {"lockout_threshold": 20}),
                ("PUT", "/api/v1/me/password", {"current_password": t.admin_password,
                                                "new_password": "Qz9!changed-pw"}),
                ("POST", "/api/v1/me/mfa/totp", None),
        ):
            r = c.request(method, path, body, csrf=tok)
            expect_error(r, 403, "csrf_failed")
    # nothing happened
    assert c.get("/api/v1/me").status_code == 200
    assert other.me().status_code == 200
    doc = t.user(u["id"])
    assert doc["display_name"] != "csrf-changed" and doc["status"] == "active"
    assert t.admin.get("/api/v1/settings/security").json()["lockout_threshold"] == 5
    logins = [x["login_id"] for x in t.admin.get("/api/v1/users").json()["items"]]
    assert "csrfuser" not in logins
    assert c.get("/api/v1/me").json()["mfa_enabled"] is False
    t.login("admin", t.admin_password)  # password unchanged
    # with the right token it works
    r = c.patch(f"/api/v1/users/{u['id']}", {"display_name": "csrf-ok"})
    assert r.status_code == 200 and r.json()["display_name"] == "csrf-ok", r.text
    # the cookie value is not an API token
    r = srv.session().get(srv.url("/api/v1/me"),
                          headers={"Authorization": f"Bearer {c.cookie}"})
    assert r.status_code == 401, r.text


def test_iam8_idle_timeout(fast_kura):
    """IAM-8: with idle_timeout_seconds 2, activity every second keeps a
    session alive for 5 s; 3 s without a request ends it (401
    session_expired), and it stays ended."""
    srv = fast_kura
    t = Tenant(srv)
    t.security(idle_timeout_seconds=2)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    start = time.monotonic()
    while time.monotonic() - start < 5:
        r = c.me()
        assert r.status_code == 200, f"after {time.monotonic() - start:.1f}s: {r.text}"
        time.sleep(1)
    assert c.me().status_code == 200
    time.sleep(3)
    expect_error(c.me(), 401, "session_expired")
    r = c.me()
    assert r.status_code == 401, r.text
    # a new sign-in works
    assert t.login(u["login"], u["password"]).me().status_code == 200


def test_iam8_absolute_lifetime(fast_kura):
    """IAM-8: with absolute_lifetime_seconds 3, a session used every
    second (so never idle) still ends 3 s after sign-in (401
    session_expired)."""
    srv = fast_kura
    t = Tenant(srv)
    t.security(idle_timeout_seconds=3, absolute_lifetime_seconds=3)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    t0 = time.monotonic()
    for at in (0.5, 1.5, 2.3):
        time.sleep(max(0, t0 + at - time.monotonic()))
        r = c.me()
        assert r.status_code == 200, f"at {at}s: {r.text}"
    time.sleep(max(0, t0 + 3.6 - time.monotonic()))
    expect_error(c.me(), 401, "session_expired")


def test_iam8_logout(fast_kura):
    """IAM-8: after POST /auth/logout the cookie no longer works, even when
    replayed by hand; other sessions of the user stay."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    other = t.login(u["login"], u["password"])
    token, csrf = c.cookie, c.csrf
    r = c.post("/api/v1/auth/logout")
    assert r.status_code == 200, r.text
    replay = cookie_client(srv, token, csrf)
    expect_error(replay.me(), 401, "unauthenticated")
    expect_error(replay.post("/api/v1/auth/logout"), 401, "unauthenticated")
    assert other.me().status_code == 200


def test_iam8_logout_all_and_own_sessions(fast_kura):
    """IAM-8: GET /me/sessions lists the user's sessions with exactly one
    `current`; DELETE /me/sessions/{id} ends another one at once (a
    random id or another user's session id answers 404 and ends nothing);
    POST /auth/logout-all ends every session of the user and only theirs."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    v = t.add_user()
    c1 = t.login(u["login"], u["password"])
    c2 = t.login(u["login"], u["password"])
    c3 = t.login(u["login"], u["password"])
    vc = t.login(v["login"], v["password"])

    def listing(c):
        r = c.get("/api/v1/me/sessions")
        assert r.status_code == 200, r.text
        return r.json()["items"]

    l1, l2 = listing(c1), listing(c2)
    assert len(l1) == 3 and {s["id"] for s in l1} == {s["id"] for s in l2}
    cur1 = [s["id"] for s in l1 if s["current"]]
    cur2 = [s["id"] for s in l2 if s["current"]]
    assert len(cur1) == 1 and len(cur2) == 1 and cur1 != cur2, (l1, l2)
    for s in l1:
        assert s["client_ip"] == "127.0.0.1" and s["id"].startswith("ses_")
    v_sid = [s["id"] for s in listing(vc) if s["current"]][0]

    expect_error(c1.delete(f"/api/v1/me/sessions/{random_id('ses')}"), 404, "not_found")
    expect_error(c1.delete(f"/api/v1/me/sessions/{v_sid}"), 404, "not_found")
    assert vc.me().status_code == 200
    r = c1.delete(f"/api/v1/me/sessions/{cur2[0]}")
    assert r.status_code == 200, r.text
    assert c2.me().status_code == 401
    assert c1.me().status_code == 200 and c3.me().status_code == 200
    assert len(listing(c1)) == 2

    r = c1.post("/api/v1/auth/logout-all")
    assert r.status_code == 200 and r.json().get("sessions_ended") == 2, r.text
    assert c1.me().status_code == 401 and c3.me().status_code == 401
    assert vc.me().status_code == 200


def test_iam8_admin_revokes_sessions(fast_kura):
    """IAM-8: POST /users/{id}/revoke-sessions ends every session of that
    user at once, not the admin's; a member may not revoke (403)."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    m = t.add_user()
    c1 = t.login(u["login"], u["password"])
    c2 = t.login(u["login"], u["password"])
    mc = t.login(m["login"], m["password"])
    expect_error(mc.post(f"/api/v1/users/{u['id']}/revoke-sessions"), 403, "forbidden")
    assert c1.me().status_code == 200
    r = t.admin.post(f"/api/v1/users/{u['id']}/revoke-sessions")
    assert r.status_code == 200 and r.json() == {"id": u["id"], "sessions_ended": 2}, r.text
    assert c1.me().status_code == 401 and c2.me().status_code == 401
    assert t.admin.me().status_code == 200 and mc.me().status_code == 200
    # the user can sign in again
    assert t.login(u["login"], u["password"]).me().status_code == 200


def test_iam8_at_most_20_sessions_per_user(fast_kura):
    """IAM-8: 22 sign-ins leave at most 20 sessions; the oldest end, the
    newest work."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    clients = [t.login(u["login"], u["password"]) for _ in range(22)]
    r = clients[-1].get("/api/v1/me/sessions")
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 20, len(r.json()["items"])
    alive = [c.me().status_code for c in clients]
    assert alive[:2] == [401, 401], alive
    assert alive[2:] == [200] * 20, alive


def test_iam8_suspended_tenant_ends_access(fast_kura):
    """IAM-8/TEN-2: while a tenant is suspended (`kura tenant suspend`), its
    existing sessions and API tokens are refused (401) and nobody can sign
    in; other tenants are unaffected."""
    srv = fast_kura
    t = Tenant(srv)
    other = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    r = t.admin.post("/api/v1/tokens", {"name": "ci", "permissions": ["users.read"]})
    assert r.status_code == 201, r.text
    tok = r.json()["token"]

    def bearer_me():
        return srv.session().get(srv.url("/api/v1/users"),
                                 headers={"Authorization": f"Bearer {tok}"})

    assert bearer_me().status_code == 200
    srv.cli("tenant", "suspend", t.contract_id)
    assert c.me().status_code == 401
    assert t.admin.get("/api/v1/users").status_code == 401
    assert bearer_me().status_code == 401
    r = Api(srv).login(t.contract_id, u["login"], u["password"])
    assert r.status_code == 401 and error_code(r) == "invalid_credentials", r.text
    assert other.admin.get("/api/v1/users").status_code == 200
    srv.cli("tenant", "resume", t.contract_id)
    assert t.login(u["login"], u["password"]).me().status_code == 200
