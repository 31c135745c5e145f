#!/usr/bin/env bash
# check and attach --dry-run read only their selection's part of the host over RPC (the groups,
# the domain's devices, every domain for the ledger), and say the same as with the whole host.
# The calls are counted from libvirt's client log, against a private libvirtd serving the lab.
. "$(dirname "$0")/lib.sh"

# rpc ARGS...: run vpass with libvirt's RPC log; $out, $err, $rc as run() sets them, $calls the
# RPC calls made, $nodedev_xml the node-device documents fetched and $domain_xml the domain
# ones (remote_protocol.x: REMOTE_PROC_NODE_DEVICE_GET_XML_DESC = 114,
# REMOTE_PROC_DOMAIN_GET_XML_DESC = 14). Each call logs one RPC_CLIENT_MSG_TX_QUEUE, type=0.
rpc() {
  local log="$TMP/rpc.log"
  rm -f "$log"
  out=$(LIBVIRT_LOG_FILTERS="1:rpc" LIBVIRT_LOG_OUTPUTS="1:file:$log" "$VPASS" "$@" 2>"$TMP/stderr")
  rc=$?
  err=$(cat "$TMP/stderr")
  calls=$(grep RPC_CLIENT_MSG_TX_QUEUE "$log" | grep -c ' type=0 ')
  nodedev_xml=$(grep RPC_CLIENT_MSG_TX_QUEUE "$log" | grep ' type=0 ' | grep -c ' proc=114 ')
  domain_xml=$(grep RPC_CLIENT_MSG_TX_QUEUE "$log" | grep ' type=0 ' | grep -c ' proc=14 ')
}

expect_le() { # expect_le A B DESCRIPTION
  if [ "$1" -le "$2" ]; then ok; else fail "$3: $1 > $2"; fi
}

same_as_whole() { # same_as_whole DESCRIPTION: $out and $err equal $whole_out and $whole_err
  if [ "$out" = "$whole_out" ] && [ "$err" = "$whole_err" ] && [ "$rc" = "$whole_rc" ]; then
    ok
  else
    fail "$1: differs from the whole host's"
    diff <(printf '%s\n' "$whole_out") <(printf '%s\n' "$out") | head -20 >&2
  fi
}

if start_libvirtd; then
  URI="test+unix://$VPASS_LAB/host.xml?socket=$SOCK"
  L=(-c "$URI" --source libvirt)

  # The whole host: every PCI node device and every net device, every domain.
  rpc "${L[@]}" groups --json
  expect_rc 0 "groups over RPC"
  all_calls=$calls all_nodedev=$nodedev_xml all_domain=$domain_xml
  n_pci=$(printf '%s' "$out" | python3 -c 'import json,sys; print(sum(len(g["devices"]) for g in json.load(sys.stdin)))')
  expect_le "$n_pci" "$all_nodedev" "groups fetches every PCI node device"

  # A group by number needs sysfs (no libvirt call lists a group): without --root, the whole
  # host; with --root (sysfs of the host), the group's two functions and the domain's VF.
  for cmd in "check --json --group 26 --domain vm1" "check --group 26 --domain vm1" \
             "attach --dry-run --json --group 26 --domain gpuvm"; do
    read -ra A <<<"$cmd"
    rpc "${L[@]}" "${A[@]}"
    whole_out=$out whole_err=$err whole_rc=$rc
    expect_le "$all_nodedev" "$nodedev_xml" "$cmd without sysfs reads the whole host"
    rpc "${L[@]}" --root "$LAB_ROOT" "${A[@]}"
    same_as_whole "$cmd with --root"
    expect_le "$nodedev_xml" 3 "$cmd: node devices of group 26 and the domain's VF only"
    expect_le "$all_domain" "$domain_xml" "$cmd: every domain is read for the ledger"
    expect_le "$calls" $((all_calls - all_nodedev + 3 + 6)) "$cmd: O(group + domains) calls"
  done

  # A device by address or interface: its group from its own XML, without sysfs. The test
  # driver names no drivers, so the interfaces cost the net devices (not on a real daemon:
  # only when a selected function is on a host driver).
  rpc "${L[@]}" --root "$LAB_ROOT" check --json --device 18:00.1 --domain vm1
  expect_rc 0 "check --device 18:00.1"
  whole_out=$out whole_err=$err whole_rc=$rc
  expect_json 'any(f["code"] == "group-isolate" and f["subject"] == "0000:18:00.0" for f in d["findings"])' "the sibling comes with the device"
  for sel in 18:00.1 pci_0000_18_00_1 eno4; do
    rpc "${L[@]}" check --json --device "$sel" --domain vm1
    same_as_whole "check --device $sel (no sysfs)"
    expect_le "$((nodedev_xml + 1))" "$all_nodedev" "check --device $sel reads fewer node devices"
    rpc "${L[@]}" --root "$LAB_ROOT" check --json --device "$sel" --domain vm1
    same_as_whole "check --device $sel (sysfs)"
    expect_le "$nodedev_xml" 3 "check --device $sel with sysfs: its group and vm1's VF"
  done

  # attach --dry-run of a VF by address (the bench's row), and by --pf: the PF and its VFs.
  rpc "${L[@]}" --root "$LAB_ROOT" attach --dry-run --json --device 3b:10.2 --domain gpuvm
  expect_rc 0 "attach --dry-run a VF"
  expect_json '"0000:3b:10.2" in json.dumps(d)' "the plan names the VF"
  expect_le "$nodedev_xml" 1 "attach --dry-run --device: the VF alone"
  rpc "${L[@]}" --root "$LAB_ROOT" attach --dry-run --json --pf 3b:00.0 --vf auto --domain gpuvm
  expect_rc 0 "attach --dry-run --pf --vf auto"
  expect_le "$nodedev_xml" 6 "--pf: the PF and its 4 VFs (and its group)"

  # What the whole host would say when nothing is found.
  rpc "${L[@]}" check --group 99
  whole_out=$out whole_err=$err whole_rc=$rc
  rpc "${L[@]}" --root "$LAB_ROOT" check --group 99
  expect_rc 3 "no group 99"
  same_as_whole "check --group 99"
  rpc "${L[@]}" check --device 77:00.0
  whole_out=$out whole_err=$err whole_rc=$rc
  expect_rc 3 "no device 77:00.0"
  expect_err "0000:77:00.0: no such PCI device" "the device is named"
  expect_le "$nodedev_xml" 0 "an absent device costs no document"
fi

finish
