"""Chain 4: OVMF's UEFI HTTP boot gets the single-file EFI kernel straight from an
HTTP URL (boot/<mac>.efi carries the profile's EFI file: no iPXE, no TFTP)."""
from boot_helpers import (boot, mac_re, machine, netbootd_args, served, status_json, wait_handoff,
                          write_conf)
from testbed import Testbed as _Testbed


def test_ovmf_http_boot_single_file_efi_kernel(guest_images):
    g = guest_images
    with _Testbed("plan-uefi-http") as tb:
        conf = write_conf(tb, f"""
[server]
root = {g.dir}
[default]
profile = efikernel
[profile efikernel]
efi = linux.efi
""")
        nb = tb.start_netbootd(netbootd_args(tb, "--config", conf, dhcp="server"))
        # PXE off: the firmware goes straight to HTTP boot (TESTBED.md).
        vm = tb.vm("uefi", efi_ipv4_pxe=False)
        r = boot(vm, g.cmdline, timeout=300)
        # systemd-stub passes its embedded command line verbatim.
        assert r.cmdline == g.cmdline
        mac = vm.mac.lower()
        summary = wait_handoff(tb, nb, mac)
        assert "firmware uefi-http" in summary and f"last boot/{mac}.efi" in summary, summary
        assert served(nb, rf"dhcp: {mac} arch 16 .*uefi-http: .*http://{tb.server_ip}/boot/{mac}\.efi")
        assert served(nb, rf'http: .*"GET /boot/{mac_re(mac)}\.efi" 200'), nb.log()[-4000:]
        assert not served(nb, r"tftp: .*\"") and not served(nb, r"\.ipxe"), nb.log()[-4000:]
        st = machine(status_json(tb), mac)
        assert st["firmware"] == "uefi-http" and st["arch"] == 16
        vm.wait_exit(60)
