#!/usr/bin/env python3
"""Fan-out benchmark: the same load against patchsync and its anchors, side by side in one run.

    .venv/bin/python bench/fanout.py --patchsync .build/release/patchsync [--runs 3] [--baseline OTHER] [--only latency]

Starts every server through bench/servers.py (patchsync with and without --no-coalesce, and
with watchers that offer permessage-deflate as browsers do; the Python port of the original
design; libwebsockets-test-server's lws-mirror-protocol, which echoes every message to every
client with no JSON work) and drives each with `PatchsyncBench fanout`, the runs of the servers
interleaved, medians reported:

- saturated: one writer keeps 64 actions in flight, N watchers count the changes reaching them;
  reported are actions per second, server CPU time per change delivered to a watcher (a
  coalesced Patch carrying five changes counts five; from /proc/PID/stat), and the CPU shares of
  the server and of the load generator, so a reader can see which side was the limit;
- paced: 1,000 actions per second to 100 watchers, latency from send to each watcher's receipt.
  Two more patchsync rows say where its latency goes beside the mirror, which neither syncs a
  file nor hands a message between threads: its log in memory (/dev/shm, so fsync costs
  nothing), and that again with all its threads on one core (no thread waits for the other core
  to wake).
"""
import argparse
import contextlib
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import servers


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(bench, server, watchers, actions, timeout, rate=None):
    """One run of the generator; returns a dict of figures or raises."""
    command = [bench, "fanout", "--url", server.url, "--watchers", str(watchers), "--actions", str(actions),
               "--window", "64", "--timeout", str(int(timeout))]
    if rate:
        command += ["--rate", str(rate)]
    if server.subprotocol == "lws-mirror-protocol":
        command.append("--mirror")
    if getattr(server, "deflating_watchers", False):
        command.append("--deflate")
    server_before, generator_before = servers.cpu_seconds(server.process.pid), children_cpu_seconds()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 30)
    generator_cpu = children_cpu_seconds() - generator_before
    server_cpu = servers.cpu_seconds(server.process.pid) - server_before
    match = re.search(r"seconds=([\d.]+) actions_per_second=([\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError((result.stderr.strip().splitlines() or ["no output"])[-1])
    seconds = float(match.group(1))
    figures = {
        "rate": float(match.group(2)),
        # Both CPU figures include connecting (outside `seconds`), so they slightly overstate the share.
        "generator": generator_cpu / seconds,
        "server": server_cpu / seconds,
        "us_per_change": server_cpu / (actions * watchers) * 1e6,
    }
    latency = re.search(r"latency_p50_ms=([\d.]+) latency_p99_ms=([\d.]+)", result.stdout)
    if latency:
        figures["p50"], figures["p99"] = float(latency.group(1)), float(latency.group(2))
    return figures


def settle(server, quiet=0.2, limit=5.0):
    """Waits (at most `limit` seconds) until `server` used no CPU for `quiet` seconds, so that the
    next run does not share the cores with this one's leftovers (a lagging anchor kept writing its
    backlog for seconds, and the next server's figures paid for it)."""
    deadline = time.monotonic() + limit
    before = servers.cpu_seconds(server.process.pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = servers.cpu_seconds(server.process.pid)
        if now == before:
            return
        before = now


@contextlib.contextmanager
def deflating_watchers(binary):
    """patchsync driven by connections that offer permessage-deflate, as every browser does."""
    with servers.patchsync(binary) as server:
        server.deflating_watchers = True
        yield server


def starters(patchsync, baseline=None):
    found = [("patchsync", lambda: servers.patchsync(patchsync)),
             ("patchsync, deflate", lambda: deflating_watchers(patchsync)),
             ("patchsync --no-coalesce", lambda: servers.patchsync(patchsync, args=["--no-coalesce"]))]
    if baseline:
        found += [("baseline", lambda: servers.patchsync(baseline)),
                  ("baseline --no-coalesce", lambda: servers.patchsync(baseline, args=["--no-coalesce"]))]
    return found + [(start.__name__.replace("_", " "), start) for start in servers.anchors()]


@contextlib.contextmanager
def log_in_memory(binary):
    """patchsync with its data directory in /dev/shm: its fsync returns at once."""
    with tempfile.TemporaryDirectory(prefix="patchsync-bench-", dir="/dev/shm") as data:
        with servers.patchsync(binary, data=data) as server:
            yield server


@contextlib.contextmanager
def on_one_core(start):
    """The server `start` gives, every thread of it pinned to CPU 0 (threads started later inherit it)."""
    with start() as server:
        for thread in os.listdir(f"/proc/{server.process.pid}/task"):
            os.sched_setaffinity(int(thread), {0})
        yield server


def interleaved(bench, chosen, runs, **load):
    """Starts every server, then runs the load `runs` times against each in turn; medians per server."""
    results = {}
    with contextlib.ExitStack() as stack:
        running = []
        for label, start in chosen:
            try:
                running.append((label, stack.enter_context(start())))
            except (RuntimeError, OSError) as error:
                results[label] = str(error)
        samples = {label: [] for label, _ in running}
        for round_number in range(runs):
            # Each round starts with the next server: the first of a round runs right after the
            # last one's, which may still be flushing a backlog to its closed watchers.
            shift = round_number % len(running) if running else 0
            for label, server in running[shift:] + running[:shift]:
                if label in results:
                    continue
                try:
                    samples[label].append(run_load(bench, server, **load))
                    print(f"  {label}: {samples[label][-1]}", file=sys.stderr)
                    settle(server)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    results[label] = str(error)
        for label, figures in samples.items():
            if label not in results:
                results[label] = {key: statistics.median(run[key] for run in figures) for key in figures[0]}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True, help="the patchsync executable (a release build)")
    parser.add_argument("--bench", help="the PatchsyncBench executable (default: beside --patchsync)")
    parser.add_argument("--runs", type=int, default=3, help="runs per server; the median is reported")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    parser.add_argument("--baseline", help="another patchsync executable (e.g. the previous release), in the same runs")
    parser.add_argument("--only", choices=("saturated", "latency"), help="run one part of the benchmark")
    args = parser.parse_args()
    args.bench = args.bench or os.path.join(os.path.dirname(os.path.abspath(args.patchsync)), "PatchsyncBench")
    for executable in (args.patchsync, args.bench):
        if not os.access(executable, os.X_OK):
            sys.exit(f"fanout.py: {executable} is not an executable; build it with swift build -c release")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))

    failed = False
    # The Python anchor takes about 20 ms per action at 500 watchers: fewer actions keep that row short.
    for watchers, actions in ((50, 3000), (500, 600)) if args.only != "latency" else ():
        results = interleaved(args.bench, starters(args.patchsync, args.baseline), args.runs,
                              watchers=watchers, actions=actions, timeout=args.timeout)
        print(f"\nsaturated fan-out: 1 writer (64 actions in flight), {watchers} watchers, {actions} actions, "
              f"median of {args.runs} interleaved runs")
        print(f"{'server':<26}{'actions/s':>10}{'changes/s':>11}{'µs/change':>11}{'server CPU':>12}{'generator CPU':>15}")
        for label, figures in results.items():
            if isinstance(figures, str):
                print(f"{label:<26}{'failed':>10}  {figures}")
                failed = failed or label.startswith("patchsync")
                continue
            print(f"{label:<26}{figures['rate']:>10.0f}{figures['rate'] * watchers:>11.0f}"
                  f"{figures['us_per_change']:>11.2f}{figures['server']:>12.0%}{figures['generator']:>15.0%}")

    if args.only == "saturated":
        return 1 if failed else 0
    load = os.getloadavg()[0]
    chosen = [s for s in starters(args.patchsync, args.baseline) if "--no-coalesce" not in s[0]]
    if os.path.isdir("/dev/shm") and os.cpu_count() > 1:
        chosen[1:1] = [("patchsync, log in memory", lambda: log_in_memory(args.patchsync)),
                       ("patchsync, same, one core", lambda: on_one_core(lambda: log_in_memory(args.patchsync)))]
    results = interleaved(args.bench, chosen, args.runs, watchers=100, actions=5000, rate=1000, timeout=args.timeout)
    print(f"\nlatency: 1,000 actions/s to 100 watchers, 5,000 actions, send to receipt, median of {args.runs} runs; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'server':<26}{'p50 ms':>9}{'p99 ms':>9}{'server CPU':>12}{'generator CPU':>15}")
    for label, figures in results.items():
        if isinstance(figures, str):
            print(f"{label:<26}{'failed':>9}  {figures}")
            failed = failed or label.startswith("patchsync")
            continue
        print(f"{label:<26}{figures['p50']:>9.2f}{figures['p99']:>9.2f}{figures['server']:>12.0%}"
              f"{figures['generator']:>15.0%}")
    print("(CPU shares are CPU seconds over wall seconds: 100% = one core of 2.)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
