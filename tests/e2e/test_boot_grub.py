"""The GRUB chain: a profile with `method = grub` sends BIOS clients GRUB's
network image boot/grub/i386-pc/core.0 and UEFI PXE clients
boot/grub/x86_64-efi/core.efi, which read the generated
boot/grub/grub.cfg-01-<mac> and load kernel and initrd over TFTP.

Two layouts: the operator's own (grub-mknetdir into the root, server mode:
that GRUB takes its TFTP server from the DHCP ACK's next-server, which is
netbootd only when netbootd gave the ACK), and netbootd's (nothing in the
root: netbootd builds the images at start-up with its own address inside and
serves GRUB's modules from the Debian packages), which also works in proxy
mode beside the LAN's dnsmasq, where the ACK is dnsmasq's."""
import shutil
import subprocess

import pytest

from boot_helpers import (GRUB_LAST_FILE_WAIT, boot, machine, netbootd_args, served, status_json,
                          wait_handoff, write_conf)
from testbed import Testbed as _Testbed

# firmware -> (grub-mknetdir platform, the network image the DHCP answer names)
PLATFORMS = {
    "bios": ("i386-pc", "boot/grub/i386-pc/core.0"),
    "uefi": ("x86_64-efi", "boot/grub/x86_64-efi/core.efi"),
}


@pytest.mark.parametrize("firmware,dhcp,layout", [
    ("bios", "server", "mknetdir"),
    ("uefi", "server", "mknetdir"),
    ("bios", "proxy", "built"),
    ("uefi", "proxy", "built"),
])
def test_grub_netboot_generated_config(guest_images, firmware, dhcp, layout):
    g = guest_images
    platform, core = PLATFORMS[firmware]
    with _Testbed(f"plan-grub-{firmware}-{dhcp}") as tb:
        if dhcp == "proxy":
            tb.start_dnsmasq()
        root = tb.tmp / "root"
        root.mkdir()
        tb.tmp.chmod(0o755)
        for f in (g.kernel, g.initrd):
            shutil.copyfile(f, root / f.name)
        if layout == "mknetdir":
            r = subprocess.run(["grub-mknetdir", f"--net-directory={root}", "--subdir=boot/grub",
                                "-d", f"/usr/lib/grub/{platform}"], capture_output=True, text=True,
                               timeout=120)
            assert r.returncode == 0 and (root / core).exists(), r.stderr
        subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
        cmdline = f"{g.cmdline} netbootd.profile=grub-{firmware}"
        conf = write_conf(tb, f"""
[server]
root = {root}
cache-dir = {tb.tmp / "cache"}
[default]
profile = grubby
[profile grubby]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
method = grub
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp=dhcp))
        if layout == "built":
            assert served(nb, rf"method grub: built \S+/cache/grub-net/{platform}/"), nb.log()[-3000:]
        if dhcp == "proxy":
            assert served(nb, rf"method grub: GRUB fetches from {tb.server_ip} "), nb.log()[-3000:]
        vm = tb.vm(firmware, memory_mb=768)
        boot(vm, cmdline)
        mac = vm.mac.lower()
        dashes = mac.replace(":", "-")
        assert served(nb, rf"dhcp: {mac} .*: (OFFER|ACK) {core} "), nb.log()[-4000:]
        # The hand-off first: the initrd's log line can come long after the
        # guest booted (GRUB_LAST_FILE_WAIT; a fresh-clone CI run hit it).
        summary = wait_handoff(tb, nb, mac, timeout=GRUB_LAST_FILE_WAIT)
        for name in (core, f"boot/grub/{platform}/normal.mod", f"boot/grub/grub.cfg-01-{dashes}",
                     "vmlinuz", "initrd.gz"):
            assert served(nb, rf'tftp: .*"{name}"'), (name, nb.log()[-4000:])
        # GRUB loaded everything itself: no iPXE on the way.
        assert not served(nb, r"snponly\.efi|undionly\.kpxe|\.ipxe"), nb.log()[-4000:]
        assert "profile grubby" in summary, summary
        assert machine(status_json(tb), mac)["state"] == "handed-off"
        vm.wait_exit(60)
