#!/usr/bin/env bash
# Build the VFIO lab's guest: a Debian kernel and a busybox initramfs holding vpass (with every
# shared library it needs), pci.ids, the kernel modules of vfio, e1000e, e1000 and nvme, the
# static vfio_probe and the scenario script (tests/lab/init). See docs/vfio-lab.md.
#
# Usage: build_initramfs.sh
#   VPASS          the vpass binary to put in the guest (default: $VPASS_BUILD_DIR/src/vpass)
#   VPASS_LAB_OUT  where the guest goes (default: $VPASS_BUILD_DIR/vfio-lab, else build/vfio-lab)
#   VPASS_LAB_CACHE  the download cache (default: ${XDG_CACHE_HOME:-~/.cache}/vpass-lab)
# Writes $VPASS_LAB_OUT/kernel and $VPASS_LAB_OUT/initramfs.cpio (uncompressed: the guest has
# nothing to inflate, which saves seconds under TCG). The kernel and busybox packages are fetched
# with apt-get by name from the configured Debian archive and cached keyed on their versions;
# the initramfs is rebuilt only when one of its inputs changed.
#
# Exit codes: 0 built (or up to date), 77 cannot build here (a package cannot be fetched, a tool
# is missing: the message says which), 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build_dir=${VPASS_BUILD_DIR:-$top/build}
vpass=${VPASS:-$build_dir/src/vpass}
out=${VPASS_LAB_OUT:-$build_dir/vfio-lab}
cache=${VPASS_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpass-lab}
# The modules the guest loads (with their dependencies, in order).
modules=(vfio_pci vfio_iommu_type1 e1000e e1000 nvme)
# Bump when what a cached kernel directory holds changes.
kernel_format=2

say() { echo "vfio-lab: $*" >&2; }
skip() { say "cannot build the guest: $*"; exit 77; }

for tool in apt-get apt-cache dpkg dpkg-deb depmod modprobe cpio cc ldd sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$vpass" ] || { say "no vpass binary at $vpass (build it first)"; exit 1; }
[ -r /usr/share/misc/pci.ids ] || skip "/usr/share/misc/pci.ids is missing (package pciutils)"
mkdir -p "$cache" "$out"
# One builder at a time per cache (the gcc and sanitizer builds' tests may start together),
# and per output directory.
if command -v flock >/dev/null; then
  exec 8>"$cache/.lock" 9>"$out/.lock"
  flock 8
  flock 9
fi

# candidate NAME: the version apt would install, or nothing.
candidate() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true
}

# fetch NAME VERSION DIR: apt-get download NAME=VERSION into DIR (as _apt when possible).
fetch() {
  local name=$1 version=$2 dir=$3
  say "downloading $name $version"
  chmod 0777 "$dir" 2>/dev/null || true
  if ! (cd "$dir" && apt-get download -q "$name=$version" >"$dir/apt.log" 2>&1); then
    sed 's/^/  /' "$dir/apt.log" >&2
    return 1
  fi
}

