"""PCI configuration space for the lab host: read real lspci dumps, decode what the
kernel and libvirt would derive from them, and build spec-layout headers.

Standard library only. Register offsets follow the PCI Local Bus and PCI Express
Base specifications (the same names as linux/include/uapi/linux/pci_regs.h).
"""

import re

# Standard header
VENDOR_ID, DEVICE_ID, COMMAND, STATUS = 0x00, 0x02, 0x04, 0x06
REVISION, CLASS_PROG = 0x08, 0x09
CACHE_LINE, LATENCY, HEADER_TYPE = 0x0C, 0x0D, 0x0E
BAR0 = 0x10
SUBSYS_VENDOR, SUBSYS_ID = 0x2C, 0x2E  # type 0 only
ROM_TYPE0, ROM_TYPE1 = 0x30, 0x38
CAP_PTR = 0x34
INT_LINE, INT_PIN = 0x3C, 0x3D
# Type 1 (bridge) header
PRIMARY_BUS, SECONDARY_BUS, SUBORDINATE_BUS = 0x18, 0x19, 0x1A
IO_BASE, IO_LIMIT = 0x1C, 0x1D
MEM_BASE, MEM_LIMIT = 0x20, 0x22
PREF_BASE, PREF_LIMIT = 0x24, 0x26
PREF_BASE_UPPER, PREF_LIMIT_UPPER = 0x28, 0x2C
IO_BASE_UPPER, IO_LIMIT_UPPER = 0x30, 0x32

STATUS_CAP_LIST = 0x10

# Capability ids
CAP_PM, CAP_MSI, CAP_SSVID, CAP_EXP, CAP_MSIX, CAP_AF = 0x01, 0x05, 0x0D, 0x10, 0x11, 0x13
ECAP_ACS, ECAP_ARI, ECAP_SRIOV = 0x0D, 0x0E, 0x10

# PCIe capability
EXP_FLAGS, EXP_DEVCAP, EXP_LNKCAP, EXP_LNKSTA = 0x02, 0x04, 0x0C, 0x12
EXP_DEVCAP_FLR = 1 << 28
EXP_TYPES = {
    0x0: "endpoint", 0x1: "legacy-endpoint", 0x4: "root-port", 0x5: "upstream",
    0x6: "downstream", 0x7: "pcie-pci-bridge", 0x8: "pci-pcie-bridge",
    0x9: "rc-endpoint", 0xA: "rc-event-collector",
}
# ACS capability/control bits
ACS_SV, ACS_TB, ACS_RR, ACS_CR, ACS_UF = 0x01, 0x02, 0x04, 0x08, 0x10
ACS_KERNEL_ENABLES = ACS_SV | ACS_RR | ACS_CR | ACS_UF  # pci_std_enable_acs(), Linux 6.1
# SR-IOV capability
SRIOV_CTRL, SRIOV_INITIAL_VF, SRIOV_TOTAL_VF, SRIOV_NUM_VF = 0x08, 0x0C, 0x0E, 0x10
SRIOV_VF_OFFSET, SRIOV_VF_STRIDE, SRIOV_VF_DID, SRIOV_BAR = 0x14, 0x16, 0x1A, 0x24
SRIOV_CTRL_VFE, SRIOV_CTRL_MSE = 0x01, 0x08

# Link speeds as encoded in LnkCap/LnkSta (1 = 2.5 GT/s ...)
LINK_SPEED_SYSFS = {1: "2.5 GT/s PCIe", 2: "5.0 GT/s PCIe", 3: "8.0 GT/s PCIe",
                    4: "16.0 GT/s PCIe", 5: "32.0 GT/s PCIe", 6: "64.0 GT/s PCIe"}
LINK_SPEED_LIBVIRT = {1: "2.5", 2: "5", 3: "8", 4: "16", 5: "32", 6: "64"}


class DumpError(Exception):
    pass


_HEX_LINE = re.compile(r"^([0-9a-fA-F]{2,3}):((?:\s+[0-9a-fA-F]{2}){16})\s*$")
_IDS = re.compile(r"\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]|Device ([0-9a-fA-F]{4}):([0-9a-fA-F]{4})")


def parse_lspci_dump(path):
    """Read an `lspci -x/-xxx/-xxxx` dump of one function.

    Returns (title line, bytes). The length is the dump's: 64, 256 or 4096.
    Offsets must be contiguous from 0 and every line must hold 16 bytes."""
    title = None
    data = bytearray()
    with open(path, encoding="ascii", errors="strict") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            m = _HEX_LINE.match(line)
            if m:
                off = int(m.group(1), 16)
                if off != len(data):
                    raise DumpError(f"{path}:{lineno}: offset {off:#x}, expected {len(data):#x}")
                data += bytes(int(b, 16) for b in m.group(2).split())
            elif title is None and not data:
                title = line.strip()
            else:
                raise DumpError(f"{path}:{lineno}: not a dump line: {line!r}")
    if len(data) not in (64, 256, 4096):
        raise DumpError(f"{path}: {len(data)} bytes, expected 64, 256 or 4096")
    return title, bytes(data)


