"""The same client for plain scripts, without asyncio: an event loop runs on a thread of its own.

    with patchsync.blocking.connect("ws://127.0.0.1:3333/ws") as doc:
        doc.send({"type": "Add", "row": {"name": "milk", "completed": False}})
"""
import asyncio
import queue
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional

from .client import Document as AsyncDocument
from .errors import ClosedError
from .protocol import Change

__all__ = ["Document", "connect"]


class Document:
    """A live copy of one document; every method blocks until done."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, document: AsyncDocument) -> None:
        self._loop, self._thread, self._document = loop, thread, document

    def _call(self, coroutine: Any, timeout: Optional[float] = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def state(self) -> Any:
        return self._document.state

    @property
    def version(self) -> int:
        return self._document.version

    @property
    def client(self) -> str:
        return self._document.client

    @property
    def role(self) -> Optional[str]:
        return self._document.role

    @property
    def people(self) -> List[Dict[str, Any]]:
        return self._document.people

    @property
    def pending(self) -> int:
        return self._document.pending

    def send(self, action: Dict[str, Any]) -> int:
        version: int = self._call(self._document.send(action))
        return version

    def patch(self, ops: List[Any], base: Optional[int] = None) -> int:
        version: int = self._call(self._document.patch(ops, base))
        return version

    def hello(self, name: Optional[str] = None) -> None:
        self._call(self._document.hello(name))

    def focus(self, pointer: Optional[str]) -> None:
        self._call(self._document.focus(pointer))

    def wait_for(self, predicate: Callable[[Any], bool], timeout: Optional[float] = None) -> Any:
        return self._call(self._document.wait_for(predicate, timeout))

    def changes(self, timeout: Optional[float] = None) -> Iterator[Change]:
        """Every change from this call on, in version order; with `timeout`, the iteration ends
        after that many seconds without one."""
        async def subscribe() -> Any:
            return self._document.changes()

        stream = self._call(subscribe())
        return self._iterate(stream, timeout)

    def _iterate(self, stream: Any, timeout: Optional[float]) -> Iterator[Change]:
        items: "queue.Queue[Any]" = queue.Queue()

        async def pump() -> None:
            try:
                async for change in stream:
                    items.put(change)
                items.put(None)
            except BaseException as error:  # the stream's end, passed to the reading thread
                items.put(error)

        future = asyncio.run_coroutine_threadsafe(pump(), self._loop)
        try:
            while True:
                try:
                    item = items.get(timeout=timeout)
                except queue.Empty:
                    return
                if item is None:
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, (asyncio.CancelledError, ClosedError)):
                        return
                    raise item
                yield item
        finally:
            future.cancel()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self._document.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> "Document":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def connect(url: str, *, client: Optional[str] = None, token: Optional[str] = None,
            ca_file: Optional[str] = None, outbox: Optional[str] = None) -> Document:
    """As `patchsync.connect`, blocking: returns once the copy holds the state."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="patchsync", daemon=True)
    thread.start()

    async def start() -> AsyncDocument:
        return await AsyncDocument(url, client=client, token=token, ca_file=ca_file, outbox=outbox)._start()

    try:
        document = asyncio.run_coroutine_threadsafe(start(), loop).result()
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        raise
    return Document(loop, thread, document)
