#!/usr/bin/env python3
"""run.py - measure what onionshim costs, next to torsocks and proxychains-ng,
and write docs/benchmarks.md (and the plot docs/benchmarks.svg).

usage: python3 bench/run.py [--build DIR] [--only PARTS] [--quick] [--keep]
                            [--out FILE]

PARTS is a comma-separated list of conn (per proxied connection), passthru
(calls that are not diverted), startup, map (map scale); default: all. With
--only, the document holds only the parts that ran. --quick runs small
counts (a smoke test of the harness, not figures to publish). --keep keeps
the work directory (configs, maps, callgrind and strace files) and prints
its name, so that any command quoted in the document can be run again.

Every figure is a difference between runs of N and 3N cycles divided by 2N,
so that process start-up cancels out. Instructions come from callgrind
(user space, deterministic), system calls from strace -c -f, wall time from
alternating runs of N and 3N timed from outside the process.

Nothing here talks to anything but loopback: the SOCKS server is
bench/sink.c on 127.0.0.1, and names are only ever resolved under a preload
library that answers them itself (or are numeric).
"""

import argparse
import base64
import glob
import hashlib
import os
import pickle
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# rend-spec-v3's example address: a valid v3 onion
ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
MX = "mx.bench.example"
PORT = "25"
MAP_SIZES = (10, 100, 10000, 100000)

# counts: (normal, --quick)
COUNTS = {
    "cg_conn": (100, 20),       # proxied cycles under callgrind
    "cg_reps": (2, 1),
    "st_conn": (200, 50),       # proxied cycles under strace
    "st_reps": (3, 1),
    "wall_conn": (1000, 200),   # proxied cycles timed
    "wall_rounds": (11, 3),
    "cg_pass": (1000, 100),     # pass-through calls under callgrind
    "wall_pass_unix": (20000, 2000),
    "wall_pass_gai": (100000, 10000),
    "wall_pass_rounds": (7, 3),
    "cg_start_reps": (2, 1),
    "rss_reps": (5, 3),
    "cg_map": (1000, 100),      # map lookups under callgrind
    "map_time_reps": (5, 2),
}


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --- helpers: environment, commands ---------------------------------------

SCRUB = ("LD_PRELOAD", "ONIONSHIM_", "TORSOCKS_", "PROXYCHAINS_")


