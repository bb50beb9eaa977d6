"""Large documents over permessage-deflate: a Full of several hundred KiB to a few MiB, to many
sessions at once, some of them reading slowly, must arrive intact and leave the server running.
A large message goes out in fragments, compressed once for every permessage-deflate session.

libwebsockets compresses a large message over several writeable callbacks, reading the caller's
buffer each time; these tests failed (the server died with SIGSEGV) while the bridge reused or
freed that buffer before lws had finished with it.
"""
import asyncio
import json
import socket

import pytest
import websockets

from support.large_documents import write_document
from support.protocol import Peer, add


async def slow_peer(url, receive_buffer=4096):
    """A session whose socket takes little at a time, so the server's writes stay partial."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return await websockets.connect(url, sock=sock, max_size=None, compression="deflate")


async def read_full(ws, delay=0.0):
    await asyncio.sleep(delay)
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "Full":
            return message


@pytest.mark.parametrize("rows", [10_000, 50_000])
def test_deflate_sessions_get_a_large_full_intact_and_the_server_survives(start_server, data_dir, rows):
    state = write_document(data_dir, rows)
    server = start_server()

    async def scenario():
        slow = [await slow_peer(server.ws) for _ in range(3)]
        fast = await asyncio.gather(*(Peer.connect(server.ws, compression="deflate") for _ in range(5)))
        for peer in fast:
            assert peer.state == state and peer.version == 1
        # The slow readers start reading only after the others got theirs and a change went out.
        writer = fast[0]
        assert (await writer.act(add("after the join")))["type"] == "Ack"
        fulls = await asyncio.gather(*(read_full(ws, delay=0.5 * i) for i, ws in enumerate(slow)))
        for full in fulls:
            assert full["todo"] == state and full["version"] == 1
        for ws in slow:
            await ws.close()
        for peer in fast[1:]:
            await peer.expect("Patch")
            assert peer.version == 2 and len(peer.state["todos"]) == rows + 1
            await peer.close()
        await writer.close()

    asyncio.run(scenario())
    assert server.process.poll() is None, server.log()


def test_a_large_patch_over_deflate_reaches_slow_and_fast_sessions(start_server, data_dir):
    """A change that rewrites every row is one Patch of about as many bytes as the Full."""
    write_document(data_dir, 10_000)
    server = start_server()

    async def scenario():
        slow = await slow_peer(server.ws)
        await read_full(slow)
        watcher = await Peer.connect(server.ws, compression="deflate")
        writer = await Peer.connect(server.ws, compression="deflate")
        reply = await writer.act({"type": "RemoveCompleted"})
        assert reply["type"] == "Ack"
        await watcher.expect("Patch")
        assert watcher.state == writer.state
        assert all(not row["completed"] for row in watcher.state["todos"].values())
        await asyncio.sleep(0.5)
        fresh = await Peer.connect(server.ws)
        assert fresh.state == watcher.state
        for peer in (watcher, writer, fresh):
            await peer.close()
        await slow.close()

    asyncio.run(scenario())
    assert server.process.poll() is None, server.log()


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_sessions_leaving_or_stalling_mid_full_hold_up_no_one(start_server, data_dir, compression):
    """Large Fulls go out a fragment at a time, the sessions taking turns. Sessions that leave
    while waiting for their turn, or stop reading, must not hold up the others, and SIGTERM
    must still stop the server cleanly while their Fulls are half sent."""
    state = write_document(data_dir, 50_000)
    server = start_server()

    async def scenario():
        stalled = [await slow_peer(server.ws) for _ in range(3)]  # never read
        leaving = [await websockets.connect(server.ws, max_size=None, compression=compression) for _ in range(8)]
        readers = asyncio.gather(*(Peer.connect(server.ws, compression=compression) for _ in range(8)))
        for i, ws in enumerate(leaving):
            if i % 2:
                ws.transport.abort()
            else:
                await ws.close()
        readers = await readers
        for peer in readers:
            assert peer.state == state and peer.version == 1
        assert (await readers[0].act(add("after the storm")))["type"] == "Ack"
        for peer in readers[1:]:
            await peer.expect("Patch")
            assert peer.state == readers[0].state
        return stalled, readers

    stalled, readers = asyncio.run(scenario())
    assert server.process.poll() is None, server.log()
    assert server.stop(timeout=60) == 0, server.log()  # a bound on waiting; the exit itself takes --close-timeout


def test_deflate_joiners_of_successive_versions_each_get_their_version_intact(start_server, data_dir):
    """Each version's Full is compressed in pieces, those its change left alone reused from the
    version before: a joiner after each change must inflate exactly the list with that change."""
    write_document(data_dir, 10_000)
    server = start_server()

    async def scenario():
        writer = await Peer.connect(server.ws, compression="deflate")
        for round, index in enumerate((5_000, 17, 9_990, 5_000)):
            update = {"type": "Update", "index": index, "row": {"name": f"changed in round {round}" * (round + 1),
                                                                "completed": round % 2 == 1}}
            assert (await writer.act(update))["type"] == "Ack"
            joiner = await Peer.connect(server.ws, compression="deflate")
            assert joiner.version == writer.version and joiner.state == writer.state
            await joiner.close()
        await writer.close()

    asyncio.run(scenario())
    assert server.process.poll() is None, server.log()
