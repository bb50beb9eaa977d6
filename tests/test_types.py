"""Declared document types (`--types DIR`, issue 21): writes are raw Patches whose result must
pass the type's JSON Schema. python's `jsonschema` is the independent oracle: every random patch
it calls valid is acknowledged, every one it calls invalid is refused with `invalid_patch`
naming a JSON Pointer and the failing keyword, and nothing of a refused patch is kept."""
import asyncio
import copy
import json
import random
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import jsonpatch
import jsonpointer
import jsonschema
import pytest
import websockets

from support.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "types"
LINE_SCHEMA = json.loads((EXAMPLES / "line.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(LINE_SCHEMA)
FAILURE = re.compile(r"^((?:/[^ ]*)*): (.+) \((\w+)\)$")


class TypedPeer:
    """One session on a declared type's document, mirroring `state` from Full and Patch."""

    def __init__(self, ws):
        self.ws, self.state, self.version, self.full, self.next_id = ws, None, None, None, 0

    @classmethod
    async def connect(cls, url):
        peer = cls(await websockets.connect(url, max_size=None))
        peer.full = await peer.expect("Full")
        return peer

    async def receive(self):
        message = json.loads(await self.ws.recv())
        if message["type"] == "Full":
            self.state, self.version = message["state"], message["version"]
        elif message["type"] == "Patch":
            assert message["from"] == self.version
            self.state = jsonpatch.apply_patch(self.state, message["ops"])
            self.version = message["version"]
        return message

    async def expect(self, kind):
        while True:
            message = await self.receive()
            if message["type"] == kind:
                return message

    async def act(self, action):
        self.next_id += 1
        await self.ws.send(json.dumps({**action, "id": self.next_id}))
        while True:
            message = await self.receive()
            if message["type"] in ("Ack", "Error") and message.get("id") == self.next_id:
                return message

    async def close(self):
        await self.ws.close()


def types_dir(tmp_path, *names, **replacements):
    """A types directory with copies of the example types; `replacements` (name -> schema) override them."""
    directory = tmp_path / "types"
    directory.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(EXAMPLES / f"{name}.json", directory / f"{name}.json")
    for name, schema in replacements.items():
        (directory / f"{name}.json").write_text(json.dumps(schema))
    return directory


def full_of(server, document):
    async def read():
        peer = await TypedPeer.connect(f"{server.ws}/{document}")
        await peer.close()
        return peer.full
    return asyncio.run(read())


def full_changed(server):
    """The `changed` time the document list gives for line-1 (checked for its shape only)."""
    return http(server, "GET", "/api/docs")[1]["documents"][0]["changed"]


def http(server, method, path, body=None):
    request = urllib.request.Request(
        server.http + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# MARK: random patches against the oracle

STATUSES = ["run", "stop", "alarm", "jammed", "", 3, None]
VALUES = [0, 7, 123456, -1, 2.5, "12", True, None, [], {}]


def random_patch(state, rng):
    """One to three operations that apply to `state`; about half the results break the schema."""
    ops = []
    scratch = copy.deepcopy(state)
    for _ in range(rng.randint(1, 3)):
        machines = sorted(scratch["machines"])
        choice = rng.randrange(9)
        if choice <= 1 and machines:
            name = rng.choice(machines)
            op = {"op": "replace", "path": f"/machines/{name}/status", "value": rng.choice(STATUSES)}
        elif choice == 2 and machines:
            name = rng.choice(machines)
            op = {"op": "replace", "path": f"/machines/{name}/{rng.choice(['good', 'scrap'])}",
                  "value": rng.choice(VALUES)}
        elif choice == 3:
            name = rng.choice(["M7", "M42", "M999", "X1", "M1000"])
            machine = {"status": rng.choice(["run", "stop", "alarm", "off"]), "good": rng.choice([0, 5, -3]),
                       "scrap": 0}
            if rng.random() < 0.3:
                machine.pop("scrap")
            if rng.random() < 0.3:
                machine["speed"] = rng.choice([12.5, 1001, "fast"])
            op = {"op": "add", "path": f"/machines/{name}", "value": machine}
        elif choice == 4 and machines:
            op = {"op": "remove", "path": f"/machines/{rng.choice(machines)}"}
        elif choice == 5:
            alarm = {"machine": rng.choice(["M1", "M2", "Q"]), "code": rng.choice(["E101", "e101", "E1"]),
                     "since": "2026-12-06T10:00:00Z"}
            if rng.random() < 0.3:
                alarm["extra"] = 1
            if rng.random() < 0.5:
                alarm["acknowledged"] = rng.choice([False, "no"])
            op = {"op": "add", "path": "/alarms/-", "value": alarm}
        elif choice == 6 and scratch["alarms"]:
            op = {"op": "remove", "path": f"/alarms/{rng.randrange(len(scratch['alarms']))}"}
        elif choice == 7:
            op = {"op": "replace", "path": "/name", "value": rng.choice(["Line 3", "", "x" * 81, 4])}
        else:
            op = {"op": "add", "path": rng.choice(["/shift", "/alarms"]), "value": rng.choice([[], "B"])}
        try:
            scratch = jsonpatch.apply_patch(scratch, [op])
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
            continue
        ops.append(op)
    return ops or [{"op": "test", "path": "/name", "value": state["name"]}]


def oracle_failures(instance):
    """(pointer, keyword) of every failure jsonschema finds, the nested ones of applicators included."""
    found = set()

    def walk(errors):
        for error in errors:
            pointer = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path)
            found.add((pointer, error.validator))
            walk(error.context or [])
    walk(VALIDATOR.iter_errors(instance))
    return found


def check_refusal(reply, result):
    assert reply["type"] == "Error" and reply["code"] == "invalid_patch", reply
    match = FAILURE.match(reply["message"])
    assert match, reply["message"]
    pointer = match.group(1)
    keyword = match.group(3)
    failures = oracle_failures(result)
    assert keyword in {k for _, k in failures}, (reply["message"], failures)
    # The failing value's pointer is one jsonschema reports, or inside one of them (a member
    # that additionalProperties refuses is named by its own pointer).
    assert any(pointer == p or pointer.startswith(p + "/") for p, _ in failures), (reply["message"], failures)


async def random_writes(url, count, seed):
    rng = random.Random(seed)
    peer = await TypedPeer.connect(url)
    accepted = refused = 0
    for _ in range(count):
        ops = random_patch(peer.state, rng)
        result = jsonpatch.apply_patch(peer.state, ops)
        before = (copy.deepcopy(peer.state), peer.version)
        reply = await peer.act({"type": "Patch", "ops": ops})
        if VALIDATOR.is_valid(result):
            assert reply["type"] == "Ack", (ops, reply)
            assert peer.state == result
            # A patch that changes nothing is acknowledged at the same version.
            assert peer.version == before[1] + (result != before[0])
            accepted += 1
        else:
            check_refusal(reply, result)
            assert (peer.state, peer.version) == before
            refused += 1
    await peer.close()
    return accepted, refused, peer.state, peer.version


def test_random_patches_are_acknowledged_or_refused_as_jsonschema_says(start_server, tmp_path):
    server = start_server("--types", str(types_dir(tmp_path, "line", "shift")))
    accepted, refused, state, version = asyncio.run(random_writes(f"{server.ws}/line-1", 300, seed=21))
    assert accepted >= 50 and refused >= 50, (accepted, refused)
    full = full_of(server, "line-1")
    assert (full["state"], full["version"]) == (state, version)
    assert VALIDATOR.is_valid(state)


def test_the_full_names_the_model_and_todo_actions_are_refused(start_server, tmp_path):
    server = start_server("--types", str(types_dir(tmp_path, "line", "shift")))
    full = full_of(server, "shift-2026-12-06")
    assert full["model"] == "shift" and full["schema"] == 1 and "todo" not in full
    assert full["state"]["checks"][0] == {"item": "Guards closed and interlocks tested", "done": False}
    assert full_of(server, "line-1")["schema"] == 2

    async def scenario():
        peer = await TypedPeer.connect(f"{server.ws}/shift-1")
        todo = await peer.act({"type": "Add", "row": {"name": "milk", "completed": False}})
        # `then` of the root's `if`: handed over needs an incoming lead.
        handed = await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/handedOver", "value": True}]})
        # A done check needs who did it (`then` inside the items).
        done = await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/checks/1/done", "value": True}]})
        signed = await peer.act({"type": "Patch", "ops": [
            {"op": "test", "path": "/handedOver", "value": False},
            {"op": "add", "path": "/incoming", "value": "Ana"},
            {"op": "replace", "path": "/handedOver", "value": True}]})
        await peer.close()
        return todo, handed, done, signed
    todo, handed, done, signed = asyncio.run(scenario())
    assert todo["code"] == "invalid_action" and "shift" in todo["message"]
    assert handed["code"] == "invalid_patch" and handed["message"].endswith("(required)")
    # The root's pointer is the empty string: the text before ": " is always a JSON Pointer.
    assert handed["message"].startswith(": ")
    assert done["code"] == "invalid_patch" and done["message"].startswith("/checks/1: ")
    assert done["message"].endswith("(required)")
    assert signed["type"] == "Ack"
    # The Todo list is served as before beside the types.
    async def todo_full():
        ws = await websockets.connect(f"{server.ws}/groceries")
        message = json.loads(await ws.recv())
        await ws.close()
        return message
    assert asyncio.run(todo_full())["todo"] == {"name": "", "todos": {}}


def test_restart_resume_and_revert_of_a_declared_type(start_server, tmp_path, data_dir):
    directory = types_dir(tmp_path, "line")
    server = start_server("--types", str(directory))
    accepted, _, state, version = asyncio.run(random_writes(f"{server.ws}/line-1", 60, seed=5))
    assert server.stop() == 0
    server = start_server("--types", str(directory), data=data_dir)
    full = full_of(server, "line-1")
    assert (full["state"], full["version"]) == (state, version)
    log = (data_dir / "line-1" / "log.jsonl").read_text().splitlines()
    assert all(json.loads(line)["model"] == "line" for line in log)
    assert json.loads((data_dir / "line-1" / "snapshot.json").read_text())["version"] == 0
    assert http(server, "GET", "/api/docs")[1]["documents"] == [
        {"name": "line-1", "version": version, "changed": full_changed(server), "model": "line",
         "title": state["name"].strip() or None}]

    async def resume_and_revert():
        peer = await TypedPeer.connect(f"{server.ws}/line-1")
        await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/name", "value": "Line 9"}]})
        await peer.close()
        ws = await websockets.connect(f"{server.ws}/line-1?since={version}")
        first = json.loads(await ws.recv())
        await ws.close()
        return first
    first = asyncio.run(resume_and_revert())
    assert first["type"] == "Patch" and first["from"] == version
    assert first["ops"] == [{"op": "replace", "path": "/name", "value": "Line 9"}]
    assert http(server, "POST", "/api/docs/line-1/revert", body={"version": 0}) == (200, {"version": version + 2})
    assert full_of(server, "line-1")["state"] == LINE_SCHEMA["default"]


def test_a_declared_type_in_postgresql(start_server, tmp_path, database):
    directory = types_dir(tmp_path, "line")
    server = start_server("--types", str(directory), *database)
    accepted, refused, state, version = asyncio.run(random_writes(f"{server.ws}/line-1", 80, seed=7))
    assert accepted > 10 and refused > 10
    assert server.stop() == 0
    server = start_server("--types", str(directory), *database)
    full = full_of(server, "line-1")
    assert (full["state"], full["version"], full["model"]) == (state, version, "line")
    assert http(server, "POST", "/api/docs/line-1/revert", body={"version": 0}) == (200, {"version": version + 1})
    assert full_of(server, "line-1")["state"] == LINE_SCHEMA["default"]


def test_a_declared_type_through_the_sql_inbox(start_server, tmp_path, postgres, database):
    server = start_server("--types", str(types_dir(tmp_path, "line")), *database)
    schema = database[-1]
    full_of(server, "line-4")
    good = json.dumps({"type": "Patch", "ops": [{"op": "replace", "path": "/machines/M1/status", "value": "run"}]})
    bad = json.dumps({"type": "Patch", "ops": [{"op": "replace", "path": "/machines/M1/status", "value": "jammed"}]})
    todo = json.dumps({"type": "ChangeName", "name": "x"})
    postgres.sql(
        f"INSERT INTO {schema}.inbox (document, action) VALUES "
        f"('line-4', '{good}'), ('line-4', '{bad}'), ('line-4', '{todo}')")
    rows = wait_for(lambda: postgres.sql(f"SELECT version, error_code, error_message FROM {schema}.inbox ORDER BY id"),
                    lambda rows: all(row[0] or row[1] for row in rows), "every inbox row applied or refused")
    assert rows[0][0] == "1" and not rows[0][1]
    assert rows[1][1] == "invalid_patch"
    assert rows[1][2] == '/machines/M1/status: "jammed" is not one of "run", "stop", "alarm" (enum)'
    assert rows[2][1] == "invalid_action"
    assert postgres.sql(f"SELECT model FROM {schema}.documents WHERE name = 'line-4'") == [["line"]]
    assert postgres.sql(f"SELECT DISTINCT model FROM {schema}.events WHERE document = 'line-4'") == [["line"]]


# MARK: start-up errors

def start_failure(patchsync_bin, data_dir, directory):
    result = subprocess.run(
        [patchsync_bin, "serve", "--port", "0", "--data", str(data_dir), "--types", str(directory)],
        capture_output=True, text=True, timeout=60)
    return result.returncode, result.stderr


def broken_line(**changes):
    schema = copy.deepcopy(LINE_SCHEMA)
    for pointer, value in changes.items():
        target = schema
        *parents, last = pointer.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return schema


@pytest.mark.parametrize("name, schema, named, pointer, reason", [
    ("line", broken_line(properties__name__maxLenght=80), "line", "/properties/name/maxLenght", "maxLenght"),
    ("line", broken_line(default={"name": "", "machines": {}, "alarms": []}), "line", "/default", "(minLength)"),
    ("line", broken_line(**{"x-patchsync": {"documents": ["line-*"], "version": 2}}), "line",
     "/x-patchsync/migrations", "from each older version"),
    # The second file read (in name order) is the one named, with the other in the reason.
    ("cell", broken_line(**{"x-patchsync": {"documents": ["*-7"]}}), "line", "/x-patchsync/documents",
     "cell.json): a document name would have two types"),
])
def test_a_bad_type_stops_start_up_naming_file_pointer_and_reason(
        patchsync_bin, data_dir, tmp_path, name, schema, named, pointer, reason):
    directory = types_dir(tmp_path, "line", **{name: schema})
    status, stderr = start_failure(patchsync_bin, data_dir, directory)
    assert status == 1
    assert f"{directory}/{named}.json: {pointer}: " in stderr, stderr
    assert reason in stderr, stderr
    assert "listening" not in stderr


# MARK: models of stored documents

def test_a_todo_list_whose_name_a_type_now_matches_is_refused_never_reinterpreted(start_server, tmp_path, data_dir):
    server = start_server()

    async def write_todo():
        ws = await websockets.connect(f"{server.ws}/line-9")
        await ws.recv()
        await ws.send(json.dumps({"type": "ChangeName", "name": "a list", "id": 1}))
        while json.loads(await ws.recv())["type"] != "Ack":
            pass
        await ws.close()
    asyncio.run(write_todo())
    assert server.stop() == 0
    log_before = (data_dir / "line-9" / "log.jsonl").read_text()
    server = start_server("--types", str(types_dir(tmp_path, "line")), data=data_dir)

    async def refused():
        ws = await websockets.connect(f"{server.ws}/line-9")
        message = json.loads(await ws.recv())
        await ws.close()
        return message
    for _ in range(2):
        message = asyncio.run(refused())
        assert message["type"] == "Error" and message["code"] == "model_mismatch"
        assert "built-in model todo" in message["message"] and "type line" in message["message"]
    status, answer = http(server, "GET", "/api/docs/line-9")
    assert status == 409 and answer["error"]["code"] == "model_mismatch"
    assert (data_dir / "line-9" / "log.jsonl").read_text() == log_before
    assert server.log().count("Refusing a document stored as another model") == 1
    # Other documents are served.
    assert full_of(server, "line-1")["model"] == "line"


# MARK: evolution

def test_version_2_migrates_documents_of_version_1(start_server, tmp_path, data_dir):
    version1 = copy.deepcopy(LINE_SCHEMA)
    version1["required"].remove("alarms")
    del version1["properties"]["alarms"]
    del version1["default"]["alarms"]
    version1["x-patchsync"] = {"documents": ["line-*"]}
    old = tmp_path / "old"
    old.mkdir()
    (old / "line.json").write_text(json.dumps(version1))
    server = start_server("--types", str(old))

    async def write(document):
        peer = await TypedPeer.connect(f"{server.ws}/{document}")
        assert peer.full["schema"] == 1
        reply = await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/machines/M2/status", "value": "run"}]})
        assert reply["type"] == "Ack"
        await peer.close()
    asyncio.run(write("line-1"))
    asyncio.run(write("line-2"))
    assert server.stop() == 0

    server = start_server("--types", str(types_dir(tmp_path, "line")), data=data_dir)
    for document in ("line-1", "line-2"):
        full = full_of(server, document)
        assert full["schema"] == 2 and full["version"] == 2
        assert full["state"]["alarms"] == [] and full["state"]["machines"]["M2"]["status"] == "run"
        status, history = http(server, "GET", f"/api/docs/{document}/history?since=1")
        migrate = history["events"][0]
        assert migrate["action"] == {"type": "Migrate", "from": 1, "to": 2}
        assert migrate["ops"] == [{"op": "add", "path": "/alarms", "value": []}]
        assert migrate["model"] == "line" and migrate["schema"] == 2
    assert "Migrated a document" in server.log()


def test_a_migration_that_breaks_the_schema_stops_start_up_naming_the_document(
        start_server, patchsync_bin, tmp_path, data_dir):
    version1 = copy.deepcopy(LINE_SCHEMA)
    version1["x-patchsync"] = {"documents": ["line-*"]}
    old = tmp_path / "old"
    old.mkdir()
    (old / "line.json").write_text(json.dumps(version1))
    server = start_server("--types", str(old))
    full_of(server, "line-5")

    async def write():
        peer = await TypedPeer.connect(f"{server.ws}/line-5")
        assert (await peer.act({"type": "Patch", "ops": [{"op": "add", "path": "/alarms/-", "value": {
            "machine": "M1", "code": "E100", "since": "2026-12-06T10:00:00Z"}}]}))["type"] == "Ack"
        await peer.close()
    asyncio.run(write())
    assert server.stop() == 0
    # Version 2's migration adds /alarms again over the existing one: the result has no
    # "alarms" array problem, so make it break the schema instead.
    broken = copy.deepcopy(LINE_SCHEMA)
    broken["x-patchsync"]["migrations"] = {"1": [{"op": "add", "path": "/alarms/0/code", "value": "bad"}]}
    status, stderr = start_failure(patchsync_bin, data_dir, types_dir(tmp_path, **{"line": broken}))
    assert status == 1
    assert "line-5" in stderr and "/alarms/0/code" in stderr and "(pattern)" in stderr, stderr


def test_types_from_the_config_file(start_server, tmp_path):
    config = tmp_path / "patchsync.conf"
    config.write_text(f"types = {types_dir(tmp_path, 'shift')}\n")
    server = start_server("--config", str(config))
    assert full_of(server, "shift-1")["model"] == "shift"
    assert "todo" in asyncio.run(_first_message(f"{server.ws}/line-1"))


async def _first_message(url):
    ws = await websockets.connect(url)
    message = json.loads(await ws.recv())
    await ws.close()
    return message


def test_presence_and_limits_on_a_declared_type(start_server, tmp_path):
    server = start_server("--types", str(types_dir(tmp_path, "line")), "--max-document-bytes", "2000")

    async def scenario():
        peer = await TypedPeer.connect(f"{server.ws}/line-1")
        await peer.ws.send(json.dumps({"type": "Hello", "name": "Ana"}))
        presence = await peer.expect("Presence")
        big = await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/name", "value": "x" * 80}] + [
            {"op": "add", "path": f"/machines/M{n}", "value": {"status": "run", "good": n, "scrap": 0}}
            for n in range(10, 60)]})
        await peer.close()
        return presence, big
    presence, big = asyncio.run(scenario())
    assert [entry["name"] for entry in presence["sessions"]] == ["Ana"]
    assert big["code"] == "document_too_large"
    assert full_of(server, "line-1")["version"] == 0


