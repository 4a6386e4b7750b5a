"""Live reload (SIGHUP): new profiles, hosts and live [server] keys take effect
without a restart; a bad file is refused with file:line and the running
configuration keeps serving; TFTP and HTTP transfers in flight and DHCP leases
survive every reload."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, free_port  # noqa: E402
from dhcpnet import SERVER_IP, DhcpNet  # noqa: E402
from tftp_helpers import sha256, tftpc_binary  # noqa: E402

MAC = "52:54:00:ee:00:01"
OTHER = "52:54:00:ee:00:02"

CONF = """\
[server]
root = {root}
{server}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 {word}
[profile shell]
efi = shell.efi
{extra}
"""


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    r.mkdir()
    (r / "vmlinuz").write_bytes(b"K" * 4096)
    (r / "initrd.img").write_bytes(b"I" * 8192)
    (r / "shell.efi").write_bytes(b"MZ" + b"E" * 1000)
    os.chmod(tmp_path, 0o755)
    for p in [r] + list(r.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return r


def write_conf(path, root, word="first", server="", extra=""):
    path.write_text(CONF.format(root=root, word=word, server=server, extra=extra))
    os.chmod(path, 0o644)


def outcomes(nb):
    log = nb.log()
    return len(re.findall(r"reload: .* applied: ", log)), len(re.findall(r"reload: .*: refused", log))


def hup(nb, timeout=20):
    """SIGHUP, then wait for the reload's verdict; returns 'applied' or 'refused'."""
    before = outcomes(nb)
    nb.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = outcomes(nb)
        if now[0] > before[0]:
            return "applied"
        if now[1] > before[1]:
            return "refused"
        assert nb.proc.poll() is None, f"netbootd died on SIGHUP:\n{nb.log()[-4000:]}"
        time.sleep(0.02)
    raise AssertionError(f"no reload verdict in {timeout}s:\n{nb.log()[-4000:]}")


def script(port, mac=MAC):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/boot/{mac}.ipxe", timeout=10) as r:
        return r.read().decode()


def daemon_args(conf, http, tftp="off"):
    return ["--config", str(conf), "--tftp", tftp, "--http", f"127.0.0.1:{http}", "--dhcp", "off"]


def test_reload_applies_profiles_hosts_and_refuses_a_bad_file(root, tmp_path):
    conf = tmp_path / "netbootd.conf"
    write_conf(conf, root, word="first")
    http = free_port(socket.SOCK_STREAM)
    with Netbootd(daemon_args(conf, http)) as nb:
        assert "console=ttyS0 first" in script(http)
        assert "profile linux" in script(http, OTHER)

        # A new command line for everyone, and a host moved to another profile.
        write_conf(conf, root, word="second", extra=f"[host {OTHER}]\nprofile = shell\n")
        assert hup(nb) == "applied"
        assert "console=ttyS0 second" in script(http)
        s = script(http, OTHER)
        assert "profile shell" in s and "shell.efi" in s, s
        assert "2 profiles, 1 host" in nb.log()

        # A broken file: every error named by file:line, nothing of it served.
        conf.write_text(CONF.format(root=root, word="third", server="tftp-rate = many",
                                    extra="[host 52:54:00:ee:00:03]\nprofile = missing\n"
                                          "this line is no setting\n"))
        assert hup(nb) == "refused"
        log = nb.log()
        assert f"{conf}:3: [server]: tftp-rate: 'many' is not a number" in log, log[-3000:]
        assert re.search(re.escape(str(conf)) + r":1[0-9]: ", log), log[-3000:]
        assert "the previous configuration keeps serving" in log
        assert "console=ttyS0 second" in script(http), "a refused file changed what is served"
        assert "profile shell" in script(http, OTHER)

        # Fixed again: applied, and the daemon never stopped answering.
        write_conf(conf, root, word="fourth")
        assert hup(nb) == "applied"
        assert "console=ttyS0 fourth" in script(http)
        assert "profile linux" in script(http, OTHER), "the removed [host] still applies"
        assert nb.proc.poll() is None


