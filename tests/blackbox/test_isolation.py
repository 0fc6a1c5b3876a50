"""TEN-1 tenant isolation and IAM-3 authentication, over EVERY route of the
route table (parsed from src/api/routes.c, so new routes are covered
without editing this file): another tenant's id answers exactly like an id
that does not exist (404, same body) and changes nothing; listings never
show another tenant's data; no route takes a tenant from the body, query
or headers; and every non-public route answers 401 without credentials."""
import re
import time

import pytest

from identity_helpers import (Api, Tenant, error_code, expect_error,  # noqa: F401
                              fast_kura, fill, parse_routes, random_id)

# The console's static files (/, /console/...) hold no tenant data and
# take no ids: tests/blackbox/test_console_api.py covers them.
CONSOLE_ROUTES = [r for r in parse_routes()
                  if r["pattern"] == "/" or r["pattern"].startswith("/console")]
ROUTES = [r for r in parse_routes() if r not in CONSOLE_ROUTES]

# the resource kind behind each {param}: path segment before it -> id prefix
ID_PREFIX = {"users": "usr", "sessions": "ses", "roles": "rol", "tokens": "tok",
             "alerts": "alr", "projects": "prj", "members": "usr",
             "directories": "dir", "files": "fil", "tasks": "tsk",
             "exports": "exp"}

# valid bodies for routes that take one, so a refusal cannot come from
# body validation; anything else gets {}
BODIES = {
    ("PATCH", "/api/v1/users/{id}"): {"display_name": "hijacked"},
    ("PATCH", "/api/v1/roles/{id}"): {"name": "hijacked"},
    ("PATCH", "/api/v1/projects/{pid}"): {"description": "hijacked"},
    ("PUT", "/api/v1/projects/{pid}/members/{uid}"): {"role": "editor"},
    ("POST", "/api/v1/projects/{pid}/directories"): {"name": "hijacked-dir"},
    ("PATCH", "/api/v1/projects/{pid}/directories/{did}"): {"name": "hijacked-dir2"},
    ("POST", "/api/v1/projects/{pid}/files"): {"name": "hijacked-file"},
    ("PATCH", "/api/v1/projects/{pid}/files/{fid}"): {"name": "hijacked-file2"},
    ("POST", "/api/v1/projects/{pid}/tasks"): {"title": "hijacked"},
    ("PATCH", "/api/v1/projects/{pid}/tasks/{tid}"): {"title": "hijacked"},
}

EXTRA_QUERIES = {"/api/v1/access-review": ["format=csv"]}


def id_kinds(pattern: str) -> list:
    """The resource kind of each {param} of pattern, in order."""
    kinds = re.findall(r"/([a-z_-]+)/\{[a-z_]+\}", pattern)
    assert kinds and len(kinds) == pattern.count("{"), pattern
    return kinds


def id_kind(pattern: str) -> str:
    """The kind of the resource a route acts on (its last {param})."""
    return id_kinds(pattern)[-1]


def fill_ids(pattern: str, id_of) -> str:
    """pattern with each {param} replaced by id_of(its kind)."""
    for kind in id_kinds(pattern):
        pattern = re.sub(r"(/" + kind + r"/)\{[a-z_]+\}",
                         lambda m, k=kind: m.group(1) + id_of(k), pattern, count=1)
    return pattern


def takes_json(route) -> bool:
    return "JSON" in route["flags"] or "PUB" in route["flags"]


def body_for(route):
    if route["method"] == "GET" or not takes_json(route):
        return None
    return BODIES.get((route["method"], route["pattern"]), {})


class Bearer(Api):
    """A client that authenticates with an API token instead of a cookie."""

    def __init__(self, srv, token):
        super().__init__(srv)
        self.s.headers["Authorization"] = f"Bearer {token}"


def test_route_table_parsed():
    """IAM-3/TEN-1: the route table parses into at least 20 routes, every
    one naming a permission, every {id} route of a known resource kind."""
    assert len(ROUTES) >= 20, f"only {len(ROUTES)} routes parsed from routes.c"
    seen = set()
    for r in ROUTES:
        assert r["permission"], r
        key = (r["method"], r["pattern"])
        assert key not in seen, f"duplicate route {key}"
        seen.add(key)
        if "{" in r["pattern"]:
            assert all(k in ID_PREFIX for k in id_kinds(r["pattern"])), \
                f"{key}: add its resource to the TEN-1 matrix (ID_PREFIX)"
    assert ("POST", "/api/v1/auth/login") in seen and ("GET", "/api/v1/users/{id}") in seen


