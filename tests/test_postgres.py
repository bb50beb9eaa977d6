"""patchsync on PostgreSQL: several instances sharing one database, the database as a reader and
writer, and the failures the issue lists. A private cluster (tests/support/postgres.py), never a running one."""
import asyncio
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from support.http_api import healthz
from support.metrics import metric, metrics
from support.postgres import SqlError, schema_of, sql_state
from support.protocol import Peer, add, covered_versions, follow_until, fresh_full
from support.waiting import run, wait_for

# Rounds of 0.1 s to wait for something that must happen; a bound on waiting, not a speed.
WAIT_ROUNDS = 300


def test_three_instances_converge_and_sql_sees_the_same_state(start_server, database, postgres):
    servers = [start_server(*database) for _ in range(3)]
    per_writer = 15

    async def scenario():
        watchers = [await Peer.connect(server.ws) for server in servers]
        writers = [await Peer.connect(server.ws) for server in servers]

        async def write(index, writer):
            acked = []
            for number in range(per_writer):
                reply = await writer.act(add(f"w{index}-{number}"))
                assert reply["type"] == "Ack", reply
                acked.append(reply["version"])
            return acked

        acks = await asyncio.gather(*(write(i, w) for i, w in enumerate(writers)))
        total = 3 * per_writer
        assert sorted(v for versions in acks for v in versions) == list(range(1, total + 1))
        seen = [[] for _ in watchers]
        await asyncio.gather(*(follow_until(w, total, s) for w, s in zip(watchers, seen)))
        for versions in seen:
            assert versions == list(range(1, total + 1)), "each instance delivers every version once, in order"
        assert all(w.state == watchers[0].state for w in watchers)
        names = sorted(row["name"] for row in watchers[0].state["todos"].values())
        assert names == sorted(f"w{i}-{n}" for i in range(3) for n in range(per_writer))
        fulls = [await fresh_full(server.ws) for server in servers]
        assert all(full == (watchers[0].state, total) for full in fulls)
        for peer in watchers + writers:
            await peer.close()
        return watchers[0].state, total

    state, version = run(scenario())
    schema = schema_of(database)
    assert sql_state(postgres, schema) == (version, state)
    # documents.state lags by a bounded amount: once writes stop it catches up on its own.
    wait_for(lambda: postgres.sql(f"SELECT state_version FROM {schema}.documents")[0][0], lambda seen: seen == str(version),
             "documents.state caught up with the last version")
    assert json.loads(postgres.sql(f"SELECT state FROM {schema}.documents")[0][0]) == state
    for server in servers:
        samples = metrics(server)
        assert metric(samples, "patchsync_database_up") == 1
        assert metric(samples, "patchsync_database_notifications_total") > 0
        assert metric(samples, "patchsync_database_commit_seconds_count") > 0
        assert metric(samples, "patchsync_log_fsync_seconds_count") is None


