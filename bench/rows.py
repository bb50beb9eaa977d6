#!/usr/bin/env python3
"""Server CPU per action as the list grows: 100 rows against 10,000, file store, durable.

    .venv/bin/python bench/rows.py --patchsync .build/release/patchsync [--baseline OTHER_BINARY] [--runs 3]

For each list size a fresh server on a data directory written directly
(tests/support/large_documents.py); 10 watchers, one writer paced at --rate actions/s sending
--actions Updates of random rows (enough for several log compactions: one every 1,000 events).
Server CPU per action (utime + stime of every thread, /proc/PID/task/*/stat) over the run, and
the share of each thread (by order of creation), so that the compaction thread shows apart from
the service and storage threads. Runs of the sizes (and builds) interleaved; the median of --runs reported.
"""
import argparse
import asyncio
import collections
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

import servers

sys.path.insert(0, str(servers.ROOT / "tests"))
from support.large_documents import write_document  # noqa: E402

WATCHERS = 10


def thread_cpu(pid):
    """{thread: CPU seconds} of the process's threads, from /proc; a thread is named by its order
    of creation (the threads are unnamed, and start in the same order in every run)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = collections.Counter()
    for rank, tid in enumerate(sorted(os.listdir(f"/proc/{pid}/task"), key=int)):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = f"#{rank}"
        fields = text.rsplit(")", 1)[1].split()
        totals[name] += (int(fields[11]) + int(fields[12])) / tick
    return totals


async def load(url, rows, actions, rate):
    watchers = [await websockets.connect(url, max_size=None, ping_interval=None) for _ in range(WATCHERS)]
    writer = await websockets.connect(url, max_size=None, ping_interval=None)
    base = [json.loads(await ws.recv())["version"] for ws in watchers + [writer]][0]

    async def watch(ws):
        while json.loads(await ws.recv()).get("version", 0) < base + actions:
            pass

    async def acks():
        answered = 0
        while answered < actions:
            text = await writer.recv()
            answered += text.startswith('{"type":"Ack"') or text.startswith('{"type":"Error"')

    watching = [asyncio.create_task(watch(ws)) for ws in watchers]
    acking = asyncio.create_task(acks())
    start = time.monotonic()
    for number in range(actions):
        await asyncio.sleep(max(0, start + number / rate - time.monotonic()))
        row = {"name": f"update {number} #{random.getrandbits(32):08x}", "completed": number % 2 == 0}
        await writer.send(json.dumps({"type": "Update", "index": random.randint(1, rows), "row": row, "id": number}))
    await asyncio.gather(acking, *watching)
    for ws in watchers + [writer]:
        await ws.close()


def run(binary, rows, actions, rate):
    with tempfile.TemporaryDirectory(prefix="patchsync-rows-") as scratch:
        data = Path(scratch) / "data"
        write_document(data, rows, name="bench")
        with servers.patchsync(binary, data=data) as server:
            before = thread_cpu(server.process.pid)
            asyncio.run(load(f"{server.url}/bench", rows, actions, rate))
            after = thread_cpu(server.process.pid)
    return {name: after[name] - before.get(name, 0) for name in after}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True)
    parser.add_argument("--baseline", help="another patchsync executable measured the same way, interleaved")
    parser.add_argument("--actions", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500, help="actions per second, paced")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    builds = [("patchsync", args.patchsync)] + ([("baseline", args.baseline)] if args.baseline else [])
    samples = collections.defaultdict(list)
    loads = []
    for _ in range(args.runs):
        for label, binary in builds:
            for rows in (100, 10_000):
                loads.append(os.getloadavg()[0])
                samples[label, rows].append(run(binary, rows, args.actions, args.rate))
    print(f"server CPU per action, {WATCHERS} watchers, {args.rate:.0f} actions/s, {args.actions} actions, "
          f"median of {args.runs}; load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'build':<10} {'rows':>7} {'µs/action':>9}  by thread (µs/action)")
    for label, _ in builds:
        per_size = {}
        for rows in (100, 10_000):
            runs = samples[label, rows]
            total = statistics.median(sum(run.values()) for run in runs) / args.actions * 1e6
            per_size[rows] = total
            names = sorted({name for run in runs for name in run})
            threads = {name: statistics.median(run.get(name, 0) for run in runs) / args.actions * 1e6 for name in names}
            shown = "  ".join(f"{name} {value:.1f}" for name, value in sorted(threads.items(), key=lambda kv: -kv[1])
                              if value >= 0.5)
            print(f"{label:<10} {rows:>7} {total:>9.1f}  {shown}", flush=True)
        print(f"{label:<10} 10,000 / 100 rows: {per_size[10_000] / per_size[100]:.2f}x", flush=True)


if __name__ == "__main__":
    main()
