"""grub-memdisk built by netbootd at start-up, and its limit.

A profile with `image` and `method = grub-memdisk` but no `grub = FILE`:
netbootd builds the GRUB binary (mkgrub) into cache-dir once at start-up,
serves it as cache/<profile>-grub.efi, and reuses it on the next start while
the image is unchanged. The limit (docs/boot-flows.md): GRUB cannot chainload
an EFI binary out of its memdisk, so an image without a grub.cfg (the GPT
disk whose ESP holds only BOOTX64.EFI) stops with a clear message on the
console instead of hanging.
"""
import re
import shutil
import subprocess

from boot_helpers import netbootd_args, served, write_conf
from daemon import netbootd_binary
from testbed import Testbed as _Testbed


def conf_for(tb, image_name):
    root = tb.tmp / "root"
    return write_conf(tb, f"""
[server]
root = {root}
cache-dir = {tb.tmp / 'cache'}
[default]
profile = rescue
[profile rescue]
image = {image_name}
method = grub-memdisk
""")


def test_image_grub_memdisk_built_at_startup(guest_images):
    g = guest_images
    with _Testbed("img-grub-build") as tb:
        tb.tmp.chmod(0o755)  # served after the privilege drop (nobody)
        root = tb.tmp / "root"
        root.mkdir()
        shutil.copyfile(g.iso, root / "rescue.iso")
        conf = conf_for(tb, "rescue.iso")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"), timeout=180)
        assert served(nb, r"main: profile rescue: grub-memdisk: built \S+/cache/rescue-grub\.efi in "), \
            nb.log()[-3000:]
        vm = tb.vm("uefi", efi_ipv4_pxe=False, memory_mb=768)
        m = vm.wait_for_match(re.compile(r"NETBOOT-OK|no grub\.cfg found inside the image"),
                              timeout=360)
        assert "NETBOOT-OK" in m.group(0), vm.serial()[-2000:]
        r = vm.wait_guest(timeout=60)
        assert g.cmdline in r.cmdline and r.firmware == "uefi", r
        mac = vm.mac.lower()
        assert served(nb, rf"boot: {mac}: boot/{mac}\.efi serves cache/rescue-grub\.efi: "
                          r".*grub-memdisk"), nb.log()[-3000:]
        print(f"grub-memdisk (start-up build): guest {r.since_start:.1f}s after QEMU start")
        # A second start with the image unchanged reuses the build.
        r2 = subprocess.run([netbootd_binary(), "--config", str(conf), "--check-config"],
                            capture_output=True, text=True, timeout=120)
        assert r2.returncode == 0, r2.stderr
        assert "grub-memdisk: reusing" in r2.stderr and "building" not in r2.stderr, r2.stderr
        # A changed image (new mtime and size) is built again.
        with open(root / "rescue.iso", "ab") as f:
            f.write(b"\0" * 2048)
        r3 = subprocess.run([netbootd_binary(), "--config", str(conf), "--check-config"],
                            capture_output=True, text=True, timeout=180)
        assert r3.returncode == 0 and "grub-memdisk: building" in r3.stderr, r3.stderr


def test_image_grub_memdisk_non_grub_image_fails_clearly(guest_images):
    """The raw GPT image boots an EFI binary (systemd-stub), not GRUB: GRUB in
    its memdisk finds no grub.cfg and says so on the console."""
    g = guest_images
    with _Testbed("img-grub-limit") as tb:
        tb.tmp.chmod(0o755)
        root = tb.tmp / "root"
        root.mkdir()
        shutil.copyfile(g.gpt_img, root / "disk.img")
        conf = conf_for(tb, "disk.img")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"), timeout=180)
        vm = tb.vm("uefi", efi_ipv4_pxe=False, memory_mb=512)
        m = vm.wait_for_match(re.compile(r"NETBOOT-OK|no grub\.cfg found inside the image"),
                              timeout=360)
        assert "no grub.cfg found inside the image" in m.group(0), vm.serial()[-2000:]
        mac = vm.mac.lower()
        assert served(nb, rf'"GET /boot/{mac}\.efi[^"]*" 200'), nb.log()[-3000:]
        vm.stop()
