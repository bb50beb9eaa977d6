"""ClientCore, the protocol state machine, fed messages by hand: no sockets."""
import json

import pytest

from patchsync.outbox import Outbox
from patchsync.protocol import Answered, Applied, ClientCore, PresenceChanged, Resync, RetryLater, ServerError


def loaded(version=3, state=None):
    core = ClientCore(Outbox(client="c1"))
    core.receive({"type": "Full", "todo": state or {"name": "", "todos": {}}, "version": version, "role": "editor"})
    return core


def test_a_full_loads_the_state_without_a_change():
    core = ClientCore(Outbox(client="c1"))
    assert core.url("ws://h:1/ws/line") == "ws://h:1/ws/line?client=c1"
    assert core.receive({"type": "Full", "todo": {"name": "x", "todos": {}}, "version": 4, "role": "viewer"}) == []
    assert (core.state, core.version, core.role, core.state_key) == ({"name": "x", "todos": {}}, 4, "viewer", "todo")
    assert core.url("ws://h:1/ws/line?token=t&since=1") == "ws://h:1/ws/line?token=t&since=4&client=c1"


def test_a_declared_type_keeps_its_state_under_state():
    core = ClientCore(Outbox(client="c1"))
    core.receive({"type": "Full", "state": {"machines": {}}, "version": 0, "model": "line", "schema": 2})
    assert core.state == {"machines": {}} and core.state_key == "state"


def test_a_patch_that_follows_applies_and_is_a_change():
    core = loaded()
    before = core.state
    [event] = core.receive({"type": "Patch", "ops": [{"op": "replace", "path": "/name", "value": "L3"}], "version": 4, "from": 3})
    assert isinstance(event, Applied) and event.change.version == 4 and event.change.state == {"name": "L3", "todos": {}}
    assert before == {"name": "", "todos": {}} and core.version == 4


def test_a_coalesced_patch_spans_versions():
    core = loaded()
    ops = [{"op": "replace", "path": "/name", "value": "a"}, {"op": "replace", "path": "/name", "value": "b"}]
    [event] = core.receive({"type": "Patch", "ops": ops, "version": 5, "from": 3})
    assert event.change.version == 5 and core.state["name"] == "b"


def test_a_gap_asks_for_a_resume_from_the_held_version():
    core = loaded()
    [event] = core.receive({"type": "Patch", "ops": [], "version": 6, "from": 5})
    assert event == Resync("a Patch from version 5 to 6 does not follow version 3", 3)
    assert core.version == 3


def test_an_old_patch_is_ignored():
    core = loaded()
    assert core.receive({"type": "Patch", "ops": [{"op": "remove", "path": "/x"}], "version": 3, "from": 2}) == []


def test_a_patch_that_does_not_apply_asks_for_a_full():
    core = loaded()
    [event] = core.receive({"type": "Patch", "ops": [{"op": "remove", "path": "/nope"}], "version": 4, "from": 3})
    assert isinstance(event, Resync) and event.since is None and core.version is None
    assert "?since" not in core.url("ws://h/ws")


def test_a_full_after_a_resume_replaces_the_state_as_one_change():
    core = loaded()
    [event] = core.receive({"type": "Full", "todo": {"name": "new", "todos": {}}, "version": 90})
    assert event.change.ops == [{"op": "replace", "path": "", "value": {"name": "new", "todos": {}}}]


def test_actions_get_ids_stay_until_answered_and_go_out_again_in_order():
    core = loaded()
    first = core.submit({"type": "Add", "row": {"name": "a", "completed": False}})
    second = core.submit({"type": "RemoveCompleted", "id": 7})
    assert isinstance(first["id"], str) and len(first["id"]) == 32 and second["id"] == 7
    assert core.opened() == [first, second]
    assert core.receive({"type": "Ack", "id": "7", "version": 9}) == []  # "7" is not 7
    assert core.receive({"type": "Ack", "id": 7, "version": 9}) == [Answered(7, version=9)]
    assert core.opened() == [first]


def test_an_error_answers_its_action_and_retryable_ones_keep_it():
    core = loaded()
    action = core.submit({"type": "Remove", "index": 1})
    [event] = core.receive({"type": "Error", "id": action["id"], "code": "storage_unavailable", "message": "disk"})
    assert event == RetryLater(action["id"], "storage_unavailable")
    assert core.take_retries() == [action] and core.take_retries() == []
    [event] = core.receive({"type": "Error", "id": action["id"], "code": "invalid_index", "message": "no row 1"})
    assert event == Answered(action["id"], code="invalid_index", message="no row 1")
    assert core.outbox.actions == []


def test_a_conflict_carries_the_current_version():
    core = loaded()
    action = core.submit({"type": "Patch", "ops": [], "base": 1})
    [event] = core.receive({"type": "Error", "id": action["id"], "code": "conflict", "message": "m", "version": 8})
    assert event.error_version == 8


def test_an_error_for_no_own_action_is_reported_apart():
    core = loaded()
    assert core.receive({"type": "Error", "code": "invalid_json", "message": "m"}) == [ServerError("invalid_json", "m")]


def test_a_duplicate_pending_id_and_a_bad_action_are_refused():
    core = loaded()
    core.submit({"type": "RemoveCompleted", "id": "x"})
    with pytest.raises(ValueError):
        core.submit({"type": "RemoveCompleted", "id": "x"})
    with pytest.raises(ValueError):
        core.submit({"row": {}})
    with pytest.raises(ValueError):
        core.submit({"type": "Add", "id": True})


def test_presence_follows_join_focus_and_leave_and_hello_is_said_again():
    core = loaded()
    assert core.opened() == []
    core.hello("gateway")
    core.set_focus("/todos/1")
    assert core.opened() == [{"type": "Hello", "name": "gateway"}, {"type": "Focus", "focus": "/todos/1"}]
    entry = {"session": 1, "name": "gateway", "client": "c1", "since": 0, "role": "editor", "focus": None}
    [event] = core.receive({"type": "Presence", "sessions": [entry]})
    assert isinstance(event, PresenceChanged) and list(core.people) == [1]
    core.receive({"type": "PresenceJoin", "session": {**entry, "session": 2, "name": "Ana"}})
    core.receive({"type": "PresenceFocus", "session": 2, "focus": "/name"})
    assert core.people[2]["focus"] == "/name"
    core.receive({"type": "PresenceLeave", "session": 1})
    assert list(core.people) == [2]
    core.lost()
    assert core.people == {}


def test_unknown_messages_are_ignored():
    core = loaded()
    assert core.receive({"type": "Whatever"}) == [] and core.receive([1]) == []


def test_the_outbox_file_keeps_actions_and_client_across_a_restart(tmp_path):
    path = str(tmp_path / "outbox.json")
    core = ClientCore(Outbox(path))
    action = core.submit({"type": "RemoveCompleted"})
    again = ClientCore(Outbox(path))
    assert again.client == core.client and again.opened() == [action]
    again.receive({"type": "Ack", "id": action["id"], "version": 1})
    assert json.loads((tmp_path / "outbox.json").read_text())["actions"] == []
    with pytest.raises(ValueError):
        core.submit({"type": "RemoveCompleted", "id": "left"})
        Outbox(path, client="someone-else")


def test_an_unreadable_outbox_file_is_a_clear_error(tmp_path):
    path = tmp_path / "outbox.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        Outbox(str(path))
    path.write_text('{"format": 1, "client": "c", "actions": [{"type": "Add"}]}')
    with pytest.raises(ValueError, match="valid list"):
        Outbox(str(path))
