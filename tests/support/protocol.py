"""A tiny independent client of the patchsync protocol: python websockets + jsonpatch."""
import asyncio
import json

import jsonpatch
import websockets


class Peer:
    """One WebSocket session that mirrors the document from Full and Patch messages."""

    def __init__(self, ws):
        self.ws = ws
        self.state = None
        self.version = None
        self.next_id = 0

    @classmethod
    async def connect(cls, url, **kwargs):
        # The opening handshake may wait for a busy server on a loaded box: a bound, not a speed.
        kwargs.setdefault("open_timeout", 60)
        # Unbounded: a peer that only sends (its replies unread) would otherwise stop reading at
        # 16 messages, miss the server's answer to its close and wait out the close timeout (10 s).
        kwargs.setdefault("max_queue", None)
        peer = cls(await websockets.connect(url, max_size=None, **kwargs))
        await peer.expect("Full")
        return peer

    async def receive(self):
        message = json.loads(await self.ws.recv())
        if message["type"] == "Full":
            self.state, self.version = message["todo"], message.get("version")
        elif message["type"] == "Patch":
            # A Patch applies to the version named by `from` (several versions back when coalesced).
            assert self.version is None or message["from"] == self.version, (message["from"], self.version)
            self.state = jsonpatch.apply_patch(self.state, message["ops"])
            self.version = message.get("version")
        return message

    async def expect(self, kind):
        """Receives (and mirrors) until a message of type `kind`, which it returns."""
        while True:
            message = await self.receive()
            if message["type"] == kind:
                return message

    async def send(self, action):
        await self.ws.send(json.dumps(action))

    async def act(self, action):
        """Sends an action with a fresh id and returns its Ack or Error, mirroring what comes first."""
        self.next_id += 1
        await self.send({**action, "id": self.next_id})
        while True:
            message = await self.receive()
            if message["type"] in ("Ack", "Error") and message.get("id") == self.next_id:
                return message

    async def close(self):
        await self.ws.close()


def add(name, completed=False):
    """The Add action for a row named `name`."""
    return {"type": "Add", "row": {"name": name, "completed": completed}}


async def fresh_full(url, **kwargs):
    """(state, version) as a new session sees them."""
    peer = await Peer.connect(url, **kwargs)
    await peer.close()
    return peer.state, peer.version


async def types_until_quiet(ws, first_timeout=30, quiet=0.5):
    """The types of the messages `ws` receives: the first within `first_timeout` s, then each
    within `quiet` s of the one before."""
    received = [json.loads(await asyncio.wait_for(ws.recv(), first_timeout))]
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
    except asyncio.TimeoutError:
        pass
    return [message["type"] for message in received]


async def follow_until(peer, version, versions=None):
    """Mirrors the peer's messages until it reaches `version`; records the versions each Patch
    brings (several when a backlog went out coalesced, `from` + 1 to `version`)."""
    while peer.version < version:
        message = await peer.receive()
        if message["type"] == "Patch" and versions is not None:
            versions.extend(covered_versions([message]))


def covered_versions(patches):
    """The versions a run of Patches brings, in order."""
    return [v for message in patches for v in range(message["from"] + 1, message["version"] + 1)]


async def add_through(ws_url, name, **connect):
    """Adds a row named `name` from a new session: (its Ack or Error, the state it then mirrors)."""
    peer = await Peer.connect(ws_url, **connect)
    reply = await peer.act(add(name))
    await peer.close()
    return reply, peer.state
