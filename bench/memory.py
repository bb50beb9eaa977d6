"""Resident memory: idle, per idle WebSocket connection, and at rest after 10,000 actions
(targets: fresh <= 10 MiB as a stretch, <= 14 MiB at rest after 10,000 actions, <= 6 KiB/conn).

    .venv/bin/python bench/memory.py --patchsync .build/release/patchsync [--connections 1000]

Each server is measured twice, each time freshly started: with clients that do not offer
permessage-deflate, and with clients that do (each server then keeps a compressor per
connection once it has sent something; the lws mirror sends nothing to an idle client).
"""
import argparse
import asyncio
import json
import resource
import sys
import time

import websockets

import servers


async def open_idle(server, count, compression):
    connections = []
    for _ in range(count):
        ws = await websockets.connect(
            server.url, max_size=None, compression=compression, ping_interval=None,
            subprotocols=[server.subprotocol] if server.subprotocol else None)
        connections.append(ws)
    # Let every server finish its greeting (a Full) and settle.
    await asyncio.sleep(1.0)
    negotiated = sum(1 for ws in connections if "permessage-deflate" in
                     (ws.response.headers.get("Sec-WebSocket-Extensions") or ""))
    return connections, negotiated


def measure(server, count, compression):
    """(idle, warmed, loaded, negotiated): VmRSS fresh, after 20 connections, after `count` more.
    The per-connection figure starts from the warmed one: patchsync hands back the pages start-up
    touched, so the code that accepting a connection runs would otherwise count against them."""
    time.sleep(0.5)
    idle = server.rss_kib()

    async def run():
        warm, _ = await open_idle(server, 20, compression)
        await asyncio.sleep(0.5)
        warmed = server.rss_kib()
        connections, negotiated = await open_idle(server, count, compression)
        loaded = server.rss_kib()
        await asyncio.gather(*(ws.close() for ws in connections + warm))
        return warmed, loaded, negotiated

    warmed, loaded, negotiated = asyncio.run(run())
    return idle, warmed, loaded, negotiated


async def act(url, actions, window=64):
    """Sends `actions` Todo actions (Updates of 100 rows, every tenth a ChangeName), `window` in flight."""
    ws = await websockets.connect(url, max_size=None, compression=None)
    await ws.recv()
    sent = answered = 0
    while answered < actions:
        while sent < actions and sent - answered < window:
            action = ({"type": "ChangeName", "name": f"list {sent}"} if sent % 10 == 9 else
                      {"type": "Update", "index": sent % 100 + 1, "row": {"name": f"item {sent}", "completed": sent % 2 == 0}})
            await ws.send(json.dumps({**action, "id": sent}))
            sent += 1
        if json.loads(await ws.recv())["type"] in ("Ack", "Error"):
            answered += 1
    await ws.close()


def at_rest(server, actions):
    """(fresh, at rest) VmRSS in KiB around `actions` actions, read after a second of quiet."""
    time.sleep(0.5)
    fresh = server.rss_kib()
    asyncio.run(act(server.url, actions))
    time.sleep(1.0)
    return fresh, server.rss_kib()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", required=True, help="path to the patchsync binary")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--actions", type=int, default=10_000, help="actions before the at-rest figure")
    args = parser.parse_args()
    # Both ends of every connection are on this machine: make room for the descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.connections + 256)), hard))

    rows = []
    for start in [lambda: servers.patchsync(args.patchsync), *servers.anchors()]:
        for compression in (None, "deflate"):
            with start() as server:
                idle, warmed, loaded, negotiated = measure(server, args.connections, compression)
                rows.append((server.name, negotiated, idle, loaded, (loaded - warmed) / args.connections))
    print(f"\nresident memory (VmRSS), {args.connections} idle WebSocket connections after 20 to warm up")
    print(f"{'server':<18}{'deflate':>9}{'idle MiB':>10}{'loaded MiB':>12}{'KiB/conn':>10}")
    for name, negotiated, idle, loaded, per in rows:
        print(f"{name:<18}{negotiated:>9}{idle / 1024:>10.1f}{loaded / 1024:>12.1f}{per:>10.2f}")
    print("(deflate: connections that negotiated permessage-deflate)")

    with servers.patchsync(args.patchsync) as server:
        fresh, rest = at_rest(server, args.actions)
    print(f"\npatchsync at rest: {fresh / 1024:.1f} MiB fresh, {rest / 1024:.1f} MiB after {args.actions} actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
