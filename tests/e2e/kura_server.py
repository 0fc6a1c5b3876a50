#!/usr/bin/env python3
"""A real kura on loopback for the console tests (tests/e2e/lib.mjs).

Starts `kura serve` ($KURA_BIN) in a fresh data dir under the directory
given as argv[1], with one tenant whose admin password we chose, and
prints one JSON line: {base_url, contract_id, tenant_id, admin_login,
admin_password, data_dir}.  Then reads commands, one JSON object a line,
and answers each with one JSON line:

  {"cmd": "tenant"}              another tenant (same keys as above)
  {"cmd": "cli", "args": [...]}  a kura CLI command: {rc, stdout, stderr}

It stops the server and exits when stdin closes (the test process ended,
whatever the way), so no server outlives its tests.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "blackbox"))
from kura_fixture import KuraServer  # noqa: E402
from identity_helpers import strong_password, unique  # noqa: E402

# Every request of a browser test comes from 127.0.0.1: the per-address
# limits are raised so that they measure nothing here (they have their own
# black-box tests); lockout and the tenant's own settings stay as they are.
SETTINGS = {
    ("ratelimit", "per_address_rate"): "100000",
    ("ratelimit", "per_address_burst"): "100000",
    ("ratelimit", "per_user_rate"): "100000",
    ("ratelimit", "per_user_burst"): "100000",
    ("ratelimit", "per_tenant_rate"): "100000",
    ("ratelimit", "per_tenant_burst"): "100000",
    ("ratelimit", "block_after"): "100000",
}


def tenant(srv):
    password = strong_password()
    t = srv.create_tenant(name=f"Example {unique('')[:4].upper()} K.K.",
                          login="admin", password=password)
    return {"base_url": f"https://127.0.0.1:{srv.port}",
            "contract_id": t["contract_id"], "tenant_id": t["tenant_id"],
            "admin_login": "admin", "admin_password": password,
            "data_dir": str(srv.data_dir)}


def main():
    base = Path(sys.argv[1])
    srv = KuraServer(base)
    srv.configure(SETTINGS)
    srv.start()
    try:
        print(json.dumps(tenant(srv)), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            if req.get("cmd") == "tenant":
                out = tenant(srv)
            elif req.get("cmd") == "cli":
                p = srv.cli(*req["args"], check=False)
                out = {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
            else:
                out = {"error": "unknown command"}
            print(json.dumps(out), flush=True)
    finally:
        srv.close()


if __name__ == "__main__":
    main()
