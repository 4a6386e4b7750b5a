"""proxyDHCP (port 67) and the PXE boot server (port 4011), with hand-built
PXE/HTTP/iPXE requests from a second network namespace over a veth pair."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd  # noqa: E402
from dhcpnet import CLIENT_IP, SERVER_IP, DhcpNet  # noqa: E402

UUID = "00" + "11223344556677889900aabbccddeeff"
DI_ARM64 = Path("/usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    with DhcpNet("proxy") as net:
        with Netbootd(["--root", str(root), "--dhcp", "proxy", "--tftp", "off", "--http", "off",
                       "--log-level", "debug"], netns=net.server_ns) as nb:
            net.nb = nb
            yield net


def pxe_opts(arch, vendor="PXEClient"):
    return ["--opt", f"60={vendor}:Arch:{arch:05d}:UNDI:003016", "--opt", f"93=hex:{arch:04x}",
            "--opt", "94=hex:010201", "--opt", f"97=hex:{UUID}"]


def check_proxy_reply(r, typ, vendor="PXEClient"):
    assert r["type"] == typ
    assert r["yiaddr"] == "0.0.0.0", "proxyDHCP hands out no address"
    # iPXE ignores a proxy reply with next-server 0.0.0.0 (TESTBED.md).
    assert r["siaddr"] == SERVER_IP
    assert bytes.fromhex(r["options"]["54"]) == bytes(map(int, SERVER_IP.split(".")))
    assert bytes.fromhex(r["options"]["60"]).decode() == vendor
    assert r["options"]["97"] == UUID, "option 97 copied back"
    return bytes.fromhex(r["options"]["67"]).decode()


@pytest.mark.parametrize("arch,expect", [
    (0, "undionly.kpxe"),
    (7, "snponly.efi"),
    (9, "snponly.efi"),
])
def test_pxe_discover_and_request(proxy, arch, expect):
    mac = f"52:54:00:00:01:{arch:02x}"
    for typ, want in (("discover", "OFFER"), ("request", "ACK")):
        replies = proxy.client(["--type", typ, "--mac", mac] + pxe_opts(arch))
        assert len(replies) == 1, replies
        r = replies[0]
        assert r["chaddr"] == mac
        assert check_proxy_reply(r, want).endswith(expect)
        assert r["file"].endswith(expect)
        # PXE discovery control: boot file here, skip discovery.
        assert r["options"]["43"] == "060108ff"
        assert r["from"] == f"{SERVER_IP}:67"
    log = proxy.nb.log()
    assert f"{mac} arch {arch} " in log and expect in log


def test_uefi_http_discover(proxy):
    """OVMF HTTP boot in a proxy setup only sends DISCOVERs: the OFFER itself
    must say HTTPClient and carry the URL (TESTBED.md)."""
    mac = "52:54:00:00:01:10"
    for typ, want in (("discover", "OFFER"), ("request", "ACK")):
        replies = proxy.client(["--type", typ, "--mac", mac] + pxe_opts(16, "HTTPClient"))
        assert len(replies) == 1, replies
        url = check_proxy_reply(replies[0], want, vendor="HTTPClient")
        assert url.startswith(f"http://{SERVER_IP}"), url
        assert "43" not in replies[0]["options"], "no PXE vendor options for HTTP boot"
    assert "uefi-http" in proxy.nb.log()


def test_arm64_gets_debians_signed_shim(proxy):
    """Arch 11 without an [arch] section: Debian's signed arm64 shim, found in
    the installer's netboot package (make deps installs it), under the name
    its own netboot tree's shim fetches GRUB beside; never an x86 binary. The
    log warns that Debian's GRUB then asks the LAN's next-server."""
    assert DI_ARM64.exists(), "install debian-installer-12-netboot-arm64 (make deps)"
    mac = "52:54:00:00:01:0b"
    replies = proxy.client(["--type", "discover", "--mac", mac] + pxe_opts(11))
    assert len(replies) == 1, replies
    assert check_proxy_reply(replies[0], "OFFER") == "shimaa64.efi"
    log = proxy.nb.log()
    assert f"{mac} arch 11 (arm64-uefi) uefi-pxe: OFFER shimaa64.efi" in log, log[-3000:]
    assert "proxy mode: GRUB asks the LAN's next-server" in log, log[-3000:]
    # ...and the server still answers the next client.
    assert proxy.client(["--type", "discover", "--mac", "52:54:00:00:02:00"] + pxe_opts(0))


def test_arm64_without_its_loaders_gets_no_offer(tmp_path):
    """The arm64 GRUB named but missing, and an arm64-grub-dir without
    modules: a warning at start-up for each, naming the package or the
    directory; no offer to arch 11 (silence, not a wrong binary), and the
    reason in the log."""
    with DhcpNet("arm64-none") as net:
        with Netbootd(["--root", str(tmp_path), "--dhcp", "proxy", "--tftp", "off",
                       "--http", "off", "--arm64-grub-efi", str(tmp_path / "absent.efi"),
                       "--arm64-grub-dir", str(tmp_path)],
                      netns=net.server_ns) as nb:
            mac = "52:54:00:00:03:0b"
            replies = net.client(["--type", "discover", "--mac", mac] + pxe_opts(11), timeout=1.5)
            assert replies == [], replies
            log = nb.log()
            assert "grubaa64.efi' not found" in log and "debian-installer-12-netboot-arm64" in log, log
            assert f"arm64-grub-dir {tmp_path}: no GRUB arm64-efi modules there" in log, log
            assert f"{mac} uefi-pxe DISCOVER: no boot answer" in log, log[-3000:]
            assert "no loader for ARM64 UEFI PXE: install debian-installer-12-netboot-arm64" in log
            assert net.client(["--type", "discover", "--mac", "52:54:00:00:03:00"] + pxe_opts(0))


def test_ipxe_user_class(proxy):
    mac = "52:54:00:00:01:99"
    opts = pxe_opts(0) + ["--opt", "77=iPXE", "--opt", "175=hex:b10101"]
    replies = proxy.client(["--type", "discover", "--mac", mac] + opts)
    assert len(replies) == 1, replies
    name = check_proxy_reply(replies[0], "OFFER")
    # iPXE must never be sent iPXE again: it gets a script URL.
    assert name.startswith("http://") and "undionly" not in name, name
    assert f"{mac} arch 0 (x86-bios) ipxe" in proxy.nb.log() or " ipxe: " in proxy.nb.log()


def test_ipxe_option_175_alone(proxy):
    replies = proxy.client(["--type", "discover", "--mac", "52:54:00:00:01:98"] + pxe_opts(7) +
                           ["--opt", "175=hex:1301011501"])
    assert len(replies) == 1
    assert check_proxy_reply(replies[0], "OFFER").startswith("http://")


def test_missing_guid_accepted(proxy):
    replies = proxy.client(["--type", "discover", "--mac", "52:54:00:00:01:97", "--opt",
                            "60=PXEClient:Arch:00000:UNDI:002001"])
    assert len(replies) == 1
    assert "97" not in replies[0]["options"]
    assert replies[0]["file"] == "undionly.kpxe"


def test_arch_from_option60_only(proxy):
    replies = proxy.client(["--type", "discover", "--mac", "52:54:00:00:01:96", "--opt",
                            "60=PXEClient:Arch:00007:UNDI:003016"])
    assert len(replies) == 1
    assert replies[0]["file"] == "snponly.efi"


def test_non_boot_client_gets_nothing(proxy):
    for typ in ("discover", "request"):
        assert proxy.client(["--type", typ, "--mac", "52:54:00:00:03:01", "--opt",
                             "60=MSFT 5.0"], timeout=1.5) == []
    assert proxy.client(["--type", "discover", "--mac", "52:54:00:00:03:02"], timeout=1.5) == []


def test_pxe_boot_server_port_4011(proxy):
    """Firmware that ignores the proxy OFFER asks the boot server: unicast ACK back."""
    mac = "52:54:00:00:04:07"
    replies = proxy.client(["--type", "request", "--mac", mac, "--ciaddr", CLIENT_IP,
                            "--dest", SERVER_IP, "--port", "4011", "--bind", f"{CLIENT_IP}:68",
                            "--opt", "43=hex:470400000000ff"] + pxe_opts(7))
    assert len(replies) == 1, replies
    r = replies[0]
    assert r["from"] == f"{SERVER_IP}:4011"
    assert check_proxy_reply(r, "ACK") == "snponly.efi"
    assert r["options"]["43"] == "470400000000ff", "boot item echoed"
    log = proxy.nb.log()
    assert "[pxe port]" in log and CLIENT_IP in log


def test_relay_unicast_with_option82(proxy):
    mac = "52:54:00:00:05:00"
    o82 = "0104deadbeef0206aabbccddeeff"
    replies = proxy.client(["--type", "discover", "--mac", mac, "--giaddr", CLIENT_IP,
                            "--dest", SERVER_IP, "--bind", f"{CLIENT_IP}:67",
                            "--opt", f"82=hex:{o82}"] + pxe_opts(0))
    assert len(replies) == 1, replies
    r = replies[0]
    assert r["giaddr"] == CLIENT_IP
    assert r["options"]["82"] == o82
    check_proxy_reply(r, "OFFER")
    assert "via relay" in proxy.nb.log()


def test_hostile_packets_do_not_hurt(proxy):
    """Truncated, overlong options, bad cookie, 300 options, overload: all dropped quietly."""
    from dhcppkt import build
    mac = "52:54:00:00:06:00"
    bad = [
        b"\x01" * 10,
        build("discover", mac)[:239],
        build("discover", mac, raw_options=bytes([53, 1, 1, 60, 200]) + b"PXEClient"),
        build("discover", mac, raw_options=bytes([53, 1, 1]) + bytes([12, 1, 65]) * 300),
        build("discover", mac, raw_options=bytes([53, 1, 1, 52, 1, 3, 60, 9]) + b"PXEClient",
              file=bytes([77, 250])),
        build("discover", mac, raw_options=bytes([53, 1, 1, 52, 1, 9, 255])),
        build("discover", mac, raw_options=bytes([53, 2, 1, 1, 255])),
        build("discover", mac, raw_options=bytes([53, 1, 1, 93, 3, 0, 0, 7, 255])),
    ]
    for pkt in bad:
        out = proxy.client(["--raw", pkt.hex(), "--mac", mac], timeout=0.3)
        # Only the bad-option-93 one is a (BIOS-less) boot client; none is PXEClient.
        assert out == [], (pkt.hex(), out)
    # Option overload: vendor class in the file field still classifies the client.
    opts = bytes([53, 1, 1, 52, 1, 1, 255])
    file_opts = bytes([60, 9]) + b"PXEClient" + bytes([93, 2, 0, 0, 255])
    pkt = build("discover", mac, raw_options=opts, file=file_opts)
    out = proxy.client(["--raw", pkt.hex()])
    assert len(out) == 1 and out[0]["file"] == "undionly.kpxe", out
    assert proxy.client(["--type", "discover", "--mac", mac] + pxe_opts(0))
    assert proxy.nb.proc.poll() is None


def info_lines(log, mac):
    return [l for l in log.splitlines() if f" info dhcp: {mac} " in l]


def test_one_info_line_per_client_and_answer(proxy):
    """A PXE ROM sends DISCOVER, REQUEST, then asks port 4011, and retries:
    one info line says what it got, the repeats are debug. A new answer (the
    iPXE it chains gets a script) is a new info line."""
    mac = "52:54:00:00:07:07"
    for _ in range(2):
        for typ in ("discover", "request"):
            assert proxy.client(["--type", typ, "--mac", mac] + pxe_opts(7))
    assert proxy.client(["--type", "request", "--mac", mac, "--ciaddr", CLIENT_IP,
                         "--dest", SERVER_IP, "--port", "4011", "--bind", f"{CLIENT_IP}:68"]
                        + pxe_opts(7))
    log = proxy.nb.log()
    lines = info_lines(log, mac)
    assert len(lines) == 1 and "OFFER snponly.efi" in lines[0], lines
    debug = [l for l in log.splitlines() if f" debug dhcp: {mac} " in l and "snponly.efi" in l]
    assert len(debug) == 4, debug
    ipxe = pxe_opts(7) + ["--opt", "77=iPXE", "--opt", "175=hex:1301011501"]
    for typ in ("discover", "request"):
        assert proxy.client(["--type", typ, "--mac", mac] + ipxe)
    lines = info_lines(proxy.nb.log(), mac)
    assert len(lines) == 2 and "ipxe: OFFER http://" in lines[1], lines


def test_no_answer_logged_once(proxy):
    """A client we cannot serve retries every few seconds: one info line, not one per try."""
    # Arch 10 (32-bit ARM UEFI): no loader of ours, none configured. (Arch 11
    # was the example until ARM64 got Debian's shim + GRUB by default.)
    mac = "52:54:00:00:07:0a"
    for _ in range(3):
        proxy.client(["--type", "discover", "--mac", mac] + pxe_opts(10), timeout=0.5)
    lines = info_lines(proxy.nb.log(), mac)
    assert len(lines) == 1 and "no boot answer" in lines[0], lines
