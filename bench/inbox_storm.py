#!/usr/bin/env python3
"""The SQL inbox storm of issue 19, item 4, on this box.

    .venv/bin/python bench/inbox_storm.py --patchsync .build/release/patchsync [--rows 10000] [--seeded 5000]

A private PostgreSQL cluster, a document of `--seeded` rows imported into it, three instances
with the document open, then one INSERT of `--rows` inbox rows. One instance holds the
document's inbox (the applier); the others only hear its commits (watchers). Prints:

- the time a new session waits for its Full on each of the two instances that keep running,
  before the storm (idle) and sampled every `--every` seconds while rows are pending (p50, max);
- the rate at which the rows are applied;
- the CPU seconds each instance used while the rows were applied (from /proc);
- the time SIGTERM takes to end the third instance mid-storm (`--close-timeout 2`: within 3 s);
- that every row was applied exactly once.

It gives up after `--max-seconds` of applying and says how many rows were left.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.inbox_storm import insert_storm, pending, seed_large_document  # noqa: E402
from support.postgres import PostgresCluster  # noqa: E402
from servers import cpu_seconds, start_instance  # noqa: E402

JOIN_TIMEOUT = 30


def inbox_applied(address):
    """patchsync_inbox_actions_applied_total of an instance: which one holds the inbox."""
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    match = re.search(r"^patchsync_inbox_actions_applied_total (\d+)", text, re.M)
    return int(match.group(1)) if match else 0


async def join(address):
    """Seconds until a new session's first message, and its type ("timeout" if none came)."""
    began = time.monotonic()
    try:
        async with websockets.connect(f"ws://{address}/ws/storm", max_size=None, open_timeout=JOIN_TIMEOUT) as ws:
            message = json.loads(await asyncio.wait_for(ws.recv(), JOIN_TIMEOUT))
            return time.monotonic() - began, message["type"]
    except (asyncio.TimeoutError, OSError, websockets.WebSocketException):
        return time.monotonic() - began, "timeout"


def summary(samples):
    fulls = sorted(seconds for seconds, kind in samples if kind == "Full")
    others = len(samples) - len(fulls)
    if not fulls:
        return f"no Full in {len(samples)} joins"
    return (f"{len(fulls)} joins, p50 {fulls[len(fulls) // 2] * 1000:.0f} ms, max {fulls[-1] * 1000:.0f} ms"
            + (f", {others} without a Full" if others else ""))


async def storm(postgres, schema, addresses, rows, every, max_seconds, pids):
    idle = {address: [] for address in addresses}
    for _ in range(5):
        for address in addresses:
            idle[address].append(await join(address))
    for address in addresses:
        print(f"  idle {address}: Full {summary(idle[address])}")
    started = time.monotonic()
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    inserting = insert_storm(postgres, schema, "storm", rows)
    while inserting.is_alive():
        await asyncio.sleep(0.05)
    print(f"INSERT of {rows} rows: {time.monotonic() - started:.2f} s")
    during = {address: [] for address in addresses}
    applied_from = time.monotonic()
    reported = applied_from
    while (left := pending(postgres, schema)) > 0 and time.monotonic() - applied_from < max_seconds:
        for address in addresses:
            during[address].append(await join(address))
        if time.monotonic() - reported > 10:
            reported = time.monotonic()
            print(f"  {left} pending after {reported - applied_from:.0f} s", flush=True)
        await asyncio.sleep(every)
    applying = time.monotonic() - applied_from
    cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in pids if os.path.exists(f"/proc/{pid}")}
    return during, applying, left, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--patchsync", default=str(ROOT / ".build" / "release" / "patchsync"))
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seeded", type=int, default=5000)
    parser.add_argument("--every", type=float, default=0.2, help="seconds between joins")
    parser.add_argument("--max-seconds", type=float, default=600, help="give up applying after this long")
    parser.add_argument("--sigterm-after", type=float, default=5.0, help="seconds into the storm")
    arguments = parser.parse_args()
    postgres = PostgresCluster(durable=True)
    scratch = Path(tempfile.mkdtemp(prefix="patchsync-storm-"))
    schema = postgres.new_schema()
    database = ["--database", postgres.url, "--database-schema", schema]
    processes = []
    try:
        seed_large_document(arguments.patchsync, scratch / "seed", database, "storm", arguments.seeded)
        first, address_a = start_instance(arguments.patchsync, str(scratch / "a"), database)
        second, address_b = start_instance(arguments.patchsync, str(scratch / "b"), database)
        third, address_c = start_instance(arguments.patchsync, str(scratch / "c"), [*database, "--close-timeout", "2"])
        processes = [first, second, third]

        async def with_sigterm():
            assert (await join(address_c))[1] == "Full"
            task = asyncio.create_task(storm(postgres, schema, [address_a, address_b], arguments.rows,
                                             arguments.every, arguments.max_seconds, [first.pid, second.pid]))
            await asyncio.sleep(arguments.sigterm_after)
            began = time.monotonic()
            third.send_signal(signal.SIGTERM)
            await asyncio.to_thread(third.wait)
            print(f"SIGTERM mid-storm: exit {third.returncode} after {time.monotonic() - began:.2f} s "
                  f"(--close-timeout 2)", flush=True)
            return await task

        during, applying, left, cpu = asyncio.run(with_sigterm())
        applied = {address: inbox_applied(address) for address in (address_a, address_b)}
        for process, address in ((first, address_a), (second, address_b)):
            role = "applier" if applied[address] == max(applied.values()) else "watcher"
            print(f"{role} {address}: applied {applied[address]} rows, "
                  f"CPU {cpu.get(process.pid, float('nan')):.1f} s; Full during the storm: {summary(during[address])}")
        done = arguments.rows - left
        print(f"applied {done} of {arguments.rows} rows in {applying:.1f} s ({done / applying:.0f} rows/s)"
              + (f"; gave up with {left} pending" if left else ""))
        twice = postgres.sql(f"SELECT count(*) FROM (SELECT action FROM {schema}.events WHERE document = 'storm' "
                             "GROUP BY action HAVING count(*) > 1) AS repeated")[0][0]
        events = postgres.sql(f"SELECT count(*) FROM {schema}.events WHERE document = 'storm'")[0][0]
        print(f"events: {events} (rows applied: {done}); actions applied twice: {twice}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        postgres.close()


if __name__ == "__main__":
    main()
