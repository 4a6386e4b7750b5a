"""End-to-end testbed: a private network namespace, a bridge, servers and QEMU VMs.

    from testbed import Testbed
    with Testbed("tftp1") as tb:
        nb = tb.start_netbootd(["--dhcp", f"{tb.server_ip}", ...])
        vm = tb.vm("bios")                       # network boot by default
        vm.wait_for("NETBOOT-OK")

Everything the testbed starts (VMs, servers, the namespace, the temp dir) is
torn down in __exit__, by PID, even when the test raised. See docs/testbed.md.

Facts this relies on are in /work/shared/TESTBED.md: TCG only (KVM is broken
on the CI machines), -nographic for SeaBIOS (with -display none SeaBIOS and
the iPXE ROM print nothing: QEMU only tells SeaBIOS to use the serial console
under -nographic), OVMF's console carries ANSI escapes.
"""
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from daemon import Netbootd

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
# Secure Boot on, with Microsoft's keys enrolled (so shim, signed by the UEFI
# CA, runs and anything unsigned is refused): Debian's ovmf package.
OVMF_CODE_SECBOOT = Path("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd")
OVMF_VARS_MS = Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
IPXE_E1000_ROM = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
QEMU = "qemu-system-x86_64"
# ARM64 (issue 12): Debian's AAVMF (qemu-efi-aarch64) on QEMU's virt machine, TCG.
QEMU_ARM64 = "qemu-system-aarch64"
AAVMF_CODE = Path("/usr/share/AAVMF/AAVMF_CODE.fd")
AAVMF_VARS = Path("/usr/share/AAVMF/AAVMF_VARS.fd")

# CSI sequences (colours, cursor moves, "ESC[=3h" mode sets from OVMF), per TESTBED.md.
ANSI_RE = re.compile(r"\x1b\[[0-9;=?]*[a-zA-Z]")
# Other lone escapes OVMF emits (ESC c, ESC ( B ...): drop them too.
ESC_OTHER_RE = re.compile(r"\x1b[()][0-9A-Za-z]|\x1b[^\[]")

# One file per live testbed: "<creator pid> <its start time>\n<tmp dir>". A later
# Testbed removes the namespaces of creators that died without cleaning up
# (pytest killed by a timeout, SIGKILL): only namespaces recorded here, never others.
REGISTRY = Path("/run/nbd-testbed")

SERIAL_TAIL_LINES = 60
LOG_TAIL_CHARS = 4000


class TestbedFailure(AssertionError):
    """A failure whose message already carries the testbed diagnostics."""
    __test__ = False


def strip_ansi(raw: str) -> str:
    text = ANSI_RE.sub("", raw)
    text = ESC_OTHER_RE.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _sh(cmd, check=True, timeout=30):
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True)


def _proc_start_time(pid: int) -> str:
    try:
        # Field 22 (starttime) of /proc/PID/stat; the comm field may hold spaces.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _kill_ns_pids(ns: str):
    """Everything still inside one of OUR namespaces was started through it."""
    r = _sh(["ip", "netns", "pids", ns], check=False)
    for pid in r.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def sweep_stale_testbeds():
    """Delete namespaces (and temp dirs) of testbeds whose creating process is gone."""
    if not REGISTRY.is_dir():
        return []
    swept = []
    for rec in REGISTRY.iterdir():
        try:
            head, _, tmp = rec.read_text().partition("\n")
            pid_s, start = head.split()
            pid = int(pid_s)
        except (OSError, ValueError):
            continue
        if _proc_start_time(pid) == start:
            continue  # creator still alive: not ours to touch
        ns = rec.name
        if ns.startswith("nbd-"):
            for n in (ns + "-r", ns):
                _kill_ns_pids(n)
                _sh(["ip", "netns", "del", n], check=False)
        tmp = tmp.strip()
        if tmp.startswith(tempfile.gettempdir() + "/nbd-"):
            shutil.rmtree(tmp, ignore_errors=True)
        try:
            rec.unlink()
        except OSError:
            pass
        swept.append(ns)
    return swept


