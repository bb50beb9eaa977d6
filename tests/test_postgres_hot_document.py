"""One document written on three instances at once (issue 25): commits queue on the document's row
lock instead of retrying each other. An instance killed while it holds the lock must not stop the
others, and the SQL inbox and the state writer keep working beside the locked commits.
A private cluster (tests/support/postgres.py), never a running one."""
import asyncio
import json
import os
import signal

from support.postgres import schema_of, sql_state
from support.protocol import Peer, add, fresh_full
from support.waiting import run, wait_for_async

# Ends a hung scenario; a bound on waiting, not a speed.
HANG_GUARD = 240


class Writer:
    """A session that adds rows one at a time (each waits for its Ack) until told to stop or its
    instance dies; `acked` holds the names acknowledged."""

    def __init__(self, url, label):
        self.url, self.label = url, label
        self.acked = []
        self.errors = []
        self.stopping = False
        self.task = None
        self.ended = None  # why the session ended early, if it did

    def start(self):
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        peer = await Peer.connect(self.url)
        number = 0
        try:
            while not self.stopping:
                name = f"{self.label}-{number}"
                number += 1
                reply = await peer.act(add(name))
                if reply["type"] == "Ack":
                    self.acked.append(name)
                else:
                    self.errors.append(reply)
        except Exception as error:
            self.ended = error  # the instance died under us, or closed the session
            return
        await peer.close()

    async def until_acked(self, count):
        def enough(acked):
            if acked < count and self.ended is not None:
                raise AssertionError(f"{self.label}'s session ended after {acked} Acks: {self.ended!r}")
            return acked >= count

        await wait_for_async(lambda: len(self.acked), enough, what=f"{self.label} has {count} Acks", interval=0.1)

    async def finish(self):
        self.stopping = True
        await self.task


def lock_holder(postgres):
    """The backend that holds a lock another backend waits for while it sits idle in its
    transaction (its client is not answering), or None."""
    rows = postgres.sql("""
        SELECT DISTINCT holder.pid FROM pg_stat_activity waiter
        CROSS JOIN LATERAL unnest(pg_blocking_pids(waiter.pid)) AS blocking (pid)
        JOIN pg_stat_activity holder ON holder.pid = blocking.pid
        WHERE waiter.wait_event_type = 'Lock' AND holder.state = 'idle in transaction'
          AND holder.query LIKE '%FOR UPDATE%'""")
    return int(rows[0][0]) if len(rows) == 1 else None


def row_names(state):
    return sorted(row["name"] for row in state["todos"].values())


def assert_events_gap_free(postgres, schema):
    count, latest = postgres.sql(
        f"SELECT count(*), coalesce(max(version), 0) FROM {schema}.events WHERE document = 'default'")[0]
    assert int(count) == int(latest), "versions are gap-free"
    return int(latest)


