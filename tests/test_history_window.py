"""History says where it starts: a compacted document asked for versions it no longer keeps."""
import asyncio
import json
import urllib.request

import websockets

from support.protocol import Peer


def compacted_document(data_dir):
    """A document whose snapshot is at version 10 and whose log holds versions 11 and 12."""
    document = data_dir / "default"
    document.mkdir()
    (document / "snapshot.json").write_text(json.dumps(
        {"format": 2, "schema": 1, "version": 10, "state": {"name": "ten", "todos": {}}}))
    lines = [
        {"format": 2, "schema": 1, "version": version, "time": 1, "action": {"type": "ChangeName", "name": name},
         "ops": [{"op": "replace", "path": "/name", "value": name}]}
        for version, name in ((11, "eleven"), (12, "twelve"))
    ]
    (document / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def history(server, since):
    with urllib.request.urlopen(f"{server.http}/api/docs/default/history?since={since}") as response:
        return json.load(response)


def test_the_history_api_says_when_it_starts_later_than_asked(start_server, data_dir):
    compacted_document(data_dir)
    server = start_server()
    page = history(server, 0)
    assert (page["oldest"], page["truncated"]) == (11, True)
    assert [event["version"] for event in page["events"]] == [11, 12]
    page = history(server, 10)
    assert (page["oldest"], page["truncated"]) == (11, False)
    assert [event["version"] for event in page["events"]] == [11, 12]


def test_a_resume_from_before_the_retained_history_gets_a_full(start_server, data_dir):
    compacted_document(data_dir)
    server = start_server()

    async def first_messages(since, count):
        async with websockets.connect(f"{server.ws}?since={since}") as ws:
            return [json.loads(await ws.recv()) for _ in range(count)]

    full, = asyncio.run(first_messages(5, 1))
    assert full["type"] == "Full" and full["version"] == 12 and full["todo"]["name"] == "twelve"
    async def patches_from(since):
        async with websockets.connect(f"{server.ws}?since={since}") as ws:
            patches = [json.loads(await ws.recv())]
            while patches[-1]["version"] < 12:
                patches.append(json.loads(await ws.recv()))
            return patches

    # Versions 11 and 12, in one Patch or two (a backlog may go out coalesced), never a Full.
    patches = asyncio.run(patches_from(10))
    assert all(m["type"] == "Patch" for m in patches)
    assert [(m["from"], m["version"]) for m in patches] in ([(10, 11), (11, 12)], [(10, 12)])