def build_tenant(srv, name: str) -> dict:
    """A tenant with an admin, a member with a session, a second admin
    session, a custom role and an API token holding every permission."""
    t = Tenant(srv, name=f"Isolation {name}")
    r = t.admin.get("/api/v1/permissions")
    assert r.status_code == 200, r.text
    perms = [p["name"] for p in r.json()["items"]]
    u = t.add_user(roles=["member"])
    uc = t.login(u["login"], u["password"])
    second = t.login(t.admin_login, t.admin_password)
    sessions = second.get("/api/v1/me/sessions").json()["items"]
    second_sid = [s["id"] for s in sessions if s["current"]][0]
    r = t.admin.post("/api/v1/roles", {"name": f"role-{name}-{t.contract_id}",
                                       "permissions": ["users.read"]})
    assert r.status_code == 201, r.text
    role = r.json()
    r = t.admin.post("/api/v1/tokens", {"name": f"tok-{name}-{t.contract_id}",
                                        "permissions": perms})
    assert r.status_code == 201, r.text
    tok = r.json()
    # the token raises a token_created alert (LOG-6), asynchronously
    deadline = time.monotonic() + 5
    alert_ids = []
    while not alert_ids and time.monotonic() < deadline:
        r = t.admin.get("/api/v1/alerts?rule=token_created")
        assert r.status_code == 200, r.text
        alert_ids = [a["id"] for a in r.json()["items"]]
        if not alert_ids:
            time.sleep(0.1)
    assert alert_ids, "no token_created alert within 5 s"
    # workspace: a project with the member as viewer, a directory, a file
    # with content (in the root, so the directory stays empty), a task
    ws = {}
    for path, body, key in (
            ("/api/v1/projects", {"name": f"proj-{name}-{t.contract_id}"}, "projects"),
            ("/api/v1/projects/{pid}/directories", {"name": f"dir-{name}"}, "directories"),
            ("/api/v1/projects/{pid}/files", {"name": f"file-{name}"}, "files"),
            ("/api/v1/projects/{pid}/tasks", {"title": f"task-{name}"}, "tasks")):
        r = t.admin.post(path.replace("{pid}", ws.get("projects", "")), body)
        assert r.status_code == 201, r.text
        ws[key] = r.json()["id"]
    base = f"/api/v1/projects/{ws['projects']}"
    r = t.admin.put(f"{base}/files/{ws['files']}/content", data=b"isolation")
    assert r.status_code == 201, r.text
    r = t.admin.put(f"{base}/members/{u['id']}", {"role": "viewer"})
    assert r.status_code == 201, r.text
    # an export (DAT-4), ready, so its download answers for its own tenant
    r = t.admin.post("/api/v1/exports")
    assert r.status_code == 202, r.text
    ws["exports"] = r.json()["id"]
    deadline = time.monotonic() + 60
    while t.admin.get(f"/api/v1/exports/{ws['exports']}").json()["status"] != "ready":
        assert time.monotonic() < deadline, "export not ready within 60 s"
        time.sleep(0.1)
    return {
        "t": t, "user": u, "user_client": uc, "second": second,
        "ids": {"users": u["id"], "sessions": second_sid, "roles": role["id"],
                "tokens": tok["id"], "alerts": alert_ids[0], "members": u["id"],
                **ws},
        "role": role, "token": tok["token"], "token_id": tok["id"],
        "project_name": f"proj-{name}-{t.contract_id}",
        "secrets": [t.tenant_id, t.contract_id, t.admin_id, u["id"], u["login"],
                    second_sid, role["id"], role["name"], tok["id"], tok["name"],
                    alert_ids[0], *ws.values(), f"proj-{name}-{t.contract_id}"],
    }


@pytest.fixture(scope="module")
def world(fast_kura):
    """Tenants A and B (see build_tenant)."""
    return {"A": build_tenant(fast_kura, "A"), "B": build_tenant(fast_kura, "B")}