def test_an_instance_killed_holding_the_document_lock_does_not_stop_the_others(start_server, database, postgres):
    servers = [start_server(*database) for _ in range(3)]
    schema = schema_of(database)
    doomed = servers[0].process

    async def scenario():
        # Two writers on the instance to kill keep it committing, so that once stopped it holds
        # the lock (or takes it when its turn in PostgreSQL's queue comes).
        writers = [Writer(servers[0].ws, "a0"), Writer(servers[0].ws, "a1"),
                   Writer(servers[1].ws, "b"), Writer(servers[2].ws, "c")]
        for writer in writers:
            writer.start()
        for writer in writers:
            await writer.until_acked(10)

        holder = None
        for _ in range(40):
            os.kill(doomed.pid, signal.SIGSTOP)
            # The same holder three rounds running: the stopped instance (the others hold the
            # lock only while they reduce one batch).
            seen = []
            for _ in range(8):
                seen.append(await asyncio.to_thread(lock_holder, postgres))
                if len(seen) >= 3 and seen[-1] is not None and seen[-3:] == [seen[-1]] * 3:
                    holder = seen[-1]
                    break
                await asyncio.sleep(0.1)
            if holder is not None:
                break
            os.kill(doomed.pid, signal.SIGCONT)
            await asyncio.sleep(0.2)
        assert holder is not None, "the stopped instance was seen holding the document's lock"

        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        # PostgreSQL ends the dead client's transaction and releases the row...
        await wait_for_async(lambda: asyncio.to_thread(postgres.sql, f"SELECT 1 FROM pg_stat_activity WHERE pid = {holder}"),
                             lambda rows: not rows, what="the killed instance's backend ended", interval=0.1)
        # ... and the others go on.
        survivors = writers[2:]
        before = [len(writer.acked) for writer in survivors]
        for writer, count in zip(survivors, before):
            await writer.until_acked(count + 20)
        for writer in writers:
            await writer.finish()

        assert not any(writer.errors for writer in survivors), [writer.errors for writer in survivors]
        latest = assert_events_gap_free(postgres, schema)
        fulls = [await fresh_full(server.ws) for server in servers[1:]]
        assert fulls[0] == fulls[1] and fulls[0][1] == latest
        assert sql_state(postgres, schema) == (latest, fulls[0][0])
        names = row_names(fulls[0][0])
        assert len(names) == len(set(names)), "nothing applied twice"
        acked = {name for writer in writers for name in writer.acked}
        assert acked <= set(names), "nothing acknowledged is lost"
        # At most the killed instance's two actions in flight landed without their Acks.
        assert len(names) - len(acked) <= 2

    run(scenario(), guard=HANG_GUARD)


def test_inbox_rows_and_the_state_writer_keep_working_beside_locked_commits(start_server, database, postgres):
    servers = [start_server(*database) for _ in range(3)]
    schema = schema_of(database)
    inbox_rows = 30

    async def scenario():
        writers = [Writer(server.ws, label) for server, label in zip(servers, "abc")]
        for writer in writers:
            writer.start()
        for writer in writers:
            await writer.until_acked(5)
        for batch in range(3):
            values = ", ".join(f"('default', '{json.dumps(add(f'erp-{batch}-{number}'))}')"
                               for number in range(inbox_rows // 3))
            await asyncio.to_thread(postgres.sql, f"INSERT INTO {schema}.inbox (document, action) VALUES {values}")
            for writer in writers:
                await writer.until_acked(len(writer.acked) + 10)
        await wait_for_async(
            lambda: asyncio.to_thread(postgres.sql, f"SELECT count(*) FROM {schema}.inbox WHERE applied_at IS NULL"),
            lambda pending: pending == [["0"]], what="the inbox is drained while instances write", interval=0.1)
        for writer in writers:
            await writer.until_acked(len(writer.acked) + 10)
            await writer.finish()
        assert not any(writer.errors for writer in writers), [writer.errors for writer in writers]

        latest = assert_events_gap_free(postgres, schema)
        outcomes = postgres.sql(f"SELECT version, error_code FROM {schema}.inbox ORDER BY id")
        assert all(code == "" for _, code in outcomes), outcomes
        assert len({int(version) for version, _ in outcomes}) == inbox_rows, "each row applied once"
        state, version = await fresh_full(servers[1].ws)
        assert version == latest
        expected = sorted({name for writer in writers for name in writer.acked}
                          | {f"erp-{batch}-{number}" for batch in range(3) for number in range(inbox_rows // 3)})
        assert row_names(state) == expected
        # The state writer brings documents.state up to the latest version once writes stop.
        await wait_for_async(
            lambda: asyncio.to_thread(
                postgres.sql, f"SELECT state_version = version FROM {schema}.documents WHERE name = 'default'"),
            lambda rows: rows == [["t"]], what="documents.state reached the latest version", interval=0.1)
        stored = postgres.sql(f"SELECT state FROM {schema}.documents WHERE name = 'default'")[0][0]
        assert json.loads(stored) == state
        assert sql_state(postgres, schema) == (latest, state)

    run(scenario(), guard=HANG_GUARD)
