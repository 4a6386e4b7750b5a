"""The Debian installer's own netboot kernel and initrd (Debian package
debian-installer-12-netboot-amd64, unchanged) reach the installer's first
dialog through netbootd: SeaBIOS + iPXE ROM, proxyDHCP beside dnsmasq, the
quick kernel mode, kernel + initrd over HTTP. d-i draws its dialogs on the
serial console when console=ttyS0 is given, as an operator would add it."""
import re
from pathlib import Path

from boot_helpers import netbootd_args, served, wait_handoff
from testbed import Testbed as _Testbed

DI = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")


def test_debian_installer_netboot_first_dialog():
    assert (DI / "linux").exists(), "install debian-installer-12-netboot-amd64 (make deps)"
    with _Testbed("d-i") as tb:
        tb.start_dnsmasq()
        nb = tb.start_netbootd(netbootd_args(tb, "--kernel", DI / "linux", "--initrd",
                                             DI / "initrd.gz", "--cmdline",
                                             "console=ttyS0,115200 no_timer_check"))
        vm = tb.vm("bios", memory_mb=1024)
        # The language dialog: the first question d-i asks.
        vm.wait_for(re.compile(r"Choose the language to be used for the installation"),
                    timeout=600)
        mac = vm.mac.lower()
        assert served(nb, r'http: .*"GET /quick/linux" 200')
        assert served(nb, r'http: .*"GET /quick/initrd0" 200')
        summary = wait_handoff(tb, nb, mac)
        print(f"debian-installer: first dialog {vm.elapsed():.0f}s after QEMU start; {summary}")
