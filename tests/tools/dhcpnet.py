"""Two network namespaces joined by a veth pair, for the DHCP tests.

    with DhcpNet("proxy") as net:       # namespaces nbd-dhcp-<tag>-<pid>-{s,c}
        net.server_ns, net.client_ns     # s0 = 198.18.0.1/24, c0 = 198.18.0.2/24 (or none)
        net.client(["--type", "discover", ...])   # runs dhcppkt.py in the client ns

Everything is deleted on exit, even after a failure.
"""
import json
import os
import subprocess
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
PY = "/usr/bin/python3"
SERVER_IP = "198.18.0.1"
CLIENT_IP = "198.18.0.2"
# IPv6 (ipv6=True): a documentation prefix (RFC 3849), on s0 only.
SERVER_IP6 = "2001:db8:0:1::1"
CLIENT_IP6 = "2001:db8:0:1::2"


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


class DhcpNet:
    def __init__(self, tag, client_addr=True, ipv6=False):
        base = f"nbd-dhcp-{tag}-{os.getpid()}"
        self.server_ns = base + "-s"
        self.client_ns = base + "-c"
        self.client_addr = client_addr
        self.ipv6 = ipv6

    def __enter__(self):
        try:
            for ns in (self.server_ns, self.client_ns):
                sh("ip", "netns", "add", ns)
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                if self.ipv6:
                    # No duplicate address detection: addresses usable at once.
                    for conf in ("all", "default"):
                        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
                           f"net.ipv6.conf.{conf}.accept_dad=0")
            sh("ip", "-n", self.server_ns, "link", "add", "s0", "type", "veth", "peer", "name",
               "c0", "netns", self.client_ns)
            sh("ip", "-n", self.server_ns, "addr", "add", SERVER_IP + "/24", "dev", "s0")
            if self.ipv6:
                sh("ip", "-n", self.server_ns, "addr", "add", SERVER_IP6 + "/64", "dev", "s0",
                   "nodad")
            if self.client_addr:
                sh("ip", "-n", self.client_ns, "addr", "add", CLIENT_IP + "/24", "dev", "c0")
            if self.client_addr and self.ipv6:
                sh("ip", "-n", self.client_ns, "addr", "add", CLIENT_IP6 + "/64", "dev", "c0",
                   "nodad")
            sh("ip", "-n", self.server_ns, "link", "set", "s0", "up")
            sh("ip", "-n", self.client_ns, "link", "set", "c0", "up")
            if self.ipv6:
                self._wait_link_local()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_link_local(self, timeout=10.0):
        """Both ends have their fe80:: address (the kernel adds it a moment after up)."""
        import time
        deadline = time.monotonic() + timeout
        for ns, dev in ((self.server_ns, "s0"), (self.client_ns, "c0")):
            while "inet6 fe80" not in sh("ip", "-n", ns, "-6", "addr", "show", "dev", dev,
                                         "scope", "link").stdout:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{dev}: no link-local IPv6 address")
                time.sleep(0.05)

    def __exit__(self, *exc):
        for ns in (self.server_ns, self.client_ns):
            # Whatever still runs in the namespace was started by this test.
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        return False

    def run(self, ns, cmd, timeout=60, check=False):
        return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), capture_output=True,
                              text=True, timeout=timeout, check=check)

    def client(self, args, timeout=3.0, count=1):
        """dhcppkt.py in the client namespace; returns the replies (it stops
        waiting after count of them; count=0 waits the whole timeout)."""
        return self._tool("dhcppkt.py", args, timeout, count)

    def client6(self, args, timeout=3.0, count=1):
        """dhcp6pkt.py (DHCPv6) in the client namespace on c0; returns the replies."""
        return self._tool("dhcp6pkt.py", args, timeout, count)

    def _tool(self, script, args, timeout, count):
        r = self.run(self.client_ns, [PY, str(TOOLS / script), "--iface", "c0",
                                      "--timeout", str(timeout), "--count", str(count)]
                     + list(args),
                     timeout=timeout + 30)
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
