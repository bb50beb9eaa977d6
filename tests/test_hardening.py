"""Issue 19, hardening round two: each finding replayed against a real server (and, for the
cross-origin revert, from a page on another origin in headless Chromium)."""
import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest

from support.other_origin import OtherOrigin
from support.protocol import Peer, add
from support.waiting import wait_for

REVERT = "/api/docs/default/revert"


def request(server, method, path, body=None, headers=None):
    """(status, JSON body) of one request with exactly the headers given; errors are returned."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    outgoing = urllib.request.Request(server.http + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(outgoing, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def version_and_rows(server):
    status, body = request(server, "GET", "/api/docs/default")
    assert status == 200
    return body["version"], len(body["state"]["todos"])


async def act_all(url, actions):
    peer = await Peer.connect(url)
    for action in actions:
        assert (await peer.act(action))["type"] == "Ack"
    await peer.close()


def three_rows(server):
    asyncio.run(act_all(server.ws, [add("milk"), add("bread"), add("eggs")]))
    assert version_and_rows(server) == (3, 3)


# MARK: 1. state-changing requests: the origin rule and JSON only


def test_a_page_on_another_origin_cannot_revert(server):
    from support.browser import new_browser

    three_rows(server)
    attacker = OtherOrigin("<!doctype html><title>elsewhere</title>")
    browser = new_browser()
    try:
        browser.get(attacker.url)
        # The attack of issue 19, as a script on the other origin runs it.
        outcome = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            fetch(arguments[0], {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
                                 body: '{"version":1}'})
              .then(r => done("sent " + r.type), e => done("failed " + e));""",
            server.http + REVERT)
        assert outcome == "sent opaque"  # the request went out; only its answer is hidden
        # And the same with the JSON type, which needs a preflight the server never grants.
        outcome = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            fetch(arguments[0], {method: "POST", headers: {"Content-Type": "application/json"},
                                 body: '{"version":1}'})
              .then(r => done("answered " + r.status), e => done("failed"));""",
            server.http + REVERT)
        assert outcome == "failed"
    finally:
        browser.quit()
        attacker.close()
    assert version_and_rows(server) == (3, 3)
    assert "refused request: origin not allowed" in server.log()


def test_the_page_itself_still_restores(server):
    """The page's own call (same origin, JSON) goes through: the history panel's restore."""
    from support.browser import new_browser

    three_rows(server)
    browser = new_browser()
    try:
        browser.get(server.url)
        answer = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            import("./history-panel.js").then(m => m.callAPI(location.href, null, "docs/default/revert",
                {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({version: 1})}))
              .then(body => done(body), e => done("failed " + e));""")
        assert answer == {"version": 4}
    finally:
        browser.quit()
    assert version_and_rows(server) == (4, 1)


@pytest.mark.parametrize("headers, status, code", [
    ({"Origin": "http://evil.example", "Content-Type": "application/json"}, 403, "origin_not_allowed"),
    ({"Origin": "null", "Content-Type": "application/json"}, 403, "origin_not_allowed"),
    ({"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"Content-Type": "application/jsonp"}, 415, "unsupported_media_type"),
    ({}, 415, "unsupported_media_type"),
])
def test_a_revert_from_a_foreign_origin_or_without_json_is_refused(server, headers, status, code):
    three_rows(server)
    answer = request(server, "POST", REVERT, {"version": 1}, headers)
    assert answer[0] == status and answer[1]["error"]["code"] == code, answer
    assert version_and_rows(server) == (3, 3)


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},
    {"Content-Type": "Application/JSON; charset=utf-8"},
    {"Content-Type": "application/json", "Origin": "ORIGIN"},
])
def test_a_revert_from_the_same_origin_or_a_program_works(server, headers):
    three_rows(server)
    headers = {name: value.replace("ORIGIN", server.http) for name, value in headers.items()}
    assert request(server, "POST", REVERT, {"version": 1}, headers) == (200, {"version": 4})


def test_an_allowed_origin_may_revert(start_server):
    server = start_server("--allow-origin", "https://panel.example")
    three_rows(server)
    json_type = {"Content-Type": "application/json"}
    assert request(server, "POST", REVERT, {"version": 1}, {**json_type, "Origin": server.http})[0] == 403
    assert request(server, "POST", REVERT, {"version": 1}, {**json_type, "Origin": "https://panel.example"}) == (
        200, {"version": 4})


