#!/usr/bin/env python3
"""Fan-out benchmark: the same load against patchsync and its anchors, side by side.

    .venv/bin/python bench/fanout.py --patchsync .build/release/patchsync [--runs 3]

Starts each server through bench/servers.py, runs `PatchsyncBench fanout` against it (one
writer sending Todo actions as fast as the server takes them, N watchers counting changes) and
prints actions per second until every watcher has every change, the median of --runs runs.
The anchors: the Python port of the original design, and libwebsockets-test-server's
lws-mirror-protocol (every message echoed to every client, no JSON work): the ceiling of the
load generator itself. Both the generator's and the server's CPU time are reported, so a
reader can see which side was the limit.
"""
import argparse
import os
import re
import resource
import subprocess
import sys

import servers


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(bench, server, args):
    """One run; returns (actions/s, seconds, generator CPU share, server CPU share) or raises."""
    command = [bench, "fanout", "--url", server.url, "--watchers", str(args.watchers),
               "--actions", str(args.actions), "--window", str(args.window)]
    if server.subprotocol == "lws-mirror-protocol":
        command.append("--mirror")
    server_before, generator_before = cpu_seconds(server.process.pid), children_cpu_seconds()
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    generator_cpu = children_cpu_seconds() - generator_before
    server_cpu = cpu_seconds(server.process.pid) - server_before
    match = re.search(r"seconds=([\d.]+) actions_per_second=([\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError((result.stderr.strip().splitlines() or ["no output"])[-1])
    seconds, rate = float(match.group(1)), float(match.group(2))
    # Both CPU figures include connecting (outside `seconds`), so they slightly overstate the share.
    return rate, seconds, generator_cpu / seconds, server_cpu / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True, help="the patchsync executable (a release build)")
    parser.add_argument("--bench", help="the PatchsyncBench executable (default: beside --patchsync)")
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--actions", type=int, default=3000)
    parser.add_argument("--window", type=int, default=64, help="actions in flight")
    parser.add_argument("--runs", type=int, default=3, help="runs per server; the median is reported")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    args = parser.parse_args()
    args.bench = args.bench or os.path.join(os.path.dirname(os.path.abspath(args.patchsync)), "PatchsyncBench")
    for executable in (args.patchsync, args.bench):
        if not os.access(executable, os.X_OK):
            sys.exit(f"fanout.py: {executable} is not an executable; build it with swift build -c release")

    print(f"fan-out: 1 writer, {args.watchers} watchers, {args.actions} actions, window {args.window}, "
          f"median of {args.runs} runs")
    rows = []
    starters = [("patchsync", lambda: servers.patchsync(args.patchsync))]
    starters += [(start.__name__.replace("_", " "), start) for start in servers.anchors()]
    for label, start in starters:
        try:
            with start() as server:
                runs = []
                for _ in range(args.runs):
                    runs.append(run_load(args.bench, server, args))
                    print(f"  {server.name}: {runs[-1][0]:.1f} actions/s", file=sys.stderr)
                rows.append((server.name, sorted(runs)[len(runs) // 2], [run[0] for run in runs], None))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            rows.append((label, None, None, str(error)))

    # CPU shares are CPU seconds over wall seconds: one busy thread is 100%. A generator well
    # under 100% while the server is near its limit means the server, not the load, is measured.
    print(f"{'server':<18}{'actions/s':>11}{'seconds':>9}{'generator CPU':>15}{'server CPU':>12}  runs")
    for name, median, rates, error in rows:
        if error:
            print(f"{name:<18}{'failed':>11}  {error}")
            continue
        rate, seconds, generator, server = median
        print(f"{name:<18}{rate:>11.1f}{seconds:>9.3f}{generator:>14.0%}{server:>12.0%}  "
              + " ".join(f"{r:.0f}" for r in rates))
    rates = {name: median[0] for name, median, _, error in rows if not error}
    if "patchsync" in rates and "python seed" in rates:
        print(f"ratio patchsync/python: {rates['patchsync'] / rates['python seed']:.1f}x")
    return 1 if any(name == "patchsync" and error for name, _, _, error in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
