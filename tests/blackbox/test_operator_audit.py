"""Operator access to customer content is visible to the customer
(TEN-3 direction, LOG-1): `kura tenant show` and `kura tenant list`
decrypt names and e-mail addresses, so each leaves a record in that
tenant's own audit log, which its admin can read."""
from identity_helpers import Tenant, FAST_ARGON
from kura_fixture import KuraServer


def test_ten3_operator_reads_show_in_the_tenants_log(tmp_path):
    srv = KuraServer(tmp_path / "srv", settings=FAST_ARGON)
    srv.start()
    try:
        a, b = Tenant(srv), Tenant(srv)
        shown = srv.cli("tenant", "show", a.contract_id)
        assert a.info["email"] in shown.stdout
        srv.cli("tenant", "list")

        def operator_reads(t):
            r = t.admin.get("/api/v1/audit-events?action=tenant.*")
            assert r.status_code == 200, r.text
            return [(e["action"], e["actor"]["type"]) for e in r.json()["items"]
                    if e["action"] in ("tenant.read", "tenant.list")]

        assert ("tenant.read", "operator") in operator_reads(a)
        assert ("tenant.list", "operator") in operator_reads(a)
        # B was listed (its name shown) but not shown in detail
        assert ("tenant.list", "operator") in operator_reads(b)
        assert ("tenant.read", "operator") not in operator_reads(b)
    finally:
        srv.close()
