"""Chain 2: SeaBIOS + iPXE ROM boots kernel + initrd over HTTP with netbootd as the
only DHCP server (server mode: it leases the address), from a config file."""
from boot_helpers import (boot, mac_re, machine, netbootd_args, served, status_json, wait_handoff,
                          write_conf)
from testbed import Testbed as _Testbed


def test_bios_ipxe_rom_server_dhcp_config_profile(guest_images):
    g = guest_images
    with _Testbed("plan-bios-server") as tb:
        cmdline = f"{g.cmdline} netbootd.profile=server-linux"
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        vm = tb.vm("bios")
        boot(vm, cmdline)
        mac = vm.mac.lower()
        summary = wait_handoff(tb, nb, mac)
        assert "profile linux" in summary and "last initrd.gz" in summary, summary
        # netbootd leased the address itself (no other DHCP server in this namespace).
        acks = served(nb, rf"dhcp: {mac} .* ACK http://{tb.server_ip}/boot/{mac}\.ipxe")
        assert acks, nb.log()[-4000:]
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", "/vmlinuz", "/initrd.gz"):
            assert served(nb, rf'http: .*"GET {path}" 200'), nb.log()[-4000:]
        st = machine(status_json(tb), mac)
        assert st["state"] == "handed-off" and st["profile"] == "linux"
        p = tb.subnet_prefix
        assert st["ip"].startswith(p + "."), st
        assert 100 <= int(st["ip"].rsplit(".", 1)[1]) <= 150, st  # from --pool
        vm.wait_exit(60)
