"""TFTP under loss, duplication and reordering (tc netem), between two network
namespaces: 100 concurrent transfers must all finish with the right bytes.
Also checks the blksize cap from the path MTU (1500, so 1468).

The namespaces are joined by a veth pair with `tc netem` on both ends. Where
the kernel has no sch_netem (some CI kernels are built without it), they are
joined by two TUN devices and tftp_impair.py, which applies the same loss,
duplication and reordering in userspace.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon import Netbootd  # noqa: E402
from tftp_helpers import tftpc  # noqa: E402

NETEM = "loss 5% duplicate 5% reorder 25% delay 2ms"
SERVER_IP, CLIENT_IP = "198.18.0.1", "198.18.0.2"


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def netem_available(ns):
    """Try netem on a scratch veth inside ns."""
    subprocess.run(["ip", "-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"],
                   capture_output=True)
    r = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "probe0", "root", "netem",
                        "delay", "1ms"], capture_output=True)
    subprocess.run(["ip", "-n", ns, "link", "del", "probe0"], capture_output=True)
    return r.returncode == 0


@pytest.fixture
def netns_pair():
    """Two namespaces, unimpaired for now; yields (srv, cli, impair) where
    impair() switches loss/duplication/reordering on."""
    tag = f"{os.getpid() % 100000}"
    srv, cli = f"nbd-tftp-s{tag}", f"nbd-tftp-c{tag}"
    impairer = None
    try:
        for ns in (srv, cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        if netem_available(srv):
            sh("ip", "-n", srv, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", cli)
            sh("ip", "-n", srv, "addr", "add", f"{SERVER_IP}/24", "dev", "veth0")
            sh("ip", "-n", cli, "addr", "add", f"{CLIENT_IP}/24", "dev", "veth1")
            sh("ip", "-n", srv, "link", "set", "veth0", "up")
            sh("ip", "-n", cli, "link", "set", "veth1", "up")

            def impair():
                sh("ip", "netns", "exec", srv, "tc", "qdisc", "add", "dev", "veth0", "root", "netem",
                   *NETEM.split())
                sh("ip", "netns", "exec", cli, "tc", "qdisc", "add", "dev", "veth1", "root", "netem",
                   *NETEM.split())
        else:
            # No sch_netem: TUN pair + userspace impairment, off (all zero) at first.
            state = {}

            def start(loss, dup, reorder, delay):
                if state.get("p"):
                    state["p"].kill()
                    state["p"].wait()
                    subprocess.run(["ip", "-n", srv, "link", "del", "tunS"], capture_output=True)
                    subprocess.run(["ip", "-n", cli, "link", "del", "tunC"], capture_output=True)
                p = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable,
                                      str(Path(__file__).with_name("tftp_impair.py")), srv, cli, SERVER_IP,
                                      CLIENT_IP, str(loss), str(dup), str(reorder), str(delay)],
                                     stdout=subprocess.PIPE, text=True)
                state["p"] = p
                assert p.stdout.readline().strip() == "READY"

            start(0, 0, 100, 0)

            def impair():
                start(5, 5, 25, 2)
            impairer = state
        yield srv, cli, impair
    finally:
        if impairer and impairer.get("p"):
            impairer["p"].kill()
            impairer["p"].wait()
        for ns in (srv, cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_netem_100_transfers(netns_pair, tmp_path):
    srv_ns, cli_ns, impair = netns_pair
    root = tmp_path / "root"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    small = root / "small.bin"
    small.write_bytes(os.urandom(48 * 1024 + 7))
    big = root / "big.bin"
    big.write_bytes(os.urandom(256 * 1024))
    with Netbootd(["--root", str(root), "--tftp", f"{SERVER_IP}:69", "--http", "off", "--dhcp", "off",
                   "--tftp-max-per-client", "200"], netns=srv_ns) as nb:
        # Path MTU cap, before any loss: the veth has MTU 1500.
        r = tftpc(["-b", "65464", "-c", str(big)], 69, "big.bin", host=SERVER_IP, netns=cli_ns)
        assert r["ok"] == "1" and r["blksize"] == "1468", r

        impair()

        # 100 at once: 50 lock-step at 512, 50 with windowsize 8 at 1468.
        # The client dallies after its last ACK so a lost final ACK is repaired
        # (long enough for the server's 1 + 2 + 4 s backoff).
        results = {}
        common = ["-n", "50", "-R", "500", "-r", "30", "-D", "7500", "-c", str(small)]

        def run(key, extra):
            results[key] = tftpc(common + extra, 69, "small.bin", host=SERVER_IP, netns=cli_ns, timeout=170)

        threads = [threading.Thread(target=run, args=("lockstep", ["-b", "512"])),
                   threading.Thread(target=run, args=("window", ["-b", "1468", "-w", "8"]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, r in results.items():
            assert r["ok"] == "50" and r["failed"] == "0" and r["mismatches"] == "0", (key, r)
        # The network really was lossy: the clients had to retransmit.
        assert int(results["lockstep"]["retrans"]) + int(results["window"]["retrans"]) > 0, results
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and nb.log().count('"small.bin"') < 100:
            time.sleep(0.2)
        log = nb.log()
        print(results, "server complete:", log.count(": complete"), "failed:", log.count(": failed"))
        # Every transfer also ended well on the server's side (a final ACK lost
        # for good would show as "failed: timed out" there).
        assert log.count('"small.bin"') >= 100 and log.count(": complete") >= 100, log[-3000:]