def test_reload_live_keys_apply_and_restart_keys_wait(root, tmp_path):
    conf = tmp_path / "netbootd.conf"
    other_root = tmp_path / "elsewhere"
    other_root.mkdir()
    write_conf(conf, root)
    http = free_port(socket.SOCK_STREAM)
    with Netbootd(daemon_args(conf, http)) as nb:
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/status.json", timeout=10) as r:
            assert r.status == 200
        # status-allow is live: loopback is shut out at once. root is not:
        # it is named as waiting for a restart and the old root keeps serving.
        conf.write_text(CONF.format(root=other_root, word="x", extra="",
                                    server="status-allow = 198.18.0.0/15\nlog-level = debug"))
        assert hup(nb) == "applied"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{http}/status.json", timeout=10)
        assert e.value.code == 403
        log = nb.log()
        assert "[server] root changed: it takes effect when netbootd restarts" in log
        assert "[server] status-allow changed" not in log
        assert "2 [server] settings changed" in log
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/vmlinuz", timeout=10) as r:
            assert r.read() == b"K" * 4096, "the running root must keep serving"
        # log-level = debug took effect: debug lines appear after the reload.
        script(http)
        assert " debug " in nb.log().split("applied: ")[-1]


def test_reload_relative_config_path(root, tmp_path):
    """The daemon moves to / when it enters its sandbox; a relative --config
    must still be found by a reload."""
    conf = tmp_path / "netbootd.conf"
    write_conf(conf, root, word="rel1")
    http = free_port(socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        nb = Netbootd(["--config", "netbootd.conf", "--tftp", "off", "--http",
                       f"127.0.0.1:{http}", "--dhcp", "off"]).start()
    finally:
        os.chdir(cwd)
    try:
        write_conf(conf, root, word="rel2")
        assert hup(nb) == "applied"
        assert "console=ttyS0 rel2" in script(http)
    finally:
        nb.stop()


def test_reload_without_config_file(root):
    http = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(root), "--tftp", "off", "--http", f"127.0.0.1:{http}",
                   "--dhcp", "off"]) as nb:
        nb.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "only the TLS certificate is read again" not in nb.log():
            assert time.monotonic() < deadline, nb.log()
            time.sleep(0.02)
        assert nb.proc.poll() is None


