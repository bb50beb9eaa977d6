"""History over HTTP, revert, several documents, resume, /metrics and the history/revert/replay
commands, against the real server."""
import asyncio
import copy
import json
import math
import socket
import subprocess
import urllib.error
import urllib.request

import jsonpatch
import pytest
import websockets

from support.http_api import http
from support.metrics import metric, parse_exposition
from support.protocol import Peer, add
from support.waiting import wait_for


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


async def act_all(url, actions):
    """Applies the actions one by one through a fresh peer; returns the states after each (index = version)."""
    peer = await Peer.connect(url)
    states = [copy.deepcopy(peer.state)]
    for action in actions:
        reply = await peer.act(action)
        assert reply["type"] == "Ack", reply
        while peer.version != reply["version"]:
            await peer.expect("Patch")
        states.append(copy.deepcopy(peer.state))
    await peer.close()
    return states


# MARK: documents, state, history


def test_documents_state_and_history(server):
    actions = [{"type": "ChangeName", "name": "groceries"}, add("milk"), add("bread")]
    states = asyncio.run(act_all(server.ws, actions))

    status, listing = http(server, "GET", "/api/docs")
    assert status == 200
    assert [{key: d[key] for key in ("name", "version")} for d in listing["documents"]] == [{"name": "default", "version": 3}]
    assert http(server, "GET", "/api/docs/default") == (200, {"version": 3, "state": states[3]})

    status, body = http(server, "GET", "/api/docs/default/history")
    assert status == 200
    events = body["events"]
    assert [event["version"] for event in events] == [1, 2, 3]
    assert [event["action"] for event in events] == actions
    assert all(isinstance(event["time"], int) and event["time"] > 1_600_000_000_000 for event in events)
    # The ops of each event turn the previous state into the next.
    for event in events:
        assert jsonpatch.apply_patch(states[event["version"] - 1], event["ops"]) == states[event["version"]]

    status, body = http(server, "GET", "/api/docs/default/history?since=1&limit=1")
    assert status == 200 and [event["version"] for event in body["events"]] == [2]


def test_history_newest_first(server):
    asyncio.run(act_all(server.ws, [add(f"row {n}") for n in range(5)]))
    versions = lambda query: [e["version"] for e in http(server, "GET", f"/api/docs/default/history?{query}")[1]["events"]]  # noqa: E731
    assert versions("order=desc&limit=2") == [5, 4]
    assert versions("order=desc") == [5, 4, 3, 2, 1]
    assert versions("order=desc&limit=10") == [5, 4, 3, 2, 1]
    # `since` stays the lower bound: the newest events after it.
    assert versions("order=desc&since=3&limit=10") == [5, 4]
    assert versions("order=desc&since=5&limit=10") == []
    assert versions("order=asc&limit=2") == [1, 2]
    status, body = http(server, "GET", "/api/docs/default/history?order=newest")
    assert status == 400 and body["error"]["code"] == "invalid_query" and "asc or desc" in body["error"]["message"]


def test_documents_are_listed_with_their_title(server):
    asyncio.run(act_all(server.ws.replace("/ws", "/ws/line-3"), [{"type": "ChangeName", "name": "  Line 3 – shift change "}]))
    asyncio.run(act_all(server.ws.replace("/ws", "/ws/unnamed"), [add("x")]))
    titles = lambda: {d["name"]: d["title"] for d in http(server, "GET", "/api/docs")[1]["documents"]}  # noqa: E731
    assert titles() == {"line-3": "Line 3 – shift change", "unnamed": None}
    asyncio.run(act_all(server.ws.replace("/ws", "/ws/line-3"), [{"type": "ChangeName", "name": " "}]))
    assert titles() == {"line-3": None, "unnamed": None}


def test_titles_are_listed_after_a_restart(file_server):
    server = file_server
    asyncio.run(act_all(server.ws.replace("/ws", "/ws/line-4"), [{"type": "ChangeName", "name": "Line 4"}]))
    server.stop()
    server.start()
    assert [(d["name"], d["title"]) for d in http(server, "GET", "/api/docs")[1]["documents"]] == [("line-4", "Line 4")]


