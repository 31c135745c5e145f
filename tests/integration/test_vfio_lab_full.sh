#!/usr/bin/env bash
# The VFIO lab's full tier (docs/vfio-lab.md, "The full tier"): libvirtd and vpass in a Debian
# guest (QEMU TCG, emulated Intel IOMMU) start an inner VM with passed-through NICs: vpass attach
# and detach of a whole multifunction card and of one function behind a PCIe-to-PCI bridge, the
# hook completing a group at start and restoring it at stop, the "not viable" failure without
# vpass, and the inner guest's DHCP lease and ping through each NIC. Every device binding happens
# inside the guests; nothing here touches this machine's devices.
#
# Runs tests/lab/full/run_full.sh and asserts each "VPASS-LAB RESULT" line. Skipped (exit 77)
# when the guest cannot be built here (not root, no network for debootstrap and nothing cached,
# no qemu-system-x86_64, ...), except under CI=true, where that is a failure; also skipped for a
# sanitizer build of vpass (the guest image has no sanitizer runtime), and when
# VPASS_NO_VFIO_LAB_FULL or VPASS_NO_VFIO_LAB is set. Takes 5-10 minutes with a cached image
# on 2 cores (depending on what else runs), 2-3 more when the image is built.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if [ -n "${VPASS_NO_VFIO_LAB_FULL:-}${VPASS_NO_VFIO_LAB:-}" ]; then
  echo "SKIP: VPASS_NO_VFIO_LAB_FULL or VPASS_NO_VFIO_LAB is set" >&2
  exit 77
fi
if ldd "$VPASS" 2>/dev/null | grep -Eq 'lib(asan|ubsan)'; then
  echo "SKIP: $VPASS is a sanitizer build; the full tier runs the gcc build's vpass" >&2
  exit 77
fi

src=${VPASS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export VPASS_BUILD_DIR=${VPASS_BUILD_DIR:-$(cd "$(dirname "$VPASS")/.." && pwd)}
export VPASS VPASS_HOOK  # run_full.sh puts these very binaries in the guest

# The results the scenario must report (tests/lab/full/evaluate.py). sources-agree: vpass's
# default on qemu:///system (this machine's sysfs) and --source libvirt tell the same groups.
required=(
  full.guest full.boot.libvirtd full.boot.topology full.boot.groups-match full.boot.verdicts
  full.boot.vpass-groups full.boot.sources-agree full.mf.running.sources-agree
  full.neg-mf.not-viable full.neg-mf.drivers-back full.neg-br.not-viable full.neg-br.drivers-back
  full.mf.attach full.mf.one-guest-slot full.mf.start full.mf.running-vfio full.mf.inner-nics
  full.mf.inner-msi full.mf.detach full.mf.xml-restored full.mf.drivers-back
  full.mf.running.groups-match full.mf.running.verdicts
  full.dev.attach full.dev.sibling-isolated full.dev.start full.dev.running-vfio
  full.dev.running.verdicts full.dev.inner-nics full.dev.stopped-drivers full.dev.detach
  full.dev.drivers-back full.dev.xml-restored
  full.hook.install full.hook-off.not-viable full.hook-off.drivers-back full.hook.start
  full.hook.running-vfio full.hook.running.verdicts full.hook.state full.hook.status
  full.hook.inner-nics full.hook.drivers-back full.hook.released
  full.final.groups-match full.final.verdicts full.final.drivers-as-boot
)

# Its progress lines ("vfio-lab: ...") go to stderr as they come: the run takes minutes.
out=$(bash "$src/tests/lab/full/run_full.sh" 2> >(tee "$TMP/stderr" | grep --line-buffered -E '^vfio-lab: ' >&2)); rc=$?
wait  # for the tee above
err=$(cat "$TMP/stderr")
lab_skip_or_fail "$rc" "the full tier's guest"

lab_results "$out" "$err" "$VPASS_BUILD_DIR/vfio-lab-full/run" "${required[@]}"
if [ "$rc" -ne 0 ] && [ "$lab_bad" -eq 0 ]; then
  fail "run_full.sh exited $rc"
fi
finish
