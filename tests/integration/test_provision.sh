#!/usr/bin/env bash
# attach / detach / xml: bad input and failure paths through the CLI, on the lab host.
. "$(dirname "$0")/lib.sh"

# A private copy of the lab: the change lock is taken under <root>/run/vpass.
cp -a "$LAB_ROOT" "$TMP/root"
# The lab host plus one transient (running, undefined-on-stop) domain.
sed 's#</node>#<domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0"><name>transient1</name><memory>1048576</memory><vcpu>1</vcpu><os><type arch="x86_64" machine="pc-q35-7.2">hvm</type></os><test:transient/></domain></node>#' \
  "$VPASS_LAB/host.xml" > "$TMP/host.xml"
V=(-c "test://$TMP/host.xml" --root "$TMP/root")

run "${V[@]}" attach --group 26 --config
expect_rc 2 "attach without --domain"; expect_err "which domain\\? \\(--domain NAME\\)" "names the missing option"
run "${V[@]}" attach --domain vm1 --config
expect_rc 2 "attach without a selection"
run "${V[@]}" attach --domain nosuchvm --group 26 --config
expect_rc 3 "unknown domain"; expect_err "domain 'nosuchvm': no such domain" "unknown domain message"
run "${V[@]}" attach --domain vm1 --group 99 --config
expect_rc 3 "unknown group"; expect_err "group 99: no such IOMMU group" "unknown group message"
run "${V[@]}" attach --domain vm1 --device 19:00.0 --config
expect_rc 3 "unknown device"
run "${V[@]}" attach --domain vm1 --group 26 --rom-file relative.rom --config
expect_rc 2 "relative ROM file"; expect_err "--rom-file 'relative.rom': must be an absolute path" "relative ROM file message"
run "${V[@]}" attach --domain vm1 --group 26 --rom-file "$TMP/missing.rom" --config
expect_rc 3 "missing ROM file"; expect_err "--rom-file '.*missing.rom': No such file or directory" "missing ROM file message"
run "${V[@]}" attach --domain vm1 --group 26 --no-rom --rom-bar on --config
expect_rc 2 "--no-rom with --rom-bar"; expect_err "--no-rom cannot be combined" "exclusive ROM options message"
run "${V[@]}" attach --domain vm1 --group 26 --mmio64 lots --config
expect_rc 2 "a size that does not parse"; expect_err "--mmio64" "the size option is named"
run "${V[@]}" attach --domain vm1 --group 26 --rom-bar maybe --config
expect_rc 2 "--rom-bar maybe"
run "${V[@]}" attach --domain transient1 --group 26 --config
expect_rc 5 "--config on a transient domain"; expect_err "transient1: transient domain" "transient message"
run "${V[@]}" attach --domain vm2 --group 26 --live
expect_rc 5 "--live on a shut-off domain"; expect_err "vm2: not running" "shut-off message"
run "${V[@]}" xml --group 26 --format yaml
expect_rc 2 "unknown --format"

# Blocked by the pre-flight: the management NIC; --force passes, but not another's device.
run "${V[@]}" attach --domain vm2 --device eno1 --config --dry-run
expect_rc 6 "management NIC blocked"; expect_err "blocked: host-critical-netdev" "the block is printed"
expect_err "^hint: .*--force" "hint names --force"
run "${V[@]}" attach --domain vm2 --device 3b:10.0 --config --dry-run --force
expect_rc 6 "another domain's VF, even with --force"; expect_err "owned-by-other-domain" "owned-by-other-domain printed"

# --dry-run: the plan, exactly; nothing changes (the test driver could not attach anyway).
run "${V[@]}" attach --domain vm2 --group 26 --config --dry-run --json
expect_rc 0 "dry-run"
expect_json 'd["dry_run"] and not d["changed"] and [s["kind"] for s in d["steps"]] == ["attach", "attach", "set-metadata"]' "i440fx: two attaches and the record, no controller"
expect_json 'all(s["affect"] == ["config"] for s in d["steps"])' "every step affects the config"
expect_json '"<hostdev" in d["steps"][0]["xml"] and "bus=\"0x18\"" in d["steps"][0]["xml"]' "the step carries its XML"

# One port of group 26: the other port is isolated first (kept unassigned).
run "${V[@]}" attach --domain vm2 --device 18:00.1 --config --dry-run --json
expect_json 'd["steps"][0]["kind"] == "isolate" and d["steps"][0]["address"] == "0000:18:00.0" and d["steps"][0]["driver"] == "tg3"' "the sibling is isolated from tg3"

# A real failure at step 1 (libvirt's test driver has no attach): reported, rolled back, and
# the lock is released.
run "${V[@]}" attach --domain vm2 --group 26 --config
expect_rc 5 "apply fails on the test driver"
expect_err "vm2: step 1 of 3 \\(attach 0000:18:00.0 to vm2 \\(config\\)\\) failed: .*nothing to roll back" "the failure names the step and the rollback"
run "${V[@]}" attach --domain vm2 --group 26 --config --dry-run
expect_rc 0 "the lock was released"

# xml renders without a domain too.
run "${V[@]}" xml --group 26 --format qemu
expect_rc 0 "xml --format qemu"
expect_out '^-device vfio-pci,host=0000:18:00.0' "QEMU arguments"
run "${V[@]}" xml --device 41:00.0 --all-functions
expect_out 'bus="0x41" slot="0x00" function="0x1"' "--all-functions adds the GPU's audio function"

run "${V[@]}" detach --domain vm2 --group 26 --config
expect_rc 0 "detach of what the domain does not hold"
expect_out "Nothing to do" "detach says there is nothing to do"

finish
