"""The ten-line programs at the top of clients/python/README.md and clients/js/README.md run as
written (only the server's address is changed from 127.0.0.1:3333 to the test server's): a
machine publishing its counter, a script waiting for a row to be completed."""
import asyncio
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from support.protocol import Peer, fresh_full

LANGUAGES = {
    "python": (ROOT / "clients/python/README.md", "```python", [sys.executable, "-c"]),
    "js": (ROOT / "clients/js/README.md", "```js", None),
}


def examples(language):
    readme, fence, _ = LANGUAGES[language]
    blocks = re.findall(re.escape(fence) + r"\n(.*?)```", readme.read_text(), re.DOTALL)
    assert len(blocks) >= 2, f"{readme} lost its examples"
    return blocks[0], blocks[1]


def run_example(language, code, server, tmp_path):
    code = code.replace("ws://127.0.0.1:3333", f"ws://127.0.0.1:{server.port}")
    if language == "python":
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shutil.copy(ROOT / "clients/js/patchsync.js", tmp_path / "patchsync.js")
    program = tmp_path / "example.mjs"
    program.write_text(code)
    return subprocess.Popen(["node", str(program)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_counter_example_publishes(language, file_server, tmp_path):
    counter, _ = examples(language)
    program = run_example(language, counter, file_server, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            state, _ = asyncio.run(fresh_full(file_server.ws + "/press-7"))
            if re.fullmatch(r"press 7: ([2-9]|\d\d+) parts", state["name"]):
                break
            assert program.poll() is None, program.stderr.read()
            assert time.monotonic() < deadline, f"the counter did not count: {state['name']!r}"
            time.sleep(0.5)
    finally:
        program.kill()
        program.wait()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_waiting_example_returns_once_the_row_is_completed(language, file_server, tmp_path):
    _, waiting = examples(language)

    async def add_row():
        peer = await Peer.connect(file_server.ws)
        reply = await peer.act({"type": "Add", "row": {"name": "calibrate", "completed": False}})
        await peer.close()
        return reply["version"]

    async def complete(index):
        peer = await Peer.connect(file_server.ws)
        await peer.act({"type": "Update", "index": index, "row": {"name": "calibrate", "completed": True}})
        await peer.close()

    asyncio.run(add_row())
    program = run_example(language, waiting, file_server, tmp_path)
    try:
        time.sleep(1)  # not a timing assertion: the script may also connect after the change
        assert program.poll() is None, "the script returned before the row was completed"
        asyncio.run(complete(1))
        out, err = program.communicate(timeout=60)
        assert program.returncode == 0, err
        assert out.strip() == "calibrated at version 2"
    finally:
        program.kill()
