#!/usr/bin/env bash
# shellcheck disable=SC2054 # the commas separate QEMU device properties, not array elements
# The VFIO lab's full tier: vpass and libvirt in a Debian guest (QEMU TCG, q35, emulated Intel
# IOMMU) giving NICs to an inner VM through VFIO. See docs/vfio-lab.md ("The full tier").
#
# Usage: run_full.sh
#   VPASS_BUILD_DIR  the build whose src/vpass and src/vpass-hook go into the guest (default:
#                    build); a sanitizer build cannot (the image has no libasan): exit 77
#   VPASS, VPASS_HOOK  those binaries explicitly
#   VPASS_LAB_FULL_OUT  where the run's files go (default: $VPASS_BUILD_DIR/vfio-lab-full)
#   VPASS_LAB_FULL_TIMEOUT  seconds before the outer guest is killed (default 2400)
#   VPASS_LAB_INNER_TIMEOUT  seconds an inner guest may run before it is destroyed (default 900)
#   VPASS_LAB_FULL_SMP  the outer guest's CPUs (default 2 when this machine has 2 or more)
#   (and those of build_image.sh: VPASS_LAB_CACHE, VPASS_LAB_MIRROR, VPASS_LAB_SUITE)
# Builds or reuses the root image (build_image.sh), assembles this run's boot initramfs (the
# vpass binaries, the scenario tests/lab/full/guest.sh, the inner guest), boots the outer guest
# on a qcow2 overlay of the image (the cached image is never written), prints its progress
# ("vfio-lab: guest: ..."), and evaluates what it recorded (tests/lab/full/evaluate.py).
# The outer guest has no network to the outside: its NICs under test use QEMU's user-mode
# network (slirp), which gives the inner guest DHCP and a gateway to ping.
# Files of the run in $VPASS_LAB_FULL_OUT/run: console.log, data.txt, results.txt.
# Exit 0 when every result is ok, 1 otherwise, 77 when the guest cannot be built here.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build_dir=${VPASS_BUILD_DIR:-$top/build}
vpass=${VPASS:-$build_dir/src/vpass}
vpass_hook=${VPASS_HOOK:-$(dirname "$vpass")/vpass-hook}
out=${VPASS_LAB_FULL_OUT:-$build_dir/vfio-lab-full}
timeout_s=${VPASS_LAB_FULL_TIMEOUT:-2400}
inner_timeout=${VPASS_LAB_INNER_TIMEOUT:-900}
smp=${VPASS_LAB_FULL_SMP:-$( [ "$(nproc)" -ge 2 ] && echo 2 || echo 1 )}
# shellcheck source-path=SCRIPTDIR source=../fetch.sh
. "$here/../fetch.sh"

for tool in qemu-system-x86_64 qemu-img cpio python3 ldd; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done
for f in "$vpass" "$vpass_hook"; do
  [ -x "$f" ] || { say "no $f (build vpass first)"; exit 1; }
done
if ldd "$vpass" | grep -Eq 'lib(asan|ubsan)'; then
  skip "$vpass is a sanitizer build: the full tier's image has no sanitizer runtime (use a build without -DVPASS_SANITIZE)"
fi
templates=$top/xml-templates
[ -r "$templates/hostdev-pci.xml" ] || { say "no XML templates in $templates"; exit 1; }

t0=$(date +%s)
img=$(bash "$here/build_image.sh") || exit $?
t1=$(date +%s)
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
# The kernel and busybox, as the fast tier has them (cached; fetched under the cache lock,
# which is let go before the guest boots).
lab_lock_cache
lab_kernel
lab_busybox
exec 8>&-
[ "$(cat "$kdir/release")" = "$(cat "$img/release")" ] ||
  { say "$img holds the modules of $(cat "$img/release"), the kernel is $(cat "$kdir/release")"; exit 1; }
kernel=$kdir/vmlinuz
[ -e "$kdir/vmlinux" ] && kernel=$kdir/vmlinux

