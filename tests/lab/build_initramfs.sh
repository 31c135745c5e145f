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
# The download cache, apt fetches, the kernel and busybox (shared with the full tier).
# shellcheck source-path=SCRIPTDIR source=fetch.sh
. "$here/fetch.sh"

for tool in apt-get apt-cache dpkg dpkg-deb depmod modprobe cpio cc ldd sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$vpass" ] || { say "no vpass binary at $vpass (build it first)"; exit 1; }
[ -r /usr/share/misc/pci.ids ] || skip "/usr/share/misc/pci.ids is missing (package pciutils)"
mkdir -p "$lab_cache" "$out"
# One builder at a time per cache (the gcc and sanitizer builds' tests may start together),
# and per output directory.
lab_lock_cache
if command -v flock >/dev/null; then
  exec 9>"$out/.lock"
  flock 9
fi

# The kernel (the image package linux-image-amd64 depends on, at the candidate version) and
# busybox-static: kdir, bdir.
lab_kernel
lab_busybox

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
  sha256sum "$vpass" "$here/init" "$out/vfio_probe" /usr/share/misc/pci.ids "$0" "$here/fetch.sh"
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
mkdir -p "$root"/{dev,proc,sys,tmp,run,etc,root,lib/modules,usr/share/misc}
lab_busybox_tree "$root"
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
