"""
LOG-7 SIEM export: kura forwards every audit record it commits to a SIEM,
as RFC 5424 syslog over TCP (octet-counted frames, RFC 6587 3.4.1),
optionally over TLS (RFC 5425), or as a JSON-lines file.

The receivers are started by the tests on 127.0.0.1 (plain Python socket
servers, and ssl-wrapped ones with a CA and server certificates made with
openssl in the test's tmp dir).  Every message is parsed strictly and
compared with the record kura stored in kura.db.  All waits are bounded.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from identity_helpers import FAST_ARGON, raw_login, signed_in, strong_password
from kura_fixture import OPENSSL, file_mode, free_port, make_self_signed

POLL_S = 5.0
SD_ID = "kura@32473"
SD_NAMES = ["seq", "id", "tenant", "actor_type", "actor", "src", "req",
            "resource_type", "resource", "outcome", "status"]

# ---------------------------------------------------------------- RFC 5424

_PARAM_VALUE = r'(?:[^"\\\]]|\\["\\\]])*'
_SD_PARAM = r'[!#-<>-\\^-~]{1,32}="' + _PARAM_VALUE + '"'
_SD_ELEMENT = r'\[[!#-<>-\\^-~]{1,32}(?: ' + _SD_PARAM + r')*\]'
RFC5424 = re.compile(
    r"<(?P<pri>0|[1-9][0-9]{0,2})>(?P<version>[1-9][0-9]{0,2}) "
    r"(?P<ts>-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
    r"(?:Z|[+-]\d{2}:\d{2})) "
    r"(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) "
    r"(?P<msgid>[!-~]{1,32}) "
    r"(?P<sd>-|(?:" + _SD_ELEMENT + r")+)"
    r"(?: (?P<msg>.*))?\Z", re.S)
SD_PARAM_RE = re.compile(r' ([!#-<>-\\^-~]{1,32})="(' + _PARAM_VALUE + ')"')


def parse_5424(frame: bytes) -> dict:
    """Parse one syslog message strictly (RFC 5424 6); returns the header
    fields, the SD-ID, the SD params (unescaped, in order) and the MSG."""
    text = frame.decode("utf-8")  # strict: invalid UTF-8 raises
    m = RFC5424.match(text)
    assert m, f"not an RFC 5424 message: {text[:300]!r}"
    pri = int(m.group("pri"))
    assert pri <= 191, pri
    sd = m.group("sd")
    assert sd != "-"
    elements = re.findall(_SD_ELEMENT, sd)
    assert len(elements) == 1 and "".join(elements) == sd, sd
    sd_id = re.match(r"\[([^ \]]+)", sd).group(1)
    params = [(k, re.sub(r'\\(["\\\]])', r"\1", v))
              for k, v in SD_PARAM_RE.findall(sd)]
    return {"pri": pri, "facility": pri // 8, "severity": pri % 8,
            "version": int(m.group("version")), "ts": m.group("ts"),
            "host": m.group("host"), "app": m.group("app"),
            "procid": m.group("procid"), "msgid": m.group("msgid"),
            "sd_id": sd_id, "params": params, "msg": m.group("msg")}


def rfc3339_utc(time_us: int) -> str:
    dt = datetime.fromtimestamp(time_us // 1_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{time_us % 1_000_000:06d}Z"


def expected_hostname() -> str:
    h = "".join(c if 33 <= ord(c) <= 126 else "_" for c in socket.gethostname())
    return h[:255] or "-"


# ---------------------------------------------------------------- receivers

class SyslogListener:
    """A syslog-over-TCP receiver on 127.0.0.1 (TLS when ctx is given):
    splits RFC 6587 octet-counted frames strictly and keeps every frame,
    framing error, handshake error and negotiated TLS parameter."""

    def __init__(self, port: int | None = None, ctx: ssl.SSLContext | None = None):
        self.port = port or free_port()
        self.ctx = ctx
        self.frames: list[bytes] = []
        self.framing_errors: list[str] = []
        self.handshake_errors: list[str] = []
        self.tls: list[tuple] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sock: socket.socket | None = None

    def start(self) -> "SyslogListener":
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        if self.sock is not None:
            self.sock.close()

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.ctx is not None:
                conn.settimeout(5)
                try:
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    with self.lock:
                        self.handshake_errors.append(str(e))
                    return
                with self.lock:
                    self.tls.append((conn.version(), conn.cipher()[0]))
            conn.settimeout(0.1)
            buf = b""
            while not self.stopping.is_set():
                try:
                    data = conn.recv(65536)
                except (socket.timeout, TimeoutError):
                    continue
                except (ssl.SSLError, OSError):
                    break
                if not data:
                    break
                buf = self._split(buf + data)
            if buf:
                with self.lock:
                    self.framing_errors.append(f"trailing bytes {buf[:80]!r}")
        finally:
            conn.close()

    def _split(self, buf: bytes) -> bytes:
        """Take complete "LEN SP MSG" frames off buf; returns the rest."""
        while buf:
            m = re.match(rb"([1-9][0-9]{0,8}) ", buf)
            if m is None:
                if not re.fullmatch(rb"[1-9][0-9]{0,8}", buf):
                    with self.lock:
                        self.framing_errors.append(f"bad frame start {buf[:80]!r}")
                    return b""
                return buf
            n = int(m.group(1))
            if len(buf) < m.end() + n:
                return buf
            with self.lock:
                self.frames.append(buf[m.end():m.end() + n])
            buf = buf[m.end() + n:]
        return buf

    def messages(self) -> list[dict]:
        with self.lock:
            frames = list(self.frames)
        return [parse_5424(f) for f in frames]


@pytest.fixture
def listeners():
    made: list[SyslogListener] = []

    def make(port=None, ctx=None, start=True):
        lst = SyslogListener(port, ctx)
        made.append(lst)
        if start:
            lst.start()
        return lst

    yield make
    for lst in made:
        lst.stop()


# ---------------------------------------------------------------- certificates

def _openssl(*args: str) -> None:
    subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=30)


def make_ca(d: Path) -> tuple[Path, Path]:
    """A test CA (ECDSA P-256, CA:TRUE) in d; returns (cert, key)."""
    crt, key = d / "ca.pem", d / "ca.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "2",
             "-subj", "/CN=kura SIEM test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def issue(d: Path, ca: tuple[Path, Path], name: str, san: str) -> tuple[Path, Path]:
    """A server certificate for san signed by ca; returns (cert, key)."""
    crt, key, csr = d / f"{name}.pem", d / f"{name}.key", d / f"{name}.csr"
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=siem")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(crt))
    return crt, key


def server_ctx(crt: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(crt), str(key))
    return ctx


# ---------------------------------------------------------------- kura side

def db_records(srv, after_seq: int = 0) -> list[dict]:
    """Records in kura.db with seq > after_seq, in seq order, in the shape
    of audit_row_to_json (the JSON kura exports and forwards)."""
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10)
    try:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq",
                           (after_seq,)).fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = {k: r[k] for k in r.keys()}
        d["detail"] = json.loads(d["detail"])
        d["type"] = "record"
        out.append(d)
    return out


def max_seq(srv) -> int:
    recs = db_records(srv)
    return recs[-1]["seq"] if recs else 0


def traffic(srv, tenant: dict, password: str) -> None:
    """Sign-in (a failed one and a good one), a read, a write and a 404."""
    r = raw_login(srv, tenant["contract_id"], tenant["login"], "wrong-" + password)
    assert r.status_code == 401, r.text
    c = signed_in(srv, tenant["contract_id"], tenant["login"], password)
    assert c.get("/api/v1/users").status_code == 200
    r = c.post("/api/v1/users", {"login_id": "siemuser",
                                 "email": "siemuser@example.com"})
    assert r.status_code == 201, r.text
    r = c.get("/api/v1/users/usr_" + "0" * 32)
    assert r.status_code == 404, r.text


def start_with_tenant(kura_factory, settings: dict):
    srv = kura_factory(settings={**FAST_ARGON, **settings})
    password = strong_password()
    tenant = srv.create_tenant(password=password)
    return srv, tenant, password


def wait_for(cond, timeout: float = POLL_S, step: float = 0.05):
    """Poll cond() until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_delivered(lst: SyslogListener, want: list[dict]) -> list[dict]:
    """Wait until lst received a message for every record in want."""
    want_seqs = {r["seq"] for r in want}

    def have():
        msgs = lst.messages()
        got = {int(dict(m["params"])["seq"]) for m in msgs}
        return msgs if want_seqs <= got else None
    msgs = wait_for(have)
    assert msgs, (f"not every record arrived within {POLL_S}s: want "
                  f"{sorted(want_seqs)}, got "
                  f"{[dict(m['params'])['seq'] for m in lst.messages()]}")
    return msgs


