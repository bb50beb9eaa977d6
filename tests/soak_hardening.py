"""The hardening soak (issue 19): storms of what the outside attack sent, against one server,
with its resident memory sampled over time. `make soak SOAK_VARIANT=hardening` runs it; it is
not part of `make test`.

Storms (all at once, for --seconds):
- presence: sessions join, say Hello with names at the byte limit (64 four-byte emoji), with
  names over it (60 KB of combining accents, refused), move their Focus, and leave;
- ids: actions whose ids are at the 128-byte limit (remembered) and 60 KB (refused).
- inbox: bulk INSERTs of 500 rows into the SQL inbox, each applied before the next, with
  sessions joining meanwhile (the server then runs on a private PostgreSQL cluster, as in the
  tests; `--storms presence,ids` keeps it on files).
A storm is a coroutine `async def storm(server, stop, counts, rng)` that runs until `stop` is set.

It reports RSS every --sample seconds and fails when the last third's maximum exceeds the
first third's by more than --max-growth-mib (memory must stay flat under churn), or when a
refusal that should come does not.

    python tests/soak_hardening.py --seconds 120
"""
import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, ServerProcess  # noqa: E402
from support.inbox_storm import insert_storm  # noqa: E402
from support.postgres import PostgresCluster  # noqa: E402

LONG_NAME = "😀" * 64  # 256 bytes: the limit
OVERLONG_NAME = "e" + "\u0301" * 30_000  # one character, 60 KB: refused
LONG_ID = "i" * 128  # the limit
OVERLONG_ID = "i" * 60_000  # refused


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def replies(ws, count):
    """Reads until `count` Acks or Errors arrived; returns their codes (None for an Ack)."""
    codes = []
    while len(codes) < count:
        message = json.loads(await ws.recv())
        if message["type"] in ("Ack", "Error"):
            codes.append(message.get("code"))
    return codes


async def presence(server, stop, counts, rng):
    while not stop.is_set():
        async with websockets.connect(f"{server.ws}/churn{rng.randrange(3)}", max_size=None) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "Hello", "name": OVERLONG_NAME, "id": "too-long"}))
            await ws.send(json.dumps({"type": "Hello", "name": LONG_NAME, "id": "fits"}))
            for step in range(5):
                await ws.send(json.dumps({"type": "Focus", "focus": f"/todos/{step}" + "x" * 200}))
            codes = await replies(ws, 2)
            counts["hellos"] += 1
            if codes[0] != "invalid_action" or codes[1] is not None:
                counts["violations"].append(f"Hello replies {codes}")
            await asyncio.sleep(rng.random() * 0.2)


async def ids(server, stop, counts, rng):
    client = f"soak-{rng.randrange(10**6)}"
    async with websockets.connect(f"{server.ws}/ids?client={client}", max_size=None) as ws:
        await ws.recv()
        number = 0
        while not stop.is_set():
            number += 1
            await ws.send(json.dumps({"type": "ChangeName", "name": f"n{number}", "id": OVERLONG_ID}))
            await ws.send(json.dumps({"type": "ChangeName", "name": f"n{number}", "id": f"{number:09d}".ljust(128, "x")}))
            codes = await replies(ws, 2)
            counts["ids"] += 2
            if codes != ["invalid_action", None]:
                counts["violations"].append(f"id replies {codes}")


INBOX_ROWS = 500


