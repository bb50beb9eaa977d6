// RFC 6902 JSON Patch and RFC 6901 JSON Pointer for plain JSON values.
// Both appliers are atomic: a failing patch leaves the document exactly as it was.
// applyPatch works on a copy; applyPatchInPlace edits the document and undoes on failure.

/** Raised for a malformed operation, a bad pointer, a missing target or a failed `test`. */
export class JsonPatchError extends Error {
  /**
   * @param {string} code stable machine-readable reason
   * @param {string} message what went wrong
   * @param {number} [opIndex] position of the failing operation in the patch
   */
  constructor(code, message, opIndex) {
    super(opIndex === undefined ? message : `operation ${opIndex}: ${message}`);
    this.name = 'JsonPatchError';
    this.code = code;
    this.opIndex = opIndex;
  }
}

// Nesting limit for copy/compare, so a hostile document cannot exhaust the stack.
const MAX_DEPTH = 512;

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isContainer = (value) => value !== null && typeof value === 'object';

// Plain assignment of "__proto__" would change the prototype instead of adding a member.
function setMember(object, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/**
 * Splits an RFC 6901 pointer into its unescaped reference tokens.
 * @param {string} pointer
 * @returns {string[]}
 */
export function parsePointer(pointer) {
  if (typeof pointer !== 'string') {
    throw new JsonPatchError('invalid-pointer', 'a JSON Pointer must be a string');
  }
  if (pointer === '') return [];
  if (pointer[0] !== '/') {
    throw new JsonPatchError('invalid-pointer', `JSON Pointer "${pointer}" must start with "/"`);
  }
  return pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) {
      throw new JsonPatchError('invalid-pointer', `JSON Pointer "${pointer}" has "~" not followed by 0 or 1`);
    }
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

/**
 * Escapes one reference token for use in a pointer.
 * @param {string} token
 */
export function escapeToken(token) {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Deep copy of a JSON value. */
export function cloneJSON(value, depth = 0) {
  if (!isContainer(value)) return value;
  if (depth > MAX_DEPTH) throw new JsonPatchError('too-deep', `value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item) => cloneJSON(item, depth + 1));
  const copy = {};
  for (const key of Object.keys(value)) setMember(copy, key, cloneJSON(value[key], depth + 1));
  return copy;
}

/**
 * JSON equality as RFC 6902 `test` defines it: numbers by value, objects
 * regardless of member order, arrays element by element, no type coercion.
 */
export function jsonEqual(a, b, depth = 0) {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b)) return false;
  if (depth > MAX_DEPTH) throw new JsonPatchError('too-deep', `value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i], depth + 1));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => hasOwn(b, key) && jsonEqual(a[key], b[key], depth + 1));
}

// An array index token: "0" or digits without a leading zero.
function arrayIndex(token, length, { allowEnd }) {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new JsonPatchError('invalid-index', `"${token}" is not an array index`);
  }
  const index = Number(token);
  const limit = allowEnd ? length : length - 1;
  if (index > limit) {
    throw new JsonPatchError('index-out-of-range', `index ${index} is out of range for an array of ${length}`);
  }
  return index;
}

/**
 * Value at `pointer` inside `doc`.
 * @throws {JsonPatchError} when the path does not exist
 */
export function getByPointer(doc, pointer) {
  let current = doc;
  for (const token of parsePointer(pointer)) {
    current = child(current, token, pointer);
  }
  return current;
}

function child(container, token, pointer) {
  if (Array.isArray(container)) {
    return container[arrayIndex(token, container.length, { allowEnd: false })];
  }
  if (isObject(container) && hasOwn(container, token)) return container[token];
  throw new JsonPatchError('path-not-found', `path "${pointer}" does not exist`);
}

// Resolves everything but the last token: the container the operation acts on.
function parentOf(doc, tokens, pointer) {
  let current = doc;
  for (const token of tokens.slice(0, -1)) current = child(current, token, pointer);
  if (!isContainer(current)) {
    throw new JsonPatchError('path-not-found', `path "${pointer}" goes through a value that is not a container`);
  }
  return current;
}

// Each edit below records how to take itself back in `undo` (when given), so that a patch
// applied in place can be rolled back if a later operation fails.

function add(doc, pointer, value, undo) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, { allowEnd: true });
    parent.splice(index, 0, value);
    undo?.push(() => parent.splice(index, 1));
  } else {
    const had = hasOwn(parent, last);
    const old = parent[last];
    setMember(parent, last, value);
    undo?.push(had ? () => setMember(parent, last, old) : () => delete parent[last]);
  }
  return doc;
}

