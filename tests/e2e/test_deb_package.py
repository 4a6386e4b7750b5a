"""The Debian package, end to end, on this machine: build it with the
standard tools (`make deb`: dpkg-buildpackage -us -uc -b), check it with
lintian, install it with apt, start netbootd the way its systemd unit does,
boot a VM through it, and purge it leaving nothing behind.

These machines have no systemd as PID 1 (`ps -p 1` is the sandbox's own
init), so nothing can start the unit itself: the test runs the unit's
ExecStart= as its User= with its AmbientCapabilities= (setpriv does what
systemd would), takes READY=1 on a notify socket as systemd would, and
checks the unit with `systemd-analyze verify`. The unit's sandboxing
directives are rated by `systemd-analyze security` in
tests/integration/test_systemd.py."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from boot_helpers import boot, marker_cmdline, wait_handoff
from daemon import REPO, Netbootd
from testbed import Testbed

UNIT = Path("/lib/systemd/system/netbootd.service")
SHIPPED = ["/usr/sbin/netbootd", "/usr/lib/netbootd/imgboot.efi", "/etc/netbootd/netbootd.conf",
           str(UNIT), "/usr/share/man/man8/netbootd.8.gz", "/usr/share/man/man5/netbootd.conf.5.gz"]


def sh(*cmd, timeout=900, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(cmd)}: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "netbootd"], capture_output=True,
                       text=True)
    return r.returncode == 0 and "ok installed" in r.stdout


@pytest.fixture(scope="module")
def deb():
    if installed():
        pytest.fail("a netbootd package is installed already: this test installs and purges its "
                    "own; remove that one first (apt purge netbootd)")
    sh("make", "-C", str(REPO), "deb", timeout=1800)
    (path,) = (REPO / "build/deb").glob("netbootd_*_amd64.deb")
    return path


def unit_setting(text, key):
    return [m.group(1).strip() for m in re.finditer(rf"^{key}=(.*)$", text, re.M)]


def test_package_installs_boots_a_vm_and_purges(deb, guest_images, tmp_path):
    # lintian: no errors (warnings are listed in the log of this test, not fatal).
    r = subprocess.run(["lintian", "--fail-on", "error", str(deb)], capture_output=True, text=True,
                       timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    contents = sh("dpkg-deb", "-c", str(deb)).stdout
    for path in SHIPPED:
        assert "." + path in contents, (path, contents)

    sh("apt-get", "install", "-y", "-q", "--no-install-recommends", str(deb))
    try:
        user = pwd.getpwnam("netbootd")
        assert user.pw_shell == "/usr/sbin/nologin" and user.pw_uid < 1000, user
        for d in ("/var/lib/netbootd", "/var/cache/netbootd"):
            st = os.stat(d)
            assert (st.st_uid, st.st_mode & 0o777) == (user.pw_uid, 0o750), (d, st)
        # Installed, neither enabled nor started (docs/install.md says why).
        assert not list(Path("/etc/systemd/system").glob("*/netbootd.service"))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(UNIT)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "netbootd.service" not in r.stdout + r.stderr, r.stderr
        assert "netbootd status [--server URL]" in sh("/usr/sbin/netbootd", "--help").stdout
        boot_through_the_unit(guest_images, tmp_path, user)
    finally:
        sh("apt-get", "purge", "-y", "-q", "netbootd")
    left = [p for p in SHIPPED + ["/etc/netbootd", "/var/lib/netbootd", "/var/cache/netbootd",
                                  "/usr/lib/netbootd"] if os.path.exists(p)]
    assert not left, f"left behind by apt purge: {left}"
    with pytest.raises(KeyError):
        pwd.getpwnam("netbootd")
    assert not installed()


def boot_through_the_unit(g, tmp_path, user):
    text = UNIT.read_text()
    (exec_start,) = unit_setting(text, "ExecStart")
    (run_as,) = unit_setting(text, "User")
    (ambient,) = unit_setting(text, "AmbientCapabilities")
    assert run_as == user.pw_name and exec_start.startswith("/usr/sbin/netbootd --config "), text
    caps = ",".join("+" + c.lower().removeprefix("cap_") for c in ambient.split())
    conf = Path(exec_start.split("--config ")[1].split()[0])
    assert "[server]" in conf.read_text(), "the shipped example configuration"

    with Testbed("deb-unit") as tb:
        root = tb.tmp / "srv"
        root.mkdir()
        shutil.copy(g.kernel, root / "vmlinuz")
        shutil.copy(g.initrd, root / "initrd.img")
        # The unit runs as netbootd: the root must be readable by it (docs/install.md).
        for d in (tb.tmp, root):
            os.chmod(d, 0o755)
        for f in root.iterdir():
            os.chmod(f, 0o644)
        cmdline = marker_cmdline(g, "deb-unit")
        # What an administrator writes into the shipped file before enabling the unit.
        conf.write_text(f"""[server]
root = {root}
dhcp = proxy
interface = {tb.bridge}
tftp = {tb.server_ip}:69
http = {tb.server_ip}:80

[default]
profile = linux

[profile linux]
kernel = vmlinuz
initrd = initrd.img
cmdline = {cmdline}
""")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(tb.tmp / "notify"))
        os.chmod(tb.tmp / "notify", 0o777)
        notify.settimeout(60)
        wrapper = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
                   f"--inh-caps={caps}", f"--ambient-caps={caps}",
                   f"--bounding-set=-all,{caps}", "--no-new-privs"]
        nb = Netbootd(exec_start.split()[1:], netns=tb.ns, binary=exec_start.split()[0],
                      ready=None, env={"NOTIFY_SOCKET": str(tb.tmp / "notify")})
        nb.command = lambda: ["ip", "netns", "exec", tb.ns] + wrapper + exec_start.split()
        tb._netbootds.append(nb)
        nb.start()
        assert notify.recv(4096).startswith(b"READY=1"), nb.log()
        log = nb.log()
        assert f"running as user {user.pw_name}" in log and "started unprivileged" in log, log
        tb.start_dnsmasq()
        vm = tb.vm("bios")
        r = boot(vm, cmdline)
        assert r.cmdline.count("netbootd.profile=deb-unit") == 1
        summary = wait_handoff(tb, nb, vm.mac)
        assert "profile linux" in summary, summary
        # The operator's view of it, from the installed binary.
        r = tb.run(["/usr/sbin/netbootd", "status", "--server", f"http://{tb.server_ip}/"])
        assert r.returncode == 0 and vm.mac.lower() in r.stdout and "handed-off" in r.stdout, r
        nb.proc.send_signal(signal.SIGTERM)
        assert notify.recv(4096) == b"STOPPING=1"
        vm.wait_exit(60)
        notify.close()
