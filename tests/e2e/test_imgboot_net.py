"""imgboot.efi over the network (issue 7 tests 2, 3 and the download failures).

Each test owns a Testbed (namespace nbd-<name>-<hex>) with netbootd inside
serving HTTP; DHCP comes from netbootd itself or from dnsmasq (as the LAN's
router would, and as the TFTP server of the "firmware PXE, no iPXE" path).
"""
import shutil
import re

import images
from tlsca import make_tls

MIB = 1024 * 1024


def http_args(tb, root, *extra):
    return ["--root", str(root), "--dhcp", "off", "--tftp", "off",
            "--http", f"{tb.server_ip}:80", "--user", "root", "--log-level", "info"] + \
        [str(x) for x in extra]


def local_launcher(tb, cfg):
    fb, fb_token = images.fallback_iso()
    disk = images.launcher_disk(tb.tmp / "launch.img", {
        "EFI/BOOT/BOOTX64.EFI": images.IMGBOOT, "EFI/BOOT/imgboot.cfg": cfg})
    return disk, fb, fb_token


def boot_to_fallback(tb, url, timeout=240, **vm_args):
    """imgboot from a local launcher fetches url and must fail: the serial text
    once the firmware's next boot option (the fallback CD) printed its marker."""
    disk, fb, fb_token = local_launcher(tb, f"url={url}\n")
    vm = tb.vm("uefi", boot="disk", disk=disk, cdrom=fb, **vm_args)
    return vm.wait_for(f"NETBOOT-MARKER {fb_token}", timeout=timeout)


def start_script_server(tb, script, log_name, *args, netns=None):
    """A Python server given as source text (a misbehaving peer), in the testbed."""
    p = tb.popen(["/usr/bin/python3", "-c", script] + [str(a) for a in args], log_name,
                 netns=netns)
    tb.wait_log(log_name, "ready", proc=p)


def test_url_download_from_local_launcher(testbed):
    """imgboot started from a disk downloads an http:// URL itself, through the
    firmware's HTTP stack (DHCP via EFI_IP4_CONFIG2), in Block I/O mode."""
    tb = testbed
    img, token = images.layout("mbr")
    root = tb.tmp / "root"
    root.mkdir()
    shutil.copyfile(img, root / "disk.img")
    tb.start_dnsmasq()
    nb = tb.start_netbootd(http_args(tb, root))
    disk, fb, _ = local_launcher(tb, f"url=http://{tb.server_ip}/disk.img\nmode=blockio\n")
    vm = tb.vm("uefi", boot="disk", disk=disk, cdrom=fb)
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=240)
    assert re.search(r"downloading 100% \d+/\d+ MiB \d+\.\d MiB/s", text), text[-3000:]
    assert "MBR disk" in text
    assert re.search(r'"GET /disk.img[^"]*" 200', nb.log()), nb.log()[-3000:]


def test_image_larger_than_ram(testbed):
    """A 2 GiB (sparse) image for a 512 MiB guest: imgboot says so before
    downloading it, and the firmware's next boot option runs."""
    tb = testbed
    root = tb.tmp / "root"
    root.mkdir()
    with open(root / "huge.img", "wb") as f:
        f.truncate(2048 * MIB)
    tb.start_dnsmasq()
    tb.start_netbootd(http_args(tb, root))
    text = boot_to_fallback(tb, f"http://{tb.server_ip}/huge.img", memory_mb=512)
    assert "not enough memory for" in text and "2048 MiB needed" in text, text[-3000:]
    assert "returning to the firmware" in text
    assert "NETBOOT-RAMDISKS 0" in text


def test_download_404(testbed):
    tb = testbed
    root = tb.tmp / "root"
    root.mkdir()
    tb.start_dnsmasq()
    tb.start_netbootd(http_args(tb, root))
    text = boot_to_fallback(tb, f"http://{tb.server_ip}/nothing-here.iso")
    assert "failed: HTTP 404" in text, text[-3000:]
    assert "returning to the firmware" in text


