"""The Python client (clients/python, `import patchsync`) against the real server: the shared
scenario list (tests/client_scenarios.md), the blocking API, the outbox file and the watch
command. Unit tests of its pure parts are in clients/python/tests."""
import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest

import patchsync
from support.dropping_relay import DroppingRelay
from support.protocol import Peer, add


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def names(state):
    return sorted(row["name"] for row in state["todos"].values())


def test_scenario_connect_full(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws + "/line-1") as doc:
            assert doc.state == {"name": "", "todos": {}} and doc.version == 0 and doc.role == "editor"
            assert len(doc.client) == 32
    run(scenario())


def test_scenario_send_ack(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws, client="bench-3") as doc:
            version = await doc.send(add("milk"))
            assert version == 1 and doc.version == 1 and names(doc.state) == ["milk"]
            assert await doc.send({"type": "ChangeName", "name": "Line 3"}) == 2
            assert doc.state["name"] == "Line 3"
    run(scenario())


def test_scenario_refused_action(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws) as doc:
            await doc.send(add("a"))
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.send({"type": "Update", "index": -1, "row": {"name": "x", "completed": False}})
            assert caught.value.code == "invalid_index" and caught.value.message
            assert doc.version == 1 and names(doc.state) == ["a"] and doc.pending == 0
    run(scenario())


def test_scenario_raw_patch(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws) as doc:
            await doc.send(add("row"))
            version = await doc.patch([{"op": "replace", "path": "/todos/1/completed", "value": True}], base=1)
            assert version == 2 and doc.state["todos"]["1"]["completed"] is True
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.patch([{"op": "test", "path": "/todos/1/completed", "value": False},
                                 {"op": "remove", "path": "/todos/1"}])
            assert caught.value.code == "test_failed" and doc.version == 2
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.patch([{"op": "replace", "path": "/todos/1/completed", "value": "yes"}])
            assert caught.value.code == "invalid_patch" and "/todos/1/completed" in caught.value.message
    run(scenario())


def test_scenario_other_change_seen(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws) as watcher, patchsync.connect(file_server.ws) as writer:
            changes = watcher.changes()
            await writer.send(add("from the writer"))
            change = await asyncio.wait_for(changes.__anext__(), 60)
            assert change.version == 1 and change.ops[0]["op"] == "add"
            assert names(change.state) == ["from the writer"] and names(watcher.state) == ["from the writer"]
            state = await watcher.wait_for(lambda s: len(s["todos"]) == 1, timeout=60)
            assert names(state) == ["from the writer"]
    run(scenario())


def test_changes_include_own_writes_in_version_order(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws) as doc:
            changes = doc.changes()
            for name in "abc":
                await doc.send(add(name))
            seen = [(await changes.__anext__()).version for _ in range(3)]
            assert seen == [1, 2, 3]
    run(scenario())


def test_scenario_from_gap_resume(file_server):
    relay = DroppingRelay(file_server.http.replace("http", "ws"), drop_version=2).start()
    try:
        async def scenario():
            async with patchsync.connect(relay.url + "/ws") as doc:
                # One Patch per version (a session that keeps up gets no coalesced ones).
                peer = await Peer.connect(file_server.ws)
                await peer.act(add("one"))
                await doc.wait_for(lambda s: len(s["todos"]) == 1, timeout=60)
                await peer.act(add("two"))
                while not relay.dropped:
                    await asyncio.sleep(0.01)
                await peer.act(add("three"))
                await peer.close()
                state = await doc.wait_for(lambda s: len(s["todos"]) == 3, timeout=60)
                assert names(state) == ["one", "three", "two"] and doc.version == 3
            assert relay.dropped and relay.connections == 2
            # The first Patch (version 1) arrived, version 2 did not: the resume asks from 1.
            assert "since=1" in relay.paths[1]
        run(scenario())
    finally:
        relay.stop()


