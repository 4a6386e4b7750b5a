"""Guest images for the end-to-end tests, built from Debian packages.

    from guests import guest
    g = guest()          # built once, cached in build/guest/<kernel>-<hash>/
    g.kernel, g.initrd, g.cmdline      # Linux kernel + busybox initramfs
    g.efi_kernel                       # the same as ONE EFI binary (systemd-stub)
    g.iso, g.token_iso                 # hybrid BIOS/UEFI ISO (GRUB), its marker token
    g.gpt_img, g.token_gpt             # GPT disk with an ESP whose BOOTX64.EFI is efi_kernel

Every guest runs the same /init: it prints `NETBOOT-OK <cmdline>` and
`NETBOOT-FIRMWARE uefi|bios` on ttyS0, loads
the block/fs drivers shipped in the initramfs, looks for /netboot-marker.txt on
every pmem/sr/sd/vd device and partition, prints `NETBOOT-MARKER <token>` (or
`NETBOOT-NO-MARKER` after ~10 s); with `netboot.booted=URL` on its command
line it then brings up eth0 with DHCP and GETs URL, as a booted OS reporting
to netbootd does (`NETBOOT-BOOTED-REPORTED <reply>`); then it powers off
(QEMU exits under -no-reboot).

The cache key is the kernel version plus a hash of this file, so editing the
builder rebuilds. Two pytest-xdist workers building at once serialise on an
fcntl lock; the finished directory is published by an atomic rename.
"""
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import struct
import subprocess
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NBD_GUEST_CACHE", REPO / "build" / "guest"))
STUB = Path("/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
BUSYBOX = Path("/bin/busybox")  # busybox-static
MARKER_FILE = "netboot-marker.txt"
# no_timer_check: under TCG on a loaded host Linux can fail its IO-APIC timer
# check and panic; every image boots with it.
CMDLINE_BASE = "console=ttyS0,115200 quiet panic=1 no_timer_check netboot.test=1"

# Block and file-system drivers a guest needs to find its marker on: NVDIMM
# (a UEFI RAM disk in EfiReservedMemoryType shows up via ACPI NFIT as /dev/pmemN),
# virtio, IDE/AHCI CD-ROMs and disks, ISO 9660 and FAT. Dependencies are added
# from modules.dep; order is dependencies first.
MODULES = [
    "crc32c_generic", "crct10dif_generic", "crc64_rocksoft_generic",
    "libnvdimm", "nd_btt", "nfit", "nd_pmem",
    "virtio_pci", "virtio_blk", "virtio_scsi",
    "ata_piix", "ahci", "sd_mod", "sr_mod", "cdrom",
    "isofs", "vfat", "nls_cp437", "nls_ascii", "nls_iso8859-1",
    # The NICs of the testbed's VMs, for netboot.booted= (the OS reporting in).
    "e1000", "virtio_net",
]

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /mnt /tmp /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s
exec </dev/console >/dev/console 2>&1
echo "NETBOOT-OK $(cat /proc/cmdline)"
# Which firmware started us, so a test can tell a UEFI route from a BIOS fallback.
if [ -d /sys/firmware/efi ]; then echo "NETBOOT-FIRMWARE uefi"; else echo "NETBOOT-FIRMWARE bios"; fi
# No request_module helper in here: every module is loaded explicitly below.
echo /bin/true > /proc/sys/kernel/modprobe
for m in $(cat /lib/modules/load-order); do
    insmod /lib/modules/$m.ko 2>/dev/null
done
found=""
i=0
while [ -z "$found" ] && [ $i -lt 20 ]; do
    for dev in /dev/pmem* /dev/sr* /dev/sd* /dev/vd*; do
        [ -b "$dev" ] || continue
        for fs in iso9660 vfat; do
            if mount -r -t $fs "$dev" /mnt 2>/dev/null; then
                if [ -f /mnt/MARKERFILE ]; then
                    found="$(head -n1 /mnt/MARKERFILE)"
                    echo "NETBOOT-MARKER $found (on $dev, $fs)"
                fi
                umount /mnt
            fi
            [ -n "$found" ] && break 2
        done
    done
    [ -n "$found" ] && break
    i=$((i+1))
    sleep 0.5
done
[ -n "$found" ] || echo "NETBOOT-NO-MARKER"
echo "NETBOOT-DEVICES $(cd /dev && echo pmem* sr* sd* vd*)"
# netboot.booted=URL: report in as a booted OS does (DHCP on eth0, then GET URL).
booted=""
for w in $(cat /proc/cmdline); do
    case "$w" in netboot.booted=*) booted="${w#netboot.booted=}" ;; esac