def quick_args(tb, image, *extra, dhcp="server"):
    p = tb.subnet_prefix
    args = ["--dhcp", dhcp, "--interface", tb.bridge, "--tftp", f"{tb.server_ip}:69",
            "--http", f"{tb.server_ip}:80", "--user", "root", "--log-level", "info",
            "--image", str(image), "--method", "imgboot", "--imgboot-efi", str(images.IMGBOOT)]
    if dhcp == "server":
        args += ["--pool", f"{p}.100-{p}.150", "--lease-file", str(tb.tmp / "leases"),
                 "--netmask", tb.netmask]
    return args + [str(x) for x in extra]


def test_uefi_http_boot_no_ipxe_linux_pmem(testbed, guest_images):
    """Launch path 2 + test 3: OVMF's HTTP boot fetches imgboot.efi from netbootd
    (no iPXE, no options); imgboot finds netbootd from its Uri() device path
    node, asks /boot/<mac>.imgboot, downloads the GPT image into reserved
    memory and registers it with the RAM disk protocol. The Linux inside
    sees the whole disk as /dev/pmem0 (nfit + nd_pmem) and prints its marker."""
    tb = testbed
    g = guest_images
    nb = tb.start_netbootd(quick_args(tb, g.gpt_img))
    vm = tb.vm("uefi", efi_ipv4_pxe=False)
    text = vm.wait_for(f"NETBOOT-MARKER {g.token_gpt}", timeout=300)
    mac = vm.mac.lower()
    assert f"imgboot: asking http://{tb.server_ip}/boot/{mac}.imgboot" in text, text[-4000:]
    assert "registered with the RAM disk protocol (virtual disk, reserved memory)" in text
    assert re.search(rf"NETBOOT-MARKER {g.token_gpt} \(on /dev/pmem0", text), text[-3000:]
    log = nb.log()
    assert re.search(rf'"GET /boot/{mac}\.imgboot[^"]*" 200', log), log[-3000:]


def test_ipxe_initrd_chain_hybrid_iso_linux(testbed, guest_images):
    """Launch path 1 from iPXE: OVMF PXE -> iPXE (netbootd's script) ->
    `initrd image.iso` + `chain imgboot.efi image.iso`; imgboot reads the ISO
    from iPXE's virtual file system, GRUB inside it finds its own files (it
    was loaded by device path) and the Linux sees the ISO as /dev/pmem0."""
    tb = testbed
    g = guest_images
    nb = tb.start_netbootd(quick_args(tb, g.iso))
    vm = tb.vm("uefi")
    text = vm.wait_for(f"NETBOOT-MARKER {g.token_iso}", timeout=360)
    assert "iPXE" in text, text[-4000:]
    assert re.search(r"imgboot: image \S*\.iso", text), text[-4000:]
    assert re.search(r"reading 100% \d+/\d+ MiB", text), text[-4000:]
    assert "ISO 9660 (CD)" in text
    assert "registered with the RAM disk protocol (virtual CD, reserved memory)" in text
    assert re.search(rf"NETBOOT-MARKER {g.token_iso} \(on /dev/pmem0", text), text[-3000:]
    assert re.search(r'"GET /imgboot\.efi[^"]*" 200', nb.log()), nb.log()[-3000:]


def test_firmware_pxe_tftp_no_options(testbed):
    """Launch path 3: firmware PXE loads imgboot.efi over TFTP with no options
    and no iPXE (the LAN's DHCP server, dnsmasq here, names the file and
    netbootd as next-server); imgboot takes the server from PXE Base Code's
    cached DHCP ACK, asks netbootd for /boot/<mac>.imgboot and downloads the
    image."""
    tb = testbed
    img, token = images.layout("fat")
    tb.start_dnsmasq([f"--dhcp-boot=imgboot.efi,,{tb.server_ip}"])
    nb = tb.start_netbootd(quick_args(tb, img, dhcp="off"))
    vm = tb.vm("uefi")
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=300)
    mac = vm.mac.lower()
    assert "PXE" in text and "iPXE" not in text, text[-4000:]
    assert f"imgboot: asking http://{tb.server_ip}/boot/{mac}.imgboot" in text, text[-4000:]
    assert re.search(r"downloading 100% ", text), text[-4000:]
    assert "FAT superfloppy" in text
    # PXE's own station address was reused: no second DHCP exchange.
    assert "waiting for a DHCP address" not in text, text[-4000:]
    assert re.search(rf'"GET /boot/{mac}\.imgboot[^"]*" 200', nb.log()), nb.log()[-3000:]


