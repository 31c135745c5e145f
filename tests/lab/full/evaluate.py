#!/usr/bin/env python3
"""Turn what the full tier's outer guest recorded into "VPASS-LAB RESULT" lines.

The outer guest (tests/lab/full/guest.sh) writes the fast tier's framed records to its second
serial port (see tests/lab/evaluate.py, whose parser and generic checks are reused here). Kinds
besides the fast tier's: start (virsh start), qemu-log (libvirt's log of the inner QEMU),
serial (the inner guest's console: "INNER ..." lines from tests/lab/full/inner-init), attach
and detach (vpass), dumpxml*, install, status, libvirtd, and note (addresses, groups, times).

One line per result:
    VPASS-LAB RESULT name=full.SCENARIO.CHECK ok=0|1 detail=...
plus "VPASS-LAB WARN" lines for anything vpass printed on stderr (not failures), and
"VPASS-LAB TIME" lines. Exit 0 when every result is ok.
"""
import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from evaluate import (SANITIZER, Run, Stage, generic_stage_checks, kernel_verdict,  # noqa: E402
                      read_guest_run)

NOT_VIABLE = re.compile(r"group \d+ is not viable")
VPASS_KINDS = ("groups", "groups-libvirt", "attach", "detach", "install", "status")
# What vpass prints on stderr by design: its findings ("vpass: warning: CODE: ...") and the
# progress of a plan ("vpass: [1/4] ..."). Anything else is shown as a VPASS-LAB WARN line.
EXPECTED_STDERR = re.compile(r"^vpass: (warning: [a-z0-9-]+: |\[\d+/\d+\] )")
# Results that fail because of a vpass bug already reported: printed as "VPASS-LAB KNOWN" lines
# instead of failing the tier, until the bug is fixed (then the result passes, and a WARN line
# says to remove it from here).
KNOWN = {}


def text(rec):
    return "\n".join(rec["lines"]) if rec else ""


def hostdevs(xml_text):
    """The host PCI addresses of a domain XML's <hostdev>s, with their guest addresses."""
    out = {}
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return None
    for hd in root.iter("hostdev"):
        src = hd.find("source/address")
        if src is None:
            continue
        a = "%04x:%02x:%02x.%x" % tuple(int(src.get(k, "0"), 0)
                                        for k in ("domain", "bus", "slot", "function"))
        g = hd.find("address")
        guest = None
        if g is not None and g.get("type") == "pci":
            guest = ("%02x:%02x" % (int(g.get("bus"), 0), int(g.get("slot"), 0)),
                     int(g.get("function", "0"), 0), g.get("multifunction"))
        out[a] = {"managed": hd.get("managed"), "guest": guest}
    return out


def inner_report(serial):
    """The inner guest's NIC lines, its IRQ lines, and whether it finished."""
    nics, irqs, done, boot = [], [], None, None
    for raw in serial.splitlines():
        line = raw.replace("\r", "")
        if not line.startswith("INNER "):
            continue
        if line.startswith("INNER NIC "):
            nics.append(dict(x.split("=", 1) for x in line.split()[2:] if "=" in x))
        elif line.startswith("INNER IRQ "):
            irqs.append(line[len("INNER IRQ "):])
        elif line.startswith("INNER DONE"):
            m = re.search(r"uptime=(\S+)", line)
            done = m[1] if m else "?"
        elif line.startswith("INNER BOOT"):
            m = re.search(r"uptime=(\S+)", line)
            boot = m[1] if m else "?"
    return nics, irqs, done, boot


class Full:
    def __init__(self, records):
        self.stages, self.notes = {}, {}
        for r in records:
            st = self.stages.setdefault(r["stage"], Stage(r["stage"]))
            st.rec.setdefault(r["kind"], []).append(r)
            if r["kind"] == "note":
                for line in r["lines"]:
                    if "=" in line:
                        k, v = line.split("=", 1)
                        self.notes[f"{r['stage']}.{k}"] = v
                        st.notes[k] = v

    def S(self, name):
        return self.stages.get(name) or Stage(name)

    def rec(self, stage, kind):
        return self.S(stage).get(kind)

    def rc(self, stage, kind):
        r = self.rec(stage, kind)
        return None if r is None else r["rc"]

    def drivers(self, stage):
        return {a: d["driver"] for a, d in self.S(stage).kernel_devices().items()}