def test_scenario_kill_restart_exactly_once(start_server):
    server = start_server()
    sends = 300

    def crash(after_acks, acked):
        # kill -9 while sends are in flight, twice; the same port and data come back.
        for threshold in after_acks:
            while acked[0] < threshold:
                time.sleep(0.005)
            server.kill()
            time.sleep(0.3)
            server.start(port=server.port)

    async def scenario():
        acked = [0]
        crasher = threading.Thread(target=crash, args=((80, 200), acked), daemon=True)
        async with patchsync.connect(server.ws + "/crash", client="press-7") as doc:
            crasher.start()
            versions = []
            for number in range(sends):
                versions.append(await doc.send(add(f"part {number}")))
                acked[0] += 1
            crasher.join(60)
            assert not crasher.is_alive(), "the server was not killed twice"
            assert versions == sorted(versions) and len(set(versions)) == sends
        async with patchsync.connect(server.ws + "/crash") as check:
            rows = [row["name"] for row in check.state["todos"].values()]
            assert sorted(rows) == sorted(f"part {number}" for number in range(sends))
            assert check.version == sends
    run(scenario())
    assert server.log().count("[SyncServer] listening") == 3  # started, and restarted after each kill -9


def test_scenario_token_refused(start_server):
    server = start_server("--token", "s3cret")

    async def scenario():
        with pytest.raises(patchsync.RefusedError) as caught:
            await asyncio.wait_for(patchsync.connect(server.ws, token="wrong"), 60)
        assert caught.value.code == "http_401"
        with pytest.raises(patchsync.RefusedError):
            await asyncio.wait_for(patchsync.connect(server.ws), 60)
        async with patchsync.connect(server.ws, token="s3cret") as doc:
            assert await doc.send(add("allowed")) == 1
    run(scenario())


def test_scenario_wss_through_nginx(tls_proxy, certificates):  # noqa: F811
    server, proxy = tls_proxy

    async def scenario():
        url = proxy.url("/todo/ws", "ws")
        assert url.startswith("wss://")
        async with patchsync.connect(url, ca_file=str(certificates["ca"])) as doc:
            changes = doc.changes()
            assert await doc.send(add("over TLS")) == 1
            assert (await changes.__anext__()).version == 1
        # A CA that signed nothing of nginx's certificate: never trusted, never connected.
        with pytest.raises(Exception):
            await asyncio.wait_for(patchsync.connect(url, ca_file=str(certificates["other"])), 3)
    run(scenario())


def test_a_viewer_gets_forbidden(start_server):
    server = start_server("--token", "write-token", "--read-token", "read-token")

    async def scenario():
        async with patchsync.connect(server.ws, token="read-token") as doc:
            assert doc.role == "viewer"
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.send(add("no"))
            assert caught.value.code == "forbidden"
    run(scenario())


def test_presence_lists_the_sessions_that_said_hello(file_server):
    async def scenario():
        async with patchsync.connect(file_server.ws) as one, patchsync.connect(file_server.ws) as two:
            await one.hello("gateway")
            await two.hello("bench")
            await two.focus("/todos/1")
            await one.wait_for(lambda _: sorted(p["name"] for p in one.people) == ["bench", "gateway"], timeout=60)
            await one.wait_for(lambda _: any(p["focus"] == "/todos/1" for p in one.people), timeout=60)
            assert {p["client"] for p in one.people} == {one.client, two.client}
    run(scenario())


def test_the_outbox_file_survives_the_program(file_server, tmp_path):
    """An action left unanswered in the outbox file goes out on the next connect, as the same client."""
    path = tmp_path / "outbox.json"
    outbox = patchsync.outbox.Outbox(str(path), client="plc-1")
    outbox.add({**add("left over"), "id": "a1"})

    async def scenario():
        async with patchsync.connect(file_server.ws, outbox=str(path)) as doc:
            assert doc.client == "plc-1"
            await doc.wait_for(lambda s: names(s) == ["left over"], timeout=60)
        # Sent again (as a program restarted twice would): applied once.
        outbox_again = patchsync.outbox.Outbox(str(path))
        outbox_again.add({**add("left over"), "id": "a1"})
        async with patchsync.connect(file_server.ws, outbox=str(path)) as doc:
            assert await doc.send(add("new")) == 2
            assert names(doc.state) == ["left over", "new"]
    run(scenario())
    assert json.loads(path.read_text())["actions"] == []


