"""User management evidence through the real server: IAM-1 invitations and
the user lifecycle, TEN-2 seats, IAM-2 roles (last admin, switch on the
next request, limited sub-users), listing, and CRY-1 for user names and
e-mail addresses."""
import secrets
import sqlite3
import time

from identity_helpers import (FAST_ARGON, Api, Tenant, accept, error_code,
                              expect_error, fast_kura, find_bytes,  # noqa: F401
                              encodings, raw_login, signed_in,
                              strong_password, unique)


def generic_401(r):
    assert r.status_code == 401 and error_code(r) == "invalid_credentials", r.text


# ---------------------------------------------------------------- IAM-1

def test_iam1_invitation_flow(fast_kura):
    """IAM-1: an invited user cannot sign in; accepting the one-time token
    sets the password and activates; the token works once; a garbage,
    revoked or expired token answers 400 invalid_invitation."""
    srv = fast_kura
    t = Tenant(srv)
    inv = t.invite(roles=["member"], display_name="Invited Person")
    assert inv["id"].startswith("usr_") and inv["roles"] == ["member"]
    assert inv["login_id"] and inv["email"] == f"{inv['login_id']}@example.com"
    pw = strong_password()
    generic_401(raw_login(srv, t.contract_id, inv["login_id"], pw))
    assert t.user(inv["id"])["status"] == "invited"

    for bad in ("", "x", "A" * 43, secrets.token_urlsafe(32), "A" * 300,
                inv["invitation_token"] + "x", inv["invitation_token"][:-1]):
        expect_error(accept(srv, bad, pw), 400, "invalid_invitation")
    r = accept(srv, inv["invitation_token"], pw)
    assert r.status_code == 200 and r.json() == {"id": inv["id"], "status": "active"}, r.text
    c = signed_in(srv, t.contract_id, inv["login_id"], pw)
    assert c.user["id"] == inv["id"] and c.user["status"] == "active"
    assert c.user["display_name"] == "Invited Person"
    # login ids are unique per tenant, ignoring case; another tenant may
    # use the same one
    expect_error(t.admin.post("/api/v1/users", {"login_id": inv["login_id"].upper(),
                                                "email": "dup@example.com"}),
                 409, "login_taken")
    t_other = Tenant(srv)
    t_other.invite(login_id=inv["login_id"])
    # single use: a second accept (even with another password) is refused
    other = strong_password()
    expect_error(accept(srv, inv["invitation_token"], other), 400, "invalid_invitation")
    generic_401(raw_login(srv, t.contract_id, inv["login_id"], other))
    signed_in(srv, t.contract_id, inv["login_id"], pw)

    # revoked: an invited user disabled by the admin; a deleted one
    inv2 = t.invite()
    r = t.admin.patch(f"/api/v1/users/{inv2['id']}", {"status": "disabled"})
    assert r.status_code == 200, r.text
    expect_error(accept(srv, inv2["invitation_token"], pw), 400, "invalid_invitation")
    inv3 = t.invite()
    assert t.admin.delete(f"/api/v1/users/{inv3['id']}").status_code == 200
    expect_error(accept(srv, inv3["invitation_token"], pw), 400, "invalid_invitation")

    # expired: move the expiry into the past in the database (7 days is
    # too long to wait); the server must check it on accept
    inv4 = t.invite()
    db = sqlite3.connect(srv.db_path, timeout=10)
    try:
        with db:
            n = db.execute("UPDATE users SET invite_expires_us = ? WHERE id = ?",
                           (int((time.time() - 60) * 1e6), inv4["id"])).rowcount
        assert n == 1
    finally:
        db.close()
    expect_error(accept(srv, inv4["invitation_token"], pw), 400, "invalid_invitation")
    generic_401(raw_login(srv, t.contract_id, inv4["login_id"], pw))


