#!/usr/bin/env bash
# SR-IOV through the CLI on the lab (test driver + a copy of its sysfs twin) and on a copy of
# tests/fixtures/sysfs/sriov-host: `vpass vfs`, `vpass attach --pf` dry runs (VF choice, MACs,
# refusals) and `vpass sriov` writing sriov_numvfs and the udev rule in the copies only.
. "$(dirname "$0")/lib.sh"

cp -a "$LAB_ROOT" "$TMP/lab"
L=(-c "$LAB_URI" --root "$TMP/lab")

# ---- vpass vfs ----
run "${L[@]}" vfs
expect_rc 0 "vfs on the lab"
expect_out "^enp59s0f0  0000:3b:00.0  .*82576.*  igb  VFs 4 of 8$" "vfs: the PF line (interface, address, driver, counts)"
expect_out "^  0 +0000:3b:10.0 +27 +vfio-pci +- +\? +\? +\? +\? +\? +assigned +vm1 \(running\)$" "vfs: VF 0 held by running vm1"
expect_out "^  1 +0000:3b:10.2 +28 +igbvf +enp59s16f2 .* free +-$" "vfs: VF 1 on igbvf with its netdev, free"
expect_out "^  2 +0000:3b:10.4 .* assigned +web1, web2: conflict$" "vfs: VF 2 in web1 and web2 (conflict)"
expect_out "^  3 +0000:3b:10.6 .* assigned +db1 \(running\)$" "vfs: VF 3 held by running db1"
expect_out "unknown \(read from --root" "vfs: VF settings unknown from a tree, and why"
expect_out "^1 PF; devices from sysfs" "vfs: summary"

run "${L[@]}" vfs --json
expect_rc 0 "vfs --json"
expect_json 'len(d) == 1 and d[0]["pf"] == "0000:3b:00.0" and d[0]["interface"] == "enp59s0f0"' "vfs --json: one PF"
expect_json 'd[0]["total_vfs"] == 8 and d[0]["current_vfs"] == 4 and d[0]["numa_node"] == 0 and d[0]["driver"] == "igb"' "vfs --json: counts, node, driver"
expect_json '[v["index"] for v in d[0]["vfs"]] == [0, 1, 2, 3]' "vfs --json: indexes"
expect_json '[v["address"] for v in d[0]["vfs"]] == ["0000:3b:10.0", "0000:3b:10.2", "0000:3b:10.4", "0000:3b:10.6"]' "vfs --json: addresses (offset 128, stride 2)"
expect_json '[v["state"] for v in d[0]["vfs"]] == ["assigned", "free", "assigned", "assigned"]' "vfs --json: states"
expect_json '[v["group"] for v in d[0]["vfs"]] == [27, 28, 29, 30]' "vfs --json: groups"
expect_json 'd[0]["vfs"][1]["netdev"] == "enp59s16f2" and d[0]["vfs"][1]["driver"] == "igbvf"' "vfs --json: VF 1's netdev and driver"
expect_json 'd[0]["vfs"][2]["owners"] == ["web1", "web2"] and d[0]["vfs"][2]["conflict"] is True' "vfs --json: VF 2 owners, conflict"
expect_json 'd[0]["vfs"][0]["in_use"] is True and d[0]["vfs"][1]["in_use"] is False' "vfs --json: in_use"
expect_json 'd[0]["vf_settings_known"] is False and all(v[k] is None for v in d[0]["vfs"] for k in ("mac", "vlan", "qos", "spoofchk", "trust", "link_state"))' "vfs --json: unknown settings are null"
expect_json 'd[0]["vfs"][0]["state_reason"] == "in the definition of vm1" and d[0]["vfs"][1]["state_reason"] is None' "vfs --json: state_reason"

for sel in enp59s0f0 0000:3b:00.0 3b:00.0 pci_0000_3b_00_0; do
  run "${L[@]}" vfs --pf "$sel" --json
  expect_rc 0 "vfs --pf $sel"
  expect_json 'len(d) == 1 and d[0]["pf"] == "0000:3b:00.0"' "vfs --pf $sel: the PF"
done
run "${L[@]}" vfs --pf 3b:10.2
expect_rc 2 "vfs --pf on a VF"
expect_err "3b:10.2: 0000:3b:10.2 is a VF, not a PF" "vfs --pf on a VF: message"
expect_err "hint: its PF is 0000:3b:00.0" "vfs --pf on a VF: hint"
run "${L[@]}" vfs --pf eno1
expect_rc 2 "vfs --pf on a NIC without SR-IOV"
expect_err "no SR-IOV capability" "vfs --pf eno1: message"
run "${L[@]}" vfs --pf nosuch0
expect_rc 3 "vfs --pf on nothing"