def test_reads_need_no_json_type(server):
    three_rows(server)
    assert request(server, "GET", "/api/docs/default/history?limit=1", headers={"Origin": "http://evil.example"})[0] == 200


# MARK: 7. names and query arguments refused whole


def upgrade_status(server, target):
    """The status line's code for an upgrade of `target` (sent byte for byte); None when the
    server closed the connection without an answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\nHost: 127.0.0.1:" + str(server.port).encode()
            + b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        line = connection.makefile("rb").readline().decode()
    return int(line.split(" ")[1]) if line else None


@pytest.mark.parametrize("target", [
    "/ws/%00", "/ws/.", "/ws/%2e", "/ws/", "/ws//", "/ws/%0a", "/ws/a%2fb", "/ws/%ff", "/ws/a%20b",
    "/ws?client=a;b", "/ws?client=a b", "/ws?client=a%20b", "/ws?client=a+b", "/ws?client=a%3bb",
    "/ws?client=a&client=b", "/ws?client=" + "x" * 65, "/ws?client=", "/ws?since=1;x", "/ws?since=1&b",
])
def test_bad_names_and_arguments_are_http_400(server, target):
    assert upgrade_status(server, target) == 400
    assert upgrade_status(server, "/ws?client=a-b_9") == 101


@pytest.mark.parametrize("target", ["/ws/..", "/ws/a%00b", "/ws?client=a%00"])
def test_names_lws_resolves_or_drops_open_nothing(server, target):
    """lws resolves `/ws/..` to `/` (404) and drops a decoded NUL itself: no session either way."""
    assert upgrade_status(server, target) in (404, None)
    assert "session opened" not in server.log()


@pytest.mark.parametrize("target", ["/api/docs?limit=1;x", "/api/docs/default/history?since=1&since=2",
                                    "/api/docs/default/history?limit=1 x"])
def test_api_routes_refuse_ambiguous_arguments(server, target):
    assert raw_get_status(server, target) == 400


def raw_get_status(server, target):
    """The status of a GET of `target` sent as it is, unquoted, on its own connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return int(connection.makefile("rb").readline().split()[1])


@pytest.mark.parametrize("target", ["/?doc=line-3&display", "/?display", "/app.js?v"])
def test_the_page_keeps_its_own_query(server, target):
    """The page reads its query itself (`&display` has no value): only the API's arguments must be pairs."""
    assert raw_get_status(server, target) == 200


# MARK: 2, 3, 5, 6, 8: the engine's findings, replayed over WebSocket


async def open_peer(url):
    return await Peer.connect(url)


async def reply_to(peer, message):
    """Sends `message` as is and returns the first Ack or Error after it."""
    await peer.send(message)
    while True:
        answer = await peer.receive()
        if answer["type"] in ("Ack", "Error"):
            return answer


def test_a_presence_name_of_one_character_and_60_kb_is_refused(server):
    async def scenario():
        watcher = await open_peer(server.ws)
        await watcher.send({"type": "Hello", "name": "watcher"})
        await watcher.expect("Presence")
        peer = await open_peer(server.ws)
        answer = await reply_to(peer, {"type": "Hello", "name": "e" + "\u0301" * 30_000, "id": "h"})
        assert answer["type"] == "Error" and answer["code"] == "invalid_action" and "bytes" in answer["message"]
        # 256 bytes pass; 257 do not.
        assert (await reply_to(peer, {"type": "Hello", "name": "😀" * 64, "id": "ok"})).get("code") is None
        join = await watcher.expect("PresenceJoin")
        assert join["session"]["name"] == "😀" * 64
        answer = await reply_to(peer, {"type": "Hello", "name": "😀" * 64 + "x", "id": "h2"})
        assert answer["code"] == "invalid_action"
        for p in (watcher, peer):
            await p.close()

    asyncio.run(scenario())
    assert "\u0301" not in server.log()


def test_an_action_id_over_128_bytes_is_refused_and_not_remembered(server):
    async def scenario():
        peer = await open_peer(server.ws + "?client=tab-1")
        answer = await reply_to(peer, {**add("x"), "id": "i" * 60_000})
        assert answer["type"] == "Error" and answer["code"] == "invalid_action" and "id" not in answer
        assert "at most 128" in answer["message"]
        assert (await reply_to(peer, {**add("y"), "id": "i" * 128}))["type"] == "Ack"
        await peer.close()

    asyncio.run(scenario())
    assert version_and_rows(server) == (1, 1)


