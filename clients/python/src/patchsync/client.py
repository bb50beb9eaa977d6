"""The asyncio client: one WebSocket that comes back by itself, around `ClientCore`."""
import asyncio
import json
import logging
import random
import ssl
from typing import Any, Awaitable, Callable, Dict, List, Optional

from websockets.asyncio.client import connect as open_websocket
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .errors import ActionError, ClosedError, PatchsyncError, RefusedError
from .outbox import Outbox
from .protocol import Answered, Applied, Change, ClientCore, PresenceChanged, Resync, RetryLater, ServerError

__all__ = ["Document", "connect", "backoff_delay"]

logger = logging.getLogger("patchsync")

# Reconnect: 250 ms doubling to 10 s, each wait between half and all of that (as SyncClient).
_BACKOFF_FIRST = 0.25
_BACKOFF_LONGEST = 10.0
# Refusals a retry may cure go out again after a pause: 0.5 s doubling to 8 s while they last.
_RETRY_FIRST = 0.5
_RETRY_LONGEST = 8.0


def backoff_delay(attempt: int, first: float = _BACKOFF_FIRST, longest: float = _BACKOFF_LONGEST,
                  random_fraction: Callable[[], float] = random.random) -> float:
    """Seconds before reconnect attempt `attempt` (0-based): doubles from `first` up to
    `longest`, then scaled into [half, all] so that many clients do not return at once."""
    ceiling = min(longest, first * 2.0 ** min(attempt, 20))
    return ceiling * (0.5 + random_fraction() / 2)


class ChangeStream:
    """`async for change in doc.changes()`: every change from the moment `changes()` was called,
    in version order, the client's own writes included. Ends when the document closes."""

    def __init__(self, document: "Document") -> None:
        self._document = document
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()
        document._streams.append(self._queue)

    def __aiter__(self) -> "ChangeStream":
        return self

    async def __anext__(self) -> Change:
        item = await self._queue.get()
        if isinstance(item, Change):
            return item
        if self._queue in self._document._streams:
            self._document._streams.remove(self._queue)
        if isinstance(item, BaseException):
            raise item
        raise StopAsyncIteration


