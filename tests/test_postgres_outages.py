"""The PostgreSQL store when the database is out of reach: at start-up, and a connection cut right
after PostgreSQL answered a commit. The server reaches the private cluster through a proxy socket the test
controls (tests/support/postgres_proxy.py)."""
import asyncio
import json
import socket
import time

import websockets

from support.http_api import healthz, http
from support.metrics import metric, parse_exposition
from support.postgres import schema_of
from support.postgres_proxy import through
from support.protocol import Peer, add, fresh_full
from support.waiting import run


def presence_bus_up(server):
    return metric(parse_exposition(http(server, "GET", "/metrics", raw=True)[2])[0], "patchsync_presence_bus_up")


def test_an_instance_starts_while_postgres_is_unreachable_and_serves_once_it_is_up(
        start_server, database, postgres, proxy):
    server = start_server(*through(proxy, database))
    schema = schema_of(database)

    async def scenario():
        status, body = healthz(server)
        assert status == 503 and "PostgreSQL" in body, (status, body)
        assert presence_bus_up(server) == 0
        async with websockets.connect(server.ws) as refused:
            error = json.loads(await refused.recv())
            assert (error["type"], error["code"]) == ("Error", "storage_unavailable")
        proxy.open()
        deadline = time.monotonic() + 60
        while healthz(server)[0] != 200 or presence_bus_up(server) != 1:
            assert time.monotonic() < deadline, "the instance did not reconnect"
            await asyncio.sleep(0.1)
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("first")))["type"] == "Ack"
        await peer.close()

    run(scenario())
    # The migrations ran once the database was up.
    # 6: events.author and inbox.author (issue 22); 7: apply_patch as RFC 6902; 8: the inbox's lease;
    # 9: the index of the leases of applied inbox rows.
    assert postgres.sql(f"SELECT count(*) FROM {schema}.migrations") == [["9"]]
    assert postgres.sql(f"SELECT version FROM {schema}.documents WHERE name = 'default'") == [["1"]]
    assert server.log().count("PostgreSQL is unavailable") == 1


def test_documents_load_on_demand_so_a_damaged_one_does_not_stop_start_up(start_server, database, postgres):
    schema = schema_of(database)
    first = start_server(*database)

    async def write(url):
        peer = await Peer.connect(url)
        assert (await peer.act(add("kept")))["type"] == "Ack"
        await peer.close()

    run(write(first.ws + "/good"))
    first.stop()
    # A state no Todo list decodes: read at start-up, it would stop the instance.
    postgres.sql(f"INSERT INTO {schema}.documents (name, version, state, state_version) "
                 "VALUES ('damaged', 0, '{\"todos\": 5}', 0)")
    second = start_server(*database)

    async def read():
        state, version = await fresh_full(second.ws + "/good")
        assert version == 1 and [row["name"] for row in state["todos"].values()] == ["kept"]
        async with websockets.connect(second.ws + "/damaged") as refused:
            error = json.loads(await refused.recv())
            assert error["type"] == "Error"

    run(read())


def test_a_connection_lost_after_commit_was_sent_is_verified_and_acknowledged(
        start_server, database, postgres, proxy):
    proxy.open()
    server = start_server(*through(proxy, database))
    schema = schema_of(database)

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("before")))["type"] == "Ack"
        proxy.cut_after(b"pg_notify")
        reply = await peer.act(add("cut"))
        assert proxy.cut.is_set(), "the connection was cut after the commit reached PostgreSQL"
        assert reply == {"type": "Ack", "id": peer.next_id, "version": 2}
        assert sorted(row["name"] for row in peer.state["todos"].values()) == ["before", "cut"]
        assert (await peer.act(add("after")))["type"] == "Ack"
        assert await fresh_full(server.ws) == (peer.state, 3)
        await peer.close()

    run(scenario())
    assert postgres.sql(f"SELECT count(*) FROM {schema}.events WHERE action->'row'->>'name' = 'cut'") == [["1"]]
    assert "which did land" in server.log()


def test_a_stored_document_is_never_reported_missing_while_the_list_is_unknown(start_server, database, proxy):
    first = start_server(*database)
    run(write_one(first.ws + "/stored"))
    first.stop()

    # Started while PostgreSQL is out of reach: the instance cannot tell what exists.
    server = start_server(*through(proxy, database))
    for path in ("/api/docs/stored", "/api/docs/stored/history", "/api/docs/never"):
        status, body = http(server, "GET", path)
        assert (status, body["error"]["code"]) == (503, "storage_unavailable"), path
    proxy.open()
    deadline = time.monotonic() + 60
    while (answer := http(server, "GET", "/api/docs/stored"))[0] != 200:
        assert answer[0] == 503 and time.monotonic() < deadline, answer
        time.sleep(0.05)
    assert answer[1]["version"] == 1
    assert http(server, "GET", "/api/docs/never")[0] == 404

    # Started while it is reachable: the list is read before the first request is served.
    again = start_server(*database)
    assert http(again, "GET", "/api/docs/stored/history")[0] == 200
    assert [d["name"] for d in http(again, "GET", "/api/docs")[1]["documents"]] == ["stored"]


async def write_one(url):
    peer = await Peer.connect(url)
    assert (await peer.act(add("kept")))["type"] == "Ack"
    await peer.close()


def test_a_database_host_that_never_answers_delays_start_up_by_the_connect_timeout_only(start_server):
    # Accepts connections and never says a word: libpq alone would wait forever.
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        server = start_server("--database", f"postgresql://patchsync@127.0.0.1:{port}/plant?connect_timeout=2")
        # The server starts and says why the database is unavailable: libpq gave up after the
        # URL's connect_timeout instead of waiting forever. How many seconds that took is a
        # timing, which a loaded box stretches: no assertion on it.
        status, body = healthz(server)
        assert status == 503 and "timeout expired" in body, (status, body)
    finally:
        silent.close()
