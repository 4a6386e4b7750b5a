"""DHCPv6 (--dhcp6 proxy|server) over a veth pair: messages to ff02::1:2 from a
link-local address, as firmware sends them (tests/tools/dhcp6pkt.py), a relay,
malformed input, leases that survive a restart, and perfdhcp -6 (Kea's real
client) for a burst."""
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd  # noqa: E402
from dhcpnet import SERVER_IP6, DhcpNet  # noqa: E402

PREFIX = "2001:db8:0:1::"
POOL6 = f"{PREFIX}100-{PREFIX}1ff"
PXE_X64 = ["--vendor-class", "PXEClient:Arch:00007:UNDI:003016", "--arch", "7"]
HTTP_X64 = ["--vendor-class", "HTTPClient:Arch:00016:UNDI:003016", "--arch", "16"]


def in_pool(addr):
    import ipaddress
    a = ipaddress.IPv6Address(addr)
    return ipaddress.IPv6Address(PREFIX + "100") <= a <= ipaddress.IPv6Address(PREFIX + "1ff")


@pytest.fixture
def net():
    with DhcpNet("v6", ipv6=True) as n:
        yield n


def args6(root, *extra, mode="server", lease_file=None):
    a = ["--root", str(root), "--dhcp", "off", "--dhcp6", mode, "--tftp", "[::]:6969",
         "--http", "[::]:8080", "--interface", "s0", "--lease-time", "600", "--log-level", "debug"]
    if mode == "server":
        a += ["--pool6", POOL6, "--lease-file6", str(lease_file or root / "leases6")]
    return a + list(extra)


def kernel_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(b"k" * 1000)
    (root / "initrd").write_bytes(b"i" * 1000)
    return root


def test_server_solicit_request_renew_release(net, tmp_path):
    root = kernel_root(tmp_path)
    leases = tmp_path / "leases6"
    with Netbootd(args6(root, "--kernel", root / "vmlinuz", "--initrd", root / "initrd",
                        lease_file=leases), netns=net.server_ns) as nb:
        mac = "52:54:00:66:00:01"
        adv = net.client6(["--type", "solicit", "--ia", "--mac", mac] + PXE_X64)
        assert len(adv) == 1 and adv[0]["type"] == "ADVERTISE", adv
        a = adv[0]
        addr, pref, valid = a["ia_na"]["addrs"][0]
        assert in_pool(addr) and pref == valid == 600
        assert (a["ia_na"]["t1"], a["ia_na"]["t2"]) == (300, 480)
        assert a["options"]["7"] == "ff", "preference 255: the client need not wait for others"
        # TFTP over IPv6: a URL naming our address on the link and the listener's port.
        assert a["bootfile_url"] == f"tftp://[{SERVER_IP6}]:6969/snponly.efi"
        # With an address, no PXEClient class: EDK2 would make it a BINL offer and
        # ask port 4011 before configuring the address (docs/dhcp.md).
        assert a["vendor_class"] is None
        sid = a["options"]["2"]
        # An ADVERTISE binds nothing: the journal is untouched.
        assert not re.search(r"^L ", leases.read_text() if leases.exists() else "", re.M)

        rep = net.client6(["--type", "request", "--ia", "--ia-addr", addr, "--server-id", sid,
                           "--mac", mac] + PXE_X64)
        assert [r["type"] for r in rep] == ["REPLY"] and rep[0]["ia_na"]["addrs"][0][0] == addr
        # On disk before the REPLY left.
        assert re.search(rf"^L {re.escape(addr)} {mac} \d+$", leases.read_text(), re.M)

        # A REQUEST for another server is not ours to answer.
        assert net.client6(["--type", "request", "--ia", "--ia-addr", addr, "--server-id",
                            "000300015254000000ff", "--mac", mac], timeout=1.5) == []

        ren = net.client6(["--type", "renew", "--ia", "--ia-addr", addr, "--server-id", sid,
                           "--mac", mac])
        assert ren[0]["type"] == "REPLY" and ren[0]["ia_na"]["addrs"][0][0] == addr
        # Another machine renewing this address: no binding.
        ren2 = net.client6(["--type", "renew", "--ia", "--ia-addr", addr, "--server-id", sid,
                            "--mac", "52:54:00:66:00:02"])
        assert ren2[0]["ia_na"]["status"]["code"] == 3, ren2  # NoBinding
        conf = net.client6(["--type", "confirm", "--ia", "--ia-addr", addr, "--mac", mac])
        assert conf[0]["status"]["code"] == 0
        conf = net.client6(["--type", "confirm", "--ia", "--ia-addr", "2001:db8:99::5", "--mac", mac])
        assert conf[0]["status"]["code"] == 4  # NotOnLink

        rel = net.client6(["--type", "release", "--ia", "--ia-addr", addr, "--server-id", sid,
                           "--mac", mac])
        assert rel[0]["status"]["code"] == 0
        assert re.search(rf"^F {re.escape(addr)} {mac}$", leases.read_text(), re.M)
        log = nb.log()
    assert re.search(rf"dhcp6: {mac} arch 7 \(x64-uefi\) uefi-pxe: ADVERTISE tftp://", log), log


