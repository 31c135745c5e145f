#!/usr/bin/env bash
# SR-IOV against the real QEMU driver, embedded (qemu:///embed?root=$TMP/embed), with the lab's
# sysfs twin copied as the root: libvirt accepts and stores the <interface type='hostdev'> vpass
# writes; a second run changes nothing; detach gives the definition back byte for byte; the MAC
# is the same on every attach; two `--vf auto` processes at once get different VFs; the NUMA
# rule refuses a VM pinned to the other node.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/embed_lib.sh"

if ! embed_start; then
  finish
  exit 1
fi

mkdir -p "$TMP/domains"
python3 "$VPASS_LAB_SOURCE/embed_lab.py" "$VPASS_LAB/host.xml" "$TMP/domains" >/dev/null
# vm1 holds VF 0 (interface), db1 VF 3; web1/web2 are left out, so VFs 1 and 2 are free.
for n in vm1 db1 gpuvm vm2; do
  if embed_define "$TMP/domains/$n.xml"; then ok; else fail "define $n"; fi
done
# A VM pinned to CPUs 6-11: the lab's second NUMA node (the PF is on node 0, CPUs 0-5,12-17).
sed -e 's:<name>gpuvm</name>:<name>pinned</name>:' \
  -e 's:<uuid>[^<]*</uuid>:<uuid>5e1d7c2a-3b4f-4e6a-9c8d-7f6e5d4c3b2a</uuid>:' \
  -e "s:<vcpu placement='static'>4</vcpu>:<vcpu placement='static' cpuset='6-11'>4</vcpu>:" \
  "$TMP/domains/gpuvm.xml" >"$TMP/domains/pinned.xml"
if grep -q "cpuset='6-11'" "$TMP/domains/pinned.xml" && embed_define "$TMP/domains/pinned.xml"; then ok; else fail "define pinned"; fi
# A third VM, not pinned.
sed -e 's:<name>gpuvm</name>:<name>spare</name>:' \
  -e 's:<uuid>[^<]*</uuid>:<uuid>6f2e8d3b-4c5a-4f7b-8d9e-8a7f6e5d4c3b</uuid>:' \
  "$TMP/domains/gpuvm.xml" >"$TMP/domains/spare.xml"
if embed_define "$TMP/domains/spare.xml"; then ok; else fail "define spare"; fi

cp -a "$LAB_ROOT" "$TMP/root"
V=(-c "$EMBED_URI" --source sysfs --root "$TMP/root")