# Devices from libvirt's node-device XML (as for a remote host): settings unknown, said so.
run -c "$LAB_URI" --source libvirt vfs --json
expect_rc 0 "vfs from node devices"
expect_json 'd[0]["current_vfs"] == 4 and d[0]["total_vfs"] == 8 and "remote host" in d[0]["vf_settings_reason"]' "vfs from node devices: counts, reason"
expect_json 'd[0]["vfs"][1]["netdev"] == "enp59s16f2"' "vfs from node devices: the VF's net child"

# ---- check --pf: the checks on the VF attach would choose ----
run "${L[@]}" check --pf enp59s0f0 --json
expect_rc 0 "check --pf (no --vf: auto)"
expect_json 'd["devices"] == ["0000:3b:10.2"] and d["pf"] == "enp59s0f0" and d["vf"] == 1' "check --pf: the free VF 1, named in pf/vf"
expect_json 'any(f["code"] == "group-complete" and f["subject"] == "28" for f in d["findings"])' "check --pf: the VF's own group is checked"
run "${L[@]}" check --pf enp59s0f0 --vf 3 --domain gpuvm --json
expect_rc 6 "check --pf --vf 3 --domain gpuvm (db1 holds VF 3)"
expect_json 'd["devices"] == ["0000:3b:10.6"] and d["vf"] == 3 and d["verdict"] == "block"' "check --pf --vf 3: blocked"
expect_json 'any(f["severity"] == "block" and "db1" in f["message"] for f in d["findings"])' "check --pf --vf 3: the block names db1"
run "${L[@]}" check --pf enp59s0f0 --domain vm1
expect_rc 0 "check --pf --domain vm1 (holds VF 0)"
expect_err "vm1 holds VF 0 \(0000:3b:10.0\) of enp59s0f0 already" "check --pf: the VF vm1 holds, with a note"
expect_out "^Device 0000:3b:10.0 " "check --pf --domain vm1: VF 0 checked"
run "${L[@]}" check --pf enp59s0f0 --vf 1 --mac 52:54:00:00:00:01 --domain gpuvm
expect_rc 0 "check --pf --mac (unused)"
run "${L[@]}" check --vf 1
expect_rc 2 "check --vf without --pf"
expect_err "check: --vf and --mac go with --pf" "check --vf: names what is missing"
run "${L[@]}" check --pf enp59s0f0 --group 26
expect_rc 2 "check --pf with --group"
run "${L[@]}" check --pf eno1
expect_rc 2 "check --pf on a NIC without SR-IOV (not a PF: usage)"
expect_err "eno1: 0000:01:00.0 has no SR-IOV capability \(not a PF\)" "check --pf eno1: says it is not a PF"
run "${L[@]}" check --pf enp59s0f0 --vf 9
expect_rc 3 "check --pf --vf 9 (4 enabled)"
expect_err "no VF 9 \(4 enabled, 8 at most\)" "check --vf 9: how many there are"

# ---- xml --pf: the XML attach would use, with or without a domain ----
run "${L[@]}" xml --pf enp59s0f0 --vf auto --mac 52:54:00:aa:bb:cc --vlan 42
expect_rc 0 "xml --pf --vf auto (no domain)"
expect_out '^<interface type="hostdev" managed="yes">$' "xml --pf: an <interface type='hostdev'>"
expect_out '<mac address="52:54:00:aa:bb:cc"/>' "xml --pf: the MAC given"
expect_out '<address type="pci" domain="0x0000" bus="0x3b" slot="0x10" function="0x2"/>' "xml --pf --vf auto: the free VF 1"
expect_out '<tag id="42"/>' "xml --pf: the VLAN"
run "${L[@]}" xml --pf enp59s0f0 --vf auto --mac auto --domain gpuvm
expect_rc 0 "xml --pf --mac auto --domain gpuvm"
expect_out '<mac address="02:d3:b9:4e:c5:5a"/>' "xml --pf --mac auto: the MAC attach derives for gpuvm"
run "${L[@]}" xml --pf enp59s0f0 --vf 1 --as hostdev --format qemu
expect_rc 0 "xml --pf --format qemu"
expect_out '^-device vfio-pci,host=0000:3b:10.2$' "xml --pf --format qemu: the VF as vfio-pci"
run "${L[@]}" xml --pf enp59s0f0 --vf auto --domain vm1
expect_rc 0 "xml --pf --domain vm1 (holds VF 0)"
expect_err "vm1 already holds VF 0 \(0000:3b:10.0\) of enp59s0f0: nothing to add" "xml --pf: a domain holding a VF gets a note, no XML"
expect_no_out "interface" "xml --pf: nothing printed for a no-op"
run "${L[@]}" xml --pf enp59s0f0 --vf auto --mac auto
expect_rc 2 "xml --pf --mac auto without --domain"
expect_err "--mac auto derives the MAC from the domain's UUID: give --domain NAME" "xml --mac auto: says why and the fix"
run "${L[@]}" xml --pf enp59s0f0 --vf auto --trust on
expect_rc 2 "xml --pf --trust"
expect_err "not in XML: see them in 'vpass attach --dry-run'" "xml --trust: no XML for it"
run "${L[@]}" xml --pf enp59s0f0 --vf 3
expect_rc 6 "xml --pf --vf 3 (db1 holds it)"
expect_err "0000:3b:10.6: held by db1" "xml --pf: a held VF is refused like attach"

