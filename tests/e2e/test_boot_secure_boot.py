"""UEFI Secure Boot (OVMF enforcing, Microsoft's keys enrolled): the chain is
made of signed binaries from Debian's packages. `[arch x64-uefi] loader =
shimx64.efi`: the firmware runs shim (signed by the UEFI CA), shim fetches
grubx64.efi (Debian's signed network GRUB) from netbootd, GRUB reads
grub/grub.cfg, which hands over to this machine's grub/grub.cfg-01-<mac>,
and loads the Debian-signed kernel, which shim's policy verifies. Server mode:
Debian's GRUB 2.06 takes its TFTP server from the DHCP ACK (proxy mode would
send it to the LAN's DHCP server; docs/boot-flows.md).

The control: the same firmware refuses an unsigned loader (iPXE), so the first
test really ran with Secure Boot enforced."""
import shutil
from pathlib import Path

from boot_helpers import GRUB_LAST_FILE_WAIT, netbootd_args, served, wait_handoff, write_conf
from testbed import Testbed as _Testbed

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "build" / "deps" / "shimx64.efi.signed"  # tests/lib/deps.sh unpacks it


def test_secure_boot_shim_signed_grub_kernel(guest_images):
    g = guest_images
    assert SHIM.exists(), f"{SHIM} missing: run `make deps`"
    with _Testbed("plan-secure-boot") as tb:
        root = tb.tmp / "root"
        root.mkdir()
        tb.tmp.chmod(0o755)
        for f in (g.kernel, g.initrd):
            shutil.copyfile(f, root / f.name)
        # Without `quiet`: the kernel's own "Secure boot enabled" line is the proof.
        cmdline = g.cmdline.replace("quiet ", "") + " netbootd.profile=secure"
        conf = write_conf(tb, f"""
[server]
root = {root}
shim-efi = {SHIM}
[arch x64-uefi]
loader = shimx64.efi
[default]
profile = signed
[profile signed]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        vm = tb.vm("uefi", secure_boot=True, memory_mb=768)
        r = vm.wait_guest(timeout=300)
        assert "netbootd.profile=secure" in r.cmdline, r
        serial = vm.serial()
        assert "Fetching Netboot Image grubx64.efi" in serial, serial[-3000:]  # shim
        assert "EFI stub: UEFI Secure Boot is enabled" in serial, serial[-3000:]
        assert "secureboot: Secure boot enabled" in serial, serial[-3000:]
        mac = vm.mac.lower()
        assert served(nb, rf"dhcp: {mac} arch 7 .*: (OFFER|ACK) shimx64\.efi "), nb.log()[-4000:]
        # GRUB's last file may be logged long after the boot (GRUB_LAST_FILE_WAIT).
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        for name in ("shimx64.efi", "grubx64.efi", "grub/grub.cfg", f"grub/grub.cfg-01-{mac}",
                     "vmlinuz", "initrd.gz"):
            assert served(nb, rf'tftp: .*"{name}" \d+/\d+ bytes.*: complete'), (name, nb.log()[-4000:])
        assert "profile signed" in summary and "last initrd.gz" in summary, summary
        vm.wait_exit(60)


def test_secure_boot_refuses_unsigned_loader(guest_images):
    g = guest_images
    with _Testbed("plan-secure-refuse") as tb:
        nb = tb.start_netbootd(netbootd_args(tb, "--kernel", g.kernel, "--initrd", g.initrd,
                                             dhcp="server"))
        vm = tb.vm("uefi", secure_boot=True, efi_ipv4_pxe=True)
        vm.wait_for("Access Denied", timeout=240)
        # The firmware did fetch iPXE (unsigned) over TFTP, and refused to run it.
        assert served(nb, r'tftp: .*"snponly\.efi" \d+/\d+ bytes.*: complete'), nb.log()[-3000:]