async def inbox(server, stop, counts, rng):
    """Bulk INSERTs into the SQL inbox (issue 19, item 4), one document per copy of the storm:
    each INSERT of INBOX_ROWS rows is applied before the next, and a session joining meanwhile
    must get its Full while rows are still pending or just after."""
    postgres, schema = server.postgres, server.schema
    document = f"inbox{rng.randrange(10**6)}"
    while not stop.is_set():
        inserting = insert_storm(postgres, schema, document, INBOX_ROWS)
        await asyncio.to_thread(inserting.join)
        while not stop.is_set():
            try:
                async with websockets.connect(f"{server.ws}/{document}", max_size=None) as ws:
                    full = json.loads(await asyncio.wait_for(ws.recv(), 30))
            except (asyncio.TimeoutError, OSError, websockets.WebSocketException) as error:
                counts["violations"].append(f"inbox: no Full during the storm ({error!r})")
                break
            if full["type"] != "Full":
                counts["violations"].append(f"inbox: {full['type']} instead of a Full")
            left = await asyncio.to_thread(postgres.sql, f"SELECT count(*) FROM {schema}.inbox "
                                           f"WHERE document = '{document}' AND applied_at IS NULL")
            if left == [["0"]]:
                break
            await asyncio.sleep(0.5)
        counts["inbox"] += INBOX_ROWS
    twice = await asyncio.to_thread(postgres.sql, f"SELECT count(*) FROM (SELECT version FROM {schema}.inbox "
                                    f"WHERE document = '{document}' AND version IS NOT NULL GROUP BY version "
                                    "HAVING count(*) > 1) AS repeated")
    if twice != [["0"]]:
        counts["violations"].append(f"inbox: {twice[0][0]} versions hold more than one row")


STORMS = {"presence": presence, "ids": ids, "inbox": inbox}


async def soak(binary, seconds, sample, max_growth_mib, storms, parallel):
    with tempfile.TemporaryDirectory(prefix="patchsync-soak-hardening-") as scratch:
        data = Path(scratch) / "data"
        data.mkdir()
        # The inbox storm needs the server on PostgreSQL; the other storms run there as well then.
        postgres = PostgresCluster() if "inbox" in storms else None
        database = ["--database", postgres.url, "--database-schema", postgres.new_schema()] if postgres else []
        server = ServerProcess(binary, data, ["--log-level", "warning", *database]).start()
        server.postgres, server.schema = postgres, database[-1] if database else None
        try:
            stop = asyncio.Event()
            counts = {"hellos": 0, "ids": 0, "inbox": 0, "violations": []}
            rng = random.Random(19)
            tasks = [asyncio.create_task(STORMS[name](server, stop, counts, random.Random(rng.random())))
                     for name in storms for _ in range(parallel)]
            samples = []
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                samples.append((round(time.monotonic() - started), round(rss_mib(server.process.pid), 1)))
                print(f"t={samples[-1][0]:4d} s  RSS {samples[-1][1]:6.1f} MiB  hellos {counts['hellos']}  ids {counts['ids']}"
                      f"  inbox rows {counts['inbox']}",
                      flush=True)
                await asyncio.sleep(sample)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            server.stop()
            if postgres:
                postgres.close()
    third = max(1, len(samples) // 3)
    first, last = max(m for _, m in samples[:third]), max(m for _, m in samples[-third:])
    if last - first > max_growth_mib:
        counts["violations"].append(f"RSS grew from {first} to {last} MiB (bound {max_growth_mib} MiB)")
    return {"seconds": seconds, "storms": storms, "rss_mib": samples, "hellos": counts["hellos"],
            "ids": counts["ids"], "inbox_rows": counts["inbox"], "violations": counts["violations"][:20]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", default=os.environ.get("PATCHSYNC_BIN", str(ROOT / ".build/debug/patchsync")))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--sample", type=float, default=10)
    parser.add_argument("--max-growth-mib", type=float, default=20)
    parser.add_argument("--storms", default=",".join(STORMS), help="comma-separated: " + ", ".join(STORMS))
    parser.add_argument("--parallel", type=int, default=4, help="copies of each storm")
    args = parser.parse_args()
    figures = asyncio.run(soak(args.patchsync, args.seconds, args.sample, args.max_growth_mib,
                               args.storms.split(","), args.parallel))
    print(json.dumps(figures, indent=2))
    sys.exit(1 if figures["violations"] else 0)


if __name__ == "__main__":
    main()
