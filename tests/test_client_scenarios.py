"""Every client runs every scenario of tests/client_scenarios.md: each runner names each id."""
import re

import pytest

from conftest import ROOT

RUNNERS = {
    "Python": ["tests/test_python_client.py"],
    "Swift": ["Tests/ServerTests/ClientScenarioTests.swift", "tests/test_swift_client.py"],
    "JavaScript": ["clients/js/tests/scenarios.mjs"],
}


def scenario_ids():
    text = (ROOT / "tests" / "client_scenarios.md").read_text()
    return re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE)


def test_the_list_has_the_issues_scenarios():
    assert scenario_ids() == [
        "connect_full", "send_ack", "refused_action", "raw_patch", "other_change_seen", "from_gap_resume",
        "kill_restart_exactly_once", "token_refused", "wss_through_nginx"]


@pytest.mark.parametrize("client", RUNNERS)
def test_each_runner_has_every_scenario(client):
    text = "".join((ROOT / path).read_text() for path in RUNNERS[client])
    missing = [s for s in scenario_ids() if not re.search(rf"(scenario[ _]{s}\b|test\('{s}')", text)]
    assert missing == [], f"{client} lacks {missing}"
