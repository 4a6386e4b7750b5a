"""Issue 2 self-test: the testbed's plumbing and the guest images work on their own,
before any netbootd code is involved."""
import re
import time


def test_testbed_bios_dhcp_lease_from_dnsmasq(testbed):
    """Testbed + dnsmasq + a SeaBIOS/iPXE VM: iPXE gets a lease on br0.
    Proves the namespace, bridge, tap and QEMU plumbing for everyone else."""
    testbed.start_dnsmasq()
    vm = testbed.vm("bios")
    p = re.escape(testbed.subnet_prefix)
    m = vm.wait_for_match(re.compile(rf"net0: ({p}\.1\d\d)/255\.255\.255\.0"), timeout=180)
    ip = m.group(1)
    log = (testbed.tmp / "dnsmasq.log").read_text()
    assert re.search(rf"DHCPACK\(br0\) {re.escape(ip)} {vm.mac}", log), log[-3000:]
    vm.stop()