def test_https_download(testbed):
    """An https:// URL: the firmware's HTTP stack does TLS (OVMF TlsDxe) with
    the CA handed to it through fw_cfg; imgboot needs nothing special."""
    tb = testbed
    img, token = images.layout("gpt")
    root = tb.tmp / "root"
    root.mkdir()
    shutil.copyfile(img, root / "disk.img")
    cert, key, cacerts = make_tls(tb.tmp, tb.server_ip)
    tb.start_dnsmasq()
    nb = tb.start_netbootd(http_args(tb, root, "--https", f"{tb.server_ip}:443",
                                     "--tls-cert", cert, "--tls-key", key))
    disk, fb, _ = local_launcher(tb, f"url=https://{tb.server_ip}/disk.img\n")
    vm = tb.vm("uefi", boot="disk", disk=disk, cdrom=fb,
               fw_cfg={"etc/edk2/https/cacerts": cacerts})
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=240)
    assert re.search(r"downloading 100% ", text), text[-3000:]
    assert re.search(r'https: [^"]*"GET /disk.img[^"]*" 200', nb.log()), nb.log()[-3000:]


TRUNCATING_SERVER = r"""
import socket, sys
ip, path, how = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(path, "rb").read(1 << 20)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, 80))
s.listen(8)
print("ready", flush=True)
held = []
while True:
    c, peer = s.accept()
    c.recv(65536)
    if how == "stall":
        # Accept the request, then say nothing and keep the connection open.
        held.append(c)
        print("stalling", peer, flush=True)
        continue
    # Promise 8 MiB, send 1 MiB, hang up: a server dying mid-transfer.
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n"
              b"Content-Type: application/octet-stream\r\n\r\n" + data)
    c.close()
    print("truncated a response to", peer, flush=True)
"""


def test_download_cut_short(testbed):
    """The connection closes after 1 MiB of a promised 8 MiB: imgboot reports
    where the download stopped, frees the image and returns to the firmware."""
    tb = testbed
    img, _ = images.layout("gpt")
    tb.start_dnsmasq()
    start_script_server(tb, TRUNCATING_SERVER, "truncating.log", tb.server_ip, img, "cut")
    text = boot_to_fallback(tb, f"http://{tb.server_ip}/disk.img")
    assert re.search(r"download of http://\S+/disk.img failed at byte \d+ of 8388608", text), \
        text[-3000:]
    assert "returning to the firmware" in text


def test_firmware_pxe_netbootd_arch_loader(testbed):
    """Launch path 3 with netbootd alone (full DHCP, TFTP, HTTP): the config's
    `[arch x64-uefi] loader = imgboot.efi` sends firmware PXE straight to
    imgboot.efi; imgboot asks netbootd's generated /boot/<mac>.imgboot."""
    tb = testbed
    img, token = images.layout("eltorito")
    root = tb.tmp / "root"
    (root / "images").mkdir(parents=True)
    shutil.copyfile(img, root / "images" / "test.iso")
    p = tb.subnet_prefix
    conf = tb.tmp / "netbootd.conf"
    conf.write_text(f"""[server]
root = {root}
dhcp = server
interface = {tb.bridge}
tftp = {tb.server_ip}:69
http = {tb.server_ip}:80
pool = {p}.100-{p}.150
lease-file = {tb.tmp / 'leases'}
netmask = {tb.netmask}
user = root
imgboot-efi = {images.IMGBOOT}

[default]
profile = iso

[profile iso]
image = images/test.iso
method = imgboot

[arch x64-uefi]
loader = imgboot.efi
""")
    nb = tb.start_netbootd(["--config", conf])
    vm = tb.vm("uefi")
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=300)
    mac = vm.mac.lower()
    assert "iPXE" not in text, text[-4000:]
    assert f"imgboot: asking http://{tb.server_ip}/boot/{mac}.imgboot" in text, text[-4000:]
    assert re.search(r"imgboot: image http://\S+/images/test\.iso", text), text[-4000:]
    assert "ISO 9660 (CD)" in text
    log = nb.log()
    assert re.search(r"tftp: .*imgboot\.efi", log), log[-3000:]
    assert re.search(rf'"GET /boot/{mac}\.imgboot[^"]*" 200', log), log[-3000:]