def _kill_pid(proc: subprocess.Popen, term_timeout=5.0):
    """SIGTERM, bounded wait, SIGKILL. Only ever the PID we started."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:
        pass


# Printed by the guest /init: "NETBOOT-MARKER <token> (on /dev/X, fs)" or "NETBOOT-NO-MARKER".
# Patterns that capture to the end of a line must wait for the newline: the
# serial file is polled while QEMU is still writing, and a match on a half
# line ("NETBOOT-OK BOOT_") would capture a truncated command line.
GUEST_OK_RE = re.compile(r"NETBOOT-OK ([^\n]*)\n")
GUEST_MARKER_RE = re.compile(r"NETBOOT-(?:MARKER (\S+) \(on (\S+), (\w+)\)|NO-MARKER)")


@dataclass
class GuestBoot:
    cmdline: str          # /proc/cmdline as the guest saw it
    marker: str           # token from /netboot-marker.txt, None if none was found
    device: str           # e.g. /dev/sr0, /dev/vda1, /dev/pmem0p1 (None if no marker)
    fs: str               # iso9660 or vfat
    seconds: float        # from the call to the marker line
    since_start: float    # from QEMU start to the marker line
    firmware: str = None  # "uefi" or "bios": whether Linux saw /sys/firmware/efi


class VM:
    """One QEMU guest. Created by Testbed.vm(); do not construct directly."""

    def __init__(self, tb, name, cmd, serial_path, log_path, mac, tap):
        self.tb = tb
        self.name = name
        self.cmd = cmd
        self.serial_path = serial_path
        self.log_path = log_path
        self.mac = mac
        self.tap = tap
        self.started = time.monotonic()
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def serial_raw(self) -> str:
        try:
            return self.serial_path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def serial(self) -> str:
        """The serial console so far, ANSI-stripped, with \\r turned into \\n."""
        return strip_ansi(self.serial_raw())

    def running(self) -> bool:
        return self.proc.poll() is None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _search(self, marker, text, start):
        if isinstance(marker, re.Pattern):
            return marker.search(text, start)
        i = text.find(marker, start)
        return None if i < 0 else i

    def wait_for_match(self, marker, timeout: float = 240, start: int = 0):
        """Like wait_for, but returns the re.Match (regex) or the index (string)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.serial()
            m = self._search(marker, text, start)
            if m is not None:
                return m
            if not self.running():
                # The serial file may get its last bytes just as QEMU exits.
                text = self.serial()
                m = self._search(marker, text, start)
                if m is not None:
                    return m
                self.fail(f"QEMU exited (rc={self.proc.returncode}) before {marker!r} "
                          f"appeared ({self.elapsed():.1f}s after start)")
            if time.monotonic() >= deadline:
                self.fail(f"timeout after {timeout:.0f}s waiting for {marker!r}")
            time.sleep(0.2)

    def wait_for(self, marker, timeout: float = 240, start: int = 0) -> str:
        """Poll the serial console until `marker` (str or compiled regex) appears at or
        after offset `start` of the stripped text. Returns the stripped serial text so
        far. On timeout or QEMU exit raises AssertionError with the serial tail and
        the tails of every server log of the testbed."""
        self.wait_for_match(marker, timeout, start)
        return self.serial()

    def wait_guest(self, timeout: float = 240, start: int = 0) -> "GuestBoot":
        """Wait for the test guest (tests/lib/guests.py) to boot and report: returns
        GuestBoot(cmdline, marker or None for NETBOOT-NO-MARKER, device, fs, seconds).
        The caller asserts on the values; a guest that never gets there fails here."""
        t0 = time.monotonic()
        m = self.wait_for_match(GUEST_OK_RE, timeout, start)
        cmdline = m.group(1).strip()
        ok_end = m.end()
        m = self.wait_for_match(GUEST_MARKER_RE, 90, ok_end)
        fw = re.compile(r"NETBOOT-FIRMWARE (\w+)").search(self.serial(), ok_end)
        return GuestBoot(cmdline, m.group(1), m.group(2), m.group(3), time.monotonic() - t0, self.elapsed(),
                         fw.group(1) if fw else None)

    def wait_exit(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"QEMU still running after {timeout:.0f}s")

    def fail(self, why):
        raise TestbedFailure(f"VM {self.name} ({self.mac}): {why}\n" + self.tb.diagnostics(vm=self))

    def stop(self):
        _kill_pid(self.proc)
        if not self._log.closed:
            self._log.close()


