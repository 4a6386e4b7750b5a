"""HTTP server against real clients: curl for the normal paths, raw sockets
for what curl refuses to send (smuggling shapes, slow heads, bad escapes).

    netbootd --root R --http 127.0.0.1:PORT --tftp off --dhcp off
"""
import hashlib
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from daemon import Netbootd, free_port

QUIET = ["--tftp", "off", "--dhcp", "off"]
SIZES = {"small.txt": 6, "kernel.efi": 300_000, "disk.img": 2 * 1024 * 1024 + 17,
         "rescue.iso": 1024 * 1024, "empty.bin": 0}


def open_up(p):
    """nobody must reach the root after the privilege drop."""
    p = Path(p)
    while str(p).startswith("/tmp/") and p != Path("/tmp"):
        os.chmod(p, 0o755)
        p = p.parent


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp("http")
    open_up(base)
    r = base / "root"
    r.mkdir()
    (base / "secret.txt").write_text("TOP-SECRET\n")
    (base / "root-private").mkdir()
    (base / "root-private" / "secret.txt").write_text("TOP-SECRET\n")
    (r / "sub").mkdir()
    (r / "sub" / "inner.txt").write_text("inner\n")
    (r / "escape").symlink_to("../secret.txt")
    (r / "small.txt").write_text("hello\n")
    for name, size in SIZES.items():
        if name != "small.txt":
            (r / name).write_bytes(os.urandom(size))
    (r / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
    for p in r.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    os.chmod(r, 0o755)
    return r


@pytest.fixture(scope="module")
def server(root):
    port = free_port(socket.SOCK_STREAM)
    nb = Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}"] + QUIET)
    nb.start()
    nb.port = port
    nb.url = f"http://127.0.0.1:{port}"
    yield nb
    nb.stop()


def curl(*args, timeout=60):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout - 5)] + list(args),
                          capture_output=True, timeout=timeout)


def status_of(url, *extra):
    r = curl("-o", "/dev/null", "-w", "%{http_code}", *extra, url)
    return int(r.stdout.decode() or 0)


def raw(port, data, timeout=10, read_until_close=True):
    """Send bytes, return everything the server sends until it closes (or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not read_until_close and b"\r\n\r\n" in out:
                    break
        except socket.timeout:
            pass
        return out


def wait_log(nb, pattern, timeout=10):
    """The access-log line is written once the output drains, which can be
    a moment after the client has everything: poll for it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, nb.log())
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in log:\n{nb.log()[-3000:]}")


def parse_responses(data, heads=()):
    """Split a byte stream into (status, headers, body) by Content-Length;
    responses at the indices in heads answer HEAD and carry no body."""
    res = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated head: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = 0 if len(res) in heads else int(headers["content-length"])
        res.append((status, headers, rest[:n]))
        data = rest[n:]
    return res


# ---- GET, HEAD, keep-alive -------------------------------------------------

def test_get_small_and_large(server, root):
    for name in SIZES:
        r = curl("-f", f"{server.url}/{name}")
        assert r.returncode == 0, r.stderr
        assert r.stdout == (root / name).read_bytes()
    wait_log(server, r'"GET /disk.img" 200 %d ' % SIZES["disk.img"])