def check_a_intact(world):
    A = world["A"]
    t = A["t"]
    doc = t.user(A["user"]["id"])
    assert doc["status"] == "active" and doc["display_name"] != "hijacked", doc
    assert doc["roles"] == ["member"] and doc["locked"] is False
    assert A["user_client"].me().status_code == 200, "A's member session was ended"
    assert A["second"].me().status_code == 200, "A's admin session was ended"
    roles = t.admin.get("/api/v1/roles").json()["items"]
    assert [r["name"] for r in roles if r["id"] == A["role"]["id"]] == [A["role"]["name"]]
    r = Bearer(t.srv, A["token"]).get("/api/v1/me")
    assert r.status_code == 200, f"A's token no longer works: {r.text}"
    base = f"/api/v1/projects/{A['ids']['projects']}"
    r = t.admin.get(base)
    assert r.status_code == 200 and r.json()["name"] == A["project_name"] and \
        r.json()["description"] == "", r.text
    members = {m["user_id"]: m["role"] for m in t.admin.get(f"{base}/members").json()["items"]}
    assert members == {t.admin_id: "owner", A["user"]["id"]: "viewer"}, members
    for kind in ("directories", "files", "tasks"):
        r = t.admin.get(f"{base}/{kind}/{A['ids'][kind]}")
        assert r.status_code == 200 and "hijacked" not in r.text, r.text


@pytest.mark.parametrize("via", ["session", "token"])
def test_ten1_other_tenant_ids_answer_404(world, via):
    """TEN-1: as tenant B's admin (session or API token), every route with
    {id} given tenant A's id answers 404 with the same body as a random
    well-formed id, and A's resources are unchanged afterwards."""
    A, B = world["A"], world["B"]
    b = B["t"].admin if via == "session" else Bearer(B["t"].srv, B["token"])
    routes = [r for r in ROUTES if "{" in r["pattern"]]
    assert len(routes) >= 5
    for route in routes:
        body = body_for(route)
        r1 = b.request(route["method"], fill_ids(route["pattern"], lambda k: A["ids"][k]),
                       body)
        r2 = b.request(route["method"], fill_ids(route["pattern"],
                                                 lambda k: random_id(ID_PREFIX[k])), body)
        what = f"{route['method']} {route['pattern']} via {via}"
        assert r1.status_code == r2.status_code and r1.content == r2.content, \
            f"{what}: A's id answers {r1.status_code} {r1.content!r}, a random id " \
            f"{r2.status_code} {r2.content!r}"
        if via == "token" and "SES" in route["flags"]:
            # a session-only route refuses every token before looking
            expect_error(r1, 403, "session_required")
        else:
            expect_error(r1, 404, "not_found")
    check_a_intact(world)


def test_ten1_own_tenant_ids_work(fast_kura):
    """TEN-1 (the other column): the same {id} routes with the caller's own
    tenant's ids do not answer 404 (reads, changes and deletions succeed;
    actions may answer a state conflict), so the 404s of the matrix are
    about the tenant.  A tenant of its own, as this changes and deletes;
    deletions last."""
    A = build_tenant(fast_kura, "C")
    t = A["t"]
    # deletions last, the innermost first (a project's routes need it)
    routes = sorted((r for r in ROUTES if "{" in r["pattern"]),
                    key=lambda r: (r["method"] == "DELETE", -r["pattern"].count("{")))
    for route in routes:
        kind = id_kind(route["pattern"])
        body = body_for(route)
        if route["method"] == "PATCH" and kind == "users":
            body = {"display_name": "renamed by own admin"}
        if route["method"] == "PATCH" and kind == "roles":
            body = {"name": "renamed-by-own-admin"}
        r = t.admin.request(route["method"], fill_ids(route["pattern"], lambda k: A["ids"][k]),
                            body)
        assert r.status_code != 404 and r.status_code < 500, \
            f"{route['method']} {route['pattern']} own id: {r.status_code} {r.text}"
        if route["method"] in ("GET", "DELETE", "PATCH"):
            assert 200 <= r.status_code < 300, \
                f"{route['method']} {route['pattern']} own id: {r.status_code} {r.text}"