def test_documents_state_keeps_within_its_bound_while_actions_continue(start_server, database, postgres):
    """The state is rewritten beside the commits, yet never 100 versions behind (the default)
    while actions go on: first 25 a second, where only the time bound (1 s) rewrites it before
    the 50th version, then 200 a second; meanwhile SQL samples how far the state is behind.
    How many milliseconds it lags is a timing, which a loaded box stretches: no assertion here."""
    server = start_server(*database)
    schema = schema_of(database)
    phases = ((60, 25), (400, 200))
    total = sum(count for count, _ in phases)
    samples = []
    done = threading.Event()

    def versions():
        rows = postgres.sql(f"SELECT version, state_version FROM {schema}.documents WHERE name = 'default'")
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def sample():
        # The latest version and the version of the stored state.
        while not done.is_set() and (not samples or samples[-1][0] < total):
            latest = versions()
            if latest:
                samples.append((*latest, None))

    async def stored_before_the_version_bound():
        # Written by the time bound: the version bound alone waits for 50 versions (half of 100).
        for _ in range(WAIT_ROUNDS):
            latest = await asyncio.to_thread(versions)
            if latest and 1 < latest[1] < 50:
                return latest
            await asyncio.sleep(0.1)
        return await asyncio.to_thread(versions)

    async def scenario():
        writer = await Peer.connect(server.ws)
        # The writer's own Patches, left unread, would pile up.
        draining = asyncio.create_task(follow_until(writer, total))
        rewritten = None
        for phase, (count, rate) in enumerate(phases):
            start = time.monotonic()
            for number in range(count):
                await asyncio.sleep(max(0.0, start + number / rate - time.monotonic()))
                await writer.send(add(f"{phase}-{number}"))
                if phase == 0 and number == 39:
                    # 40 actions at 25 a second take 1.6 s or more.
                    rewritten = await stored_before_the_version_bound()
                    start = time.monotonic() - (number + 1) / rate
        await draining
        await writer.close()
        return await fresh_full(server.ws), rewritten

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        (state, version), rewritten = run(scenario())
    finally:
        done.set()
        thread.join()
    assert version == total
    assert rewritten is not None and 1 < rewritten[1] < 50, f"the time bound never rewrote the state: {rewritten}"
    assert len(samples) > 20, "SQL sampled the lag while the actions went on"
    assert max(latest - stored for latest, stored, _ in samples) < 100
    assert len({stored for _, stored, _ in samples}) > 5, "the state was rewritten as the actions went on"
    # The state written beside the commits is the state at its state_version: with the events
    # after it, SQL finds exactly the state the sessions hold.
    assert sql_state(postgres, schema) == (version, state)
    # Migration 4: this server has lz4, and the state is compressed with it.
    assert postgres.sql(f"SELECT attcompression FROM pg_attribute WHERE attrelid = '{schema}.documents'::regclass "
                        "AND attname = 'state'") == [["l"]]


def test_the_events_table_refuses_update_and_delete(start_server, database, postgres):
    server = start_server(*database)
    schema = schema_of(database)

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("kept")))["type"] == "Ack"
        await peer.close()

    run(scenario())
    for statement in (f"UPDATE {schema}.events SET action = '{{}}'", f"DELETE FROM {schema}.events",
                      f"TRUNCATE {schema}.events"):
        with pytest.raises(SqlError, match="immutable"):
            postgres.sql(statement)
    assert postgres.sql(f"SELECT count(*) FROM {schema}.events") == [["1"]]


def test_strings_with_nul_are_refused_in_both_stores(server):
    async def scenario():
        peer = await Peer.connect(server.ws)
        reply = await peer.act(add("a\u0000b"))
        assert (reply["type"], reply["code"]) == ("Error", "invalid_action")
        assert peer.version == 0
        await peer.close()

    run(scenario())


def test_an_instance_killed_mid_stream_loses_nothing_it_acknowledged(start_server, database):
    first, second = start_server(*database), start_server(*database)

    async def scenario():
        watcher = await Peer.connect(second.ws)
        writer = await Peer.connect(first.ws)
        acked = []

        async def write():
            try:
                for number in range(200):
                    reply = await writer.act(add(f"r{number}"))
                    if reply["type"] == "Ack":
                        acked.append(reply["version"])
            except Exception:
                pass  # the instance died under us

        task = asyncio.create_task(write())
        while len(acked) < 20:
            await asyncio.sleep(0.01)
        first.kill()
        await task
        # The other instance carries on, and holds every acknowledged action.
        other = await Peer.connect(second.ws)
        for number in range(5):
            assert (await other.act(add(f"after{number}")))["type"] == "Ack"
        await follow_until(watcher, other.version)
        assert max(acked) <= other.version
        names = {row["name"] for row in watcher.state["todos"].values()}
        assert {f"r{number}" for number in range(len(acked))} <= names
        # The killed instance restarts and catches up.
        first.start()
        assert await fresh_full(first.ws) == (watcher.state, watcher.version)
        for peer in (watcher, writer, other):
            await peer.close()

    run(scenario())


