"""Roles, access review, security settings and API tokens through the real
server: IAM-2 (roles), IAM-3 (least privilege), IAM-4 (access review),
IAM-5 (only stricter password policy), IAM-10 (IP allowlists, self-lockout
refusal), IAM-12 (API tokens), TEN-1 (another tenant's ids answer 404),
DAT-1 (labels), CRY-1 (token secrets stored hashed)."""
from __future__ import annotations

import csv
import io
import secrets
import sqlite3
import time
from datetime import datetime, timezone

import pytest

from kura_fixture import assert_json_error

PASSWORD = "Kura-Test-Pass-1!"
USER_PASSWORD = "Member-Pass-42?"


# ---------------------------------------------------------------- helpers

class Client:
    """A signed-in browser session (cookie + CSRF token) or a bearer token,
    talking to one server over 127.0.0.1 or ::1."""

    def __init__(self, srv, v6: bool = False, csrf: str | None = None,
                 token: str | None = None, session=None):
        self.srv = srv
        self.v6 = v6
        self.s = session or srv.session()
        if csrf is not None:
            self.s.headers["X-CSRF-Token"] = csrf
        if token is not None:
            self.s.headers["Authorization"] = f"Bearer {token}"
        self.me = None

    def url(self, path: str) -> str:
        return self.srv.url(path, v6=self.v6)

    def get(self, path, **kw):
        return self.s.get(self.url(path), timeout=30, **kw)

    def post(self, path, json=None, **kw):
        return self.s.post(self.url(path), json=json, timeout=30, **kw)

    def put(self, path, json=None, **kw):
        return self.s.put(self.url(path), json=json, timeout=30, **kw)

    def patch(self, path, json=None, **kw):
        return self.s.patch(self.url(path), json=json, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.url(path), timeout=30, **kw)


def login(srv, contract_id: str, login_id: str, password: str,
          v6: bool = False) -> Client:
    c = Client(srv, v6=v6)
    r = c.post("/api/v1/auth/login", json={"contract_id": contract_id,
               "login_id": login_id, "password": password})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["mfa_required"] is False, doc
    c.s.headers["X-CSRF-Token"] = doc["csrf_token"]
    c.me = doc["user"]
    return c


def bearer(srv, token: str, v6: bool = False) -> Client:
    return Client(srv, v6=v6, token=token)


def new_tenant(srv):
    """A tenant whose admin can sign in at once; (tenant dict, admin Client)."""
    t = srv.create_tenant(password=PASSWORD)
    return t, login(srv, t["contract_id"], t["login"], PASSWORD)


def invite(srv, admin: Client, contract_id: str, roles: list,
           display_name: str | None = None, email: str | None = None) -> dict:
    """Invite a user and accept the invitation; returns {id, login, client}."""
    login_id = f"u{secrets.token_hex(5)}"
    body = {"login_id": login_id,
            "email": email or f"{login_id}@example.com",
            "display_name": display_name or f"User {login_id}",
            "roles": roles}
    r = admin.post("/api/v1/users", json=body)
    assert r.status_code == 201, r.text
    doc = r.json()
    r = srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                           json={"token": doc["invitation_token"],
                                 "password": USER_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"id": doc["id"], "login": login_id,
            "client": login(srv, contract_id, login_id, USER_PASSWORD)}


def create_role(c: Client, name: str, perms: list, labels=None, status=201):
    body = {"name": name, "permissions": perms}
    if labels is not None:
        body["labels"] = labels
    r = c.post("/api/v1/roles", json=body)
    assert r.status_code == status, r.text
    return r.json()


def create_token(c: Client, perms: list, name: str = "ci", **extra) -> dict:
    r = c.post("/api/v1/tokens", json={"name": name, "permissions": perms,
                                        **extra})
    assert r.status_code == 201, r.text
    return r.json()


def put_settings(c: Client, body: dict):
    return c.put("/api/v1/settings/security", json=body)


