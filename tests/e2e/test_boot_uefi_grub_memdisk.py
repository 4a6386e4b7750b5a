"""The grub-memdisk image method: `netbootd mkgrub` puts the hybrid ISO inside
one GRUB EFI binary; a profile with `method = grub-memdisk` and `grub = FILE`
makes UEFI HTTP boot fetch it as boot/<mac>.efi, and GRUB boots the ISO's own
grub.cfg from its memdisk."""
import re
import shutil
import subprocess

from boot_helpers import boot, machine, netbootd_args, served, status_json, wait_handoff, write_conf
from daemon import netbootd_binary
from testbed import Testbed as _Testbed


def test_uefi_http_boot_grub_memdisk(guest_images):
    g = guest_images
    with _Testbed("plan-grub-memdisk") as tb:
        root = tb.tmp / "root"
        root.mkdir()
        tb.tmp.chmod(0o755)
        shutil.copyfile(g.iso, root / "rescue.iso")
        r = subprocess.run([netbootd_binary(), "mkgrub", "--image", str(root / "rescue.iso"),
                            "-o", str(root / "rescue-grub.efi")], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        conf = write_conf(tb, f"""
[server]
root = {root}
[default]
profile = rescue
[profile rescue]
image = rescue.iso
method = grub-memdisk
grub = rescue-grub.efi
""")
        assert subprocess.run([netbootd_binary(), "--config", str(conf), "--check-config"],
                              capture_output=True).returncode == 0
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        vm = tb.vm("uefi", efi_ipv4_pxe=False, memory_mb=768)
        # Fail fast when GRUB gives up instead of waiting for the whole timeout.
        m = vm.wait_for_match(re.compile(r"NETBOOT-OK|no grub\.cfg found inside the image"),
                              timeout=360)
        assert "NETBOOT-OK" in m.group(0), vm.serial()[-2000:]
        boot(vm, g.cmdline, timeout=60)
        mac = vm.mac.lower()
        assert served(nb, rf"boot: {mac}: boot/{mac}\.efi serves rescue-grub\.efi: .*grub-memdisk")
        summary = wait_handoff(tb, nb, mac)
        assert f"last boot/{mac}.efi" in summary, summary
        assert machine(status_json(tb), mac)["firmware"] == "uefi-http"
