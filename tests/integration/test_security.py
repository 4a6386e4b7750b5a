"""Hardening (docs/security.md), each as the attack it stops:

- a local user who owns the lease directory plants a symlink where netbootd,
  still root, writes its lease file: the target must stay untouched;
- a local user binds netbootd's UDP ports beside it (4011 is unprivileged)
  to answer PXE clients: the bind must fail, and a second netbootd must not
  start silently beside the first.
"""
import errno
import os
import socket
import subprocess
import time
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, default_user, free_port, run_netbootd  # noqa: E402
from dhcpnet import DhcpNet  # noqa: E402

# The user the daemon drops to: the attacker here runs with that uid (nobody is shared).
NOBODY = default_user()


def server_args(root, lease_file):
    return ["--root", str(root), "--dhcp", "server", "--pool", "198.18.0.10-198.18.0.250",
            "--lease-file", str(lease_file), "--tftp", "off", "--http", "off",
            "--netmask", "255.255.248.0"]


def as_nobody(fn):
    """Run fn in a child process with nobody's uid, as a local user would."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.fixture
def victim(tmp_path):
    """A root-owned file the attacker wants to own."""
    v = tmp_path / "victim"
    v.write_text("root's secret\n")
    os.chmod(v, 0o600)
    os.chmod(tmp_path, 0o755)
    return v


def test_lease_temp_symlink_does_not_hand_over_a_root_file(tmp_path, victim):
    leases = tmp_path / "leasedir" / "leases"
    with DhcpNet("sec-lease") as net:
        # First start creates the directory, owned by the user netbootd runs as.
        with Netbootd(server_args(tmp_path, leases), netns=net.server_ns):
            pass
        st = os.stat(leases.parent)
        assert st.st_uid == NOBODY.pw_uid, "the lease directory belongs to the dropped user"
        # That user (any daemon running as nobody) plants a link at the temp name.
        as_nobody(lambda: os.symlink(victim, leases.parent / "leases.tmp"))
        with Netbootd(server_args(tmp_path, leases), netns=net.server_ns) as nb:
            assert "active leases loaded" in nb.log()
        vs = os.stat(victim)
        assert vs.st_uid == 0 and victim.read_text() == "root's secret\n", \
            "netbootd followed the planted link as root"
        assert not (leases.parent / "leases.tmp").is_symlink()
        assert leases.read_text().startswith("# netbootd leases v1")
        assert os.stat(leases).st_uid == NOBODY.pw_uid


def test_lease_file_symlink_is_refused(tmp_path, victim):
    leases = tmp_path / "leasedir" / "leases"
    with DhcpNet("sec-lease2") as net:
        with Netbootd(server_args(tmp_path, leases), netns=net.server_ns):
            pass
        as_nobody(lambda: (os.unlink(leases), os.symlink(victim, leases)))
        nb = Netbootd(server_args(tmp_path, leases), netns=net.server_ns)
        with pytest.raises(RuntimeError) as e:
            nb.start()
        assert "lease file" in str(e.value) and "Too many levels of symbolic links" in str(e.value)
        assert os.stat(victim).st_uid == 0 and victim.read_text() == "root's secret\n"


def bind_udp(addr, port, reuse=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
        return None
    except OSError as e:
        return e.errno
    finally:
        s.close()


def test_no_one_binds_the_pxe_and_dhcp_ports_beside_us(tmp_path):
    with DhcpNet("sec-port") as net:
        with Netbootd(["--root", str(tmp_path), "--dhcp", "proxy", "--tftp", "off",
                       "--http", "off"], netns=net.server_ns):
            # In the server's namespace, with SO_REUSEADDR as an attacker would set it.
            code = ("import socket,sys\n"
                    "bad=[]\n"
                    "for p in (67, 4011):\n"
                    "  s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    "  try:\n    s.bind(('0.0.0.0', p)); bad.append(p)\n"
                    "  except OSError as e:\n    assert e.errno == 98, e\n"
                    "sys.exit(1 if bad else 0)\n")
            r = net.run(net.server_ns, [sys.executable, "-c", code])
            assert r.returncode == 0, f"a second socket bound the port: {r.stdout} {r.stderr}"
            # A second netbootd is a clear start-up error naming the port.
            second = Netbootd(["--root", str(tmp_path), "--dhcp", "proxy", "--tftp", "off",
                               "--http", "off"], netns=net.server_ns)
            with pytest.raises(RuntimeError) as e:
                second.start()
            assert "cannot listen on UDP port 67: Address already in use (another DHCP or PXE " \
                   "server, or a second netbootd, holds it)" in str(e.value)


def test_no_one_binds_the_tftp_port_beside_us(tmp_path):
    port = free_port()
    with Netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{port}", "--http", "off",
                   "--dhcp", "off"]):
        assert bind_udp("127.0.0.1", port) == errno.EADDRINUSE
        assert bind_udp("0.0.0.0", port) == errno.EADDRINUSE
        r = run_netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{port}", "--http", "off",
                          "--dhcp", "off"], timeout=20)
        assert r.returncode != 0
        assert f"cannot bind UDP 127.0.0.1:{port}: Address already in use" in r.stderr, r.stderr


def test_cache_dir_writable_by_others_is_refused(tmp_path):
    """Start-up builds run as root and write by path: a cache-dir another user
    can write (here: owned by nobody, who could plant a link at the build's
    temp name) stops start-up with the reason, before anything is written."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "rescue.iso").write_bytes(b"\0" * (1 << 20))
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chown(cache, NOBODY.pw_uid, NOBODY.pw_gid)
    for p in (tmp_path, root):
        os.chmod(p, 0o755)
    conf = tmp_path / "netbootd.conf"
    conf.write_text(f"[server]\nroot = {root}\ncache-dir = {cache}\n[default]\nprofile = r\n"
                    "[profile r]\nimage = rescue.iso\nmethod = grub-memdisk\n")
    r = run_netbootd(["--config", str(conf), "--http", "off", "--tftp", "off", "--dhcp", "off"],
                     timeout=60)
    assert r.returncode != 0
    assert f"cache-dir {cache}: {cache} is not owned by root (mode 0755, owner uid " \
           f"{NOBODY.pw_uid}); netbootd builds there as root" in r.stderr, r.stderr
    assert list(cache.iterdir()) == []
    # Given to root, the same start-up builds.
    os.chown(cache, 0, 0)
    with Netbootd(["--config", str(conf), "--http", "off", "--tftp", "off", "--dhcp", "off"],
                  timeout=120) as nb:
        assert "grub-memdisk: built" in nb.log()


