#!/usr/bin/env bash
# The command line itself: help for every command, version, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"

run --help
expect_rc 0 "--help"
for c in list groups show help; do expect_out "^  $c " "--help lists $c"; done
expect_out "Exit codes" "--help documents exit codes"

run --version
expect_rc 0 "--version"
expect_out '^vpass [0-9]+\.[0-9]+' "--version prints a version"

for c in list groups show; do
  run "$c" --help
  expect_rc 0 "$c --help"
  expect_out "^Usage: vpass $c" "$c --help usage line"
  expect_out "--connect URI" "$c --help shows the global options"
  run help "$c"
  expect_rc 0 "help $c"
  expect_out "^Usage: vpass $c" "help $c usage line"
done

run
expect_rc 2 "no command"
expect_err "vpass: error: no command given" "no command message"

run frobnicate
expect_rc 2 "unknown command"
expect_err "'frobnicate': unknown command" "unknown command names it"

run help frobnicate
expect_rc 2 "help for an unknown command"

run groups --bogus
expect_rc 2 "unknown option"
expect_err "unknown option '--bogus'" "unknown option is named"

run --source nowhere groups
expect_rc 2 "bad --source"
expect_err "--source 'nowhere': unknown source \(expected libvirt, sysfs or auto\)" "bad --source message"

run groups --color sometimes
expect_rc 2 "bad --color"

run list --class gizmo
expect_rc 2 "bad --class"
expect_err "--class 'gizmo': unknown class" "bad --class message"

run list --group twelve
expect_rc 2 "bad --group"

run show
expect_rc 2 "show without target"
expect_err "which group or device" "show without target message"

run groups extra
expect_rc 2 "groups with an argument"

run show 1 2
expect_rc 2 "show with two targets"

run list -c
expect_rc 2 "-c without a value"
expect_err "needs a value" "-c without a value message"

finish
