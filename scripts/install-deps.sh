#!/usr/bin/env bash
# Install what vpass needs to build and test on Debian 12, only what is missing.
set -euo pipefail

packages=(
  cmake make gcc clang pkg-config python3
  libvirt-dev libvirt-daemon libvirt-clients
  libxml2-dev libxml2-utils libpci-dev pciutils libjson-c-dev libcmocka-dev libnl-route-3-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
