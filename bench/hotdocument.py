#!/usr/bin/env python3
"""A hot document across instances: three patchsync instances on one PostgreSQL, one writer on
each, all on the same 1,000-row document.

    .venv/bin/python bench/hotdocument.py --patchsync .build/release/patchsync [--baseline OTHER_BINARY]

Three rows per build, each on a fresh schema of a private PostgreSQL cluster (fsync on):

- direct: each writer on its own instance sends an Update and waits for its Ack before the next;
  Ack p50/p99/max and actions/s over all three writers (optimistic commits across instances);
- nginx: the same writers through nginx with deploy/nginx-instances.conf, which routes every
  session of the document to one instance (a consistent hash of its name);
- window 16: each writer on its own instance keeps 16 actions in flight (throughput).

Beside each: CPU seconds per second of the patchsync processes, of PostgreSQL and of this load
generator, the Errors the writers got, and the load average before the row.
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from database import PostgresCluster, measure, percentile, seed_database, start_instance, stop, update  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROWS = 1_000


async def write(url, rows, actions, window, writer):
    """One writer keeping `window` actions in flight; (Ack latencies, Errors)."""
    ws = await websockets.connect(url, max_size=None, ping_interval=None)
    await ws.recv()  # the Full
    sent = {}
    latencies = []
    errors = 0
    in_flight = asyncio.Semaphore(window)

    async def receive():
        nonlocal errors
        answered = 0
        while answered < actions:
            text = await ws.recv()
            if text.startswith('{"type":"Ack"') or text.startswith('{"type":"Error"'):
                message = json.loads(text)
                latencies.append(time.monotonic() - sent.pop(message["id"]))
                errors += message["type"] == "Error"
                answered += 1
                in_flight.release()

    receiver = asyncio.create_task(receive())
    for number in range(actions):
        await in_flight.acquire()
        sent[number] = time.monotonic()
        await ws.send(json.dumps({**update(rows, number, writer), "id": number}))
    await receiver
    await ws.close()
    return latencies, errors


async def writers(urls, rows, actions, window):
    """One writer per URL; (actions/s, pooled latencies, Errors, seconds)."""
    start = time.monotonic()
    results = await asyncio.gather(*(write(url, rows, actions, window, i) for i, url in enumerate(urls)))
    seconds = time.monotonic() - start
    latencies = [latency for result in results for latency in result[0]]
    return len(latencies) / seconds, latencies, sum(result[1] for result in results), seconds


class Nginx:
    """nginx in the foreground on a free port with deploy/nginx-instances.conf pointed at `upstreams`."""

    def __init__(self, scratch, upstreams):
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        site = (ROOT / "deploy" / "nginx-instances.conf").read_text()
        servers = iter(upstreams)
        site, replaced = re.subn(r"server 127\.0\.0\.1:333\d;", lambda _: f"server {next(servers)};", site)
        assert replaced == len(upstreams), f"deploy/nginx-instances.conf names {replaced} upstreams"
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        (scratch / "patchsync.conf").write_text(site)
        temps = "".join(f"{name}_temp_path {scratch / name};\n" for name in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;" if os.geteuid() == 0 else ""
        (scratch / "nginx.conf").write_text(f"""{user}
worker_processes 1;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; {temps} include {scratch}/patchsync.conf; }}
""")
        self.process = subprocess.Popen([NGINX, "-p", str(scratch), "-c", str(scratch / "nginx.conf"),
                                         "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def close(self):
        self.process.terminate()
        self.process.wait()


def run(cluster, binary, mode, actions):
    schema = cluster.new_schema()
    seed_database(cluster, schema, binary, ROWS)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="patchsync-bench-") as data:
        started = [start_instance(binary, data, ["--database", cluster.url, "--database-schema", schema])
                   for _ in range(3)]
        processes = [process for process, _ in started]
        urls = [url for _, url in started]
        nginx = None
        try:
            if mode == "nginx":
                nginx = Nginx(Path(data), [re.search(r"//([^/]+)/", url).group(1) for url in urls])
                urls = [f"ws://127.0.0.1:{nginx.port}/ws/bench"] * 3
            window = 16 if mode == "window 16" else 1
            (rate, latencies, errors, seconds), cpu = measure(
                processes, cluster, lambda: writers(urls, ROWS, actions * 4 if window > 1 else actions, window))
        finally:
            if nginx:
                nginx.close()
            stop(processes)
    return rate, latencies, errors, seconds, cpu, load


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True)
    parser.add_argument("--baseline", help="another patchsync executable measured the same way, interleaved")
    parser.add_argument("--actions", type=int, default=500, help="actions per writer, one in flight (four times as many with 16 in flight)")
    args = parser.parse_args()
    builds = [("patchsync", args.patchsync)] + ([("baseline", args.baseline)] if args.baseline else [])
    cluster = PostgresCluster(durable=True)
    try:
        print(f"hot document: 3 instances on one PostgreSQL, one writer on each, {ROWS:,} rows")
        print(f"{'build':<10} {'writers':<11} {'actions/s':>9} {'Ack p50':>8} {'Ack p99':>8} {'Ack max':>8} "
              f"{'errors':>6} {'patchsync':>9} {'postgres':>8} {'generator':>9} {'load':>5}")
        for mode in ("direct", "nginx", "window 16"):
            for label, binary in builds:
                rate, latencies, errors, seconds, cpu, load = run(cluster, binary, mode, args.actions)
                print(f"{label:<10} {mode:<11} {rate:>9.0f} {percentile(latencies, 0.5):>6.1f}ms "
                      f"{percentile(latencies, 0.99):>6.1f}ms {max(latencies) * 1000:>6.0f}ms {errors:>6} "
                      f"{cpu[0] / seconds:>9.2f} {cpu[1] / seconds:>8.2f} {cpu[2] / seconds:>9.2f} {load:>5.1f}",
                      flush=True)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
