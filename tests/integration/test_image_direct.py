"""Images seen from inside (src/image/, src/boot/imagefiles.c), through the real
binary: `netbootd inspect` on ISOs laid out as each distribution lays out its
live or installer media (made with xorriso, the tool the distributions use),
and method `direct`: files inside the image served over HTTP and TFTP as
byte ranges of the image, and the iPXE script that boots the image's own
kernel and initrd with the root fetched from us.

The booted proof with a real Debian live ISO is tests/e2e/test_image_live.py.
"""
import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from daemon import Netbootd, free_port, netbootd_binary, run_netbootd

MAC = "52:54:00:aa:bb:15"
KVER = "6.1.0-9-amd64"

# What each distribution's medium holds (paths) and its boot menu says.
LAYOUTS = {
    "debian-live": {
        "files": {f"live/vmlinuz-{KVER}": b"K" * 3000, f"live/initrd.img-{KVER}": b"I" * 5000,
                  "live/filesystem.squashfs": b"S" * 70000},
        "grub": f"menuentry 'Live' {{\n  linux /live/vmlinuz-{KVER} boot=live components quiet "
                "splash findiso=${iso_path}\n  initrd /live/initrd.img-" + KVER + "\n}\n",
        "kind": "Debian live (live-boot)",
        "kernel": f"live/vmlinuz-{KVER}",
        "direct": "boot=live components quiet splash "
                  "fetch=http://SERVER/image/PROFILE/live/filesystem.squashfs",
    },
    "ubuntu": {
        "files": {"casper/vmlinuz": b"K" * 3000, "casper/initrd": b"I" * 3000,
                  "casper/filesystem.squashfs": b"S" * 1000},
        "grub": "set timeout=30\nmenuentry \"Try or Install Ubuntu\" {\n\tset gfxpayload=keep\n"
                "\tlinux\t/casper/vmlinuz  file=/cdrom/preseed/ubuntu.seed maybe-ubiquity "
                "quiet splash ---\n\tinitrd\t/casper/initrd\n}\n",
        "kind": "Ubuntu live (casper)",
        "kernel": "casper/vmlinuz",
        "direct": "file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash --- "
                  "ip=dhcp netboot=url url=http://SERVER/IMAGE",
    },
    "fedora": {
        "files": {"images/pxeboot/vmlinuz": b"K" * 3000, "images/pxeboot/initrd.img": b"I" * 3000,
                  "LiveOS/squashfs.img": b"S" * 1000},
        "grubpath": "EFI/BOOT/grub.cfg",
        "grub": "menuentry 'Start Fedora-Workstation-Live 39' --class fedora {\n"
                "\tlinux /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-39 "
                "rd.live.image quiet rhgb\n\tinitrd /images/pxeboot/initrd.img\n}\n",
        "kind": "dracut live (Fedora and relatives)",
        "kernel": "images/pxeboot/vmlinuz",
        "direct": "quiet rhgb root=live:http://SERVER/image/PROFILE/LiveOS/squashfs.img "
                  "rd.live.image ip=dhcp",
    },
    "arch": {
        "files": {"arch/boot/x86_64/vmlinuz-linux": b"K" * 3000,
                  "arch/boot/x86_64/initramfs-linux.img": b"I" * 3000,
                  "arch/boot/intel-ucode.img": b"U" * 100,
                  "arch/x86_64/airootfs.sfs": b"S" * 1000},
        "grubpath": "boot/syslinux/archiso_sys-linux.cfg",
        "grub": "LABEL arch64\nTEXT HELP\nBoot the Arch Linux install medium on BIOS.\nENDTEXT\n"
                "MENU LABEL Arch Linux install medium (x86_64, BIOS)\n"
                "LINUX /arch/boot/x86_64/vmlinuz-linux\n"
                "INITRD /arch/boot/intel-ucode.img,/arch/boot/x86_64/initramfs-linux.img\n"
                "APPEND archisobasedir=arch archisosearchuuid=2023-11-01-09-30-51-00\n",
        "kind": "Arch Linux live (archiso)",
        "kernel": "arch/boot/x86_64/vmlinuz-linux",
        "initrds": ["arch/boot/intel-ucode.img", "arch/boot/x86_64/initramfs-linux.img"],
        "direct": "archisobasedir=arch archiso_http_srv=http://SERVER/image/PROFILE/ ip=dhcp",
    },
    "debian-installer": {
        "files": {"install.amd/vmlinuz": b"K" * 3000, "install.amd/initrd.gz": b"I" * 3000,
                  ".disk/info": b"Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST"},
        "grub": "menuentry --hotkey=i 'Install' {\n    set background_color=black\n"
                "    linux    /install.amd/vmlinuz vga=788 --- quiet\n"
                "    initrd   /install.amd/initrd.gz\n}\n",
        "kind": "Debian installer",
        "kernel": "install.amd/vmlinuz",
        "direct": "vga=788 --- quiet",
    },
}


