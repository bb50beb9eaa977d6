"""The soak (tests/soak.py) for 30 seconds, with the server killed with SIGKILL twice; `make soak`
runs it for 10 minutes."""
import asyncio

from soak import soak


def test_a_short_soak_with_kill_9_keeps_every_acknowledged_action_and_converges(patchsync_bin):
    figures = asyncio.run(
        soak(patchsync_bin, seconds=30, clients=200, kill_interval=12, slow_share=0.1, max_rss_mib=200, seed=7))
    assert figures["kills"] >= 1
    assert figures["actions_acked"] > 500 and figures["acks_checked"] == figures["actions_acked"]
    assert figures["resumes"] > 0
    assert figures["violations"] == []