def parse_time(s: str) -> float:
    """RFC 3339 with microseconds, in the tenant's zone ("+09:00") or "Z"."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(
        timezone.utc).timestamp()


def random_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


# ---------------------------------------------------------------- roles

def test_iam2_permission_catalogue(kura):
    """IAM-2, IAM-3: GET /permissions lists every permission with English
    and Japanese descriptions and the admin_only flag, and the built-in
    roles with their permissions."""
    _, admin = new_tenant(kura)
    r = admin.get("/api/v1/permissions")
    assert r.status_code == 200, r.text
    doc = r.json()
    names = [p["name"] for p in doc["items"]]
    for want in ("users.read", "users.write", "roles.write", "settings.write",
                 "tokens.write", "files.read", "ai.speech", "ai.analysis"):
        assert want in names
    for p in doc["items"]:
        assert p["en"] and p["ja"] and isinstance(p["admin_only"], bool)
    roles = {r["id"]: r for r in doc["builtin_roles"]}
    assert set(roles) == {"tenant_admin", "member"}
    assert set(roles["tenant_admin"]["permissions"]) == set(names)
    assert "users.write" not in roles["member"]["permissions"]
    assert all(r["builtin"] is True for r in roles.values())


def test_iam2_custom_role_limits_user_to_one_function(kura):
    """IAM-2: a custom role with only ai.speech limits a sub-user to that
    function (403 on users, roles, settings, tokens, access review); a
    change to the role takes effect on the user's next request."""
    t, admin = new_tenant(kura)
    role = create_role(admin, "Speech only", ["ai.speech"], labels=["voice"])
    assert role["id"].startswith("rol_") and role["builtin"] is False
    assert role["permissions"] == ["ai.speech"]
    assert role["labels"] == ["voice"] and role["name"] == "Speech only"
    u = invite(kura, admin, t["contract_id"], [role["id"]])
    c = u["client"]
    me = c.get("/api/v1/me").json()
    assert me["permissions"] == ["ai.speech"]
    for path in ("/api/v1/users", "/api/v1/roles", "/api/v1/permissions",
                 "/api/v1/settings/security", "/api/v1/tokens",
                 "/api/v1/access-review"):
        assert_json_error(c.get(path), 403, "forbidden")
    assert_json_error(c.post("/api/v1/roles", json={"name": "x",
                      "permissions": []}), 403, "forbidden")
    # the admin widens the role: effective on the next request
    r = admin.patch(f"/api/v1/roles/{role['id']}",
                    json={"permissions": ["ai.speech", "users.read"]})
    assert r.status_code == 200, r.text
    assert r.json()["permissions"] == ["users.read", "ai.speech"]
    assert c.get("/api/v1/users").status_code == 200
    r = admin.patch(f"/api/v1/roles/{role['id']}",
                    json={"permissions": ["ai.speech"]})
    assert r.status_code == 200
    assert_json_error(c.get("/api/v1/users"), 403, "forbidden")


def test_iam3_role_privilege_escalation_refused(kura):
    """IAM-2, IAM-3: a role manager without users.write cannot create or
    edit a role that holds it (403 privilege_escalation), nor edit a role
    more powerful than themselves; unknown permissions are 400."""
    t, admin = new_tenant(kura)
    mgr_role = create_role(admin, "Role manager", ["roles.read", "roles.write"])
    strong = create_role(admin, "Settings", ["settings.write", "settings.read"])
    mgr = invite(kura, admin, t["contract_id"], [mgr_role["id"]])["client"]

    ok = create_role(mgr, "Readers", ["roles.read"])
    assert ok["permissions"] == ["roles.read"]
    r = mgr.post("/api/v1/roles", json={"name": "Sneaky",
                 "permissions": ["roles.read", "users.write"]})
    assert_json_error(r, 403, "privilege_escalation")
    r = mgr.patch(f"/api/v1/roles/{ok['id']}",
                  json={"permissions": ["users.read"]})
    assert_json_error(r, 403, "privilege_escalation")
    r = mgr.patch(f"/api/v1/roles/{strong['id']}", json={"name": "Renamed"})
    assert_json_error(r, 403, "privilege_escalation")
    # and the refused changes did not happen
    roles = {x["id"]: x for x in admin.get("/api/v1/roles").json()["items"]}
    assert roles[ok["id"]]["permissions"] == ["roles.read"]
    assert roles[strong["id"]]["name"] == "Settings"
    assert not any(x["name"] == "Sneaky" for x in roles.values())
    # unknown or duplicated permission names
    for perms in (["roles.read", "no.such"], ["*"], ["roles.read", "roles.read"],
                  "roles.read", [1]):
        r = mgr.post("/api/v1/roles", json={"name": "Bad", "permissions": perms})
        assert_json_error(r, 400, "invalid_field")
        assert "permissions" in r.json()["error"]["message"]


def test_iam2_role_input_validation(kura):
    """IAM-2, DAT-1: names are 1 to 64 characters of text, labels are
    short strings, unknown fields are refused, permissions are required
    on create."""
    _, admin = new_tenant(kura)
    bad = [
        ({"name": "", "permissions": []}, "invalid_field"),
        ({"name": "x" * 65, "permissions": []}, "invalid_field"),
        ({"name": "bad\nname", "permissions": []}, "invalid_field"),
        ({"name": 5, "permissions": []}, "invalid_field"),
        ({"name": "ok"}, "invalid_field"),
        ({"permissions": []}, "invalid_field"),
        ({"name": "ok", "permissions": [], "labels": "x"}, "invalid_field"),
        ({"name": "ok", "permissions": [], "labels": [""]}, "invalid_field"),
        ({"name": "ok", "permissions": [], "labels": ["x" * 65]}, "invalid_field"),
        ({"name": "ok", "permissions": [], "tenant_id": "ten_x"}, "unknown_field"),
    ]
    for body, code in bad:
        assert_json_error(admin.post("/api/v1/roles", json=body), 400, code)
    # 64 characters of Japanese are fine (characters, not bytes)
    r = create_role(admin, "役" * 64, ["files.read"])
    assert r["name"] == "役" * 64
    assert_json_error(admin.patch(f"/api/v1/roles/{r['id']}",
                      json={"name": "役" * 65}), 400, "invalid_field")


