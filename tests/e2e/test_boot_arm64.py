"""ARM64 UEFI machines (issue 12): Debian's AAVMF firmware on QEMU's virt
machine (qemu-system-aarch64, TCG) boots Debian's own arm64 installer
(debian-installer-12-netboot-arm64, unchanged) to its first dialog through
netbootd, with no [arch] section in the config: netbootd finds the arm64
loaders at Debian's standard paths and offers arch 11 the chain Debian's
own netboot tree uses:

    AAVMF PXE -> TFTP shimaa64.efi (the installer's signed shim,
    bootnetaa64.efi) -> grubaa64.efi (Debian's signed network GRUB) ->
    debian-installer/arm64/grub/grub.cfg (netbootd's hand-over) ->
    grub.cfg-01-<mac> (this machine's profile) -> linux + initrd.gz

Server mode: Debian's GRUB 2.06 takes its TFTP server from the DHCP ACK, as
on x64 Secure Boot (docs/boot-flows.md). Measured on the 2-core CI machine
kind: AAVMF to the installer's first dialog in ~41 s under TCG.

Then an x86 (SeaBIOS, iPXE ROM) and an ARM64 machine boot from the same netbootd
at once, each its own distribution's installer for its architecture; and a
whole arm64 disk image boots through imgbootaa64.efi (imgboot cross-built for
AArch64)."""
import re
from pathlib import Path

from boot_helpers import (GRUB_LAST_FILE_WAIT, machine, netbootd_args, served, status_json,
                          wait_handoff, write_conf)
from guests import build_efi_kernel, build_gpt
from testbed import Testbed as _Testbed

REPO = Path(__file__).resolve().parents[2]
STUB_ARM64 = REPO / "build" / "deps" / "linuxaa64.efi.stub"  # tests/lib/deps.sh fetches it
GRUB_ARM64 = REPO / "build" / "deps" / "grub-arm64-efi"  # grub-efi-arm64-bin's modules, likewise

# Both installers' netboot trees, as Debian installs them, are the root.
DI_ROOT = Path("/usr/lib/debian-installer/images/12")
DI_ARM64 = "arm64/text/debian-installer/arm64"
DI_AMD64 = "amd64/text/debian-installer/amd64"
FIRST_DIALOG = re.compile(r"Choose the language to be used for the installation")


def installer_conf(tb, hosts=""):
    return write_conf(tb, f"""
[server]
root = {DI_ROOT}
[default]
profile = di-arm64
[profile di-arm64]
kernel = {DI_ARM64}/linux
initrd = {DI_ARM64}/initrd.gz
cmdline = console=ttyAMA0
[profile di-amd64]
kernel = {DI_AMD64}/linux
initrd = {DI_AMD64}/initrd.gz
cmdline = console=ttyS0,115200 no_timer_check
{hosts}""")


def assert_arm64_chain(nb, mac):
    """The route an ARM64 machine took, from netbootd's own log."""
    log = nb.log()
    assert served(nb, rf"dhcp: {mac} arch 11 \(arm64-uefi\) uefi-pxe: (OFFER|ACK) shimaa64\.efi "), log[-4000:]
    for name in ("shimaa64.efi", "grubaa64.efi", "debian-installer/arm64/grub/grub.cfg",
                 f"debian-installer/arm64/grub/grub.cfg-01-{mac}"):
        assert served(nb, rf'tftp: .*"{re.escape(name)}" \d+/\d+ bytes.*: complete'), (name, log[-4000:])


def test_arm64_uefi_pxe_debian_installer():
    assert (DI_ROOT / DI_ARM64 / "linux").exists(), "install debian-installer-12-netboot-arm64 (make deps)"
    with _Testbed("arm64-pxe") as tb:
        conf = installer_conf(tb)
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        vm = tb.vm("arm64-uefi", memory_mb=1024)
        vm.wait_for(FIRST_DIALOG, timeout=600)
        mac = vm.mac.lower()
        serial = vm.serial()
        assert "Fetching Netboot Image grubaa64.efi" in serial, serial[-3000:]  # shim
        assert f"Kernel command line: BOOT_IMAGE=/{DI_ARM64}/linux console=ttyAMA0" in serial, serial[-3000:]
        assert_arm64_chain(nb, mac)
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        assert "profile di-arm64" in summary, summary
        m = machine(status_json(tb), mac)
        assert (m["arch"], m["arch_name"]) == (11, "arm64-uefi"), m
        print(f"arm64: installer's first dialog {vm.elapsed():.0f}s after QEMU start; {summary}")


