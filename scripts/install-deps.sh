#!/usr/bin/env bash
# Install what vpass needs to build and test on Debian 12, only what is missing.
set -euo pipefail

packages=(
  cmake make gcc clang pkg-config python3
  libvirt-dev libvirt-daemon libvirt-clients
  libxml2-dev libxml2-utils libpci-dev pciutils libjson-c-dev libcmocka-dev libnl-route-3-dev
  # the embedded QEMU driver (qemu:///embed?root=DIR) of the apply tests, and OVMF for the
  # lab's UEFI guest; adduser creates the user the QEMU driver insists on (below)
  libvirt-daemon-driver-qemu qemu-system-x86 ovmf adduser
  # the VFIO lab (docs/vfio-lab.md): depmod/modprobe for the downloaded kernel's modules, cpio
  # for its initramfs, xz to unpack the kernel for a direct (PVH) boot
  kmod cpio xz-utils
  # its full tier: debootstrap for the root image, mke2fs to make it an ext4 image without a
  # loop mount, qemu-img for each run's overlay
  debootstrap e2fsprogs qemu-utils
  # bench/run.py measures peak RSS with /usr/bin/time
  time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
need_root() {
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "install-deps: need root or sudo to $1" >&2
    exit 1
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  need_root "install: ${missing[*]}"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The QEMU driver, even embedded (qemu:///embed?root=DIR), refuses to initialise without the
# user and group it runs guests as ("Failed to parse user 'libvirt-qemu'"). Debian creates
# them in libvirt-daemon-system's postinst, which vpass does not need otherwise (it would
# start the system daemons): create them the same way (add_users_groups there: the kvm
# group, the system user libvirt-qemu in it, uid/gid 64055 when free, its own group).
if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
  need_root "create the libvirt-qemu user and group"
  echo "install-deps: creating the libvirt-qemu user and group (as libvirt-daemon-system does)"
  if ! getent group kvm >/dev/null; then
    $sudo addgroup --quiet --system kvm
  fi
  if ! getent passwd libvirt-qemu >/dev/null; then
    uid_opt=()
    getent passwd 64055 >/dev/null || uid_opt=(--uid 64055)
    $sudo adduser --quiet --system --ingroup kvm --disabled-login --disabled-password \
      --home /var/lib/libvirt --no-create-home --gecos "Libvirt Qemu" "${uid_opt[@]}" \
      libvirt-qemu
  fi
  if ! getent group libvirt-qemu >/dev/null; then
    gid_opt=()
    getent group 64055 >/dev/null || gid_opt=(--gid 64055)
    $sudo addgroup --quiet --system "${gid_opt[@]}" libvirt-qemu
    $sudo adduser --quiet libvirt-qemu libvirt-qemu
  fi
fi