def test_migration_and_revert_to_before_it_in_postgresql(start_server, tmp_path, postgres, database):
    version1 = copy.deepcopy(LINE_SCHEMA)
    version1["required"].remove("alarms")
    del version1["properties"]["alarms"]
    del version1["default"]["alarms"]
    version1["x-patchsync"] = {"documents": ["line-*"]}
    old = tmp_path / "old"
    old.mkdir()
    (old / "line.json").write_text(json.dumps(version1))
    server = start_server("--types", str(old), *database)

    async def write():
        peer = await TypedPeer.connect(f"{server.ws}/line-1")
        reply = await peer.act({"type": "Patch", "ops": [{"op": "replace", "path": "/name", "value": "Line 1"}]})
        assert reply["type"] == "Ack"
        await peer.close()
    asyncio.run(write())
    assert server.stop() == 0
    schema = database[-1]
    assert postgres.sql(f"SELECT version FROM {schema}.snapshots WHERE document = 'line-1'") == [["0"]]

    server = start_server("--types", str(types_dir(tmp_path, "line")), *database)
    full = full_of(server, "line-1")
    assert (full["schema"], full["version"], full["state"]["alarms"]) == (2, 2, [])
    status, history = http(server, "GET", "/api/docs/line-1/history?since=1")
    assert history["events"][0]["action"] == {"type": "Migrate", "from": 1, "to": 2}
    # Version 0 (the old default) is migrated again on the way back.
    reverted = http(server, "POST", "/api/docs/line-1/revert", body={"version": 0})
    assert reverted == (200, {"version": 3}), reverted[1]
    expected = copy.deepcopy(version1["default"])
    expected["alarms"] = []
    assert full_of(server, "line-1")["state"] == expected


def test_exactly_once_patches_on_a_declared_type(start_server, tmp_path):
    server = start_server("--types", str(types_dir(tmp_path, "line")))
    write = {"type": "Patch", "id": "w-1", "ops": [{"op": "replace", "path": "/machines/M1/good", "value": 5}]}

    async def send_twice():
        replies = []
        for _ in range(2):
            ws = await websockets.connect(f"{server.ws}/line-1?client=tablet-1")
            await ws.recv()
            await ws.send(json.dumps(write))
            while True:
                message = json.loads(await ws.recv())
                if message["type"] in ("Ack", "Error"):
                    replies.append(message)
                    break
            await ws.close()
        return replies
    assert asyncio.run(send_twice()) == [{"type": "Ack", "id": "w-1", "version": 1}] * 2
    assert full_of(server, "line-1")["version"] == 1


def test_a_type_may_not_take_the_built_in_models_name(patchsync_bin, data_dir, tmp_path):
    directory = types_dir(tmp_path, todo=LINE_SCHEMA)
    status, stderr = start_failure(patchsync_bin, data_dir, directory)
    assert status == 1 and f"{directory}/todo.json: (root): \"todo\" is the built-in model's name" in stderr, stderr
