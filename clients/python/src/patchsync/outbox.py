"""Own actions the server has not answered yet, oldest first: in memory, or in a JSON file so
that they survive the program's own restart (`connect(..., outbox=PATH)`).

The file holds the client id too: the server recognises a repeat only under the same client id,
so a program that restarts with its outbox must reconnect as the same client."""
import json
import os
import secrets
import tempfile
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Outbox", "random_id"]

_FORMAT = 1


def random_id() -> str:
    """A random action or client id (32 hex digits): never a counter, so ids from a restarted
    program cannot collide with its earlier ones."""
    return secrets.token_hex(16)


class Outbox:
    def __init__(self, path: Optional[str] = None, client: Optional[str] = None) -> None:
        self.path = path
        self.actions: List[Dict[str, Any]] = []
        saved_client = None
        if path is not None and os.path.exists(path):
            saved_client, self.actions = self._load(path)
        if client is not None and saved_client is not None and client != saved_client and self.actions:
            raise ValueError(
                f"the outbox {path} holds unanswered actions of client {saved_client!r}, not {client!r}: "
                "connect with that client id (or without one) so the server recognises them")
        self.client: str = client or saved_client or random_id()
        self._save()

    @staticmethod
    def _load(path: str) -> Tuple[str, List[Dict[str, Any]]]:
        try:
            with open(path, encoding="utf-8") as file:
                saved = json.load(file)
        except (OSError, ValueError) as error:
            raise ValueError(f"the outbox {path} cannot be read: {error}") from error
        if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
            raise ValueError(f"the outbox {path} is not a patchsync outbox (format {_FORMAT})")
        actions = saved.get("actions")
        client = saved.get("client")
        if not isinstance(actions, list) or not all(isinstance(a, dict) and "id" in a for a in actions):
            raise ValueError(f"the outbox {path} has no valid list of actions")
        if not isinstance(client, str):
            raise ValueError(f"the outbox {path} names no client")
        return client, actions

    def __len__(self) -> int:
        return len(self.actions)

    def add(self, action: Dict[str, Any]) -> None:
        """Keeps `action` (it carries its `id`) until `settle`."""
        self.actions.append(action)
        self._save()

    def settle(self, action_id: Any) -> bool:
        """Drops the action with `action_id` (answered); False when it was not here. Ids compare
        as JSON values: 7 and "7" are different ids."""
        for at, action in enumerate(self.actions):
            if _same_id(action["id"], action_id):
                del self.actions[at]
                self._save()
                return True
        return False

    def holds(self, action_id: Any) -> bool:
        return any(_same_id(action["id"], action_id) for action in self.actions)

    # Written to a temporary file, flushed to disk, then renamed over the old one: a crash
    # leaves either the old outbox or the new one, never half of one.
    def _save(self) -> None:
        if self.path is None:
            return
        text = json.dumps({"format": _FORMAT, "client": self.client, "actions": self.actions})
        directory = os.path.dirname(os.path.abspath(self.path))
        descriptor, temporary = tempfile.mkstemp(prefix=".outbox-", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


def _same_id(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