def test_server_stalls(testbed):
    """A server that takes the request and never answers: imgboot gives up
    after its 30 s idle limit instead of hanging, and the firmware goes on."""
    tb = testbed
    img, _ = images.layout("gpt")
    tb.start_dnsmasq()
    start_script_server(tb, TRUNCATING_SERVER, "stalling.log", tb.server_ip, img, "stall")
    text = boot_to_fallback(tb, f"http://{tb.server_ip}/disk.img", timeout=300)
    assert re.search(r"download of http://\S+/disk.img failed: no response", text), text[-3000:]
    assert "returning to the firmware" in text


# A mirror that only redirects, as download mirrors do: /start.img -> 307 to
# an absolute path -> 302 to netbootd on another host; /loop redirects forever.
REDIRECTING_SERVER = r"""
import http.server, sys
ip, target = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        to = {"/start.img": (307, "/mirror/disk.img"), "/mirror/disk.img": (302, target),
              "/loop": (302, "loop")}.get(self.path)
        if not to:
            self.send_error(404)
            return
        self.send_response(to[0])
        self.send_header("Location", to[1])
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, fmt, *args):
        print(self.address_string(), fmt % args, flush=True)
srv = http.server.ThreadingHTTPServer((ip, 8080), H)
print("ready", flush=True)
srv.serve_forever()
"""


def start_redirector(tb, target):
    start_script_server(tb, REDIRECTING_SERVER, "redirector.log", tb.router_ip, target,
                        netns=tb.router_ns)


def test_download_follows_redirects(testbed):
    """imgboot follows a relative and an absolute redirect to another host (as
    curl -L does), then boots what netbootd serves there."""
    tb = testbed
    img, token = images.layout("gpt")
    root = tb.tmp / "root"
    root.mkdir()
    shutil.copyfile(img, root / "disk.img")
    tb.start_dnsmasq()  # also the router host the mirror runs on
    start_redirector(tb, f"http://{tb.server_ip}/disk.img")
    nb = tb.start_netbootd(http_args(tb, root))
    disk, fb, _ = local_launcher(tb, f"url=http://{tb.router_ip}:8080/start.img\n")
    vm = tb.vm("uefi", boot="disk", disk=disk, cdrom=fb)
    text = vm.wait_for(f"NETBOOT-MARKER {token}", timeout=240)
    assert f"start.img: HTTP 307 to http://{tb.router_ip}:8080/mirror/disk.img" in text, text[-3000:]
    assert f"mirror/disk.img: HTTP 302 to http://{tb.server_ip}/disk.img" in text, text[-3000:]
    assert re.search(r'"GET /disk.img[^"]*" 200', nb.log()), nb.log()[-3000:]
    mirror = tb.log_path("redirector.log").read_text()
    assert '"GET /start.img HTTP/1.1" 307' in mirror and '"GET /mirror/disk.img HTTP/1.1" 302' in mirror


def test_redirect_loop(testbed):
    """A redirect loop ends after 5 hops with a clear message, and the firmware's
    next boot option runs."""
    tb = testbed
    tb.start_dnsmasq()
    start_redirector(tb, "unused")
    text = boot_to_fallback(tb, f"http://{tb.router_ip}:8080/loop")
    assert f"download of http://{tb.router_ip}:8080/loop failed: more than 5 redirects" in text, \
        text[-3000:]
    assert text.count(": HTTP 302 to ") == 6, text[-3000:]
    assert "returning to the firmware" in text