def test_head_gives_length_and_no_body(server, root):
    # Raw, so a body the server wrongly sends would show up.
    data = raw(server.port, b"HEAD /disk.img HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert f"Content-Length: {SIZES['disk.img']}".encode() in head
    assert b"Accept-Ranges: bytes" in head
    assert body == b""


def test_keep_alive_reuses_one_connection(server):
    r = curl("-v", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
             f"{server.url}/small.txt", f"{server.url}/kernel.efi", f"{server.url}/small.txt")
    assert r.returncode == 0
    err = r.stderr.decode()
    assert err.count("Re-using existing connection") == 2 or err.count("Reusing existing") == 2, err


def test_pipelined_requests_answered_in_order(server, root):
    req = (b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
           b"HEAD /kernel.efi HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /sub/inner.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    res = parse_responses(raw(server.port, req), heads=(1,))
    assert [s for s, _, _ in res] == [200, 200, 200]
    assert res[0][2] == b"hello\n"
    assert res[1][1]["content-length"] == str(SIZES["kernel.efi"]) and res[1][2] == b""
    assert res[2][2] == b"inner\n"
    assert res[2][1]["connection"] == "close"


def read_response(s):
    """One response (head, body) off a keep-alive socket, by Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "connection closed before the head"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = s.recv(1 << 20)
        assert chunk, "connection closed mid-body"
        body += chunk
    assert len(body) == length, "more bytes than Content-Length"
    return head + b"\r\n\r\n", body


def test_file_head_leaves_with_its_body_not_alone(server, root):
    """A plain file response is corked (like nginx's tcp_nopush): the status
    line and fields go out in the same TCP segment as the body's first bytes,
    not in a small segment of their own that costs the client a wakeup per
    response. Twice on one keep-alive connection, so the cork is released
    after the first response and set again for the second. Watched on the
    wire: an AF_PACKET socket on lo, segments from the server's port."""
    ETH_P_IP, PACKET_HOST = 0x0800, 0
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    cap.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: a burst of 2 MiB
    cap.bind(("lo", ETH_P_IP))
    cap.setblocking(False)
    with cap, socket.create_connection(("127.0.0.1", server.port)) as s:
        client_port = s.getsockname()[1]
        got = []
        for _ in range(2):
            s.sendall(b"GET /rescue.iso HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body = read_response(s)
            assert head.startswith(b"HTTP/1.1 200") and body == (root / "rescue.iso").read_bytes()
            got.append((len(head), len(body)))
        time.sleep(0.2)
        segments = []  # payload lengths, in order, server -> this client
        while True:
            try:
                pkt, addr = cap.recvfrom(1 << 17)
            except BlockingIOError:
                break
            if addr[2] != PACKET_HOST or pkt[9] != 6:  # each lo packet shows twice; TCP only
                continue
            ihl = (pkt[0] & 15) * 4
            sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
            if sport != server.port or dport != client_port:
                continue
            payload = struct.unpack("!H", pkt[2:4])[0] - ihl - (pkt[ihl + 12] >> 4) * 4
            if payload:
                segments.append(payload)
    assert sum(segments) == sum(h + b for h, b in got), (segments, got)
    # The segment each response starts with, found by its byte offset.
    offset, starts = 0, {}
    for n in segments:
        starts[offset] = n
        offset += n
    first = starts.get(0)
    second = starts.get(got[0][0] + got[0][1])
    assert first is not None and first > got[0][0], (first, got, segments[:4])
    assert second is not None and second > got[1][0], (second, got, segments)


def test_http10_closes_unless_keep_alive(server):
    data = raw(server.port, b"GET /small.txt HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data
    assert data.endswith(b"hello\n")


def test_absolute_form_and_query(server):
    data = raw(server.port, b"GET http://example/small.txt?x=1 HTTP/1.1\r\nHost: example\r\n"
                            b"Connection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"hello\n")


def test_content_types(server):
    want = {"kernel.efi": "application/efi", "rescue.iso": "application/vnd.efi-iso",
            "disk.img": "application/vnd.efi-img", "small.txt": "text/plain",
            "empty.bin": "application/octet-stream"}
    for name, ctype in want.items():
        r = curl("-sI", f"{server.url}/{name}")
        m = re.search(rb"Content-Type: ([^\r\n]+)", r.stdout)
        assert m and m.group(1).decode().startswith(ctype), (name, r.stdout)


def test_other_methods_405_with_allow(server):
    r = curl("-i", "-X", "DELETE", f"{server.url}/small.txt")
    assert r.stdout.startswith(b"HTTP/1.1 405")
    assert b"Allow: GET, HEAD" in r.stdout
    r = curl("-i", "-X", "POST", "--data", "abc", f"{server.url}/small.txt")
    assert r.stdout.startswith(b"HTTP/1.1 405")


def test_http2_version_505(server):
    data = raw(server.port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 505")


def test_missing_and_directory(server):
    assert status_of(f"{server.url}/nope.iso") == 404
    assert status_of(f"{server.url}/sub") in (403, 404)
    assert status_of(f"{server.url}/") in (403, 404)


# ---- Range and conditional requests ----------------------------------------

@pytest.mark.parametrize("spec,first,last,status", [
    ("0-99", 0, 99, 206),
    ("100-199", 100, 199, 206),
    ("2097100-", 2097100, None, 206),          # open
    ("-1000", -1000, None, 206),               # suffix
    ("-99999999", 0, None, 206),               # suffix longer than the file
    ("1000-99999999999", 1000, None, 206),     # end past the file: clipped
    ("0-0", 0, 0, 206),
])
def test_range_single(server, root, spec, first, last, status):
    data = (root / "disk.img").read_bytes()
    size = len(data)
    r = curl("-i", "-H", f"Range: bytes={spec}", f"{server.url}/disk.img")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()), head
    f = first if first >= 0 else size + first
    l = size - 1 if last is None else last
    assert body == data[f:l + 1]
    assert f"Content-Range: bytes {f}-{l}/{size}".encode() in head
    assert f"Content-Length: {l - f + 1}".encode() in head


@pytest.mark.parametrize("spec", ["99999999-", "2097169-2097200", "-0", "5000000-6000000,7000000-"])
def test_range_unsatisfiable_416(server, spec):
    r = curl("-i", "-H", f"Range: bytes={spec}", f"{server.url}/disk.img")
    assert r.stdout.startswith(b"HTTP/1.1 416"), r.stdout[:200]
    assert f"Content-Range: bytes */{SIZES['disk.img']}".encode() in r.stdout


@pytest.mark.parametrize("value", ["bytes=0-1,5-6", "bytes=5-1", "bytes=abc", "items=0-1"])
def test_range_multi_or_invalid_gives_whole_file(server, root, value):
    r = curl("-i", "-H", f"Range: {value}", f"{server.url}/kernel.efi")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == (root / "kernel.efi").read_bytes()


def test_range_with_head_like_ipxe_sanboot(server):
    # iPXE's sanboot: HEAD for the size, then ranged GETs on one connection.
    req = (b"HEAD /rescue.iso HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /rescue.iso HTTP/1.1\r\nHost: x\r\nRange: bytes=2048-4095\r\n\r\n"
           b"GET /rescue.iso HTTP/1.1\r\nHost: x\r\nRange: bytes=1046528-\r\nConnection: close\r\n\r\n")
    res = parse_responses(raw(server.port, req), heads=(0,))
    assert [s for s, _, _ in res] == [200, 206, 206]
    assert res[0][1]["content-length"] == str(SIZES["rescue.iso"])
    assert len(res[1][2]) == 2048 and len(res[2][2]) == 2048


def test_conditional_requests(server, root):
    r = curl("-sI", f"{server.url}/kernel.efi")
    etag = re.search(rb"ETag: (\S+)", r.stdout).group(1).decode()
    lm = re.search(rb"Last-Modified: ([^\r\n]+)", r.stdout).group(1).decode()
    assert status_of(f"{server.url}/kernel.efi", "-H", f"If-None-Match: {etag}") == 304
    assert status_of(f"{server.url}/kernel.efi", "-H", f'If-None-Match: "x", W/{etag}') == 304
    assert status_of(f"{server.url}/kernel.efi", "-H", 'If-None-Match: "other"') == 200
    assert status_of(f"{server.url}/kernel.efi", "-H", f"If-Modified-Since: {lm}") == 304
    assert status_of(f"{server.url}/kernel.efi", "-H",
                     "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT") == 200
    # If-Range: the range only while the validator matches.
    assert status_of(f"{server.url}/kernel.efi", "-H", "Range: bytes=0-9", "-H", f"If-Range: {etag}") == 206
    assert status_of(f"{server.url}/kernel.efi", "-H", "Range: bytes=0-9", "-H", 'If-Range: "old"') == 200
    assert status_of(f"{server.url}/kernel.efi", "-H", "Range: bytes=0-9", "-H", f"If-Range: {lm}") == 206


# ---- traversal ----------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt", "/../../../../etc/passwd", "/%2e%2e/secret.txt", "/%2E%2E/%2e%2e/etc/passwd",
    "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt",
    "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/sub\\..\\..\\secret.txt",
    "/secret.txt%00.iso", "/%00", "/escape", "/../root-private/secret.txt", "//../secret.txt",
    "/.%2e/secret.txt", "/%252e%252e/secret.txt", "/%", "/%zz", "/sub/%2",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_escapes(server, target):
    data = raw(server.port, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status = int(data.split(b" ", 2)[1])
    assert status in (400, 403, 404), data[:200]
    assert b"TOP-SECRET" not in data
    # and curl, which normalises unless told not to
    r = curl("--path-as-is", "-i", server.url + target)
    assert b"TOP-SECRET" not in r.stdout


def test_traversal_statuses(server):
    def st(t):
        return int(raw(server.port, f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                       read_until_close=False).split(b" ", 2)[1])
    assert st("/%2e%2e/secret.txt") == 403
    assert st("/a%2fb") == 400
    assert st("/a%00b") == 400
    assert st("/%zz") == 400
    assert st("/escape") == 403      # a symlink out of the root
    assert st("/sub/inner.txt") == 200


# ---- request smuggling and limits --------------------------------------------

SMUGGLING = [
    b"GET /small.txt HTTP/1.1\r\nHost: x\rX-Bare: cr\r\n\r\n",
    b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /small.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
    b"GET /small.txt HTTP/1.1\r\n\r\n",
]


@pytest.mark.parametrize("req", SMUGGLING)
def test_smuggling_shapes_rejected_and_closed(server, req):
    # A valid request pipelined behind must NOT be answered: the connection closes.
    data = raw(server.port, req + b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert data.count(b"HTTP/1.1") == 1
    assert b"Connection: close" in data
    assert "bad request" in server.log()


def test_header_limits(root):
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}", "--http-max-header-bytes", "1024",
                   "--http-max-headers", "8"] + QUIET) as nb:
        big = b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
        assert raw(port, big).startswith(b"HTTP/1.1 431")
        many = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(8)) + b"\r\n"
        assert raw(port, many).startswith(b"HTTP/1.1 431")
        longline = b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert raw(port, longline).startswith(b"HTTP/1.1 414")
        ok = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(7)) + b"\r\n"
        assert raw(port, ok, read_until_close=False).startswith(b"HTTP/1.1 200")
        log = nb.log()
        assert "too many header fields (431)" in log and "request header too large (431)" in log
        assert re.search(r'"- -" 431|"GET /small.txt" 431', log)


def test_slowloris_does_not_block_others(root):
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}", "--http-idle-timeout", "4"] + QUIET) as nb:
        slow = socket.create_connection(("127.0.0.1", port))
        silent = socket.create_connection(("127.0.0.1", port))
        stop = threading.Event()
        got = []

        def trickle():
            head = b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
            try:
                for b in head:
                    if stop.is_set():
                        break
                    slow.send(bytes([b]))
                    time.sleep(0.1)
            except OSError:
                pass
            slow.settimeout(10)
            try:
                got.append(slow.recv(4096))
            except OSError:
                got.append(b"")

        t = threading.Thread(target=trickle)
        t.start()
        time.sleep(0.5)
        for _ in range(20):
            r = curl("-f", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{port}/kernel.efi",
                     timeout=20)
            assert r.returncode == 0 and r.stdout == b"200", r.stderr
        t.join(timeout=30)
        stop.set()
        # The trickling head was cut off by the deadline (408), well before it finished.
        assert got and got[0].startswith(b"HTTP/1.1 408"), got
        assert "request head not complete" in nb.log()
        silent.settimeout(10)
        assert silent.recv(100) == b""   # an idle connection is closed too
        slow.close()
        silent.close()


def test_connection_cap(root):
    """At the cap, an idle connection makes room for a new one (issue 11: one
    client must not hold them all); with every connection busy sending, a new
    one gets 503. (Before issue 11 idle ones also meant 503.)"""
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}", "--http-max-connections", "4"] + QUIET) as nb:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        time.sleep(0.3)
        assert status_of(f"http://127.0.0.1:{port}/small.txt") == 200
        for s in held:
            s.close()
        # Four downloads the clients do not read: busy, none can be closed for a fifth.
        held = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            held.append(s)
        time.sleep(0.5)
        data = raw(port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 503"), data
        assert "connection limit (4) reached" in nb.log()
        for s in held:
            s.close()
        time.sleep(0.3)
        assert status_of(f"http://127.0.0.1:{port}/small.txt") == 200


def test_concurrent_downloads_sha256(server, root, tmp_path):
    names = ["disk.img", "rescue.iso", "kernel.efi", "small.txt"]
    want = {n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in names}
    args = ["--parallel", "--parallel-immediate", "--parallel-max", "200", "-f"]
    jobs = []
    for i in range(200):
        n = names[i % len(names)]
        out = tmp_path / f"{i}-{n}"
        jobs.append((out, n))
        args += ["-o", str(out), f"{server.url}/{n}"]
    r = curl(*args, timeout=170)
    assert r.returncode == 0, r.stderr[-2000:]
    for out, n in jobs:
        assert hashlib.sha256(out.read_bytes()).hexdigest() == want[n], out


def test_metrics(server):
    curl(f"{server.url}/small.txt")
    curl(f"{server.url}/%zz")
    r = curl("-i", f"{server.url}/metrics")
    assert r.stdout.startswith(b"HTTP/1.1 200")
    text = r.stdout.decode()
    assert "text/plain; version=0.0.4" in text
    req = int(re.search(r'netbootd_requests_total\{proto="http"\} (\d+)', text).group(1))
    sent = int(re.search(r'netbootd_bytes_sent_total\{proto="http"\} (\d+)', text).group(1))
    errs = int(re.search(r'netbootd_errors_total\{proto="http"\} (\d+)', text).group(1))
    assert req >= 3 and sent >= 6 and errs >= 1
    assert re.search(r'netbootd_active_transfers\{proto="http"\} \d+', text)
    assert "netbootd_boots_total" in text


def test_access_log_line_per_request(server):
    curl(f"{server.url}/small.txt?from=log-test")
    wait_log(server, r'127\.0\.0\.1:\d+ "GET /small.txt\?from=log-test" 200 6 \d+\.\d{3}ms')


# ---- HTTPS -----------------------------------------------------------------

def make_ca(d, name):
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.pem",
                    "-days", "2", "-subj", f"/CN={name} CA"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", *ec, "-keyout", d / "srv.key", "-out", d / "srv.csr",
                    "-subj", f"/CN={name} server"], check=True, capture_output=True)
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "x509", "-req", "-in", d / "srv.csr", "-CA", d / "ca.pem",
                    "-CAkey", d / "ca.key", "-CAcreateserial", "-out", d / "srv.pem", "-days", "2",
                    "-extfile", d / "ext"], check=True, capture_output=True)
    for f in d.iterdir():
        os.chmod(f, 0o644)  # readable by nobody, for the SIGHUP reload after the drop
    return d


