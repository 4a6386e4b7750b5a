"""Issue 8 test 9: `method = auto` with two machines on one `netbootd --image`:
a BIOS machine (iPXE ROM) and a UEFI machine (OVMF PXE -> snponly.efi/iPXE)
boot the same hybrid ISO at the same time. Each takes the method auto picks
for its firmware (BIOS: memdisk, the image fits memdisk-max-mb; UEFI without
HTTP boot: imgboot), netbootd's log says which and why for each MAC, and both
Linux guests boot from the image (UEFI: the marker token on /dev/pmem0; BIOS:
the ISO's GRUB command line, since memdisk's disk is invisible to Linux).
"""
import images
from boot_helpers import machine, netbootd_args, served, status_json
from testbed import Testbed as _Testbed


def test_image_auto_bios_and_uefi(guest_images):
    g = guest_images
    with _Testbed("img-auto-two") as tb:
        nb = tb.start_netbootd(netbootd_args(tb, "--image", g.iso, "--method", "auto",
                                             "--imgboot-efi", images.IMGBOOT, dhcp="server"))
        bios = tb.vm("bios", memory_mb=768)
        uefi = tb.vm("uefi", memory_mb=768)
        rb = bios.wait_guest(timeout=480)
        ru = uefi.wait_guest(timeout=480)
        mb, mu = bios.mac.lower(), uefi.mac.lower()
        assert rb.firmware == "bios" and ru.firmware == "uefi", (rb, ru)
        # UEFI: imgboot's RAM disk is NFIT pmem, the Linux finds the image on it.
        assert ru.marker == g.token_iso and ru.device == "/dev/pmem0", ru
        # BIOS: memdisk's copy lives behind INT 13h only; a Linux without
        # memdiskfind/phram sees no block device for it (NETBOOT-NO-MARKER, as
        # in test_boot_bios_image.py). What proves the image booted is the
        # ISO's own GRUB: BOOT_IMAGE=/boot/vmlinuz with the ISO's command line.
        assert rb.cmdline.startswith("BOOT_IMAGE=/boot/vmlinuz ") and g.cmdline in rb.cmdline, rb
        assert rb.marker is None, rb
        log = nb.log()
        # The log line that explains the choice, one per machine.
        lb = served(nb, rf"boot: {mb}: image \S+ for BIOS: method memdisk \(auto: BIOS, "
                        rf"image \d+ MiB <= memdisk-max-mb \d+\)")
        lu = served(nb, rf"boot: {mu}: image \S+ for UEFI: method imgboot \(auto: UEFI "
                        rf"without HTTP boot\)")
        assert lb and lu, log[-5000:]
        assert not served(nb, rf"boot: {mb}: .* for UEFI") and not served(nb, rf"boot: {mu}: .* for BIOS")
        # What each actually fetched.
        assert served(nb, r'http: .*"GET /memdisk" 200'), log[-4000:]
        assert served(nb, r'http: .*"GET /imgboot\.efi" 200'), log[-4000:]
        st = status_json(tb)
        assert machine(st, mb)["profile"] == "quick" and machine(st, mu)["profile"] == "quick"
        print(f"BIOS memdisk: guest done {rb.since_start:.1f}s, UEFI imgboot: marker "
              f"{ru.since_start:.1f}s after QEMU start (both at once)")
        print(lb[-1])
        print(lu[-1])