def check_messages(msgs: list[dict], records: list[dict]) -> None:
    """Each message is exactly its record: header, structured data, JSON."""
    by_seq = {r["seq"]: r for r in records}
    for m in msgs:
        p = dict(m["params"])
        rec = by_seq[int(p["seq"])]
        sev = 5 if rec["outcome"] == "success" else 4
        assert m["pri"] == 13 * 8 + sev, (m, rec)
        assert m["facility"] == 13
        assert m["version"] == 1
        assert m["ts"] == rfc3339_utc(rec["time_us"])
        assert m["host"] == expected_hostname()
        assert m["app"] == "kura" and m["procid"] == "-"
        assert m["msgid"] == rec["action"]
        assert m["sd_id"] == SD_ID
        assert [k for k, _ in m["params"]] == SD_NAMES
        assert p == {
            "seq": str(rec["seq"]), "id": rec["id"],
            "tenant": rec["tenant_id"] or "", "actor_type": rec["actor_type"],
            "actor": rec["actor_id"], "src": rec["source_ip"],
            "req": rec["request_id"], "resource_type": rec["resource_type"],
            "resource": rec["resource_id"], "outcome": rec["outcome"],
            "status": str(rec["status"])}
        assert json.loads(m["msg"]) == rec


def check_stream(lst: SyslogListener, records: list[dict]) -> list[dict]:
    msgs = wait_delivered(lst, records)
    assert not lst.framing_errors, lst.framing_errors
    seqs = [int(dict(m["params"])["seq"]) for m in msgs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert seqs == [r["seq"] for r in records], (seqs, [r["seq"] for r in records])
    check_messages(msgs, records)
    return msgs


def kinds(records: list[dict]) -> set:
    return {(r["action"], r["outcome"], r["status"]) for r in records}


# ---------------------------------------------------------------- tests

def test_syslog_tcp_delivers_every_record_in_order(kura_factory, listeners):
    """LOG-7: over plain TCP every record kura commits arrives as one
    RFC 5424 message in an octet-counted frame, in commit order; its
    header, structured data and JSON MSG equal the stored record."""
    lst = listeners()
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "syslog", ("siem", "address"): f"127.0.0.1:{lst.port}",
        ("siem", "tls"): "off"})
    base = max_seq(srv)
    traffic(srv, tenant, password)
    records = db_records(srv, base)
    acts = {a for a, _, _ in kinds(records)}
    assert {"auth.login", "user.list", "user.invite", "user.read"} <= acts, acts
    assert any(r["outcome"] != "success" for r in records)
    msgs = check_stream(lst, records)
    # the failed sign-in is a warning, the good one a notice
    sev = {(dict(m["params"])["outcome"], m["severity"]) for m in msgs}
    assert ("success", 5) in sev and ({("failure", 4), ("denied", 4)} & sev), sev
    # later records keep flowing on the same connection
    base = max_seq(srv)
    r = raw_login(srv, tenant["contract_id"], tenant["login"], "nope")
    assert r.status_code == 401
    more = db_records(srv, base)
    assert more
    wait_delivered(lst, records + more)
    assert lst.connections == 1
    # nothing secret travels: neither the password nor the session cookie
    with lst.lock:
        raw = b"".join(lst.frames)
    c = signed_in(srv, tenant["contract_id"], tenant["login"], password)
    for secret in (password, "wrong-" + password, c.cookie, c.csrf):
        assert secret and secret.encode() not in raw


