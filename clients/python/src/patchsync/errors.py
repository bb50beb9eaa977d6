"""What can go wrong, as types: an action the server refused, a connection it refused for good."""
from typing import Optional

__all__ = ["PatchsyncError", "ActionError", "RefusedError", "ClosedError"]


class PatchsyncError(Exception):
    """Base of every error this package raises; `code` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ActionError(PatchsyncError):
    """The server refused an action (its `Error` reply): `code` as in the protocol's error codes
    (`invalid_index`, `forbidden`, `test_failed`, `conflict`, ...), `message` its explanation,
    `version` the document's version for `conflict`."""

    def __init__(self, code: str, message: str, action_id: object = None, version: Optional[int] = None) -> None:
        super().__init__(code, f"{code}: {message}")
        self.message = message
        self.action_id = action_id
        self.version = version


class RefusedError(PatchsyncError):
    """The server refused the connection in a way a retry cannot fix: HTTP 401 or 403 on the
    upgrade (`code` "http_401", "http_403"), another 4xx (a bad document name or client id), or a
    session closed with 1008 "token expired" (`code` "token_expired")."""


class ClosedError(PatchsyncError):
    """The document was closed (by `close()` or the end of its `async with`) before an answer came."""

    def __init__(self, message: str = "the connection was closed before the server answered") -> None:
        super().__init__("closed", message)
