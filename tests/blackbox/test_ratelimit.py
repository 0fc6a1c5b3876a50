"""
MON-3: rate limits (token buckets) per source address, per user or API
token and per tenant, from kura.ini; 429 with Retry-After and a JSON error;
blocking of an address after repeated refusals; refusals audited without
flooding the log.

Everything runs against a server on loopback with small limits set in its
kura.ini; waits are bounded by the (short) refill and block times.
"""
import json
import sqlite3
import time

from identity_helpers import FAST_ARGON, Api, Tenant
from kura_fixture import assert_json_error
from test_metrics import get, parse_prom

ME = "/api/v1/me"


def limits(**kw) -> dict:
    """FAST_ARGON plus [ratelimit] settings."""
    s = dict(FAST_ARGON)
    for k, v in kw.items():
        s[("ratelimit", k)] = str(v)
    return s


def burst(session, url, n, headers=None):
    return [session.get(url, headers=headers or {}, timeout=30) for _ in range(n)]


def assert_429(r, code):
    assert_json_error(r, 429, code)
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and int(ra) >= 1, r.headers
    return int(ra)


def db_rows(srv, sql, args=()):
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def metrics(srv):
    """Scraped from ::1: another source address than the tests' 127.0.0.1,
    so the scrape is not itself limited or blocked."""
    r = srv.session().get(srv.url("/metrics", v6=True), timeout=30)
    assert r.status_code == 200, r.text
    return parse_prom(r.text)[1]


