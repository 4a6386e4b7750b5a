"""BIOS image chains from the iPXE script: the hybrid ISO through syslinux's
memdisk (a RAM copy behind INT 13h) and through iPXE's sanboot over HTTP
(HEAD + Range). The ISO's own GRUB then boots the guest kernel."""
import pytest

from boot_helpers import boot, machine, netbootd_args, served, status_json
from testbed import Testbed as _Testbed


@pytest.mark.parametrize("method", ["memdisk", "sanboot"])
def test_bios_iso_image(guest_images, method):
    g = guest_images
    with _Testbed(f"plan-img-{method}") as tb:
        tb.start_dnsmasq()
        nb = tb.start_netbootd(netbootd_args(tb, "--image", g.iso, "--method", method))
        vm = tb.vm("bios", memory_mb=768)
        boot(vm, g.cmdline, timeout=400)
        mac = vm.mac.lower()
        if method == "memdisk":
            assert served(nb, r'http: .*"GET /memdisk" 200'), nb.log()[-4000:]
            assert served(nb, r'http: .*"GET /quick/image\.iso" 200'), nb.log()[-4000:]
        else:
            # sanboot reads the image in ranges, never all of it at once.
            assert served(nb, r'http: .*"(HEAD|GET) /quick/image\.iso" 20[06]'), nb.log()[-4000:]
            assert not served(nb, r'"GET /memdisk"')
        st = machine(status_json(tb), mac)
        assert st["profile"] == "quick"
