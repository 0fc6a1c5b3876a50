"""TOTP evidence through the real server (IAM-6): enrolment with codes from
`oathtool`, the second sign-in step, replay refusal, single-use recovery
codes, the pre-auth cookie's limits, disabling with a current code, and
the tenant's MFA requirement.  Codes of the neighbouring 30-s steps (the
server accepts one step either side) avoid waiting for new windows."""
from urllib.parse import parse_qs, urlparse

from identity_helpers import (Api, Tenant, encodings, enrol_totp,  # noqa: F401
                              error_code, expect_error, fast_kura, find_bytes,
                              signed_in, step_with_margin, totp)


def generic_401(r, what=""):
    assert r.status_code == 401 and error_code(r) == "invalid_credentials", \
        f"{what}: {r.status_code} {r.text}"


def start_login(srv, t, login, pw) -> Api:
    c = Api(srv)
    r = c.login(t.contract_id, login, pw)
    assert r.status_code == 200 and r.json() == {"mfa_required": True}, r.text
    assert c.cookie is None, "a session cookie before the second step"
    assert c.preauth_cookie, "no pre-auth cookie"
    return c


def test_iam6_totp_enrol_sign_in_replay_recovery(fast_kura):
    """IAM-6: enrol (secret + otpauth URI), confirm with an oathtool code ->
    10 recovery codes; sign-in then needs the second step; a wrong code and
    a replayed code (the one just used) answer 401 invalid_credentials; the
    next step's code works once; a recovery code works once; the pre-auth
    cookie alone reaches nothing and is dead after the second step."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    S = step_with_margin(5)

    r = c.post("/api/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert len(secret) >= 26 and secret.isalnum() and secret.upper() == secret
    p = urlparse(uri)
    q = parse_qs(p.query)
    assert p.scheme == "otpauth" and p.netloc == "totp", uri
    assert q["secret"] == [secret] and q["issuer"] == ["kura"], uri
    assert q.get("digits", ["6"]) == ["6"] and q.get("period", ["30"]) == ["30"]
    # not on until confirmed
    assert c.me().json()["mfa_enabled"] is False
    signed_in(srv, t.contract_id, u["login"], u["password"])
    bad = next(x for x in ("000000", "111111", "222222")
               if x not in {totp(secret, S + d) for d in (-1, 0, 1, 2)})
    expect_error(c.post("/api/v1/me/mfa/totp/confirm", {"code": bad}), 400, "invalid_code")

    r = c.post("/api/v1/me/mfa/totp/confirm", {"code": totp(secret, S)})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert r.json()["mfa_enabled"] is True
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    me = c.me().json()
    assert me["mfa_enabled"] is True and me["recovery_codes_left"] == 10
    expect_error(c.post("/api/v1/me/mfa/totp"), 409, "mfa_already_enabled")
    # the secret and the recovery codes are not on disk in clear (CRY-1:
    # sealed; recovery codes: only keyed hashes)
    needles = {"secret": encodings(secret)}
    for i, rc in enumerate(codes):
        needles[f"recovery {i}"] = encodings(rc) + encodings(rc.replace("-", ""))
    hits = find_bytes(srv.data_dir, needles)
    assert not hits, f"TOTP secret or recovery codes stored in clear: {hits}"

    # the password alone now gives only a pre-auth cookie
    a = start_login(srv, t, u["login"], u["password"])
    raw = [h for h in a.last_login.raw.headers.getlist("Set-Cookie")]
    assert len(raw) == 1 and raw[0].startswith("kura_preauth="), raw
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/api/v1/auth/mfa"):
        assert attr in raw[0], raw
    pre = a.preauth_cookie
    for name in ("kura_session", "kura_preauth"):
        s = srv.session()
        s.cookies.set(name, pre, domain="127.0.0.1", path="/")
        for path in ("/api/v1/me", "/api/v1/me/sessions", "/api/v1/users"):
            r = s.get(srv.url(path))
            assert r.status_code == 401, f"pre-auth cookie as {name} on {path}: {r.text}"
    r = srv.session().get(srv.url("/api/v1/me"), headers={"Authorization": f"Bearer {pre}"})
    assert r.status_code == 401, r.text

    generic_401(a.mfa(bad), "wrong code")
    generic_401(a.mfa(totp(secret, S)), "replay of the confirm code")
    generic_401(a.mfa("12345"), "short code")
    r = a.mfa(totp(secret, S + 1))
    assert r.status_code == 200 and r.json()["mfa_required"] is False, r.text
    assert a.cookie and a.csrf
    assert a.me().status_code == 200 and a.me().json()["id"] == u["id"]
    # the promoted pre-auth cookie is dead: it cannot finish another sign-in
    s = srv.session()
    s.cookies.set("kura_preauth", pre, domain="127.0.0.1", path="/api/v1/auth/mfa")
    r = s.post(srv.url("/api/v1/auth/mfa"), json={"code": codes[2]})
    generic_401(r, "old pre-auth cookie")

    # replay of the code just used, in a new sign-in
    b = start_login(srv, t, u["login"], u["password"])
    generic_401(b.mfa(totp(secret, S + 1)), "replay of the sign-in code")
    generic_401(b.mfa(totp(secret, S)), "older code")

    # recovery codes: once each; case and dash are not significant
    r = b.mfa(codes[0])
    assert r.status_code == 200, r.text
    assert b.me().json()["recovery_codes_left"] == 9
    d = start_login(srv, t, u["login"], u["password"])
    generic_401(d.mfa(codes[0]), "recovery code reused")
    r = d.mfa(codes[1].lower().replace("-", ""))
    assert r.status_code == 200, r.text
    # codes[2] was not spent by the dead pre-auth cookie above
    e = start_login(srv, t, u["login"], u["password"])
    assert e.mfa(codes[2]).status_code == 200
    assert e.me().json()["recovery_codes_left"] == 7


def test_iam6_disable_needs_current_code(fast_kura):
    """IAM-6: DELETE /me/mfa/totp needs a current code (missing -> 400, wrong
    or replayed -> 400 invalid_code, MFA stays on); with a fresh code MFA
    is off, the recovery codes are gone and sign-in is one step again."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    S = step_with_margin(8)
    secret, codes, _ = enrol_totp(c, step=S - 1)
    expect_error(c.delete("/api/v1/me/mfa/totp", {}), 400, "invalid_field")
    bad = next(x for x in ("000000", "111111", "222222")
               if x not in {totp(secret, S + d) for d in (-2, -1, 0, 1)})
    expect_error(c.delete("/api/v1/me/mfa/totp", {"code": bad}), 400, "invalid_code")
    expect_error(c.delete("/api/v1/me/mfa/totp", {"code": totp(secret, S - 1)}),
                 400, "invalid_code")
    expect_error(c.delete("/api/v1/me/mfa/totp", {"code": codes[0]}), 400, "invalid_code")
    assert c.me().json()["mfa_enabled"] is True
    start_login(srv, t, u["login"], u["password"])

    r = c.delete("/api/v1/me/mfa/totp", {"code": totp(secret, S)})
    assert r.status_code == 200 and r.json() == {"mfa_enabled": False}, r.text
    me = c.me().json()
    assert me["mfa_enabled"] is False and me["recovery_codes_left"] == 0
    signed_in(srv, t.contract_id, u["login"], u["password"])


