"""Sign-in evidence through the real server: IAM-9 generic failures (same
status, body, headers and, within noise, time), IAM-7 lockout and admin
unlock, IAM-5 password policy and change, the forced change of the
one-time admin password, and strict parsing of sign-in bodies."""
import secrets
import statistics
import time

import requests

from identity_helpers import (Api, Tenant, accept, enrol_totp, error_code,
                              expect_error, fast_kura, raw_login,  # noqa: F401
                              signed_in, strong_password, totp, current_step,
                              unique)

GENERIC = {"error": {"code": "invalid_credentials"}}
VOLATILE_HEADERS = {"date", "x-request-id"}


def headers_sans_volatile(r: requests.Response) -> dict:
    return {k.lower(): v for k, v in r.headers.items()
            if k.lower() not in VOLATILE_HEADERS}


def assert_generic(r: requests.Response, what: str) -> None:
    assert r.status_code == 401, f"{what}: {r.status_code} {r.text}"
    assert error_code(r) == "invalid_credentials", f"{what}: {r.text}"
    assert "set-cookie" not in {k.lower() for k in r.headers}, \
        f"{what}: a failed sign-in set a cookie: {r.headers}"


# ---------------------------------------------------------------- IAM-9

def test_iam9_identical_failure_answers(fast_kura):
    """IAM-9: unknown contract, unknown user, wrong password, locked,
    disabled, invited (not yet accepted), suspended tenant, malformed ids
    and a wrong TOTP code all answer the same 401 invalid_credentials: same
    status, identical body bytes, same headers except Date/X-Request-Id."""
    srv = fast_kura
    t = Tenant(srv)
    alice = t.add_user()
    bob = t.add_user()
    carol = t.add_user()
    dave = t.invite()  # never accepts
    erin = t.add_user()
    erin_c = t.login(erin["login"], erin["password"])
    erin_secret, _codes, _ = enrol_totp(erin_c)

    # bob: locked by 5 (default threshold) wrong passwords
    for _ in range(5):
        assert_generic(raw_login(srv, t.contract_id, bob["login"], "Wrong-pw-123!"),
                       "lock bob")
    assert t.user(bob["id"])["locked"] is True
    # carol: disabled by the admin
    r = t.admin.patch(f"/api/v1/users/{carol['id']}", {"status": "disabled"})
    assert r.status_code == 200 and r.json()["status"] == "disabled", r.text

    # a second tenant, suspended with the CLI while the server runs
    t2 = Tenant(srv)
    srv.cli("tenant", "suspend", t2.contract_id)
    assert srv.tenant_show(t2.contract_id)["status"] == "suspended"

    cases = {
        "unknown contract": (f"c-{secrets.token_hex(6)}", "admin", t.admin_password),
        "malformed contract": ("no such contract!", "admin", t.admin_password),
        "unknown user": (t.contract_id, unique("nobody"), "Wrong-pw-123!"),
        "malformed login id": (t.contract_id, "x" * 300, "Wrong-pw-123!"),
        "wrong password": (t.contract_id, alice["login"], "Wrong-pw-123!"),
        "empty password": (t.contract_id, alice["login"], ""),
        "locked, right password": (t.contract_id, bob["login"], bob["password"]),
        "disabled, right password": (t.contract_id, carol["login"], carol["password"]),
        "invited, not accepted": (t.contract_id, dave["login_id"], "Some-pw-123!"),
        "suspended tenant, right password": (t2.contract_id, "admin", t2.admin_password),
    }
    answers = {}
    for what, (contract, login, pw) in cases.items():
        r = raw_login(srv, contract, login, pw)
        assert_generic(r, what)
        answers[what] = r

    # wrong TOTP after a right password
    c = Api(srv)
    r = c.login(t.contract_id, erin["login"], erin["password"])
    assert r.status_code == 200 and r.json() == {"mfa_required": True}, r.text
    good = {totp(erin_secret, current_step() + d) for d in (-1, 0, 1)}
    wrong = next(x for x in ("000000", "111111", "222222", "333333") if x not in good)
    r = c.mfa(wrong)
    assert_generic(r, "wrong TOTP")
    answers["wrong TOTP"] = r
    # the second step without any pre-auth cookie
    r = srv.session().post(srv.url("/api/v1/auth/mfa"), json={"code": "123456"})
    assert_generic(r, "MFA step without pre-auth")
    answers["MFA step without pre-auth"] = r

    ref_name, ref = "wrong password", answers["wrong password"]
    for what, r in answers.items():
        assert r.content == ref.content, \
            f"body differs: {what}: {r.content!r} vs {ref_name}: {ref.content!r}"
        assert headers_sans_volatile(r) == headers_sans_volatile(ref), \
            f"headers differ: {what}: {dict(r.headers)} vs {dict(ref.headers)}"
    # the right credentials still work, so the failures above were failures
    signed_in(srv, t.contract_id, alice["login"], alice["password"])


