#!/usr/bin/env python3
"""Turn what the VFIO lab guest recorded into "VPASS-LAB RESULT" lines.

The guest (tests/lab/init) writes framed records to its second serial port:
    @@ BEGIN stage=STAGE kind=KIND rc=N
    ...
    @@ END
    @@ DONE uptime=SECONDS
Kinds: note (key=value facts), kgroups (find /sys/kernel/iommu_groups -type l), kdevs (one
line per PCI function: address vendor device class driver= group= physfn=), groups (vpass
groups --json), probe (tests/lab/vfio_probe: VFIO's own verdict per /dev/vfio/N), check.LABEL
(vpass check --json), bind (where a device ended up), and KIND.stderr for each.

Every stage is checked the same way (vpass's groups against the kernel's, its verdicts against
the drivers the kernel reports, VFIO's viability against vpass's verdict), then each topology's
own expectations. One line per result:
    VPASS-LAB RESULT name=TOPO.STAGE.CHECK ok=0|1 detail=...
plus "VPASS-LAB WARN" lines for unexpected vpass warnings (not failures). Exit 0 when every
result is ok.
"""
import argparse
import json
import re
import sys

BRIDGE_CLASSES = ("0x0604", "0x0609")  # PCI-to-PCI bridges (header type 1): never spoil a group
EXPECTED_STDERR = re.compile(r"vpass: warning: default URI: cannot connect to libvirt")
# What a sanitizer build of vpass (scripts/test.sh's build-asan) prints when it finds a bug.
SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")


class Run:
    def __init__(self, topo):
        self.topo = topo
        self.results = []
        self.warnings = {}  # unexpected vpass stderr line -> where it was seen

    def result(self, name, ok, detail=""):
        self.results.append((f"{self.topo}.{name}", bool(ok), detail))
        return bool(ok)


def parse_records(text):
    records, done, cur = [], None, None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if cur is None:
            m = re.match(r"@@ BEGIN stage=(\S+) kind=(\S+) rc=(-?\d+)$", line)
            if m:
                cur = {"stage": m[1], "kind": m[2], "rc": int(m[3]), "lines": []}
            elif line.startswith("@@ DONE"):
                m = re.search(r"uptime=(\S+)", line)
                done = m[1] if m else "?"
        elif line == "@@ END":
            records.append(cur)
            cur = None
        else:
            cur["lines"].append(line)
    return records, done


class Stage:
    """Everything recorded in one stage."""

    def __init__(self, name):
        self.name = name
        self.rec = {}  # kind -> list of records
        self.notes = {}

    def get(self, kind):
        recs = self.rec.get(kind)
        return recs[-1] if recs else None

    def json(self, kind):
        r = self.get(kind)
        if r is None:
            return None, None
        try:
            return json.loads("\n".join(r["lines"])), r["rc"]
        except ValueError:
            return None, r["rc"]

    def kernel_groups(self):
        r = self.get("kgroups")
        pairs = set()
        for line in r["lines"] if r else []:
            m = re.match(r"/sys/kernel/iommu_groups/(\d+)/devices/(\S+)$", line)
            if m:
                pairs.add((int(m[1]), m[2]))
        return pairs

    def kernel_devices(self):
        r = self.get("kdevs")
        devs = {}
        for line in r["lines"] if r else []:
            f = line.split()
            if len(f) < 7:
                continue
            kv = dict(x.split("=", 1) for x in f[4:] if "=" in x)
            devs[f[0]] = {
                "vendor": f[1], "device": f[2], "class": f[3],
                "driver": None if kv.get("driver") == "-" else kv.get("driver"),
                "group": None if kv.get("group") == "-" else int(kv["group"]),
                "physfn": None if kv.get("physfn") == "-" else kv.get("physfn"),
            }
        return devs

    def probes(self):
        r = self.get("probe")
        out = {}
        for line in r["lines"] if r else []:
            if not line.startswith("VFIO-PROBE group="):
                continue
            kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
            out[int(kv["group"])] = kv
        return out

    def binds(self):
        out = {}
        for r in self.rec.get("bind", []):
            for line in r["lines"]:
                f = line.split()
                if len(f) == 2 and f[1].startswith("driver="):
                    d = f[1][len("driver="):]
                    out[f[0]] = None if d == "-" else d
        return out