@pytest.fixture
def tls_server(root, tmp_path):
    a = make_ca(tmp_path / "a", "first")
    b = make_ca(tmp_path / "b", "second")
    live = tmp_path / "live"
    live.mkdir()
    for f in ("srv.pem", "srv.key"):
        (live / f).write_bytes((a / f).read_bytes())
        os.chmod(live / f, 0o644)
    port = free_port(socket.SOCK_STREAM)
    hport = free_port(socket.SOCK_STREAM)
    nb = Netbootd(["--root", str(root), "--http", f"127.0.0.1:{hport}", "--https", f"127.0.0.1:{port}",
                   "--tls-cert", str(live / "srv.pem"), "--tls-key", str(live / "srv.key")] + QUIET)
    nb.start()
    nb.url = f"https://127.0.0.1:{port}"
    nb.ca_a, nb.ca_b, nb.live = a / "ca.pem", b / "ca.pem", live
    nb.dir_b = b
    yield nb
    nb.stop()


def test_https_get_range_head(tls_server, root):
    s = tls_server
    r = curl("-f", "--cacert", str(s.ca_a), f"{s.url}/disk.img")
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256((root / "disk.img").read_bytes()).digest()
    r = curl("-f", "--cacert", str(s.ca_a), "-r", "100-199", f"{s.url}/disk.img")
    assert r.stdout == (root / "disk.img").read_bytes()[100:200]
    r = curl("-fI", "--cacert", str(s.ca_a), f"{s.url}/rescue.iso")
    assert f"Content-Length: {SIZES['rescue.iso']}".encode() in r.stdout
    assert b"application/vnd.efi-iso" in r.stdout
    # TLS 1.2 is accepted; keep-alive works over TLS.
    r = curl("-fv", "--tlsv1.2", "--tls-max", "1.2", "--cacert", str(s.ca_a), "-o", "/dev/null",
             "-o", "/dev/null", f"{s.url}/small.txt", f"{s.url}/kernel.efi")
    assert r.returncode == 0 and b"TLSv1.2" in r.stderr
    assert b"Re-using existing connection" in r.stderr or b"Reusing existing" in r.stderr
    wait_log(s, r'https: 127\.0\.0\.1:\d+ "GET /disk.img" 200 %d' % SIZES["disk.img"])


