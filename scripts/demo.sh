#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the
# bundled lab host (no hardware needed): the inventory, the pre-flight check, and
# `vpass attach --domain vm1 --group 26 --config` with the XML it produced.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

lab="$top/build/lab"
say() { printf '\n$ %s\n' "$*"; }
run() { say "vpass $*"; "$top/build/src/vpass" "$@"; }

echo
echo "The lab host: $lab (libvirt test-driver host.xml + its sysfs twin root/)"
V=(-c "test://$lab/host.xml" --root "$lab/root")
run "${V[@]}" groups
run "${V[@]}" show 26

# libvirt's test driver cannot attach, so the lab's domains are also defined in a private,
# embedded QEMU driver (state under build/lab/embed, nothing runs, no host device is touched).
embed="$lab/embed"
uri="qemu:///embed?root=$embed"
rm -rf "$embed" "$lab/embed-domains"
mkdir -p "$lab/embed-domains"
mkdir -p "$embed"
names=$(python3 lab/embed_lab.py "$lab/host.xml" "$lab/embed-domains")
for name in $names; do
  virsh -q -c "$uri" define "$lab/embed-domains/$name.xml" >/dev/null
done
# attach takes its lock under <root>/run/vpass: give it a copy of the lab's tree, so the
# generated one stays as the tests expect it.
rm -rf "$lab/demo-root"
cp -a "$lab/root" "$lab/demo-root"
E=(-c "$uri" --root "$lab/demo-root")
# A pre-flight finding of severity warn is not a failure; 6 (blocked) would stop the demo.
run "${E[@]}" check --group 26 --domain vm1
run "${E[@]}" attach --domain vm1 --group 26 --config
say "virsh -c '$uri' dumpxml --inactive vm1   (the devices vpass added)"
virsh -q -c "$uri" dumpxml --inactive vm1 |
  sed -n -e '/<vpass:vpass/,/<\/vpass:vpass>/p' -e '/<hostdev/,/<\/hostdev>/p'
run "${E[@]}" attach --domain vm1 --group 26 --config