def kernel_verdict(members, devs):
    """The verdict vpass must give a group, from the kernel's drivers: ready, host or mixed."""
    endpoints = [a for a in members if not devs.get(a, {}).get("class", "").startswith(BRIDGE_CLASSES)]
    on_host = [a for a in endpoints if devs[a]["driver"] not in (None, "vfio-pci")]
    if not on_host:
        return "ready"
    return "host" if len(on_host) == len(endpoints) else "mixed"


def generic_stage_checks(run, st):
    """vpass groups against the kernel, and VFIO's viability against vpass's verdict."""
    groups, rc = st.json("groups")
    kpairs = st.kernel_groups()
    kdevs = st.kernel_devices()
    if groups is None or rc != 0:
        run.result(f"{st.name}.groups-json", False, f"vpass groups --json: exit {rc}, no JSON")
        return None
    vpairs = {(g["group"], d["address"]) for g in groups for d in g["devices"]}
    bad_field = [d["address"] for g in groups for d in g["devices"] if d.get("group") != g["group"]]
    missing, extra = sorted(kpairs - vpairs), sorted(vpairs - kpairs)
    ngroups = len({g for g, _ in kpairs})
    run.result(f"{st.name}.groups-match", not missing and not extra and not bad_field,
               f"{ngroups} groups, {len(kpairs)} functions"
               + (f"; vpass lacks {missing}" if missing else "")
               + (f"; vpass adds {extra}" if extra else "")
               + (f"; group field differs on {bad_field}" if bad_field else ""))

    wrong_driver = []
    for g in groups:
        for d in g["devices"]:
            k = kdevs.get(d["address"])
            if k is not None and k["driver"] != d.get("driver"):
                wrong_driver.append(f"{d['address']}:{d.get('driver')}!={k['driver']}")
    verdict = {g["group"]: g["verdict"] for g in groups}
    members = {}
    for g, a in kpairs:
        members.setdefault(g, []).append(a)
    wrong_verdict = [f"group {g}: {verdict.get(g)}, expected {kernel_verdict(m, kdevs)}"
                     for g, m in sorted(members.items())
                     if verdict.get(g) != kernel_verdict(m, kdevs)]
    run.result(f"{st.name}.verdicts", not wrong_driver and not wrong_verdict,
               " ".join(f"{g}={v}" for g, v in sorted(verdict.items()))
               + (f"; drivers differ: {wrong_driver}" if wrong_driver else "")
               + (f"; {wrong_verdict}" if wrong_verdict else ""))

    # Where libvirtd runs (the full tier), vpass reads this machine's sysfs by default; its
    # node-device API must tell the same groups, members, drivers and verdicts.
    via_libvirt, rc_l = st.json("groups-libvirt")
    if via_libvirt is not None or rc_l is not None:
        def view(gs):
            return {g["group"]: (g["verdict"], sorted((d["address"], d.get("driver")) for d in g["devices"]))
                    for g in gs or []}
        a, b = view(groups), view(via_libvirt)
        differ = [f"group {g}: sysfs {a.get(g)} libvirt {b.get(g)}" for g in sorted(set(a) | set(b))
                  if a.get(g) != b.get(g)]
        run.result(f"{st.name}.sources-agree", rc_l == 0 and not differ,
                   f"--source libvirt: exit {rc_l}, {len(b)} groups"
                   + (f"; {differ[:3]}" if differ else "; the same as from sysfs"))

    probes = st.probes()
    if probes:
        disagree = []
        for g, p in sorted(probes.items()):
            viable = p.get("viable") == "1"
            if viable != (verdict.get(g) == "ready"):
                disagree.append(f"group {g}: VFIO viable={p.get('viable')}, vpass {verdict.get(g)}")
            if viable and p.get("attach") != "ok":
                disagree.append(f"group {g}: viable but attach={p.get('attach')}")
            if not viable and p.get("attach") != "EPERM":
                disagree.append(f"group {g}: not viable but attach={p.get('attach')}")
            if viable and (p.get("iommu") != "ok" or p.get("dma") != "ok" or p.get("config") != "ok"):
                disagree.append(f"group {g}: iommu={p.get('iommu')} dma={p.get('dma')} config={p.get('config')}")
        run.result(f"{st.name}.vfio-agrees", not disagree,
                   " ".join(f"{g}:viable={p.get('viable')}/vpass={verdict.get(g)}"
                            for g, p in sorted(probes.items()))
                   + (f"; {disagree}" if disagree else ""))
    return {"groups": groups, "verdict": verdict, "kdevs": kdevs, "kpairs": kpairs,
            "probes": probes, "members": members}


