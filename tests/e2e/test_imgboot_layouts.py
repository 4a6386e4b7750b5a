"""imgboot.efi, issue 7 test 1 (image layouts) and test 4 (failures), from a
local FAT volume (launch path 1): OVMF boots a GPT disk whose ESP holds
imgboot.efi as \\EFI\\BOOT\\BOOTX64.EFI, an imgboot.cfg naming the image, and
the image itself. The images' loader is efi/imgboot/marker.efi (see
tests/lib/images.py), which prints NETBOOT-MARKER <token> read from its own
device. A CD with another marker.efi is the firmware's next boot option: the
failure tests check that imgboot said why, gave up, and the firmware went on.
"""
import re

import pytest

import images

MODES = ("ramdisk", "blockio")
REGISTERED = {
    "ramdisk": "registered with the RAM disk protocol",
    "blockio": "registered with imgboot's own Block I/O",
}


def boot_with_cfg(tb, cfg: str, files: dict, memory_mb=512):
    """Start a UEFI VM whose first boot option runs imgboot.efi with imgboot.cfg = cfg."""
    fb, fb_token = images.fallback_iso()
    launch = {"EFI/BOOT/BOOTX64.EFI": images.IMGBOOT, "EFI/BOOT/imgboot.cfg": cfg}
    launch.update(files)
    disk = images.launcher_disk(tb.tmp / "launch.img", launch)
    vm = tb.vm("uefi", boot="disk", disk=disk, cdrom=fb, network=False, memory_mb=memory_mb)
    return vm, fb_token


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", images.LAYOUTS)
def test_layout(testbed, kind, mode):
    img, token = images.layout(kind)
    vm, _ = boot_with_cfg(testbed, f"url={img.name}\nmode={mode}\n", {img.name: img})
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=240)
    assert REGISTERED[mode] in text, text[-3000:]
    want = "ISO 9660 (CD)" if kind in ("eltorito", "hybrid") else \
        {"gpt": "GPT disk", "mbr": "MBR disk", "fat": "FAT superfloppy"}[kind]
    assert f"imgboot: {want}" in text, text[-3000:]
    # Progress with a rate was shown, and the loader came from the image.
    assert re.search(r"reading 100% \d+/\d+ MiB \d+\.\d MiB/s", text), text[-3000:]
    assert "imgboot: error" not in text, text[-3000:]
    assert re.search(r"NETBOOT-RAMDISKS [1-9]", text), text[-3000:]


def _expect_fallback(vm, fb_token, message):
    text = vm.wait_for(f"NETBOOT-MARKER {fb_token}", timeout=240)
    assert message in text, text[-3000:]
    assert "returning to the firmware" in text, text[-3000:]
    # Nothing from the failed image was started, and no RAM disk (protocol
    # or imgboot's own Block I/O) was left behind: the fallback loader counts
    # the Block I/O handles with a RAM disk device path node.
    assert text.count("NETBOOT-MARKER") == 1, text[-3000:]
    assert "NETBOOT-RAMDISKS 0" in text, text[-3000:]
    return text


def test_missing_image(testbed):
    vm, fb = boot_with_cfg(testbed, "url=no-such-image.iso\n", {})
    _expect_fallback(vm, fb, "image 'no-such-image.iso' is missing on imgboot's device")


@pytest.mark.parametrize("mode", MODES)
def test_corrupt_image(testbed, mode):
    """Valid GPT, garbage instead of a file system: registered, no file system
    found, unregistered, and the firmware's next option runs."""
    img = images.corrupt_image("gpt")
    vm, fb = boot_with_cfg(testbed, f"url={img.name}\nmode={mode}\n", {img.name: img})
    _expect_fallback(vm, fb, "the image has no file system the firmware can read")


def test_garbage_image(testbed):
    img = images.corrupt_image("garbage")
    vm, fb = boot_with_cfg(testbed, f"url={img.name}\n", {img.name: img})
    _expect_fallback(vm, fb, "is not a disk image: no ISO 9660, GPT, MBR or FAT signature")


def test_bad_config(testbed):
    vm, fb = boot_with_cfg(testbed, "url=x.img\nmode=teleport\n", {})
    _expect_fallback(vm, fb, "config: bad value for mode")


def test_testbed_hybrid_iso_blockio_linux(testbed, guest_images):
    """The testbed's hybrid ISO (grub-mkrescue: GRUB + Linux) through the forced
    Block I/O mode: GRUB, loaded by device path from the El Torito ESP, finds
    its grub.cfg and kernel on the same disk and Linux starts. (In this mode
    there is no NFIT, so the guest is not expected to see the disk: the
    RAM-disk-protocol mode with /dev/pmem0 is test_imgboot_net's iPXE test.)"""
    g = guest_images
    vm, _ = boot_with_cfg(testbed, f"url={g.iso.name}\nmode=blockio\n", {g.iso.name: g.iso})
    text = vm.wait_for("NETBOOT-OK", timeout=300)
    assert REGISTERED["blockio"] in text and "ISO 9660 (CD)" in text, text[-3000:]
    assert "imgboot: error" not in text, text[-3000:]


def test_command_line_from_uefi_shell(testbed):
    """Load options as a command line (the UEFI Shell passes the program's path
    as argv[0], like iPXE passes the image name): an unknown option prints the
    usage text and returns; then options without a file name take the image
    from imgboot.cfg beside imgboot.efi, and the command line's --blockio
    wins over the document's mode=ramdisk."""
    img, token = images.layout("gpt")
    nsh = ("fs0:\\imgboot.efi --frobnicate disk.img\r\n"
           "fs0:\\imgboot.efi --blockio --path /EFI/BOOT/BOOTX64.EFI\r\n")
    disk = images.launcher_disk(testbed.tmp / "launch.img", {
        "imgboot.efi": images.IMGBOOT, "startup.nsh": nsh, "disk.img": img,
        "imgboot.cfg": "url=disk.img\nmode=ramdisk\ntype=disk\n"})
    # No BOOTX64.EFI on the disk: the boot manager falls through to the Shell,
    # which runs startup.nsh from fs0: after its countdown.
    vm = testbed.vm("uefi", boot="disk", disk=disk, network=False)
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=240)
    assert "imgboot: error: unknown option: --frobnicate" in text, text[-3000:]
    assert "usage: imgboot.efi" in text
    assert REGISTERED["blockio"] in text, text[-3000:]
