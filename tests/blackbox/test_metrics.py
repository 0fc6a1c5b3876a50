"""
MON-2: GET /metrics in the Prometheus text format 0.0.4, reachable only from
[metrics] allow networks or with the operator token.

The parser here is deliberately strict: every line is a comment, blank, or
`name{labels} value`; anything else fails the test.
"""
import math
import os
import re
import secrets
import time

import pytest

from identity_helpers import FAST_ARGON, Api, Tenant
from kura_fixture import assert_json_error, assert_security_headers

SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ ]+(\S+)(?:[ ]+-?\d+)?$')
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')
COMMENT_RE = re.compile(r'^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$')

EXPECTED = {
    "kura_http_requests_total": "counter",
    "kura_http_request_duration_seconds": "histogram",
    "kura_signin_failures_total": "counter",
    "kura_ratelimit_refusals_total": "counter",
    "kura_ratelimit_blocked_addresses": "gauge",
    "kura_audit_queue_depth": "gauge",
    "kura_audit_last_batch_size": "gauge",
    "kura_audit_records_total": "counter",
    "kura_audit_batches_total": "counter",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "kura_data_dir_free_bytes": "gauge",
    "kura_health_status": "gauge",
    "kura_build_info": "gauge",
}
BUCKETS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
           "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]


def parse_labels(text: str) -> dict:
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        assert m, f"bad labels at {pos}: {text!r}"
        labels[m.group(1)] = (m.group(2).replace('\\n', '\n')
                              .replace('\\"', '"').replace('\\\\', '\\'))
        pos = m.end()
    return labels


def parse_prom(text: str):
    """(types {name: type}, samples [(name, labels, value)])."""
    types, samples = {}, []
    assert text.endswith("\n"), "exposition must end with a newline"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = COMMENT_RE.match(line)
            assert m or not line.startswith(("# HELP", "# TYPE")), \
                f"line {n}: malformed comment {line!r}"
            if m and m.group(1) == "TYPE":
                assert m.group(3) in ("counter", "gauge", "histogram",
                                      "summary", "untyped"), line
                assert m.group(2) not in types, f"line {n}: TYPE twice"
                types[m.group(2)] = m.group(3)
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"line {n}: not `name{{labels}} value`: {line!r}"
        name, labels, value = m.group(1), m.group(2), m.group(3)
        v = float(value)  # raises on garbage; accepts +Inf/NaN
        samples.append((name, parse_labels(labels or ""), v))
    return types, samples


def get(samples, name, **labels):
    """Value of the one sample with exactly these labels (subset match)."""
    hits = [v for n, lab, v in samples
            if n == name and all(lab.get(k) == str(w) for k, w in labels.items())]
    assert len(hits) == 1, f"{name}{labels}: {len(hits)} samples"
    return hits[0]


def scrape(srv, v6=False, token=None, expect=200):
    h = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = srv.session().get(srv.url("/metrics", v6=v6), headers=h, timeout=30)
    assert r.status_code == expect, f"{r.status_code} {r.text[:300]}"
    return r