def test_iam9_failure_timing_unknown_vs_known_user(kura_factory):
    """IAM-9: with the default Argon2id cost, the median time of a failed
    sign-in for an unknown user (and an unknown contract, a disabled, an
    invited and a locked user) is within 25% of a known user's wrong
    password; the kinds are interleaved so drift cancels."""
    srv = kura_factory()  # default (OWASP) Argon2id parameters
    t = Tenant(srv)
    t.security(lockout_threshold=20)
    known = t.add_user()
    disabled = t.add_user()
    assert t.admin.patch(f"/api/v1/users/{disabled['id']}",
                         {"status": "disabled"}).status_code == 200
    invited = t.invite()
    locked = t.add_user()
    for _ in range(20):
        assert_generic(raw_login(srv, t.contract_id, locked["login"], "Wrong-pw-1!"), "lock")
    assert t.user(locked["id"])["locked"] is True
    s = srv.session()  # one keep-alive connection for every attempt
    url = srv.url("/api/v1/auth/login")

    def attempt(contract, login):
        body = {"contract_id": contract, "login_id": login,
                "password": "Wrong-pw-" + secrets.token_hex(4)}
        t0 = time.perf_counter()
        r = s.post(url, json=body, timeout=30)
        dt = time.perf_counter() - t0
        assert_generic(r, f"timing attempt {login}")
        return dt

    kinds = {
        "known": lambda: attempt(t.contract_id, known["login"]),
        "unknown user": lambda: attempt(t.contract_id, unique("ghost")),
        "unknown contract": lambda: attempt(f"c-{secrets.token_hex(6)}", known["login"]),
        "disabled": lambda: attempt(t.contract_id, disabled["login"]),
        "invited": lambda: attempt(t.contract_id, invited["login_id"]),
        "locked": lambda: attempt(t.contract_id, locked["login"]),
    }
    for f in kinds.values():  # warm-up
        f()
    times = {k: [] for k in kinds}
    order = list(kinds)
    for i in range(15):
        for k in (order if i % 2 == 0 else order[::-1]):
            times[k].append(kinds[k]())
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["known"]
    assert base > 0.005, f"a wrong password costs no Argon2id? medians {med}"
    for k in ("unknown user", "unknown contract", "disabled", "invited", "locked"):
        assert abs(med[k] - base) <= 0.25 * base, \
            f"IAM-9 timing: median {k} {med[k]*1000:.1f} ms vs known user " \
            f"{base*1000:.1f} ms (all medians {med})"
    # 16 failures, threshold 20: the known user was never locked
    assert t.user(known["id"])["locked"] is False
    signed_in(srv, t.contract_id, known["login"], known["password"])


# ---------------------------------------------------------------- IAM-7

