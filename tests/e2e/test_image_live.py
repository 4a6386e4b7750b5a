"""A real Debian live ISO (tests/lib/liveimage.py: debootstrap + live-boot +
initramfs-tools + grub-mkrescue, nothing of ours inside) boots to its own
login prompt through `netbootd --image live.iso`, method `direct` chosen by
`auto`: iPXE fetches the image's own kernel and initrd out of the ISO over
HTTP, live-boot's initramfs brings the network up and fetches
live/filesystem.squashfs out of the ISO (`fetch=`), and systemd's getty on
ttyS0 prints the image's /etc/issue (the token) and `netbootd-live login:`.

One case per firmware route, in proxy mode beside dnsmasq (as the quick
start runs) and in server mode. Before this method existed these routes
stopped at live-boot's "Unable to find a medium containing a live file
system"; the ISO itself is also booted from a local CD drive as a control
that it is a working live image.
"""
import re
import time

import pytest

from boot_helpers import machine, mac_re, netbootd_args, served, status_json, wait_handoff
from testbed import Testbed as _Testbed

MEMORY_MB = 1536  # fetch= copies the squashfs (about 170 MiB) into RAM
BOOT_TIMEOUT = 900


@pytest.fixture(scope="session")
def live_image():
    from liveimage import live_iso
    return live_iso()


def wait_login(vm, li):
    """The image's own getty: its /etc/issue line, then its login prompt."""
    vm.wait_for(li.issue_line, timeout=BOOT_TIMEOUT)
    text = vm.wait_for(re.compile(r"netbootd-live login:"), timeout=120)
    assert "Unable to find a medium" not in text
    return vm.elapsed()


CASES = [
    # (name, firmware, dhcp mode, UEFI PXE off so that UEFI HTTP boot is the route)
    ("bios-proxy", "bios", "proxy", False),
    ("uefi-pxe-server", "uefi", "server", False),
    ("uefi-http-proxy", "uefi", "proxy", True),
]


@pytest.mark.parametrize("name,firmware,dhcp,http_boot", CASES, ids=[c[0] for c in CASES])
def test_live_iso_direct_to_login(live_image, name, firmware, dhcp, http_boot):
    li = live_image
    with _Testbed(f"live-{name}") as tb:
        if dhcp == "proxy":
            tb.start_dnsmasq()
        nb = tb.start_netbootd(netbootd_args(tb, "--image", li.iso, dhcp=dhcp), timeout=60)
        assert "quick/image.iso is Debian live (live-boot)" in nb.log()
        vm = tb.vm(firmware, memory_mb=MEMORY_MB, efi_ipv4_pxe=not http_boot)
        seconds = wait_login(vm, li)
        mac = vm.mac.lower()
        kv = li.kernel_version
        # The route: the image's kernel and initrd, then the root, all out of the ISO.
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", f"/image/quick/live/vmlinuz-{kv}",
                     f"/image/quick/live/initrd.img-{kv}", "/image/quick/live/filesystem.squashfs"):
            assert served(nb, rf'http: .*"GET {path}" 200'), nb.log()[-5000:]
        if firmware == "bios":
            assert served(nb, rf"boot: {mac}: image quick/image.iso for BIOS: method direct "
                              r"\(auto: Debian live")
        else:
            assert served(nb, rf"boot: {mac}: image quick/image.iso for UEFI: method direct")
        if http_boot:
            assert served(nb, rf"dhcp: {mac} arch 16 .*uefi-http: .*/boot/{mac}\.efi"), nb.log()[-4000:]
            assert served(nb, rf"boot/{mac}\.efi serves snponly\.efi")
        elif firmware == "uefi":
            assert served(nb, r"tftp: .*snponly\.efi"), nb.log()[-4000:]
        # "Handed off" now means the OS's initramfs fetched its root.
        summary = wait_handoff(tb, nb, mac, timeout=60)
        assert "last image/quick/live/filesystem.squashfs" in summary, summary
        st = machine(status_json(tb), mac)
        assert st["state"] == "handed-off" and st["profile"] == "quick", st
        sent = sum(int(m.group(1)) for m in re.finditer(
            r'"GET /image/quick/[^"]*" 200 (\d+)', nb.log()))
        print(f"live {name}: login prompt {seconds:.0f}s after QEMU start, "
              f"{sent / 2**20:.0f} MiB sent out of the ISO")


