"""The shared client scenarios (tests/client_scenarios.md) for the Swift `SyncClient` that need
a relay or nginx, through the CLI commands built on it (`patchsync watch`, `patchsync send`).
The others run in Tests/ServerTests/ClientScenarioTests.swift against the binary."""
import asyncio
import json
import queue
import subprocess
import threading

from support.dropping_relay import DroppingRelay
from support.protocol import Peer, add


def lines_of(process):
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def next_message(lines, timeout=60):
    return json.loads(lines.get(timeout=timeout))


def test_scenario_from_gap_resume(patchsync_bin, file_server):
    relay = DroppingRelay(file_server.http.replace("http", "ws"), drop_version=2).start()
    watch = subprocess.Popen([patchsync_bin, "watch", "--reconnect", relay.url + "/ws"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = lines_of(watch)
    try:
        assert next_message(lines)["type"] == "Full"

        async def write(name):
            peer = await Peer.connect(file_server.ws)
            await peer.act(add(name))
            await peer.close()

        asyncio.run(write("one"))
        assert next_message(lines)["version"] == 1
        asyncio.run(write("two"))  # dropped by the relay
        asyncio.run(write("three"))
        # SyncClient sees `from` 2 after version 1 and connects again for a fresh Full.
        messages = [next_message(lines)]
        while not (messages[-1]["type"] == "Full" and messages[-1]["version"] == 3):
            messages.append(next_message(lines))
        assert sorted(row["name"] for row in messages[-1]["todo"]["todos"].values()) == ["one", "three", "two"]
        assert relay.dropped and relay.connections == 2
    finally:
        watch.terminate()
        watch.wait(timeout=10)
        relay.stop()


def test_scenario_wss_through_nginx(patchsync_bin, tls_proxy, certificates):  # noqa: F811
    server, proxy = tls_proxy
    url = proxy.url("/todo/ws", "ws")
    assert url.startswith("wss://")
    watch = subprocess.Popen([patchsync_bin, "watch", url, "--ca-file", str(certificates["ca"])],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = lines_of(watch)
    try:
        assert next_message(lines)["type"] == "Full"
        sent = subprocess.run([patchsync_bin, "send", url, json.dumps(add("over TLS")), "--ca-file", str(certificates["ca"])],
                              capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout)["type"] == "Ack"
        patch = next_message(lines)
        assert patch["type"] == "Patch" and patch["ops"][0]["value"]["name"] == "over TLS"
    finally:
        watch.terminate()
        watch.wait(timeout=10)
