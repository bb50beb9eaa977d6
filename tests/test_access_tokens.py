"""Signed access tokens (issue 22): --jwt-key, per-document read/write/admin, author in history,
1008 when a session's token expires, SIGHUP key rotation. Tokens are made with PyJWT."""
import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from support.http_api import http
from support.postgres import schema_of
from support.protocol import Peer, add

SECRET = "a-shared-secret-of-the-line-controller-32b"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def public_pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def keys(tmp_path):
    """An HS256 secret, an Ed25519 and a P-256 key pair; the servers get the secret and public keys."""
    ed, p256 = ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "plant.key").write_text(SECRET + "\n")
    (tmp_path / "portal.pem").write_bytes(public_pem(ed))
    (tmp_path / "line.pem").write_bytes(public_pem(p256))
    signing = {"HS256": (SECRET, "plant"), "EdDSA": (ed, "portal"), "ES256": (p256, "line")}
    paths = [str(tmp_path / name) for name in ("plant.key", "portal.pem", "line.pem")]
    return signing, paths


def token(signing, algorithm="EdDSA", sub="line-3 operator", read=(), write=(), admin=False, lifetime=3600,
          kid=True, **claims):
    key, key_id = signing[algorithm]
    payload = {"sub": sub, "exp": int(time.time()) + lifetime,
               "patchsync": {"read": list(read), "write": list(write), "admin": admin}, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": key_id} if kid else None)


def key_args(paths):
    return [argument for path in paths for argument in ("--jwt-key", path)]


async def refused_status(url, **kwargs):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, **kwargs)
    return refused.value.response.status_code


def ws(server, document, token_text):
    return f"{server.ws}/{document}?token={token_text}"


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256"])
def test_each_algorithm_is_accepted_with_and_without_kid(start_server, keys, algorithm):
    signing, paths = keys
    server = start_server(*key_args(paths))

    async def scenario():
        for kid in (True, False):
            text = token(signing, algorithm, write=["line-3"], kid=kid)
            peer = await Peer.connect(f"{server.ws}/line-3", additional_headers={"Authorization": f"Bearer {text}"})
            assert (await peer.act(add("bolt")))["type"] == "Ack"
            await peer.close()

    run(scenario())


def test_bad_tokens_are_refused_with_401_and_no_hint(start_server, keys):
    signing, paths = keys
    server = start_server(*key_args(paths))
    good = token(signing, write=["*"])
    header, claims, signature = good.split(".")
    forged_signature = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "patchsync": {"admin": True}}, None,
                          algorithm="none")
    other_ed = ed25519.Ed25519PrivateKey.generate()
    refused = {
        "forged signature": f"{header}.{claims}.{forged_signature}",
        "alg none": unsigned,
        "signed by an unknown key": jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, other_ed, algorithm="EdDSA"),
        # The server's public key text used as an HS256 secret: the algorithm-confusion attack.
        "alg not matching the key": jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "not the secret",
                                               algorithm="HS256", headers={"kid": "portal"}),
        "expired beyond the skew": token(signing, write=["*"], lifetime=-31),
        "nbf in the future beyond the skew": token(signing, write=["*"], nbf=int(time.time()) + 120),
        "no sub": token(signing, sub=None, write=["*"]),
        "no exp": jwt.encode({"sub": "x", "patchsync": {"admin": True}}, signing["EdDSA"][0], algorithm="EdDSA"),
        "not a token": "nonsense",
    }

    async def scenario():
        for reason, text in refused.items():
            status = await refused_status(ws(server, "line-3", text))
            assert status == 401, reason
            assert http(server, "GET", "/api/docs", token=text) == (
                401, {"error": {"code": "unauthorized", "message": "missing or wrong token"}}), reason
        # Within the skew both ways: accepted. A token that expired 20 s ago passes the upgrade,
        # then the session closes at once: the server's clock is past its exp.
        await (await Peer.connect(ws(server, "line-3", token(signing, write=["*"], nbf=int(time.time()) + 20)))).close()
        late = await websockets.connect(ws(server, "line-3", token(signing, write=["*"], lifetime=-20)))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(late.recv(), 30)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "token expired")

    run(scenario())
    for text in refused.values():
        assert text not in server.log(), "tokens are never logged"
    for reason in ("badSignature", "algorithmNotAllowed", "expired", "notYetValid", "invalidClaims", "malformed"):
        assert f"reason={reason}" in server.log(), "the log says why, the client is not told"


