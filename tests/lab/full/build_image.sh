#!/usr/bin/env bash
# Build (or reuse) the root image of the VFIO lab's full tier: a Debian root filesystem made by
# debootstrap with libvirt, QEMU and vpass's runtime libraries, plus the modules of the fast
# tier's kernel, as an ext4 image. See docs/vfio-lab.md ("The full tier").
#
# Usage: build_image.sh
#   VPASS_LAB_CACHE   the download cache (default: ${XDG_CACHE_HOME:-~/.cache}/vpass-lab)
#   VPASS_LAB_MIRROR  the Debian mirror (default: the one apt's sources use for the suite)
#   VPASS_LAB_SUITE   the Debian suite (default: this machine's, from /etc/os-release)
# Prints the cached image directory on stdout: root.img (ext4, 3 GB sparse; never written by a
# run: runs boot a qcow2 overlay), boot-modules/ and load-order (what the boot initramfs loads to
# mount it: virtio and ext4), release (the kernel), packages (dpkg -l of the image).
# The directory is keyed on the package list, the versions apt reports for them in the suite,
# the kernel package and this recipe's format number: an unchanged archive reuses it (no
# debootstrap); a changed one builds a new directory next to it (delete old ones by hand).
# Without apt lists (offline), the newest cached image is used.
#
# Exit codes: 0 built or reused, 77 cannot build here (not root, a tool missing, the archive
# unreachable: the message says which), 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../fetch.sh
. "$here/../fetch.sh"

# Bump when what the image holds, or how it is configured, changes.
image_format=1
# What debootstrap installs besides the minimal base: libvirt and QEMU (the inner guest),
# udev/kmod (modules, /dev/vfio), systemd as init (libpam-systemd: polkitd needs a logind), and
# the libraries the vpass binary of a Debian build links to.
packages=(
  libvirt-daemon-system libvirt-clients qemu-system-x86
  udev kmod iproute2 pciutils procps systemd-sysv libpam-systemd dbus
  libpci3 libjson-c5 libnl-3-200 libnl-route-3-200 libxml2 libvirt0
)
# Module directories nothing in the lab uses (about half the kernel's modules): left out of
# the image to keep it small. Everything else stays, so udev and libvirt load what they want.
unused_modules=(drivers/gpu drivers/media drivers/net/wireless net/wireless net/mac80211
  net/bluetooth drivers/bluetooth sound drivers/infiniband drivers/staging drivers/iio
  drivers/hid drivers/input/touchscreen drivers/video/fbdev drivers/isdn drivers/atm)

[ "$(id -u)" -eq 0 ] || skip "debootstrap needs root (run as root, or leave the full tier out)"
for tool in debootstrap mke2fs depmod modprobe dpkg-deb apt-cache sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done

lab_lock_cache
lab_kernel