def test_iam1_nobody_else_sees_the_password(fast_kura):
    """IAM-1: the admin never sets or sees a user's password: no password
    or hash field in any user view, the password string appears in no
    answer, and an admin cannot pass a password when inviting or
    changing a user (400 unknown_field)."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    r_one = t.admin.get(f"/api/v1/users/{u['id']}")
    r_list = t.admin.get("/api/v1/users")
    c = t.login(u["login"], u["password"])
    r_me = c.me()
    r_login = c.last_login
    for r in (r_one, r_list, r_me, r_login):
        assert r.status_code == 200, r.text
        assert u["password"] not in r.text
        low = r.text.lower()
        assert "password_hash" not in low and "argon2" not in low and '"hash"' not in low, r.text
    keys = set(r_one.json())
    assert not {k for k in keys if "password" in k and k != "must_change_password"}, keys
    for item in r_list.json()["items"]:
        assert not {k for k in item if "password" in k and k != "must_change_password"}
    expect_error(t.admin.post("/api/v1/users", {"login_id": unique(), "email": "p@example.com",
                                                "password": "Xx1!xxxxxxxx"}),
                 400, "unknown_field")
    expect_error(t.admin.patch(f"/api/v1/users/{u['id']}", {"password": "Xx1!yyyyyyyy"}),
                 400, "unknown_field")
    signed_in(srv, t.contract_id, u["login"], u["password"])


# ---------------------------------------------------------------- TEN-2 seats

def test_ten2_seats(fast_kura):
    """TEN-2/IAM-1: active + invited users never exceed the seats: inviting
    past them answers 409 seats_exhausted; disabling a user frees a seat;
    re-enabling past the limit answers 409 seats_exhausted."""
    srv = fast_kura
    t = Tenant(srv, seats=3)
    a = t.add_user()
    b = t.add_user()
    r = t.admin.get("/api/v1/users")
    assert r.json()["seats"] == {"used": 3, "total": 3}, r.text
    before = {u["id"] for u in r.json()["items"]}
    expect_error(t.admin.post("/api/v1/users", {"login_id": unique(), "email": "s@example.com"}),
                 409, "seats_exhausted")
    assert {u["id"] for u in t.admin.get("/api/v1/users").json()["items"]} == before

    r = t.admin.patch(f"/api/v1/users/{a['id']}", {"status": "disabled"})
    assert r.status_code == 200 and r.json()["status"] == "disabled", r.text
    assert t.admin.get("/api/v1/users").json()["seats"]["used"] == 2
    c = t.invite()   # the freed seat
    assert t.admin.get("/api/v1/users").json()["seats"]["used"] == 3
    expect_error(t.admin.patch(f"/api/v1/users/{a['id']}", {"status": "active"}),
                 409, "seats_exhausted")
    assert t.user(a["id"])["status"] == "disabled"
    generic_401(raw_login(srv, t.contract_id, a["login"], a["password"]))
    # free one (delete the invitation) and re-enable works
    assert t.admin.delete(f"/api/v1/users/{c['id']}").status_code == 200
    r = t.admin.patch(f"/api/v1/users/{a['id']}", {"status": "active"})
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    signed_in(srv, t.contract_id, a["login"], a["password"])
    assert b  # still there
    assert t.admin.get("/api/v1/users").json()["seats"] == {"used": 3, "total": 3}


# ---------------------------------------------------------------- IAM-2

def test_iam2_last_admin_rule(fast_kura):
    """IAM-2: the only active tenant admin cannot be demoted, disabled or
    deleted (409 last_admin), also not by themselves; an invited admin who
    has not accepted does not count; once a second admin is active, the
    first can be demoted, and then the second is the last one."""
    srv = fast_kura
    t = Tenant(srv)
    a1 = t.admin_id
    for call in (lambda: t.admin.patch(f"/api/v1/users/{a1}", {"roles": ["member"]}),
                 lambda: t.admin.patch(f"/api/v1/users/{a1}", {"status": "disabled"}),
                 lambda: t.admin.delete(f"/api/v1/users/{a1}")):
        expect_error(call(), 409, "last_admin")
    inv = t.invite(roles=["tenant_admin"])  # invited, not yet an active admin
    expect_error(t.admin.patch(f"/api/v1/users/{a1}", {"roles": ["member"]}), 409, "last_admin")
    me = t.user(a1)
    assert me["roles"] == ["tenant_admin"] and me["status"] == "active"

    pw2 = strong_password()
    assert accept(srv, inv["invitation_token"], pw2).status_code == 200
    admin2 = t.login(inv["login_id"], pw2)
    assert admin2.get("/api/v1/users").status_code == 200
    r = t.admin.patch(f"/api/v1/users/{a1}", {"roles": ["member"]})
    assert r.status_code == 200 and r.json()["roles"] == ["member"], r.text
    # now admin2 is the last one
    for call in (lambda: admin2.patch(f"/api/v1/users/{inv['id']}", {"roles": ["member"]}),
                 lambda: admin2.patch(f"/api/v1/users/{inv['id']}", {"status": "disabled"}),
                 lambda: admin2.delete(f"/api/v1/users/{inv['id']}")):
        expect_error(call(), 409, "last_admin")
    # the demoted first admin cannot touch the remaining admin
    r = t.admin.patch(f"/api/v1/users/{inv['id']}", {"roles": ["member"]})
    assert r.status_code == 403, r.text
    # with a second admin again, deleting the first works
    r = admin2.patch(f"/api/v1/users/{a1}", {"roles": ["tenant_admin"]})
    assert r.status_code == 200, r.text
    r = admin2.delete(f"/api/v1/users/{a1}")
    assert r.status_code == 200, r.text
    expect_error(admin2.delete(f"/api/v1/users/{inv['id']}"), 409, "last_admin")


def test_iam2_role_switch_takes_effect_on_next_request(fast_kura):
    """IAM-2: a member's session is refused admin routes (403 forbidden);
    promoted to tenant_admin, the very next request of the same session is
    allowed, without signing in again; demoted, the next one is refused."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user(roles=["member"])
    c = t.login(u["login"], u["password"])
    expect_error(c.get("/api/v1/users"), 403, "forbidden")
    r = t.admin.patch(f"/api/v1/users/{u['id']}", {"roles": ["tenant_admin"]})
    assert r.status_code == 200 and r.json()["roles"] == ["tenant_admin"], r.text
    r = c.get("/api/v1/users")
    assert r.status_code == 200, r.text
    assert "users.write" in c.me().json()["permissions"]
    r = t.admin.patch(f"/api/v1/users/{u['id']}", {"roles": ["member"]})
    assert r.status_code == 200, r.text
    expect_error(c.get("/api/v1/users"), 403, "forbidden")
    assert "users.read" not in c.me().json()["permissions"]

    # a custom role: changing the role's permissions also applies at once
    r = t.admin.post("/api/v1/roles", {"name": "viewers", "permissions": ["users.read"]})
    assert r.status_code == 201, r.text
    role = r.json()["id"]
    assert t.admin.patch(f"/api/v1/users/{u['id']}", {"roles": [role]}).status_code == 200
    assert c.get("/api/v1/users").status_code == 200
    r = t.admin.patch(f"/api/v1/roles/{role}", {"permissions": ["audit.read"]})
    assert r.status_code == 200, r.text
    expect_error(c.get("/api/v1/users"), 403, "forbidden")
    # a role in use cannot be deleted; the built-in ones never
    expect_error(t.admin.delete(f"/api/v1/roles/{role}"), 409, "role_in_use")
    for builtin in ("tenant_admin", "member"):
        r = t.admin.delete(f"/api/v1/roles/{builtin}")
        assert r.status_code in (404, 409), r.text
    assert c.get("/api/v1/me").status_code == 200


