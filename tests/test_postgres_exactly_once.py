"""Exactly-once actions with the PostgreSQL store: across instances (the unique `(document,
client, id)` of the events table) and for actions older than what an instance holds in memory."""
import asyncio

from support.postgres import schema_of
from support.protocol import Peer, add
from support.waiting import run


async def outcome(peer, action):
    """Sends `action` (it carries its id) and returns its Ack or Error."""
    await peer.send(action)
    while True:
        message = await peer.receive()
        if message["type"] in ("Ack", "Error") and message.get("id") == action["id"]:
            return message


async def catch_up(peer, version):
    while peer.version < version:
        await peer.receive()


def test_one_action_sent_to_two_instances_at_once_is_applied_once(start_server, database, postgres):
    first, second = start_server(*database), start_server(*database)
    schema = schema_of(database)
    rounds = 40

    async def scenario():
        # One client whose resend reaches both instances at the same moment.
        a = await Peer.connect(first.ws + "?client=tab")
        b = await Peer.connect(second.ws + "?client=tab")
        for number in range(rounds):
            action = {**add(f"row {number}"), "id": f"c{number}"}
            one, other = await asyncio.gather(outcome(a, action), outcome(b, action))
            assert one["type"] == other["type"] == "Ack", (one, other)
            assert one["version"] == other["version"]
        await catch_up(a, rounds)
        await catch_up(b, rounds)
        assert a.state == b.state
        assert sorted(row["name"] for row in a.state["todos"].values()) == sorted(f"row {n}" for n in range(rounds))
        for peer in (a, b):
            await peer.close()

    run(scenario())
    assert postgres.sql(f"SELECT count(*), count(DISTINCT action_id), max(version) FROM {schema}.events") == [
        [str(rounds), str(rounds), str(rounds)]]


def test_a_resend_after_a_restart_older_than_a_thousand_events_gets_its_original_ack(
        start_server, database, postgres):
    server = start_server(*database)
    schema = schema_of(database)
    later = 1100

    async def write():
        tab = await Peer.connect(server.ws + "?client=old-tab")
        added = await outcome(tab, {**add("original"), "id": "first"})
        assert added["type"] == "Ack"
        key = next(iter(tab.state["todos"]))
        completed = {"type": "Update", "index": int(key), "row": {"name": "original", "completed": True},
                     "id": "second"}
        assert (await outcome(tab, completed))["type"] == "Ack"
        await tab.close()
        # Many more events from another session, sent without waiting for each Ack.
        other = await Peer.connect(server.ws)
        for number in range(later):
            await other.send({**add(f"later {number}"), "id": number})
        await catch_up(other, 2 + later)
        await other.close()
        return added["version"], completed

    original_version, completed = run(write())
    server.stop()
    server.start()

    async def resend():
        tab = await Peer.connect(server.ws + "?client=old-tab")
        assert tab.version == 2 + later
        # Applied again, the Add would add a row, and the Update would change nothing and be
        # acknowledged at the current version.
        assert await outcome(tab, {**add("original"), "id": "first"}) == {
            "type": "Ack", "id": "first", "version": original_version}
        assert await outcome(tab, completed) == {"type": "Ack", "id": "second", "version": original_version + 1}
        changed = await outcome(tab, {**add("something else"), "id": "first"})
        assert (changed["type"], changed["code"]) == ("Error", "duplicate_id")
        await tab.close()

    run(resend())
    assert postgres.sql(f"SELECT count(*), max(version) FROM {schema}.events") == [[str(2 + later)] * 2]


def test_actions_an_earlier_release_logged_twice_do_not_stop_the_migration(start_server, database, postgres):
    schema = schema_of(database)
    server = start_server(*database)

    async def write():
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("first")))["type"] == "Ack"
        await peer.close()

    run(write())
    server.stop()
    # The database as the release before migration 3 could leave it: one (client, id) logged twice.
    postgres.sql(f"""
        DROP INDEX {schema}.events_action_once;
        DELETE FROM {schema}.migrations WHERE version = 3;
        INSERT INTO {schema}.events (document, version, time, action, ops, schema, client, action_id)
            SELECT 'default', v, now(), '{{"type":"RemoveCompleted"}}', '[]', 1, 'old-tab', '"twice"'
            FROM generate_series(2, 3) AS v;
        UPDATE {schema}.documents SET version = 3 WHERE name = 'default'""")
    server.start()

    async def serve():
        peer = await Peer.connect(server.ws + "?client=new-tab")
        assert peer.version == 3
        action = {**add("second"), "id": "once"}
        assert await outcome(peer, action) == {"type": "Ack", "id": "once", "version": 4}
        assert await outcome(peer, action) == {"type": "Ack", "id": "once", "version": 4}
        await peer.close()

    run(serve())
    assert postgres.sql(f"SELECT version FROM {schema}.migrations WHERE version = 3") == [["3"]]
    [[definition]] = postgres.sql(
        f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{schema}' AND indexname = 'events_action_once'")
    assert "UNIQUE" in definition and '"time" >' in definition, definition