def test_iam7_default_threshold_is_five_consecutive(fast_kura):
    """IAM-7: by default 4 failures do not lock and a success resets the
    count (consecutive failures); the 5th consecutive failure locks, after
    which the right password is refused with the generic 401."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    for _ in range(2):
        for _ in range(4):
            assert_generic(raw_login(srv, t.contract_id, u["login"], "Wrong-pw-1!"), "fail")
        assert t.user(u["id"])["locked"] is False
        signed_in(srv, t.contract_id, u["login"], u["password"])
    for _ in range(5):
        assert_generic(raw_login(srv, t.contract_id, u["login"], "Wrong-pw-1!"), "fail")
    assert t.user(u["id"])["locked"] is True
    assert_generic(raw_login(srv, t.contract_id, u["login"], u["password"]),
                   "locked user, right password")


def test_iam7_lockout_threshold_and_admin_unlock(fast_kura):
    """IAM-7: with lockout_threshold 3 and lockout_minutes 0 (until an
    admin unlocks), 3 failures lock the account; the right password is then
    refused with the same generic 401 body; failures while locked still
    answer generically and keep it locked; only POST /users/{id}/unlock lets
    the user in again, and unlocking resets the count."""
    srv = fast_kura
    t = Tenant(srv)
    t.security(lockout_threshold=3, lockout_minutes=0)
    u = t.add_user()
    other = t.add_user()
    wrong = [raw_login(srv, t.contract_id, u["login"], f"Wrong-pw-{i}!") for i in range(3)]
    for r in wrong:
        assert_generic(r, "wrong password")
    assert t.user(u["id"])["locked"] is True
    assert t.user(other["id"])["locked"] is False  # only that account

    r = raw_login(srv, t.contract_id, u["login"], u["password"])
    assert_generic(r, "locked, right password")
    assert r.content == wrong[0].content
    # failures against the locked account: still generic, still locked
    for i in range(3):
        assert_generic(raw_login(srv, t.contract_id, u["login"], f"Again-{i}-pw!"),
                       "failure while locked")
    time.sleep(1.5)
    assert t.user(u["id"])["locked"] is True
    assert_generic(raw_login(srv, t.contract_id, u["login"], u["password"]),
                   "still locked (lockout_minutes 0), right password")

    # a member cannot unlock; an admin can
    m = t.add_user()
    mc = t.login(m["login"], m["password"])
    expect_error(mc.post(f"/api/v1/users/{u['id']}/unlock"), 403, "forbidden")
    assert t.user(u["id"])["locked"] is True
    r = t.admin.post(f"/api/v1/users/{u['id']}/unlock")
    assert r.status_code == 200 and r.json()["locked"] is False, r.text
    assert t.user(u["id"])["locked"] is False
    # the count starts again from zero: 2 failures do not lock
    for _ in range(2):
        assert_generic(raw_login(srv, t.contract_id, u["login"], "Wrong-pw-9!"), "fail")
    assert t.user(u["id"])["locked"] is False
    signed_in(srv, t.contract_id, u["login"], u["password"])


def test_iam7_wrong_second_factor_counts(fast_kura):
    """IAM-7 with IAM-6: wrong TOTP codes after a right password count as
    failures and lock the account at the threshold."""
    srv = fast_kura
    t = Tenant(srv)
    t.security(lockout_threshold=3, lockout_minutes=0)
    u = t.add_user()
    uc = t.login(u["login"], u["password"])
    secret, _codes, _ = enrol_totp(uc)
    good = {totp(secret, current_step() + d) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in good)
    for _ in range(3):
        c = Api(srv)
        r = c.login(t.contract_id, u["login"], u["password"])
        assert r.status_code == 200 and r.json() == {"mfa_required": True}, r.text
        assert_generic(c.mfa(wrong), "wrong TOTP")
    assert t.user(u["id"])["locked"] is True
    assert_generic(raw_login(srv, t.contract_id, u["login"], u["password"]),
                   "locked after wrong codes")
    # guessing inside one pre-auth session counts the same way, and once
    # locked even the right code is refused
    assert t.admin.post(f"/api/v1/users/{u['id']}/unlock").status_code == 200
    c = Api(srv)
    r = c.login(t.contract_id, u["login"], u["password"])
    assert r.status_code == 200 and r.json() == {"mfa_required": True}, r.text
    for _ in range(3):
        assert_generic(c.mfa(wrong), "wrong TOTP, same pre-auth")
    assert t.user(u["id"])["locked"] is True
    assert_generic(c.mfa(totp(secret, current_step() + 1)), "right code while locked")


# ---------------------------------------------------------------- IAM-5

WEAK = {
    "too short (7)": "Ab1!xyz",
    "two classes": "abcdefgh1234",
    "one class": "abcdefghijkl",
    "common": "Password123!",
    "common base": "Qwerty123!!",
}


def test_iam5_policy_on_accept_invitation(fast_kura):
    """IAM-5: accepting an invitation with a password that is too short,
    has too few character classes or is common answers 400
    password_policy; the invitation stays usable until a good password is
    given."""
    srv = fast_kura
    t = Tenant(srv)
    inv = t.invite()
    for what, pw in WEAK.items():
        expect_error(accept(srv, inv["invitation_token"], pw), 400, "password_policy")
        assert_generic(raw_login(srv, t.contract_id, inv["login_id"], pw), what)
    assert t.user(inv["id"])["status"] == "invited"
    pw = strong_password()
    r = accept(srv, inv["invitation_token"], pw)
    assert r.status_code == 200, r.text
    signed_in(srv, t.contract_id, inv["login_id"], pw)


def test_iam5_change_own_password(fast_kura):
    """IAM-5: PUT /me/password needs the current password (missing -> 400,
    wrong -> 403 wrong_password), enforces the policy (400
    password_policy), refuses the same password; after a change the old
    password no longer signs in, the new one does, and the user's other
    sessions end while the current one stays."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    other = t.login(u["login"], u["password"])
    new = strong_password()

    expect_error(c.put("/api/v1/me/password", {"new_password": new}), 400, "invalid_field")
    expect_error(c.put("/api/v1/me/password",
                       {"current_password": "Not-the-pw-1!", "new_password": new}),
                 403, "wrong_password")
    for what, pw in WEAK.items():
        r = c.put("/api/v1/me/password",
                  {"current_password": u["password"], "new_password": pw})
        expect_error(r, 400, "password_policy")
    expect_error(c.put("/api/v1/me/password", {"current_password": u["password"],
                                               "new_password": u["password"]}),
                 400, "password_policy")
    expect_error(c.put("/api/v1/me/password", {"current_password": u["password"],
                                               "new_password": new, "user_id": t.admin_id}),
                 400, "unknown_field")
    # nothing above changed it
    signed_in(srv, t.contract_id, u["login"], u["password"])

    r = c.put("/api/v1/me/password", {"current_password": u["password"], "new_password": new})
    assert r.status_code == 200, r.text
    assert c.me().status_code == 200
    assert other.me().status_code == 401
    assert_generic(raw_login(srv, t.contract_id, u["login"], u["password"]), "old password")
    signed_in(srv, t.contract_id, u["login"], new)