def test_iam2_limited_user_refused_other_functions(fast_kura):
    """IAM-2/IAM-3: a member (no users.read) is refused user management,
    security settings, access review, roles and invitations (403
    forbidden); a custom role limited to one function (users.read) allows
    that function and nothing else."""
    srv = fast_kura
    t = Tenant(srv)
    m = t.add_user(roles=["member"])
    mc = t.login(m["login"], m["password"])
    for method, path, body in (
            ("GET", "/api/v1/users", None),
            ("GET", f"/api/v1/users/{t.admin_id}", None),
            ("POST", "/api/v1/users", {"login_id": unique(), "email": "x@example.com"}),
            ("PATCH", f"/api/v1/users/{m['id']}", {"roles": ["tenant_admin"]}),
            ("GET", "/api/v1/settings/security", None),
            ("PUT", "/api/v1/settings/security", {"lockout_threshold": 20}),
            ("GET", "/api/v1/access-review", None),
            ("GET", "/api/v1/access-review?format=csv", None),
            ("POST", "/api/v1/roles", {"name": "sneaky", "permissions": ["users.read"]}),
    ):
        r = mc.request(method, path, body)
        expect_error(r, 403, "forbidden")
    assert t.user(m["id"])["roles"] == ["member"]
    assert mc.me().status_code == 200

    r = t.admin.post("/api/v1/roles", {"name": "user viewer", "permissions": ["users.read"]})
    assert r.status_code == 201, r.text
    role_id = r.json()["id"]
    v = t.add_user(roles=[role_id])
    vc = t.login(v["login"], v["password"])
    assert vc.get("/api/v1/users").status_code == 200
    assert vc.get(f"/api/v1/users/{t.admin_id}").status_code == 200
    for method, path, body in (
            ("POST", "/api/v1/users", {"login_id": unique(), "email": "y@example.com"}),
            ("PATCH", f"/api/v1/users/{v['id']}", {"roles": ["tenant_admin"]}),
            ("DELETE", f"/api/v1/users/{m['id']}", None),
            ("GET", "/api/v1/settings/security", None),
            ("GET", "/api/v1/access-review", None),
            ("GET", "/api/v1/roles", None),
            ("POST", "/api/v1/tokens", {"name": "t", "permissions": ["users.read"]}),
    ):
        expect_error(vc.request(method, path, body), 403, "forbidden")

    # a user manager who is not an admin cannot grant more than they hold
    r = t.admin.post("/api/v1/roles", {"name": "user manager",
                                       "permissions": ["users.read", "users.write"]})
    assert r.status_code == 201, r.text
    mgr_role = r.json()["id"]
    mgr = t.add_user(roles=[mgr_role])
    mc2 = t.login(mgr["login"], mgr["password"])
    expect_error(mc2.post("/api/v1/users", {"login_id": unique(), "email": "z@example.com",
                                            "roles": ["tenant_admin"]}),
                 403, "privilege_escalation")
    expect_error(mc2.patch(f"/api/v1/users/{mgr['id']}", {"roles": ["tenant_admin"]}),
                 403, "privilege_escalation")
    expect_error(mc2.patch(f"/api/v1/users/{m['id']}", {"roles": ["tenant_admin"]}),
                 403, "privilege_escalation")
    # (with a second admin, so the last-admin rule is not what refuses it)
    t.add_user(roles=["tenant_admin"])
    expect_error(mc2.patch(f"/api/v1/users/{t.admin_id}", {"status": "disabled"}),
                 403, "privilege_escalation")
    expect_error(mc2.delete(f"/api/v1/users/{t.admin_id}"), 403, "privilege_escalation")
    assert t.user(t.admin_id)["status"] == "active"
    assert t.user(m["id"])["roles"] == ["member"]
    # "member" holds functions (files, AI, tokens) the manager lacks
    expect_error(mc2.post("/api/v1/users", {"login_id": unique(), "email": "w@example.com",
                                            "roles": ["member"]}),
                 403, "privilege_escalation")
    r = mc2.post("/api/v1/users", {"login_id": unique(), "email": "w@example.com",
                                   "roles": [mgr_role]})
    assert r.status_code == 201, r.text