def test_https_untrusted_client_is_logged(tls_server):
    s = tls_server
    r = curl("-f", f"{s.url}/small.txt")          # system CAs only: our test CA is unknown
    assert r.returncode != 0
    r = curl("-f", "--cacert", str(s.ca_b), f"{s.url}/small.txt")
    assert r.returncode != 0
    deadline = time.time() + 10
    while time.time() < deadline and "TLS handshake failed" not in s.log():
        time.sleep(0.1)
    log = s.log()
    m = re.search(r"https: 127\.0\.0\.1:\d+: TLS handshake failed: (.*)", log)
    assert m, log
    assert "unknown ca" in log or "certificate unknown" in log or "bad certificate" in log, log
    # Plain HTTP spoken to the HTTPS port.
    port = int(s.url.rsplit(":", 1)[1])
    try:
        raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    except ConnectionResetError:
        pass
    deadline = time.time() + 10
    while time.time() < deadline and "http request" not in s.log():
        time.sleep(0.1)
    assert "TLS handshake failed: http request" in s.log()


def test_https_sighup_reload_keeps_transfers(tls_server, root, tmp_path):
    s = tls_server
    big = root / "big.bin"
    # A slow reader over the old certificate, in flight during the reload
    # (curl's --limit-rate lets kernel buffers swallow a small file at once).
    body = []
    reloaded = threading.Event()

    def slow_reader():
        ctx = ssl.create_default_context(cafile=str(s.ca_a))
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.connect(("127.0.0.1", port))
        with ctx.wrap_socket(sock, server_hostname="localhost") as t:
            t.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = t.recv(16384)
                if not chunk:
                    break
                data += chunk
                if not reloaded.is_set():
                    time.sleep(0.01)  # slow until the reload is done, then full speed
            body.append(data)

    port = int(s.url.rsplit(":", 1)[1])
    reader = threading.Thread(target=slow_reader)
    reader.start()
    time.sleep(1.0)
    assert reader.is_alive(), "download finished too early to test the reload"
    for f in ("srv.pem", "srv.key"):
        tmp = s.live / (f + ".new")
        tmp.write_bytes((s.dir_b / f).read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, s.live / f)
    s.proc.send_signal(1)  # SIGHUP
    deadline = time.time() + 10
    while time.time() < deadline and "certificate reloaded" not in s.log():
        time.sleep(0.1)
    assert "certificate reloaded" in s.log(), s.log()
    assert curl("-f", "--cacert", str(s.ca_b), f"{s.url}/small.txt").stdout == b"hello\n"
    assert curl("-f", "--cacert", str(s.ca_a), f"{s.url}/small.txt").returncode != 0
    reloaded.set()
    reader.join(timeout=120)
    head, _, data = body[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert data == big.read_bytes()
    # The server was still sending it when the new certificate came in.
    m = wait_log(s, r'"GET /big.bin" 200 %d' % (16 * 1024 * 1024))
    assert s.log().index("certificate reloaded") < m.start()
    # A broken certificate on reload keeps the working one.
    (s.live / "srv.pem").write_text("garbage\n")
    s.proc.send_signal(1)
    deadline = time.time() + 10
    while time.time() < deadline and "reload failed" not in s.log():
        time.sleep(0.1)
    assert "reload failed" in s.log()
    assert curl("-f", "--cacert", str(s.ca_b), f"{s.url}/small.txt").stdout == b"hello\n"


def abort_mid_transfer(connect, path):
    s = connect()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = 0
    while got < 200_000:
        chunk = s.recv(65536)
        assert chunk
        got += len(chunk)
    s.close()


def test_client_abort_mid_transfer(server, root):
    abort_mid_transfer(lambda: socket.create_connection(("127.0.0.1", server.port)), "/big.bin")
    wait_log(server, r'"GET /big.bin" 200 \d+ [\d.]+ms \(incomplete\)')
    assert curl("-f", f"{server.url}/small.txt").stdout == b"hello\n"


def test_https_client_abort_mid_transfer(tls_server):
    s = tls_server
    port = int(s.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=str(s.ca_a))

    def connect():
        return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    for _ in range(3):
        abort_mid_transfer(connect, "/big.bin")
    wait_log(s, r'https: 127\.0\.0\.1:\d+ "GET /big.bin" 200 \d+ [\d.]+ms \(incomplete\)')
    assert curl("-f", "--cacert", str(s.ca_a), f"{s.url}/small.txt").stdout == b"hello\n"


def test_generated_documents(server):
    """The planner's in-memory documents go through the same HTTP path:
    no validators, no caching, Range and HEAD still work."""
    mac_path = "/boot/52-54-00-12-34-56.ipxe"
    r = curl("-i", server.url + mac_path)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body.startswith(b"#!ipxe")
    assert b"Cache-Control: no-store" in head and b"ETag:" not in head
    assert f"Content-Length: {len(body)}".encode() in head
    r = curl("-i", "-r", "0-5", server.url + mac_path)
    assert r.stdout.startswith(b"HTTP/1.1 206") and r.stdout.endswith(b"#!ipxe")
    data = raw(server.port, f"HEAD {mac_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n")


def shrink_mid_transfer(nb, connect, root, name):
    """The file is truncated while it is being sent: the client gets a short
    body (never bytes past the end, never a hang) and the log says so."""
    f = root / name
    f.write_bytes(os.urandom(16 * 1024 * 1024))
    os.chmod(f, 0o644)
    s = connect()
    s.settimeout(30)
    s.sendall(f"GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = s.recv(65536)
    os.truncate(f, 1024 * 1024)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"Content-Length: 16777216" in head
    assert len(body) < 16 * 1024 * 1024
    wait_log(nb, rf'"GET /{name}" 200 \d+ [\d.]+ms \(incomplete\)')


def test_file_shrinking_mid_transfer(server, root):
    shrink_mid_transfer(server, lambda: socket.create_connection(("127.0.0.1", server.port)),
                        root, "shrink-http.bin")
    assert curl("-f", f"{server.url}/small.txt").stdout == b"hello\n"


def test_https_file_shrinking_mid_transfer(tls_server, root):
    s = tls_server
    port = int(s.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=str(s.ca_a))
    shrink_mid_transfer(s, lambda: ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                                   server_hostname="localhost"),
                        root, "shrink-https.bin")
    assert "short file" in s.log()


def test_reader_that_stops_reading_is_dropped(root):
    """The other slowloris: a client asks for a big file and never reads.
    The write timeout frees the connection; others are served meanwhile."""
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}", "--http-idle-timeout", "2"] + QUIET) as nb:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(f"http://127.0.0.1:{port}/small.txt") == 200
        wait_log(nb, r"client stopped reading for 2s, closing", timeout=30)
        wait_log(nb, r'"GET /big.bin" 200 \d+ [\d.]+ms \(incomplete\)')
        s.close()


