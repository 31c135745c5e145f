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
