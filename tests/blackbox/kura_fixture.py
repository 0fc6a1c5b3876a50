"""
Reusable helpers for kura's black-box tests: a real `kura serve` process on
a free loopback port, its CLI, and small raw-TLS / openssl helpers.

Everything talks to 127.0.0.1 or ::1 only.  TLS is always verified against
the data directory's own (self-signed) certificate; nothing here turns
verification off except `peer_cert_der(..., verify=False)`, which only reads
the certificate a server presents so tests can compare fingerprints.

Typical use (see conftest.py for the pytest fixtures):

    srv = KuraServer(tmp_path, settings={("limits", "max_body_bytes"): "2048"})
    srv.start()
    t = srv.create_tenant(name="Acme")
    r = srv.session().get(srv.url("/healthz"))
    srv.stop()
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Iterable

import requests

REPO = Path(__file__).resolve().parents[2]
KURA_BIN = os.environ.get("KURA_BIN") or str(REPO / "build" / "kura")
OPENSSL = "openssl"

SECURITY_HEADERS = {
    "Strict-Transport-Security": re.compile(r"max-age=\d{6,}"),
    "Content-Security-Policy": re.compile(r"default-src 'self'"),
    "X-Content-Type-Options": re.compile(r"^nosniff$"),
    "X-Frame-Options": re.compile(r"^DENY$"),
    "Referrer-Policy": re.compile(r"^no-referrer$"),
    "Cache-Control": re.compile(r"no-store"),
    "X-Request-Id": re.compile(r"^[0-9a-f]{32}$"),
}


class KuraError(RuntimeError):
    pass


# ---------------------------------------------------------------- commands

def run_kura(*args: str, check: bool = True, timeout: float = 60,
             input: str | None = None) -> subprocess.CompletedProcess:
    """Run `kura ARGS...`; text output.  check=True raises on non-zero exit
    with stdout/stderr in the message."""
    p = subprocess.run([KURA_BIN, *args], capture_output=True, text=True,
                       timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise KuraError(f"kura {' '.join(args)} exited {p.returncode}\n"
                        f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def free_port() -> int:
    """A TCP port free on both 127.0.0.1 and ::1 right now."""
    for _ in range(200):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s6.bind(("::1", port))
            except OSError:
                continue
            return port
        finally:
            s4.close()
            s6.close()
    raise KuraError("no port free on both 127.0.0.1 and ::1")


def file_mode(path: Path | str) -> int:
    return os.stat(path).st_mode & 0o7777


def set_ini(path: Path, settings: dict) -> None:
    """Rewrite settings {(section, key): value} in an INI file in place
    (the file keeps its mode).  A commented default line ';key = ...' in
    the section is replaced; a missing key or section is appended."""
    lines = Path(path).read_text().splitlines()
    pending = {(s, k): str(v) for (s, k), v in settings.items()}
    section = ""
    out: list[str] = []
    for line in lines:
        m = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if m:
            # flush keys of the section we are leaving
            out.extend(_flush(pending, section))
            section = m.group(1).strip()
            out.append(line)
            continue
        m = re.match(r"^\s*;?\s*([A-Za-z0-9_]+)\s*=", line)
        if m and (section, m.group(1)) in pending:
            key = m.group(1)
            out.append(f"{key} = {pending.pop((section, key))}")
            continue
        out.append(line)
    out.extend(_flush(pending, section))
    for (sec, key), value in list(pending.items()):
        out.append(f"\n[{sec}]")
        out.append(f"{key} = {value}")
        del pending[(sec, key)]
    with open(path, "r+") as f:  # in place: the mode does not change
        f.seek(0)
        f.write("\n".join(out) + "\n")
        f.truncate()


def _flush(pending: dict, section: str) -> list[str]:
    added = []
    for (sec, key) in [k for k in pending if k[0] == section]:
        added.append(f"{key} = {pending.pop((sec, key))}")
    return added


def cert_fingerprint_pem(pem_path: Path | str) -> str:
    der = ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())
    return hashlib.sha256(der).hexdigest()


def make_self_signed(cert: Path, key: Path, cn: str = "localhost",
                     san: str = "DNS:localhost,IP:127.0.0.1,IP:::1",
                     days: int = 30) -> None:
    """Write a fresh ECDSA P-256 self-signed certificate and key over cert
    and key (both end up mode 0600)."""
    tmp_dir = Path(cert).parent
    tmp_key = tmp_dir / f".new-{secrets.token_hex(4)}.key"
    tmp_crt = tmp_dir / f".new-{secrets.token_hex(4)}.crt"
    old_umask = os.umask(0o077)
    try:
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(tmp_key), "-out", str(tmp_crt),
                        "-days", str(days), "-subj", f"/CN={cn}",
                        "-addext", f"subjectAltName={san}"],
                       check=True, capture_output=True, timeout=30)
        for src, dst in ((tmp_key, key), (tmp_crt, cert)):
            data = src.read_bytes()
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(dst, 0o600)
    finally:
        os.umask(old_umask)
        for p in (tmp_key, tmp_crt):
            if p.exists():
                p.unlink()


# ---------------------------------------------------------------- TLS probes

class SClient:
    """Result of one `openssl s_client` handshake attempt."""

    def __init__(self, proc: subprocess.CompletedProcess, args: list[str]):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        m = re.search(r"^New, (\S+), Cipher is (\S+)", self.out, re.M)
        self.protocol = m.group(1).rstrip(",") if m else None
        self.cipher = m.group(2) if m else None
        if self.protocol == "(NONE)":
            self.protocol = None
        if self.cipher in ("(NONE)", "0000"):
            self.cipher = None
        m = re.search(r"Verify return code: (\d+)", self.out)
        self.verify = int(m.group(1)) if m else None

    @property
    def established(self) -> bool:
        return self.protocol is not None and self.cipher is not None

    def __repr__(self) -> str:
        return (f"<s_client {' '.join(self.args)}: rc={self.rc} "
                f"protocol={self.protocol} cipher={self.cipher}>\n{self.out}")


def s_client(port: int, *args: str, host: str = "127.0.0.1",
             cafile: Path | str | None = None, timeout: float = 10) -> SClient:
    """One handshake with `openssl s_client -connect host:port ARGS`."""
    connect = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cmd = [OPENSSL, "s_client", "-connect", connect, "-servername", "localhost",
           *args]
    if cafile is not None:
        cmd += ["-CAfile", str(cafile), "-verify_return_error"]
    p = subprocess.run(cmd, input="", capture_output=True, text=True,
                       timeout=timeout)
    return SClient(p, list(args))


def tls_context(cafile: Path | str | None) -> ssl.SSLContext:
    if cafile is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(cafile))


def peer_cert_der(port: int, host: str = "127.0.0.1",
                  cafile: Path | str | None = None) -> bytes:
    """DER of the certificate the server presents on a new connection;
    verified against cafile when given."""
    ctx = tls_context(cafile)
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            return s.getpeercert(binary_form=True)


class RawResponse:
    def __init__(self, status: int, reason: str, headers: dict, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-cased names
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<RawResponse {self.status} {self.headers} {self.body[:200]!r}>"


def read_http_response(sock, timeout: float = 10) -> RawResponse:
    """Read one HTTP/1.1 response (Content-Length framed, or to EOF)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise KuraError(f"connection closed before a full response: {buf!r}")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    if not m:
        raise KuraError(f"not an HTTP response: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        want = int(headers["content-length"])
        while len(body) < want:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    else:
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        except (ssl.SSLError, OSError):
            pass
    return RawResponse(int(m.group(1)), m.group(2), headers, body)


def assert_json_error(resp, status: int, code: str | Iterable[str] | None = None):
    """resp (requests.Response or RawResponse) has the given status and the
    exact body shape {"error":{"code":str,"message":str}}; returns code."""
    st = resp.status_code if hasattr(resp, "status_code") else resp.status
    body = resp.content if hasattr(resp, "content") else resp.body
    assert st == status, f"want {status}, got {st}: {body[:300]!r}"
    ctype = resp.headers.get("Content-Type") if hasattr(resp, "status_code") \
        else resp.headers.get("content-type")
    assert ctype and ctype.startswith("application/json"), ctype
    doc = json.loads(body)
    assert isinstance(doc, dict) and list(doc.keys()) == ["error"], doc
    err = doc["error"]
    assert isinstance(err, dict) and sorted(err.keys()) == ["code", "message"], doc
    assert isinstance(err["code"], str) and err["code"], doc
    assert isinstance(err["message"], str) and err["message"], doc
    if code is not None:
        codes = [code] if isinstance(code, str) else list(code)
        assert err["code"] in codes, f"want code {codes}, got {doc}"
    return err["code"]


def assert_security_headers(headers) -> None:
    """The headers every kura response carries (CRY-3)."""
    get = headers.get
    for name, pat in SECURITY_HEADERS.items():
        value = get(name)
        if value is None and isinstance(headers, dict):
            value = headers.get(name.lower())
        assert value is not None, f"missing {name} in {dict(headers)}"
        assert pat.search(value), f"{name}: {value!r} does not match {pat.pattern}"


# ---------------------------------------------------------------- the server

class KuraServer:
    """A data directory plus, once started, a `kura serve` process on a free
    port listening on 127.0.0.1 and ::1."""

    def __init__(self, base: Path, settings: dict | None = None,
                 init: bool = True):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.base / "data"
        self.log_path = self.base / "serve.log"
        self.proc: subprocess.Popen | None = None
        self.env: dict | None = None        # serve's environment (None: ours)
        self.port: int | None = None
        self.returncode: int | None = None
        self._log_fh = None
        if init:
            self.init()
            if settings:
                self.configure(settings)

    # -- files
    @property
    def config_path(self) -> Path:
        return self.data_dir / "kura.ini"

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "tls" / "cert.pem"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "tls" / "key.pem"

    @property
    def keyring_path(self) -> Path:
        return self.data_dir / "keys" / "kek.keys"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kura.db"

    def init(self) -> subprocess.CompletedProcess:
        return run_kura("init", "--data-dir", str(self.data_dir))

    def configure(self, settings: dict) -> None:
        """Set {(section, key): value} in kura.ini (mode stays 0600).  Takes
        effect at the next start."""
        set_ini(self.config_path, settings)

    # -- CLI
    def cli(self, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """`kura ARGS... --data-dir D` (GNU getopt takes the option after
        positional words).  Pass --data-dir yourself to override."""
        args = tuple(str(a) for a in args)
        if "--data-dir" not in args:
            args = (*args, "--data-dir", str(self.data_dir))
        return run_kura(*args, check=check, timeout=timeout)

    def create_tenant(self, contract_id: str | None = None,
                      name: str | None = None, email: str | None = None,
                      seats: int | str = 10, timezone: str = "Asia/Tokyo",
                      region: str = "jp", login: str = "admin",
                      password: str | None = None,
                      check: bool = True) -> dict:
        """`kura tenant create`; returns {tenant_id, contract_id, name,
        email, login, password, stdout} (password is the generated one-time
        password unless one was given).  With check=False a failure returns
        {"error": CompletedProcess}."""
        suffix = secrets.token_hex(6)
        contract_id = contract_id if contract_id is not None else f"c-{suffix}"
        name = name if name is not None else f"Tenant {suffix}"
        email = email if email is not None else f"admin-{suffix}@example.com"
        args = ["tenant", "create", "--contract-id", contract_id,
                "--name", name, "--seats", str(seats), "--region", region,
                "--timezone", timezone, "--admin-login", login,
                "--admin-email", email]
        if password is not None:
            pw_file = self.base / f"pw-{suffix}"
            fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
            args += ["--admin-password-file", str(pw_file)]
        try:
            p = self.cli(*args, check=check)
        finally:
            if password is not None:
                pw_file.unlink()
        if p.returncode != 0:
            return {"error": p}
        m = re.search(r"created tenant (ten_[0-9a-f]+) \(contract (\S+)\)", p.stdout)
        if not m:
            raise KuraError(f"unexpected tenant create output:\n{p.stdout}")
        if password is None:
            pm = re.search(r"one-time password: (\S+)", p.stdout)
            if not pm:
                raise KuraError(f"no one-time password in:\n{p.stdout}")
            password = pm.group(1)
        return {"tenant_id": m.group(1), "contract_id": m.group(2),
                "name": name, "email": email, "login": login,
                "password": password, "stdout": p.stdout}

    def tenant_show(self, target: str) -> dict:
        return json.loads(self.cli("tenant", "show", target, "--json").stdout)

    def tenant_list(self) -> list:
        return json.loads(self.cli("tenant", "list", "--json").stdout)

    # -- process
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def serve_args(self) -> list[str]:
        return [KURA_BIN, "serve", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}",
                "--listen", f"[::1]:{self.port}"]

    def spawn(self) -> subprocess.Popen:
        """Start `kura serve` without waiting for it (for tests of refused
        starts).  Chooses a port if none is set."""
        if self.port is None:
            self.port = free_port()
        if self._log_fh is None:
            self._log_fh = open(self.log_path, "ab")
        self.returncode = None
        self.proc = subprocess.Popen(self.serve_args(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_fh, stderr=self._log_fh,
                                     env=self.env)
        return self.proc

    def start(self, timeout: float = 10) -> "KuraServer":
        """Start and wait until /healthz answers 200.  Retries with another
        port if the chosen one was taken meanwhile."""
        for attempt in range(3):
            self.spawn()
            try:
                self.wait_healthy(timeout)
                return self
            except KuraError:
                if self.proc.poll() is not None and "cannot listen" in self.log() \
                        and attempt < 2:
                    self.port = None
                    continue
                self.kill()
                raise
        raise KuraError("could not start kura serve")

    def wait_healthy(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        last = None
        s = self.session()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KuraError(f"kura serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                r = s.get(self.url("/healthz"), timeout=2)
                if r.status_code == 200:
                    return
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.05)
        raise KuraError(f"kura serve not healthy after {timeout}s ({last}):\n{self.log()}")

    def signal(self, sig: int) -> None:
        assert self.running, "server is not running"
        self.proc.send_signal(sig)

    def sigterm(self) -> None:
        self.signal(signal.SIGTERM)

    def sighup(self) -> None:
        self.signal(signal.SIGHUP)

    def wait(self, timeout: float = 10) -> int:
        """Wait for the process to exit; returns its exit code."""
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, wait, SIGKILL on timeout.  Returns the exit code (or
        None if it was not started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> "KuraServer":
        self.stop()
        return self.start()

    def close(self) -> None:
        """Teardown: stop the process and close the log."""
        try:
            self.stop()
        finally:
            if self._log_fh is not None:
                self._log_fh.close()
                self._log_fh = None

    def log(self) -> str:
        if self._log_fh is not None:
            self._log_fh.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- HTTP
    def url(self, path: str, v6: bool = False) -> str:
        host = "[::1]" if v6 else "127.0.0.1"
        return f"https://{host}:{self.port}{path}"

    def session(self) -> requests.Session:
        """A requests session that verifies the server's own certificate and
        ignores proxy settings from the environment."""
        s = requests.Session()
        s.verify = str(self.cert_path)
        s.trust_env = False
        return s

    def tls_socket(self, v6: bool = False, timeout: float = 10) -> ssl.SSLSocket:
        """A verified raw TLS connection (for hand-written requests)."""
        host = "::1" if v6 else "127.0.0.1"
        ctx = tls_context(self.cert_path)
        raw = socket.create_connection((host, self.port), timeout=timeout)
        try:
            return ctx.wrap_socket(raw, server_hostname=host)
        except Exception:
            raw.close()
            raise

    def raw_request(self, data: bytes, v6: bool = False,
                    timeout: float = 10) -> RawResponse:
        """Send data as-is over a new TLS connection and read one response."""
        with self.tls_socket(v6=v6, timeout=timeout) as s:
            try:
                s.sendall(data)
            except OSError:
                pass  # the server may answer and close before reading it all
            return read_http_response(s, timeout=timeout)

    def s_client(self, *args: str, v6: bool = False, verify: bool = True) -> SClient:
        return s_client(self.port, *args, host="::1" if v6 else "127.0.0.1",
                        cafile=self.cert_path if verify else None)
