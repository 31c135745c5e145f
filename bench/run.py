#!/usr/bin/env python3
"""Inventory benchmarks: vpass against the RPC floor and the stock-tool ways, on large hosts.

    python3 bench/run.py                       both sizes, 7 repetitions -> bench/results.md
    python3 bench/run.py --quick --out F       tiny host, 1 repetition (the CI smoke test)

For each size, bench/gen_host.py generates a host (test-driver host.xml + sysfs twin); a
private libvirtd on a unix socket in a temporary directory (only the built-in test driver
loaded) serves it as test+unix:///ABS/host.xml?socket=..., so every way pays real RPC costs.
Each way runs once to warm up, then REPS times, the ways interleaved (so a burst of load on
the machine hits them all alike); the table shows medians and paired ratios, and the peak RSS
of each run's process tree from GNU time. RPC round trips are counted once per way from
libvirt's client log (one RPC_CLIENT_MSG_TX_QUEUE line with type=0 per call). Standard
library only; needs libvirtd, virsh, xmllint, cc, pkg-config and /usr/bin/time.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import gen_host  # noqa: E402

COMMAND = "python3 bench/run.py"
# (devices, domains) sampled per repetition for the seeds' way: one virsh process per item
# costs a whole connection, so it is timed on a sample and scaled to the host
SEED_SAMPLE = {"tiny": (2, 1), "small": (24, 12), "hook": (12, 6), "large": (6, 3)}
SEED_REPS = 3
# repetitions per size unless --reps: the small host's runs are short and the most exposed to
# other load on the machine, so it gets more
REPS = {"tiny": 7, "small": 15, "hook": 7, "large": 7}


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- processes
TIME = "/usr/bin/time"   # GNU time (Debian package `time`): the peak RSS of the process tree


def run_measured(argv, env=None, stdout=None, cwd=None, stdin=None, rss=True):
    """run ARGV; (seconds, peak RSS in KiB or None, exit code, stderr). Without RSS, no GNU
    time around it (which costs a few milliseconds of its own: too much for the hook).

    The peak RSS comes from GNU time's %M (ru_maxrss from wait4, children included): a
    child forked from this Python process would report Python's own RSS as its peak, since
    Linux keeps the pre-exec high-water mark."""
    err = tempfile.TemporaryFile()
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    full_env = dict(os.environ, **(env or {}))
    rss_file = None
    if rss and os.access(TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="vpass-bench-rss.")
        os.close(fd)
        argv = [TIME, "-f", "%M", "-o", rss_file] + list(argv)
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=inp, env=full_env, cwd=cwd)
    p.wait()
    elapsed = time.perf_counter() - t0
    if stdin:
        inp.close()
    if stdout:
        out.close()
    err.seek(0)
    msg = err.read().decode(errors="replace")
    err.close()
    rss = None
    if rss_file:
        try:
            with open(rss_file) as f:
                lines = f.read().split()
            rss = int(lines[-1]) if lines and lines[-1].isdigit() else None
        finally:
            os.unlink(rss_file)
    return elapsed, rss, p.returncode, msg


# remote_protocol.x: the procedures whose calls fetch one XML document each
PROC_NODE_DEVICE_GET_XML_DESC = 114
PROC_DOMAIN_GET_XML_DESC = 14


def count_rpc(argv, env, workdir, tag, ok_codes=(0,), by_proc=False):
    """RPC calls ARGV makes, from libvirt's client log; with BY_PROC, a dict: "calls", and the
    node-device and domain XML documents fetched ("nodedev", "domain")"""
    log = os.path.join(workdir, "rpc-%s.log" % tag)
    if os.path.exists(log):
        os.unlink(log)
    e = dict(env or {}, LIBVIRT_LOG_FILTERS="1:rpc", LIBVIRT_LOG_OUTPUTS="1:file:" + log)
    _, _, rc, _ = run_measured(argv, e)
    if rc not in ok_codes or not os.path.exists(log):
        return None
    n, procs = 0, {}
    with open(log, errors="replace") as f:
        for line in f:
            if "RPC_CLIENT_MSG_TX_QUEUE" in line and " type=0 " in line:
                n += 1
                for word in line.split():
                    if word.startswith("proc="):
                        procs[word[5:]] = procs.get(word[5:], 0) + 1
    os.unlink(log)
    if not by_proc:
        return n
    return {"calls": n, "nodedev": procs.get(str(PROC_NODE_DEVICE_GET_XML_DESC), 0),
            "domain": procs.get(str(PROC_DOMAIN_GET_XML_DESC), 0)}


class Libvirtd:
    """a private libvirtd on a unix socket in DIR, with an empty driver directory so that
    only the built-in test driver exists (as tests/integration/lib.sh starts it)"""

    def __init__(self, d):
        self.d = d
        daemon = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
        if not os.access(daemon, os.X_OK):
            raise BenchError("libvirtd is not installed (scripts/install-deps.sh)")
        for sub in ("drivers", "run", "config", "cache", "data"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        conf = os.path.join(d, "libvirtd.conf")
        with open(conf, "w") as f:
            f.write('unix_sock_dir = "%s/run"\nauth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                    'unix_sock_rw_perms = "0700"\n' % d)
        env = dict(os.environ, XDG_RUNTIME_DIR=d + "/run", XDG_CONFIG_HOME=d + "/config",
                   XDG_CACHE_HOME=d + "/cache", XDG_DATA_HOME=d + "/data",
                   LIBVIRT_DRIVER_DIR=d + "/drivers")
        self.log = open(os.path.join(d, "log"), "wb")
        self.proc = subprocess.Popen([daemon, "--config", conf, "--pid-file", d + "/pid",
                                      "--timeout", "900"], stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL, env=env)
        self.sock = os.path.join(d, "run", "libvirt-sock")
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise BenchError("libvirtd did not start (see %s/log)" % d)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------- machine
def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    try:
        virsh = subprocess.run(["virsh", "--version"], capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        virsh = "?"
    try:
        # read-only: no optional index refresh (and its lock) while someone else commits
        rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True,
                             env=dict(os.environ, GIT_OPTIONAL_LOCKS="0")).stdout.strip() or "?"
    except OSError:
        rev = "?"
    return {"nproc": os.cpu_count(), "model": model, "memory": mem, "rev": rev,
            "kernel": platform.release(), "libvirt": virsh,
            "python": platform.python_version()}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def build_floor(workdir):
    out = os.path.join(workdir, "rpc_floor")
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libvirt"], check=True,
                               capture_output=True, text=True).stdout.split()
        subprocess.run(["cc", "-O2", "-o", out, os.path.join(HERE, "rpc_floor.c")] + flags,
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BenchError("cannot build bench/rpc_floor.c: %s" % getattr(e, "stderr", e))
    return out


def build_shim(workdir):
    out = os.path.join(workdir, "kernel_shim.so")
    try:
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", out,
                        os.path.join(HERE, "kernel_shim.c"), "-ldl"],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BenchError("cannot build bench/kernel_shim.c: %s" % getattr(e, "stderr", e))
    return out


# --------------------------------------------------------------------------- the hook
def host_domains(host_xml):
    """the test driver's domains of HOST_XML: name -> (domain XML as libvirt hands it to a
    hook, running, [PCI addresses it holds])"""
    import re
    with open(host_xml) as f:
        text = f.read()
    out = {}
    for d in re.findall(r"<domain type='test'.*?</domain>", text, re.S):
        name = re.search(r"<name>(.*?)</name>", d).group(1)
        running = "<test:runstate>5</test:runstate>" not in d
        body = re.sub(r"\s*<metadata>.*?</metadata>", "", d, flags=re.S)
        body = re.sub(r"<domain type='test'[^>]*>", "<domain type='kvm'>", body)
        addrs = ["%04x:%02x:%02x.%x" % tuple(int(x, 16) for x in m) for m in re.findall(
            r"<source>\s*<address domain='(0x[0-9a-f]+)' bus='(0x[0-9a-f]+)' "
            r"slot='(0x[0-9a-f]+)' function='(0x[0-9a-f]+)'/>", body)]
        out[name] = (body, running, addrs)
    return out


def sysfs_driver(root, addr):
    try:
        return os.path.basename(os.readlink(os.path.join(root, "sys/bus/pci/devices", addr,
                                                         "driver")))
    except OSError:
        return None


def sysfs_group(root, addr):
    try:
        g = os.path.basename(os.readlink(os.path.join(root, "sys/bus/pci/devices", addr,
                                                      "iommu_group")))
        return sorted(os.listdir(os.path.join(root, "sys/kernel/iommu_groups", g, "devices")))
    except OSError:
        return []


def drivers_are(root, want):
    def check():
        for addr, drv in want.items():
            if sysfs_driver(root, addr) != drv:
                return "%s is on %s, not %s" % (addr, sysfs_driver(root, addr), drv)
        return None
    return check


def hook_tree(src, dst, domains, starting):
    """a copy of the sysfs tree SRC at DST as the hook sees a host: hook.conf enabling every
    domain, libvirt's status file for each running domain but STARTING"""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    os.makedirs(os.path.join(dst, "etc/vpass"))
    with open(os.path.join(dst, "etc/vpass/hook.conf"), "w") as f:
        f.write("[hook]\nenable = all\n")
    run = os.path.join(dst, "run/libvirt/qemu")
    os.makedirs(run)
    for i, (name, (body, running, _)) in enumerate(sorted(domains.items())):
        if running and name != starting:
            with open(os.path.join(run, name + ".xml"), "w") as f:
                f.write("<domstatus state='running' reason='booted' pid='%d'>\n%s\n"
                        "</domstatus>\n" % (2000 + i, body.replace(
                            "<domain type='kvm'>", "<domain type='kvm' id='%d'>" % (i + 1))))


