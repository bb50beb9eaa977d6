#!/usr/bin/env python3
"""What a signed token costs a WebSocket upgrade, in server CPU.

    .venv/bin/python bench/tokens.py --patchsync .build/release/patchsync [--upgrades 2000] [--runs 3]

One server with an HS256 secret, an Ed25519 and a P-256 public key (--jwt-key) and a static
--token. For each mode, --upgrades sessions connect one after another to an empty document,
read their Full and close; the server's CPU (utime + stime from /proc/PID/stat) over the mode,
divided by the upgrades, is the cost of one upgrade. Modes:

- static: the static --token (the baseline: upgrade, Full, close, no signature);
- HS256 / EdDSA / ES256, each upgrade with a token of its own (nothing cached: every upgrade
  pays for a signature check);
- EdDSA, one token: every upgrade with the same token (after the first, served from the cache
  of verified tokens: a reconnect storm).

The modes take turns in batches of 200 upgrades, so that a change in the box's load falls on
all of them. A mode's cost minus the static one is what the token check adds. The best of --runs runs is
reported (the box is shared, so the lowest is the least disturbed). The tokens are made before
the measurement; the client's CPU does not count.
"""
import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

import jwt
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import servers


async def upgrades(url, tokens):
    for token in tokens:
        async with websockets.connect(f"{url}?token={token}", max_size=None, compression=None) as ws:
            await ws.recv()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patchsync", default=str(servers.ROOT / ".build" / "release" / "patchsync"))
    parser.add_argument("--upgrades", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="patchsync-tokens-"))
    ed, p256 = ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())
    pem = lambda key: key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    secret = os.urandom(32).hex()
    (scratch / "plant.key").write_text(secret)
    (scratch / "portal.pem").write_bytes(pem(ed))
    (scratch / "line.pem").write_bytes(pem(p256))
    signing = {"HS256": (secret, "plant"), "EdDSA": (ed, "portal"), "ES256": (p256, "line")}

    def token(algorithm, number):
        key, kid = signing[algorithm]
        claims = {"sub": f"user-{number}", "exp": int(time.time()) + 3600, "patchsync": {"write": ["*"]}}
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    count = options.upgrades
    modes = {
        "static": ["static-secret"] * count,
        "HS256": [token("HS256", n) for n in range(count)],
        "EdDSA": [token("EdDSA", n) for n in range(count)],
        "ES256": [token("ES256", n) for n in range(count)],
        "EdDSA, one token": [token("EdDSA", 0)] * count,
    }
    port = servers.free_port()
    process = subprocess.Popen(
        [options.patchsync, "serve", "--port", str(port), "--data", str(scratch / "data"), "--log-level", "warning",
         "--token", "static-secret", "--max-connections-per-address", "0",
         *[argument for name in ("plant.key", "portal.pem", "line.pem") for argument in ("--jwt-key", str(scratch / name))]],
        stdout=subprocess.DEVNULL)
    try:
        servers.wait_for_port(port)
        url = f"ws://127.0.0.1:{port}/ws/bench"
        asyncio.run(upgrades(url, modes["static"][:50]))  # warm up
        best = {}
        batch = 200
        for _ in range(options.runs):
            # The modes take turns in batches, so that a change in the box's load falls on all of them.
            spent = dict.fromkeys(modes, 0.0)
            for start in range(0, count, batch):
                for mode, tokens in modes.items():
                    before = servers.cpu_seconds(process.pid)
                    asyncio.run(upgrades(url, tokens[start:start + batch]))
                    spent[mode] += servers.cpu_seconds(process.pid) - before
            for mode in modes:
                best[mode] = min(best.get(mode, float("inf")), spent[mode] / count * 1e6)
        load = os.getloadavg()[0]
        print(f"server CPU per upgrade, best of {options.runs} runs of {count} (load average {load:.1f})")
        print(f"{'mode':<20}{'µs per upgrade':>16}{'minus static':>14}")
        for mode, spent in best.items():
            print(f"{mode:<20}{spent:>16.1f}{spent - best['static']:>14.1f}")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