def findings(check):
    return [(f["code"], f["severity"], f["subject"]) for f in (check or {}).get("findings", [])]


def has(check, code, subject=None, severity=None):
    return any(c == code and (subject is None or s == subject) and (severity is None or sev == severity)
               for c, sev, s in findings(check))


def codes(check):
    return ",".join(sorted({c for c, _, _ in findings(check)})) or "-"


def expect_check(run, st, label, want_rc, present=(), absent=(), name=None):
    """vpass check --json of STAGE/LABEL: exit code, codes present (code or (code, subject,
    severity)) and absent."""
    check, rc = st.json(f"check.{label}")
    name = name or f"{st.name}.check-{label}"
    if check is None:
        return run.result(name, False, f"vpass check: exit {rc}, no JSON")
    problems = []
    if rc != want_rc:
        problems.append(f"exit {rc}, expected {want_rc}")
    for p in present:
        code, subject, severity = (p + (None, None))[:3] if isinstance(p, tuple) else (p, None, None)
        if not has(check, code, subject, severity):
            problems.append(f"lacks {code}" + (f" on {subject}" if subject else "")
                            + (f" ({severity})" if severity else ""))
    for code in absent:
        if has(check, code):
            problems.append(f"has {code}")
    return run.result(name, not problems,
                      f"verdict={check.get('verdict')} codes={codes(check)}"
                      + (f"; {'; '.join(problems)}" if problems else ""))


def expect_group(run, st, facts, name, group, verdict, probe=None, devices=None):
    """Group GROUP's vpass verdict, and, when PROBE is given, VFIO's word on it."""
    problems = []
    if facts is None:
        return run.result(f"{st.name}.{name}", False, "no vpass groups output")
    if facts["verdict"].get(group) != verdict:
        problems.append(f"vpass says {facts['verdict'].get(group)}, expected {verdict}")
    p = facts["probes"].get(group)
    if probe is not None:
        if p is None:
            problems.append("no /dev/vfio node probed")
        elif p.get("viable") != probe:
            problems.append(f"VFIO viable={p.get('viable')}, expected {probe}")
        elif probe == "1" and devices is not None and p.get("devices") != str(devices):
            problems.append(f"VFIO opened {p.get('devices')} devices, expected {devices}")
    detail = f"group {group}: vpass {facts['verdict'].get(group)}"
    if p is not None:
        detail += " VFIO " + " ".join(f"{k}={p[k]}" for k in ("viable", "attach", "devices", "dma",
                                                             "config", "reset") if k in p)
    return run.result(f"{st.name}.{name}", not problems,
                      detail + (f"; {'; '.join(problems)}" if problems else ""))


def group_members(facts, group):
    return sorted(a for g, a in facts["kpairs"] if g == group)


def device(facts, address):
    for g in facts["groups"]:
        for d in g["devices"]:
            if d["address"] == address:
                return d
    return None


