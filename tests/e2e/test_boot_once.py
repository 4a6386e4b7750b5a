"""boot-once on real firmware (issue 16 item 5): a SeaBIOS + iPXE machine
network-boots, its OS reports in (GET /api/v1/booted from its own address,
as the drop-in unit in docs/fleet.md does), and the same machine's next
power-on boots its local disk through the script netbootd now sends (iPXE
sanboot --drive 0x80): the guest on that disk comes up with the disk's own
command line and marker, and netbootd served no kernel the second time."""
import json
import re

from boot_helpers import machine, netbootd_args, status_json, write_conf
from testbed import Testbed


def test_bios_boot_once_then_local_disk(guest_images):
    g = guest_images
    with Testbed("boot-once") as tb:
        cmdline = f"{g.cmdline} netboot.booted=http://{tb.server_ip}/api/v1/booted"
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
boot-once-file = {tb.tmp / "state" / "boot-once"}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
[host MAC]
profile = linux
boot-once = yes
""")
        mac = tb.new_mac()
        conf.write_text(conf.read_text().replace("[host MAC]", f"[host {mac}]"))
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))

        # First power-on: the network boot, and the OS reports in.
        vm = tb.vm("bios", mac=mac, disk=g.iso)
        r = vm.wait_guest(timeout=300)
        assert "netboot.booted=" in r.cmdline, r.cmdline
        m = vm.wait_for_match(re.compile(r"NETBOOT-BOOTED-(REPORTED|FAILED) ?(.*)"), 120)
        assert m.group(1) == "REPORTED", vm.serial()[-3000:]
        assert json.loads(m.group(2)) == {"mac": mac, "state": "up", "boot_once": True}
        vm.wait_exit(60)
        assert machine(status_json(tb), mac)["state"] == "up"
        kernels_before = nb.log().count('"GET /vmlinuz" 200')
        assert kernels_before == 1

        # Second power-on, same machine: iPXE is sent to the local disk, whose
        # own boot loader starts the guest with the disk's command line.
        vm2 = tb.vm("bios", mac=mac, disk=g.iso)
        r2 = vm2.wait_guest(timeout=300)
        assert "netboot.booted=" not in r2.cmdline, r2.cmdline
        assert r2.marker == g.token_iso, r2
        assert f"{mac}: boot-once: it booted already, so its local disk" in nb.log()
        assert nb.log().count('"GET /vmlinuz" 200') == kernels_before, "it network-booted again"
        vm2.wait_exit(60)
