#!/usr/bin/env python3
"""Join storm: many sessions join a large document at once, while actions go on.

    .venv/bin/python bench/joins.py --patchsync .build/release/patchsync [--joins 300] [--rows 10000]

The data directory is written directly (tests/support/large_documents.py): the document `storm` and
the document `other`, each a list of --rows rows. For each compression setting (none, and
permessage-deflate negotiated by every session) a fresh server runs two storms of --joins
sessions connecting at once, each reading its Full:

1. alone: the server CPU per join (utime + stime from /proc/PID/stat, the storm's whole
   duration divided by the joins) with nothing else going on;
2. with probes: one editor session on `storm` and one on `other`, each in a process of its own,
   send an Update every --probe-interval seconds and time its Ack; their latencies before the
   storms (quiet) and during them are reported as p50/p99. A storm lasts about a third of a
   second, so --storms storms (default 5) run one after the other and their Acks are pooled.
   The probes change `storm` during the storms, so that storm's CPU per join includes their
   actions and Fulls of new versions. Two columns subtract the probes' own actions, at what an
   action costs the server (CPU over a --quiet-seconds window divided by the probe actions sent
   in it):

   - "less probes@2" (the old figure): at the cost per action measured before the storms, with
     the two probe sessions connected. It leaves in the delivery of the probes' Patches to the
     sessions that joined, which the quiet storm has none of.
   - "less probes" (the figure issue 25 defines: an action's CPU includes delivering it to the
     sessions on the document): the last storm keeps its sessions open for another window, which
     gives the cost per action with all of them connected; each storm's actions are subtracted
     at the cost interpolated between the two by the mean number of its sessions that had their
     Full over the storm (from the times the Fulls arrived). A session still reading its Full
     gets the Patches queued meanwhile as one after it: that write counts as its join's.

The storm's generator (this process) and the probes run on the same box as the server: the
generator's CPU share is reported too. --baseline runs the same against another build (e.g. an
older release) in the same run, for a side-by-side comparison.
"""
import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import websockets

import servers

sys.path.insert(0, str(servers.ROOT / "tests"))
from support.large_documents import write_document  # noqa: E402

FULL_PREFIX = b'{"type":"Full"'


