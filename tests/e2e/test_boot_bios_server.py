"""Chain 2: SeaBIOS + iPXE ROM boots kernel + initrd over HTTP with netbootd as the
only DHCP server (server mode: it leases the address), from a config file."""
import re

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
        # iPXE was answered with its script (logged once per client and answer:
        # OFFER at info, the ACK that repeats it at debug).
        assert served(nb, rf"dhcp: {mac} .* (OFFER|ACK) http://{tb.server_ip}/boot/{mac}\.ipxe"), \
            nb.log()[-4000:]
        for path in (rf"/boot/{mac_re(mac)}\.ipxe", "/vmlinuz", "/initrd.gz"):
            assert served(nb, rf'http: .*"GET {path}" 200'), nb.log()[-4000:]
        st = machine(status_json(tb), mac)
        assert st["state"] == "handed-off" and st["profile"] == "linux"
        p = tb.subnet_prefix
        assert st["ip"].startswith(p + "."), st
        assert 100 <= int(st["ip"].rsplit(".", 1)[1]) <= 150, st  # from --pool
        # netbootd leased that address itself (no other DHCP server in this namespace),
        # durably: the ACK left only after the lease was in the file.
        leases = (tb.tmp / "leases").read_text()
        assert re.search(rf"^L {re.escape(st['ip'])} {mac} \d+$", leases, re.M), leases
        vm.wait_exit(60)
