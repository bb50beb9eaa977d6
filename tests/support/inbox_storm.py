"""An inbox storm for the tests and bench/inbox_storm.py: a document of many rows imported into a
schema, then one bulk INSERT of many inbox rows (issue 19, item 4)."""
import json
import subprocess
import threading
import time
from pathlib import Path


def seed_large_document(binary, data_dir, database, name, rows):
    """A file-store document of `rows` rows (a snapshot at version 5), copied into the database
    with `patchsync import`."""
    directory = Path(data_dir) / name
    directory.mkdir(parents=True)
    todos = {str(i): {"name": f"seed row {i}", "completed": i % 3 == 0} for i in range(1, rows + 1)}
    (directory / "snapshot.json").write_text(json.dumps({"version": 5, "state": {"name": "plant", "todos": todos}}))
    (directory / "log.jsonl").write_text("")
    result = subprocess.run([binary, "import", "--data", str(data_dir), *database],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def storm_action(number):
    return {"type": "Add", "row": {"name": f"storm-{number}", "completed": False}}


def insert_storm(postgres, schema, document, rows):
    """One INSERT statement of `rows` inbox rows, in a thread; returns the thread."""
    values = ", ".join(f"('{document}', '{json.dumps(storm_action(n))}')" for n in range(rows))
    thread = threading.Thread(
        target=postgres.sql, args=(f"INSERT INTO {schema}.inbox (document, action) VALUES {values}",), daemon=True)
    thread.start()
    return thread


def pending(postgres, schema):
    return int(postgres.sql(f"SELECT count(*) FROM {schema}.inbox WHERE applied_at IS NULL")[0][0])


def wait_until_applied(postgres, schema, seconds):
    deadline = time.monotonic() + seconds
    while (left := pending(postgres, schema)) > 0:
        assert time.monotonic() < deadline, f"{left} inbox rows still pending"
        time.sleep(0.5)