def test_iam5_tenant_policy_only_stricter(fast_kura):
    """IAM-5: a tenant may raise the minimum length (12) and classes (4),
    which then apply to invitations and changes, but may not go below the
    built-in 8 characters / 3 classes (400)."""
    srv = fast_kura
    t = Tenant(srv)
    for bad in ({"password_min_length": 7}, {"password_min_length": 0},
                {"password_min_classes": 2}, {"password_min_length": "12"}):
        expect_error(t.admin.put("/api/v1/settings/security", bad), 400,
                     ("invalid_field", "unknown_field"))
    doc = t.admin.get("/api/v1/settings/security").json()
    assert doc["password_min_length"] == 8 and doc["password_min_classes"] == 3, doc

    t.security(password_min_length=12)
    inv = t.invite()
    eleven = "Ab1!" + "xk9q2mz"          # 11 characters, 4 classes
    twelve = "Ab1!" + "xk9q2mzr"         # 12
    assert len(eleven) == 11 and len(twelve) == 12
    expect_error(accept(srv, inv["invitation_token"], eleven), 400, "password_policy")
    assert accept(srv, inv["invitation_token"], twelve).status_code == 200
    c = t.login(inv["login_id"], twelve)

    t.security(password_min_classes=4)
    three_classes = "abcdefgh1234XYZ"    # 15 characters, no symbol
    expect_error(c.put("/api/v1/me/password", {"current_password": twelve,
                                               "new_password": three_classes}),
                 400, "password_policy")
    r = c.put("/api/v1/me/password", {"current_password": twelve,
                                      "new_password": three_classes + "!"})
    assert r.status_code == 200, r.text


