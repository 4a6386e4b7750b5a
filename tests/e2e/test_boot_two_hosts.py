"""Chain 7: two VMs with different MACs boot different profiles from one config
([host MAC] sections), at the same time."""
from boot_helpers import boot, machine, netbootd_args, status_json, wait_handoff, write_conf
from testbed import Testbed as _Testbed


def test_two_macs_two_profiles(guest_images):
    g = guest_images
    with _Testbed("plan-two-hosts") as tb:
        tb.start_dnsmasq()
        mac_a, mac_b = tb.new_mac(), tb.new_mac()
        while mac_b == mac_a:
            mac_b = tb.new_mac()
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[profile alpha]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {g.cmdline} netbootd.profile=alpha
[profile beta]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {g.cmdline} netbootd.profile=beta
[host {mac_a.upper()}]
profile = alpha
hostname = alpha
[host {mac_b.replace(':', '-')}]
profile = beta
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf))
        vm_a = tb.vm("bios", mac=mac_a)
        vm_b = tb.vm("bios", mac=mac_b)
        ra = boot(vm_a, "netbootd.profile=alpha", timeout=400)
        rb = boot(vm_b, "netbootd.profile=beta", timeout=400)
        assert "netbootd.profile=beta" not in ra.cmdline
        assert "netbootd.profile=alpha" not in rb.cmdline
        for mac, prof in ((mac_a, "alpha"), (mac_b, "beta")):
            summary = wait_handoff(tb, nb, mac)
            assert f"profile {prof}" in summary, summary
        st = status_json(tb)
        a, b = machine(st, mac_a), machine(st, mac_b)
        assert a["profile"] == "alpha" and b["profile"] == "beta"
        assert a["ip"] != b["ip"]
        vm_a.wait_exit(60)
        vm_b.wait_exit(60)
