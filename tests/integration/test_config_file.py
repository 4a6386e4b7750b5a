"""netbootd.conf(5) and the quick modes, through the real binary: --check-config,
file:line errors, command-line precedence, generated documents over HTTP and TFTP."""
import hashlib
import os
import socket
import subprocess
import urllib.request

import pytest

from daemon import Netbootd, free_port, run_netbootd

MAC = "52:54:00:aa:bb:01"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    r.mkdir()
    (r / "vmlinuz").write_bytes(b"K" * 4096)
    (r / "initrd.img").write_bytes(b"I" * 8192)
    (r / "shell.efi").write_bytes(b"MZ" + b"E" * 1000)
    (r / "rescue.iso").write_bytes(b"\0" * 65536)
    os.chmod(tmp_path, 0o755)
    for p in [r] + list(r.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return r


def conf(tmp_path, text):
    p = tmp_path / "netbootd.conf"
    p.write_text(text)
    return str(p)


GOOD = """\
[server]
root = {root}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 quiet
[profile shell]
efi = shell.efi
[profile rescue]
image = rescue.iso
method = sanboot
[profile both]
menu = linux shell
[host 52:54:00:aa:bb:02]
profile = shell
"""


def get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def test_check_config_ok(tmp_path, root):
    r = run_netbootd(["--config", conf(tmp_path, GOOD.format(root=root)), "--check-config"])
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout


def test_check_config_names_missing_files(tmp_path, root):
    text = GOOD.format(root=root).replace("kernel = vmlinuz", "kernel = boot/nope")
    text += "[profile lost]\nefi = lost.efi\n"
    r = run_netbootd(["--config", conf(tmp_path, text), "--check-config"])
    assert r.returncode != 0
    assert "[profile linux]: kernel 'boot/nope' not found" in r.stderr, r.stderr
    assert "[profile lost]: efi 'lost.efi' not found" in r.stderr, r.stderr


def test_check_config_names_package_of_missing_loader(tmp_path, root):
    text = GOOD.format(root=root) + "[profile old]\nkernel = vmlinuz\nmethod = pxelinux\n"
    r = run_netbootd(["--config", conf(tmp_path, text), "--check-config",
                      "--ipxe-dir", str(tmp_path / "no-ipxe"),
                      "--pxelinux-dir", str(tmp_path / "no-pxelinux"),
                      "--syslinux-dir", str(tmp_path / "no-syslinux")])
    assert r.returncode != 0
    assert "'undionly.kpxe' not found" in r.stderr and "Debian package ipxe" in r.stderr, r.stderr
    assert "'lpxelinux.0' not found" in r.stderr and "package pxelinux" in r.stderr, r.stderr
    assert "'ldlinux.c32' not found" in r.stderr and "package syslinux-common" in r.stderr, r.stderr


@pytest.mark.parametrize("text, line, needle", [
    ("[profile a]\nkernel = vmlinuz\nkernal = x\n", 3, "[profile a]: unknown key 'kernal'"),
    ("[server]\nroot = /tmp\ntftp = nowhere\n", 3, "[server]: tftp: 'nowhere' is not ADDR:PORT"),
    ("[server]\nroot = /tmp\n[host 52:54:00:zz:00:01]\nprofile = a\n", 4, "is not a MAC address"),
    ("[server]\nroot = /tmp\n[default]\nprofile = ghost\n", 4, "[default]: profile: no profile 'ghost'"),
    ("[server]\nroot = /tmp\n[profile a]\nimage = x.iso\nmethod = teleport\n", 5, "method: 'teleport'"),
    ("[server]\nroot = /tmp\n[arch z80]\nloader = x\n", 4, "'z80' is not an architecture"),
    ("[server]\nroot = /tmp\nthis is not ini\n", 3, "syntax error"),
])
def test_errors_name_file_line_and_key(tmp_path, text, line, needle):
    path = conf(tmp_path, text)
    r = run_netbootd(["--config", path, "--check-config"])
    assert r.returncode != 0
    assert f"{path}:{line}: " in r.stderr and needle in r.stderr, r.stderr


def test_command_line_wins_over_file(tmp_path, root):
    file_port, cli_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    text = GOOD.format(root=root).replace(
        "[default]", f"[server]\nhttp = 127.0.0.1:{file_port}\ntftp = off\ndhcp = off\n[default]")
    with Netbootd(["--config", conf(tmp_path, text), "--http", f"127.0.0.1:{cli_port}"]) as nb:
        status, _, body = get(cli_port, f"boot/{MAC}.ipxe")
        assert status == 200 and body.startswith(b"#!ipxe\n")
        with pytest.raises(OSError):
            get(file_port, f"boot/{MAC}.ipxe", timeout=2)
        assert f"127.0.0.1:{cli_port}" in nb.log()


def test_generated_documents_over_http_and_tftp(tmp_path, root):
    port, tport = free_port(socket.SOCK_STREAM), free_port()
    text = GOOD.format(root=root)
    with Netbootd(["--config", conf(tmp_path, text), "--http", f"127.0.0.1:{port}",
                   "--tftp", f"127.0.0.1:{tport}", "--dhcp", "off"]) as nb:
        status, ctype, body = get(port, f"boot/{MAC}.ipxe")
        script = body.decode()
        assert ctype.startswith("text/plain")
        assert f"kernel http://127.0.0.1:{port}/vmlinuz initrd=initrd.img console=ttyS0 quiet" in script
        assert f"initrd http://127.0.0.1:{port}/initrd.img" in script
        # Per-host profile, any MAC spelling.
        _, _, body = get(port, "boot/52:54:00:AA:BB:02.ipxe")
        assert f"chain http://127.0.0.1:{port}/shell.efi" in body.decode()
        # UEFI HTTP boot URL carries the EFI file's bytes, no redirect.
        _, _, body = get(port, "boot/52:54:00:aa:bb:02.efi")
        assert body == (root / "shell.efi").read_bytes()
        # pxelinux.cfg over TFTP (tftp-hpa), from the same generator.
        out = tmp_path / "pxe.cfg"
        r = subprocess.run(["tftp", "127.0.0.1", str(tport), "-m", "binary", "-c", "get",
                            "pxelinux.cfg/01-52-54-00-aa-bb-01", str(out)],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0 and out.exists(), r.stdout + r.stderr + nb.log()
        cfg = out.read_text()
        assert "KERNEL http://" in cfg and "APPEND console=ttyS0 quiet" in cfg, cfg
        # Names that merely look generated are not: 404, never a crash.
        for bad in ("boot/52:54:00:aa:bb.ipxe", "boot/zz:54:00:aa:bb:01.ipxe",
                    "boot/52:54:00:aa:bb:01.ipxe.bak", "pxelinux.cfg/01-52-54-00-aa-bb-0g",
                    "boot/52:54:00:aa:bb:01.imgboot"):
            with pytest.raises(urllib.error.HTTPError) as e:
                get(port, bad)
            assert e.value.code == 404, bad


def test_quick_kernel_mode_needs_no_config(tmp_path, root):
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--kernel", str(root / "vmlinuz"), "--initrd", str(root / "initrd.img"),
                   "--cmdline", "quick=1", "--http", f"127.0.0.1:{port}", "--tftp", "off",
                   "--dhcp", "off"]) as nb:
        _, _, body = get(port, f"boot/{MAC}.ipxe")
        assert f"kernel http://127.0.0.1:{port}/quick/linux initrd=initrd0 quick=1" in body.decode()
        _, _, k = get(port, "quick/linux")
        _, _, i = get(port, "quick/initrd0")
        assert k == (root / "vmlinuz").read_bytes() and i == (root / "initrd.img").read_bytes()
        # Nothing else is reachable: the private root is empty.
        with pytest.raises(urllib.error.HTTPError) as e:
            get(port, "vmlinuz")
        assert e.value.code == 404
        # DHCP is off, so netbootd never saw this machine ask: no timeline, no
        # hand-off line (issue 11: a script fetch alone must not add a machine).
        assert "handed off to the OS" not in nb.log()


