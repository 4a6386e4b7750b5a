"""What netbootd.service relies on, tested without systemd as PID 1 (these
machines have none): the notify protocol, journal priorities, an
unprivileged start with ambient capabilities that netbootd then drops, and
the unit file itself checked by systemd's own analyzer. CI also installs the
Debian package and runs the unit's command line (tests/integration/test_deb.py)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import REPO, Netbootd, default_user, free_port, netbootd_binary  # noqa: E402
from dhcpnet import SERVER_IP, DhcpNet  # noqa: E402


def notify_socket(tmp_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    s.bind(str(path))
    os.chmod(path, 0o777)  # the daemon sends after dropping to its user
    s.settimeout(20)
    return s, str(path)


def test_notify_ready_reload_stopping(tmp_path):
    """Type=notify: READY=1 only once every listener is bound (the port answers
    by then), RELOADING=1 + READY=1 around SIGHUP, STOPPING=1 on SIGTERM; the
    variable is not left for children."""
    sock, path = notify_socket(tmp_path)
    port = free_port()
    os.chmod(tmp_path, 0o755)
    nb = Netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{port}", "--http", "off",
                   "--dhcp", "off"], ready=None, env={"NOTIFY_SOCKET": path})
    with nb:
        msg = sock.recv(4096).decode()
        assert msg.split("\n")[0] == "READY=1", msg
        assert "ready: " in nb.log(), "READY=1 before the daemon said it serves"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:  # bound: ERROR 1 comes back
            c.settimeout(5)
            c.sendto(b"\x00\x01nope\x00octet\x00", ("127.0.0.1", port))
            assert c.recvfrom(512)[0][:4] == b"\x00\x05\x00\x01"
        nb.proc.send_signal(signal.SIGHUP)
        assert sock.recv(4096) == b"RELOADING=1"
        assert sock.recv(4096) == b"READY=1"
        nb.proc.send_signal(signal.SIGTERM)
        assert sock.recv(4096) == b"STOPPING=1"
        assert nb.proc.wait(timeout=10) == 0
    sock.close()


def test_notify_abstract_socket_and_bad_variable(tmp_path):
    """An abstract socket (@name) works too; a variable that names no socket
    is reported and the daemon serves anyway."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"netbootd-test-{os.getpid()}"
    s.bind("\0" + name)
    s.settimeout(20)
    os.chmod(tmp_path, 0o755)
    args = ["--root", str(tmp_path), "--tftp", f"127.0.0.1:{free_port()}", "--http", "off",
            "--dhcp", "off"]
    with Netbootd(args, ready=None, env={"NOTIFY_SOCKET": "@" + name}):
        assert s.recv(4096).startswith(b"READY=1")
    s.close()
    with Netbootd(args, env={"NOTIFY_SOCKET": "relative/path"}) as nb:
        assert "NOTIFY_SOCKET=relative/path: not a socket path" in nb.log()


def test_journal_priorities(tmp_path):
    """With stderr on the journal ($JOURNAL_STREAM names it), each line starts
    with its syslog priority and has no time stamp of its own."""
    os.chmod(tmp_path, 0o755)
    nb = Netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{free_port()}", "--http", "off",
                   "--dhcp", "off", "--user", "root"])
    st = os.fstat(nb.logfile.fileno())
    nb.env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    with nb:
        lines = nb.log().splitlines()
    assert any(re.match(r"<6>main: netbootd \S+ ready: ", line) for line in lines), lines
    assert any(line.startswith("<4>main: --user root is root") for line in lines), lines
    assert all(re.match(r"<[3467]>\w+: ", line) for line in lines if line), lines
    # Not the journal's stream (another file): the usual time-stamped lines.
    with Netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{free_port()}", "--http", "off",
                   "--dhcp", "off"], env={"JOURNAL_STREAM": "1:2"}) as nb2:
        assert re.search(r"^\d{4}-\d\d-\d\dT\S+Z info main: ", nb2.log(), re.M)