def make_token(c: Api, name: str) -> str:
    r = c.post("/api/v1/tokens", {"name": name, "permissions": ["users.read"],
                                  "expires_in_days": 1})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def bearer(srv, token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_mon3_per_address_limit(kura_factory):
    """MON-3: per_address_rate 5, burst 5: a burst of 20 requests from one
    address gets 429 rate_limited with Retry-After (the JSON error shape);
    probes are exempt from the limit; after the refill time requests pass
    again."""
    srv = kura_factory(settings=limits(per_address_rate=5, per_address_burst=5,
                                       block_after=1000))
    s = srv.session()
    rs = burst(s, srv.url(ME), 20)
    statuses = [r.status_code for r in rs]
    assert statuses.count(401) >= 5 and statuses.count(429) >= 10, statuses
    assert set(statuses) <= {401, 429}, statuses
    for r in rs:
        if r.status_code == 429:
            assert assert_429(r, "rate_limited") == 1   # 0.2 s, rounded up
    # probes still answer while the address is limited
    assert s.get(srv.url("/healthz")).status_code == 200
    assert s.get(srv.url("/readyz")).status_code == 200
    # a not-found path is limited too (scanners)
    assert_429(s.get(srv.url("/no/such/path")), "rate_limited")
    time.sleep(1.2)     # a full bucket: 5 tokens at 5/s
    rs = burst(s, srv.url(ME), 5)
    assert [r.status_code for r in rs] == [401] * 5
    # the other address family is another source address
    r = s.get(srv.url(ME, v6=True))
    assert r.status_code == 401
    m = metrics(srv)
    assert get(m, "kura_ratelimit_refusals_total", scope="address") >= 11


def test_mon3_per_user_and_per_token_limit(kura_factory):
    """MON-3: per_user_rate 1, burst 4: one API token is refused after its
    burst while a second token and another user of the same tenant go on
    (each has its own bucket)."""
    srv = kura_factory(settings=limits(per_user_rate=1, per_user_burst=4))
    t = Tenant(srv)
    other = t.add_user(roles=["tenant_admin"])
    other_api = t.login(other["login"], other["password"])
    tok_a = make_token(t.admin, "a")
    tok_b = make_token(t.admin, "b")
    tok_c = make_token(other_api, "c")
    s = srv.session()
    rs = burst(s, srv.url(ME), 8, bearer(srv, tok_a))
    statuses = [r.status_code for r in rs]
    assert statuses[:4] == [200] * 4 and statuses.count(429) >= 3, statuses
    for r in rs:
        if r.status_code == 429:
            assert_429(r, "rate_limited")
    assert [r.status_code for r in burst(s, srv.url(ME), 3, bearer(srv, tok_b))] \
        == [200] * 3
    assert [r.status_code for r in burst(s, srv.url(ME), 3, bearer(srv, tok_c))] \
        == [200] * 3
    m = metrics(srv)
    assert get(m, "kura_ratelimit_refusals_total", scope="user") >= 3
    assert get(m, "kura_ratelimit_refusals_total", scope="tenant") == 0
    # the refusal record names who was refused (first one of the minute)
    rows = db_rows(srv, "SELECT actor_type, actor_id, tenant_id, detail FROM "
                   "audit_events WHERE status = 429")
    assert rows, "no record of the refusal"
    actor_type, actor_id, tenant_id, detail = rows[0]
    assert (actor_type, tenant_id) == ("token", t.tenant_id)
    assert actor_id.startswith("tok_")
    d = json.loads(detail)
    assert d["error"] == "rate_limited" and d["ratelimit"] == "user"
    assert tok_a not in detail


def test_mon3_per_tenant_limit(kura_factory):
    """MON-3: per_tenant_rate 1, burst 6: the tenant's users together are
    refused once the tenant's bucket is empty (even with user buckets
    left); another tenant is not affected."""
    srv = kura_factory(settings=limits(per_tenant_rate=1, per_tenant_burst=6))
    ta = Tenant(srv)
    tb = Tenant(srv)
    tok_a1 = make_token(ta.admin, "a1")
    tok_a2 = make_token(ta.admin, "a2")
    tok_b = make_token(tb.admin, "b")
    s = srv.session()
    # ta spent 2 on token creation; 4 left (+ refill of 1/s)
    statuses = [r.status_code for r in burst(s, srv.url(ME), 3, bearer(srv, tok_a1))]
    statuses += [r.status_code for r in burst(s, srv.url(ME), 6, bearer(srv, tok_a2))]
    assert statuses.count(200) <= 6 and statuses.count(429) >= 3, statuses
    r = s.get(srv.url(ME), headers=bearer(srv, tok_a2))
    assert_429(r, "rate_limited")
    assert [r.status_code for r in burst(s, srv.url(ME), 3, bearer(srv, tok_b))] \
        == [200] * 3
    m = metrics(srv)
    assert get(m, "kura_ratelimit_refusals_total", scope="tenant") >= 3


def test_mon3_block_after_repeated_refusals(kura_factory):
    """MON-3: more than block_after (3) refusals within a minute block the
    address for block_s (2) seconds: every request, valid ones and probes
    too, gets 429 blocked with Retry-After = time left; afterwards requests
    pass again; the block is an audit record of its own."""
    srv = kura_factory(settings=limits(per_address_rate=2, per_address_burst=2,
                                       block_after=3, block_s=2))
    t = Tenant(srv)   # sign-in and setup before the test's own burst
    time.sleep(1.1)
    s = srv.session()
    rs = burst(s, srv.url(ME), 7)
    codes = [r.json().get("error", {}).get("code") if r.status_code != 200 else None
             for r in rs]
    assert "blocked" in codes, codes
    blocked_at = codes.index("blocked")
    assert codes[blocked_at:] == ["blocked"] * (len(codes) - blocked_at), codes
    assert 1 <= assert_429(rs[-1], "blocked") <= 2
    # valid requests (a signed-in session) and probes are refused too
    ra = assert_429(t.admin.me(), "blocked")
    assert 1 <= ra <= 2
    assert_429(s.get(srv.url("/healthz")), "blocked")
    m = metrics(srv)
    assert get(m, "kura_ratelimit_blocked_addresses") == 1
    time.sleep(ra + 0.3)
    assert s.get(srv.url("/healthz")).status_code == 200
    assert t.admin.me().status_code == 200
    m = metrics(srv)
    assert get(m, "kura_ratelimit_refusals_total", scope="blocked") == \
        codes.count("blocked") + 2
    assert get(m, "kura_ratelimit_blocked_addresses") == 0
    rows = db_rows(srv, "SELECT source_ip, outcome, status, detail FROM "
                   "audit_events WHERE action = 'ratelimit.block'")
    assert len(rows) == 1, rows
    ip, outcome, status, detail = rows[0]
    d = json.loads(detail)
    assert (ip, outcome, status) == ("127.0.0.1", "denied", 429)
    assert d["block_s"] == 2 and d["refusals"] == 4


def test_mon3_refusals_audited_without_flooding(kura_factory):
    """MON-3/LOG-1: 60 requests against a limit of 1/s: the first refusal
    of the minute has its own record, the others are counted into one
    ratelimit.summary record (written at the latest at shutdown), so the
    log holds a handful of records, and the numbers add up."""
    srv = kura_factory(settings=limits(per_address_rate=1, per_address_burst=1,
                                       block_after=1000))
    s = srv.session()
    rs = burst(s, srv.url(ME), 60)
    refused = sum(r.status_code == 429 for r in rs)
    assert refused >= 50, [r.status_code for r in rs]
    for r in rs:
        if r.status_code == 429:
            assert_429(r, "rate_limited")
    own = db_rows(srv, "SELECT detail FROM audit_events WHERE status = 429 "
                  "AND action NOT LIKE 'ratelimit.%'")
    assert 1 <= len(own) <= 3, len(own)
    for (detail,) in own:
        d = json.loads(detail)
        assert d["error"] == "rate_limited" and d["ratelimit"] == "address"
    srv.stop()
    summary = db_rows(srv, "SELECT source_ip, actor_type, status, detail FROM "
                      "audit_events WHERE action = 'ratelimit.summary'")
    assert summary, "no summary record"
    counted = sum(json.loads(d)["refusals"] for _, _, _, d in summary)
    assert all(ip == "127.0.0.1" and st == 429 for ip, _, st, _ in summary)
    assert len(own) + counted == refused
    assert len(summary) <= 2
    # and the chain still verifies with the summaries in it
    out = srv.cli("audit", "verify")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mon3_limits_are_settings(kura_factory):
    """MON-3: the limits come from kura.ini; out-of-range values are refused
    at start with a message naming the setting; the effective limits are
    logged at start."""
    srv = kura_factory(start=False)
    srv.configure({("ratelimit", "per_address_rate"): "0"})
    assert srv.spawn().wait(timeout=10) != 0
    assert "per_address_rate" in srv.log()
    srv.configure({("ratelimit", "per_address_rate"): "7",
                   ("ratelimit", "per_user_burst"): "33",
                   ("ratelimit", "block_s"): "90"})
    srv.start()
    log = srv.log()
    assert "rate limits: 7/s" in log and "(33) per user" in log and "90 s" in log