def title_ids(title):
    """vendor/device ids printed in a dump's title line, if any (`-n`/`-nn` forms)."""
    if not title:
        return None
    m = _IDS.search(title)
    if not m:
        return None
    v, d = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(v, 16), int(d, 16)


def parse_vv(path):
    """Region sizes from an `lspci -vv` excerpt: {bar index or 'rom': (kind, size)}.

    kind is 'io', 'mem32', 'mem64', 'pref32', 'pref64'; size None when not printed."""
    out = {}
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            size = None
            ms = re.search(r"\[size=(\d+)([KMGT]?)\]", line)
            if ms:
                size = int(ms.group(1)) * units[ms.group(2)]
            m = re.match(r"Region (\d): (Memory|I/O ports)", line)
            if m:
                if m.group(2) == "I/O ports":
                    kind = "io"
                else:
                    bits = "64" if "64-bit" in line else "32"
                    kind = ("pref" if "non-prefetchable" not in line else "mem") + bits
                out[int(m.group(1))] = (kind, size)
            elif line.startswith("Expansion ROM"):
                out["rom"] = ("rom", size)
    return out


class Config:
    """A function's config space (mutable copy) with decoding helpers."""

    def __init__(self, data):
        self.b = bytearray(data)

    def __len__(self):
        return len(self.b)

    # --- raw access
    def u8(self, off):
        return self.b[off] if off < len(self.b) else 0

    def u16(self, off):
        return self.u8(off) | self.u8(off + 1) << 8

    def u32(self, off):
        return self.u16(off) | self.u16(off + 2) << 16

    def w8(self, off, v):
        self.b[off] = v & 0xFF

    def w16(self, off, v):
        self.w8(off, v)
        self.w8(off + 1, v >> 8)

    def w32(self, off, v):
        self.w16(off, v)
        self.w16(off + 2, v >> 16)

    # --- identity
    @property
    def vendor(self):
        return self.u16(VENDOR_ID)

    @property
    def device(self):
        return self.u16(DEVICE_ID)

    @property
    def revision(self):
        return self.u8(REVISION)

    @property
    def class_code(self):
        return self.u8(CLASS_PROG) | self.u8(CLASS_PROG + 1) << 8 | self.u8(CLASS_PROG + 2) << 16

    @property
    def header_type(self):
        return self.u8(HEADER_TYPE) & 0x7F

    @property
    def multifunction(self):
        return bool(self.u8(HEADER_TYPE) & 0x80)

    @property
    def int_pin(self):
        return self.u8(INT_PIN)

    def subsystem(self):
        """(vendor, device) as the kernel reads them (type 1: from the SSVID cap)."""
        if self.header_type == 0:
            return self.u16(SUBSYS_VENDOR), self.u16(SUBSYS_ID)
        off = self.find_cap(CAP_SSVID)
        if off is None:
            return 0, 0
        return self.u16(off + 4), self.u16(off + 6)

    # --- capabilities
    def caps(self):
        """[(id, offset)] of the standard capability list (loop-safe)."""
        out = []
        if not self.u16(STATUS) & STATUS_CAP_LIST or len(self.b) < 0x40:
            return out
        off, seen = self.u8(CAP_PTR) & 0xFC, set()
        while off >= 0x40 and off not in seen and off + 1 < len(self.b):
            seen.add(off)
            out.append((self.u8(off), off))
            off = self.u8(off + 1) & 0xFC
        return out

    def ext_caps(self):
        out = []
        if len(self.b) <= 0x100:
            return out
        off, seen = 0x100, set()
        while off and off not in seen and off + 4 <= len(self.b):
            seen.add(off)
            hdr = self.u32(off)
            if hdr in (0, 0xFFFFFFFF):
                break
            out.append((hdr & 0xFFFF, off))
            off = (hdr >> 20) & 0xFFC
        return out

    def find_cap(self, cap_id):
        for cid, off in self.caps():
            if cid == cap_id:
                return off
        return None

    def find_ext_cap(self, cap_id):
        for cid, off in self.ext_caps():
            if cid == cap_id:
                return off
        return None

    # --- PCI Express
    @property
    def pcie_cap(self):
        return self.find_cap(CAP_EXP)

    @property
    def pcie_type(self):
        off = self.pcie_cap
        if off is None:
            return None
        return EXP_TYPES.get((self.u16(off + EXP_FLAGS) >> 4) & 0xF, "unknown")

    def link(self):
        """(cap_port, cap_speed, cap_width, sta_speed, sta_width) or None."""
        off = self.pcie_cap
        if off is None:
            return None
        cap, sta = self.u32(off + EXP_LNKCAP), self.u16(off + EXP_LNKSTA)
        return (cap >> 24) & 0xFF, cap & 0xF, (cap >> 4) & 0x3F, sta & 0xF, (sta >> 4) & 0x3F

    def has_pm_reset(self):
        """pci_pm_reset(): a PM cap whose PMCSR has No_Soft_Reset clear."""
        pm = self.find_cap(CAP_PM)
        return pm is not None and not (self.u16(pm + 4) & 0x08)

    def msi(self):
        """(enabled, vectors enabled) of the MSI cap, or None."""
        off = self.find_cap(CAP_MSI)
        if off is None:
            return None
        ctl = self.u16(off + 2)
        return bool(ctl & 1), 1 << ((ctl >> 4) & 7)

    def msix(self):
        """(enabled, table size) of the MSI-X cap, or None."""
        off = self.find_cap(CAP_MSIX)
        if off is None:
            return None
        ctl = self.u16(off + 2)
        return bool(ctl & 0x8000), (ctl & 0x7FF) + 1

    def acs(self):
        """(capability bits, control bits) of the ACS ext cap, or None."""
        off = self.find_ext_cap(ECAP_ACS)
        if off is None:
            return None
        return self.u16(off + 4), self.u16(off + 6)

    def sriov(self):
        off = self.find_ext_cap(ECAP_SRIOV)
        if off is None:
            return None
        return {
            "off": off,
            "ctrl": self.u16(off + SRIOV_CTRL),
            "initial": self.u16(off + SRIOV_INITIAL_VF),
            "total": self.u16(off + SRIOV_TOTAL_VF),
            "num": self.u16(off + SRIOV_NUM_VF),
            "offset": self.u16(off + SRIOV_VF_OFFSET),
            "stride": self.u16(off + SRIOV_VF_STRIDE),
            "vf_device": self.u16(off + SRIOV_VF_DID),
            "bars": decode_bars(self, off + SRIOV_BAR, 6),
        }

    # --- BARs
    def bars(self):
        n = {0: 6, 1: 2}.get(self.header_type, 0)
        return decode_bars(self, BAR0, n)

    def rom_off(self):
        return {0: ROM_TYPE0, 1: ROM_TYPE1}.get(self.header_type)

    def pref_window_64(self):
        return self.header_type == 1 and (self.u16(PREF_BASE) & 0xF) == 1

    def io_window_32(self):
        return self.header_type == 1 and (self.u8(IO_BASE) & 0xF) == 1


