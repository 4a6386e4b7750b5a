"""Whole disk images through netbootd's planner, firmware RAM disk method
(issue 8 tests 4 and 10): `netbootd --image X` with `--method firmware-ramdisk`
or `auto`, OVMF's own UEFI HTTP boot. netbootd's DHCP offer carries
http://server/boot/<mac>.iso|.img (OVMF picks the RAM disk type from the
extension); OVMF registers the download as a RAM disk in NFIT-described
reserved memory, boots its \\EFI\\BOOT\\BOOTX64.EFI, and the Linux inside finds
the image again as /dev/pmem0 and prints the image's marker token.
"""
import re

import pytest

from boot_helpers import machine, netbootd_args, served, status_json, wait_handoff
from testbed import Testbed as _Testbed


def ramdisk_boot(g, name, image, token, method, fs, dhcp="server"):
    with _Testbed(f"img-{name}") as tb:
        if dhcp == "proxy":
            tb.start_dnsmasq()  # the LAN's DHCP server; netbootd only adds the boot answer
        nb = tb.start_netbootd(netbootd_args(tb, "--image", image, "--method", method,
                                             dhcp=dhcp))
        # PXEv4 off: HTTP boot is the route under test (see TESTBED.md).
        vm = tb.vm("uefi", efi_ipv4_pxe=False, memory_mb=768)
        r = vm.wait_guest(timeout=360)
        mac = vm.mac.lower()
        ext = ".iso" if str(image).endswith(".iso") else ".img"
        assert r.marker == token, r
        assert r.device.startswith("/dev/pmem0") and r.fs == fs, r
        assert r.firmware == "uefi", r
        # The offer's URL and the planner's reason, in the one DHCP line per client.
        line = served(nb, rf"dhcp: {mac} arch 16 \S+ uefi-http: .*http://{re.escape(tb.server_ip)}"
                          rf"/boot/{mac}\{ext} ")
        assert line, nb.log()[-4000:]
        want = "method firmware-ramdisk (forced)" if method == "firmware-ramdisk" else \
            "method firmware-ramdisk (auto: UEFI HTTP boot mounts the image URL as a RAM disk)"
        assert want in line[-1], line[-1]
        assert served(nb, rf'http: .*"GET /boot/{mac}\{ext}[^"]*" 200'), nb.log()[-4000:]
        summary = wait_handoff(tb, nb, mac)
        st = machine(status_json(tb), mac)
        assert st["firmware"] == "uefi-http" and st["profile"] == "quick", st
        print(f"{name}: marker {r.since_start:.1f}s after QEMU start; {summary}")


@pytest.mark.parametrize("method", ["firmware-ramdisk", "auto"])
def test_image_iso_firmware_ramdisk(guest_images, method):
    """Issue 8 test 4: the hybrid ISO, OVMF HTTP boot, firmware RAM disk.
    `auto` runs as the README's quick start does: proxyDHCP beside the LAN's
    DHCP server (dnsmasq here); the forced method with netbootd as the server."""
    g = guest_images
    ramdisk_boot(g, f"fwrd-iso-{method[:4]}", g.iso, g.token_iso, method, "iso9660",
                 dhcp="proxy" if method == "auto" else "server")


def test_image_gpt_firmware_ramdisk(guest_images):
    """Issue 8 test 10, firmware RAM disk half: a raw GPT disk image (ESP with
    BOOTX64.EFI = the guest kernel as one EFI binary), not an ISO."""
    g = guest_images
    ramdisk_boot(g, "fwrd-gpt", g.gpt_img, g.token_gpt, "firmware-ramdisk", "vfat")
