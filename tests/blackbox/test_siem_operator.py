"""LOG-7: records written by other processes (operator CLI commands run
while the server serves) reach the SIEM too, exactly once each."""
import json
import time

from identity_helpers import FAST_ARGON
from kura_fixture import KuraServer


def siem_lines(path):
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_log7_operator_cli_records_are_forwarded(tmp_path):
    srv = KuraServer(tmp_path / "srv", settings={**FAST_ARGON,
                                                ("siem", "mode"): "file",
                                                ("siem", "file"): "siem/audit.jsonl"})
    srv.start()
    try:
        t = srv.create_tenant(password="Siem-Operator-Passw0rd!")
        out = srv.data_dir / "siem" / "audit.jsonl"
        # the pump starts at the head: give it a round, then act
        time.sleep(1.5)
        srv.cli("tenant", "suspend", t["contract_id"])
        srv.cli("tenant", "resume", t["contract_id"])
        deadline, got = time.time() + 8, []
        while time.time() < deadline:
            got = [r for r in siem_lines(out)
                   if r.get("action") in ("tenant.suspend", "tenant.resume")]
            if len(got) >= 2:
                break
            time.sleep(0.2)
        assert [r["action"] for r in got] == ["tenant.suspend", "tenant.resume"], got
        assert all(r["actor_type"] == "operator" for r in got)
        # exactly once: a restart does not send them again
        srv.restart()
        time.sleep(2)
        again = [r for r in siem_lines(out)
                 if r.get("action") in ("tenant.suspend", "tenant.resume")]
        assert len(again) == 2, again
    finally:
        srv.close()
