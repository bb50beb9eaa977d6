"""A soak a user would trust: many clients, random actions at random rates, dropped and resumed
connections, slow readers, and the server killed with SIGKILL and restarted every minute.

At the end it checks, and fails on any violation:
- every acknowledged action is in the history at the version its Ack named (an action that changed
  nothing is acknowledged at the current version: then the state there shows it had nothing to do);
- every client's mirror equals a fresh Full;
- each client saw versions without gaps or repeats (a Patch applies to the client's last version);
- the server's resident memory stayed under a bound (the maximum is reported);
- no file descriptor leaked (/proc/PID/fd once every client has gone).

    python tests/soak.py --seconds 600          # what `make soak` runs (SOAK_SECONDS)

tests/test_soak.py runs a 30-second version, with a kill -9, in `make test`.
"""
import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonpatch
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, ServerProcess  # noqa: E402

DOCUMENTS = [f"soak{number}" for number in range(5)]
# Row indexes the actions pick from: small, so that updates and removes meet existing rows.
INDEXES = 40


def process_status(pid, field):
    """A `kB` field of /proc/PID/status, in bytes (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def open_descriptors(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def http_json(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.loads(response.read())


class Supervisor:
    """Runs the server, kills it with SIGKILL every `kill_interval` seconds and restarts it on the
    same port, sampling its resident memory meanwhile."""

    def __init__(self, binary, data_dir, kill_interval):
        self.server = ServerProcess(binary, data_dir).start()
        self.kill_interval = kill_interval
        self.kills = 0
        self.max_rss = 0
        self.baseline_descriptors = open_descriptors(self.server.process.pid)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._sample, daemon=True),
                        threading.Thread(target=self._kill_loop, daemon=True)]
        for thread in self.threads:
            thread.start()

    @property
    def pid(self):
        return self.server.process.pid

    def _sample(self):
        while not self.stopping.wait(0.2):
            self.max_rss = max(self.max_rss, process_status(self.pid, "VmRSS"))

    def _kill_loop(self):
        while not self.stopping.wait(self.kill_interval):
            self.server.kill()
            self.kills += 1
            self.server.start(port=self.server.port)

    def stop_killing(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


class Report:
    def __init__(self):
        self.violations = []
        self.sent = 0
        self.acked = 0
        self.errors = {}
        self.resumes = 0
        self.fulls_on_resume = 0
        self.reconnects = 0

    def violation(self, text):
        if len(self.violations) < 50:
            self.violations.append(text)


def random_action(rng, client, counter, mirror):
    """An action in the form the server records it (no `id`). Names are unique, so Add, Update
    and ChangeName always change the state; Remove and RemoveCompleted may find nothing to do."""
    name = f"c{client}-{counter}"
    roll = rng.random()
    if roll < 0.30:
        return {"type": "Add", "row": {"name": name, "completed": rng.random() < 0.3}}
    if roll < 0.60:
        return {"type": "Update", "index": rng.randint(1, INDEXES),
                "row": {"name": name, "completed": rng.random() < 0.3}}
    if roll < 0.88:
        rows = [int(key) for key in (mirror or {}).get("todos", {})] or [1]
        return {"type": "Remove", "index": rng.choice(rows) if rng.random() < 0.8 else rng.randint(1, INDEXES)}
    if roll < 0.97:
        return {"type": "ChangeName", "name": name}
    return {"type": "RemoveCompleted"}


class Client:
    """One session that mirrors its document, acts at its own random rate, drops its connection
    now and then and resumes with ?since=, and (if slow) reads with pauses through a small buffer."""

    def __init__(self, number, document, base_ws, report, rng, slow):
        self.number, self.document, self.base_ws = number, document, base_ws
        self.report, self.rng, self.slow = report, rng, slow
        self.state = None
        self.version = None
        self.interval = rng.uniform(1.5, 12.0)
        self.counter = 0
        self.pending = {}
        self.acks = []  # (version, action)
        self.ws = None
        self.sending = True
        self.running = True
        self.caught_up = asyncio.Event()
        self.target = None

    async def _connect(self):
        url = f"{self.base_ws}/{self.document}"
        resuming = self.version is not None
        if resuming:
            url += f"?since={self.version}"
        sock = None
        if self.slow:
            host, port = self.base_ws.split("//")[1].split("/")[0].split(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
        try:
            if sock:
                await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
            self.ws = await websockets.connect(url, sock=sock, max_size=None, open_timeout=10, max_queue=4)
        except BaseException:
            if sock:
                sock.close()
            raise
        self.resumed = resuming
        self.first_message = True
        if resuming:
            self.report.resumes += 1

    def _receive(self, message):
        kind = message["type"]
        if kind == "Full":
            if self.first_message and self.resumed:
                self.report.fulls_on_resume += 1
            if self.version is not None and message["version"] < self.version:
                self.report.violation(f"client {self.number}: Full at {message['version']} after {self.version}")
            self.state, self.version = message["todo"], message["version"]
        elif kind == "Patch":
            base = message.get("from", message["version"] - 1)
            if self.version is None or base != self.version:
                self.report.violation(
                    f"client {self.number}: Patch from {base} to {message['version']} at version {self.version}")
            jsonpatch.apply_patch(self.state, message["ops"], in_place=True)
            self.version = message["version"]
        elif kind == "Ack":
            action = self.pending.pop(message["id"], None)
            if action is None:
                self.report.violation(f"client {self.number}: Ack for unknown id {message['id']}")
            else:
                if message["version"] > self.version:
                    self.report.violation(
                        f"client {self.number}: Ack at {message['version']} before its Patch (at {self.version})")
                self.acks.append((message["version"], action))
                self.report.acked += 1
        elif kind == "Error":
            self.pending.pop(message.get("id"), None)
            self.report.errors[message["code"]] = self.report.errors.get(message["code"], 0) + 1
        self.first_message = False
        if self.target is not None and self.version == self.target:
            self.caught_up.set()

    async def _read(self):
        async for text in self.ws:
            self._receive(json.loads(text))
            if self.slow:
                await asyncio.sleep(self.rng.uniform(0.0, 0.05))

    async def _write(self):
        while self.running:
            await asyncio.sleep(self.rng.expovariate(1 / self.interval) if self.sending else 0.2)
            if not self.sending or self.state is None:
                continue
            if self.rng.random() < 0.03:
                # Drop the connection; the run loop resumes it with ?since=.
                await self.ws.close()
                return
            self.counter += 1
            action = random_action(self.rng, self.number, self.counter, self.state)
            message_id = f"{self.number}-{self.counter}"
            self.pending[message_id] = action
            self.report.sent += 1
            await self.ws.send(json.dumps({**action, "id": message_id}))

    async def run(self):
        while self.running:
            try:
                await self._connect()
            except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError):
                await asyncio.sleep(self.rng.uniform(0.1, 0.5))
                continue
            reader = asyncio.create_task(self._read())
            writer = asyncio.create_task(self._write())
            await asyncio.wait([reader, writer], return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            await self.ws.close()
            # Actions without an answer have an unknown outcome (the server may have died).
            self.pending.clear()
            self.report.reconnects += 1
            if self.running:
                await asyncio.sleep(self.rng.uniform(0.05, 0.5))

    async def finish(self, target):
        """Waits until the mirror reaches `target`, then stops."""
        self.target = target
        if self.version == target:
            self.caught_up.set()
        await asyncio.wait_for(self.caught_up.wait(), 120)
        self.running = False
        await self.ws.close()


class HistoryChecker:
    """Reads every document's history as it grows, before old events are compacted away, and
    rebuilds the state at each version, so acknowledged actions can be checked afterwards."""

    def __init__(self, base_http, report):
        self.base_http, self.report = base_http, report
        self.actions = {name: {} for name in DOCUMENTS}
        self.rows = {name: {0: (frozenset(), False)} for name in DOCUMENTS}
        self.states = {name: {"name": "", "todos": {}} for name in DOCUMENTS}
        self.latest = {name: 0 for name in DOCUMENTS}

    def poll_once(self):
        for name in DOCUMENTS:
            while True:
                try:
                    body = http_json(self.base_http, f"/api/docs/{name}/history?since={self.latest[name]}&limit=1000")
                except urllib.error.HTTPError as error:
                    error.close()  # else its connection stays open until collected
                    if error.code == 404:
                        break  # no change yet
                    raise
                except OSError:
                    return  # the server is being restarted
                events = body["events"]
                if not events:
                    break
                if events[0]["version"] != self.latest[name] + 1:
                    self.report.violation(
                        f"{name}: history jumped from {self.latest[name]} to {events[0]['version']} (polled too late)")
                for event in events:
                    jsonpatch.apply_patch(self.states[name], event["ops"], in_place=True)
                    todos = self.states[name]["todos"]
                    self.rows[name][event["version"]] = (
                        frozenset(int(key) for key in todos), any(row["completed"] for row in todos.values()))
                    self.actions[name][event["version"]] = event["action"]
                    self.latest[name] = event["version"]
                if len(events) < 1000:
                    break

    async def run(self, stop):
        while not stop.is_set():
            await asyncio.to_thread(self.poll_once)
            await asyncio.sleep(1)

    def check(self, client, version, action):
        name = client.document
        recorded = self.actions[name].get(version)
        if recorded == action:
            return True
        rows = self.rows[name].get(version)
        if action["type"] == "Remove" and rows is not None and action["index"] not in rows[0]:
            return True  # nothing to remove: acknowledged at the version it saw
        if action["type"] == "RemoveCompleted" and rows is not None and not rows[1]:
            return True
        self.report.violation(f"{name}: Ack at {version} for {action}, history holds {recorded}")
        return False


async def settled_versions(base_http, sessions):
    """The documents' versions once every answer has arrived and nothing changes any more."""
    for _ in range(300):
        if not any(client.pending for client in sessions):
            break
        await asyncio.sleep(0.1)
    previous = None
    while True:
        documents = await asyncio.to_thread(http_json, base_http, "/api/docs")
        versions = {doc["name"]: doc["version"] for doc in documents["documents"]}
        if versions == previous:
            return versions
        previous = versions
        await asyncio.sleep(1)


