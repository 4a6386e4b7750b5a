"""IPv6 network boot on OVMF. radvd (or dnsmasq) announces a documentation /64
(2001:db8:N::/64), netbootd serves TFTP and HTTP on [::] and answers DHCPv6
(RFC 8415 + RFC 5970 option 59).

- UEFI PXEv6, netbootd the DHCPv6 server, no IPv4 on the LAN: DHCPv6 hands
  tftp://[addr]/snponly.efi; iPXE then configures IPv6 from the RA and DHCPv6
  again (user class iPXE) and fetches its script, kernel and initrd from
  http://[addr]/.
- UEFI HTTPv6 boot, the same LAN: http://[addr]/boot/MAC.efi, an EFI kernel.
- UEFI HTTPv6 boot in proxy mode beside dnsmasq (the LAN's DHCPv6 server and
  router): a whole disk image as a firmware RAM disk.

Not here: UEFI PXEv6 in proxy mode. EDK2's part works (its port-4011 request
is answered, snponly.efi comes over TFTP), but Debian's iPXE (2019) has no
proxy DHCPv6: it takes the options of the server that gave its address, so it
never sees the script URL. BIOS: Debian's undionly.kpxe has no IPv6 at all
(no "ipv6" string in the binary), and no BIOS PXE ROM speaks DHCPv6.
"""
import re

from boot_helpers import boot, mac_re, machine, marker_cmdline, served, wait_handoff, write_conf
from testbed import Testbed as _Testbed

# OVMF's NIC boot order is PXEv4, PXEv6, HTTPv4, HTTPv6; the testbed turns the
# IPv6 ones off by default (TESTBED.md). PXEv4 off too: there is no DHCPv4 here.
IPV6_ONLY_PXE = {"opt/org.tianocore/IPv4PXESupport": "no",
                 "opt/org.tianocore/IPv6PXESupport": "yes",
                 "opt/org.tianocore/IPv6Support": "yes"}


def netbootd6_args(tb, *extra):
    p = tb.prefix6
    return ["--dhcp", "off", "--dhcp6", "server", "--interface", tb.bridge,
            "--pool6", f"{p}100-{p}1ff", "--lease-file6", str(tb.tmp / "leases6"),
            "--tftp", "[::]:69", "--http", "[::]:80", "--log-level", "info"] + [str(x) for x in extra]


