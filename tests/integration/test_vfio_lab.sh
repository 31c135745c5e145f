#!/usr/bin/env bash
# The VFIO lab's fast tier (docs/vfio-lab.md): vpass inside QEMU TCG guests with an emulated
# Intel IOMMU, against the real kernel's IOMMU groups and VFIO. Every device binding happens
# inside the guests; nothing here touches this machine's devices.
#
# Builds (or reuses) the guest once, boots every topology of tests/lab/run_topology.sh, and
# asserts each "VPASS-LAB RESULT" line. Skipped (exit 77) when the guest cannot be built here
# (no network for the kernel package, no qemu-system-x86_64, ...), except under CI=true, where
# that is a failure.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

src=${VPASS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
lab=$src/tests/lab
export VPASS_BUILD_DIR=${VPASS_BUILD_DIR:-$(cd "$(dirname "$VPASS")/.." && pwd)}
export VPASS_LAB_OUT=${VPASS_LAB_OUT:-$VPASS_BUILD_DIR/vfio-lab}
export VPASS  # build_initramfs.sh puts this very binary in the guest
: "${VPASS_LAB_JOBS:=$( [ "$(nproc)" -ge 2 ] && echo 2 || echo 1 )}"
export VPASS_LAB_JOBS

# Every topology and the results it must report (besides the per-stage generic ones).
mapfile -t topologies < <(bash "$lab/run_topology.sh" --list)
required=(
  single.guest single.boot.groups-match single.bound.vfio-agrees single.boot.check-host
  single.boot.check-prevfio
  single.bound.nic-vfio single.bound.ich9-unbound-viable
  multifunction.guest multifunction.boot.check-one multifunction.boot.check-whole
  multifunction.boot.check-one-critical multifunction.one.one-bound-not-viable
  multifunction.all.all-bound-viable multifunction.one.vfio-agrees multifunction.all.vfio-agrees
  bridge.guest bridge.boot.shared-group bridge.one.one-bound-not-viable bridge.all.all-bound-viable
  sriov.guest sriov.vfs.vfs-own-groups sriov.vfs.groups-match sriov.bound.vf-vfio
  noiommu.guest noiommu.boot.no-groups noiommu.boot.check-host noiommu.bound.vfio-refuses
)

out=$(bash "$lab/run_all.sh" "${topologies[@]}" 2>"$TMP/stderr"); rc=$?
err=$(cat "$TMP/stderr")
printf '%s\n' "$err" | grep -E '^vfio-lab: ' >&2
lab_skip_or_fail "$rc" "the VFIO lab guest"

# Every result line must be ok; show the failing ones (with the guest's console tail).
lab_results "$out" "$err" "$VPASS_LAB_OUT/runs" "${required[@]}"
for t in "${topologies[@]}"; do
  expect_out "^VPASS-LAB RESULT name=$t\\.guest ok=1 " "guest $t booted and finished"
done
if [ "$rc" -ne 0 ] && [ "$lab_bad" -eq 0 ]; then
  fail "run_all.sh exited $rc"
fi
grep -h '^VPASS-LAB RESULT name=[a-z]*\.guest ' "$VPASS_LAB_OUT"/runs/*/results.txt 2>/dev/null |
  sed 's/^VPASS-LAB RESULT name=/timing: /' >&2
finish
