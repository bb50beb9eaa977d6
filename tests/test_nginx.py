"""Behind a real nginx with the shipped deploy/nginx.conf: at / and under /todo/, over TCP and a Unix socket."""
import asyncio
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest
import websockets
from selenium.webdriver.common.by import By

from conftest import ROOT
from support.protocol import Peer, add
from test_browser import console_errors, new_browser, wait_connected, wait_rows, wait_until
from test_operator_page import make_changes


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground with a shipped site file (deploy/nginx.conf) pointed at the
    patchsync upstreams, one for each `server 127.0.0.1:333N;` line of the file."""

    def __init__(self, scratch, *upstreams, site_file="nginx.conf", tls=None):
        """`tls`: a (certificate, key) pair of PEM files; nginx then terminates TLS."""
        self.port = free_port()
        self.scheme = "https" if tls else "http"
        site = (ROOT / "deploy" / site_file).read_text()
        servers = iter(upstreams)
        site, replaced = re.subn(r"server 127\.0\.0\.1:333\d;", lambda _: f"server {next(servers)};", site)
        assert replaced == len(upstreams), f"deploy/{site_file} names {replaced} upstreams, not {len(upstreams)}"
        listen = f"listen 127.0.0.1:{self.port};"
        if tls:
            listen = f"listen 127.0.0.1:{self.port} ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};"
        site, replaced = re.subn(r"listen 80;", listen, site)
        assert replaced == 1, f"deploy/{site_file} no longer listens on port 80"
        (scratch / "patchsync.conf").write_text(site)
        temp = {name: scratch / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        (scratch / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {scratch}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {scratch}/patchsync.conf;
}}
""")
        self.process = subprocess.Popen(
            [NGINX, "-p", str(scratch), "-c", str(scratch / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.PIPE, text=True)
        # Readiness only: the tests themselves check certificates.
        unverified = None
        if tls:
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read()}")
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1, context=unverified).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def url(self, path, scheme=None):
        """`scheme` http or ws (https or wss when nginx terminates TLS)."""
        scheme = scheme or "http"
        if self.scheme == "https":
            scheme += "s"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


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


async def add_through(ws_url, name, **connect):
    peer = await Peer.connect(ws_url, **connect)
    reply = await peer.act(add(name))
    await peer.close()
    return reply, peer.state


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
    deadline = time.monotonic() + 5
    while "203.0.113.7" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "203.0.113.7" in server.log()


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