def cpu_times(pid):
    """(utime, stime) of a process in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# MARK: probes (each in a process of its own, so that the storm's generator does not delay them)

def run_probe(url, compression, interval, started, stop, results):
    """Sends an Update, waits for its Ack, sleeps `interval`; until `stop`. Puts (pid, [(sent, seconds)])."""
    async def probe():
        samples = []
        async with websockets.connect(url, max_size=None, compression=compression, ping_interval=None) as ws:
            while not (await ws.recv(decode=False)).startswith(FULL_PREFIX):
                pass
            started.set()
            action = 0
            while not stop.is_set():
                action += 1
                sent = time.monotonic()
                await ws.send(f'{{"type":"Update","index":1,"row":{{"name":"probe {action}",'
                              f'"completed":false}},"id":{action}}}')
                ack = f'"type":"Ack","id":{action},'.encode()
                while ack not in await ws.recv(decode=False):
                    pass
                samples.append((sent, time.monotonic() - sent))
                await asyncio.sleep(interval)
        return samples

    samples = asyncio.run(probe())
    results.put((os.getpid(), samples))


# MARK: the storm

async def join(url, compression):
    """Connects, reads the Full; returns (connection, seconds until the Full, its length, when it came)."""
    began = time.monotonic()
    ws = await websockets.connect(url, max_size=None, compression=compression, ping_interval=None,
                                  open_timeout=120, close_timeout=5)
    message = await ws.recv(decode=False)
    arrived = time.monotonic()
    if not message.startswith(FULL_PREFIX):
        raise RuntimeError(f"the first message was not a Full: {message[:80]!r}")
    return ws, arrived - began, len(message), arrived


def storm(server, joins, compression, hold_seconds=0.0):
    """Runs one storm; returns a dict of what it measured. With `hold_seconds`, its sessions stay
    open that long after it (and a settling pause), and "held" is (began, ended, server CPU)."""
    async def run():
        url = server.url + "/storm"
        began, (user0, system0), generator0 = time.monotonic(), cpu_times(server.process.pid), own_cpu_seconds()
        joined = await asyncio.gather(*(join(url, compression) for _ in range(joins)))
        ended, (user1, system1), generator1 = time.monotonic(), cpu_times(server.process.pid), own_cpu_seconds()
        held = None
        if hold_seconds:
            await asyncio.sleep(0.2)
            held_began, (user2, system2) = time.monotonic(), cpu_times(server.process.pid)
            await asyncio.sleep(hold_seconds)
            held_ended, (user3, system3) = time.monotonic(), cpu_times(server.process.pid)
            held = (held_began, held_ended, user3 + system3 - user2 - system2)
        await asyncio.gather(*(ws.close() for ws, _, _, _ in joined))
        waits = [seconds for _, seconds, _, _ in joined]
        return {
            "began": began, "ended": ended, "seconds": ended - began,
            "user": (user1 - user0) / joins, "system": (system1 - system0) / joins,
            "join_p50": percentile(waits, 0.5), "join_p99": percentile(waits, 0.99),
            "full_bytes": joined[0][2], "generator": (generator1 - generator0) / (ended - began),
            # Sessions with their Full, averaged over the storm: they are the ones a Patch goes to.
            "joined_mean": sum(ended - arrived for _, _, _, arrived in joined) / (ended - began),
            "held": held,
        }

    return asyncio.run(run())


def pooled(runs):
    """Several storms as one: seconds, CPU per join and generator share averaged."""
    seconds = sum(run["seconds"] for run in runs)
    return {
        "seconds": seconds / len(runs), "full_bytes": runs[0]["full_bytes"],
        "user": sum(run["user"] for run in runs) / len(runs),
        "system": sum(run["system"] for run in runs) / len(runs),
        "join_p50": sorted(run["join_p50"] for run in runs)[len(runs) // 2],
        "join_p99": max(run["join_p99"] for run in runs),
        "generator": sum(run["generator"] * run["seconds"] for run in runs) / seconds,
        "windows": [(run["began"], run["ended"]) for run in runs],
    }


def measure(binary, rows, joins, compression, interval, quiet_seconds, storms):
    with tempfile.TemporaryDirectory(prefix="patchsync-joins-") as scratch:
        data = Path(scratch) / "data"
        for name in ("storm", "other"):
            write_document(data, rows, name=name)
        args = () if compression else ("--no-compression",)
        with servers.patchsync(binary, data=data, args=args) as server:
            alone = storm(server, joins, compression)

            context = multiprocessing.get_context("spawn")
            stop, results = context.Event(), context.Queue()
            probes = {}
            for name in ("storm", "other"):
                started = context.Event()
                process = context.Process(target=run_probe, args=(
                    f"{server.url}/{name}", compression, interval, started, stop, results))
                process.start()
                if not started.wait(60):
                    raise RuntimeError(f"the probe on {name} did not get its Full")
                probes[process.pid] = name
            (user0, system0), quiet_began = cpu_times(server.process.pid), time.monotonic()
            time.sleep(quiet_seconds)
            (user1, system1), quiet_ended = cpu_times(server.process.pid), time.monotonic()
            quiet_cpu = user1 + system1 - user0 - system0
            runs = []
            for number in range(storms):
                last = number == storms - 1
                runs.append(storm(server, joins, compression, hold_seconds=quiet_seconds if last else 0.0))
                time.sleep(0.2)
            during = pooled(runs)
            stop.set()
            latencies = {}
            for _ in probes:
                pid, samples = results.get(timeout=60)
                latencies[probes[pid]] = {
                    "sent": [sent for sent, _ in samples],
                    "quiet": [s for sent, s in samples if sent < runs[0]["began"]],
                    "storm": [s for sent, s in samples
                              if any(began <= sent <= ended for began, ended in during["windows"])],
                }
    sent = [when for name in latencies for when in latencies[name]["sent"]]

    def actions(began, ended):
        return sum(began <= when <= ended for when in sent)

    # Server CPU per probe action with the 2 probe sessions, and with the last storm's sessions too.
    per_action_alone = quiet_cpu / max(1, actions(quiet_began, quiet_ended))
    held_began, held_ended, held_cpu = runs[-1]["held"]
    per_action_joined = held_cpu / max(1, actions(held_began, held_ended))

    def less_probes(run, per_action):
        return run["user"] + run["system"] - per_action * actions(run["began"], run["ended"]) / joins

    during["less_probes_two"] = sum(less_probes(run, per_action_alone) for run in runs) / len(runs)
    during["less_probes"] = sum(
        less_probes(run, per_action_alone + (per_action_joined - per_action_alone) * run["joined_mean"] / joins)
        for run in runs) / len(runs)
    during["probe_action"] = (per_action_alone, per_action_joined)
    during["joined_mean"] = sum(run["joined_mean"] for run in runs) / len(runs)
    during["probe_actions"] = sum(actions(run["began"], run["ended"]) for run in runs) / len(runs)
    alone["less_probes_two"] = alone["less_probes"] = alone["user"] + alone["system"]
    return alone, during, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True, help="the patchsync executable (a release build)")
    parser.add_argument("--baseline", help="another patchsync executable to measure the same way")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--probe-interval", type=float, default=0.01, help="seconds between a probe's actions")
    parser.add_argument("--quiet-seconds", type=float, default=2.0,
                        help="each window of probing alone: before the storms, after the last (its sessions open)")
    parser.add_argument("--storms", type=int, default=5, help="storms while probing, their Acks pooled")
    args = parser.parse_args()
    binaries = {"patchsync": args.patchsync}
    if args.baseline:
        binaries["baseline"] = args.baseline
    for binary in binaries.values():
        if not os.access(binary, os.X_OK):
            sys.exit(f"joins.py: {binary} is not an executable; build it with swift build -c release")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * args.joins + 256)), hard))

    load = os.getloadavg()
    runs = {}
    for compression in (None, "deflate"):
        for label, binary in binaries.items():
            runs[label, compression] = measure(binary, args.rows, args.joins, compression,
                                               args.probe_interval, args.quiet_seconds, args.storms)

    alone = runs["patchsync", None][0]
    print(f"\nload average before the runs: {' '.join(f'{x:.1f}' for x in load)} ({os.cpu_count()} CPUs)")
    print(f"\njoin storm: {args.joins} sessions join a {args.rows:,}-row list at once "
          f"(Full {alone['full_bytes'] / 1024:.0f} KiB); server CPU per join in ms (utime + stime)")
    print(f"{'server':<11}{'compression':<13}{'storm':<13}{'CPU/join':>9}{'user':>7}{'sys':>7}{'less probes@2':>14}"
          f"{'less probes':>12}{'seconds':>9}{'join p50':>10}{'join p99':>10}{'generator CPU':>15}")
    for (server, compression), (alone, during, _) in runs.items():
        for label, run in (("alone", alone), (f"{args.storms} probed", during)):
            print(f"{server:<11}{compression or 'none':<13}{label:<13}{1000 * (run['user'] + run['system']):>9.2f}"
                  f"{1000 * run['user']:>7.2f}{1000 * run['system']:>7.2f}{1000 * run['less_probes_two']:>14.2f}"
                  f"{1000 * run['less_probes']:>12.2f}{run['seconds']:>9.2f}"
                  f"{1000 * run['join_p50']:>8.0f}ms{1000 * run['join_p99']:>8.0f}ms{run['generator']:>15.0%}")

    print(f"\nserver CPU per probe action (µs), with the 2 probe sessions / with the last storm's {args.joins} "
          "sessions too;\nper probed storm: probe actions, mean sessions with their Full (the interpolation's weight)")
    print(f"{'server':<11}{'compression':<13}{'2 sessions':>11}{f'{args.joins + 2} sessions':>14}"
          f"{'actions/storm':>15}{'mean joined':>13}")
    for (server, compression), (_, during, _) in runs.items():
        two, joined = during["probe_action"]
        print(f"{server:<11}{compression or 'none':<13}{1e6 * two:>11.0f}{1e6 * joined:>14.0f}"
              f"{during['probe_actions']:>15.1f}{during['joined_mean']:>13.0f}")

    print(f"\nAck latency of one editor per document, one Update every {args.probe_interval * 1000:.0f} ms "
          "(ms; samples in brackets)")
    print(f"{'server':<11}{'compression':<13}{'document':<10}{'quiet p50':>10}{'quiet p99':>10}{'storm p50':>10}"
          f"{'storm p99':>10}{'storm max':>10}")
    for (server, compression), (_, _, latencies) in runs.items():
        for name in ("storm", "other"):
            quiet, during = latencies[name]["quiet"], latencies[name]["storm"]
            print(f"{server:<11}{compression or 'none':<13}{name:<10}"
                  f"{1000 * percentile(quiet, 0.5):>10.2f}{1000 * percentile(quiet, 0.99):>10.2f}"
                  f"{1000 * percentile(during, 0.5):>10.2f}{1000 * percentile(during, 0.99):>10.2f}"
                  f"{1000 * max(during, default=float('nan')):>10.2f}  [{len(quiet)}, {len(during)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
