#!/usr/bin/env bash
# The hook can never call the libvirt API (libvirtd waits for it: a call would deadlock): the
# built vpass-hook has no libvirt in its dynamic section, imports no vir* symbol, and its
# sources include nothing from src/virt. Each assertion is shown able to fail on vpass itself,
# which does link libvirt.
. "$(dirname "$0")/lib.sh"
: "${VPASS_HOOK:?run through ctest}" "${VPASS_SOURCE_DIR:?}"

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
vir_imports() { nm -D --undefined-only "$1" | awk '{print $NF}' | grep -E '^vir[A-Z]' ; }

out=$(needed "$VPASS_HOOK"); err=""
if [ -n "$out" ]; then ok; else fail "readelf shows vpass-hook's NEEDED entries"; fi
expect_no_out 'libvirt' "vpass-hook does not link libvirt"
out=$(needed "$VPASS"); err=""
expect_out '^libvirt\.so' "the same check sees libvirt in vpass (it can fail)"

out=$(vir_imports "$VPASS_HOOK"); err=""
expect_empty_out "vpass-hook imports no vir* symbol"
out=$(vir_imports "$VPASS"); err=""
expect_out '^virConnectOpen' "the same check sees vpass's libvirt imports (it can fail)"

out=$(ldd "$VPASS_HOOK" 2>&1); err=""
expect_no_out 'libvirt' "nothing loads libvirt indirectly either"

# The hook's own code: no include of src/virt or <libvirt/...>.
out=$(grep -nE '#include *[<"](\.\./)?(virt/|libvirt/)' "$VPASS_SOURCE_DIR"/src/hook/*.[ch] \
      "$VPASS_SOURCE_DIR"/src/apply/sysfs_apply.[ch] "$VPASS_SOURCE_DIR"/src/apply/lock.[ch]); err=""
expect_empty_out "src/hook, the sysfs applier and the lock include nothing from src/virt"
# ... nor through another header: the preprocessor's full list of what they include.
out=$(cd "$VPASS_SOURCE_DIR/src" && ${CC:-cc} -M -D_GNU_SOURCE -I. $(pkg-config --cflags libxml-2.0) \
      hook/*.c apply/sysfs_apply.c apply/lock.c 2>&1 | tr ' \\' '\n\n' | grep -E '(^|/)(virt/|libvirt/)'); err=""
expect_empty_out "no header they include, directly or not, is src/virt's or libvirt's"
out=$(cd "$VPASS_SOURCE_DIR/src" && ${CC:-cc} -M -D_GNU_SOURCE -I. $(pkg-config --cflags libxml-2.0 libvirt) \
      apply/apply.c 2>&1 | tr ' \\' '\n\n' | grep -E '(^|/)(virt/|libvirt/)' | head -1); err=""
expect_out 'virt' "the same check sees src/virt in the CLI's apply engine (it can fail)"

finish