def test_a_postgres_restart_mid_stream_refuses_then_recovers(start_server, database, postgres):
    server = start_server(*database)

    async def scenario():
        watcher = await Peer.connect(server.ws)
        writer = await Peer.connect(server.ws)
        assert (await writer.act(add("before")))["type"] == "Ack"
        postgres.stop()
        try:
            reply = await writer.act(add("during"))
            assert (reply["type"], reply["code"]) == ("Error", "storage_unavailable")
            status, body = healthz(server)
            assert status == 503 and "PostgreSQL" in body
            assert metric(metrics(server), "patchsync_database_up") == 0
        finally:
            postgres.start()
        deadline = time.monotonic() + 60
        while True:
            reply = await writer.act(add("after"))
            if reply["type"] == "Ack" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert reply["type"] == "Ack", reply
        await follow_until(watcher, reply["version"])
        assert sorted(row["name"] for row in watcher.state["todos"].values()) == ["after", "before"]
        assert healthz(server) == (200, "ok")
        for peer in (watcher, writer):
            await peer.close()

    run(scenario())
    assert server.log().count("PostgreSQL is unavailable") == 1, "an outage is logged once, not per action"


def test_a_terminated_listener_is_healed_by_the_periodic_check(start_server, database, postgres):
    writer_instance = start_server(*database)
    reader_instance = start_server(*database, "--database-check-interval", "1")

    async def scenario():
        watcher = await Peer.connect(reader_instance.ws)
        writer = await Peer.connect(writer_instance.ws)
        assert (await writer.act(add("one")))["type"] == "Ack"
        await follow_until(watcher, 1)
        postgres.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
        assert (await writer.act(add("two")))["type"] == "Ack"
        await asyncio.wait_for(follow_until(watcher, 2), 60)
        assert sorted(row["name"] for row in watcher.state["todos"].values()) == ["one", "two"]
        for peer in (watcher, writer):
            await peer.close()

    run(scenario())


def test_the_inbox_applies_each_row_exactly_once_with_two_instances(start_server, database, postgres):
    servers = [start_server(*database), start_server(*database)]
    schema = schema_of(database)
    rows = 20

    async def scenario():
        watchers = [await Peer.connect(server.ws) for server in servers]
        values = ", ".join(
            f"('default', '{json.dumps(add(f'erp-{number}'))}')" for number in range(rows))
        postgres.sql(f"INSERT INTO {schema}.inbox (document, action) VALUES {values}")
        postgres.sql(f"""INSERT INTO {schema}.inbox (document, action) VALUES
            ('default', '{{"type":"Remove","index":-1}}'), ('default', '{{"type":"Explode"}}')""")
        deadline = time.monotonic() + 60
        while postgres.sql(f"SELECT count(*) FROM {schema}.inbox WHERE applied_at IS NULL") != [["0"]]:
            assert time.monotonic() < deadline, "the inbox is drained"
            await asyncio.sleep(0.1)
        await asyncio.gather(*(follow_until(watcher, rows) for watcher in watchers))
        for watcher in watchers:
            names = sorted(row["name"] for row in watcher.state["todos"].values())
            assert names == sorted(f"erp-{number}" for number in range(rows)), "each row applied exactly once"
            assert watcher.version == rows
        for watcher in watchers:
            await watcher.close()

    run(scenario())
    wait_for(lambda: sum(metric(metrics(server), "patchsync_inbox_actions_applied_total") for server in servers),
             lambda applied: applied == rows, f"{rows} inbox actions counted as applied")
    outcomes = postgres.sql(f"SELECT version, error_code FROM {schema}.inbox ORDER BY id")
    assert sorted(int(version) for version, _ in outcomes[:rows]) == list(range(1, rows + 1))
    assert [code for _, code in outcomes[rows:]] == ["invalid_index", "unknown_type"]
    with pytest.raises(SqlError, match="check constraint"):
        postgres.sql(f"INSERT INTO {schema}.inbox (document, action) VALUES ('no such/name', '{{}}')")


