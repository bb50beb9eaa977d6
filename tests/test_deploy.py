"""The shipped systemd unit (valid for systemd, sandboxed, running as its own user, every
setting from /etc/default/patchsync) and `make install`."""
import asyncio
import os
import shutil
import subprocess

import pytest

from conftest import ROOT
from support.deploy_unit import UNIT, unit_environment, unit_settings
from support.protocol import Peer, add

SETTINGS = ROOT / "deploy" / "patchsync.default"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(patchsync_bin, tmp_path):
    # systemd-analyze checks that ExecStart exists: point it at the binary under test.
    unit = tmp_path / "patchsync.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/patchsync", patchsync_bin))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_unit_runs_sandboxed_as_a_dedicated_user_with_its_state_in_var_lib():
    settings = unit_settings()
    assert settings["User"] == ["patchsync"]
    assert settings["StateDirectory"] == ["patchsync"]
    assert "PATCHSYNC_DATA=/var/lib/patchsync" in settings["Environment"][0].split()
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes")]:
        assert settings[key] == [value], key
    assert settings["CapabilityBoundingSet"] == [""]


def test_the_unit_takes_every_setting_from_the_environment_file():
    settings = unit_settings()
    assert settings["ExecStart"] == ["/usr/local/bin/patchsync serve"], "options here would win over the file"
    assert settings["EnvironmentFile"] == ["-/etc/default/patchsync"]
    defaults = unit_environment("")
    assert defaults == {"PATCHSYNC_HOST": "127.0.0.1", "PATCHSYNC_PORT": "3333", "PATCHSYNC_DATA": "/var/lib/patchsync"}
    # The shipped settings file changes nothing until a line is uncommented.
    assert unit_environment(SETTINGS.read_text()) == defaults


def test_settings_in_the_environment_file_reach_serve(patchsync_bin, tmp_path):
    """PATCHSYNC_PORT and PATCHSYNC_DATA from /etc/default/patchsync win over the unit's defaults."""
    data = tmp_path / "from-the-file"
    environment = unit_environment(f"PATCHSYNC_PORT=0\nPATCHSYNC_DATA={data}\n")
    environment["PATH"] = os.environ["PATH"]
    process = subprocess.Popen([patchsync_bin, "serve"], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])

        async def scenario():
            peer = await Peer.connect(f"ws://127.0.0.1:{port}/ws")
            assert (await peer.act(add("from systemd")))["type"] == "Ack"
            await peer.close()

        asyncio.run(scenario())
        assert (data / "default" / "log.jsonl").exists()
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
    assert "overrides" not in errors, "nothing on the command line, nothing overridden"


def test_make_install_stages_the_binary_the_unit_the_settings_and_the_docs(patchsync_bin, tmp_path):
    stage = tmp_path / "stage"
    result = subprocess.run(
        ["make", "--no-print-directory", "install-files", f"DESTDIR={stage}", "PREFIX=/usr", f"BINARY={patchsync_bin}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert os.access(stage / "usr/bin/patchsync", os.X_OK)
    unit = (stage / "etc/systemd/system/patchsync.service").read_text()
    assert "ExecStart=/usr/bin/patchsync serve" in unit and "/usr/local/" not in unit
    assert (stage / "etc/default/patchsync").read_text() == SETTINGS.read_text()
    docs = stage / "usr/share/doc/patchsync"
    assert (docs / "README.md").exists() and (docs / "nginx.conf").exists()
    assert {path.name for path in (docs / "docs").glob("*.md")} >= {"protocol.md", "configuration.md", "deployment.md"}
    assert (docs / "docs/decisions/performance.md").exists()
    # Every link of the installed README and docs reaches a file that was installed.
    for page in [docs / "README.md", *(docs / "docs").rglob("*.md")]:
        for target in markdown_links(page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, not installed"

    # A settings file the administrator wrote is never overwritten.
    (stage / "etc/default/patchsync").write_text("PATCHSYNC_PORT=8080\n")
    subprocess.run(["make", "--no-print-directory", "install-files", f"DESTDIR={stage}", "PREFIX=/usr",
                    f"BINARY={patchsync_bin}"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    assert (stage / "etc/default/patchsync").read_text() == "PATCHSYNC_PORT=8080\n"


def markdown_links(text):
    """Relative file targets of [text](target) links, without their #fragment."""
    import re
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" not in target and not target.startswith("#"):
            yield target.split("#", 1)[0]
