"""`patchsync serve` over real sockets, driven by an independent client: python websockets
(with permessage-deflate, fragments, raw frames) and jsonpatch to mirror the state."""

import asyncio
import base64
import grp
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from support.metrics import metric, metrics
from support.protocol import Peer, fresh_full
from support.waiting import DEADLINE, run, wait_for


def http_get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


async def closed_code(ws):
    """Reads until the server closes the connection; returns the close code it sent (None if none)."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def refused_status(url, **kwargs):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, **kwargs)
    return refused.value.response.status_code


def row(name, completed=False):
    return {"name": name, "completed": completed}


# ---------------------------------------------------------------- HTTP


def test_healthz_answers_ok(server):
    status, _, body = http_get(server.http + "/healthz")
    assert (status, body) == (200, b"ok")


def test_page_and_its_files_are_served_with_content_types(server):
    status, headers, body = http_get(server.http + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "<html" in page.lower()
    # Behind a proxy under /todo/ every link must stay inside the prefix: no root-relative URLs.
    assert not re.search(r'(src|href)="/(?!/)', page)
    for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")]:
        status, headers, body = http_get(f"{server.http}/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body


def test_unknown_path_is_404(server):
    assert http_get(server.http + "/no-such-file.js")[0] == 404


def test_bad_document_name_or_since_is_refused_with_400_before_the_upgrade(server):
    async def scenario():
        assert await refused_status(server.ws + "/bad.name") == 400
        assert await refused_status(server.ws + "/" + "x" * 65) == 400
        assert await refused_status(server.ws + "?since=-1") == 400

    run(scenario())


def test_named_documents_are_separate(server):
    async def scenario():
        other = await Peer.connect(server.ws + "/shop-floor_2")
        assert (await other.act({"type": "ChangeName", "name": "floor"}))["type"] == "Ack"
        assert (await fresh_full(server.ws))[0] == {"name": "", "todos": {}}
        assert (await fresh_full(server.ws + "/shop-floor_2"))[0]["name"] == "floor"
        await other.close()

    run(scenario())


# ---------------------------------------------------------------- protocol


def test_new_document_full_then_two_clients_converge_on_every_action(server):
    async def scenario():
        a = await Peer.connect(server.ws)
        b = await Peer.connect(server.ws)
        assert a.state == {"name": "", "todos": {}} and a.version == 0
        actions = [
            (a, {"type": "Add", "row": row("milk")}),
            (b, {"type": "Add", "row": row("eggs", True)}),
            (a, {"type": "ChangeName", "name": "groceries"}),
            (b, {"type": "Update", "index": 1, "row": row("oat milk", True)}),
            (a, {"type": "Update", "index": 7, "row": row("bread")}),
            (b, {"type": "Add", "row": {"name": "jam", "completed": False, "colour": "red"}}),
            (a, {"type": "Remove", "index": 2}),
            (b, {"type": "RemoveCompleted"}),
        ]
        for version, (peer, action) in enumerate(actions, start=1):
            reply = await peer.act(action)
            assert reply == {"type": "Ack", "id": peer.next_id, "version": version}
        # The other peer sees every Patch too.
        while a.version < len(actions):
            await a.receive()
        while b.version < len(actions):
            await b.receive()
        expected = {"name": "groceries", "todos": {"7": row("bread"), "8": row("jam")}}
        assert a.state == b.state == expected
        assert await fresh_full(server.ws) == (expected, len(actions))
        await a.close()
        await b.close()

    run(scenario())


def test_acks_echo_string_and_number_ids_and_a_no_op_broadcasts_nothing(server):
    async def scenario():
        a = await Peer.connect(server.ws)
        b = await Peer.connect(server.ws)
        await a.send({"type": "ChangeName", "name": "x", "id": "first"})
        assert await a.expect("Ack") == {"type": "Ack", "id": "first", "version": 1}
        await a.send({"type": "ChangeName", "name": "x", "id": 42})
        assert await a.expect("Ack") == {"type": "Ack", "id": 42, "version": 1}
        await a.send({"type": "Remove", "index": 99})
        await a.send({"type": "ChangeName", "name": "y", "id": "third"})
        assert await a.expect("Ack") == {"type": "Ack", "id": "third", "version": 2}
        # b got exactly the two real changes, in order, and nothing for the no-ops.
        assert (await b.receive())["version"] == 1
        assert (await b.receive())["version"] == 2
        assert b.state["name"] == "y"
        await a.close()
        await b.close()

    run(scenario())


BAD_INPUTS = [
    ("not json", "{nope", {"invalid_json"}),
    ("array", "[1, 2]", {"not_an_object"}),
    ("string", '"Add"', {"not_an_object"}),
    ("unknown type", {"type": "Explode", "id": 5}, {"unknown_type"}),
    ("missing type", {"row": row("x"), "id": 5}, {"unknown_type", "invalid_action"}),
    ("missing row", {"type": "Add", "id": 5}, {"invalid_action"}),
    ("mistyped row", {"type": "Add", "row": "milk", "id": 5}, {"invalid_action"}),
    ("mistyped name", {"type": "ChangeName", "name": 5, "id": 5}, {"invalid_action"}),
    ("missing index", {"type": "Remove", "id": 5}, {"invalid_action", "invalid_index"}),
    ("negative index", {"type": "Update", "index": -1, "row": row("x"), "id": 5}, {"invalid_index"}),
    ("fractional index", {"type": "Remove", "index": 1.5, "id": 5}, {"invalid_index"}),
    ("string index", {"type": "Remove", "index": "1", "id": 5}, {"invalid_index", "invalid_action"}),
    ("too deep", "[" * 600 + "]" * 600, {"too_deep"}),
    ("too deep object", '{"type":"Add","row":' + '{"a":' * 600 + "1" + "}" * 600 + "}", {"too_deep"}),
    ("binary frame", b'{"type":"RemoveCompleted"}', {"binary_not_supported"}),
]


@pytest.mark.parametrize("label,message,codes", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_gets_an_error_and_changes_nothing(server, label, message, codes):
    async def scenario():
        peer = await Peer.connect(server.ws)
        assert (await peer.act({"type": "Add", "row": row("keep me")}))["type"] == "Ack"
        before = await fresh_full(server.ws)
        if isinstance(message, dict):
            await peer.send(message)
        else:
            await peer.ws.send(message)
        error = await peer.expect("Error")
        assert error["code"] in codes and error["message"]
        if isinstance(message, dict) and "id" in message:
            assert error["id"] == message["id"]
        # The connection is still open and the state untouched.
        assert await fresh_full(server.ws) == before
        assert (await peer.act({"type": "ChangeName", "name": "still here"}))["type"] == "Ack"
        await peer.close()

    run(scenario())


def test_a_message_sent_in_fragments_is_reassembled(server):
    async def scenario():
        peer = await Peer.connect(server.ws)
        text = json.dumps({"type": "Add", "row": row("fragmented " * 500), "id": "frag"})

        async def fragments():
            for start in range(0, len(text), 700):
                yield text[start:start + 700]

        await peer.ws.send(fragments())
        assert await peer.expect("Ack") == {"type": "Ack", "id": "frag", "version": 1}
        assert peer.state["todos"]["1"]["name"] == "fragmented " * 500
        await peer.close()

    run(scenario())


def test_a_message_over_the_cap_closes_only_that_session_with_1009(start_server):
    server = start_server("--max-message-bytes", "20000")

    async def scenario():
        bystander = await Peer.connect(server.ws)
        for letter, compression in (("d", "deflate"), ("p", None)):
            peer = await Peer.connect(server.ws, compression=compression)
            just_fits = json.dumps({"type": "ChangeName", "name": letter * 19000})
            await peer.ws.send(just_fits)
            await peer.expect("Patch")
            await peer.ws.send(json.dumps({"type": "ChangeName", "name": "n" * 20001}))
            assert await closed_code(peer.ws) == 1009
        assert (await bystander.act({"type": "Add", "row": row("fine")}))["type"] == "Ack"
        await bystander.close()

    run(scenario())


def test_a_client_that_stops_reading_does_not_hold_up_others_and_is_closed_with_1013(start_server):
    # The close timeout outlasts the time the slow client spends not reading below, so the
    # 1013 close frame waits for it instead of the connection being dropped without one. So does
    # the keepalive's: the stalled client answers no ping, and with the default 60 s a loaded box
    # (the 200 actions took over a minute) saw it hung up without a close frame.
    server = start_server("--max-queue-bytes", "100000", "--close-timeout", "300",
                          "--ping-interval", "300", "--ping-timeout", "600")

    async def scenario():
        # A small receive buffer so the backlog builds up in the server, not in the kernel.
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        raw.setblocking(False)
        # No keepalive pings from the stalled side either: a ping written after the server
        # has given up would draw a reset and discard what is still buffered for it.
        slow = await websockets.connect(
            server.ws, sock=raw, max_queue=1, compression=None, max_size=None, ping_interval=None)
        fast = await Peer.connect(server.ws)
        name = "s" * 50000
        for count in range(200):
            reply = await fast.act({"type": "Update", "index": 1, "row": row(f"{count}{name}")})
            assert reply["type"] == "Ack"
        assert fast.version == 200
        assert await closed_code(slow) == 1013
        # The dropped client reconnects and gets the current state in a Full.
        assert (await fresh_full(server.ws))[1] == 200
        await fast.close()

    # 10 MB of Patches through a debug build: 52 s on a box loaded by other builds, which the
    # former 60 s guard barely held. The guard only ends a hung run.
    run(scenario(), guard=300)


def test_connects_and_disconnects_during_a_broadcast_storm_converge(server):
    async def scenario():
        writer = await Peer.connect(server.ws)

        async def write():
            for count in range(150):
                assert (await writer.act({"type": "Add", "row": row(f"row {count}")}))["type"] == "Ack"

        async def churn():
            for _ in range(30):
                peer = await Peer.connect(server.ws)
                await peer.receive()
                await peer.ws.close()

        async def watch():
            peer = await Peer.connect(server.ws)
            while peer.version < 150:
                await peer.receive()
            return peer

        watcher_task = asyncio.ensure_future(watch())
        await asyncio.gather(write(), churn(), churn())
        watcher = await watcher_task
        assert watcher.state == writer.state == (await fresh_full(server.ws))[0]
        assert len(watcher.state["todos"]) == 150
        await writer.close()
        await watcher.close()

    run(scenario())


def test_sigterm_closes_sessions_with_1001_and_exits_0(start_server):
    server = start_server()

    async def scenario():
        a = await Peer.connect(server.ws)
        b = await Peer.connect(server.ws, compression=None)
        assert (await a.act({"type": "Add", "row": row("saved")}))["type"] == "Ack"
        server.process.send_signal(signal.SIGTERM)
        assert await closed_code(a.ws) == 1001
        assert await closed_code(b.ws) == 1001

    run(scenario())
    assert server.process.wait(timeout=DEADLINE) == 0


def test_sigterm_with_a_peer_that_never_answers_the_close_exits_after_the_close_timeout(start_server):
    server = start_server("--close-timeout", "1")
    silent = websocket_handshake(server.port)
    server.process.send_signal(signal.SIGTERM)
    # The server drops the silent peer after the close timeout and exits by itself, cleanly.
    # How soon is a timing (a loaded box stretches it), so no test asserts it.
    assert server.process.wait(timeout=DEADLINE) == 0
    silent.close()


# ---------------------------------------------------------------- security


def test_a_foreign_origin_is_refused_with_403_and_the_own_host_is_allowed(server):
    async def scenario():
        own = f"http://127.0.0.1:{server.port}"
        assert await refused_status(server.ws, origin="http://evil.example") == 403
        await (await Peer.connect(server.ws, origin=own)).close()
        # Programs send no Origin at all.
        await (await Peer.connect(server.ws)).close()

    run(scenario())


def test_allow_origin_replaces_the_default(start_server):
    server = start_server("--allow-origin", "https://box.example", "--allow-origin", "http://panel.local:8080")

    async def scenario():
        await (await Peer.connect(server.ws, origin="https://box.example")).close()
        await (await Peer.connect(server.ws, origin="http://panel.local:8080")).close()
        assert await refused_status(server.ws, origin=f"http://127.0.0.1:{server.port}") == 403
        assert await refused_status(server.ws, origin="https://box.example.evil") == 403

    run(scenario())


def test_tokens_gate_upgrades_and_the_read_token_only_watches(start_server):
    server = start_server("--token", "s3cret-edit", "--read-token", "s3cret-read")

    async def scenario():
        assert await refused_status(server.ws) == 401
        assert await refused_status(server.ws, additional_headers={"Authorization": "Bearer wrong"}) == 401
        assert await refused_status(server.ws + "?token=s3cret-edi") == 401
        editor = await Peer.connect(server.ws, additional_headers={"Authorization": "Bearer s3cret-edit"})
        watcher = await Peer.connect(server.ws + "?token=s3cret-read")
        assert (await editor.act({"type": "Add", "row": row("by editor")}))["type"] == "Ack"
        reply = await watcher.act({"type": "Add", "row": row("by watcher")})
        assert reply["type"] == "Error" and reply["code"] == "forbidden"
        assert watcher.state == editor.state
        assert list(watcher.state["todos"]) == ["1"]
        assert (await Peer.connect(server.ws + "?token=s3cret-edit")).state == editor.state
        await editor.close()
        await watcher.close()

    run(scenario())
    assert "s3cret" not in server.log()


def test_the_full_names_the_session_role_and_the_model_schema(start_server):
    server = start_server("--token", "s3cret-edit", "--read-token", "s3cret-read")

    async def first_message(url):
        async with websockets.connect(url, max_size=None) as ws:
            return json.loads(await ws.recv())

    async def scenario():
        editor = await first_message(server.ws + "?token=s3cret-edit")
        viewer = await first_message(server.ws + "?token=s3cret-read")
        assert editor == {"type": "Full", "todo": {"name": "", "todos": {}}, "version": 0,
                          "schema": 1, "role": "editor"}
        assert viewer == {**editor, "role": "viewer"}
        # Another document, changed in between: the next join sees its new version.
        peer = await Peer.connect(server.ws + "/kitchen?token=s3cret-edit")
        assert (await peer.act({"type": "ChangeName", "name": "Kitchen"}))["type"] == "Ack"
        await peer.close()
        kitchen = await first_message(server.ws + "/kitchen?token=s3cret-read")
        assert kitchen == {"type": "Full", "todo": {"name": "Kitchen", "todos": {}}, "version": 1,
                           "schema": 1, "role": "viewer"}

    run(scenario())


def test_over_the_message_rate_errors_then_1008(start_server):
    server = start_server("--max-messages-per-second", "1", "--message-burst", "3")

    async def scenario():
        peer = await Peer.connect(server.ws)
        bystander = await Peer.connect(server.ws)
        for count in range(40):
            await peer.send({"type": "Add", "row": row(f"{count}"), "id": count})
        replies = []
        code = None
        try:
            while True:
                message = await peer.receive()
                if message["type"] in ("Ack", "Error"):
                    replies.append(message)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        assert code == 1008
        acked = [reply["id"] for reply in replies if reply["type"] == "Ack"]
        limited = [reply for reply in replies if reply["type"] == "Error"]
        assert 1 <= len(acked) < 40
        assert limited and all(reply["code"] == "rate_limited" for reply in limited)
        # Refusals go through the document's queue: every reply comes in the order of the actions.
        assert [reply["id"] for reply in replies] == list(range(len(replies)))
        assert all("id" in reply for reply in limited)
        # Refused actions never reach the state.
        applied = len((await fresh_full(server.ws))[0]["todos"])
        assert len(acked) <= applied <= 40 - len(limited)
        assert (await bystander.act({"type": "ChangeName", "name": "unaffected"}))["type"] == "Ack"
        await bystander.close()
        return len(limited)

    limited = run(scenario())
    wait_for(lambda: metric(metrics(server), "patchsync_actions_rejected_total", code="rate_limited"),
             lambda counted: counted == limited, f"{limited} actions counted as rate_limited")


def test_connection_limits_close_the_extra_session_with_1008(start_server):
    per_address = start_server("--max-connections-per-address", "2")
    total = start_server("--max-connections", "1")

    async def scenario():
        first = await Peer.connect(per_address.ws)
        second = await Peer.connect(per_address.ws)
        extra = await websockets.connect(per_address.ws)
        assert await closed_code(extra) == 1008
        await first.close()
        # A freed slot can be used again.
        await asyncio.sleep(0.2)
        third = await Peer.connect(per_address.ws)
        await second.close()
        await third.close()

        only = await Peer.connect(total.ws)
        extra = await websockets.connect(total.ws)
        assert await closed_code(extra) == 1008
        assert (await only.act({"type": "ChangeName", "name": "still fine"}))["type"] == "Ack"
        await only.close()

    run(scenario())


def test_a_trailing_slash_names_the_same_document(server):
    async def scenario():
        peer = await Peer.connect(server.ws + "/shelf/")
        assert (await peer.act({"type": "ChangeName", "name": "slash"}))["type"] == "Ack"
        await peer.close()
        assert (await fresh_full(server.ws + "/shelf"))[0]["name"] == "slash"

    run(scenario())


def patch_frames_of_a_burst(url, count):
    """The Patch messages a watcher receives while a writer sends `count` actions at once."""
    async def scenario():
        watcher = await Peer.connect(url, compression=None)
        writer = await Peer.connect(url, compression=None)
        for number in range(count):
            await writer.send({"type": "ChangeName", "name": f"name {number}", "id": number})
        patches = []
        while watcher.version != count:
            patches.append(await watcher.expect("Patch"))
        assert watcher.state["name"] == f"name {count - 1}"
        await watcher.close()
        await writer.close()
        return patches

    return run(scenario())


def test_a_watcher_behind_gets_queued_patches_as_one_and_no_coalesce_sends_each(start_server):
    patches = patch_frames_of_a_burst(start_server().ws + "/coalesced", 300)
    # Peer checked each `from` against its version and applied the ops in order.
    assert len(patches) < 300
    assert any(patch["version"] - patch["from"] > 1 for patch in patches)
    assert sum(patch["version"] - patch["from"] for patch in patches) == 300

    patches = patch_frames_of_a_burst(start_server("--no-coalesce").ws + "/each", 300)
    assert [(patch["from"], patch["version"]) for patch in patches] == [(v, v + 1) for v in range(300)]


def masked_frame(opcode, payload):
    """A final client frame, masked as RFC 6455 requires (payload under 126 bytes)."""
    key = os.urandom(4)
    masked = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + masked


def test_invalid_utf8_in_a_text_frame_closes_with_1007(server):
    sock = websocket_handshake(server.port)
    sock.settimeout(10)
    sock.sendall(masked_frame(0x1, b'{"type":"ChangeName","name":"\xff\xfe"}'))
    # The Full (a text frame), then the close frame with its status code. Read until that, not
    # to the end: the server holds the TCP connection until its close times out unanswered.
    received = b""
    while b"\x88" not in received or len(received) < received.index(b"\x88") + 4:
        chunk = sock.recv(4096)
        assert chunk, f"the connection ended without a close frame: {received!r}"
        received += chunk
    sock.close()
    close = received.index(b"\x88")
    assert int.from_bytes(received[close + 2:close + 4], "big") == 1007
    assert run(fresh_full(server.ws))[0]["name"] == ""


# ---------------------------------------------------------------- liveness, compression, proxies


def websocket_handshake(port, path="/ws"):
    """A bare TCP socket after the upgrade: it never reads or answers anything afterwards."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 101")
    return sock