def test_read_write_and_outside(start_server, keys):
    signing, paths = keys
    server = start_server(*key_args(paths))
    operator = token(signing, read=["line-*"], write=["line-3"])

    async def scenario():
        assert await refused_status(ws(server, "office", operator)) == 403
        editor = await Peer.connect(ws(server, "line-3", operator))
        assert (await editor.act(add("bolt")))["type"] == "Ack"
        viewer = await websockets.connect(ws(server, "line-4", operator))
        full = json.loads(await viewer.recv())
        assert full["type"] == "Full" and full["role"] == "viewer"
        for action in (add("nut"), {"type": "Patch", "ops": [{"op": "add", "path": "/todos/x", "value": 1}]}):
            await viewer.send(json.dumps({**action, "id": 1}))
            reply = json.loads(await viewer.recv())
            assert reply["type"] == "Error" and reply["code"] == "forbidden", reply
        await viewer.close()
        await editor.close()

    run(scenario())
    assert http(server, "GET", "/api/docs/line-3", token=operator)[0] == 200
    assert http(server, "GET", "/api/docs/line-3/history", token=operator)[0] == 200
    assert http(server, "GET", "/api/docs/line-3/state?version=1", token=operator)[0] == 200
    for path in ("/api/docs/office", "/api/docs/office/history", "/api/docs/office/state?version=0"):
        status, body = http(server, "GET", path, token=operator)
        assert (status, body["error"]["code"]) == (403, "forbidden"), path


def test_the_document_list_shows_only_readable_documents(start_server, keys):
    signing, paths = keys
    server = start_server(*key_args(paths))
    admin = token(signing, admin=True)

    async def scenario():
        for name in ("line-3", "line-4", "office"):
            peer = await Peer.connect(ws(server, name, admin))
            assert (await peer.act(add("x")))["type"] == "Ack"
            await peer.close()

    run(scenario())
    def names(text):
        status, body = http(server, "GET", "/api/docs", token=text)
        assert status == 200
        return sorted(document["name"] for document in body["documents"])
    assert names(admin) == ["line-3", "line-4", "office"]
    assert names(token(signing, read=["line-*"])) == ["line-3", "line-4"]
    assert names(token(signing, write=["office"])) == ["office"]
    assert names(token(signing)) == []


def test_revert_and_metrics_need_admin_and_static_tokens_keep_working(start_server, keys):
    signing, paths = keys
    server = start_server(*key_args(paths), "--token", "static-edit", "--read-token", "static-read")
    writer = token(signing, write=["*"])
    admin = token(signing, sub="quality lead", admin=True)

    async def scenario():
        peer = await Peer.connect(ws(server, "line-3", writer))
        for name in ("a", "b"):
            assert (await peer.act(add(name)))["type"] == "Ack"
        await peer.close()
        static = await Peer.connect(ws(server, "line-3", "static-edit"))
        assert (await static.act(add("c")))["type"] == "Ack"
        await static.close()
        watcher = await websockets.connect(ws(server, "line-3", "static-read"))
        assert json.loads(await watcher.recv())["role"] == "viewer"
        await watcher.close()

    run(scenario())
    status, body = http(server, "POST", "/api/docs/line-3/revert", {"version": 1}, token=writer)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert http(server, "POST", "/api/docs/line-3/revert", {"version": 1}, token="static-read")[0] == 403
    assert http(server, "POST", "/api/docs/line-3/revert", {"version": 1}, token=admin) == (200, {"version": 4})
    assert http(server, "POST", "/api/docs/line-3/revert", {"version": 2}, token="static-edit") == (200, {"version": 5})
    assert http(server, "GET", "/metrics", token=writer, raw=True)[0] == 403
    assert http(server, "GET", "/metrics", token=admin, raw=True)[0] == 200
    assert http(server, "GET", "/metrics", token="static-edit", raw=True)[0] == 200
    _, history = http(server, "GET", "/api/docs/line-3/history", token="static-read")
    authors = [(event["version"], event["author"]) for event in history["events"]]
    assert authors == [(1, "line-3 operator"), (2, "line-3 operator"), (3, None), (4, "quality lead"), (5, None)]


