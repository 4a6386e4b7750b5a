"""Chain 5: BIOS via pxelinux.0 and a generated pxelinux.cfg/01-<mac>; and
lpxelinux.0 (the default), which fetches kernel and initrd over HTTP."""
import pytest

from boot_helpers import boot, machine, netbootd_args, served, status_json, wait_handoff, write_conf
from testbed import Testbed as _Testbed


@pytest.mark.parametrize("loader", ["pxelinux.0", "lpxelinux.0"])
def test_bios_pxelinux_generated_config(guest_images, loader):
    g = guest_images
    with _Testbed("plan-" + loader.split(".")[0]) as tb:
        tb.start_dnsmasq()
        cmdline = f"{g.cmdline} netbootd.profile=pxelinux"
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[default]
profile = syslinux
[profile syslinux]
kernel = vmlinuz
initrd = initrd.gz
cmdline = {cmdline}
method = pxelinux
pxelinux = {loader}
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf))
        vm = tb.vm("bios")
        boot(vm, cmdline)
        mac = vm.mac.lower()
        dashes = mac.replace(":", "-")
        summary = wait_handoff(tb, nb, mac)
        assert "profile syslinux" in summary, summary
        # DHCP handed out pxelinux.0 (not iPXE's script), pxelinux fetched its modules
        # and our generated config over TFTP, then the kernel and initrd.
        assert served(nb, rf"dhcp: {mac} .*: (OFFER|ACK) {loader} "), nb.log()[-4000:]
        for name in (loader, "ldlinux.c32", f"pxelinux.cfg/01-{dashes}"):
            assert served(nb, rf'tftp: .*"{name}"'), (name, nb.log()[-4000:])
        # pxelinux.0 speaks TFTP only; lpxelinux.0 fetches the URLs of its config over HTTP.
        proto = "tftp" if loader == "pxelinux.0" else "http"
        for name in ("vmlinuz", "initrd.gz"):
            pat = rf'tftp: .*"{name}"' if proto == "tftp" else rf'http: .*"GET /{name}" 200'
            assert served(nb, pat), (name, nb.log()[-4000:])
        assert not served(nb, r"\.ipxe")
        st = machine(status_json(tb), mac)
        assert st["state"] == "handed-off"
        vm.wait_exit(60)
