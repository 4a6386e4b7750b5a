"""The Debian package, end to end: build it with the standard tools
(`make deb`: dpkg-buildpackage -us -uc -b), check it with lintian and that
apt can resolve it here, then in a clean Debian 12 container (debootstrap)
booted with systemd as its PID 1 (systemd-nspawn, in the testbed's network
namespace): install it with dpkg, `systemctl enable --now netbootd`, boot a
VM through the service, reload it, read its journal by priority, stop it
and purge it, leaving nothing behind in the container.

In a container, not on this machine: installing it here would create the
user netbootd under the other e2e tests running in parallel (their daemons
drop to it when it exists), and a purge cannot delete a user whose
processes are running. The unit's sandbox is rated by `systemd-analyze
security` in tests/integration/test_systemd.py."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from boot_helpers import boot, marker_cmdline
from daemon import REPO
from liveimage import mirror
from testbed import Testbed

UNIT = Path("/lib/systemd/system/netbootd.service")
SHIPPED = ["/usr/sbin/netbootd", "/usr/lib/netbootd/imgboot.efi", "/etc/netbootd/netbootd.conf",
           str(UNIT), "/usr/share/man/man8/netbootd.8.gz", "/usr/share/man/man5/netbootd.conf.5.gz"]


def sh(*cmd, timeout=900, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(cmd)}: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def deb():
    sh("make", "-C", str(REPO), "deb", timeout=1800)
    (path,) = (REPO / "build/deb").glob("netbootd_*_amd64.deb")
    return path


def test_package_contents_lintian_and_dependencies(deb):
    # lintian: no errors (what it says otherwise is in this test's output).
    r = subprocess.run(["lintian", "--fail-on", "error", str(deb)], capture_output=True, text=True,
                       timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    contents = sh("dpkg-deb", "-c", str(deb)).stdout
    for path in SHIPPED:
        assert "." + path in contents, (path, contents)
    fields = sh("dpkg-deb", "-f", str(deb), "Depends", "Recommends", "Suggests").stdout
    assert re.search(r"^Depends: adduser, procps, .*libevent", fields, re.M), fields
    assert "shim-signed" in fields.split("Suggests:")[1], fields
    # apt resolves it on a Debian 12 machine (simulated: nothing is installed here).
    r = sh("apt-get", "install", "--simulate", "-q", str(deb))
    assert re.search(r"^Inst netbootd ", r.stdout, re.M), r.stdout


# ---- in a container with systemd as PID 1 ----------------------------------

# What a booted Debian needs to run systemd. The package's own Depends are
# read from the .deb (dpkg -i fetches none, and the container has no route to
# a mirror): a list written here by hand went stale when the binary began to
# link libevent's extra library.
BOOT_PACKAGES = ["systemd", "systemd-sysv", "dbus"]


def depends_of(deb):
    """The package's Depends as package names (the first of alternatives, no versions)."""
    text = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                          check=True).stdout
    return [d.split("|")[0].split("(")[0].strip() for d in text.split(",") if d.strip()]


