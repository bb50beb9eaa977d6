"""`patchsync validate SCHEMA INSTANCE`: the JSON-Schema-Test-Suite (draft 2020-12) run through
the command line, and the command's output and exit status.

The suite runs one process per schema group, its cases fed as JSON lines (`--lines`); the
suite's schemas use unknown keywords on purpose, hence `--ignore-unknown-keywords`. The cases
that fail must be exactly those docs/validation.md lists as skipped.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "Tests" / "JSONSchemaTests" / "Fixtures" / "json-schema-test-suite" / "draft2020-12"
DOCS = ROOT / "docs" / "validation.md"

ISSUE_SCHEMA = {
    "type": "object",
    "required": ["machines"],
    "properties": {
        "machines": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"enum": ["run", "stop", "alarm"]}, "count": {"type": "integer", "minimum": 0}},
            },
        }
    },
}


def run(binary, *args, stdin=None):
    return subprocess.run([binary, "validate", *args], capture_output=True, text=True, input=stdin, timeout=60)


def write_json(path, value):
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return str(path)


def skipped_in_docs():
    """The `file / group / case` names of the skipped-cases table in docs/validation.md."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Skipped test-suite cases", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))


def test_the_test_suite_through_the_cli(patchsync_bin, tmp_path):
    total, failed = 0, []
    for file in sorted(SUITE.glob("*.json")):
        for number, group in enumerate(json.loads(file.read_text(encoding="utf-8"))):
            schema = write_json(tmp_path / f"{file.stem}-{number}.schema.json", group["schema"])
            lines = tmp_path / f"{file.stem}-{number}.jsonl"
            lines.write_text("".join(json.dumps(case["data"]) + "\n" for case in group["tests"]), encoding="utf-8")
            result = run(patchsync_bin, "--lines", "--ignore-unknown-keywords", schema, str(lines))
            results = [json.loads(line) for line in result.stdout.splitlines()]
            assert result.returncode in (0, 1, 2), result.stderr
            for index, case in enumerate(group["tests"]):
                total += 1
                name = f"{file.stem} / {group['description']} / {case['description']}"
                if result.returncode == 2 or results[index]["valid"] != case["valid"]:
                    failed.append(name)
                elif not case["valid"]:
                    # Every refusal names a keyword.
                    assert results[index]["errors"] and all(re.search(r"\(\S+\)$", e) for e in results[index]["errors"])
    assert total == 1201
    assert set(failed) == skipped_in_docs()
    assert (total - len(failed)) / total >= 0.98


