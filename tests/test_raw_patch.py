"""Raw JSON Patch writes over the wire, checked against the Todo model."""
import asyncio

import jsonpatch

from support.protocol import Peer, add, fresh_full


def write(ops, base=None):
    message = {"type": "Patch", "ops": ops}
    if base is not None:
        message["base"] = base
    return message


def run(server, *actions):
    """Sends the actions in order from one session; returns their replies and the final state."""
    async def scenario():
        peer = await Peer.connect(server.ws)
        replies = [await peer.act(action) for action in actions]
        await peer.close()
        return replies
    replies = asyncio.run(scenario())
    return replies, asyncio.run(fresh_full(server.ws))


def test_a_valid_patch_applies_like_an_action(server):
    replies, (state, version) = run(
        server, add("milk"),
        write([{"op": "replace", "path": "/todos/1/completed", "value": True},
               {"op": "add", "path": "/todos/5", "value": {"name": "jam", "completed": False}}], base=1))
    assert [reply["type"] for reply in replies] == ["Ack", "Ack"]
    assert version == 2
    assert state["todos"] == {"1": {"name": "milk", "completed": True}, "5": {"name": "jam", "completed": False}}


def test_a_patch_made_by_python_jsonpatch_is_accepted(server):
    before = {"name": "", "todos": {}}
    after = {"name": "Groceries", "todos": {"1": {"name": "milk", "completed": False}}}
    replies, (state, _) = run(server, write(jsonpatch.make_patch(before, after).patch, base=0))
    assert replies[0]["type"] == "Ack"
    assert state == after


def test_a_wrong_type_names_the_pointer(server):
    replies, (_, version) = run(
        server, add("milk"), write([{"op": "replace", "path": "/todos/1/completed", "value": "yes"}]))
    assert replies[1]["code"] == "invalid_patch"
    assert "/todos/1/completed" in replies[1]["message"] and "boolean" in replies[1]["message"]
    assert version == 1


def test_a_member_the_model_does_not_have_is_refused(server):
    replies, (state, _) = run(
        server, add("milk"), write([{"op": "add", "path": "/todos/1/colour", "value": "red"}]))
    assert replies[1]["code"] == "invalid_patch"
    assert "/todos/1/colour" in replies[1]["message"] and "does not have" in replies[1]["message"]
    assert "colour" not in state["todos"]["1"]


def test_a_failed_test_is_test_failed_and_changes_nothing(server):
    replies, (state, version) = run(
        server, add("milk"),
        write([{"op": "test", "path": "/todos/1/name", "value": "bread"},
               {"op": "replace", "path": "/todos/1/completed", "value": True}]))
    assert replies[1]["code"] == "test_failed"
    assert version == 1 and state["todos"]["1"]["completed"] is False


def test_an_old_base_rebases_onto_changes_elsewhere_and_conflicts_with_changes_here(server):
    replies, (state, version) = run(
        server, add("milk"), add("eggs"),  # versions 1 and 2
        write([{"op": "replace", "path": "/todos/2/completed", "value": True}], base=1),  # row 2 added after 1
        write([{"op": "replace", "path": "/name", "value": "Shop"}], base=1),  # nothing there changed
    )
    assert replies[2]["code"] == "conflict" and replies[2]["version"] == 2
    assert replies[3]["type"] == "Ack" and replies[3]["version"] == 3
    assert version == 3 and state["name"] == "Shop" and state["todos"]["2"]["completed"] is False


def test_watchers_are_forbidden(start_server):
    server = start_server("--read-token", "wall")

    async def scenario():
        peer = await Peer.connect(server.ws + "?token=wall")
        reply = await peer.act(write([{"op": "replace", "path": "/name", "value": "x"}]))
        await peer.close()
        return reply

    assert asyncio.run(scenario())["code"] == "forbidden"
