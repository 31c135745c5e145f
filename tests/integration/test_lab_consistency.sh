#!/usr/bin/env bash
# The lab host's two faces agree: what libvirt's test driver serves from host.xml, the sysfs
# twin, and the README's group table (lab/gen_lab.py --check).
. "$(dirname "$0")/lib.sh"

out=$("$VPASS_LAB_CHECKER" "$VPASS_LAB/host.xml" "$TMP/dump" 2>&1); rc=$?; err=""
expect_rc 0 "libvirt's test driver loads and serves the lab host"
out=$(python3 "$VPASS_LAB_SOURCE/gen_lab.py" --out "$VPASS_LAB" --check --libvirt-dump "$TMP/dump" 2>&1); rc=$?
expect_rc 0 "host.xml, root/, libvirt's view and lab/README.md agree"

finish