def capabilities(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    caps = {k: int(v, 16) for k, v in re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", status, re.M)}
    caps["NoNewPrivs"] = int(re.search(r"^NoNewPrivs:\s+(\d)", status, re.M).group(1))
    return caps


CAP_NET_BIND_SERVICE, CAP_NET_RAW = 1 << 10, 1 << 13


@pytest.mark.parametrize("interface", [False, True])
def test_unprivileged_start_as_the_unit_does(tmp_path, interface):
    """User=netbootd with AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW,
    as netbootd.service starts it (setpriv does what systemd would): it binds
    ports 67, 69, 4011 and 80 and opens its packet socket, then holds no
    capability (CAP_NET_BIND_SERVICE alone with `interface`, to rebind 67)."""
    user = default_user()
    exe = tmp_path / "netbootd"
    shutil.copy(netbootd_binary(), exe)  # where the unprivileged user may run it
    (tmp_path / "root").mkdir()
    (tmp_path / "root/hello.txt").write_text("hello\n")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, user.pw_uid, user.pw_gid)
    for p in (tmp_path, tmp_path / "root"):
        os.chmod(p, 0o755)
    wrapper = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
               "--inh-caps=+net_bind_service,+net_raw", "--ambient-caps=+net_bind_service,+net_raw",
               "--bounding-set=-all,+net_bind_service,+net_raw"]
    with DhcpNet("unpriv") as net:
        args = ["--root", str(tmp_path / "root"), "--tftp", f"{SERVER_IP}:69", "--http",
                f"{SERVER_IP}:80", "--dhcp", "server", "--pool", "198.18.0.100-198.18.0.110",
                "--lease-file", str(state / "leases"), "--cache-dir", str(state / "cache")]
        if interface:
            args += ["--interface", "s0"]
        nb = Netbootd(args, netns=net.server_ns, binary=str(exe))
        nb.command = lambda: ["ip", "netns", "exec", net.server_ns] + wrapper + [str(exe)] + nb.args
        with nb:
            log = nb.log()
            assert "started unprivileged): capabilities dropped" in log, log
            assert "no packet socket" not in log, "CAP_NET_RAW did not reach the packet socket"
            caps = capabilities(nb.proc.pid)
            want = CAP_NET_BIND_SERVICE if interface else 0
            assert caps["CapEff"] == want and caps["CapPrm"] == want, caps
            assert caps["CapAmb"] == 0 and caps["CapInh"] == 0 and caps["NoNewPrivs"] == 1, caps
            r = net.run(net.client_ns, ["curl", "-sS", "--max-time", "10",
                                        f"http://{SERVER_IP}/hello.txt"])
            assert r.stdout == "hello\n", r.stderr
            r = net.run(net.client_ns, ["tftp", SERVER_IP, "-c", "get", "hello.txt", "/dev/stdout"])
            assert "hello" in r.stdout, (r.stdout, r.stderr)


def analyze(*args, cwd=None):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def installed_unit(tmp_path):
    """The unit as make install writes it (paths filled in)."""
    stage = tmp_path / "stage"
    r = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={stage}",
                        "PREFIX=/usr", "systemdunitdir=/lib/systemd/system"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return stage / "lib/systemd/system/netbootd.service"


def test_unit_file_paths_and_exposure(tmp_path):
    """The installed unit names the installed binary and config, and systemd's
    own analyzer rates its sandbox at most 2.0 (OK: low exposure)."""
    unit = installed_unit(tmp_path)
    text = unit.read_text()
    assert "ExecStart=/usr/sbin/netbootd --config /etc/netbootd/netbootd.conf" in text
    assert "User=netbootd" in text and "@" not in re.sub(r"(?m)^#.*$", "", text).replace(
        "@system-service", "").replace("@privileged", "").replace("@resources", "")
    r = analyze("security", "--offline=yes", str(unit), cwd=unit.parent)
    m = re.search(r"Overall exposure level for netbootd.service: (\d+\.\d)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout
    # Everything the job needs, and nothing the analyzer counts as dangerous beyond it.
    for good in ("CapabilityBoundingSet=~CAP_SYS_ADMIN", "PrivateTmp=", "NoNewPrivileges=",
                 "ProtectSystem=", "SystemCallFilter=~@mount", "SystemCallFilter=~@module",
                 "User=/DynamicUser=", "MemoryDenyWriteExecute="):
        line = next((line for line in r.stdout.splitlines() if good in line), "")
        assert line.startswith("✓"), (good, line)


def test_unit_verifies(tmp_path):
    """systemd-analyze verify: every directive known, values well-formed, the
    ExecStart binary there and executable (the staged one: this checks the
    unit, the package test checks it where apt put it)."""
    unit = installed_unit(tmp_path)
    stage = unit.parents[3]
    copy = tmp_path / "netbootd.service"
    copy.write_text(unit.read_text().replace("ExecStart=/usr/sbin/netbootd",
                                             f"ExecStart={stage}/usr/sbin/netbootd"))
    r = analyze("verify", "--man=no", str(copy))
    assert r.returncode == 0 and "netbootd.service" not in r.stdout + r.stderr, r.stdout + r.stderr
    # A typo is caught: the check can fail.
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystem=strictly"))
    r = analyze("verify", "--man=no", str(copy))
    assert "netbootd.service:" in r.stdout + r.stderr and "Failed to parse" in r.stdout + r.stderr, \
        r.stdout + r.stderr
