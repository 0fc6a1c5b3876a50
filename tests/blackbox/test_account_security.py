"""Account security that no API token may touch, and admin recovery paths
(IAM-1, IAM-6, IAM-12)."""
import os
import subprocess

import pyotp
import pytest

from kura_fixture import assert_json_error

LOGIN = "/api/v1/auth/login"
PW = "Account-Sec-Passw0rd!"


def sign_in(srv, t, login=None, password=None):
    s = srv.session()
    r = s.post(srv.url(LOGIN), json={"contract_id": t["contract_id"],
                                     "login_id": login or t["login"],
                                     "password": password or t["password"]})
    assert r.status_code == 200, r.text
    body = r.json()
    if body.get("csrf_token"):
        s.headers["X-CSRF-Token"] = body["csrf_token"]
    return s, body


@pytest.fixture
def env(kura):
    t = kura.create_tenant(password=PW)
    admin, _ = sign_in(kura, t)
    return kura, t, admin


def invite(srv, admin, login, roles=("member",)):
    r = admin.post(srv.url("/api/v1/users"),
                   json={"login_id": login, "email": f"{login}@example.com",
                         "roles": list(roles)})
    assert r.status_code == 201, r.text
    return r.json()


def test_iam12_token_cannot_change_account_security(env):
    """IAM-12: a token (even one with every permission) cannot enrol or
    disable MFA, change the password, list or end sessions, or sign out
    everywhere: 403 session_required; reading /me is fine."""
    srv, t, admin = env
    perms = admin.get(srv.url("/api/v1/me")).json()["permissions"]
    r = admin.post(srv.url("/api/v1/tokens"), json={"name": "all", "permissions": perms})
    assert r.status_code == 201, r.text
    tok = srv.session()
    tok.headers["Authorization"] = "Bearer " + r.json()["token"]
    assert tok.get(srv.url("/api/v1/me")).status_code == 200
    for method, path, body in (
            ("POST", "/api/v1/me/mfa/totp", None),
            ("POST", "/api/v1/me/mfa/totp/confirm", {"code": "123456"}),
            ("DELETE", "/api/v1/me/mfa/totp", {"code": "123456"}),
            ("PUT", "/api/v1/me/password", {"current_password": PW, "new_password": "Another-Passw0rd!"}),
            ("GET", "/api/v1/me/sessions", None),
            ("POST", "/api/v1/auth/logout-all", None),
            ("POST", "/api/v1/auth/logout", None)):
        r = tok.request(method, srv.url(path), json=body)
        assert_json_error(r, 403, "session_required")
    # nothing happened: the admin's session still works, MFA still off
    me = admin.get(srv.url("/api/v1/me")).json()
    assert me["mfa_enabled"] is False


def test_iam6_admin_resets_lost_mfa(env):
    """IAM-6: a user who lost the authenticator and the recovery codes is
    reset by an admin: MFA off, codes gone, sessions ended; they sign in
    with the password alone and may enrol again."""
    srv, t, admin = env
    u = invite(srv, admin, "lost")
    r = srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                           json={"token": u["invitation_token"], "password": PW})
    assert r.status_code == 200
    s, _ = sign_in(srv, t, "lost", PW)
    secret = s.post(srv.url("/api/v1/me/mfa/totp")).json()["secret"]
    r = s.post(srv.url("/api/v1/me/mfa/totp/confirm"),
               json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    _, body = sign_in(srv, t, "lost", PW)
    assert body == {"mfa_required": True}

    r = admin.post(srv.url(f"/api/v1/users/{u['id']}/reset-mfa"))
    assert r.status_code == 200, r.text
    assert r.json()["mfa_enabled"] is False
    assert_json_error(s.get(srv.url("/api/v1/me")), 401, "unauthenticated")
    s2, body = sign_in(srv, t, "lost", PW)
    assert body["mfa_required"] is False
    me = s2.get(srv.url("/api/v1/me")).json()
    assert me["recovery_codes_left"] == 0 and me["mfa_enabled"] is False


def test_iam6_member_cannot_reset_admin_mfa(env):
    """IAM-2/IAM-6: resetting MFA is users.write, and an admin's only by an
    admin; members have neither."""
    srv, t, admin = env
    u = invite(srv, admin, "plain")
    srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                       json={"token": u["invitation_token"], "password": PW})
    s, _ = sign_in(srv, t, "plain", PW)
    me = admin.get(srv.url("/api/v1/me")).json()
    assert_json_error(s.post(srv.url(f"/api/v1/users/{me['id']}/reset-mfa")), 403,
                      "forbidden")


