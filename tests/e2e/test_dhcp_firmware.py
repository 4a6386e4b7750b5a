"""Real firmware against netbootd's DHCP: SeaBIOS + iPXE ROM and OVMF, in
proxy mode beside dnsmasq (the LAN's address server) and in server mode
alone. "A usable offer" means the firmware went on to fetch the boot file
named in it from netbootd: the test stops there, it boots no OS."""
import re
import time
from pathlib import Path

from testbed import Testbed

KERNEL = sorted(Path("/boot").glob("vmlinuz-*"))


def args(tb, dhcp, *extra):
    a = ["--dhcp", dhcp, "--interface", tb.bridge, "--tftp", f"{tb.server_ip}:69",
         "--http", f"{tb.server_ip}:80", "--user", "root", "--log-level", "info",
         "--kernel", str(KERNEL[-1]), "--initrd", str(KERNEL[-1])]
    if dhcp == "server":
        p = tb.subnet_prefix
        a += ["--pool", f"{p}.20-{p}.40", "--lease-file", str(tb.tmp / "l" / "leases"),
              "--netmask", tb.netmask, "--router", tb.server_ip]
    return a + list(extra)


def wait_log(tb, nb, pattern, timeout=240):
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(nb.log())
        if m:
            return m
        time.sleep(0.25)
    raise AssertionError(f"netbootd log never matched {pattern!r}\n{nb.log()[-4000:]}\n" +
                         tb.diagnostics())


def ipxe_got_script(tb, nb, mac):
    """iPXE (ROM or chained) got the script URL from our DHCP and fetched it."""
    wait_log(tb, nb, rf"dhcp: {mac} arch \S+( \(\S+\))? ipxe: (OFFER|ACK) "
                     rf"http://{re.escape(tb.server_ip)}/boot/{mac}\.ipxe")
    path = mac.replace(":", "(:|%3[aA])")  # the HTTP log shows the target as sent
    wait_log(tb, nb, rf'http: \S+ "GET /boot/{path}\.ipxe" 200')


def test_bios_ipxe_rom_proxy_beside_dnsmasq():
    with Testbed("dhcp-bios-proxy") as tb:
        tb.start_dnsmasq()
        nb = tb.start_netbootd(args(tb, "proxy"))
        vm = tb.vm("bios")
        mac = vm.mac.lower()
        ipxe_got_script(tb, nb, mac)
        # The address came from dnsmasq; we only gave the boot file.
        dnsmasq = (tb.tmp / "dnsmasq.log").read_text(errors="replace")
        assert re.search(rf"DHCPACK\(br0\) {re.escape(tb.subnet_prefix)}\.1\d\d {mac}", dnsmasq), dnsmasq[-3000:]


def test_uefi_pxe_proxy_beside_dnsmasq():
    with Testbed("dhcp-uefi-proxy") as tb:
        tb.start_dnsmasq()
        nb = tb.start_netbootd(args(tb, "proxy"))
        vm = tb.vm("uefi")
        mac = vm.mac.lower()
        # OVMF's PXE: arch 7, gets snponly.efi in the proxy OFFER, loads it by TFTP...
        wait_log(tb, nb, rf"dhcp: {mac} arch 7 \(x64-uefi\) uefi-pxe: OFFER snponly\.efi")
        wait_log(tb, nb, r'tftp: \S+ "snponly\.efi" (\d+)/\1 bytes')
        # ...and the iPXE it started asks again and gets its script.
        ipxe_got_script(tb, nb, mac)


def test_bios_ipxe_rom_server_mode():
    with Testbed("dhcp-bios-server") as tb:
        nb = tb.start_netbootd(args(tb, "server"))
        vm = tb.vm("bios")
        mac = vm.mac.lower()
        ipxe_got_script(tb, nb, mac)
        leases = (tb.tmp / "l" / "leases").read_text()
        assert re.search(rf"^L {re.escape(tb.subnet_prefix)}\.(2\d|3\d|40) {mac} \d+$", leases, re.M), leases


def test_uefi_pxe_server_mode():
    with Testbed("dhcp-uefi-server") as tb:
        nb = tb.start_netbootd(args(tb, "server"))
        vm = tb.vm("uefi")
        mac = vm.mac.lower()
        wait_log(tb, nb, rf"dhcp: {mac} arch 7 \(x64-uefi\) uefi-pxe: OFFER snponly\.efi")
        wait_log(tb, nb, r'tftp: \S+ "snponly\.efi" (\d+)/\1 bytes')
        ipxe_got_script(tb, nb, mac)
        leases = (tb.tmp / "l" / "leases").read_text()
        assert f" {mac} " in leases, leases


def test_uefi_http_boot_proxy_offer():
    """OVMF HTTP boot in a proxy setup only sends DISCOVERs (TESTBED.md): our
    OFFER must itself say HTTPClient and carry the URL, and the firmware then
    asks netbootd's HTTP server for it."""
    with Testbed("dhcp-uefi-http") as tb:
        tb.start_dnsmasq()
        nb = tb.start_netbootd(args(tb, "proxy"))
        vm = tb.vm("uefi", efi_ipv4_pxe=False)
        mac = vm.mac.lower()
        m = wait_log(tb, nb, rf"dhcp: {mac} arch 16 \(\S+\) uefi-http: OFFER "
                             rf"(http://{re.escape(tb.server_ip)}\S*)")
        url = m.group(1)
        path = re.escape(url.split(tb.server_ip, 1)[1]).replace(":", "(:|%3[aA])")
        wait_log(tb, nb, rf'http: \S+ "(HEAD|GET) {path}"')
