"""The files of the Secure Boot chain (tests/e2e/test_boot_secure_boot.py
boots it): shimx64.efi and grubx64.efi served from Debian's signed packages,
grub/grub.cfg handing over to the machine's own grub/grub.cfg-01-<mac>, and
--check-config naming the package when one is missing. Real binary, curl."""
import hashlib
import os
import socket
import subprocess
from pathlib import Path

import pytest

from daemon import Netbootd, free_port, run_netbootd

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "build" / "deps" / "shimx64.efi.signed"
SIGNED_GRUB = Path("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed")
MAC = "52:54:00:5e:c0:01"


@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(b"kernel")
    (root / "initrd.gz").write_bytes(b"initrd")
    for p in (tmp_path, root):
        os.chmod(p, 0o755)
    conf = tmp_path / "netbootd.conf"
    conf.write_text(f"[server]\nroot = {root}\n[arch x64-uefi]\nloader = shimx64.efi\n"
                    "[default]\nprofile = signed\n[profile signed]\nkernel = vmlinuz\n"
                    "initrd = initrd.gz\ncmdline = console=ttyS0\n")
    return tmp_path, conf


def get(port, path):
    r = subprocess.run(["curl", "-sS", "-f", "--max-time", "10", f"http://127.0.0.1:{port}/{path}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, (path, r.stderr)
    return r.stdout


def test_signed_loaders_and_grub_handover(setup):
    tmp_path, conf = setup
    assert SHIM.exists() and SIGNED_GRUB.exists(), "run `make deps`"
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--config", conf, "--shim-efi", SHIM, "--http", f"127.0.0.1:{port}",
                   "--tftp", "off", "--dhcp", "off"]):
        assert get(port, "shimx64.efi") == SHIM.read_bytes()
        assert hashlib.sha256(get(port, "grubx64.efi")).digest() == \
            hashlib.sha256(SIGNED_GRUB.read_bytes()).digest()
        # Debian's signed GRUB reads $prefix/grub.cfg (prefix /grub): one document
        # for every machine, handing over by GRUB's own MAC variable...
        handover = get(port, "grub/grub.cfg").decode()
        assert "configfile $prefix/grub.cfg-01-$net_default_mac" in handover, handover
        # ...to the per-machine config, in the colon form GRUB writes.
        cfg = get(port, f"grub/grub.cfg-01-{MAC}").decode()
        assert "linux /vmlinuz console=ttyS0" in cfg and "initrd /initrd.gz" in cfg, cfg
        assert get(port, f"grub/grub.cfg-01-{MAC.replace(':', '-')}").decode() == cfg


def test_check_config_names_the_packages(setup):
    tmp_path, conf = setup
    r = run_netbootd(["--config", conf, "--shim-efi", tmp_path / "no-shim", "--signed-grub-efi",
                      tmp_path / "no-grub", "--tftp", "127.0.0.1:6969", "--http", "off",
                      "--dhcp", "off", "--check-config"], timeout=60)
    assert r.returncode == 1, r.stderr
    assert "'shimx64.efi' not found: No such file or directory (install the Debian package " \
           "shim-signed, or set shim-efi)" in r.stderr, r.stderr
    assert "UEFI PXE (shim): boot loader 'grubx64.efi' not found: No such file or directory " \
           "(install the Debian package grub-efi-amd64-signed, or set signed-grub-efi)" in r.stderr
    r = run_netbootd(["--config", conf, "--shim-efi", SHIM, "--tftp", "127.0.0.1:6969",
                      "--http", "off", "--dhcp", "off", "--check-config"], timeout=60)
    assert r.returncode == 0, r.stderr
