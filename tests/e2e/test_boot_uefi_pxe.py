"""Chain 3: OVMF's PXE gets snponly.efi over TFTP, then iPXE fetches the script,
kernel and initrd over HTTP (proxyDHCP beside dnsmasq)."""
from boot_helpers import (boot, mac_re, machine, marker_cmdline, netbootd_args, served,
                          status_json, wait_handoff)
from testbed import Testbed as _Testbed


def test_ovmf_pxe_snponly_then_ipxe_http(guest_images):
    g = guest_images
    with _Testbed("plan-uefi-pxe") as tb:
        tb.start_dnsmasq()
        cmdline = marker_cmdline(g, "uefi-pxe")
        nb = tb.start_netbootd(netbootd_args(tb, "--kernel", g.kernel, "--initrd", g.initrd,
                                             "--cmdline", cmdline))
        vm = tb.vm("uefi", efi_ipv4_pxe=True)
        r = boot(vm, cmdline, timeout=360)
        # Linux on UEFI under iPXE finds its initrd by name (TESTBED.md).
        assert "initrd=initrd0" in r.cmdline
        mac = vm.mac.lower()
        summary = wait_handoff(tb, nb, mac)
        assert "firmware uefi-pxe" in summary, summary
        # The route, in order: PXE offer of snponly.efi, TFTP of it, then iPXE over HTTP.
        # (OVMF falls back to HTTP boot if PXE fails: this proves PXE was the route.)
        assert served(nb, rf"dhcp: {mac} arch (7|9) .*uefi-pxe: .*snponly\.efi"), nb.log()[-4000:]
        assert served(nb, r'tftp: .*"snponly\.efi" (\d+)/\1 bytes.*: complete|tftp: .*"snponly\.efi".*ok'), \
            nb.log()[-4000:]
        assert served(nb, rf"dhcp: {mac} .* ipxe: .*boot/{mac}\.ipxe")
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", "/quick/linux", "/quick/initrd0"):
            assert served(nb, rf'http: .*"GET {path}" 200'), nb.log()[-4000:]
        st = machine(status_json(tb), mac)
        kinds = [e["type"] for e in st["events"]]
        assert kinds.index("tftp") < kinds.index("http"), kinds
        vm.wait_exit(60)