def topology_checks(run, stages, notes):
    t = run.topo
    S = lambda n: stages.get(n) or Stage(n)  # noqa: E731
    F = {n: s.facts for n, s in stages.items()}

    if t == "single":
        nic, g, smbus, sg = notes["nic"], int(notes["nic_group"]), notes["smbus"], int(notes["smbus_group"])
        boot = F.get("boot")
        run.result("boot.nic-own-group", boot and group_members(boot, g) == [nic],
                   f"group {g}: {group_members(boot, g) if boot else '?'}")
        expect_group(run, S("boot"), boot, "nic-host", g, "host")
        expect_check(run, S("boot"), "prevfio", 0, present=[("vfio-not-loaded", "host", "info"),
                                                            ("iommu-ok", "host", "ok")])
        expect_check(run, S("boot"), "host", 0, present=[("iommu-ok", "host", "ok")],
                     absent=["iommu-off", "irq-remap-off", "vfio-not-loaded"])
        expect_check(run, S("boot"), "nic", 0, present=[("group-complete", str(g))],
                     absent=["group-isolate", "group-incomplete"])
        expect_group(run, S("bound"), F.get("bound"), "nic-vfio", g, "ready", probe="1", devices=1)
        # The ICH9 group: one function on vfio-pci, the others unbound: viable, and "ready".
        expect_group(run, S("bound"), F.get("bound"), "ich9-unbound-viable", sg, "ready", probe="1",
                     devices=1)
        expect_check(run, S("bound"), "nic", 0, present=[("group-complete", str(g))])

    elif t in ("multifunction", "bridge"):
        a, b, g = notes["a"], notes["b"], int(notes["group"])
        boot = F.get("boot")
        mem = group_members(boot, g) if boot else []
        bridges = [x for x in mem if boot["kdevs"][x]["class"].startswith(BRIDGE_CLASSES)] if boot else []
        want_bridges = 1 if t == "bridge" else 0
        run.result("boot.shared-group", a in mem and b in mem and len(bridges) == want_bridges
                   and len(mem) == 2 + want_bridges, f"group {g}: {mem}")
        expect_group(run, S("boot"), boot, "group-host", g, "host")
        expect_check(run, S("boot"), "host", 0, present=[("iommu-ok", "host", "ok")])
        expect_check(run, S("boot"), "one", 0, present=[("group-isolate", b, "warn")],
                     absent=["group-complete", "group-incomplete"])
        expect_check(run, S("boot"), "whole", 0, present=[("group-complete", str(g), "ok")],
                     absent=["group-isolate", "group-incomplete"])
        if t == "multifunction":
            expect_check(run, S("boot"), "one-critical", 6,
                         present=[("group-incomplete", str(g), "block"),
                                  ("host-critical-netdev", b, "block")],
                         absent=["group-complete"])
        expect_group(run, S("one"), F.get("one"), "one-bound-not-viable", g, "mixed", probe="0")
        expect_check(run, S("one"), "one", 0, present=[("group-isolate", b)],
                     absent=["group-complete"])
        expect_group(run, S("all"), F.get("all"), "all-bound-viable", g, "ready", probe="1", devices=2)
        expect_check(run, S("all"), "whole", 0, present=[("group-complete", str(g), "ok")],
                     absent=["group-isolate", "group-incomplete"])

    elif t == "sriov":
        pf, pg = notes["pf"], int(notes["pf_group"])
        vf0, vf1 = notes.get("vf0", ""), notes.get("vf1", "")
        boot, vfs, bound = F.get("boot"), F.get("vfs"), F.get("bound")
        pfd = device(boot, pf) if boot else None
        run.result("boot.pf", pfd is not None and pfd.get("driver") == "nvme" and pfd.get("vf_max") == 2
                   and group_members(boot, pg) == [pf],
                   f"{pf}: driver={pfd and pfd.get('driver')} vf_max={pfd and pfd.get('vf_max')} group {pg}")
        expect_group(run, S("boot"), boot, "pf-host", pg, "host")
        expect_check(run, S("boot"), "pf", 0, present=[("group-complete", str(pg), "ok")])
        problems = []
        if notes.get("numvfs") != "2" or not vf0 or not vf1:
            problems.append(f"numvfs={notes.get('numvfs')} vf0={vf0} vf1={vf1}")
        if vfs:
            pfd = device(vfs, pf) or {}
            if pfd.get("vfs") != [vf0, vf1]:
                problems.append(f"vpass vfs of the PF: {pfd.get('vfs')}")
            gs = set()
            for vf in (vf0, vf1):
                d = device(vfs, vf) or {}
                if d.get("physfn") != pf:
                    problems.append(f"{vf}: physfn {d.get('physfn')}")
                if d.get("driver") is not None:
                    problems.append(f"{vf}: driver {d.get('driver')} (autoprobe was off)")
                kg = vfs["kdevs"].get(vf, {}).get("group")
                if kg is None or group_members(vfs, kg) != [vf]:
                    problems.append(f"{vf}: not alone in its group")
                gs.add(kg)
            if len(gs) != 2 or pg in gs:
                problems.append(f"VF groups {sorted(gs, key=str)} (PF {pg})")
        else:
            problems.append("no vpass groups after enabling VFs")
        run.result("vfs.vfs-own-groups", not problems,
                   f"{pf} -> {vf0} (group {notes.get('vf0_group')}), {vf1} (group {notes.get('vf1_group')})"
                   + (f"; {'; '.join(problems)}" if problems else ""))
        if notes.get("vf0_group", "").isdigit():
            v0g = int(notes["vf0_group"])
            expect_group(run, S("vfs"), vfs, "vf-unbound-ready", v0g, "ready")
            expect_check(run, S("vfs"), "vf0", 0, present=[("group-complete", str(v0g), "ok")])
            expect_group(run, S("bound"), bound, "vf-vfio", v0g, "ready", probe="1", devices=1)
            expect_group(run, S("bound"), bound, "pf-still-host", pg, "host")

    elif t == "noiommu":
        boot, bound = F.get("boot"), F.get("bound")
        run.result("boot.no-groups", boot is not None and boot["kpairs"] == set() and boot["groups"] == [],
                   f"kernel {len(boot['kpairs']) if boot else '?'} functions in groups, "
                   f"vpass {len(boot['groups']) if boot else '?'} groups")
        expect_check(run, S("boot"), "host", 6, present=[("iommu-off", "host", "block")],
                     absent=["iommu-ok"])
        nic = notes["nic"]
        drv = S("bound").binds().get(nic, "?")
        probes = bound["probes"] if bound else {}
        run.result("bound.vfio-refuses", drv is None and not probes,
                   f"{nic} after binding: driver={drv}, /dev/vfio groups: {sorted(probes)}")