def test_server_lease_survives_restart(net, tmp_path):
    root = kernel_root(tmp_path)
    leases = tmp_path / "leases6"
    mac = "52:54:00:66:00:07"
    a = args6(root, "--kernel", root / "vmlinuz", lease_file=leases)
    with Netbootd(a, netns=net.server_ns):
        adv = net.client6(["--type", "solicit", "--ia", "--mac", mac])
        addr = adv[0]["ia_na"]["addrs"][0][0]
        rep = net.client6(["--type", "request", "--ia", "--ia-addr", addr, "--server-id",
                           adv[0]["options"]["2"], "--mac", mac])
        assert rep[0]["ia_na"]["addrs"][0][0] == addr
        # A second machine gets another address.
        other = net.client6(["--type", "solicit", "--ia", "--mac", "52:54:00:66:00:08"])
        assert other[0]["ia_na"]["addrs"][0][0] != addr
    with Netbootd(a, netns=net.server_ns) as nb:
        adv = net.client6(["--type", "solicit", "--ia", "--mac", mac])
        assert adv[0]["ia_na"]["addrs"][0][0] == addr, "the lease was lost over a restart"
        # The server DUID is the same across restarts (machine id, or random per run).
        assert nb.log()


def test_http_boot_client_and_ipxe_get_http_urls(net, tmp_path):
    root = kernel_root(tmp_path)
    (root / "linux.efi").write_bytes(b"MZ" + b"\0" * 100)
    conf = tmp_path / "nb.conf"
    conf.write_text(f"[server]\nroot = {root}\n[default]\nprofile = e\n[profile e]\nefi = linux.efi\n")
    with Netbootd(args6(root, "--config", conf), netns=net.server_ns) as nb:
        mac = "52:54:00:66:00:03"
        adv = net.client6(["--type", "solicit", "--ia", "--mac", mac] + HTTP_X64)
        assert adv[0]["bootfile_url"] == f"http://[{SERVER_IP6}]:8080/boot/{mac}.efi"
        assert adv[0]["vendor_class"] == [343, "HTTPClient"]
        # The URL works over IPv6 with a real client.
        r = net.run(net.client_ns, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                    "--max-time", "10", "-g", adv[0]["bootfile_url"]])
        assert r.stdout == "404" or r.stdout == "200", r.stdout + r.stderr
        # iPXE (user class iPXE) gets its script URL, over an INFORMATION-REQUEST too.
        info = net.client6(["--type", "information-request", "--mac", mac, "--user-class", "iPXE",
                            "--arch", "7"])
        assert info[0]["type"] == "REPLY" and info[0]["ia_na"] is None
        assert info[0]["bootfile_url"] == f"http://[{SERVER_IP6}]:8080/boot/{mac}.ipxe"
        # A plain client: an address, no boot options.
        plain = net.client6(["--type", "solicit", "--ia", "--mac", "52:54:00:66:00:04"])
        assert plain[0]["bootfile_url"] is None and plain[0]["ia_na"]["addrs"]
        assert "dhcp6" in nb.log()


def test_generated_ipxe_script_names_the_ipv6_address(net, tmp_path):
    root = kernel_root(tmp_path)
    with Netbootd(args6(root, "--kernel", root / "vmlinuz", "--initrd", root / "initrd"),
                  netns=net.server_ns):
        mac = "52:54:00:66:00:05"
        net.client6(["--type", "information-request", "--mac", mac, "--user-class", "iPXE",
                     "--arch", "7"])
        r = net.run(net.client_ns, ["curl", "-sS", "--max-time", "10", "-g",
                                    f"http://[{SERVER_IP6}]:8080/boot/{mac}.ipxe"])
        assert r.returncode == 0, r.stderr
        assert f"http://[{SERVER_IP6}]:8080/quick/linux" in r.stdout, r.stdout


