# Helpers for the tests against the embedded QEMU driver (qemu:///embed?root=DIR): a private
# libvirt QEMU driver in the calling process, its state under DIR, no daemon, no host devices
# touched. Sourced after lib.sh.
#
# Needs qemu-system-x86, libvirt-daemon-driver-qemu and (as root) the libvirt-qemu user and
# group: scripts/install-deps.sh installs and creates them.

# embed_start: sets $EMBED (the root) and $EMBED_URI; fails the test when the driver cannot
# open here. The first connection probes QEMU's capabilities (a few seconds, cached in DIR).
embed_start() {
  EMBED="$TMP/embed"
  EMBED_URI="qemu:///embed?root=$EMBED"
  mkdir -p "$EMBED"
  if ! command -v virsh >/dev/null; then
    echo "SKIP-FAIL: virsh not installed (scripts/install-deps.sh installs libvirt-clients)" >&2
    failures=$((failures + 1)); return 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! getent passwd libvirt-qemu >/dev/null; then
    echo "SKIP-FAIL: no libvirt-qemu user: the QEMU driver refuses to start (run scripts/install-deps.sh)" >&2
    failures=$((failures + 1)); return 1
  fi
  if ! out=$(virsh -q -c "$EMBED_URI" list --all 2>&1); then
    echo "FAIL: the embedded QEMU driver does not open: $out" >&2
    failures=$((failures + 1)); return 1
  fi
  ok
}

# vsh ARGS...: virsh on the embedded driver (each call its own process; state stays in $EMBED).
vsh() {
  virsh -q -c "$EMBED_URI" "$@"
}

# embed_define FILE: define FILE, then define libvirt's own output once more. libvirt's first
# definition of hand-written XML is not a fixed point (controllers it adds are listed after
# those written; the next definition sorts them), so any later redefinition would reorder
# the XML; after this, dumpxml output only changes when the definition does.
embed_define() {
  local name
  name=$(sed -n 's:.*<name>\([^<]*\)</name>.*:\1:p' "$1" | head -1)
  vsh define --validate "$1" >/dev/null || return 1
  vsh dumpxml --inactive --security-info "$name" >"$TMP/redefine.xml" || return 1
  vsh define --validate "$TMP/redefine.xml" >/dev/null
}

# inactive_xml DOMAIN: the persistent definition, with secrets, as vpass reads it.
inactive_xml() {
  vsh dumpxml --inactive --security-info "$1"
}

# expect_xml XML PYTHON_EXPR DESCRIPTION: evaluates EXPR with `d` = the parsed domain XML and:
#   hostdevs(d)  -> {"0000:18:00.0": {"managed": "yes", "driver": "vfio", "bus": 3, "slot": 0,
#                    "function": 0, "multifunction": "on"|None, "type": "pci"|None}, ...}
#   controller(d, index) -> the <controller type='pci' index=INDEX> element or None
#   hole(d)      -> the root controller's <pcihole64> in KiB, None when absent
expect_xml() {
  local res
  res=$(printf '%s' "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.stdin.read())
def addr(a):
    return "%04x:%02x:%02x.%x" % tuple(int(a.get(k), 0) for k in ("domain", "bus", "slot", "function"))
def hostdevs(d):
    r = {}
    for h in d.findall("./devices/hostdev[@type=\"pci\"]"):
        src = h.find("./source/address")
        g = h.find("./address")
        drv = h.find("./driver")
        r[addr(src)] = {
            "managed": h.get("managed"), "driver": drv.get("name") if drv is not None else None,
            "type": g.get("type") if g is not None else None,
            "bus": int(g.get("bus"), 0) if g is not None else None,
            "slot": int(g.get("slot"), 0) if g is not None else None,
            "function": int(g.get("function"), 0) if g is not None else None,
            "multifunction": g.get("multifunction") if g is not None else None}
    return r
def controller(d, index):
    for c in d.findall("./devices/controller[@type=\"pci\"]"):
        if int(c.get("index")) == index:
            return c
    return None
def hole(d):
    c = controller(d, 0)
    h = c.find("pcihole64") if c is not None else None
    if h is None:
        return None
    mult = {"KiB": 1, "k": 1, "K": 1, "MiB": 1024, "M": 1024, "GiB": 1024 ** 2, "G": 1024 ** 2}
    return int(h.text) * mult[h.get("unit", "KiB")]
try:
    ok = eval(sys.argv[1])
except Exception as e:
    print("error: %r" % e); sys.exit(0)
print("yes" if ok else "no")
' "$2" 2>&1)
  if [ "$res" = "yes" ]; then ok; else fail "$3: XML check failed ($2): $res"; fi
}

# expect_same_xml A B DESCRIPTION: A and B byte-identical (a diff is shown otherwise).
expect_same_xml() {
  if [ "$1" = "$2" ]; then
    ok
  else
    fail "$3: the XML changed"
    diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | head -20 | sed 's/^/    /' >&2
  fi
}

# expect_valid_xml XML DESCRIPTION: libvirt's schema accepts XML as a domain.
expect_valid_xml() {
  printf '%s\n' "$1" >"$TMP/validate.xml"
  if virt-xml-validate "$TMP/validate.xml" domain >"$TMP/validate.out" 2>&1; then
    ok
  else
    fail "$2: virt-xml-validate: $(tail -3 "$TMP/validate.out")"
  fi
}