def test_iam1_reinvite_replaces_the_token(env):
    """IAM-1: re-sending an invitation issues a new token; the old one no
    longer works; an active user cannot be re-invited."""
    srv, t, admin = env
    u = invite(srv, admin, "late")
    r = admin.post(srv.url(f"/api/v1/users/{u['id']}/reinvite"))
    assert r.status_code == 200, r.text
    new = r.json()["invitation_token"]
    assert new != u["invitation_token"]
    old = srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                             json={"token": u["invitation_token"], "password": PW})
    assert_json_error(old, 400, "invalid_invitation")
    ok = srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                            json={"token": new, "password": PW})
    assert ok.status_code == 200
    assert_json_error(admin.post(srv.url(f"/api/v1/users/{u['id']}/reinvite")), 409,
                      "not_invited")


def test_serve_refuses_open_data_dir(kura_dir):
    """CRY-2: the data directory itself must be private (0700): serve
    refuses a group- or world-accessible one and says why."""
    data = kura_dir.config_path.parent
    os.chmod(data, 0o750)
    p = subprocess.run(kura_dir.serve_args(), capture_output=True, text=True,
                       timeout=20)
    assert p.returncode != 0
    assert str(data) in p.stderr and "group or others" in p.stderr, p.stderr
    os.chmod(data, 0o700)


def test_iam2_user_manager_cannot_touch_an_admin(env):
    """IAM-2: a user manager (users.read+users.write, not tenant admin)
    cannot re-invite an invited administrator (and so take over the
    invitation), nor unlock, end the sessions of, reset the MFA of,
    change or delete an administrator: 403 privilege_escalation each time.
    The same manager may do all of that to a plain member."""
    srv, t, admin = env
    r = admin.post(srv.url("/api/v1/roles"), json={
        "name": "user-managers", "permissions": ["users.read", "users.write"]})
    assert r.status_code == 201, r.text
    role_id = r.json()["id"]
    mgr = invite(srv, admin, "manager", roles=[role_id])
    assert srv.session().post(srv.url("/api/v1/auth/accept-invitation"), json={
        "token": mgr["invitation_token"], "password": PW}).status_code == 200
    m, _ = sign_in(srv, t, "manager", PW)
    new_admin = invite(srv, admin, "future-admin", roles=["tenant_admin"])
    me_admin = admin.get(srv.url("/api/v1/me")).json()["id"]
    for target in (new_admin["id"], me_admin):
        for method, path, body in (
                ("POST", f"/api/v1/users/{target}/reinvite", None),
                ("POST", f"/api/v1/users/{target}/unlock", None),
                ("POST", f"/api/v1/users/{target}/revoke-sessions", None),
                ("POST", f"/api/v1/users/{target}/reset-mfa", None),
                ("PATCH", f"/api/v1/users/{target}", {"display_name": "x"}),
                ("DELETE", f"/api/v1/users/{target}", None)):
            r = m.request(method, srv.url(path), json=body)
            assert_json_error(r, 403, "privilege_escalation")
    # the invitation the admin sent still works, untouched
    ok = srv.session().post(srv.url("/api/v1/auth/accept-invitation"), json={
        "token": new_admin["invitation_token"], "password": PW})
    assert ok.status_code == 200
    member = invite(srv, admin, "plain-member")
    assert m.post(srv.url(f"/api/v1/users/{member['id']}/reinvite")).status_code == 200
