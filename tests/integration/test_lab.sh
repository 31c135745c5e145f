#!/usr/bin/env bash
# The CLI on the bundled lab host: devices from the sysfs twin, domains from the test driver.
. "$(dirname "$0")/lib.sh"
V=(-c "$LAB_URI" --root "$LAB_ROOT")

run "${V[@]}" groups --json
expect_rc 0 "groups --json"
expect_json 'len(d) == 31 and [g["group"] for g in d] == sorted(g["group"] for g in d)' "31 groups in order"
expect_json '[(x["address"], x["driver"], x["netdevs"]) for g in d if g["group"] == 26 for x in g["devices"]] == [("0000:18:00.0", "tg3", ["eno3"]), ("0000:18:00.1", "tg3", ["eno4"])]' "group 26: both BCM5720 ports on tg3"
expect_json '{g["group"]: g["verdict"] for g in d}[26] == "host"' "group 26 is on host drivers"
expect_json '{g["group"]: g["verdict"] for g in d}[27] == "in-use"' "vm1's VF is in use"
expect_json '{g["group"]: g["verdict"] for g in d}[29] == "conflict"' "the VF in web1 and web2 is a conflict"
expect_json '[x["owners"] for g in d if g["group"] == 29 for x in g["devices"]] == [["web1", "web2"]]' "conflict lists both owners"
expect_json '{g["group"]: g["verdict"] for g in d}[23] == "host"' "a shut-off owner does not make a group in-use"
expect_json 'all(g["verdict"] == "ready" for g in d if all(x["bridge"] for x in g["devices"]))' "bridge-only groups are ready"
expect_json '[x for g in d if g["group"] == 20 for x in g["devices"]][0]["bridge"] and {g["group"]: g["verdict"] for g in d}[20] == "host"' "a bridge does not spoil its group"
expect_json 'all(set(x) >= {"address","vendor_id","product_id","class","driver","owners","netdevs","physfn","vfs","numa_node","bridge","group"} for g in d for x in g["devices"])' "every documented key is present"

run "${V[@]}" groups
expect_rc 0 "groups (human)"
expect_out '^26 +host +0000:18:00\.0 +endpoint +Broadcom .*BCM5720.*\[14e4:165f\] +tg3 +eno3' "group 26 row"
expect_out '^ +0000:18:00\.1 ' "continuation row for the second port"
expect_out 'devices from sysfs under .*/lab/root, domains from test:///.*host\.xml \(6\)' "says which sources it used"
expect_no_out $'\033' "no colour when not on a terminal"

run "${V[@]}" groups --color always
expect_out $'\033\\[33mhost' "--color always colours verdicts"

run "${V[@]}" show 26
expect_rc 0 "show 26"
expect_out '^Group 26: host ' "show 26 headline"
expect_out 'driver +tg3' "show lists drivers"

for sel in 0000:18:00.1 18:00.1 pci_0000_18_00_1 eno4; do
  run "${V[@]}" show "$sel" --json
  expect_rc 0 "show $sel"
  expect_json 'd["device"]["address"] == "0000:18:00.1" and d["group"]["group"] == 26' "show $sel resolves to 0000:18:00.1 in group 26"
done

run "${V[@]}" show 3b:00.0 --json
expect_json 'd["device"]["vf_max"] == 8 and len(d["device"]["vfs"]) == 4' "the PF has 4 of 8 VFs"
run "${V[@]}" show 3b:10.0 --json
expect_json 'd["device"]["physfn"] == "0000:3b:00.0" and d["device"]["owners"] == ["vm1"] and d["device"]["in_use"]' "the VF knows its PF and owner"

run "${V[@]}" list --class net --json
expect_rc 0 "list --class net"
expect_json 'len(d) > 0 and all(x["class"].startswith("0x02") for x in d)' "only network devices"
expect_json '"0000:01:00.0" in [x["address"] for x in d]' "the management NIC is listed"
run "${V[@]}" list --class 0x0106 --json
expect_json '[x["address"] for x in d] == ["0000:00:1f.2"]' "hex class prefix selects the SATA controller"
run "${V[@]}" list --driver none --json
expect_json 'all(x["driver"] is None for x in d) and len(d) > 0' "--driver none"
run "${V[@]}" list --group 20 --json
expect_json 'len(d) == 3 and all(x["group"] == 20 for x in d)' "--group 20: bridge and two PCI devices"
run "${V[@]}" list --domain vm2 --json
expect_json '[x["address"] for x in d] == ["0000:5f:00.0"]' "--domain vm2 holds the second NVMe"
run "${V[@]}" list
expect_rc 0 "list (human)"
expect_out '^ADDRESS +GROUP +CLASS +DEVICE +DRIVER +NETDEV +NUMA +OWNER$' "list header"
expect_out '^0000:01:00\.0 +16 +net +Intel Corporation I210' "list row of the management NIC"

# Bad input: one clear line, the documented code, nothing on stdout.
run "${V[@]}" show 18:00.9;      expect_rc 2 "function 9";      expect_err "'18:00.9': not a PCI address" "function 9 message"; expect_empty_out "no output on error"
run "${V[@]}" show 19:00.0;      expect_rc 3 "absent device";   expect_err "0000:19:00.0: no such PCI device on this host" "absent device message"
run "${V[@]}" show 99;           expect_rc 3 "absent group";    expect_err "group 99: no such IOMMU group" "absent group message"
run "${V[@]}" show eth9;         expect_rc 3 "unknown interface"; expect_err "'eth9': no PCI device has this interface name" "unknown interface message"
run "${V[@]}" show 0000:18:00.0.1; expect_rc 2 "junk address"
run "${V[@]}" show "";           expect_rc 2 "empty selector"

run -c "$LAB_URI" --root "$TMP/nowhere" groups
expect_rc 3 "a --root without sysfs"
expect_err "nowhere/sys/bus/pci" "the missing path is named"

run -c "test:///$TMP/missing.xml" groups
expect_rc 4 "a test host file that does not exist"

# The libvirt source on the test driver: same groups and owners, but no drivers.
run -c "$LAB_URI" --source libvirt groups --json
expect_rc 0 "--source libvirt"
expect_json 'len(d) == 31 and {g["group"]: g["verdict"] for g in d}[29] == "conflict"' "libvirt source: same groups and conflict"
expect_json 'all(x["driver"] is None for g in d for x in g["devices"])' "the test driver reports no drivers"
expect_json '[x["netdevs"] for g in d if g["group"] == 26 for x in g["devices"]] == [["eno3"], ["eno4"]]' "netdevs from net node devices"

finish
