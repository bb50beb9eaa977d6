"""Random JSON documents and edited copies of them, for diff and apply tests (the CLI's, the SQL
apply_patch's): the same seed gives the same pairs."""
import random

# Random documents. Numbers avoid 0, 1 and whole floats, because python's == (used by
# jsonpatch.make_patch) takes true for 1 and 2.0 for 2 and would miss those changes. No "-"
# key: jsonpatch refuses to replace an object member named "-" (the Swift tests cover it).
KEYS = ["a", "b", "c", "", "/", "~", "~1", "a/b", "m~n", "0", "01", "é", "日本", "🙂", "x y"]
SCALARS = [None, True, False, 2, -7, 42, 2**63 - 1, -2**63, 0.5, -2.25, 1e-300, "", "x", "a\"b",
           "line\nbreak", "日本語", "🙂", "nul\u0000"]


def random_value(rng, depth=4):
    if depth == 0 or rng.random() < 0.4:
        return rng.choice(SCALARS)
    if rng.random() < 0.5:
        return [random_value(rng, depth - 1) for _ in range(rng.randrange(6))]
    return {rng.choice(KEYS): random_value(rng, depth - 1) for _ in range(rng.randrange(6))}


def edited(rng, value, depth=4):
    """A copy of value with a few edits: inserts, removals, moves and changes anywhere."""
    if isinstance(value, list):
        value = list(value)
        for _ in range(rng.randrange(1, 4)):
            action = rng.randrange(4)
            if action == 0:
                value.insert(rng.randrange(len(value) + 1), random_value(rng, depth - 1))
            elif action == 1 and value:
                value.pop(rng.randrange(len(value)))
            elif action == 2 and value:
                i = rng.randrange(len(value))
                value[i] = edited(rng, value[i], depth - 1)
            elif action == 3 and len(value) > 1:
                value.insert(rng.randrange(len(value)), value.pop(rng.randrange(len(value))))
        return value
    if isinstance(value, dict):
        value = dict(value)
        for _ in range(rng.randrange(1, 4)):
            key = rng.choice(list(value)) if value and rng.random() < 0.7 else rng.choice(KEYS)
            action = rng.randrange(3)
            if action == 0:
                value[key] = random_value(rng, depth - 1)
            elif action == 1:
                value.pop(key, None)
            elif key in value:
                value[key] = edited(rng, value[key], depth - 1)
        return value
    return random_value(rng, depth) if rng.random() < 0.5 else rng.choice(SCALARS)


def random_pairs(count, seed):
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        a = random_value(rng)
        b = random_value(rng) if rng.random() < 0.3 else edited(rng, a)
        pairs.append((a, b))
    return pairs
