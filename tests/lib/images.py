"""Disk-image layouts for the imgboot.efi tests, built without loop mounts.

    from images import layout, launcher_disk, fallback_iso, corrupt_image
    img, token = layout("gpt")        # gpt | mbr | fat | eltorito | hybrid
    disk = launcher_disk(tmp, {"EFI/BOOT/BOOTX64.EFI": IMGBOOT, "disk.img": img,
                               "EFI/BOOT/imgboot.cfg": "url=disk.img\\n"})

Every layout holds the same tiny boot loader, efi/imgboot/marker.efi, as
\\EFI\\BOOT\\BOOTX64.EFI, and a \\marker.txt with the layout's token: marker.efi
reads that file from its own device (LoadedImage->DeviceHandle, as shim and
GRUB do) and prints `NETBOOT-MARKER <token>`, so a marker proves that imgboot
exposed the image as a disk, found its file system, and started the loader by
device path. Booting marker.efi takes about a second under TCG; the Linux
guests (tests/lib/guests.py) are used where the booted OS itself matters.

Layouts are cached under build/imgboot-images/<hash of this file + marker.efi>/,
published by an atomic rename, so parallel pytest workers share them. Tools:
mkfs.vfat and mtools (dosfstools, mtools), xorriso; partition tables are written
in Python (guests.write_gpt, and the MBR below).
"""
import fcntl
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from guests import write_gpt

REPO = Path(__file__).resolve().parents[2]
EFI_DIR = REPO / "efi" / "imgboot"
IMGBOOT = EFI_DIR / "imgboot.efi"
MARKER_EFI = EFI_DIR / "marker.efi"
CACHE = Path(os.environ.get("NBD_IMGBOOT_CACHE", REPO / "build" / "imgboot-images"))
LAYOUTS = ("gpt", "mbr", "fat", "eltorito", "hybrid")
MIB = 1024 * 1024
MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}


def _run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _mcopy(img: str, files: dict, work: Path):
    """Copy {dest path: Path or str/bytes content} into the FAT at img (mtools syntax)."""
    with tempfile.TemporaryDirectory(dir=work) as t:
        _mcopy_in(img, files, Path(t))


def _mcopy_in(img: str, files: dict, work: Path):
    made = set()
    for dest, src in sorted(files.items()):
        parts = dest.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                _run(["mmd", "-i", img, f"::/{d}"], env=MTOOLS_ENV)
                made.add(d)
        if not isinstance(src, Path):
            tmp = work / ("content-" + hashlib.sha256(dest.encode()).hexdigest()[:8])
            tmp.write_bytes(src.encode() if isinstance(src, str) else src)
            src = tmp
        _run(["mcopy", "-i", img, src, f"::/{dest.strip('/')}"], env=MTOOLS_ENV)


def _files_size(files: dict) -> int:
    n = 0
    for src in files.values():
        n += src.stat().st_size if isinstance(src, Path) else len(src)
    return n