def read_guest_run(run, path, qemu_rc, seconds, what):
    """The records of a guest's data file PATH and the "guest" result: QEMU exited 0 and the
    guest said DONE (WHAT: how the uptime is named). Returns (records, done uptime or None)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    records, done = parse_records(text)
    guest_ok = qemu_rc == 0 and done is not None
    why = {124: "timed out", 137: "killed after timing out"}.get(qemu_rc, f"qemu exit {qemu_rc}")
    run.result("guest", guest_ok,
               f"{seconds}s wall, {what} {done}s" if guest_ok
               else f"{why}, {'finished' if done else 'did not finish'} ({len(records)} records)")
    return records, done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--topology", required=True)
    ap.add_argument("--qemu-rc", type=int, default=0)
    ap.add_argument("--seconds", default="?")
    ap.add_argument("--console")
    ap.add_argument("data")
    args = ap.parse_args()

    run = Run(args.topology)
    records, done = read_guest_run(run, args.data, args.qemu_rc, args.seconds, "guest uptime")

    stages, notes = {}, {}
    vpass_runs, sanitizer = 0, []
    for r in records:
        st = stages.setdefault(r["stage"], Stage(r["stage"]))
        st.rec.setdefault(r["kind"], []).append(r)
        if r["kind"] == "note":
            for line in r["lines"]:
                if "=" in line:
                    k, v = line.split("=", 1)
                    notes[k] = v
        if r["kind"].endswith(".stderr") and r["kind"].split(".")[0] in ("groups", "check"):
            vpass_runs += 1
            sanitizer += [f"{r['stage']}/{r['kind'][:-len('.stderr')]}: {line.strip()}"
                          for line in r["lines"] if SANITIZER.search(line)]
            for line in r["lines"]:
                if line.strip() and not EXPECTED_STDERR.search(line):
                    where = run.warnings.setdefault(line.strip(), [])
                    where.append(f"{r['stage']}/{r['kind'][:-len('.stderr')]}")

    run.result("sanitizer-clean", not sanitizer,
               f"{vpass_runs} vpass runs" + (f"; {sanitizer[:3]}" if sanitizer else ""))
    for st in stages.values():
        st.facts = generic_stage_checks(run, st) if st.get("groups") else None
    if records:
        try:
            topology_checks(run, stages, notes)
        except (KeyError, ValueError, TypeError) as e:
            run.result("expectations", False, f"missing data: {e!r}")

    for name, ok, detail in run.results:
        print(f"VPASS-LAB RESULT name={name} ok={int(ok)} detail={detail}")
    for w, where in run.warnings.items():
        print(f"VPASS-LAB WARN topology={run.topo} seen={len(where)} first={where[0]} stderr={w}")
    return 0 if run.results and all(ok for _, ok, _ in run.results) else 1


if __name__ == "__main__":
    sys.exit(main())
