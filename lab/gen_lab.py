#!/usr/bin/env python3
"""Generate the bundled lab host from lab/lab_host.py.

    python3 lab/gen_lab.py --out DIR            write DIR/host.xml and DIR/root/
    python3 lab/gen_lab.py --out DIR --check    re-read both and check they agree
    python3 lab/gen_lab.py --out DIR --check --libvirt-dump D
                                                also compare with what libvirt's test
                                                driver served (lab/check_libvirt.c)

DIR/host.xml is a libvirt test-driver host (test:///ABS/DIR/host.xml); DIR/root/ is its
sysfs/procfs twin for `vpass --root DIR/root --source sysfs`. Both come from the one
description, so they cannot drift. Standard library only; writes nothing outside DIR.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # keep __pycache__ out of the source tree
import pciconf as pc  # noqa: E402

PCI_IDS_PATHS = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids")
TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
RESET_ORDER = ["device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus"]
# resource flags as in the kernel (IORESOURCE_* | the BAR's low bits)
RES_FLAGS = {"io": 0x40101, "mem32": 0x40200, "mem64": 0x140204, "pref32": 0x42208,
             "pref64": 0x14220C, "rom": 0x46200}
GRAN = {"io": 0x1000, "mem": 0x100000, "pref": 0x100000}
# root bus apertures (below 4 GiB; an R710-era BIOS places every BAR there)
ROOT_BASE = {"io": 0x2000, "mem": 0xD0000000, "pref": 0x80000000}
ROOT_LIMIT = {"io": 0xFFFF, "mem": 0xFEBFFFFF, "pref": 0xCFFFFFFF}
MSI_IRQ_BASE = 40


class LabError(Exception):
    pass


# --------------------------------------------------------------------------- helpers
def parse_addr(s):
    try:
        dom, bus, rest = s.split(":")
        slot, fn = rest.split(".")
        t = (int(dom, 16), int(bus, 16), int(slot, 16), int(fn, 16))
    except ValueError:
        raise LabError(f"bad PCI address {s!r}") from None
    if s != "%04x:%02x:%02x.%x" % t or t[2] > 31 or t[3] > 7:
        raise LabError(f"PCI address {s!r} is not in canonical DDDD:BB:SS.F form")
    return t


def nodedev_name(addr):
    return "pci_" + addr.replace(":", "_").replace(".", "_")


def xml_attr(v):
    return (str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace('"', "&quot;"))


def xml_text(v):
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def align_up(v, a):
    return (v + a - 1) // a * a


def load_pci_ids(vendor_ids):
    """vendor, device and subsystem names of the given vendors from pciutils' pci.ids
    (what libpci and udev's hwdb print)"""
    vendors, devices, subsys = {}, {}, {}
    for path in PCI_IDS_PATHS:
        if os.path.exists(path):
            break
    else:
        return vendors, devices, subsys
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for v in sorted(vendor_ids):
        start = text.find("\n%04x  " % v)
        if start < 0:
            continue
        end = text.find("\n", start + 1)
        vendors[v] = text[start + 7:end].strip()
        d = None
        for line in text[end + 1:].split("\n"):
            if line.startswith("\t\t"):
                parts = line.strip().split(None, 2)
                if d is not None and len(parts) == 3:
                    subsys[(v, d, int(parts[0], 16), int(parts[1], 16))] = parts[2]
            elif line.startswith("\t"):
                parts = line.strip().split(None, 1)
                if len(parts) == 2:
                    d = int(parts[0], 16)
                    devices[(v, d)] = parts[1]
            elif line.startswith("#") or not line.strip():
                continue
            else:
                break
    return vendors, devices, subsys


def load_description(path):
    spec = importlib.util.spec_from_file_location("lab_host", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------- model
class Dev:
    """One PCI function: the description plus everything derived from it."""

    def __init__(self, d):
        known = {"addr", "parent", "key", "ids", "cls", "rev", "subsys", "kind", "secondary",
                 "group", "driver", "bars", "rom", "sriov", "vf", "net", "link", "reset",
                 "msi", "boot_vga", "acs_quirk", "critical", "note", "int_pin"}
        unknown = set(d) - known
        if unknown:
            raise LabError(f"{d.get('addr')}: unknown fields {sorted(unknown)}")
        for f in ("addr", "ids", "kind", "group"):
            if f not in d:
                raise LabError(f"{d.get('addr')}: field {f!r} is required")
        self.d = d
        self.addr = d["addr"]
        self.t = parse_addr(self.addr)
        self.bus, self.slot, self.fn = self.t[1], self.t[2], self.t[3]
        self.devfn = self.slot << 3 | self.fn
        self.parent_addr = d.get("parent")
        self.key = d.get("key")
        self.ids = tuple(d["ids"])
        self.kind = d["kind"]
        self.group = d["group"]
        self.driver = d.get("driver")
        self.bars = dict(d.get("bars", {}))
        self.rom = d.get("rom")
        self.net = list(d.get("net", []))
        self.vf = d.get("vf")
        self.sriov_desc = d.get("sriov")
        self.parent = None
        self.children = []
        self.vfs = []
        self.owners = []          # [(domain name, state, how)]
        self.res = {}             # resource index -> (start, end, flags)
        self.cfg = None
        self.header_only = self.key is None
        self.name = nodedev_name(self.addr)

    def __repr__(self):
        return self.addr

    @property
    def is_vf(self):
        return self.vf is not None

    @property
    def in_use_by_running_vm(self):
        return any(state == "running" for _, state, _ in self.owners)


class Host:
    def __init__(self, desc, configs_dir):
        self.desc = desc
        self.h = desc.HOST
        self.configs_dir = configs_dir
        self.devs = {}
        for d in desc.DEVICES:
            dev = Dev(d)
            if dev.addr in self.devs:
                raise LabError(f"{dev.addr}: described twice")
            self.devs[dev.addr] = dev
        self.vendors, self.products, self.subsys_names = load_pci_ids(
            {d.ids[0] for d in self.devs.values()})
        self.domains = list(desc.DOMAINS)
        self._link_topology()
        self._load_configs()
        self._check_kinds()
        self._link_sriov()
        self._link_domains()
        self._allocate()
        self._patch_configs()
        self._check_groups()
        self._derive_runtime()
        self._check_expectations()

    # ---------------------------------------------------------------- topology
    def sorted_devs(self):
        return [self.devs[a] for a in sorted(self.devs)]

    def _link_topology(self):
        for dev in self.sorted_devs():
            if dev.parent_addr is None:
                if dev.bus != 0:
                    raise LabError(f"{dev.addr}: not on the root bus but has no parent")
                continue
            par = self.devs.get(dev.parent_addr)
            if par is None:
                raise LabError(f"{dev.addr}: parent {dev.parent_addr} is not described")
            if "secondary" not in par.d:
                raise LabError(f"{dev.addr}: parent {par.addr} is not a bridge (no 'secondary')")
            if par.d["secondary"] != dev.bus:
                raise LabError(f"{dev.addr}: on bus {dev.bus:02x} but its parent {par.addr} "
                               f"has secondary bus {par.d['secondary']:02x}")
            dev.parent = par
            par.children.append(dev)
        # bus numbers: unique secondaries, subordinate = highest bus below
        seen = {0: "root"}
        for dev in self.sorted_devs():
            if "secondary" in dev.d:
                sec = dev.d["secondary"]
                if sec in seen:
                    raise LabError(f"{dev.addr}: secondary bus {sec:02x} already used by {seen[sec]}")
                seen[sec] = dev.addr
        for dev in self.sorted_devs():
            if "secondary" in dev.d:
                dev.secondary = dev.d["secondary"]
                dev.subordinate = self._max_bus(dev)
        for dev in self.sorted_devs():
            chain, p = [], dev.parent
            while p:
                if p in chain:
                    raise LabError(f"{dev.addr}: parent loop")
                chain.append(p)
                if not (p.secondary <= dev.bus <= p.subordinate):
                    raise LabError(f"{dev.addr}: bus outside {p.addr}'s range")
                p = p.parent

    def _max_bus(self, bridge):
        m = bridge.d["secondary"]
        for c in bridge.children:
            if "secondary" in c.d:
                m = max(m, self._max_bus(c))
        return m

    # ---------------------------------------------------------------- config space
    def _load_configs(self):
        slots = {}
        for dev in self.devs.values():
            if not dev.is_vf:
                slots.setdefault((dev.bus, dev.slot), []).append(dev)
        for dev in self.sorted_devs():
            if dev.key:
                self._load_dump(dev)
            else:
                self._build_header(dev, len(slots.get((dev.bus, dev.slot), [])) > 1)

    def _load_dump(self, dev):
        path = os.path.join(self.configs_dir, dev.key + ".lspci")
        if not os.path.exists(path):
            raise LabError(f"{dev.addr}: config dump {path} does not exist")
        try:
            title, data = pc.parse_lspci_dump(path)
        except pc.DumpError as e:
            raise LabError(str(e)) from None
        cfg = pc.Config(data)
        ids = (cfg.vendor, cfg.device)
        if ids == (0xFFFF, 0xFFFF):          # a VF: ids only in the title line
            ids = pc.title_ids(title) or ids
        if ids != dev.ids:
            raise LabError(f"{dev.addr}: {dev.key}.lspci is {ids[0]:04x}:{ids[1]:04x}, "
                           f"the description says {dev.ids[0]:04x}:{dev.ids[1]:04x}")
        for f in ("cls", "rev", "subsys"):
            if f in dev.d:
                raise LabError(f"{dev.addr}: {f!r} comes from the dump, do not describe it")
        dev.cfg = cfg
        # BAR types must match the dump; sizes must match lspci -vv where we have it
        types = cfg.bars()
        want = {i: k for i, (k, _) in dev.bars.items()}
        if types != want:
            raise LabError(f"{dev.addr}: BARs {want} in the description, {types} in {dev.key}.lspci")
        rom_off = cfg.rom_off()
        has_rom = rom_off is not None and cfg.u32(rom_off) & 0xFFFFF800 != 0
        if has_rom != bool(dev.rom):
            raise LabError(f"{dev.addr}: {dev.key}.lspci {'has' if has_rom else 'has no'} "
                           f"ROM BAR, the description {'has' if dev.rom else 'has no'} rom")
        vv_path = os.path.join(self.configs_dir, dev.key + ".vv")
        if os.path.exists(vv_path):
            for i, (kind, size) in pc.parse_vv(vv_path).items():
                mine = dev.rom if i == "rom" else dev.bars.get(i, (None, None))[1]
                if size is not None and mine != size:
                    raise LabError(f"{dev.addr}: region {i} is {size:#x} in {dev.key}.vv, "
                                   f"{mine} in the description")
        for i, (kind, size) in list(dev.bars.items()) + ([("rom", ("rom", dev.rom))] if dev.rom else []):
            if size & (size - 1) or size < (4 if kind == "io" else 16):
                raise LabError(f"{dev.addr}: region {i} size {size:#x} is not a BAR size")

    def _build_header(self, dev, multifunction):
        for f in ("cls", "rev"):
            if f not in dev.d:
                raise LabError(f"{dev.addr}: header-only device needs {f!r}")
        htype = 1 if "secondary" in dev.d else 0
        subsys = dev.d.get("subsys", (0, 0))
        if dev.is_vf:
            pf = self.devs.get(dev.vf[0])
            if pf is None or pf.cfg is None:
                raise LabError(f"{dev.addr}: PF {dev.vf[0]} must be described (and sort) first")
            subsys = pf.cfg.subsystem()
        dev.cfg = pc.build_header(
            vendor=dev.ids[0], device=dev.ids[1], class_code=dev.d["cls"],
            revision=dev.d["rev"], header_type=htype, multifunction=multifunction,
            subsys=subsys, bars=sorted((i, k) for i, (k, _) in dev.bars.items()),
            int_pin=dev.d.get("int_pin", 0), vf=dev.is_vf)

    def _check_kinds(self):
        for dev in self.sorted_devs():
            cfg = dev.cfg
            # Linux: the header bit, or any function > 0 found by pci_scan_slot(); never a VF
            dev.multifunction = (cfg.multifunction or dev.fn != 0) and not dev.is_vf
            dev.class_code = cfg.class_code if not dev.header_only else dev.d["cls"]
            dev.subsys = cfg.subsystem()
            if dev.header_only:
                dev.is_pcie = "link" in dev.d
                dev.pcie_type = {"root-port": "root-port", "upstream": "upstream",
                                 "downstream": "downstream", "endpoint": "endpoint",
                                 "vf": "endpoint", "pcie-pci-bridge": "pcie-pci-bridge",
                                 "rc-endpoint": "rc-endpoint"}.get(dev.kind) if dev.is_pcie else None
                dev.link = dev.d.get("link")
                dev.acs = None
                continue
            dev.is_pcie = cfg.pcie_cap is not None
            dev.pcie_type = cfg.pcie_type
            dev.link = cfg.link()
            dev.acs = cfg.acs()
            if "link" in dev.d:
                raise LabError(f"{dev.addr}: 'link' comes from the dump")
            if dev.kind == "host-bridge":
                derived = "host-bridge" if dev.class_code >> 8 == 0x0600 else "?"
            elif dev.is_pcie:
                derived = {"legacy-endpoint": "endpoint"}.get(dev.pcie_type, dev.pcie_type)
            else:
                derived = "pci-bridge" if cfg.header_type == 1 else "pci"
            if derived != dev.kind:
                raise LabError(f"{dev.addr}: kind {dev.kind!r} described, {derived!r} in {dev.key}.lspci")
            if (cfg.header_type == 1) != ("secondary" in dev.d):
                raise LabError(f"{dev.addr}: header type {cfg.header_type} but "
                               f"{'no ' if 'secondary' not in dev.d else ''}secondary bus")

    # ---------------------------------------------------------------- SR-IOV
    def _link_sriov(self):
        for dev in self.sorted_devs():
            if dev.sriov_desc:
                iov = dev.cfg.sriov()
                if iov is None:
                    raise LabError(f"{dev.addr}: 'sriov' described but {dev.key} has no SR-IOV cap")
                num = dev.sriov_desc["num"]
                if not 0 <= num <= iov["total"]:
                    raise LabError(f"{dev.addr}: {num} VFs, the device has {iov['total']}")
                vfb = {i: k for i, (k, _) in dev.sriov_desc["vf_bars"].items()}
                if vfb != iov["bars"]:
                    raise LabError(f"{dev.addr}: VF BARs {vfb} described, {iov['bars']} in the dump")
                dev.iov = iov
                dev.iov_num = num
        for dev in self.sorted_devs():
            if not dev.is_vf:
                continue
            pf = self.devs.get(dev.vf[0])
            if pf is None or not getattr(pf, "iov", None):
                raise LabError(f"{dev.addr}: PF {dev.vf[0]} is not an SR-IOV PF")
            n = dev.vf[1]
            rid = (pf.bus << 8 | pf.devfn) + pf.iov["offset"] + n * pf.iov["stride"]
            want = "%04x:%02x:%02x.%x" % (pf.t[0], rid >> 8, (rid >> 3) & 0x1F, rid & 7)
            if want != dev.addr:
                raise LabError(f"{dev.addr}: VF {n} of {pf.addr} is at {want} "
                               f"(offset {pf.iov['offset']}, stride {pf.iov['stride']})")
            if dev.ids != (pf.ids[0], pf.iov["vf_device"]):
                raise LabError(f"{dev.addr}: VF ids must be {pf.ids[0]:04x}:{pf.iov['vf_device']:04x}")
            if dev.parent is not pf.parent:
                raise LabError(f"{dev.addr}: a VF's parent is its PF's parent ({pf.parent_addr})")
            if n >= pf.iov_num:
                raise LabError(f"{dev.addr}: VF {n} but the PF has {pf.iov_num} VFs enabled")
            dev.pf = pf
            pf.vfs.append(dev)
        for dev in self.sorted_devs():
            if getattr(dev, "iov", None):
                dev.vfs.sort(key=lambda v: v.vf[1])
                if [v.vf[1] for v in dev.vfs] != list(range(dev.iov_num)):
                    raise LabError(f"{dev.addr}: describe every enabled VF (0..{dev.iov_num - 1})")

    # ---------------------------------------------------------------- domains
    def _link_domains(self):
        names = set()
        for dom in self.domains:
            if dom["name"] in names:
                raise LabError(f"domain {dom['name']} described twice")
            names.add(dom["name"])
            if dom["state"] not in ("running", "shutoff"):
                raise LabError(f"{dom['name']}: state must be running or shutoff")
            for item in dom["devices"]:
                dev = self.devs.get(item[1])
                if dev is None:
                    raise LabError(f"{dom['name']}: device {item[1]} is not described")
                if item[0] == "interface" and dev.class_code >> 16 != 0x02:
                    raise LabError(f"{dom['name']}: {dev.addr} is not a NIC")
                dev.owners.append((dom["name"], dom["state"], item[0]))
        for dev in self.sorted_devs():
            running = [o for o in dev.owners if o[1] == "running"]
            if len(running) > 1:
                raise LabError(f"{dev.addr}: two running domains hold it")
            if running and dev.driver != "vfio-pci":
                raise LabError(f"{dev.addr}: {running[0][0]} is running with it, so it must be on vfio-pci")
            if dev.net and dev.driver in (None, "vfio-pci"):
                raise LabError(f"{dev.addr}: a netdev needs a host net driver")

    # ---------------------------------------------------------------- resources
    def _requests(self, dev):
        """[(res index, window type, size, align, kind)] of a function's own regions"""
        out = []
        for i, (kind, size) in sorted(dev.bars.items()):
            wt = "io" if kind == "io" else ("pref" if kind.startswith("pref") else "mem")
            out.append((i, wt, size, size, kind))
        if dev.rom:
            out.append((6, "mem", dev.rom, dev.rom, "rom"))
        if getattr(dev, "iov", None):
            for i, (kind, size) in sorted(dev.sriov_desc["vf_bars"].items()):
                wt = "pref" if kind.startswith("pref") else "mem"
                out.append((7 + i, wt, size * dev.iov["total"], size, kind))
        return out

    def _pack(self, items):
        """items: [(align, size, tiebreak, payload)] -> ([(offset, payload)], total, align)"""
        items = sorted(items, key=lambda x: (-x[0], -x[1], x[2]))
        cur, out, amax = 0, [], 1
        for a, s, _, p in items:
            cur = align_up(cur, a)
            out.append((cur, p))
            cur += s
            amax = max(amax, a)
        return out, cur, amax

    def _size_bridge(self, br):
        """windows of a bridge: {wt: (size, align, [(offset, payload)])}"""
        win = {}
        for wt in ("io", "mem", "pref"):
            items = []
            for c in sorted(br.children, key=lambda x: x.addr):
                for (i, t, size, align, kind) in self._requests(c):
                    if t == wt:
                        items.append((align, size, (c.addr, i), ("res", c, i, kind, size)))
                if getattr(c, "secondary", None) is not None:
                    sub = self._size_bridge(c)
                    if sub[wt][0]:
                        items.append((sub[wt][1], sub[wt][0], (c.addr, 99), ("win", c, wt, sub)))
            placed, total, amax = self._pack(items)
            if total:
                win[wt] = (align_up(total, GRAN[wt]), max(amax, GRAN[wt]), placed)
            else:
                win[wt] = (0, GRAN[wt], [])
        return win

    def _assign(self, placed, base):
        for off, p in placed:
            if p[0] == "res":
                _, c, i, kind, size = p
                c.res[i] = (base + off, base + off + size - 1, RES_FLAGS["rom" if i == 6 else kind])
            else:
                _, c, wt, sub = p
                size, _, subplaced = sub[wt]
                c.windows = getattr(c, "windows", {})
                c.windows[wt] = (base + off, base + off + size - 1)
                self._assign(subplaced, base + off)
                # the child's other windows are placed by their own entries

    def _allocate(self):
        roots = [d for d in self.sorted_devs() if d.parent is None]
        fake = type("Root", (), {})()
        fake.children = roots
        fake.addr = "root"
        win = self._size_bridge(fake)
        for wt in ("io", "mem", "pref"):
            size, align, placed = win[wt]
            base = align_up(ROOT_BASE[wt], align)
            if base + size - 1 > ROOT_LIMIT[wt]:
                raise LabError(f"root bus: {wt} space exhausted ({size:#x} bytes needed)")
            self._assign(placed, base)
        for dev in self.sorted_devs():
            if getattr(dev, "secondary", None) is not None:
                dev.windows = getattr(dev, "windows", {})
                flags = {"io": 0x100 | (1 if dev.cfg.io_window_32() else 0),
                         "mem": 0x200,
                         "pref": 0x2200 | (0x100001 if dev.cfg.pref_window_64() else 0)}
                for k, wt in enumerate(("io", "mem", "pref")):
                    if wt in dev.windows:
                        s, e = dev.windows[wt]
                        dev.res[13 + k] = (s, e, flags[wt])
        # VF BARs: slices of the PF's IOV resources
        for dev in self.sorted_devs():
            if dev.is_vf:
                pf, n = dev.pf, dev.vf[1]
                for i, (kind, size) in sorted(pf.sriov_desc["vf_bars"].items()):
                    s = pf.res[7 + i][0] + n * size
                    dev.res[i] = (s, s + size - 1, RES_FLAGS[kind])

    def _patch_configs(self):
        """Program what firmware and the kernel write at boot, so config, resource and
        the topology agree: bus numbers, BAR and window addresses, ACS control (enabled
        by Linux with the IOMMU on), ARI forwarding, SR-IOV NumVFs/VF Enable/VF BARs.
        Nothing that identifies the device or its capabilities is touched."""
        for dev in self.sorted_devs():
            cfg = dev.cfg
            if not dev.is_vf:
                for i, (kind, _) in dev.bars.items():
                    pc.write_bar(cfg, pc.BAR0, i, kind, dev.res[i][0])
                if dev.rom:
                    off = cfg.rom_off()
                    cfg.w32(off, (dev.res[6][0] & 0xFFFFF800) | (cfg.u32(off) & 1))
            if cfg.header_type == 1:
                cfg.w8(pc.PRIMARY_BUS, dev.bus)
                cfg.w8(pc.SECONDARY_BUS, dev.secondary)
                cfg.w8(pc.SUBORDINATE_BUS, dev.subordinate)
                self._patch_windows(dev)
            if dev.acs:
                cap, _ = dev.acs
                off = cfg.find_ext_cap(pc.ECAP_ACS)
                cfg.w16(off + 6, cap & pc.ACS_KERNEL_ENABLES)
                dev.acs = cfg.acs()
            if getattr(dev, "iov", None):
                off = dev.iov["off"]
                ctrl = cfg.u16(off + pc.SRIOV_CTRL) & ~(pc.SRIOV_CTRL_VFE | pc.SRIOV_CTRL_MSE)
                if dev.iov_num:
                    ctrl |= pc.SRIOV_CTRL_VFE | pc.SRIOV_CTRL_MSE
                cfg.w16(off + pc.SRIOV_CTRL, ctrl)
                cfg.w16(off + pc.SRIOV_NUM_VF, dev.iov_num)
                for i, (kind, _) in dev.sriov_desc["vf_bars"].items():
                    pc.write_bar(cfg, off + pc.SRIOV_BAR, i, kind, dev.res[7 + i][0])
                dev.iov = cfg.sriov()
        # ARI forwarding: Linux enables it on a port whose child has the ARI cap
        for dev in self.sorted_devs():
            dev.ari_enabled = False
        for dev in self.sorted_devs():
            exp = dev.cfg.pcie_cap if not dev.header_only else None
            if exp is None or dev.pcie_type not in ("root-port", "downstream"):
                continue
            if not dev.cfg.u32(exp + 0x24) & 0x20:          # DevCap2 ARI Forwarding
                continue
            if any(c.cfg.find_ext_cap(pc.ECAP_ARI) for c in dev.children if not c.header_only):
                dev.cfg.w16(exp + 0x28, dev.cfg.u16(exp + 0x28) | 0x20)  # DevCtl2
                for c in dev.children:
                    c.ari_enabled = True

    def _patch_windows(self, dev):
        cfg, w = dev.cfg, dev.windows
        io_type = cfg.u8(pc.IO_BASE) & 0xF
        if "io" in w:
            s, e = w["io"]
            cfg.w8(pc.IO_BASE, ((s >> 8) & 0xF0) | io_type)
            cfg.w8(pc.IO_LIMIT, ((e >> 8) & 0xF0) | io_type)
            if io_type == 1:
                cfg.w16(pc.IO_BASE_UPPER, s >> 16)
                cfg.w16(pc.IO_LIMIT_UPPER, e >> 16)
        else:
            cfg.w8(pc.IO_BASE, 0xF0 | io_type)
            cfg.w8(pc.IO_LIMIT, io_type)
            if io_type == 1:
                cfg.w32(pc.IO_BASE_UPPER, 0)
        if "mem" in w:
            s, e = w["mem"]
            cfg.w16(pc.MEM_BASE, (s >> 16) & 0xFFF0)
            cfg.w16(pc.MEM_LIMIT, (e >> 16) & 0xFFF0)
        else:
            cfg.w16(pc.MEM_BASE, 0xFFF0)
            cfg.w16(pc.MEM_LIMIT, 0x0000)
        pt = cfg.u16(pc.PREF_BASE) & 0xF
        if "pref" in w:
            s, e = w["pref"]
            cfg.w16(pc.PREF_BASE, ((s >> 16) & 0xFFF0) | pt)
            cfg.w16(pc.PREF_LIMIT, ((e >> 16) & 0xFFF0) | pt)
            if pt == 1:
                cfg.w32(pc.PREF_BASE_UPPER, s >> 32)
                cfg.w32(pc.PREF_LIMIT_UPPER, e >> 32)
        else:
            cfg.w16(pc.PREF_BASE, 0xFFF0 | pt)
            cfg.w16(pc.PREF_LIMIT, pt)
            if pt == 1:
                cfg.w32(pc.PREF_BASE_UPPER, 0)
                cfg.w32(pc.PREF_LIMIT_UPPER, 0)

    # ---------------------------------------------------------------- IOMMU groups
    def _acs_enabled(self, dev):
        """pci_acs_enabled(dev, REQ_ACS_FLAGS), Linux 6.1 drivers/pci/pci.c"""
        if dev.d.get("acs_quirk"):
            return True
        if not dev.is_pcie:
            return False
        t = dev.pcie_type
        if t in ("pci-pcie-bridge", "pcie-pci-bridge", "rc-event-collector"):
            return False
        if t in ("downstream", "root-port"):
            return self._acs_flags(dev)
        if t in ("endpoint", "upstream", "legacy-endpoint", "rc-endpoint"):
            return self._acs_flags(dev) if dev.multifunction and not dev.is_vf else True
        return True

    def _acs_flags(self, dev):
        if not dev.acs:
            return False
        req = pc.ACS_SV | pc.ACS_RR | pc.ACS_CR | pc.ACS_UF
        cap, ctrl = dev.acs
        req &= cap
        return ctrl & req == req

    def _acs_path(self, dev):
        while True:
            if not self._acs_enabled(dev):
                return False
            if dev.parent is None:
                return True
            dev = dev.parent

    def kernel_groups(self):
        """Simulate pci_device_group() (drivers/iommu/iommu.c) in the order the kernel
        adds devices: depth-first bus scan, VFs when SR-IOV is enabled afterwards.
        Returns {addr: group number}."""
        order = []

        def scan(devs):
            devs = sorted(devs, key=lambda d: d.devfn)
            order.extend(devs)
            for d in devs:
                if getattr(d, "secondary", None) is not None:
                    scan([c for c in d.children if not c.is_vf])
        scan([d for d in self.devs.values() if d.parent is None])
        for pf in self.sorted_devs():
            order.extend(pf.vfs)
        groups, nxt = {}, 0
        for dev in order:
            g = self._group_of(dev, groups)
            if g is None:
                g, nxt = nxt, nxt + 1
            groups[dev.addr] = g
        return groups

    def _group_of(self, dev, groups):
        pdev = dev
        # pci_for_each_dma_alias(): bridges that take over the requester id
        p = dev.parent
        while p is not None:
            if p.is_pcie and p.pcie_type in ("root-port", "upstream", "downstream"):
                p = p.parent
                continue
            pdev = p
            if p.addr in groups:
                return groups[p.addr]
            p = p.parent
        # upstream to the first bridge whose path has ACS
        p = pdev.parent
        while p is not None:
            if self._acs_path(p):
                break
            pdev = p
            if p.addr in groups:
                return groups[p.addr]
            p = p.parent
        if pdev.addr in groups:
            return groups[pdev.addr]
        # non-isolated functions of the same slot
        if pdev.multifunction and not pdev.is_vf and not self._acs_enabled(pdev):
            for o in self.sorted_devs():
                if (o is not pdev and o.bus == pdev.bus and o.slot == pdev.slot and not o.is_vf
                        and not self._acs_enabled(o) and o.addr in groups):
                    return groups[o.addr]
        return None

    def _check_groups(self):
        kg = self.kernel_groups()
        bad = [a for a in sorted(self.devs) if kg[a] != self.devs[a].group]
        if bad:
            table = ", ".join(f"{a}: {kg[a]}" for a in sorted(self.devs, key=lambda a: (kg[a], a)))
            raise LabError("IOMMU groups differ from what Linux would make for this topology "
                           f"at {', '.join(bad)}.\nLinux would number them: {table}")
        self.groups = {}
        for dev in self.sorted_devs():
            self.groups.setdefault(dev.group, []).append(dev)

    def _check_expectations(self):
        exp = getattr(self.desc, "EXPECT", {})
        for g, members in exp.get("group_members", {}).items():
            have = [d.addr for d in self.groups.get(g, [])]
            if have != sorted(members):
                raise LabError(f"EXPECT: group {g} is {have}, expected {sorted(members)}")

    # ---------------------------------------------------------------- runtime facts
    def _derive_runtime(self):
        irq_next = MSI_IRQ_BASE
        ncpu = self.h["cpu"]["nodes"] * self.h["cpu"]["sockets"] * self.h["cpu"]["cores"] * \
            self.h["cpu"]["threads"]
        for dev in self.sorted_devs():
            cfg = dev.cfg
            # bound and active: a host driver, or vfio-pci with a running VM
            dev.active = dev.driver is not None and (dev.driver != "vfio-pci" or dev.in_use_by_running_vm)
            nvec = 0
            if dev.header_only:
                nvec = dev.d.get("msi", 0) if dev.active else 0
            elif dev.active:
                msix, msi = cfg.msix(), cfg.msi()
                if msix and msix[0]:
                    nvec = min(msix[1], ncpu + 1)
                elif msi and msi[0]:
                    nvec = msi[1]
            dev.msi_irqs = list(range(irq_next, irq_next + nvec))
            irq_next += nvec
            # INTx: swizzle up to the root bus, then the I/O APIC input of that slot
            pin = cfg.int_pin if not dev.is_vf else 0
            if pin:
                d, p = dev, pin
                while d.parent is not None:
                    p = (p - 1 + d.slot) % 4 + 1
                    d = d.parent
                dev.irq = 16 + (d.slot + p - 1) % 8
            else:
                dev.irq = 0
            if dev.msi_irqs and not (cfg.msix() and cfg.msix()[0]) and not dev.header_only:
                dev.irq = dev.msi_irqs[0]     # MSI (not MSI-X) replaces dev->irq
            dev.reset_methods = self._reset_methods(dev)
            dev.enable = 1 if (dev.active or (getattr(dev, "secondary", None) is not None and
                                              any(c.driver for c in dev.children))) else 0

    def _reset_methods(self, dev):
        if dev.header_only:
            r = list(dev.d.get("reset", []))
            if any(m not in RESET_ORDER for m in r):
                raise LabError(f"{dev.addr}: unknown reset method in {r}")
            return sorted(r, key=RESET_ORDER.index)
        if "reset" in dev.d:
            raise LabError(f"{dev.addr}: reset methods come from the dump")
        cfg, out = dev.cfg, []
        exp = cfg.pcie_cap
        if exp is not None and cfg.u32(exp + pc.EXP_DEVCAP) & pc.EXP_DEVCAP_FLR:
            out.append("flr")
        else:
            af = cfg.find_cap(pc.CAP_AF)
            if af is not None and cfg.u8(af + 3) & 0x3 == 0x3:
                out.append("af_flr")
        if cfg.has_pm_reset():
            out.append("pm")
        # secondary bus reset: alone on a non-root bus, not a bridge itself
        if (dev.parent is not None and getattr(dev, "secondary", None) is None
                and [c for c in dev.parent.children] == [dev]):
            out.append("bus")
        return out

    # ---------------------------------------------------------------- interfaces
    def netdevs(self):
        """every host interface in ifindex order: lo, the PCI functions' netdevs, bridges.
        Ports of a bridge and PFs with VFs are up (1 Gb/s: the lab's NICs are 1G); the
        others are down."""
        out = [{"name": "lo", "mac": "00:00:00:00:00:00", "parent": "computer", "dev": None,
                "xmlpath": "/sys/devices/virtual/net/lo", "type": 772, "flags": "0x9",
                "operstate": "unknown", "mtu": 65536}]
        ports = {p: br["name"] for br in self.h["bridges"] for p in br["ports"]}
        for dev in self.sorted_devs():
            for name, mac in dev.net:
                up = name in ports or getattr(dev, "iov", None) is not None
                out.append({"name": name, "mac": mac, "parent": dev.name, "dev": dev,
                            "xmlpath": sysfs_path(dev) + "/net/" + name, "type": 1,
                            "flags": "0x1003" if up else "0x1002",
                            "operstate": "up" if up else "down", "speed": 1000 if up else None,
                            "mtu": 1500, "master": ports.get(name)})
        for br in self.h["bridges"]:
            out.append({"name": br["name"], "mac": br["mac"], "parent": "computer", "dev": None,
                        "xmlpath": "/sys/devices/virtual/net/" + br["name"], "type": 1,
                        "flags": "0x1003", "operstate": "up", "mtu": 1500, "bridge": br})
        for i, n in enumerate(out, 1):
            n["ifindex"] = i
        return out

    def numa_node(self, dev):
        return self.h.get("numa_node", 0)

    # ---------------------------------------------------------------- names
    def vendor_name(self, dev):
        return self.vendors.get(dev.ids[0])

    def product_name(self, dev):
        """udev hwdb's ID_MODEL_FROM_DATABASE, which libvirt prints: the device name,
        with the subsystem name in parentheses when pci.ids has one"""
        name = self.products.get(dev.ids)
        if name is None:
            return None
        sv, sd = dev.subsys
        sub = self.subsys_names.get((dev.ids[0], dev.ids[1], sv, sd))
        return f"{name} ({sub})" if sub else name


# =========================================================================== host.xml
def addr_xml(dev):
    return ("<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>"
            % dev.t)


def sysfs_path(dev):
    chain, d = [], dev
    while d:
        chain.append(d.addr)
        d = d.parent
    return "/sys/devices/pci%04x:%02x/" % (dev.t[0], 0) + "/".join(reversed(chain))


def nodedev_xml(host, dev):
    """<device> in libvirt 9.0's virNodeDeviceDefFormat() layout"""
    L = ["  <device>", f"    <name>{dev.name}</name>",
         f"    <path>{xml_text(sysfs_path(dev))}</path>",
         f"    <parent>{dev.parent.name if dev.parent else 'computer'}</parent>"]
    if dev.driver:
        L += ["    <driver>", f"      <name>{xml_text(dev.driver)}</name>", "    </driver>"]
    L += ["    <capability type='pci'>",
          f"      <class>0x{dev.class_code:06x}</class>",
          f"      <domain>{dev.t[0]}</domain>", f"      <bus>{dev.t[1]}</bus>",
          f"      <slot>{dev.t[2]}</slot>", f"      <function>{dev.t[3]}</function>"]
    pn, vn = host.product_name(dev), host.vendor_name(dev)
    L.append(f"      <product id='0x{dev.ids[1]:04x}'>{xml_text(pn)}</product>" if pn
             else f"      <product id='0x{dev.ids[1]:04x}'/>")
    L.append(f"      <vendor id='0x{dev.ids[0]:04x}'>{xml_text(vn)}</vendor>" if vn
             else f"      <vendor id='0x{dev.ids[0]:04x}'/>")
    if dev.is_vf:
        L += ["      <capability type='phys_function'>", "        " + addr_xml(dev.pf),
              "      </capability>"]
    if getattr(dev, "iov", None):
        if dev.vfs:
            L.append(f"      <capability type='virt_functions' maxCount='{dev.iov['total']}'>")
            L += ["        " + addr_xml(v) for v in dev.vfs]
            L.append("      </capability>")
        else:
            L.append(f"      <capability type='virt_functions' maxCount='{dev.iov['total']}'/>")
    if dev.cfg.header_type == 1:
        L.append("      <capability type='pci-bridge'/>")
    L.append(f"      <iommuGroup number='{dev.group}'>")
    L += ["        " + addr_xml(m) for m in host.groups[dev.group]]
    L.append("      </iommuGroup>")
    numa = host.numa_node(dev)
    if numa >= 0:
        L.append(f"      <numa node='{numa}'/>")
    if dev.is_pcie and dev.link:
        port, cs, cw, ss, sw = dev.link
        L.append("      <pci-express>")
        cap = f"        <link validity='cap' port='{port}'"
        if cs in pc.LINK_SPEED_LIBVIRT:
            cap += f" speed='{pc.LINK_SPEED_LIBVIRT[cs]}'"
        L.append(cap + f" width='{cw}'/>")
        sta = "        <link validity='sta'"
        if ss in pc.LINK_SPEED_LIBVIRT:
            sta += f" speed='{pc.LINK_SPEED_LIBVIRT[ss]}'"
        L.append(sta + f" width='{sw}'/>")
        L.append("      </pci-express>")
    L += ["    </capability>", "  </device>"]
    return L


def net_nodedev_xml(n):
    """a net <device> as libvirt 9.0 formats it (virNodeDeviceCapNetDefFormat; the
    ethtool <feature> list is left out)"""
    L = ["  <device>", f"    <name>net_{n['name']}_{n['mac'].replace(':', '_')}</name>",
         f"    <path>{xml_text(n['xmlpath'])}</path>", f"    <parent>{n['parent']}</parent>",
         "    <capability type='net'>", f"      <interface>{xml_text(n['name'])}</interface>",
         f"      <address>{n['mac']}</address>"]
    speed = f" speed='{n['speed']}'" if n.get("speed") else ""
    L.append(f"      <link{speed} state='{n['operstate']}'/>")
    L.append("      <capability type='80203'/>")
    L += ["    </capability>", "  </device>"]
    return L


def computer_xml(h):
    s = h["system"]
    return ["  <device>", "    <name>computer</name>", "    <capability type='system'>",
            f"      <product>{xml_text(s['product'])}</product>", "      <hardware>",
            f"        <vendor>{xml_text(s['vendor'])}</vendor>",
            f"        <serial>{xml_text(s['serial'])}</serial>",
            f"        <uuid>{s['uuid']}</uuid>", "      </hardware>", "      <firmware>",
            f"        <vendor>{xml_text(s['vendor'])}</vendor>",
            f"        <version>{xml_text(s['bios'])}</version>",
            f"        <release_date>{xml_text(s['bios_date'])}</release_date>",
            "      </firmware>", "    </capability>", "  </device>"]


def domain_xml(host, dom, indent="  "):
    """a defined domain, as `virsh dumpxml --inactive` prints it"""
    x = [f"<domain type='test' xmlns:test='{TEST_NS}'>",
         f"  <name>{xml_text(dom['name'])}</name>", f"  <uuid>{dom['uuid']}</uuid>",
         f"  <memory unit='KiB'>{dom['memory_mib'] * 1024}</memory>",
         f"  <currentMemory unit='KiB'>{dom['memory_mib'] * 1024}</currentMemory>",
         f"  <vcpu placement='static'>{dom['vcpus']}</vcpu>"]
    fw = " firmware='efi'" if dom.get("firmware") == "efi" else ""
    x += [f"  <os{fw}>", f"    <type arch='x86_64' machine='{dom['machine']}'>hvm</type>",
          "    <boot dev='hd'/>", "  </os>",
          "  <features>", "    <acpi/>", "    <apic/>", "  </features>",
          "  <cpu mode='host-passthrough' check='none' migratable='on'/>",
          "  <clock offset='utc'/>",
          "  <on_poweroff>destroy</on_poweroff>", "  <on_reboot>restart</on_reboot>",
          "  <on_crash>destroy</on_crash>", "  <devices>",
          "    <emulator>/usr/bin/qemu-system-x86_64</emulator>",
          "    <disk type='file' device='disk'>",
          "      <driver name='qemu' type='qcow2'/>",
          f"      <source file='/var/lib/libvirt/images/{xml_attr(dom['name'])}.qcow2'/>",
          "      <target dev='vda' bus='virtio'/>", "    </disk>"]
    for item in dom["devices"]:
        dev = host.devs[item[1]]
        src = addr_xml(dev)
        if item[0] == "hostdev":
            x += ["    <hostdev mode='subsystem' type='pci' managed='yes'>",
                  "      <driver name='vfio'/>", "      <source>", "        " + src,
                  "      </source>", "    </hostdev>"]
        elif item[0] == "interface":
            mac, vlan = item[2], item[3]
            x += ["    <interface type='hostdev' managed='yes'>",
                  f"      <mac address='{mac}'/>", "      <driver name='vfio'/>",
                  "      <source>", "        " + src.replace("<address ", "<address type='pci' "),
                  "      </source>"]
            if vlan is not None:
                x += ["      <vlan>", f"        <tag id='{int(vlan)}'/>", "      </vlan>"]
            x.append("    </interface>")
        else:
            raise LabError(f"{dom['name']}: unknown device kind {item[0]!r}")
    x += ["    <serial type='pty'>", "      <target port='0'/>", "    </serial>",
          "    <console type='pty'>", "      <target type='serial' port='0'/>",
          "    </console>", "  </devices>"]
    if dom["state"] == "shutoff":
        x.append("  <test:runstate>5</test:runstate>")
    x.append("</domain>")
    return [indent + line for line in x]


def host_xml(host):
    h = host.h
    c = h["cpu"]
    L = ["<?xml version='1.0' encoding='UTF-8'?>",
         "<!-- libvirt test-driver host generated by lab/gen_lab.py from lab/lab_host.py:",
         "     do not edit; see lab/README.md -->",
         "<node>", "  <cpu>", f"    <mhz>{c['mhz']}</mhz>", f"    <model>{c['model']}</model>",
         f"    <active>{c['nodes'] * c['sockets'] * c['cores'] * c['threads']}</active>",
         f"    <nodes>{c['nodes']}</nodes>", f"    <sockets>{c['sockets']}</sockets>",
         f"    <cores>{c['cores']}</cores>", f"    <threads>{c['threads']}</threads>",
         "  </cpu>", f"  <memory>{h['memory_kib']}</memory>"]
    L += computer_xml(h)
    for dev in host.sorted_devs():
        L += nodedev_xml(host, dev)
    for n in host.netdevs():
        L += net_nodedev_xml(n)
    for dom in host.domains:
        L += domain_xml(host, dom)
    L.append("</node>")
    return "\n".join(L) + "\n"


# =========================================================================== sysfs twin
class Tree:
    """files and symlinks under one root (directories made once, remembered)"""

    def __init__(self, root):
        self.root = root
        self.made = set()

    def p(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def _mkdir(self, path):
        if path not in self.made:
            os.makedirs(path, exist_ok=True)
            while path not in self.made and path != self.root:
                self.made.add(path)
                path = os.path.dirname(path)

    def dir(self, rel):
        self._mkdir(self.p(rel))

    def file(self, rel, content=""):
        path = self.p(rel)
        self._mkdir(os.path.dirname(path))
        if isinstance(content, (bytes, bytearray)):
            with open(path, "wb") as f:
                f.write(content)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)

    def link(self, rel, target_rel):
        """rel -> target_rel, both relative to the root; the link is relative"""
        path = self.p(rel)
        self._mkdir(os.path.dirname(path))
        os.symlink(os.path.relpath(self.p(target_rel), os.path.dirname(path)), path)


def resource_text(dev):
    n = 17 if getattr(dev, "secondary", None) is not None else 13
    lines = []
    for i in range(n):
        s, e, f = dev.res.get(i, (0, 0, 0))
        lines.append("0x%016x 0x%016x 0x%016x\n" % (s, e, f))
    return "".join(lines)


def write_sysfs(host, t):
    h = host.h
    t.dir("sys/bus/pci/devices")
    t.file("sys/bus/pci/drivers_autoprobe", "1\n")
    t.file("sys/bus/pci/drivers_probe", "")
    t.file("sys/bus/pci/rescan", "")
    t.file("sys/bus/pci/resource_alignment", "\n")
    drivers = {d.driver for d in host.devs.values() if d.driver} | {"vfio-pci"}
    for drv in sorted(drivers):
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            t.file(f"sys/bus/pci/drivers/{drv}/{f}", "")
    t.dir("sys/devices/virtual/iommu/dmar0/devices")
    t.file("sys/devices/virtual/iommu/dmar0/intel-iommu/version", "1:0\n")
    t.link("sys/class/iommu/dmar0", "sys/devices/virtual/iommu/dmar0")
    t.file("sys/devices/pci0000:00/uevent", "")
    t.file("sys/devices/pci0000:00/power/control", "auto\n")
    numa_cpus = h["cpulist"]
    for dev in host.sorted_devs():
        base = sysfs_path(dev).lstrip("/")
        cfg = dev.cfg
        sv, sd = dev.subsys
        t.file(f"{base}/vendor", "0x%04x\n" % dev.ids[0])
        t.file(f"{base}/device", "0x%04x\n" % dev.ids[1])
        t.file(f"{base}/subsystem_vendor", "0x%04x\n" % sv)
        t.file(f"{base}/subsystem_device", "0x%04x\n" % sd)
        t.file(f"{base}/class", "0x%06x\n" % dev.class_code)
        t.file(f"{base}/revision", "0x%02x\n" % dev.cfg.revision)
        t.file(f"{base}/config", bytes(cfg.b))
        t.file(f"{base}/resource", resource_text(dev))
        t.file(f"{base}/irq", "%d\n" % dev.irq)
        numa = host.numa_node(dev)
        t.file(f"{base}/numa_node", "%d\n" % numa)
        t.file(f"{base}/local_cpulist", numa_cpus[max(numa, 0)] + "\n")
        t.file(f"{base}/local_cpus", h["cpumask"][max(numa, 0)] + "\n")
        t.file(f"{base}/enable", "%d\n" % dev.enable)
        # libvirt's managed detach binds through driver_override and leaves it set
        t.file(f"{base}/driver_override",
               "vfio-pci\n" if dev.driver == "vfio-pci" else "(null)\n")
        t.file(f"{base}/d3cold_allowed", "1\n")
        t.file(f"{base}/ari_enabled", "1\n" if dev.ari_enabled else "0\n")
        t.file(f"{base}/modalias", "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n" % (
            dev.ids[0], dev.ids[1], sv, sd, dev.class_code >> 16, (dev.class_code >> 8) & 0xFF,
            dev.class_code & 0xFF))
        t.link(f"{base}/subsystem", "sys/bus/pci")
        t.link(f"{base}/iommu", "sys/devices/virtual/iommu/dmar0")
        t.link(f"sys/devices/virtual/iommu/dmar0/devices/{dev.addr}", base)
        if dev.reset_methods:
            t.file(f"{base}/reset_method", " ".join(dev.reset_methods) + "\n")
            t.file(f"{base}/reset", "")
        if dev.msi_irqs:
            for irq in dev.msi_irqs:
                is_msix = (dev.cfg.msix() or (False,))[0] if not dev.header_only else True
                t.file(f"{base}/msi_irqs/{irq}", "msix\n" if is_msix else "msi\n")
        if dev.is_pcie and dev.link:
            port, cs, cw, ss, sw = dev.link
            t.file(f"{base}/current_link_speed", pc.LINK_SPEED_SYSFS.get(ss, "Unknown") + "\n")
            t.file(f"{base}/current_link_width", "%d\n" % sw)
            t.file(f"{base}/max_link_speed", pc.LINK_SPEED_SYSFS.get(cs, "Unknown") + "\n")
            t.file(f"{base}/max_link_width", "%d\n" % cw)
        if dev.class_code >> 8 == 0x0300:
            t.file(f"{base}/boot_vga", "1\n" if dev.d.get("boot_vga") else "0\n")
        if getattr(dev, "secondary", None) is not None:
            t.file(f"{base}/secondary_bus_number", "%d\n" % dev.secondary)
            t.file(f"{base}/subordinate_bus_number", "%d\n" % dev.subordinate)
        # driver
        if dev.driver:
            t.link(f"{base}/driver", f"sys/bus/pci/drivers/{dev.driver}")
            t.link(f"sys/bus/pci/drivers/{dev.driver}/{dev.addr}", base)
        # group
        t.link(f"{base}/iommu_group", f"sys/kernel/iommu_groups/{dev.group}")
        t.link(f"sys/kernel/iommu_groups/{dev.group}/devices/{dev.addr}", base)
        t.link(f"sys/bus/pci/devices/{dev.addr}", base)
        # SR-IOV
        if getattr(dev, "iov", None):
            iov = dev.iov
            t.file(f"{base}/sriov_totalvfs", "%d\n" % iov["total"])
            t.file(f"{base}/sriov_numvfs", "%d\n" % iov["num"])
            t.file(f"{base}/sriov_offset", "%d\n" % iov["offset"])
            t.file(f"{base}/sriov_stride", "%d\n" % iov["stride"])
            t.file(f"{base}/sriov_vf_device", "%x\n" % iov["vf_device"])
            t.file(f"{base}/sriov_drivers_autoprobe", "1\n")
            t.file(f"{base}/sriov_vf_total_msix", "0\n")
            for vf in dev.vfs:
                t.link(f"{base}/virtfn{vf.vf[1]}", sysfs_path(vf))
        if dev.is_vf:
            t.link(f"{base}/physfn", sysfs_path(dev.pf))
    # groups
    for g, members in sorted(host.groups.items()):
        gd = f"sys/kernel/iommu_groups/{g}"
        t.file(f"{gd}/type", host.h["iommu_default_domain"] + "\n")
        regions = list(host.h.get("rmrr", {}).get(g, [])) + [(0xFEE00000, 0xFEEFFFFF, "msi")]
        regions.sort()
        t.file(f"{gd}/reserved_regions",
               "".join("0x%016x 0x%016x %s\n" % r for r in regions))
        if any(m.driver == "vfio-pci" for m in members):
            t.file(f"dev/vfio/{g}", "")
    for g in host.h.get("rmrr", {}):
        if g not in host.groups:
            raise LabError(f"rmrr: group {g} does not exist")
    t.file("dev/vfio/vfio", "")
    # modules
    for m in ("vfio", "vfio_pci", "vfio_iommu_type1", "kvm", "kvm_intel"):
        t.file(f"sys/module/{m}/refcnt", "0\n")
    t.file("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
           host.h["allow_unsafe_interrupts"] + "\n")
    t.file("sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "65535\n")
    t.file("sys/module/vfio_pci/parameters/disable_vga", "N\n")
    t.file("sys/module/vfio_pci/parameters/ids", "\n")
    write_net(host, t)
    write_block(host, t)


def write_net(host, t):
    for n in host.netdevs():
        d = n["xmlpath"].lstrip("/")
        t.file(f"{d}/address", n["mac"] + "\n")
        t.file(f"{d}/broadcast", ("00:00:00:00:00:00" if n["name"] == "lo" else "ff:ff:ff:ff:ff:ff") + "\n")
        t.file(f"{d}/addr_len", "6\n")
        t.file(f"{d}/ifindex", "%d\n" % n["ifindex"])
        t.file(f"{d}/iflink", "%d\n" % n["ifindex"])
        t.file(f"{d}/type", "%d\n" % n["type"])
        t.file(f"{d}/flags", n["flags"] + "\n")
        t.file(f"{d}/mtu", "%d\n" % n["mtu"])
        t.file(f"{d}/operstate", n["operstate"] + "\n")
        if n["operstate"] == "up":
            t.file(f"{d}/carrier", "1\n")
        if n.get("speed"):
            t.file(f"{d}/speed", "%d\n" % n["speed"])
        t.file(f"{d}/dev_id", "0x0\n")
        t.file(f"{d}/uevent", f"INTERFACE={n['name']}\nIFINDEX={n['ifindex']}\n")
        t.link(f"sys/class/net/{n['name']}", d)
        if n["dev"] is not None:
            t.link(f"{d}/device", sysfs_path(n["dev"]))
        if n.get("master"):
            br = f"sys/devices/virtual/net/{n['master']}"
            t.link(f"{d}/master", br)
            t.link(f"{d}/upper_{n['master']}", br)
            t.link(f"{d}/brport/bridge", br)
            t.file(f"{d}/brport/state", "3\n")
            t.link(f"{br}/brif/{n['name']}", f"{d}/brport")
            t.link(f"{br}/lower_{n['name']}", d)
        if n.get("bridge"):
            t.file(f"{d}/bridge/stp_state", "0\n")
            t.file(f"{d}/bridge/forward_delay", "1500\n")
            t.file(f"{d}/bridge/bridge_id", "8000.%s\n" % n["mac"].replace(":", ""))
            t.dir(f"{d}/brif")


def write_block(host, t):
    for addr, (ctrl, ns, nsdev, parts) in sorted(host.h["block"].items()):
        dev = host.devs[addr]
        if dev.driver != "nvme":
            raise LabError(f"block: {addr} is not on the nvme driver")
        cdir = sysfs_path(dev).lstrip("/") + f"/nvme/{ctrl}"
        t.file(f"{cdir}/dev", "%s\n" % ("241:%d" % int(ctrl[4:])))
        t.file(f"{cdir}/state", "live\n")
        t.file(f"{cdir}/transport", "pcie\n")
        t.file(f"{cdir}/address", addr + "\n")
        t.link(f"{cdir}/device", sysfs_path(dev))
        t.link(f"sys/class/nvme/{ctrl}", cdir)
        nd = f"{cdir}/{ns}"
        t.file(f"{nd}/dev", nsdev + "\n")
        t.file(f"{nd}/size", "1953525168\n")
        t.file(f"{nd}/removable", "0\n")
        t.file(f"{nd}/ro", "0\n")
        t.link(f"{nd}/device", cdir)
        t.link(f"sys/block/{ns}", nd)
        t.link(f"sys/class/block/{ns}", nd)
        t.link(f"sys/dev/block/{nsdev}", nd)
        for i, (pname, pdev, _, _) in enumerate(parts, 1):
            pd = f"{nd}/{pname}"
            t.file(f"{pd}/dev", pdev + "\n")
            t.file(f"{pd}/partition", "%d\n" % i)
            t.link(f"sys/class/block/{pname}", pd)
            t.link(f"sys/dev/block/{pdev}", pd)


# =========================================================================== procfs
def ip4_hex(a):
    b = [int(x) for x in a.split(".")]
    return "%02X%02X%02X%02X" % (b[3], b[2], b[1], b[0])


def ip6_hex(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed.hex()


def write_interrupts(host, t):
    """/proc/interrupts as Linux 6.1 prints it with interrupt remapping on: legacy lines on
    the IR-IO-APIC chip, MSI/MSI-X vectors on IR-PCI-MSI(X)-<bdf> (the "IR-" prefix comes
    from dmar_msi_parent_ops in drivers/iommu/intel/irq_remapping.c)."""
    cpus = 4
    head = "           " + "".join("CPU%-8d" % c for c in range(cpus)).rstrip() + "\n"
    rows = {0: ("IR-IO-APIC", "2-edge", "timer"), 9: ("IR-IO-APIC", "9-fasteoi", "acpi")}
    for dev in host.sorted_devs():
        drv = dev.driver or ""
        if dev.msi_irqs:
            msix = (dev.cfg.msix() or (False,))[0] if not dev.header_only else True
            chip = ("IR-PCI-MSIX-" if msix else "IR-PCI-MSI-") + dev.addr
            for n, irq in enumerate(dev.msi_irqs):
                rows[irq] = (chip, "%d-edge" % n, drv)
        elif dev.irq and drv:
            chip, kind, names = rows.get(dev.irq, ("IR-IO-APIC", "%d-fasteoi" % dev.irq, ""))
            rows[dev.irq] = (chip, kind, ", ".join(x for x in (names, drv) if x))
    out = [head]
    for irq in sorted(rows):
        chip, kind, name = rows[irq]
        out.append("%4d:%s %s %s   %s\n" % (irq, "".join("%11d" % 0 for _ in range(cpus)),
                                           chip.ljust(12), kind.rjust(10), name))
    t.file("proc/interrupts", "".join(out))


def write_proc(host, t):
    h = host.h
    write_interrupts(host, t)
    t.file("proc/cmdline", h["cmdline"] + "\n")
    t.file("proc/sys/kernel/osrelease", h["kernel"] + "\n")
    t.file("proc/sys/kernel/hostname", h["hostname"] + "\n")
    # /proc/net/route: fib_route_seq_show() pads every line to 127 characters
    rows = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"]
    for br in h["bridges"]:
        ip, plen = br["ipv4"]
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        maskq = ".".join(str(mask >> s & 0xFF) for s in (24, 16, 8, 0))
        net = ".".join(str(int(a) & int(m)) for a, m in zip(ip.split("."), maskq.split(".")))
        if br.get("gateway4"):
            rows.append(f"{br['name']}\t00000000\t{ip4_hex(br['gateway4'])}\t0003\t0\t0\t0\t"
                        f"00000000\t0\t0\t0")
        rows.append(f"{br['name']}\t{ip4_hex(net)}\t00000000\t0001\t0\t0\t0\t{ip4_hex(maskq)}\t"
                    f"0\t0\t0")
    t.file("proc/net/route", "".join(r.ljust(127) + "\n" for r in rows))
    # /proc/net/ipv6_route
    z = "0" * 32
    v6 = []
    for br in h["bridges"]:
        if not br.get("ipv6"):
            continue
        import ipaddress
        net = ipaddress.IPv6Network(f"{br['ipv6'][0]}/{br['ipv6'][1]}", strict=False)
        v6.append((net.network_address.packed.hex(), net.prefixlen, z, "00000100", "00000001", br["name"]))
        v6.append(("fe80" + "0" * 28, 64, z, "00000100", "00000001", br["name"]))
        if br.get("gateway6"):
            v6.append((z, 0, ip6_hex(br["gateway6"]), "00000400", "00000003", br["name"]))
        v6.append(("ff00" + "0" * 28, 8, z, "00000100", "00000001", br["name"]))
    v6.append(("0" * 31 + "1", 128, z, "00000000", "80200001", "lo"))
    t.file("proc/net/ipv6_route", "".join(
        f"{d} {p:02x} {z} 00 {nh} {metric} 00000001 00000000 {flags} {dev:>8}\n"
        for d, p, nh, metric, flags, dev in v6))
    # /proc/self/mountinfo
    mi = []
    mid = 21
    parts = {}
    for addr, (ctrl, ns, nsdev, ps) in sorted(h["block"].items()):
        for pname, pdev, mnt, fs in ps:
            if mnt:
                parts[mnt] = (pname, pdev, fs)
    root = parts["/"]
    mi.append(f"{mid} 1 {root[1]} / / rw,relatime shared:1 - {root[2]} /dev/{root[0]} "
              "rw,errors=remount-ro")
    rootid = mid
    extra = [("0:20", "/sys", "rw,nosuid,nodev,noexec,relatime shared:7", "sysfs sysfs rw"),
             ("0:21", "/proc", "rw,nosuid,nodev,noexec,relatime shared:12", "proc proc rw"),
             ("0:5", "/dev", "rw,nosuid,relatime shared:2",
              "devtmpfs udev rw,size=49412580k,nr_inodes=12353145,mode=755,inode64"),
             ("0:22", "/dev/pts", "rw,nosuid,noexec,relatime shared:3",
              "devpts devpts rw,gid=5,mode=620,ptmxmode=000"),
             ("0:23", "/run", "rw,nosuid,nodev,noexec,relatime shared:5",
              "tmpfs tmpfs rw,size=9893916k,mode=755,inode64")]
    for majmin, mnt, opts, tail in extra:
        mid += 1
        mi.append(f"{mid} {rootid} {majmin} / {mnt} {opts} - {tail}")
    for mnt in sorted(parts):
        if mnt == "/":
            continue
        pname, pdev, fs = parts[mnt]
        mid += 1
        o = ("rw,fmask=0077,dmask=0077,codepage=437,iocharset=ascii,shortname=mixed,utf8,"
             "errors=remount-ro") if fs == "vfat" else "rw"
        mi.append(f"{mid} {rootid} {pdev} / {mnt} rw,relatime shared:{mid + 10} - {fs} /dev/{pname} {o}")
    t.file("proc/self/mountinfo", "\n".join(mi) + "\n")
    t.file("proc/self/mounts", "".join(
        f"/dev/{parts[m][0]} {m} {parts[m][2]} rw,relatime 0 0\n" for m in sorted(parts)))
    # /proc/swaps (swap_show(), Linux 6.1)
    path, kib = h["swapfile"]
    pad = 40 - len(path) if len(path) < 40 else 1
    t.file("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" +
           path + " " * pad + "file\t\t" + str(kib) + "\t" + ("\t" if kib < 10000000 else "") +
           "0\t\t-2\n")


# =========================================================================== output
def generate(host, out):
    os.makedirs(out, exist_ok=True)
    out = os.path.abspath(out)
    tmp = tempfile.mkdtemp(prefix=".lab-gen-", dir=out)
    try:
        t = Tree(os.path.join(tmp, "root"))
        write_sysfs(host, t)
        write_proc(host, t)
        with open(os.path.join(tmp, "host.xml"), "w") as f:
            f.write(host_xml(host))
        # swap in: root/ first, host.xml (the build's output stamp) last
        old = os.path.join(tmp, "old-root")
        if os.path.lexists(os.path.join(out, "root")):
            os.rename(os.path.join(out, "root"), old)
        os.rename(os.path.join(tmp, "root"), os.path.join(out, "root"))
        os.replace(os.path.join(tmp, "host.xml"), os.path.join(out, "host.xml"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# =========================================================================== check
def _addr_of(el):
    """DDDD:BB:SS.F of an <address domain= bus= slot= function=/> element"""
    return "%04x:%02x:%02x.%x" % tuple(int(el.get(k), 16) for k in ("domain", "bus", "slot", "function"))


def _link_name(path):
    """basename of a symlink's target, None when there is no such link"""
    return os.path.basename(os.readlink(path)) if os.path.islink(path) else None


def check(host, out, libvirt_dump=None):
    """Re-read DIR/host.xml and DIR/root and check they describe the same host."""
    out = os.path.abspath(out)
    root = os.path.join(out, "root")
    errors = []

    def err(msg):
        errors.append(msg)

    tree = ET.parse(os.path.join(out, "host.xml"))
    node = tree.getroot()
    xml_pci, xml_net = {}, {}
    for dv in node.findall("device"):
        name = dv.findtext("name")
        cap = dv.find("capability")
        if cap.get("type") == "pci":
            a = "%04x:%02x:%02x.%x" % tuple(int(cap.findtext(k))
                                            for k in ("domain", "bus", "slot", "function"))
            if name != nodedev_name(a):
                err(f"host.xml: {name} has address {a}")
            grp = cap.find("iommuGroup")
            xml_pci[a] = {
                "name": name, "parent": dv.findtext("parent"),
                "driver": dv.findtext("driver/name"),
                "ids": (int(cap.find("vendor").get("id"), 16), int(cap.find("product").get("id"), 16)),
                "class": int(cap.findtext("class"), 16),
                "group": int(grp.get("number")),
                "members": sorted(_addr_of(x) for x in grp.findall("address")),
                "pf": [c for c in cap.findall("capability") if c.get("type") == "phys_function"],
                "vfs": [c for c in cap.findall("capability") if c.get("type") == "virt_functions"],
                "bridge": any(c.get("type") == "pci-bridge" for c in cap.findall("capability")),
                "path": dv.findtext("path"),
            }
        elif cap.get("type") == "net":
            xml_net[cap.findtext("interface")] = (cap.findtext("address"), dv.findtext("parent"))
    # sysfs side
    def rd(p):
        with open(p) as f:
            return f.read().strip()

    realroot = os.path.realpath(root)
    devdir = os.path.join(root, "sys/bus/pci/devices")
    sys_pci = {}
    for a in sorted(os.listdir(devdir)):
        link = os.path.join(devdir, a)
        if not os.path.islink(link):
            err(f"sysfs: bus/pci/devices/{a} is not a symlink")
            continue
        real = os.path.realpath(link)
        info = {"real": real,
                "ids": (int(rd(f"{real}/vendor"), 16), int(rd(f"{real}/device"), 16)),
                "class": int(rd(f"{real}/class"), 16),
                "driver": _link_name(f"{real}/driver"),
                "group": int(_link_name(f"{real}/iommu_group")),
                "parent": os.path.basename(os.path.dirname(real)),
                "physfn": _link_name(f"{real}/physfn"),
                "virtfns": sorted(os.path.basename(os.path.realpath(os.path.join(real, v)))
                                  for v in os.listdir(real) if v.startswith("virtfn")),
                "net": sorted(os.listdir(f"{real}/net")) if os.path.isdir(f"{real}/net") else []}
        with open(f"{real}/config", "rb") as f:
            cfgb = f.read()
        c = pc.Config(cfgb)
        info["bridge"] = c.header_type == 1
        if len(cfgb) not in (64, 256, 4096):
            err(f"sysfs: {a}/config has {len(cfgb)} bytes")
        if (c.vendor, c.device) not in (info["ids"], (0xFFFF, 0xFFFF)):
            err(f"sysfs: {a}/config ids {c.vendor:04x}:{c.device:04x} != vendor/device files")
        if c.class_code != info["class"]:
            err(f"sysfs: {a}/config class {c.class_code:06x} != class file")
        if (c.vendor, c.device) == (0xFFFF, 0xFFFF) and not info["physfn"]:
            err(f"sysfs: {a}/config reads ffff but it is not a VF")
        res = [ln.split() for ln in rd(f"{real}/resource").splitlines()]
        bars = c.bars() if info["physfn"] is None else {}
        for i, kind in bars.items():
            start = int(res[i][0], 16)
            v = c.u32(pc.BAR0 + 4 * i)
            if kind.endswith("64"):
                v |= c.u32(pc.BAR0 + 4 * i + 4) << 32
            if (v & ~(0x3 if kind == "io" else 0xF)) != start:
                err(f"sysfs: {a} BAR{i} {v:#x} in config, {start:#x} in resource")
        if c.header_type == 1:
            sub = int(rd(f"{real}/secondary_bus_number"))
            if c.u8(pc.SECONDARY_BUS) != sub:
                err(f"sysfs: {a} secondary bus differs between config and sysfs")
            for child in os.listdir(real):
                if child.startswith("0000:") and int(child[5:7], 16) != sub:
                    err(f"sysfs: {a}/{child} is not on its secondary bus {sub:02x}")
        sys_pci[a] = info
    # groups dir
    gdir = os.path.join(root, "sys/kernel/iommu_groups")
    sys_groups = {int(g): sorted(os.listdir(os.path.join(gdir, g, "devices"))) for g in os.listdir(gdir)}
    # compare
    if set(xml_pci) != set(sys_pci):
        err(f"devices differ: only in host.xml {sorted(set(xml_pci) - set(sys_pci))}, "
            f"only in sysfs {sorted(set(sys_pci) - set(xml_pci))}")
    if set(xml_pci) != set(host.devs):
        err("host.xml does not list the described devices")
    for a in sorted(set(xml_pci) & set(sys_pci)):
        x, s, dev = xml_pci[a], sys_pci[a], host.devs.get(a)
        for k in ("ids", "class", "driver", "group"):
            if x[k] != s[k]:
                err(f"{a}: {k} is {x[k]!r} in host.xml, {s[k]!r} in sysfs")
        if dev is not None and (x["driver"], x["group"]) != (dev.driver, dev.group):
            err(f"{a}: driver/group differ from the description")
        if x["members"] != sys_groups.get(x["group"]):
            err(f"{a}: group {x['group']} members {x['members']} in host.xml, "
                f"{sys_groups.get(x['group'])} in sysfs")
        par = s["parent"]
        want_parent = nodedev_name(par) if par.startswith("0000:") else "computer"
        if x["parent"] != want_parent:
            err(f"{a}: parent {x['parent']} in host.xml, {want_parent} in sysfs")
        if x["path"] != "/sys" + s["real"][len(realroot) + len("/sys"):]:
            err(f"{a}: <path> {x['path']} is not the sysfs path")
        if x["bridge"] != s["bridge"]:
            err(f"{a}: pci-bridge capability and config header type disagree")
        if bool(x["pf"]) != bool(s["physfn"]):
            err(f"{a}: phys_function and physfn disagree")
        if x["pf"]:
            if _addr_of(x["pf"][0].find("address")) != s["physfn"]:
                err(f"{a}: PF differs")
        xv = sorted(_addr_of(v) for c in x["vfs"] for v in c.findall("address"))
        if xv != s["virtfns"]:
            err(f"{a}: VFs {xv} in host.xml, {s['virtfns']} in sysfs")
        for n in s["net"]:
            if n not in xml_net or xml_net[n][1] != x["name"]:
                err(f"{a}: netdev {n} missing from host.xml or has another parent")
            else:
                mac = rd(f"{s['real']}/net/{n}/address")
                if mac != xml_net[n][0]:
                    err(f"{a}: {n} MAC {mac} in sysfs, {xml_net[n][0]} in host.xml")
    classnet = os.path.join(root, "sys/class/net")
    for n, (mac, _) in sorted(xml_net.items()):
        if not os.path.isfile(os.path.join(classnet, n, "address")):
            err(f"host.xml: interface {n} has no sysfs twin")
        elif rd(os.path.join(classnet, n, "address")) != mac:
            err(f"host.xml: interface {n}: MAC differs from sysfs")
    for g, members in sys_groups.items():
        if g not in {x["group"] for x in xml_pci.values()}:
            err(f"sysfs group {g} ({members}) is not in host.xml")
    # every symlink resolves inside the tree
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                tgt = os.readlink(p)
                r = os.path.realpath(p)
                if os.path.isabs(tgt):
                    err(f"absolute symlink {p} -> {tgt}")
                elif not (r == realroot or r.startswith(realroot + os.sep)) or not os.path.exists(r):
                    err(f"dangling or escaping symlink {p} -> {tgt}")
    # domains
    doms = {d.findtext("name"): d for d in node.findall("domain")}
    if set(doms) != {d["name"] for d in host.domains}:
        err("host.xml domains differ from the description")
    for name, d in doms.items():
        for src in (d.findall("devices/hostdev/source/address") +
                    d.findall("devices/interface/source/address")):
            a = _addr_of(src)
            if a not in sys_pci:
                err(f"domain {name}: device {a} does not exist")
    if libvirt_dump:
        check_libvirt_dump(host, out, libvirt_dump, err)
    return errors


def _canon(el):
    """element -> comparable tuple (tag, sorted attrs, text, children)"""
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(),
            tuple(_canon(c) for c in el))


def check_libvirt_dump(host, out, dump, err):
    """Compare host.xml with what the test driver served (check_libvirt.c's output):
    every device must come back identical except <driver> (which the test driver drops)
    and <path> (likewise)."""
    node = ET.parse(os.path.join(out, "host.xml")).getroot()
    mine = {}
    for dv in node.findall("device"):
        for tag in ("driver", "path"):
            for e in dv.findall(tag):
                dv.remove(e)
        mine[dv.findtext("name")] = _canon(dv)
    served = {}
    nd = os.path.join(dump, "nodedev")
    for f in sorted(os.listdir(nd)):
        dv = ET.parse(os.path.join(nd, f)).getroot()
        for tag in ("driver", "path"):
            for e in dv.findall(tag):
                dv.remove(e)
        served[dv.findtext("name")] = _canon(dv)
    for name in sorted(set(mine) | set(served)):
        if name == "computer":
            continue
        if name not in served:
            err(f"libvirt: {name} was not served by the test driver")
        elif name not in mine:
            err(f"libvirt: served {name} which host.xml does not have")
        elif mine[name] != served[name]:
            err(f"libvirt: {name} comes back different from host.xml")
    states = {}
    with open(os.path.join(dump, "domains.txt")) as f:
        for line in f:
            n, st = line.split()
            states[n] = st
    for dom in host.domains:
        if states.get(dom["name"]) != dom["state"]:
            err(f"libvirt: domain {dom['name']} is {states.get(dom['name'])}, expected {dom['state']}")


# =========================================================================== README table
README_BEGIN = "<!-- lab-table:begin (gen_lab.py --update-readme writes this) -->"
README_END = "<!-- lab-table:end -->"


def group_table(host):
    """the README's table of groups, devices, drivers, owners and config sources"""
    L = ["| Group | Address | Device | Driver | Netdev | Owner | Config | Notes |",
         "|---:|---|---|---|---|---|---|---|"]
    for g, members in sorted(host.groups.items()):
        for i, dev in enumerate(members):
            name = host.products.get(dev.ids) or "Device"
            owners = ", ".join(f"{n} ({st}, {how})" for n, st, how in dev.owners) or "-"
            notes = []
            if dev.d.get("critical"):
                notes.append("**host-critical**: " + dev.d["critical"])
            if dev.d.get("note"):
                notes.append(dev.d["note"])
            L.append("| %s | %s | %s [%04x:%04x] | %s | %s | %s | %s | %s |" % (
                g if i == 0 else "", dev.addr[5:], name.replace("|", "/"), dev.ids[0], dev.ids[1],
                dev.driver or "-", ", ".join(n for n, _ in dev.net) or "-", owners,
                "`%s`" % dev.key if dev.key else "header only", "; ".join(notes)))
    return "\n".join(L) + "\n"


def readme_section(host):
    return README_BEGIN + "\n" + group_table(host) + README_END


def readme_path():
    return os.path.join(HERE, "README.md")


def check_readme(host, err):
    try:
        with open(readme_path(), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        err("lab/README.md is missing")
        return
    if readme_section(host) not in text:
        err("lab/README.md's group table is stale: run gen_lab.py --out DIR --update-readme")


def update_readme(host):
    with open(readme_path(), encoding="utf-8") as f:
        text = f.read()
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        raise LabError("lab/README.md has no lab-table markers")
    text = text[:a] + readme_section(host) + text[b + len(README_END):]
    with open(readme_path(), "w", encoding="utf-8") as f:
        f.write(text)


# =========================================================================== main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (host.xml, root/)")
    ap.add_argument("--desc", default=os.path.join(HERE, "lab_host.py"))
    ap.add_argument("--configs", default=os.path.join(HERE, "configs"))
    ap.add_argument("--check", action="store_true",
                    help="do not write; re-read DIR/host.xml and DIR/root and check them")
    ap.add_argument("--libvirt-dump", metavar="D",
                    help="with --check: also compare with check_libvirt's dump in D")
    ap.add_argument("--table", action="store_true", help="print the README group table")
    ap.add_argument("--update-readme", action="store_true",
                    help="rewrite the group table in lab/README.md")
    args = ap.parse_args(argv)
    try:
        host = Host(load_description(args.desc), args.configs)
        if args.table:
            sys.stdout.write(group_table(host))
            return 0
        if args.update_readme:
            update_readme(host)
            return 0
        if args.check:
            errors = check(host, args.out, args.libvirt_dump)
            check_readme(host, errors.append)
            for e in errors:
                print(f"gen_lab: check: {e}", file=sys.stderr)
            if errors:
                return 1
            print(f"gen_lab: {args.out}: {len(host.devs)} PCI functions, {len(host.groups)} "
                  f"IOMMU groups, {len(host.domains)} domains: host.xml and root/ agree")
            return 0
        generate(host, args.out)
    except LabError as e:
        print(f"gen_lab: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
