"""A WebSocket relay in front of a patchsync server that drops the first Patch it sees whose
version is `drop_version` (only once), so a client meets a `from` gap as it would after a lost
message, and must resume. Everything else, both ways, passes unchanged; the path and query go
upstream as they came. Runs on a thread of its own (`DroppingRelay(upstream).start()`), or as a
program for the JS runner: `python tests/support/dropping_relay.py ws://127.0.0.1:PORT VERSION` prints
its port, then "dropped" when it dropped the Patch."""
import asyncio
import json
import sys
import threading

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


class DroppingRelay:
    def __init__(self, upstream, drop_version, on_drop=lambda: None):
        self.upstream = upstream.rstrip("/")
        self.on_drop = on_drop
        self.drop_version = drop_version
        self.dropped = False
        self.connections = 0
        self.paths = []
        self.port = None
        self._ready = threading.Event()
        self._loop = None
        self._stop = None

    async def _relay(self, client):
        self.connections += 1
        path = client.request.path
        self.paths.append(path)
        async with connect(self.upstream + path, max_size=None) as server:
            async def down():
                async for text in server:
                    message = json.loads(text)
                    if (not self.dropped and message.get("type") == "Patch"
                            and message.get("version") == self.drop_version):
                        self.dropped = True
                        self.on_drop()
                        continue
                    await client.send(text)

            async def up():
                async for text in client:
                    await server.send(text)

            tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            except websockets.ConnectionClosed:
                pass
            for task in tasks:
                task.cancel()

    async def _main(self):
        self._stop = asyncio.get_running_loop().create_future()
        async with serve(self._relay, "127.0.0.1", 0, max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def start(self):
        def run():
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._main())
        threading.Thread(target=run, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"


if __name__ == "__main__":
    relay = DroppingRelay(sys.argv[1], int(sys.argv[2]), on_drop=lambda: print("dropped", flush=True)).start()
    print(relay.port, flush=True)
    threading.Event().wait()