def test_iam8_disabling_a_user_ends_their_sessions(fast_kura):
    """IAM-1/IAM-8: disabling a user ends their sessions at once (next
    request 401) and they cannot sign in; re-enabling does not revive the
    old session."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c1 = t.login(u["login"], u["password"])
    c2 = t.login(u["login"], u["password"])
    assert c1.me().status_code == 200 and c2.me().status_code == 200
    r = t.admin.patch(f"/api/v1/users/{u['id']}", {"status": "disabled"})
    assert r.status_code == 200, r.text
    for c in (c1, c2):
        r = c.me()
        assert r.status_code == 401, r.text
    generic_401(raw_login(srv, t.contract_id, u["login"], u["password"]))
    assert t.admin.patch(f"/api/v1/users/{u['id']}", {"status": "active"}).status_code == 200
    assert c1.me().status_code == 401
    signed_in(srv, t.contract_id, u["login"], u["password"])


def test_iam1_delete_removes_user(fast_kura):
    """IAM-1: DELETE /users/{id} removes the user: 404 afterwards, not
    listed, sessions dead, sign-in refused, the seat is free, and the
    login id can be invited again as a new user."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    used = t.admin.get("/api/v1/users").json()["seats"]["used"]
    r = t.admin.delete(f"/api/v1/users/{u['id']}")
    assert r.status_code == 200 and r.json() == {"id": u["id"], "deleted": True}, r.text
    expect_error(t.admin.get(f"/api/v1/users/{u['id']}"), 404, "not_found")
    expect_error(t.admin.delete(f"/api/v1/users/{u['id']}"), 404, "not_found")
    ids = {x["id"] for x in t.admin.get("/api/v1/users").json()["items"]}
    assert u["id"] not in ids
    assert c.me().status_code == 401
    generic_401(raw_login(srv, t.contract_id, u["login"], u["password"]))
    assert t.admin.get("/api/v1/users").json()["seats"]["used"] == used - 1
    again = t.invite(login_id=u["login"])
    assert again["id"] != u["id"]