def test_iam2_builtin_roles_protected(kura):
    """IAM-2: built-in roles cannot be changed or deleted (409
    builtin_role) nor imitated by a custom role's name; malformed and
    unknown role ids answer the same 404."""
    _, admin = new_tenant(kura)
    for rid in ("tenant_admin", "member"):
        assert_json_error(admin.patch(f"/api/v1/roles/{rid}",
                          json={"name": "x"}), 409, "builtin_role")
        assert_json_error(admin.delete(f"/api/v1/roles/{rid}"), 409,
                          "builtin_role")
    for name in ("tenant_admin", "Tenant_Admin", "MEMBER"):
        r = admin.post("/api/v1/roles", json={"name": name,
                       "permissions": ["files.read"]})
        assert_json_error(r, 409, "name_taken")
    bodies = set()
    for rid in ("rol_xyz", random_id("rol"), random_id("usr"), "..%2F..",
                "ROL_" + secrets.token_hex(16)):
        r = admin.delete(f"/api/v1/roles/{rid}")
        assert_json_error(r, 404, "not_found")
        bodies.add(r.content)
        r = admin.patch(f"/api/v1/roles/{rid}", json={"name": "y"})
        assert_json_error(r, 404, "not_found")
        bodies.add(r.content)
    assert len(bodies) == 1
    listed = admin.get("/api/v1/roles").json()["items"]
    assert [x["id"] for x in listed[:2]] == ["tenant_admin", "member"]
    assert all(x["builtin"] for x in listed[:2])


def test_iam2_role_name_unique_case_insensitive(kura):
    """IAM-2, DAT-1: role names are unique per tenant regardless of case
    (409 name_taken), on create and on rename; renaming a role to its own
    name is fine."""
    _, admin = new_tenant(kura)
    a = create_role(admin, "Auditors", ["audit.read"])
    b = create_role(admin, "Speech", ["ai.speech"])
    assert_json_error(admin.post("/api/v1/roles", json={"name": "auditors",
                      "permissions": []}), 409, "name_taken")
    assert_json_error(admin.patch(f"/api/v1/roles/{b['id']}",
                      json={"name": "AUDITORS"}), 409, "name_taken")
    r = admin.patch(f"/api/v1/roles/{a['id']}", json={"name": "AUDITORS"})
    assert r.status_code == 200 and r.json()["name"] == "AUDITORS"


def test_iam2_role_in_use_cannot_be_deleted(kura):
    """IAM-2: a role still held by a user cannot be deleted (409
    role_in_use); once nobody holds it, it can, and then it is gone."""
    t, admin = new_tenant(kura)
    role = create_role(admin, "Analysts", ["ai.analysis"])
    u = invite(kura, admin, t["contract_id"], ["member", role["id"]])
    assert_json_error(admin.delete(f"/api/v1/roles/{role['id']}"), 409,
                      "role_in_use")
    r = admin.patch(f"/api/v1/users/{u['id']}", json={"roles": ["member"]})
    assert r.status_code == 200, r.text
    r = admin.delete(f"/api/v1/roles/{role['id']}")
    assert r.status_code == 200, r.text
    assert r.json() == {"id": role["id"], "deleted": True}
    ids = [x["id"] for x in admin.get("/api/v1/roles").json()["items"]]
    assert role["id"] not in ids
    assert_json_error(admin.delete(f"/api/v1/roles/{role['id']}"), 404,
                      "not_found")


def test_dat1_role_label_filter(kura):
    """DAT-1, IAM-2: roles carry labels and ?label= lists only the roles
    that have that label (built-in roles have none); labels can be
    replaced with PATCH."""
    _, admin = new_tenant(kura)
    fin = create_role(admin, "Finance", ["files.read"], labels=["finance", "eu"])
    ops = create_role(admin, "Ops", ["files.read"], labels=["ops"])
    create_role(admin, "Plain", ["files.read"])
    r = admin.get("/api/v1/roles", params={"label": "finance"})
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == [fin["id"]]
    assert r.json()["next_cursor"] is None
    assert admin.get("/api/v1/roles", params={"label": "nope"}).json()["items"] == []
    all_items = admin.get("/api/v1/roles").json()["items"]
    assert len(all_items) == 5
    r = admin.patch(f"/api/v1/roles/{ops['id']}", json={"labels": ["finance"]})
    assert r.status_code == 200 and r.json()["labels"] == ["finance"]
    got = {x["id"] for x in admin.get("/api/v1/roles",
                                      params={"label": "finance"}).json()["items"]}
    assert got == {fin["id"], ops["id"]}
    assert_json_error(admin.get("/api/v1/roles", params={"label": ""}), 400,
                      "invalid_field")