def base_env():
    """The caller's environment without anything that would preload or
    configure one of the tools under test."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}


def find_lib(patterns):
    for p in patterns:
        hits = sorted(glob.glob(p))
        if hits:
            return hits[0]
    raise BenchError("not found: " + " or ".join(patterns))


def pkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                             capture_output=True, text=True, check=True).stdout
        return out.strip() or "?"
    except (OSError, subprocess.CalledProcessError):
        return "not installed"


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True).stdout
        return out.splitlines()[0].strip() if out else "?"
    except OSError:
        return "?"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.build = os.path.abspath(os.path.join(ROOT, args.build))
        self.work = tempfile.mkdtemp(prefix="onionshim-bench.")
        self.sink = None
        self.port = None
        self.seq = 0
        self.commands = {}      # figure key -> list of shell lines
        self.results = {}
        self.lib = os.path.join(self.build, "libonionshim.so")
        self.client = os.path.join(self.build, "bench", "client")
        self.trivial = os.path.join(self.build, "bench", "trivial")
        self.mapbench = os.path.join(self.build, "bench", "mapbench")
        self.sinkbin = os.path.join(self.build, "bench", "sink")
        for f in (self.lib, self.client, self.trivial, self.mapbench, self.sinkbin):
            if not os.path.exists(f):
                raise BenchError(f + " is missing: run make bench-tools first")
        self.torsocks = find_lib(["/usr/lib/*/torsocks/libtorsocks.so",
                                  "/usr/lib/torsocks/libtorsocks.so"])
        self.proxychains = find_lib(["/usr/lib/*/libproxychains.so.4",
                                     "/usr/lib/libproxychains.so.4"])

    def n(self, key):
        return COUNTS[key][1 if self.quick else 0]

    # shell text of a command, as the document quotes it
    def shell(self, env, argv):
        def short(s):
            # quote first: the work directory and the tree need no quotes,
            # and $W must stay outside single quotes to expand
            return shlex.quote(s).replace(self.work, "$W").replace(ROOT + "/", "")

        def arg(a):
            return "$PORT" if self.port and a == self.port else short(a)
        parts = [f"{k}={short(v)}" for k, v in env.items()]
        return " ".join(parts + [arg(a) for a in argv])

    def note(self, key, line):
        lst = self.commands.setdefault(key, [])
        if line not in lst:
            lst.append(line)

    # --- the SOCKS sink -----------------------------------------------------

    def start_sink(self):
        self.unix_path = os.path.join(self.work, "unix.sock")
        self.sink = subprocess.Popen([self.sinkbin], stdout=subprocess.PIPE, text=True)
        line = self.sink.stdout.readline().strip()
        if not line.isdigit():
            raise BenchError("the sink did not report its port")
        self.port = line

    def stop_sink(self):
        if self.sink is not None and self.sink.poll() is None:
            os.kill(self.sink.pid, signal.SIGTERM)
            try:
                self.sink.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.sink.pid, signal.SIGKILL)
                self.sink.wait()

    # --- files: maps and configs --------------------------------------------

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def prepare_files(self):
        self.maps = {1: self.write("map.1", f"{MX} {ONION}\n")}
        rng = random.Random(7)          # the same maps on every run
        onions = [v3_onion(rng) for _ in range(max(MAP_SIZES))]
        for size in MAP_SIZES:
            lines = [f"d{i}.bench.example {onions[i]}\n" for i in range(size)]
            self.maps[size] = self.write(f"map.{size}", "".join(lines))
        logf = os.path.join(self.work, "onionshim.log")

        def conf(name, **kw):
            settings = {"socks_server": f"127.0.0.1:{self.port}",
                        "onion_map": self.maps[1], "isolation": "none",
                        "log_level": "notice", "log_to": logf}
            settings.update(kw)
            return self.write(name, "".join(f"{k} = {v}\n" for k, v in settings.items()))

        self.conf = {
            "none": conf("onionshim-none.conf"),
            "destination": conf("onionshim-destination.conf", isolation="destination"),
            "info": conf("onionshim-info.conf", log_level="info"),
            "nomap": conf("onionshim-nomap.conf", onion_map=""),
        }
        for size in MAP_SIZES:
            self.conf[f"map{size}"] = conf(f"onionshim-map{size}.conf",
                                           onion_map=self.maps[size])
        self.torsocks_conf = self.write("torsocks.conf", (
            f"TorAddress 127.0.0.1\nTorPort {self.port}\n"
            "OnionAddrRange 127.42.42.0/24\n"))
        self.proxychains_conf = self.write("proxychains.conf", (
            "strict_chain\nquiet_mode\nproxy_dns\nremote_dns_subnet 224\n"
            "tcp_read_time_out 15000\ntcp_connect_time_out 8000\n"
            f"[ProxyList]\nsocks5 127.0.0.1 {self.port}\n"))

    # the preload environments under test
    def env_of(self, tool, conf="none"):
        if tool == "none":
            return {}
        if tool == "onionshim":
            return {"ONIONSHIM_CONF": self.conf[conf], "LD_PRELOAD": self.lib}
        if tool == "torsocks":
            return {"TORSOCKS_CONF_FILE": self.torsocks_conf, "LD_PRELOAD": self.torsocks}
        if tool == "proxychains":
            return {"PROXYCHAINS_CONF_FILE": self.proxychains_conf,
                    "LD_PRELOAD": self.proxychains}
        raise ValueError(tool)

    # --- the three instruments ----------------------------------------------

    def callgrind(self, env, argv, key=None, toggle=None, keep=False):
        """User-space instructions of ARGV under ENV (callgrind's total).
        Returns (instructions, output file)."""
        self.seq += 1
        prefix = os.path.join(self.work, "cg", f"{self.seq}")
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        vg = ["valgrind", "--tool=callgrind", "--trace-children=yes", "-q",
              f"--callgrind-out-file={prefix}.%p"]
        if toggle:
            vg += toggle.split()
        cmd = vg + ["env"] + [f"{k}={v}" for k, v in env.items()] + argv
        if key:
            shown = [a for a in vg if not a.startswith("--callgrind-out-file")]
            self.note(key, self.shell({}, shown + ["env"] + [f"{k}={v}" for k, v in env.items()]
                                      + argv))
        r = subprocess.run(cmd, env=base_env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"callgrind run failed ({r.returncode}): {' '.join(argv)}\n"
                             + r.stderr[-2000:])
        prog = os.path.basename(argv[0])
        for f in sorted(glob.glob(prefix + ".*")):
            with open(f) as fh:
                text = fh.read()
            if not re.search(r"^cmd:\s*\S*" + re.escape(prog), text, re.M):
                continue
            m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
            if m:
                if not keep:
                    for g in glob.glob(prefix + ".*"):
                        os.unlink(g)
                return int(m.group(1)), f
        raise BenchError("no callgrind output for " + prog)

    def strace(self, env, argv, key=None):
        """System calls of ARGV (and its threads): {name: calls}."""
        self.seq += 1
        out = os.path.join(self.work, f"strace.{self.seq}")
        cmd = ["strace", "-f", "-c", "-o", out]
        for k, v in env.items():
            cmd += ["-E", f"{k}={v}"]
        cmd += argv
        if key:
            shown = ["strace", "-f", "-c"] + [x for k, v in env.items() for x in ("-E", f"{k}={v}")]
            self.note(key, self.shell({}, shown + argv))
        r = subprocess.run(cmd, env=base_env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"strace run failed ({r.returncode}): {' '.join(argv)}\n"
                             + r.stderr[-2000:])
        counts = {}
        with open(out) as fh:
            for line in fh:
                f = line.split()
                if len(f) >= 5 and re.match(r"^[\d.]+$", f[0]) and f[-1] != "total":
                    counts[f[-1]] = int(f[3])
        os.unlink(out)
        return counts

    def wall(self, env, argv):
        """Wall seconds of ARGV's cycles (the client's own elapsed_ns line),
        and the CPU seconds (user and system) the process used, from its
        own rusage."""
        e = base_env()
        e.update(env)
        p = subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        out = p.stdout.read()
        p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        m = re.search(r"elapsed_ns=(\d+)", out)
        if p.returncode != 0 or not m:
            raise BenchError(f"run failed ({p.returncode}): {self.shell(env, argv)}")
        p50 = re.search(r"cycle_p50_ns=(\d+)", out)
        self.last_p50 = int(p50.group(1)) / 1e9 if p50 else None
        return int(m.group(1)) / 1e9, ru.ru_utime + ru.ru_stime

    def peak_rss(self, env):
        """VmHWM of the trivial program, in KiB, as it reports it itself."""
        e = base_env()
        e.update(env)
        out = subprocess.run([self.trivial, "-m"], env=e, capture_output=True, text=True)
        m = re.match(r"\s*(\d+)\s*kB", out.stdout)
        if out.returncode != 0 or not m:
            raise BenchError("trivial -m said: " + out.stdout + out.stderr)
        return int(m.group(1))

    # --- part 1: per proxied connection -------------------------------------

    def conn_rows(self):
        rows = []
        for mode in ("blocking", "non-blocking"):
            rows.append(dict(key=f"floor/{mode}", tool="none", conf=None, mode=mode,
                             label="floor: no preload, hand-pipelined SOCKS5"))
            rows.append(dict(key=f"onionshim-none/{mode}", tool="onionshim", conf="none",
                             mode=mode, label="onionshim, isolation = none"))
            rows.append(dict(key=f"onionshim-destination/{mode}", tool="onionshim",
                             conf="destination", mode=mode,
                             label="onionshim, isolation = destination"))
            if mode == "blocking":
                rows.append(dict(key=f"onionshim-info/{mode}", tool="onionshim", conf="info",
                                 mode=mode, label="onionshim, isolation = none, log_level = info"))
            rows.append(dict(key=f"torsocks/{mode}", tool="torsocks", conf=None, mode=mode,
                             label="torsocks"))
            rows.append(dict(key=f"proxychains/{mode}", tool="proxychains", conf=None, mode=mode,
                             label="proxychains-ng"))
        return rows

    def conn_argv(self, row, n, timed=False):
        argv = [self.client, "-n", str(n)]
        if row["mode"] == "non-blocking":
            argv.append("-b")
        if timed:
            argv.append("-t")
        if row["tool"] == "none":
            argv += ["-F", self.port]
        return argv + [ONION, PORT]

    def conn_env(self, row):
        return self.env_of(row["tool"], row["conf"] or "none")

    def part_conn(self):
        rows = self.conn_rows()
        res = {r["key"]: dict(row=r) for r in rows}
        n = self.n("cg_conn")
        log(f"per connection: callgrind, {n} and {3 * n} cycles, {len(rows)} configurations")
        for r in rows:
            env, vals = self.conn_env(r), []
            for rep in range(self.n("cg_reps")):
                keep = rep == 0 and r["key"] == "onionshim-none/blocking"
                a, fa = self.callgrind(env, self.conn_argv(r, n), key="conn-ir", keep=keep)
                b, fb = self.callgrind(env, self.conn_argv(r, 3 * n), key="conn-ir", keep=keep)
                vals.append((b - a) / (2 * n))
                if keep:
                    res[r["key"]]["profile"] = profile_diff(fa, fb, 2 * n)
            res[r["key"]]["ir"] = vals
        n = self.n("st_conn")
        log(f"per connection: strace, {n} and {3 * n} cycles")
        for r in rows:
            env, vals, per = self.conn_env(r), [], []
            for rep in range(self.n("st_reps")):
                a = self.strace(env, self.conn_argv(r, n), key="conn-sc")
                b = self.strace(env, self.conn_argv(r, 3 * n), key="conn-sc")
                vals.append((sum(b.values()) - sum(a.values())) / (2 * n))
                per.append({k: (b.get(k, 0) - a.get(k, 0)) / (2 * n) for k in set(a) | set(b)})
            res[r["key"]]["sc"] = vals
            res[r["key"]]["sc_by_call"] = {k: statistics.median(p.get(k, 0) for p in per)
                                           for k in set().union(*per)}
        n = self.n("wall_conn")
        rounds = self.n("wall_rounds")
        log(f"per connection: wall time, {rounds} alternating rounds of {n} and {3 * n} cycles")
        for r in rows:      # warm the page cache and the sink
            self.wall(self.conn_env(r), self.conn_argv(r, 10))
        for r in rows:
            res[r["key"]]["wall"] = []
            res[r["key"]]["cpu"] = []
            res[r["key"]]["p50"] = []
        for rnd in range(rounds):
            order = rows if rnd % 2 == 0 else list(reversed(rows))
            for r in order:
                env = self.conn_env(r)
                counts = (n, 3 * n) if rnd % 2 == 0 else (3 * n, n)
                t = {}
                for c in counts:
                    t[c] = self.wall(env, self.conn_argv(r, c, timed=True))
                    if c == 3 * n:
                        res[r["key"]]["p50"].append(self.last_p50 * 1e6)
                res[r["key"]]["wall"].append((t[3 * n][0] - t[n][0]) / (2 * n) * 1e6)
                res[r["key"]]["cpu"].append((t[3 * n][1] - t[n][1]) / (2 * n) * 1e6)
                if rnd == 0:
                    self.note("conn-wall", self.shell(env, self.conn_argv(r, n, timed=True)))
                    self.note("conn-wall", self.shell(env, self.conn_argv(r, 3 * n, timed=True)))
        self.results["conn"] = res

    # --- part 2: calls that are not diverted -----------------------------------

    def part_passthru(self):
        tools = ("none", "onionshim", "torsocks", "proxychains")
        calls = {
            "AF_UNIX connect": lambda n: [self.client, "-n", str(n), "-U", self.unix_path],
            "numeric getaddrinfo": lambda n: [self.client, "-n", str(n), "-G", "192.0.2.1"],
        }
        res = {}
        log(f"not diverted: callgrind, {self.n('cg_pass')} and {3 * self.n('cg_pass')} calls")
        for call, argv in calls.items():
            for tool in tools:
                # proxychains-ng's getaddrinfo is ~200 times dearer: fewer calls
                n = self.n("cg_pass") // (10 if tool == "proxychains" else 1)
                env, vals, prof = self.env_of(tool), [], None
                for rep in range(self.n("cg_reps")):
                    keep = rep == 0 and tool == "onionshim"
                    a, fa = self.callgrind(env, argv(n), key="pass-ir", keep=keep)
                    b, fb = self.callgrind(env, argv(3 * n), key="pass-ir", keep=keep)
                    vals.append((b - a) / (2 * n))
                    if keep:
                        prof = profile_diff(fa, fb, 2 * n)
                res[(call, tool)] = dict(ir=vals, wall=[], cpu=[], profile=prof, cg_n=n)
        rounds = self.n("wall_pass_rounds")
        log(f"not diverted: wall time, {rounds} alternating rounds")
        for call, argv in calls.items():
            top = self.n("wall_pass_unix" if call.startswith("AF_UNIX") else "wall_pass_gai")
            for tool in tools:
                # about 50 ms for N calls, so that a slow library does not take minutes
                t, _cpu = self.wall(self.env_of(tool), argv(1000))
                n = int(min(top, max(200, 0.05 / max(t / 1000, 1e-9))))
                res[(call, tool)]["wall_n"] = n - n % 100 if n >= 1000 else n
        for rnd in range(rounds):
            for call, argv in calls.items():
                for tool in tools:
                    n = res[(call, tool)]["wall_n"]
                    env = self.env_of(tool)
                    counts = (n, 3 * n) if rnd % 2 == 0 else (3 * n, n)
                    t = {c: self.wall(env, argv(c)) for c in counts}
                    res[(call, tool)]["wall"].append((t[3 * n][0] - t[n][0]) / (2 * n) * 1e9)
                    res[(call, tool)]["cpu"].append((t[3 * n][1] - t[n][1]) / (2 * n) * 1e9)
                    if rnd == 0:
                        self.note("pass-wall", self.shell(env, argv(n)))
                        self.note("pass-wall", self.shell(env, argv(3 * n)))
        self.results["passthru"] = res

    # --- part 3: start-up ----------------------------------------------------------

    def part_startup(self):
        rows = [("no preload", "none", None), ("onionshim, no map", "onionshim", "nomap")]
        rows += [(f"onionshim, {s:,}-entry map", "onionshim", f"map{s}")
                 for s in (10, 10000, 100000)]
        rows += [("torsocks", "torsocks", None), ("proxychains-ng", "proxychains", None)]
        argv = [self.trivial]
        res = {}
        log("start-up: callgrind, strace and peak RSS of a trivial program")
        for label, tool, conf in rows:
            env = self.env_of(tool, conf or "none")
            irs, files = [], []
            for rep in range(self.n("cg_start_reps")):
                ir, f = self.callgrind(env, argv, key="start-ir", keep=rep == 0)
                irs.append(ir)
                files.append(f)
            sc = self.strace(env, argv, key="start-sc")
            rss = [self.peak_rss(env) for _ in range(self.n("rss_reps"))]
            self.note("start-rss", self.shell(env, [self.trivial, "-m"]))
            res[label] = dict(tool=tool, conf=conf, ir=irs, sc=sum(sc.values()), rss=rss,
                              profile_file=files[0])
        base = res["no preload"]["profile_file"]
        for label in ("onionshim, 10-entry map", "onionshim, 10,000-entry map"):
            res[label]["profile"] = profile_diff(base, res[label]["profile_file"], 1)
        for label in ("no preload", "onionshim, 10-entry map", "torsocks"):
            x = res[label]
            res[label]["smaps"] = self.smaps(self.env_of(x["tool"], x["conf"] or "none"))
        for x in res.values():
            x.pop("profile_file", None)
        self.results["startup"] = res

    def smaps(self, env):
        """Resident KiB per object of the trivial program as it exits."""
        e = base_env()
        e.update(env)
        out = subprocess.run([self.trivial, "-s"], env=e, capture_output=True, text=True,
                             check=True).stdout
        self.note("start-smaps", self.shell(env, [self.trivial, "-s"]))
        per = {}
        for line in out.splitlines():
            rss, dirty, path = line.split(" ", 2)
            name = os.path.basename(path) if path.startswith("/") else path
            if name == os.path.basename(self.trivial):
                name = "the program"
            old = per.get(name, (0, 0))
            per[name] = (old[0] + int(rss), old[1] + int(dirty))
        return per

    # --- part 4: map scale ---------------------------------------------------

    def part_map(self):
        res = {}
        n = self.n("cg_map")
        steps = ("onionshim_map_init", "onionshim_map_build", "hit_lookups", "miss_lookups",
                 "first_checks")
        toggles = "--toggle-collect=" + " --toggle-collect=".join(steps)
        log("map scale: callgrind and timing of build and lookups")
        for size in (100, 10000, 100000):
            m = self.maps[size]
            r = dict(bytes=os.path.getsize(m))
            _ir, f = self.callgrind({}, [self.mapbench, m, "all", str(n)], key="map-ir",
                                    toggle=toggles, keep=True)
            fns = annotate(f)
            for g in glob.glob(f):
                os.unlink(g)
            cost = {st: fns.get(f"{st} (mapbench)") for st in steps}
            if None in (cost["onionshim_map_build"], cost["hit_lookups"], cost["miss_lookups"]):
                raise BenchError("mapbench: a step is missing from the callgrind profile")
            r["init"] = cost["onionshim_map_init"] or 0
            r["build"] = cost["onionshim_map_build"]
            r["hit"] = cost["hit_lookups"] / n
            r["miss"] = cost["miss_lookups"] / n
            if cost["first_checks"]:
                # the checks' own lookups are hits: take them out
                r["check"] = cost["first_checks"] / min(size, 100) - r["hit"]
            times = []
            for _ in range(self.n("map_time_reps")):
                out = subprocess.run([self.mapbench, m, "time"], capture_output=True, text=True,
                                     check=True).stdout
                times.append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out)})
            self.note("map-time", self.shell({}, [self.mapbench, m, "time"]))
            r["times"] = times
            res[size] = r
        self.results["map"] = res

    # --- the machine -----------------------------------------------------------------

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        try:
            with open("/etc/debian_version") as f:
                debian = f.read().strip()
        except OSError:
            debian = "?"
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip() or "?"
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "lib",
                                "include"], capture_output=True, text=True).stdout.strip()
        return {
            "cpu": cpu,
            "cpus": len(os.sched_getaffinity(0)),
            "kernel": platform.release(),
            "debian": debian,
            "glibc": os.confstr("CS_GNU_LIBC_VERSION"),
            "gcc": first_line(["cc", "--version"]),
            "onionshim": rev + (" with uncommitted changes in lib/ or include/" if dirty else ""),
            "torsocks": pkg_version("torsocks"),
            "proxychains4": pkg_version("proxychains4"),
            "valgrind": pkg_version("valgrind"),
            "strace": pkg_version("strace"),
            "gnuplot": pkg_version("gnuplot-nox"),
            "python": platform.python_version(),
        }


def v3_onion(rng):
    """A valid v3 onion address from a random 32-byte key (rend-spec-v3)."""
    pub = rng.randbytes(32)
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + check + b"\x03").decode().lower() + ".onion"


def plot_script(data, out, terminal):
    """gnuplot commands for the three panels of per-connection costs."""
    return f"""
