"""Encrypted file storage through the real server (issue 5): streamed
uploads and downloads, versions, Range, quotas, tampering, and the canary
search for file contents (CRY-1, DAT-2, DAT-3, MON-3)."""
import hashlib
import mmap
import os
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from identity_helpers import Tenant, FAST_ARGON
from kura_fixture import KuraServer, assert_json_error

CHUNK = 1024 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-files"), settings=FAST_ARGON)
    s.start()
    yield s
    s.close()


@pytest.fixture
def t(srv):
    return Tenant(srv)


def project(t, name=None):
    r = t.admin.post("/api/v1/projects", {"name": name or f"p-{secrets.token_hex(4)}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_file(t, pid, name=None, **extra):
    body = {"name": name or f"f-{secrets.token_hex(4)}.bin", **extra}
    r = t.admin.post(f"/api/v1/projects/{pid}/files", body)
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def upload(t, pid, fid, data, content_type="application/octet-stream"):
    return t.admin.put(f"/api/v1/projects/{pid}/files/{fid}/content", data=data,
                       headers={"Content-Type": content_type}, timeout=300)


def download(t, pid, fid, headers=None, version=None, stream=False):
    path = f"/api/v1/projects/{pid}/files/{fid}/content"
    if version is not None:
        path += f"?version={version}"
    return t.admin.get(path, headers=headers or {}, stream=stream, timeout=300)


def pattern(n, seed=0):
    rnd = hashlib.sha256(str(seed).encode()).digest() * 32
    return (rnd * (n // len(rnd) + 1))[:n]


def data_contains(root: Path, needle: bytes) -> list:
    """Files under root whose bytes contain needle (mmap: no 1 GiB reads)."""
    hits = []
    for dirpath, _d, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            try:
                with open(p, "rb") as f:
                    if os.fstat(f.fileno()).st_size == 0:
                        continue
                    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                        if m.find(needle) >= 0:
                            hits.append(str(p))
            except (FileNotFoundError, PermissionError, ValueError):
                continue
    return hits


def blob_files(srv):
    return sorted(p for p in (srv.data_dir / "blobs").rglob("blb_*") if p.is_file())


def test_dat2_round_trips_at_chunk_boundaries(t):
    """DAT-2/CRY-1: 0 bytes, 1 byte, chunk-1, chunk, chunk+1 and three
    chunks come back byte for byte with the SHA-256 the server recorded."""
    pid = project(t)
    for n in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7):
        data = pattern(n, n)
        fid = new_file(t, pid)
        r = upload(t, pid, fid, data)
        assert r.status_code == 201, r.text
        v = r.json()["version"]
        assert v["size"] == n and v["sha256"] == hashlib.sha256(data).hexdigest()
        d = download(t, pid, fid)
        assert d.status_code == 200
        assert d.content == data, n
        assert d.headers["Content-Type"] == "application/octet-stream"
        assert d.headers["Content-Disposition"].startswith("attachment;")
        assert d.headers["X-Content-Type-Options"] == "nosniff"


def test_dat2_one_gib_round_trip_and_bounded_memory(t, srv):
    """DAT-2/MON-3: a 1 GiB upload and download over TLS match by SHA-256,
    and the server's RSS rises by less than 32 MiB while it streams."""
    pid = project(t)
    fid = new_file(t, pid, "big.bin")
    size = 1024 * CHUNK
    block = pattern(4 * CHUNK, 99)
    want = hashlib.sha256()

    def gen():
        sent = 0
        while sent < size:
            b = block[: min(len(block), size - sent)]
            want.update(b)
            sent += len(b)
            yield b

    def rss():
        with open(f"/proc/{srv.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    base, peak, stop = rss(), [0], threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.05)

    w = threading.Thread(target=watch)
    w.start()
    try:
        # a generator body goes chunked (no Content-Length): the server
        # streams it all the same
        r = t.admin.put(f"/api/v1/projects/{pid}/files/{fid}/content", data=gen(),
                        headers={"Content-Type": "application/octet-stream"},
                        timeout=600)
        assert r.status_code == 201, r.text
        assert r.json()["version"]["sha256"] == want.hexdigest()
        got = hashlib.sha256()
        n = 0
        with download(t, pid, fid, stream=True) as d:
            assert d.status_code == 200
            for piece in d.iter_content(1024 * 1024):
                got.update(piece)
                n += len(piece)
        assert n == size and got.hexdigest() == want.hexdigest()
    finally:
        stop.set()
        w.join()
    assert peak[0] - base < 32 * 1024 * 1024, (base, peak[0])


def test_cry1_canary_file_never_on_disk(t, srv):
    """CRY-1: a 64 MiB file made of canary text is not found anywhere in the
    data directory while it is uploading (paused half way) nor after."""
    canary = b"canary-" + secrets.token_hex(12).encode() + b"|"
    size = 64 * CHUNK
    body = (canary * (size // len(canary) + 1))[:size]
    pid = project(t)
    fid = new_file(t, pid, "canary.txt")
    half, resume, paused = size // 2, threading.Event(), threading.Event()

    def gen():
        for i in range(0, size, CHUNK):
            if i == half:
                paused.set()
                resume.wait(60)
            yield body[i:i + CHUNK]

    result = {}

    def run():
        result["r"] = t.admin.put(f"/api/v1/projects/{pid}/files/{fid}/content",
                                  data=gen(), timeout=300)

    th = threading.Thread(target=run)
    th.start()
    assert paused.wait(60)
    time.sleep(0.5)                 # let the server take in what was sent
    during = data_contains(srv.data_dir, canary)
    resume.set()
    th.join(300)
    assert result["r"].status_code == 201, result["r"].text
    assert during == [], during
    srv.stop()
    try:
        assert data_contains(srv.data_dir, canary) == []
    finally:
        srv.start()
    t.relogin_admin()
    assert download(t, pid, fid).content == body


def test_cry1_tampered_chunk_fails_never_wrong_data(t, srv):
    """CRY-1: a flipped byte in the stored file: a download of that chunk
    fails (500 content_damaged before any byte, or the transfer is cut),
    it never delivers altered data."""
    pid = project(t)
    fid = new_file(t, pid)
    data = pattern(3 * CHUNK, 5)
    before = set(blob_files(srv))
    assert upload(t, pid, fid, data).status_code == 201
    (path,) = set(blob_files(srv)) - before
    raw = bytearray(path.read_bytes())
    raw[32 + 100] ^= 1              # inside chunk 0
    path.write_bytes(bytes(raw))
    d = download(t, pid, fid)
    assert_json_error(d, 500, "content_damaged")
    raw[32 + 100] ^= 1
    raw[32 + 2 * (CHUNK + 28) + 10] ^= 1    # inside chunk 2 (the last)
    path.write_bytes(bytes(raw))
    try:
        with download(t, pid, fid, stream=True) as d:
            assert d.status_code == 200     # chunk 0 is fine: headers go out
            got = b"".join(d.iter_content(65536))
    except Exception:               # the connection is cut: the right outcome
        got = None
    assert got != data and (got is None or len(got) < len(data))
    if got is not None:
        assert data.startswith(got)         # what arrived is never altered
    # a Range wholly inside a good chunk still works
    r = download(t, pid, fid, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]


def test_dat2_range_requests(t):
    """DAT-2: single ranges (start-end, start-, -suffix, across a chunk
    boundary) answer 206 with Content-Range; outside the file answers 416."""
    pid = project(t)
    fid = new_file(t, pid)
    data = pattern(2 * CHUNK + 100, 7)
    assert upload(t, pid, fid, data).status_code == 201
    for header, start, end in (("bytes=0-99", 0, 99), (f"bytes={CHUNK - 5}-{CHUNK + 5}", CHUNK - 5, CHUNK + 5),
                               (f"bytes={2 * CHUNK}-", 2 * CHUNK, len(data) - 1),
                               ("bytes=-50", len(data) - 50, len(data) - 1),
                               ("bytes=5-999999999", 5, len(data) - 1)):
        r = download(t, pid, fid, headers={"Range": header})
        assert r.status_code == 206, (header, r.status_code)
        assert r.content == data[start:end + 1], header
        assert r.headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
    for header in (f"bytes={len(data)}-", f"bytes={len(data) + 10}-{len(data) + 20}"):
        r = download(t, pid, fid, headers={"Range": header})
        assert_json_error(r, 416, "range_not_satisfiable")
        assert r.headers["Content-Range"] == f"bytes */{len(data)}"


def test_dat2_versions_kept_and_pruned(t):
    """DAT-2: a new upload keeps the previous version (readable with
    ?version=N); at most 10 are kept; usage follows."""
    pid = project(t)
    fid = new_file(t, pid)
    contents = [pattern(1000 + i, i) for i in range(12)]
    for c in contents:
        assert upload(t, pid, fid, c).status_code == 201
    doc = t.admin.get(f"/api/v1/projects/{pid}/files/{fid}").json()
    assert doc["current_version"] == 12
    assert [v["version"] for v in doc["versions"]] == list(range(12, 2, -1))
    assert download(t, pid, fid).content == contents[11]
    assert download(t, pid, fid, version=3).content == contents[2]
    assert_json_error(download(t, pid, fid, version=2), 404, "not_found")
    # same name again with new_version returns the existing file
    name = doc["name"]
    r = t.admin.post(f"/api/v1/projects/{pid}/files", {"name": name, "on_conflict": "new_version"})
    assert r.status_code == 200 and r.json()["id"] == fid
    r = t.admin.post(f"/api/v1/projects/{pid}/files", {"name": name})
    assert_json_error(r, 409, "name_taken")


def test_mon3_quota_and_interrupted_uploads_leave_nothing(t, srv):
    """MON-3/DAT-2: over the byte quota an upload is refused (413
    quota_exceeded) and leaves no version and no temporary file; an
    upload cut off half way leaves nothing either."""
    srv.cli("tenant", "quota", t.contract_id, "--max-bytes", str(3 * CHUNK),
            "--max-files", "100")
    pid = project(t)
    fid = new_file(t, pid)
    r = upload(t, pid, fid, pattern(4 * CHUNK, 1))
    assert_json_error(r, 413, "quota_exceeded")
    doc = t.admin.get(f"/api/v1/projects/{pid}/files/{fid}").json()
    assert doc["current_version"] == 0 and doc["versions"] == []
    # cut off half way: headers promise 2 MiB, the client sends 1 and leaves
    with srv.tls_socket() as s:
        req = (f"PUT /api/v1/projects/{pid}/files/{fid}/content HTTP/1.1\r\n"
               f"Host: localhost\r\nCookie: kura_session={t.admin.cookie}\r\n"
               f"X-CSRF-Token: {t.admin.csrf}\r\nContent-Length: {2 * CHUNK}\r\n\r\n")
        s.sendall(req.encode() + pattern(CHUNK, 3))
        time.sleep(0.5)
        s.shutdown(socket.SHUT_RDWR)
    deadline = time.time() + 10
    while time.time() < deadline and list((srv.data_dir / "blobs").rglob("*.part")):
        time.sleep(0.2)
    assert list((srv.data_dir / "blobs").rglob("*.part")) == []
    doc = t.admin.get(f"/api/v1/projects/{pid}/files/{fid}").json()
    assert doc["current_version"] == 0
    # within the quota it works
    assert upload(t, pid, fid, pattern(2 * CHUNK, 4)).status_code == 201
    use = t.admin.get("/api/v1/usage").json()
    assert use["bytes"] == 2 * CHUNK and use["max_bytes"] == 3 * CHUNK


def test_dat2_kept_versions_is_a_setting(kura_factory):
    """DAT-2: [files] keep_versions decides how many versions stay."""
    srv = kura_factory(settings={**FAST_ARGON, ("files", "keep_versions"): "3"})
    t = Tenant(srv)
    pid = project(t)
    fid = new_file(t, pid)
    for i in range(5):
        assert upload(t, pid, fid, pattern(100, i)).status_code == 201
    doc = t.admin.get(f"/api/v1/projects/{pid}/files/{fid}").json()
    assert [v["version"] for v in doc["versions"]] == [5, 4, 3]
    use = t.admin.get("/api/v1/usage").json()
    assert use["bytes"] == 300