def test_valid_document_exits_0_silently(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", ISSUE_SCHEMA)
    instance = write_json(tmp_path / "i.json", {"machines": {"M3": {"status": "run", "count": 2}}})
    result = run(patchsync_bin, schema, instance)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_invalid_document_prints_every_failure_and_exits_1(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", ISSUE_SCHEMA)
    instance = write_json(tmp_path / "i.json", {"machines": {"M3": {"status": "jammed", "count": -1}, "M4": {}}})
    result = run(patchsync_bin, schema, instance)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        '/machines/M3/status: "jammed" is not one of "run", "stop", "alarm" (enum)',
        "/machines/M3/count: -1 is less than the minimum 0 (minimum)",
        '/machines/M4: required property "status" is missing (required)',
    ]


def test_instance_from_standard_input(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", ISSUE_SCHEMA)
    result = run(patchsync_bin, schema, "-", stdin='{"machines": 3}')
    assert result.returncode == 1
    assert result.stdout == "/machines: 3 is not an object (type)\n"
    assert run(patchsync_bin, schema, "-", stdin='{"machines": {}}').returncode == 0


def test_schema_that_does_not_compile_exits_2_with_its_pointer(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", {"properties": {"name": {"type": "string", "maxLenght": 3}}})
    instance = write_json(tmp_path / "i.json", {})
    result = run(patchsync_bin, schema, instance)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f'patchsync validate: {schema}: /properties/name/maxLenght: unknown keyword "maxLenght" (annotations of your own must start with x-)')
    # The lenient mode is only for third-party schemas, and says so in --help.
    assert run(patchsync_bin, "--ignore-unknown-keywords", schema, instance).returncode == 0


@pytest.mark.parametrize("schema_value", [
    {"$schema": "http://json-schema.org/draft-07/schema#"},
    {"$dynamicRef": "#meta"},
    {"$ref": "https://example.com/elsewhere.json"},
    {"pattern": "(?<=a)b"},
    {"$ref": "#"},
])
def test_refused_schemas_exit_2(patchsync_bin, tmp_path, schema_value):
    schema = write_json(tmp_path / "s.json", schema_value)
    result = run(patchsync_bin, schema, write_json(tmp_path / "i.json", 1))
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"patchsync validate: {schema}: /")


def test_usage_errors_exit_2(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", {})
    assert run(patchsync_bin, schema).returncode == 2
    assert run(patchsync_bin, "--no-such-option", schema, schema).returncode == 2
    assert run(patchsync_bin, schema, str(tmp_path / "missing.json")).returncode == 2
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert run(patchsync_bin, schema, str(tmp_path / "bad.json")).returncode == 2
    assert run(patchsync_bin, str(tmp_path / "bad.json"), schema).returncode == 2
    help_result = run(patchsync_bin, "--help")
    assert help_result.returncode == 0 and "ignore-unknown-keywords" in help_result.stdout


def test_json_lines_mode(patchsync_bin, tmp_path):
    schema = write_json(tmp_path / "s.json", {"type": "integer"})
    lines = tmp_path / "i.jsonl"
    lines.write_text('1\n"a"\n\n2.5\n', encoding="utf-8")
    result = run(patchsync_bin, "--lines", schema, str(lines))
    assert result.returncode == 1
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"line": 1, "valid": True, "errors": []},
        {"line": 2, "valid": False, "errors": [': "a" is not an integer (type)']},
        {"line": 4, "valid": False, "errors": [": 2.5 is not an integer (type)"]},
    ]


# Random documents against realistic schemas, checked by python's jsonschema (an independent
# draft 2020-12 implementation that passes the whole suite).
ORACLE_SCHEMAS = {
    "machines": {
        "type": "object",
        "required": ["line", "machines"],
        "additionalProperties": False,
        "properties": {
            "line": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^line-\\d+$"},
            "machines": {
                "type": "object", "maxProperties": 4, "propertyNames": {"pattern": "^M[0-9]$"},
                "additionalProperties": {"$ref": "#/$defs/machine"},
            },
            "tags": {"type": "array", "uniqueItems": True, "maxItems": 3, "items": {"type": "string"}},
        },
        "$defs": {
            "machine": {
                "type": "object", "required": ["status"], "unevaluatedProperties": False,
                "properties": {
                    "status": {"enum": ["run", "stop", "alarm"]},
                    "count": {"type": "integer", "minimum": 0, "exclusiveMaximum": 1000, "multipleOf": 1},
                    "alarms": {"type": "array", "items": {"type": "string"}, "contains": {"const": "jam"}, "maxContains": 1},
                },
                "if": {"properties": {"status": {"const": "alarm"}}},
                "then": {"required": ["alarms"]},
                "else": {"properties": {"alarms": {"maxItems": 0}}},
                "dependentSchemas": {"note": {"properties": {"note": {"type": "string"}}}},
            }
        },
    },
    "handover": {
        "type": "object",
        "properties": {
            "shift": {"enum": ["early", "late", "night"]},
            "checks": {
                "type": "array", "minItems": 1,
                "prefixItems": [{"const": "safety"}],
                "items": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "object", "required": ["done"],
                                                                      "properties": {"done": {"type": "boolean"}}}]},
                "unevaluatedItems": False,
            },
            "lead": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 2}]},
            "temperature": {"type": "number", "minimum": -20.5, "maximum": 60},
        },
        "dependentRequired": {"lead": ["shift"]},
        "patternProperties": {"^x-": {"not": {"type": "array"}}},
        "additionalProperties": {"type": "boolean"},
        "minProperties": 1,
    },
}
SAME_KEYWORD = {"type", "enum", "const", "required", "minimum", "maximum", "exclusiveMaximum", "minLength",
                "maxLength", "pattern", "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf",
                "dependentRequired", "uniqueItems", "maxContains", "contains", "oneOf", "anyOf", "not"}


