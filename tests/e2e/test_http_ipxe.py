"""iPXE (SeaBIOS + the iPXE e1000 ROM) fetches a script, a kernel and an
initrd over HTTP from netbootd and boots the test guest.

dnsmasq is the DHCP server here (netbootd's own DHCP is another test): it
hands out an address and the script's URL as the boot file name, which
iPXE treats as a URI.
"""
import os
import re
import shutil

PORT = 8080  # the namespace is private: a fixed port cannot collide


def test_ipxe_boots_kernel_and_initrd_over_http(testbed, guest_images):
    g = guest_images
    tb = testbed
    ip = tb.server_ip
    os.chmod(tb.tmp, 0o755)  # netbootd reads the root as nobody
    root = tb.tmp / "root"
    root.mkdir()
    shutil.copyfile(g.kernel, root / "vmlinuz")
    shutil.copyfile(g.initrd, root / "initrd.img")
    (root / "boot.ipxe").write_text(
        "#!ipxe\n"
        f"kernel http://{ip}:{PORT}/vmlinuz {g.cmdline}\n"
        f"initrd http://{ip}:{PORT}/initrd.img\n"
        "boot\n")
    for p in [root, *root.iterdir()]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)

    nb = tb.start_netbootd(["--root", str(root), "--http", f"{ip}:{PORT}",
                            "--tftp", "off", "--dhcp", "off"])
    tb.start_dnsmasq([f"--dhcp-boot=http://{ip}:{PORT}/boot.ipxe"])
    vm = tb.vm("bios")
    r = vm.wait_guest(timeout=300)
    assert g.cmdline in r.cmdline, f"cmdline {r.cmdline!r} lacks {g.cmdline!r}"
    assert vm.wait_exit(60) == 0

    log = nb.log()
    ksize = (root / "vmlinuz").stat().st_size
    isize = (root / "initrd.img").stat().st_size
    for path, size in (("boot.ipxe", (root / "boot.ipxe").stat().st_size),
                       ("vmlinuz", ksize), ("initrd.img", isize)):
        assert re.search(rf'"GET /{re.escape(path)}" 200 {size} ', log), \
            f"no complete GET /{path} in the access log:\n{log[-3000:]}"
    assert "(incomplete)" not in log
