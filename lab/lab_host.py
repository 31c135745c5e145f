"""The one description of the bundled lab host.

gen_lab.py turns this into the libvirt test-driver host (host.xml) and its sysfs twin
(root/). Edit only this file to change the host; both outputs follow.

The machine: a 2-socket Xeon 5600 server of the Dell PowerEdge R710 kind (one Intel
5520 I/O hub with ten PCIe root ports on bus 00, an ICH10R south bridge). The chipset
was chosen because real config-space dumps of it exist (lab/configs/SOURCES.md).

Device fields (see gen_lab.py for the checks made on each):
  addr      "DDDD:BB:SS.F"
  parent    address of the upstream bridge, None on the root bus
  key       lab/configs/<key>.lspci: the real config space. None: a 64-byte header
            built from ids/cls/rev/subsys ("header only", listed in README.md)
  ids       (vendor, device) the dump must carry (fails loudly otherwise)
  cls, rev, subsys   header-only devices only (a dump carries its own)
  kind      host-bridge, root-port, upstream, downstream, pcie-pci-bridge, pci-bridge,
            endpoint, rc-endpoint, pci (conventional), vf
  secondary bridges: the bus number behind it
  group     IOMMU group number (the partition is checked against the kernel's rules)
  driver    bound driver, None if unbound
  bars      {index: (kind, size)}; kind io/mem32/mem64/pref32/pref64; must match the
            dump's BAR types and the lspci -vv sizes in <key>.vv where there is one
  rom       expansion ROM size
  sriov     PF: {"num": current VFs, "vf_bars": {i: (kind, size)}}
  vf        VF: (PF address, VF index)
  net       [(ifname, mac)] netdevs of the function (host driver only)
  link      header-only PCIe devices: (cap_port, cap_speed, cap_width, sta_speed, sta_width)
  reset     header-only: kernel reset methods (dumps: derived from the config space)
  msi       header-only: number of MSI/MSI-X vectors in use (dumps: from the enable bits)
  boot_vga  True for the VGA device the firmware used
  acs_quirk the kernel treats the device as ACS-isolated (drivers/pci/quirks.c)
  critical  why the host needs it (README; vpass must find this on its own)
  note      free text for README
"""

K, M, G = 1 << 10, 1 << 20, 1 << 30

HOST = {
    "hostname": "r710-lab",
    "system": {"vendor": "Dell Inc.", "product": "PowerEdge R710", "bios": "6.6.0",
               "bios_date": "05/22/2018", "serial": "LAB0710",
               "uuid": "4c4c4544-0050-3710-8036-b7c04f4c4142"},
    # 2 sockets x 6 cores x 2 threads; node 0 = cpus 0-5,12-17
    "cpu": {"mhz": 2933, "model": "x86_64", "nodes": 2, "sockets": 1, "cores": 6,
            "threads": 2},
    "cpulist": {0: "0-5,12-17", 1: "6-11,18-23"},
    "cpumask": {0: "0003f03f", 1: "00fc0fc0"},
    "memory_kib": 96 * 1024 * 1024,
    "kernel": "6.1.0-13-amd64",
    "cmdline": "BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 "
               "root=UUID=6f1c2b9e-3d4a-4e51-9c0b-7a2d51e8f310 ro quiet intel_iommu=on iommu=pt",
    # iommu=pt: every group's default domain is the identity domain ("identity" in
    # /sys/kernel/iommu_groups/N/type, Linux 6.1)
    "iommu_default_domain": "identity",
    "allow_unsafe_interrupts": "N",
    # the host's network: eno1 is the only port of br0, which has the address and routes
    "bridges": [{"name": "br0", "ports": ["eno1"], "mac": "a4:bf:01:2c:3d:01",
                 "ipv4": ("192.0.2.10", 24), "gateway4": "192.0.2.1",
                 "ipv6": ("2001:db8:10::10", 64), "gateway6": "fe80::1"}],
    # NVMe namespaces: (controller, namespace, [(partition, major:minor, mountpoint, fstype)])
    "block": {
        "0000:5e:00.0": ("nvme0", "nvme0n1", "259:0", [
            ("nvme0n1p1", "259:1", "/boot/efi", "vfat"),
            ("nvme0n1p2", "259:2", "/", "ext4")]),
        "0000:5f:00.0": ("nvme1", "nvme1n1", "259:3", [
            ("nvme1n1p1", "259:4", None, None)]),
    },
    "swapfile": ("/swapfile", 4194300),
    # firmware-reserved memory (Intel RMRR) per group; USB and graphics RMRRs are
    # "direct-relaxable" in Linux 6.1 (device_rmrr_is_relaxable), others "direct"
    # (vfio refuses those devices)
    "rmrr": {
        12: [(0x00000000CF7CE000, 0x00000000CF7DDFFF, "direct-relaxable")],
        13: [(0x00000000CF7CE000, 0x00000000CF7DDFFF, "direct-relaxable")],
        18: [(0x00000000CF7E0000, 0x00000000CF7EFFFF, "direct")],
    },
}

