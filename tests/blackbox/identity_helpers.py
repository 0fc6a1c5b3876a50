"""
Helpers for the identity black-box tests (TEN-1, IAM-1..9, IAM-12, CRY-1):
an API client that carries the session cookie and CSRF token, tenants with
a signed-in admin, invitations, security settings, TOTP codes from
`oathtool`, the route table parsed from src/api/routes.c and a byte search
of the data directory.

Built on kura_fixture.KuraServer; nothing here talks to anything but the
test server on loopback, always with certificate verification.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import requests

from kura_fixture import REPO, KuraServer

# Cheaper Argon2id for tests that sign in many times (the timing test keeps
# the default cost).
FAST_ARGON = {("passwords", "argon2_memory_kib"): "8192",
              ("passwords", "argon2_iterations"): "1"}

ROUTES_C = REPO / "src" / "api" / "routes.c"
ID_RE = re.compile(r"^[a-z]{3}_[0-9a-f]{32}$")
TOTP_STEP = 30


# ---------------------------------------------------------------- passwords

def strong_password() -> str:
    """A fresh password that passes any policy up to 4 classes / 20 chars."""
    return "Kq7!" + secrets.token_hex(6) + "Zx#" + secrets.token_hex(3).upper() + "m"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


# ---------------------------------------------------------------- client

class Api:
    """One browser-like client: a requests session (cookie jar) plus the
    CSRF token from the last sign-in, sent on every non-GET request."""

    def __init__(self, srv: KuraServer, v6: bool = False):
        self.srv = srv
        self.v6 = v6
        self.s: requests.Session = srv.session()
        self.csrf: str | None = None
        self.user: dict | None = None
        self.last_login: requests.Response | None = None

    def url(self, path: str) -> str:
        return self.srv.url(path, v6=self.v6)

    def request(self, method: str, path: str, json_body=None, *,
                csrf: bool | str = True, headers: dict | None = None,
                **kw) -> requests.Response:
        h = dict(headers or {})
        if method not in ("GET", "HEAD"):
            if isinstance(csrf, str):
                h["X-CSRF-Token"] = csrf
            elif csrf and self.csrf:
                h["X-CSRF-Token"] = self.csrf
        if json_body is not None:
            kw["json"] = json_body
        kw.setdefault("timeout", 30)
        return self.s.request(method, self.url(path), headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body, **kw)

    def put(self, path, json_body=None, **kw):
        return self.request("PUT", path, json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body, **kw)

    def delete(self, path, json_body=None, **kw):
        return self.request("DELETE", path, json_body, **kw)

    # -- sign-in
    def login(self, contract_id: str, login_id: str, password: str) -> requests.Response:
        """POST /auth/login; on a full sign-in remembers the CSRF token."""
        r = self.s.post(self.url("/api/v1/auth/login"), timeout=30,
                        json={"contract_id": contract_id, "login_id": login_id,
                              "password": password})
        self.last_login = r
        if r.status_code == 200 and not r.json().get("mfa_required"):
            self.csrf = r.json()["csrf_token"]
            self.user = r.json()["user"]
        return r

    def mfa(self, code: str) -> requests.Response:
        r = self.s.post(self.url("/api/v1/auth/mfa"), json={"code": code},
                        timeout=30)
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
            self.user = r.json()["user"]
        return r

    @property
    def cookie(self) -> str | None:
        return self.s.cookies.get("kura_session")

    @property
    def preauth_cookie(self) -> str | None:
        return self.s.cookies.get("kura_preauth")

    def me(self) -> requests.Response:
        return self.get("/api/v1/me")


def signed_in(srv: KuraServer, contract_id: str, login_id: str,
              password: str) -> Api:
    """A client signed in (no MFA); fails the test otherwise."""
    c = Api(srv)
    r = c.login(contract_id, login_id, password)
    assert r.status_code == 200, f"sign-in of {login_id} failed: {r.status_code} {r.text}"
    assert r.json()["mfa_required"] is False, r.text
    assert c.cookie, "no kura_session cookie after sign-in"
    return c


def cookie_client(srv: KuraServer, cookie: str, csrf: str | None = None) -> Api:
    """A fresh client that presents the given session cookie value only."""
    c = Api(srv)
    c.s.cookies.set("kura_session", cookie, domain="127.0.0.1", path="/")
    c.csrf = csrf
    return c


# ---------------------------------------------------------------- tenants

class Tenant:
    """A tenant made by `kura tenant create` with an admin password we chose
    (so no forced change) and a signed-in admin client."""

    def __init__(self, srv: KuraServer, seats: int = 10, name: str | None = None,
                 admin_login: str = "admin"):
        self.srv = srv
        self.admin_password = strong_password()
        t = srv.create_tenant(seats=seats, name=name, login=admin_login,
                              password=self.admin_password)
        self.info = t
        self.tenant_id: str = t["tenant_id"]
        self.contract_id: str = t["contract_id"]
        self.admin_login = admin_login
        self.admin = signed_in(srv, self.contract_id, admin_login, self.admin_password)
        self.admin_id: str = self.admin.user["id"]
        assert self.admin.user["must_change_password"] is False

    def login(self, login_id: str, password: str) -> Api:
        return signed_in(self.srv, self.contract_id, login_id, password)

    def relogin_admin(self) -> Api:
        self.admin = self.login(self.admin_login, self.admin_password)
        return self.admin

    def invite(self, login_id: str | None = None, roles: list | None = None,
               email: str | None = None, display_name: str | None = None,
               by: Api | None = None) -> dict:
        """POST /users as the admin; asserts 201; returns the JSON body."""
        login_id = login_id or unique("user")
        body = {"login_id": login_id, "email": email or f"{login_id}@example.com"}
        if display_name is not None:
            body["display_name"] = display_name
        if roles is not None:
            body["roles"] = roles
        r = (by or self.admin).post("/api/v1/users", body)
        assert r.status_code == 201, f"invite {login_id}: {r.status_code} {r.text}"
        doc = r.json()
        assert doc["status"] == "invited" and doc["invitation_token"], doc
        return doc

    def add_user(self, roles: list | None = None, login_id: str | None = None,
                 password: str | None = None, **kw) -> dict:
        """Invite and accept; returns {id, login, password}."""
        doc = self.invite(login_id=login_id, roles=roles, **kw)
        password = password or strong_password()
        r = accept(self.srv, doc["invitation_token"], password)
        assert r.status_code == 200, f"accept: {r.status_code} {r.text}"
        assert r.json() == {"id": doc["id"], "status": "active"}, r.text
        return {"id": doc["id"], "login": doc["login_id"], "password": password}

    def user(self, user_id: str) -> dict:
        r = self.admin.get(f"/api/v1/users/{user_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def security(self, **fields) -> dict:
        """PUT /settings/security as the admin; asserts 200; returns the
        settings it answers (or, if it answers something else, a GET)."""
        r = self.admin.put("/api/v1/settings/security", fields)
        assert r.status_code == 200, \
            f"PUT /api/v1/settings/security {fields}: {r.status_code} {r.text}"
        g = self.admin.get("/api/v1/settings/security")
        assert g.status_code == 200, g.text
        doc = g.json()
        for k, v in fields.items():
            assert doc.get(k) == v, f"setting {k} is {doc.get(k)!r}, wanted {v!r}: {doc}"
        return doc


def accept(srv: KuraServer, token: str, password: str) -> requests.Response:
    return srv.session().post(srv.url("/api/v1/auth/accept-invitation"),
                              json={"token": token, "password": password},
                              timeout=30)


def raw_login(srv: KuraServer, contract_id, login_id, password) -> requests.Response:
    """One sign-in attempt on a fresh connection and cookie jar."""
    return srv.session().post(srv.url("/api/v1/auth/login"), timeout=30,
                              json={"contract_id": contract_id,
                                    "login_id": login_id, "password": password})


def error_code(r: requests.Response) -> str | None:
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def expect_error(r: requests.Response, status: int, code: str | tuple) -> None:
    codes = (code,) if isinstance(code, str) else tuple(code)
    assert r.status_code == status and error_code(r) in codes, \
        f"{r.request.method} {r.request.url}: want {status} {codes}, " \
        f"got {r.status_code} {r.text[:300]}"


# ---------------------------------------------------------------- TOTP

def totp(secret: str, step: int | None = None) -> str:
    """The RFC 6238 code for secret (base32) at a 30-s step (now if None),
    computed by `oathtool`."""
    args = ["oathtool", "--totp", "-b"]
    if step is not None:
        args += ["-N", f"@{step * TOTP_STEP + 1}"]
    p = subprocess.run(args + [secret], capture_output=True, text=True,
                       timeout=10, check=True)
    code = p.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), p.stdout
    return code


def current_step() -> int:
    return int(time.time()) // TOTP_STEP


def step_with_margin(seconds: float) -> int:
    """The current 30-s step, after waiting (at most `seconds`) so that at
    least `seconds` remain in it."""
    left = TOTP_STEP - (time.time() % TOTP_STEP)
    if left < seconds:
        time.sleep(left + 0.2)
    return current_step()


def enrol_totp(c: Api, step: int | None = None) -> tuple[str, list, int]:
    """Enrol c's user in TOTP confirming with the code of `step` (now if
    None); returns (secret, recovery codes, step used)."""
    r = c.post("/api/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    step = current_step() if step is None else step
    r = c.post("/api/v1/me/mfa/totp/confirm", {"code": totp(secret, step)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"], step


# ---------------------------------------------------------------- routes

ROUTE_RE = re.compile(
    r'\{\s*HTTP_(GET|POST|PUT|PATCH|DELETE|HEAD)\s*,\s*"([^"]+)"\s*,\s*'
    r'(\w+)\s*,\s*"([^"]*)"\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,\s*([^}]*?)\s*\}')


def parse_routes(path: Path = ROUTES_C) -> list[dict]:
    """Every row of the route table: {method, pattern, handler, permission,
    public, flags}."""
    text = Path(path).read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments
    out = []
    for m in ROUTE_RE.finditer(text):
        method, pattern, handler, perm, _audit, _max, flags = m.groups()
        out.append({"method": method, "pattern": pattern, "handler": handler,
                    "permission": perm, "public": perm == "public",
                    "flags": flags})
    return out


def fill(pattern: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+\}", value, pattern)


def random_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


# ---------------------------------------------------------------- bytes on disk

def encodings(s: str) -> list[bytes]:
    return [s.encode("utf-8"), s.encode("utf-16-le"), s.encode("utf-16-be"),
            s.upper().encode("utf-8"), s.lower().encode("utf-8")]


def files_under(root: Path):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                yield p


def find_bytes(root: Path, needles: dict) -> list:
    """[(file, label)] for every needle (label -> [bytes]) found in a file
    under root."""
    hits = []
    for p in files_under(root):
        try:
            data = p.read_bytes()
        except (PermissionError, FileNotFoundError, IsADirectoryError):
            continue
        for label, values in needles.items():
            if any(v in data for v in values):
                hits.append((str(p), label))
    return hits


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fast_kura(tmp_path_factory):
    """One server per test module with cheap Argon2id; tests use fresh
    tenants on it, so their settings do not interfere."""
    srv = KuraServer(tmp_path_factory.mktemp("kura-identity"), settings=FAST_ARGON)
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


def dump(r: requests.Response) -> str:
    try:
        return json.dumps(r.json())[:400]
    except ValueError:
        return r.text[:400]