REFLECT = r"""
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
rrq = b"\x00\x01big.bin\x00octet\x00"          # 16 bytes, no options: the cheapest request
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 0))
for _ in range(n):
    # A new source port each time, as a spoofer's requests would look: each is a new transfer.
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("198.18.0.2", 0))
    c.sendto(rrq, ("198.18.0.1", port))
    c.close()
    time.sleep(0.001)
"""

COUNT = r"""
import socket, sys, time
# Everything the server sends towards the client address, for a while (a raw view).
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
s.bind(("c0", 0))
s.settimeout(0.5)
end = time.monotonic() + float(sys.argv[1])
pkts = byts = 0
while time.monotonic() < end:
    try:
        d = s.recv(70000)
    except socket.timeout:
        continue
    if d[9] == 17 and d[12:16] == bytes([198, 18, 0, 1]):
        pkts += 1
        byts += len(d)
print(pkts, byts)
"""


def test_tftp_reflection_is_bounded(tmp_path):
    """A burst of spoofed-looking RRQs (16 bytes, 44 on the wire, a new source
    port each): each gets at most one packet back, and past --tftp-rate a
    source gets nothing. Before issue 11 each got DATA 1 three times."""
    (tmp_path / "big.bin").write_bytes(os.urandom(1 << 20))
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "big.bin", 0o644)
    with DhcpNet("sec-tftp") as net:
        with Netbootd(["--root", str(tmp_path), "--tftp", "198.18.0.1:69", "--http", "off",
                       "--dhcp", "off", "--tftp-rate", "10", "--tftp-timeout", "1",
                       "--tftp-retries", "1"],
                      netns=net.server_ns) as nb:
            counter = subprocess.Popen(["ip", "netns", "exec", net.client_ns, sys.executable, "-c",
                                        COUNT, "8"], stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            r = net.run(net.client_ns, [sys.executable, "-c", REFLECT, "69", "100"])
            assert r.returncode == 0, r.stderr
            out, _ = counter.communicate(timeout=30)
            pkts, byts = map(int, out.split())
            # A burst of 2 x rate = 20, plus what refills while they arrive: far below 100.
            assert 15 <= pkts <= 30, (pkts, byts)
            assert byts <= pkts * (516 + 28 + 14), byts  # one DATA 1 each, no resends
            assert "over 10 new requests a second (tftp-rate)" in nb.log()
            assert "no answer to the first packet" in nb.log()
            amplification = byts / (100 * 44)
            print(f"100 RRQs of 44 bytes: {pkts} packets, {byts} bytes back "
                  f"(x{amplification:.1f} overall; one answer is {558 / 44:.1f}x its request)")


# ---- small defects found on the way (issue 11 item 9) --------------------------------

def raw_http(port, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d


def test_debian_ipxe_efi_link_is_served_as_a_loader(tmp_path):
    """/usr/lib/ipxe/ipxe.efi is a symlink to /boot/ipxe.efi in Debian's
    package: loader directories are the administrator's, their links count."""
    link = Path("/usr/lib/ipxe/ipxe.efi")
    assert link.is_symlink(), "Debian's ipxe package ships ipxe.efi as a link"
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(tmp_path), "--http", f"127.0.0.1:{port}", "--tftp", "off",
                   "--dhcp", "off"]):
        data = raw_http(port, b"GET /ipxe.efi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert body == link.read_bytes()


def test_dot_segments_inside_the_root_are_served(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.txt").write_text("x\n")
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(tmp_path), "--http", f"127.0.0.1:{port}", "--tftp", "off",
                   "--dhcp", "off"]):
        data = raw_http(port, b"GET /sub/../x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nx\n"), data
        # Above the root stays refused.
        data = raw_http(port, b"GET /sub/../../x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 403"), data


