"""The sandbox after start-up (docs/security.md), each as what it stops:

- code run inside the daemon (an exploit, here a preloaded library that
  calls execve() on a signal) is refused by the seccomp allow-list: the
  daemon logs the call by name and dies of SIGSYS, and the shell never runs;
  with --no-seccomp the same library does run it (the test can fail);
- the process has no root, no capability but CAP_NET_BIND_SERVICE (kept only
  to rebind port 67 on a re-created interface), cwd "/", umask 027;
- an --interface deleted and re-created (SO_BINDTODEVICE pins the old
  index) gets DHCP again, with a log line for each step.
"""
import os
import re
import socket
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, free_port  # noqa: E402
from dhcpnet import CLIENT_IP, PY, SERVER_IP, DhcpNet, sh  # noqa: E402

EXEC_ON_SIGNAL = r"""
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static const char *mark;
static void on_usr2(int sig)
{
	(void)sig;
	char cmd[512] = "touch ";
	for (int i = 0; mark[i] && i < 400; i++) cmd[6 + i] = mark[i], cmd[7 + i] = 0;
	char *argv[] = { "/bin/sh", "-c", cmd, 0 };
	char *envp[] = { 0 };
	execve("/bin/sh", argv, envp);
	_exit(99); /* execve failed without the filter killing us */
}
__attribute__((constructor)) static void init(void)
{
	mark = getenv("NBD_TEST_MARK");
	if (mark)
		signal(SIGUSR2, on_usr2);
}
"""


@pytest.fixture(scope="module")
def exec_lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("preload")
    src = d / "exec_on_signal.c"
    src.write_text(EXEC_ON_SIGNAL)
    lib = d / "exec_on_signal.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def quick_args(root):
    return ["--root", str(root), "--tftp", f"127.0.0.1:{free_port()}", "--http",
            f"127.0.0.1:{free_port(kind=socket.SOCK_STREAM)}", "--dhcp", "off"]


def run_exploit(tmp_path, exec_lib, extra):
    # Where the daemon's user (not root) could write, were it to run a shell.
    drop = Path(tempfile.mkdtemp(prefix="nbd-sandbox-"))
    os.chmod(drop, 0o1777)
    mark = drop / "pwned"
    env = {"LD_PRELOAD": str(exec_lib), "NBD_TEST_MARK": str(mark),
           # The sanitizer runtime must come first unless told otherwise.
           "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:verify_asan_link_order=0"}
    nb = Netbootd(quick_args(tmp_path) + extra, env=env).start()
    try:
        os.kill(nb.proc.pid, signal.SIGUSR2)
        try:
            rc = nb.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        time.sleep(0.5)  # the shell, if it ran, has touched the mark
        return rc, mark.exists(), nb.log()
    finally:
        if nb.proc.poll() is None:
            nb.stop(check_sanitizers=False)
        shutil.rmtree(drop, ignore_errors=True)


def test_execve_after_start_up_is_refused(tmp_path, exec_lib):
    rc, pwned, log = run_exploit(tmp_path, exec_lib, [])
    assert not pwned, "the shell ran: execve() was allowed after start-up\n" + log
    assert rc == -signal.SIGSYS, f"exit {rc}, not SIGSYS\n{log}"
    assert re.search(r"sandbox: refused system call \d+ \(execve\): stopping", log), log
    assert "system calls allowed" in log


def test_without_seccomp_the_same_exploit_runs(tmp_path, exec_lib):
    """The control: proves the preloaded library really calls execve()."""
    rc, pwned, log = run_exploit(tmp_path, exec_lib, ["--no-seccomp"])
    assert pwned, f"exit {rc}: the library did not run the shell\n{log}"
    assert "seccomp off" in log


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return fields


def test_serving_process_has_no_root_no_caps_cwd_root_umask_027(tmp_path):
    with Netbootd(quick_args(tmp_path)) as nb:
        st = proc_status(nb.proc.pid)
        uids = st["Uid"].split()
        assert "0" not in uids, st["Uid"]
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
        assert st["NoNewPrivs"] == "1"
        assert st["Seccomp"] == "2", "filter mode"
        assert st["Umask"] == "0027"
        assert os.readlink(f"/proc/{nb.proc.pid}/cwd") == "/"