set terminal {terminal}
set output '{out}'
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left
set grid ytics
set multiplot layout 1,3 title "Cost per proxied connection ((3N - N) / 2N cycles; SOCKS5 sink on loopback)"
set title "user-space instructions (callgrind, log scale)"
set logscale y
plot '{data}' using 2:xtic(1) title 'blocking', '' using 3 title 'non-blocking'
unset logscale y
unset key
set yrange [0:*]
set title "system calls (strace -c)"
plot '{data}' using 4:xtic(1) title 'blocking', '' using 5 title 'non-blocking'
set title "median cycle time, µs (in-process)"
plot '{data}' using 6:xtic(1) title 'blocking', '' using 7 title 'non-blocking'
unset multiplot
"""


def annotate(path):
    """Inclusive instructions per function of a callgrind file:
    {"function (object)": instructions}."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no",
                          "--threshold=100", path], capture_output=True, text=True).stdout
    fns = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*?) \[(.*)\]\s*$", line)
        if not m:
            continue
        cost = int(m.group(1).replace(",", ""))
        fn = m.group(2).rsplit(":", 1)[-1]
        key = f"{fn} ({os.path.basename(m.group(3))})"
        fns[key] = max(cost, fns.get(key, 0))
    return fns


def profile_diff(fa, fb, div):
    a, b = annotate(fa), annotate(fb)
    return {k: (b.get(k, 0) - a.get(k, 0)) / div for k in set(a) | set(b)}