# The inner guest's initramfs: busybox, the fast tier's NIC modules, tests/lab/full/inner-init.
say "assembling the boot initramfs"
rm -rf "$out/boot.d" "$out/inner.d"
inner=$out/inner.d
mkdir -p "$inner"/{dev,proc,sys,tmp,run,etc,root,lib/modules}
lab_busybox_tree "$inner"
install -m 0755 "$here/inner-init" "$inner/init"
grep -E '^e1000e?\.ko$' "$kdir/load-order" > "$inner/lib/modules/load-order"
while read -r m; do cp "$kdir/modules/$m" "$inner/lib/modules/"; done < "$inner/lib/modules/load-order"
# The outer guest's boot initramfs: busybox, virtio and ext4 (from the image's build), its
# /init, and this run's files: /lab (the scenario, its unit, the inner guest) and /payload.
boot=$out/boot.d
mkdir -p "$boot"/{dev,proc,sys,tmp,run,etc,root,newroot,lib/modules,lab/inner}
mkdir -p "$boot"/payload/usr/local/{bin,libexec,share/vpass}
lab_busybox_tree "$boot"
install -m 0755 "$here/boot-init" "$boot/init"
cp "$img"/boot-modules/*.ko "$img/load-order" "$boot/lib/modules/"
install -m 0755 "$here/guest.sh" "$boot/lab/guest.sh"
install -m 0644 "$here/vpass-lab.service" "$boot/lab/vpass-lab.service"
install -m 0644 "$kernel" "$boot/lab/inner/kernel"
(cd "$inner" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) \
  > "$boot/lab/inner/initrd.cpio"
chmod 0644 "$boot/lab/inner/initrd.cpio"
install -m 0755 "$vpass" "$boot/payload/usr/local/bin/vpass"
install -m 0755 "$vpass_hook" "$boot/payload/usr/local/libexec/vpass-hook"
cp -r "$templates" "$boot/payload/usr/local/share/vpass/xml-templates"
(cd "$boot" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out/boot.cpio"
rm -rf "$boot" "$inner"

run=$out/run
rm -rf "$run"
mkdir -p "$run"
qemu-img create -q -f qcow2 -F raw -b "$img/root.img" "$run/overlay.qcow2"

qemu=(qemu-system-x86_64 -M q35 -accel tcg -cpu max -m 2G -smp "$smp"
  -nographic -monitor none -no-reboot -nic none
  -serial stdio -serial "file:$run/data.txt"
  -device intel-iommu,intremap=on,caching-mode=on
  -drive "file=$run/overlay.qcow2,if=none,id=root,format=qcow2,cache=unsafe"
  -device virtio-blk-pci,drive=root,bus=pcie.0,addr=0x5
  # The multifunction e1000e card: one group.
  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
  -netdev user,id=mf0 -device e1000e,bus=rp1,addr=0.0,multifunction=on,netdev=mf0
  -netdev user,id=mf1 -device e1000e,bus=rp1,addr=0.1,netdev=mf1
  # The PCIe-to-PCI bridge with two e1000: one group with the bridge.
  -device pcie-root-port,id=rp2,chassis=2,bus=pcie.0,addr=0x3
  -device pcie-pci-bridge,id=br1,bus=rp2,addr=0.0
  -netdev user,id=br0 -device e1000,bus=br1,addr=0x1,netdev=br0
  -netdev user,id=br1n -device e1000,bus=br1,addr=0x2,netdev=br1n
  -kernel "$kernel" -initrd "$out/boot.cpio"
  -append "console=ttyS0 intel_iommu=on no_timer_check apparmor=0 panic=-1 loglevel=4 cryptomgr.notests vlab.inner_timeout=$inner_timeout")

say "booting the outer guest ($smp CPUs, TCG; killed after ${timeout_s}s); progress:"
start=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$run/console.log" 2>&1 &
qpid=$!
# Progress: the guest's "VPASS-LAB LOG" lines as they come.
tail -n +1 -F --pid="$qpid" "$run/console.log" 2>/dev/null |
  grep --line-buffered -a 'VPASS-LAB LOG' | sed -u 's/\r$//; s/^.*VPASS-LAB LOG /vfio-lab: guest: /' >&2 &
tpid=$!
wait "$qpid"
qemu_rc=$?
wait "$tpid" 2>/dev/null
set -e
end=$(date +%s.%N)
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
echo "$seconds" > "$run/seconds"
rm -f "$run/overlay.qcow2"

set +e
python3 "$here/evaluate.py" --qemu-rc "$qemu_rc" --seconds "$seconds" --console "$run/console.log" \
  "$run/data.txt" > "$run/results.txt"
rc=$?
set -e
cat "$run/results.txt"
if [ "$rc" -ne 0 ]; then
  say "the full tier failed; the guest's console ($run/console.log) ends:"
  tail -n 30 "$run/console.log" | tr -d '\r' | sed 's/^/  /' >&2
fi
say "full tier: image $((t1 - t0))s, outer guest ${seconds}s, $(grep -c '^VPASS-LAB RESULT' "$run/results.txt") results, $(grep -c '^VPASS-LAB RESULT .* ok=0 ' "$run/results.txt") failed"
exit "$rc"
