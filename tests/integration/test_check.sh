#!/usr/bin/env bash
# vpass check: the pre-flight survey on the lab host and on this machine's real /sys.
. "$(dirname "$0")/lib.sh"
V=(-c "$LAB_URI" --root "$LAB_ROOT")
codes() { printf '%s' "$out" | python3 -c 'import json,sys; print(" ".join(sorted({f["code"] for f in json.load(sys.stdin)["findings"]})))'; }

# Host readiness only.
run "${V[@]}" check --json
expect_rc 0 "host readiness on the lab"
expect_json 'd["verdict"] in ("ok", "info", "warn") and d["devices"] == [] and d["group"] is None' "nothing selected, nothing blocks"
expect_json 'any(f["code"] == "iommu-ok" for f in d["findings"])' "the lab's IOMMU is on"
expect_json 'not any(f["code"] == "irq-remap-off" for f in d["findings"])' "interrupt remapping is on in the lab"

# The seeds' card, whole group, into a q35 domain: ready, with the migration warning.
run "${V[@]}" check --group 26 --domain vm1 --json
expect_rc 0 "group 26 for vm1"
expect_json 'd["group"] == 26 and d["devices"] == ["0000:18:00.0", "0000:18:00.1"] and d["domain"] == "vm1"' "the target is echoed"
expect_json 'd["blocking"] == 0 and d["verdict"] == "warn"' "nothing blocks"
expect_json 'any(f["code"] == "group-complete" and f["severity"] == "ok" for f in d["findings"])' "the group is complete"
expect_json 'any(f["code"] == "machine-q35" for f in d["findings"]) and any(f["code"] == "no-migration" for f in d["findings"])' "domain checks ran"
expect_json 'all(set(f) == {"code","severity","subject_type","subject","message","fix","overridable"} for f in d["findings"])' "every finding has the documented keys"

run "${V[@]}" check --group 26 --domain vm1
expect_rc 0 "group 26 for vm1 (human)"
expect_out '^Group 26$' "a section per subject"
expect_out '^  ok +group-complete' "one line per finding"
expect_out '^Verdict: ready, with 1 warning$' "ends with a verdict"

# One port of the pair: the other must be isolated (warn, not block).
run "${V[@]}" check --device 18:00.1 --domain vm1 --json
expect_rc 0 "one function of group 26"
expect_json 'any(f["code"] == "group-isolate" and f["subject"] == "0000:18:00.0" for f in d["findings"])' "the sibling will be isolated"

# The management NIC carries the default route through br0: blocked, overridable.
run "${V[@]}" check --device eno1 --json
expect_rc 6 "the management NIC is blocked (exit 6)"
expect_json 'any(f["code"] == "host-critical-netdev" and f["severity"] == "block" and f["overridable"] for f in d["findings"])' "host-critical-netdev blocks, overridable"
expect_json 'd["verdict"] == "block" and d["blocking"] >= 1' "verdict block"

# The root filesystem's NVMe.
run "${V[@]}" check --device 5e:00.0
expect_rc 6 "the root NVMe is blocked"
expect_out 'block +host-critical-storage' "host-critical-storage"

# A device another domain holds: never overridable.
run "${V[@]}" check --device 3b:10.0 --domain vm2 --json
expect_rc 6 "vm1's VF for vm2"
expect_json 'any(f["code"] == "owned-by-other-domain" and not f["overridable"] for f in d["findings"])' "owned by another domain, not overridable"

# The SAS HBA's group has a firmware (RMRR) direct region: blocked.
run "${V[@]}" check --device 04:00.0 --json
expect_rc 6 "RMRR direct region"
expect_json 'any(f["code"] == "rmrr-direct" for f in d["findings"])' "rmrr-direct"

# Conventional PCI behind the PCIe-to-PCI bridge: INTx only.
run "${V[@]}" check --device 07:08.0 --json
expect_json '{"conventional-pci", "intx-only"} <= {f["code"] for f in d["findings"]}' "conventional PCI, INTx only"

# A bridge cannot be assigned.
run "${V[@]}" check --device 06:00.0
expect_rc 6 "a bridge selected"
expect_out 'bridge-selected' "bridge-selected"

# The GPU into the OVMF domain: MMIO window and firmware.
run "${V[@]}" check --device 41:00.0 --device 41:00.1 --domain gpuvm --json
expect_json 'any(f["code"] == "firmware-efi" for f in d["findings"]) and any(f["code"].startswith("mmio64") for f in d["findings"])' "firmware and MMIO window checked"

# Bad input.
run "${V[@]}" check --group 26 --device 18:00.0;  expect_rc 2 "--group and --device"
run "${V[@]}" check --group 99;                   expect_rc 3 "no such group"
run "${V[@]}" check --group 26 --domain nosuchvm; expect_rc 3 "no such domain"
expect_err "domain 'nosuchvm': no such domain" "unknown domain named"
run "${V[@]}" check --device 18:00.9;             expect_rc 2 "bad address"
run "${V[@]}" check 26;                            expect_rc 2 "positional argument"

# Over the test driver alone (libvirt source): no config space, so those checks are skipped.
run -c "$LAB_URI" --source libvirt check --group 26 --json
expect_rc 0 "libvirt source"
expect_json 'any(f["code"] == "config-unavailable" for f in d["findings"]) and any(f["code"] == "host-remote" for f in d["findings"])' "facts unavailable: skipped, not guessed"

# This machine's real /sys: its NIC carries the default route, and there is no IOMMU.
export LIBVIRT_DEFAULT_URI="qemu+unix:///system?socket=$TMP/no-daemon"
defif=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route)
if [ -n "$defif" ]; then
  run --source sysfs check --device "$defif" --json
  expect_rc 6 "this machine's default-route NIC ($defif)"
  expect_json "any(f['code'] == 'host-critical-netdev' and '$defif' in f['message'] for f in d['findings'])" "host-critical-netdev names $defif"
  expect_json 'any(f["code"] == "iommu-off" for f in d["findings"])' "no IOMMU on this machine"
fi

finish