# The PCIe root ports of the 5520 IOH: all the same real dump (Root Port 3, 8086:340a,
# with ACS). secondary bus of each, group
_ROOT_PORTS = [
    ("0000:00:01.0", 0x01, 1, "i210 management NIC"),
    ("0000:00:02.0", 0x02, 2, "NF200 PCIe switch"),
    ("0000:00:03.0", 0x06, 3, "PCIe-to-PCI bridge"),
    ("0000:00:04.0", 0x08, 4, "USB 3.0 controller"),
    ("0000:00:05.0", 0x5E, 5, "NVMe (root file system)"),
    ("0000:00:06.0", 0x5F, 6, "NVMe (vm2)"),
    ("0000:00:07.0", 0x3B, 7, "82576 SR-IOV NIC"),
    ("0000:00:08.0", 0x41, 8, "GeForce 210 + HDMI audio"),
    ("0000:00:09.0", 0x18, 9, "BCM5720 2-port NIC"),
    ("0000:00:0a.0", 0x42, 10, "empty slot"),
]

DEVICES = [
    {"addr": "0000:00:00.0", "key": "host-bridge", "ids": (0x8086, 0x3405),
     "kind": "host-bridge", "group": 0, "driver": None,
     "note": "5520 I/O hub to ESI port; a Root Port PCIe cap with ACS"},
] + [
    {"addr": a, "key": "root-port", "ids": (0x8086, 0x340A), "kind": "root-port",
     "secondary": sec, "group": g, "driver": "pcieport", "note": "root port: " + what}
    for a, sec, g, what in _ROOT_PORTS
] + [
    # --- I/O hub integrated functions (no dump found: header only)
    {"addr": "0000:00:13.0", "key": None, "ids": (0x8086, 0x342D), "cls": 0x080020,
     "rev": 0x22, "kind": "rc-endpoint", "group": 11, "driver": None,
     "bars": {0: ("mem32", 4 * K)}, "note": "I/OxAPIC"},
    # --- ICH10 USB 1.1/2.0 controllers (header only); the firmware keeps an RMRR for
    # legacy keyboard emulation on both
    {"addr": "0000:00:1a.0", "key": None, "ids": (0x8086, 0x3A37), "cls": 0x0C0300,
     "rev": 0x00, "subsys": (0x1028, 0x0235), "kind": "pci", "group": 12,
     "driver": "uhci_hcd", "int_pin": 1, "bars": {4: ("io", 32)}},
    {"addr": "0000:00:1a.7", "key": None, "ids": (0x8086, 0x3A3C), "cls": 0x0C0320,
     "rev": 0x00, "subsys": (0x1028, 0x0235), "kind": "pci", "group": 12,
     "driver": "ehci-pci", "int_pin": 3, "bars": {0: ("mem32", 1 * K)}},
    {"addr": "0000:00:1d.0", "key": None, "ids": (0x8086, 0x3A34), "cls": 0x0C0300,
     "rev": 0x00, "subsys": (0x1028, 0x0235), "kind": "pci", "group": 13,
     "driver": "uhci_hcd", "int_pin": 1, "bars": {4: ("io", 32)}},
    {"addr": "0000:00:1d.7", "key": None, "ids": (0x8086, 0x3A3A), "cls": 0x0C0320,
     "rev": 0x00, "subsys": (0x1028, 0x0235), "kind": "pci", "group": 13,
     "driver": "ehci-pci", "int_pin": 1, "bars": {0: ("mem32", 1 * K)}},
    # --- ICH10 hub-interface PCI bridge with the on-board Matrox VGA behind it
    {"addr": "0000:00:1e.0", "key": None, "ids": (0x8086, 0x244E), "cls": 0x060401,
     "rev": 0x90, "kind": "pci-bridge", "secondary": 0x09, "group": 14, "driver": None,
     "note": "DMI-to-PCI bridge (conventional PCI, subtractive decode)"},
    {"addr": "0000:09:03.0", "parent": "0000:00:1e.0", "key": None,
     "ids": (0x102B, 0x0532), "cls": 0x030000, "rev": 0x0A, "subsys": (0x1028, 0x0235),
     "kind": "pci", "group": 14, "driver": "mgag200", "int_pin": 1, "boot_vga": True,
     "bars": {0: ("pref32", 8 * M), 1: ("mem32", 16 * K), 2: ("mem32", 8 * M)},
     "rom": 64 * K,
     "critical": "boot VGA: the host console (boot_vga=1)"},
    # --- ICH10R LPC + SATA + SMBus: one slot, no ACS, one group (real dumps)
    {"addr": "0000:00:1f.0", "key": "lpc", "ids": (0x8086, 0x3A16), "kind": "pci",
     "group": 15, "driver": "lpc_ich",
     "critical": "platform: LPC bridge (firmware, TPM, SuperIO)"},
    {"addr": "0000:00:1f.2", "key": "sata", "ids": (0x8086, 0x3A22), "kind": "pci",
     "group": 15, "driver": "ahci",
     "bars": {0: ("io", 8), 1: ("io", 4), 2: ("io", 8), 3: ("io", 4), 4: ("io", 32),
              5: ("mem32", 2 * K)}},
    {"addr": "0000:00:1f.3", "key": "smbus", "ids": (0x8086, 0x3A30), "kind": "pci",
     "group": 15, "driver": "i801_smbus",
     "bars": {0: ("mem64", 256), 4: ("io", 32)}},

    # --- 00:01.0: the management NIC (Intel I210; stands in for an I350 port)
    {"addr": "0000:01:00.0", "parent": "0000:00:01.0", "key": "i210",
     "ids": (0x8086, 0x1533), "kind": "endpoint", "group": 16, "driver": "igb",
     "bars": {0: ("mem32", 128 * K), 2: ("io", 32), 3: ("mem32", 16 * K)},
     "net": [("eno1", "a4:bf:01:2c:3d:01")],
     "critical": "management NIC: eno1 is the port of br0, which has the host's "
                 "address and default route"},

    # --- 00:02.0: NVIDIA NF200 switch (no ACS anywhere below the root port)
    {"addr": "0000:02:00.0", "parent": "0000:00:02.0", "key": "switch-up",
     "ids": (0x10DE, 0x05B1), "kind": "upstream", "secondary": 0x03, "group": 17,
     "driver": "pcieport"},
    {"addr": "0000:03:00.0", "parent": "0000:02:00.0", "key": "switch-down",
     "ids": (0x10DE, 0x05B1), "kind": "downstream", "secondary": 0x04, "group": 18,
     "driver": "pcieport", "note": "downstream port without ACS"},
    {"addr": "0000:03:02.0", "parent": "0000:02:00.0", "key": "switch-down",
     "ids": (0x10DE, 0x05B1), "kind": "downstream", "secondary": 0x05, "group": 19,
     "driver": "pcieport", "note": "downstream port without ACS"},
    {"addr": "0000:04:00.0", "parent": "0000:03:00.0", "key": "sas2008",
     "ids": (0x1000, 0x0072), "kind": "endpoint", "group": 18, "driver": "mpt3sas",
     "bars": {0: ("io", 256), 1: ("mem64", 16 * K), 3: ("mem64", 256 * K)},
     "rom": 512 * K,
     "note": "firmware RMRR (non-relaxable): vfio refuses it"},
    {"addr": "0000:05:00.0", "parent": "0000:03:02.0", "key": "no-flr",
     "ids": (0x10EC, 0x8168), "kind": "endpoint", "group": 19, "driver": "r8169",
     "bars": {0: ("io", 256), 2: ("mem64", 4 * K), 4: ("pref64", 64 * K)},
     "net": [("enp5s0", "00:e0:4c:68:05:00")], "note": "no FLR, no PM reset"},

    # --- 00:03.0: Pericom PCIe-to-PCI bridge with two conventional PCI cards
    {"addr": "0000:06:00.0", "parent": "0000:00:03.0", "key": "pcie-pci-bridge",
     "ids": (0x12D8, 0xE111), "kind": "pcie-pci-bridge", "secondary": 0x07, "group": 20,
     "driver": None},
    {"addr": "0000:07:08.0", "parent": "0000:06:00.0", "key": "pci-dev-a",
     "ids": (0x1131, 0x7133), "kind": "pci", "group": 20, "driver": "saa7134",
     "bars": {0: ("mem32", 2 * K)}, "note": "conventional PCI, INTx only"},
    {"addr": "0000:07:0b.0", "parent": "0000:06:00.0", "key": "pci-dev-b",
     "ids": (0x10EC, 0x8169), "kind": "pci", "group": 20, "driver": "r8169",
     "bars": {0: ("io", 256), 1: ("mem32", 256)},
     "net": [("enp7s11", "00:e0:4c:69:07:0b")], "note": "conventional PCI, INTx only"},

    # --- 00:04.0: NEC uPD720200 USB 3.0 controller
    {"addr": "0000:08:00.0", "parent": "0000:00:04.0", "key": "usb",
     "ids": (0x1033, 0x0194), "kind": "endpoint", "group": 21, "driver": "xhci_hcd",
     "bars": {0: ("mem64", 8 * K)}},

    # --- 00:05.0 / 00:06.0: NVMe
    {"addr": "0000:5e:00.0", "parent": "0000:00:05.0", "key": "nvme",
     "ids": (0x15B7, 0x7E9A), "kind": "endpoint", "group": 22, "driver": "nvme",
     "bars": {0: ("mem64", 32 * K)},
     "critical": "holds the mounted root file system and /boot/efi (nvme0n1)"},
    {"addr": "0000:5f:00.0", "parent": "0000:00:06.0", "key": "nvme",
     "ids": (0x15B7, 0x7E9A), "kind": "endpoint", "group": 23, "driver": "nvme",
     "bars": {0: ("mem64", 32 * K)}, "note": "nvme1n1, not mounted; vm2 has it"},

    # --- 00:07.0: Intel 82576 with SR-IOV (4 of 8 VFs created); stands in for an 82599
    {"addr": "0000:3b:00.0", "parent": "0000:00:07.0", "key": "82599-pf",
     "ids": (0x8086, 0x10C9), "kind": "endpoint", "group": 24, "driver": "igb",
     "acs_quirk": True,
     "bars": {0: ("mem32", 128 * K), 1: ("mem32", 128 * K), 2: ("io", 32),
              3: ("mem32", 16 * K)},
     "rom": 128 * K,
     "sriov": {"num": 4, "vf_bars": {0: ("mem64", 16 * K), 3: ("mem64", 16 * K)}},
     "net": [("enp59s0f0", "00:1b:21:12:17:4c")]},
    # VFs: no real VF dump exists (a VF reads ffff as its ids): header only
    {"addr": "0000:3b:10.0", "parent": "0000:00:07.0", "vf": ("0000:3b:00.0", 0),
     "key": None, "ids": (0x8086, 0x10CA), "cls": 0x020000, "rev": 0x01,
     "kind": "vf", "group": 27, "driver": "vfio-pci", "reset": ["flr"], "msi": 3,
     "link": (2, 1, 4, 0, 0), "note": "vm1 (running) has it as `<interface type='hostdev'>`"},
    {"addr": "0000:3b:10.2", "parent": "0000:00:07.0", "vf": ("0000:3b:00.0", 1),
     "key": None, "ids": (0x8086, 0x10CA), "cls": 0x020000, "rev": 0x01,
     "kind": "vf", "group": 28, "driver": "igbvf", "reset": ["flr"], "msi": 3,
     "link": (2, 1, 4, 0, 0), "net": [("enp59s16f2", "ae:5c:21:8e:10:02")],
     "note": "on the host (igbvf)"},
    {"addr": "0000:3b:10.4", "parent": "0000:00:07.0", "vf": ("0000:3b:00.0", 2),
     "key": None, "ids": (0x8086, 0x10CA), "cls": 0x020000, "rev": 0x01,
     "kind": "vf", "group": 29, "driver": "igbvf", "reset": ["flr"], "msi": 3,
     "link": (2, 1, 4, 0, 0), "net": [("enp59s16f4", "ae:5c:21:8e:10:04")],
     "note": "web1 and web2 (both shut off) both define it: conflict"},
    {"addr": "0000:3b:10.6", "parent": "0000:00:07.0", "vf": ("0000:3b:00.0", 3),
     "key": None, "ids": (0x8086, 0x10CA), "cls": 0x020000, "rev": 0x01,
     "kind": "vf", "group": 30, "driver": "vfio-pci", "reset": ["flr"], "msi": 3,
     "link": (2, 1, 4, 0, 0), "note": "db1 (running) has it as `<hostdev>`"},

    # --- 00:08.0: GeForce 210 and its HDMI audio function (one group, no ACS)
    {"addr": "0000:41:00.0", "parent": "0000:00:08.0", "key": "gpu-vga",
     "ids": (0x10DE, 0x0A65), "kind": "endpoint", "group": 25, "driver": "nouveau",
     "bars": {0: ("mem32", 16 * M), 1: ("pref64", 256 * M), 3: ("pref64", 32 * M),
              5: ("io", 128)},
     "rom": 512 * K, "note": "free for gpuvm; 256 MiB 64-bit prefetchable BAR1"},
    {"addr": "0000:41:00.1", "parent": "0000:00:08.0", "key": "gpu-audio",
     "ids": (0x10DE, 0x0BE3), "kind": "endpoint", "group": 25, "driver": "snd_hda_intel",
     "bars": {0: ("mem32", 16 * K)}},

    # --- 00:09.0: Broadcom BCM5720 2-port (no dump found: header only), group 26
    {"addr": "0000:18:00.0", "parent": "0000:00:09.0", "key": None,
     "ids": (0x14E4, 0x165F), "cls": 0x020000, "rev": 0x00, "subsys": (0x1028, 0x1F5B),
     "kind": "endpoint", "group": 26, "driver": "tg3", "int_pin": 1,
     "bars": {0: ("pref64", 64 * K), 2: ("pref64", 64 * K), 4: ("pref64", 64 * K)},
     "rom": 256 * K, "reset": ["flr"], "msi": 5, "link": (0, 2, 2, 2, 1),
     "net": [("eno3", "d0:94:66:5a:10:03")], "note": "free for VMs (README: vpass show 26)"},
    {"addr": "0000:18:00.1", "parent": "0000:00:09.0", "key": None,
     "ids": (0x14E4, 0x165F), "cls": 0x020000, "rev": 0x00, "subsys": (0x1028, 0x1F5B),
     "kind": "endpoint", "group": 26, "driver": "tg3", "int_pin": 2,
     "bars": {0: ("pref64", 64 * K), 2: ("pref64", 64 * K), 4: ("pref64", 64 * K)},
     "rom": 256 * K, "reset": ["flr"], "msi": 5, "link": (0, 2, 2, 2, 1),
     "net": [("eno4", "d0:94:66:5a:10:04")]},
]