class Container:
    """A Debian 12 root booted by systemd-nspawn with systemd as PID 1, in an
    existing network namespace. These machines have no systemd of their own:
    --keep-unit --register=no keep nspawn from asking for one."""

    def __init__(self, root, netns, log):
        self.root, self.netns, self.log = root, netns, log
        self.proc = None
        self.init = None

    def boot(self, timeout=120):
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", str(self.root), "--keep-unit", "--register=no",
             "--console=passive", f"--network-namespace-path=/run/netns/{self.netns}", "-b"],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, Path(self.log).read_text(errors="replace")
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = kids.read_text().split() if kids.exists() else []
            if pids:
                self.init = int(pids[0])
                r = self.run("systemctl", "is-system-running", check=False)
                if r.stdout.strip() in ("running", "degraded"):
                    return self
            time.sleep(0.5)
        raise AssertionError("container did not boot:\n" + Path(self.log).read_text(errors="replace"))

    def run(self, *cmd, check=True, timeout=120):
        r = subprocess.run(["nsenter", "-t", str(self.init), "-a", *cmd], capture_output=True,
                           text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, f"{' '.join(cmd)}: {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def journal(self, *args):
        return self.run("journalctl", "--no-pager", "-u", "netbootd", "-o", "cat", *args).stdout

    def shutdown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nspawn: an orderly poweroff
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_package_as_a_systemd_service_in_a_container(deb, guest_images):
    g = guest_images
    with Testbed("deb-nspawn") as tb:
        root = tb.tmp / "container"
        include = BOOT_PACKAGES + depends_of(deb)
        assert "libevent-extra-2.1-7" in include, include  # the decision API's evhttp
        sh("debootstrap", "--variant=minbase", f"--include={','.join(include)}",
           "bookworm", str(root), mirror(), timeout=1800)
        (root / "etc/machine-id").write_text(subprocess.run(
            ["systemd-id128", "new"], capture_output=True, text=True).stdout)
        shutil.copy(deb, root / "root/netbootd.deb")  # /tmp is a tmpfs once it boots
        ct = Container(root, tb.ns, tb.tmp / "container.log")
        try:
            ct.boot()
            ct.run("dpkg", "-i", "/root/netbootd.deb")
            # Installed, neither enabled nor started: it waits for its configuration.
            assert ct.run("systemctl", "is-enabled", "netbootd", check=False).stdout.strip() == "disabled"
            assert ct.run("systemctl", "is-active", "netbootd", check=False).stdout.strip() == "inactive"
            ct.run("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/netbootd.service")

            srv = root / "srv/netboot"
            srv.mkdir(parents=True)
            shutil.copy(g.kernel, srv / "vmlinuz")
            shutil.copy(g.initrd, srv / "initrd.img")
            for f in (srv, *srv.iterdir()):
                os.chmod(f, 0o755 if f.is_dir() else 0o644)
            cmdline = marker_cmdline(g, "deb-systemd")
            (root / "etc/netbootd/netbootd.conf").write_text(f"""[server]
root = /srv/netboot
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
            ct.run("systemctl", "enable", "--now", "netbootd")
            # Type=notify: "active" only after READY=1, with the status it sent.
            assert ct.run("systemctl", "is-active", "netbootd").stdout.strip() == "active"
            show = ct.run("systemctl", "show", "netbootd", "-p", "StatusText", "-p", "User",
                          "-p", "MainPID").stdout
            assert "StatusText=serving" in show and "User=netbootd" in show, show
            pid = re.search(r"MainPID=(\d+)", show).group(1)
            status = ct.run("cat", f"/proc/{pid}/status").stdout
            assert re.search(r"^CapEff:\s+0{16}$", status, re.M) or \
                re.search(r"^CapEff:\s+0+400$", status, re.M), status  # bind-service with interface
            assert re.search(r"^NoNewPrivs:\s+1$", status, re.M) and \
                re.search(r"^Seccomp:\s+2$", status, re.M), status

            tb.start_dnsmasq()
            vm = tb.vm("bios")
            r = boot(vm, cmdline)
            assert r.cmdline.count("netbootd.profile=deb-systemd") == 1
            deadline = time.monotonic() + 30
            while f"{vm.mac.lower()}" not in ct.journal("--grep", "handed off to the OS"):
                assert time.monotonic() < deadline, ct.journal()
                time.sleep(0.5)
            r = ct.run("netbootd", "status", "--server", f"http://{tb.server_ip}/")
            assert vm.mac.lower() in r.stdout and "handed-off" in r.stdout, r.stdout

            # ExecReload: SIGHUP, and the service stays up.
            ct.run("systemctl", "reload", "netbootd")
            assert ct.run("systemctl", "is-active", "netbootd").stdout.strip() == "active"
            # Priorities reach the journal: -p warning has the warnings, not the info lines.
            warnings = ct.journal("-p", "warning")
            assert "listening on" not in warnings and "ready:" not in warnings, warnings
            assert "listening on" in ct.journal("-p", "info")
            ct.run("systemctl", "stop", "netbootd")
            assert "netbootd.service: Deactivated successfully" in \
                ct.run("journalctl", "--no-pager", "-u", "netbootd").stdout
            vm.wait_exit(60)

            ct.run("dpkg", "--purge", "netbootd")
            left = [p for p in ("usr/sbin/netbootd", "usr/lib/netbootd", "etc/netbootd",
                                "lib/systemd/system/netbootd.service", "var/lib/netbootd",
                                "var/cache/netbootd",
                                "etc/systemd/system/multi-user.target.wants/netbootd.service")
                    if os.path.lexists(root / p)]
            assert not left, f"left behind by dpkg --purge: {left}"
            assert ct.run("getent", "passwd", "netbootd", check=False).returncode == 2
        finally:
            ct.shutdown()
