#!/usr/bin/env python3
"""The PostgreSQL store beside the file store, on this box.

    .venv/bin/python bench/database.py --patchsync .build/release/patchsync
    .venv/bin/python bench/database.py --patchsync .build/release/patchsync --only delivery --delivery-runs 5

Starts a private PostgreSQL cluster (fsync on, as in production) and patchsync instances, and
prints, on a 100-row and a 10,000-row list:

- throughput: one writer per instance (16 actions in flight each, `Update` of random rows),
  50 watchers spread over the instances; actions/s until every watcher has every change, and
  the writers' Ack latency p50/p99. Files (1 instance) beside PostgreSQL (1 and 3 instances).
- cross-instance delivery: a writer on instance A paced at 200 actions/s, a watcher on instance
  B; from sending the action on A to the Patch at B, p50/p99 (the commit included).

Beside each: CPU seconds per second of the patchsync processes, of PostgreSQL (postmaster and
backends) and of this load generator (one Python process: it is often the limit).
"""
import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.postgres import PostgresCluster  # noqa: E402
from servers import cpu_seconds  # noqa: E402
import servers  # noqa: E402

WATCHERS = 50
WINDOW = 16


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def list_state(rows):
    return {"name": "bench", "todos": {str(i): {"name": f"row {i}", "completed": False} for i in range(1, rows + 1)}}


def start_instance(binary, data, extra):
    """An instance (servers.start_instance) and the URL of the benchmark's document on it."""
    process, address = servers.start_instance(binary, data, extra)
    return process, f"ws://{address}/ws/bench"


def seed_files(data, rows):
    """The list as the file store keeps it: a snapshot at version 1."""
    directory = Path(data) / "bench"
    directory.mkdir(parents=True)
    (directory / "snapshot.json").write_text(json.dumps({"version": 1, "state": list_state(rows)}))


def seed_database(cluster, schema, binary, rows):
    """The list as version 1 of document `bench`: an instance creates the schema, then SQL writes it."""
    with tempfile.TemporaryDirectory() as data:
        process, _ = start_instance(binary, data, ["--database", cluster.url, "--database-schema", schema])
        process.terminate()
        process.wait()
    state = json.dumps(list_state(rows)).replace("'", "''")
    cluster.sql(f"INSERT INTO {schema}.documents (name, version, state, state_version) VALUES ('bench', 1, '{state}', 1)")
    cluster.sql(f"""INSERT INTO {schema}.events (document, version, time, action, ops) VALUES ('bench', 1, now(),
        '{{"type":"Seed"}}', jsonb_build_array(jsonb_build_object('op', 'replace', 'path', '', 'value', '{state}'::jsonb)))""")


def update(rows, number, writer=0):
    """An Update that always changes the list (so every action is one Patch): names are unique."""
    return {"type": "Update", "index": random.randint(1, rows),
            "row": {"name": f"update {writer}-{number}", "completed": number % 2 == 0}}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def throughput(urls, rows, actions):
    """Writers on every URL, watchers spread over them; (actions/s, Ack latencies)."""
    watchers = [await websockets.connect(urls[i % len(urls)], max_size=None, ping_interval=None) for i in range(WATCHERS)]
    writers = [await websockets.connect(url, max_size=None, ping_interval=None) for url in urls]
    base = [json.loads(await ws.recv())["version"] for ws in watchers + writers][0]  # the Fulls
    latencies = []
    per_writer = actions // len(writers)

    async def write(writer, ws):
        sent = {}
        in_flight = asyncio.Semaphore(WINDOW)
        done = asyncio.Event()
        acked = 0

        async def receive():
            nonlocal acked
            while acked < per_writer:
                text = await ws.recv()
                if text.startswith('{"type":"Ack"') or text.startswith('{"type":"Error"'):
                    message = json.loads(text)
                    latencies.append(time.monotonic() - sent.pop(message["id"]))
                    acked += 1
                    in_flight.release()
            done.set()

        receiver = asyncio.create_task(receive())
        for number in range(per_writer):
            await in_flight.acquire()
            sent[number] = time.monotonic()
            await ws.send(json.dumps({**update(rows, number, writer), "id": number}))
        await done.wait()
        await receiver

    async def watch(ws, last):
        # A watcher that falls behind may get several versions in one coalesced Patch.
        while json.loads(await ws.recv()).get("version", 0) < last:
            pass

    start = time.monotonic()
    expected = per_writer * len(writers)
    await asyncio.gather(*(write(i, ws) for i, ws in enumerate(writers)),
                         *(watch(ws, base + expected) for ws in watchers))
    seconds = time.monotonic() - start
    for ws in watchers + writers:
        await ws.close()
    return expected / seconds, latencies, seconds


