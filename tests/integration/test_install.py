"""`make install` as a packager and an administrator use it: the staged
layout under DESTDIR, the installed daemon finding imgboot.efi at its
installed path, the example config valid, `make uninstall`, and the system
user that netbootd runs as by default (docs/security.md)."""
import os
import pwd
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from daemon import REPO, Netbootd, free_port  # noqa: E402


def make(*args):
    r = subprocess.run(["make", "-C", str(REPO), "--no-print-directory"] + list(args),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_staged_install_layout_and_uninstall(tmp_path):
    dest = tmp_path / "dest"
    out = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert "no system user" in out  # staged: the package's postinst makes it
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    # imgbootaa64.efi too: make deps brings the cross compiler and gnu-efi's arm64 files.
    assert files == ["etc/netbootd/netbootd.conf", "usr/lib/netbootd/imgboot.efi",
                     "usr/lib/netbootd/imgbootaa64.efi",
                     "usr/lib/systemd/system/netbootd.service",
                     "usr/sbin/netbootd", "usr/share/man/man5/netbootd.conf.5",
                     "usr/share/man/man8/netbootd.8"], files
    unit = (dest / "usr/lib/systemd/system/netbootd.service").read_text()
    assert "ExecStart=/usr/sbin/netbootd --config /etc/netbootd/netbootd.conf" in unit
    assert os.stat(dest / "usr/sbin/netbootd").st_mode & 0o777 == 0o755

    # The installed daemon, run from "/", serves the installed imgboot.efi (and the ARM64 one).
    http = free_port(socket.SOCK_STREAM)
    with Netbootd(["--root", str(tmp_path), "--tftp", "off", "--http", f"127.0.0.1:{http}",
                   "--dhcp", "off", "--log-level", "debug"],
                  binary=str(dest / "usr/sbin/netbootd")) as nb:
        for name in ("imgboot.efi", "imgbootaa64.efi"):
            body = urllib.request.urlopen(f"http://127.0.0.1:{http}/{name}", timeout=10).read()
            assert body == (REPO / "efi/imgboot" / name).read_bytes()
            assert f"/usr/sbin/../lib/netbootd/{name}" in nb.log()

    # The example config is valid as shipped (with a root that exists here).
    r = subprocess.run([str(dest / "usr/sbin/netbootd"), "--config",
                        str(dest / "etc/netbootd/netbootd.conf"), "--root", str(tmp_path),
                        "--check-config"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr

    # A second install keeps an edited config; uninstall keeps it too.
    conf = dest / "etc/netbootd/netbootd.conf"
    conf.write_text(conf.read_text() + "\n; mine\n")
    assert "exists: left as it is" in make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    left = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert left == ["etc/netbootd/netbootd.conf"], left
    assert conf.read_text().endswith("; mine\n")


def test_system_user_is_made_and_used_by_default(tmp_path):
    """make install-user makes a system user with no login; with the user
    `netbootd` present, the daemon runs as it without --user."""
    state = tmp_path / "var"
    made = []
    try:
        for name in (f"nbdtest{os.getpid() % 100000}", "netbootd"):
            try:
                pwd.getpwnam(name)
                continue  # already there (an installed netbootd): keep it
            except KeyError:
                pass
            make("install-user", f"NETBOOTD_USER={name}", f"localstatedir={state}")
            made.append(name)
            pw = pwd.getpwnam(name)
            assert pw.pw_uid < 1000, "a system user"
            assert pw.pw_shell == "/usr/sbin/nologin"
            assert pw.pw_dir == str(state / "lib/netbootd")
            st = os.stat(state / "lib/netbootd")
            assert (st.st_uid, st.st_mode & 0o777) == (pw.pw_uid, 0o750)
            # The cache is the user's too, as the systemd unit (which runs as that user
            # from the start) has it; a manual root run needs its own (docs/install.md).
            st = os.stat(state / "cache/netbootd")
            assert (st.st_uid, st.st_mode & 0o777) == (pw.pw_uid, 0o750)
        http = free_port(socket.SOCK_STREAM)
        with Netbootd(["--root", str(tmp_path), "--tftp", "off", "--http",
                       f"127.0.0.1:{http}", "--dhcp", "off"]) as nb:
            assert "running as user netbootd (uid" in nb.log()
            assert "which other daemons share" not in nb.log()
            assert pwd.getpwuid(int(Path(f"/proc/{nb.proc.pid}/status").read_text()
                                    .split("Uid:")[1].split()[0])).pw_name == "netbootd"
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False, capture_output=True)