def bench_hook(size, args, shim, workdir, log):
    """vpass-hook prepare and release on a copy of the generated sysfs tree: a domain whose
    VF is alone in its group (nothing to isolate), and one whose group has a sibling on a host
    driver (isolated at prepare, given back at release, by the PCI core's stand-in)"""
    hostdir = os.path.join(workdir, size)
    if not (args.keep_hosts and os.path.exists(os.path.join(hostdir, "meta.json"))):
        log("%s: generating the host (%d devices, %d domains)" % ((size,) + gen_host.PRESETS[size]))
        gen_host.generate(*gen_host.PRESETS[size], hostdir)
    with open(os.path.join(hostdir, "meta.json")) as f:
        meta = json.load(f)
    meta["host_xml_kib"] = os.path.getsize(os.path.join(hostdir, "host.xml")) // 1024
    src = os.path.join(hostdir, "root")
    domains = host_domains(os.path.join(hostdir, "host.xml"))
    held_running = {a for body, running, addrs in domains.values() if running for a in addrs}
    alone = isolate = None
    for name, (body, running, addrs) in sorted(domains.items()):
        groups = [sysfs_group(src, a) for a in addrs]
        if not addrs or any(not g for g in groups):
            continue
        others = [m for g in groups for m in g if m not in addrs]
        if alone is None and not running and not others:
            alone = name
        if isolate is None and others and all(
                sysfs_driver(src, m) not in (None, "vfio-pci", "pci-stub") and
                m not in held_running for m in others):
            isolate = name
    hook = args.vpass_hook
    # /run and /sys are in-memory filesystems on a host; so is the copy, where possible
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else workdir
    ways = []
    for key, name, what in (("alone", alone, "its VF alone in its group"),
                            ("isolate", isolate, "a sibling on a host driver, isolated")):
        if name is None:
            continue
        root = tempfile.mkdtemp(prefix="vpass-bench-hook.", dir=base)
        tree = os.path.join(root, "root")
        hook_tree(src, tree, domains, name)
        xml = os.path.join(root, "domain.xml")
        with open(xml, "w") as f:
            f.write(domains[name][0])
        # a sanitizer build's runtime wants to be first of the preloaded: let the shim be
        asan = ":".join(x for x in (os.environ.get("ASAN_OPTIONS"),
                                    "verify_asan_link_order=0") if x)
        env = {"VPASS_BENCH_ROOT": tree, "LD_PRELOAD": shim, "ASAN_OPTIONS": asan}
        addrs = domains[name][2]
        siblings = {m: sysfs_driver(src, m) for a in addrs for m in sysfs_group(src, a)
                    if m not in addrs}
        for op in ("prepare", "release"):
            sub = "begin" if op == "prepare" else "end"
            # after prepare every sibling is on vfio-pci, after release back on its driver
            want = {m: ("vfio-pci" if op == "prepare" else d) for m, d in siblings.items()}
            w = Way("hook-%s-%s" % (key, op), "`vpass-hook` %s, %s: %s" % (op, name, what),
                    [hook, "--root", tree, name, op, sub, "-"], env=env, rpc=False,
                    check=drivers_are(tree, want))
            w.stdin, w.tree, w.isolated, w.bare = xml, root, len(siblings), True
            ways.append(w)
    # what starting any process costs here, measured the same way
    start = Way("hook-true", "`true`: starting a process, for comparison", ["true"], rpc=False)
    start.bare, start.isolated = True, 0
    ways.append(start)
    for w in ways:              # warm-up, and the peak RSS (under GNU time)
        w.run(record=False)
    reps = args.reps or REPS[size]
    for rep in range(reps):
        log("%s: hook repetition %d/%d (load %s)" % (size, rep + 1, reps, loadavg()))
        for w in ways:          # prepare, then release: the tree is back as it was
            w.run(rep=rep)
    for w in ways:
        if hasattr(w, "tree"):
            shutil.rmtree(w.tree, ignore_errors=True)
    return {"size": size, "meta": meta, "hook": ways, "reps": reps}


