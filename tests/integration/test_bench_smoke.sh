#!/usr/bin/env bash
# The benchmark harness still works: bench/gen_host.py makes a tiny host whose two views agree,
# and bench/run.py --quick (a private libvirtd, one repetition) writes a results table with
# every way's row. Timings are never asserted.
. "$(dirname "$0")/lib.sh"
: "${VPASS_SOURCE_DIR:?run through ctest}"

BENCH="$VPASS_SOURCE_DIR/bench"

# The generator: a tiny host, checked by gen_lab's own consistency checks.
out=$(python3 "$BENCH/gen_host.py" --devices 60 --domains 20 --out "$TMP/host" --check 2>&1); rc=$?
err=""
expect_rc 0 "gen_host.py writes and checks a tiny host"
expect_out "60 PCI functions" "gen_host.py reports the functions it made"
for f in host.xml pci.txt domains.txt meta.json root/sys/bus/pci/devices; do
  if [ -e "$TMP/host/$f" ]; then ok; else fail "gen_host.py made no $f"; fi
done
n=$(wc -l < "$TMP/host/pci.txt")
if [ "$n" -eq 60 ]; then ok; else fail "pci.txt lists $n devices, not 60"; fi
n=$(find "$TMP/host/root/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 | wc -l)
if [ "$n" -eq 60 ]; then ok; else fail "the sysfs twin has $n devices, not 60"; fi
if grep -q "<capability type='virt_functions' maxCount='64'>" "$TMP/host/host.xml"; then ok
else fail "host.xml has no SR-IOV PF with 64 VFs"; fi

# The runner in quick mode: the tiny host over a private libvirtd, one repetition.
if command -v libvirtd >/dev/null || [ -x /usr/sbin/libvirtd ]; then
  out=$(python3 "$BENCH/run.py" --quick --vpass "$VPASS" --out "$TMP/results.md" 2>&1); rc=$?
  expect_rc 0 "run.py --quick"
  out=$(cat "$TMP/results.md" 2>/dev/null)
  expect_out "^# vpass inventory benchmarks" "results title"
  expect_out "^python3 bench/run.py" "results name the command that regenerates them"
  expect_out "^\| [0-9]+ \| .* \| .* GiB \|" "machine row (nproc, CPU, memory)"
  expect_out "^\| tiny \| 60 \| " "host row"
  for way in "connect only" "RPC floor: PCI \+ domain XML" "RPC floor, vpass's document set" \
             "vpass groups --json \(--source libvirt\)" "vpass, same, VPASS_VIRT_THREADS=1" \
             "vpass groups, text output" "vpass groups --json \(--source sysfs\)" \
             "one virsh, all dumps on stdin" \
             "seeds' way"; do
    expect_out "^\| $way[^|]* \| [0-9.]+ \|" "a timed row for: $way"
  done
  expect_no_out "failed:" "no way failed"
  # RPC counts: the floor makes 1 open + lists + one call per PCI device and per domain
  expect_out "^\| RPC floor: PCI \+ domain XML, sequential \|.*\| [0-9]+ \|$" \
    "RPC count of the floor"
  # The round trips of a selection's part of the host, with and without the sysfs twin.
  expect_out "^\| \`check --json --group G --domain D\` \| yes \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$" \
    "RPC count of check --group with sysfs"
  expect_out "^\| \`attach --dry-run --device VF --domain D\` \| no \| [0-9]+ \|" \
    "RPC count of attach --dry-run"
  # The hook: prepare and release of both domains, each checked on the tree after the run.
  for run in "prepare, [a-z0-9]+: its VF alone" "release, [a-z0-9]+: its VF alone" \
             "prepare, [a-z0-9]+: a sibling on a host driver, isolated" \
             "release, [a-z0-9]+: a sibling on a host driver, isolated"; do
    expect_out "^\| \`vpass-hook\` $run[^|]* \| [0-9.]+ \|" "a timed hook row: $run"
  done
  expect_out "^## Targets" "targets section"
else
  echo "SKIP-FAIL: libvirtd not installed (scripts/install-deps.sh installs libvirt-daemon)" >&2
  failures=$((failures + 1))
fi

finish