def test_unknown_transfer_encoding_gets_501(tmp_path):
    (tmp_path / "x.txt").write_text("x\n")
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(tmp_path), "--http", f"127.0.0.1:{port}", "--tftp", "off",
                   "--dhcp", "off"]):
        data = raw_http(port, b"GET /x.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 501 Not Implemented"), data
        assert b"Connection: close" in data
        # chunked is a framing we know: served, then the connection closes.
        data = raw_http(port, b"GET /x.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200"), data


# ---- HTTP connection limits (issue 11 item 4) ------------------------------------------

def test_one_client_cannot_take_every_http_connection(tmp_path):
    """4200 idle connections from one address (more than the 4096 cap) must
    not lock out another client: when the cap is full the oldest idle
    connection is closed for the new one."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    (tmp_path / "x.txt").write_text("x\n")
    port = free_port(socket.SOCK_STREAM)
    held = []
    try:
        with Netbootd(["--root", str(tmp_path), "--http", f"0.0.0.0:{port}", "--tftp", "off",
                       "--dhcp", "off", "--http-idle-timeout", "120"]) as nb:
            for _ in range(4200):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", port))
                held.append(s)
            time.sleep(1)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
                c.settimeout(10)
                c.bind(("127.0.0.3", 0))
                c.connect(("127.0.0.1", port))
                c.sendall(b"GET /x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    data += d
            assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nx\n"), data[:200]
            assert '"GET /x.txt" 200' in nb.log()
    finally:
        for s in held:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


PER_CLIENT = r"""
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(15):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("198.18.0.1", port))
    socks.append(s)
time.sleep(1)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        d = s.recv(1)
        alive += 0 if d == b"" else 1   # b"": closed by the server
    except BlockingIOError:
        alive += 1                       # still open, nothing to read
    except ConnectionResetError:
        pass
print(alive)
"""


def test_http_per_client_connection_cap(tmp_path):
    with DhcpNet("sec-http") as net:
        with Netbootd(["--root", str(tmp_path), "--http", "198.18.0.1:8080", "--tftp", "off",
                       "--dhcp", "off", "--http-max-per-client", "10"],
                      netns=net.server_ns) as nb:
            r = net.run(net.client_ns, [sys.executable, "-c", PER_CLIENT, "8080"])
            assert r.returncode == 0, r.stderr
            assert int(r.stdout) == 10, r.stdout
            assert "198.18.0.2" in nb.log() and "per-client connection limit (10) reached" in nb.log()


def test_restart_does_not_report_the_lease_files_own_header(tmp_path):
    leases = tmp_path / "leasedir" / "leases"
    with DhcpNet("sec-hdr") as net:
        for _ in range(2):
            with Netbootd(server_args(tmp_path, leases), netns=net.server_ns) as nb:
                log = nb.log()
        assert leases.read_text().startswith("# netbootd leases v1: L ip mac expiry")
        assert f"lease file {leases}:1:" not in log, log
        assert "some lines skipped" not in log


# ---- status pages (issue 11 item 8) ----------------------------------------------------

def test_status_allow_limits_who_reads_the_status(tmp_path):
    """status-allow: /status, /status.json and /metrics (over HTTP, and the
    status documents over TFTP) only for the listed networks."""
    (tmp_path / "x.txt").write_text("x\n")
    hport = free_port(socket.SOCK_STREAM)
    tport = free_port()
    args = ["--root", str(tmp_path), "--http", f"0.0.0.0:{hport}", "--tftp", f"0.0.0.0:{tport}",
            "--dhcp", "off"]
    with Netbootd(args + ["--status-allow", "127.0.0.2/32, 198.18.0.0/15"]) as nb:
        for path in ("status", "status.json", "metrics"):
            req = f"GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            assert raw_http(port=hport, request=req).startswith(b"HTTP/1.1 403"), path
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
                c.bind(("127.0.0.2", 0))
                c.connect(("127.0.0.1", hport))
                c.sendall(req)
                data = b""
                while chunk := c.recv(65536):
                    data += chunk
            assert data.startswith(b"HTTP/1.1 200"), (path, data[:100])
        # Files are not affected.
        req = b"GET /x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert raw_http(port=hport, request=req).startswith(b"HTTP/1.1 200")
        out = tmp_path / "st"
        r = subprocess.run(["tftp", "127.0.0.1", str(tport), "-m", "binary", "-c", "get",
                            "status.json", str(out)], capture_output=True, text=True, timeout=30)
        assert "Error code 2: access violation" in r.stdout + r.stderr, r.stdout + r.stderr
        assert "/metrics refused (status-allow)" in nb.log()
    bad = run_netbootd(args + ["--status-allow", "lan"])
    assert bad.returncode == 2 and "status-allow: 'lan' is not a network (ADDR or ADDR/BITS)" in \
        bad.stderr, bad.stderr