def decode_bars(cfg, base, count):
    """{index: kind} for the implemented BARs in count dwords at base.

    kind: 'io', 'mem32', 'mem64', 'pref32', 'pref64'. A BAR reading 0 is taken as
    unimplemented (a dump cannot tell an unassigned BAR from an absent one)."""
    out, i = {}, 0
    while i < count:
        v = cfg.u32(base + 4 * i)
        if v & 1:
            if v & ~0x3:
                out[i] = "io"
            i += 1
            continue
        typ = (v >> 1) & 3
        pref = "pref" if v & 8 else "mem"
        if typ == 2:
            hi = cfg.u32(base + 4 * (i + 1)) if i + 1 < count else 0
            if v & ~0xF or hi:
                out[i] = pref + "64"
            i += 2
        else:
            if v & ~0xF:
                out[i] = pref + "32"
            i += 1
    return out


BAR_TYPE_BITS = {"io": 0x1, "mem32": 0x0, "mem64": 0x4, "pref32": 0x8, "pref64": 0xC}


def build_header(*, vendor, device, class_code, revision, header_type, multifunction,
                 subsys=(0, 0), bars=(), int_pin=0, command=0x0006, vf=False):
    """The 64-byte standard header (PCI Local Bus spec 3.0, 6.1) with no capabilities.

    bars: [(index, kind)]; the address bits are filled in later by the allocator.
    A VF reads 0xffff as its vendor and device id (SR-IOV spec 3.4.1.1/2) and has
    no BARs of its own (they are in the PF's SR-IOV capability)."""
    c = Config(bytes(64))
    c.w16(VENDOR_ID, 0xFFFF if vf else vendor)
    c.w16(DEVICE_ID, 0xFFFF if vf else device)
    c.w16(COMMAND, 0 if vf else command)
    c.w16(STATUS, 0)
    c.w8(REVISION, revision)
    c.w8(CLASS_PROG, class_code)
    c.w16(CLASS_PROG + 1, class_code >> 8)
    c.w8(HEADER_TYPE, header_type | (0x80 if multifunction else 0))
    if not vf:
        for idx, kind in bars:
            c.w32(BAR0 + 4 * idx, BAR_TYPE_BITS[kind])
    if header_type == 0:
        c.w16(SUBSYS_VENDOR, subsys[0])
        c.w16(SUBSYS_ID, subsys[1])
    c.w8(INT_PIN, int_pin)
    return c


def write_bar(cfg, base, idx, kind, addr):
    """Program one BAR register (and its upper half) with addr, keeping the type bits."""
    off = base + 4 * idx
    low = cfg.u32(off)
    if kind == "io":
        cfg.w32(off, (addr & ~0x3 & 0xFFFFFFFF) | (low & 0x3))
    else:
        cfg.w32(off, (addr & 0xFFFFFFF0) | (low & 0xF))
        if kind.endswith("64"):
            cfg.w32(off + 4, addr >> 32)
