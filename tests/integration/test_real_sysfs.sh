#!/usr/bin/env bash
# This machine's real /sys, read-only: a VM with virtio devices and no IOMMU.
. "$(dirname "$0")/lib.sh"

# No libvirt daemon runs here: point the default URI at nothing so the result does not depend
# on one; the sysfs source must still list devices and only warn about unknown owners.
export LIBVIRT_DEFAULT_URI="qemu+unix:///system?socket=$TMP/no-daemon"

run --source sysfs list --json
expect_rc 0 "list from the real /sys"
expect_json 'len(d) > 0' "devices are listed"
expect_json 'any(x["vendor_id"] == "0x1af4" for x in d)' "virtio devices (1af4) are listed"
expect_json 'all(x["group"] is None for x in d)' "no IOMMU groups on this VM"
expect_err "warning: .*domains unknown" "warns that owners are unknown"

run --source sysfs groups
expect_rc 0 "groups from the real /sys"
expect_out "No IOMMU groups on this host" "groups says there is no IOMMU"
expect_out "intel_iommu=on or amd_iommu=on" "groups says how to enable it"

run --source sysfs groups --json
expect_rc 0 "groups --json without IOMMU"
expect_json 'd == []' "an empty array"

# The NIC that carries the default route, found by its interface name.
defif=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route)
if [ -n "$defif" ] && [ -e "/sys/class/net/$defif/device" ]; then
  # The PCI function is the nearest PCI address on the device's path (virtio-net hangs a
  # virtioN device between them).
  addr=$(readlink -f "/sys/class/net/$defif/device" | tr '/' '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -1)
  run --source sysfs show "$defif" --json
  expect_rc 0 "show the default-route interface $defif"
  expect_json "d['device']['address'] == '$addr' and '$defif' in d['device']['netdevs']" "interface $defif resolves to $addr"
  run --source sysfs show 3
  expect_rc 3 "a group on a host without IOMMU"
  expect_err "is the IOMMU enabled" "no-IOMMU hint"
fi

# The explicit URI that fails is an error, not a warning.
run -c "qemu+unix:///system?socket=$TMP/no-daemon" --source sysfs list
expect_rc 4 "explicit -c that fails"

finish
