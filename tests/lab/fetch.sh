# shellcheck shell=bash
# Sourced by the VFIO lab's builders (tests/lab/build_initramfs.sh, tests/lab/full/build_image.sh):
# the download cache, fetching Debian packages by name with apt, and the cached kernel and
# busybox-static. See docs/vfio-lab.md ("How the guest is made, and the cache").
#
#   VPASS_LAB_CACHE  the download cache (default: ${XDG_CACHE_HOME:-~/.cache}/vpass-lab)
#
# Callers set `set -euo pipefail`, and hold the cache lock (lab_lock_cache) while they fetch.

lab_cache=${VPASS_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpass-lab}
# Bump when what a cached kernel directory holds changes.
lab_kernel_format=2
# The modules of the fast tier's guest (with their dependencies, in order, in kernel-*/modules).
lab_kernel_modules=(vfio_pci vfio_iommu_type1 e1000e e1000 nvme)

say() { echo "vfio-lab: $*" >&2; }
skip() { say "cannot build the guest: $*"; exit 77; }

# lab_lock_cache: one builder at a time per cache (fd 8; the gcc and sanitizer builds' tests,
# and the two tiers, may start together).
lab_lock_cache() {
  mkdir -p "$lab_cache"
  if command -v flock >/dev/null; then
    exec 8>"$lab_cache/.lock"
    flock 8
  fi
}

# lab_candidate NAME: the version apt would install, or nothing.
lab_candidate() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true
}

# lab_fetch NAME VERSION DIR: apt-get download NAME=VERSION into DIR (as _apt when possible).
lab_fetch() {
  local name=$1 version=$2 dir=$3
  say "downloading $name $version"
  chmod 0777 "$dir" 2>/dev/null || true
  if ! (cd "$dir" && apt-get download -q "$name=$version" >"$dir/apt.log" 2>&1); then
    sed 's/^/  /' "$dir/apt.log" >&2
    return 1
  fi
}

# lab_collect_modules ROOT KVER OUTDIR LOAD_ORDER MODULE...: the MODULEs of kernel KVER under
# ROOT (depmod done) and what they depend on, decompressed into OUTDIR, their file names in
# LOAD_ORDER in the order insmod must load them (modprobe --show-depends).
lab_collect_modules() {
  local root=$1 kver=$2 out=$3 order=$4 m ko name
  shift 4
  mkdir -p "$out"
  : > "$order"
  for m in "$@"; do
    modprobe -d "$root" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r ko; do
    name=$(basename "$ko")
    case "$name" in
    *.xz) xz -dc "$ko" > "$out/${name%.xz}"; name=${name%.xz} ;;
    *.zst) zstd -qdc "$ko" > "$out/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$ko" "$out/$name" ;;
    esac
    echo "$name" >> "$order"
  done
}

# lab_kernel: sets kdir to the cached kernel of linux-image-amd64's candidate (kpkg, kversion:
# its image package and version), downloading and unpacking it when it is not cached. kdir
# holds vmlinuz, vmlinux (the ELF kernel, for a direct PVH boot, when it has the note),
# modules/ and load-order (lab_kernel_modules and their dependencies), release, and the .deb
# itself (linux-image.deb, for the full tier's root image). Without apt lists, the newest
# cached kernel.
lab_kernel() {
  local meta_version tmp kver off
  meta_version=$(lab_candidate linux-image-amd64)
  kpkg='' kversion=''
  if [ -n "$meta_version" ]; then
    kpkg=$(apt-cache show "linux-image-amd64=$meta_version" 2>/dev/null |
      sed -n 's/^Depends: *\(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
    kversion=$meta_version
  fi
  if [ -z "$kpkg" ]; then
    # No package lists (apt-get update never ran, or offline): use what the cache has.
    kdir=$(ls -d "$lab_cache"/kernel-*/ 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$kdir" ] && [ "$(cat "$kdir/complete" 2>/dev/null)" = "$lab_kernel_format" ] ||
      skip "apt knows no linux-image-amd64 (run apt-get update) and nothing is cached in $lab_cache"
    kdir=${kdir%/}
    say "apt knows no linux-image-amd64: using the cached $(basename "$kdir")"
    return 0
  fi
  kdir=$lab_cache/kernel-$kpkg-${kversion//:/_}
  [ "$(cat "$kdir/complete" 2>/dev/null)" != "$lab_kernel_format" ] || return 0

  tmp=$(mktemp -d "$lab_cache/.kernel.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  lab_fetch "$kpkg" "$kversion" "$tmp" || skip "cannot download $kpkg $kversion"
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
  lab_collect_modules "$tmp/root" "$kver" "$tmp/kernel/modules" "$tmp/kernel/load-order" \
    "${lab_kernel_modules[@]}"
  mv "$tmp"/linux-image-*.deb "$tmp/kernel/linux-image.deb"
  echo "$kver" > "$tmp/kernel/release"
  echo "$lab_kernel_format" > "$tmp/kernel/complete"
  rm -rf "$kdir"
  mv "$tmp/kernel" "$kdir"
  rm -rf "$tmp"
  trap - EXIT
}

# lab_kernel_deb: makes sure $kdir/linux-image.deb is there (a cache filled before the .deb
# was kept gets it now: same package, same version).
lab_kernel_deb() {
  local tmp
  [ ! -s "$kdir/linux-image.deb" ] || return 0
  [ -n "$kpkg" ] || skip "$kdir has no linux-image.deb, and apt knows no linux-image-amd64 to fetch it"
  tmp=$(mktemp -d "$lab_cache/.kernel-deb.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  lab_fetch "$kpkg" "$kversion" "$tmp" || skip "cannot download $kpkg $kversion"
  mv "$tmp"/linux-image-*.deb "$kdir/linux-image.deb"
  rm -rf "$tmp"
  trap - EXIT
}

# lab_busybox: sets bdir to the cached busybox-static of apt's candidate (fetched when
# missing); without apt lists, the newest cached one.
lab_busybox() {
  local bb_version tmp
  bb_version=$(lab_candidate busybox-static)
  if [ -n "$bb_version" ]; then
    bdir=$lab_cache/busybox-static-${bb_version//:/_}
  else
    bdir=$(ls -d "$lab_cache"/busybox-static-*/ 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$bdir" ] || skip "apt knows no busybox-static and nothing is cached in $lab_cache"
    bdir=${bdir%/}
  fi
  [ ! -e "$bdir/complete" ] || return 0
  tmp=$(mktemp -d "$lab_cache/.busybox.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  lab_fetch busybox-static "$bb_version" "$tmp" || skip "cannot download busybox-static $bb_version"
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
  mkdir -p "$tmp/bb"
  cp "$tmp/root/bin/busybox" "$tmp/bb/busybox"
  touch "$tmp/bb/complete"
  rm -rf "$bdir"
  mv "$tmp/bb" "$bdir"
  rm -rf "$tmp"
  trap - EXIT
}

# lab_busybox_tree DIR: busybox in DIR/bin with a link for every applet; DIR/sbin and
# DIR/usr/sbin point there, DIR/usr/bin is a directory.
lab_busybox_tree() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/usr/bin"
  ln -sfn bin "$root/sbin"
  ln -sfn ../bin "$root/usr/sbin"
  cp "$bdir/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
}