def test_live_iso_boots_from_a_local_cd(live_image):
    """Control: the image is a working live ISO on its own (live-boot finds
    the CD), so a failure of the network routes is netbootd's."""
    li = live_image
    with _Testbed("live-cd") as tb:
        vm = tb.vm("bios", boot="cdrom", cdrom=li.iso, memory_mb=1024, network=False)
        seconds = wait_login(vm, li)
        print(f"live ISO from a local CD: login prompt after {seconds:.0f}s")


LOADERS = [
    # (name, firmware, dhcp, method, the loader the firmware gets, how the kernel travels)
    ("bios-pxelinux-server", "bios", "server", "pxelinux", "lpxelinux.0", "http"),
    ("uefi-grub-proxy", "uefi", "proxy", "grub", "boot/grub/x86_64-efi/core.efi", "tftp"),
]


@pytest.mark.parametrize("name,firmware,dhcp,method,loader,via", LOADERS, ids=[c[0] for c in LOADERS])
def test_live_iso_direct_through_pxelinux_and_grub(live_image, name, firmware, dhcp, method,
                                                    loader, via):
    """The same live ISO through the other loader chains: lpxelinux.0 (HTTP)
    or GRUB's network image (TFTP) reads its generated config and boots the
    image's own kernel and initrd; live-boot fetches the root over HTTP."""
    li = live_image
    with _Testbed(f"live-{name}") as tb:
        if dhcp == "proxy":
            tb.start_dnsmasq()
        nb = tb.start_netbootd(netbootd_args(tb, "--image", li.iso, "--method", method,
                                             dhcp=dhcp), timeout=60)
        vm = tb.vm(firmware, memory_mb=MEMORY_MB)
        seconds = wait_login(vm, li)
        mac = vm.mac.lower()
        kv = li.kernel_version
        assert served(nb, rf"dhcp: {mac} .*{re.escape(loader)}"), nb.log()[-4000:]
        kernel = f"image/quick/live/vmlinuz-{kv}"
        if via == "http":
            assert served(nb, rf'http: .*"GET /{kernel}" 200'), nb.log()[-4000:]
            assert served(nb, r'tftp: .*"pxelinux\.cfg/01-' + mac.replace(":", "-") + '"'), \
                nb.log()[-4000:]
        else:
            assert served(nb, rf'tftp: .*"{kernel}" \d+/\d+ bytes.*complete'), nb.log()[-4000:]
            assert served(nb, r'tftp: .*"boot/grub/grub\.cfg-01-' + mac.replace(":", "-") + '"'), \
                nb.log()[-4000:]
            # GRUB ends large transfers without its last ACK: not a failure.
            assert not served(nb, r'warn tftp: .*"image/quick/'), nb.log()[-4000:]
        assert served(nb, r'http: .*"GET /image/quick/live/filesystem\.squashfs" 200')
        summary = wait_handoff(tb, nb, mac, timeout=60)
        assert "last image/quick/live/filesystem.squashfs" in summary, summary
        print(f"live {name}: login prompt {seconds:.0f}s after QEMU start")


FAILING = [
    # (name, firmware, method): whole-image methods start the ISO's own boot
    # loader and kernel, but live-boot then cannot see the medium.
    ("bios-memdisk", "bios", "memdisk"),
    ("uefi-firmware-ramdisk", "uefi", "firmware-ramdisk"),
]


@pytest.mark.parametrize("name,firmware,method", FAILING, ids=[c[0] for c in FAILING])
def test_live_iso_whole_image_methods_say_why_they_fail(live_image, name, firmware, method):
    """The paths that cannot work: netbootd says so at start-up and names the
    method that will, and the boot ends where it said (live-boot finds no
    medium), so the warning is not a guess."""
    li = live_image
    with _Testbed(f"live-{name}") as tb:
        nb = tb.start_netbootd(netbootd_args(tb, "--image", li.iso, "--method", method,
                                             dhcp="server"), timeout=60)
        warning = (f"profile quick: method {method} boots the image's own loader, but Debian live "
                   "(live-boot) then looks for its medium and does not find it over the network; "
                   "method direct (or auto) would boot it")
        assert warning in nb.log(), nb.log()
        vm = tb.vm(firmware, memory_mb=MEMORY_MB, efi_ipv4_pxe=False)
        # The ISO's own GRUB starts its kernel (the method works as far as it goes) ...
        vm.wait_for(re.compile(r"Linux version \d"), timeout=BOOT_TIMEOUT)
        # ... and live-boot gives up on its medium instead of reaching the login prompt.
        text = vm.wait_for("Unable to find a medium containing a live file system",
                           timeout=BOOT_TIMEOUT)
        assert li.issue_line not in text
