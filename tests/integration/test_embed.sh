#!/usr/bin/env bash
# The lab's domains in the real QEMU driver, embedded (qemu:///embed?root=$TMP/embed): libvirt
# itself accepts, validates and stores what vpass writes. Part 1 (always): the embedded driver
# works here, holds the lab's VMs (q35+SeaBIOS, q35+OVMF, i440fx+SeaBIOS), and behaves as the
# planner relies on. Part 2 (the CLI's attach/detach; see the marker below): runs when vpass
# has an attach command, or when VPASS_EMBED_CLI=1 forces it (0 skips it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/embed_lib.sh"

if ! embed_start; then
  finish
  exit 1
fi

# ---- Part 1: the lab's domains in the embedded driver ----

mkdir -p "$TMP/domains"
names=$(python3 "$VPASS_LAB_SOURCE/embed_lab.py" "$VPASS_LAB/host.xml" "$TMP/domains")
for n in $names; do
  if embed_define "$TMP/domains/$n.xml"; then ok; else fail "define the lab's $n in the embedded driver"; fi
done
out=$(vsh list --all --name | sort | tr '\n' ' ')
err=""
if [ "$out" = "db1 gpuvm vm1 vm2 web1 web2 " ]; then ok; else fail "the six lab domains are defined"; fi

vm1=$(inactive_xml vm1)
expect_xml "$vm1" 'd.find("os/type").get("machine") == "pc-q35-7.2" and d.find("os").get("firmware") is None and d.find("os/loader") is None' "vm1 is q35 with SeaBIOS"
expect_xml "$vm1" 'controller(d, 0).get("model") == "pcie-root" and hole(d) is None' "vm1: pcie-root, no pcihole64"
expect_xml "$vm1" 'd.find("./devices/interface[@type=\"hostdev\"]/source/address").get("bus") == "0x3b"' "vm1 keeps the lab's hostdev interface (VF 3b:10.0)"
gpuvm=$(inactive_xml gpuvm)
expect_xml "$gpuvm" 'd.find("os/type").get("machine") == "pc-q35-7.2" and d.find("os").get("firmware") == "efi"' "gpuvm is q35 with UEFI"
vm2=$(inactive_xml vm2)
expect_xml "$vm2" 'd.find("os/type").get("machine") == "pc-i440fx-7.2" and controller(d, 0).get("model") == "pci-root"' "vm2 is i440fx with pci-root"
expect_xml "$vm2" 'hostdevs(d)["0000:5f:00.0"]["bus"] == 0' "vm2's hostdev has a guest address on bus 0"
for n in $names; do
  expect_valid_xml "$(inactive_xml "$n")" "$n's definition passes libvirt's schema"
done

# A local driver manages this machine: without --root, source auto reads this machine's sysfs
# (read-only). (The embedded driver has no node-device API; the full VFIO lab tier checks the
# same choice on qemu:///system, which has one, against --source libvirt.)
run -c "$EMBED_URI" groups
expect_rc 0 "groups on this machine"
expect_out "devices from sysfs under /, domains from qemu:///embed" "auto takes this machine's sysfs for a local driver"

# firmware='efi' is resolved when the domain starts (libvirt 9.0): the firmware must exist.
out=$(vsh domcapabilities --machine q35 --virttype qemu 2>&1)
expect_out "<value>/usr/share/OVMF/OVMF_CODE[^<]*\\.fd</value>" "OVMF is installed and offered for q35 (package ovmf)"

# What vpass will write, written with virsh: a pcie-root-port of its own on vm1 (the next
# controller index, a free slot on bus 0) holding both functions of the BCM5720 (group 26) on
# one guest slot, then removed in reverse: the definition comes back byte for byte.
before=$(inactive_xml vm1)
read -r port_index port_slot < <(printf '%s' "$before" | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.stdin.read())
index = 1 + max(int(c.get("index")) for c in d.findall("./devices/controller[@type=\"pci\"]"))
used = {int(a.get("slot"), 0) for a in d.iter("address")
        if a.get("type") == "pci" and int(a.get("bus"), 0) == 0}
print(index, min(s for s in range(1, 0x1f) if s not in used))
')
ok
printf -v port_hex '0x%02x' "$port_index"
printf -v slot_hex '0x%02x' "$port_slot"
cat >"$TMP/port.xml" <<XML
<controller type='pci' index='$port_index' model='pcie-root-port'>
  <model name='pcie-root-port'/>
  <target chassis='$port_index' port='0x18'/>
  <address type='pci' domain='0x0000' bus='0x00' slot='$slot_hex' function='0x0'/>