def test_half_closed_client_still_gets_its_answer(server, root):
    # netcat -N and some HTTP/1.0 tools shut down their side right after the request.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /kernel.efi HTTP/1.1\r\nHost: x\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == (root / "kernel.efi").read_bytes()


def test_request_body_is_answered_then_closed(server):
    # We never read bodies: after one the framing is unknown, so the
    # connection ends after the answer and the bytes behind are not a request.
    data = raw(server.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 38\r\n\r\n"
                            b"GET /kernel.efi HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data
    assert data.endswith(b"hello\n") and data.count(b"HTTP/1.1 ") == 1


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_pipelined_flood_during_a_slow_response_does_not_spin(root):
    """A client asks for a big file, stops reading, and keeps pipelining
    requests until the input is full. libevent 2.1.12 re-runs the read
    callback while the input sits at its high-water mark, which spun the
    loop at 100 % CPU (found by fuzz_http_conn). The server must idle."""
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--http", f"127.0.0.1:{port}", "--http-idle-timeout", "20",
                   "--http-max-header-bytes", "1024"] + QUIET) as nb:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)                  # the response is now stuck on a full socket
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 64)
        time.sleep(0.5)
        before = cpu_seconds(nb.proc.pid)
        time.sleep(3)
        used = cpu_seconds(nb.proc.pid) - before
        assert used < 1.0, f"netbootd used {used:.2f} s of CPU in 3 s while idle"
        assert status_of(f"http://127.0.0.1:{port}/small.txt") == 200
        s.close()