def fat_image(out: Path, files: dict, size_mib: int = None, label="IMGBOOT"):
    """A bare FAT file system (a 'superfloppy') holding files."""
    size_mib = size_mib or max(4, _files_size(files) * 12 // 10 // MIB + 3)
    if out.exists():
        out.unlink()
    _run(["mkfs.vfat", "-C", "-n", label, out, size_mib * 1024])
    _mcopy(str(out), files, out.parent)


def gpt_disk(out: Path, files: dict, size_mib: int = None):
    """A GPT disk whose single partition is an ESP holding files."""
    esp_mib = size_mib or max(4, _files_size(files) * 12 // 10 // MIB + 3)
    start = 2048
    esp_sectors = esp_mib * MIB // 512
    total = (start + esp_sectors) * 512 + MIB
    with open(out, "wb") as f:
        f.truncate(total)
    write_gpt(out, total, start, start + esp_sectors - 1)
    _run(["mkfs.vfat", "-n", "IMGBOOT", "--offset", start, out, esp_sectors // 2])
    _mcopy(f"{out}@@{start * 512}", files, out.parent)


def mbr_disk(out: Path, files: dict, size_mib: int = None):
    """An MBR (DOS) disk with one EFI System partition (type 0xEF) holding files."""
    part_mib = size_mib or max(4, _files_size(files) * 12 // 10 // MIB + 3)
    start = 2048
    sectors = part_mib * MIB // 512
    total = (start + sectors) * 512
    with open(out, "wb") as f:
        f.truncate(total)
        mbr = bytearray(512)
        # status, CHS first (unused: LBA only), type, CHS last, LBA start, sectors
        mbr[446:462] = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0xEF, b"\xfe\xff\xff",
                                   start, sectors)
        mbr[440:444] = os.urandom(4)  # disk signature
        mbr[510:512] = b"\x55\xaa"
        f.seek(0)
        f.write(bytes(mbr))
    _run(["mkfs.vfat", "-n", "IMGBOOT", "--offset", start, out, sectors // 2])
    _mcopy(f"{out}@@{start * 512}", files, out.parent)


def iso_image(out: Path, files: dict, esp_files: dict, hybrid: bool, work: Path):
    """An ISO 9660 image whose El Torito UEFI entry is a FAT image with esp_files.
    hybrid: the same FAT image is also appended as a GPT partition (the layout of
    distribution ISOs and grub-mkrescue), so the file also boots as a disk."""
    root = work / "isoroot"
    root.mkdir(parents=True)
    for dest, src in files.items():
        p = root / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copyfile(src, p)
        else:
            p.write_bytes(src.encode() if isinstance(src, str) else src)
    efi = work / "efiboot.img"
    fat_image(efi, esp_files, size_mib=2, label="ESP")
    cmd = ["xorriso", "-as", "mkisofs", "-o", out, "-V", "IMGBOOT", "-R", "-J"]
    if hybrid:
        cmd += ["-append_partition", "2", "0xef", efi, "-appended_part_as_gpt",
                "-e", "--interval:appended_partition_2:all::", "-no-emul-boot"]
    else:
        shutil.copyfile(efi, root / "efiboot.img")
        cmd += ["-e", "efiboot.img", "-no-emul-boot"]
    cmd += [root]
    _run(cmd, env={**os.environ, "SOURCE_DATE_EPOCH": "0"})


def _key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(MARKER_EFI.read_bytes())
    return h.hexdigest()[:12]


def _build_all(dest: Path):
    work = Path(tempfile.mkdtemp(prefix="build-", dir=dest.parent))
    try:
        out = work / "out"
        out.mkdir()
        for kind in LAYOUTS:
            token = f"imgboot-{kind}-{_key()}"
            esp = {"EFI/BOOT/BOOTX64.EFI": MARKER_EFI, "marker.txt": token + "\n"}
            kw = work / kind
            kw.mkdir()
            path = out / f"{kind}.{'iso' if kind in ('eltorito', 'hybrid') else 'img'}"
            if kind == "gpt":
                gpt_disk(path, esp)
            elif kind == "mbr":
                mbr_disk(path, esp)
            elif kind == "fat":
                fat_image(path, esp)
            else:
                iso_image(path, {"marker.txt": token + "\n", "README.txt": "imgboot test\n"},
                          esp, hybrid=(kind == "hybrid"), work=kw)
            (out / f"{kind}.token").write_text(token + "\n")
        # The next boot option of the failure tests: proves imgboot returned
        # to the firmware and the boot manager carried on.
        fb_token = "imgboot-fallback-" + _key()
        iso_image(out / "fallback.iso", {"marker.txt": fb_token + "\n"},
                  {"EFI/BOOT/BOOTX64.EFI": MARKER_EFI, "marker.txt": fb_token + "\n"},
                  hybrid=False, work=work / "fb")
        (out / "fallback.token").write_text(fb_token + "\n")
        # Corrupt: the start of a GPT disk (valid signatures) whose ESP holds
        # garbage instead of a FAT file system: no bootable file system.
        gpt = (out / "gpt.img").read_bytes()
        corrupt = bytearray(gpt)
        corrupt[2048 * 512:] = os.urandom(len(corrupt) - 2048 * 512)
        (out / "corrupt-gpt.img").write_bytes(bytes(corrupt))
        # Garbage from byte 0: no partition table or file system signature at all.
        (out / "garbage.img").write_bytes(os.urandom(1 * MIB))
        for p in out.iterdir():
            p.chmod(0o644)
        os.rename(out, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def images_dir() -> Path:
    if not MARKER_EFI.exists():
        raise RuntimeError(f"{MARKER_EFI} missing: run `make efi`")
    CACHE.mkdir(parents=True, exist_ok=True)
    dest = CACHE / _key()
    if not (dest / "fallback.token").exists():
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (dest / "fallback.token").exists():
                _build_all(dest)
    return dest


def layout(kind: str):
    """(path, token) of a cached test image of the given layout."""
    if kind not in LAYOUTS:
        raise ValueError(kind)
    d = images_dir()
    name = f"{kind}.{'iso' if kind in ('eltorito', 'hybrid') else 'img'}"
    return d / name, (d / f"{kind}.token").read_text().strip()


def fallback_iso():
    d = images_dir()
    return d / "fallback.iso", (d / "fallback.token").read_text().strip()


def corrupt_image(kind="gpt"):
    d = images_dir()
    return d / ("corrupt-gpt.img" if kind == "gpt" else "garbage.img")


def launcher_disk(out: Path, files: dict, size_mib: int = None) -> Path:
    """A GPT disk with an ESP holding files, e.g. imgboot.efi as BOOTX64.EFI, an
    imgboot.cfg and the image: what the firmware boots first in local tests."""
    gpt_disk(out, files, size_mib)
    return out
