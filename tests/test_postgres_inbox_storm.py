"""The SQL inbox under a bulk INSERT (issue 19, item 4): 400 rows on a 5,000-row document, with
three instances. Each row is applied exactly once; a new session on another instance gets its
Full meanwhile (the latency is measured by bench/inbox_storm.py, not asserted here); an instance
stopped with SIGTERM during the storm exits, hands its claims back at once, and its claimed rows
are applied by the others."""
import asyncio
import json
import time

from support.inbox_storm import insert_storm, pending, seed_large_document, wait_until_applied
from support.metrics import metric, metrics
from support.postgres import schema_of
from support.waiting import run, wait_for

# 3,000 and 10,000 rows run in bench/inbox_storm.py; the debug build the tests use applies a few
# dozen rows a second on this loaded box.
ROWS = 400
SEEDED = 5000
CLOSE_TIMEOUT = 2


async def first_message(url):
    import websockets
    async with websockets.connect(url, max_size=None) as ws:
        return json.loads(await ws.recv())


def test_a_bulk_inbox_insert_is_applied_once_while_sessions_and_sigterm_are_served(
        patchsync_bin, start_server, database, postgres, tmp_path):
    schema = schema_of(database)
    seed_large_document(patchsync_bin, tmp_path / "seed", database, "storm", SEEDED)
    options = [*database, "--close-timeout", str(CLOSE_TIMEOUT)]
    applier, server, stopped = (start_server(*options) for _ in range(3))

    async def scenario():
        # Every instance has the document open, as in production.
        for instance in (applier, server, stopped):
            assert (await first_message(instance.ws + "/storm"))["type"] == "Full"
        inserting = insert_storm(postgres, schema, "storm", ROWS)
        while inserting.is_alive() or pending(postgres, schema) == 0:
            await asyncio.sleep(0.05)
            if not inserting.is_alive() and pending(postgres, schema) == 0:
                break
        fulls = []
        while pending(postgres, schema) > ROWS // 2 and len(fulls) < 5:
            started = time.monotonic()
            full = await first_message(server.ws + "/storm")
            assert full["type"] == "Full", full
            fulls.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
        return fulls

    fulls = run(scenario())
    # SIGTERM in the middle of the storm.
    started = time.monotonic()
    assert stopped.stop(timeout=CLOSE_TIMEOUT + 30) == 0
    exit_seconds = time.monotonic() - started
    wait_until_applied(postgres, schema, seconds=300)
    print(f"\nFull during the storm: {len(fulls)} sessions, max {max(fulls, default=0) * 1000:.0f} ms; "
          f"SIGTERM exit {exit_seconds:.2f} s")

    names = postgres.sql(f"SELECT action->'row'->>'name', count(*) FROM {schema}.events "
                         "WHERE document = 'storm' GROUP BY 1 HAVING count(*) > 1")
    assert names == [], "no row applied twice"
    assert postgres.sql(f"SELECT count(*) FROM {schema}.events WHERE document = 'storm'") == [[str(ROWS)]]
    assert postgres.sql(f"SELECT count(DISTINCT version), count(*) FROM {schema}.inbox "
                        "WHERE error_code IS NULL") == [[str(ROWS), str(ROWS)]]
    latest = postgres.sql(f"SELECT version FROM {schema}.documents WHERE name = 'storm'")
    assert latest == [[str(5 + ROWS)]]


def test_an_instance_stopped_mid_storm_hands_its_inbox_claims_back_at_once(start_server, database, postgres):
    """SIGTERM ends the instance's leases: the rows it claimed and did not apply, and its hold on
    their document, go to other instances now, not when the leases run out (15 s)."""
    schema = schema_of(database)
    stopped = start_server(*database, "--close-timeout", str(CLOSE_TIMEOUT))
    assert run(first_message(stopped.ws))["type"] == "Full"
    insert_storm(postgres, schema, "default", 2000).join()
    wait_for(lambda: pending(postgres, schema), lambda left: left < 2000, what="the storm is being applied")
    assert stopped.stop(timeout=CLOSE_TIMEOUT + 30) == 0
    assert pending(postgres, schema) > 0, "stopped in the middle of the storm"
    leases = postgres.sql(f"SELECT count(*) FROM {schema}.inbox WHERE claimed_until >= now()")
    assert leases == [["0"]], "no lease outlives the instance"


JOIN_ROWS = 300


def applied_here(server):
    return metric(metrics(server), "patchsync_inbox_actions_applied_total")


def test_a_join_on_either_instance_is_served_from_memory_while_the_storm_is_applied(
        patchsync_bin, start_server, database, postgres, tmp_path):
    """Neither the instance applying the inbox nor the one catching up with its commits makes a
    new session wait for the storm: its Full holds a version the storm has not reached the end
    of, and the Patches after it follow on without a gap (a Full served between two runs of
    events is exact). Each row is still applied once, in order."""
    schema = schema_of(database)
    seed_large_document(patchsync_bin, tmp_path / "seed", database, "storm", SEEDED)
    instances = [start_server(*database) for _ in range(2)]
    final = 5 + JOIN_ROWS

    async def follow(ws, version, seen):
        while version < final:
            message = json.loads(await ws.recv())
            if message["type"] == "Patch":
                # A session that lags gets several changes in one Patch (`from` says where it starts).
                assert message.get("from", message["version"] - 1) == version, (message, version, seen[-5:])
                version = message["version"]
                seen.append(version)
        return version

    async def scenario():
        import websockets
        watchers = []
        for instance in instances:
            ws = await websockets.connect(instance.ws + "/storm", max_size=None)
            full = json.loads(await ws.recv())
            assert (full["type"], full["version"]) == ("Full", 5)
            watchers.append((ws, asyncio.create_task(follow(ws, 5, []))))
        inserting = insert_storm(postgres, schema, "storm", JOIN_ROWS)
        while inserting.is_alive() or pending(postgres, schema) == JOIN_ROWS:
            await asyncio.sleep(0.05)
        joined = []
        for instance in sorted(instances, key=applied_here):  # the one catching up first
            ws = await websockets.connect(instance.ws + "/storm", max_size=None)
            full = json.loads(await ws.recv())
            left = pending(postgres, schema)
            assert full["type"] == "Full", full
            joined.append((full["version"], left))
            watchers.append((ws, asyncio.create_task(follow(ws, full["version"], []))))
        for ws, task in watchers:
            assert await task == final
            await ws.close()
        return joined

    # The debug build applies a few dozen rows a second on a loaded box.
    joined = asyncio.run(asyncio.wait_for(scenario(), 900))
    print(f"\njoins mid-storm (Full version, rows pending right after): {joined}")
    # Served while the storm was under way, not after it.
    assert all(version < final and left > 0 for version, left in joined), joined
    assert sum(applied_here(instance) for instance in instances) == JOIN_ROWS
    names = postgres.sql(f"SELECT action->'row'->>'name', count(*) FROM {schema}.events "
                         "WHERE document = 'storm' GROUP BY 1 HAVING count(*) > 1")
    assert names == [], "no row applied twice"
    assert postgres.sql(f"SELECT count(*), max(version) FROM {schema}.events WHERE document = 'storm'") == [
        [str(JOIN_ROWS), str(final)]]
