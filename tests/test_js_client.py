"""The JavaScript client (clients/js/patchsync.js) under Node: runs the shared scenario list
(clients/js/tests/scenarios.mjs, which starts and kills its own servers) with an nginx
terminating TLS in front of a server for the wss:// scenario."""
import os
import shutil
import urllib.error
import subprocess

from conftest import ROOT


def test_js_client_scenarios(patchsync_bin, tls_proxy, certificates):  # noqa: F811
    server, proxy = tls_proxy
    node = shutil.which("node") or "/usr/bin/node"
    environment = {
        **os.environ,
        "PATCHSYNC_BIN": patchsync_bin,
        "PATCHSYNC_WSS_URL": proxy.url("/todo/ws", "ws"),
        "PATCHSYNC_CA_FILE": str(certificates["ca"]),
    }
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", "--test-timeout=180000", str(ROOT / "clients/js/tests/scenarios.mjs")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every scenario ran; none was skipped.
    assert "skipped 0" in result.stdout, result.stdout


def test_the_page_imports_the_client_module_the_server_embeds(file_server):
    """One source file: the server serves clients/js/patchsync.js itself (Sources/WebAssets/Public
    holds a symlink to it), and the page imports it."""
    import urllib.request
    with urllib.request.urlopen(file_server.url + "patchsync.js", timeout=10) as response:
        served = response.read()
        assert response.headers["Content-Type"].startswith("text/javascript")
    assert served == (ROOT / "clients/js/patchsync.js").read_bytes()
    with urllib.request.urlopen(file_server.url + "app.js", timeout=10) as response:
        assert b"from './patchsync.js'" in response.read()
    for gone in ("jsonpatch.js", "outbox.js"):
        try:
            urllib.request.urlopen(file_server.url + gone, timeout=10)
            raise AssertionError(f"{gone} is still served")
        except urllib.error.HTTPError as error:
            assert error.code == 404
