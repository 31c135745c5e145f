#!/usr/bin/env bash
# vpass-hook, the built binary, run as libvirt runs it (argv + the domain XML on stdin) against
# a temporary copy of the lab's sysfs twin. No kernel reacts to writes in a copy, so these cases
# need no driver change (already viable, refused, repaired without a write); binding is covered
# by the unit tests against the kernel model (tests/unit/test_hook.c). Never the real /sys.
. "$(dirname "$0")/lib.sh"
: "${VPASS_HOOK:?run through ctest}"

R="$TMP/root"
cp -a "$LAB_ROOT" "$R"

# hook ARGS... < stdin: runs vpass-hook, capturing stdout, stderr and the exit code.
hook() {
  out=$("$VPASS_HOOK" "$@" 2>"$TMP/stderr"); rc=$?
  err=$(cat "$TMP/stderr")
}

# The PCI core's view of the copy: every driver link and driver_override, every driver's links.
snapshot() {
  (cd "$R/sys/bus/pci" && for d in devices/*; do
     printf '%s %s %s\n' "$d" "$(readlink "$d/driver" || echo -)" "$(cat "$d/driver_override" 2>/dev/null || echo -)"
   done; find drivers -type l -printf '%p -> %l\n' | sort)
}

domain() { # domain NAME ADDR... : a domain XML holding those functions (managed)
  local name=$1; shift
  printf "<domain type='kvm'>\n  <name>%s</name>\n  <devices>\n" "$name"
  local a
  for a in "$@"; do
    IFS=':.' read -r d b s f <<<"$a"
    printf "    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/></source></hostdev>\n" "$d" "$b" "$s" "$f"
  done
  printf "  </devices>\n</domain>\n"
}

one_line() { # the error is one line on stderr and nothing is on stdout
  if [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]; then ok; else fail "$1: stdout empty and one stderr line"; fi
}

before=$(snapshot)
unchanged() {
  if [ "$(snapshot)" = "$before" ]; then ok; else fail "$1: the sysfs copy changed"; fi
}

# Every other operation: exit 0 at once, nothing on stdout (migrate and restore read it as a
# replacement XML), in libvirt's exact form (four arguments, so also without --root: these
# touch nothing).
for opsub in "start begin" "started begin" "stopped end" "migrate begin" "restore begin" \
             "reconnect begin" "attach begin" "release begin" "prepare end" "frob nicate"; do
  set -- $opsub
  out=$(domain vm1 0000:18:00.0 | "$VPASS_HOOK" vm1 "$1" "$2" - 2>"$TMP/stderr"); rc=$?
  err=$(cat "$TMP/stderr")
  expect_rc 0 "$opsub exits 0"
  expect_empty_out "$opsub prints nothing on stdout"
  if [ -z "$err" ]; then ok; else fail "$opsub prints nothing on stderr"; fi
done
out=$("$VPASS_HOOK" vm1 migrate begin - </dev/null); rc=$?
expect_rc 0 "migrate with no XML at all"
expect_empty_out "migrate prints nothing"

# Usage.
hook; expect_rc 2 "no arguments: usage"
hook vm1 prepare; expect_rc 2 "too few arguments: usage"
hook --version; expect_rc 0 "--version"
expect_empty_out "--version writes to stderr only"

# Policy off (no hook.conf): exit 0, nothing changed, no lock, no state.
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:18:00.0)
expect_rc 0 "policy off: prepare exits 0"
expect_empty_out "policy off: nothing on stdout"
unchanged "policy off"
if [ ! -e "$R/run/vpass" ]; then ok; else fail "policy off: run/vpass was created"; fi

mkdir -p "$R/etc/vpass"
printf '[hook]\nenable = all\n' > "$R/etc/vpass/hook.conf"

# Groups that need no change: a VF alone in its group (already on vfio-pci), a function whose
# only sibling is a bridge (the boot VGA behind the ICH10 PCI bridge).
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:3b:10.0)
expect_rc 0 "a group of its own"
hook --root "$R" vm3 prepare begin - < <(domain vm3 0000:09:03.0)
expect_rc 0 "a bridge sibling stays with the host"
# The other port already on vfio-pci (as an operator left it): the group is viable as it is.
dev=$(readlink -f "$R/sys/bus/pci/devices/0000:18:00.1")
rel=${dev#$R/sys/}
rm "$R/sys/bus/pci/devices/0000:18:00.1/driver" "$R/sys/bus/pci/drivers/tg3/0000:18:00.1"
ln -s ../../../../bus/pci/drivers/vfio-pci "$dev/driver"
ln -s "../../../../$rel" "$R/sys/bus/pci/drivers/vfio-pci/0000:18:00.1"
before=$(snapshot)
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:18:00.0)
expect_rc 0 "sibling already on vfio-pci"
expect_empty_out "prepare prints nothing on stdout"
unchanged "nothing to bind"
if [ -z "$(ls -A "$R/run/vpass/hook" 2>/dev/null)" ]; then ok; else fail "no state recorded"; fi
hook --root "$R" vm1 release end - < <(domain vm1 0000:18:00.0)
expect_rc 0 "release without anything recorded"
unchanged "release without prepare"

# The management NIC's group (a second function added to the I210's group 16): refused.
src=$(readlink -f "$R/sys/bus/pci/devices/0000:01:00.0")
dst=$(dirname "$src")/0000:01:00.1
cp -a "$src" "$dst"; rm -rf "$dst/net"
rel=${dst#$R/sys/}
ln -s "../../../$rel" "$R/sys/bus/pci/devices/0000:01:00.1"
ln -s "../../../../$rel" "$R/sys/bus/pci/drivers/igb/0000:01:00.1"
ln -s "../../../../$rel" "$R/sys/kernel/iommu_groups/16/devices/0000:01:00.1"
before=$(snapshot)
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:01:00.1)
expect_rc 6 "the management NIC's group is refused (exit 6)"
one_line "refusal"
expect_err '^vpass-hook: error: vm1: IOMMU group 16 cannot be made complete: 0000:01:00\.0: eno1 is a port of br0 \(which carries the default route' "the refusal names the NIC and why"
unchanged "refused"

# The same through the main CLI (same code, the CLI's error format).
run --root "$R" hook vm1 prepare begin - < <(domain vm1 0000:01:00.1)
expect_rc 6 "vpass hook: refused too"
expect_err '^vpass: error: vm1: IOMMU group 16 cannot be made complete' "vpass hook error line"

# A sibling a running domain holds (libvirt's status file): refused.
mkdir -p "$R/run/libvirt/qemu"
{ printf "<domstatus state='running' reason='booted' pid='1'>\n"; domain db2 0000:18:00.1; printf "</domstatus>\n"; } \
  > "$R/run/libvirt/qemu/db2.xml"
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:18:00.0)
expect_rc 6 "a sibling held by a running domain"
expect_err 'vm1: IOMMU group 26 cannot be made complete: 0000:18:00\.1 is held by running domain db2$' "names the running domain"
one_line "running owner"
rm "$R/run/libvirt/qemu/db2.xml"

# Malformed stdin: refused with exit 7 when hook.conf enables the domain, untouched otherwise.
for bad in "<domain" "" "<domain><name>other</name></domain>"; do
  hook --root "$R" vm1 prepare begin - <<<"$bad"
  expect_rc 7 "malformed XML '$bad' (enabled): exit 7"
  one_line "malformed XML"
done
printf '[hook]\nenable = vm9\n' > "$R/etc/vpass/hook.conf"
hook --root "$R" vm1 prepare begin - <<<"<domain"
expect_rc 0 "malformed XML for a domain the hook is off for: exit 0"
unchanged "malformed XML"
printf '[hook]\nenable = all\nisolate = maybe\n' > "$R/etc/vpass/hook.conf"
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:18:00.0)
expect_rc 7 "a typo in hook.conf stops the start"
expect_err "hook.conf:3: isolate: 'maybe' is not yes or no" "names the line"
printf '[hook]\nenable = all\n' > "$R/etc/vpass/hook.conf"

# A crash recorded a device that never left its driver: release repairs it (no write needed).
mkdir -p "$R/run/vpass/hook"
printf 'version 1\ndomain vm2\ndevice 0000:41:00.1 driver=snd_hda_intel override=(null) phase=binding\n' \
  > "$R/run/vpass/hook/vm2.state"
run --root "$R" hook --status --json
expect_rc 0 "hook --status"
expect_json 'd["devices"] == [{"domain": "vm2", "address": "0000:41:00.1", "driver": "snd_hda_intel", "driver_override": None, "phase": "binding"}]' "status lists the recorded device"
hook --root "$R" vm2 release end - < <(domain vm2 0000:41:00.0)
expect_rc 0 "release repairs the crashed entry"
if [ ! -e "$R/run/vpass/hook/vm2.state" ]; then ok; else fail "the state file is gone after release"; fi
unchanged "repair needed no write"
# A state file vpass cannot read stops the start (it will not guess what to undo).
printf 'version 1\ndomain vm2\ndevice 0000:41:00.1 driver=snd_hda_intel\n' > "$R/run/vpass/hook/vm2.state"
hook --root "$R" vm1 prepare begin - < <(domain vm1 0000:18:00.0)
expect_rc 7 "a malformed state file"
expect_err 'vm2\.state: line 3 is malformed' "names the file and line"
rm "$R/run/vpass/hook/vm2.state"

# vpass hook --install / --uninstall under the root.
run --root "$R" hook --install --hook-binary "$VPASS_HOOK"
expect_rc 0 "hook --install"
expect_out "^Installed $R/etc/libvirt/hooks/qemu.d/vpass -> $VPASS_HOOK$" "says what it linked"
expect_out "restart libvirtd \(or virtqemud" "tells to restart libvirt"
expect_out "^Policy: $R/etc/vpass/hook.conf \(unchanged\)$" "keeps an existing policy"
if [ "$(readlink "$R/etc/libvirt/hooks/qemu.d/vpass")" = "$VPASS_HOOK" ]; then ok; else fail "the hook link"; fi
run --root "$R" hook --install --hook-binary "$VPASS_HOOK" --json
expect_json 'd["already_installed"] is True and d["restart_needed"] is False' "installing twice is a no-op"
rm "$R/etc/vpass/hook.conf"
rm "$R/etc/libvirt/hooks/qemu.d/vpass"; printf '#!/bin/sh\n' > "$R/etc/libvirt/hooks/qemu.d/vpass"
run --root "$R" hook --install --hook-binary "$VPASS_HOOK"
expect_rc 2 "a foreign hook file is not replaced without --force"
run --root "$R" hook --install --hook-binary "$VPASS_HOOK" --force
expect_rc 0 "--force replaces it"
expect_out "^Created $R/etc/vpass/hook.conf" "creates the policy when missing"
if grep -q '^enable = none$' "$R/etc/vpass/hook.conf"; then ok; else fail "the new policy enables nothing"; fi
run --root "$R" hook --uninstall
expect_rc 0 "hook --uninstall"
if [ ! -e "$R/etc/libvirt/hooks/qemu.d/vpass" ]; then ok; else fail "the link is gone"; fi

finish
