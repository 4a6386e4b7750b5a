#!/usr/bin/python3
"""`make demo`: boot a virtual machine over the network through netbootd.

On a fresh Debian 12 machine (as root) it:
  1. installs the Debian packages that are missing (tests/lib/deps.sh),
  2. builds netbootd (make),
  3. builds the demo disk image: a real Debian 12 live ISO made by Debian's
     own tools (debootstrap + live-boot + grub-mkrescue, tests/lib/liveimage.py;
     a few minutes the first time, then cached in build/live/),
  4. starts `netbootd --image debian-live.iso` (quick mode, no config file)
     in a private network namespace, in proxyDHCP mode beside dnsmasq playing
     the LAN's router,
  5. boots a QEMU machine (SeaBIOS + iPXE ROM by default, --firmware uefi for
     OVMF) from the network: netbootd recognises the live ISO and boots it by
     method direct (its own kernel and initrd out of the ISO, the root file
     system fetched over HTTP by live-boot),
  6. waits for the live system's own login prompt on the serial console,
     prints the machine's boot timeline (netbootd's /status.json) and exits 0.
`--kernel` runs the older, faster demo instead: a bare kernel + busybox
initramfs (tests/lib/guests.py) in quick kernel mode.
Everything it starts is torn down afterwards, also on failure or Ctrl-C.
"""
import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lib"))


def step(n, text):
    print(f"\n==> {n}. {text}", flush=True)


def ensure_packages():
    deps = REPO / "tests" / "lib" / "deps.sh"
    if subprocess.run([str(deps), "check"], capture_output=True).returncode == 0:
        print("all packages present")
        return
    subprocess.run([str(deps), "install"], check=True)


def build():
    subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "netbootd"], check=True)


def print_timeline(status, mac):
    for m in status["machines"]:
        if m["mac"] != mac:
            continue
        arch = f" {m['arch_name']}" if m.get("arch_name") else ""
        print(f"machine {m['mac']}  ip {m['ip'] or '-'}  firmware {m['firmware']}{arch}  "
              f"profile {m['profile'] or '-'}  state {m['state']}")
        print(f"  {m['files']} files, {m['bytes']} bytes, {m['elapsed_ms'] / 1000:.1f} s "
              f"from the first DHCP answer to the hand-off")
        for e in m["events"]:
            t = f"+{e['t_ms'] / 1000:6.2f}s"
            if e["type"] == "dhcp":
                print(f"  {t}  DHCP  answer  {e['offer']}")
            else:
                note = "" if e["complete"] else "  (incomplete)"
                print(f"  {t}  {e['type'].upper():5}       {e['path']}  {e['bytes']} bytes in "
                      f"{e['duration_ms'] / 1000:.2f} s{note}")
        return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", choices=("bios", "uefi"), default="bios",
                    help="the demo machine's firmware (default: bios, SeaBIOS + iPXE ROM)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds to wait for the guest")
    ap.add_argument("--kernel", action="store_true",
                    help="boot a bare kernel + initramfs instead of the live ISO (faster)")
    ap.add_argument("--skip-deps", action="store_true", help="do not check Debian packages")
    ap.add_argument("--skip-build", action="store_true",
                    help="do not run make (use $NETBOOTD or ./netbootd as it is)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo: needs root (network namespace, tap device, QEMU); run: sudo make demo")

    t0 = time.monotonic()
    step(1, "Debian packages")
    if not args.skip_deps:
        ensure_packages()
    step(2, "build netbootd")
    if not args.skip_build:
        build()
    from daemon import netbootd_binary
    print(f"netbootd binary: {netbootd_binary()}")
    from testbed import GUEST_OK_RE, Testbed
    if args.kernel:
        step(3, "build the demo guest (kernel + busybox initramfs)")
        from guests import guest
        g = guest()
        print(f"kernel {g.kernel} ({g.kernel.stat().st_size} bytes), initrd {g.initrd} "
              f"({g.initrd.stat().st_size} bytes)")
        token = "demo-" + secrets.token_hex(4)
        cmdline = f"{g.cmdline} netbootd.demo={token}"
        what = ["--kernel", g.kernel, "--initrd", g.initrd, "--cmdline", cmdline]
    else:
        step(3, "build the demo disk image (a Debian live ISO; cached after the first time)")
        from liveimage import live_iso
        li = live_iso()
        print(f"{li.iso} ({li.iso.stat().st_size >> 20} MiB): Debian live, kernel "
              f"{li.kernel_version}, squashfs {li.squashfs_bytes >> 20} MiB")
        what = ["--image", li.iso]
    with Testbed("demo") as tb:
        step(4, f"netbootd in quick mode in network namespace {tb.ns} ({tb.server_ip}/24)")
        tb.start_dnsmasq()
        print("dnsmasq hands out addresses like the LAN's router (no PXE options)")
        nb_args = what + ["--dhcp", "proxy", "--interface", tb.bridge,
                          "--tftp", f"{tb.server_ip}:69", "--http", f"{tb.server_ip}:80"]
        nb = tb.start_netbootd([str(a) for a in nb_args], timeout=60)
        print("netbootd " + " ".join(str(a) for a in nb_args))
        for line in nb.log().splitlines():
            if " image: " in line:
                print("  " + line)

        step(5, f"boot a QEMU machine ({args.firmware}) from the network")
        if args.kernel:
            vm = tb.vm(args.firmware)
            print(f"QEMU {vm.name}, MAC {vm.mac}; waiting for the guest (TCG: about a minute)")
            m = vm.wait_for_match(GUEST_OK_RE, timeout=args.timeout)
            seen = m.group(1).strip()
            if f"netbootd.demo={token}" not in seen:
                sys.exit(f"demo: the guest booted with an unexpected command line: {seen}")
            print(f"guest says: NETBOOT-OK {seen}")
        else:
            vm = tb.vm(args.firmware, memory_mb=1536)
            print(f"QEMU {vm.name}, MAC {vm.mac}, 1536 MiB; waiting for the live system's login "
                  f"prompt (TCG: one to two minutes)")
            vm.wait_for(li.issue_line, timeout=args.timeout)
            vm.wait_for(re.compile(r"netbootd-live login:"), timeout=120)
            print(f"the live system says: {li.issue_line}")
            print("                      netbootd-live login:")
            print(f"(its own getty on ttyS0, {vm.elapsed():.0f} s after power-on)")

        step(6, "the machine's boot timeline (from http://%s/status.json)" % tb.server_ip)
        summary = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not summary:
            hits = [l for l in nb.log().splitlines() if "handed off to the OS" in l and vm.mac in l]
            summary = hits[0] if hits else None
            time.sleep(0.2)
        r = tb.run(["curl", "-sS", "--max-time", "10", f"http://{tb.server_ip}/status.json"])
        if r.returncode != 0 or not print_timeline(json.loads(r.stdout), vm.mac):
            sys.exit(f"demo: no timeline for {vm.mac}: {r.stderr}")
        if summary:
            print("\nnetbootd's summary line:\n  " + summary)
        vm.stop()
    print(f"\ndemo OK: the machine booted over the network in {time.monotonic() - t0:.0f} s "
          f"(all of it torn down again)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("demo: interrupted (everything started was torn down)")