def test_ten1_listings_never_show_other_tenant(world):
    """TEN-1: every GET route without {id} (users, roles, tokens, sessions,
    access review incl. CSV, settings, me, ...) as B's admin contains none
    of A's ids, names or tenant identifiers, also when the query or a
    header names tenant A; B's own data is there."""
    A, B = world["A"], world["B"]
    t = B["t"]
    routes = [r for r in ROUTES if r["method"] == "GET" and "{" not in r["pattern"]
              and not r["public"]]
    assert len(routes) >= 6
    paths = [p["pattern"] for p in routes]
    for need in ("/api/v1/users", "/api/v1/roles", "/api/v1/tokens",
                 "/api/v1/me/sessions", "/api/v1/access-review"):
        assert need in paths, f"{need} missing from the route table"
    sneaky = (f"tenant_id={A['t'].tenant_id}&tenant={A['t'].tenant_id}"
              f"&contract_id={A['t'].contract_id}")
    headers = {"X-Tenant-Id": A["t"].tenant_id, "X-Contract-Id": A["t"].contract_id}
    for route in routes:
        path = route["pattern"]
        variants = [path, f"{path}?{sneaky}"] + \
            [f"{path}?{q}" for q in EXTRA_QUERIES.get(path, [])] + \
            [f"{path}?{q}&{sneaky}" for q in EXTRA_QUERIES.get(path, [])]
        for v in variants:
            for h in (None, headers):
                r = t.admin.get(v, headers=h)
                assert r.status_code in (200, 400), f"GET {v}: {r.status_code} {r.text}"
                if v == path:
                    assert r.status_code == 200, f"GET {v}: {r.text}"
                text = r.text
                if path.startswith("/api/v1/audit-events") and r.status_code == 200:
                    text = _without_own_probes(text, t)
                leaked = [s for s in A["secrets"] if s in text]
                assert not leaked, f"GET {v} as B shows A's {leaked}"
    own = {
        "/api/v1/users": B["ids"]["users"],
        "/api/v1/roles": B["ids"]["roles"],
        "/api/v1/tokens": B["ids"]["tokens"],
        "/api/v1/access-review": B["t"].admin_id,
        "/api/v1/access-review?format=csv": B["t"].admin_id,
    }
    for path, bid in own.items():
        assert bid in t.admin.get(path).text, f"B's own {bid} missing from {path}"
    assert B["ids"]["sessions"] in B["second"].get("/api/v1/me/sessions").text


def test_ten1_no_tenant_from_body(world):
    """TEN-1: no route takes a tenant from the request body: every route
    that takes a JSON body refuses a "tenant_id" (or "tenant") field with
    400, and POST /users with tenant A's id creates nobody in A or B."""
    A, B = world["A"], world["B"]
    b = B["t"].admin
    for route in ROUTES:
        if route["method"] == "GET" or not takes_json(route):
            continue
        path = route["pattern"]
        if "{" in path:
            path = fill_ids(path, lambda k: B["ids"][k])
        for field in ("tenant_id", "tenant"):
            body = dict(BODIES.get((route["method"], route["pattern"]), {}))
            body[field] = A["t"].tenant_id
            r = b.request(route["method"], path, body)
            assert r.status_code == 400 and error_code(r) in ("unknown_field", "invalid_field"), \
                f"{route['method']} {path} with {field}: {r.status_code} {r.text}"
    before_a = {u["id"] for u in A["t"].admin.get("/api/v1/users").json()["items"]}
    before_b = {u["id"] for u in b.get("/api/v1/users").json()["items"]}
    r = b.post("/api/v1/users", {"login_id": "intruder", "email": "i@example.com",
                                 "tenant_id": A["t"].tenant_id})
    expect_error(r, 400, "unknown_field")
    r = b.post(f"/api/v1/users?tenant_id={A['t'].tenant_id}",
               {"login_id": "intruder2", "email": "i2@example.com"},
               headers={"X-Tenant-Id": A["t"].tenant_id})
    assert r.status_code == 201, r.text   # created, but in B
    after_a = {u["id"] for u in A["t"].admin.get("/api/v1/users").json()["items"]}
    after_b = {u["id"] for u in b.get("/api/v1/users").json()["items"]}
    assert after_a == before_a
    assert after_b == before_b | {r.json()["id"]}
    assert b.delete(f"/api/v1/users/{r.json()['id']}").status_code == 200
    check_a_intact(world)


