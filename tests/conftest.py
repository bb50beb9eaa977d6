"""Shared fixtures: the patchsync binary and real server processes on free 127.0.0.1 ports."""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from support.postgres import PostgresCluster
from support.nginx import Nginx
from support.postgres_proxy import PostgresProxy
from support.tls import make_ca, make_server_certificate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "JSONPatchTests" / "Fixtures"


@pytest.fixture(scope="session")
def patchsync_bin():
    """The debug build of the CLI, built once per test session if missing."""
    # PATCHSYNC_BIN points at another build (a helper's scratch path, a release build).
    binary = Path(os.environ.get("PATCHSYNC_BIN", ROOT / ".build" / "debug" / "patchsync"))
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "patchsync"], cwd=ROOT, check=True)
    return str(binary)


class ServerProcess:
    """`patchsync serve` as a child process; its stderr is kept in `log_path` for assertions."""

    def __init__(self, binary, data_dir, args=(), port=0):
        self.binary, self.data_dir, self.args = binary, str(data_dir), list(args)
        self.port = port
        self.process = None
        self.log_path = Path(self.data_dir).parent / f"server-{id(self)}.log"

    def start(self, port=None, timeout=60):
        """Starts the server, or starts it again after `stop()`. A fixed port (a restart on the same
        port) may still be held by the previous process for a moment, so that is retried."""
        if port is not None:
            self.port = port
        for _ in range(10 if self.port else 1):
            if self._spawn(timeout):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"patchsync did not start:\n{self.log()}")

    def _spawn(self, timeout):
        """True once the server printed where it listens; False (and reaped) if it exited first."""
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data", self.data_dir, *self.args],
            stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        found = threading.Event()

        def read_port():
            # Reads to the end, so the server never blocks on a full pipe.
            for line in self.process.stdout:
                match = re.search(r"listening on (?:http://[^:]+:(\d+)|unix:)", line)
                if match and not found.is_set():
                    self.port = int(match.group(1) or 0)
                    found.set()

        threading.Thread(target=read_port, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05) and self.process.poll() is None and time.monotonic() < deadline:
            pass
        if not found.is_set():
            self.kill()
        return found.is_set()

    @property
    def url(self):
        """The web page."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def http(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout=60):
        """SIGTERM and wait (at most `timeout` s, then kill -9); returns the exit code. The bound
        is generous: a clean exit on a loaded box may take a while, and is not a speed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self):
        """kill -9: no chance to flush or close anything."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="patchsync-test-") as scratch:
        path = Path(scratch) / "data"
        path.mkdir()
        yield path


@pytest.fixture
def start_server(patchsync_bin, data_dir):
    """Factory: start_server(*args, data=None, port=0) -> a running ServerProcess, stopped after the test."""
    started = []

    def start(*args, data=None, port=0):
        server = ServerProcess(patchsync_bin, data or data_dir, args, port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL cluster, started on first use and stopped after the session."""
    cluster = PostgresCluster()
    yield cluster
    cluster.close()


@pytest.fixture
def proxy(postgres):
    """A socket between a server and the private cluster that the test can cut (support/postgres_proxy.py)."""
    proxy = PostgresProxy(postgres)
    yield proxy
    proxy.close()


@pytest.fixture
def database(postgres):
    """Options that put a server's documents in a schema of the private cluster that no other test uses."""
    return ["--database", postgres.url, "--database-schema", postgres.new_schema()]


@pytest.fixture(params=["files", "postgres"])
def server(request, start_server):
    """A running server with default options and no documents, in the file store and in PostgreSQL."""
    if request.param == "postgres":
        return start_server(*request.getfixturevalue("database"))
    return start_server()


@pytest.fixture
def file_server(start_server):
    """A running server with default options and an empty data directory (tests that read its files)."""
    return start_server()


@pytest.fixture
def certificates(tmp_path):
    """The CA nginx's certificate comes from, and another CA that signed nothing of it."""
    directory = tmp_path / "tls"
    directory.mkdir()
    ca = make_ca(directory, "ca")
    other = make_ca(directory, "other-ca")
    return {"ca": ca[0], "other": other[0], "server": make_server_certificate(directory, ca)}


@pytest.fixture
def tls_proxy(start_server, tmp_path, certificates):
    """(server, nginx terminating TLS in front of it)."""
    server = start_server()
    scratch = tmp_path / "nginx"
    scratch.mkdir()
    proxy = Nginx(scratch, f"127.0.0.1:{server.port}", tls=certificates["server"])
    yield server, proxy
    proxy.stop()
