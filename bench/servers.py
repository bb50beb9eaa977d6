"""Start the servers that benchmarks compare: patchsync and, when present, its two anchors; and
read a process's CPU time, as every benchmark does.

The anchors live beside the project in ../shared/peers (the original design in Python) and in
Debian's libwebsockets-test-server (pure C fan-out). A missing anchor is skipped with a note.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_ANCHOR = ROOT.parent / "shared" / "peers" / "seed_python.py"
MIRROR_SERVER = shutil.which("libwebsockets-test-server")


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_instance(binary, data, extra):
    """`patchsync serve` on a port of its choosing, with `extra` options (e.g. a database, for one
    of several instances); returns (process, "127.0.0.1:PORT") once it listens."""
    process = subprocess.Popen([binary, "serve", "--port", "0", "--data", str(data), "--log-level", "warning", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        match = re.search(r"listening on http://[^:]+:(\d+)", line)
        if match:
            # Read what it logs from then on: a full pipe would stop the server mid-run.
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, f"127.0.0.1:{match.group(1)}"
    raise RuntimeError("patchsync did not start")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Server:
    """A running server: its name, process, ws URL and the subprotocol a client must ask for."""

    def __init__(self, name, process, url, subprotocol=None):
        self.name, self.process, self.url, self.subprotocol = name, process, url, subprotocol

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"{self.name}: no VmRSS")


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def patchsync(binary, data=None, args=()):
    """patchsync on a free port, on `data` (default: an empty scratch directory), with `args`."""
    with tempfile.TemporaryDirectory(prefix="patchsync-bench-") as scratch:
        process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", str(data or scratch), "--log-level", "warning", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = None
            for line in process.stdout:
                match = re.search(r"listening on http://[^:]+:(\d+)", line)
                if match:
                    port = int(match.group(1))
                    break
            if port is None:
                raise RuntimeError("patchsync did not print its port")
            yield Server("patchsync", process, f"ws://127.0.0.1:{port}/ws")
        finally:
            _stop(process)


@contextmanager
def python_anchor():
    port = free_port()
    process = subprocess.Popen([sys.executable, str(PYTHON_ANCHOR), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield Server("python seed", process, f"ws://127.0.0.1:{port}/")
    finally:
        _stop(process)


@contextmanager
def mirror_anchor():
    port = free_port()
    # Its resource directory holds the test page; a scratch copy keeps the run self-contained.
    with tempfile.TemporaryDirectory(prefix="lws-mirror-") as scratch:
        process = subprocess.Popen([MIRROR_SERVER, f"--port={port}", "-d", "0"], cwd=scratch,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            yield Server("lws mirror (C)", process, f"ws://127.0.0.1:{port}/",
                         subprotocol="lws-mirror-protocol")
        finally:
            _stop(process)


def anchors():
    """The anchors present on this machine, as (name, context manager factory) pairs."""
    found = []
    if PYTHON_ANCHOR.exists():
        found.append(python_anchor)
    else:
        print(f"note: {PYTHON_ANCHOR} not found; the Python anchor is skipped", file=sys.stderr)
    if MIRROR_SERVER:
        found.append(mirror_anchor)
    else:
        print("note: libwebsockets-test-server not installed; the C anchor is skipped", file=sys.stderr)
    return found
