"""Presence across instances sharing a PostgreSQL database: sessions on one instance see those on
the others, their joins, focus changes and leaves, and the sessions of an instance killed with
kill -9 leave within its presence timeout. A private cluster (tests/support/postgres.py)."""
import asyncio
import json
import time

import websockets

from support.http_api import http
from support.metrics import metric, parse_exposition
from support.protocol import Peer, add, types_until_quiet
from support.waiting import run, wait_for

# Short, so that the expiry test waits seconds rather than the default 20.
TIMEOUT = "2"


async def next_of(peer, kind, timeout=30):
    return await asyncio.wait_for(peer.expect(kind), timeout)


async def hello(url, name):
    peer = await Peer.connect(url)
    await peer.send({"type": "Hello", "name": name})
    return peer, await next_of(peer, "Presence")


async def roster_names(url, wanted):
    """Says Hello on `url` until the Presence list names `wanted` (the instances may still be
    exchanging rosters just after start-up); returns that list."""
    deadline = time.monotonic() + 60
    while True:
        probe, roster = await hello(url, "probe")
        await probe.close()
        names = sorted(s["name"] for s in roster["sessions"] if s["name"] != "probe")
        if names == sorted(wanted) or time.monotonic() > deadline:
            return names
        await asyncio.sleep(0.2)


def test_sessions_on_two_instances_see_each_other_join_focus_and_leave(start_server, database):
    a = start_server(*database, "--database-presence-timeout", TIMEOUT)
    b = start_server(*database, "--database-presence-timeout", TIMEOUT)

    async def scenario():
        ana, roster = await hello(a.ws, "Ana")
        assert [s["name"] for s in roster["sessions"]] == ["Ana"]
        ana_id = roster["sessions"][0]["session"]

        bo, roster = await hello(b.ws + "?client=tab-b", "Bo")
        listed = {s["name"]: s for s in roster["sessions"]}
        if "Ana" not in listed:
            # A's notification of Ana may still be on its way: then it arrives as a join.
            joined = (await next_of(bo, "PresenceJoin"))["session"]
            listed[joined["name"]] = joined
        assert sorted(listed) == ["Ana", "Bo"], "B lists A's session"
        assert listed["Ana"]["session"] == ana_id and listed["Ana"]["role"] == "editor"
        bo_id = listed["Bo"]["session"]
        assert bo_id != ana_id, "session ids are unique across instances"

        joined = await next_of(ana, "PresenceJoin")
        assert joined["session"]["name"] == "Bo" and joined["session"]["client"] == "tab-b"
        assert joined["session"]["session"] == bo_id

        await bo.send({"type": "Focus", "focus": "/todos/1"})
        assert await next_of(ana, "PresenceFocus") == {"type": "PresenceFocus", "session": bo_id, "focus": "/todos/1"}
        await ana.send({"type": "Focus", "focus": "/name"})
        assert await next_of(bo, "PresenceFocus") == {"type": "PresenceFocus", "session": ana_id, "focus": "/name"}

        # A session joining later on A gets B's session with its focus in the list.
        cy, roster = await hello(a.ws, "Cy")
        focus = {s["name"]: s["focus"] for s in roster["sessions"]}
        assert focus == {"Ana": "/name", "Bo": "/todos/1", "Cy": None}
        await next_of(bo, "PresenceJoin")

        await bo.close()
        for peer in (ana, cy):
            assert (await next_of(peer, "PresenceLeave"))["session"] == bo_id
        await ana.close()
        await cy.close()

    run(scenario())


def test_sessions_of_a_killed_instance_leave_within_its_timeout(start_server, database):
    a = start_server(*database, "--database-presence-timeout", TIMEOUT)
    b = start_server(*database, "--database-presence-timeout", TIMEOUT)

    async def scenario():
        ana, _ = await hello(a.ws, "Ana")
        bo, roster = await hello(b.ws, "Bo")
        bo_id = next(s["session"] for s in roster["sessions"] if s["name"] == "Bo")
        await next_of(ana, "PresenceJoin")
        b.kill()
        # A killed instance says nothing: the leave can only come from the expiry. How soon it
        # comes is a timing (a loaded box stretches it); 30 s is a bound on waiting, not a speed.
        left = await next_of(ana, "PresenceLeave", timeout=30)
        assert left["session"] == bo_id
        await ana.close()

    run(scenario())


def test_sessions_of_an_instance_that_stops_normally_leave_at_once(start_server, database):
    # A timeout far longer than the test may wait: the leave must not come from the expiry.
    a = start_server(*database, "--database-presence-timeout", "120")
    b = start_server(*database, "--database-presence-timeout", "120")

    async def scenario():
        ana, _ = await hello(a.ws, "Ana")
        bo, _ = await hello(b.ws, "Bo")
        joined = await next_of(ana, "PresenceJoin")
        # Off the event loop, so that Bo's session answers the server's close.
        assert await asyncio.to_thread(b.stop) == 0
        # Half the expiry: a leave within it came from the stop, however loaded the box.
        left = await next_of(ana, "PresenceLeave", timeout=60)
        assert left["session"] == joined["session"]["session"]
        await ana.close()

    run(scenario())


def test_a_restarted_instance_learns_the_others_sessions(start_server, database):
    a = start_server(*database, "--database-presence-timeout", TIMEOUT)

    async def scenario():
        ana, _ = await hello(a.ws, "Ana")
        b = start_server(*database, "--database-presence-timeout", TIMEOUT)
        assert await roster_names(b.ws, ["Ana"]) == ["Ana"]
        await ana.close()

    run(scenario())


def test_a_session_without_hello_receives_no_presence_from_other_instances(start_server, database):
    a = start_server(*database, "--database-presence-timeout", TIMEOUT)
    b = start_server(*database, "--database-presence-timeout", TIMEOUT)

    async def scenario():
        async with websockets.connect(a.ws) as quiet:
            assert json.loads(await quiet.recv())["type"] == "Full"
            ana, _ = await hello(a.ws, "Ana")
            bo, _ = await hello(b.ws, "Bo")
            await next_of(ana, "PresenceJoin")
            await bo.send({"type": "Focus", "focus": "/todos/0"})
            await next_of(ana, "PresenceFocus")
            assert (await bo.act(add("milk")))["type"] == "Ack"
            await bo.close()
            await next_of(ana, "PresenceLeave")
            await ana.close()
            return await types_until_quiet(quiet)

    assert run(scenario()) == ["Patch"]


def test_metrics_show_the_bus_up_and_count_its_messages(start_server, database, postgres):
    a = start_server(*database, "--database-presence-timeout", TIMEOUT)
    b = start_server(*database, "--database-presence-timeout", TIMEOUT)

    def bus(server):
        samples = parse_exposition(http(server, "GET", "/metrics", raw=True)[2])[0]
        return [metric(samples, "patchsync_presence_" + name)
                for name in ("bus_up", "messages_sent_total", "messages_received_total")]

    async def scenario():
        ana, _ = await hello(a.ws, "Ana")
        bo, _ = await hello(b.ws, "Bo")
        await next_of(ana, "PresenceJoin")
        await ana.close()
        await bo.close()

    run(scenario())
    # Each told the other of its sessions, and heard the other's (alive, rosters, joins). The
    # counters move when the bus thread has handled a message, which may be after the join was
    # delivered: wait for them as a dashboard would show them, then check them all.
    for server in (a, b):
        wait_for(lambda: bus(server), lambda values: values[0] == 1 and values[1] >= 2 and values[2] >= 2,
                 "the bus is up and has sent and received at least two messages (up, sent, received)")