def test_iam3_every_non_public_route_needs_credentials(fast_kura):
    """IAM-3: every non-public route of the table answers 401
    unauthenticated without credentials, with a made-up session cookie and
    with a made-up bearer token; public routes are only the probes, the
    sign-in steps and /metrics (which admits only configured networks or
    the operator token itself: tests/blackbox/test_metrics.py)."""
    srv = fast_kura
    public = sorted((r["method"], r["pattern"]) for r in ROUTES if r["public"])
    assert public == sorted([
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
        ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/mfa"),
        ("POST", "/api/v1/auth/invitation"),
        ("POST", "/api/v1/auth/accept-invitation")]), public
    # the console's files: public, GET only
    assert len(CONSOLE_ROUTES) == 5 and all(
        r["public"] and r["method"] == "GET" for r in CONSOLE_ROUTES), CONSOLE_ROUTES
    checked = 0
    for route in ROUTES:
        if route["public"]:
            continue
        path = route["pattern"]
        if "{" in path:
            path = fill_ids(path, lambda k: random_id(ID_PREFIX[k]))
        body = body_for(route)
        for creds in ("none", "cookie", "bearer"):
            c = Api(srv)
            headers = {"X-CSRF-Token": "x" * 43}
            if creds == "cookie":
                c.s.cookies.set("kura_session", "A" * 43, domain="127.0.0.1", path="/")
            elif creds == "bearer":
                headers["Authorization"] = "Bearer kura_" + "A" * 43
            r = c.request(route["method"], path, body, headers=headers)
            assert r.status_code == 401 and error_code(r) == "unauthenticated", \
                f"{route['method']} {path} ({creds}): {r.status_code} {r.text}"
        checked += 1
    assert checked >= 20, checked


def test_iam3_token_cannot_manage_owner_credentials(fast_kura):
    """IAM-3/IAM-12/IAM-6: an API token limited to one function (files.read)
    cannot manage its owner's account security: it cannot enrol (or
    confirm) TOTP, change the password, or end the owner's browser
    sessions (refused with 400/403, nothing changes); it may read /me."""
    srv = fast_kura
    t = Tenant(srv)
    u = t.add_user()
    c = t.login(u["login"], u["password"])
    r = c.post("/api/v1/tokens", {"name": "ci", "permissions": ["files.read"]})
    assert r.status_code == 201, r.text
    b = Bearer(srv, r.json()["token"])
    assert b.me().status_code == 200 and b.me().json()["via_token"] is True
    sid = [s["id"] for s in c.get("/api/v1/me/sessions").json()["items"] if s["current"]][0]
    refused = {}
    for method, path, body in (
            ("POST", "/api/v1/me/mfa/totp", None),
            ("POST", "/api/v1/me/mfa/totp/confirm", {"code": "123456"}),
            ("PUT", "/api/v1/me/password", {"current_password": u["password"],
                                            "new_password": "Qz9!token-set-pw"}),
            ("POST", "/api/v1/auth/logout-all", None),
            ("DELETE", f"/api/v1/me/sessions/{sid}", None),
    ):
        r = b.request(method, path, body)
        if r.status_code not in (400, 403):
            refused[f"{method} {path}"] = f"{r.status_code} {r.text[:120]}"
    assert c.me().status_code == 200, "the token ended the owner's browser session"
    assert c.me().json()["mfa_enabled"] is False
    t.login(u["login"], u["password"])  # password unchanged
    assert not refused, f"a files.read token may manage its owner's credentials: {refused}"


def _without_own_probes(text, t):
    """B's audit log (LOG-1) rightly records B's own probes of A's ids: each
    such record names the id B sent and the refusal (4xx).  Drop exactly
    those records; anything else of A's in B's log is a leak."""
    import json as _json
    out = []
    lines = text.splitlines() if not text.lstrip().startswith("{\"items\"") else None
    items = _json.loads(text)["items"] if lines is None else \
        [_json.loads(x) for x in lines if x.strip().startswith("{")]
    for item in items:
        # the tenant view nests actor/resource; the verifiable export is flat
        res_id = (item.get("resource") or {}).get("id") or item.get("resource_id")
        actor = (item.get("actor") or {}).get("type") or item.get("actor_type")
        # B's own refused request (404, or 403 for a token on a session
        # route) naming the id B itself sent
        if 400 <= (item.get("status") or 0) < 500 and actor in ("user", "token") \
                and res_id:
            continue
        out.append(item)
    return _json.dumps(out)
