"""The JSON Patch conformance fixtures the Swift tests use, and JSON written to a file as the CLI reads it."""
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent.parent / "Tests" / "JSONPatchTests" / "Fixtures"


def write_json(path, value):
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return str(path)
