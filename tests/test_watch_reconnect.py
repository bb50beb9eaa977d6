"""`patchsync watch --reconnect` survives a server restart and resumes where it left off."""
import asyncio
import json
import queue
import subprocess
import threading

from support.protocol import Peer


def act(server, action):
    async def scenario():
        peer = await Peer.connect(server.ws)
        reply = await peer.act(action)
        await peer.close()
        return reply
    return asyncio.run(scenario())


def test_watch_reconnects_after_a_restart_and_resumes_without_a_second_full(start_server, data_dir, patchsync_bin):
    server = start_server()
    watch = subprocess.Popen([patchsync_bin, "watch", "--reconnect", server.ws],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in watch.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60)["type"] == "Full"
        assert act(server, {"type": "ChangeName", "name": "before"})["version"] == 1
        assert lines.get(timeout=60)["version"] == 1

        port = server.port
        assert server.stop() == 0
        restarted = start_server(data=data_dir, port=port)
        assert act(restarted, {"type": "ChangeName", "name": "after"})["version"] == 2
        message = lines.get(timeout=60)
        assert (message["type"], message["version"]) == ("Patch", 2), "resumed after version 1, no second Full"
        assert watch.poll() is None
    finally:
        watch.kill()
        watch.wait()