</controller>
XML
cat >"$TMP/f0.xml" <<XML
<hostdev mode='subsystem' type='pci' managed='yes'>
  <driver name='vfio'/>
  <source><address domain='0x0000' bus='0x18' slot='0x00' function='0x0'/></source>
  <address type='pci' domain='0x0000' bus='$port_hex' slot='0x00' function='0x0' multifunction='on'/>
</hostdev>
XML
cat >"$TMP/f1.xml" <<XML
<hostdev mode='subsystem' type='pci' managed='yes'>
  <driver name='vfio'/>
  <source><address domain='0x0000' bus='0x18' slot='0x00' function='0x1'/></source>
  <address type='pci' domain='0x0000' bus='$port_hex' slot='0x00' function='0x1'/>
</hostdev>
XML
for f in port f0 f1; do
  if vsh attach-device vm1 "$TMP/$f.xml" --config >/dev/null; then ok; else fail "virsh attach-device vm1 $f.xml --config"; fi
done
after=$(inactive_xml vm1)
expect_xml "$after" "controller(d, $port_index).get('model') == 'pcie-root-port'" "the root port is index $port_index"
expect_xml "$after" "hostdevs(d)['0000:18:00.0'] == {'managed': 'yes', 'driver': 'vfio', 'type': 'pci', 'bus': $port_index, 'slot': 0, 'function': 0, 'multifunction': 'on'}" "18:00.0 at guest $port_hex:00.0, multifunction"
expect_xml "$after" "hostdevs(d)['0000:18:00.1']['bus'] == $port_index and hostdevs(d)['0000:18:00.1']['function'] == 1" "18:00.1 at guest $port_hex:00.1"
expect_valid_xml "$after" "vm1 with group 26 passes libvirt's schema"
for f in f1 f0 port; do
  if vsh detach-device vm1 "$TMP/$f.xml" --config >/dev/null; then ok; else fail "virsh detach-device vm1 $f.xml --config"; fi
done
expect_same_xml "$before" "$(inactive_xml vm1)" "attach then detach in reverse"

# i440fx: no root ports; the card goes on bus 0, one slot, both functions.
sed -e "s/bus='$port_hex' slot='0x00'/bus='0x00' slot='0x0a'/" "$TMP/f0.xml" >"$TMP/vm2-f0.xml"
sed -e "s/bus='$port_hex' slot='0x00'/bus='0x00' slot='0x0a'/" "$TMP/f1.xml" >"$TMP/vm2-f1.xml"
before=$(inactive_xml vm2)
if vsh attach-device vm2 "$TMP/vm2-f0.xml" --config >/dev/null &&
  vsh attach-device vm2 "$TMP/vm2-f1.xml" --config >/dev/null; then
  ok
else
  fail "attach group 26 to vm2 (i440fx) at 00:0a.0/1"
fi
expect_xml "$(inactive_xml vm2)" 'hostdevs(d)["0000:18:00.0"]["slot"] == 10 and hostdevs(d)["0000:18:00.1"]["slot"] == 10' "vm2: both functions on guest slot 0a"
vsh detach-device vm2 "$TMP/vm2-f1.xml" --config >/dev/null && vsh detach-device vm2 "$TMP/vm2-f0.xml" --config >/dev/null
expect_same_xml "$before" "$(inactive_xml vm2)" "vm2: attach then detach in reverse"

# The 64-bit hole on gpuvm (q35+OVMF) through a whole redefinition, and back.
before=$(inactive_xml gpuvm)
printf '%s\n' "$before" | python3 -c '
import sys
x = sys.stdin.read()
old = "<controller type=\x27pci\x27 index=\x270\x27 model=\x27pcie-root\x27/>"
assert old in x, "no bare pcie-root"
sys.stdout.write(x.replace(old, "<controller type=\x27pci\x27 index=\x270\x27 model=\x27pcie-root\x27>\n      <pcihole64 unit=\x27KiB\x27>67108864</pcihole64>\n    </controller>"))
' >"$TMP/gpuvm-hole.xml"
if vsh define --validate "$TMP/gpuvm-hole.xml" >/dev/null; then ok; else fail "define gpuvm with pcihole64"; fi
expect_xml "$(inactive_xml gpuvm)" 'hole(d) == 64 * 1024 * 1024' "gpuvm: pcihole64 64 GiB on pcie-root"
printf '%s\n' "$before" >"$TMP/gpuvm-old.xml"
vsh define --validate "$TMP/gpuvm-old.xml" >/dev/null
expect_same_xml "$before" "$(inactive_xml gpuvm)" "gpuvm: the old definition defined back"