def test_https_pipelined_flood_during_a_slow_response_does_not_spin(tls_server):
    s = tls_server
    port = int(s.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=str(s.ca_a))
    raw_sock = socket.socket()
    raw_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw_sock.connect(("127.0.0.1", port))
    t = ctx.wrap_socket(raw_sock, server_hostname="localhost")
    t.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.5)
    t.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 400)   # > 8 KiB of pipelined heads
    time.sleep(0.5)
    before = cpu_seconds(s.proc.pid)
    time.sleep(3)
    used = cpu_seconds(s.proc.pid) - before
    assert used < 1.0, f"netbootd used {used:.2f} s of CPU in 3 s while idle"
    assert curl("-f", "--cacert", str(s.ca_a), f"{s.url}/small.txt").stdout == b"hello\n"
    t.close()


def test_dual_stack_listener_urls_carry_its_port(tmp_path):
    """--http [::]:PORT serves IPv4 and IPv6 clients alike, and the scripts
    it generates name that port (they said port 80 before). An IPv4 client
    gets --server-addr; an IPv6 client the IPv6 address it came to (an iPXE
    on an IPv6-only link cannot reach an IPv4 one; --server-addr6 would win)."""
    open_up(tmp_path)
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    os.chmod(tmp_path / "vmlinuz", 0o644)
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(tmp_path), "--http", f"[::]:{port}", "--server-addr", "127.0.0.1",
                   "--kernel", str(tmp_path / "vmlinuz")] + QUIET) as nb:
        for host, named in (("127.0.0.1", "127.0.0.1"), ("[::1]", "[::1]")):
            r = curl("-gf", f"http://{host}:{port}/boot/52:54:00:00:00:01.ipxe")
            assert r.returncode == 0, r.stderr
            assert f"kernel http://{named}:{port}/quick/linux ".encode() in r.stdout, r.stdout
        r = curl("-gf", f"http://[::1]:{port}/quick/linux")
        assert r.returncode == 0 and r.stdout == b"kernel", r
        assert "listening on [::]:" in nb.log()
