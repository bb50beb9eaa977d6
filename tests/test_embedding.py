"""examples/embedding: a package of its own serving its own DocumentModel with the library
products. `make example` (part of `make test`) builds it; this runs it over a real socket."""
import asyncio
import json
import signal
import subprocess

import pytest
import websockets

from conftest import ROOT

TALLY = ROOT / ".build" / "embedding" / "debug" / "Tally"


@pytest.mark.skipif(not TALLY.exists(), reason="the example is not built: make example")
def test_the_example_serves_its_own_model(tmp_path):
    process = subprocess.Popen([str(TALLY), "0"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
                full = json.loads(await ws.recv())
                assert (full["type"], full["tally"], full["version"]) == ("Full", {"count": 0, "by": ""}, 0)
                await ws.send(json.dumps({"type": "Add", "amount": 2, "name": "Ana", "id": 1}))
                patch = json.loads(await ws.recv())
                assert patch["type"] == "Patch" and patch["version"] == 1
                assert json.loads(await ws.recv()) == {"type": "Ack", "id": 1, "version": 1}
                await ws.send(json.dumps({"type": "Add", "amount": 1000, "id": 2}))
                refused = json.loads(await ws.recv())
                assert (refused["type"], refused["code"]) == ("Error", "invalid_action")
                await ws.send(json.dumps({"type": "Explode", "id": 3}))
                assert json.loads(await ws.recv())["code"] == "unknown_type"

        asyncio.run(scenario())
        # Its HTTP API is the library's, on its own model.
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/docs/default") as answer:
            assert json.load(answer) == {"version": 1, "state": {"count": 2, "by": "Ana"}}
        # Ctrl-C stops it cleanly, the change on disk.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert (tmp_path / "tally-data" / "default" / "log.jsonl").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_example_stays_under_80_lines():
    assert len((ROOT / "examples/embedding/Sources/Tally/main.swift").read_text().splitlines()) < 80