def test_iam5_onetime_admin_password_must_change(fast_kura):
    """IAM-5/IAM-1: the one-time password printed by `kura tenant create`
    signs in but every non-setup route answers 403
    password_change_required until PUT /me/password; afterwards the
    one-time password is dead."""
    srv = fast_kura
    info = srv.create_tenant()
    c = signed_in(srv, info["contract_id"], info["login"], info["password"])
    assert c.user["must_change_password"] is True
    expect_error(c.get("/api/v1/users"), 403, "password_change_required")
    expect_error(c.post("/api/v1/users", {"login_id": "x1", "email": "x1@example.com"}),
                 403, "password_change_required")
    expect_error(c.get("/api/v1/settings/security"), 403, "password_change_required")
    r = c.me()
    assert r.status_code == 200 and r.json()["must_change_password"] is True, r.text
    new = strong_password()
    r = c.put("/api/v1/me/password", {"current_password": info["password"],
                                      "new_password": new})
    assert r.status_code == 200, r.text
    r = c.get("/api/v1/users")
    assert r.status_code == 200, r.text
    assert c.me().json()["must_change_password"] is False
    assert_generic(raw_login(srv, info["contract_id"], info["login"], info["password"]),
                   "one-time password after change")
    signed_in(srv, info["contract_id"], info["login"], new)


# ---------------------------------------------------------------- parsing

def test_iam9_malformed_login_bodies_are_400(fast_kura):
    """IAM-9/MON-3: malformed sign-in bodies (missing field, null, wrong
    types, unknown field, not an object, not JSON) answer 400 with the JSON
    error shape, never 500 and never a session."""
    srv = fast_kura
    t = Tenant(srv)
    ok = {"contract_id": t.contract_id, "login_id": "admin", "password": t.admin_password}
    bodies = {
        "empty object": {},
        "missing password": {k: v for k, v in ok.items() if k != "password"},
        "missing contract": {k: v for k, v in ok.items() if k != "contract_id"},
        "null password": {**ok, "password": None},
        "number contract": {**ok, "contract_id": 12345},
        "array login": {**ok, "login_id": ["admin"]},
        "object password": {**ok, "password": {"p": t.admin_password}},
        "bool password": {**ok, "password": True},
        "extra field": {**ok, "tenant_id": t.tenant_id},
        "NUL in password": {**ok, "password": t.admin_password + "\u0000x"},
    }
    url = srv.url("/api/v1/auth/login")
    for what, body in bodies.items():
        r = srv.session().post(url, json=body)
        assert r.status_code == 400, f"{what}: {r.status_code} {r.text}"
        assert error_code(r), f"{what}: {r.text}"
        assert "kura_session" not in r.cookies, what
    raws = {
        "top-level array": b"[]",
        "top-level string": b'"admin"',
        "not JSON": b"contract_id=x&login_id=y",
        "truncated JSON": b'{"contract_id": "x", ',
        "duplicate keys": ('{"contract_id":"%s","login_id":"nobody","login_id":"admin",'
                           '"password":"%s"}' % (t.contract_id, t.admin_password)).encode(),
        "empty": b"",
    }
    for what, data in raws.items():
        r = srv.session().post(url, data=data,
                               headers={"Content-Type": "application/json"})
        assert r.status_code == 400, f"{what}: {r.status_code} {r.text}"
        assert error_code(r), f"{what}: {r.text}"
        assert "kura_session" not in r.cookies, what
    r = srv.session().post(url, data=b'{"contract_id":"a","login_id":"b","password":"c"}',
                           headers={"Content-Type": "text/plain"})
    assert r.status_code == 415, r.text
    assert srv.session().get(srv.url("/healthz")).status_code == 200
    signed_in(srv, t.contract_id, "admin", t.admin_password)
