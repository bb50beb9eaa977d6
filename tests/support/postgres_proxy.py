"""A Unix socket between patchsync and the private PostgreSQL cluster, so that a test can make the
database unreachable (no socket) and reachable again, or cut one connection at a chosen moment."""
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


class PostgresProxy:
    def __init__(self, cluster):
        self.cluster = cluster
        self.directory = Path(tempfile.mkdtemp(prefix="patchsync-pgproxy-"))
        os.chmod(self.directory, 0o755)
        self.path = self.directory / f".s.PGSQL.{cluster.port}"
        self.target = str(cluster.scratch / f".s.PGSQL.{cluster.port}")
        self.listener = None
        self.connections = []
        self.lock = threading.Lock()
        self.trigger = None
        self.cut = threading.Event()

    @property
    def url(self):
        return self.cluster.url.replace(f"host={self.cluster.scratch}", f"host={self.directory}")

    def open(self):
        """Accepts connections from now on (the database is reachable)."""
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o777)
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut_after(self, trigger):
        """The next message from patchsync holding `trigger` reaches PostgreSQL; once PostgreSQL has
        answered it in full, that connection is closed on both sides without passing the answer on.
        `self.cut` is set then."""
        with self.lock:
            self.trigger = trigger
            self.cut.clear()

    def refuse(self):
        """The database goes out of reach: open connections are cut, new ones refused until `open`."""
        if self.listener:
            self.listener.close()
            self.listener = None
        if self.path.exists():
            self.path.unlink()
        with self.lock:
            for pair in self.connections:
                self._shut(*pair)
                for end in pair:
                    end.close()
            self.connections = []

    def close(self):
        self.refuse()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.target)
            state = {"cutting": False}
            with self.lock:
                self.connections.append((client, server))
            threading.Thread(target=self._to_server, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client, state), daemon=True).start()

    def _to_server(self, client, server, state):
        while data := self._receive(client):
            with self.lock:
                if self.trigger is not None and self.trigger in data:
                    self.trigger = None
                    state["cutting"] = True
            try:
                server.sendall(data)
            except OSError:  # the other direction or a cut closed it meanwhile
                break
        self._shut(client, server)

    def _to_client(self, server, client, state):
        answer = b""
        while data := self._receive(server):
            if state["cutting"]:
                answer += data
                if READY_FOR_QUERY in answer[-6:]:
                    self._shut(client, server)
                    self.cut.set()
                    return
                continue
            try:
                client.sendall(data)
            except OSError:
                break
        self._shut(client, server)

    @staticmethod
    def _receive(end):
        try:
            return end.recv(65536)
        except OSError:
            return b""

    @staticmethod
    def _shut(*ends):
        for end in ends:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def through(proxy, database):
    """The server options of `database`, with the URL of the proxy."""
    return [proxy.url if option == database[1] else option for option in database]
