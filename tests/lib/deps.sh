#!/bin/sh
# The Debian 12 packages that netbootd's build, tests, benchmarks and demo need.
#   deps.sh check     exit 0 when every package is installed
#   deps.sh install   install what is missing (idempotent; needs root)
set -eu

PACKAGES="
build-essential pkg-config git
libevent-dev libssl-dev libinih-dev libcmocka-dev
clang libclang-rt-14-dev
python3 python3-pytest python3-pytest-xdist
qemu-system-x86 ovmf ipxe ipxe-qemu qemu-system-arm qemu-efi-aarch64
pxelinux syslinux-common syslinux-utils
grub-efi-amd64-bin grub-pc-bin grub-common grub-efi-amd64-signed
gnu-efi mtools dosfstools xorriso cpio kmod
busybox-static linux-image-amd64 systemd-boot-efi
curl tftp-hpa atftp kea-admin kea-dhcp4-server dnsmasq-base
tftpd-hpa nginx-light wrk openssl iproute2 procps radvd
chromium
debootstrap squashfs-tools debian-installer-12-netboot-amd64 debian-installer-12-netboot-arm64
debhelper lintian fakeroot systemd systemd-container util-linux
binutils-aarch64-linux-gnu gcc-aarch64-linux-gnu
"

# shim-signed is fetched, not installed: on a machine booted by UEFI its
# postinst runs grub-install on the host's own ESP. The Secure Boot tests only
# need its signed shimx64.efi, unpacked here (tests/e2e/test_boot_secure_boot.py).
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHIM="$REPO/build/deps/shimx64.efi.signed"

fetch_shim() {
	[ -f "$SHIM" ] && return 0
	t=$(mktemp -d)
	chown _apt "$t" 2>/dev/null || true # apt-get download writes as _apt
	(cd "$t" && apt-get download -q shim-signed >/dev/null &&
	 dpkg-deb -x shim-signed_*.deb x) || { rm -rf "$t"; return 1; }
	mkdir -p "$(dirname "$SHIM")"
	cp "$t/x/usr/lib/shim/shimx64.efi.signed" "$SHIM.tmp" && mv "$SHIM.tmp" "$SHIM"
	rc=$?
	rm -rf "$t"
	return $rc
}

# Files from arm64 packages for the ARM64 tests (tests/e2e/test_boot_arm64.py):
# apt on an amd64 machine does not list arm64 packages, so the .deb of the
# version apt has for the amd64 twin is fetched from the same mirror by its
# pool path, and only the part needed is kept:
#   systemd's arm64 EFI stub (systemd-boot-efi), for a UKI;
#   GRUB's arm64-efi modules (grub-efi-arm64-bin), for arm64-grub-dir;
#   gnu-efi's aarch64 headers and libraries, for imgboot.efi on ARM64.
STUB_ARM64="$REPO/build/deps/linuxaa64.efi.stub"
GRUB_ARM64="$REPO/build/deps/grub-arm64-efi"
GNUEFI_ARM64="$REPO/build/deps/gnu-efi-arm64"

# fetch_arm64 AMD64_PKG ARM64_PKG PATH_IN_PACKAGE DEST
fetch_arm64() {
	[ -e "$4" ] && return 0
	t=$(mktemp -d)
	rc=1
	for f in $(apt-cache show "$1" | sed -n 's/^Filename: //p'); do
		case "$f" in
		pool/updates/*) base=http://deb.debian.org/debian-security ;;
		*) base=http://deb.debian.org/debian ;;
		esac
		f=$(echo "$f" | sed "s|/$1_\\([^/]*\\)_amd64\\.deb\$|/$2_\\1_arm64.deb|")
		if curl -sSf -o "$t/p.deb" "$base/$f" && dpkg-deb -x "$t/p.deb" "$t/x"; then
			mkdir -p "$(dirname "$4")" && rm -rf "$4.tmp" &&
				cp -r "$t/x/$3" "$4.tmp" && mv "$4.tmp" "$4" && rc=0
			break
		fi
	done
	rm -rf "$t"
	[ $rc -eq 0 ] || echo "deps.sh: cannot fetch $2 (arm64) from the mirror" >&2
	return $rc
}

fetch_stub_arm64() {
	fetch_arm64 systemd-boot-efi systemd-boot-efi usr/lib/systemd/boot/efi/linuxaa64.efi.stub "$STUB_ARM64"
}

fetch_grub_arm64() {
	fetch_arm64 grub-efi-amd64-bin grub-efi-arm64-bin usr/lib/grub/arm64-efi "$GRUB_ARM64"
}

# gnu-efi's aarch64 headers, crt0, linker script and libraries: imgboot.efi
# for ARM64 is cross-built against them (efi/imgboot, ARCH=aarch64).
fetch_gnuefi_arm64() {
	fetch_arm64 gnu-efi gnu-efi usr "$GNUEFI_ARM64"
}

missing() {
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

case "${1:-check}" in
check)
	m=$(missing)
	if [ -n "$m" ]; then
		echo "missing packages:" $m >&2
		exit 1
	fi
	if [ ! -f "$SHIM" ]; then
		echo "missing: $SHIM (from the shim-signed package)" >&2
		exit 1
	fi
	if [ ! -f "$STUB_ARM64" ]; then
		echo "missing: $STUB_ARM64 (from systemd-boot-efi for arm64)" >&2
		exit 1
	fi
	if [ ! -f "$GRUB_ARM64/kernel.img" ]; then
		echo "missing: $GRUB_ARM64 (from grub-efi-arm64-bin)" >&2
		exit 1
	fi
	if [ ! -f "$GNUEFI_ARM64/lib/crt0-efi-aarch64.o" ]; then
		echo "missing: $GNUEFI_ARM64 (from gnu-efi for arm64)" >&2
		exit 1
	fi
	;;
install)
	m=$(missing)
	if [ -z "$m" ]; then
		fetch_shim || { apt-get update -q && fetch_shim; } || exit $?
		fetch_stub_arm64 && fetch_grub_arm64 && fetch_gnuefi_arm64
		exit $?
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: installing packages needs root: apt-get install" $m >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# tftpd-hpa and nginx are only peers for the benchmarks, radvd the IPv6
	# tests' router: keep their services from starting on install
	# (policy-rc.d), we start them ourselves.
	own_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	rc=0
	apt-get install -y -q --no-install-recommends $m || rc=$?
	[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] && { fetch_shim || rc=$?; }
	[ $rc -eq 0 ] && { fetch_stub_arm64 || rc=$?; }
	[ $rc -eq 0 ] && { fetch_grub_arm64 || rc=$?; }
	[ $rc -eq 0 ] && { fetch_gnuefi_arm64 || rc=$?; }
	exit $rc
	;;
*)
	echo "usage: $0 check|install" >&2
	exit 2
	;;
esac
