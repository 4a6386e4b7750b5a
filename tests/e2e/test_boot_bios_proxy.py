"""Chain 1: SeaBIOS + iPXE ROM boots kernel + initrd over HTTP, in proxyDHCP mode,
with dnsmasq beside netbootd handing out addresses as the LAN's router would."""
from boot_helpers import (boot, mac_re, machine, marker_cmdline, netbootd_args, screenshot_status,
                          served, status_json, wait_handoff)
from testbed import Testbed as _Testbed


def test_bios_ipxe_rom_proxy_dhcp_kernel_initrd_http(guest_images):
    g = guest_images
    with _Testbed("plan-bios-proxy") as tb:
        tb.start_dnsmasq()
        cmdline = marker_cmdline(g, "bios-proxy")
        nb = tb.start_netbootd(netbootd_args(tb, "--kernel", g.kernel, "--initrd", g.initrd,
                                             "--cmdline", cmdline))
        vm = tb.vm("bios")
        r = boot(vm, cmdline)
        assert r.cmdline.count("netbootd.profile=bios-proxy") == 1
        summary = wait_handoff(tb, nb, vm.mac)
        assert "profile quick" in summary and "last quick/initrd0" in summary, summary
        # The route: the iPXE ROM's DHCP got its script URL (never iPXE again),
        # then script, kernel and initrd came over HTTP.
        mac = vm.mac.lower()
        assert served(nb, rf"dhcp: {mac} .* ipxe: .*http://{tb.server_ip}/boot/{mac}\.ipxe")
        assert not served(nb, r"undionly\.kpxe")
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", "/quick/linux", "/quick/initrd0"):
            assert served(nb, rf'http: .*"GET {path}" 200'), nb.log()[-5000:]
        st = machine(status_json(tb), mac)
        assert st["state"] == "handed-off"
        assert st["profile"] == "quick"
        paths = [e.get("path") for e in st["events"] if e["type"] == "http"]
        assert paths[-2:] == ["quick/linux", "quick/initrd0"], paths
        assert st["ip"].startswith(tb.subnet_prefix + ".1"), st  # dnsmasq's range
        # The status page of a real boot, as a browser shows it.
        shot = screenshot_status(tb, "status-bios-proxy.png")
        assert shot.stat().st_size > 20000
        vm.wait_exit(60)
