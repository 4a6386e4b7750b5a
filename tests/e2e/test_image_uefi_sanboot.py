"""Issue 8 test 6: UEFI sanboot of the hybrid ISO: OVMF PXE -> snponly.efi
(Debian's iPXE 1.0.0+git-20190125) -> netbootd's script -> `sanboot
http://server/quick/image.iso` (HEAD + Range reads). iPXE's EFI SAN driver
installs Block I/O for the HTTP disk and starts \\EFI\\BOOT\\BOOTX64.EFI from it.
Works with Debian's 2019 build (seen: ~47 s from power-on to the guest).
"""
import re

from boot_helpers import netbootd_args, served
from testbed import Testbed as _Testbed


def test_image_uefi_sanboot_iso(guest_images):
    g = guest_images
    with _Testbed("img-uefi-san") as tb:
        nb = tb.start_netbootd(netbootd_args(tb, "--image", g.iso, "--method", "sanboot",
                                             dhcp="server"))
        vm = tb.vm("uefi", memory_mb=768)
        m = vm.wait_for_match(re.compile(r"NETBOOT-OK|netbootd: profile quick failed"),
                              timeout=420)
        text = vm.serial()
        assert "NETBOOT-OK" in m.group(0), text[-3000:]
        assert "netbootd: image image.iso via sanboot" in text, text[-3000:]
        assert "Registered SAN device" in text and "Booting from SAN device" in text, text[-3000:]
        r = vm.wait_guest(timeout=120)
        assert r.firmware == "uefi", r
        # The ISO's own GRUB booted the kernel from the SAN disk...
        assert r.cmdline.startswith("BOOT_IMAGE=/boot/vmlinuz ") and g.cmdline in r.cmdline, r
        # ...which Linux cannot see: an HTTP SAN disk leaves no iBFT/NFIT trace
        # after ExitBootServices (as with BIOS sanboot), so no marker.
        assert r.marker is None, r
        # iPXE read the image in ranges, never whole.
        assert served(nb, r'"GET /quick/image\.iso" 206 '), nb.log()[-4000:]
        assert not served(nb, r'"GET /quick/image\.iso" 200 '), nb.log()[-4000:]
        print(f"UEFI sanboot: guest {r.since_start:.1f}s after QEMU start")
