"""
pytest fixtures for kura's black-box tests.

  kura          a fresh, started server with its own data directory (function scope)
  kura_factory  make more servers: kura_factory(settings={...}, start=True);
                every one is stopped at teardown
  kura_shared   one started server per test module, for read-only tests
  kura_dir      an initialised data directory with no server running

Helpers live in kura_fixture.py (import it as `from kura_fixture import ...`).
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kura_fixture import KURA_BIN, KuraServer  # noqa: E402


def pytest_configure(config):
    if not os.access(KURA_BIN, os.X_OK):
        raise pytest.UsageError(
            f"kura binary not found at {KURA_BIN}; build it (ninja -C build) "
            "or set KURA_BIN")


@pytest.fixture
def kura_factory(tmp_path):
    servers = []

    def make(settings=None, start=True, name=None):
        base = tmp_path / (name or f"srv{len(servers)}")
        srv = KuraServer(base, settings=settings)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in servers:
        srv.close()


@pytest.fixture
def kura(kura_factory):
    return kura_factory()


@pytest.fixture
def kura_dir(kura_factory):
    return kura_factory(start=False)


@pytest.fixture(scope="module")
def kura_shared(tmp_path_factory):
    srv = KuraServer(tmp_path_factory.mktemp("kura-shared"))
    try:
        srv.start()
        yield srv
    finally:
        srv.close()