def test_quick_image_mode(tmp_path, root):
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--image", str(root / "rescue.iso"), "--http", f"127.0.0.1:{port}",
                   "--tftp", "off", "--dhcp", "off"]):
        _, _, body = get(port, f"boot/{MAC}.ipxe")
        script = body.decode()
        assert "iseq ${platform} efi" in script
        assert f"kernel http://127.0.0.1:{port}/memdisk iso raw" in script
        assert f"chain http://127.0.0.1:{port}/imgboot.efi image.iso" in script
        _, _, body = get(port, f"boot/{MAC}.imgboot")
        assert body.decode() == f"url=http://127.0.0.1:{port}/quick/image.iso\ntype=iso\n"
        # UEFI HTTP boot: the .iso URL carries the image itself (firmware RAM disk).
        _, _, body = get(port, f"boot/{MAC}.iso")
        assert hashlib.sha256(body).digest() == hashlib.sha256((root / "rescue.iso").read_bytes()).digest()


def test_quick_image_bad_method(tmp_path, root):
    # pxelinux and grub boot an image's own kernel (method direct's files); ipxe is no image method.
    r = run_netbootd(["--image", str(root / "rescue.iso"), "--method", "ipxe",
                      "--http", "off", "--tftp", "off", "--dhcp", "off", "--check-config"])
    assert r.returncode != 0
    assert "--method ipxe: not an image method" in r.stderr