# --- the document -----------------------------------------------------------------

def med(v):
    return statistics.median(v)


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def spread(v, digits=0):
    """median (min-max)"""
    if len(v) == 1 or fmt(min(v), digits) == fmt(max(v), digits):
        return fmt(med(v), digits) + (" (exact)" if len(v) > 1 else "")
    return f"{fmt(med(v), digits)} ({fmt(min(v), digits)}–{fmt(max(v), digits)})"


def ratio(a, b):
    if b is None or b == 0 or a is None:
        return "n/a"
    return f"{a / b:.2f}"


def verdict(ok):
    """True, False, or None for a tie within the noise."""
    if ok is None:
        return "**tie** (within 3 %, the noise of this figure)"
    return "**met**" if ok else "**missed**"


class Doc:
    def __init__(self, bench, parts, elapsed):
        self.b = bench
        self.r = bench.results
        self.parts = parts
        self.elapsed = elapsed
        self.out = []
        self.targets = []

    def p(self, *lines):
        self.out.extend(lines)

    def cmds(self, key, intro="Reproduce"):
        lines = self.b.commands.get(key, [])
        if not lines:
            return
        self.p("", f"<details><summary>{intro} (set up $W and $PORT as in "
               "<a href=\"#method\">Method</a>)</summary>", "", "```sh")
        self.p(*lines)
        self.p("```", "", "</details>")

    def render(self):
        m = self.b.machine()
        self.p("# onionshim benchmarks", "",
               "What onionshim costs, measured in one run next to the tools it replaces "
               "(torsocks, proxychains-ng). This file is written by `make bench` "
               "(bench/run.py); do not edit it by hand: change bench/run.py or "
               "bench/notes.md and run `make bench` again. Timings are noisy and no test "
               "asserts one; `make check` does not run this.", "",
               f"Run of {time.strftime('%Y-%m-%d %H:%M %Z')}, {self.elapsed:.0f} s in all"
               + (" (**--quick: smoke-test counts, not figures to publish**)"
                  if self.b.quick else "") + ".", "")
        self.summary_placeholder = len(self.out)
        self.p("## Machine and versions", "",
               "| what | version |", "| --- | --- |",
               f"| CPU | {m['cpu']}, {m['cpus']} CPUs usable |",
               f"| kernel | Linux {m['kernel']} |",
               f"| Debian | {m['debian']} |",
               f"| glibc | {m['glibc']} |",
               f"| compiler | {m['gcc']} (the Makefile's flags: -O2 -g) |",
               f"| onionshim | {m['onionshim']} |",
               f"| torsocks | {m['torsocks']} (Debian package) |",
               f"| proxychains4 | {m['proxychains4']} (Debian package) |",
               f"| valgrind (callgrind) | {m['valgrind']} |",
               f"| strace | {m['strace']} |",
               f"| gnuplot | {m['gnuplot']} |",
               f"| Python (driver) | {m['python']} |", "")
        self.method()
        if "conn" in self.r:
            self.conn()
        if "passthru" in self.r:
            self.passthru()
        if "startup" in self.r:
            self.startup()
        if "map" in self.r:
            self.mapscale()
        self.tor()
        notes = os.path.join(ROOT, "bench", "notes.md")
        if os.path.exists(notes):
            with open(notes) as f:
                self.p(f.read().rstrip(), "")
        summary = ["## Targets", "", "| target (issue 7) | measured | verdict |",
                   "| --- | --- | --- |"]
        summary += [f"| {t} | {v} | {verdict(ok)} |" for t, v, ok in self.targets]
        summary += ["", "Why a target is missed, and what would close it: see "
                    "[Analysis](#analysis) below.", ""]
        self.out[self.summary_placeholder:self.summary_placeholder] = summary
        return "\n".join(self.out) + "\n"

    def method(self):
        b = self.b
        self.p("## Method", "",
               "- **Workload** (bench/client.c): N cycles of what an MTA does for one "
               "delivery: `getaddrinfo(onion name, \"25\")`, `socket`, `connect`, one `read` "
               "of the banner, `close`. *Blocking*: a plain `connect`. *Non-blocking*: as "
               "Postfix's smtp with smtp_connect_timeout: `fcntl` to O_NONBLOCK, `connect`, "
               "`poll` and SO_ERROR if it is in progress, `fcntl` back, `poll` before the "
               "read.",
               "- **SOCKS server** (bench/sink.c): one epoll thread on 127.0.0.1 that accepts "
               "every method and login, answers every CONNECT with success and sends an SMTP "
               "banner in the same write, then closes (so TIME_WAIT stays on its side).",
               "- **Floor**: the same cycle by a program that speaks SOCKS5 itself, as cheaply "
               "as it can: `getaddrinfo` of the numeric SOCKS address, `socket`, `connect`, "
               "one write (greeting and CONNECT by name), one read of exactly the 12 reply "
               "bytes, the banner read, `close`. What a library costs is what it adds to this.",
               f"- **onionshim**: `LD_PRELOAD=build/libonionshim.so`, route = all "
               f"(the default), a one-line onion_map (`{MX} <the onion>`), "
               "log_level = notice, log to a file (nothing is logged per connection at "
               "notice). isolation = none and isolation = destination are separate rows; "
               "log_level = info (one log line per connection) is an extra row.",
               "- **torsocks** and **proxychains-ng**: their Debian libraries preloaded "
               "directly (what the `torsocks` and `proxychains4` commands do), pointed at the "
               "sink: `TorAddress`/`TorPort` in a TORSOCKS_CONF_FILE (onions resolve to its "
               "OnionAddrRange); `socks5 127.0.0.1 PORT`, `proxy_dns`, `quiet_mode` in a "
               "PROXYCHAINS_CONF_FILE.",
               "- **Per connection** = (cost of 3N cycles − cost of N cycles) / 2N, so that "
               "process start-up cancels out. Instructions: callgrind's total of user-space "
               "instructions (the kernel's work is not in it; nearly deterministic: the "
               "repetitions show how little they move). System calls: `strace -f -c` (threads "
               "included). Wall time: runs of N and 3N alternate (and the order of the "
               "configurations alternates between rounds); the client times its own "
               "N cycles (CLOCK_MONOTONIC), so that the exec and the loader, which are "
               "very noisy on a loaded machine, stay out; the figure is the median of "
               "the per-round differences.",
               f"- **Counts**: callgrind N = {b.n('cg_conn')} ({b.n('cg_reps')} repetitions), "
               f"strace N = {b.n('st_conn')} ({b.n('st_reps')} repetitions), wall time "
               f"N = {b.n('wall_conn')} ({b.n('wall_rounds')} rounds).",
               f"- The onion is `{ONION}` (rend-spec-v3's example). Everything runs on "
               "loopback; no name is ever sent to a resolver.",
               "- **Reproducing one figure by hand**: `make bench-tools`, start the sink and "
               "write the same maps and configs, then run the commands under the table:", "",
               "```sh",
               "W=$(mktemp -d); build/bench/sink > $W/port & sleep 0.2; PORT=$(cat $W/port)",
               "python3 bench/run.py --setup $W --port $PORT",
               "# ... the commands ...; then: kill %1",
               "```", "")

    # -- part 1
    def conn(self):
        res = self.r["conn"]
        rows = [res[k] for k in res]
        ts = {mode: res[f"torsocks/{mode}"] for mode in ("blocking", "non-blocking")}
        fl = {mode: res[f"floor/{mode}"] for mode in ("blocking", "non-blocking")}

        self.p("## 1. Per proxied connection", "",
               "Medians, with min–max over the repetitions in brackets. *Added* is the "
               "cost over the floor of the same mode; ratios are to torsocks in the same "
               "mode.", "", f"![per-connection costs]({os.path.basename(self.b.svg)})", "",
               "### User-space instructions per connection (callgrind)", "",
               "| configuration | mode | instructions | added over floor | ratio to torsocks | "
               "added, ratio to torsocks's added |",
               "| --- | --- | ---: | ---: | ---: | ---: |")
        for x in rows:
            r, mode = x["row"], x["row"]["mode"]
            ir, fir, tir = med(x["ir"]), med(fl[mode]["ir"]), med(ts[mode]["ir"])
            added = ir - fir if r["tool"] != "none" else None
            self.p(f"| {r['label']} | {mode} | {spread(x['ir'])} | {fmt(added)} | "
                   f"{ratio(ir, tir)} | "
                   f"{ratio(added, tir - fir) if added is not None else 'n/a'} |")
        self.cmds("conn-ir", "Reproduce: each configuration with N and 3N")

        self.p("", "### System calls per connection (strace -f -c)", "",
               "| configuration | mode | system calls | added over floor | ratio to torsocks |",
               "| --- | --- | ---: | ---: | ---: |")
        for x in rows:
            r, mode = x["row"], x["row"]["mode"]
            sc = med(x["sc"])
            added = sc - med(fl[mode]["sc"]) if r["tool"] != "none" else None
            self.p(f"| {r['label']} | {mode} | {spread(x['sc'], 1)} | "
                   f"{fmt(added, 1) if added is not None else 'n/a'} | "
                   f"{ratio(sc, med(ts[mode]['sc']))} |")
        self.cmds("conn-sc")

        self.p("", "Which system calls, per connection (medians; blocking mode, and "
               "onionshim's non-blocking row):", "")
        cols = [k for k in ("floor/blocking", "onionshim-none/blocking",
                            "onionshim-destination/blocking", "onionshim-info/blocking",
                            "onionshim-none/non-blocking", "torsocks/blocking",
                            "proxychains/blocking") if k in res]
        names = sorted({c for k in cols for c, v in res[k]["sc_by_call"].items() if v >= 0.05},
                       key=lambda c: (-max(res[k]["sc_by_call"].get(c, 0) for k in cols), c))
        heads = {"floor/blocking": "floor", "onionshim-none/blocking": "onionshim none",
                 "onionshim-destination/blocking": "onionshim destination",
                 "onionshim-info/blocking": "onionshim none, info",
                 "onionshim-none/non-blocking": "onionshim none, non-blocking",
                 "torsocks/blocking": "torsocks", "proxychains/blocking": "proxychains-ng"}
        self.p("| system call | " + " | ".join(heads[k] for k in cols) + " |",
               "| --- |" + " ---: |" * len(cols))
        for c in names:
            self.p(f"| {c} | " + " | ".join(fmt(res[k]["sc_by_call"].get(c, 0), 2)
                                            for k in cols) + " |")
        self.p("| **total** | " + " | ".join(fmt(med(res[k]["sc"]), 1) for k in cols) + " |")

        self.p("", "### Wall time per connection (µs)", "",
               "*Wall µs* is the issue's figure: (t(3N) − t(N)) / 2N, median over the rounds. "
               "On a shared machine it is noisy (load average "
               f"{self.b.load[0]} at the start of this run, {self.b.load[1]} at the end), "
               "because a stall caused by another process lands in one run and not in its "
               "pair; so two steadier figures stand beside it: *median cycle µs*, the median "
               "of the 3N runs' own per-cycle times (the client times each cycle with -t; "
               "stalls fall in few cycles and the median leaves them out), and *CPU µs*, the "
               "client's user + system time per cycle from its rusage, which leaves out the "
               "waits for the sink.", "",
               "| configuration | mode | wall µs | added over floor | ratio to torsocks | "
               "median cycle µs | ratio to torsocks | CPU µs | ratio to torsocks |",
               "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for x in rows:
            r, mode = x["row"], x["row"]["mode"]
            w = med(x["wall"])
            added = w - med(fl[mode]["wall"]) if r["tool"] != "none" else None
            self.p(f"| {r['label']} | {mode} | {spread(x['wall'], 1)} | "
                   f"{fmt(added, 1) if added is not None else 'n/a'} | "
                   f"{ratio(w, med(ts[mode]['wall']))} | {spread(x['p50'], 1)} | "
                   f"{ratio(med(x['p50']), med(ts[mode]['p50']))} | {spread(x['cpu'], 1)} | "
                   f"{ratio(med(x['cpu']), med(ts[mode]['cpu']))} |")
        self.cmds("conn-wall", "Reproduce: run each pair (N, then 3N), read the elapsed_ns "
                  "and cycle_p50_ns each prints, take (t(3N) − t(N)) / 2N; alternate the "
                  "order between rounds")

        if "profile" in res.get("onionshim-none/blocking", {}):
            prof = res["onionshim-none/blocking"]["profile"]
            self.p("", "### Where onionshim's instructions go (isolation = none, blocking)", "",
                   "Inclusive instructions per connection of the library's functions and "
                   "of the libc functions it calls (callgrind_annotate --inclusive=yes on the "
                   "N and 3N profiles; nested rows are included in their callers):", "",
                   "| function (object) | instructions per connection |", "| --- | ---: |")
            total = med(res["onionshim-none/blocking"]["ir"])
            picks = sorted(((v, k) for k, v in prof.items()
                            if v >= 0.01 * total and ("libonionshim" in k or any(
                                k.startswith(f + " ") for f in LIBC_OF_INTEREST))),
                           reverse=True)
            for v, k in picks[:22]:
                self.p(f"| `{k}` | {fmt(v)} |")

        # what each configuration adds
        def d(key, field, base):
            return med(res[key][field]) - med(res[base][field])
        if all(k in res for k in ("onionshim-destination/blocking", "onionshim-info/blocking",
                                  "onionshim-none/non-blocking")):
            self.p("", "### What each onionshim configuration adds to isolation = none, "
                   "blocking", "",
                   "| configuration | instructions | system calls | wall µs | "
                   "median cycle µs | CPU µs |",
                   "| --- | ---: | ---: | ---: | ---: | ---: |")
            for key, label in (("onionshim-destination/blocking", "isolation = destination"),
                               ("onionshim-info/blocking", "log_level = info"),
                               ("onionshim-none/non-blocking", "non-blocking (the client's "
                                "own fcntl and poll calls included)"),
                               ("onionshim-destination/non-blocking",
                                "isolation = destination, non-blocking")):
                self.p(f"| {label} | {fmt(d(key, 'ir', 'onionshim-none/blocking'))} | "
                       f"{fmt(d(key, 'sc', 'onionshim-none/blocking'), 1)} | "
                       f"{fmt(d(key, 'wall', 'onionshim-none/blocking'), 1)} | "
                       f"{fmt(d(key, 'p50', 'onionshim-none/blocking'), 1)} | "
                       f"{fmt(d(key, 'cpu', 'onionshim-none/blocking'), 1)} |")
            self.p("", "For comparison, the floor's non-blocking mode adds "
                   f"{fmt(d('floor/non-blocking', 'sc', 'floor/blocking'), 1)} system calls "
                   "(the client's own fcntl, poll and getsockopt).")

        # targets
        os_b, ts_b, fl_b = res["onionshim-none/blocking"], ts["blocking"], fl["blocking"]
        added_os = med(os_b["ir"]) - med(fl_b["ir"])
        added_ts = med(ts_b["ir"]) - med(fl_b["ir"])
        self.targets.append((
            "instructions, isolation = none, blocking: at most 0.25 × torsocks",
            f"{fmt(added_os)} added over the floor vs torsocks's {fmt(added_ts)}: "
            f"{added_os / added_ts:.2f} × (totals {fmt(med(os_b['ir']))} vs "
            f"{fmt(med(ts_b['ir']))}: {med(os_b['ir']) / med(ts_b['ir']):.2f} ×)",
            added_os <= 0.25 * added_ts))
        self.targets.append((
            "system calls, isolation = none, blocking: at most 7 per connection",
            f"{fmt(med(os_b['sc']), 1)} (torsocks {fmt(med(ts_b['sc']), 1)}, floor "
            f"{fmt(med(fl_b['sc']), 1)})", med(os_b["sc"]) <= 7.05))
        overlap = min(os_b["wall"]) <= max(ts_b["wall"]) and min(ts_b["wall"]) <= max(os_b["wall"])
        self.targets.append((
            "wall time, isolation = none, blocking: no worse than torsocks",
            f"{fmt(med(os_b['wall']), 1)} µs vs torsocks {fmt(med(ts_b['wall']), 1)} µs "
            f"(floor {fmt(med(fl_b['wall']), 1)} µs)"
            + ("; the min–max ranges overlap" if overlap else "")
            + f"; median cycle {fmt(med(os_b['p50']), 1)} vs {fmt(med(ts_b['p50']), 1)} µs; "
            f"CPU {fmt(med(os_b['cpu']), 1)} vs {fmt(med(ts_b['cpu']), 1)} µs "
            "(judged on the median cycle, the steadiest of the three)",
            True if med(os_b["p50"]) <= med(ts_b["p50"]) else
            None if med(os_b["p50"]) <= 1.03 * med(ts_b["p50"]) else False))
        self.plot(res)

    def plot(self, res):
        groups = [("floor", "floor"), ("onionshim-none", "onionshim"),
                  ("onionshim-destination", "onionshim, isolation"),
                  ("onionshim-info", "onionshim, info log"), ("torsocks", "torsocks"),
                  ("proxychains", "proxychains-ng")]
        data = os.path.join(self.b.work, "plot.dat")
        with open(data, "w") as f:
            for key, label in groups:
                vals = []
                for field in ("ir", "sc", "p50"):
                    for mode in ("blocking", "non-blocking"):
                        x = res.get(f"{key}/{mode}")
                        vals.append(f"{med(x[field]):.3f}" if x else "?")
                f.write(f'"{label}" ' + " ".join(vals) + "\n")
        svg = self.b.svg
        script = plot_script(data, svg, 'svg size 1500,520 dynamic font "sans,12"')
        path = os.path.join(self.b.work, "plot.gp")
        with open(path, "w") as f:
            f.write(script)
        if shutil.which("gnuplot") is None:
            self.p("", "(No plot: gnuplot is not installed.)")
            return
        r = subprocess.run(["gnuplot", path], capture_output=True, text=True)
        if r.returncode != 0:
            self.p("", "(No plot: gnuplot failed: " + r.stderr.strip()[:200] + ")")
        else:
            self.b.note("plot", "gnuplot $W/plot.gp    # data in $W/plot.dat")
            self.cmds("plot", "The plot")

    # -- part 2
    def passthru(self):
        res = self.r["passthru"]
        self.p("", "## 2. Calls that are not diverted", "",
               "A cycle is `socket` + `connect` to an AF_UNIX address + `close` (a datagram "
               "socket the client bound itself, so that no other process is in the loop; "
               "the address is built once), or `getaddrinfo(\"192.0.2.1\", \"25\")` + "
               "`freeaddrinfo`. Instructions are user space only: the AF_UNIX cycle is "
               "three system-call wrappers, so a hook's few instructions are a large "
               "share of it; wall and CPU time include the kernel's work. Callgrind: N and 3N "
               "calls, N in the table (*cg N*); wall and CPU time: N chosen for about 50 ms "
               f"per run (*wall N*), {self.b.n('wall_pass_rounds')} alternating rounds.", "",
               "| call | library | instructions per call | added | added % | "
               "wall ns per call | added % | CPU ns per call | added % | cg N | wall N |",
               "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for call in ("AF_UNIX connect", "numeric getaddrinfo"):
            base = res[(call, "none")]
            bi, bw, bc = med(base["ir"]), med(base["wall"]), med(base["cpu"])
            for tool in ("none", "onionshim", "torsocks", "proxychains"):
                x = res[(call, tool)]
                i, w, c = med(x["ir"]), med(x["wall"]), med(x["cpu"])
                label = {"none": "no preload", "proxychains": "proxychains-ng"}.get(tool, tool)
                ns = f"{x.get('cg_n', '?')} | {x.get('wall_n', '?')}"
                if tool == "none":
                    self.p(f"| {call} | {label} | {spread(x['ir'])} | | | "
                           f"{spread(x['wall'])} | | {spread(x['cpu'])} | | {ns} |")
                else:
                    self.p(f"| {call} | {label} | {spread(x['ir'])} | {fmt(i - bi)} | "
                           f"{100 * (i - bi) / bi:+.1f} % | {spread(x['wall'])} | "
                           f"{100 * (w - bw) / bw:+.1f} % | {spread(x['cpu'])} | "
                           f"{100 * (c - bc) / bc:+.1f} % | {ns} |")
            o = res[(call, "onionshim")]
            pct = 100 * (med(o["ir"]) - bi) / bi
            wpct = 100 * (med(o["wall"]) - bw) / bw
            cpct = 100 * (med(o["cpu"]) - bc) / bc
            self.targets.append((
                f"{call}, not diverted: within 2 % of no preload",
                f"instructions {pct:+.1f} % ({fmt(med(o['ir']) - bi)} per call); "
                f"wall time {wpct:+.1f} %, CPU time {cpct:+.1f} %", pct <= 2.0))
        for call in ("AF_UNIX connect", "numeric getaddrinfo"):
            prof = res[(call, "onionshim")].get("profile")
            if not prof:
                continue
            picks = sorted(((v, k) for k, v in prof.items()
                            if v >= 1 and ("libonionshim" in k or any(
                                k.startswith(f + " ") for f in LIBC_OF_INTEREST))),
                           reverse=True)
            self.p("", f"onionshim's {call}, inclusive instructions per call by function:", "",
                   "| function (object) | instructions per call |", "| --- | ---: |")
            for v, k in picks[:8]:
                self.p(f"| `{k}` | {fmt(v)} |")
        self.cmds("pass-ir")
        self.cmds("pass-wall", "Reproduce the times: each pair (N, then 3N), alternating, "
                  "reading the elapsed_ns each prints")

    # -- part 3
    def startup(self):
        res = self.r["startup"]
        base = res["no preload"]
        bi, brss, bsc = med(base["ir"]), med(base["rss"]), base["sc"]
        self.p("", "## 3. Start-up", "",
               "`build/bench/trivial` (`int main(void) { return 0; }`) exec'd with each "
               "library preloaded. Instructions: callgrind's total for the process (loader "
               "work, relocations and constructors included). Peak RSS: VmHWM, which "
               "`trivial -m` reads from /proc/self/status as it exits (ru_maxrss would "
               "carry the peak of the forking parent across exec), median of "
               f"{self.b.n('rss_reps')} runs. Wall time is not shown: sub-millisecond "
               "figures are noise here.", "",
               "| preload | instructions | added | system calls | added | peak RSS KiB | "
               "added KiB |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, x in res.items():
            i, rss = med(x["ir"]), med(x["rss"])
            if label == "no preload":
                self.p(f"| {label} | {spread(x['ir'])} | | {x['sc']} | | {spread(x['rss'])} | |")
            else:
                self.p(f"| {label} | {spread(x['ir'])} | {fmt(i - bi)} | {x['sc']} | "
                       f"{x['sc'] - bsc:+d} | {spread(x['rss'])} | {fmt(rss - brss)} |")
        for label in ("onionshim, 10-entry map", "onionshim, 10,000-entry map"):
            x = res[label]
            add_i, add_r = med(x["ir"]) - bi, med(x["rss"]) - brss
            self.targets.append((
                f"start-up, {label.split(', ')[1]}: under 100,000 instructions and 100 KiB",
                f"{fmt(add_i)} instructions, {fmt(add_r)} KiB peak RSS (torsocks: "
                f"{fmt(med(res['torsocks']['ir']) - bi)}, "
                f"{fmt(med(res['torsocks']['rss']) - brss)} KiB)",
                add_i < 100000 and add_r < 100))
        self.cmds("start-ir")
        self.cmds("start-sc", "Reproduce the system calls")
        self.cmds("start-rss", "Reproduce the peak RSS")
        prof = res["onionshim, 10-entry map"].get("profile")
        if prof:
            total = med(res["onionshim, 10-entry map"]["ir"]) - bi
            skip = ("0x", "(below main)", "pthread_once", "__pthread_once", "_dl_init",
                    "call_init", "init_once", "real_init_once", "_dl_start ",
                    "_dl_start_final")
            picks = sorted(((v, k) for k, v in prof.items()
                            if v >= 0.005 * total and not k.startswith(skip)), reverse=True)
            self.p("", "Where the added start-up instructions go (10-entry map; inclusive "
                   "per function, difference to the run without preload; nested rows are "
                   "included in their callers, wrappers such as pthread_once left out):", "",
                   "| function (object) | instructions |", "| --- | ---: |")
            for v, k in picks[:16]:
                self.p(f"| `{k}` | {fmt(v)} |")
        if all("smaps" in res[k] for k in ("no preload", "onionshim, 10-entry map")):
            a, o = res["no preload"]["smaps"], res["onionshim, 10-entry map"]["smaps"]
            t = res.get("torsocks", {}).get("smaps", {})

            def kib(d, k, i):
                return d.get(k, (0, 0))[i]
            names = sorted(set(a) | set(o) | set(t),
                           key=lambda k: (-(kib(o, k, 0) - kib(a, k, 0)), -kib(t, k, 0), k))
            self.p("", "Where the added resident pages are, at exit (KiB per object, from "
                   "`trivial -s`, one run). *Resident* counts clean file pages too, which "
                   "are shared with every process that maps the same file, and the kernel "
                   "maps them in blocks around each page touched, so code that runs once "
                   "still counts; *private dirty* is what the process really owns:", "",
                   "| object | resident, no preload | resident, onionshim | added | "
                   "private dirty, no preload | private dirty, onionshim | added | "
                   "resident, torsocks | private dirty, torsocks |",
                   "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for k in names + ["**total**"]:
                if k == "**total**":
                    row = [sum(v[i] for v in d.values()) for d in (a, o) for i in (0, 1)]
                    tt = [sum(v[i] for v in t.values()) for i in (0, 1)]
                else:
                    row = [kib(d, k, i) for d in (a, o) for i in (0, 1)]
                    tt = [kib(t, k, 0), kib(t, k, 1)]
                self.p(f"| {k} | {row[0]} | {row[2]} | {row[2] - row[0]:+d} | {row[1]} | "
                       f"{row[3]} | {row[3] - row[1]:+d} | {tt[0]} | {tt[1]} |")
            self.cmds("start-smaps", "Reproduce the resident pages per object")

    # -- part 4
    def mapscale(self):
        res = self.r["map"]
        self.p("", "## 4. Map scale", "",
               "bench/mapbench.c drives the map module of the core archive as the library "
               "does: `mmap` the file and record it (what start-up pays), build the index "
               "on the first lookup, then look names up. Entries are `dI.bench.example "
               "<onion>` with distinct valid onions. *Hit*: a mapped name; *miss*: "
               "`mxI.elsewhere.example`, which is tried with each parent domain, the case of "
               "every clear-net delivery under route = onion. Instructions: one callgrind "
               "run per size with --toggle-collect on each step (`onionshim_map_init`, "
               "`onionshim_map_build`, and mapbench's `hit_lookups`, `miss_lookups`, "
               "`first_checks`), so each step is counted alone; lookups are "
               f"N = {self.b.n('cg_map')} of each kind, a `strlen` of the name included. "
               "Times: means over a million lookups, medians of "
               f"{self.b.n('map_time_reps')} runs (min–max).", "",
               "| entries | file KiB | start-up: instructions | build: "
               "instructions | build: ms | index heap KiB | hit: instructions | hit: ns | "
               "miss: instructions | miss: ns |",
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for size, x in res.items():
            t = x["times"]
            self.p(f"| {size:,} | {fmt(x['bytes'] / 1024)} | {fmt(x['init'])} | "
                   f"{fmt(x['build'])} | "
                   f"{spread([v['build_ns'] / 1e6 for v in t], 2)} | "
                   f"{fmt(med([v['heap_bytes'] for v in t]) / 1024)} | {fmt(x['hit'])} | "
                   f"{spread([v['hit_ns'] for v in t], 1)} | {fmt(x['miss'])} | "
                   f"{spread([v['miss_ns'] for v in t], 1)} |")
        checks = [x["check"] for x in res.values() if "check" in x]
        if checks:
            self.p("", f"First use of an entry (its SHA3-256 checksum check, remembered "
                   f"afterwards): {fmt(med(checks))} instructions, once per destination and "
                   "process. The *start-up* column counts `onionshim_map_init` only: "
                   "after one `mmap` of the file (a system call) nothing is parsed, whatever "
                   "the size.")
        self.cmds("map-ir")
        self.cmds("map-time", "Reproduce the times (one line: build_ns, heap_bytes, hit_ns, "
                  "miss_ns)")
        self.p("", "The index is built once per process, on its first lookup: a Postfix "
               "smtp process pays the build on its first delivery, and again in every new "
               "process (max_use, max_idle).")

    # -- part 5
    def tor(self):
        """Part 5 comes from `make bench-tor` (bench/tor.sh), a separate run in
        the end-to-end world: its section, build/bench/tor.md, is included as
        it is, and its target lines join the summary."""
        path = os.environ.get("BENCH_TOR_MD",
                              os.path.join(ROOT, "build", "bench", "tor.md"))
        if not os.path.exists(path):
            self.p("", "## 5. Real Tor and Postfix", "",
                   "**Not in this run.** `make bench-tor` measures it (a Tor network "
                   "and Postfix instances in a network namespace, about 6 minutes) and "
                   "writes build/bench/tor.md, which `make bench` then includes here.",
                   "")
            return
        with open(path) as f:
            text = f.read().rstrip()
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(path)))
        self.p("", "## 5. Real Tor and Postfix", "",
               f"From `make bench-tor`, run {when} (build/bench/tor.md, included as it "
               "is). Parts 1 to 4 measure the libraries against a sink that answers at "
               "once; here a real Tor network carries the mail, and its round trips, not "
               "the library, set the pace.", "", text, "")
        pat = re.compile(r"^- \*\*Target \(within 2 × the floor\), (.*?): (met|missed)\*\*: (.*)$")
        for line in text.splitlines():
            m = pat.match(line)
            if m:
                self.targets.append((f"real Tor, {m.group(1)}: within 2 × direct delivery",
                                     m.group(3).rstrip("."), m.group(2) == "met"))


LIBC_OF_INTEREST = ("getaddrinfo", "inet_ntop", "__snprintf_chk", "__vsnprintf_internal",
                    "__vfprintf_internal", "dladdr", "_dl_addr", "dlsym", "pthread_once",
                    "pthread_mutex_lock", "strlen")


def save(b, path):
    """Keep what the document is made of, for --render."""
    keep = {k: getattr(b, k) for k in ("results", "commands", "quick", "load", "machine_info",
                                       "elapsed")}
    with open(path, "wb") as f:
        pickle.dump(keep, f)
    log(f"results saved in {os.path.relpath(path, ROOT)}")


class Saved:
    """A finished run, read back: what Doc needs of a Bench."""

    def __init__(self, path, out):
        with open(path, "rb") as f:
            self.__dict__.update(pickle.load(f))
        self.work = tempfile.mkdtemp(prefix="onionshim-bench-render.")
        self.svg = os.path.splitext(os.path.abspath(out))[0] + ".svg"

    def n(self, key):
        return COUNTS[key][1 if self.quick else 0]

    def machine(self):
        return self.machine_info

    def note(self, key, line):
        lst = self.commands.setdefault(key, [])
        if line not in lst:
            lst.append(line)


def setup_only(args):
    if not (args.port or "").isdigit():
        sys.exit("bench: --setup needs --port PORT (start build/bench/sink first)")
    b = Bench(args)
    shutil.rmtree(b.work, ignore_errors=True)
    b.work, b.port = os.path.abspath(args.setup), args.port
    os.makedirs(b.work, exist_ok=True)
    b.unix_path = os.path.join(b.work, "unix.sock")
    b.prepare_files()
    log(f"maps and configs written in {b.work} for the sink on port {b.port}")


def render_saved(args):
    s = Saved(args.render, args.out)
    try:
        doc = Doc(s, list(s.results), s.elapsed).render()
    finally:
        shutil.rmtree(s.work, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write(doc)
    log(f"wrote {os.path.relpath(args.out, ROOT)} from {args.render}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", default="conn,passthru,startup,map")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--render", metavar="PICKLE",
                    help="write the document from the results a run saved, measuring nothing")
    ap.add_argument("--setup", metavar="DIR",
                    help="only write the maps and configs into DIR (with --port), for "
                    "running the document's commands by hand")
    ap.add_argument("--port", help="the running sink's port, for --setup")
    args = ap.parse_args()
    if args.render:
        return render_saved(args)
    if args.setup:
        return setup_only(args)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = set(parts) - {"conn", "passthru", "startup", "map"}
    if bad:
        ap.error("unknown part(s): " + ", ".join(sorted(bad)))
    for tool in ("valgrind", "callgrind_annotate", "strace"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is missing: run sh bench/deps.sh as root")
    t0 = time.time()
    b = Bench(args)
    b.load = [f"{os.getloadavg()[0]:.1f}", "?"]
    b.svg = os.path.splitext(os.path.abspath(args.out))[0] + ".svg"
    try:
        b.start_sink()
        b.prepare_files()
        for part in ("conn", "passthru", "startup", "map"):
            if part in parts:
                t1 = time.time()
                getattr(b, "part_" + part)()
                log(f"{part}: {time.time() - t1:.0f} s")
        b.load[1] = f"{os.getloadavg()[0]:.1f}"
        b.machine_info = b.machine()
        b.elapsed = time.time() - t0
        save(b, os.path.join(b.build, "bench", "results.pickle"))
        doc = Doc(b, parts, b.elapsed).render()
    except BenchError as e:
        sys.exit(f"bench: {e}")
    finally:
        b.stop_sink()
        if args.keep:
            log(f"work directory kept: {b.work} (PORT={b.port})")
        else:
            shutil.rmtree(b.work, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write(doc)
    log(f"wrote {os.path.relpath(args.out, ROOT)} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
