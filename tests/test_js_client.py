"""The JavaScript client (clients/js/patchsync.js) under Node: runs the shared scenario list
(clients/js/tests/scenarios.mjs, which starts and kills its own servers) with an nginx
terminating TLS in front of a server for the wss:// scenario."""
import os
import shutil
import subprocess

from conftest import ROOT
from test_tls import certificates, tls_proxy  # noqa: F401  (fixtures)


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