async def cross_instance(url_a, url_b, rows, actions, rate):
    """Writer on A at `rate` actions/s, watcher on B; latencies from send on A to Patch on B."""
    writer = await websockets.connect(url_a, max_size=None, ping_interval=None)
    watcher = await websockets.connect(url_b, max_size=None, ping_interval=None)
    json.loads(await writer.recv())
    base = json.loads(await watcher.recv())["version"]
    sent = {}
    latencies = []

    async def watch():
        version = base
        while version < base + actions:
            message = json.loads(await watcher.recv())
            # A coalesced Patch delivers every version from `from` + 1 on.
            for covered in range(message["from"] + 1, message["version"] + 1):
                latencies.append(time.monotonic() - sent[covered - base])
            version = message["version"]

    async def drain_writer():
        while True:
            await writer.recv()

    watching = asyncio.create_task(watch())
    draining = asyncio.create_task(drain_writer())
    start = time.monotonic()
    for number in range(1, actions + 1):
        await asyncio.sleep(max(0, start + number / rate - time.monotonic()))
        sent[number] = time.monotonic()
        await writer.send(json.dumps(update(rows, number)))
    await watching
    draining.cancel()
    await writer.close()
    await watcher.close()
    return latencies


def measure(processes, cluster, body):
    """Runs `body()`; returns its result and CPU seconds (patchsync, PostgreSQL, generator)."""
    before = ([cpu_seconds(p.pid) for p in processes], cluster.cpu_seconds() if cluster else 0, own_cpu_seconds())
    result = asyncio.run(body())
    after = ([cpu_seconds(p.pid) for p in processes], cluster.cpu_seconds() if cluster else 0, own_cpu_seconds())
    return result, (sum(after[0]) - sum(before[0]), after[1] - before[1], after[2] - before[2])


def stop(processes):
    for process in processes:
        process.terminate()
        process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True)
    parser.add_argument("--actions", type=int, default=3000, help="actions per throughput run")
    parser.add_argument("--delivery-actions", type=int, default=1000, help="actions per delivery run (200/s)")
    parser.add_argument("--delivery-runs", type=int, default=1, help="delivery runs per list (each on a fresh schema)")
    parser.add_argument("--only", choices=("throughput", "delivery"), help="run one part of the benchmark")
    args = parser.parse_args()
    cluster = PostgresCluster(durable=True)
    try:
        if args.only != "delivery":
            throughput_table(cluster, args)
            print()
        if args.only != "throughput":
            delivery_table(cluster, args)
    finally:
        cluster.close()


def throughput_table(cluster, args):
    print("PostgreSQL store beside the file store; CPU columns: seconds of CPU per second of the run; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'list':>7} {'store':<16} {'actions/s':>9} {'Ack p50':>8} {'Ack p99':>8} "
          f"{'patchsync':>9} {'postgres':>8} {'generator':>9}")
    for rows in (100, 10_000):
        for label, instances in (("files", 1), ("postgresql x1", 1), ("postgresql x3", 3)):
            with tempfile.TemporaryDirectory(prefix="patchsync-bench-") as data:
                if label == "files":
                    seed_files(data, rows)
                    extra, database = [], None
                else:
                    schema = cluster.new_schema()
                    seed_database(cluster, schema, args.patchsync, rows)
                    extra, database = ["--database", cluster.url, "--database-schema", schema], cluster
                started = [start_instance(args.patchsync, data, extra) for _ in range(instances)]
                processes = [process for process, _ in started]
                try:
                    (rate, latencies, seconds), cpu = measure(
                        processes, database, lambda: throughput([url for _, url in started], rows, args.actions))
                finally:
                    stop(processes)
            print(f"{rows:>7} {label:<16} {rate:>9.0f} {percentile(latencies, 0.5):>6.1f}ms "
                  f"{percentile(latencies, 0.99):>6.1f}ms {cpu[0] / seconds:>9.2f} {cpu[1] / seconds:>8.2f} "
                  f"{cpu[2] / seconds:>9.2f}", flush=True)


def delivery_table(cluster, args):
    """Each run on a fresh schema; `load` is the 1-minute load average before it."""
    print("cross-instance delivery, PostgreSQL, 2 instances: send on A -> Patch at a watcher on B, 200 actions/s")
    print(f"{'list':>7} {'p50':>8} {'p99':>8} {'patchsync':>9} {'postgres':>8} {'generator':>9} {'load':>5}")
    for rows in (100, 10_000):
        for _ in range(args.delivery_runs):
            schema = cluster.new_schema()
            seed_database(cluster, schema, args.patchsync, rows)
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory(prefix="patchsync-bench-") as data:
                extra = ["--database", cluster.url, "--database-schema", schema]
                started = [start_instance(args.patchsync, data, extra) for _ in range(2)]
                processes = [process for process, _ in started]
                try:
                    latencies, cpu = measure(processes, cluster, lambda: cross_instance(
                        started[0][1], started[1][1], rows, args.delivery_actions, 200))
                finally:
                    stop(processes)
            seconds = args.delivery_actions / 200
            print(f"{rows:>7} {percentile(latencies, 0.5):>6.1f}ms {percentile(latencies, 0.99):>6.1f}ms "
                  f"{cpu[0] / seconds:>9.2f} {cpu[1] / seconds:>8.2f} {cpu[2] / seconds:>9.2f} {load:>5.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