def test_syslog_tls_verified_receiver(kura_factory, listeners, tmp_path):
    """LOG-7 over TLS (RFC 5425): kura verifies the receiver's certificate
    against [siem] ca_file and the address, negotiates TLS 1.2+ with an
    AEAD cipher, and delivers the same octet-counted RFC 5424 stream."""
    ca = make_ca(tmp_path)
    crt, key = issue(tmp_path, ca, "siem", "IP:127.0.0.1")
    lst = listeners(ctx=server_ctx(crt, key))
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "syslog", ("siem", "address"): f"127.0.0.1:{lst.port}",
        ("siem", "tls"): "on", ("siem", "ca_file"): str(ca[0])})
    base = max_seq(srv)
    traffic(srv, tenant, password)
    records = db_records(srv, base)
    check_stream(lst, records)
    assert not lst.handshake_errors, lst.handshake_errors
    assert lst.tls, "no TLS session"
    for version, cipher in lst.tls:
        assert version in ("TLSv1.2", "TLSv1.3"), version
        assert "GCM" in cipher or "CHACHA20" in cipher, cipher


@pytest.mark.parametrize("case", ["untrusted", "wrong-address"])
def test_syslog_tls_refuses_unverified_receiver(kura_factory, listeners,
                                                tmp_path, case):
    """LOG-7: a receiver whose certificate does not chain to [siem] ca_file
    (self-signed), or names another host, gets no record: the handshake
    fails, kura logs the verification failure and keeps retrying."""
    ca = make_ca(tmp_path)
    if case == "untrusted":
        crt, key = tmp_path / "self.pem", tmp_path / "self.key"
        make_self_signed(crt, key, san="IP:127.0.0.1,DNS:localhost")
    else:
        crt, key = issue(tmp_path, ca, "other", "DNS:siem.example.net,IP:192.0.2.1")
    lst = listeners(ctx=server_ctx(crt, key))
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "syslog", ("siem", "address"): f"127.0.0.1:{lst.port}",
        ("siem", "tls"): "on", ("siem", "ca_file"): str(ca[0])})
    traffic(srv, tenant, password)
    # retries: at least two refused handshakes (backoff 0.5 s, then 1 s)
    assert wait_for(lambda: len(lst.handshake_errors) >= 2), \
        (lst.handshake_errors, srv.log())
    assert wait_for(lambda: "certificate verification failed" in srv.log()), srv.log()
    assert lst.frames == [] and lst.tls == []
    assert "retrying" in srv.log()
    assert srv.running


