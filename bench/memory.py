"""Resident memory: idle, and per idle WebSocket connection (issue: idle <= 12 MiB, <= 6 KiB/conn).

    .venv/bin/python bench/memory.py --patchsync .build/release/patchsync [--connections 1000]
"""
import argparse
import asyncio
import resource
import sys
import time

import websockets

import servers


async def open_idle(server, count):
    connections = []
    for _ in range(count):
        ws = await websockets.connect(
            server.url, max_size=None, compression=None, ping_interval=None,
            subprotocols=[server.subprotocol] if server.subprotocol else None)
        connections.append(ws)
    # Let every server finish its greeting (a Full) and settle.
    await asyncio.sleep(1.0)
    return connections


def measure(server, count):
    time.sleep(0.5)
    idle = server.rss_kib()

    async def run():
        connections = await open_idle(server, count)
        loaded = server.rss_kib()
        await asyncio.gather(*(ws.close() for ws in connections))
        return loaded

    loaded = asyncio.run(run())
    return idle, loaded


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True, help="path to the patchsync binary")
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    # Both ends of every connection are on this machine: make room for the descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.connections + 256)), hard))

    rows = []
    for start in [lambda: servers.patchsync(args.patchsync), *servers.anchors()]:
        with start() as server:
            idle, loaded = measure(server, args.connections)
            rows.append((server.name, idle, loaded, (loaded - idle) / args.connections))
    print(f"\nresident memory, {args.connections} idle WebSocket connections")
    print(f"{'server':<18}{'idle MiB':>10}{'loaded MiB':>12}{'KiB/conn':>10}")
    for name, idle, loaded, per in rows:
        print(f"{name:<18}{idle / 1024:>10.1f}{loaded / 1024:>12.1f}{per:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
