#!/usr/bin/env bash
# cmake --install (into a DESTDIR under $TMP, never the real /) puts vpass, vpass-hook, the
# templates, the man page, the bash completion and the hook link where they belong.
. "$(dirname "$0")/lib.sh"
: "${VPASS_BUILD_DIR:?run through ctest}"

cache() { sed -n "s|^$1:[A-Z]*=||p" "$VPASS_BUILD_DIR/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
hookdir=$(cache VPASS_HOOK_DIR)
libexec=$(cache CMAKE_INSTALL_LIBEXECDIR)
dataroot=$(cache CMAKE_INSTALL_DATAROOTDIR)
datadir=$(cache CMAKE_INSTALL_DATADIR)
mandir=$(cache CMAKE_INSTALL_MANDIR)
# GNUInstallDirs leaves these empty in the cache and derives them from DATAROOTDIR.
datadir=${datadir:-${dataroot:-share}}
mandir=${mandir:-${dataroot:-share}/man}
bindir=$(cache CMAKE_INSTALL_BINDIR)
D="$TMP/dest"
abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$prefix" "$1" ;; esac; }

out=$(DESTDIR="$D" cmake --install "$VPASS_BUILD_DIR" 2>&1); rc=$?; err=""
expect_rc 0 "cmake --install into a DESTDIR"

for f in "$(abs "$bindir")/vpass" "$(abs "$libexec")/vpass-hook"; do
  if [ -x "$D$f" ]; then ok; else fail "$f installed and executable"; fi
done
for f in "$(abs "$datadir")/vpass/xml-templates/hostdev-pci.xml" \
         "$(abs "$datadir")/vpass/xml-templates/metadata.xml" \
         "$(abs "$mandir")/man1/vpass.1" \
         "$(abs "$datadir")/bash-completion/completions/vpass"; do
  if [ -f "$D$f" ]; then ok; else fail "$f installed"; fi
done
link="$D$(abs "$hookdir")/vpass"
if [ -L "$link" ]; then ok; else fail "the hook link $link exists"; fi
if [ "$(readlink "$link")" = "$(abs "$libexec")/vpass-hook" ]; then ok
else fail "the hook link points at the installed vpass-hook (not the DESTDIR copy): $(readlink "$link")"; fi
expect_out "Installing: $link -> " "cmake says it installs the link"

# Installing again replaces the link (an upgrade), it does not fail.
out=$(DESTDIR="$D" cmake --install "$VPASS_BUILD_DIR" 2>&1); rc=$?
expect_rc 0 "cmake --install twice"

# The completion loads and completes a command.
out=$(bash -c '. "$1"; PATH="$2:$PATH"; COMP_WORDS=(vpass gro); COMP_CWORD=1; _vpass; echo "${COMPREPLY[*]}"' _ \
      "$D$(abs "$datadir")/bash-completion/completions/vpass" "$(dirname "$VPASS")" 2>&1); rc=$?
expect_rc 0 "the completion script runs"
expect_out '^groups$' "it completes a command from vpass --help"

finish
