# Helpers for the integration tests: run the CLI, check exit codes, output and JSON.
# Each test script sources this; the environment comes from ctest (tests/CMakeLists.txt).
set -u
: "${VPASS:?run through ctest}" "${VPASS_LAB:?}" "${VPASS_FIXTURES:?}"

failures=0
checks=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vpass-it.XXXXXX")
cleanup_hooks=()
at_exit() {
  local h
  for h in "${cleanup_hooks[@]}"; do eval "$h"; done
  rm -rf "$TMP"
}
trap at_exit EXIT

LAB_URI="test://$VPASS_LAB/host.xml"
LAB_ROOT="$VPASS_LAB/root"

# run ARGS...: runs vpass, capturing stdout in $out, stderr in $err and the exit code in $rc.
run() {
  out=$("$VPASS" "$@" 2>"$TMP/stderr"); rc=$?
  err=$(cat "$TMP/stderr")
}

fail() {
  failures=$((failures + 1))
  echo "FAIL: $*" >&2
  echo "  command output:" >&2; printf '%s\n' "$out" | head -20 | sed 's/^/    /' >&2
  echo "  stderr:" >&2; printf '%s\n' "$err" | head -10 | sed 's/^/    /' >&2
}

ok() { checks=$((checks + 1)); }

expect_rc() { # expect_rc CODE DESCRIPTION
  if [ "$rc" -eq "$1" ]; then ok; else fail "$2: exit $rc, expected $1"; fi
}

expect_out() { # expect_out REGEX DESCRIPTION
  if printf '%s\n' "$out" | grep -Eq -- "$1"; then ok; else fail "$2: stdout lacks /$1/"; fi
}

expect_no_out() {
  if printf '%s\n' "$out" | grep -Eq -- "$1"; then fail "$2: stdout has /$1/"; else ok; fi
}

expect_err() { # expect_err REGEX DESCRIPTION
  if printf '%s\n' "$err" | grep -Eq -- "$1"; then ok; else fail "$2: stderr lacks /$1/"; fi
}

expect_empty_out() {
  if [ -z "$out" ]; then ok; else fail "$1: stdout not empty"; fi
}

# expect_json PYTHON_EXPR DESCRIPTION: evaluates EXPR with `d` = the parsed stdout.
expect_json() {
  local res
  res=$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
expr = sys.argv[1]
try:
    ok = eval(expr)
except Exception as e:
    print("error: %r" % e); sys.exit(0)
print("yes" if ok else "no")
' "$1" 2>&1)
  if [ "$res" = "yes" ]; then ok; else fail "$2: JSON check failed ($1): $res"; fi
}

finish() {
  echo "$checks passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# start_libvirtd: a private libvirtd (root, or a session daemon otherwise) on a unix socket in
# $TMP; sets $SOCK. Only the built-in test driver is loaded (LIBVIRT_DRIVER_DIR points at an
# empty directory), so it never touches this machine's devices or domains. Stopped at exit.
start_libvirtd() {
  local d="$TMP/libvirtd" daemon
  daemon=$(command -v libvirtd || echo /usr/sbin/libvirtd)
  if [ ! -x "$daemon" ]; then
    echo "SKIP-FAIL: libvirtd not installed (scripts/install-deps.sh installs libvirt-daemon)" >&2
    failures=$((failures + 1)); return 1
  fi
  mkdir -p "$d/drivers" "$d/run" "$d/config" "$d/cache" "$d/data"
  cat > "$d/libvirtd.conf" <<CONF
unix_sock_dir = "$d/run"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
CONF
  XDG_RUNTIME_DIR="$d/run" XDG_CONFIG_HOME="$d/config" XDG_CACHE_HOME="$d/cache" \
    XDG_DATA_HOME="$d/data" LIBVIRT_DRIVER_DIR="$d/drivers" \
    "$daemon" --config "$d/libvirtd.conf" --pid-file "$d/pid" --timeout 120 \
    >"$d/log" 2>&1 &
  LIBVIRTD_PID=$!
  cleanup_hooks+=("kill $LIBVIRTD_PID 2>/dev/null; wait $LIBVIRTD_PID 2>/dev/null")
  SOCK="$d/run/libvirt-sock"
  local i
  for i in $(seq 1 100); do
    [ -S "$SOCK" ] && return 0
    if ! kill -0 "$LIBVIRTD_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "FAIL: libvirtd did not start; its log:" >&2; tail -5 "$d/log" >&2
  failures=$((failures + 1)); return 1
}

# ---- the VFIO lab's tiers (test_vfio_lab*.sh) ----

# lab_skip_or_fail RC WHAT: a runner's exit 77 (its guest cannot be built here) skips the test,
# except under CI=true, where it fails. Returns when RC is not 77.
lab_skip_or_fail() {
  [ "$1" -eq 77 ] || return 0
  if [ "${CI:-}" = true ]; then
    fail "$2 cannot be built here, and CI=true requires it"
    finish
    exit 1
  fi
  echo "SKIP: $2 cannot be built here (see above)" >&2
  exit 77
}

# lab_results OUT ERR FILES REQUIRED...: every "VPASS-LAB RESULT" line of OUT must say ok=1
# (a check each), and each REQUIRED result name must be there; WARN, TIME and KNOWN lines are
# shown. When a result failed, ERR (the runner's stderr) is shown, with FILES naming where the
# run's files are. Sets lab_bad to 1 when a result failed.
lab_results() {
  local out=$1 err=$2 files=$3 line name
  shift 3
  lab_bad=0
  while IFS= read -r line; do
    case "$line" in
    "VPASS-LAB RESULT "*" ok=1 "*) ok ;;
    "VPASS-LAB RESULT "*) failures=$((failures + 1)); lab_bad=1; echo "FAIL: $line" >&2 ;;
    "VPASS-LAB WARN "*) echo "warning: ${line#VPASS-LAB WARN }" >&2 ;;
    "VPASS-LAB TIME "*) echo "timing: ${line#VPASS-LAB TIME }" >&2 ;;
    "VPASS-LAB KNOWN "*) echo "known vpass issue (not counted as a failure): ${line#VPASS-LAB KNOWN }" >&2 ;;
    esac
  done <<<"$out"
  if [ "$lab_bad" -ne 0 ]; then
    echo "what the run said (files in $files):" >&2
    printf '%s\n' "$err" | grep -v '^vfio-lab: ' | head -80 >&2
  fi
  for name in "$@"; do
    expect_out "^VPASS-LAB RESULT name=$name ok=1 " "result $name"
  done
}