def test_history_and_state_errors(server):
    asyncio.run(act_all(server.ws, [add("x")]))
    assert http(server, "GET", "/api/docs/nobody")[0] == 404
    assert http(server, "GET", "/api/docs/nobody")[1]["error"]["code"] == "document_not_found"
    status, body = http(server, "GET", "/api/docs/bad.name")
    assert status == 400 and body["error"]["code"] == "invalid_name"
    status, body = http(server, "GET", "/api/docs/default/history?since=abc")
    assert status == 400 and body["error"]["code"] == "invalid_query"
    status, body = http(server, "GET", "/api/docs/default/history?since=%2B2")
    assert status == 400 and body["error"]["code"] == "invalid_query"
    assert http(server, "GET", "/api/docs/default/history?since=2")[0] == 404
    assert http(server, "POST", "/api/docs", body={})[0] == 405
    assert http(server, "GET", "/api/docs/default/revert")[0] == 405
    assert http(server, "GET", "/api/nothing")[0] == 404


# MARK: revert


async def revert_scenario(server):
    states = await act_all(server.ws, [{"type": "ChangeName", "name": "v1"}, add("milk"), add("bread")])
    watcher = await Peer.connect(server.ws)
    assert watcher.version == 3

    assert http(server, "POST", "/api/docs/default/revert", body={"version": 1}) == (200, {"version": 4})
    patch = await watcher.expect("Patch")
    assert patch["version"] == 4
    assert watcher.state == states[1]
    assert http(server, "GET", "/api/docs/default") == (200, {"version": 4, "state": states[1]})

    # The revert of the revert brings the rows back.
    assert http(server, "POST", "/api/docs/default/revert", body={"version": 3}) == (200, {"version": 5})
    patch = await watcher.expect("Patch")
    assert patch["version"] == 5 and watcher.state == states[3]

    status, body = http(server, "GET", "/api/docs/default/history")
    assert status == 200
    assert [event["version"] for event in body["events"]] == [1, 2, 3, 4, 5]
    assert body["events"][3]["action"] == {"type": "Revert", "version": 1}
    assert body["events"][4]["action"] == {"type": "Revert", "version": 3}
    assert body["events"][3]["ops"] == patch_ops_between(states[3], states[1], body["events"][3]["ops"])
    await watcher.close()


def patch_ops_between(before, after, ops):
    """`ops` if it turns `before` into `after` (so the assertion shows the ops when it does not)."""
    return ops if jsonpatch.apply_patch(before, ops) == after else None


def test_revert_is_broadcast_kept_in_history_and_revertible(server):
    asyncio.run(revert_scenario(server))


def test_revert_errors_change_nothing(server):
    asyncio.run(act_all(server.ws, [add("x")]))
    for body in (b"not json", b"[]", b"{}", b'{"version":-1}', b'{"version":"1"}'):
        status, answer = http(server, "POST", "/api/docs/default/revert", body=body)
        assert status == 400 and answer["error"]["code"] == "invalid_body", body
    status, answer = http(server, "POST", "/api/docs/default/revert", body={"version": 7})
    assert status == 404 and answer["error"]["code"] == "version_not_available"
    assert http(server, "POST", "/api/docs/nobody/revert", body={"version": 0})[0] == 404
    assert http(server, "GET", "/api/docs/default")[1]["version"] == 1


def raw_request(server, method, path, headers=(), body=b"", abandon=False):
    """(status, body) of a hand-made request; with `abandon`, closes (RST) right after sending.
    A POST says its body is JSON, as every state-changing request must."""
    if method == "POST":
        headers = ["Content-Type: application/json", *headers]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in headers)
        connection.sendall(head.encode() + b"\r\n" + body)
        if abandon:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            return None
        reply = connection.makefile("rb")
        status = int(reply.readline().split()[1])
        length = 0
        while (line := reply.readline().strip()):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, json.loads(reply.read(length))


