"""RFC 6902 JSON Patch and RFC 6901 JSON Pointer for plain JSON values (dict, list, str, int,
float, bool, None).

`apply_patch` never changes its input: it copies only the containers on the path of each
operation, so the state before a Patch stays valid (each `Change.state` is its own value) and a
failing patch leaves nothing half-applied."""
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["JsonPatchError", "apply_patch", "parse_pointer", "json_equal"]

# Nesting limit for compare, so a hostile document cannot exhaust the stack.
_MAX_DEPTH = 512


class JsonPatchError(ValueError):
    """A malformed operation, a bad pointer, a missing target or a failed `test`.
    `code` is a stable reason, `index` the failing operation's position in the patch."""

    def __init__(self, code: str, message: str, index: Optional[int] = None) -> None:
        super().__init__(message if index is None else f"operation {index}: {message}")
        self.code = code
        self.index = index


def parse_pointer(pointer: Any) -> List[str]:
    """The unescaped reference tokens of an RFC 6901 pointer."""
    if not isinstance(pointer, str):
        raise JsonPatchError("invalid_pointer", "a JSON Pointer must be a string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise JsonPatchError("invalid_pointer", f'JSON Pointer "{pointer}" must start with "/"')
    tokens = []
    for token in pointer[1:].split("/"):
        at = token.find("~")
        while at >= 0:
            if at + 1 >= len(token) or token[at + 1] not in "01":
                raise JsonPatchError("invalid_pointer", f'JSON Pointer "{pointer}" has "~" not followed by 0 or 1')
            at = token.find("~", at + 2)
        tokens.append(token.replace("~1", "/").replace("~0", "~"))
    return tokens


def json_equal(a: Any, b: Any, depth: int = 0) -> bool:
    """JSON equality: numbers by value (1 == 1.0), but true is not 1, and object member order
    does not matter."""
    if depth > _MAX_DEPTH:
        raise JsonPatchError("too_deep", "values nest too deeply to compare")
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y, depth + 1) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _array_index(token: str, length: int, pointer: str, allow_end: bool) -> int:
    if allow_end and token == "-":
        return length
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        raise JsonPatchError("invalid_index", f'"{token}" in "{pointer}" is not an array index')
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise JsonPatchError("out_of_bounds", f'index {index} in "{pointer}" is out of bounds (length {length})')
    return index


def _get(doc: Any, tokens: Sequence[str], pointer: str) -> Any:
    value = doc
    for token in tokens:
        if isinstance(value, dict):
            if token not in value:
                raise JsonPatchError("not_found", f'"{pointer}" does not exist')
            value = value[token]
        elif isinstance(value, list):
            value = value[_array_index(token, len(value), pointer, allow_end=False)]
        else:
            raise JsonPatchError("not_found", f'"{pointer}" does not exist')
    return value


def _copy_container(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)


def _update(doc: Any, tokens: Sequence[str], pointer: str, edit: Any) -> Any:
    """A new document in which `edit(parent, last_token)` ran on a copy of the parent of
    `tokens`; every container on the path is copied, nothing else is."""
    if not tokens:
        raise AssertionError("the root is handled by the caller")
    root = _copy_container(doc) if isinstance(doc, (dict, list)) else doc
    parent = root
    for token in tokens[:-1]:
        if isinstance(parent, dict):
            if token not in parent:
                raise JsonPatchError("not_found", f'the parent of "{pointer}" does not exist')
            child = parent[token]
            key: Any = token
        elif isinstance(parent, list):
            key = _array_index(token, len(parent), pointer, allow_end=False)
            child = parent[key]
        else:
            raise JsonPatchError("not_found", f'the parent of "{pointer}" does not exist')
        if not isinstance(child, (dict, list)):
            raise JsonPatchError("not_found", f'the parent of "{pointer}" is not an object or array')
        child = _copy_container(child)
        parent[key] = child
        parent = child
    if not isinstance(parent, (dict, list)):
        raise JsonPatchError("not_found", f'the parent of "{pointer}" is not an object or array')
    edit(parent, tokens[-1])
    return root


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value

    def edit(parent: Any, token: str) -> None:
        if isinstance(parent, dict):
            parent[token] = value
        else:
            parent.insert(_array_index(token, len(parent), pointer, allow_end=True), value)

    return _update(doc, tokens, pointer, edit)


def _remove(doc: Any, pointer: str) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise JsonPatchError("invalid_operation", "the root cannot be removed")

    def edit(parent: Any, token: str) -> None:
        if isinstance(parent, dict):
            if token not in parent:
                raise JsonPatchError("not_found", f'"{pointer}" does not exist')
            del parent[token]
        else:
            del parent[_array_index(token, len(parent), pointer, allow_end=False)]

    return _update(doc, tokens, pointer, edit)


def _replace(doc: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value

    def edit(parent: Any, token: str) -> None:
        if isinstance(parent, dict):
            if token not in parent:
                raise JsonPatchError("not_found", f'"{pointer}" does not exist')
            parent[token] = value
        else:
            parent[_array_index(token, len(parent), pointer, allow_end=False)] = value

    return _update(doc, tokens, pointer, edit)


_MISSING = object()


def _member(op: Dict[str, Any], name: str, index: int) -> Any:
    value = op.get(name, _MISSING)
    if value is _MISSING:
        raise JsonPatchError("invalid_operation", f'"{op.get("op")}" needs "{name}"', index)
    return value


def _apply_one(doc: Any, op: Any, index: int) -> Any:
    if not isinstance(op, dict):
        raise JsonPatchError("invalid_operation", "an operation must be an object", index)
    kind = op.get("op")
    path = _member(op, "path", index)
    if not isinstance(path, str):
        raise JsonPatchError("invalid_pointer", '"path" must be a string', index)
    if kind == "add":
        return _add(doc, path, _member(op, "value", index))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        return _replace(doc, path, _member(op, "value", index))
    if kind in ("move", "copy"):
        source = _member(op, "from", index)
        if not isinstance(source, str):
            raise JsonPatchError("invalid_pointer", '"from" must be a string', index)
        value = _get(doc, parse_pointer(source), source)
        if kind == "move":
            if path != source and path.startswith(source + "/"):
                raise JsonPatchError("invalid_operation", f'cannot move "{source}" into its own child "{path}"', index)
            if path == source:
                return doc
            doc = _remove(doc, source)
        return _add(doc, path, value)
    if kind == "test":
        expected = _member(op, "value", index)
        if not json_equal(_get(doc, parse_pointer(path), path), expected):
            raise JsonPatchError("test_failed", f'"{path}" is not the expected value', index)
        return doc
    raise JsonPatchError("invalid_operation", f"unknown operation {kind!r}", index)


def apply_patch(doc: Any, patch: Any) -> Any:
    """The document after every operation of `patch`, or JsonPatchError (with the failing
    operation's index) and `doc` unchanged."""
    if not isinstance(patch, list):
        raise JsonPatchError("invalid_patch", "a patch must be an array of operations")
    for index, op in enumerate(patch):
        try:
            doc = _apply_one(doc, op, index)
        except JsonPatchError as error:
            if error.index is None:
                raise JsonPatchError(error.code, str(error), index) from None
            raise
    return doc
