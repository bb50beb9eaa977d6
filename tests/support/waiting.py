"""Waiting for what must eventually happen, as a user would: read again until the answer is the
expected one or a generous deadline passes. The deadline bounds a wait on a loaded box (two cores
shared by builds and browsers); it is never a speed assertion, and a passing test stops at once."""
import asyncio
import time

# How long a test waits for something that must happen; a failing test waits this long, once.
DEADLINE = 60


def wait_for(read, accept=bool, what="the condition", timeout=DEADLINE, interval=0.05):
    """Calls `read()` until `accept(value)` holds and returns that value; raises AssertionError
    naming `what` and the last value read when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout} s (last read: {value!r})")
        time.sleep(interval)


async def wait_for_async(read, accept=bool, what="the condition", timeout=DEADLINE, interval=0.05):
    """`wait_for` inside an event loop: `read` may be a plain function or a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if asyncio.iscoroutine(value):
            value = await value
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout} s (last read: {value!r})")
        await asyncio.sleep(interval)


def run(coroutine, guard=DEADLINE * 2):
    """Runs a test's scenario; `guard` ends a hung one (a bound on waiting, not a speed)."""
    async def guarded():
        return await asyncio.wait_for(coroutine, guard)

    return asyncio.run(guarded())
