"""The workspace API (issue 5) through the real server on loopback:
projects, members and project scopes (IAM-2), labels (DAT-1), the
directory tree and tasks (DAT-2), bad names, encryption of names and
labels at rest (CRY-1), tenant usage and `kura tenant quota`."""
import secrets
import time

import pytest

from identity_helpers import (FAST_ARGON, Tenant, error_code, expect_error,
                              find_bytes, encodings, parse_routes, random_id)
from kura_fixture import KuraServer

ROUTES = parse_routes()
PROJECT_ROUTES = [r for r in ROUTES if r["pattern"].startswith("/api/v1/projects/{pid}")]
KIND = {"pid": "prj", "did": "dir", "fid": "fil", "tid": "tsk", "uid": "usr"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-workspace"), settings=FAST_ARGON)
    s.start()
    yield s
    s.close()


def uniq(p="n"):
    return f"{p}-{secrets.token_hex(4)}"


def ok(r, status=200):
    assert r.status_code == status, f"{r.request.method} {r.request.url}: " \
        f"want {status}, got {r.status_code} {r.text[:300]}"
    return r.json()


def new_project(c, name=None, **extra):
    return ok(c.post("/api/v1/projects", {"name": name or uniq("prj"), **extra}), 201)


def new_dir(c, pid, name=None, parent=None, **extra):
    body = {"name": name or uniq("dir"), **extra}
    if parent is not None:
        body["parent_id"] = parent
    return ok(c.post(f"/api/v1/projects/{pid}/directories", body), 201)


def new_file(c, pid, name=None, directory=None, **extra):
    body = {"name": name or uniq("file"), **extra}
    if directory is not None:
        body["directory_id"] = directory
    return ok(c.post(f"/api/v1/projects/{pid}/files", body), 201)


def upload(c, pid, fid, data):
    return ok(c.put(f"/api/v1/projects/{pid}/files/{fid}/content", data=data,
                    headers={"Content-Type": "application/octet-stream"}), 201)


def new_task(c, pid, **body):
    body.setdefault("title", uniq("task"))
    return ok(c.post(f"/api/v1/projects/{pid}/tasks", body), 201)


def ids(r):
    return [x["id"] for x in ok(r)["items"]]


def fill_ids(pattern, ids_by_param):
    out = pattern
    for p, v in ids_by_param.items():
        out = out.replace("{" + p + "}", v)
    assert "{" not in out, out
    return out


def valid_body(route):
    """A body the route would accept, so a refusal is about access."""
    if "JSON" not in route["flags"]:
        return None
    if route["method"] == "PUT":
        return {"role": "viewer"}
    if route["method"] == "POST":
        return {"title": "hijack"} if route["pattern"].endswith("/tasks") else \
            {"name": "hijack"}
    return {"labels": ["hijack"]}


@pytest.fixture
def team(srv):
    """A tenant with its admin (projects.all) and two members, u1 owning
    project p1 (with a directory, a file with content and a task)."""
    t = Tenant(srv)
    u1 = t.add_user(roles=["member"])
    u2 = t.add_user(roles=["member"])
    c1, c2 = t.login(u1["login"], u1["password"]), t.login(u2["login"], u2["password"])
    p1 = new_project(c1, description="first")
    d1 = new_dir(c1, p1["id"])
    f1 = new_file(c1, p1["id"])
    upload(c1, p1["id"], f1["id"], b"hello")
    k1 = new_task(c1, p1["id"])
    return {"t": t, "u1": u1, "u2": u2, "c1": c1, "c2": c2, "p1": p1,
            "ids": {"pid": p1["id"], "did": d1["id"], "fid": f1["id"],
                    "tid": k1["id"], "uid": u1["id"]}}


# ---------------------------------------------------------------- IAM-2

def test_iam2_member_sees_only_own_projects(team):
    """IAM-2 project scopes: a member lists only the projects they belong
    to; the creator is the owner; projects.all (tenant_admin) lists every
    project, with role null where the admin is no member."""
    c1, c2, admin = team["c1"], team["c2"], team["t"].admin
    p2 = new_project(c2)
    assert ids(c1.get("/api/v1/projects")) == [team["p1"]["id"]]
    assert ids(c2.get("/api/v1/projects")) == [p2["id"]]
    assert team["p1"]["role"] == "owner" and team["p1"]["created_by"] == team["u1"]["id"]
    listed = ok(admin.get("/api/v1/projects"))
    assert {x["id"] for x in listed["items"]} == {team["p1"]["id"], p2["id"]}
    assert all(x["role"] is None for x in listed["items"])
    assert listed["next_cursor"] is None
    # the admin manages any project through projects.all
    ok(admin.patch(f"/api/v1/projects/{p2['id']}", {"description": "by admin"}))
    ok(admin.get(f"/api/v1/projects/{team['p1']['id']}/members"))


def test_iam2_non_member_gets_404_on_every_project_route(team):
    """IAM-2/TEN-1: for a member of the tenant who is not a member of the
    project, every route under /projects/{pid} (from the route table)
    answers 404 with the same body as a project id that does not exist,
    and changes nothing."""
    c2 = team["c2"]
    real = team["ids"]
    assert len(PROJECT_ROUTES) >= 20, [r["pattern"] for r in PROJECT_ROUTES]
    for route in PROJECT_ROUTES:
        params = {p: real[p] for p in KIND if "{" + p + "}" in route["pattern"]}
        fake = dict(params, pid=random_id("prj"))
        body = valid_body(route)
        kw = {"data": b"x"} if body is None and route["method"] == "PUT" else {}
        r1 = c2.request(route["method"], fill_ids(route["pattern"], params), body, **kw)
        r2 = c2.request(route["method"], fill_ids(route["pattern"], fake), body, **kw)
        what = f"{route['method']} {route['pattern']}"
        expect_error(r1, 404, "not_found")
        assert r1.content == r2.content, f"{what}: {r1.content!r} vs {r2.content!r}"
    # nothing changed
    c1 = team["c1"]
    p = ok(c1.get(f"/api/v1/projects/{real['pid']}"))
    assert p["name"] == team["p1"]["name"] and p["description"] == "first"
    ok(c1.get(f"/api/v1/projects/{real['pid']}/files/{real['fid']}"))
    ok(c1.get(f"/api/v1/projects/{real['pid']}/tasks/{real['tid']}"))
    members = ok(c1.get(f"/api/v1/projects/{real['pid']}/members"))["items"]
    assert [m["user_id"] for m in members] == [team["u1"]["id"]]


def test_iam2_viewer_and_editor_rights(team):
    """IAM-2: a viewer reads but cannot write (403); an editor writes
    directories, files and tasks but cannot manage members, change or
    delete the project (403); members JSON shows ids and roles only."""
    c1, c2 = team["c1"], team["c2"]
    pid, u2 = team["ids"]["pid"], team["u2"]["id"]
    base = f"/api/v1/projects/{pid}"
    r = ok(c1.put(f"{base}/members/{u2}", {"role": "viewer"}), 201)
    assert r == {"user_id": u2, "role": "viewer", "added": r["added"]}
    assert ok(c2.get(base))["role"] == "viewer"
    assert ids(c2.get("/api/v1/projects")) == [pid]
    ok(c2.get(f"{base}/directories"))
    r = c2.get(f"{base}/files/{team['ids']['fid']}/content")
    assert r.status_code == 200 and r.content == b"hello", r.text
    ok(c2.get(f"{base}/tasks/{team['ids']['tid']}"))
    for method, path, body in (
            ("POST", f"{base}/directories", {"name": "v"}),
            ("POST", f"{base}/files", {"name": "v"}),
            ("POST", f"{base}/tasks", {"title": "v"}),
            ("PATCH", f"{base}/tasks/{team['ids']['tid']}", {"status": "done"}),
            ("DELETE", f"{base}/directories/{team['ids']['did']}", None),
            ("PATCH", base, {"description": "viewer"}),
            ("PUT", f"{base}/members/{u2}", {"role": "owner"})):
        expect_error(c2.request(method, path, body), 403, "forbidden")
    expect_error(c2.put(f"{base}/files/{team['ids']['fid']}/content", data=b"v"),
                 403, "forbidden")
    # editor
    ok(c1.put(f"{base}/members/{u2}", {"role": "editor"}), 200)
    new_dir(c2, pid)
    new_task(c2, pid)
    ok(c2.patch(f"{base}/tasks/{team['ids']['tid']}", {"status": "done"}))
    for method, path, body in (
            ("PUT", f"{base}/members/{u2}", {"role": "owner"}),
            ("PUT", f"{base}/members/{team['u1']['id']}", {"role": "viewer"}),
            ("DELETE", f"{base}/members/{team['u1']['id']}", None),
            ("PATCH", base, {"name": "editor"}),
            ("DELETE", base, None)):
        expect_error(c2.request(method, path, body), 403, "forbidden")
    members = ok(c2.get(f"{base}/members"))["items"]
    assert {m["user_id"]: m["role"] for m in members} == \
        {team["u1"]["id"]: "owner", u2: "editor"}
    for m in members:
        assert set(m) == {"user_id", "role", "added"}, m
    # removed: 404 again
    ok(c1.delete(f"{base}/members/{u2}"))
    expect_error(c2.get(base), 404, "not_found")


def test_iam2_member_rules(team):
    """IAM-2: the last owner cannot be demoted or removed (409 last_owner);
    unknown, other-tenant and disabled users answer 404; invited users can
    be added; a bad role is 400; a second owner lets the first leave."""
    t, c1 = team["t"], team["c1"]
    pid, u1, u2 = team["ids"]["pid"], team["u1"]["id"], team["u2"]["id"]
    base = f"/api/v1/projects/{pid}/members"
    expect_error(c1.put(f"{base}/{u1}", {"role": "editor"}), 409, "last_owner")
    expect_error(c1.delete(f"{base}/{u1}"), 409, "last_owner")
    expect_error(c1.put(f"{base}/{random_id('usr')}", {"role": "viewer"}), 404, "not_found")
    expect_error(c1.put(f"{base}/not-an-id", {"role": "viewer"}), 404, "not_found")
    expect_error(c1.delete(f"{base}/{u2}"), 404, "not_found")
    other = Tenant(t.srv)
    expect_error(c1.put(f"{base}/{other.admin_id}", {"role": "viewer"}), 404, "not_found")
    invited = t.invite(roles=["member"])
    ok(c1.put(f"{base}/{invited['id']}", {"role": "viewer"}), 201)
    u3 = t.add_user(roles=["member"])
    ok(t.admin.patch(f"/api/v1/users/{u3['id']}", {"status": "disabled"}))
    expect_error(c1.put(f"{base}/{u3['id']}", {"role": "viewer"}), 404, "not_found")
    for bad in ({"role": "admin"}, {"role": ""}, {}, {"role": 3},
                {"role": "viewer", "extra": 1}):
        r = c1.put(f"{base}/{u2}", bad)
        assert r.status_code == 400, f"{bad}: {r.status_code} {r.text}"
    ok(c1.put(f"{base}/{u2}", {"role": "owner"}), 201)
    ok(c1.put(f"{base}/{u1}", {"role": "viewer"}))
    expect_error(team["c2"].delete(f"{base}/{u2}"), 409, "last_owner")
    ok(team["c2"].delete(f"{base}/{u1}"))
    expect_error(c1.get(f"/api/v1/projects/{pid}"), 404, "not_found")


def test_iam2_project_names_and_fields(team):
    """DAT-1/IAM-2: project names are unique per tenant (also across
    case, 409 name_taken), follow the name rules (400), a body naming a
    tenant is refused; PATCH renames, changes the description and labels;
    the owner deletes it."""
    c1, c2 = team["c1"], team["c2"]
    name = team["p1"]["name"]
    expect_error(c2.post("/api/v1/projects", {"name": name}), 409, "name_taken")
    expect_error(c2.post("/api/v1/projects", {"name": name.upper()}), 409, "name_taken")
    for bad in ({"name": ""}, {"name": "a/b"}, {"name": ".."}, {"name": "x" * 256},
                {"name": "a\x01b"}, {}, {"name": "ok", "tenant_id": "ten_x"},
                {"name": "ok", "description": "\x00"}, {"name": "ok", "labels": "x"},
                {"name": "ok", "description": "d" * 8193}):
        r = c1.post("/api/v1/projects", bad)
        assert r.status_code == 400, f"{bad}: {r.status_code} {r.text}"
    p = new_project(c1, description="line one\nline two", labels=["a"])
    assert p["description"] == "line one\nline two" and p["labels"] == ["a"]
    r = ok(c1.patch(f"/api/v1/projects/{p['id']}", {"name": "renamed " + p["name"],
                                                     "description": None,
                                                     "labels": ["b", "c"]}))
    assert r["name"] == "renamed " + p["name"] and r["description"] == "" and \
        r["labels"] == ["b", "c"]
    expect_error(c1.patch(f"/api/v1/projects/{p['id']}", {"name": name}), 409, "name_taken")
    ok(c1.delete(f"/api/v1/projects/{p['id']}"))
    expect_error(c1.get(f"/api/v1/projects/{p['id']}"), 404, "not_found")
    # the name is free again
    new_project(c1, name="renamed " + p["name"])


def test_iam2_list_paging(srv):
    """Every list is paginated: limit and next_cursor walk all projects
    once; a bad limit or cursor is 400."""
    t = Tenant(srv)
    made = sorted(new_project(t.admin)["id"] for _ in range(5))
    seen, cursor = [], None
    while True:
        q = "/api/v1/projects?limit=2" + (f"&cursor={cursor}" if cursor else "")
        doc = ok(t.admin.get(q))
        assert len(doc["items"]) <= 2
        seen += [x["id"] for x in doc["items"]]
        cursor = doc["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    for q in ("limit=0", "limit=201", "limit=x", "cursor=usr_" + "0" * 32, "cursor=x"):
        expect_error(t.admin.get(f"/api/v1/projects?{q}"), 400, "invalid_field")


def test_iam2_workspace_lists_paging_with_label_filter(srv):
    """Directories, files and tasks page the same way as projects: limit
    and next_cursor walk every item once, also under ?label=, and a bad
    limit or cursor is 400 naming it."""
    t = Tenant(srv)
    pid = new_project(t.admin)["id"]
    base = f"/api/v1/projects/{pid}"
    makers = {"directories": (lambda **kw: new_dir(t.admin, pid, **kw), "dir"),
              "files": (lambda **kw: new_file(t.admin, pid, **kw), "fil"),
              "tasks": (lambda **kw: new_task(t.admin, pid, **kw), "tsk")}
    for kind, (make, prefix) in makers.items():
        tagged = sorted(make(labels=["pick"])["id"] for _ in range(5))
        others = [make(labels=["other"])["id"] for _ in range(2)]
        for label, want in (("pick", tagged), (None, sorted(tagged + others))):
            seen, cursor = [], None
            while True:
                q = f"{base}/{kind}?limit=2" + (f"&label={label}" if label else "") + \
                    (f"&cursor={cursor}" if cursor else "")
                doc = ok(t.admin.get(q))
                assert len(doc["items"]) <= 2
                seen += [x["id"] for x in doc["items"]]
                cursor = doc["next_cursor"]
                if cursor is None:
                    break
            assert seen == want, (kind, label)
        for q, field in (("limit=0", "limit"), ("limit=201", "limit"),
                         ("cursor=prj_" + "0" * 32, "cursor"), ("cursor=x", "cursor")):
            r = t.admin.get(f"{base}/{kind}?{q}")
            expect_error(r, 400, "invalid_field")
            assert field in r.json()["error"]["message"], (kind, q, r.text)
        assert prefix in tagged[0]


# ---------------------------------------------------------------- DAT-1

def test_dat1_labels_on_every_resource_and_filter(team):
    """DAT-1: projects, directories, files and tasks carry free labels, and
    every list filters by ?label= (exact, case-insensitive); labels are
    validated (400)."""
    c1 = team["c1"]
    lab = uniq("lab")
    p = new_project(c1, labels=[lab, "common"])
    pid = p["id"]
    new_project(c1, labels=["common"])
    assert ids(c1.get(f"/api/v1/projects?label={lab}")) == [pid]
    assert ids(c1.get(f"/api/v1/projects?label={lab.upper()}")) == [pid]
    assert len(ids(c1.get("/api/v1/projects?label=common"))) == 2
    assert ids(c1.get("/api/v1/projects?label=nothing-here")) == []
    base = f"/api/v1/projects/{pid}"
    d = new_dir(c1, pid, labels=[lab])
    new_dir(c1, pid, labels=["other"])
    assert ids(c1.get(f"{base}/directories?label={lab}")) == [d["id"]]
    f = new_file(c1, pid, labels=[lab])
    new_file(c1, pid)
    assert ids(c1.get(f"{base}/files?label={lab}")) == [f["id"]]
    k = new_task(c1, pid, labels=[lab])
    new_task(c1, pid, labels=["x"])
    assert ids(c1.get(f"{base}/tasks?label={lab}")) == [k["id"]]
    # relabel: the filter follows
    ok(c1.patch(f"{base}/directories/{d['id']}", {"labels": ["moved"]}))
    assert ids(c1.get(f"{base}/directories?label={lab}")) == []
    assert ids(c1.get(f"{base}/directories?label=moved")) == [d["id"]]
    ok(c1.patch(f"{base}/tasks/{k['id']}", {"labels": []}))
    assert ids(c1.get(f"{base}/tasks?label={lab}")) == []
    ok(c1.patch(base, {"labels": ["z"]}))
    assert ids(c1.get(f"/api/v1/projects?label={lab}")) == []
    for bad in ([""], ["x" * 65], "x", [1], ["a\x01"], ["l"] * 33):
        r = c1.post(f"{base}/directories", {"name": uniq(), "labels": bad})
        assert r.status_code == 400, f"{bad}: {r.text}"
        r = c1.post(f"{base}/tasks", {"title": "t", "labels": bad})
        assert r.status_code == 400, f"{bad}: {r.text}"
    expect_error(c1.get(f"{base}/tasks?label="), 400, "invalid_field")


# ---------------------------------------------------------------- DAT-2

def test_dat2_directory_tree(team):
    """DAT-2: create a tree, list children of the root and of a directory,
    rename, move, refuse cycles (409 cycle), refuse deleting a non-empty
    directory without recursive=true (409 not_empty), delete recursively
    (everything below goes, usage is given back)."""
    c1, admin = team["c1"], team["t"].admin
    pid = new_project(c1)["id"]
    base = f"/api/v1/projects/{pid}/directories"
    a = new_dir(c1, pid, "a")
    b = new_dir(c1, pid, "b", parent=a["id"])
    c = new_dir(c1, pid, "c", parent=b["id"])
    assert a["parent_id"] is None and b["parent_id"] == a["id"]
    assert ids(c1.get(base)) == [a["id"]]
    assert ids(c1.get(f"{base}?parent_id={a['id']}")) == [b["id"]]
    assert ids(c1.get(f"{base}?parent_id={b['id']}")) == [c["id"]]
    expect_error(c1.get(f"{base}?parent_id=nope"), 400, "invalid_field")
    assert ok(c1.get(f"{base}/{c['id']}"))["name"] == "c"
    # rename and move
    r = ok(c1.patch(f"{base}/{b['id']}", {"name": "b2"}))
    assert r["name"] == "b2" and r["parent_id"] == a["id"]
    r = ok(c1.patch(f"{base}/{c['id']}", {"parent_id": None}))
    assert r["parent_id"] is None
    assert sorted(ids(c1.get(base))) == sorted([a["id"], c["id"]])
    ok(c1.patch(f"{base}/{c['id']}", {"parent_id": b["id"], "name": "c2"}))
    assert ids(c1.get(f"{base}?parent_id={b['id']}")) == [c["id"]]
    # cycles
    expect_error(c1.patch(f"{base}/{a['id']}", {"parent_id": a["id"]}), 409, "cycle")
    expect_error(c1.patch(f"{base}/{a['id']}", {"parent_id": b["id"]}), 409, "cycle")
    expect_error(c1.patch(f"{base}/{a['id']}", {"parent_id": c["id"]}), 409, "cycle")
    expect_error(c1.patch(f"{base}/{a['id']}", {"parent_id": random_id("dir")}),
                 400, "invalid_field")
    assert ok(c1.get(f"{base}/{a['id']}"))["parent_id"] is None
    # a parent from another project is not a directory here
    other = new_project(c1)["id"]
    od = new_dir(c1, other)
    expect_error(c1.post(base, {"name": "x", "parent_id": od["id"]}), 400, "invalid_field")
    expect_error(c1.get(f"{base}/{od['id']}"), 404, "not_found")
    # files deep in the tree
    before = ok(admin.get("/api/v1/usage"))
    f = new_file(c1, pid, directory=c["id"])
    upload(c1, pid, f["id"], b"x" * 1000)
    upload(c1, pid, f["id"], b"y" * 500)
    f2 = new_file(c1, pid, directory=b["id"])
    mid = ok(admin.get("/api/v1/usage"))
    assert mid["bytes"] == before["bytes"] + 1500 and mid["files"] == before["files"] + 2
    expect_error(c1.delete(f"{base}/{a['id']}"), 409, "not_empty")
    expect_error(c1.delete(f"{base}/{a['id']}?recursive=false"), 409, "not_empty")
    expect_error(c1.delete(f"{base}/{a['id']}?recursive=maybe"), 400, "invalid_field")
    empty = new_dir(c1, pid)
    ok(c1.delete(f"{base}/{empty['id']}"))
    r = ok(c1.delete(f"{base}/{a['id']}?recursive=true"))
    assert r["files_removed"] == 2 and r["bytes_removed"] == 1500
    for gone in (a, b, c):
        expect_error(c1.get(f"{base}/{gone['id']}"), 404, "not_found")
    for gone in (f, f2):
        expect_error(c1.get(f"/api/v1/projects/{pid}/files/{gone['id']}"), 404, "not_found")
    assert ids(c1.get(base)) == []
    after = ok(admin.get("/api/v1/usage"))
    assert after["bytes"] == before["bytes"] and after["files"] == before["files"]


def test_dat2_project_delete_gives_usage_back(team):
    """DAT-2: deleting a project removes everything in it and gives back
    its bytes and file count; its content files are gone from disk."""
    c1, admin, srv = team["c1"], team["t"].admin, team["t"].srv
    before = ok(admin.get("/api/v1/usage"))
    blobs_before = {p for p in srv.data_dir.rglob("*") if p.is_file()}
    pid = new_project(c1)["id"]
    d = new_dir(c1, pid)
    f = new_file(c1, pid, directory=d["id"])
    upload(c1, pid, f["id"], b"z" * 4096)
    g = new_file(c1, pid)
    upload(c1, pid, g["id"], b"w" * 100)
    new_task(c1, pid, file_ids=[f["id"], g["id"]])
    mid = ok(admin.get("/api/v1/usage"))
    assert mid["bytes"] == before["bytes"] + 4196 and mid["files"] == before["files"] + 2
    ok(c1.delete(f"/api/v1/projects/{pid}"))
    after = ok(admin.get("/api/v1/usage"))
    assert (after["bytes"], after["files"]) == (before["bytes"], before["files"])
    expect_error(c1.get(f"/api/v1/projects/{pid}/tasks"), 404, "not_found")
    blobs_after = {p for p in srv.data_dir.rglob("*") if p.is_file() and "blobs" in p.parts}
    assert not (blobs_after - blobs_before), blobs_after - blobs_before


def test_dat2_tasks(team):
    """DAT-2: tasks with title, description, status, assignee (a project
    member), due (RFC 3339, shown in the tenant's zone) and file links
    (files of the same project); list filters by status, assignee and
    label; PATCH replaces links and clears fields; bad input is 400."""
    c1 = team["c1"]
    pid, u1, u2 = team["ids"]["pid"], team["u1"]["id"], team["u2"]["id"]
    base = f"/api/v1/projects/{pid}/tasks"
    f1, f2 = team["ids"]["fid"], new_file(c1, pid)["id"]
    k = new_task(c1, pid, title="Write report", description="two\nlines",
                 status="in_progress", assignee_id=u1, due="2030-01-02T03:04:05Z",
                 labels=["q1"], file_ids=[f1, f2])
    assert k["status"] == "in_progress" and k["assignee_id"] == u1
    assert k["due"].startswith("2030-01-02T12:04:05") and k["due"].endswith("+09:00")
    assert sorted(k["file_ids"]) == sorted([f1, f2])
    assert k["description"] == "two\nlines" and k["labels"] == ["q1"]
    got = ok(c1.get(f"{base}/{k['id']}"))
    assert got == k
    plain = new_task(c1, pid)
    assert plain["status"] == "open" and plain["assignee_id"] is None and \
        plain["due"] is None and plain["file_ids"] == [] and plain["description"] == ""
    assert ids(c1.get(f"{base}?status=in_progress")) == [k["id"]]
    assert k["id"] not in ids(c1.get(f"{base}?status=open"))
    assert ids(c1.get(f"{base}?assignee_id={u1}")) == [k["id"]]
    assert ids(c1.get(f"{base}?assignee_id={u2}")) == []
    assert ids(c1.get(f"{base}?label=q1&status=in_progress")) == [k["id"]]
    expect_error(c1.get(f"{base}?status=closed"), 400, "invalid_field")
    expect_error(c1.get(f"{base}?assignee_id=bob"), 400, "invalid_field")
    # the assignee must be a member
    expect_error(c1.post(base, {"title": "t", "assignee_id": u2}), 400, "invalid_field")
    ok(c1.put(f"/api/v1/projects/{pid}/members/{u2}", {"role": "viewer"}), 201)
    k2 = new_task(c1, pid, assignee_id=u2, due="2030-06-01T00:00:00.5+02:00")
    assert k2["due"].startswith("2030-06-01T07:00:00.500000")
    # links: files of this project only, once each
    other = new_project(c1)["id"]
    of = new_file(c1, other)["id"]
    for bad in ({"title": ""}, {"title": "x" * 256}, {"title": "a\nb"},
                {"title": "t", "status": "closed"}, {"title": "t", "due": "tomorrow"},
                {"title": "t", "due": "2030-02-30T00:00:00Z"},
                {"title": "t", "due": "2030-01-01T00:00:00"},
                {"title": "t", "due": 5}, {"title": "t", "file_ids": [of]},
                {"title": "t", "file_ids": [f1, f1]}, {"title": "t", "file_ids": f1},
                {"title": "t", "file_ids": ["fil_x"]},
                {"title": "t", "file_ids": [random_id("fil")]},
                {"title": "t", "assignee_id": random_id("usr")},
                {"title": "t", "description": "a\x02"}, {"title": "t", "nope": 1}):
        r = c1.post(base, bad)
        assert r.status_code == 400, f"{bad}: {r.status_code} {r.text}"
    # PATCH
    r = ok(c1.patch(f"{base}/{k['id']}", {"status": "done", "file_ids": [f2],
                                          "assignee_id": None, "due": None,
                                          "description": None, "title": "Done"}))
    assert r["status"] == "done" and r["file_ids"] == [f2] and r["assignee_id"] is None \
        and r["due"] is None and r["description"] == "" and r["title"] == "Done"
    assert r["labels"] == ["q1"]
    r = ok(c1.patch(f"{base}/{k['id']}", {"file_ids": []}))
    assert r["file_ids"] == []
    expect_error(c1.patch(f"{base}/{k['id']}", {"status": "x"}), 400, "invalid_field")
    # a linked file that is deleted drops out of the links
    ok(c1.patch(f"{base}/{k['id']}", {"file_ids": [f2]}))
    ok(c1.delete(f"/api/v1/projects/{pid}/files/{f2}"))
    assert ok(c1.get(f"{base}/{k['id']}"))["file_ids"] == []
    # a task id of another project is not found here
    ot = new_task(c1, other)
    expect_error(c1.get(f"{base}/{ot['id']}"), 404, "not_found")
    expect_error(c1.delete(f"{base}/{ot['id']}"), 404, "not_found")
    ok(c1.delete(f"{base}/{k['id']}"))
    expect_error(c1.get(f"{base}/{k['id']}"), 404, "not_found")


# ---------------------------------------------------------------- bad names

BAD_NAMES = ["", ".", "..", "a/b", "/", "a\\b", "a\x01b", "tab\there", "nl\n",
             "\x7f", "\u0085", "x" * 256, "\u3042" * 86]   # 258 bytes


def test_dat2_bad_names_refused(team):
    """DAT-2 bad input: names with "/", "\\", "." or "..", control
    characters or over 255 bytes are refused with 400 for directories and
    files (create and rename); 255 bytes of UTF-8 are fine; invalid UTF-8
    in the body is 400."""
    c1 = team["c1"]
    pid = team["ids"]["pid"]
    base = f"/api/v1/projects/{pid}"
    did, fid = team["ids"]["did"], team["ids"]["fid"]
    for name in BAD_NAMES + [5, None, ["a"]]:
        for method, path in (("POST", f"{base}/directories"), ("POST", f"{base}/files"),
                             ("PATCH", f"{base}/directories/{did}"),
                             ("PATCH", f"{base}/files/{fid}")):
            if name is None and method == "PATCH":
                continue       # null leaves the name as it is
            r = c1.request(method, path, {"name": name})
            assert r.status_code == 400 and error_code(r) == "invalid_field", \
                f"{method} {path} {name!r}: {r.status_code} {r.text}"
    new_dir(c1, pid, "x" * 255)
    new_dir(c1, pid, "\u3042" * 85)          # 255 bytes
    new_file(c1, pid, "..hidden. name (1).txt")
    for path in (f"{base}/directories", f"{base}/files", "/api/v1/projects"):
        r = c1.post(path, data=b'{"name":"bad\xff\xfe"}',
                    headers={"Content-Type": "application/json"})
        assert r.status_code == 400, f"{path}: {r.status_code} {r.text}"


def test_dat2_duplicate_names_conflict(team):
    """DAT-2: names are unique among the siblings of a directory, files
    and directories together (409 name_taken), on create, rename and move;
    the same name in another directory is fine; names are case-sensitive."""
    c1 = team["c1"]
    pid = new_project(c1)["id"]
    base = f"/api/v1/projects/{pid}"
    d = new_dir(c1, pid, "docs")
    f = new_file(c1, pid, "notes.txt")
    expect_error(c1.post(f"{base}/directories", {"name": "docs"}), 409, "name_taken")
    expect_error(c1.post(f"{base}/files", {"name": "docs"}), 409, "name_taken")
    expect_error(c1.post(f"{base}/directories", {"name": "notes.txt"}), 409, "name_taken")
    new_dir(c1, pid, "Docs")
    inner = new_dir(c1, pid, "docs", parent=d["id"])
    new_file(c1, pid, "notes.txt", directory=d["id"])
    expect_error(c1.patch(f"{base}/directories/{inner['id']}", {"parent_id": None}),
                 409, "name_taken")
    other = new_dir(c1, pid, "other")
    expect_error(c1.patch(f"{base}/directories/{other['id']}", {"name": "notes.txt"}),
                 409, "name_taken")
    expect_error(c1.patch(f"{base}/files/{f['id']}", {"name": "docs"}), 409, "name_taken")
    # freed names can be taken again
    ok(c1.patch(f"{base}/directories/{other['id']}", {"name": "other2"}))
    new_dir(c1, pid, "other")


# ---------------------------------------------------------------- CRY-1

def test_cry1_workspace_names_encrypted_at_rest(tmp_path):
    """CRY-1: project names and descriptions, directory names, task titles
    and descriptions and the labels of each, written with a random canary,
    are not found by a byte search of the data directory (database, WAL,
    content files) while running and after the server stops; CRY-4: the
    API shows them decrypted."""
    srv = KuraServer(tmp_path / "canary", settings=FAST_ARGON)
    srv.start()
    try:
        t = Tenant(srv)
        c = t.admin
        can = {k: f"{k}{secrets.token_hex(12)}" for k in (
            "project", "pdesc", "plabel", "dirname", "dlabel", "title", "tdesc",
            "tlabel", "filename", "flabel")}
        p = new_project(c, name=can["project"], description=can["pdesc"],
                        labels=[can["plabel"]])
        pid = p["id"]
        d = new_dir(c, pid, can["dirname"], labels=[can["dlabel"]])
        f = new_file(c, pid, can["filename"], directory=d["id"], labels=[can["flabel"]])
        k = new_task(c, pid, title=can["title"], description=can["tdesc"],
                     labels=[can["tlabel"]], file_ids=[f["id"]])
        # renamed copies too
        ok(c.patch(f"/api/v1/projects/{pid}/directories/{d['id']}",
                   {"name": can["dirname"] + "r"}))
        # shown decrypted
        assert ok(c.get(f"/api/v1/projects/{pid}"))["name"] == can["project"]
        assert ok(c.get(f"/api/v1/projects/{pid}/tasks/{k['id']}"))["title"] == can["title"]
        assert ids(c.get(f"/api/v1/projects?label={can['plabel']}")) == [pid]
        needles = {label: encodings(v) for label, v in can.items()}
        hits = find_bytes(srv.data_dir, needles)
        assert not hits, f"plaintext on disk (running): {hits}"
        assert srv.stop() == 0
        hits = find_bytes(srv.data_dir, needles)
        assert not hits, f"plaintext on disk (stopped): {hits}"
        log = srv.log_path.read_bytes()
        assert not [k for k, v in needles.items() if any(x in log for x in v)]
    finally:
        srv.close()


# ---------------------------------------------------------------- usage, quota

def test_usage_and_tenant_quota(srv):
    """Quotas: GET /usage shows a tenant admin the bytes and files used and
    the quota (settings.read; a member gets 403); `kura tenant quota` sets
    it (by id or contract id, audited as tenant.quota in the tenant's log);
    over the file quota creation is 409 quota_exceeded, over the byte quota
    upload is 413; bad arguments exit 2."""
    t = Tenant(srv)
    u = t.add_user(roles=["member"])
    cu = t.login(u["login"], u["password"])
    use = ok(t.admin.get("/api/v1/usage"))
    assert use == {"bytes": 0, "files": 0, "max_bytes": 5 << 30, "max_files": 100000}
    expect_error(cu.get("/api/v1/usage"), 403, "forbidden")
    pid = new_project(cu)["id"]
    f = new_file(cu, pid)
    upload(cu, pid, f["id"], b"a" * 300)
    assert ok(t.admin.get("/api/v1/usage"))["bytes"] == 300
    p = srv.cli("tenant", "quota", t.contract_id, "--max-bytes", "1000", "--max-files", "2")
    assert t.tenant_id in p.stdout
    use = ok(t.admin.get("/api/v1/usage"))
    assert use == {"bytes": 300, "files": 1, "max_bytes": 1000, "max_files": 2}
    g = new_file(cu, pid)
    expect_error(cu.post(f"/api/v1/projects/{pid}/files", {"name": uniq()}), 409,
                 "quota_exceeded")
    r = cu.put(f"/api/v1/projects/{pid}/files/{g['id']}/content", data=b"b" * 800)
    expect_error(r, 413, "quota_exceeded")
    upload(cu, pid, g["id"], b"b" * 700)
    assert ok(t.admin.get("/api/v1/usage"))["bytes"] == 1000
    srv.cli("tenant", "quota", t.tenant_id, "--max-bytes", str(10 << 20),
            "--max-files", "50")
    new_file(cu, pid)
    for args in ((), ("--max-bytes", "1"), ("--max-files", "1"),
                 ("--max-bytes", "-1", "--max-files", "1"),
                 ("--max-bytes", "x", "--max-files", "1"),
                 ("--max-bytes", "1", "--max-files", str(1 << 63))):
        p = srv.cli("tenant", "quota", t.tenant_id, *args, check=False)
        assert p.returncode == 2, f"{args}: {p.returncode} {p.stderr}"
    p = srv.cli("tenant", "quota", "no-such-tenant", "--max-bytes", "1",
                "--max-files", "1", check=False)
    assert p.returncode == 1
    deadline = time.monotonic() + 5
    while True:
        ev = ok(t.admin.get("/api/v1/audit-events?action=tenant.quota"))["items"]
        if len(ev) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(ev) == 2, ev
    assert ok(t.admin.get("/api/v1/usage"))["max_files"] == 50