# --------------------------------------------------------------------------- one size
class Way:
    def __init__(self, key, label, argv, env=None, stdout=None, check=None, rpc=True):
        self.key, self.label, self.argv, self.env = key, label, argv, env
        self.stdout, self.check, self.rpc = stdout, check, rpc
        self.times, self.rss, self.errors = [], [], []
        self.by_rep = {}                # repetition -> seconds, for paired ratios
        self.rpc_calls = None
        self.stdin = None
        self.bare = False

    def run(self, record=True, rep=None):
        # a short way is timed bare; its peak RSS comes from the runs that are not recorded
        t, rss, rc, err = run_measured(self.argv, self.env, self.stdout, stdin=self.stdin,
                                       rss=not (self.bare and record))
        if self.bare and not record and rss is not None:
            self.rss.append(rss)
        if rc != 0:
            last = err.strip().splitlines()
            self.errors.append("exit %d: %s" % (rc, last[-1] if last else ""))
            return
        if self.check and record:
            problem = self.check()
            if problem:
                self.errors.append(problem)
                return
        if record:
            self.times.append(t)
            if rep is not None:
                self.by_rep[rep] = t
            if rss is not None:
                self.rss.append(rss)

    def median(self):
        return statistics.median(self.times) if self.times else None


def check_groups_json(path, want_groups):
    def check():
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            return "unreadable output: %s" % e
        if len(d) != want_groups:
            return "%d groups in the output, the host has %d" % (len(d), want_groups)
        return None
    return check


