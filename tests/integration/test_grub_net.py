"""`method = grub` with nothing in the root (src/boot/grubcache.c): netbootd
builds GRUB's network images at start-up and serves GRUB's modules from the
Debian packages as boot/grub/. In proxy mode the images carry netbootd's
address, so GRUB does not ask the LAN's DHCP server for its files; where that
address is ambiguous, start-up stops and says how to fix it. Real binary, in
a network namespace, fetched with tftp-hpa. (The boots are
tests/e2e/test_boot_grub.py.)"""
import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, run_netbootd  # noqa: E402
from dhcpnet import SERVER_IP, DhcpNet  # noqa: E402



@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(b"kernel")
    for p in (tmp_path, root):
        os.chmod(p, 0o755)
    os.chmod(root / "vmlinuz", 0o644)
    conf = tmp_path / "netbootd.conf"
    conf.write_text(f"[server]\nroot = {root}\ncache-dir = {tmp_path / 'cache'}\n"
                    "[default]\nprofile = g\n[profile g]\nkernel = vmlinuz\nmethod = grub\n")
    return tmp_path, root, conf


def tftp_get(net, name, dest):
    r = net.run(net.client_ns, ["tftp", SERVER_IP, "-m", "octet", "-c", "get", name, str(dest)])
    return r.returncode == 0 and dest.exists() and "Error" not in r.stdout + r.stderr


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_proxy_mode_builds_images_with_our_address(setup):
    tmp_path, root, conf = setup
    with DhcpNet("grubnet") as net:
        with Netbootd(["--config", conf, "--dhcp", "proxy", "--tftp", f"{SERVER_IP}:69",
                       "--http", "off"], netns=net.server_ns, timeout=60) as nb:
            log = nb.log()
            assert "method grub: built" in log and f"GRUB fetches from {SERVER_IP}" in log, log
            got = tmp_path / "got"
            got.mkdir()
            os.chmod(got, 0o777)
            # The UEFI image names our TFTP server in its prefix.
            assert tftp_get(net, "boot/grub/x86_64-efi/core.efi", got / "core.efi")
            assert f"(tftp,{SERVER_IP})/boot/grub".encode() in (got / "core.efi").read_bytes()
            assert (got / "core.efi").read_bytes()[:2] == b"MZ"
            # The BIOS image is a PXE NBP (compressed: check it is the built one).
            assert tftp_get(net, "boot/grub/i386-pc/core.0", got / "core.0")
            assert sha(got / "core.0") == sha(tmp_path / "cache/grub-net/i386-pc/core.0")
            # Modules come byte for byte from the package GRUB was built from.
            for plat, mod in (("i386-pc", "normal.mod"), ("x86_64-efi", "linux.mod")):
                assert tftp_get(net, f"boot/grub/{plat}/{mod}", got / mod)
                assert sha(got / mod) == sha(f"/usr/lib/grub/{plat}/{mod}"), mod
            # The per-machine config is still generated, and nothing escapes.
            assert tftp_get(net, "boot/grub/grub.cfg-01-52-54-00-00-00-01", got / "cfg")
            assert "linux /vmlinuz" in (got / "cfg").read_text()
            assert not tftp_get(net, "boot/grub/../../../etc/passwd", got / "passwd")
            assert not tftp_get(net, "boot/grub/i386-pc/../../../../etc/passwd", got / "p2")


def test_server_addr_wins(setup):
    tmp_path, root, conf = setup
    with DhcpNet("grubsa") as net:
        with Netbootd(["--config", conf, "--dhcp", "proxy", "--server-addr", "198.18.0.77",
                       "--tftp", f"{SERVER_IP}:69", "--http", "off"], netns=net.server_ns,
                      timeout=60) as nb:
            assert "GRUB fetches from 198.18.0.77 (server-addr)" in nb.log(), nb.log()
        efi = (tmp_path / "cache/grub-net/x86_64-efi/core.efi").read_bytes()
        assert b"(tftp,198.18.0.77)/boot/grub" in efi


def test_server_mode_leaves_the_server_to_dhcp(setup):
    tmp_path, root, conf = setup
    with DhcpNet("grubsrv") as net:
        with Netbootd(["--config", conf, "--dhcp", "server", "--pool",
                       "198.18.0.100-198.18.0.110", "--lease-file", str(tmp_path / "leases"),
                       "--tftp", f"{SERVER_IP}:69", "--http", "off"], netns=net.server_ns,
                      timeout=60) as nb:
            assert "method grub: built" in nb.log() and "GRUB fetches from" not in nb.log()
        efi = (tmp_path / "cache/grub-net/x86_64-efi/core.efi").read_bytes()
        assert b"/boot/grub" in efi and b"(tftp," not in efi


def test_proxy_mode_with_no_single_address_refuses_to_start(setup):
    """TFTP on the wildcard and two addresses: which one GRUB must ask is
    unknowable, and a guess would hang machines on normal.mod. Stop, say why."""
    tmp_path, root, conf = setup
    with DhcpNet("grubamb") as net:
        net.run(net.server_ns, ["ip", "addr", "add", "198.18.7.1/24", "dev", "s0"], check=True)
        r = run_netbootd(["--config", conf, "--dhcp", "proxy", "--tftp", "0.0.0.0:69",
                          "--http", "off"], netns=net.server_ns, timeout=60)
        assert r.returncode != 0
        assert "not known (several IPv4 addresses on the chosen interfaces); set server-addr" in r.stderr, \
            r.stderr
        # One address (the other one removed): the same command starts.
        net.run(net.server_ns, ["ip", "addr", "del", "198.18.7.1/24", "dev", "s0"], check=True)
        with Netbootd(["--config", conf, "--dhcp", "proxy", "--tftp", "0.0.0.0:69",
                       "--http", "off"], netns=net.server_ns, timeout=60) as nb:
            assert (f"GRUB fetches from {SERVER_IP} (the one address of the chosen interfaces)"
                    in nb.log()), nb.log()