class Testbed:
    """A network namespace with a bridge br0 holding tb.server_ip/24 and the
    taps of the VMs. Context manager; cleans up everything it started."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, name: str, keep_tmp: bool = None, ipv6_ra: bool = True):
        safe = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:24] or "tb"
        self.name = safe
        self.ns = f"nbd-{safe}-{secrets.token_hex(3)}"
        # 198.18.N.0/24: N random per testbed. Namespaces are separate anyway,
        # this only keeps logs of parallel testbeds distinguishable.
        self.n = 1 + secrets.randbelow(254)
        self.subnet_prefix = f"198.18.{self.n}"
        self.server_ip = f"{self.subnet_prefix}.1"
        # The LAN's router (dnsmasq from start_dnsmasq) is another host on br0.
        self.router_ip = f"{self.subnet_prefix}.254"
        self.router_ns = None
        self.netmask = "255.255.255.0"
        self.bridge = "br0"
        self.tmp = None
        self.keep_tmp = os.environ.get("NBD_KEEP_TMP") == "1" if keep_tmp is None else keep_tmp
        self._procs = []       # (log_name, Popen)
        self._logs = {}        # log_name -> Path
        self._netbootds = []
        self._vms = []
        self._taps = 0
        self._created_ns = False
        self._record = None
        self.ipv6_ra = ipv6_ra
        self._dnsmasq = None        # the LAN's DHCP server, once started
        self._dnsmasq_hosts = None  # its --dhcp-hostsfile: one fixed address per VM
        self._dnsmasq_next = None
        self._dnsmasq_last = None

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not isinstance(exc, TestbedFailure):
            # Any failure of the test (a plain assert too) gets the serial tails and
            # server logs on stderr, which pytest shows with the failure.
            sys.stderr.write(self.diagnostics())
        self.cleanup(check_sanitizers=exc_type is None)
        return False

    def setup(self):
        sweep_stale_testbeds()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.ns}-"))
        REGISTRY.mkdir(parents=True, exist_ok=True)
        self._record = REGISTRY / self.ns
        self._record.write_text(f"{os.getpid()} {_proc_start_time(os.getpid())}\n{self.tmp}\n")
        _sh(["ip", "netns", "add", self.ns])
        self._created_ns = True
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", self.bridge, "type", "bridge"],
                    # No STP/forward delay: taps must pass frames as soon as QEMU opens them.
                    ["ip", "link", "set", self.bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0"],
                    ["ip", "addr", "add", f"{self.server_ip}/24", "dev", self.bridge],
                    ["ip", "link", "set", self.bridge, "up"]):
            self.run(cmd, check=True)
        if self.ipv6_ra:
            # iPXE's "Configuring" waits for IPv6 router solicitations to time out
            # (~13 s per iPXE instance, measured) unless a router answers. An RA with
            # no prefix, no M/O flags and lifetime 0 ends that wait and configures
            # nothing. Link-local only, inside this namespace.
            p = self.popen([sys.executable, str(Path(__file__).resolve()), "ra-responder", self.bridge],
                           "ra-responder.log")
            self.wait_log("ra-responder.log", "listening", timeout=10, proc=p)

    def cleanup(self, check_sanitizers=False):
        errors = []
        for vm in self._vms:
            try:
                vm.stop()
            except Exception as e:  # keep tearing down
                errors.append(f"vm {vm.name}: {e}")
        for nb in self._netbootds:
            try:
                nb.stop(check_sanitizers=check_sanitizers)
            except AssertionError as e:
                errors.append(str(e))
            except Exception as e:
                errors.append(f"netbootd: {e}")
            finally:
                try:
                    os.unlink(nb.logfile.name)
                except OSError:
                    pass
        for _, p in self._procs:
            _kill_pid(p)
        if self.router_ns:
            _kill_ns_pids(self.router_ns)
            r = _sh(["ip", "netns", "del", self.router_ns], check=False)
            if r.returncode != 0:
                errors.append(f"ip netns del {self.router_ns}: {r.stderr.strip()}")
            self.router_ns = None
        if self._created_ns:
            _kill_ns_pids(self.ns)
            r = _sh(["ip", "netns", "del", self.ns], check=False)
            if r.returncode != 0:
                errors.append(f"ip netns del {self.ns}: {r.stderr.strip()}")
            self._created_ns = False
        if self.tmp and not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp:
            sys.stderr.write(f"testbed {self.ns}: kept {self.tmp} (NBD_KEEP_TMP=1)\n")
        if self._record is not None:
            try:
                self._record.unlink()
            except OSError:
                pass
            self._record = None
        if errors:
            raise AssertionError("testbed cleanup: " + "; ".join(errors))

    # -- processes in the namespace ---------------------------------------
    def wrap(self, cmd, netns: str = None):
        return ["ip", "netns", "exec", netns or self.ns] + [str(c) for c in cmd]

    def run(self, cmd: list, netns: str = None, **kw) -> subprocess.CompletedProcess:
        """subprocess.run inside the namespace (or netns=tb.router_ns)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(self.wrap(cmd, netns), **kw)

    def log_path(self, log_name: str) -> Path:
        return self.tmp / log_name

    def popen(self, cmd: list, log_name: str, netns: str = None, **kw) -> subprocess.Popen:
        """Start cmd inside the namespace (or netns=tb.router_ns), stdout+stderr to
        tb.tmp/log_name. Killed by PID at exit; its log tail goes into diagnostics."""
        path = self.log_path(log_name)
        f = open(path, "ab")
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", f)
        kw.setdefault("stderr", subprocess.STDOUT)
        try:
            p = subprocess.Popen(self.wrap(cmd, netns), **kw)
        finally:
            f.close()
        self._procs.append((log_name, p))
        self._logs[log_name] = path
        return p

    def wait_log(self, log_name: str, text: str, timeout: float = 20, proc=None):
        """Wait until `text` appears in a popen() log; fail with diagnostics."""
        path = self._logs[log_name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in path.read_text(errors="replace"):
                return
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TestbedFailure(f"{log_name}: {text!r} not seen within {timeout}s\n" + self.diagnostics())

    def start_netbootd(self, args: list, **kw) -> Netbootd:
        nb = Netbootd(args, netns=self.ns, **kw)
        self._netbootds.append(nb)
        nb.start()
        return nb

    def add_router(self) -> str:
        """A second host on the LAN, like a home router: namespace tb.router_ns
        with tb.router_ip/24 on a veth whose other end (lan0) is on br0. Its port
        is also called br0 so dnsmasq logs read DHCPACK(br0) wherever it runs."""
        if self.router_ns:
            return self.router_ns
        rns = self.ns + "-r"
        _sh(["ip", "netns", "add", rns])
        self.router_ns = rns
        self.run(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", self.bridge,
                  "netns", rns], check=True)
        self.run(["ip", "link", "set", "lan0", "master", self.bridge], check=True)
        self.run(["ip", "link", "set", "lan0", "up"], check=True)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", f"{self.router_ip}/24", "dev", self.bridge],
                    ["ip", "link", "set", self.bridge, "up"]):
            self.run(cmd, netns=rns, check=True)
        return rns

    def start_ipv6(self, managed: bool = True, radvd: bool = True) -> str:
        """IPv6 on the LAN: tb.server_ip6 (2001:db8:N::1/64, a documentation
        prefix, RFC 3849) on br0, and radvd (a real router advertisement daemon)
        announcing the /64 with the M and O flags when managed (addresses and boot
        file from DHCPv6), else O only (SLAAC addresses, the boot file from a
        stateless DHCPv6 reply). Router lifetime 0: not a default router. Log:
        radvd.log. radvd=False: no router here (dnsmasq's --enable-ra, say).
        Returns tb.server_ip6."""
        self.prefix6 = f"2001:db8:{self.n:x}::"
        self.server_ip6 = f"{self.prefix6}1"
        for conf in ("all", "default", self.bridge):
            # DAD would hold the address tentative for a second or two: ours alone here.
            self.run(["sysctl", "-qw", f"net.ipv6.conf.{conf}.accept_dad=0"], check=True)
        self.run(["ip", "addr", "add", f"{self.server_ip6}/64", "dev", self.bridge, "nodad"],
                 check=True)
        if not radvd:
            return self.server_ip6
        conf = self.tmp / "radvd.conf"
        conf.write_text(f"""interface {self.bridge} {{
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvDefaultLifetime 0;
    AdvManagedFlag {"on" if managed else "off"};
    AdvOtherConfigFlag on;
    prefix {self.prefix6}/64 {{
        AdvOnLink on;
        AdvAutonomous {"off" if managed else "on"};
    }};
}};
""")
        p = self.popen(["radvd", "--nodaemon", "--logmethod", "stderr", "--debug", "1",
                        "--config", str(conf), "--pidfile", str(self.tmp / "radvd.pid")],
                       "radvd.log")
        self.wait_log("radvd.log", "polling for", timeout=20, proc=p)
        if p.poll() is not None:
            raise TestbedFailure("radvd exited at start\n" + self.diagnostics())
        return self.server_ip6

    def start_dnsmasq(self, extra_args: list = (), dhcp_range: str = None,
                      own_host: bool = True) -> subprocess.Popen:
        """dnsmasq as the LAN's plain DHCP server (addresses only, no PXE, no DNS),
        for proxyDHCP tests. Log: tb.tmp/dnsmasq.log (with --log-dhcp).

        own_host=True (default): it runs on the router host (add_router(),
        tb.router_ip), as on a real LAN, so its server identifier, siaddr and
        router option are NOT netbootd's address: a proxyDHCP server that answers
        a REQUEST meant for the router, or relies on the router's siaddr, fails.
        own_host=False runs it in the testbed namespace on tb.server_ip."""
        rng = dhcp_range or f"{self.subnet_prefix}.100,{self.subnet_prefix}.199"
        netns = self.add_router() if own_host else None
        cmd = ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
               f"--interface={self.bridge}", "--bind-interfaces", "--except-interface=lo",
               f"--dhcp-range={rng},{self.netmask},1h",
               f"--dhcp-leasefile={self.tmp / 'dnsmasq.leases'}",
               "--pid-file=", "--user=root", "--group=root",
               "--log-dhcp", "--log-facility=-", "--dhcp-authoritative",
               # no ICMP probe of an address before offering it: the namespace is ours
               "--no-ping"]
        self._dnsmasq_hosts = self.tmp / "dnsmasq.hosts"
        self._dnsmasq_hosts.write_text("")
        cmd += [f"--dhcp-hostsfile={self._dnsmasq_hosts}"]
        first, last = rng.split(",")[:2]
        self._dnsmasq_next = ipaddress.IPv4Address(first)
        self._dnsmasq_last = ipaddress.IPv4Address(last)
        cmd += list(extra_args)
        p = self.popen(cmd, "dnsmasq.log", netns=netns)
        self.wait_log("dnsmasq.log", "started", timeout=20, proc=p)
        if p.poll() is not None:
            raise TestbedFailure("dnsmasq exited at start\n" + self.diagnostics())
        self._dnsmasq = p
        return p

    def _pin_dnsmasq_address(self, mac: str):
        """dnsmasq picks an address from a hash of the MAC and keeps no record of
        an OFFER, so two VMs booting at once can be offered the same address; the
        second is NAKed and Debian's iPXE (2019) keeps asking for it until it
        gives up (seen in CI: "Nothing to boot"). Each VM gets its own address
        from the range instead (dhcp-hostsfile, re-read on SIGHUP)."""
        p = self._dnsmasq
        if p is None or p.poll() is not None or self._dnsmasq_next > self._dnsmasq_last:
            return
        log = self.log_path("dnsmasq.log")
        marker = f"read {self._dnsmasq_hosts}"
        before = log.read_text(errors="replace").count(marker)
        with open(self._dnsmasq_hosts, "a") as f:
            f.write(f"{mac},{self._dnsmasq_next}\n")
        self._dnsmasq_next += 1
        p.send_signal(signal.SIGHUP)  # `ip netns exec` execs dnsmasq: same PID
        deadline = time.monotonic() + 20
        while log.read_text(errors="replace").count(marker) <= before:
            if time.monotonic() > deadline or p.poll() is not None:
                raise TestbedFailure(f"dnsmasq did not re-read {self._dnsmasq_hosts}\n" +
                                     self.diagnostics())
            time.sleep(0.05)

    # -- VMs ---------------------------------------------------------------
    def add_tap(self) -> str:
        tap = f"tap{self._taps}"
        self._taps += 1
        self.run(["ip", "tuntap", "add", tap, "mode", "tap"], check=True)
        self.run(["ip", "link", "set", tap, "master", self.bridge], check=True)
        self.run(["ip", "link", "set", tap, "up"], check=True)
        return tap

    def new_mac(self) -> str:
        return "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))

    def vm(self, firmware: str, mac: str = None, boot: str = "net", disk: str = None,
           cdrom: str = None, memory_mb: int = 512, extra: list = (), fw_cfg: dict = None,
           efi_ipv4_pxe: bool = True, efi_http: bool = True, network: bool = True,
           nvdimm: str = None, secure_boot: bool = False) -> VM:
        """Start a QEMU VM on a new tap of br0.

        firmware: "bios" (SeaBIOS + iPXE e1000 ROM), "uefi" (OVMF, q35, virtio-net
        with OVMF's own driver) or "arm64-uefi" (AAVMF on QEMU's virt machine,
        a Cortex-A57, virtio-net with AAVMF's own driver; Linux's console is
        ttyAMA0). boot: "net", "disk" or "cdrom". disk/cdrom: image
        paths, attached snapshot/read-only so shared cached images are never
        written. fw_cfg: {name: str value or Path (file=)}. efi_http=False: Debian's
        OVMF 2022.11 has no knob to turn HTTP boot off; it is accepted and ignored,
        so a PXE test must check the route taken in the server log.
        network=False: no NIC at all. nvdimm: a file (size a multiple of 2 MiB) shown
        to the guest as an ACPI NFIT NVDIMM, i.e. /dev/pmem0 in Linux: the same way a
        UEFI RAM disk in reserved memory appears after boot (private mapping, the
        file is never written). secure_boot: OVMF with Secure Boot enforced and
        Microsoft's keys enrolled (SMM, as that firmware build requires)."""
        if firmware not in ("bios", "uefi", "arm64-uefi"):
            raise ValueError(f"firmware must be 'bios', 'uefi' or 'arm64-uefi', not {firmware!r}")
        if boot not in ("net", "disk", "cdrom"):
            raise ValueError(f"boot must be net, disk or cdrom, not {boot!r}")
        if boot == "disk" and not disk:
            raise ValueError("boot='disk' needs disk=")
        if boot == "cdrom" and not cdrom:
            raise ValueError("boot='cdrom' needs cdrom=")
        idx = len(self._vms)
        name = f"vm{idx}-{firmware}"
        mac = mac or self.new_mac()
        serial = self.tmp / f"{name}.serial"
        cmd = [QEMU_ARM64 if firmware == "arm64-uefi" else QEMU, "-accel", "tcg", "-nodefaults", "-no-reboot", "-nographic",
               "-monitor", "none", "-serial", f"file:{serial}", "-name", name]
        if nvdimm:
            size = Path(nvdimm).stat().st_size
            if size % (2 << 20):
                raise ValueError(f"nvdimm {nvdimm}: size {size} is not a multiple of 2 MiB")
            cmd += ["-m", f"{memory_mb}M,slots=2,maxmem={memory_mb + size // (1 << 20) + 1024}M",
                    "-object", f"memory-backend-file,id=nv0,share=off,mem-path={nvdimm},size={size}",
                    "-device", "nvdimm,memdev=nv0,id=nvdimm0"]
        else:
            cmd += ["-m", str(memory_mb)]
        if secure_boot and firmware != "uefi":
            raise ValueError("secure_boot needs firmware='uefi'")
        if nvdimm and firmware == "arm64-uefi":
            raise ValueError("nvdimm is x86 only here")
        if firmware == "arm64-uefi":
            vars_copy = self.tmp / f"{name}-AAVMF_VARS.fd"
            shutil.copyfile(AAVMF_VARS, vars_copy)
            # cortex-a57, not "max": TCG emulates max's pointer authentication
            # in software, several times slower for the same boot.
            cmd += ["-machine", "virt", "-cpu", "cortex-a57",
                    "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={AAVMF_CODE}",
                    "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
            nic = f"virtio-net-pci,netdev=n0,mac={mac},romfile="
        elif firmware == "bios":
            cmd += ["-machine", "pc" + (",nvdimm=on" if nvdimm else "")]
            nic = f"e1000,netdev=n0,mac={mac},romfile={IPXE_E1000_ROM}"
        else:
            vars_copy = self.tmp / f"{name}-OVMF_VARS.fd"
            shutil.copyfile(OVMF_VARS_MS if secure_boot else OVMF_VARS, vars_copy)
            code = OVMF_CODE_SECBOOT if secure_boot else OVMF_CODE
            cmd += ["-machine", "q35" + (",nvdimm=on" if nvdimm else "") + (",smm=on" if secure_boot else ""),
                    "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
                    "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
            if secure_boot:
                cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
            nic = f"virtio-net-pci,netdev=n0,mac={mac},romfile="
            cfg = {"opt/org.tianocore/IPv6PXESupport": "no",
                   "opt/org.tianocore/IPv6Support": "no"}
            if not efi_ipv4_pxe:
                cfg["opt/org.tianocore/IPv4PXESupport"] = "no"
            cfg.update(fw_cfg or {})
            fw_cfg = cfg
        for k, v in (fw_cfg or {}).items():
            if isinstance(v, Path):
                cmd += ["-fw_cfg", f"name={k},file={v}"]
            else:
                cmd += ["-fw_cfg", f"name={k},string={v}"]
        tap = None
        if network:
            self._pin_dnsmasq_address(mac)
            tap = self.add_tap()
            cmd += ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                    "-device", nic + (",bootindex=0" if boot == "net" else ",bootindex=9")]
        elif boot == "net":
            raise ValueError("boot='net' needs network=True")
        if disk:
            cmd += ["-drive", f"file={disk},format=raw,if=none,id=d0,snapshot=on",
                    "-device", "virtio-blk-pci,drive=d0" + (",bootindex=0" if boot == "disk" else ",bootindex=5")]
        if cdrom:
            cmd += ["-drive", f"file={cdrom},format=raw,if=none,id=cd0,media=cdrom,readonly=on",
                    "-device", "ide-cd,drive=cd0" + (",bootindex=0" if boot == "cdrom" else ",bootindex=6")]
        cmd += [str(x) for x in extra]
        vm = VM(self, name, self.wrap(cmd), serial, self.tmp / f"{name}.qemu.log", mac, tap)
        self._vms.append(vm)
        self._logs[f"{name}.qemu.log"] = vm.log_path
        return vm

    # -- diagnostics -------------------------------------------------------
    def diagnostics(self, vm: VM = None) -> str:
        out = [f"--- testbed {self.ns} ({self.server_ip}/24, tmp {self.tmp}) ---"]
        vms = [vm] if vm else self._vms
        for v in vms:
            lines = v.serial().splitlines()
            out.append(f"--- {v.name} serial, last {SERIAL_TAIL_LINES} of {len(lines)} lines "
                       f"({v.elapsed():.1f}s, {'running' if v.running() else 'exited rc=%s' % v.proc.returncode}) ---")
            out += lines[-SERIAL_TAIL_LINES:]
        for log_name, path in self._logs.items():
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if vm is not None and log_name.endswith(".qemu.log") and not log_name.startswith(vm.name):
                continue
            out.append(f"--- {log_name} (last {LOG_TAIL_CHARS} chars) ---")
            out.append(text[-LOG_TAIL_CHARS:])
        for i, nb in enumerate(self._netbootds):
            out.append(f"--- netbootd[{i}] {' '.join(map(str, nb.args))} (last {LOG_TAIL_CHARS} chars) ---")
            out.append(nb.log()[-LOG_TAIL_CHARS:])
        return "\n".join(out) + "\n"


def ra_responder(ifname: str):
    """Answer IPv6 Router Solicitations on ifname with an empty Router Advertisement
    (RFC 4861 4.2: lifetime 0 = not a default router, no options but the source
    link-layer address). Runs inside the testbed namespace until killed."""
    import socket
    import struct
    mac = bytes.fromhex(Path(f"/sys/class/net/{ifname}/address").read_text().strip().replace(":", ""))
    ifindex = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)  # NDP needs hop limit 255
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.inet_pton(socket.AF_INET6, "ff02::2") + struct.pack("@I", ifindex))
    # type 134, code 0, checksum (kernel fills it), cur hop limit 0, flags 0,
    # router lifetime 0, reachable 0, retrans 0; option 1 = source link-layer address.
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 0, 0, 0, 0, 0) + bytes([1, 1]) + mac
    print(f"ra-responder: listening on {ifname}", flush=True)
    while True:
        data, addr = s.recvfrom(1500)
        if not data or data[0] != 133:  # Router Solicitation only
            continue
        for _ in range(3):
            try:
                s.sendto(ra, ("ff02::1", 0, 0, ifindex))
                break
            except OSError as e:  # the link-local address may still be tentative (DAD)
                print(f"ra-responder: send: {e}", flush=True)
                time.sleep(0.5)
        print(f"ra-responder: RS from {addr[0]}, sent RA", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "ra-responder":
        ra_responder(sys.argv[2])
    else:
        sys.exit(f"usage: {sys.argv[0]} ra-responder IFNAME")
