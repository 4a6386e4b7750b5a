"""Issue 2 self-test: the testbed's plumbing and the guest images work on their own,
before any netbootd code is involved."""
import re
import subprocess
import sys
import textwrap
import time

import pytest


def test_testbed_bios_dhcp_lease_from_dnsmasq(testbed):
    """Testbed + dnsmasq + a SeaBIOS/iPXE VM: iPXE gets a lease on br0.
    Proves the namespace, bridge, tap and QEMU plumbing for everyone else."""
    testbed.start_dnsmasq()
    vm = testbed.vm("bios")
    p = re.escape(testbed.subnet_prefix)
    m = vm.wait_for_match(re.compile(rf"net0: ({p}\.1\d\d)/255\.255\.255\.0 gw (\S+)\n"), timeout=180)
    ip = m.group(1)
    # dnsmasq is another host on the LAN (the router), not the netbootd address.
    assert m.group(2) == testbed.router_ip != testbed.server_ip
    log = (testbed.tmp / "dnsmasq.log").read_text()
    assert re.search(rf"DHCPACK\(br0\) {re.escape(ip)} {vm.mac}", log), log[-3000:]
    # iPXE solicited a router and the testbed's RA responder answered (that is what
    # keeps iPXE's "Configuring" from waiting ~13 s for IPv6 to time out).
    assert "sent RA" in (testbed.tmp / "ra-responder.log").read_text()
    vm.stop()


def boot_and_check(vm, g, token, timeout=240):
    """The guest prints NETBOOT-OK with our cmdline, the right marker, then powers off."""
    r = vm.wait_guest(timeout=timeout)
    want_fw = "uefi" if "OVMF" in " ".join(vm.cmd) else "bios"
    assert r.firmware == want_fw, f"guest saw firmware {r.firmware!r}, expected {want_fw}"
    assert g.cmdline in r.cmdline, f"cmdline {r.cmdline!r} lacks {g.cmdline!r}"
    assert r.marker == token, f"marker {r.marker!r} on {r.device}, expected {token}\n{vm.serial()[-2000:]}"
    assert vm.wait_exit(60) == 0
    return r


def test_iso_boots_from_cdrom_under_seabios(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("bios", boot="cdrom", cdrom=g.iso, network=False)
    r = boot_and_check(vm, g, g.token_iso)
    assert r.device == "/dev/sr0" and r.fs == "iso9660"
    print(f"ISO/SeaBIOS cdrom: marker {r.since_start:.1f}s after QEMU start")


def test_iso_boots_from_cdrom_under_ovmf(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("uefi", boot="cdrom", cdrom=g.iso, network=False)
    r = boot_and_check(vm, g, g.token_iso)
    assert r.device == "/dev/sr0" and r.fs == "iso9660"
    print(f"ISO/OVMF cdrom: marker {r.since_start:.1f}s after QEMU start")


def test_gpt_image_boots_from_disk_under_ovmf(testbed, guest_images):
    g = guest_images
    vm = testbed.vm("uefi", boot="disk", disk=g.gpt_img, network=False)
    r = boot_and_check(vm, g, g.token_gpt)
    # systemd-stub passes the embedded .cmdline verbatim (no BOOT_IMAGE= prefix).
    assert r.cmdline == g.cmdline
    assert r.device == "/dev/vda1" and r.fs == "vfat"
    print(f"GPT/OVMF disk: marker {r.since_start:.1f}s after QEMU start")


def test_guest_finds_marker_on_nvdimm_pmem(testbed, guest_images):
    """The GPT image as an ACPI NFIT NVDIMM: the guest's nfit/nd_pmem modules expose it
    as /dev/pmem0 and the marker is read from its ESP. This is how an image that a UEFI
    app registered as a RAM disk in reserved memory is seen after boot, so imgboot tests
    can assert `on /dev/pmem`. The ISO boots from the CD; pmem is scanned first."""
    g = guest_images
    vm = testbed.vm("bios", boot="cdrom", cdrom=g.iso, network=False, nvdimm=g.gpt_img)
    r = boot_and_check(vm, g, g.token_gpt)
    assert r.device == "/dev/pmem0p1" and r.fs == "vfat"
    print(f"ISO/SeaBIOS + GPT on NVDIMM: marker {r.since_start:.1f}s after QEMU start")


def _ns_exists(ns):
    return ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()


def test_testbed_cleans_up_on_exception():
    from testbed import Testbed
    with pytest.raises(RuntimeError, match="boom"):
        with Testbed("tb-cleanup") as tb:
            ns, tmp = tb.ns, tb.tmp
            p = tb.popen(["sleep", "300"], "sleep.log")
            d = tb.start_dnsmasq()
            rns = tb.router_ns
            assert _ns_exists(rns)
            # a grandchild the testbed did not start directly: still in our netns
            tb.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 &"])
            assert _ns_exists(ns)
            raise RuntimeError("boom")
    assert p.poll() is not None and d.poll() is not None
    assert not _ns_exists(ns) and not _ns_exists(rns)
    assert not tmp.exists()


def test_testbed_sweeps_namespace_of_killed_creator():
    """A pytest worker killed with SIGKILL cannot clean up; the next Testbed does."""
    import testbed as tbmod
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(tbmod.Path(tbmod.__file__).parent)!r})
        from testbed import Testbed
        tb = Testbed("tb-orphan").__enter__()
        tb.popen(["sleep", "300"], "sleep.log")
        tb.start_dnsmasq()
        print(tb.ns, flush=True)
        time.sleep(300)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        ns = child.stdout.readline().strip()
        assert ns.startswith("nbd-tb-orphan-") and _ns_exists(ns) and _ns_exists(ns + "-r")
    finally:
        child.kill()
        child.wait()
    assert _ns_exists(ns)
    # (a Testbed set up meanwhile by another xdist worker may have swept it already)
    tbmod.sweep_stale_testbeds()
    assert not _ns_exists(ns) and not _ns_exists(ns + "-r")
    assert not (tbmod.REGISTRY / ns).exists()


