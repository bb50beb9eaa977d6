"""The shipped systemd unit (deploy/patchsync.service) read as systemd reads it."""
from pathlib import Path

UNIT = Path(__file__).resolve().parent.parent.parent / "deploy" / "patchsync.service"


def unit_settings():
    settings = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def unit_environment(settings_file_text):
    """The environment systemd gives `serve`: the unit's Environment=, then the settings file's
    lines over it (EnvironmentFile= wins), as systemd reads KEY=VALUE lines and # comments."""
    environment = {}
    for line in unit_settings()["Environment"]:
        environment.update(word.split("=", 1) for word in line.split())
    for line in settings_file_text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            environment[key.strip()] = value.strip()
    return environment
