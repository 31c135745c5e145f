#!/usr/bin/env python3
"""Parse the output of ONE virsh process fed `nodedev-dumpxml NAME` and `dumpxml DOMAIN`
commands on stdin (bench/run.py's "one virsh" way) into the facts `vpass groups` shows:
every IOMMU group with its members, and which domains define each PCI address.

    virsh -q -c URI < commands | python3 bench/parse_virsh.py > groups.json
"""
import json
import sys
import xml.etree.ElementTree as ET


def addr(el):
    return "%04x:%02x:%02x.%x" % tuple(int(el.get(k), 16)
                                       for k in ("domain", "bus", "slot", "function"))


def documents(lines):
    """the XML documents in virsh's output: prompts echoed, each document ending with the
    closing tag of its root"""
    doc = []
    for line in lines:
        if line.startswith("virsh # "):
            continue
        doc.append(line)
        if line.startswith("</device>") or line.startswith("</domain>"):
            yield "".join(doc)
            doc = []


def main():
    groups, owners = {}, {}
    for text in documents(sys.stdin):
        root = ET.fromstring(text)
        if root.tag == "device":
            g = root.find("capability/iommuGroup")
            if g is not None:
                groups[int(g.get("number"))] = [addr(a) for a in g.findall("address")]
        else:
            name = root.findtext("name")
            for src in (root.findall("devices/hostdev[@type='pci']/source/address") +
                        root.findall("devices/interface[@type='hostdev']/source/address")):
                owners.setdefault(addr(src), []).append(name)
    json.dump([{"group": n, "devices": [{"address": a, "owners": owners.get(a, [])}
                                        for a in members]}
               for n, members in sorted(groups.items())], sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
