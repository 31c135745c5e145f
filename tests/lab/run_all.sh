#!/usr/bin/env bash
# The VFIO lab's fast tier by hand: build (or reuse) the guest, boot every topology (or those
# named), print their "VPASS-LAB RESULT" lines and a summary. See docs/vfio-lab.md.
#
# Usage: run_all.sh [TOPOLOGY...]
#   VPASS_BUILD_DIR  the build tree whose src/vpass goes into the guest (default: build)
#   VPASS_LAB_JOBS   guests booted at once (default 1; each QEMU TCG guest uses one core)
#   (and those of build_initramfs.sh and run_topology.sh)
# Exit 0 when every result is ok, 1 when one is not, 77 when the guest cannot be built here
# (a package cannot be fetched, a tool is missing), 2 on misuse.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export VPASS_BUILD_DIR=${VPASS_BUILD_DIR:-$top/build}
export VPASS_LAB_OUT=${VPASS_LAB_OUT:-$VPASS_BUILD_DIR/vfio-lab}
jobs=${VPASS_LAB_JOBS:-1}

if [ $# -gt 0 ]; then
  topologies=("$@")
else
  mapfile -t topologies < <(bash "$here/run_topology.sh" --list)
fi
command -v qemu-system-x86_64 >/dev/null || {
  echo "vfio-lab: qemu-system-x86_64 is missing (scripts/install-deps.sh installs qemu-system-x86)" >&2
  exit 77
}
command -v python3 >/dev/null || { echo "vfio-lab: python3 is missing" >&2; exit 77; }

for t in "${topologies[@]}"; do rm -rf "$VPASS_LAB_OUT/runs/$t"; done
t0=$(date +%s)
bash "$here/build_initramfs.sh"
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
t1=$(date +%s)

# Boot the topologies, $jobs at a time; each writes its results under runs/NAME.
pids=()
running=0
for t in "${topologies[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  bash "$here/run_topology.sh" "$t" >/dev/null 2>"$VPASS_LAB_OUT/runs-$t.err" &
  pids+=($!)
  running=$((running + 1))
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
done
t2=$(date +%s)

for t in "${topologies[@]}"; do
  res=$VPASS_LAB_OUT/runs/$t/results.txt
  if [ -s "$res" ]; then
    cat "$res"
  else
    echo "VPASS-LAB RESULT name=$t.guest ok=0 detail=no results: $(tr '\n' ' ' < "$VPASS_LAB_OUT/runs-$t.err" 2>/dev/null)"
    failed=1
  fi
  if [ -s "$VPASS_LAB_OUT/runs-$t.err" ]; then
    sed 's/^/  /' "$VPASS_LAB_OUT/runs-$t.err" >&2
  fi
  rm -f "$VPASS_LAB_OUT/runs-$t.err"
done
files=()
for t in "${topologies[@]}"; do files+=("$VPASS_LAB_OUT/runs/$t/results.txt"); done
total=$(cat "${files[@]}" 2>/dev/null | grep -c '^VPASS-LAB RESULT' || true)
bad=$(cat "${files[@]}" 2>/dev/null | grep -c '^VPASS-LAB RESULT .* ok=0 ' || true)
echo "vfio-lab: ${#topologies[@]} topologies, $total results, $bad failed; guest build $((t1 - t0))s, boots $((t2 - t1))s (jobs=$jobs)" >&2
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
