"""A short history to browse and restore: a named list, five rows added, two completed, the
completed ones removed, one more removed (versions 1 to 10; rows 1 and 3 remain)."""
from support.protocol import Peer, add


async def make_changes(url):
    peer = await Peer.connect(url)
    await peer.act({"type": "ChangeName", "name": "Line 3"})
    for name in ("milk", "bread", "eggs", "jam", "tea"):
        await peer.act(add(name))
    await peer.act({"type": "Update", "index": 2, "row": {"name": "bread", "completed": True}})
    await peer.act({"type": "Update", "index": 4, "row": {"name": "jam", "completed": True}})
    await peer.act({"type": "RemoveCompleted"})
    await peer.act({"type": "Remove", "index": 5})
    await peer.close()
