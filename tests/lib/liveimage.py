"""A real Debian live ISO, made by Debian's own tools, for the end-to-end tests.

    from liveimage import live_iso
    li = live_iso()       # built once, cached in build/live/<key>/
    li.iso                # hybrid BIOS/UEFI ISO 9660 image (grub-mkrescue)
    li.token              # printed by the booted system's own getty (/etc/issue)

What is inside is what Debian's live-boot expects, as live-build lays it out:
`live/vmlinuz-VERSION`, `live/initrd.img-VERSION` (initramfs-tools with the
live-boot hooks, MODULES=most) and `live/filesystem.squashfs` (the root file
system: debootstrap minbase + linux-image-amd64 + live-boot + systemd-sysv).
Its own `boot/grub/grub.cfg` says `boot=live components console=ttyS0`, as a
live ISO's boot menu does. Nothing of ours runs inside: live-boot finds its
root (from the CD, or over the network with `fetch=`), systemd starts a getty
on ttyS0, and the getty prints /etc/issue, which holds the token, then
`netbootd-live login:`. Seeing that line means the distribution's own
userland came up from the image's own root file system.

The cache key is a hash of this file and of the package versions the mirror
offers (apt-cache policy), so an edit or a Debian update rebuilds. Workers
serialise on a lock; the finished directory is published by a rename.
"""
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NBD_LIVE_CACHE", REPO / "build" / "live"))
SUITE = "bookworm"
# minbase has no init, kernel or live-boot; these make a bootable live system.
PACKAGES = ["linux-image-amd64", "live-boot", "systemd-sysv", "busybox", "wget"]
HOSTNAME = "netbootd-live"
LOGIN_PROMPT = f"{HOSTNAME} login:"
ISSUE_PREFIX = "NETBOOTD-LIVE-ISSUE"
# What the image's own boot menu says (as a live ISO's grub.cfg does).
ISO_CMDLINE = "boot=live components console=ttyS0,115200 no_timer_check"


@dataclass
class LiveImage:
    dir: Path
    iso: Path
    token: str
    kernel_version: str
    squashfs_bytes: int

    @property
    def issue_line(self) -> str:
        return f"{ISSUE_PREFIX} {self.token}"


def mirror() -> str:
    """The Debian mirror this machine's apt uses (the only one we may reach)."""
    src = Path("/etc/apt/sources.list.d/debian.sources")
    if src.exists():
        for line in src.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    lst = Path("/etc/apt/sources.list")
    if lst.exists():
        for line in lst.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and SUITE in parts[2]:
                return parts[1]
    return "http://deb.debian.org/debian"


def _run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r.stdout


def _versions() -> str:
    out = subprocess.run(["apt-cache", "policy", *PACKAGES], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return "\n".join(l.strip() for l in out.splitlines() if "Candidate" in l)


def cache_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(_versions().encode())
    return h.hexdigest()[:16]


def _rootfs(root: Path, debs: Path, token: str):
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
          f"--cache-dir={debs}", SUITE, str(root), mirror()], timeout=1800)
    (root / "etc/hostname").write_text(HOSTNAME + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {HOSTNAME}\n")
    # getty prints /etc/issue before its prompt: the token proves the prompt
    # comes from this image's root file system, not from anything of ours.
    (root / "etc/issue").write_text(f"{ISSUE_PREFIX} {token}\n\n")
    (root / "etc/machine-id").write_text("")
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    for p in (root / "var/lib/apt/lists").glob("*_*"):
        p.unlink()


def build(dest: Path):
    work = Path(tempfile.mkdtemp(prefix="build-", dir=dest.parent))
    try:
        token = "live-" + secrets.token_hex(8)
        root = work / "root"
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        _rootfs(root, debs, token)
        kvers = sorted(p.name[len("vmlinuz-"):] for p in (root / "boot").glob("vmlinuz-*"))
        if not kvers:
            raise RuntimeError("debootstrap installed no kernel")
        kver = kvers[-1]
        iso_tree = work / "iso"
        live = iso_tree / "live"
        live.mkdir(parents=True)
        shutil.copyfile(root / f"boot/vmlinuz-{kver}", live / f"vmlinuz-{kver}")
        shutil.copyfile(root / f"boot/initrd.img-{kver}", live / f"initrd.img-{kver}")
        _run(["mksquashfs", str(root), str(live / "filesystem.squashfs"), "-noappend",
              "-e", "boot", "-quiet"], timeout=1800)
        grub = iso_tree / "boot" / "grub"
        grub.mkdir(parents=True)
        (grub / "grub.cfg").write_text(
            "set timeout=1\nset default=0\n"
            "serial --unit=0 --speed=115200\nterminal_input console serial\n"
            "terminal_output console serial\n\n"
            'menuentry "Debian GNU/Linux Live (netbootd test)" {\n'
            f"\tlinux /live/vmlinuz-{kver} {ISO_CMDLINE}\n"
            f"\tinitrd /live/initrd.img-{kver}\n}}\n")
        (iso_tree / ".disk").mkdir()
        (iso_tree / ".disk/info").write_text(f"Debian GNU/Linux 12 live (netbootd test) {token}\n")
        out = work / "out"
        out.mkdir()
        _run(["grub-mkrescue", "-o", str(out / "debian-live.iso"), str(iso_tree),
              "--", "-volid", "d-live nbd amd64"], timeout=900)
        (out / "live.json").write_text(json.dumps({
            "token": token, "kernel_version": kver,
            "squashfs_bytes": (live / "filesystem.squashfs").stat().st_size}, indent=1) + "\n")
        for p in out.iterdir():
            p.chmod(0o644)
        os.rename(out, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


_cached = None


def live_iso() -> LiveImage:
    """Build (once per cache key) and return the Debian live ISO."""
    global _cached
    if _cached is not None:
        return _cached
    CACHE.mkdir(parents=True, exist_ok=True)
    dest = CACHE / cache_key()
    if not (dest / "live.json").exists():
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (dest / "live.json").exists():
                build(dest)
                for d in CACHE.iterdir():
                    if d.is_dir() and d != dest and d.name != "debs":
                        shutil.rmtree(d, ignore_errors=True)
    meta = json.loads((dest / "live.json").read_text())
    _cached = LiveImage(dir=dest, iso=dest / "debian-live.iso", token=meta["token"],
                        kernel_version=meta["kernel_version"], squashfs_bytes=meta["squashfs_bytes"])
    return _cached


if __name__ == "__main__":
    li = live_iso()
    for k, v in li.__dict__.items():
        print(f"{k}: {v}")
