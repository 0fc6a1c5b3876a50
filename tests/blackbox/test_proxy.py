"""IAM-10: the client address comes from the socket, or from
X-Forwarded-For only when the peer is a configured trusted proxy
([server] trusted_proxies); it is what IP allowlists and session records
see."""
import pytest

from kura_fixture import assert_json_error

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def proxied(kura_factory):
    srv = kura_factory(settings={("server", "trusted_proxies"): "127.0.0.1/32"})
    t = srv.create_tenant(password="Proxy-Test-Passw0rd!")
    return srv, t


def sign_in(srv, t, xff=None, v6=False):
    s = srv.session()
    headers = {"X-Forwarded-For": xff} if xff else {}
    r = s.post(srv.url(LOGIN, v6=v6), headers=headers,
               json={"contract_id": t["contract_id"], "login_id": t["login"],
                     "password": t["password"]})
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s


def test_iam10_forwarded_address_from_trusted_proxy(proxied):
    """IAM-10: via the trusted proxy (127.0.0.1) the right-most untrusted
    X-Forwarded-For address is the client; the allowlist applies to it."""
    srv, t = proxied
    s = sign_in(srv, t, xff="203.0.113.9, 192.0.2.7")
    me = s.get(srv.url("/api/v1/me/sessions"), headers={"X-Forwarded-For": "192.0.2.7"})
    assert me.status_code == 200
    assert [x["client_ip"] for x in me.json()["items"]] == ["192.0.2.7"]

    r = s.put(srv.url("/api/v1/settings/security"),
              headers={"X-Forwarded-For": "192.0.2.7"},
              json={"ip_allowlist": {"console": ["192.0.2.0/24"]}})
    assert r.status_code == 200, r.text
    ok = s.get(srv.url("/api/v1/me"), headers={"X-Forwarded-For": "192.0.2.7"})
    assert ok.status_code == 200
    # another forwarded address, or none (the proxy itself), is refused
    for hdrs in ({"X-Forwarded-For": "198.51.100.1"}, {}):
        assert_json_error(s.get(srv.url("/api/v1/me"), headers=hdrs), 403,
                          "ip_not_allowed")
    # a client cannot smuggle an address in front of the proxy's entry
    assert_json_error(s.get(srv.url("/api/v1/me"),
                            headers={"X-Forwarded-For": "192.0.2.7, 198.51.100.1"}),
                      403, "ip_not_allowed")


def test_iam10_forwarded_header_ignored_from_untrusted_peer(proxied):
    """IAM-10: ::1 is not a trusted proxy, so its X-Forwarded-For is
    ignored and the socket address counts."""
    srv, t = proxied
    s = sign_in(srv, t, xff="192.0.2.7", v6=True)
    me = s.get(srv.url("/api/v1/me/sessions", v6=True))
    assert [x["client_ip"] for x in me.json()["items"]] == ["::1"]
    r = s.put(srv.url("/api/v1/settings/security", v6=True),
              headers={"X-Forwarded-For": "192.0.2.7"},
              json={"ip_allowlist": {"console": ["192.0.2.0/24"]}})
    # the caller really is ::1: this change would lock them out
    assert_json_error(r, 409, "would_lock_you_out")


def test_iam10_malformed_forwarded_header_keeps_peer(proxied):
    """IAM-10: garbage in X-Forwarded-For from the proxy is not believed."""
    srv, t = proxied
    s = sign_in(srv, t, xff="not-an-address")
    me = s.get(srv.url("/api/v1/me/sessions"), headers={"X-Forwarded-For": "x"})
    assert [x["client_ip"] for x in me.json()["items"]] == ["127.0.0.1"]
