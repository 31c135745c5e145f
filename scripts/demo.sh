#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the
# bundled lab host (no hardware needed).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

lab="$top/build/lab"
vpass=("$top/build/src/vpass" -c "test://$lab/host.xml" --root "$lab/root")
run() { printf '\n$ vpass %s\n' "$*"; "${vpass[@]}" "$@"; }

echo
echo "The lab host: $lab (libvirt test driver host.xml + sysfs twin root/)"
run groups
run show 26
