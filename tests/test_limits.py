"""Every input a client controls has a bound with a clear error, and documents do not pile up:
python websockets against the real binary."""
import asyncio
import json
import time

import pytest
import websockets

from support.http_api import http
from support.large_documents import write_document
from support.metrics import metric, parse_exposition
from support.protocol import Peer, add
from support.waiting import DEADLINE, run, wait_for_async


def metrics(server):
    return parse_exposition(http(server, "GET", "/metrics", raw=True)[2])[0]


def log_lines(data_dir, name="default"):
    path = data_dir / name / "log.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def test_the_log_and_history_keep_the_action_as_understood_not_the_clients_text(file_server, data_dir):
    server = file_server
    junk = "j" * 60_000

    async def scenario():
        peer = await Peer.connect(server.ws)
        answer = await peer.act({"type": "ChangeName", "name": "n", "junk": junk})
        assert answer["type"] == "Ack"
        answer = await peer.act({"type": "Add", "row": {"name": "a", "completed": False, "junk": junk}, "x": [1]})
        assert answer["type"] == "Ack"
        await peer.close()

    run(scenario())
    lines = log_lines(data_dir)
    assert [json.loads(line)["action"] for line in lines] == [
        {"type": "ChangeName", "name": "n"}, {"type": "Add", "row": {"name": "a", "completed": False}}]
    assert sum(len(line) for line in lines) < 1_000
    status, body = http(server, "GET", "/api/docs/default/history")
    assert status == 200 and "junk" not in json.dumps(body)


def test_indexes_are_unsigned_32_bit_and_add_goes_on_past_the_highest(server):
    async def scenario():
        peer = await Peer.connect(server.ws)
        for index in (9223372036854775807, 4294967296, -1):
            answer = await peer.act({"type": "Update", "index": index, "row": {"name": "x", "completed": False}})
            assert answer["code"] == "invalid_index", index
        assert (await peer.act({"type": "Update", "index": 4294967295, "row": {"name": "top", "completed": False}}))["type"] == "Ack"
        assert (await peer.act(add("after")))["type"] == "Ack"
        assert (await peer.act(add("again")))["type"] == "Ack"
        await peer.close()
        return peer.state

    state = run(scenario())
    assert sorted(state["todos"], key=int) == ["1", "2", "4294967295"]


def test_documents_nobody_changed_do_not_pile_up(server):
    async def unloaded(at_most):
        # Unloading follows the last session's close asynchronously: read until it happened.
        await wait_for_async(lambda: metric(metrics(server), "patchsync_documents_loaded"), lambda loaded: loaded <= at_most,
                             f"at most {at_most} documents loaded")
        return True

    async def scenario():
        # 300 names in all, 50 at a time: three times the default --max-documents.
        for batch in range(6):
            sessions = [await websockets.connect(f"{server.ws}/probe{batch}_{i}") for i in range(50)]
            for ws in sessions:
                await ws.close()
            assert await unloaded(0)
        peer = await Peer.connect(f"{server.ws}/kept")
        assert (await peer.act(add("x")))["type"] == "Ack"
        await peer.close()
        assert await unloaded(1)

    run(scenario())
    status, listing = http(server, "GET", "/api/docs")
    assert (status, [(d["name"], d["version"]) for d in listing["documents"]]) == (200, [("kept", 1)])
    assert http(server, "GET", "/api/docs/probe0_0")[0] == 404


def test_over_max_documents_the_upgrade_gets_503_too_many_documents(start_server):
    server = start_server("--max-documents", "2")

    async def scenario():
        a = await Peer.connect(f"{server.ws}/a")
        b = await Peer.connect(f"{server.ws}/b")
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{server.ws}/c")
        response = refused.value.response
        assert response.status_code == 503 and b"too_many_documents" in response.body
        # A document already in memory still takes sessions.
        again = await Peer.connect(f"{server.ws}/a")
        await again.close()
        await b.close()
        # b's document is unloaded after its session closed, asynchronously: c gets in then.
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                c = await Peer.connect(f"{server.ws}/c")
                break
            except websockets.InvalidStatus:
                assert time.monotonic() < deadline, "c was still refused after b's document could be unloaded"
                await asyncio.sleep(0.05)
        assert (await c.act(add("c")))["type"] == "Ack"
        await c.close()
        await a.close()

    run(scenario())