def test_blocking_api(file_server):
    with patchsync.blocking.connect(file_server.ws) as doc:
        changes = doc.changes(timeout=20)
        assert doc.send(add("plain")) == 1
        assert next(changes).version == 1
        assert doc.patch([{"op": "replace", "path": "/name", "value": "Bench"}]) == 2
        assert doc.wait_for(lambda s: s["name"] == "Bench", timeout=60)["name"] == "Bench"
        with pytest.raises(patchsync.ActionError):
            doc.send({"type": "Update", "index": -1, "row": {"name": "x", "completed": False}})
        with pytest.raises(TimeoutError):
            doc.wait_for(lambda s: False, timeout=0.2)


def test_watch_command_prints_the_state_then_changes(file_server):
    watch = subprocess.Popen([sys.executable, "-m", "patchsync", "watch", file_server.ws],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(watch.stdout.readline())
        assert first == {"version": 0, "state": {"name": "", "todos": {}}}
        async def write():
            peer = await Peer.connect(file_server.ws)
            await peer.act(add("seen"))
            await peer.close()
        asyncio.run(write())
        change = json.loads(watch.stdout.readline())
        assert change["version"] == 1 and change["ops"][0]["value"]["name"] == "seen"
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_a_bad_url_is_a_clear_error():
    with pytest.raises(ValueError, match="ws:// or wss://"):
        patchsync.connect("http://127.0.0.1:1/ws")


def test_a_session_closed_for_an_expired_token_raises_instead_of_reconnecting():
    """A stand-in server (signed tokens are not in this server yet): Full, then close 1008
    "token expired". The client must stop, and a waiting send must raise the refusal."""
    from websockets.asyncio.server import serve

    connections = []

    async def handler(socket):
        connections.append(socket)
        await socket.send(json.dumps({"type": "Full", "todo": {"name": "", "todos": {}}, "version": 0}))
        await socket.recv()  # the action; never answered
        await socket.close(1008, "token expired")

    async def scenario():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with patchsync.connect(f"ws://127.0.0.1:{port}/ws") as doc:
                with pytest.raises(patchsync.RefusedError) as caught:
                    await doc.send(add("late"))
                assert caught.value.code == "token_expired"
                with pytest.raises(patchsync.RefusedError):
                    await doc.send(add("later"))
                await asyncio.sleep(0.5)
            assert len(connections) == 1, "it reconnected after the refusal"
    run(scenario())


def test_a_declared_type_keeps_its_state_under_state(start_server):
    """A document of a declared type (`--types`): the Full's `state` member, raw Patch writes,
    and the schema's refusal as an ActionError naming the pointer."""
    from conftest import ROOT
    server = start_server("--types", str(ROOT / "examples" / "types"))

    async def scenario():
        async with patchsync.connect(server.ws + "/line-7") as doc:
            assert doc.state["machines"]["M1"] == {"status": "stop", "good": 0, "scrap": 0}
            assert await doc.patch([{"op": "replace", "path": "/machines/M1/status", "value": "run"}]) == 1
            assert doc.state["machines"]["M1"]["status"] == "run"
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.patch([{"op": "replace", "path": "/machines/M1/status", "value": "jammed"}])
            assert caught.value.code == "invalid_patch" and caught.value.message.startswith("/machines/M1/status")
            with pytest.raises(patchsync.ActionError) as caught:
                await doc.send(add("a row"))
            assert caught.value.code == "invalid_action"
            assert doc.version == 1
    run(scenario())