def write_file_store_document(directory):
    """A document as the file store leaves it after compaction: a snapshot at version 5 and a log
    with versions 6 and 7."""
    document = directory / "moved"
    document.mkdir()
    (document / "snapshot.json").write_text(json.dumps(
        {"version": 5, "state": {"name": "plant", "todos": {"1": {"name": "old", "completed": True}}}}))
    events = [
        {"version": 6, "time": 1700000000000, "action": add("six"),
         "ops": [{"op": "add", "path": "/todos/2", "value": {"name": "six", "completed": False}}]},
        {"version": 7, "time": 1700000001000, "action": add("seven"),
         "ops": [{"op": "add", "path": "/todos/3", "value": {"name": "seven", "completed": False}}]},
    ]
    (document / "log.jsonl").write_text("".join(json.dumps(event) + "\n" for event in events))


def test_import_copies_file_store_documents_and_refuses_to_overwrite(
        patchsync_bin, start_server, data_dir, database, postgres):
    file_server = start_server()

    async def write_default():
        peer = await Peer.connect(file_server.ws)
        for name in ("a", "b", "c"):
            assert (await peer.act(add(name)))["type"] == "Ack"
        await peer.close()
        return await fresh_full(file_server.ws)

    before = run(write_default())
    file_server.stop()
    write_file_store_document(data_dir)

    command = [patchsync_bin, "import", "--data", str(data_dir), *database]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["imported default at version 3", "imported moved at version 7"]

    server = start_server(*database)

    async def check():
        assert await fresh_full(server.ws) == before
        resumed = await websockets_resume(server.ws + "/moved?since=5", 7)
        assert all(message["type"] == "Patch" for message in resumed)
        assert covered_versions(resumed) == [6, 7]

    run(check())
    status, body = http_json(server, "GET", "/api/docs/moved/history?since=0")
    assert (status, [event["version"] for event in body["events"]]) == (200, [6, 7])
    status, body = http_json(server, "POST", "/api/docs/moved/revert", {"version": 6})
    assert (status, body) == (200, {"version": 8})
    status, body = http_json(server, "GET", "/api/docs/moved")
    assert sorted(row["name"] for row in body["state"]["todos"].values()) == ["old", "six"]
    status, body = http_json(server, "POST", "/api/docs/moved/revert", {"version": 4})
    assert status == 404 and "older than the retained history" in body["error"]["message"], (status, body)

    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "default" in again.stderr
    # It says what to do: a schema of its own, as serve would then be told.
    assert "'default', 'moved' already exist in schema" in again.stderr, again.stderr
    assert "--database-schema NAME" in again.stderr and "DROP SCHEMA" in again.stderr

    elsewhere = postgres.new_schema()
    moved = subprocess.run([patchsync_bin, "import", "--data", str(data_dir), "--database", postgres.url],
                           env={**os.environ, "PATCHSYNC_DATABASE_SCHEMA": elsewhere},
                           capture_output=True, text=True, timeout=60)
    assert moved.returncode == 0, moved.stderr
    assert postgres.sql(f"SELECT name, version FROM {elsewhere}.documents ORDER BY name") == [["default", "3"], ["moved", "7"]]


async def websockets_resume(url, latest):
    """The messages a resuming session gets: all of them until one brings version `latest`
    (however long a loaded box takes), then any more that follow within a second."""
    import websockets
    messages = []
    async with websockets.connect(url) as ws:
        while not messages or messages[-1].get("version", -1) < latest:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
        try:
            while True:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 1)))
        except asyncio.TimeoutError:
            return messages


