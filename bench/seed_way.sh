#!/usr/bin/env bash
# The seeds' way to inventory groups and owners: one virsh per PCI device and one per domain,
# xmllint to pull out the group and the assigned addresses.
#   bench/seed_way.sh URI DEVICE_NAMES_FILE DOMAIN_NAMES_FILE
# (`virsh nodedev-list --cap pci` would give the names, but it fails on libvirt's test
# driver, so the names come from the generator's pci.txt.)
set -u
uri=$1 devices=$2 domains=$3

while read -r name; do
  xml=$(virsh -c "$uri" nodedev-dumpxml "$name") || continue
  group=$(printf '%s\n' "$xml" | xmllint --xpath 'string(/device/capability/iommuGroup/@number)' -)
  echo "$name group $group"
done < "$devices"

while read -r dom; do
  xml=$(virsh -c "$uri" dumpxml "$dom") || continue
  addrs=$(printf '%s\n' "$xml" | xmllint --xpath \
    "//hostdev[@type='pci']/source/address | //interface[@type='hostdev']/source/address" - \
    2>/dev/null)
  echo "$dom ${addrs:-none}"
done < "$domains"