def test_syslog_late_listener_gets_queued_records(kura_factory, listeners):
    """LOG-7: while the receiver is down kura keeps the records queued and
    retries with backoff; a receiver that starts later gets all of them,
    in order, on the reconnect."""
    lst = listeners(start=False)
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "syslog", ("siem", "address"): f"127.0.0.1:{lst.port}",
        ("siem", "tls"): "off"})
    base = max_seq(srv)
    traffic(srv, tenant, password)
    assert wait_for(lambda: "cannot reach 127.0.0.1" in srv.log()), srv.log()
    assert "refused" in srv.log().lower()
    lst.start()
    records = db_records(srv, base)
    check_stream(lst, records)
    assert wait_for(lambda: "connected to 127.0.0.1" in srv.log())


def test_syslog_reconnects_after_receiver_restart(kura_factory, listeners):
    """LOG-7: when the receiver goes away kura notices the closed
    connection, reconnects to the new receiver and delivers what follows."""
    lst = listeners()
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "syslog", ("siem", "address"): f"127.0.0.1:{lst.port}",
        ("siem", "tls"): "off"})
    base = max_seq(srv)
    traffic(srv, tenant, password)
    check_stream(lst, db_records(srv, base))
    lst.stop()
    lst2 = listeners(port=lst.port)
    base = max_seq(srv)
    c = signed_in(srv, tenant["contract_id"], tenant["login"], password)
    assert c.get("/api/v1/me").status_code == 200
    check_stream(lst2, db_records(srv, base))


def test_file_mode_writes_json_lines(kura_factory):
    """LOG-7 JSON-lines file: one record per line, each line parses as JSON
    and equals the stored record, in order; the file is 0600 in a 0700
    directory."""
    srv, tenant, password = start_with_tenant(kura_factory, {
        ("siem", "mode"): "file"})
    path = srv.data_dir / "siem" / "audit.jsonl"
    base = max_seq(srv)
    traffic(srv, tenant, password)
    records = db_records(srv, base)

    def lines():
        if not path.exists():
            return None
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            return None
        got = [json.loads(x) for x in data.decode("ascii").splitlines()]
        return got if {r["seq"] for r in records} <= {g["seq"] for g in got} \
            else None
    got = wait_for(lines)
    assert got, path.read_text() if path.exists() else "no file"
    assert file_mode(path) == 0o600
    assert file_mode(path.parent) == 0o700
    seqs = [g["seq"] for g in got]
    assert seqs == sorted(seqs)
    tail = [g for g in got if g["seq"] > base]
    assert tail == records


def test_file_mode_refuses_open_file(kura_factory):
    """LOG-7: an existing SIEM file that group or others can read is
    refused; kura serve does not start with it."""
    srv = kura_factory(settings={("siem", "mode"): "file"}, start=False)
    path = srv.data_dir / "siem" / "audit.jsonl"
    path.parent.mkdir(mode=0o700)
    path.write_text("")
    os.chmod(path, 0o644)
    proc = srv.spawn()
    assert proc.wait(timeout=10) != 0
    assert "0644" in srv.log() and "siem" in srv.log().lower(), srv.log()