class Document:
    """A live copy of one document. Create it with `patchsync.connect`."""

    def __init__(self, url: str, *, client: Optional[str] = None, token: Optional[str] = None,
                 ca_file: Optional[str] = None, outbox: Optional[str] = None) -> None:
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("ws", "wss"):
            raise ValueError(f"{url!r} is not a ws:// or wss:// URL")
        self.url = url
        self._core = ClientCore(Outbox(outbox, client))
        self._token = token
        self._ssl: Optional[ssl.SSLContext] = None
        if scheme == "wss":
            self._ssl = ssl.create_default_context(cafile=ca_file)
        self._socket: Any = None
        self._writer: Optional["asyncio.Queue[Optional[Dict[str, Any]]]"] = None
        self._waiting: Dict[Any, "asyncio.Future[int]"] = {}
        self._streams: List["asyncio.Queue[Any]"] = []
        self._changed = asyncio.Event()
        self._loaded = asyncio.Event()
        self._fatal: Optional[PatchsyncError] = None
        self._closing = False
        self._task: Optional["asyncio.Task[None]"] = None
        self._retry_delay = _RETRY_FIRST
        self._retry_handle: Optional[asyncio.TimerHandle] = None

    # ---- what the program reads ----

    @property
    def state(self) -> Any:
        """The Full's state member (`todo` for the Todo list, `state` for a declared type), kept
        current. Treat it as read-only: it is shared with the `Change` that produced it."""
        return self._core.state

    @property
    def version(self) -> int:
        return self._core.version if self._core.version is not None else 0

    @property
    def client(self) -> str:
        """The client id the server knows this program by (exactly-once actions)."""
        return self._core.client

    @property
    def role(self) -> Optional[str]:
        """"editor" or "viewer", from the Full."""
        return self._core.role

    @property
    def people(self) -> List[Dict[str, Any]]:
        """The sessions that said Hello (after `hello`): `{session, name, client, since, role, focus}`."""
        return list(self._core.people.values())

    @property
    def pending(self) -> int:
        """Actions sent and not answered yet."""
        return len(self._core.outbox)

    # ---- writes ----

    async def send(self, action: Dict[str, Any]) -> int:
        """Sends `action` (an id is added unless it has one) and returns the version of its Ack;
        raises ActionError when the server refuses it. Across lost connections it is resent
        with its id until answered, and the server applies it at most once."""
        self._check_usable()
        action = self._core.submit(action)
        future: "asyncio.Future[int]" = asyncio.get_running_loop().create_future()
        self._waiting[action["id"]] = future
        if self._core.is_open:
            self._write(action)
        return await future

    async def patch(self, ops: List[Any], base: Optional[int] = None) -> int:
        """A raw RFC 6902 write; `base` is the version the ops were made against (the server
        rebases them or answers `conflict`)."""
        action: Dict[str, Any] = {"type": "Patch", "ops": ops}
        if base is not None:
            action["base"] = base
        return await self.send(action)

    async def hello(self, name: Optional[str] = None) -> None:
        """Opts into presence (again after every reconnect); `doc.people` then lists everyone."""
        self._check_usable()
        message = self._core.hello(name)
        if self._core.is_open:
            self._write(message)

    async def focus(self, pointer: Optional[str]) -> None:
        """Says what this program looks at (a JSON Pointer, or None); after `hello`."""
        self._check_usable()
        message = self._core.set_focus(pointer)
        if self._core.is_open and self._core.said_hello:
            self._write(message)

    # ---- reading changes ----

    def changes(self) -> ChangeStream:
        return ChangeStream(self)

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: Optional[float] = None) -> Any:
        """The state, once `predicate(state)` holds (checked now and after every change);
        TimeoutError after `timeout` seconds."""
        async def until() -> Any:
            while True:
                self._check_usable()
                if self._core.loaded and predicate(self._core.state):
                    return self._core.state
                self._changed.clear()
                await self._changed.wait()
        try:
            return await asyncio.wait_for(until(), timeout)
        except asyncio.TimeoutError:
            # One exception on every Python version (before 3.11 asyncio had its own).
            raise TimeoutError(f"the state did not satisfy the predicate within {timeout} s") from None

    # ---- life cycle ----

    async def _start(self) -> "Document":
        self._task = asyncio.get_running_loop().create_task(self._run())
        waiter = asyncio.ensure_future(self._loaded.wait())
        await asyncio.wait([waiter, self._task], return_when=asyncio.FIRST_COMPLETED)
        if not self._loaded.is_set():
            waiter.cancel()
            await self.close()
            raise self._fatal or ClosedError()
        return self

    async def close(self) -> None:
        """Closes the connection; sends still waiting raise ClosedError (their actions may or
        may not have been applied; with an `outbox` file they go out on the next connect)."""
        if self._closing:
            return
        self._closing = True
        if self._retry_handle is not None:
            self._retry_handle.cancel()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self._finish(self._fatal or ClosedError())

    async def __aenter__(self) -> "Document":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def _check_usable(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._closing:
            raise ClosedError("the document is closed")

    def _finish(self, error: PatchsyncError) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        for stream in list(self._streams):
            stream.put_nowait(None if isinstance(error, ClosedError) else error)
        self._changed.set()

    # ---- the connection ----

    async def _run(self) -> None:
        attempt = 0
        # A resync reconnects at once; a second one in a row (a server that keeps sending what
        # this copy cannot follow) waits like any other retry, so it never spins.
        resyncs = 0
        while not self._closing:
            url = self._core.url(self.url)
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            try:
                socket = await open_websocket(url, ssl=self._ssl, additional_headers=headers,
                                                  max_size=None, open_timeout=10)
            except InvalidStatus as error:
                status = error.response.status_code
                if status == 400 and self._core.version is not None:
                    # `since` the server cannot serve (its data was replaced): start over from a Full.
                    logger.warning("patchsync: resume from version %s refused (HTTP 400); asking for the state", self._core.version)
                    self._core.forget_version()
                    continue
                if 400 <= status < 500 and status not in (408, 429):
                    body = error.response.body.decode("utf-8", "replace") if error.response.body else ""
                    self._fail(RefusedError(f"http_{status}", f"{url} refused the connection: HTTP {status} {body}".strip()))
                    return
                logger.warning("patchsync: %s answered HTTP %s; retrying", self.url, status)
            except (OSError, asyncio.TimeoutError, InvalidHandshake, ConnectionClosed) as error:
                logger.info("patchsync: cannot reach %s (%s); retrying", self.url, error)
            except InvalidURI as error:
                self._fail(RefusedError("invalid_url", str(error)))
                return
            else:
                received = await self._serve(socket)
                if self._fatal is not None or self._closing:
                    return
                if received:
                    attempt = 0
                if received == "resync":
                    resyncs += 1
                    if resyncs == 1:
                        continue
                    attempt = resyncs - 1
                else:
                    resyncs = 0
            await asyncio.sleep(backoff_delay(attempt))
            attempt += 1

    async def _serve(self, socket: Any) -> Any:
        """Runs one connection until it is lost; truthy when it received anything ("resync"
        when the copy must reconnect at once)."""
        self._socket = socket
        writer: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue()
        self._writer = writer
        for message in self._core.opened():
            writer.put_nowait(message)
        write_task = asyncio.get_running_loop().create_task(self._write_loop(socket, writer))
        received: Any = False
        try:
            async for text in socket:
                received = True
                try:
                    message = json.loads(text)
                except ValueError:
                    logger.warning("patchsync: ignored a message that is not JSON")
                    continue
                if self._handle(message):
                    received = "resync"
                    break
        except ConnectionClosed:
            pass
        finally:
            self._writer = None
            self._socket = None
            self._core.lost()
            write_task.cancel()
            await socket.close()
        if socket.close_code == 1008 and socket.close_reason == "token expired":
            self._fail(RefusedError("token_expired", "the server closed the session: token expired"))
        else:
            logger.info("patchsync: connection closed (%s %s)", socket.close_code, socket.close_reason)
        return received

    async def _write_loop(self, socket: Any, writer: "asyncio.Queue[Optional[Dict[str, Any]]]") -> None:
        try:
            while True:
                message = await writer.get()
                await socket.send(json.dumps(message, separators=(",", ":")))
        except ConnectionClosed:
            pass

    def _write(self, message: Dict[str, Any]) -> None:
        if self._writer is not None:
            self._writer.put_nowait(message)

    # True when the connection must be dropped and made again (resume or Full).
    def _handle(self, message: Any) -> bool:
        resync = False
        for event in self._core.receive(message):
            if isinstance(event, Applied):
                for stream in self._streams:
                    stream.put_nowait(event.change)
                self._changed.set()
            elif isinstance(event, Answered):
                self._retry_delay = _RETRY_FIRST
                self._answer(event)
            elif isinstance(event, RetryLater):
                self._schedule_retry(event.code)
            elif isinstance(event, Resync):
                logger.warning("patchsync: %s; reconnecting", event.reason)
                resync = True
            elif isinstance(event, ServerError):
                logger.warning("patchsync: the server says %s: %s", event.code, event.message)
            elif isinstance(event, PresenceChanged):
                self._changed.set()
        if self._core.loaded and not self._loaded.is_set():
            self._loaded.set()
        return resync

    def _answer(self, event: Answered) -> None:
        future = self._waiting.pop(event.action_id, None)
        if event.code is not None:
            error = ActionError(event.code, event.message or "", event.action_id, event.error_version)
            if future is None:
                logger.warning("patchsync: an action from the outbox was refused: %s", error)
            elif not future.done():
                future.set_exception(error)
        elif future is not None and not future.done():
            future.set_result(event.version if event.version is not None else self.version)

    def _schedule_retry(self, code: str) -> None:
        if self._retry_handle is not None:
            return
        logger.info("patchsync: the server cannot take the action now (%s); retrying in %.1f s", code, self._retry_delay)

        def retry() -> None:
            self._retry_handle = None
            if self._core.is_open:
                for action in self._core.take_retries():
                    self._write(action)

        self._retry_handle = asyncio.get_running_loop().call_later(self._retry_delay, retry)
        self._retry_delay = min(self._retry_delay * 2, _RETRY_LONGEST)

    def _fail(self, error: PatchsyncError) -> None:
        self._fatal = error
        self._finish(error)


class _Connecting:
    """What `connect` returns: `async with connect(...) as doc`, or `doc = await connect(...)`."""

    def __init__(self, document: Document) -> None:
        self._document = document

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._document._start().__await__()

    async def __aenter__(self) -> Document:
        return await self._document._start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._document.close()


def connect(url: str, *, client: Optional[str] = None, token: Optional[str] = None,
            ca_file: Optional[str] = None, outbox: Optional[str] = None) -> _Connecting:
    """Opens a live copy of the document at `url` (`ws://host:port/ws/<name>`, or `wss://`
    with `ca_file` naming the CA to trust beside the system's). Returns once the copy holds
    the state; retries while the server is unreachable; raises RefusedError when the server
    refuses for good (HTTP 401/403, a bad document name or client id).

    `client` names this program for exactly-once actions (random if not given; kept in the
    `outbox` file if one is given, so a restarted program resends its unanswered actions as
    the same client)."""
    return _Connecting(Document(url, client=client, token=token, ca_file=ca_file, outbox=outbox))