def test_arm64_uefi_pxe_proxy_own_grub():
    """Proxy mode (netbootd's default) beside the LAN's DHCP server (dnsmasq):
    Debian's signed GRUB would ask dnsmasq for its files, so with GRUB's
    arm64-efi modules at hand (arm64-grub-dir) netbootd builds an arm64
    network GRUB with its own address in the prefix and offers that:
    AAVMF PXE -> boot/grub/arm64-efi/core.efi -> normal.mod and friends ->
    boot/grub/grub.cfg-01-<mac> -> the arm64 installer."""
    assert (GRUB_ARM64 / "kernel.img").exists(), f"{GRUB_ARM64} missing: run `make deps`"
    with _Testbed("arm64-proxy") as tb:
        conf = installer_conf(tb).read_text().replace(
            "[server]\n", f"[server]\narm64-grub-dir = {GRUB_ARM64}\ncache-dir = {tb.tmp / 'cache'}\n")
        conf_path = write_conf(tb, conf)
        tb.start_dnsmasq()
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf_path))  # proxy mode
        vm = tb.vm("arm64-uefi", memory_mb=1024)
        vm.wait_for(FIRST_DIALOG, timeout=600)
        mac = vm.mac.lower()
        # GRUB's last file may be logged long after the boot (GRUB_LAST_FILE_WAIT).
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        log = nb.log()
        assert served(nb, rf"dhcp: {mac} arch 11 \(arm64-uefi\) uefi-pxe: OFFER "
                          rf"boot/grub/arm64-efi/core\.efi \(ARM64 UEFI PXE chains netbootd's"), log[-4000:]
        # GRUB's own search for its config names the MAC with dashes.
        for name in ("boot/grub/arm64-efi/core.efi", "boot/grub/arm64-efi/normal.mod",
                     f"boot/grub/grub.cfg-01-{mac.replace(':', '-')}", f"{DI_ARM64}/linux",
                     f"{DI_ARM64}/initrd.gz"):
            assert served(nb, rf'tftp: .*"{re.escape(name)}" \d+/\d+ bytes.*: complete'), (name, log[-4000:])
        assert "profile di-arm64" in summary, summary
        print(f"arm64 proxy, own GRUB: installer's first dialog {vm.elapsed():.0f}s after QEMU start")


def test_x86_and_arm64_at_once():
    """One netbootd, two architectures starting together: the arm64 machine
    gets the GRUB chain and the arm64 kernel over TFTP, the BIOS one (an
    iPXE NIC ROM) its script and the amd64 kernel over HTTP, each profile
    picked by the machine's architecture ([arch x86-bios] profile, else
    [default]), and both installers come up. The chains are told apart by
    netbootd's log, per MAC."""
    assert (DI_ROOT / DI_AMD64 / "linux").exists(), "install debian-installer-12-netboot-amd64 (make deps)"
    with _Testbed("arm64-x86") as tb:
        x86_mac = tb.new_mac()
        # Per architecture, not per machine: [default] is the arm64 installer.
        conf = installer_conf(tb, "[arch x86-bios]\nprofile = di-amd64\n")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        arm = tb.vm("arm64-uefi", memory_mb=1024)
        x86 = tb.vm("bios", mac=x86_mac, memory_mb=1024)
        arm.wait_for(FIRST_DIALOG, timeout=900)
        x86.wait_for(FIRST_DIALOG, timeout=900)
        arm_mac = arm.mac.lower()
        assert_arm64_chain(nb, arm_mac)
        # The BIOS machine's NIC ROM is iPXE already: its script URL, over HTTP.
        assert served(nb, rf"dhcp: {x86_mac} arch 0 \(x86-bios\) ipxe: OFFER http://\S+/boot/{x86_mac}\.ipxe "), \
            nb.log()[-4000:]
        assert served(nb, rf'http: .*"GET /{DI_AMD64}/initrd\.gz" 200 '), nb.log()[-4000:]
        assert f"BOOT_IMAGE=/{DI_ARM64}/linux" in arm.serial()
        arm_summary = wait_handoff(tb, nb, arm_mac, timeout=GRUB_LAST_FILE_WAIT)
        x86_summary = wait_handoff(tb, nb, x86_mac)
        assert "profile di-arm64" in arm_summary, arm_summary
        assert "profile di-amd64" in x86_summary, x86_summary
        status = status_json(tb)
        assert machine(status, arm_mac)["arch_name"] == "arm64-uefi"
        assert machine(status, x86_mac)["arch_name"] == "x86-bios"
        print(f"x86 + arm64 at once: arm64 {arm.elapsed():.0f}s, x86 {x86.elapsed():.0f}s")


def arm64_root(tb):
    root = tb.tmp / "root"
    root.mkdir()
    tb.tmp.chmod(0o755)
    return root


def arm64_uki(tb, route, out):
    """A UKI of the installer's arm64 kernel and initrd (systemd's arm64 stub),
    its command line marked with the route under test."""
    assert STUB_ARM64.exists(), f"{STUB_ARM64} missing: run `make deps`"
    build_efi_kernel(DI_ROOT / DI_ARM64 / "linux", DI_ROOT / DI_ARM64 / "initrd.gz",
                     f"console=ttyAMA0 netbootd.route={route}", out, tb.tmp,
                     stub=STUB_ARM64, objcopy="aarch64-linux-gnu-objcopy")
    out.chmod(0o644)