# ---- attach --pf (dry runs: the test driver changes nothing) ----
A=(attach --domain gpuvm --config --dry-run)
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --mac auto --vlan 100 --json
expect_rc 0 "attach --vf auto --dry-run"
# gpuvm is q35: the VF gets a pcie-root-port of vpass's own (removed again by detach).
expect_json '[s["kind"] for s in d["steps"]] == ["add-controller", "attach", "set-metadata"]' "attach --vf auto: steps"
expect_json 'd["steps"][1]["address"] == "0000:3b:10.2"' "attach --vf auto: the only free VF (1)"
expect_json '"<interface type=\"hostdev\" managed=\"yes\">" in d["steps"][1]["xml"] and "<tag id=\"100\"/>" in d["steps"][1]["xml"]' "attach: an <interface type='hostdev'> with the VLAN"
expect_json '"kind=\"interface\"" in d["steps"][2]["xml"] and "<controller index=" in d["steps"][2]["xml"]' "attach: recorded as an interface, with the port"
mac1=$(printf '%s' "$out" | python3 -c 'import json,sys,re; print(re.search(r"<mac address=\"([0-9a-f:]+)\"", json.load(sys.stdin)["steps"][1]["xml"]).group(1))')
if [[ "$mac1" =~ ^02:[0-9a-f]{2}(:[0-9a-f]{2}){4}$ ]]; then ok; else fail "--mac auto: a locally administered MAC (02:...), got '$mac1'"; fi
# Stable: gpuvm's UUID 1f7b3e0a-...-8e03, PF 0000:3b:00.0, VF 1 (docs/sriov.md).
if [ "$mac1" = "02:d3:b9:4e:c5:5a" ]; then ok; else fail "--mac auto: the documented derivation gives 02:d3:b9:4e:c5:5a, got $mac1"; fi
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --mac auto --json
mac2=$(printf '%s' "$out" | python3 -c 'import json,sys,re; print(re.search(r"<mac address=\"([0-9a-f:]+)\"", json.load(sys.stdin)["steps"][1]["xml"]).group(1))')
if [ "$mac1" = "$mac2" ]; then ok; else fail "--mac auto: same VM, same VF, same MAC ($mac1 vs $mac2)"; fi
run "${L[@]}" attach --domain vm2 --config --dry-run --pf enp59s0f0 --vf 1 --mac auto --json
mac3=$(printf '%s' "$out" | python3 -c 'import json,sys,re; print(re.search(r"<mac address=\"([0-9a-f:]+)\"", [s for s in json.load(sys.stdin)["steps"] if s["kind"] == "attach"][0]["xml"]).group(1))')
if [ -n "$mac3" ] && [ "$mac3" != "$mac1" ]; then ok; else fail "--mac auto: another VM gets another MAC ($mac3 vs $mac1)"; fi

run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto
expect_rc 0 "attach --dry-run (human)"
expect_out "^  2\. attach VF 1 of enp59s0f0 \(0000:3b:10.2\) to gpuvm as <interface type='hostdev'> \(config\)$" "attach --dry-run: the step names the VF"
expect_no_out "<mac" "attach without --mac: libvirt picks the MAC"

run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf 1 --as hostdev --json
expect_rc 0 "attach --as hostdev"
expect_json 'd["steps"][1]["xml"].startswith("<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">")' "--as hostdev: a plain <hostdev>"

# Refusals.
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --mac 52:54:00:6b:3c:01
expect_rc 6 "a MAC vm1 uses"
expect_err "MAC 52:54:00:6b:3c:01: domain vm1 uses it already" "a MAC vm1 uses: message"
expect_err "hint: give another with --mac, or --mac auto" "a MAC vm1 uses: hint"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf 0
expect_rc 6 "VF 0 (held by running vm1)"
expect_err "0000:3b:10.0: held by vm1" "VF 0: names the holder"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf 2
expect_rc 6 "VF 2 (web1 and web2)"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf 7
expect_rc 3 "a VF that is not enabled"
expect_err "no VF 7 \(4 enabled, 8 at most\)" "VF 7: message"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --trust on
expect_rc 5 "--trust on a tree: no netlink"
expect_err "--trust is set on the PF through netlink" "--trust: message"
expect_err "hint: .*ip link set dev enp59s0f0 vf 1 trust on" "--trust: the command by hand"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --mac 01:00:5e:00:00:01
expect_rc 2 "a multicast MAC"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --vlan 4095
expect_rc 2 "VLAN 4095"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --vf auto --as hostdev --vlan 5
expect_rc 2 "--as hostdev with --vlan"
run "${L[@]}" "${A[@]}" --vf auto
expect_rc 2 "--vf without --pf"
expect_err "go with --pf" "--vf without --pf: message"
run "${L[@]}" "${A[@]}" --pf enp59s0f0 --group 26
expect_rc 2 "--pf with --group"
run "${L[@]}" "${A[@]}" --pf enp59s0f0
expect_rc 2 "--pf without --vf"
run "${L[@]}" "${A[@]}" --pf eno1 --vf auto
expect_rc 2 "--pf on a NIC without SR-IOV"