done
if [ -n "$booted" ]; then
    printf '#!/bin/busybox sh\n[ "$1" = bound ] && ip addr add "$ip/${mask:-24}" dev "$interface"\nexit 0\n' >/tmp/udhcpc.sh
    chmod 755 /tmp/udhcpc.sh
    ip link set eth0 up
    if udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/udhcpc.sh >/dev/null 2>&1 &&
        reply="$(wget -q -O - "$booted")"; then
        echo "NETBOOT-BOOTED-REPORTED $reply"
    else
        echo "NETBOOT-BOOTED-FAILED"
    fi
fi
sync
poweroff -f
""".replace("MARKERFILE", MARKER_FILE)


@dataclass
class Guest:
    dir: Path
    kernel: Path
    initrd: Path
    cmdline: str
    efi_kernel: Path
    iso: Path
    gpt_img: Path
    token_iso: str
    token_gpt: str
    kernel_version: str


def kernel_version() -> str:
    """The newest installed kernel that has both /boot/vmlinuz-V and modules."""
    vers = [p.name[len("vmlinuz-"):] for p in Path("/boot").glob("vmlinuz-*")]
    vers = [v for v in vers if (Path("/lib/modules") / v / "modules.dep").exists()]
    if not vers:
        raise RuntimeError("no kernel in /boot with modules: apt-get install linux-image-amd64")

    def key(v):
        return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", v)]
    return sorted(vers, key=key)[-1]


def _run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 300)
    try:
        return subprocess.run([str(c) for c in cmd], **kw)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({e.returncode}):\n"
                           f"{e.stdout.decode(errors='replace')}{e.stderr.decode(errors='replace')}")


# -- initramfs ---------------------------------------------------------------

def module_load_order(kver: str, wanted=MODULES):
    """Module paths (relative to /lib/modules/kver), dependencies before users."""
    base = Path("/lib/modules") / kver
    deps = {}
    for line in (base / "modules.dep").read_text().splitlines():
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
    by_name = {Path(m).name.split(".ko")[0].replace("-", "_"): m for m in deps}
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        # modules.dep lists every (transitive) dependency; visit them first.
        for d in reversed(deps.get(path, [])):
            visit(d)
        order.append(path)

    for name in wanted:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            raise RuntimeError(f"module {name} not found for kernel {kver}")
        visit(path)
    return order


class Cpio:
    """newc writer: root-owned entries regardless of who builds, fixed mtimes."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name_b)
        self.buf.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, stat.S_IFCHR | 0o600, 0, 0, 1, 0, 0, 0, 0, major, minor, len(name_b), 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name_b)
        self.buf.write(b"\0" * (-(110 + len(name_b)) % 4))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, nlink=1)
        data = self.buf.getvalue()
        return data + b"\0" * (-len(data) % 512)


def build_initrd(kver: str, out: Path):
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "mnt", "tmp", "lib", "lib/modules"):
        c.dir(d)
    # /dev/console before devtmpfs, so the kernel can open it for /init's stdio.
    c.chardev("dev/console", 5, 1)
    c.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.encode(), 0o755)
    base = Path("/lib/modules") / kver
    names = []
    for rel in module_load_order(kver):
        src = base / rel
        data = src.read_bytes()
        # Debian 12 ships plain .ko; decompress here if a later kernel uses .ko.xz/.zst,
        # since busybox insmod only loads what the kernel accepts uncompressed.
        if rel.endswith(".xz"):
            import lzma
            data = lzma.decompress(data)
        elif rel.endswith(".zst"):
            data = _run(["zstd", "-dc", src]).stdout
        name = Path(rel).name.split(".ko")[0]
        c.file(f"lib/modules/{name}.ko", data)
        names.append(name)
    c.file("lib/modules/load-order", ("\n".join(names) + "\n").encode())
    out.write_bytes(gzip.compress(c.finish(), compresslevel=9, mtime=0))


# -- single-file EFI kernel ---------------------------------------------------

def pe_layout(path: Path):
    """(image_base, section_alignment, end_rva) where end_rva is the end of the last
    section by VIRTUAL size: systemd 252's stub has raw sizes that overlap the next
    section (TESTBED.md), so added sections must go after this."""
    d = path.read_bytes()
    pe = struct.unpack_from("<I", d, 0x3C)[0]
    if d[pe:pe + 4] != b"PE\0\0":
        raise RuntimeError(f"{path}: not a PE file")
    nsec = struct.unpack_from("<H", d, pe + 6)[0]
    opt_size = struct.unpack_from("<H", d, pe + 20)[0]
    opt = pe + 24
    magic = struct.unpack_from("<H", d, opt)[0]
    if magic != 0x20B:
        raise RuntimeError(f"{path}: not PE32+")
    image_base = struct.unpack_from("<Q", d, opt + 24)[0]
    sect_align = struct.unpack_from("<I", d, opt + 32)[0]
    end = 0
    for i in range(nsec):
        s = opt + opt_size + 40 * i
        vsize, vaddr = struct.unpack_from("<II", d, s + 8)
        end = max(end, vaddr + vsize)
    return image_base, sect_align, end


