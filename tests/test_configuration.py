"""Options from a config file and the environment, with the command line winning."""
import asyncio
import subprocess

import pytest
import websockets

from conftest import ServerProcess


async def upgrade_status(url, origin):
    try:
        async with websockets.connect(url, origin=origin) as ws:
            await ws.recv()
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


def test_a_config_file_sets_options(patchsync_bin, data_dir, tmp_path):
    config = tmp_path / "patchsync.conf"
    config.write_text("# the box's settings\nallow-origin = https://a.example\nallow-origin = https://b.example\n"
                      "log-level = debug\n")
    server = ServerProcess(patchsync_bin, data_dir, ["--config", str(config)]).start()
    try:
        assert asyncio.run(upgrade_status(server.ws, "https://b.example")) == 101
        assert asyncio.run(upgrade_status(server.ws, "https://evil.example")) == 403
        assert "debug" in server.log()
    finally:
        server.stop()


def test_environment_beats_the_file_and_the_command_line_beats_both(patchsync_bin, data_dir, tmp_path, monkeypatch):
    config = tmp_path / "patchsync.conf"
    config.write_text("allow-origin = https://file.example\n")
    monkeypatch.setenv("PATCHSYNC_CONFIG", str(config))
    monkeypatch.setenv("PATCHSYNC_ALLOW_ORIGIN", "https://env.example")
    server = ServerProcess(patchsync_bin, data_dir).start()
    try:
        assert asyncio.run(upgrade_status(server.ws, "https://env.example")) == 101
        assert asyncio.run(upgrade_status(server.ws, "https://file.example")) == 403
    finally:
        server.stop()
    server = ServerProcess(patchsync_bin, data_dir, ["--allow-origin", "https://cli.example"]).start()
    try:
        assert asyncio.run(upgrade_status(server.ws, "https://cli.example")) == 101
        assert asyncio.run(upgrade_status(server.ws, "https://env.example")) == 403
    finally:
        server.stop()


@pytest.mark.parametrize("content, message", [
    ("port = 0\nallow-orgin = https://a.example\n", "patchsync.conf:2: unknown option 'allow-orgin'"),
    ("port 0\n", "patchsync.conf:1: expected `option = value`"),
    ("max-connections = many\n", "patchsync.conf:1: cannot read 'many' as Int"),
])
def test_a_bad_config_file_stops_start_up_naming_the_line(patchsync_bin, data_dir, tmp_path, content, message):
    config = tmp_path / "patchsync.conf"
    config.write_text(content)
    result = subprocess.run([patchsync_bin, "serve", "--config", str(config), "--data", str(data_dir)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert message in result.stderr


def test_serve_warns_when_the_command_line_overrides_the_environment_or_the_file(
        patchsync_bin, data_dir, tmp_path, monkeypatch):
    """An operator who set PATCHSYNC_PORT (or a config line) and sees no effect learns why."""
    config = tmp_path / "patchsync.conf"
    config.write_text("log-level = info\nmax-documents = 7\n")
    monkeypatch.setenv("PATCHSYNC_CONFIG", str(config))
    monkeypatch.setenv("PATCHSYNC_TOKEN", "from-the-environment")
    server = ServerProcess(patchsync_bin, data_dir, ["--token", "from-the-command-line", "--max-documents", "9"]).start()
    try:
        log = server.log()
    finally:
        server.stop()
    assert "--token on the command line overrides PATCHSYNC_TOKEN" in log
    assert f"--max-documents on the command line overrides {config}:2" in log
    assert "from-the-environment" not in log and "from-the-command-line" not in log, "tokens are never logged"
    assert "--log-level on the command line" not in log, "only what was overridden"


def test_serve_does_not_warn_when_nothing_is_overridden(patchsync_bin, data_dir, monkeypatch):
    monkeypatch.setenv("PATCHSYNC_MAX_DOCUMENTS", "9")
    server = ServerProcess(patchsync_bin, data_dir).start()
    try:
        assert "overrides" not in server.log()
    finally:
        server.stop()
