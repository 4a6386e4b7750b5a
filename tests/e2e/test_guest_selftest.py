"""Issue 2 self-test: the testbed's plumbing and the guest images work on their own,
before any netbootd code is involved."""
import re
import time


def test_testbed_bios_dhcp_lease_from_dnsmasq(testbed):
    """Testbed + dnsmasq + a SeaBIOS/iPXE VM: iPXE gets a lease on br0.
    Proves the namespace, bridge, tap and QEMU plumbing for everyone else."""
    testbed.start_dnsmasq()
    vm = testbed.vm("bios")
    p = re.escape(testbed.subnet_prefix)
    m = vm.wait_for_match(re.compile(rf"net0: ({p}\.1\d\d)/255\.255\.255\.0"), timeout=180)
    ip = m.group(1)
    log = (testbed.tmp / "dnsmasq.log").read_text()
    assert re.search(rf"DHCPACK\(br0\) {re.escape(ip)} {vm.mac}", log), log[-3000:]
    vm.stop()


MARKER_RE = re.compile(r"NETBOOT-(?:MARKER (\S+)|NO-MARKER)")


def boot_and_check(vm, g, token, timeout=240):
    """The guest prints NETBOOT-OK with our cmdline, the right marker, then powers off."""
    t0 = time.monotonic()
    m = vm.wait_for_match(re.compile(r"NETBOOT-OK (.*)"), timeout=timeout)
    cmdline = m.group(1)
    assert g.cmdline in cmdline, f"cmdline {cmdline!r} lacks {g.cmdline!r}"
    m = vm.wait_for_match(MARKER_RE, timeout=60)
    assert m.group(1) == token, f"wrong marker {m.group(0)!r}, expected {token}\n{vm.serial()[-2000:]}"
    assert vm.wait_exit(60) == 0
    return time.monotonic() - t0


def test_iso_boots_from_cdrom_under_seabios(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("bios", boot="cdrom", cdrom=g.iso, network=False)
    secs = boot_and_check(vm, g, g.token_iso)
    print(f"ISO/SeaBIOS cdrom: marker + poweroff in {secs:.1f}s")


def test_iso_boots_from_cdrom_under_ovmf(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("uefi", boot="cdrom", cdrom=g.iso, network=False)
    secs = boot_and_check(vm, g, g.token_iso)
    print(f"ISO/OVMF cdrom: marker + poweroff in {secs:.1f}s")


def test_gpt_image_boots_from_disk_under_ovmf(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("uefi", boot="disk", disk=g.gpt_img, network=False)
    secs = boot_and_check(vm, g, g.token_gpt)
    # systemd-stub passes the embedded .cmdline verbatim (no BOOT_IMAGE= prefix).
    assert f"NETBOOT-OK {g.cmdline}\n" in vm.serial()
    print(f"GPT/OVMF disk: marker + poweroff in {secs:.1f}s")
