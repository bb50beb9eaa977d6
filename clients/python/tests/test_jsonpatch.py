"""The package's RFC 6902 applier against the public conformance suite (the project's copy in
Tests/JSONPatchTests/Fixtures, Apache-2.0, see its LICENSE.md) and a few focused cases."""
import copy
import json
from pathlib import Path

import pytest

from patchsync.jsonpatch import JsonPatchError, apply_patch, json_equal, parse_pointer

FIXTURES = Path(__file__).resolve().parents[3] / "Tests" / "JSONPatchTests" / "Fixtures"


def records():
    for name in ("tests.json", "spec_tests.json"):
        for number, record in enumerate(json.loads((FIXTURES / name).read_text())):
            if "patch" in record and not record.get("disabled"):
                yield pytest.param(record, id=f"{name}:{number}:{record.get('comment', '')[:40]}")


@pytest.mark.parametrize("record", records())
def test_conformance(record):
    before = copy.deepcopy(record["doc"])
    if "error" in record:
        with pytest.raises(JsonPatchError):
            apply_patch(record["doc"], record["patch"])
    else:
        result = apply_patch(record["doc"], record["patch"])
        assert json.dumps(result, sort_keys=True) == json.dumps(record["expected"], sort_keys=True)
    # Never in place: the state before a Patch stays as it was.
    assert json.dumps(record["doc"], sort_keys=True) == json.dumps(before, sort_keys=True)


def test_a_failing_operation_leaves_the_document_unchanged_and_names_its_index():
    doc = {"a": [1, 2], "b": {"c": 1}}
    with pytest.raises(JsonPatchError) as caught:
        apply_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/missing"}])
    assert caught.value.index == 1 and caught.value.code == "not_found"
    assert doc == {"a": [1, 2], "b": {"c": 1}}


def test_only_the_containers_on_the_path_are_copied():
    doc = {"left": {"x": 1}, "right": {"y": [1]}}
    after = apply_patch(doc, [{"op": "replace", "path": "/right/y/0", "value": 2}])
    assert after["left"] is doc["left"] and after["right"] is not doc["right"]
    assert doc["right"]["y"] == [1]


def test_json_equality_tells_booleans_from_numbers():
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    with pytest.raises(JsonPatchError) as caught:
        apply_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])
    assert caught.value.code == "test_failed"


@pytest.mark.parametrize("pointer,tokens", [("", []), ("/a~1b/~0c", ["a/b", "~c"]), ("/", [""])])
def test_pointers(pointer, tokens):
    assert parse_pointer(pointer) == tokens


@pytest.mark.parametrize("pointer", ["a", "/~2", "/x~", 3])
def test_bad_pointers(pointer):
    with pytest.raises(JsonPatchError):
        parse_pointer(pointer)


def test_leading_zero_and_non_ascii_digits_are_not_indexes():
    for token in ("01", "١"):
        with pytest.raises(JsonPatchError):
            apply_patch([1, 2], [{"op": "replace", "path": f"/{token}", "value": 0}])
