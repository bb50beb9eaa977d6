"""patchsync: a live copy of a patchsync document in Python.

    async with patchsync.connect("ws://127.0.0.1:3333/ws") as doc:
        version = await doc.send({"type": "Add", "row": {"name": "milk", "completed": False}})
"""
from . import blocking
from .client import ChangeStream, Document, connect
from .errors import ActionError, ClosedError, PatchsyncError, RefusedError
from .jsonpatch import JsonPatchError, apply_patch
from .protocol import Change

__all__ = [
    "connect", "Document", "Change", "ChangeStream", "PatchsyncError", "ActionError", "RefusedError",
    "ClosedError", "JsonPatchError", "apply_patch", "blocking",
]
__version__ = "0.1.0"
