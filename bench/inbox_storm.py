#!/usr/bin/env python3
"""The SQL inbox storm of issue 19, item 4, on this box.

    .venv/bin/python bench/inbox_storm.py --patchsync .build/release/patchsync [--rows 10000] [--seeded 5000]

A private PostgreSQL cluster, a document of `--seeded` rows imported into it, two instances with
the document open, then one INSERT of `--rows` inbox rows. Prints: the latency of a new session's
Full on the second instance, sampled every 0.2 s while the storm lasts (p50, max); the rate at
which the rows are applied; the time SIGTERM takes to end the second instance mid-storm (with
`--close-timeout 2`: it must exit within 3 s); that every row was applied exactly once.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.inbox_storm import insert_storm, pending, seed_large_document  # noqa: E402
from support.postgres import PostgresCluster  # noqa: E402


def start_instance(binary, data, extra):
    process = subprocess.Popen([binary, "serve", "--port", "0", "--data", data, "--log-level", "warning", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        match = re.search(r"listening on http://[^:]+:(\d+)", line)
        if match:
            return process, f"ws://127.0.0.1:{match.group(1)}/ws"
    raise RuntimeError("patchsync did not start")


async def first_message(url):
    async with websockets.connect(url, max_size=None) as ws:
        return json.loads(await ws.recv())


async def storm(postgres, schema, urls, rows):
    for url in urls:
        assert (await first_message(url + "/storm"))["type"] == "Full"
    started = time.monotonic()
    inserting = insert_storm(postgres, schema, "storm", rows)
    while inserting.is_alive():
        await asyncio.sleep(0.05)
    print(f"INSERT of {rows} rows: {time.monotonic() - started:.2f} s")
    latencies = []
    applied_from = time.monotonic()
    while (left := pending(postgres, schema)) > 0:
        begun = time.monotonic()
        message = await first_message(urls[1] + "/storm")
        latencies.append((time.monotonic() - begun, message["type"]))
        if len(latencies) % 25 == 0:
            print(f"  {left} pending; Full {latencies[-1][0] * 1000:.0f} ms")
        await asyncio.sleep(0.2)
    return latencies, time.monotonic() - applied_from


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--patchsync", default=str(ROOT / ".build" / "release" / "patchsync"))
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seeded", type=int, default=5000)
    parser.add_argument("--sigterm-after", type=float, default=5.0, help="seconds into the storm")
    arguments = parser.parse_args()
    postgres = PostgresCluster(durable=True)
    scratch = Path(tempfile.mkdtemp(prefix="patchsync-storm-"))
    schema = postgres.new_schema()
    database = ["--database", postgres.url, "--database-schema", schema]
    processes = []
    try:
        seed_large_document(arguments.patchsync, scratch / "seed", database, "storm", arguments.seeded)
        first, url_a = start_instance(arguments.patchsync, str(scratch / "a"), database)
        second, url_b = start_instance(arguments.patchsync, str(scratch / "b"), database)
        third, url_c = start_instance(arguments.patchsync, str(scratch / "c"), [*database, "--close-timeout", "2"])
        processes = [first, second, third]

        async def with_sigterm():
            task = asyncio.create_task(storm(postgres, schema, [url_a, url_b, url_c], arguments.rows))
            await asyncio.sleep(arguments.sigterm_after)
            began = time.monotonic()
            third.send_signal(signal.SIGTERM)
            await asyncio.to_thread(third.wait)
            print(f"SIGTERM mid-storm: exit {third.returncode} after {time.monotonic() - began:.2f} s "
                  f"(--close-timeout 2)")
            return await task

        latencies, applying = asyncio.run(with_sigterm())
        fulls = sorted(seconds for seconds, kind in latencies if kind == "Full")
        errors = [kind for _, kind in latencies if kind != "Full"]
        if fulls:
            print(f"Full on the second instance during the storm: {len(fulls)} sessions, "
                  f"p50 {fulls[len(fulls) // 2] * 1000:.0f} ms, max {fulls[-1] * 1000:.0f} ms; not a Full: {len(errors)}")
        print(f"applied {arguments.rows} rows in {applying:.1f} s ({arguments.rows / applying:.0f} rows/s)")
        twice = postgres.sql(f"SELECT count(*) FROM (SELECT action FROM {schema}.events WHERE document = 'storm' "
                             "GROUP BY action HAVING count(*) > 1) AS repeated")[0][0]
        events = postgres.sql(f"SELECT count(*) FROM {schema}.events WHERE document = 'storm'")[0][0]
        print(f"events: {events} (expected {arguments.rows}); actions applied twice: {twice}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        postgres.close()


if __name__ == "__main__":
    main()