# The kernel: the image package linux-image-amd64 depends on, at the candidate version.
meta_version=$(candidate linux-image-amd64)
kpkg='' kversion=''
if [ -n "$meta_version" ]; then
  kpkg=$(apt-cache show "linux-image-amd64=$meta_version" 2>/dev/null |
    sed -n 's/^Depends: *\(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
  kversion=$meta_version
fi
if [ -z "$kpkg" ]; then
  # No package lists (apt-get update never ran, or offline): use what the cache has.
  kdir=$(ls -d "$cache"/kernel-*/ 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$kdir" ] && [ "$(cat "$kdir/complete" 2>/dev/null)" = "$kernel_format" ] ||
    skip "apt knows no linux-image-amd64 (run apt-get update) and nothing is cached in $cache"
  kdir=${kdir%/}
  say "apt knows no linux-image-amd64: using the cached $(basename "$kdir")"
else
  kdir=$cache/kernel-$kpkg-${kversion//:/_}
fi

if [ "$(cat "$kdir/complete" 2>/dev/null)" != "$kernel_format" ]; then
  tmp=$(mktemp -d "$cache/.kernel.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  fetch "$kpkg" "$kversion" "$tmp" || skip "cannot download $kpkg $kversion"
  dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/root"
  kver=$(ls "$tmp/root/lib/modules")
  # The .deb has no modules.dep: make one, then ask modprobe for each module's dependencies.
  depmod -b "$tmp/root" "$kver"
  mkdir -p "$tmp/kernel/modules"
  cp "$tmp/root/boot/vmlinuz-$kver" "$tmp/kernel/vmlinuz"
  # The ELF kernel inside the bzImage (Debian's is xz-compressed), for QEMU's direct PVH boot:
  # under TCG, decompressing the bzImage alone takes seconds. Kept only when it has the PVH
  # entry note (XEN_ELFNOTE_PHYS32_ENTRY, 0x12); otherwise the guest boots the bzImage.
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp/kernel/vmlinuz" | head -n 1 | cut -d: -f1 || true)
  if [ -n "$off" ] && command -v readelf >/dev/null; then
    tail -c +$((off + 1)) "$tmp/kernel/vmlinuz" | xz -dc > "$tmp/kernel/vmlinux" 2>/dev/null || true
    if ! readelf -n "$tmp/kernel/vmlinux" 2>/dev/null | grep -q '(0x00000012)'; then
      rm -f "$tmp/kernel/vmlinux"
    fi
  fi
  : > "$tmp/kernel/load-order"
  for m in "${modules[@]}"; do
    modprobe -d "$tmp/root" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r ko; do
    name=$(basename "$ko")
    case "$name" in
    *.xz) xz -dc "$ko" > "$tmp/kernel/modules/${name%.xz}"; name=${name%.xz} ;;
    *.zst) zstd -qdc "$ko" > "$tmp/kernel/modules/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$ko" "$tmp/kernel/modules/$name" ;;
    esac
    echo "$name" >> "$tmp/kernel/load-order"
  done
  echo "$kver" > "$tmp/kernel/release"
  echo "$kernel_format" > "$tmp/kernel/complete"
  rm -rf "$kdir"
  mv "$tmp/kernel" "$kdir"
  rm -rf "$tmp"
  trap - EXIT
fi

# busybox-static, likewise.
bb_version=$(candidate busybox-static)
if [ -n "$bb_version" ]; then
  bdir=$cache/busybox-static-${bb_version//:/_}
else
  bdir=$(ls -d "$cache"/busybox-static-*/ 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$bdir" ] || skip "apt knows no busybox-static and nothing is cached in $cache"
  bdir=${bdir%/}
fi
if [ ! -e "$bdir/complete" ]; then
  tmp=$(mktemp -d "$cache/.busybox.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  fetch busybox-static "$bb_version" "$tmp" || skip "cannot download busybox-static $bb_version"
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
  mkdir -p "$tmp/bb"
  cp "$tmp/root/bin/busybox" "$tmp/bb/busybox"
  touch "$tmp/bb/complete"
  rm -rf "$bdir"
  mv "$tmp/bb" "$bdir"
  rm -rf "$tmp"
  trap - EXIT
fi

# vfio_probe, static (glibc's static libc is enough for a few syscalls and ioctls).
probe_src=$here/vfio_probe.c
if [ ! -x "$out/vfio_probe" ] || [ "$probe_src" -nt "$out/vfio_probe" ]; then
  cc -static -O2 -Wall -Wextra -o "$out/vfio_probe.tmp" "$probe_src" ||
    skip "cannot link a static program (libc6-dev's libc.a missing?)"
  mv "$out/vfio_probe.tmp" "$out/vfio_probe"
fi

# vpass's shared libraries and the dynamic loader, as ldd resolves them here.
mapfile -t libs < <(ldd "$vpass" | awk '/=> \// { print $3 } /^\t\/[^ ]* \(/ { print $1 }' | sort -u)
[ "${#libs[@]}" -gt 0 ] || { say "ldd found no libraries for $vpass"; exit 1; }

# Rebuild the initramfs only when an input changed.
stamp=$( {
  echo "$kdir $bdir"
  sha256sum "$vpass" "$here/init" "$out/vfio_probe" /usr/share/misc/pci.ids "$0"
  sha256sum "${libs[@]}"
} | sha256sum | cut -d' ' -f1)
if [ -e "$out/initramfs.cpio" ] && [ -e "$out/kernel" ] &&
  [ "$(cat "$out/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
  say "guest up to date: $out/initramfs.cpio ($(basename "$kdir"))"
  exit 0
fi

say "assembling $out/initramfs.cpio"
root=$out/initramfs.d
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,root,lib/modules,usr/bin,usr/share/misc}
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/sbin"
cp "$bdir/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$out/vfio_probe" "$root/bin/vfio_probe"
install -m 0755 "$vpass" "$root/usr/bin/vpass"
for lib in "${libs[@]}"; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp /usr/share/misc/pci.ids "$root/usr/share/misc/pci.ids"
cp "$kdir"/modules/*.ko "$root/lib/modules/"
cp "$kdir/load-order" "$root/lib/modules/load-order"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) \
  > "$out/initramfs.cpio.tmp"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
# run_topology.sh boots $out/kernel: the ELF vmlinux (PVH) when there is one, else the bzImage.
if [ -e "$kdir/vmlinux" ]; then
  cp "$kdir/vmlinux" "$out/kernel"
else
  cp "$kdir/vmlinuz" "$out/kernel"
fi
cp "$kdir/release" "$out/kernel-release"
rm -rf "$root"
echo "$stamp" > "$out/initramfs.stamp"
say "guest ready: $out/kernel ($(cat "$out/kernel-release")$([ -e "$kdir/vmlinux" ] && echo ", PVH")), initramfs.cpio $(du -m "$out/initramfs.cpio" | cut -f1) MB"
