"""Chain 6: a menu profile: iPXE shows the menu and, with no key pressed, boots
the default entry when the timeout runs out."""
from boot_helpers import boot, machine, netbootd_args, status_json, wait_handoff, write_conf
from testbed import Testbed as _Testbed


def test_menu_default_after_timeout(guest_images):
    g = guest_images
    with _Testbed("plan-menu") as tb:
        tb.start_dnsmasq()
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[default]
profile = choose
[profile choose]
title = Pick an OS
menu = first, second
menu-default = second
menu-timeout = 3
[profile first]
title = The first entry
kernel = vmlinuz
initrd = initrd.gz
cmdline = {g.cmdline} netbootd.profile=first
[profile second]
title = The second entry
kernel = vmlinuz
initrd = initrd.gz
cmdline = {g.cmdline} netbootd.profile=second
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf))
        vm = tb.vm("bios")
        r = boot(vm, f"{g.cmdline} netbootd.profile=second")
        assert "netbootd.profile=first" not in r.cmdline
        serial = vm.serial()
        assert "Pick an OS" in serial and "The first entry" in serial, serial[-3000:]
        summary = wait_handoff(tb, nb, vm.mac)
        assert "profile choose" in summary, summary
        assert machine(status_json(tb), vm.mac)["state"] == "handed-off"
        vm.wait_exit(60)