@pytest.mark.parametrize("store", ["files", "postgres"])
def test_author_is_recorded_in_the_store_and_survives_a_restart(request, start_server, keys, store):
    signing, paths = keys
    options = key_args(paths) + (request.getfixturevalue("database") if store == "postgres" else [])
    server = start_server(*options)
    operator = token(signing, sub="line-3 operator", write=["line-3"])

    async def scenario(target):
        peer = await Peer.connect(ws(target, "line-3", operator))
        await peer.send({"type": "Hello", "name": "panel"})
        presence = await peer.expect("Presence")
        assert [entry["user"] for entry in presence["sessions"]] == ["line-3 operator"]
        assert (await peer.act(add("bolt")))["type"] == "Ack"
        await peer.close()

    run(scenario(server))
    server.stop()
    server.start()
    status, history = http(server, "GET", "/api/docs/line-3/history", token=operator)
    assert status == 200
    assert [event["author"] for event in history["events"]] == ["line-3 operator"]
    if store == "postgres":
        postgres = request.getfixturevalue("postgres")
        schema = schema_of(request.getfixturevalue("database"))
        assert postgres.sql(f"SELECT author FROM {schema}.events WHERE document = 'line-3'") == [["line-3 operator"]]
    else:
        lines = (Path(server.data_dir) / "line-3" / "log.jsonl").read_text().splitlines()
        assert [json.loads(line).get("author") for line in lines] == ["line-3 operator"]


def test_an_inbox_row_may_name_its_author(start_server, keys, database, postgres):
    signing, paths = keys
    server = start_server(*key_args(paths), *database)
    schema = schema_of(database)
    postgres.sql(f"INSERT INTO {schema}.inbox (document, action, author) VALUES "
                 f"('line-3', '{json.dumps(add('from erp'))}', 'erp bridge'), "
                 f"('line-3', '{json.dumps(add('anonymous'))}', NULL)")
    deadline = time.monotonic() + 60
    while postgres.sql(f"SELECT count(*) FROM {schema}.inbox WHERE applied_at IS NULL") != [["0"]]:
        assert time.monotonic() < deadline, "the inbox is drained"
        time.sleep(0.1)
    assert postgres.sql(
        f"SELECT coalesce(author, '<null>') FROM {schema}.events WHERE document = 'line-3' ORDER BY version") == [
        ["erp bridge"], ["<null>"]]
    _, history = http(server, "GET", "/api/docs/line-3/history", token=token(signing, read=["*"]))
    assert [event["author"] for event in history["events"]] == ["erp bridge", None]


def test_a_session_is_closed_with_1008_when_its_token_expires(start_server, keys):
    signing, paths = keys
    server = start_server(*key_args(paths))

    async def scenario():
        # Accepted thanks to the skew, then closed on the server's clock without it.
        session = await websockets.connect(ws(server, "line-3", token(signing, write=["*"], lifetime=5)))
        received = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                received.append(json.loads(await asyncio.wait_for(session.recv(), 30))["type"])
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "token expired")
        assert received[:1] == ["Full"]

    run(scenario())


def test_sighup_rotates_keys_without_dropping_sessions(start_server, keys, tmp_path):
    signing, paths = keys
    portal = Path(paths[1])
    server = start_server("--jwt-key", str(portal))
    old = token(signing, write=["*"], lifetime=3600)
    replacement = ed25519.Ed25519PrivateKey.generate()

    async def scenario():
        open_session = await Peer.connect(ws(server, "line-3", old))
        portal.write_bytes(public_pem(replacement))
        server.process.send_signal(signal.SIGHUP)
        new = jwt.encode({"sub": "new", "exp": int(time.time()) + 600, "patchsync": {"write": ["*"]}}, replacement,
                         algorithm="EdDSA", headers={"kid": "portal"})
        deadline = time.monotonic() + 60
        while True:
            try:
                peer = await Peer.connect(ws(server, "line-3", new))
                break
            except websockets.InvalidStatus:
                assert time.monotonic() < deadline, "the new key is taken on SIGHUP"
                await asyncio.sleep(0.2)
        assert await refused_status(ws(server, "line-3", old)) == 401, "the old key is gone"
        # The session opened with the old key is still there and still in sync.
        assert (await peer.act(add("after rotation")))["type"] == "Ack"
        await open_session.expect("Patch")
        assert (await open_session.act(add("still editing")))["type"] == "Ack"
        # A key file that cannot be read keeps the keys in use.
        portal.write_text("-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----\n")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while "keeping the previous ones" not in server.log():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        await (await Peer.connect(ws(server, "line-3", new))).close()
        await peer.close()
        await open_session.close()

    run(scenario())
    assert server.process.poll() is None


