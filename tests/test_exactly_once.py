"""Exactly-once actions: `?client=ID`, resends after a dropped connection, a restart and kill -9."""
import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
import websockets

from support.protocol import Peer, add, fresh_full


def ids(count):
    return [str(uuid.uuid4()) for _ in range(count)]


async def send_all(url, actions):
    """Sends (id, action) pairs pipelined and returns {id: reply} for every Ack or Error that came back,
    until all are answered or the connection drops."""
    replies = {}
    try:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # Full
            for action_id, action in actions:
                await ws.send(json.dumps({**action, "id": action_id}))
            async for text in ws:
                message = json.loads(text)
                if message["type"] in ("Ack", "Error"):
                    replies[message["id"]] = message
                    if len(replies) == len(actions):
                        break
    except websockets.ConnectionClosed:
        pass
    return replies


async def send_then_drop(url, actions, drop_after):
    """Sends every action, then drops the connection (no close handshake) after `drop_after` Acks."""
    acked = {}
    ws = await websockets.connect(url, max_size=None)
    await ws.recv()
    for action_id, action in actions:
        await ws.send(json.dumps({**action, "id": action_id}))
    async for text in ws:
        message = json.loads(text)
        if message["type"] == "Ack":
            acked[message["id"]] = message["version"]
            if len(acked) == drop_after:
                ws.transport.abort()
                break
    return acked


def row_names(state):
    return sorted(row["name"] for row in state["todos"].values())


def test_resend_after_a_dropped_connection_applies_nothing_twice(server):
    url = server.ws + "?client=tab-1"
    actions = [(action_id, add(f"row-{n}")) for n, action_id in enumerate(ids(40))]
    acked = asyncio.run(send_then_drop(url, actions, drop_after=10))
    assert len(acked) == 10

    replies = asyncio.run(send_all(url, actions))
    assert all(reply["type"] == "Ack" for reply in replies.values()), replies
    assert len(replies) == 40
    for action_id, version in acked.items():
        assert replies[action_id]["version"] == version, "a resend gets the original Ack"
    state, version = asyncio.run(fresh_full(server.ws))
    assert row_names(state) == sorted(f"row-{n}" for n in range(40))
    assert version == 40


@pytest.mark.parametrize("kill_after", [1, 25])
def test_resend_after_kill_9_and_restart_applies_nothing_twice(start_server, data_dir, kill_after):
    server = start_server()
    url_path = "/ws?client=tab-1"
    actions = [(action_id, add(f"row-{n}")) for n, action_id in enumerate(ids(200))]

    async def stream_then_kill():
        acked = {}
        async with websockets.connect(server.http.replace("http", "ws") + url_path, max_size=None) as ws:
            await ws.recv()
            for action_id, action in actions:
                await ws.send(json.dumps({**action, "id": action_id}))
            try:
                async for text in ws:
                    message = json.loads(text)
                    if message["type"] == "Ack":
                        acked[message["id"]] = message["version"]
                        if len(acked) == kill_after:
                            server.kill()
            except websockets.ConnectionClosed:
                pass
        return acked

    acked = asyncio.run(stream_then_kill())
    restarted = start_server(data=data_dir)
    replies = asyncio.run(send_all(restarted.http.replace("http", "ws") + url_path, actions))
    assert len(replies) == 200 and all(reply["type"] == "Ack" for reply in replies.values())
    for action_id, version in acked.items():
        assert replies[action_id]["version"] == version
    state, version = asyncio.run(fresh_full(restarted.ws))
    assert row_names(state) == sorted(f"row-{n}" for n in range(200)), "every action exactly once"
    assert version == 200


def test_a_reused_id_with_another_body_is_duplicate_id(server):
    async def scenario():
        peer = await Peer.connect(server.ws + "?client=abc")
        await peer.send({**add("a"), "id": "x"})
        first = await peer.expect("Ack")
        await peer.send({**add("b"), "id": "x"})
        refused = await peer.expect("Error")
        await peer.close()
        return first, refused

    first, refused = asyncio.run(scenario())
    assert first["version"] == 1
    assert refused["code"] == "duplicate_id" and refused["id"] == "x"
    state, version = asyncio.run(fresh_full(server.ws))
    assert version == 1 and row_names(state) == ["a"]


def test_history_says_which_client_and_id_made_each_change(server):
    asyncio.run(send_all(server.ws + "?client=robot_7", [("one", add("a")), (2, add("b"))]))
    with urllib.request.urlopen(server.http + "/api/docs/default/history") as response:
        events = json.load(response)["events"]
    assert [(event["client"], event["id"]) for event in events] == [("robot_7", "one"), ("robot_7", 2)]
    assert all("id" not in event["action"] for event in events)


@pytest.mark.parametrize("client", ["", "a%20b", "a.b", "x" * 65, "%C3%A9"])
def test_an_invalid_client_id_is_refused_with_400(server, client):
    async def attempt():
        await websockets.connect(server.ws + "?client=" + client)

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 400