def test_odd_request_bodies_get_an_answer(server):
    asyncio.run(act_all(server.ws, [add("x")]))
    revert = "/api/docs/default/revert"
    # No Content-Length: no body (HTTP/1.1), answered at once rather than waited for.
    status, body = raw_request(server, "POST", revert)
    assert status == 400 and body["error"]["code"] == "invalid_body"
    status, body = raw_request(server, "POST", revert, ["Transfer-Encoding: chunked"], b"d\r\n{\"version\":0}\r\n0\r\n\r\n")
    assert status == 411 and body["error"]["code"] == "length_required"
    big = b"[" + b"0," * 600_000 + b"0]"
    status, body = raw_request(server, "POST", revert, [f"Content-Length: {len(big)}"], big)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    assert http(server, "GET", "/api/docs/default")[1]["version"] == 1


def test_a_repeated_identical_content_length_is_one_length(server):
    asyncio.run(act_all(server.ws, [add("x"), add("y")]))
    revert = "/api/docs/default/revert"
    body = b'{"version":1}'
    same = [f"Content-Length: {len(body)}", f"Content-Length: {len(body)}"]
    assert raw_request(server, "POST", revert, same, body) == (200, {"version": 3})
    differing = [f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"]
    status, answer = raw_request(server, "POST", revert, differing, body + b" ")
    assert status == 400 and answer["error"]["code"] == "invalid_content_length"
    assert http(server, "GET", "/api/docs/default")[1]["version"] == 3


def test_clients_that_leave_before_the_answer_do_no_harm(server):
    asyncio.run(act_all(server.ws, [add(f"row{i}") for i in range(20)]))
    for i in range(200):
        if i % 2:
            raw_request(server, "GET", "/api/docs/default/history", abandon=True)
        else:
            raw_request(server, "POST", "/api/docs/default/revert", ["Content-Length: 13"], b'{"version":1}', abandon=True)
    # Still serving, and the reverts that ran are ordinary events.
    status, body = http(server, "GET", "/api/docs/default/history?since=20")
    assert status == 200 and all(event["action"] == {"type": "Revert", "version": 1} for event in body["events"])
    assert http(server, "GET", "/api/docs/default")[0] == 200


# MARK: several documents


async def isolation_scenario(server):
    alpha = await Peer.connect(server.ws + "/alpha")
    beta = await Peer.connect(server.ws + "/beta")
    default = await Peer.connect(server.ws)
    for name in ("a1", "a2", "a3"):
        assert (await alpha.act(add(name)))["type"] == "Ack"
    reply = await beta.act(add("b1"))
    # Beta's own change is version 1: alpha's three did not count, and no alpha Patch reached beta first.
    assert reply == {"type": "Ack", "id": 1, "version": 1}
    while beta.version != 1:
        await beta.expect("Patch")
    assert [row["name"] for row in beta.state["todos"].values()] == ["b1"]
    assert (await default.act({"type": "ChangeName", "name": "d"}))["version"] == 1
    assert default.state["todos"] == {}
    for peer in (alpha, beta, default):
        await peer.close()


def test_documents_are_isolated(file_server, data_dir):
    server = file_server
    asyncio.run(isolation_scenario(server))
    status, body = http(server, "GET", "/api/docs")
    assert status == 200
    assert [{key: d[key] for key in ("name", "version")} for d in body["documents"]] == [
        {"name": "alpha", "version": 3}, {"name": "beta", "version": 1}, {"name": "default", "version": 1}]
    assert all(isinstance(d["changed"], int) for d in body["documents"])
    assert sorted(p.name for p in data_dir.iterdir() if p.is_dir()) == ["alpha", "beta", "default"]
    status, body = http(server, "GET", "/api/docs/alpha/history")
    assert [event["action"]["row"]["name"] for event in body["events"]] == ["a1", "a2", "a3"]


def upgrade_status(server, path):
    """The status code a WebSocket upgrade of `path` gets, read from a raw socket (a refusal may be
    an HTTP/1.0 answer, which the websockets library reports without its status)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall((
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
        status_line = connection.makefile("rb").readline().decode()
    return int(status_line.split(" ")[1])


@pytest.mark.parametrize("path", ["/ws/bad.name", "/ws/" + "x" * 65, "/ws/a%20b"])
def test_a_bad_document_name_is_http_400(server, path):
    assert upgrade_status(server, path) == 400
    assert upgrade_status(server, "/ws/good-name_1") == 101


# MARK: resume


async def collect_until_ack(peer, action):
    """Sends an action; returns every message up to and including its Ack."""
    peer.next_id += 1
    await peer.send({**action, "id": peer.next_id})
    received = []
    while True:
        message = await peer.receive()
        received.append(message)
        if message["type"] in ("Ack", "Error") and message.get("id") == peer.next_id:
            return received


async def resume_scenario(server):
    states = await act_all(server.ws, [add(f"r{i}") for i in range(5)])

    # since=2: exactly the changes 3, 4 and 5 (coalesced into fewer Patches when they queue up
    # before the first write: Peer checks each `from`), then live changes; no Full.
    resumed = Peer(await websockets.connect(server.ws + "?since=2"))
    resumed.state, resumed.version = copy.deepcopy(states[2]), 2
    first = []
    while resumed.version != 5:
        first.append(await asyncio.wait_for(resumed.receive(), 60))
    assert all(m["type"] == "Patch" for m in first) and first[0]["from"] == 2
    assert resumed.state == states[5]
    after = await collect_until_ack(resumed, add("r5"))
    assert [(m["type"], m["version"]) for m in after] == [("Patch", 6), ("Ack", 6)]
    await resumed.close()

    # since=current: nothing to catch up on.
    current = Peer(await websockets.connect(server.ws + "?since=6"))
    current.state, current.version = copy.deepcopy(resumed.state), 6
    after = await collect_until_ack(current, add("r6"))
    assert [(m["type"], m["version"]) for m in after] == [("Patch", 7), ("Ack", 7)]
    await current.close()

    # since ahead of the server: a Full.
    ahead = Peer(await websockets.connect(server.ws + "?since=99"))
    full = await ahead.receive()
    assert full["type"] == "Full" and full["version"] == 7
    await ahead.close()


def test_resume_sends_exactly_the_patches_after_since(server):
    asyncio.run(resume_scenario(server))


async def pipeline_renames(url, count):
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # Full
        for i in range(count):
            await ws.send(json.dumps({"type": "ChangeName", "name": f"n{i}", "id": i}))
        acked = 0
        async for text in ws:
            message = json.loads(text)
            if message["type"] == "Ack":
                acked += 1
                if acked == count:
                    return
            assert message["type"] != "Error", message


async def full_after_compaction(server):
    resumed = await websockets.connect(server.ws + "?since=3")
    message = json.loads(await resumed.recv())
    await resumed.close()
    return message


def test_resume_from_before_the_retained_history_gets_a_full(server):
    # The default retention compacts at 2000 events down to the newest 1000.
    asyncio.run(pipeline_renames(server.ws, 2000))
    message = asyncio.run(full_after_compaction(server))
    assert message["type"] == "Full" and message["version"] == 2000
    assert message["todo"]["name"] == "n1999"


def test_resume_with_a_bad_since_is_http_400(server):
    assert upgrade_status(server, "/ws?since=abc") == 400
    assert upgrade_status(server, "/ws/doc?since=-1") == 400
    assert upgrade_status(server, "/ws/doc?since=%2B2") == 400


# MARK: /metrics


async def metrics_scenario(server):
    before, _ = parse_exposition(http(server, "GET", "/metrics", raw=True)[2])
    peer = await Peer.connect(server.ws)
    for name in ("m1", "m2", "m3"):
        assert (await peer.act(add(name)))["type"] == "Ack"
    assert (await peer.act({"type": "Nonsense"}))["code"] == "unknown_type"

    def exposition():
        status, content_type, text = http(server, "GET", "/metrics", raw=True)
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
        return parse_exposition(text)

    def broadcast(samples):
        return metric(samples, "patchsync_patches_broadcast_total") - (metric(before, "patchsync_patches_broadcast_total") or 0)

    # A counter may move just after the reply went out (a broadcast after its Ack): read until
    # the three broadcasts show, then check every figure of that reading.
    after, types = wait_for(exposition, lambda read: broadcast(read[0]) >= 3, "three Patches counted as broadcast")
    await peer.close()
    return before, after, types


def test_metrics_parse_and_count(server, request):
    before, after, types = asyncio.run(metrics_scenario(server))
    assert all(name.startswith("patchsync_") for name, _ in after)

    def grew(name, **labels):
        return metric(after, name, **labels) - (metric(before, name, **labels) or 0)

    assert types["patchsync_actions_applied_total"] == "counter"
    assert grew("patchsync_actions_applied_total") == 3
    assert grew("patchsync_actions_rejected_total", code="unknown_type") == 1
    assert metric(after, "patchsync_actions_rejected_total", code="forbidden") == 0
    assert grew("patchsync_patches_broadcast_total") == 3
    assert grew("patchsync_sent_bytes_total") > 0
    assert metric(after, "patchsync_document_version", document="default") == 3
    assert metric(after, "patchsync_connections_open") >= 1
    assert grew("patchsync_connections_total") >= 1
    assert metric(after, "patchsync_slow_client_disconnects_total") == 0

    # The store's writes: fsyncs of the log, or commits to the database (which also shows its state).
    database = "patchsync_database_up" in types
    assert database == (request.node.callspec.params["server"] == "postgres")
    # The presence bus runs with the database only.
    presence = ("patchsync_presence_bus_up", "patchsync_presence_messages_sent_total",
                "patchsync_presence_messages_received_total")
    assert [family in types for family in presence] == [database] * 3
    writes = "patchsync_database_commit_seconds" if database else "patchsync_log_fsync_seconds"
    assert types[writes] == "histogram"
    buckets = sorted(((float(dict(labels)["le"]), value) for (name, labels), value in after.items()
                      if name == writes + "_bucket"))
    assert buckets[-1][0] == math.inf
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert buckets[-1][1] == metric(after, writes + "_count") >= 3
    if database:
        assert metric(after, "patchsync_database_up") == 1
        assert grew("patchsync_database_conflicts_total") == 0


# MARK: tokens


def test_the_api_needs_the_token_when_one_is_set(start_server):
    server = start_server("--token", "s3cret", "--read-token", "watch")
    assert http(server, "GET", "/api/docs")[0] == 401
    assert http(server, "GET", "/api/docs", token="wrong")[0] == 401
    assert http(server, "GET", "/metrics")[0] == 401
    assert http(server, "GET", "/api/docs", token="s3cret") == (200, {"documents": []})
    assert http(server, "GET", "/api/docs?token=s3cret")[0] == 200
    assert http(server, "GET", "/api/docs", token="watch")[0] == 200
    # /metrics needs an admin: the static --token or a signed token with admin (issue 22).
    assert http(server, "GET", "/metrics", token="watch", raw=True)[0] == 403
    assert http(server, "GET", "/metrics", token="s3cret", raw=True)[0] == 200
    status, body = http(server, "POST", "/api/docs/default/revert", body={"version": 0}, token="watch")
    assert status == 403 and body["error"]["code"] == "forbidden"


@pytest.mark.parametrize("extra", [1, 255, 256, 257, 512])
def test_a_token_followed_by_extra_bytes_is_refused_everywhere(start_server, extra):
    """The token comparison once ignored length differences that are multiples of 256."""
    server = start_server("--token", "s3cret", "--read-token", "watch")
    for secret in ("s3cret", "watch"):
        forged = secret + "x" * extra
        assert http(server, "GET", "/api/docs", token=forged)[0] == 401
        assert http(server, "GET", "/metrics", token=forged)[0] == 401
        assert http(server, "POST", "/api/docs/default/revert", body={"version": 0}, token=forged)[0] == 401

        async def upgrade():
            await websockets.connect(server.ws, additional_headers={"Authorization": f"Bearer {forged}"})

        with pytest.raises(websockets.InvalidStatus) as refused:
            asyncio.run(upgrade())
        assert refused.value.response.status_code == 401
    assert http(server, "GET", "/api/docs", token="s3cret")[0] == 200


def test_a_token_with_64_kib_appended_never_gets_in(start_server):
    """Past the 4 KiB header limit lws drops the request before any check; it must not pass."""
    server = start_server("--token", "s3cret")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        http(server, "GET", "/api/docs", token="s3cret" + "x" * 65_536)
    assert http(server, "GET", "/api/docs", token="s3cret")[0] == 200


# MARK: command line


def test_history_revert_and_replay_from_the_command_line(patchsync_bin, file_server, data_dir):
    server = file_server
    states = asyncio.run(act_all(server.ws, [{"type": "ChangeName", "name": "cli"}, add("a"), add("b")]))

    result = run(patchsync_bin, "history", server.http, "--doc", "default")
    assert result.returncode == 0, result.stderr
    assert [event["version"] for event in json.loads(result.stdout)["events"]] == [1, 2, 3]
    result = run(patchsync_bin, "history", server.http, "--doc", "default", "--since", "1", "--limit", "1")
    assert [event["version"] for event in json.loads(result.stdout)["events"]] == [2]
    # --limit 1 is the oldest event, --latest 1 the latest.
    result = run(patchsync_bin, "history", server.http, "--doc", "default", "--latest", "1")
    assert result.returncode == 0, result.stderr
    assert [event["version"] for event in json.loads(result.stdout)["events"]] == [3]
    result = run(patchsync_bin, "history", server.http, "--doc", "default", "--latest", "2")
    assert [event["version"] for event in json.loads(result.stdout)["events"]] == [3, 2]
    result = run(patchsync_bin, "history", server.http, "--doc", "default", "--latest", "1", "--limit", "1")
    assert result.returncode != 0 and "not both" in result.stderr

    result = run(patchsync_bin, "revert", server.http, "--doc", "default", "--to", "1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"version": 4}
    assert http(server, "GET", "/api/docs/default")[1]["state"] == states[1]

    result = run(patchsync_bin, "replay", "--data", str(data_dir), "--doc", "default", "--to", "2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"version": 2, "state": states[2]}
    result = run(patchsync_bin, "replay", "--data", str(data_dir), "--doc", "default")
    assert json.loads(result.stdout) == {"version": 4, "state": states[1]}


def test_command_line_errors_are_one_line_and_fail(patchsync_bin, file_server, data_dir):
    server = file_server
    asyncio.run(act_all(server.ws, [add("a")]))
    result = run(patchsync_bin, "history", server.http, "--doc", "nobody")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "404" in result.stderr and "nobody" in result.stderr

    result = run(patchsync_bin, "revert", server.http, "--doc", "default", "--to", "9")
    assert result.returncode == 1 and "version 9" in result.stderr

    result = run(patchsync_bin, "history", "http://127.0.0.1:1", "--doc", "default")
    assert result.returncode == 2 and "cannot connect" in result.stderr

    result = run(patchsync_bin, "history", "ftp://example", "--doc", "default")
    assert result.returncode == 2 and "http://" in result.stderr

    result = run(patchsync_bin, "replay", "--data", str(data_dir), "--doc", "nobody")
    assert result.returncode == 1 and "nobody" in result.stderr

    result = run(patchsync_bin, "replay", "--data", str(data_dir), "--doc", "default", "--to", "5")
    assert result.returncode == 1 and "version 5" in result.stderr


def test_command_line_sends_the_token(patchsync_bin, start_server):
    server = start_server("--token", "s3cret")
    result = run(patchsync_bin, "history", server.http, "--doc", "default")
    assert result.returncode == 1 and "401" in result.stderr
    result = run(patchsync_bin, "history", server.http, "--doc", "default", "--token", "s3cret")
    # Authorised: the document does not exist yet.
    assert result.returncode == 1 and "404" in result.stderr


def test_command_line_takes_the_token_from_the_environment(patchsync_bin, start_server, monkeypatch):
    server = start_server("--token", "s3cret")
    monkeypatch.setenv("PATCHSYNC_TOKEN", "s3cret")
    result = run(patchsync_bin, "history", server.http, "--doc", "default")
    assert result.returncode == 1 and "404" in result.stderr  # authorised; the document does not exist yet
