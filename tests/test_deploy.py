"""The shipped systemd unit: valid for systemd, sandboxed, running as its own user."""
import shutil
import subprocess

import pytest

from conftest import ROOT

UNIT = ROOT / "deploy" / "patchsync.service"


def unit_settings():
    settings = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


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
    assert "--data /var/lib/patchsync" in settings["ExecStart"][0]
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes")]:
        assert settings[key] == [value], key
    assert settings["CapabilityBoundingSet"] == [""]
