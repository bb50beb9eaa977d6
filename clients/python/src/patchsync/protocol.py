"""The client's side of the patchsync protocol as a pure state machine: no sockets, no clock.

`ClientCore` holds the document's state and version, the outbox of unanswered actions and the
presence list. The connection feeds it what happens (`opened`, `receive`, `lost`) and sends
what it returns; everything it decides comes back as values (`Outgoing`, events), so that it
is tested without a server."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .jsonpatch import JsonPatchError, apply_patch
from .outbox import Outbox, random_id

__all__ = [
    "ClientCore", "Change", "Answered", "RetryLater", "Applied", "Resync", "ServerError",
    "PresenceChanged", "RETRYABLE",
]

# Refusals a retry may cure: the server does not remember them, so the same id may go again.
RETRYABLE = frozenset({"storage_unavailable", "rate_limited", "internal_error"})


@dataclass(frozen=True)
class Change:
    """One change of the document: `ops` (RFC 6902) took it to `version`, giving `state`.
    After a Full that replaced the state (a resume the server could not serve), `ops` is one
    `replace` of the whole state."""
    version: int
    ops: List[Any]
    state: Any


@dataclass(frozen=True)
class Applied:
    change: Change


@dataclass(frozen=True)
class Answered:
    """The server answered own action `action_id`: `version` (Ack) or `code`/`message` (Error)."""
    action_id: Any
    version: Optional[int] = None
    code: Optional[str] = None
    message: Optional[str] = None
    error_version: Optional[int] = None


@dataclass(frozen=True)
class RetryLater:
    """Own action `action_id` was refused only for now (`code`): it stays in the outbox."""
    action_id: Any
    code: str


@dataclass(frozen=True)
class Resync:
    """The copy cannot follow this connection any more (a gap, a patch that does not apply):
    reconnect, resuming from `since` (None: ask for a Full)."""
    reason: str
    since: Optional[int]


@dataclass(frozen=True)
class ServerError:
    """An Error that answers none of the outbox's actions (e.g. to a Hello)."""
    code: str
    message: str


@dataclass(frozen=True)
class PresenceChanged:
    people: Dict[int, Dict[str, Any]]


Event = Union[Applied, Answered, RetryLater, Resync, ServerError, PresenceChanged]