# ---------------------------------------------------------------- access review

def test_iam4_access_review_json(kura):
    """IAM-4: the access review lists every user with roles (ids and
    names), effective permissions, MFA state, last sign-in and (empty
    until the workspace issue) projects; a member may not read it."""
    t, admin = new_tenant(kura)
    role = create_role(admin, "Speech only", ["ai.speech"])
    u = invite(kura, admin, t["contract_id"], [role["id"]])
    r = admin.get("/api/v1/access-review")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["next_cursor"] is None
    rows = {x["id"]: x for x in doc["items"]}
    assert len(rows) == 2
    me = rows[admin.me["id"]]
    assert me["login_id"] == t["login"] and me["roles"] == ["tenant_admin"]
    assert "users.write" in me["permissions"] and me["mfa_enabled"] is False
    assert me["last_login"] is not None
    sub = rows[u["id"]]
    assert sub["roles"] == [role["id"]] and sub["role_names"] == ["Speech only"]
    assert sub["permissions"] == ["ai.speech"]
    assert sub["status"] == "active" and sub["projects"] == []
    assert sub["email"] == f"{u['login']}@example.com"
    member = invite(kura, admin, t["contract_id"], ["member"])["client"]
    assert_json_error(member.get("/api/v1/access-review"), 403, "forbidden")
    assert_json_error(admin.get("/api/v1/access-review",
                      params={"format": "xml"}), 400, "invalid_field")