def test_a_peer_that_stops_answering_pings_is_dropped_and_a_live_one_is_kept(start_server):
    server = start_server("--ping-interval", "1", "--ping-timeout", "2")
    dead = websocket_handshake(server.port)

    async def scenario():
        live = await Peer.connect(server.ws)
        # Read (and so collect pings) until the server hangs up on the silent peer.
        received = b""
        loop = asyncio.get_running_loop()
        dead.setblocking(False)
        while True:
            chunk = await loop.sock_recv(dead, 4096)
            if not chunk:
                break
            received += chunk
        assert b"\x89" in received  # the server pinged before giving up (opcode 9, FIN set)
        # python websockets answers pings, so this session outlived the silent one.
        assert (await live.act({"type": "ChangeName", "name": "alive"}))["type"] == "Ack"
        await live.close()

    run(scenario())
    dead.close()


def test_permessage_deflate_is_negotiated_unless_turned_off(start_server):
    # Names longer than the default string limit, to make messages of several deflate buffers.
    compressed = start_server("--max-string-bytes", "262144")
    plain = start_server("--no-compression")

    async def scenario():
        peer = await Peer.connect(compressed.ws)
        assert "permessage-deflate" in peer.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        other = await Peer.connect(compressed.ws)
        # Compressible and incompressible (more than one deflate buffer) messages back to back.
        # and the sizes between (compressed once for every session by the server, not by lws).
        names = ["compressible " * 2000, base64.b64encode(os.urandom(150000)).decode(), "short",
                 "a few words " * 20, base64.b64encode(os.urandom(300)).decode()]
        for name in names:
            assert (await peer.act({"type": "ChangeName", "name": name}))["type"] == "Ack"
            assert peer.state["name"] == name
        while other.version < len(names):
            await other.receive()
        assert other.state == peer.state
        await peer.close()
        await other.close()
        peer = await Peer.connect(plain.ws)
        assert "Sec-WebSocket-Extensions" not in peer.ws.response.headers
        await peer.close()

    run(scenario())


