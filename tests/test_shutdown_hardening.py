"""Issue 19: SIGTERM ends the server within `--close-timeout` plus about a second in every state
the file store can be in: sessions mid-Full, readers that stopped reading, a request body that
never comes, an upgrade that never finishes. The test only checks that the server exits (with a
generous bound, as every wait in these tests); `bench/shutdown.py` measures how long it takes."""
import signal
import socket
import time

import pytest

from support.large_documents import write_document

CLOSE_TIMEOUT = 2
# An upper bound on waiting, never a speed assertion (the box is loaded).
WAIT_LIMIT = 60


def stalled_reader(port, path="/ws"):
    """An upgrade whose socket is then never read: the server's writes pile up in the kernel."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.sendall((
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
    return connection


def half_request(port, text):
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(text.encode())
    return connection


def open_stuck_connections(port):
    held = [stalled_reader(port) for _ in range(12)]
    # A POST whose body never comes, an upgrade cut mid-headers, an idle keep-alive connection.
    held.append(half_request(port, "POST /api/docs/default/revert HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"))
    held.append(half_request(port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"))
    held.append(half_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    return held


def wait_for_sessions(server, count):
    deadline = time.monotonic() + WAIT_LIMIT
    while server.log().count("session opened") < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.log().count("session opened") >= count


def sigterm_and_wait(server):
    """SIGTERM; returns the exit code and the seconds until exit (for the log, not asserted)."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=WAIT_LIMIT)
    return code, time.monotonic() - started


@pytest.mark.parametrize("rows", [0, 60_000])
def test_sigterm_exits_with_stalled_readers_and_sessions_mid_full(start_server, data_dir, rows):
    if rows:
        write_document(data_dir, rows)
    server = start_server("--close-timeout", str(CLOSE_TIMEOUT))
    held = open_stuck_connections(server.port)
    try:
        wait_for_sessions(server, 12)
        code, seconds = sigterm_and_wait(server)
        print(f"rows={rows}: exit {code} after {seconds:.2f} s (close timeout {CLOSE_TIMEOUT} s)")
        assert code == 0
        assert "server stopped" in server.log()
        # Peers that never answer the close frame are dropped when the close timeout is up,
        # not when lws's own close-ack wait (5 s) ends.
        assert "dropping sessions that did not close within the close timeout" in server.log()
    finally:
        for connection in held:
            connection.close()