def bench_size(size, args, floor_bin, workdir, log):
    n_dev, n_dom = gen_host.PRESETS[size]
    hostdir = os.path.join(workdir, size)
    meta_path = os.path.join(hostdir, "meta.json")
    if not (args.keep_hosts and os.path.exists(meta_path)):
        log("%s: generating the host (%d devices, %d domains)" % (size, n_dev, n_dom))
        gen_host.generate(n_dev, n_dom, hostdir)
    with open(meta_path) as f:
        meta = json.load(f)
    meta["host_xml_kib"] = os.path.getsize(os.path.join(hostdir, "host.xml")) // 1024

    daemon = Libvirtd(os.path.join(workdir, "libvirtd-" + size))
    try:
        uri = "test+unix://%s/host.xml?socket=%s" % (os.path.abspath(hostdir), daemon.sock)
        root = os.path.join(hostdir, "root")
        vp = args.vpass
        out = lambda k: os.path.join(workdir, "%s-%s.out" % (size, k))  # noqa: E731

        # the one-virsh way: every dump command on stdin, parsed once
        cmds = os.path.join(hostdir, "virsh-commands.txt")
        with open(os.path.join(hostdir, "pci.txt")) as f:
            pci = f.read().split()
        with open(os.path.join(hostdir, "domains.txt")) as f:
            doms = f.read().split()
        with open(cmds, "w") as f:
            f.writelines("nodedev-dumpxml %s\n" % n for n in pci)
            f.writelines("dumpxml %s\n" % n for n in doms)
        virsh_one = ("set -o pipefail; virsh -q -c '%s' < '%s' | python3 '%s' > '%s'"
                     % (uri, cmds, os.path.join(HERE, "parse_virsh.py"), out("virsh-one")))

        # the seeds' way on a sample, evenly spread over the lists
        sd, sm = SEED_SAMPLE[size]
        sample_dev = os.path.join(hostdir, "seed-devices.txt")
        sample_dom = os.path.join(hostdir, "seed-domains.txt")
        empty = os.path.join(hostdir, "empty.txt")
        with open(sample_dev, "w") as f:
            f.writelines(pci[i * len(pci) // sd] + "\n" for i in range(sd))
        with open(sample_dom, "w") as f:
            f.writelines(doms[i * len(doms) // sm] + "\n" for i in range(sm))
        open(empty, "w").close()
        seed = os.path.join(HERE, "seed_way.sh")

        groups = meta["groups"]
        # a connection to a 60-device host: what a connection costs without the test
        # driver's parse of a large host file (for the seeds' way's estimate)
        ref_dir = os.path.join(workdir, "connect-ref")
        if not os.path.exists(os.path.join(ref_dir, "host.xml")):
            gen_host.generate(*gen_host.PRESETS["tiny"], ref_dir)
        ref_uri = "test+unix://%s/host.xml?socket=%s" % (os.path.abspath(ref_dir), daemon.sock)
        connect_ref = Way("connect-ref", "connect to a 60-device host",
                          [floor_bin, "--connect-only", ref_uri], rpc=False)
        ways = [
            Way("connect", "connect only (open + close)", [floor_bin, "--connect-only", uri]),
            Way("floor", "RPC floor: PCI + domain XML, sequential", [floor_bin, uri]),
            Way("floor-vpass-set", "RPC floor, vpass's document set",
                [floor_bin, "--vpass-set", uri]),
            Way("vpass", "vpass groups --json (--source libvirt)",
                [vp, "-c", uri, "--source", "libvirt", "groups", "--json"],
                stdout=out("vpass"), check=check_groups_json(out("vpass"), groups)),
            Way("vpass-1", "vpass, same, VPASS_VIRT_THREADS=1",
                [vp, "-c", uri, "--source", "libvirt", "groups", "--json"],
                env={"VPASS_VIRT_THREADS": "1"}, stdout=out("vpass-1"),
                check=check_groups_json(out("vpass-1"), groups)),
            Way("vpass-text", "vpass groups, text output (--source libvirt)",
                [vp, "-c", uri, "--source", "libvirt", "groups"]),
            Way("vpass-sysfs", "vpass groups --json (--source sysfs)",
                [vp, "--root", root, "--source", "sysfs", "-c", uri, "groups", "--json"],
                stdout=out("vpass-sysfs"), check=check_groups_json(out("vpass-sysfs"), groups)),
            Way("virsh-one", "one virsh, all dumps on stdin, parsed once",
                ["bash", "-c", virsh_one], check=check_groups_json(out("virsh-one"), groups)),
        ]
        seed_dev = Way("seed-dev", "seeds' way, per device", ["bash", seed, uri, sample_dev, empty],
                       rpc=False)
        seed_dom = Way("seed-dom", "seeds' way, per domain", ["bash", seed, uri, empty, sample_dom],
                       rpc=False)

        if not args.quick:
            log("%s: warm-up" % size)
            for w in ways:
                w.run(record=False)
        reps = args.reps or REPS[size]
        for rep in range(reps):
            log("%s: repetition %d/%d (load %s)" % (size, rep + 1, reps, loadavg()))
            for w in ways:
                w.run(rep=rep)
            connect_ref.run()
            if rep < min(reps, SEED_REPS):
                seed_dev.run()
                seed_dom.run()

        log("%s: counting RPC calls" % size)
        for w in ways:
            if w.rpc:
                w.rpc_calls = count_rpc(w.argv, w.env, workdir, w.key)
        per_dev_calls = count_rpc(["virsh", "-c", uri, "nodedev-dumpxml", pci[0]], None,
                                  workdir, "seed1")
        per_dom_calls = count_rpc(["virsh", "-c", uri, "dumpxml", doms[0]], None, workdir,
                                  "seed2")
        # the other commands (exit 6: a check blocked, still a run), with what they fetch
        extra = []
        dom, vf, grp = meta.get("shutoff_domain"), meta.get("free_vf"), meta.get("free_vf_group")
        for name, sysfs, argv in (
                ("groups --json", False, ["groups", "--json"]),
                ("list --json", False, ["list", "--json"]),
                ("check --json (host readiness)", False, ["check", "--json"]),
                ("check --json --group G --domain D", False,
                 ["check", "--json", "--group", str(grp), "--domain", dom]),
                ("check --json --group G --domain D", True,
                 ["check", "--json", "--group", str(grp), "--domain", dom]),
                ("attach --dry-run --group G --domain D", True,
                 ["attach", "--dry-run", "--group", str(grp), "--domain", dom]),
                ("attach --dry-run --device VF --domain D", False,
                 ["attach", "--dry-run", "--device", vf, "--domain", dom]),
                ("attach --dry-run --device VF --domain D", True,
                 ["attach", "--dry-run", "--device", vf, "--domain", dom])):
            if None in (dom, vf, grp):
                continue
            pre = [vp, "-c", uri, "--source", "libvirt"] + (["--root", root] if sysfs else [])
            extra.append((name, sysfs, count_rpc(pre + argv, None, workdir, "extra",
                                                 ok_codes=(0, 6), by_proc=True)))
    finally:
        daemon.stop()

    seed = None
    conn = ways[0].median()
    if seed_dev.times and seed_dom.times:
        per_dev = statistics.median(seed_dev.times) / sd
        per_dom = statistics.median(seed_dom.times) / sm
        # the same per process on a daemon whose connections are cheap: this host's
        # connection replaced by one to the 60-device host
        parse = max(conn - connect_ref.median(), 0.0) if conn and connect_ref.times else None
        seed = {"per_dev": per_dev, "per_dom": per_dom,
                "total": per_dev * meta["pci"] + per_dom * meta["domains"],
                "cheap": (None if parse is None else
                          max(per_dev - parse, 0.0) * meta["pci"] +
                          max(per_dom - parse, 0.0) * meta["domains"]),
                "parse": parse,
                "rss": max(seed_dev.rss + seed_dom.rss, default=None),
                "calls": (per_dev_calls * meta["pci"] + per_dom_calls * meta["domains"]
                          if per_dev_calls and per_dom_calls else None),
                "sample": (sd, sm), "errors": seed_dev.errors + seed_dom.errors}
    return {"size": size, "meta": meta, "ways": ways, "seed": seed, "extra": extra,
            "per_call": (per_dev_calls, per_dom_calls), "reps": reps,
            "connect_ref": connect_ref.median()}


# --------------------------------------------------------------------------- report
def fmt_s(v):
    if v is None:
        return "-"
    return "%.3f" % v if v < 10 else "%.1f" % v


def fmt_x(a, b):
    """how many times faster THIS (b) is than A: a / b"""
    if a is None or b is None or b <= 0:
        return "-"
    return "%.2f" % (a / b)


def paired(a, b, minus=None):
    """median over the repetitions of A's time / B's time (each minus MINUS's time of the same
    repetition): the ways of one repetition ran back to back, so a change in the machine's
    load between repetitions cancels out"""
    ratios = paired_ratios(a, b, minus)
    return statistics.median(ratios) if ratios else None


def paired_ratios(a, b, minus=None):
    ratios = []
    for k in sorted(set(a.by_rep) & set(b.by_rep)):
        ta, tb = a.by_rep[k], b.by_rep[k]
        if minus is not None:
            if k not in minus.by_rep:
                continue
            ta, tb = ta - minus.by_rep[k], tb - minus.by_rep[k]
        if ta > 0 and tb > 0:
            ratios.append(ta / tb)
    return ratios


def verdict(ratios, goal):
    """met / not met when the middle half of the paired ratios is on one side of GOAL, else
    undecided: the difference is within this machine's run-to-run noise"""
    if not ratios:
        return None, ""
    med = statistics.median(ratios)
    if len(ratios) < 4:
        return med >= goal, ""
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    spread = " (middle half of the paired ratios: %.2f-%.2f)" % (q1, q3)
    if q1 >= goal:
        return True, spread
    if q3 < goal:
        return False, spread
    return "undecided", spread


def fmt_r(v):
    return "-" if v is None else "%.2f" % v


def size_table(r):
    W = {w.key: w for w in r["ways"]}
    conn = W["connect"].median()
    one = W["virsh-one"].median()
    floor = W["floor"].median()
    work = lambda v: None if v is None or conn is None else max(v - conn, 0.0)  # noqa: E731
    L = ["| Way | median s | min-max s | minus one connection s | floor / this | one virsh / this "
         "| floor / this, minus connection | one virsh / this, minus connection | peak RSS MB "
         "| RPC calls |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in r["ways"]:
        m = w.median()
        if m is None:
            L.append("| %s | failed: %s | | | | | | | | |" % (w.label, "; ".join(w.errors[:1])))
            continue
        L.append("| %s | %s | %s-%s | %s | %s | %s | %s | %s | %s | %s |" % (
            w.label, fmt_s(m), fmt_s(min(w.times)), fmt_s(max(w.times)),
            "-" if w.key == "connect" else fmt_s(work(m)),
            fmt_r(paired(W["floor"], w)), fmt_r(paired(W["virsh-one"], w)),
            "-" if w.key == "connect" else fmt_r(paired(W["floor"], w, W["connect"])),
            "-" if w.key == "connect" else fmt_r(paired(W["virsh-one"], w, W["connect"])),
            "%.1f" % (max(w.rss) / 1024) if w.rss else "-",
            w.rpc_calls if w.rpc_calls is not None else "-"))
    s = r["seed"]
    if s:
        L.append("| seeds' way: virsh + xmllint per device and per domain (est. from %d+%d "
                 "calls) | %s | - | - | %s | %s | - | - | %s | %s |" % (
                     s["sample"][0], s["sample"][1], fmt_s(s["total"]),
                     fmt_x(floor, s["total"]), fmt_x(one, s["total"]),
                     "%.1f" % (s["rss"] / 1024) if s["rss"] else "-",
                     s["calls"] if s["calls"] else "-"))
        if s["cheap"] is not None:
            L.append("| seeds' way, est. with cheap connections (the test driver's parse of "
                     "this host, %s s per connection, removed) | %s | - | - | %s | %s | %s | %s "
                     "| - | - |" % (fmt_s(s["parse"]), fmt_s(s["cheap"]),
                                    fmt_x(floor, s["cheap"]), fmt_x(one, s["cheap"]),
                                    fmt_x(work(floor), s["cheap"]),
                                    fmt_x(work(one), s["cheap"])))
    return "\n".join(L)


def hook_intro(r):
    return ("`vpass-hook --root COPY DOMAIN prepare begin -` (and `release end`) with the "
            "domain's XML on stdin, %d repetitions of each (prepare, then release: the tree "
            "is back as it was), on a copy of the sysfs tree in %s with hook.conf enabling "
            "every domain and libvirt's status file of every other running domain; "
            "bench/kernel_shim.c (LD_PRELOAD) answers the sysfs writes as the PCI core does "
            "(the bind completes at once, as vfio-pci's probe does). Wall time of the whole "
            "process as Python's subprocess starts it, exec and dynamic linking included (the "
            "`true` row is that cost alone); the peak RSS from a run under GNU time." % (
                r["reps"], "a tmpfs (/dev/shm)" if os.access("/dev/shm", os.W_OK)
                else "the work directory"))


def hook_table(r):
    L = ["| Run | median ms | min-max ms | peak RSS MB | siblings isolated |",
         "|---|---:|---:|---:|---:|"]
    for w in r["hook"]:
        m = w.median()
        if m is None:
            L.append("| %s | failed: %s | | | |" % (w.label, "; ".join(w.errors[:1])))
            continue
        L.append("| %s | %.1f | %.1f-%.1f | %s | %d |" % (
            w.label, m * 1000, min(w.times) * 1000, max(w.times) * 1000,
            "%.1f" % (max(w.rss) / 1024) if w.rss else "-",
            w.isolated if w.key.endswith("prepare") else 0))
    return "\n".join(L)


def extra_table(r):
    """the RPC calls of each command: what a selection's part of the host costs"""
    m = r["meta"]
    L = ["RPC calls per command (`vpass -c URI --source libvirt ...`; G is group %s, the free VF "
         "%s's, D the shut-off domain %s; \"sysfs\" adds `--root` with the host's sysfs twin, "
         "which lists a group's members; a row without it must read the whole host for a "
         "group, as no libvirt call lists one):" % (m.get("free_vf_group"), m.get("free_vf"),
                                                    m.get("shutoff_domain")), "",
         "| Command | sysfs | RPC calls | node-device XML | domain XML |",
         "|---|---|---:|---:|---:|"]
    for name, sysfs, c in r["extra"]:
        if c is None:
            L.append("| `%s` | %s | failed | | |" % (name, "yes" if sysfs else "no"))
            continue
        L.append("| `%s` | %s | %d | %d | %d |" % (name, "yes" if sysfs else "no", c["calls"],
                                                   c["nodedev"], c["domain"]))
    return L


def targets(results):
    R = {r["size"]: r for r in results if "hook" not in r}
    H = {r["size"]: r for r in results if "hook" in r}
    out = []

    def way(size, key):
        for w in R[size]["ways"]:
            if w.key == key:
                return w
        return None

    def line(ok, text):
        word = {True: "met", False: "not met", None: "not measured",
                "undecided": "undecided (within the noise)",
                "test-driver": "not met on the test driver"}[ok]
        out.append("- **%s**: %s" % (word, text))

    for size, what in (("small", "600/300"), ("large", "5,000/2,000")):
        if size not in R:
            continue
        v, f, one, c = (way(size, k) for k in ("vpass", "floor", "virsh-one", "connect"))
        x, xw = paired(f, v), paired(f, v, c)
        sy = way(size, "vpass-sysfs")
        if size == "small" and sy is not None and paired(f, sy) is not None:
            xs = paired(f, sy)
            ok, spread = verdict(paired_ratios(f, sy), 1.0)
            line(ok, "`vpass groups --json` faster than the sequential RPC floor on the %s "
                 "host, reading sysfs as on a host of its own (what source auto takes when "
                 "the connection manages this machine; `--root` with the host's sysfs twin "
                 "here, domains over RPC): floor / vpass = %.2f%s (medians %s s vs %s s)" % (
                     what, xs, spread, fmt_s(sy.median()), fmt_s(f.median())))
        if size == "small" and x is not None:
            ok, spread = verdict(paired_ratios(f, v), 1.0)
            line(ok, "the same from libvirt's node devices (`--source libvirt`, the way for a "
                 "remote host): floor / vpass = %.2f%s (medians %s s vs %s s); after the one "
                 "connection both open: %s. vpass fetches the floor's documents and, the test "
                 "driver naming no drivers, every net device (their XML alone names their "
                 "function), and the persistent XML of running domains (the next boot's "
                 "owners): on 2 CPUs the calls are CPU-bound in libvirt's RPC" % (
                     x, spread, fmt_s(v.median()), fmt_s(f.median()), fmt_r(xw)))
        best = sy if sy is not None and sy.times else v
        o, ow = paired(one, best), paired(one, best, c)
        fo = paired(one, f)
        if o is not None:
            ok, spread = verdict(paired_ratios(one, best), 7.0)
            line(ok, ">= 7x the one-connection virsh way on the %s host (%s): %.2fx on wall "
                 "time%s (medians %s s vs %s s); %sx on the work after the connection. The "
                 "issue took the RPC floor to be 7x that way; here the floor is %sx" % (
                     what, "sysfs" if best is sy else "libvirt source", o, spread,
                     fmt_s(one.median()), fmt_s(best.median()), fmt_r(ow), fmt_r(fo)))
    if "small" in R and "large" in R:
        ms, ml = R["small"]["meta"], R["large"]["meta"]
        grow = (ml["pci"] + ml["domains"]) / (ms["pci"] + ms["domains"])
        for key, what in (("vpass", "libvirt source"), ("vpass-sysfs", "sysfs source")):
            vs, vl = way("small", key).median(), way("large", key).median()
            cs, cl = way("small", "connect").median(), way("large", "connect").median()
            # against the floor, which makes a fixed number of calls per device and per
            # domain: the sizes ran minutes apart, under whatever load the machine had then,
            # and the paired ratio cancels that out
            rs = paired(way("small", key), way("small", "floor"), way("small", "connect"))
            rl = paired(way("large", key), way("large", "floor"), way("large", "connect"))
            if None in (vs, vl, cs, cl, rs, rl):
                continue
            tg = max(vl - cl, 1e-9) / max(vs - cs, 1e-9)
            line(rl / rs <= 1.25, "cost linear in devices and domains (%s): the host grows "
                 "%.2fx (devices + domains); the work after the connection, as a multiple of "
                 "the RPC floor's (a fixed number of calls per device and per domain), is "
                 "%.2f on the small host and %.2f on the large one (met when it grows by at "
                 "most 1.25x); raw growth %.2fx "
                 "(%s s -> %s s), which also carries the change in the machine's load" % (
                     what, grow, rs, rl, tg, fmt_s(vs - cs), fmt_s(vl - cl)))
    if "small" in R and "large" in R:
        # O(group + domains): what a command fetches besides the domains' documents must not
        # grow with the host (the same group and domain shapes on both hosts)
        small = {(n, sy): c for n, sy, c in R["small"]["extra"]}
        large = {(n, sy): c for n, sy, c in R["large"]["extra"]}
        for key in (("check --json --group G --domain D", True),
                    ("attach --dry-run --group G --domain D", True),
                    ("attach --dry-run --device VF --domain D", True),
                    ("attach --dry-run --device VF --domain D", False)):
            cs, cl = small.get(key), large.get(key)
            if not cs or not cl:
                continue
            rest_s, rest_l = cs["calls"] - cs["domain"], cl["calls"] - cl["domain"]
            ok = rest_l <= rest_s + 2
            if not key[1]:
                ok = "test-driver"
            line(ok, "`%s`%s makes O(group + domains) round trips: %d calls "
                 "on the small host, %d on the large one; besides the domains' documents "
                 "(%d, %d) %d and %d calls, of which %d and %d node-device documents%s" % (
                     key[0], " (sysfs)" if key[1] else "", cs["calls"], cl["calls"],
                     cs["domain"], cl["domain"], rest_s, rest_l, cs["nodedev"], cl["nodedev"],
                     "" if key[1] else ": without sysfs the test driver, which names no "
                     "drivers, costs every net device for the interfaces (a real daemon "
                     "only when a function of the part is on a host driver)"))
        whole = small.get(("check --json --group G --domain D", False))
        if whole:
            out.append("- **not a target**: `check --group` over a connection whose host sysfs "
                       "vpass cannot read reads the whole host (%d calls on the small host): "
                       "libvirt has no call that lists a group's members" % whole["calls"])
    if "large" in R:
        for key, what in (("vpass", "libvirt source"), ("vpass-sysfs", "sysfs source")):
            w = way("large", key)
            if w is not None and w.rss:
                rss = max(w.rss) / 1024
                line(rss < 50, "peak RSS under 50 MB at 5,000/2,000 (%s): %.1f MB" % (what, rss))
    if "hook" in H:
        prep = [w for w in H["hook"]["hook"] if w.key.endswith("-prepare") and w.times]
        if prep:
            worst = max(prep, key=lambda w: w.median())
            line(worst.median() < 0.020, "hook prepare median under 20 ms on the 1,000-device "
                 "sysfs tree: %s" % "; ".join("%.1f ms (%s)" % (w.median() * 1000, w.label)
                                              for w in prep))
    if not out:
        out.append("- not evaluated: the targets are about the small and large sizes")
    return "\n".join(out)


def report(results, mach, load0, load1, args, elapsed):
    L = ["# vpass inventory benchmarks", "",
         "Regenerate with ONE command from the repository root (vpass built first, e.g. "
         "`cmake --build build-bench --target vpass`):", "",
         "```", COMMAND + (" --vpass %s" % args.vpass_shown if args.vpass_shown else ""), "```",
         "",
         "Generated by bench/run.py on %s in %.0f s; see bench/README.md for what each way "
         "does and how to read the columns." % (
             datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), elapsed), "",
         "## Machine", "",
         "| nproc | CPU | memory | kernel | libvirt | python | load average before / after |",
         "|---:|---|---|---|---|---|---|",
         "| %s | %s | %s | %s | %s | %s | %s / %s |" % (
             mach["nproc"], mach["model"], mach["memory"], mach["kernel"], mach["libvirt"],
             mach["python"], load0, load1), "",
         "vpass: `%s`, source tree `%s`." % (os.path.relpath(args.vpass, REPO), mach["rev"]),
         "",
         "## Hosts", "",
         "| Size | PCI functions | VFs | IOMMU groups | net devices | domains | running "
         "| devices held | host.xml KiB |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    seen = set()
    for r in results:
        m = r["meta"]
        if r["size"] in seen:
            continue
        seen.add(r["size"])
        L.append("| %s | %d | %d | %d | %d | %d | %d | %d | %d |" % (
            r["size"], m["pci"], m["vfs"], m["groups"], m["net"], m["domains"], m["running"],
            m["held"], m["host_xml_kib"]))
    L.append("")
    for r in results:
        m = r["meta"]
        if "hook" in r:
            L += ["## The hook on the %s host's sysfs tree: %d PCI functions, %d domains (%d "
                  "running)" % (r["size"], m["pci"], m["domains"], m["running"]), "",
                  hook_intro(r), "", hook_table(r), ""]
            continue
        L += ["## %s host: %d PCI functions, %d domains" % (r["size"], m["pci"], m["domains"]),
              "", "Repetitions: %d per way (medians), the seeds' way %d (on a sample). A "
              "connection to a 60-device host took %s s." % (
                  r["reps"], min(r["reps"], SEED_REPS), fmt_s(r["connect_ref"])),
              "", size_table(r), ""]
        pd, pm = r["per_call"]
        L.append("RPC calls of one `virsh nodedev-dumpxml`: %s; of one `virsh dumpxml`: %s." % (
            pd if pd is not None else "-", pm if pm is not None else "-"))
        L += extra_table(r) + [""]
    L += ["## Targets", "", targets(results), ""]
    return "\n".join(L)


def find_vpass():
    for p in (os.environ.get("VPASS"), os.path.join(REPO, "build-bench/src/vpass"),
              os.path.join(REPO, "build/src/vpass")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="small,large,hook",
                    help="comma-separated: %s" % ",".join(sorted(gen_host.PRESETS)))
    ap.add_argument("--reps", type=int,
                    help="repetitions per way (default: %s)" % ", ".join(
                        "%s %d" % kv for kv in sorted(REPS.items())))
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--vpass", help="the vpass binary (default: $VPASS, build-bench/, build/)")
    ap.add_argument("--vpass-hook",
                    help="the vpass-hook binary (default: $VPASS_HOOK, next to vpass)")
    ap.add_argument("--work", help="keep hosts and logs here (default: a temporary directory)")
    ap.add_argument("--keep-hosts", action="store_true",
                    help="reuse hosts already generated in --work")
    ap.add_argument("--quick", action="store_true",
                    help="tiny host, 1 repetition, no warm-up (the smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.reps = "tiny", 1
    args.vpass_shown = args.vpass
    args.vpass = os.path.abspath(args.vpass) if args.vpass else find_vpass()
    if not args.vpass:
        print("run.py: error: no vpass binary: build it (cmake --build build --target vpass) "
              "or pass --vpass", file=sys.stderr)
        return 1
    args.vpass_hook = os.path.abspath(args.vpass_hook or os.environ.get("VPASS_HOOK") or
                                      os.path.join(os.path.dirname(args.vpass), "vpass-hook"))
    if not os.access(args.vpass_hook, os.X_OK):
        print("run.py: error: no vpass-hook binary next to vpass: build it (cmake --build build) "
              "or pass --vpass-hook", file=sys.stderr)
        return 1
    sizes = args.sizes.split(",")
    for s in sizes:
        if s not in gen_host.PRESETS:
            ap.error("unknown size %r" % s)
    for tool in ("virsh", "xmllint", "cc", "pkg-config"):
        if not shutil.which(tool):
            print("run.py: error: %s is not installed (scripts/install-deps.sh)" % tool,
                  file=sys.stderr)
            return 1

    def log(msg):
        print("run.py: " + msg, file=sys.stderr, flush=True)

    workdir = args.work or tempfile.mkdtemp(prefix="vpass-bench.")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.time()
    try:
        floor_bin = build_floor(workdir)
        mach, load0 = machine(), loadavg()
        shim = build_shim(workdir)
        results = []
        for s in sizes:
            if s != "hook":
                results.append(bench_size(s, args, floor_bin, workdir, log))
            if s in ("hook", "tiny"):
                results.append(bench_hook(s, args, shim, workdir, log))
        text = report(results, mach, load0, loadavg(), args, time.time() - t0)
    except (BenchError, gen_host.gen_lab.LabError) as e:
        print("run.py: error: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.work:
            shutil.rmtree(workdir, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write(text)
    log("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
