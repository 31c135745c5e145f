#!/usr/bin/env bash
# shellcheck disable=SC2054 # the commas separate QEMU device properties, not array elements
# Boot the VFIO lab guest with one topology and print its "VPASS-LAB RESULT" lines.
#
# Usage: run_topology.sh NAME        (NAME: single multifunction bridge sriov noiommu; or --list)
#   VPASS_LAB_OUT      where build_initramfs.sh put kernel and initramfs.cpio
#                      (default: $VPASS_BUILD_DIR/vfio-lab, else build/vfio-lab)
#   VPASS_LAB_TIMEOUT  seconds before a hung guest is killed (default 120)
# The guest is QEMU TCG on q35 with an emulated Intel IOMMU (except noiommu), no network
# backend at all (-nic none; the NICs under test have no netdev), and runs tests/lab/init,
# which binds devices to vfio-pci INSIDE the guest and records what it sees on its second
# serial port; tests/lab/evaluate.py turns that into result lines. Files of the run (console
# log, data, results) stay in $VPASS_LAB_OUT/runs/NAME.
# Exit 0 when every result is ok, 1 otherwise (also for a guest that hung or crashed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${VPASS_LAB_OUT:-${VPASS_BUILD_DIR:-$top/build}/vfio-lab}
timeout_s=${VPASS_LAB_TIMEOUT:-120}
topologies=(single multifunction bridge sriov noiommu)

name=${1:?usage: run_topology.sh NAME (one of: ${topologies[*]})}
if [ "$name" = --list ]; then
  printf '%s\n' "${topologies[@]}"
  exit 0
fi

iommu=(-device intel-iommu,intremap=on,caching-mode=on)
case "$name" in
single)
  # An e1000e alone on a PCIe root port.
  devices=(-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
    -device e1000e,bus=rp1,addr=0.0)
  ;;
multifunction)
  # Two e1000e as functions 0 and 1 of one slot: one group.
  devices=(-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
    -device e1000e,bus=rp1,addr=0.0,multifunction=on
    -device e1000e,bus=rp1,addr=0.1)
  ;;
bridge)
  # A PCIe-to-PCI bridge with two conventional e1000 behind it: one group with the bridge.
  devices=(-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
    -device pcie-pci-bridge,id=br1,bus=rp1,addr=0.0
    -device e1000,bus=br1,addr=0x1
    -device e1000,bus=br1,addr=0x2)
  ;;
sriov)
  # An NVMe controller with SR-IOV (QEMU 7.2 has no SR-IOV NIC): 2 VFs, each its own group.
  devices=(-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
    -device nvme-subsys,id=subsys0,nqn=vpass-lab
    -device nvme,serial=vpasslab,subsys=subsys0,bus=rp1,addr=0.0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2)
  ;;
noiommu)
  # The single topology without an IOMMU: no groups, vfio-pci refuses the NIC.
  iommu=()
  devices=(-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
    -device e1000e,bus=rp1,addr=0.0)
  ;;
*)
  echo "run_topology: unknown topology '$name' (known: ${topologies[*]})" >&2
  exit 2
  ;;
esac

for f in kernel initramfs.cpio; do
  [ -r "$out/$f" ] || { echo "run_topology: no $out/$f: run tests/lab/build_initramfs.sh" >&2; exit 2; }
done
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "run_topology: qemu-system-x86_64 is missing" >&2; exit 2; }

run=$out/runs/$name
rm -rf "$run"
mkdir -p "$run"

start=$(date +%s.%N)
# no_timer_check: under TCG on a loaded host the kernel's early IO-APIC timer self-check can
# miss its window and panic ("timer doesn't work through Interrupt-remapped IO-APIC"); the
# check proves nothing about VFIO, and virtual machines commonly skip it. A guest that still
# panics before /init wrote anything is booted once more: that is the host's load, not vpass.
for attempt in 1 2; do
  set +e
  timeout -k 5 "$timeout_s" "$qemu" -M q35 -accel tcg -cpu max -m 1G -smp 1 \
    -nographic -monitor none -no-reboot -nic none \
    -serial stdio -serial "file:$run/data.txt" \
    "${iommu[@]}" "${devices[@]}" \
    -kernel "$out/kernel" -initrd "$out/initramfs.cpio" \
    -append "intel_iommu=on console=ttyS0 panic=-1 no_timer_check vlab.topo=$name" \
    </dev/null >"$run/console.log" 2>&1
  qemu_rc=$?
  set -e
  if [ -s "$run/data.txt" ] || ! grep -q "Kernel panic" "$run/console.log"; then
    break
  fi
  echo "run_topology: $name: the guest panicked before /init (attempt $attempt); booting again" >&2
  cp "$run/console.log" "$run/console.panic$attempt.log"
done
end=$(date +%s.%N)
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "$seconds" > "$run/seconds"

python3 "$here/evaluate.py" --topology "$name" --qemu-rc "$qemu_rc" --seconds "$seconds" \
  --console "$run/console.log" "$run/data.txt" | tee "$run/results.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "run_topology: $name failed; the guest's console ($run/console.log) ends:" >&2
  tail -n 25 "$run/console.log" | tr -d '\r' | sed 's/^/  /' >&2
fi
exit "$rc"
