#!/usr/bin/env python3
"""Fan-out benchmark: the same load against patchsync and its anchors, side by side.

Starts each server on a free 127.0.0.1 port, runs `PatchsyncBench fanout` against it (one
writer sending Todo actions as fast as the server takes them, N watchers counting changes),
prints actions per second until every watcher has every change, then stops the servers.

Servers: patchsync (temporary data directory, --port 0); the Python anchor
../shared/peers/seed_python.py when it exists beside the repository; and Debian's
libwebsockets-test-server (lws-mirror-protocol: every message echoed to every client) when
installed, which shows the ceiling of the load generator itself.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_ANCHOR = os.path.join(REPO, "..", "shared", "peers", "seed_python.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


class Server:
    """One server process; `url` is where the benchmark connects."""

    def __init__(self, name, command, port=None, path="/ws", mirror=False, port_from_output=False, cwd=None):
        self.name, self.mirror, self.path = name, mirror, path
        self.lines = []
        self.port = port
        found = threading.Event()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
            start_new_session=True)

        def read_output():
            for line in self.process.stdout:
                self.lines.append(line.rstrip())
                if port_from_output and self.port is None:
                    match = re.search(r"(?:port\D{0,3}|127\.0\.0\.1:|localhost:)(\d{2,5})\b", line, re.I)
                    if match and int(match.group(1)) != 0:
                        self.port = int(match.group(1))
                        found.set()
        threading.Thread(target=read_output, daemon=True).start()
        if port_from_output:
            if not found.wait(15):
                self.stop()
                raise RuntimeError(f"{name} printed no port:\n" + "\n".join(self.lines[-20:]))
        wait_for_port(self.port, self.process)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_load(bench, server, args):
    command = [bench, "fanout", "--url", server.url, "--watchers", str(args.watchers),
               "--actions", str(args.actions), "--window", str(args.window)]
    if server.mirror:
        command.append("--mirror")
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    match = re.search(r"seconds=([\d.]+) actions_per_second=([\d.]+) generator_cpu_seconds=([\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return None, None, None, reason
    seconds, rate, cpu = (float(group) for group in match.groups())
    return seconds, rate, cpu / seconds, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patchsync", required=True, help="the patchsync executable (a release build)")
    parser.add_argument("--bench", default=os.path.join(REPO, ".build", "release", "PatchsyncBench"),
                        help="the PatchsyncBench executable")
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--actions", type=int, default=3000)
    parser.add_argument("--window", type=int, default=64, help="actions in flight")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    args = parser.parse_args()

    for executable in (args.patchsync, args.bench):
        if not os.access(executable, os.X_OK):
            sys.exit(f"fanout.py: {executable} is not an executable; build it with swift build -c release")

    data = tempfile.mkdtemp(prefix="patchsync-bench-")
    starters = [("patchsync", lambda: Server(
        "patchsync", [args.patchsync, "serve", "--host", "127.0.0.1", "--port", "0", "--data", data],
        port_from_output=True))]
    if os.path.exists(PYTHON_ANCHOR):
        starters.append(("python anchor", lambda: Server(
            "python anchor", [sys.executable, os.path.abspath(PYTHON_ANCHOR), str(port := free_port())], port=port)))
    else:
        print(f"(no Python anchor at {os.path.abspath(PYTHON_ANCHOR)}; skipped)")
    mirror = shutil.which("libwebsockets-test-server")
    if mirror:
        # It serves its test pages from its share directory; run it from a temporary one.
        starters.append(("lws mirror", lambda: Server(
            "lws mirror", [mirror, f"--port={(port := free_port())}"], port=port, path="/", mirror=True, cwd=data)))
    else:
        print("(libwebsockets-test-server is not installed; skipped)")

    print(f"fan-out: 1 writer, {args.watchers} watchers, {args.actions} actions, window {args.window}")
    results = {}
    try:
        for name, start in starters:
            try:
                server = start()
            except (RuntimeError, OSError) as error:
                results[name] = (None, None, None, f"did not start: {error}")
                continue
            try:
                results[name] = run_load(args.bench, server, args)
            except subprocess.TimeoutExpired:
                results[name] = (None, None, None, f"no result within {args.timeout} s")
            finally:
                server.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)

    # "generator CPU" is the load generator's CPU time over the run's wall time: well under
    # 100% means it was waiting for the server, not the other way round.
    print(f"{'server':<16}{'actions/s':>12}{'seconds':>10}{'generator CPU':>15}")
    for name, (seconds, rate, load, error) in results.items():
        if error:
            print(f"{name:<16}{'failed':>12}  {error}")
        else:
            print(f"{name:<16}{rate:>12.1f}{seconds:>10.3f}{load:>14.0%}")
    ours, anchor = results.get("patchsync", (None,) * 4), results.get("python anchor", (None,) * 4)
    if ours[1] and anchor[1]:
        print(f"ratio patchsync/python: {ours[1] / anchor[1]:.1f}x")
    if ours[3]:
        sys.exit(1)


if __name__ == "__main__":
    main()
