"""SQL `apply_patch` (migration 7) against RFC 6902: every case of the json-patch-tests suite
(Tests/JSONPatchTests/Fixtures, with its licence) and 400 random `patchsync diff` outputs, applied
by PostgreSQL and compared with what the Swift applier gives. The invalid cases must raise an error.
"""
import json
import subprocess

import pytest

from support.json_files import FIXTURES, write_json
from support.postgres import SqlError, schema_of
from support.random_json import random_pairs


def equal(x, y):
    """JSON equality as RFC 6902 `test` has it: numbers by value (jsonb writes 1e2 as 100), true is
    not 1, arrays in order, objects by members."""
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return x == y
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(equal(a, b) for a, b in zip(x, y))
    return x == y


def has_nul(value):
    """jsonb cannot hold U+0000 (the server refuses such strings before they reach a store)."""
    return "\\u0000" in json.dumps(value)


def suite(valid):
    cases = []
    for name in ("tests.json", "spec_tests.json"):
        for index, case in enumerate(json.loads((FIXTURES / name).read_text(encoding="utf-8"))):
            if case.get("disabled") or "doc" not in case or "patch" not in case:
                continue
            if ("error" not in case) == valid:
                cases.append((f"{name}#{index}", case))
    return cases


def literal(value):
    return "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'::jsonb"


def apply_in_sql(postgres, schema, pairs):
    """Each (doc, patch) through `apply_patch` in one statement: the result, or the error text."""
    postgres.sql(f"""
        CREATE OR REPLACE FUNCTION {schema}.try_apply_patch(doc jsonb, ops jsonb) RETURNS jsonb
        LANGUAGE plpgsql AS $$
        BEGIN
            RETURN jsonb_build_object('result', {schema}.apply_patch(doc, ops));
        EXCEPTION WHEN OTHERS THEN
            RETURN jsonb_build_object('error', SQLERRM, 'state', SQLSTATE);
        END $$""")
    rows = ", ".join(f"({number}, {literal(doc)}, {literal(patch)})" for number, (doc, patch) in enumerate(pairs))
    answers = postgres.sql(
        f"SELECT n, {schema}.try_apply_patch(doc, patch)::text FROM (VALUES {rows}) AS cases (n, doc, patch) ORDER BY n")
    return [json.loads(answer) for _, answer in answers]


@pytest.fixture
def schema(start_server, database):
    """A schema migrated by a server (then stopped): the functions as production has them."""
    server = start_server(*database)
    server.stop()
    return schema_of(database)


def test_every_valid_conformance_case_gives_the_expected_document(postgres, schema):
    cases = suite(valid=True)
    assert len(cases) == 74
    answers = apply_in_sql(postgres, schema, [(case["doc"], case["patch"]) for _, case in cases])
    failures = [(name, answer) for (name, case), answer in zip(cases, answers)
                if "result" not in answer or ("expected" in case and not equal(answer["result"], case["expected"]))]
    assert failures == []


def test_every_invalid_conformance_case_raises_an_error(postgres, schema):
    cases = suite(valid=False)
    assert len(cases) == 34
    answers = apply_in_sql(postgres, schema, [(case["doc"], case["patch"]) for _, case in cases])
    accepted = [(name, case["error"], answer) for (name, case), answer in zip(cases, answers) if "error" not in answer]
    assert accepted == []
    assert {answer["state"] for answer in answers} == {"22023"}, "one SQLSTATE, invalid_parameter_value"


def test_an_error_names_the_operation_and_leaves_the_stored_state_alone(postgres, schema, start_server, database):
    postgres.sql(f"INSERT INTO {schema}.documents (name, version, state, state_version) "
                 """VALUES ('kept', 0, '{"todos": [1, 2]}', 0)""")
    with pytest.raises(SqlError, match=r'operation 1 \(path "/todos/5"\): no array index "5" in an array of 3'):
        postgres.sql(f"""UPDATE {schema}.documents SET state = {schema}.apply_patch(state,
            '[{{"op": "add", "path": "/todos/-", "value": 3}}, {{"op": "remove", "path": "/todos/5"}}]')
            WHERE name = 'kept'""")
    assert postgres.sql(f"SELECT state::text FROM {schema}.documents WHERE name = 'kept'") == [['{"todos": [1, 2]}']]


def test_random_diffs_apply_in_sql_as_in_swift(patchsync_bin, postgres, schema, tmp_path):
    pairs = [(a, b) for a, b in random_pairs(700, seed=6902) if not has_nul(a) and not has_nul(b)][:400]
    assert len(pairs) == 400
    patches = []
    for a, b in pairs:
        diff = subprocess.run(
            [patchsync_bin, "diff", write_json(tmp_path / "a.json", a), write_json(tmp_path / "b.json", b)],
            capture_output=True, text=True, timeout=60)
        assert diff.returncode == 0, diff.stderr
        patches.append(json.loads(diff.stdout))
    # What the Swift applier makes of each patch.
    swift = []
    for (a, _), patch in zip(pairs, patches):
        applied = subprocess.run(
            [patchsync_bin, "apply", write_json(tmp_path / "a.json", a), write_json(tmp_path / "p.json", patch)],
            capture_output=True, text=True, timeout=60)
        assert applied.returncode == 0, applied.stderr
        swift.append(json.loads(applied.stdout))
    answers = apply_in_sql(postgres, schema, [(a, patch) for (a, _), patch in zip(pairs, patches)])
    differing = [(a, patch, answer) for (a, _), patch, expected, answer in zip(pairs, patches, swift, answers)
                 if "result" not in answer or not equal(answer["result"], expected)]
    assert differing == []
    top_level_array_adds = sum(1 for (a, _), patch in zip(pairs, patches)
                               if isinstance(a, list) and any(op["op"] == "add" and op["path"].count("/") == 1
                                                              for op in patch))
    assert top_level_array_adds >= 10, "the case the first apply_patch got wrong is covered"
