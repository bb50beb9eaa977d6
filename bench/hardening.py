"""Issue 19's figures: resident memory after actions with long ids, and how long SIGTERM takes.

    .venv/bin/python bench/hardening.py --patchsync .build/release/patchsync [--actions 12000]

ids: one client (`?client=`) sends `--actions` actions whose `id` is `--id-bytes` long, reading
every reply as it goes; VmRSS is sampled along the way and after. Ids over 128 bytes are refused
by a fixed server, so a second run with 128-byte ids (accepted, remembered) shows the outcome
memory's own growth. shutdown: 12 sessions that stop reading, then SIGTERM; seconds to exit.
"""
import argparse
import asyncio
import json
import re
import signal
import socket
import tempfile
import time
from pathlib import Path

import servers


def start(binary, *args):
    """A server on a fresh data directory; returns (process, port)."""
    data = Path(tempfile.mkdtemp(prefix="patchsync-bench-")) / "data"
    process, address = servers.start_instance(binary, data, args)
    return process, int(address.rsplit(":", 1)[1])


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def long_ids(binary, actions, id_bytes, extra):
    import websockets

    process, port = start(binary, *extra)
    try:
        samples = [(0, rss_mib(process.pid))]
        replies = {"Ack": 0, "Error": 0}
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?client=bench", max_size=None) as ws:
            await ws.recv()  # the Full
            window = 64  # actions in flight
            sent = received = 0
            started = time.monotonic()
            while received < actions:
                while sent < actions and sent - received < window:
                    sent += 1
                    identifier = f"{sent:08d}".ljust(id_bytes, "x")
                    await ws.send(json.dumps({"type": "ChangeName", "name": f"n{sent % 7}", "id": identifier}))
                message = json.loads(await ws.recv())
                if message["type"] in replies:
                    replies[message["type"]] += 1
                    received += 1
                    if received % (actions // 6) == 0:
                        samples.append((received, rss_mib(process.pid)))
            seconds = time.monotonic() - started
        time.sleep(1.0)
        samples.append(("after 1 s", rss_mib(process.pid)))
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            text = b""
            while chunk := connection.recv(65536):
                text += chunk
        outcome = re.search(rb"^patchsync_action_outcome_bytes (\d+)", text, re.M)
        print(f"{actions} actions with {id_bytes}-byte ids in {seconds:.1f} s: {replies}")
        print("  RSS MiB: " + ", ".join(f"{at}: {mib:.1f}" for at, mib in samples))
        print(f"  outcome memory (metric): {int(outcome.group(1)) / 1024:.0f} KiB" if outcome else "  no outcome metric")
    finally:
        process.kill()
        process.wait()


def shutdown_seconds(binary, close_timeout):
    process, port = start(binary, "--close-timeout", str(close_timeout))
    held = []
    for _ in range(12):
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall((
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
        held.append(connection)
    time.sleep(1.5)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    seconds = time.monotonic() - started
    for connection in held:
        connection.close()
    print(f"SIGTERM with 12 peers that never answer the close (--close-timeout {close_timeout}): "
          f"exit {code} after {seconds:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patchsync", default="./.build/debug/patchsync")
    parser.add_argument("--actions", type=int, default=12_000)
    parser.add_argument("--id-bytes", type=int, default=60_000)
    parser.add_argument("--only", choices=["ids", "shutdown"])
    arguments = parser.parse_args()
    if arguments.only in (None, "ids"):
        asyncio.run(long_ids(arguments.patchsync, arguments.actions, arguments.id_bytes, []))
        asyncio.run(long_ids(arguments.patchsync, arguments.actions, 128, []))
    if arguments.only in (None, "shutdown"):
        for close_timeout in (1, 2, 5):
            shutdown_seconds(arguments.patchsync, close_timeout)


if __name__ == "__main__":
    main()
