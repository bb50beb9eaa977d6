"""Behind a real nginx with the shipped deploy/nginx.conf: at / and under /todo/, over TCP and a Unix socket."""
import asyncio
import re
import urllib.request

import pytest
import websockets
from selenium.webdriver.common.by import By

from conftest import ROOT
from support.browser import console_errors, new_browser, wait_connected, wait_rows, wait_until
from support.nginx import Nginx
from support.protocol import add_through
from support.sample_history import make_changes
from support.waiting import wait_for


@pytest.fixture
def behind_nginx(start_server, tmp_path):
    """Factory: (server, nginx) with patchsync on TCP, or on a Unix socket when unix=True."""
    started = []

    def start(*args, unix=False):
        if unix:
            socket_path = tmp_path / "patchsync.sock"
            server = start_server("--unix", str(socket_path), *args)
            upstream = f"unix:{socket_path}"
        else:
            server = start_server(*args)
            upstream = f"127.0.0.1:{server.port}"
        scratch = tmp_path / f"nginx-{len(started)}"
        scratch.mkdir()
        proxy = Nginx(scratch, upstream)
        started.append(proxy)
        return server, proxy

    yield start
    for proxy in started:
        proxy.stop()


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


@pytest.mark.parametrize("prefix", ["", "/todo"])
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix-socket"])
def test_page_api_and_websocket_through_nginx(behind_nginx, prefix, unix):
    server, proxy = behind_nginx(unix=unix)
    status, content_type, body = fetch(proxy.url(f"{prefix}/"))
    assert status == 200 and content_type.startswith("text/html") and "<html" in body.lower()
    assert fetch(proxy.url(f"{prefix}/healthz"))[2] == "ok"

    reply, state = asyncio.run(add_through(proxy.url(f"{prefix}/ws", "ws"), "via nginx"))
    assert reply["type"] == "Ack" and reply["version"] == 1
    assert [row["name"] for row in state["todos"].values()] == ["via nginx"]
    assert '"version":1' in fetch(proxy.url(f"{prefix}/api/docs/default"))[2].replace(" ", "")


def test_nginx_timeouts_outlast_the_default_ping_interval():
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    timeouts = [int(seconds) for seconds in re.findall(r"proxy_(?:read|send)_timeout (\d+)s;", site)]
    assert timeouts and min(timeouts) > 30  # patchsync serve --ping-interval defaults to 30 s


def test_an_idle_session_lives_on_through_nginx_with_pings(behind_nginx):
    """Pings and pongs cross nginx: a quiet but healthy client outlives several ping timeouts."""
    server, proxy = behind_nginx("--ping-interval", "1", "--ping-timeout", "2")

    async def idle():
        async with websockets.connect(proxy.url("/ws", "ws"), ping_interval=None) as ws:
            await ws.recv()
            await asyncio.sleep(5)
            await ws.send('{"type":"ChangeName","name":"still here","id":1}')
            while True:
                if '"Ack"' in await ws.recv():
                    return True

    assert asyncio.run(idle())


def test_client_address_comes_from_x_forwarded_for(behind_nginx):
    server, proxy = behind_nginx()
    asyncio.run(add_through(proxy.url("/ws", "ws"), "x", additional_headers={"X-Forwarded-For": "203.0.113.7"}))
    # The log line is written after the action is answered: read the log until it is there.
    wait_for(lambda: "203.0.113.7" in server.log(), what="the forwarded address in the server's log")


def test_the_page_works_under_a_prefix_in_a_browser(behind_nginx):
    server, proxy = behind_nginx()
    browser = new_browser()
    try:
        browser.get(proxy.url("/todo/"))
        wait_connected(browser)
        browser.find_element(By.NAME, "add").click()
        wait_rows(browser, ["1"])
        # The change went through nginx to the server: a direct client sees it.
        _, state = asyncio.run(add_through(server.ws, "direct"))
        assert set(state["todos"]) == {"1", "2"}
        wait_rows(browser, ["1", "2"])
        assert console_errors(browser) == []
    finally:
        browser.quit()


def test_history_restore_documents_and_display_under_a_prefix(behind_nginx):
    """The operator's tools talk to /todo/api/... and link to /todo/?doc=... behind nginx."""
    server, proxy = behind_nginx()
    asyncio.run(make_changes(server.ws.replace("/ws", "/ws/line-3")))
    browser = new_browser()
    try:
        browser.get(proxy.url("/todo/?doc=line-3"))
        wait_connected(browser)
        wait_rows(browser, ["1", "3"])
        browser.find_element(By.NAME, "history").click()
        wait_until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-history] [data-version="6"]'), "no history")
        browser.find_element(By.CSS_SELECTOR, '[data-history] [data-version="6"]').click()
        wait_until(browser, lambda b: b.find_element(By.ID, "preview").is_displayed(), "no preview")
        browser.find_element(By.NAME, "restore").click()
        browser.find_element(By.NAME, "confirm-restore").click()
        wait_rows(browser, ["1", "2", "3", "4", "5"])

        browser.find_element(By.NAME, "documents").click()
        link = '[data-documents] a[data-doc="line-3"]'
        wait_until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, link), "no documents list")
        assert browser.find_element(By.CSS_SELECTOR, link).get_attribute("href") == proxy.url("/todo/?doc=line-3")

        browser.get(proxy.url("/todo/?doc=line-3&display"))
        wait_connected(browser)
        wait_rows(browser, ["1", "2", "3", "4", "5"])
        assert console_errors(browser) == []
    finally:
        browser.quit()