async def fresh_full(base_ws, name):
    async with websockets.connect(f"{base_ws}/{name}", max_size=None) as ws:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "Full":
                return message


async def soak(binary, seconds, clients, kill_interval, slow_share, max_rss_mib, seed):
    rng = random.Random(seed)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="patchsync-soak-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        supervisor = Supervisor(binary, data_dir, kill_interval)
        base_ws = f"ws://127.0.0.1:{supervisor.server.port}/ws"
        base_http = f"http://127.0.0.1:{supervisor.server.port}"
        checker = HistoryChecker(base_http, report)
        stop_checker = asyncio.Event()
        sessions = [
            Client(number, DOCUMENTS[number % len(DOCUMENTS)], base_ws, report, random.Random(rng.random()),
                   slow=number < clients * slow_share)
            for number in range(clients)
        ]
        tasks = [asyncio.create_task(client.run()) for client in sessions]
        checking = asyncio.create_task(checker.run(stop_checker))
        started = time.monotonic()
        await asyncio.sleep(seconds)

        # Quiet down: no more actions, no more kills; let the answers arrive.
        supervisor.stop_killing()
        for client in sessions:
            client.sending = False
        versions = await settled_versions(base_http, sessions)
        await asyncio.gather(*(client.finish(versions.get(client.document, 0)) for client in sessions))
        await asyncio.gather(*tasks)
        fulls = {name: await fresh_full(base_ws, name) for name in DOCUMENTS}
        for client in sessions:
            full = fulls[client.document]
            if client.state != full["todo"] or client.version != full["version"]:
                theirs, ours = full["todo"]["todos"], client.state["todos"]
                differing = sum(theirs.get(key) != ours.get(key) for key in set(theirs) | set(ours))
                report.violation(
                    f"client {client.number}: mirror at {client.version} differs from a fresh Full of "
                    f"{client.document} at {full['version']} ({differing} rows differ)")
        stop_checker.set()
        await checking
        await asyncio.to_thread(checker.poll_once)
        checked = sum(checker.check(client, version, action) for client in sessions for version, action in client.acks)

        # Every session is gone: what stays open is what a fresh server holds, the documents' logs,
        # and the timer the Swift runtime opens for the first idle-unload wait.
        allowed = supervisor.baseline_descriptors + len(DOCUMENTS) + 1
        for _ in range(100):
            descriptors = open_descriptors(supervisor.pid)
            if descriptors <= allowed:
                break
            await asyncio.sleep(0.1)
        if descriptors > allowed:
            targets = sorted(os.readlink(f"/proc/{supervisor.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{supervisor.pid}/fd"))
            sockets = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True).stdout.splitlines()
            held = [line for line in sockets if f":{supervisor.server.port} " in line and not line.startswith("TIME-WAIT")]
            report.violation(f"{descriptors} descriptors open after every client left (at most {allowed}): {targets} {held}")
        if supervisor.max_rss > max_rss_mib << 20:
            report.violation(f"resident memory reached {supervisor.max_rss >> 20} MiB (bound {max_rss_mib} MiB)")
        supervisor.server.stop()
        elapsed = time.monotonic() - started

    figures = {
        "seconds": round(elapsed), "clients": clients, "documents": len(DOCUMENTS), "kills": supervisor.kills,
        "actions_sent": report.sent, "actions_acked": report.acked, "acks_checked": checked,
        "errors": report.errors, "resumes": report.resumes, "fulls_on_resume": report.fulls_on_resume,
        "reconnects": report.reconnects, "final_versions": versions,
        "max_rss_mib": round(supervisor.max_rss / 2**20, 1),
        "descriptors": {"at_start": supervisor.baseline_descriptors, "at_end": descriptors},
        "violations": report.violations,
    }
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", default=os.environ.get("PATCHSYNC_BIN", str(ROOT / ".build/debug/patchsync")))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--kill-interval", type=float, default=60)
    parser.add_argument("--slow-share", type=float, default=0.1, help="share of clients that read slowly")
    parser.add_argument("--max-rss-mib", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = asyncio.run(soak(args.patchsync, args.seconds, args.clients, args.kill_interval,
                               args.slow_share, args.max_rss_mib, args.seed))
    print(json.dumps(figures, indent=2))
    sys.exit(1 if figures["violations"] else 0)


if __name__ == "__main__":
    main()