def test_unix_socket_serves_page_and_sessions(patchsync_bin, data_dir):
    with tempfile.TemporaryDirectory(prefix="patchsync-sock-") as scratch:
        path = str(Path(scratch) / "patchsync.sock")
        process = subprocess.Popen(
            [patchsync_bin, "serve", "--unix", path, "--data", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert process.stdout.readline().strip() == f"listening on unix:{path}"

            class UnixConnection(http.client.HTTPConnection):
                def connect(self):
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.connect(path)

            connection = UnixConnection("localhost")
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
            connection.close()

            async def scenario():
                ws = await websockets.unix_connect(path, "ws://localhost/ws")
                peer = Peer(ws)
                await peer.expect("Full")
                assert (await peer.act({"type": "Add", "row": row("via socket")}))["type"] == "Ack"
                await peer.close()

            run(scenario())
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=DEADLINE) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_forwarded_client_address_is_logged_only_from_a_trusted_proxy(start_server):
    trusting = start_server()
    distrusting = start_server("--trusted-proxy", "10.9.8.7")

    async def scenario():
        for server in (trusting, distrusting):
            peer = await Peer.connect(server.ws, additional_headers={"X-Forwarded-For": "198.51.100.4, 203.0.113.9"})
            await peer.close()

    run(scenario())
    # Log lines are written as sessions close; stopping flushes the rest.
    trusting.stop()
    distrusting.stop()
    assert "client=203.0.113.9" in trusting.log()
    assert "203.0.113.9" not in distrusting.log() and "client=127.0.0.1" in distrusting.log()


def connect_as_nobody(path):
    """Opens the Unix socket as user nobody (group nogroup): what a proxy running as another user sees."""
    probe = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({path!r}); print('connected')"
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c", probe],
        capture_output=True, text=True, timeout=20)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_unix_socket_is_open_to_its_group_only(start_server):
    scratch = Path(tempfile.mkdtemp(prefix="patchsync-sock-"))
    scratch.chmod(0o755)  # reachable by the other user
    try:
        private = str(scratch / "private.sock")
        start_server("--unix", private)
        assert os.stat(private).st_mode & 0o777 == 0o660
        refused = connect_as_nobody(private)
        assert refused.returncode != 0 and "Permission denied" in refused.stderr

        shared = str(scratch / "shared.sock")
        start_server("--unix", shared, "--unix-group", "nogroup")
        assert os.stat(shared).st_gid == grp.getgrnam("nogroup").gr_gid
        assert connect_as_nobody(shared).stdout.strip() == "connected"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_an_unknown_unix_socket_group_stops_start_up(patchsync_bin, data_dir, tmp_path):
    result = subprocess.run(
        [patchsync_bin, "serve", "--unix", str(tmp_path / "s.sock"), "--unix-group", "no-such-group",
         "--data", str(data_dir)], capture_output=True, text=True, timeout=20)
    assert result.returncode != 0 and "no-such-group" in result.stderr