def test_root_layout_wins(setup):
    """An operator's grub-mknetdir layout is served as it is, and in proxy mode
    the log says it will ask the LAN's DHCP server."""
    tmp_path, root, conf = setup
    core = root / "boot/grub/i386-pc/core.0"
    core.parent.mkdir(parents=True)
    core.write_bytes(b"OPERATOR-CORE")
    for p in (root / "boot", root / "boot/grub", core.parent):
        os.chmod(p, 0o755)
    os.chmod(core, 0o644)
    with DhcpNet("grubroot") as net:
        with Netbootd(["--config", conf, "--dhcp", "proxy", "--tftp", f"{SERVER_IP}:69",
                       "--http", "off"], netns=net.server_ns, timeout=60) as nb:
            log = nb.log()
            assert "serving the root's boot/grub/i386-pc/core.0" in log and "LAN's DHCP" in log
            got = tmp_path / "got"
            got.mkdir()
            os.chmod(got, 0o777)
            assert tftp_get(net, "boot/grub/i386-pc/core.0", got / "core.0")
            assert (got / "core.0").read_bytes() == b"OPERATOR-CORE"
            # UEFI had no layout in the root: built.
            assert "cache/grub-net/x86_64-efi/core.efi" in log


def test_check_config_names_what_grub_needs(setup):
    """--check-config: TFTP off, or no GRUB modules, each a clear error naming
    the profile and the fix; the same config with both is OK."""
    tmp_path, root, conf = setup
    base = ["--config", conf, "--http", "off", "--dhcp", "off", "--check-config"]
    r = run_netbootd(base + ["--tftp", "off", "--server-addr", SERVER_IP], timeout=60)
    assert r.returncode == 1 and "[profile g]: method grub needs TFTP, which is off" in r.stderr, \
        r.stderr
    r = run_netbootd(base + ["--tftp", "127.0.0.1:6969", "--grub-dir", str(tmp_path / "none")],
                     timeout=60)
    assert r.returncode == 1, r.stderr
    for core, pkg in (("i386-pc/core.0", "grub-pc-bin"), ("x86_64-efi/core.efi", "grub-efi-amd64-bin")):
        assert (f"[profile g]: loader 'boot/grub/{core}' not found: No such file or directory "
                f"(install the Debian package {pkg}, or set grub-dir)") in r.stderr, r.stderr
    r = run_netbootd(base + ["--tftp", "127.0.0.1:6969"], timeout=60)
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr


GRUB_ARM64 = Path(__file__).resolve().parents[2] / "build/deps/grub-arm64-efi"  # deps.sh


@pytest.mark.parametrize("mode", ["proxy", "server"])
def test_arm64_own_grub(setup, mode):
    """ARM64 with arm64-efi modules at hand (arm64-grub-dir; deps.sh fetches
    grub-efi-arm64-bin's): netbootd builds an arm64 network GRUB, with its
    own address in the prefix in proxy mode (Debian's signed GRUB would ask
    the LAN's DHCP server), and offers it to arch 11 with no profile using
    method grub; its modules are the package's, byte for byte, under
    boot/grub/arm64-efi/. Server mode keeps Debian's signed shim first."""
    assert (GRUB_ARM64 / "kernel.img").exists(), "run `make deps` (grub-efi-arm64-bin's modules)"
    tmp_path, root, _ = setup
    conf = tmp_path / "arm.conf"
    conf.write_text(f"[server]\nroot = {root}\ncache-dir = {tmp_path / 'cache'}\n"
                    f"arm64-grub-dir = {GRUB_ARM64}\n"
                    "[default]\nprofile = k\n[profile k]\nkernel = vmlinuz\n")
    extra = ([] if mode == "proxy" else
             ["--pool", "198.18.0.100-198.18.0.110", "--lease-file", str(tmp_path / "leases")])
    mac = "52:54:00:00:0a:0b"
    with DhcpNet(f"grubarm-{mode[0]}") as net:
        with Netbootd(["--config", conf, "--dhcp", mode, "--tftp", f"{SERVER_IP}:69",
                       "--http", "off"] + extra, netns=net.server_ns, timeout=60) as nb:
            opts = ["--opt", "60=PXEClient:Arch:00011:UNDI:003000", "--opt", "93=hex:000b"]
            replies = net.client(["--type", "discover", "--mac", mac] + opts)
            assert len(replies) == 1, replies
            offered = bytes.fromhex(replies[0]["options"]["67"]).decode()
            log = nb.log()
            assert "ARM64: built" in log and "arm64-efi/core.efi" in log, log
            if mode == "server":
                # The installer's signed shim (make deps) comes first here.
                assert offered == "shimaa64.efi", (offered, log[-2000:])
                return
            assert offered == "boot/grub/arm64-efi/core.efi", (offered, log[-2000:])
            assert "chains netbootd's network GRUB" in log and "LAN's next-server" not in log
            got = tmp_path / "got"
            got.mkdir()
            os.chmod(got, 0o777)
            assert tftp_get(net, "boot/grub/arm64-efi/core.efi", got / "core.efi")
            data = (got / "core.efi").read_bytes()
            assert data[:2] == b"MZ" and f"(tftp,{SERVER_IP})/boot/grub".encode() in data
            for mod in ("normal.mod", "linux.mod"):
                assert tftp_get(net, f"boot/grub/arm64-efi/{mod}", got / mod)
                assert sha(got / mod) == sha(GRUB_ARM64 / mod), mod
            assert not tftp_get(net, "boot/grub/arm64-efi/../../../etc/passwd", got / "p")
