"""Large documents written straight into a data directory, so tests need not send 50,000 actions."""
import json
import random


def row_name(index, rng):
    """Row names like an operator's list: varied enough that deflate cannot shrink them to nothing."""
    words = ("check", "valve", "pump", "filter", "line", "press", "seal", "belt", "sensor", "oil")
    return f"{rng.choice(words)} {rng.choice(words)} {index} #{rng.getrandbits(32):08x}"


def large_state(rows, seed=7):
    rng = random.Random(seed)
    todos = {str(i): {"name": row_name(i, rng), "completed": i % 3 == 0} for i in range(1, rows + 1)}
    return {"name": f"{rows} rows", "todos": todos}


def write_document(data_dir, rows, name="default", version=1):
    """A snapshot at `version` holding `rows` rows and an empty log; returns the state."""
    state = large_state(rows)
    directory = data_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "snapshot.json").write_text(json.dumps({"version": version, "state": state}))
    (directory / "log.jsonl").write_text("")
    return state