# Two libvirt behaviours a plan must respect to be undone exactly (vpass's planner does):
# (1) a hostdev without a guest address may make libvirt add a root port of its own, which
#     detaching the hostdev leaves behind; (2) removing the last <metadata> element leaves an
#     empty <metadata/>.
before=$(inactive_xml web2)
sed -e "/<address type='pci'/d" "$TMP/f0.xml" >"$TMP/f0-noaddr.xml"
sed -e "/<address type='pci'/d" "$TMP/f1.xml" >"$TMP/f1-noaddr.xml"
vsh attach-device web2 "$TMP/f0-noaddr.xml" --config >/dev/null
vsh attach-device web2 "$TMP/f1-noaddr.xml" --config >/dev/null
vsh detach-device web2 "$TMP/f1-noaddr.xml" --config >/dev/null
vsh detach-device web2 "$TMP/f0-noaddr.xml" --config >/dev/null
n_before=$(printf '%s\n' "$before" | grep -c "model='pcie-root-port'")
n_after=$(inactive_xml web2 | grep -c "model='pcie-root-port'")
if [ "$n_after" -gt "$n_before" ]; then ok; else fail "libvirt keeps the root ports it added ($n_before -> $n_after): if this changed, the planner's care is no longer needed"; fi
vsh metadata web1 urn:vpass:domain:1 --config --key vpass --set "<assignment/>" >/dev/null
vsh metadata web1 urn:vpass:domain:1 --config --remove >/dev/null
if inactive_xml web1 | grep -q "<metadata/>"; then ok; else fail "libvirt leaves <metadata/> after removing the last element"; fi

# ---- Part 2: the CLI (vpass attach/detach --config) against the embedded driver ----
# ENABLE: runs by itself once `vpass attach --help` succeeds; VPASS_EMBED_CLI=1 forces it,
# VPASS_EMBED_CLI=0 skips it. Written to the documented CLI:
#   vpass -c URI --source sysfs --root LAB attach --domain D --group 26 --config [--dry-run] [--json]
#   vpass -c URI --source sysfs --root LAB detach --domain D --group 26 --config
cli=${VPASS_EMBED_CLI:-auto}
if [ "$cli" = auto ]; then
  if "$VPASS" attach --help >/dev/null 2>&1; then cli=1; else cli=0; fi
fi