def test_proxy_answers_boot_clients_only(net, tmp_path):
    root = kernel_root(tmp_path)
    (root / "grubx64.efi").write_bytes(b"MZ" + b"\0" * 100)
    conf = tmp_path / "nb.conf"
    conf.write_text(f"[server]\nroot = {root}\n[default]\nprofile = k\n"
                    "[profile k]\nkernel = vmlinuz\n[arch x64-uefi]\nloader = grubx64.efi\n")
    with Netbootd(args6(root, "--config", conf, mode="proxy"), netns=net.server_ns) as nb:
        mac = "52:54:00:66:00:06"
        adv = net.client6(["--type", "solicit", "--ia", "--mac", mac] + PXE_X64)
        assert len(adv) == 1 and adv[0]["type"] == "ADVERTISE"
        # No IA_NA at all (EDK2 drops an ADVERTISE whose IA says NoAddrsAvail),
        # no preference: the LAN's server gives the address.
        assert adv[0]["ia_na"] is None and "7" not in adv[0]["options"]
        assert adv[0]["bootfile_url"] == f"tftp://[{SERVER_IP6}]:6969/grubx64.efi"
        # The PXEClient class makes it EDK2's proxy (BINL) offer.
        assert adv[0]["vendor_class"] == [343, "PXEClient"]
        # EDK2's boot file request to port 4011 after a proxy offer: a REQUEST to us, no IA.
        rep = net.client6(["--type", "request", "--mac", mac, "--server-id", adv[0]["options"]["2"],
                           "--to", SERVER_IP6, "--port", "4011"] + PXE_X64)
        assert rep[0]["type"] == "REPLY" and rep[0]["bootfile_url"] == adv[0]["bootfile_url"]
        # A plain client gets nothing from a proxy.
        assert net.client6(["--type", "solicit", "--ia", "--mac", "52:54:00:66:00:09"],
                           timeout=1.5) == []
        # A chain through iPXE is not offered beside another DHCPv6 server: iPXE
        # would never learn its script URL there. The log says why.
        assert net.client6(["--type", "solicit", "--ia", "--mac", "52:54:00:66:00:0d",
                            "--vendor-class", "HTTPClient:Arch:00016:UNDI:003016", "--arch", "16"],
                           timeout=1.5) == []
        assert re.search(r"52:54:00:66:00:0d uefi-http SOLICIT: no boot answer \(profile k needs "
                         r"iPXE, which gets no script over DHCPv6 beside another server", nb.log()), \
            nb.log()[-3000:]
        assert "DHCPv6 proxy" in nb.log()


def test_relayed_solicit_is_answered_through_the_relay(net, tmp_path):
    root = kernel_root(tmp_path)
    with Netbootd(args6(root, "--kernel", root / "vmlinuz"), netns=net.server_ns) as nb:
        # From a relay on the pool's link (its option 79 names the client's MAC).
        adv = net.client6(["--type", "solicit", "--ia", "--relay", PREFIX + "fffe",
                           "--mac", "52:54:00:66:00:0a"] + PXE_X64)
        assert adv and adv[0]["type"] == "ADVERTISE" and in_pool(adv[0]["ia_na"]["addrs"][0][0])
        assert adv[0]["bootfile_url"].startswith("tftp://[")
        # From a relay on another link: no address from this pool.
        adv = net.client6(["--type", "solicit", "--ia", "--relay", "2001:db8:77::1",
                           "--mac", "52:54:00:66:00:0b"] + PXE_X64)
        assert adv[0]["ia_na"]["status"]["code"] == 2 and not adv[0]["ia_na"]["addrs"]
        assert re.search(r"52:54:00:66:00:0a .* via relay", nb.log()), nb.log()[-3000:]


def test_malformed_messages_are_dropped_and_the_server_lives(net, tmp_path):
    root = kernel_root(tmp_path)
    with Netbootd(args6(root, "--kernel", root / "vmlinuz"), netns=net.server_ns) as nb:
        for raw in ("01", "01abcdef0001", "01abcdef00010020" + "00" * 4,
                    "0c00" + "00" * 32 + "000900ff01",  # relay with a truncated inner message
                    "0c00" + "00" * 32):                # relay without a relayed message
            assert net.client6(["--type", "solicit", "--raw", raw], timeout=0.5) == []
        adv = net.client6(["--type", "solicit", "--ia", "--mac", "52:54:00:66:00:0c"] + PXE_X64)
        assert adv and adv[0]["type"] == "ADVERTISE"
        assert "malformed message" in nb.log()


def test_config_errors_are_clear(tmp_path):
    root = kernel_root(tmp_path)
    for extra, want in (
            (["--dhcp6", "server", "--tftp", "[::]:69"], "--dhcp6 server needs --pool6"),
            (["--dhcp6", "proxy"], "--dhcp6 needs a TFTP or HTTP listener on IPv6"),
            (["--dhcp6", "server", "--pool6", "2001:db8::1-2001:db9::1", "--tftp", "[::]:69"],
             "within one /96"),
            (["--server-addr6", "198.18.0.1"], "is not an IPv6 address")):
        r = subprocess.run(["./netbootd", "--root", str(root), "--check-config"] + extra,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and want in r.stderr, (extra, r.stderr)


def test_perfdhcp6_burst_gets_distinct_leases(net, tmp_path):
    root = kernel_root(tmp_path)
    leases = tmp_path / "leases6"
    with Netbootd(args6(root, "--kernel", root / "vmlinuz", "--dhcp-lease-rate", "0",
                        lease_file=leases), netns=net.server_ns):
        time.sleep(0.3)
        r = net.run(net.client_ns, ["perfdhcp", "-6", "-l", "c0", "-r", "50", "-R", "100",
                                    "-n", "100", "-p", "10"], timeout=60)
        out = r.stdout + r.stderr
        m = re.search(r"sent packets: (\d+)\s+received packets: (\d+)", out.split("***")[-1] if "***" in out else out)
        assert "Rate:" in out or m, out[-3000:]
    bound = {}
    for line in leases.read_text().splitlines():
        f = line.split()
        if f and f[0] == "L":
            bound[f[1]] = f[2]
    assert len(bound) >= 50, f"only {len(bound)} leases bound\n{out[-3000:]}"
    assert all(in_pool(a) for a in bound)
    assert len(set(bound.values())) == len(bound), "one address per client"