def random_value(rng, depth=0):
    scalars = [None, True, False, 0, 1, -3, 7, 999, 1000, 2.5, -21, 60.0, "", "run", "alarm", "stop", "jam",
               "line-3", "line-x", "early", "safety", "abcdef", "M1", "ok"]
    if depth > 2 or rng.random() < 0.5:
        return rng.choice(scalars)
    if rng.random() < 0.5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["line", "machines", "tags", "status", "count", "alarms", "note", "M1", "M2", "Q7", "shift", "checks",
            "lead", "temperature", "done", "x-a", "flag"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def plausible(rng, name):
    """Mostly well-formed documents with a few random edits, so that both outcomes are common."""
    if name == "machines":
        document = {"line": "line-3", "machines": {"M1": {"status": "run", "count": 3},
                                                   "M2": {"status": "alarm", "alarms": ["jam", "oil"]}},
                    "tags": ["a"]}
    else:
        document = {"shift": "late", "checks": ["safety", "oil", {"done": True}], "lead": "Ann", "temperature": 21.5}
    for _ in range(rng.randrange(3)):
        target = document
        path = []
        while isinstance(target, (dict, list)) and target and rng.random() < 0.6:
            key = rng.choice(list(target.keys())) if isinstance(target, dict) else rng.randrange(len(target))
            if not isinstance(target[key], (dict, list)):
                break
            target = target[key]
        if isinstance(target, dict):
            key = rng.choice(list(target.keys()) + ["status", "count", "note", "M3", "x-b", "flag", "done"])
            if rng.random() < 0.2:
                target.pop(key, None)
            else:
                target[key] = random_value(rng)
        elif isinstance(target, list):
            if target and rng.random() < 0.5:
                target[rng.randrange(len(target))] = random_value(rng)
            else:
                target.append(random_value(rng))
    return document


@pytest.mark.parametrize("name", sorted(ORACLE_SCHEMAS))
def test_random_documents_agree_with_python_jsonschema(patchsync_bin, tmp_path, name):
    import random
    import jsonschema

    schema = ORACLE_SCHEMAS[name]
    oracle = jsonschema.Draft202012Validator(schema)
    rng = random.Random(21)
    documents = [plausible(rng, name) for _ in range(600)]
    lines = tmp_path / "documents.jsonl"
    lines.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    result = run(patchsync_bin, "--lines", write_json(tmp_path / "schema.json", schema), str(lines))
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(results) == len(documents), result.stderr
    outcomes = {True: 0, False: 0}
    for document, ours in zip(documents, results):
        theirs = list(oracle.iter_errors(document))
        assert ours["valid"] == (not theirs), (document, ours, [e.message for e in theirs])
        outcomes[ours["valid"]] += 1
        our_keywords = {re.search(r"\((\S+)\)$", e).group(1) for e in ours["errors"]}
        for error in theirs:
            # python's innermost error of each branch, where both name the same assertion.
            leaves = [error]
            while leaves[-1].context and leaves[-1].validator not in ("anyOf", "oneOf"):
                leaves.append(leaves[-1].context[0])
            if leaves[-1].validator in SAME_KEYWORD:
                assert leaves[-1].validator in our_keywords, (document, ours, error.message)
    assert outcomes[True] > 50 and outcomes[False] > 50, outcomes