def test_iam1_list_paging_each_user_once(fast_kura):
    """IAM-1: GET /users?limit=1 followed through next_cursor returns every
    user exactly once, the same set as one unpaged listing."""
    srv = fast_kura
    t = Tenant(srv)
    for _ in range(3):
        t.add_user()
    for _ in range(2):
        t.invite()
    full = t.admin.get("/api/v1/users?limit=200").json()
    assert full["next_cursor"] is None
    all_ids = [u["id"] for u in full["items"]]
    assert len(all_ids) == 6 and len(set(all_ids)) == 6
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/users?limit=1" + (f"&cursor={cursor}" if cursor else "")
        r = t.admin.get(path)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert len(doc["items"]) <= 1
        seen += [u["id"] for u in doc["items"]]
        pages += 1
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        assert pages <= 10, "paging does not end"
    assert sorted(seen) == sorted(all_ids) and len(seen) == len(set(seen)), (seen, all_ids)
    # filters
    invited = t.admin.get("/api/v1/users?status=invited").json()["items"]
    assert len(invited) == 2 and all(u["status"] == "invited" for u in invited)
    for bad in ("limit=0", "limit=201", "limit=x", "cursor=nope", "status=weird"):
        expect_error(t.admin.get(f"/api/v1/users?{bad}"), 400, "invalid_field")


# ---------------------------------------------------------------- CRY-1

def test_cry1_canary_user_fields_not_on_disk(kura_factory):
    """CRY-1: a random canary in a user's login id, display name and e-mail
    (invited, accepted, signed in, renamed with PATCH) is found by no byte
    search (UTF-8, UTF-16LE/BE, upper/lower case) of any file under the
    data directory once the server has stopped, nor in its log; the API
    shows the values decrypted (CRY-4)."""
    srv = kura_factory(settings=FAST_ARGON)
    t = Tenant(srv)
    canary = "cnry" + secrets.token_hex(10)
    canary2 = "cnrz" + secrets.token_hex(10)
    login = f"{canary}.login"
    email = f"{canary}.mail@{canary}.example.com"
    name = f"Display {canary} 名前"
    u = t.add_user(login_id=login, email=email, display_name=name)
    c = t.login(login, u["password"])
    assert c.user["login_id"] == login and c.user["email"] == email
    assert c.user["display_name"] == name
    new_name = f"Renamed {canary2}"
    new_email = f"{canary2}@example.com"
    r = t.admin.patch(f"/api/v1/users/{u['id']}", {"display_name": new_name,
                                                   "email": new_email})
    assert r.status_code == 200, r.text
    doc = t.user(u["id"])
    assert doc["display_name"] == new_name and doc["email"] == new_email
    # the user's own MFA URI also carries the login id; enrol to write it
    r = c.post("/api/v1/me/mfa/totp")
    assert r.status_code == 200 and canary in r.json()["otpauth_uri"], r.text
    # access review reads everything once more
    assert t.admin.get("/api/v1/access-review").status_code == 200

    assert srv.stop() == 0
    needles = {"canary": encodings(canary), "canary2": encodings(canary2),
               "login": encodings(login), "email": encodings(email),
               "name": encodings(name)}
    files = [p.name for p in srv.data_dir.rglob("*") if p.is_file()]
    assert "kura.db" in files, files
    hits = find_bytes(srv.data_dir, needles)
    assert not hits, f"plaintext user data on disk: {hits}"
    log = srv.log_path.read_bytes()
    assert not [k for k, vs in needles.items() if any(v in log for v in vs)], \
        "user data in the server log"


def test_iam1_invitation_token_single_use_under_race(fast_kura):
    """IAM-1: eight concurrent accepts of one invitation token with eight
    different passwords: exactly one succeeds, and only its password signs
    in."""
    from concurrent.futures import ThreadPoolExecutor
    srv = fast_kura
    t = Tenant(srv)
    inv = t.invite()
    pws = [strong_password() for _ in range(8)]
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda pw: accept(srv, inv["invitation_token"], pw), pws))
    ok = [pw for pw, r in zip(pws, results) if r.status_code == 200]
    others = [r for r in results if r.status_code != 200]
    assert len(ok) == 1, [(r.status_code, r.text) for r in results]
    for r in others:
        expect_error(r, 400, "invalid_invitation")
    signed_in(srv, t.contract_id, inv["login_id"], ok[0])
    # (at most 4 wrong ones: the default lockout threshold is 5)
    for pw in [p for p in pws if p != ok[0]][:4]:
        generic_401(raw_login(srv, t.contract_id, inv["login_id"], pw))
    signed_in(srv, t.contract_id, inv["login_id"], ok[0])