def expect_drivers(run, full, stage, want, name):
    """The kernel's drivers of the functions in WANT ({address: driver}) in STAGE."""
    got = full.drivers(stage)
    if not got:
        return run.result(name, False, f"no driver listing in stage {stage}")
    bad = [f"{a}: {got.get(a)}, expected {d}" for a, d in want.items() if got.get(a) != d]
    return run.result(name, not bad, " ".join(f"{a}={got.get(a)}" for a in want)
                      + (f"; {'; '.join(bad)}" if bad else ""))


def expect_not_viable(run, full, stage, what):
    rc = full.rc(stage, "start")
    err = text(full.rec(stage, "start.stderr")) + "\n" + text(full.rec(stage, "qemu-log"))
    m = NOT_VIABLE.search(err)
    line = next((x.strip() for x in err.splitlines() if NOT_VIABLE.search(x)), "")
    run.result(f"{stage}.not-viable", rc not in (None, 0) and m is not None,
               f"{what}: virsh start exit {rc}" + (f": ...{line[-160:]}" if line
                                                 else f"; no 'not viable' in: {err.strip()[-200:]!r}"))


def expect_inner(run, full, stage, nics_want, driver):
    """The inner guest saw NICS_WANT NICs on DRIVER, each with a lease and a ping."""
    serial = text(full.rec(stage, "serial"))
    nics, irqs, done, boot = inner_report(serial)
    secs = full.S(stage).notes.get("inner_seconds", "?")
    # Interrupts per interface: "if=eth0  25: 11 PCI-MSI 524288-edge eth0-rx-0".
    irq = {}
    for line in irqs:
        m = re.match(r"if=(\S+)\s+\d+:\s+(\d+)\s+(\S+)", line)
        if m:
            count, kinds = irq.setdefault(m[1], (0, set()))
            irq[m[1]] = (count + int(m[2]), kinds | {m[3]})
    for nic in nics:
        count, kinds = irq.get(nic.get("if"), (0, set()))
        nic["irqs"] = f"{count}x{'/'.join(sorted(kinds)) or '-'}"
    problems = []
    if done is None:
        problems.append("the inner guest did not finish" + (" (timed out)" if full.S(stage).notes.get("inner_timeout") else ""))
    if len(nics) != nics_want:
        problems.append(f"{len(nics)} NICs, expected {nics_want}")
    for n in nics:
        if n.get("driver") != driver or n.get("lease") in (None, "-") or n.get("ping") != "ok" \
                or n["irqs"].startswith("0x"):
            problems.append(f"{n.get('if')}: driver={n.get('driver')} lease={n.get('lease')} ping={n.get('ping')} interrupts={n['irqs']}")
    run.result(f"{stage}.inner-nics", not problems,
               f"{secs}s from start to power-off (inner kernel up {boot}s, done {done}s); "
               + "; ".join(f"{n.get('if')} {n.get('pci')} {n.get('driver')} lease={n.get('lease')} ping={n.get('ping')} rx={n.get('rx')} tx={n.get('tx')} interrupts={n['irqs']}"
                           for n in nics)
               + (f"; PROBLEMS: {'; '.join(problems)}" if problems else "")
               + ("" if nics or not serial else f"; console ends: {serial.strip()[-300:]!r}"))
    return nics, irqs


def running_checks(run, full, stage, group):
    """While a domain holds GROUP: vpass's groups match the kernel's, GROUP is in-use, the
    others have the verdict their drivers imply."""
    scratch = Run("full")
    facts = generic_stage_checks(scratch, full.S(stage))
    run.results += [r for r in scratch.results if r[0].endswith((".groups-match", ".sources-agree"))]
    if not facts:
        return run.result(f"{stage}.verdicts", False, "no vpass groups output")
    v = facts["verdict"]
    bad = []
    for g, m in sorted(facts["members"].items()):
        want = "in-use" if g == group else kernel_verdict(m, facts["kdevs"])
        if v.get(g) != want:
            bad.append(f"group {g}: {v.get(g)}, expected {want}")
    return run.result(f"{stage}.verdicts", not bad,
                      " ".join(f"{g}={x}" for g, x in sorted(v.items())) + (f"; {bad}" if bad else ""))