suite=${VPASS_LAB_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
[ -n "$suite" ] || skip "no suite: /etc/os-release has no VERSION_CODENAME (set VPASS_LAB_SUITE)"
# The mirror apt uses for SUITE/main ("500 http://deb.debian.org/debian bookworm/main amd64
# Packages" in apt-cache policy).
mirror=${VPASS_LAB_MIRROR:-$(apt-cache policy 2>/dev/null |
  awk -v s="$suite/main" '$3 == s && $2 ~ /^https?:/ { print $2; exit }')}
mirror=${mirror%/}

# The versions debootstrap will install: apt's for the suite itself on that mirror (not
# -updates or -security, which debootstrap does not use).
versions=()
if [ -n "$mirror" ]; then
  mapfile -t versions < <(apt-cache madison "${packages[@]}" 2>/dev/null |
    awk -F' [|] ' -v src="$mirror $suite/main " '
      { gsub(/^ +| +$/, "", $1); gsub(/^ +| +$/, "", $2) }
      index($3, src) == 1 && !($1 in v) { v[$1] = $2 }
      END { n = split(pkgs, p, " "); for (i = 1; i <= n; i++) if (p[i] in v) print p[i] "=" v[p[i]] }' \
      pkgs="${packages[*]}")
  [ ${#versions[@]} -eq ${#packages[@]} ] || versions=()
fi
if [ ${#versions[@]} -eq 0 ]; then
  img=$(ls -d "$lab_cache"/full-image-"$suite"-*/ 2>/dev/null | while read -r d; do
    [ -e "$d/complete" ] && echo "$d"; done | xargs -r ls -dt | head -n 1 || true)
  [ -n "$img" ] || skip "apt knows no versions of the image's packages in $suite (run apt-get update) and no image is cached in $lab_cache"
  say "apt knows no versions for $suite: using the cached $(basename "$img")"
  echo "${img%/}"
  exit 0
fi

key=$(printf '%s\n' "format=$image_format" "suite=$suite" "mirror=$mirror" "kernel=$(basename "$kdir")" \
  "${versions[@]}" "unused=${unused_modules[*]}" | sha256sum | cut -c1-12)
img=$lab_cache/full-image-$suite-$key
if [ -e "$img/complete" ]; then
  say "root image up to date: $img"
  echo "$img"
  exit 0
fi

lab_kernel_deb
kver=$(cat "$kdir/release")
tmp=$(mktemp -d "$lab_cache/.full-image.XXXXXX")
# debootstrap mounts /proc and /sys in the target while it configures: make sure nothing stays
# mounted before removing the tree.
cleanup() {
  local m
  for m in $(awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/rootfs
t0=$(date +%s)

# 1. debootstrap, printing where it is every 15 s (and its errors and warnings).
include=$(IFS=,; echo "${packages[*]}")
say "debootstrap $suite from $mirror (${#packages[@]} packages and their dependencies; takes a few minutes)"
set +e
progress() {
  local line last=0 now
  while IFS= read -r line; do
    now=$(date +%s)
    case "$line" in
    E:* | W:* | *successfully*) ;;
    *) [ $((now - last)) -ge 15 ] || continue ;;
    esac
    say "debootstrap ($((now - t0))s): $line"
    last=$now
  done
}
timeout -k 10 1800 debootstrap --variant=minbase --include="$include" --components=main \
  "$suite" "$root" "$mirror" 2>&1 | tee "$tmp/debootstrap.log" | progress
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  tail -n 15 "$tmp/debootstrap.log" | sed 's/^/  /' >&2
  if grep -Eq "Failed getting release file|Couldn't download|Temporary failure resolving|Could not resolve" "$tmp/debootstrap.log" ||
    [ "$rc" -eq 124 ]; then
    skip "debootstrap cannot fetch $suite from $mirror (exit $rc)"
  fi
  say "debootstrap failed (exit $rc); its log: $tmp/debootstrap.log"
  cp "$tmp/debootstrap.log" "$lab_cache/debootstrap-failed.log"
  exit 1
fi
t1=$(date +%s)

# 2. The kernel's modules (the fast tier's kernel package), minus what the lab never loads.
say "adding the modules of $kver"
dpkg-deb --fsys-tarfile "$kdir/linux-image.deb" | tar -x -C "$tmp" ./lib/modules
for d in "${unused_modules[@]}"; do rm -rf "$tmp/lib/modules/$kver/kernel/$d"; done
mkdir -p "$root/usr/lib/modules"
mv "$tmp/lib/modules/$kver" "$root/usr/lib/modules/$kver"
depmod -b "$root" "$kver"
# What the boot initramfs loads to mount the root image.
lab_collect_modules "$root" "$kver" "$tmp/boot-modules" "$tmp/load-order" \
  virtio_pci virtio_blk ext4

# 3. Configuration: a quiet, quick boot to libvirtd.
echo vpass-lab-full > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vpass-lab-full\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' > "$root/etc/fstab"
# Timers and services that only cost time in a guest that lives for minutes; libvirt-guests
# would suspend or shut down guests at poweroff (the lab's are gone by then).
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer logrotate.timer man-db.timer libvirt-guests.service \
  systemd-timesyncd.service; do
  ln -sfn /dev/null "$root/etc/systemd/system/$unit"
done
# libvirt's default NAT network wants dnsmasq, which is not there: no autostart.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"
# Logs in memory only.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/vpass-lab.conf"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' > "$tmp/packages"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages

# 4. The ext4 image, straight from the tree (no loop mount).
say "making root.img ($(du -sm "$root" | cut -f1) MB of files)"
mke2fs -q -t ext4 -L vpass-lab -d "$root" -F "$tmp/root.img" 3G >/dev/null
t2=$(date +%s)

mkdir -p "$tmp/image"
mv "$tmp/root.img" "$tmp/boot-modules" "$tmp/load-order" "$tmp/packages" "$tmp/image/"
echo "$kver" > "$tmp/image/release"
printf '%s\n' "${versions[@]}" > "$tmp/image/versions"
echo "debootstrap $((t1 - t0))s, modules and image $((t2 - t1))s" > "$tmp/image/build-time"
touch "$tmp/image/complete"
rm -rf "$img"
mv "$tmp/image" "$img"
say "root image ready: $img (debootstrap $((t1 - t0))s, image $((t2 - t1))s, $(du -sm "$img" | cut -f1) MB on disk)"
echo "$img"
