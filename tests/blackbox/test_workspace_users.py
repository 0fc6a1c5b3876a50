"""Users and the workspace together (IAM-1, DAT-2, IAM-4)."""
from identity_helpers import Tenant, FAST_ARGON
from kura_fixture import KuraServer


def test_iam1_deleting_an_assignee_keeps_the_task(tmp_path):
    """IAM-1/DAT-2: a user who is a project member and a task's assignee
    can be deleted; the task stays, unassigned."""
    srv = KuraServer(tmp_path / "srv", settings=FAST_ARGON)
    srv.start()
    try:
        t = Tenant(srv)
        u = t.add_user(roles=["member"])
        pid = t.admin.post("/api/v1/projects", {"name": "p"}).json()["id"]
        r = t.admin.put(f"/api/v1/projects/{pid}/members/{u['id']}", {"role": "editor"})
        assert r.status_code in (200, 201), r.text
        r = t.admin.post(f"/api/v1/projects/{pid}/tasks",
                         {"title": "review", "assignee_id": u["id"]})
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        r = t.admin.delete(f"/api/v1/users/{u['id']}")
        assert r.status_code == 200, r.text
        task = t.admin.get(f"/api/v1/projects/{pid}/tasks/{tid}")
        assert task.status_code == 200, task.text
        assert task.json()["assignee_id"] in (None, "")
        members = t.admin.get(f"/api/v1/projects/{pid}/members").json()["items"]
        assert u["id"] not in [m["user_id"] for m in members]
    finally:
        srv.close()


def test_iam4_access_review_lists_project_access(tmp_path):
    """IAM-4: the access review shows each user's project memberships with
    their project role, in JSON and CSV."""
    import csv
    import io
    srv = KuraServer(tmp_path / "srv", settings=FAST_ARGON)
    srv.start()
    try:
        t = Tenant(srv)
        u = t.add_user(roles=["member"])
        pid = t.admin.post("/api/v1/projects", {"name": "review-me"}).json()["id"]
        assert t.admin.put(f"/api/v1/projects/{pid}/members/{u['id']}",
                           {"role": "viewer"}).status_code in (200, 201)
        rows = {r["id"]: r for r in t.admin.get("/api/v1/access-review").json()["items"]}
        assert rows[u["id"]]["projects"] == [f"{pid}:viewer"]
        assert rows[t.admin_id]["projects"] == [f"{pid}:owner"]
        text = t.admin.get("/api/v1/access-review?format=csv").text.lstrip("\ufeff")
        table = list(csv.DictReader(io.StringIO(text)))
        mine = [r for r in table if r["id"] == u["id"]][0]
        assert mine["projects"] == f"{pid}:viewer"
    finally:
        srv.close()
