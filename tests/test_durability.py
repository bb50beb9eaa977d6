"""History that lasts: kill -9, torn tails, corruption and a full disk, against the real server."""
import asyncio
import json
import os
import subprocess
import urllib.request

import pytest
import websockets

from support.protocol import Peer, add, fresh_full


def row_names(state):
    return sorted(row["name"] for row in state["todos"].values())


async def stream_then_kill(server, count, kill_after):
    """Pipelines `count` Adds, kills the server with SIGKILL after `kill_after` Acks, returns the acked ids."""
    acked = []
    async with websockets.connect(server.ws, max_size=None) as ws:
        await ws.recv()  # Full
        for i in range(count):
            await ws.send(json.dumps({**add(f"row-{i}"), "id": i}))
        try:
            async for text in ws:
                message = json.loads(text)
                if message["type"] == "Ack":
                    acked.append(message["id"])
                    if len(acked) == kill_after:
                        server.kill()
        except websockets.ConnectionClosed:
            pass
    return acked


@pytest.mark.parametrize("kill_after", [1, 57, 333])
def test_kill_9_loses_no_acknowledged_change(start_server, data_dir, kill_after):
    server = start_server()
    acked = asyncio.run(stream_then_kill(server, 600, kill_after))
    assert len(acked) >= kill_after

    restarted = start_server(data=data_dir)
    state, version = asyncio.run(fresh_full(restarted.ws))
    names = set(row_names(state))
    missing = [i for i in acked if f"row-{i}" not in names]
    assert missing == [], f"acknowledged rows lost after kill -9: {missing[:10]}"
    # Every surviving row is one that was sent, in one change each.
    assert names <= {f"row-{i}" for i in range(600)}
    assert version == len(names)


def test_torn_last_line_is_dropped_with_a_log_line(start_server, data_dir):
    server = start_server()

    async def write_three():
        peer = await Peer.connect(server.ws)
        for name in ("a", "b", "c"):
            assert (await peer.act(add(name)))["type"] == "Ack"
        await peer.close()

    asyncio.run(write_three())
    server.kill()
    log = data_dir / "default" / "log.jsonl"
    with open(log, "ab") as file:
        file.write(b'{"version":4,"time":17000000,"act')  # a write cut short by power loss

    restarted = start_server(data=data_dir)
    state, version = asyncio.run(fresh_full(restarted.ws))
    assert (row_names(state), version) == (["a", "b", "c"], 3)
    assert "torn" in restarted.log().lower()
    assert log.read_bytes().endswith(b"\n")

    async def write_after():
        peer = await Peer.connect(restarted.ws)
        reply = await peer.act(add("d"))
        await peer.close()
        return reply

    assert asyncio.run(write_after())["version"] == 4


def test_corruption_inside_the_log_stops_start_up_naming_file_and_line(patchsync_bin, start_server, data_dir):
    server = start_server()

    async def write_three():
        peer = await Peer.connect(server.ws)
        for name in ("a", "b", "c"):
            await peer.act(add(name))
        await peer.close()

    asyncio.run(write_three())
    server.stop()
    log = data_dir / "default" / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = b"this is not an event\n"
    log.write_bytes(b"".join(lines))

    result = subprocess.run([patchsync_bin, "serve", "--port", "0", "--data", str(data_dir)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "log.jsonl:2" in result.stderr or ("log.jsonl" in result.stderr and "line 2" in result.stderr)


@pytest.fixture
def small_disk(data_dir):
    """A 256 KiB tmpfs as the data directory: a disk that can really fill up."""
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(data_dir)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    yield data_dir
    subprocess.run(["umount", "-l", str(data_dir)], check=False)


def fill(directory):
    """Writes a file until the disk is full; returns its path."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass  # ENOSPC: the disk is full
    finally:
        os.close(descriptor)
    return filler


def test_full_disk_refuses_actions_keeps_serving_and_recovers(start_server, small_disk):
    server = start_server(data=small_disk)

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("before")))["type"] == "Ack"

        filler = fill(small_disk)
        # The log's last block may still have room: changes are accepted until it runs out.
        accepted = ["before"]
        for attempt in range(500):
            reply = await peer.act(add(f"full-{attempt}"))
            if reply["type"] == "Error":
                break
            accepted.append(f"full-{attempt}")
        assert reply["type"] == "Error" and reply["code"] == "storage_unavailable", reply
        refused_version = peer.version

        # Reads keep working: a new session gets the last good state, the HTTP API too.
        reader = await Peer.connect(server.ws)
        assert row_names(reader.state) == sorted(accepted)
        with urllib.request.urlopen(server.http + "/api/docs/default") as response:
            assert json.load(response)["version"] == len(accepted) == refused_version

        filler.unlink()
        recovered = await peer.act(add("after"))
        assert recovered["type"] == "Ack" and recovered["version"] == len(accepted) + 1
        await reader.expect("Patch")
        assert row_names(reader.state) == sorted(accepted + ["after"])
        await peer.close()
        await reader.close()
        return accepted + ["after"]

    expected = asyncio.run(scenario())
    server.stop()
    restarted = start_server(data=small_disk)
    state, version = asyncio.run(fresh_full(restarted.ws))
    assert (row_names(state), version) == (sorted(expected), len(expected))
