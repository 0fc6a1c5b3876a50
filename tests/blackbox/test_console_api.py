"""What the web console (issue 6) needs from the server, through the real
HTTPS server: the embedded static files under /console/ with the strict
CSP and JSON 404s, the invitation details for the invitation page, the
password policy and idle timeout in GET /me, and the QR modules of a TOTP
enrolment.  The console itself is tested in Chromium (tests/e2e)."""
from urllib.parse import parse_qs, urlparse

import requests

from identity_helpers import (Api, Tenant, accept, error_code,  # noqa: F401
                              expect_error, fast_kura, strong_password)
from kura_fixture import assert_security_headers


def get(srv, path, **kw):
    return requests.get(srv.url(path), verify=str(srv.cert_path),
                        allow_redirects=False, timeout=10, **kw)


def test_console_files_csp_and_json_404(fast_kura):
    srv = fast_kura
    r = get(srv, "/console/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert_security_headers(r.headers)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe" not in csp
    assert '<script type="module" src="js/app.js">' in r.text
    for path, ctype in [("/console/js/app.js", "text/javascript"),
                        ("/console/app.css", "text/css"),
                        ("/console/i18n/common.json", "application/json"),
                        ("/console/favicon.svg", "image/svg+xml")]:
        r = get(srv, path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith(ctype), path
        assert r.headers["Cache-Control"] == "no-store"
    # only the embedded table answers: nothing reaches the file system
    for path in ["/console/kura.ini", "/console/js/nope.js", "/console/a/b/c",
                 "/console/..%2fkura.ini", "/console/js/..%2f..%2fkura.ini",
                 "/console/%2e%2e/%2e%2e/kura.ini"]:
        r = get(srv, path)
        assert r.status_code == 404, path
        assert error_code(r) == "not_found", path
    for path in ["/", "/console"]:
        r = get(srv, path)
        assert r.status_code == 302 and r.headers["Location"] == "/console/"
    r = requests.post(srv.url("/console/"), verify=str(srv.cert_path), timeout=10)
    expect_error(r, 405, "method_not_allowed")


def test_invitation_details_for_the_invitation_page(fast_kura):
    srv = fast_kura
    t = Tenant(srv)
    t.security(password_min_length=14, password_min_classes=4)
    doc = t.invite(login_id="hanako")
    anon = Api(srv)
    r = anon.post("/api/v1/auth/invitation", {"token": doc["invitation_token"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"contract_id": t.contract_id, "login_id": "hanako",
                        "password_policy": {"min_length": 14, "min_classes": 4}}
    # bad tokens, one answer
    for body in [{"token": "nope"}, {"token": "x" * 300},
                 {"token": doc["invitation_token"][:-1]}]:
        expect_error(anon.post("/api/v1/auth/invitation", body), 400, "invalid_invitation")
    expect_error(anon.post("/api/v1/auth/invitation", {}), 400, "invalid_field")
    expect_error(anon.post("/api/v1/auth/invitation",
                           {"token": "a", "extra": 1}), 400, "unknown_field")
    # used: refused like any other bad token
    assert accept(srv, doc["invitation_token"], strong_password() + "Aa1!").status_code == 200
    expect_error(anon.post("/api/v1/auth/invitation", {"token": doc["invitation_token"]}),
                 400, "invalid_invitation")
    # the successful lookup is in the tenant's audit log (a bad token names
    # no tenant: only the operator sees those), without the token
    r = t.admin.get("/api/v1/audit-events", params={"action": "auth.invitation_read"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [e["outcome"] for e in items] == ["success"], items
    assert items[0]["actor"]["type"] == "anonymous"
    assert items[0]["resource"] == {"type": "auth", "id": doc["id"]}, items[0]
    assert doc["invitation_token"] not in r.text


def test_me_has_policy_and_idle_timeout_and_totp_has_qr(fast_kura):
    srv = fast_kura
    t = Tenant(srv)
    t.security(idle_timeout_seconds=600, password_min_length=10)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    me = c.me().json()
    assert me["idle_timeout_seconds"] == 600
    assert me["password_policy"] == {"min_length": 10, "min_classes": 3}
    r = c.post("/api/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    doc = r.json()
    qr = doc["qr"]
    n = qr["size"]
    assert 21 <= n <= 177 and (n - 17) % 4 == 0, n
    assert len(qr["modules"]) == n * n and set(qr["modules"]) == {"0", "1"}
    # the three finder patterns: a dark 7x7 ring at three corners
    rows = [qr["modules"][i * n:(i + 1) * n] for i in range(n)]
    for (y, x) in [(0, 0), (0, n - 7), (n - 7, 0)]:
        assert rows[y][x:x + 7] == "1111111" and rows[y + 6][x:x + 7] == "1111111"
        assert rows[y + 1][x:x + 7] == "1000001"
    assert parse_qs(urlparse(doc["otpauth_uri"]).query)["secret"] == [doc["secret"]]
