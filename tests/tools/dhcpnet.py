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


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


class DhcpNet:
    def __init__(self, tag, client_addr=True):
        base = f"nbd-dhcp-{tag}-{os.getpid()}"
        self.server_ns = base + "-s"
        self.client_ns = base + "-c"
        self.client_addr = client_addr

    def __enter__(self):
        try:
            for ns in (self.server_ns, self.client_ns):
                sh("ip", "netns", "add", ns)
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.server_ns, "link", "add", "s0", "type", "veth", "peer", "name",
               "c0", "netns", self.client_ns)
            sh("ip", "-n", self.server_ns, "addr", "add", SERVER_IP + "/24", "dev", "s0")
            if self.client_addr:
                sh("ip", "-n", self.client_ns, "addr", "add", CLIENT_IP + "/24", "dev", "c0")
            sh("ip", "-n", self.server_ns, "link", "set", "s0", "up")
            sh("ip", "-n", self.client_ns, "link", "set", "c0", "up")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

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
        r = self.run(self.client_ns, [PY, str(TOOLS / "dhcppkt.py"), "--iface", "c0",
                                      "--timeout", str(timeout), "--count", str(count)]
                     + list(args),
                     timeout=timeout + 30)
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