if [ "$cli" = 1 ]; then
  # A private copy of the lab's sysfs twin: the change lock lives in <root>/run/vpass.
  cp -a "$LAB_ROOT" "$TMP/root"
  V=(-c "$EMBED_URI" --source sysfs --root "$TMP/root")
  # Fresh definitions (part 1 left web1/web2 changed; vm1, vm2, gpuvm are as defined).
  for n in web1 web2; do vsh undefine "$n" >/dev/null; embed_define "$TMP/domains/$n.xml"; done

  for dom in vm1 gpuvm vm2; do
    before=$(inactive_xml "$dom")

    run "${V[@]}" attach --domain "$dom" --group 26 --config --dry-run
    expect_rc 0 "$dom: attach --dry-run"
    expect_same_xml "$before" "$(inactive_xml "$dom")" "$dom: --dry-run changes nothing"

    run "${V[@]}" attach --domain "$dom" --group 26 --config --json
    expect_rc 0 "$dom: attach group 26 --config"
    expect_json 'd is not None' "$dom: attach --json prints JSON"
    after=$(inactive_xml "$dom")
    expect_valid_xml "$after" "$dom: libvirt's schema accepts the result"
    expect_xml "$after" 'set(hostdevs(d)) >= {"0000:18:00.0", "0000:18:00.1"}' "$dom: both functions of group 26 attached"
    expect_xml "$after" 'all(hostdevs(d)[a]["managed"] == "yes" and hostdevs(d)[a]["driver"] == "vfio" for a in ("0000:18:00.0", "0000:18:00.1"))' "$dom: managed, vfio"
    expect_xml "$after" '(lambda h: h["0000:18:00.0"]["bus"] == h["0000:18:00.1"]["bus"] and h["0000:18:00.0"]["slot"] == h["0000:18:00.1"]["slot"] and (h["0000:18:00.0"]["function"], h["0000:18:00.1"]["function"]) == (0, 1) and h["0000:18:00.0"]["multifunction"] == "on")(hostdevs(d))' "$dom: one guest slot, functions 0 and 1, multifunction"
    if [ "$dom" = vm2 ]; then
      expect_xml "$after" 'hostdevs(d)["0000:18:00.0"]["bus"] == 0' "$dom (i440fx): on bus 0"
    else
      expect_xml "$after" 'controller(d, hostdevs(d)["0000:18:00.0"]["bus"]).get("model") == "pcie-root-port"' "$dom (q35): on a pcie-root-port"
    fi
    expect_xml "$after" 'hole(d) is None' "$dom: no --mmio64, the 64-bit hole left alone"

    run "${V[@]}" attach --domain "$dom" --group 26 --config
    expect_rc 0 "$dom: second attach"
    expect_same_xml "$after" "$(inactive_xml "$dom")" "$dom: second attach is a no-op"

    run "${V[@]}" detach --domain "$dom" --group 26 --config
    expect_rc 0 "$dom: detach group 26 --config"
    expect_same_xml "$before" "$(inactive_xml "$dom")" "$dom: attach then detach leaves the definition identical"
  done

  # A single function (group 21: the xHCI controller alone). On q35 it gets a pcie-root-port
  # of vpass's own, as a card does: left to libvirt, the placement adds controllers that detach
  # could not tell from the user's (found by the VFIO lab's full tier). On i440fx libvirt picks
  # a slot on bus 0 and adds nothing.
  for dom in vm1 vm2; do
    before=$(inactive_xml "$dom")
    run "${V[@]}" attach --domain "$dom" --group 21 --config
    expect_rc 0 "$dom: attach a single function (group 21)"
    after=$(inactive_xml "$dom")
    expect_xml "$after" '"0000:08:00.0" in hostdevs(d)' "$dom: the function is attached"
    if [ "$dom" = vm1 ]; then
      expect_xml "$after" 'controller(d, hostdevs(d)["0000:08:00.0"]["bus"]).get("model") == "pcie-root-port" and hostdevs(d)["0000:08:00.0"]["slot"] == 0 and hostdevs(d)["0000:08:00.0"]["multifunction"] is None' "$dom (q35): on a pcie-root-port, not multifunction"
      expect_xml "$after" 'str(hostdevs(d)["0000:08:00.0"]["bus"]) in [c.get("index") for c in d.iter("{urn:vpass:domain:1}controller")]' "$dom (q35): the port is vpass's own (in its record), so detach removes it"
    fi
    run "${V[@]}" detach --domain "$dom" --group 21 --config
    expect_rc 0 "$dom: detach the single function"
    expect_same_xml "$before" "$(inactive_xml "$dom")" "$dom: single function attach then detach leaves the definition identical"
  done

  # The operator's hook policy (docs/hook.md) lives in vpass's element: attach and detach keep
  # it as written, also when the last device leaves.
  vsh metadata vm1 urn:vpass:domain:1 --key vpass --config --set '<vpass><hook isolate="no"/></vpass>' >/dev/null
  before=$(inactive_xml vm1)
  run "${V[@]}" attach --domain vm1 --group 26 --config
  expect_rc 0 "vm1 with a hook policy: attach"
  hook_policy='[h.attrib for h in d.iter("{urn:vpass:domain:1}hook")] == [{"isolate": "no"}]'
  expect_xml "$(inactive_xml vm1)" "$hook_policy" "vm1: attach keeps <vpass:hook isolate='no'>"
  expect_xml "$(inactive_xml vm1)" 'len(hostdevs(d)) >= 2' "vm1: attach added the devices beside the policy"
  run "${V[@]}" detach --domain vm1 --group 26 --config
  expect_rc 0 "vm1 with a hook policy: detach"
  expect_same_xml "$before" "$(inactive_xml vm1)" "vm1: detach leaves the policy and nothing else of vpass's"
  vsh metadata vm1 urn:vpass:domain:1 --config --remove >/dev/null

  # --mmio64 sizes the 64-bit hole that SeaBIOS honours (pcie-root on q35, pci-root on
  # i440fx), and detach restores it. (OVMF sizes its window itself: the planner decides there.)
  for dom in vm1 vm2; do
    before=$(inactive_xml "$dom")
    run "${V[@]}" attach --domain "$dom" --group 26 --config --mmio64 64G
    expect_rc 0 "$dom: attach --mmio64 64G"
    expect_xml "$(inactive_xml "$dom")" 'hole(d) == 64 * 1024 * 1024' "$dom: pcihole64 is 64 GiB"
    run "${V[@]}" detach --domain "$dom" --group 26 --config
    expect_rc 0 "$dom: detach after --mmio64"
    expect_same_xml "$before" "$(inactive_xml "$dom")" "$dom: detach restores the hole"
  done
else
  echo "SKIP (part 2): vpass has no attach command yet (VPASS_EMBED_CLI=1 forces the CLI checks)"
fi

finish