def test_metrics_show_the_outcome_memory(server):
    def outcome_memory():
        with urllib.request.urlopen(server.http + "/metrics", timeout=30) as response:
            text = response.read().decode()
        samples = dict(line.split(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        return samples["patchsync_action_outcomes"], int(samples["patchsync_action_outcome_bytes"])

    async def scenario():
        peer = await open_peer(server.ws + "?client=tab-1")
        for index in range(3):
            assert (await reply_to(peer, {**add(f"r{index}"), "id": f"id-{index}"}))["type"] == "Ack"
        # The Ack can leave before the outcome is remembered (PostgreSQL: after its commit), so
        # the gauge is read until it shows the three, while the session that owns them is open.
        remembered = await asyncio.to_thread(wait_for, outcome_memory, lambda memory: memory[0] == "3",
                                             "three outcomes remembered (count, bytes)")
        await peer.close()
        return remembered

    outcomes, outcome_bytes = asyncio.run(scenario())
    assert outcomes == "3" and outcome_bytes > 0


@pytest.mark.parametrize("index", ["4294967296", "9223372036854775807"])
def test_raw_patches_cannot_write_rows_above_u32(server, index):
    async def scenario():
        peer = await open_peer(server.ws)
        op = {"op": "add", "path": f"/todos/{index}", "value": {"name": "x", "completed": False}}
        answer = await reply_to(peer, {"type": "Patch", "ops": [op], "id": 1})
        assert answer["type"] == "Error" and answer["code"] == "invalid_patch", answer
        assert answer["message"].startswith(f"/todos/{index}:")
        await peer.close()

    asyncio.run(scenario())
    assert request(server, "GET", "/api/docs/default")[0] == 404  # never written


def test_a_viewer_cannot_occupy_an_editors_client_and_id(start_server):
    server = start_server("--token", "edit-secret", "--read-token", "view-secret")

    async def scenario():
        viewer = await Peer.connect(server.ws + "?client=X&token=view-secret")
        answer = await reply_to(viewer, {"type": "ChangeName", "name": "n", "id": "1"})
        assert answer["code"] == "forbidden"
        editor = await Peer.connect(server.ws + "?client=X&token=edit-secret")
        answer = await reply_to(editor, {"type": "ChangeName", "name": "n", "id": "1"})
        assert answer["type"] == "Ack" and answer["version"] == 1
        for p in (viewer, editor):
            await p.close()

    asyncio.run(scenario())


def test_a_conflict_on_the_root_names_it_readably(server):
    async def scenario():
        peer = await open_peer(server.ws)
        for name in ("a", "b"):
            assert (await peer.act({"type": "ChangeName", "name": name}))["type"] == "Ack"
        answer = await reply_to(peer, {"type": "Patch", "base": 1, "id": "r",
                                       "ops": [{"op": "replace", "path": "", "value": {"name": "c", "todos": {}}}]})
        assert answer["code"] == "conflict"
        assert answer["message"] == '"" (the whole document) changed after version 1'
        await peer.close()

    asyncio.run(scenario())


def test_a_resume_ahead_of_a_never_written_document_is_http_400(server):
    assert upgrade_status(server, "/ws/fresh?since=5") == 400
    assert upgrade_status(server, "/ws/fresh?since=0") == 101
    asyncio.run(act_all(server.ws, [add("x")]))
    # Ahead of a written document: a Full, as before (PROTOCOL.md's resume rule).
    assert upgrade_status(server, "/ws?since=5") == 101


@pytest.mark.parametrize("outer_headers", ["Origin: http://evil.example\r\nContent-Type: application/json",
                                           "Content-Type: text/plain"])
def test_a_refused_body_is_never_read_as_the_next_request(server, outer_headers):
    """The refusal comes before the body is read: a body holding a whole JSON request, without
    an Origin, must not run as a second request on the same connection."""
    three_rows(server)
    inner = (b"POST " + REVERT.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 13\r\n\r\n{\"version\":1}")
    outer = (f"POST {REVERT} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{outer_headers}\r\n"
             f"Content-Length: {len(inner)}\r\n\r\n").encode() + inner
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(outer)
        reply = connection.makefile("rb")
        assert int(reply.readline().split()[1]) in (403, 415)
        connection.settimeout(2)
        try:
            rest = reply.read()
        except (socket.timeout, TimeoutError):
            rest = b""
    assert b"HTTP/1.1 200" not in rest
    assert version_and_rows(server) == (3, 3)
