"""A broken connection is the backend's problem, not the user's: after `pg_ctl restart -m fast`, or
every connection cut by the proxy (tests/postgres_proxy.py), each of an instance's four
connections (store, listener, state writer, presence bus) reconnects by itself, and one second
after the database is back every instance acknowledges actions and opens documents: no
`storage_unavailable`, no Error instead of a Full. A private cluster (tests/postgres.py)."""
import asyncio
import json
import time

import pytest
import websockets

from support.http_api import healthz
from support.metrics import metric, metrics
from support.postgres import schema_of
from support.postgres_proxy import PostgresProxy
from support.protocol import Peer, add, follow_until
from support.waiting import run

INSTANCES = 3
ROLES = ("store", "listener", "state writer", "presence bus")


def connections_by_role(postgres):
    rows = postgres.sql("SELECT application_name, count(*) FROM pg_stat_activity "
                        "WHERE application_name LIKE 'patchsync %' GROUP BY 1")
    return {name.removeprefix("patchsync "): int(count) for name, count in rows}


async def open_document(url):
    """The first message a new session gets: a Full, or the Error it got instead."""
    async with websockets.connect(url, max_size=None) as ws:
        return json.loads(await ws.recv())


def until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def proxy(postgres):
    proxy = PostgresProxy(postgres)
    proxy.open()
    yield proxy
    proxy.close()


@pytest.mark.parametrize("outage", ["restart", "proxy_cut"])
def test_one_second_after_the_database_is_back_every_instance_acks_and_serves_fulls(
        start_server, database, postgres, request, outage):
    if outage == "proxy_cut":
        proxy = request.getfixturevalue("proxy")
        database = [proxy.url if option == database[1] else option for option in database]
    servers = [start_server(*database, "--database-presence-timeout", "2") for _ in range(INSTANCES)]
    schema = schema_of(database)

    async def scenario():
        watchers = [await Peer.connect(server.ws) for server in servers]
        writers = [await Peer.connect(server.ws) for server in servers]
        for index, writer in enumerate(writers):
            assert (await writer.act(add(f"before-{index}")))["type"] == "Ack"

        # Under load: every instance keeps taking actions and opening documents through the outage.
        loaded = asyncio.Event()
        outcomes = []

        async def load(index, writer):
            number = 0
            while not loaded.is_set():
                number += 1
                outcomes.append((await writer.act(add(f"load-{index}-{number}")))["type"])
                outcomes.append((await open_document(servers[index].ws + f"/load-{number % 3}"))["type"])
                await asyncio.sleep(0.02)

        load_tasks = [asyncio.create_task(load(i, w)) for i, w in enumerate(writers)]
        await asyncio.sleep(0.3)
        if outage == "restart":
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(postgres.start)
        else:
            proxy.refuse()
            # Opening a document while cut off gets an Error (it cannot be read)...
            refused = await open_document(servers[0].ws + "/opened-while-down")
            assert (refused["type"], refused["code"]) == ("Error", "storage_unavailable")
            await asyncio.sleep(0.5)
            proxy.open()
        back = time.monotonic()
        await asyncio.sleep(1)
        loaded.set()
        await asyncio.gather(*load_tasks)
        assert "Error" in outcomes, "the load went on during the outage"

        # ...and one second after the database is back, a Full; every instance acks at once.
        for index, (server, writer) in enumerate(zip(servers, writers)):
            full = await open_document(server.ws + f"/opened-after-{index}")
            assert full["type"] == "Full", full
            if outage == "proxy_cut" and index == 0:
                again = await open_document(server.ws + "/opened-while-down")
                assert again["type"] == "Full", again
            reply = await writer.act(add(f"after-{index}"))
            assert reply["type"] == "Ack", reply
        print(f"\n{outage}: every instance acked and served a Full {time.monotonic() - back:.2f} s after the database was back")

        # The state writers: a commit hands its state over once the stored one is half its
        # bound (1 s) old, and less than its whole bound (else the commit stores it itself).
        deadline = time.monotonic() + 60
        while connections_by_role(postgres).get("state writer", 0) < INSTANCES:
            assert time.monotonic() < deadline, f"the state writers reconnect: {connections_by_role(postgres)}"
            for index, writer in enumerate(writers):
                assert (await writer.act(add(f"more-{index}")))["type"] == "Ack"
            await asyncio.sleep(0.2)

        # The listeners: every instance hears the others' writes.
        latest = max(writer.version for writer in writers)
        await asyncio.gather(*(asyncio.wait_for(follow_until(watcher, latest), 60) for watcher in watchers))
        for watcher in watchers:
            names = {row["name"] for row in watcher.state["todos"].values()}
            assert {f"before-{i}" for i in range(INSTANCES)} | {f"after-{i}" for i in range(INSTANCES)} <= names
        for peer in watchers + writers:
            await peer.close()

    run(scenario())

    # The presence buses and the listeners report up; the state writers store the state again.
    until(lambda: all(metric(metrics(s), "patchsync_presence_bus_up") == 1 for s in servers), "the buses are back")
    until(lambda: all(healthz(s) == (200, "ok") for s in servers), "every instance is healthy")
    until(lambda: all(connections_by_role(postgres).get(role, 0) >= INSTANCES for role in ROLES),
          f"each instance has its four connections again: {connections_by_role(postgres)}")
    until(lambda: postgres.sql(f"SELECT state_version = version FROM {schema}.documents WHERE name = 'default'")
          == [["t"]], "documents.state caught up")
    for server in servers:
        log = server.log()
        assert "lost the connection" not in log, log
        # Each outage logged is logged as over. (Under load through a restart the store may log two:
        # one while the server shuts down and one while it starts, with a success in between.)
        assert log.count("PostgreSQL is unavailable") == log.count("PostgreSQL is available again") <= 2