@pytest.fixture(params=["files", "postgres"])
def store_options(request):
    """The options that choose the store: the data directory, or a fresh PostgreSQL schema."""
    return request.getfixturevalue("database") if request.param == "postgres" else []


def test_the_list_shows_every_stored_document_without_loading_one(start_server, store_options):
    names = [f"doc{i}" for i in range(5)]
    writer = start_server(*store_options)

    async def write():
        for index, name in enumerate(names):
            peer = await Peer.connect(f"{writer.ws}/{name}")
            for row in range(index + 1):
                assert (await peer.act(add(f"row {row}")))["type"] == "Ack"
            await peer.close()

    run(write())
    # The time of each document's latest change, as its history tells it.
    expected = [(name, index + 1, http(writer, "GET", f"/api/docs/{name}/history")[1]["events"][-1]["time"])
                for index, name in enumerate(names)]
    writer.stop()

    server = start_server("--max-documents", "2", *store_options)
    loaded = metric(metrics(server), "patchsync_documents_loaded")
    status, listing = http(server, "GET", "/api/docs")
    assert status == 200
    assert [(d["name"], d["version"], d["changed"]) for d in listing["documents"]] == expected
    assert metric(metrics(server), "patchsync_documents_loaded") == loaded <= 2


def test_a_document_stops_growing_at_max_document_bytes_before_anything_is_logged(start_server, data_dir, monkeypatch):
    monkeypatch.setenv("PATCHSYNC_MAX_DOCUMENT_BYTES", "2000")
    server = start_server()

    async def scenario():
        peer = await Peer.connect(server.ws)
        answers = [await peer.act(add(f"row number {i}")) for i in range(60)]
        await peer.close()
        return answers

    answers = run(scenario())
    accepted = [a for a in answers if a["type"] == "Ack"]
    refused = [a for a in answers if a["type"] == "Error"]
    assert accepted and refused and answers[: len(accepted)] == accepted
    assert {a["code"] for a in refused} == {"document_too_large"}
    assert len(log_lines(data_dir)) == len(accepted)
    status, body = http(server, "GET", "/api/docs/default")
    assert body["version"] == len(accepted) and len(json.dumps(body["state"], separators=(",", ":"))) <= 2000


def test_strings_and_rows_have_limits_from_the_config_file(start_server, tmp_path):
    config = tmp_path / "patchsync.conf"
    config.write_text("max-string-bytes = 100\nmax-members = 2\n")
    server = start_server("--config", str(config))

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act({"type": "ChangeName", "name": "n" * 101}))["code"] == "string_too_long"
        assert (await peer.act({"type": "ChangeName", "name": "n" * 100}))["type"] == "Ack"
        assert (await peer.act(add("a")))["type"] == "Ack"
        assert (await peer.act(add("b")))["type"] == "Ack"
        assert (await peer.act(add("c")))["code"] == "too_many_members"
        await peer.close()

    run(scenario())


def test_the_default_string_limit_refuses_a_70_kb_name(server):
    async def scenario():
        peer = await Peer.connect(server.ws)
        answer = await peer.act({"type": "ChangeName", "name": "n" * 70_000})
        await peer.close()
        return answer

    assert run(scenario())["code"] == "string_too_long"


def test_the_defaults_admit_the_benchmarks_100000_rows(start_server, data_dir):
    write_document(data_dir, 100_000)
    server = start_server()

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert len(peer.state["todos"]) == 100_000
        answer = await peer.act(add("one more"))
        await peer.close()
        return answer

    assert run(scenario())["type"] == "Ack"