def arm64_http_boot(tb, root, profile):
    """netbootd in proxy mode beside dnsmasq, [default] the one profile given;
    AAVMF with PXE off, so UEFI HTTP boot is the route; up to the installer's
    first dialog."""
    name = re.match(r"\[profile (\S+)\]", profile).group(1)
    conf = write_conf(tb, f"[server]\nroot = {root}\n[default]\nprofile = {name}\n{profile}")
    tb.start_dnsmasq()
    nb = tb.start_netbootd(netbootd_args(tb, "--config", conf))
    vm = tb.vm("arm64-uefi", memory_mb=1024,
               fw_cfg={"opt/org.tianocore/IPv4PXESupport": "no",
                       "opt/org.tianocore/IPv6PXESupport": "no"})
    vm.wait_for(FIRST_DIALOG, timeout=600)
    return nb, vm


def test_arm64_uefi_http_boot_uki():
    """ARM64 UEFI HTTP boot (arch 19): Debian has no iPXE for arm64, so the
    firmware must get something it runs by itself. An efi profile whose file
    is a UKI built from the installer's own kernel and initrd with systemd's
    arm64 stub: AAVMF fetches it over HTTP and the installer comes up. PXE
    is off in the firmware (fw_cfg), so no TFTP may be seen."""
    with _Testbed("arm64-http") as tb:
        root = arm64_root(tb)
        arm64_uki(tb, "http", root / "di-arm64.efi")
        nb, vm = arm64_http_boot(tb, root, "[profile uki]\nefi = di-arm64.efi\n")
        mac = vm.mac.lower()
        assert "netbootd.route=http" in vm.serial(), vm.serial()[-3000:]
        assert served(nb, rf"dhcp: {mac} arch 19 \(arm64-uefi-http\) uefi-http: OFFER "
                          rf"http://\S+/boot/{mac}\.efi "), nb.log()[-4000:]
        assert served(nb, r"boot: \S+: boot/\S+\.efi serves di-arm64\.efi"), nb.log()[-4000:]
        assert served(nb, r'http: .*"GET /boot/\S+\.efi" 200 73\d{6} '), nb.log()[-4000:]
        assert not served(nb, r"tftp: .*complete"), nb.log()[-4000:]
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        assert "profile uki" in summary, summary
        print(f"arm64 HTTP boot: installer's first dialog {vm.elapsed():.0f}s after QEMU start")


def test_arm64_uefi_http_imgboot_disk_image():
    """imgboot on ARM64: a whole GPT disk image whose ESP holds
    \\EFI\\BOOT\\BOOTAA64.EFI (a UKI of the installer's arm64 kernel and
    initrd), `method = imgboot`. AAVMF's HTTP boot fetches boot/MAC.efi, which
    is imgbootaa64.efi (efi/imgboot built with ARCH=aarch64); imgboot fetches
    boot/MAC.imgboot (the image), registers it as a disk and starts its
    BOOTAA64.EFI: the installer comes up."""
    imgboot = REPO / "efi" / "imgboot" / "imgbootaa64.efi"
    assert imgboot.exists(), f"{imgboot} missing: run `make deps && make`"
    with _Testbed("arm64-imgboot") as tb:
        root = arm64_root(tb)
        arm64_uki(tb, "imgboot", tb.tmp / "di-arm64.efi")
        build_gpt(tb.tmp / "di-arm64.efi", "arm64-imgboot", root / "arm64.img",
                  boot_name="BOOTAA64.EFI")
        (root / "arm64.img").chmod(0o644)
        nb, vm = arm64_http_boot(tb, root, "[profile img]\nimage = arm64.img\nmethod = imgboot\n")
        mac = vm.mac.lower()
        serial = vm.serial()
        assert "imgboot " in serial and "BOOTAA64.EFI" in serial, serial[-3000:]
        assert "netbootd.route=imgboot" in serial, serial[-3000:]
        assert served(nb, rf"dhcp: {mac} arch 19 \(arm64-uefi-http\) uefi-http: OFFER "
                          rf"http://\S+/boot/{mac}\.efi .*method imgboot"), nb.log()[-4000:]
        assert served(nb, r"boot: \S+: boot/\S+\.efi serves imgbootaa64\.efi"), nb.log()[-4000:]
        assert served(nb, r'http: .*"GET /boot/\S+\.imgboot[^"]*" 200'), nb.log()[-4000:]
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        assert "profile img" in summary, summary
        print(f"arm64 imgboot: installer's first dialog {vm.elapsed():.0f}s after QEMU start")