# RTM_DELLINK for ifindex argv[2] named s0, sent to netlink port argv[1].
FORGE_DELLINK = r"""
import socket, struct, sys
name = b"s0\0"
rta = struct.pack("=HH", 4 + len(name), 3) + name          # IFLA_IFNAME
rta += b"\0" * (-len(rta) % 4)
ifi = struct.pack("=BxHiII", 0, 0, int(sys.argv[2]), 0, 0)
msg = struct.pack("=IHHII", 16 + len(ifi) + len(rta), 17, 0, 1, 0) + ifi + rta  # RTM_DELLINK
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.sendto(msg, (int(sys.argv[1]), 0))
"""


def netlink_port(pid):
    """The port id of pid's rtnetlink socket (from /proc/net/netlink, by inode)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for line in Path(f"/proc/{pid}/net/netlink").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == "0" and f[-1] in inodes:  # NETLINK_ROUTE
            return int(f[2])
    raise AssertionError("no rtnetlink socket in the daemon")


def test_interface_deleted_and_recreated_gets_dhcp_again(tmp_path):
    with DhcpNet("relink") as net:
        args = ["--root", str(tmp_path), "--dhcp", "server", "--pool",
                "198.18.0.10-198.18.0.20", "--lease-file", str(tmp_path / "leases" / "l"),
                "--interface", "s0", "--tftp", "off",
                "--http", "off", "--netmask", "255.255.255.0"]
        with Netbootd(args, netns=net.server_ns) as nb:
            st = proc_status(nb.proc.pid)
            # Only what rebinding port 67 needs, and only because of --interface.
            assert int(st["CapEff"], 16) == 1 << 10, st["CapEff"]  # CAP_NET_BIND_SERVICE
            offer = net.client(["--type", "discover", "--mac", "52:54:00:be:00:01"])
            assert [o["type"] for o in offer] == ["OFFER"], offer

            # Someone forges the kernel's "s0 deleted" to our netlink socket: ignored. (The
            # kernel already refuses it from unprivileged users; this one has the right.)
            ifindex = int(net.run(net.server_ns, ["cat", "/sys/class/net/s0/ifindex"]).stdout)
            forge = net.run(net.server_ns, [PY, "-c", FORGE_DELLINK,
                                            str(netlink_port(nb.proc.pid)), str(ifindex)])
            assert forge.returncode == 0, forge.stderr
            time.sleep(0.5)
            assert "is gone" not in nb.log(), "a forged netlink message was believed"
            assert net.client(["--type", "discover", "--mac", "52:54:00:be:00:01"])

            # The NIC goes away (a VM's tap, a USB NIC) and comes back under the same name.
            sh("ip", "-n", net.server_ns, "link", "del", "s0")
            deadline = time.monotonic() + 10
            while "s0 (index" not in nb.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "is gone: no DHCP there until it comes back" in nb.log()
            sh("ip", "-n", net.server_ns, "link", "add", "s0", "type", "veth", "peer", "name",
               "c0", "netns", net.client_ns)
            sh("ip", "-n", net.server_ns, "addr", "add", SERVER_IP + "/24", "dev", "s0")
            sh("ip", "-n", net.client_ns, "addr", "add", CLIENT_IP + "/24", "dev", "c0")
            sh("ip", "-n", net.server_ns, "link", "set", "s0", "up")
            sh("ip", "-n", net.client_ns, "link", "set", "c0", "up")
            deadline = time.monotonic() + 10
            while "s0 is back" not in nb.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "listening there again on UDP 67 and 4011" in nb.log(), nb.log()
            offer = []
            for _ in range(5):  # the new veth may take a moment to pass traffic
                offer = net.client(["--type", "discover", "--mac", "52:54:00:be:00:02"])
                if offer:
                    break
            assert [o["type"] for o in offer] == ["OFFER"], nb.log()
            assert "cannot be bound" not in nb.log()