def test_transfers_in_flight_survive_ten_reloads(root, tmp_path):
    """20 TFTP and 8 HTTP downloads of a 24 MiB file run while the file is
    rewritten and reloaded ten times (one of them refused): every byte of
    every transfer arrives, and every transfer was still running when the
    last reload landed."""
    big = root / "big.img"
    with open(big, "wb") as f:
        f.write(os.urandom(24 << 20))
    os.chmod(big, 0o644)
    want = sha256(big)
    conf = tmp_path / "netbootd.conf"
    write_conf(conf, root, word="r0", server="tftp-max-per-client = 64")
    http = free_port(socket.SOCK_STREAM)
    tftp = free_port()
    with Netbootd(daemon_args(conf, http, tftp=f"127.0.0.1:{tftp}")) as nb:
        tftp_clients = subprocess.Popen(
            [tftpc_binary(), "-n", "20", "-b", "512", "-c", str(big), "127.0.0.1", str(tftp),
             "big.img"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outs = [tmp_path / f"http{i}.img" for i in range(8)]
        curls = [subprocess.Popen(["curl", "-sS", "--fail", "--limit-rate", "3M", "-o", str(o),
                                   f"http://127.0.0.1:{http}/big.img"],
                                  stderr=subprocess.PIPE, text=True) for o in outs]
        time.sleep(0.5)
        verdicts = []
        for i in range(1, 11):
            if i == 5:
                conf.write_text("[server]\nroot = {}\n[profile broken\n".format(root))
            else:
                write_conf(conf, root, word=f"r{i}", server="tftp-max-per-client = 64",
                           extra=f"[host {OTHER}]\nprofile = shell\n" if i % 2 else "")
            verdicts.append(hup(nb))
            time.sleep(0.15)
        assert verdicts == ["applied"] * 4 + ["refused"] + ["applied"] * 5, verdicts
        assert tftp_clients.poll() is None, "TFTP transfers ended before the reloads did"
        assert all(c.poll() is None for c in curls), "HTTP transfers ended before the reloads did"
        assert "console=ttyS0 r10" in script(http)

        out, err = tftp_clients.communicate(timeout=600)
        assert tftp_clients.returncode == 0, (out, err, nb.log()[-3000:])
        assert "ok=20 failed=0 " in out and " mismatches=0 " in out, out
        for c, o in zip(curls, outs):
            assert c.wait(timeout=600) == 0, c.stderr.read()
            assert sha256(o) == want, f"{o}: bytes changed during reloads"
        assert nb.proc.poll() is None


def test_reload_dhcp_answers_use_new_arch_loader_and_leases_survive(root, tmp_path):
    """Server mode: a lease taken before the reload is the same lease after it
    (same address for the same MAC, a fresh MAC still gets a new one), and the
    boot file answered to a UEFI PXE client follows the reloaded [arch]."""
    lease_file = tmp_path / "leases" / "dhcp.leases"
    conf = tmp_path / "netbootd.conf"
    base = ("dhcp = server\npool = 198.18.0.10-198.18.0.200\nlease-file = {}\n"
            "tftp = off\nhttp = off\n").format(lease_file)
    write_conf(conf, root, server=base)
    pxe7 = ["--opt", "60=PXEClient:Arch:00007:UNDI:003016", "--opt", "93=hex:0007"]
    with DhcpNet("reload") as net:
        with Netbootd(["--config", str(conf)], netns=net.server_ns) as nb:
            def dora(mac):
                offer = net.client(["--type", "discover", "--mac", mac] + pxe7)
                assert [o["type"] for o in offer] == ["OFFER"], offer
                ip = offer[0]["yiaddr"]
                ack = net.client(["--type", "request", "--mac", mac, "--opt", f"50=ip:{ip}",
                                  "--opt", f"54=ip:{SERVER_IP}"] + pxe7)
                assert [a["type"] for a in ack] == ["ACK"], ack
                return ip, ack[0]["file"]

            ip1, file1 = dora(MAC)
            assert file1.endswith("snponly.efi"), file1
            write_conf(conf, root, server=base, extra="[arch 7]\nloader = custom-uefi.efi\n"
                       f"[host {OTHER}]\nprofile = shell\naddress = 198.18.0.99\n")
            assert hup(nb) == "applied"
            ip1b, file1b = dora(MAC)
            assert ip1b == ip1, "the lease did not survive the reload"
            assert file1b == "custom-uefi.efi", file1b
            ip2, _ = dora(OTHER)
            assert ip2 == "198.18.0.99", "the reloaded [host] fixed address is not honoured"
            assert f"{MAC[-5:]}" and nb.proc.poll() is None


def test_hosts_dir_is_picked_up_without_a_signal(root, tmp_path):
    """One file per machine: a file written into hosts-dir applies within a
    second, with no SIGHUP; a bad one is refused with its file:line and the
    machines keep their profiles; a file removed takes its machine away."""
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    hosts.chmod(0o755)
    conf = tmp_path / "netbootd.conf"
    write_conf(conf, root, word="hd", server=f"hosts-dir = {hosts}")
    http = free_port(socket.SOCK_STREAM)

    def settled(nb, n):
        deadline = time.monotonic() + 20
        while sum(outcomes(nb)) < n:
            assert time.monotonic() < deadline, nb.log()[-3000:]
            time.sleep(0.05)

    with Netbootd(daemon_args(conf, http)) as nb:
        assert "profile linux" in script(http, OTHER)
        # Written the way tools do it: a temp file, then a rename into place.
        tmp = hosts / ".node2.conf.tmp"
        tmp.write_text(f"[host {OTHER}]\nprofile = shell\n")
        tmp.chmod(0o644)
        tmp.rename(hosts / "node2.conf")
        settled(nb, 1)
        assert outcomes(nb) == (1, 0)
        assert "profile shell" in script(http, OTHER)

        bad = hosts / "node3.conf"
        bad.write_text(f"[host {MAC}]\nprofile = nosuch\n")
        bad.chmod(0o644)
        settled(nb, 2)
        assert outcomes(nb) == (1, 1)
        assert f"{bad}:2: [host {MAC}]: profile: no profile 'nosuch'" in nb.log()
        assert "profile shell" in script(http, OTHER), "a refused hosts file changed what is served"
        bad.unlink()
        settled(nb, 3)
        (hosts / "node2.conf").unlink()
        settled(nb, 4)
        assert outcomes(nb) == (3, 1)
        assert "profile linux" in script(http, OTHER)
        # An editor's hidden swap file is nobody's machine: no reload.
        (hosts / ".node9.conf.swp").write_text("junk")
        time.sleep(1.0)
        assert outcomes(nb) == (3, 1)