def build_efi_kernel(kernel: Path, initrd: Path, cmdline: str, out: Path, work: Path,
                     stub: Path = STUB, objcopy: str = "objcopy"):
    """A UKI: systemd-stub with kernel, initrd and command line as sections. For
    arm64, systemd's arm64 stub and binutils-aarch64-linux-gnu's objcopy (the
    host's objcopy has no pei-aarch64-little)."""
    base, align, end = pe_layout(stub)
    page = max(align, 4096)

    def up(x):
        return (x + page - 1) // page * page

    osrel = work / "osrel"
    osrel.write_text('ID=netboot-test\nNAME="netbootd test guest"\n')
    cmd_f = work / "cmdline"
    cmd_f.write_bytes(cmdline.encode() + b"\0")
    args = [objcopy]
    vma = up(end)
    for name, f in ((".osrel", osrel), (".cmdline", cmd_f), (".linux", kernel), (".initrd", initrd)):
        args += ["--add-section", f"{name}={f}", "--change-section-vma", f"{name}={base + vma:#x}"]
        vma = up(vma + f.stat().st_size)
    _run(args + [stub, out])


# -- ISO ------------------------------------------------------------------------

GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set timeout_style=hidden
menuentry "netboot-test" {{
    linux /boot/vmlinuz {cmdline}
    initrd /boot/initrd.gz
}}
"""


def build_iso(kernel: Path, initrd: Path, cmdline: str, token: str, out: Path, work: Path):
    root = work / "isoroot"
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copyfile(kernel, root / "boot" / "vmlinuz")
    shutil.copyfile(initrd, root / "boot" / "initrd.gz")
    (root / "boot" / "grub" / "grub.cfg").write_text(GRUB_CFG.format(cmdline=cmdline))
    (root / MARKER_FILE).write_text(token + "\n")
    # grub-mkrescue: BIOS El Torito (i386-pc), UEFI El Torito + GPT ESP (x86_64-efi),
    # and an isohybrid MBR, so the same file boots as a CD or a disk under both.
    # The size must be a multiple of 4096 (EDK2 RamDiskDxe picks its block size
    # from the size; TESTBED.md). Padding more keeps the backup GPT at the very end
    # (xorriso writes it after the padding), unlike appending zeros afterwards.
    for pad in ("300k", "302k"):
        _run(["grub-mkrescue", "-o", out, root, "--", "-volid", "NETBOOTTEST", "-padding", pad],
             env={**os.environ, "SOURCE_DATE_EPOCH": "0"})
        if out.stat().st_size % 4096 == 0:
            return
    raise RuntimeError(f"{out}: size {out.stat().st_size} is not a multiple of 4096")


# -- GPT disk image ------------------------------------------------------------

ESP_TYPE = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")


def write_gpt(path: Path, total_bytes: int, first_lba: int, last_lba: int, name="ESP"):
    """A GPT (UEFI 2.10 section 5.3) with one ESP spanning [first_lba, last_lba],
    written in Python so no partitioning tool (fdisk/sgdisk) is needed."""
    sectors = total_bytes // 512
    n_entries, entry_size = 128, 128
    entry_lbas = n_entries * entry_size // 512          # 32
    disk_guid = uuid.uuid4()
    part_guid = uuid.uuid4()
    entry = struct.pack("<16s16sQQQ72s", ESP_TYPE.bytes_le, part_guid.bytes_le, first_lba, last_lba,
                        0, name.encode("utf-16-le"))
    entries = entry + b"\0" * (n_entries * entry_size - len(entry))
    entries_crc = zlib.crc32(entries)
    first_usable = 2 + entry_lbas
    last_usable = sectors - 2 - entry_lbas
    assert first_usable <= first_lba <= last_lba <= last_usable

    def header(my_lba, alt_lba, entries_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, my_lba, alt_lba,
                        first_usable, last_usable, disk_guid.bytes_le, entries_lba,
                        n_entries, entry_size, entries_crc)
        h = h[:16] + struct.pack("<I", zlib.crc32(h)) + h[20:]
        return h + b"\0" * (512 - len(h))

    # Protective MBR: one 0xEE partition covering the disk (capped at 2^32-1 sectors).
    mbr = bytearray(512)
    size_lba = min(sectors - 1, 0xFFFFFFFF)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1, size_lba)
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(bytes(mbr))
        f.write(header(1, sectors - 1, 2))
        f.write(entries)
        f.seek((sectors - 1 - entry_lbas) * 512)
        f.write(entries)
        f.write(header(sectors - 1, 1, sectors - 1 - entry_lbas))


def build_gpt(efi_kernel: Path, token: str, out: Path, boot_name: str = "BOOTX64.EFI"):
    """A GPT disk whose one partition is a FAT16 ESP holding efi_kernel as
    \\EFI\\BOOT\\<boot_name> (BOOTAA64.EFI for ARM64) and the marker file."""
    mib = 1024 * 1024
    # FAT16 needs a few MiB; leave room for the kernel and the FAT itself.
    esp_mib = max(16, (efi_kernel.stat().st_size * 12 // 10) // mib + 4)
    start = 2048  # sectors: 1 MiB alignment
    esp_sectors = esp_mib * mib // 512
    total = (start + esp_sectors) * 512 + mib  # 1 MiB tail for the backup GPT
    assert total % 4096 == 0  # RamDiskDxe block size (TESTBED.md)
    with open(out, "wb") as f:
        f.truncate(total)
    write_gpt(out, total, start, start + esp_sectors - 1)
    _run(["mkfs.vfat", "-F", "16", "-n", "NBDESP", "--offset", str(start), out, str(esp_sectors // 2)])
    img = f"{out}@@{start * 512}"
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    _run(["mmd", "-i", img, "::/EFI", "::/EFI/BOOT"], env=env)
    _run(["mcopy", "-i", img, efi_kernel, f"::/EFI/BOOT/{boot_name}"], env=env)
    marker = out.parent / "gpt-marker.txt"
    marker.write_text(token + "\n")
    _run(["mcopy", "-i", img, marker, f"::/{MARKER_FILE}"], env=env)
    marker.unlink()


# -- cache ---------------------------------------------------------------------

def cache_key(kver: str) -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    # The inputs from Debian packages: a package update (same kernel ABI string,
    # new build) changes size or mtime, so it rebuilds too.
    for p in (STUB, BUSYBOX, Path(f"/boot/vmlinuz-{kver}"), Path(f"/lib/modules/{kver}/modules.dep")):
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{kver}-{h.hexdigest()[:12]}"


def _load(d: Path) -> Guest:
    meta = json.loads((d / "guest.json").read_text())
    return Guest(dir=d, kernel=d / "vmlinuz", initrd=d / "initrd.gz", cmdline=meta["cmdline"],
                 efi_kernel=d / "linux.efi", iso=d / "netboot-test.iso", gpt_img=d / "netboot-test-gpt.img",
                 token_iso=meta["token_iso"], token_gpt=meta["token_gpt"], kernel_version=meta["kernel_version"])


def build(dest: Path, kver: str):
    work = Path(tempfile.mkdtemp(prefix="build-", dir=dest.parent))
    try:
        out = work / "out"
        out.mkdir()
        cmdline = CMDLINE_BASE
        token_iso = "iso-" + secrets.token_hex(8)
        token_gpt = "gpt-" + secrets.token_hex(8)
        shutil.copyfile(f"/boot/vmlinuz-{kver}", out / "vmlinuz")
        build_initrd(kver, out / "initrd.gz")
        build_efi_kernel(out / "vmlinuz", out / "initrd.gz", cmdline, out / "linux.efi", work)
        build_iso(out / "vmlinuz", out / "initrd.gz", cmdline, token_iso, out / "netboot-test.iso", work)
        build_gpt(out / "linux.efi", token_gpt, out / "netboot-test-gpt.img")
        (out / "guest.json").write_text(json.dumps({
            "cmdline": cmdline, "token_iso": token_iso, "token_gpt": token_gpt,
            "kernel_version": kver}, indent=1) + "\n")
        for p in out.iterdir():
            p.chmod(0o644)   # read-only use by everyone; VMs attach them snapshot/readonly
        os.rename(out, dest)  # atomic publish
    finally:
        shutil.rmtree(work, ignore_errors=True)


_cached = None


def _prune(keep: Path, max_age_s=6 * 3600):
    """Drop builds of older builder versions, once nobody can still be using them
    (a test run holds its images for minutes, not hours)."""
    now = time.time()
    for d in CACHE.iterdir():
        if d == keep or not d.is_dir():
            continue
        try:
            age = now - d.stat().st_mtime
        except OSError:
            continue
        if age > max_age_s:
            shutil.rmtree(d, ignore_errors=True)


def guest() -> Guest:
    """Build (once per cache key) and return the guest images."""
    global _cached
    if _cached is not None:
        return _cached
    kver = kernel_version()
    CACHE.mkdir(parents=True, exist_ok=True)
    dest = CACHE / cache_key(kver)
    if not (dest / "guest.json").exists():
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (dest / "guest.json").exists():
                build(dest, kver)
                _prune(dest)
    _cached = _load(dest)
    return _cached


if __name__ == "__main__":
    g = guest()
    for k, v in g.__dict__.items():
        print(f"{k}: {v}")