# Domains of the test driver. state: running | shutoff.
# devices: ("hostdev", addr) | ("interface", addr, mac, vlan or None)
DOMAINS = [
    {"name": "vm1", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e01", "machine": "pc-q35-7.2",
     "state": "running", "memory_mib": 4096, "vcpus": 2,
     "devices": [("interface", "0000:3b:10.0", "52:54:00:6b:3c:01", 42)]},
    {"name": "vm2", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e02",
     "machine": "pc-i440fx-7.2", "state": "shutoff", "memory_mib": 2048, "vcpus": 2,
     "devices": [("hostdev", "0000:5f:00.0")]},
    {"name": "gpuvm", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e03",
     "machine": "pc-q35-7.2", "state": "shutoff", "memory_mib": 8192, "vcpus": 4,
     "firmware": "efi", "devices": []},
    {"name": "web1", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e04",
     "machine": "pc-q35-7.2", "state": "shutoff", "memory_mib": 2048, "vcpus": 1,
     "devices": [("hostdev", "0000:3b:10.4")]},
    {"name": "web2", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e05",
     "machine": "pc-q35-7.2", "state": "shutoff", "memory_mib": 2048, "vcpus": 1,
     "devices": [("hostdev", "0000:3b:10.4")]},
    {"name": "db1", "uuid": "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e06", "machine": "pc-q35-7.2",
     "state": "running", "memory_mib": 8192, "vcpus": 4,
     "devices": [("hostdev", "0000:3b:10.6")]},
]

# Facts the rest of the project relies on; gen_lab.py checks them on every run.
EXPECT = {
    "group_members": {26: ["0000:18:00.0", "0000:18:00.1"],
                      25: ["0000:41:00.0", "0000:41:00.1"]},
}
