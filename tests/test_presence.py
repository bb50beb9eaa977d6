"""Presence over the wire: Hello, the roster, join, focus and leave."""
import asyncio
import json

import websockets

from support.protocol import Peer, add, types_until_quiet


async def next_of(peer, kind, timeout=30):
    return await asyncio.wait_for(peer.expect(kind), timeout)


def test_join_focus_and_leave_reach_the_sessions_that_said_hello(server):
    async def scenario():
        ana = await Peer.connect(server.ws + "?client=tab-a")
        quiet = await Peer.connect(server.ws)
        await ana.send({"type": "Hello", "name": "Ana"})
        roster = await next_of(ana, "Presence")
        assert [(s["name"], s["client"], s["role"]) for s in roster["sessions"]] == [("Ana", "tab-a", "editor")]

        bo = await Peer.connect(server.ws)
        await bo.send({"type": "Hello", "name": "Bo"})
        roster = await next_of(bo, "Presence")
        assert [s["name"] for s in roster["sessions"]] == ["Ana", "Bo"]
        joined = await next_of(ana, "PresenceJoin")
        assert joined["session"]["name"] == "Bo" and joined["session"]["client"] is None

        await bo.send({"type": "Focus", "focus": "/todos/1"})
        focus = await next_of(ana, "PresenceFocus")
        assert focus == {"type": "PresenceFocus", "session": joined["session"]["session"], "focus": "/todos/1"}

        await bo.close()
        left = await next_of(ana, "PresenceLeave")
        assert left["session"] == joined["session"]["session"]

        # The session that never said Hello saw none of it, only the document.
        assert (await quiet.act(add("milk")))["type"] == "Ack"
        await quiet.close()
        await ana.close()
        return quiet

    asyncio.run(scenario())


def test_a_session_without_hello_receives_only_document_messages(server):
    async def scenario():
        async with websockets.connect(server.ws) as quiet:
            assert json.loads(await quiet.recv())["type"] == "Full"
            other = await Peer.connect(server.ws)
            await other.send({"type": "Hello", "name": "Cy"})
            await next_of(other, "Presence")
            await other.send({"type": "Focus", "focus": "/name"})
            await other.act(add("x"))
            await other.close()
            return await types_until_quiet(quiet)

    assert asyncio.run(scenario()) == ["Patch"]