def make_iso(tmp_path: Path, name: str, layout: dict, extra_args=()) -> Path:
    tree = tmp_path / f"tree-{name}"
    for rel, data in layout["files"].items():
        p = tree / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    cfg = tree / layout.get("grubpath", "boot/grub/grub.cfg")
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(layout["grub"])
    out = tmp_path / f"{name}.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", *extra_args, "-V", name[:32], "-o", str(out),
                    str(tree)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out.chmod(0o644)
    return out


def inspect(path) -> str:
    r = subprocess.run([netbootd_binary(), "inspect", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("names", ["rock-ridge", "joliet"])
def test_inspect_recognises_each_layout(tmp_path, name, names):
    layout = LAYOUTS[name]
    # Rock Ridge (the default of xorriso) or Joliet only: both name files in full.
    extra = ["-R", "-J"] if names == "rock-ridge" else ["-J", "-joliet-long"]
    if names == "joliet":
        extra = ["--norock", "-J", "-joliet-long"]
    out = inspect(make_iso(tmp_path, name, layout, extra))
    assert f"type:       {layout['kind']}\n" in out, out
    assert f"kernel:     {layout['kernel']}\n" in out, out
    for initrd in layout.get("initrds", []):
        assert f"initrd:     {initrd}\n" in out, out
    assert f"direct cmdline: {layout['direct']}\n" in out, out
    assert "[auto picks this]" in out, out


def test_inspect_unrecognised_and_raw_disk(tmp_path):
    tree = tmp_path / "plain"
    (tree / "boot/grub").mkdir(parents=True)
    (tree / "boot/vmlinuz").write_bytes(b"K" * 100)
    (tree / "boot/grub/grub.cfg").write_text("menuentry x {\n linux /boot/vmlinuz root=/dev/sda1\n}\n")
    iso = tmp_path / "plain.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-o", str(iso), str(tree)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = inspect(iso)
    assert "type:       unrecognised ISO 9660 image" in out
    assert "direct            no: no live-boot, casper, dracut, archiso or debian-installer layout" in out
    disk = tmp_path / "disk.img"
    data = bytearray(1 << 20)
    data[510:512] = b"\x55\xaa"
    data[512:520] = b"EFI PART"
    disk.write_bytes(bytes(data))
    out = inspect(disk)
    assert "type:       disk image (not ISO 9660)" in out
    assert "MBR yes" in out and "GPT yes" in out
    assert "direct            no: not an ISO 9660 image" in out


def test_inspect_errors(tmp_path):
    r = subprocess.run([netbootd_binary(), "inspect", str(tmp_path / "missing.iso")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "missing.iso: No such file or directory" in r.stderr
    r = subprocess.run([netbootd_binary(), "inspect"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2 and "usage: netbootd inspect IMAGE" in r.stderr
    # A truncated ISO (the descriptors cut off): a clear verdict, no crash.
    iso = make_iso(tmp_path, "debian-live", LAYOUTS["debian-live"])
    cut = tmp_path / "cut.iso"
    cut.write_bytes(iso.read_bytes()[:16 * 2048 + 100])
    out = inspect(cut)
    assert "type:       disk image (not ISO 9660)" in out


# ---- method direct, served -------------------------------------------------------------

def http(port, path, headers=None, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.fixture
def live(tmp_path):
    layout = LAYOUTS["debian-live"]
    iso = make_iso(tmp_path, "debian-live", layout)
    os.chmod(tmp_path, 0o755)
    hport = free_port(socket.SOCK_STREAM)
    tport = free_port()
    nb = Netbootd(["--image", str(iso), "--http", f"127.0.0.1:{hport}",
                   "--tftp", f"127.0.0.1:{tport}", "--dhcp", "off",
                   "--server-addr", "127.0.0.1"])
    with nb:
        yield nb, hport, tport, layout, iso


def test_direct_serves_files_out_of_the_image(live):
    nb, hport, tport, layout, iso = live
    assert "profile quick: quick/image.iso is Debian live (live-boot): kernel " \
           f"live/vmlinuz-{KVER}, initrd live/initrd.img-{KVER}, root live/filesystem.squashfs " \
           "(from boot/grub/grub.cfg); method direct needs about 256 MiB of RAM" in nb.log()
    for rel, data in layout["files"].items():
        status, body, hdr = http(hport, f"image/quick/{rel}")
        assert status == 200 and body == data, rel
        assert int(hdr["Content-Length"]) == len(data)
    sq = layout["files"]["live/filesystem.squashfs"]
    # Range inside one inner file: offsets are the file's, not the image's.
    status, body, hdr = http(hport, "image/quick/live/filesystem.squashfs",
                             {"Range": "bytes=100-199"})
    assert status == 206 and body == sq[100:200]
    assert hdr["Content-Range"] == f"bytes 100-199/{len(sq)}"
    status, body, hdr = http(hport, "image/quick/live/filesystem.squashfs", method="HEAD")
    assert status == 200 and int(hdr["Content-Length"]) == len(sq)
    # Distinct inner files get distinct validators.
    e1 = http(hport, f"image/quick/live/vmlinuz-{KVER}", method="HEAD")[2]["ETag"]
    e2 = http(hport, f"image/quick/live/initrd.img-{KVER}", method="HEAD")[2]["ETag"]
    assert e1 != e2
    # Names that are not files inside the image.
    assert http(hport, "image/quick/live/nothing")[0] == 404
    assert http(hport, "image/quick/live")[0] in (403, 404)
    assert http(hport, "image/other/live/filesystem.squashfs")[0] == 404
    # Dot segments resolve by name first (RFC 3986): still inside the image.
    assert http(hport, "image/quick/../quick/image.iso")[0] == 404  # no image.iso inside it
    status, body, _ = http(hport, f"image/quick/live/../live/vmlinuz-{KVER}")
    assert status == 200 and body == layout["files"][f"live/vmlinuz-{KVER}"]


def test_direct_over_tftp(live, tmp_path):
    nb, hport, tport, layout, iso = live
    out = tmp_path / "k"
    r = subprocess.run(["tftp", "127.0.0.1", str(tport), "-m", "binary", "-c", "get",
                        f"image/quick/live/vmlinuz-{KVER}", str(out)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert out.read_bytes() == layout["files"][f"live/vmlinuz-{KVER}"], r.stdout


def test_direct_ipxe_script(live):
    nb, hport, tport, layout, iso = live
    status, body, _ = http(hport, f"boot/{MAC}.ipxe")
    script = body.decode()
    base = f"http://127.0.0.1:{hport}/image/quick"
    assert f"kernel {base}/live/vmlinuz-{KVER} initrd=initrd.img-{KVER} boot=live components " \
           f"quiet splash fetch={base}/live/filesystem.squashfs || goto p_quick_fail" in script, script
    assert f"initrd {base}/live/initrd.img-{KVER} || goto p_quick_fail" in script
    assert "${iso_path}" not in script and "findiso" not in script
    assert "# BIOS: method direct (auto: Debian live (live-boot)" in script
    assert "# UEFI: method direct (auto: Debian live (live-boot)" in script
    assert "memdisk" not in script and "imgboot" not in script
    # UEFI HTTP boot gets iPXE, which then runs this script.
    status, body, _ = http(hport, f"boot/{MAC}.efi")
    assert status == 200 and body[:2] == b"MZ"
    assert f"boot/{MAC}.efi serves snponly.efi" in nb.log()


PLAIN = {"files": {"x/y": b"1"}, "grub": "# nothing\n"}  # an ISO no layout matches


def root_with(tmp_path, **layouts):
    """A --root holding NAME.iso for each layout given, and the config file's path."""
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    for name, layout in layouts.items():
        os.link(make_iso(tmp_path, name, layout), root / f"{name}.iso")
    for p in (tmp_path, root):
        os.chmod(p, 0o755)
    return root, tmp_path / "netbootd.conf"


def test_direct_profile_cmdline_and_forced_methods(tmp_path):
    root, conf = root_with(tmp_path, live=LAYOUTS["debian-live"], plain=PLAIN)
    conf.write_text(f"[server]\nroot = {root}\n"
                    f"[host {MAC}]\nprofile = live\n"
                    "[host 52:54:00:aa:bb:16]\nprofile = forced\n"
                    "[host 52:54:00:aa:bb:17]\nprofile = plain\n"
                    "[profile live]\nimage = live.iso\ncmdline = console=ttyS0\n"
                    "[profile forced]\nimage = live.iso\nmethod = memdisk\n"
                    "[profile plain]\nimage = plain.iso\nmethod = direct\n")
    hport = free_port(socket.SOCK_STREAM)
    with Netbootd(["--config", str(conf), "--http", f"127.0.0.1:{hport}", "--tftp", "off",
                   "--dhcp", "off", "--server-addr", "127.0.0.1"]) as nb:
        log = nb.log()
        script = http(hport, f"boot/{MAC}.ipxe")[1].decode()
        assert "fetch=http://127.0.0.1:%d/image/live/live/filesystem.squashfs console=ttyS0 ||" \
               % hport in script, script
        # Forced memdisk on a live image: allowed, with a warning that says what will happen.
        assert "profile forced: method memdisk boots the image's own loader, but Debian live " \
               "(live-boot) then looks for its medium" in log, log
        script = http(hport, "boot/52:54:00:aa:bb:16.ipxe")[1].decode()
        assert "memdisk" in script and "fetch=" not in script
        # direct on an image nobody recognises: refused at start-up, auto instead.
        assert "profile plain: plain.iso is a unrecognised ISO 9660 image; method direct " \
               "cannot boot it" in log, log
        assert "profile plain: method direct refused, using auto" in log
        script = http(hport, "boot/52:54:00:aa:bb:17.ipxe")[1].decode()
        assert "direct needs an image netbootd recognises" in script, script
        # Files inside an unrecognised image are not served.
        assert http(hport, "image/plain/x/y")[0] == 404


def test_direct_through_pxelinux_and_grub(tmp_path):
    """method pxelinux / grub on a recognised image: the loader's generated
    config boots the image's own kernel and initrd (lpxelinux over HTTP,
    GRUB over TFTP), with the direct command line; iPXE clients of the same
    profile get the direct script. An image nobody recognises stops start-up."""
    root, conf = root_with(tmp_path, live=LAYOUTS["debian-live"])
    conf.write_text(f"[server]\nroot = {root}\ncache-dir = {tmp_path / 'cache'}\n"
                    f"[host {MAC}]\nprofile = pxl\n"
                    "[host 52:54:00:aa:bb:16]\nprofile = grubby\n"
                    "[profile pxl]\nimage = live.iso\nmethod = pxelinux\ncmdline = console=ttyS0\n"
                    "[profile grubby]\nimage = live.iso\nmethod = grub\n")
    hport = free_port(socket.SOCK_STREAM)
    tport = free_port()
    with Netbootd(["--config", str(conf), "--http", f"127.0.0.1:{hport}", "--tftp",
                   f"127.0.0.1:{tport}", "--dhcp", "off", "--server-addr", "127.0.0.1"],
                  timeout=60) as nb:
        base = f"http://127.0.0.1:{hport}/image/pxl"
        cfg = http(hport, "pxelinux.cfg/01-52-54-00-aa-bb-15")[1].decode()
        assert f"KERNEL {base}/live/vmlinuz-{KVER}\n" in cfg, cfg
        assert f"INITRD {base}/live/initrd.img-{KVER}\n" in cfg, cfg
        assert f"APPEND boot=live components quiet splash fetch={base}/live/filesystem.squashfs " \
               "console=ttyS0\n" in cfg, cfg
        cfg = http(hport, "boot/grub/grub.cfg-01-52:54:00:aa:bb:16")[1].decode()
        gbase = f"http://127.0.0.1:{hport}/image/grubby"
        assert f"\tlinux /image/grubby/live/vmlinuz-{KVER} boot=live components quiet splash " \
               f"fetch={gbase}/live/filesystem.squashfs\n" in cfg, cfg
        assert f"\tinitrd /image/grubby/live/initrd.img-{KVER}\n" in cfg, cfg
        script = http(hport, f"boot/{MAC}.ipxe")[1].decode()
        assert f"kernel {base}/live/vmlinuz-{KVER}" in script, script
        assert "method direct (the profile's pxelinux loader is not this client's" in script
        assert "memdisk" not in nb.log()
    root, conf = root_with(tmp_path, plain=PLAIN)
    conf.write_text(f"[server]\nroot = {root}\n[default]\nprofile = p\n"
                    "[profile p]\nimage = plain.iso\nmethod = pxelinux\n")
    r = run_netbootd(["--config", str(conf), "--http", "off", "--tftp", "off", "--dhcp", "off"],
                     timeout=30)
    assert r.returncode != 0
    assert "profile p: method pxelinux on an image boots the image's own kernel and initrd, and " \
           "plain.iso has none netbootd can use" in r.stderr, r.stderr
