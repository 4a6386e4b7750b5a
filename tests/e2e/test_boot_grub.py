"""The GRUB chain: a profile with `method = grub` sends BIOS clients GRUB's
network image (boot/grub/i386-pc/core.0, laid out by grub-mknetdir), which
reads the generated boot/grub/grub.cfg-01-<mac> and loads kernel and initrd
over TFTP. Server mode: GRUB's PXE driver takes the TFTP server from the
cached DHCP ACK's next-server, which in a proxyDHCP setup is the LAN's DHCP
server, not netbootd (seen with dnsmasq: GRUB times out on normal.mod)."""
import shutil
import subprocess

from boot_helpers import boot, machine, netbootd_args, served, status_json, wait_handoff, write_conf
from testbed import Testbed as _Testbed


def test_bios_grub_netboot_generated_config(guest_images):
    g = guest_images
    with _Testbed("plan-grub") as tb:
        root = tb.tmp / "root"
        root.mkdir()
        tb.tmp.chmod(0o755)
        for f in (g.kernel, g.initrd):
            shutil.copyfile(f, root / f.name)
        r = subprocess.run(["grub-mknetdir", f"--net-directory={root}", "--subdir=boot/grub",
                            "-d", "/usr/lib/grub/i386-pc"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0 and (root / "boot/grub/i386-pc/core.0").exists(), r.stderr
        subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
        cmdline = f"{g.cmdline} netbootd.profile=grub"
        conf = write_conf(tb, f"""
[server]
root = {root}
[default]
profile = grubby
[profile grubby]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
method = grub
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        vm = tb.vm("bios")
        boot(vm, cmdline)
        mac = vm.mac.lower()
        dashes = mac.replace(":", "-")
        assert served(nb, rf"dhcp: {mac} .*: (OFFER|ACK) boot/grub/i386-pc/core\.0 "), nb.log()[-4000:]
        for name in ("boot/grub/i386-pc/core.0", f"boot/grub/grub.cfg-01-{dashes}", "vmlinuz",
                     "initrd.gz"):
            assert served(nb, rf'tftp: .*"{name}"'), (name, nb.log()[-4000:])
        summary = wait_handoff(tb, nb, mac)
        assert "profile grubby" in summary, summary
        assert machine(status_json(tb), mac)["state"] == "handed-off"
        vm.wait_exit(60)
