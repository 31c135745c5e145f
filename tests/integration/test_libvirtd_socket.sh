#!/usr/bin/env bash
# The CLI against a real libvirtd over RPC (unix socket in a temp dir) serving the lab host
# through the test driver: devices from the node-device API, domains from the daemon.
. "$(dirname "$0")/lib.sh"

if start_libvirtd; then
  URI="test+unix://$VPASS_LAB/host.xml?socket=$SOCK"

  run -c "$URI" groups --json
  expect_rc 0 "groups over RPC"
  expect_json 'any(g["group"] == 26 and [x["address"] for x in g["devices"]] == ["0000:18:00.0", "0000:18:00.1"] for g in d)' "group 26 holds both BCM5720 ports"
  expect_json 'all(x["driver"] is None for g in d for x in g["devices"])' "the test driver reports no drivers"
  expect_json 'any(x["owners"] for g in d for x in g["devices"])' "the ledger holds the lab domains' devices"
  expect_json 'any(g["verdict"] == "conflict" for g in d)' "the duplicate VF of web1/web2 is a conflict"

  run -c "$URI" --source libvirt show 18:00.1
  expect_rc 0 "show a device over RPC"
  expect_out "^Device 0000:18:00.1 is in IOMMU group 26" "show names the device's group"
  expect_out "\\*0000:18:00.1" "show marks the device asked for"

  run -c "$URI" list --class net --json
  expect_rc 0 "list --class net over RPC"
  expect_json 'len(d) > 0 and all(x["class"].startswith("0x02") for x in d)' "only net devices"
  expect_json 'any("eno3" in x["netdevs"] for x in d)' "netdevs come from the net node devices"

  run -c "$URI" list --domain no-such-vm
  expect_rc 3 "list --domain of an unknown domain"
  expect_err "domain 'no-such-vm': no such domain" "unknown domain named"

  # A socket nobody listens on: a clean connection error, exit 4.
  run -c "test+unix://$VPASS_LAB/host.xml?socket=$TMP/nothing-here" groups
  expect_rc 4 "dead socket"
  expect_err "^vpass: error: .*cannot connect to libvirt" "dead socket message"
  expect_err "^hint: " "dead socket hint"
fi

finish