def http_json(server, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.http + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def opened_sessions(server, document):
    """How many sessions on `document` the instance's log says it opened."""
    return len(re.findall(rf" document={re.escape(document)} .*\] session opened$", server.log(), re.M))


def test_nginx_keeps_each_document_on_one_instance_and_fails_over(start_server, database, tmp_path):
    """deploy/nginx-instances.conf hashes the document name: every session of a document lands on
    the same instance, the documents spread over the instances, and when that instance is down a
    page reconnecting through nginx resumes on another one."""
    from support.nginx import Nginx
    servers = [start_server(*database) for _ in range(3)]
    proxy = Nginx(tmp_path, *(f"127.0.0.1:{server.port}" for server in servers), site_file="nginx-instances.conf")
    documents = [f"line-{number}" for number in range(8)]
    try:
        async def join_each(count):
            for name in documents:
                for _ in range(count):
                    await (await Peer.connect(proxy.url(f"/ws/{name}", scheme="ws"))).close()

        run(join_each(3))
        owners = {}
        for name in documents:
            counts = [opened_sessions(server, name) for server in servers]
            assert sorted(counts) == [0, 0, 3], f"{name}: sessions per instance {counts}"
            owners[name] = servers[counts.index(3)]
        assert len(set(map(id, owners.values()))) > 1, "the documents spread over the instances"

        name = documents[0]
        url = proxy.url(f"/ws/{name}", scheme="ws")

        async def scenario():
            writer = await Peer.connect(url)
            assert (await writer.act(add("first")))["type"] == "Ack"
            version = writer.version
            await writer.close()
            owners[name].stop()
            writer = await Peer.connect(url)
            for row_name in ("second", "third"):
                assert (await writer.act(add(row_name)))["type"] == "Ack"
            resumed = await websockets_resume(f"{url}?since={version}", version + 2)
            assert all(message["type"] == "Patch" for message in resumed)
            assert covered_versions(resumed) == [version + 1, version + 2]
            await writer.close()

        run(scenario())
    finally:
        proxy.stop()


def test_the_systemd_unit_serves_from_patchsync_database(patchsync_bin, database, postgres, tmp_path):
    """The unit's own command line and environment, with PATCHSYNC_DATABASE as /etc/default/patchsync would set it."""
    from support.deploy_unit import unit_environment, unit_settings
    command = unit_settings()["ExecStart"][0].split()
    assert command == ["/usr/local/bin/patchsync", "serve"]
    command = [patchsync_bin] + command[1:]
    schema = schema_of(database)
    environment = unit_environment(
        f"PATCHSYNC_PORT=0\nPATCHSYNC_DATA={tmp_path / 'unused'}\n"
        f"PATCHSYNC_DATABASE={postgres.url}\nPATCHSYNC_DATABASE_SCHEMA={schema}\n")
    environment["PATH"] = "/usr/bin:/bin"
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        port = int(line.strip().rsplit(":", 1)[1])

        async def scenario():
            peer = await Peer.connect(f"ws://127.0.0.1:{port}/ws")
            assert (await peer.act(add("from systemd")))["type"] == "Ack"
            await peer.close()

        run(scenario())
        assert postgres.sql(f"SELECT version FROM {schema}.documents WHERE name = 'default'") == [["1"]]
        assert not (tmp_path / "unused" / "default").exists(), "nothing went to --data"
    finally:
        process.kill()
        process.wait()


def test_a_connection_lost_during_commit_is_not_acknowledged(start_server, database, postgres):
    server = start_server(*database)
    schema = schema_of(database)

    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act(add("before")))["type"] == "Ack"
        # A deferred trigger makes COMMIT wait, long enough to cut the connection under it.
        postgres.sql(f"""
            CREATE FUNCTION {schema}.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON {schema}.events
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.slow_commit()""")
        reply = asyncio.create_task(peer.act(add("cut")))
        deadline = time.monotonic() + 60
        while not postgres.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"):
            assert time.monotonic() < deadline, "the COMMIT reached the trigger"
            await asyncio.sleep(0.05)
        reply = await reply
        assert (reply["type"], reply["code"]) == ("Error", "storage_unavailable")
        postgres.sql(f"DROP TRIGGER slow_commit ON {schema}.events")
        assert (await peer.act(add("after")))["type"] == "Ack"
        names = sorted(row["name"] for row in peer.state["todos"].values())
        assert names == ["after", "before"]
        assert await fresh_full(server.ws) == (peer.state, 2)
        await peer.close()

    run(scenario())