# iface XML EXPR DESC: EXPR over `i`, the list of <interface type='hostdev'> as dicts.
iface() {
  local res
  res=$(printf '%s' "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.stdin.read())
i = []
for e in d.findall("./devices/interface[@type=\"hostdev\"]"):
    a = e.find("./source/address")
    m = e.find("./mac")
    t = e.find("./vlan/tag")
    i.append({"addr": "%04x:%02x:%02x.%x" % tuple(int(a.get(k), 0) for k in ("domain", "bus", "slot", "function")),
              "mac": m.get("address") if m is not None else None,
              "vlan": int(t.get("id")) if t is not None else None,
              "managed": e.get("managed")})
ns = {"v": "urn:vpass:domain:1"}
recs = [(r.tag.split("}")[1], dict(r.attrib)) for r in d.findall("./metadata/v:vpass/*", ns)]
try:
    ok = eval(sys.argv[1])
except Exception as e:
    print("error: %r" % e); sys.exit(0)
print("yes" if ok else "no")
' "$2" 2>&1)
  if [ "$res" = yes ]; then ok; else fail "$3: ($2): $res"; fi
}

# ---- attach, again, detach ----
before=$(inactive_xml gpuvm)
run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf auto --mac auto --vlan 100 --config --dry-run
expect_rc 0 "gpuvm: attach --dry-run"
expect_same_xml "$before" "$(inactive_xml gpuvm)" "gpuvm: --dry-run changes nothing"

run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf auto --mac auto --vlan 100 --config --json
expect_rc 0 "gpuvm: attach --pf --vf auto --mac auto --vlan 100"
expect_json 'd["changed"] is True and [s["address"] for s in d["steps"] if s["kind"] == "attach"] == ["0000:3b:10.2"]' "gpuvm: VF 1 (the first free)"
after=$(inactive_xml gpuvm)
expect_valid_xml "$after" "gpuvm: libvirt's schema accepts the interface"
iface "$after" 'len(i) == 1 and i[0]["addr"] == "0000:3b:10.2" and i[0]["vlan"] == 100 and i[0]["managed"] == "yes"' "gpuvm: libvirt keeps the interface, its VF and VLAN"
iface "$after" 'i[0]["mac"] == "02:d3:b9:4e:c5:5a"' "gpuvm: the derived MAC (docs/sriov.md)"
iface "$after" '("device", {"address": "0000:3b:10.2", "kind": "interface"}) in recs' "gpuvm: vpass's record says interface"
mac_first=$(printf '%s' "$after" | sed -n "s:.*<mac address='\([^']*\)'/>.*:\1:p" | head -1)

run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf auto --mac auto --vlan 100 --config
expect_rc 0 "gpuvm: second attach"
expect_out "Nothing to do: gpuvm already holds VF 1 \(0000:3b:10.2\) of enp59s0f0" "gpuvm: second attach is a no-op"
expect_same_xml "$after" "$(inactive_xml gpuvm)" "gpuvm: second attach changes nothing"

run "${V[@]}" vfs --json
expect_json '[v["state"] for v in d[0]["vfs"]] == ["assigned", "assigned", "free", "assigned"] and d[0]["vfs"][1]["owners"] == ["gpuvm"]' "vfs: VF 1 now gpuvm's"

run "${V[@]}" detach --domain gpuvm --pf enp59s0f0 --vf 1 --config
expect_rc 0 "gpuvm: detach --pf --vf 1"
expect_same_xml "$before" "$(inactive_xml gpuvm)" "gpuvm: attach then detach leaves the definition identical"

# The MAC is the same on every attach of the same VF to the same VM.
run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf 1 --mac auto --config
expect_rc 0 "gpuvm: attach VF 1 again"
mac_again=$(inactive_xml gpuvm | sed -n "s:.*<mac address='\([^']*\)'/>.*:\1:p" | head -1)
if [ -n "$mac_first" ] && [ "$mac_first" = "$mac_again" ]; then ok; else fail "MAC stable across attaches ('$mac_first' then '$mac_again')"; fi
run "${V[@]}" detach --domain gpuvm --pf enp59s0f0 --config
expect_rc 0 "gpuvm: detach every VF of the PF"
expect_same_xml "$before" "$(inactive_xml gpuvm)" "gpuvm: identical again"

# A MAC another domain has: refused, nothing written.
run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf auto --mac 52:54:00:6b:3c:01 --config
expect_rc 6 "a MAC vm1 uses"
expect_same_xml "$before" "$(inactive_xml gpuvm)" "a refused MAC changes nothing"

# ---- two --vf auto at once: the lock, and a pick made under it ----
# attach_auto DOMAIN TAG: one `attach --vf auto` (exit status in $TMP/TAG.rc). The embedded
# driver keeps its pid file (root/run/qemu/driver.pid) until its process exits, a moment after
# vpass released its lock: a run that starts in that moment cannot connect (and changes
# nothing). Only that is retried; every run picks its VF under the lock.
attach_auto() {
  local i rc
  for i in 1 2 3 4 5; do
    "$VPASS" "${V[@]}" attach --domain "$1" --pf enp59s0f0 --vf auto --mac auto --config \
      >"$TMP/$2.out" 2>"$TMP/$2.err"
    rc=$?
    if [ $rc -ne 0 ] && grep -q "Failed to acquire pid file" "$TMP/$2.err"; then
      sleep 0.2
      continue
    fi
    break
  done
  echo $rc >"$TMP/$2.rc"
}
vm2_before=$(inactive_xml vm2)
for round in 1 2 3; do
  attach_auto gpuvm a &
  pa=$!
  attach_auto vm2 b &
  pb=$!
  wait $pa
  wait $pb
  ra=$(cat "$TMP/a.rc")
  rb=$(cat "$TMP/b.rc")
  if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then ok; else fail "round $round: both attaches succeed ($ra: $(tail -1 "$TMP/a.err"); $rb: $(tail -1 "$TMP/b.err"))"; fi
  a=$(inactive_xml gpuvm | grep -o "bus='0x3b' slot='0x10' function='0x[0-9]'" | sort -u)
  b=$(inactive_xml vm2 | grep -o "bus='0x3b' slot='0x10' function='0x[0-9]'" | sort -u)
  if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then ok; else fail "round $round: different VFs (gpuvm: $a; vm2: $b)"; fi
  if [ "$(printf '%s\n%s\n' "$a" "$b" | sort | tr '\n' ' ')" = "bus='0x3b' slot='0x10' function='0x2' bus='0x3b' slot='0x10' function='0x4' " ]; then ok; else fail "round $round: VFs 1 and 2 are the ones given"; fi
  # A third VM finds none left.
  run "${V[@]}" attach --domain spare --pf enp59s0f0 --vf 3 --config --dry-run
  expect_rc 6 "round $round: VF 3 is db1's"
  run "${V[@]}" detach --domain gpuvm --pf enp59s0f0 --config
  expect_rc 0 "round $round: detach gpuvm"
  run "${V[@]}" detach --domain vm2 --pf enp59s0f0 --config
  expect_rc 0 "round $round: detach vm2"
done
expect_same_xml "$before" "$(inactive_xml gpuvm)" "after the rounds: gpuvm identical"
expect_same_xml "$vm2_before" "$(inactive_xml vm2)" "after the rounds: vm2 identical"
if [ -e "$TMP/root/run/vpass/lock" ]; then ok; else fail "the change lock is under the root"; fi

# Both VFs given: a third --vf auto finds none.
run "${V[@]}" attach --domain gpuvm --pf enp59s0f0 --vf 1 --config
run "${V[@]}" attach --domain vm2 --pf enp59s0f0 --vf 2 --config
run "${V[@]}" attach --domain spare --pf enp59s0f0 --vf auto --config
expect_rc 3 "no free VF left"
expect_err "enp59s0f0: no free VF \(4 of 8 enabled" "no free VF: message"
expect_err "hint: create more with: vpass sriov --pf enp59s0f0 --numvfs 8" "no free VF: hint"
run "${V[@]}" detach --domain gpuvm --pf enp59s0f0 --config
run "${V[@]}" detach --domain vm2 --pf enp59s0f0 --config

# ---- NUMA: pinned to node 1, the PF on node 0 ----
run "${V[@]}" attach --domain pinned --pf enp59s0f0 --vf auto --config --dry-run
expect_rc 6 "pinned to the other node: --vf auto refuses"
expect_err "pinned's vCPUs are pinned to CPUs 6-11, but enp59s0f0's NUMA node has CPUs 0-5,12-17" "NUMA: message"
expect_err "hint: use a PF on that node, re-pin the domain, or take a VF anyway with --vf N" "NUMA: hint"
run "${V[@]}" attach --domain pinned --pf enp59s0f0 --vf 1 --config --dry-run
expect_rc 0 "pinned: a named VF is taken"
expect_err "note: pinned: VF 1 was named: taken although" "pinned: a note says so"

# ---- --as hostdev: libvirt takes a VF as a plain <hostdev> too ----
before=$(inactive_xml vm2)
run "${V[@]}" attach --domain vm2 --pf 0000:3b:00.0 --vf 2 --as hostdev --config
expect_rc 0 "vm2: --as hostdev"
expect_xml "$(inactive_xml vm2)" 'hostdevs(d)["0000:3b:10.4"]["managed"] == "yes"' "vm2: the VF as a <hostdev>"
expect_valid_xml "$(inactive_xml vm2)" "vm2 with a VF hostdev passes libvirt's schema"
run "${V[@]}" detach --domain vm2 --pf 0000:3b:00.0 --vf 2 --config
expect_rc 0 "vm2: detach the hostdev VF"
expect_same_xml "$before" "$(inactive_xml vm2)" "vm2: identical after detach"

finish