def status_json6(tb):
    """GET /status.json over IPv6 (curl in the namespace)."""
    import json
    r = tb.run(["curl", "-sS", "--max-time", "10", f"http://[{tb.server_ip6}]/status.json"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_ovmf_pxev6_snponly_then_ipxe_http_over_ipv6(guest_images):
    g = guest_images
    with _Testbed("ipv6-pxe", ipv6_ra=False) as tb:
        tb.start_ipv6(managed=True)
        cmdline = marker_cmdline(g, "uefi-pxe6")
        nb = tb.start_netbootd(netbootd6_args(tb, "--kernel", g.kernel, "--initrd", g.initrd,
                                              "--cmdline", cmdline))
        vm = tb.vm("uefi", fw_cfg=IPV6_ONLY_PXE)
        boot(vm, cmdline, timeout=420)
        mac = vm.mac.lower()
        a6 = re.escape(tb.server_ip6)
        log = nb.log()
        # The route: DHCPv6 from the firmware's PXE, snponly.efi over TFTP/IPv6,
        # then iPXE's own DHCPv6 and HTTP over IPv6 to the kernel.
        assert served(nb, rf"dhcp6: {mac} arch 7 \(x64-uefi\) uefi-pxe: (ADVERTISE|REPLY) "
                          rf"tftp://\[{a6}\]/snponly\.efi"), log[-4000:]
        assert served(nb, r'tftp: \[?fe80::|tftp: \[?2001:db8:'), log[-4000:]
        assert served(nb, r'tftp: .*"snponly\.efi"'), log[-4000:]
        assert served(nb, rf"dhcp6: {mac} .* ipxe: (ADVERTISE|REPLY) http://\[{a6}\]/boot/{mac}\.ipxe"), log[-4000:]
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", "/quick/linux", "/quick/initrd0"):
            assert served(nb, rf'http: \[2001:db8:[0-9a-f:]+\]:\d+ .*"GET {path}" 200'), log[-4000:]
        assert not served(nb, r"dhcp: "), "no DHCPv4 on this LAN"
        # The lease is on disk, in the pool.
        leases = (tb.tmp / "leases6").read_text()
        assert re.search(rf"^L {re.escape(tb.prefix6)}1[0-9a-f]{{2}} {mac} \d+$", leases, re.M), leases
        summary = wait_handoff(tb, nb, mac)
        assert "firmware uefi-pxe" in summary, summary
        st = machine(status_json6(tb), mac)
        assert st["family"] == "ipv6" and st["ip"].startswith(tb.prefix6), st
        vm.wait_exit(60)


def test_ovmf_httpv6_boot_efi_kernel(guest_images):
    g = guest_images
    with _Testbed("ipv6-http", ipv6_ra=False) as tb:
        tb.start_ipv6(managed=True)
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[default]
profile = efikernel
[profile efikernel]
efi = linux.efi
""")
        nb = tb.start_netbootd(netbootd6_args(tb, "--config", conf))
        # No PXE at all: HTTPv4 finds no DHCPv4 and gives way to HTTPv6.
        vm = tb.vm("uefi", fw_cfg={"opt/org.tianocore/IPv4PXESupport": "no",
                                   "opt/org.tianocore/IPv6PXESupport": "no",
                                   "opt/org.tianocore/IPv6Support": "yes"})
        r = boot(vm, g.cmdline, timeout=420)
        assert r.cmdline == g.cmdline
        mac = vm.mac.lower()
        a6 = re.escape(tb.server_ip6)
        assert served(nb, rf"dhcp6: {mac} arch 16 \(x64-uefi-http\) uefi-http: (ADVERTISE|REPLY) "
                          rf"http://\[{a6}\]/boot/{mac}\.efi"), nb.log()[-4000:]
        assert served(nb, rf'http: \[2001:db8:[0-9a-f:]+\]:\d+ .*"GET /boot/{mac_re(mac)}\.efi" 200'), \
            nb.log()[-4000:]
        summary = wait_handoff(tb, nb, mac)
        assert "firmware uefi-http" in summary and f"last boot/{mac}.efi" in summary, summary
        st = machine(status_json6(tb), mac)
        assert st["family"] == "ipv6" and st["firmware"] == "uefi-http" and st["arch"] == 16, st
        vm.wait_exit(60)


def test_ovmf_httpv6_proxy_beside_dnsmasq_disk_image_ramdisk(guest_images):
    """Proxy mode, the default's IPv6 twin: dnsmasq on the LAN's router is the
    DHCPv6 server (and sends the RA); netbootd (--dhcp6 proxy) adds only the
    boot answer, with no address. A whole disk image: `--image X.iso` (method
    auto) is http://[addr]/boot/MAC.iso, which OVMF registers as a RAM disk and
    boots; the Linux inside finds the image again as /dev/pmem0."""
    g = guest_images
    with _Testbed("ipv6-proxy", ipv6_ra=False) as tb:
        tb.start_ipv6(radvd=False)
        rns = tb.add_router()
        for conf in ("all", "default", tb.bridge):
            tb.run(["sysctl", "-qw", f"net.ipv6.conf.{conf}.accept_dad=0"], netns=rns, check=True)
        tb.run(["ip", "addr", "add", f"{tb.prefix6}fe/64", "dev", tb.bridge, "nodad"], netns=rns,
               check=True)
        tb.start_dnsmasq([f"--dhcp-range={tb.prefix6}100,{tb.prefix6}1ff,64,1h", "--enable-ra"])
        nb = tb.start_netbootd(["--dhcp", "off", "--dhcp6", "proxy", "--interface", tb.bridge,
                                "--tftp", "[::]:69", "--http", "[::]:80", "--log-level", "info",
                                "--image", str(g.iso), "--method", "auto"])
        vm = tb.vm("uefi", memory_mb=768, fw_cfg={"opt/org.tianocore/IPv4PXESupport": "no",
                                                  "opt/org.tianocore/IPv6PXESupport": "no",
                                                  "opt/org.tianocore/IPv6Support": "yes"})
        r = vm.wait_guest(timeout=420)
        mac = vm.mac.lower()
        assert r.marker == g.token_iso, r
        assert r.device.startswith("/dev/pmem0") and r.fs == "iso9660", r
        line = served(nb, rf"dhcp6: {mac} arch 16 \S+ uefi-http: ADVERTISE "
                          rf"http://\[{re.escape(tb.server_ip6)}\]/boot/{mac}\.iso ")
        assert line and "method firmware-ramdisk (auto" in line[-1], nb.log()[-4000:]
        assert served(nb, rf'http: \[2001:db8:[0-9a-f:]+\]:\d+ "GET /boot/{mac}\.iso" 200'), \
            nb.log()[-4000:]
        # The address came from dnsmasq, not from netbootd (it has no pool).
        dnsmasq = tb.log_path("dnsmasq.log").read_text()
        assert re.search(rf"DHCPREPLY\(br0\) {re.escape(tb.prefix6)}1[0-9a-f]{{2}} ", dnsmasq), \
            dnsmasq[-3000:]
        wait_handoff(tb, nb, mac)
        st = machine(status_json6(tb), mac)
        assert st["family"] == "ipv6" and st["profile"] == "quick", st