function remove(doc, pointer, undo) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) {
    throw new JsonPatchError('invalid-operation', 'cannot remove the whole document');
  }
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, { allowEnd: false });
    const [old] = parent.splice(index, 1);
    undo?.push(() => parent.splice(index, 0, old));
  } else if (hasOwn(parent, last)) {
    const old = parent[last];
    delete parent[last];
    undo?.push(() => setMember(parent, last, old));
  } else {
    throw new JsonPatchError('path-not-found', `path "${pointer}" does not exist`);
  }
  return doc;
}

function replace(doc, pointer, value, undo) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, { allowEnd: false });
    const old = parent[index];
    parent[index] = value;
    undo?.push(() => { parent[index] = old; });
  } else if (hasOwn(parent, last)) {
    const old = parent[last];
    setMember(parent, last, value);
    undo?.push(() => setMember(parent, last, old));
  } else {
    throw new JsonPatchError('path-not-found', `path "${pointer}" does not exist`);
  }
  return doc;
}

function requireMember(op, name, opIndex) {
  if (!hasOwn(op, name)) {
    throw new JsonPatchError('invalid-operation', `"${op.op}" needs a "${name}" member`, opIndex);
  }
  if (name !== 'value' && typeof op[name] !== 'string') {
    throw new JsonPatchError('invalid-operation', `"${name}" must be a string`, opIndex);
  }
  return op[name];
}

function applyOperation(doc, op, opIndex, undo) {
  if (!isObject(op)) {
    throw new JsonPatchError('invalid-operation', 'an operation must be an object', opIndex);
  }
  const path = requireMember(op, 'path', opIndex);
  switch (op.op) {
    case 'add':
      return add(doc, path, cloneJSON(requireMember(op, 'value', opIndex)), undo);
    case 'remove':
      return remove(doc, path, undo);
    case 'replace':
      return replace(doc, path, cloneJSON(requireMember(op, 'value', opIndex)), undo);
    case 'move': {
      const from = requireMember(op, 'from', opIndex);
      if (from === path) {
        getByPointer(doc, from);
        return doc;
      }
      if (path.startsWith(`${from}/`)) {
        throw new JsonPatchError('invalid-operation', `cannot move "${from}" into its own child "${path}"`, opIndex);
      }
      const value = getByPointer(doc, from);
      return add(remove(doc, from, undo), path, value, undo);
    }
    case 'copy': {
      const from = requireMember(op, 'from', opIndex);
      return add(doc, path, cloneJSON(getByPointer(doc, from)), undo);
    }
    case 'test': {
      const expected = requireMember(op, 'value', opIndex);
      if (!jsonEqual(getByPointer(doc, path), expected)) {
        throw new JsonPatchError('test-failed', `value at "${path}" is not equal to the test value`, opIndex);
      }
      return doc;
    }
    default:
      throw new JsonPatchError('invalid-operation', `unknown op ${JSON.stringify(op.op)}`, opIndex);
  }
}

function applyOperations(doc, patch, undo) {
  if (!Array.isArray(patch)) {
    throw new JsonPatchError('invalid-patch', 'a patch must be an array of operations');
  }
  let result = doc;
  patch.forEach((op, opIndex) => {
    try {
      result = applyOperation(result, op, opIndex, undo);
    } catch (error) {
      if (error instanceof JsonPatchError && error.opIndex === undefined) {
        throw new JsonPatchError(error.code, error.message, opIndex);
      }
      throw error;
    }
  });
  return result;
}

/**
 * Applies an RFC 6902 patch and returns the patched document.
 * The input document is left untouched, whether the patch succeeds or fails.
 * @param {unknown} doc a JSON value
 * @param {object[]} patch the operations
 * @returns {unknown} the new document
 * @throws {JsonPatchError}
 */
export function applyPatch(doc, patch) {
  return applyOperations(cloneJSON(doc), patch, null);
}

/**
 * Applies an RFC 6902 patch by editing `doc` where it is, so a change costs what it changes,
 * not the document's size. Returns the patched document (a new value only when the patch
 * replaces the root). On failure every edit already made is taken back before the error is
 * thrown, so `doc` is as it was (atomic, like applyPatch).
 * @param {unknown} doc a JSON value the caller owns
 * @param {object[]} patch the operations
 * @returns {unknown} the patched document
 * @throws {JsonPatchError}
 */
export function applyPatchInPlace(doc, patch) {
  const undo = [];
  try {
    return applyOperations(doc, patch, undo);
  } catch (error) {
    for (let i = undo.length - 1; i >= 0; i -= 1) undo[i]();
    throw error;
  }
}