# ---- vpass sriov on copies ----
attr="$TMP/lab/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
run "${L[@]}" sriov --pf enp59s0f0 --numvfs 8
expect_rc 6 "sriov on the lab: VFs are assigned"
expect_err "changing the VF count removes every current VF, and VF 0 \(0000:3b:10.0\) is assigned: in the definition of vm1" "sriov: names the assigned VF"
if [ "$(cat "$attr")" = 4 ]; then ok; else fail "sriov refused: sriov_numvfs unchanged"; fi
run "${L[@]}" sriov --pf enp59s0f0 --numvfs 9
expect_rc 2 "sriov beyond sriov_totalvfs"
expect_err "9 VFs asked, the PF supports 8 \(sriov_totalvfs\)" "sriov beyond total: message"
run "${L[@]}" sriov --pf enp59s0f0 --numvfs 4 --json
expect_rc 0 "sriov: the same count"
expect_json 'd["noop"] is True and d["writes"] == [] and d["changed"] is False' "sriov: the same count is a no-op"

cp -a "$VPASS_FIXTURES/sysfs/sriov-host" "$TMP/sh"
S=(-c test:///default --root "$TMP/sh")
sattr="$TMP/sh/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"
rule="$TMP/sh/etc/udev/rules.d/70-vpass-sriov-0000:01:00.0.rules"
run "${S[@]}" vfs --json
expect_json 'd[0]["interface"] == "ens1f0" and d[0]["current_vfs"] == 2 and [v["state"] for v in d[0]["vfs"]] == ["free", "free"]' "sriov-host: two free VFs"
run "${S[@]}" sriov --pf ens1f0 --numvfs 6 --persist --dry-run
expect_rc 0 "sriov --dry-run"
expect_out "ens1f0 \(0000:01:00.0\): 2 -> 6 VFs \(of 8\), nothing changed: --dry-run" "sriov --dry-run: the change"
expect_out "^  write 0 to $TMP/sh/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs \(the kernel changes a non-zero count only from 0\)$" "sriov --dry-run: 0 first"
expect_out "^  write 6 to " "sriov --dry-run: then 6"
expect_out "^  udev rule $TMP/sh/etc/udev/rules.d/70-vpass-sriov-0000:01:00.0.rules:$" "sriov --dry-run: the rule's path"
expect_out '^    ACTION=="bind", SUBSYSTEM=="pci", KERNEL=="0000:01:00.0", DRIVER=="virtio-pci", ATTR\{sriov_numvfs\}="6"$' "sriov --dry-run: the rule"
if [ "$(cat "$sattr")" = 2 ] && [ ! -e "$rule" ]; then ok; else fail "sriov --dry-run changed nothing"; fi
run "${S[@]}" sriov --pf ens1f0 --numvfs 6 --persist --json
expect_rc 0 "sriov 2 -> 6 --persist"
expect_json 'd["writes"] == [0, 6] and d["changed"] is True and d["udev_rule"]["content"].endswith("ATTR{sriov_numvfs}=\"6\"\n")' "sriov --json: writes and rule"
if [ "$(head -1 "$sattr")" = 6 ]; then ok; else fail "sriov: the copy's sriov_numvfs holds 6, has '$(cat "$sattr")'"; fi
if grep -qx 'ACTION=="bind", SUBSYSTEM=="pci", KERNEL=="0000:01:00.0", DRIVER=="virtio-pci", ATTR{sriov_numvfs}="6"' "$rule"; then ok; else fail "sriov --persist: the rule file"; fi
run "${S[@]}" sriov --pf ens1f0 --numvfs 0 --persist
expect_rc 0 "sriov 0 --persist"
if [ ! -e "$rule" ]; then ok; else fail "sriov --numvfs 0 --persist removes the rule"; fi
if [ "$(head -1 "$sattr")" = 0 ]; then ok; else fail "sriov 0: the copy holds 0"; fi
if [ -e "$TMP/sh/run/vpass/lock" ]; then ok; else fail "sriov takes the change lock under the root"; fi

finish