@dataclass
class ClientCore:
    outbox: Outbox
    state: Any = None
    version: Optional[int] = None
    # "todo" for the Todo list, "state" for a declared type: whichever the Full carries.
    state_key: Optional[str] = None
    role: Optional[str] = None
    people: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    hello_name: Optional[str] = None
    said_hello: bool = False
    focus: Optional[str] = None
    # True between `opened` and `lost`: messages returned by `submit` go out at once.
    is_open: bool = False
    # Ids of actions refused for now, to go out again on `take_retries`.
    refused_for_now: List[Any] = field(default_factory=list)

    @property
    def client(self) -> str:
        return self.outbox.client

    @property
    def loaded(self) -> bool:
        return self.version is not None

    def url(self, base: str) -> str:
        """`base` with `client` and, when the copy holds a state, `since` set (other query
        parameters kept)."""
        parts = urlsplit(base)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("since", "client")]
        if self.version is not None:
            query.append(("since", str(self.version)))
        query.append(("client", self.client))
        return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))

    # ---- the connection ----

    def opened(self) -> List[Dict[str, Any]]:
        """A connection is open: the whole outbox goes out again, in order and with the original
        ids (the server applies each at most once), then Hello and Focus if they were said."""
        self.is_open = True
        self.refused_for_now.clear()
        messages: List[Dict[str, Any]] = list(self.outbox.actions)
        if self.said_hello:
            messages.append(self._hello())
            if self.focus is not None:
                messages.append({"type": "Focus", "focus": self.focus})
        return messages

    def lost(self) -> None:
        self.is_open = False
        self.people = {}

    def forget_version(self) -> None:
        """The next connection asks for a Full (the server could not resume from our version)."""
        self.version = None

    # ---- own messages ----

    def submit(self, action: Dict[str, Any]) -> Dict[str, Any]:
        """Gives `action` an id (unless it has one), keeps it in the outbox until answered, and
        returns it: the connection sends it now if `is_open`, else `opened` will."""
        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            raise ValueError("an action is a dict with a string 'type'")
        action = dict(action)
        if "id" not in action or action["id"] is None:
            action["id"] = random_id()
        elif not isinstance(action["id"], (str, int)) or isinstance(action["id"], bool):
            raise ValueError("an action id is a string or an integer")
        elif self.outbox.holds(action["id"]):
            raise ValueError(f"action id {action['id']!r} is already waiting for an answer")
        self.outbox.add(action)
        return action

    def hello(self, name: Optional[str]) -> Dict[str, Any]:
        self.said_hello = True
        self.hello_name = name
        return self._hello()

    def set_focus(self, focus: Optional[str]) -> Dict[str, Any]:
        self.focus = focus
        return {"type": "Focus", "focus": focus}

    def _hello(self) -> Dict[str, Any]:
        return {"type": "Hello"} if self.hello_name is None else {"type": "Hello", "name": self.hello_name}

    def take_retries(self) -> List[Dict[str, Any]]:
        """The actions refused for now, oldest first, to send again."""
        due = [a for a in self.outbox.actions if any(_same_id(a["id"], i) for i in self.refused_for_now)]
        self.refused_for_now.clear()
        return due

    # ---- server messages ----

    def receive(self, message: Any) -> List[Event]:
        if not isinstance(message, dict):
            return []
        kind = message.get("type")
        if kind == "Full":
            return self._full(message)
        if kind == "Patch":
            return self._patch(message)
        if kind == "Ack":
            return self._answer(message, version=message.get("version"))
        if kind == "Error":
            return self._error(message)
        if kind in ("Presence", "PresenceJoin", "PresenceLeave", "PresenceFocus"):
            return self._presence(kind, message)
        return []  # unknown types are ignored (rule zero)

    def _full(self, message: Dict[str, Any]) -> List[Event]:
        key = "state" if "state" in message else "todo"
        version = message.get("version")
        if key not in message or not isinstance(version, int) or isinstance(version, bool):
            return [Resync("a Full without a state or a version", None)]
        before = self.version
        self.state_key, self.state, self.version = key, message[key], version
        if isinstance(message.get("role"), str):
            self.role = message["role"]
        if before is None:
            return []
        # A resume the server could not serve: the whole state is new.
        return [Applied(Change(version, [{"op": "replace", "path": "", "value": self.state}], self.state))]

    def _patch(self, message: Dict[str, Any]) -> List[Event]:
        if self.version is None:
            return [Resync("a Patch before the Full", None)]
        version, ops = message.get("version"), message.get("ops")
        if not isinstance(version, int) or isinstance(version, bool) or not isinstance(ops, list):
            return [Resync("a Patch without ops or a version", self.version)]
        if version <= self.version:
            return []  # already held (a resume overlapping what this copy saw)
        source = message.get("from", version - 1)
        if source != self.version:
            return [Resync(f"a Patch from version {source} to {version} does not follow version {self.version}", self.version)]
        try:
            self.state = apply_patch(self.state, ops)
        except JsonPatchError as error:
            # Wrong data is worse than starting over: the next connection gets a Full.
            self.version = None
            return [Resync(f"a Patch to version {version} does not apply: {error}", None)]
        self.version = version
        return [Applied(Change(version, ops, self.state))]

    def _answer(self, message: Dict[str, Any], version: Any) -> List[Event]:
        action_id = message.get("id")
        if not self.outbox.settle(action_id):
            return []
        return [Answered(action_id, version=version if isinstance(version, int) else None)]

    def _error(self, message: Dict[str, Any]) -> List[Event]:
        code = str(message.get("code", "error"))
        text = str(message.get("message", "the server refused the action"))
        action_id = message.get("id")
        if "id" in message and self.outbox.holds(action_id):
            if code in RETRYABLE:
                if not any(_same_id(action_id, i) for i in self.refused_for_now):
                    self.refused_for_now.append(action_id)
                return [RetryLater(action_id, code)]
            self.outbox.settle(action_id)
            if code == "forbidden":
                self.role = "viewer"
            version = message.get("version")
            return [Answered(action_id, code=code, message=text,
                             error_version=version if isinstance(version, int) else None)]
        return [ServerError(code, text)]

    def _presence(self, kind: str, message: Dict[str, Any]) -> List[Event]:
        if kind == "Presence" and isinstance(message.get("sessions"), list):
            self.people = {s["session"]: s for s in message["sessions"] if isinstance(s, dict) and "session" in s}
        elif kind == "PresenceJoin" and isinstance(message.get("session"), dict) and "session" in message["session"]:
            entry = message["session"]
            self.people = {**self.people, entry["session"]: entry}
        elif kind == "PresenceLeave":
            self.people = {k: v for k, v in self.people.items() if k != message.get("session")}
        elif kind == "PresenceFocus" and message.get("session") in self.people:
            session = message["session"]
            self.people = {**self.people, session: {**self.people[session], "focus": message.get("focus")}}
        else:
            return []
        return [PresenceChanged(self.people)]


def _same_id(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