def test_iam4_access_review_csv(kura):
    """IAM-4: ?format=csv answers text/csv as an attachment, with a header
    row and one RFC 4180 row per user (every field quoted, inner quotes
    doubled); values a spreadsheet would run as formulas are prefixed
    with ' (formula injection)."""
    t, admin = new_tenant(kura)
    role = create_role(admin, 'Team "A", speech', ["ai.speech"])
    evil = '=HYPERLINK("http://evil.example/","click")'
    ue = invite(kura, admin, t["contract_id"], [role["id"]], display_name=evil)
    up = invite(kura, admin, t["contract_id"], ["member"], display_name="+1 plus")
    ua = invite(kura, admin, t["contract_id"], ["member"], display_name="@SUM(A1)")
    um = invite(kura, admin, t["contract_id"], ["member"],
                display_name="-2 minus, 日本語")
    r = admin.get("/api/v1/access-review", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="access-review.csv"'
    text = r.content.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[-1] == ""
    # every field is quoted: each line starts and ends with a quote
    for line in lines[:-1]:
        assert line.startswith('"') and line.endswith('"'), line
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    assert header == ["id", "login_id", "display_name", "email", "status",
                      "roles", "permissions", "mfa_enabled", "last_login",
                      "projects"]
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert len(by_id) == 5
    assert by_id[ue["id"]]["display_name"] == "'" + evil
    assert by_id[ue["id"]]["roles"] == 'Team "A", speech'
    assert by_id[ue["id"]]["permissions"] == "ai.speech"
    assert by_id[up["id"]]["display_name"] == "'+1 plus"
    assert by_id[ua["id"]]["display_name"] == "'@SUM(A1)"
    assert by_id[um["id"]]["display_name"] == "'-2 minus, 日本語"
    adm = by_id[admin.me["id"]]
    assert adm["roles"] == "tenant_admin" and "users.write" in adm["permissions"]
    assert adm["mfa_enabled"] == "false" and adm["projects"] == ""
    # RFC 3339 in the tenant's zone (the fixture's tenants are Asia/Tokyo)
    assert adm["last_login"].endswith("+09:00"), adm["last_login"]
    # no field of any row starts with a formula character
    for row in rows[1:]:
        for field in row:
            assert not field or field[0] not in "=+-@\t\r", row


# ---------------------------------------------------------------- settings

def test_iam10_settings_read_and_partial_update(kura):
    """IAM-10, IAM-5..8: GET shows every setting with defaults; PUT takes a
    partial object applied over the current settings and answers the
    result; a member cannot read or change them."""
    t, admin = new_tenant(kura)
    r = admin.get("/api/v1/settings/security")
    assert r.status_code == 200
    s = r.json()
    assert s["password_min_length"] == 8 and s["mfa_required"] == "none"
    assert s["ip_allowlist"] == {"console": [], "api": [], "all": []}
    r = put_settings(admin, {"lockout_threshold": 7, "lockout_minutes": 0})
    assert r.status_code == 200, r.text
    assert r.json()["lockout_threshold"] == 7 and r.json()["lockout_minutes"] == 0
    r = put_settings(admin, {"idle_timeout_seconds": 600})
    assert r.status_code == 200, r.text
    assert r.json()["lockout_threshold"] == 7
    got = admin.get("/api/v1/settings/security").json()
    assert got["lockout_threshold"] == 7 and got["idle_timeout_seconds"] == 600
    member = invite(kura, admin, t["contract_id"], ["member"])["client"]
    assert_json_error(member.get("/api/v1/settings/security"), 403, "forbidden")
    assert_json_error(put_settings(member, {"lockout_threshold": 3}), 403,
                      "forbidden")
    # requiring MFA for admins takes effect at once: this unenrolled admin
    # must enrol before anything else
    r = put_settings(admin, {"mfa_required": "admins"})
    assert r.status_code == 200 and r.json()["mfa_required"] == "admins"
    assert_json_error(admin.get("/api/v1/settings/security"), 403,
                      "mfa_enrolment_required")


def test_iam5_password_policy_only_stricter(kura):
    """IAM-5: the tenant's password policy can only be made stricter than
    the default (password_min_length 7 -> 400 naming the field); a
    stricter policy is enforced on the next password set."""
    t, admin = new_tenant(kura)
    for body, field in (({"password_min_length": 7}, "password_min_length"),
                        ({"password_min_classes": 2}, "password_min_classes"),
                        ({"password_min_length": "12"}, "password_min_length"),
                        ({"lockout_threshold": 2}, "lockout_threshold"),
                        ({"mfa_required": "sometimes"}, "mfa_required"),
                        ({"no_such_setting": 1}, "no_such_setting"),
                        ({"idle_timeout_seconds": 7200,
                          "absolute_lifetime_seconds": 3600},
                         "absolute_lifetime_seconds")):
        r = put_settings(admin, body)
        assert_json_error(r, 400, "invalid_field")
        assert field in r.json()["error"]["message"], (body, r.json())
    assert admin.get("/api/v1/settings/security").json()["password_min_length"] == 8
    r = put_settings(admin, {"password_min_length": 16, "password_min_classes": 4})
    assert r.status_code == 200, r.text
    # an invitee now needs 16 characters
    r = admin.post("/api/v1/users", json={"login_id": "strict",
                   "email": "strict@example.com", "roles": ["member"]})
    assert r.status_code == 201, r.text
    tok = r.json()["invitation_token"]
    acc = kura.session().post(kura.url("/api/v1/auth/accept-invitation"),
                              json={"token": tok, "password": USER_PASSWORD})
    assert_json_error(acc, 400, "password_policy")
    acc = kura.session().post(kura.url("/api/v1/auth/accept-invitation"),
                              json={"token": tok, "password": "Long-Enough-Pass-9!"})
    assert acc.status_code == 200, acc.text


def test_iam10_console_allowlist_v4_vs_v6(kura):
    """IAM-10: a console allowlist of ::1/128 admits sessions connecting
    over ::1 and refuses those over 127.0.0.1 (403 ip_not_allowed, and
    sign-in from there fails); clearing it restores access."""
    t, _ = new_tenant(kura)
    a4 = login(kura, t["contract_id"], t["login"], PASSWORD)
    a6 = login(kura, t["contract_id"], t["login"], PASSWORD, v6=True)
    r = put_settings(a6, {"ip_allowlist": {"console": ["::1/128"]}})
    assert r.status_code == 200, r.text
    assert r.json()["ip_allowlist"]["console"] == ["::1/128"]
    assert a6.get("/api/v1/me").status_code == 200
    assert_json_error(a4.get("/api/v1/me"), 403, "ip_not_allowed")
    assert_json_error(a4.get("/api/v1/settings/security"), 403, "ip_not_allowed")
    r = Client(kura).post("/api/v1/auth/login", json={"contract_id":
                          t["contract_id"], "login_id": t["login"],
                          "password": PASSWORD})
    assert_json_error(r, 401, "invalid_credentials")
    assert login(kura, t["contract_id"], t["login"], PASSWORD, v6=True)
    r = put_settings(a6, {"ip_allowlist": {"console": []}})
    assert r.status_code == 200
    assert a4.get("/api/v1/me").status_code == 200


def test_iam10_self_lockout_refused(kura):
    """IAM-10: a change whose console or all list would not admit the
    admin's own address is refused with 409 would_lock_you_out and changes
    nothing; an api-only list does not lock out a console session."""
    t, admin = new_tenant(kura)   # connected over 127.0.0.1
    before = admin.get("/api/v1/settings/security").json()
    for allow in ({"console": ["::1/128"]}, {"all": ["10.0.0.0/8"]},
                  {"all": ["::1/128"], "console": ["127.0.0.0/8"]},
                  {"console": ["127.0.0.0/8"], "all": ["192.0.2.0/24"]}):
        r = put_settings(admin, {"ip_allowlist": allow, "lockout_threshold": 9})
        assert_json_error(r, 409, "would_lock_you_out")
    assert admin.get("/api/v1/settings/security").json() == before
    r = put_settings(admin, {"ip_allowlist": {"api": ["10.0.0.0/8"],
                     "console": ["127.0.0.0/8", "::1/128"]}})
    assert r.status_code == 200, r.text
    assert admin.get("/api/v1/me").status_code == 200


def test_iam10_api_allowlist_for_tokens(kura):
    """IAM-10, IAM-12: the api allowlist applies to bearer tokens: an api
    list of ::1/128 admits a token over ::1 and refuses it over 127.0.0.1
    (403 ip_not_allowed), while the console session is untouched; a token
    changing the list is refused if it would lock the token's own address
    out (409)."""
    t, admin = new_tenant(kura)
    tok = create_token(admin, ["settings.read", "settings.write"])["token"]
    b4, b6 = bearer(kura, tok), bearer(kura, tok, v6=True)
    assert b4.get("/api/v1/settings/security").status_code == 200
    # over 127.0.0.1, the token may not allow only ::1 for the api
    r = put_settings(b4, {"ip_allowlist": {"api": ["::1/128"]}})
    assert_json_error(r, 409, "would_lock_you_out")
    # over ::1 it may
    r = put_settings(b6, {"ip_allowlist": {"api": ["::1/128"]}})
    assert r.status_code == 200, r.text
    assert b6.get("/api/v1/settings/security").status_code == 200
    assert_json_error(b4.get("/api/v1/settings/security"), 403, "ip_not_allowed")
    assert admin.get("/api/v1/settings/security").status_code == 200
    # the "all" list covers tokens too
    r = put_settings(admin, {"ip_allowlist": {"api": [], "all": ["127.0.0.1"]}})
    assert r.status_code == 200, r.text
    assert r.json()["ip_allowlist"]["all"] == ["127.0.0.1/32"]
    assert b4.get("/api/v1/settings/security").status_code == 200
    assert_json_error(b6.get("/api/v1/settings/security"), 403, "ip_not_allowed")


def test_iam10_ipv6_and_bad_cidrs(kura):
    """IAM-10: allowlists take IPv4 and IPv6 CIDRs and bare addresses
    (shown canonically); malformed CIDRs, host bits set, bad prefixes,
    non-strings and unknown lists are 400 invalid_field naming
    ip_allowlist, and change nothing."""
    t, admin = new_tenant(kura)
    good = ["127.0.0.0/8", "2001:db8::/32", "::1", "fe80::/10", "10.1.2.3",
            "::ffff:192.0.2.0/120"]
    r = put_settings(admin, {"ip_allowlist": {"console": good,
                     "api": ["2001:DB8:0:0::/64"], "all": []}})
    assert r.status_code == 200, r.text
    allow = r.json()["ip_allowlist"]
    assert "2001:db8::/32" in allow["console"] and "::1/128" in allow["console"]
    assert "10.1.2.3/32" in allow["console"]
    assert allow["api"] == ["2001:db8::/64"]
    before = admin.get("/api/v1/settings/security").json()
    for bad in (["10.0.0.1/8"], ["300.1.1.1/32"], ["::1/129"], ["1.2.3.4/33"],
                ["abc"], [""], [5], ["2001:db8::1/32"], ["10.0.0.0/8 "],
                "10.0.0.0/8", ["10.0.0.0/-1"]):
        r = put_settings(admin, {"ip_allowlist": {"console": bad}})
        assert_json_error(r, 400, "invalid_field")
        assert "ip_allowlist" in r.json()["error"]["message"], bad
    r = put_settings(admin, {"ip_allowlist": {"vpn": ["10.0.0.0/8"]}})
    assert_json_error(r, 400, "invalid_field")
    r = put_settings(admin, {"ip_allowlist": {"console": ["10.0.0.0/8"] * 65}})
    assert_json_error(r, 400, "invalid_field")
    assert admin.get("/api/v1/settings/security").json() == before


# ---------------------------------------------------------------- tokens

def test_iam12_token_scopes(kura):
    """IAM-12, IAM-3: a token carries only the permissions it was given: a
    files.read token gets 403 on /users, a users.read token may list
    users; a token never exceeds its owner (403 privilege_escalation for
    a member asking for users.read); a token cannot create tokens."""
    t, admin = new_tenant(kura)
    tok = create_token(admin, ["files.read"], name="reader", labels=["ci"])
    assert tok["token"].startswith("kura_") and tok["id"].startswith("tok_")
    assert tok["permissions"] == ["files.read"] and tok["labels"] == ["ci"]
    b = bearer(kura, tok["token"])
    assert_json_error(b.get("/api/v1/users"), 403, "forbidden")
    me = b.get("/api/v1/me").json()
    assert me["permissions"] == ["files.read"] and me["via_token"] is True
    tok2 = create_token(admin, ["users.read", "tokens.write"])
    b2 = bearer(kura, tok2["token"])
    assert b2.get("/api/v1/users").status_code == 200
    assert_json_error(b2.post("/api/v1/tokens", json={"name": "x",
                      "permissions": ["users.read"]}), 403,
                      "token_cannot_create_tokens")
    assert_json_error(b2.get("/api/v1/roles"), 403, "forbidden")
    member = invite(kura, admin, t["contract_id"], ["member"])["client"]
    r = member.post("/api/v1/tokens", json={"name": "x",
                    "permissions": ["files.read", "users.read"]})
    assert_json_error(r, 403, "privilege_escalation")
    assert create_token(member, ["files.read"])["permissions"] == ["files.read"]
    for body in ({"name": "x", "permissions": []},
                 {"name": "x", "permissions": ["root"]},
                 {"name": "x"},
                 {"permissions": ["files.read"]},
                 {"name": "", "permissions": ["files.read"]},
                 {"name": "x", "permissions": ["files.read"], "expires_in_days": 0},
                 {"name": "x", "permissions": ["files.read"], "expires_in_days": 366},
                 {"name": "x", "permissions": ["files.read"], "expires_in_days": "7"},
                 {"name": "x", "permissions": ["files.read"], "user_id": "usr_x"}):
        r = member.post("/api/v1/tokens", json=body)
        assert r.status_code == 400, (body, r.text)


def test_iam12_token_expiry(kura):
    """IAM-12: a token expires after expires_in_days (default 90, at most
    365); an expired token answers 401."""
    t, admin = new_tenant(kura)
    now = time.time()
    t7 = create_token(admin, ["files.read"], expires_in_days=7)
    assert abs(parse_time(t7["expires"]) - (now + 7 * 86400)) < 120
    t90 = create_token(admin, ["files.read"])
    assert abs(parse_time(t90["expires"]) - (now + 90 * 86400)) < 120
    t365 = create_token(admin, ["files.read"], expires_in_days=365)
    assert abs(parse_time(t365["expires"]) - (now + 365 * 86400)) < 120
    b = bearer(kura, t7["token"])
    assert b.get("/api/v1/me").status_code == 200
    past = int((time.time() - 1) * 1_000_000)
    with sqlite3.connect(kura.db_path, timeout=10) as db:
        n = db.execute("UPDATE api_tokens SET expires_us = ? WHERE id = ?",
                       (past, t7["id"])).rowcount
    assert n == 1
    assert_json_error(b.get("/api/v1/me"), 401)
    assert bearer(kura, t90["token"]).get("/api/v1/me").status_code == 200
    listed = {x["id"]: x for x in admin.get("/api/v1/tokens").json()["items"]}
    assert listed[t7["id"]]["expired"] is True
    assert listed[t90["id"]]["expired"] is False


def test_iam12_token_revocation(kura):
    """IAM-12: DELETE /tokens/{id} revokes a token at once (401 on its
    next use); deleting it again is 404."""
    t, admin = new_tenant(kura)
    tok = create_token(admin, ["files.read"])
    b = bearer(kura, tok["token"])
    assert b.get("/api/v1/me").status_code == 200
    r = admin.delete(f"/api/v1/tokens/{tok['id']}")
    assert r.status_code == 200 and r.json() == {"id": tok["id"], "deleted": True}
    assert_json_error(b.get("/api/v1/me"), 401, "unauthenticated")
    assert_json_error(admin.delete(f"/api/v1/tokens/{tok['id']}"), 404,
                      "not_found")
    for bad in ("tok_1", random_id("tok"), random_id("rol")):
        assert_json_error(admin.delete(f"/api/v1/tokens/{bad}"), 404, "not_found")
    # a wrong or garbled bearer value is the same 401
    assert_json_error(bearer(kura, tok["token"] + "x").get("/api/v1/me"), 401)
    assert_json_error(bearer(kura, "kura_" + "A" * 43).get("/api/v1/me"), 401)


def test_iam12_disabled_owner_kills_token(kura):
    """IAM-12: when the owner is disabled, their token stops working (401)
    at once; a deleted owner's tokens are gone."""
    t, admin = new_tenant(kura)
    u = invite(kura, admin, t["contract_id"], ["member"])
    tok = create_token(u["client"], ["files.read"])
    b = bearer(kura, tok["token"])
    assert b.get("/api/v1/me").status_code == 200
    r = admin.patch(f"/api/v1/users/{u['id']}", json={"status": "disabled"})
    assert r.status_code == 200, r.text
    assert_json_error(b.get("/api/v1/me"), 401)
    r = admin.delete(f"/api/v1/users/{u['id']}")
    assert r.status_code == 200, r.text
    assert_json_error(b.get("/api/v1/me"), 401)
    with sqlite3.connect(kura.db_path, timeout=10) as db:
        assert db.execute("SELECT count(*) FROM api_tokens WHERE id = ?",
                          (tok["id"],)).fetchone()[0] == 0


def test_iam12_token_secret_never_listed_and_stored_hashed(kura):
    """IAM-12, CRY-1, DAT-1: GET /tokens lists only the caller's own tokens
    (id, name, labels, permissions, expires, last_used, created), never
    the secret or its hash; only the SHA-256 of the secret is stored; the
    name is sealed; ?label= filters; someone else's token is 404 to a
    member, but a tenant admin may revoke it."""
    import hashlib
    t, admin = new_tenant(kura)
    name = f"canary-token-{secrets.token_hex(8)}"
    tok = create_token(admin, ["files.read"], name=name, labels=["deploy"])
    other = create_token(admin, ["files.read"], name="other", labels=["ci"])
    secret = tok["token"]
    digest = hashlib.sha256(secret.encode()).hexdigest()
    bearer(kura, secret).get("/api/v1/me")   # sets last_used
    r = admin.get("/api/v1/tokens")
    assert r.status_code == 200
    assert secret not in r.text and secret[5:] not in r.text
    assert digest not in r.text
    items = {x["id"]: x for x in r.json()["items"]}
    assert set(items) == {tok["id"], other["id"]}
    item = items[tok["id"]]
    assert set(item) >= {"id", "name", "labels", "permissions", "expires",
                         "last_used", "created"}
    assert "token" not in item and "token_hash" not in item
    assert item["name"] == name and item["last_used"] is not None
    assert [x["id"] for x in admin.get("/api/v1/tokens",
            params={"label": "deploy"}).json()["items"]] == [tok["id"]]
    with sqlite3.connect(kura.db_path, timeout=10) as db:
        (h,) = db.execute("SELECT token_hash FROM api_tokens WHERE id = ?",
                          (tok["id"],)).fetchone()
    assert h == digest
    for p in kura.data_dir.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert secret.encode() not in data, p
            assert name.encode() not in data, p
    # a member sees only their own tokens and cannot touch the admin's
    u = invite(kura, admin, t["contract_id"], ["member"])
    mine = create_token(u["client"], ["files.read"])
    listed = u["client"].get("/api/v1/tokens").json()["items"]
    assert [x["id"] for x in listed] == [mine["id"]]
    assert_json_error(u["client"].delete(f"/api/v1/tokens/{tok['id']}"), 404,
                      "not_found")
    assert bearer(kura, secret).get("/api/v1/me").status_code == 200
    # the tenant admin (users.write) may revoke the member's token
    assert admin.delete(f"/api/v1/tokens/{mine['id']}").status_code == 200
    assert_json_error(bearer(kura, mine["token"]).get("/api/v1/me"), 401)


def test_iam12_at_most_50_tokens(kura):
    """IAM-12: a user has at most 50 tokens (409 too_many_tokens); deleting
    one makes room."""
    _, admin = new_tenant(kura)
    ids = [create_token(admin, ["files.read"], name=f"t{i}")["id"]
           for i in range(50)]
    r = admin.post("/api/v1/tokens", json={"name": "one more",
                   "permissions": ["files.read"]})
    assert_json_error(r, 409, "too_many_tokens")
    assert admin.delete(f"/api/v1/tokens/{ids[0]}").status_code == 200
    create_token(admin, ["files.read"], name="fits again")


# ---------------------------------------------------------------- TEN-1

def test_ten1_other_tenants_ids_answer_404(kura):
    """TEN-1: tenant B's admin using tenant A's role and token ids on every
    route with an {id} gets 404 exactly like an id that does not exist,
    and A's resources are untouched; lists show only B's own."""
    ta, a = new_tenant(kura)
    tb, b = new_tenant(kura)
    role = create_role(a, "A only", ["files.read"], labels=["a"])
    tok = create_token(a, ["files.read"])
    missing_role, missing_tok = random_id("rol"), random_id("tok")
    cases = [
        ("PATCH", f"/api/v1/roles/{role['id']}", f"/api/v1/roles/{missing_role}",
         {"name": "hijacked", "permissions": ["files.read"]}),
        ("DELETE", f"/api/v1/roles/{role['id']}", f"/api/v1/roles/{missing_role}",
         None),
        ("DELETE", f"/api/v1/tokens/{tok['id']}", f"/api/v1/tokens/{missing_tok}",
         None),
    ]
    for method, other, missing, body in cases:
        kw = {"json": body} if body is not None else {}
        r1 = b.s.request(method, b.url(other), timeout=30, **kw)
        r2 = b.s.request(method, b.url(missing), timeout=30, **kw)
        assert_json_error(r1, 404, "not_found")
        assert r1.content == r2.content, (method, other)
    assert role["id"] not in [x["id"] for x in b.get("/api/v1/roles").json()["items"]]
    assert b.get("/api/v1/tokens").json()["items"] == []
    review = b.get("/api/v1/access-review").json()["items"]
    assert [x["id"] for x in review] == [b.me["id"]]
    # A's role and token are intact
    roles = {x["id"]: x for x in a.get("/api/v1/roles").json()["items"]}
    assert roles[role["id"]]["name"] == "A only"
    assert bearer(kura, tok["token"]).get("/api/v1/me").status_code == 200
    # B's settings change does not touch A's
    r = put_settings(b, {"lockout_threshold": 4})
    assert r.status_code == 200
    assert a.get("/api/v1/settings/security").json()["lockout_threshold"] == 5
    # B cannot give its users A's role
    r = b.post("/api/v1/users", json={"login_id": "x1", "email": "x1@example.com",
               "roles": [role["id"]]})
    assert r.status_code == 400, r.text
