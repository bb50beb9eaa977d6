"""The client commands over TLS: `watch`/`send` on wss:// and `history` on https://, through a
real nginx terminating TLS with a certificate from a private CA the test makes (openssl CLI)."""
import asyncio
import json
import queue
import subprocess
import threading

import pytest

from support.nginx import Nginx
from support.protocol import add_through
from support.tls import make_server_certificate


def run_client(patchsync_bin, *args, timeout=30):
    return subprocess.run([patchsync_bin, *args], capture_output=True, text=True, timeout=timeout)


def test_watch_over_wss_sees_a_change(patchsync_bin, tls_proxy, certificates):
    server, proxy = tls_proxy
    url = proxy.url("/todo/ws", "ws")
    assert url.startswith("wss://")
    watch = subprocess.Popen([patchsync_bin, "watch", url, "--ca-file", str(certificates["ca"])],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout], daemon=True).start()
    try:
        # The Full first: from then on the watcher sees every change.
        assert json.loads(lines.get(timeout=60))["type"] == "Full"
        asyncio.run(add_through(server.ws, "over TLS"))
        patch = json.loads(lines.get(timeout=60))
        assert patch["type"] == "Patch" and patch["version"] == 1
        assert [op["value"]["name"] for op in patch["ops"]] == ["over TLS"]
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_watch_over_wss_survives_a_server_restart(patchsync_bin, tls_proxy, certificates, start_server, data_dir):
    """Behind the same nginx, the restarted server is reached through a new TLS connection."""
    server, proxy = tls_proxy
    watch = subprocess.Popen(
        [patchsync_bin, "watch", "--reconnect", proxy.url("/ws", "ws"), "--ca-file", str(certificates["ca"])],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in watch.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60)["type"] == "Full"
        asyncio.run(add_through(server.ws, "before"))
        assert lines.get(timeout=60)["version"] == 1
        port = server.port
        assert server.stop() == 0
        restarted = start_server(data=data_dir, port=port)
        asyncio.run(add_through(restarted.ws, "after"))
        message = lines.get(timeout=60)
        assert (message["type"], message["version"]) == ("Patch", 2), "resumed after version 1, no second Full"
        assert watch.poll() is None
    finally:
        watch.kill()
        watch.wait()


def test_send_over_wss_and_history_over_https(patchsync_bin, tls_proxy, certificates):
    server, proxy = tls_proxy
    ca = ["--ca-file", str(certificates["ca"])]
    sent = run_client(patchsync_bin, "send", proxy.url("/ws", "ws"), *ca,
                      '{"type":"Add","row":{"name":"milk","completed":false}}')
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["type"] == "Ack"

    for prefix in ["", "/todo"]:
        history = run_client(patchsync_bin, "history", proxy.url(prefix), *ca)
        assert history.returncode == 0, history.stderr
        events = json.loads(history.stdout)["events"]
        assert [event["action"]["row"]["name"] for event in events] == ["milk"]


@pytest.mark.parametrize("command", ["watch", "history"])
@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_a_certificate_from_an_untrusted_ca_is_refused_with_a_clear_error(
        patchsync_bin, tls_proxy, certificates, command, trust):
    """Without --ca-file the system's authorities are used: they do not know the test's CA either."""
    server, proxy = tls_proxy
    url = proxy.url("/ws", "ws") if command == "watch" else proxy.url("")
    trusted = ["--ca-file", str(certificates["other"])] if trust == "other-ca" else []
    refused = run_client(patchsync_bin, command, url, *trusted, "--timeout", "10")
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""
    # libwebsockets' own log line may come first; the command's error is the last line.
    error = refused.stderr.splitlines()[-1]
    assert error.startswith(f"patchsync {command}: cannot connect to")
    assert error.endswith("the server's certificate was refused: unable to get local issuer certificate")


def test_a_certificate_for_another_host_is_refused(patchsync_bin, start_server, tmp_path, certificates):
    """The CA is trusted, but the certificate names another host than the URL's (127.0.0.1)."""
    server = start_server()
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    ca_key = certificates["ca"].with_suffix(".key")
    elsewhere = make_server_certificate(directory, (certificates["ca"], ca_key), names="DNS:elsewhere.example")
    scratch = tmp_path / "nginx-elsewhere"
    scratch.mkdir()
    proxy = Nginx(scratch, f"127.0.0.1:{server.port}", tls=elsewhere)
    try:
        refused = run_client(patchsync_bin, "watch", proxy.url("/ws", "ws"), "--ca-file", str(certificates["ca"]))
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.splitlines()[-1].endswith("the server's certificate was refused: IP address mismatch")
    finally:
        proxy.stop()


@pytest.mark.parametrize("command", ["watch", "history"])
def test_an_unreadable_ca_file_is_named_in_the_error(patchsync_bin, tmp_path, command):
    url = "wss://127.0.0.1:1/ws" if command == "watch" else "https://127.0.0.1:1"
    missing = tmp_path / "missing.pem"
    refused = run_client(patchsync_bin, command, url, "--ca-file", str(missing))
    assert refused.returncode == 2
    assert refused.stderr == f"patchsync {command}: cannot use the CA file '{missing}': open failed: No such file or directory (errno 2)\n"
