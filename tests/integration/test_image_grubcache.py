"""grub-memdisk built at start-up (src/boot/grubcache.c), through the real
binary: built once into cache-dir, served as cache/<profile>-grub.efi and as
boot/<mac>.efi for UEFI HTTP boot, reused while the image is unchanged,
rebuilt when it changes; an unusable image stops start-up with the reason.
(The e2e boot is tests/e2e/test_image_grub_memdisk.py.)"""
import os
import socket
import time
import urllib.request

import pytest

from daemon import Netbootd, free_port, run_netbootd

MAC = "52:54:00:aa:bb:07"


@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    # mkgrub packs any file; a GRUB-based ISO is only needed to boot it.
    (root / "rescue.iso").write_bytes(b"\0" * (1 << 20))
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    os.chmod(root / "rescue.iso", 0o644)
    return tmp_path, root


def conf(tmp_path, root, image="rescue.iso"):
    p = tmp_path / "netbootd.conf"
    p.write_text(f"[server]\nroot = {root}\ncache-dir = {tmp_path / 'cache' / 'grub'}\n"
                 f"[default]\nprofile = rescue\n"
                 f"[profile rescue]\nimage = {image}\nmethod = grub-memdisk\n")
    return str(p)


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as r:
        return r.status, r.read()


def args(c, port):
    return ["--config", c, "--http", f"127.0.0.1:{port}", "--tftp", "off", "--dhcp", "off"]


def test_built_once_served_reused(setup):
    tmp_path, root = setup
    c = conf(tmp_path, root)
    port = free_port(socket.SOCK_STREAM)
    out = tmp_path / "cache" / "grub" / "rescue-grub.efi"
    with Netbootd(args(c, port), timeout=120) as nb:
        log = nb.log()
        assert "profile rescue: grub-memdisk: building" in log and f"built {out} in " in log, log
        status, body = get(port, "cache/rescue-grub.efi")
        assert status == 200 and body[:2] == b"MZ" and len(body) > (1 << 20)
        # UEFI HTTP boot's boot/<mac>.efi carries the same binary.
        status, body2 = get(port, f"boot/{MAC}.efi")
        assert body2 == body
        assert f"boot/{MAC}.efi serves cache/rescue-grub.efi" in nb.log()
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    built = out.stat().st_mtime_ns

    with Netbootd(args(c, port), timeout=60) as nb:
        assert "grub-memdisk: reusing" in nb.log() and "building" not in nb.log(), nb.log()
    assert out.stat().st_mtime_ns == built

    # Same size, new mtime: built again.
    time.sleep(0.01)
    os.utime(root / "rescue.iso")
    r = run_netbootd(["--config", c, "--check-config"], timeout=120)
    assert r.returncode == 0 and "grub-memdisk: building" in r.stderr, r.stderr


def test_missing_image_stops_startup(setup):
    tmp_path, root = setup
    r = run_netbootd(["--config", conf(tmp_path, root, "nothing.iso"), "--http", "off",
                      "--tftp", "off", "--dhcp", "off"], timeout=60)
    assert r.returncode != 0
    assert "profile rescue: grub-memdisk: image nothing.iso: No such file or directory" in r.stderr, \
        r.stderr
    assert not (tmp_path / "cache" / "grub" / "rescue-grub.efi").exists()


def test_url_image_refused(setup):
    tmp_path, root = setup
    r = run_netbootd(["--config", conf(tmp_path, root, "http://198.18.0.9/x.iso"), "--http", "off",
                      "--tftp", "off", "--dhcp", "off"], timeout=60)
    assert r.returncode != 0
    assert "grub-memdisk builds from a local image, not the URL" in r.stderr, r.stderr


def test_symlink_out_of_root_refused(setup):
    """The build reads the image as root before the privilege drop: a link
    leading out of --root must not pack a host file into a served binary."""
    tmp_path, root = setup
    secret = tmp_path / "secret.iso"
    secret.write_bytes(b"S" * 4096)
    (root / "escape.iso").symlink_to(secret)
    r = run_netbootd(["--config", conf(tmp_path, root, "escape.iso"), "--http", "off",
                      "--tftp", "off", "--dhcp", "off"], timeout=60)
    assert r.returncode != 0
    assert f"image escape.iso resolves to {secret} through a symlink" in r.stderr, r.stderr
    assert not (tmp_path / "cache" / "grub" / "rescue-grub.efi").exists()
    # Like the safe opener, a link inside the root is refused too.
    (root / "inside.iso").symlink_to(root / "rescue.iso")
    r = run_netbootd(["--config", conf(tmp_path, root, "inside.iso"), "--check-config"], timeout=120)
    assert r.returncode != 0 and "through a symlink" in r.stderr, r.stderr
