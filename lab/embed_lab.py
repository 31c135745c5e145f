#!/usr/bin/env python3
"""Write the lab's domains (lab/host.xml, test-driver form) as QEMU domains that the embedded
QEMU driver (qemu:///embed?root=DIR) can define: type='qemu' (TCG: no /dev/kvm needed), no
test-driver namespace or run state (an embedded domain is defined shut off), the rest as the
lab describes it (vm1 q35+SeaBIOS, vm2 i440fx+SeaBIOS, gpuvm q35+OVMF, ...).

usage: lab/embed_lab.py LAB/host.xml OUTDIR   -> OUTDIR/<name>.xml, names on stdout
"""
import re
import sys


def convert(block):
    lines = block.splitlines()
    indent = len(lines[1]) - len(lines[1].lstrip()) - 2 if len(lines) > 1 else 0
    out = []
    for line in lines:
        if "<test:" in line:
            continue
        out.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
    xml = "\n".join(out) + "\n"
    xml, n = re.subn(r"<domain type='test'[^>]*>", "<domain type='qemu'>", xml, count=1)
    if n != 1:
        raise SystemExit("embed_lab: a domain without <domain type='test'>")
    # host-passthrough needs KVM; TCG runs (and libvirt validates) the default CPU model.
    xml = re.sub(r"\s*<cpu mode='host-passthrough'[^>]*/>", "", xml)
    return xml


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    text = open(sys.argv[1], encoding="utf-8").read()
    blocks = re.findall(r"^[ \t]*<domain type='test'.*?</domain>", text, re.S | re.M)
    if not blocks:
        raise SystemExit("embed_lab: no domains in " + sys.argv[1])
    for block in blocks:
        xml = convert(block)
        name = re.search(r"<name>([^<]+)</name>", xml).group(1)
        with open(f"{sys.argv[2]}/{name}.xml", "w", encoding="utf-8") as f:
            f.write(xml)
        print(name)


if __name__ == "__main__":
    main()
