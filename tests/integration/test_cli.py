"""The daemon's command line contract: help, version, errors, signals, privileges."""
import os
import signal
import socket
from pathlib import Path

import pytest

from daemon import Netbootd, default_user, free_port, run_netbootd

QUIET = ["--tftp", "off", "--http", "off", "--dhcp", "off"]


def test_help_and_version():
    r = run_netbootd(["--help"])
    assert r.returncode == 0
    for flag in ("--root", "--tftp", "--http", "--https", "--tls-cert", "--tls-key", "--dhcp",
                 "--interface", "--dhcp-port", "--pxe-port", "--pool", "--lease-file",
                 "--server-addr", "--image", "--kernel", "--initrd", "--cmdline", "--config",
                 "--check-config", "--user"):
        assert flag in r.stdout, flag
    r = run_netbootd(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("netbootd ")


@pytest.mark.parametrize("args, needle", [
    (["--bogus"], "unknown option '--bogus'"),
    (["--tftp"], "needs a value"),
    (["--tftp", "somewhere"], "not ADDR:PORT or off"),
    (["--dhcp", "sometimes"], "not proxy, server or off"),
    (["--root", "/nonexistent/netbootd-root"] + QUIET, "/nonexistent/netbootd-root"),
    (["--tftp", "off"], "--root DIR is required"),
    (["--root", "/tmp", "--https", "127.0.0.1:8443"] + QUIET, "--https needs --tls-cert"),
])
def test_bad_invocations_exit_nonzero_with_reason(args, needle):
    r = run_netbootd(args)
    assert r.returncode != 0
    assert needle in r.stderr
    # One line that says why, not a wall of text.
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr


def test_check_config_names_file_and_line(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text(f"[server]\nroot = {tmp_path}\ntftp = off\nhttp = off\ndhcp = off\n")
    r = run_netbootd(["--config", str(good), "--check-config"])
    assert r.returncode == 0, r.stderr

    bad = tmp_path / "bad.conf"
    bad.write_text(f"[server]\nroot = {tmp_path}\n\ntftp = 1.2.3.4\nno-such-key = 1\n")
    r = run_netbootd(["--config", str(bad), "--check-config"])
    assert r.returncode == 1
    assert f"{bad}:4:" in r.stderr and "tftp" in r.stderr
    assert f"{bad}:5:" in r.stderr and "no-such-key" in r.stderr


def test_command_line_overrides_file(tmp_path):
    conf = tmp_path / "n.conf"
    conf.write_text("[server]\nroot = /nonexistent/from-file\n")
    # The flag wins, so the (bad) root from the file is never opened.
    r = run_netbootd(["--config", str(conf), "--root", str(tmp_path), "--check-config"] + QUIET)
    assert r.returncode == 0, r.stderr


def test_sigterm_and_sigint_shut_down_cleanly(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        nb = Netbootd(["--root", str(tmp_path)] + QUIET).start()
        nb.proc.send_signal(sig)
        assert nb.proc.wait(timeout=10) == 0
        nb.proc = None
        assert "shutting down" in nb.log()
        nb.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_privileges_dropped_after_start(tmp_path):
    nobody = default_user()
    with Netbootd(["--root", str(tmp_path)] + QUIET) as nb:
        status = open(f"/proc/{nb.proc.pid}/status").read()
        uids = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1:]
        gids = next(l for l in status.splitlines() if l.startswith("Gid:")).split()[1:]
        groups = next(l for l in status.splitlines() if l.startswith("Groups:")).split()[1:]
        assert all(int(u) == nobody.pw_uid for u in uids)
        assert all(int(g) == nobody.pw_gid for g in gids)
        assert groups == []


def test_unknown_user_is_an_error(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root drops privileges")
    r = run_netbootd(["--root", str(tmp_path), "--user", "no-such-user-here"] + QUIET)
    assert r.returncode != 0 and "no-such-user-here" in r.stderr


def test_busy_port_exits_nonzero_with_reason(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        r = run_netbootd(["--root", str(tmp_path), "--tftp", f"127.0.0.1:{port}",
                          "--http", "off", "--dhcp", "off"])
    assert r.returncode != 0
    assert str(port) in r.stderr


def test_mkgrub_usage_and_errors(tmp_path):
    r = run_netbootd(["mkgrub"])
    assert r.returncode == 2 and "usage" in r.stderr
    r = run_netbootd(["mkgrub", "--image", str(tmp_path / "missing.iso"), "-o", str(tmp_path / "g.efi")])
    assert r.returncode == 1 and "missing.iso" in r.stderr
    assert not (tmp_path / "g.efi").exists()
    r = run_netbootd(["mkgrub", "--image", str(tmp_path), "-o", str(tmp_path / "g.efi")])
    assert r.returncode == 1 and "not a regular file" in r.stderr


def test_mkgrub_builds_an_efi_binary_with_the_image_inside(tmp_path):
    image = tmp_path / "disk.img"
    token = os.urandom(16).hex().encode()
    image.write_bytes(b"\0" * 4096 + token + b"\0" * 4096)
    out = tmp_path / "grub.efi"
    r = run_netbootd(["mkgrub", "--image", str(image), "-o", str(out)], timeout=120)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:2] == b"MZ" and b"PE\0\0" in data[:512]
    # The memdisk (a tar holding our grub.cfg and the image) is inside, uncompressed.
    assert token in data
    assert b"loopback mkgrub (memdisk)/image" in data
    assert not list(Path("/tmp").glob("netbootd-mkgrub-*")), "temporary files left behind"
