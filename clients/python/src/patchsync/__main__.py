"""`python -m patchsync watch URL`: prints the state, then every change, one JSON line each."""
import argparse
import asyncio
import json
import logging
import sys
from typing import List, Optional

from .client import connect
from .errors import PatchsyncError


async def watch(url: str, token: Optional[str], ca_file: Optional[str]) -> None:
    async with connect(url, token=token, ca_file=ca_file) as doc:
        changes = doc.changes()
        print(json.dumps({"version": doc.version, "state": doc.state}), flush=True)
        async for change in changes:
            print(json.dumps({"version": change.version, "ops": change.ops}), flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m patchsync")
    commands = parser.add_subparsers(dest="command", required=True)
    watcher = commands.add_parser("watch", help="print the state, then every change (reconnects by itself)")
    watcher.add_argument("url", help="ws://host:port/ws or /ws/<document>; wss:// with --ca-file")
    watcher.add_argument("--token", help="the server's token (default: none)")
    watcher.add_argument("--ca-file", help="PEM file of the CA to trust for wss://")
    watcher.add_argument("--verbose", action="store_true", help="log reconnects to stderr")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(watch(arguments.url, arguments.token, arguments.ca_file))
    except PatchsyncError as error:
        print(f"patchsync: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