def test_iso_boots_as_ovmf_http_boot_ram_disk(testbed, guest_images):
    """Baseline without netbootd: OVMF's own UEFI HTTP boot fetches the ISO (dnsmasq
    offers option 60 HTTPClient + the URL, a Python HTTP server serves it), registers
    it as a RAM disk, GRUB boots Linux, and Linux finds the ISO on /dev/pmem0 (OVMF
    puts HTTP boot RAM disks in NFIT-described reserved memory). This is the
    "firmware RAM disk" path of DESIGN.md with stock parts."""
    g = guest_images
    tb = testbed
    www = tb.tmp / "www"
    www.mkdir()
    (www / "netboot-test.iso").symlink_to(g.iso)
    http = tb.popen([sys.executable, "-m", "http.server", "-d", str(www), "-b", tb.server_ip, "8080"],
                    "http.log")
    tb.wait_log("http.log", "Serving HTTP", timeout=20, proc=http)
    url = f"http://{tb.server_ip}:8080/netboot-test.iso"
    tb.start_dnsmasq(["--dhcp-vendorclass=set:efihttp,HTTPClient",
                      "--dhcp-option-force=tag:efihttp,60,HTTPClient",
                      f"--dhcp-boot=tag:efihttp,{url}"])
    vm = tb.vm("uefi", efi_ipv4_pxe=False)
    r = boot_and_check(vm, g, g.token_iso, timeout=300)
    assert r.device == "/dev/pmem0" and r.fs == "iso9660", r
    log = (tb.tmp / "http.log").read_text()
    assert '"GET /netboot-test.iso HTTP/1.1" 200' in log, log
    print(f"ISO via OVMF HTTP boot RAM disk: marker {r.since_start:.1f}s after QEMU start")


def test_wait_for_failures_carry_diagnostics(testbed):
    """A marker that never comes, and a QEMU that dies, both fail fast and bounded with
    the serial tail, QEMU's own output and the server logs in the message."""
    from testbed import TestbedFailure
    testbed.start_dnsmasq()
    vm = testbed.vm("bios")
    vm.wait_for("iPXE", timeout=120)
    t0 = time.monotonic()
    with pytest.raises(TestbedFailure) as ei:
        vm.wait_for("THIS-NEVER-APPEARS", timeout=3)
    assert time.monotonic() - t0 < 30
    msg = str(ei.value)
    assert "timeout after 3s" in msg and "serial, last 60" in msg and "iPXE" in msg
    assert "--- dnsmasq.log" in msg and "started, version" in msg
    vm.stop()

    bad = testbed.vm("bios", network=False, boot="cdrom", cdrom="/nonexistent.iso")
    with pytest.raises(TestbedFailure) as ei:
        bad.wait_for("SeaBIOS", timeout=60)
    msg = str(ei.value)
    assert "QEMU exited" in msg and "nonexistent.iso" in msg, msg