def test_an_unreadable_key_stops_start_up_and_the_config_file_names_keys(patchsync_bin, start_server, keys, tmp_path,
                                                                         data_dir):
    signing, paths = keys
    for bad in (str(tmp_path / "missing.pem"), str(tmp_path / "private.pem")):
        if bad.endswith("private.pem"):
            Path(bad).write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        result = subprocess.run([patchsync_bin, "serve", "--port", "0", "--data", str(data_dir), "--jwt-key", bad],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert bad in result.stderr
    config = tmp_path / "patchsync.conf"
    config.write_text("".join(f"jwt-key = {path}\n" for path in paths))
    server = start_server("--config", str(config))

    async def scenario():
        for algorithm in ("HS256", "EdDSA", "ES256"):
            await (await Peer.connect(ws(server, "line-3", token(signing, algorithm, read=["*"])))).close()
        assert await refused_status(ws(server, "line-3", "")) == 401

    run(scenario())


def documented_blocks(language):
    """The fenced `language` blocks of docs/access.md, in order."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "access.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_documented_example_works_in_chromium(start_server, tmp_path):
    """docs/access.md's worked example, as written: openssl key pair, the PyJWT script, the page."""
    from selenium.webdriver.common.by import By
    from support.browser import new_browser, wait_connected, wait_until

    shell = documented_blocks("sh")
    for command in shell[0].splitlines():
        if command.startswith("openssl "):
            subprocess.run(command, shell=True, cwd=tmp_path, check=True, capture_output=True)
        else:
            assert command == "patchsync serve --jwt-key portal.pem"
    script = tmp_path / "make-token.py"
    script.write_text(documented_blocks("python")[0])
    made = subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True, text=True)
    text = made.stdout.strip()
    assert jwt.get_unverified_header(text)["kid"] == "portal"
    server = start_server("--jwt-key", str(tmp_path / "portal.pem"))
    assert 'xdg-open "http://127.0.0.1:3333/?doc=line-3#token=$(python3 make-token.py)"' in shell[1]

    async def refused():
        assert await refused_status(ws(server, "office", text)) == 403

    run(refused())
    browser = new_browser()
    try:
        browser.get(f"{server.url}?doc=line-3#token={text}")
        wait_connected(browser)
        assert not browser.find_element(By.NAME, "list-name").get_property("readOnly")
        browser.get(f"{server.url}?doc=line-4#token={text}")
        wait_connected(browser)
        # The Full says "viewer": the page is read-only before any edit is tried.
        wait_until(browser, lambda b: b.find_element(By.NAME, "list-name").get_property("readOnly"),
                   "line-4 is read-only for the line-3 operator")
        assert "view only" in browser.find_element(By.CSS_SELECTOR, "[data-status]").text
        browser.get("about:blank")
    finally:
        browser.quit()


def test_the_page_says_when_its_token_expired_and_takes_a_new_one(start_server, keys):
    """Closed with 1008 "token expired", the page stops retrying and says so, with the portal's
    link from #renew=; a new #token= reloads it, and an edit made meanwhile is saved then."""
    from selenium.webdriver.common.by import By
    from support.browser import new_browser, wait_connected, wait_until

    signing, paths = keys
    server = start_server(*key_args(paths))
    portal = "http://portal.example/patchsync"
    browser = new_browser()
    try:
        short = token(signing, write=["line-*"], lifetime=4)
        browser.get(f"{server.url}?doc=line-3#token={short}&renew={portal}")
        wait_connected(browser)
        problem = browser.find_element(By.ID, "problem")
        wait_until(browser, lambda b: problem.is_displayed(), "the page never said its token expired")
        assert "expired" in problem.text
        assert problem.find_element(By.LINK_TEXT, "Sign in again").get_attribute("href") == portal
        assert browser.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status") == "offline"
        browser.find_element(By.NAME, "list-name").send_keys("Line 3")

        fresh = token(signing, write=["line-*"])
        browser.execute_script("location.hash = arguments[0]", f"token={fresh}")
        wait_connected(browser)
        wait_until(browser, lambda b: not b.find_element(By.ID, "problem").is_displayed(), "the notice stayed")

        async def saved_name():
            peer = await Peer.connect(ws(server, "line-3", fresh))
            await peer.close()
            return peer.state["name"]

        wait_until(browser, lambda b: run(saved_name()) == "Line 3", "the edit made while expired was lost")
        browser.get("about:blank")
    finally:
        browser.quit()