def expect_xml_restored(run, full, stage):
    before = text(full.rec(stage, "dumpxml-before"))
    after = text(full.rec(stage, "dumpxml-after"))
    hd = hostdevs(after)
    problems = []
    if hd is None:
        problems.append("no domain XML after detach")
    elif hd:
        problems.append(f"hostdevs left: {sorted(hd)}")
    if "urn:vpass:domain:1" in after:
        problems.append("vpass's metadata record is still there")
    same = before == after and before != ""
    if not same and not problems:
        import difflib
        diff = [d for d in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
                if d[:1] in "+-" and not d.startswith(("+++", "---"))]
        problems.append(f"definition differs from before attach: {diff[:6]}")
    run.result(f"{stage}.xml-restored", not problems,
               "the definition is byte for byte what it was before attach" if not problems
               else "; ".join(problems))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu-rc", type=int, default=0)
    ap.add_argument("--seconds", default="?")
    ap.add_argument("--console")
    ap.add_argument("data")
    args = ap.parse_args()

    run = Run("full")
    records, done = read_guest_run(run, args.data, args.qemu_rc, args.seconds,
                                   "outer guest uptime")
    full = Full(records)
    n = full.notes
    times = []

    # vpass's stderr: anything at all is worth a look; sanitizer reports are failures.
    warnings, sanitizer, vpass_runs = {}, [], 0
    for r in records:
        if r["kind"].endswith(".stderr") and r["kind"].split(".")[0] in VPASS_KINDS:
            vpass_runs += 1
            for line in r["lines"]:
                if SANITIZER.search(line):
                    sanitizer.append(f"{r['stage']}/{r['kind']}: {line.strip()}")
                if line.strip() and not EXPECTED_STDERR.search(line):
                    warnings.setdefault(line.strip(), []).append(f"{r['stage']}/{r['kind'][:-7]}")

    if not records:
        return finish(run, warnings, times)
    run.result("sanitizer-clean", not sanitizer, f"{vpass_runs} vpass runs" + (f"; {sanitizer[:3]}" if sanitizer else ""))

    # -- boot
    lv = full.rc("boot", "libvirtd")
    run.result("boot.libvirtd", lv == 0 and full.rc("boot", "virsh-version") == 0,
               f"at {n.get('boot.uptime', '?')}s: " + " ".join(text(full.rec("boot", "virsh-version")).split())[:160])
    mf_a, mf_b, br_a, br_b = (n.get(f"boot.{k}", "") for k in ("mf_a", "mf_b", "br_a", "br_b"))
    bridge = n.get("boot.bridge", "")
    if not (mf_a and mf_b and br_a and br_b and n.get("boot.g_mf") and n.get("boot.g_br")):
        run.result("boot.topology", False, f"devices not found: {n}")
        return finish(run, warnings, times)
    g_mf, g_br = int(n["boot.g_mf"]), int(n["boot.g_br"])
    facts = generic_stage_checks(run, full.S("boot"))
    kp = full.S("boot").kernel_groups()
    mem_mf = sorted(a for g, a in kp if g == g_mf)
    mem_br = sorted(a for g, a in kp if g == g_br)
    boot_drv = full.drivers("boot")
    run.result("boot.topology",
               mem_mf == sorted([mf_a, mf_b]) and mem_br == sorted([bridge, br_a, br_b])
               and boot_drv.get(mf_a) == boot_drv.get(mf_b) == "e1000e"
               and boot_drv.get(br_a) == boot_drv.get(br_b) == "e1000",
               f"group {g_mf}: {mem_mf}; group {g_br}: {mem_br}; drivers "
               + " ".join(f"{a}={boot_drv.get(a)}" for a in (mf_a, mf_b, br_a, br_b)))
    if facts:
        v = facts["verdict"]
        run.result("boot.vpass-groups", v.get(g_mf) == "host" and v.get(g_br) == "host",
                   f"vpass: group {g_mf} {v.get(g_mf)}, group {g_br} {v.get(g_br)}")
    host_mf = {mf_a: "e1000e", mf_b: "e1000e"}
    host_br = {br_a: "e1000", br_b: "e1000"}

    # -- without vpass: not viable, and libvirt gives the device back
    for s, a, want in (("mf", mf_a, host_mf), ("br", br_a, host_br)):
        if f"neg-{s}" in full.stages:
            expect_not_viable(run, full, f"neg-{s}", f"<hostdev managed='yes'> {a} alone")
            expect_drivers(run, full, f"neg-{s}.after", want, f"neg-{s}.drivers-back")

    # -- vpass attach --group: the whole card
    if "mf" in full.stages:
        st = "mf"
        arc = full.rc(st, "attach")
        hd = hostdevs(text(full.rec(st, "dumpxml"))) or {}
        slots = {v["guest"][0] for v in hd.values() if v["guest"]}
        run.result("mf.attach", arc == 0 and sorted(hd) == sorted([mf_a, mf_b])
                   and all(v["managed"] == "yes" for v in hd.values()),
                   f"vpass attach --group {g_mf}: exit {arc}; <hostdev>s {sorted(hd)}"
                   + (f"; stderr: {text(full.rec(st, 'attach.stderr'))[:200]}" if arc else ""))
        guests = {a: v["guest"] for a, v in hd.items()}
        run.result("mf.one-guest-slot", len(slots) == 1 and len(hd) == 2
                   and any(g and g[1] == 0 and g[2] == "on" for g in guests.values()),
                   f"guest addresses {guests}")
        expect_drivers(run, full, "mf.attached", host_mf, "mf.attach-leaves-drivers")
        src = full.rc(st, "start")
        run.result("mf.start", src == 0, f"virsh start: exit {src} {text(full.rec(st, 'start.stderr'))[:300]}")
        if src == 0:
            expect_drivers(run, full, "mf.running", {mf_a: "vfio-pci", mf_b: "vfio-pci"}, "mf.running-vfio")
            running_checks(run, full, "mf.running", g_mf)
            _, irqs = expect_inner(run, full, st, 2, "e1000e")
            msi = [i for i in irqs if "MSI" in i]
            run.result("mf.inner-msi", bool(msi), "; ".join(irqs)[:300] or "no interrupt lines")
            expect_drivers(run, full, "mf.stopped", host_mf, "mf.stopped-drivers")
        drc = full.rc(st, "detach")
        run.result("mf.detach", drc == 0, f"vpass detach --group {g_mf} --reattach: exit {drc}"
                   + (f"; stderr: {text(full.rec(st, 'detach.stderr'))[:200]}" if drc else ""))
        expect_xml_restored(run, full, st)
        expect_drivers(run, full, "mf.detached", host_mf, "mf.drivers-back")
        times.append(("mf", n.get("mf.t0"), n.get("mf.t1"), full.S(st).notes.get("inner_seconds")))

    # -- vpass attach --device: one e1000 behind the bridge, vpass isolates the sibling
    if "dev" in full.stages:
        st = "dev"
        arc = full.rc(st, "attach")
        hd = hostdevs(text(full.rec(st, "dumpxml"))) or {}
        run.result("dev.attach", arc == 0 and sorted(hd) == [br_a],
                   f"vpass attach --device {br_a}: exit {arc}; <hostdev>s {sorted(hd)}; "
                   + " ".join(text(full.rec(st, "attach")).split())[:300]
                   + (f"; stderr: {text(full.rec(st, 'attach.stderr'))[:300]}" if arc else ""))
        if arc == 0:
            expect_drivers(run, full, "dev.attached", {br_a: "e1000", br_b: "vfio-pci"}, "dev.sibling-isolated")
            src = full.rc(st, "start")
            run.result("dev.start", src == 0, f"virsh start: exit {src} {text(full.rec(st, 'start.stderr'))[:300]}")
            if src == 0:
                expect_drivers(run, full, "dev.running", {br_a: "vfio-pci", br_b: "vfio-pci"}, "dev.running-vfio")
                running_checks(run, full, "dev.running", g_br)
                expect_inner(run, full, st, 1, "e1000")
                expect_drivers(run, full, "dev.stopped", {br_a: "e1000", br_b: "vfio-pci"}, "dev.stopped-drivers")
            drc = full.rc(st, "detach")
            run.result("dev.detach", drc == 0, f"vpass detach --device {br_a} --reattach: exit {drc}; "
                       + " ".join(text(full.rec(st, "detach")).split())[:300]
                       + (f"; stderr: {text(full.rec(st, 'detach.stderr'))[:200]}" if drc else ""))
            expect_xml_restored(run, full, st)
            expect_drivers(run, full, "dev.detached", host_br, "dev.drivers-back")
        times.append(("dev", n.get("dev.t0"), n.get("dev.t1"), full.S(st).notes.get("inner_seconds")))

    # -- the hook
    if "hook" in full.stages:
        st = "hook"
        irc = full.rc(st, "install")
        link = text(full.rec(st, "link")).strip()
        run.result("hook.install", irc == 0 and link.endswith("/vpass-hook")
                   and full.rc(st, "libvirtd") == 0,
                   f"vpass hook --install: exit {irc}; /etc/libvirt/hooks/qemu.d/vpass -> {link}; libvirtd restarted: {full.rc(st, 'libvirtd') == 0}")
        if "hook-off" in full.stages:
            expect_not_viable(run, full, "hook-off", f"hook off for the domain, <hostdev> {br_a} alone")
            expect_drivers(run, full, "hook-off.after", host_br, "hook-off.drivers-back")
        src = full.rc(st, "start")
        run.result("hook.start", src == 0,
                   f"plain <hostdev managed='yes'> {br_a}, hook on: virsh start exit {src} "
                   f"{text(full.rec(st, 'start.stderr'))[:300]}")
        if src == 0:
            expect_drivers(run, full, "hook.running", {br_a: "vfio-pci", br_b: "vfio-pci"}, "hook.running-vfio")
            running_checks(run, full, "hook.running", g_br)
            state = text(full.rec("hook.running", "state"))
            run.result("hook.state", re.search(rf"device {re.escape(br_b)} driver=e1000 \S+ phase=bound", state) is not None
                       and br_a not in state,
                       " | ".join(x for x in state.splitlines() if x.startswith(("domain", "device"))) or "no state file")
            status_rc = full.rc("hook.running", "status")
            status = " ".join(text(full.rec("hook.running", "status")).split())
            run.result("hook.status", status_rc == 0 and br_b in status,
                       f"vpass hook --status --json: exit {status_rc}: {status[:300]}")
            expect_inner(run, full, st, 1, "e1000")
            expect_drivers(run, full, "hook.stopped", host_br, "hook.drivers-back")
            after = " ".join(text(full.rec("hook.stopped", "status")).split())
            run.result("hook.released", full.rc("hook.stopped", "status") == 0 and br_b not in after,
                       f"vpass hook --status --json after the stop: {after[:200]}")
        times.append(("hook", n.get("hook.t0"), n.get("hook.t1"), full.S(st).notes.get("inner_seconds")))

    # -- final: every driver as at boot
    if "final" in full.stages:
        generic_stage_checks(run, full.S("final"))
        fin = full.drivers("final")
        diff = [f"{a}: {boot_drv.get(a)} -> {fin.get(a)}" for a in sorted(set(boot_drv) | set(fin))
                if boot_drv.get(a) != fin.get(a)]
        run.result("final.drivers-as-boot", bool(fin) and not diff,
                   f"{len(fin)} functions" + (f"; changed: {diff}" if diff else ", every driver as at boot"))
    else:
        run.result("final", False, "the scenario did not reach its end")
    return finish(run, warnings, times)


def finish(run, warnings, times):
    results = []
    for name, ok, detail in run.results:
        if name in KNOWN and not ok:
            print(f"VPASS-LAB KNOWN name={name} issue={KNOWN[name]} detail={detail}")
            continue
        if name in KNOWN:
            warnings.setdefault(f"{name} passes now: remove it from KNOWN in tests/lab/full/evaluate.py", ["-"])
        results.append(ok)
        print(f"VPASS-LAB RESULT name={name} ok={int(ok)} detail={detail}")
    for w, where in warnings.items():
        print(f"VPASS-LAB WARN topology=full seen={len(where)} first={where[0]} stderr={w}")
    for name, t0, t1, inner in times:
        try:
            span = f"{float(t1) - float(t0):.0f}s"
        except (TypeError, ValueError):
            span = "?"
        print(f"VPASS-LAB TIME scenario={name} seconds={span} inner_guest={inner or '?'}s")
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