def test_iam6_tenant_requires_mfa(fast_kura):
    """IAM-6: with mfa_required "all" a user without MFA gets 403
    mfa_enrolment_required on ordinary routes but may still read /me and
    enrol; once enrolled the routes answer again; MFA cannot be turned
    off (409 mfa_required_by_tenant).  With "admins" only admins need it."""
    srv = fast_kura
    t = Tenant(srv)
    S = step_with_margin(5)
    enrol_totp(t.admin, step=S)        # the admin keeps working
    u = t.add_user()
    admin2 = t.add_user(roles=["tenant_admin"])
    uc = t.login(u["login"], u["password"])
    a2 = t.login(admin2["login"], admin2["password"])
    t.security(mfa_required="all")

    expect_error(uc.get("/api/v1/tokens"), 403, "mfa_enrolment_required")
    expect_error(uc.get("/api/v1/users"), 403, "mfa_enrolment_required")
    expect_error(uc.post("/api/v1/tokens", {"name": "t", "permissions": ["files.read"]}),
                 403, "mfa_enrolment_required")
    me = uc.me()
    assert me.status_code == 200 and me.json()["mfa_required_by_tenant"] is True, me.text
    # a fresh sign-in also works (so the user can enrol) and says so
    fresh = t.login(u["login"], u["password"])
    assert fresh.user["mfa_required_by_tenant"] is True
    expect_error(fresh.get("/api/v1/tokens"), 403, "mfa_enrolment_required")

    secret, _codes, _ = enrol_totp(uc, step=S)
    r = uc.get("/api/v1/tokens")
    assert r.status_code == 200, r.text
    expect_error(uc.get("/api/v1/users"), 403, "forbidden")   # still a member
    expect_error(uc.delete("/api/v1/me/mfa/totp", {"code": totp(secret, S + 1)}),
                 409, "mfa_required_by_tenant")
    assert uc.me().json()["mfa_enabled"] is True
    start_login(srv, t, u["login"], u["password"])

    # "admins": members without MFA are fine, admins without MFA are not
    t.security(mfa_required="admins")
    m2 = t.add_user()
    m2c = t.login(m2["login"], m2["password"])
    assert m2c.get("/api/v1/tokens").status_code == 200
    expect_error(a2.get("/api/v1/users"), 403, "mfa_enrolment_required")
    assert t.admin.get("/api/v1/users").status_code == 200


def test_iam6_concurrent_replay_of_one_code(fast_kura):
    """IAM-6: the same TOTP code submitted at once from six pre-auth
    sessions completes at most one sign-in (replay refused under race)."""
    from concurrent.futures import ThreadPoolExecutor
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    S = step_with_margin(8)
    secret, _codes, _ = enrol_totp(c, step=S - 1)
    pending = [start_login(srv, t, u["login"], u["password"]) for _ in range(6)]
    code = totp(secret, S)
    with ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda a: a.mfa(code), pending))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, [(r.status_code, r.text) for r in results]
    for r in results:
        if r.status_code != 200:
            generic_401(r, "concurrent replay")