def wait_health(srv, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = srv.session().get(srv.url("/readyz")).json()
        if len(doc.get("components", {})) == 5:
            return doc
        time.sleep(0.1)
    raise AssertionError("no health round within the timeout")


def test_mon2_metrics_parse_and_count(kura_factory):
    """MON-2: /metrics parses as Prometheus text 0.0.4 and holds request
    counts by route/method/status, latency histograms, sign-in failures,
    rate-limit counters, audit queue and batch figures, process CPU, RSS,
    open files, free disk of the data directory, health and build info,
    with plausible values that move with traffic."""
    srv = kura_factory(settings=FAST_ARGON)
    t = Tenant(srv)
    wait_health(srv)
    s = srv.session()
    for _ in range(3):
        assert s.get(srv.url("/healthz")).status_code == 200
    bad = Api(srv)
    assert bad.login(t.contract_id, "admin", "wrong-" + secrets.token_hex(4)) \
        .status_code == 401
    assert t.admin.me().status_code == 200
    assert s.get(srv.url("/nope")).status_code == 404

    r = scrape(srv)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert_security_headers(r.headers)
    types, samples = parse_prom(r.text)
    for name, typ in EXPECTED.items():
        assert types.get(name) == typ, f"{name}: TYPE {types.get(name)}"
        assert any(n == name or n.startswith(name + "_") for n, _, _ in samples), name

    healthz = get(samples, "kura_http_requests_total", route="/healthz",
                  method="GET", status="200")
    assert healthz >= 3
    assert get(samples, "kura_http_requests_total", route="/api/v1/me",
               method="GET", status="200") >= 1
    assert get(samples, "kura_http_requests_total", route="/api/v1/auth/login",
               method="POST", status="401") == 1
    assert get(samples, "kura_http_requests_total", route="unmatched",
               method="GET", status="404") >= 1
    assert get(samples, "kura_signin_failures_total") == 1
    # histogram: cumulative buckets, +Inf equals the count
    counts = [get(samples, "kura_http_request_duration_seconds_bucket",
                  route="/healthz", le=le) for le in BUCKETS]
    assert counts == sorted(counts)
    assert counts[-1] == get(samples, "kura_http_request_duration_seconds_count",
                             route="/healthz") >= 3
    total = get(samples, "kura_http_request_duration_seconds_sum", route="/healthz")
    assert 0 < total < 10
    # audit: reads were recorded through the group-commit writer
    assert get(samples, "kura_audit_records_total") >= 1
    assert get(samples, "kura_audit_batches_total") >= 1
    assert get(samples, "kura_audit_batches_total") <= \
        get(samples, "kura_audit_records_total")
    assert get(samples, "kura_audit_queue_depth") >= 0
    assert get(samples, "kura_audit_last_batch_size") >= 0
    # process and disk
    assert 0 < get(samples, "process_cpu_seconds_total") < 3600
    assert 1 << 20 < get(samples, "process_resident_memory_bytes") < 1 << 34
    assert 3 <= get(samples, "process_open_fds") < 10000
    st = os.statvfs(srv.data_dir)
    free = get(samples, "kura_data_dir_free_bytes")
    assert abs(free - st.f_bavail * st.f_frsize) < 512 << 20
    for comp in ("database", "disk", "keys", "audit", "clock"):
        assert get(samples, "kura_health_status", component=comp) in (0, 1)
    assert get(samples, "kura_health_status", component="database") == 1
    for scope in ("address", "user", "tenant", "blocked"):
        assert get(samples, "kura_ratelimit_refusals_total", scope=scope) == 0
    assert get(samples, "kura_ratelimit_blocked_addresses") == 0
    version = [lab["version"] for n, lab, _ in samples if n == "kura_build_info"]
    assert len(version) == 1 and re.fullmatch(r"\d+\.\d+\.\d+.*", version[0])

    # counters move with traffic
    for _ in range(5):
        assert s.get(srv.url("/healthz")).status_code == 200
    assert t.admin.me().status_code == 200
    _, samples2 = parse_prom(scrape(srv).text)
    assert get(samples2, "kura_http_requests_total", route="/healthz",
               method="GET", status="200") == healthz + 5
    assert get(samples2, "kura_audit_records_total") > \
        get(samples, "kura_audit_records_total")
    assert get(samples2, "kura_http_requests_total", route="/metrics",
               method="GET", status="200") >= 1
    assert get(samples2, "process_cpu_seconds_total") >= \
        get(samples, "process_cpu_seconds_total")


def write_token(path, token, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)


def test_mon2_metrics_refused_from_unlisted_network(kura_factory):
    """MON-2: with [metrics] allow = ::1/128, a client on 127.0.0.1 gets a
    bare 403 JSON error that names no metric; the operator token from
    [metrics] token_file lets it in; a wrong token does not; ::1 is let in
    without a token."""
    srv = kura_factory(start=False)
    token = secrets.token_urlsafe(32)
    tok_file = srv.base / "metrics.token"
    write_token(tok_file, token)
    srv.configure({("metrics", "allow"): "::1/128",
                   ("metrics", "token_file"): str(tok_file)})
    srv.start()

    for h in ({}, {"Authorization": "Bearer " + token[:-1] + "x"},
              {"Authorization": "Bearer " + token + "x"},
              {"Authorization": "Bearer "}, {"Authorization": "Basic " + token},
              {"Authorization": token}):
        r = srv.session().get(srv.url("/metrics"), headers=h)
        assert_json_error(r, 403, "forbidden")
        assert "kura_" not in r.text and "process_" not in r.text
    r = scrape(srv, token=token)
    types, _ = parse_prom(r.text)
    assert types["kura_http_requests_total"] == "counter"
    r = scrape(srv, v6=True)
    parse_prom(r.text)
    # the token is read on use: a new one applies at once, the old one stops
    token2 = secrets.token_urlsafe(32)
    write_token(tok_file, token2)
    scrape(srv, token=token2)
    assert_json_error(srv.session().get(
        srv.url("/metrics"), headers={"Authorization": "Bearer " + token}), 403)


def test_mon2_metrics_no_network_and_private_token_file(kura_factory):
    """MON-2: allow = '-' admits nobody without the token (not even
    loopback); a token file readable by others stops `kura serve` at
    start with a message naming it."""
    srv = kura_factory(start=False)
    tok_file = srv.base / "metrics.token"
    write_token(tok_file, secrets.token_urlsafe(32), mode=0o644)
    srv.configure({("metrics", "allow"): "-",
                   ("metrics", "token_file"): str(tok_file)})
    p = srv.spawn()
    assert p.wait(timeout=10) != 0
    assert "token_file" in srv.log() and str(tok_file) in srv.log()
    os.chmod(tok_file, 0o600)
    srv.start()
    assert_json_error(srv.session().get(srv.url("/metrics")), 403, "forbidden")
    assert_json_error(srv.session().get(srv.url("/metrics", v6=True)), 403,
                      "forbidden")
    scrape(srv, token=tok_file.read_text().strip())


def test_parser_rejects_garbage():
    """The test's own parser refuses malformed exposition text."""
    for bad in ("kura_x 1 2 3\n", "kura_x{a=1} 1\n", "kura x 1\n", "kura_x\n",
                "kura_x 1"):
        with pytest.raises((AssertionError, ValueError)):
            parse_prom(bad)
    types, samples = parse_prom('# TYPE a counter\na{b="c\\"d"} 1.5\nb +Inf\n')
    assert types == {"a": "counter"}
    assert samples[0] == ("a", {"b": 'c"d'}, 1.5) and math.isinf(samples[1][2])
