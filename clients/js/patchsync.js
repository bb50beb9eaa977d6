// patchsync.js: the patchsync client for browsers and Node 20+, one ES module, no dependencies.
//
//   const doc = await connect('ws://127.0.0.1:3333/ws', { WebSocket });   // Node: pass `ws`
//   const version = await doc.send({ type: 'Add', row: { name: 'milk', completed: false } });
//
// It holds a live copy of one document: the state and version from the Full, kept current by
// Patches whose `from` it checks (a gap: it resumes with `?since=`). Every action gets a
// random id and stays in an outbox until the server answers it; after a lost connection the
// outbox goes out again in order under the same `client` id, so each action is applied
// exactly once. The page of patchsync runs on the same building blocks (`Connection`,
// `Outbox`, `applyPatchInPlace`), exported below.

// ---------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------
// One WebSocket that comes back by itself: exponential backoff with jitter after a loss,
// resume from a version when the caller has one.

/**
 * Delay before reconnect attempt `attempt` (0-based): doubles from `initial`
 * up to `max`, then scaled by a random factor in [0.5, 1) so that many clients
 * do not all come back in the same instant.
 */
export function backoffDelay(attempt, { initial = 500, max = 10_000 } = {}, random = Math.random) {
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** @typedef {'connecting' | 'connected' | 'offline'} ConnectionStatus */

export class Connection {
  /**
   * @param {object} options
   * @param {(since: number | null) => string} options.url URL to open, given the version to resume from
   * @param {() => number | null} options.resumeVersion version to resume from, or null for a Full
   * @param {(message: unknown) => void} options.onMessage called with each parsed message
   * @param {(status: ConnectionStatus, detail: { retryAt?: number }) => void} options.onStatus
   * @param {() => void} [options.onLost] called when an open connection is lost
   * @param {(event: { code?: number, reason?: string, status?: number }) => boolean} [options.onRefused]
   *   called when a connection ends or fails to open; true stops retrying (a refusal a retry cannot fix)
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {object} [options.socketOptions] second argument of the constructor (Node's `ws`: headers, ca)
   * @param {{ initial?: number, max?: number }} [options.backoff]
   */
  constructor({
    url, resumeVersion, onMessage, onStatus, onLost = () => {}, onRefused = () => false,
    WebSocket = globalThis.WebSocket, socketOptions = undefined, backoff = {},
  }) {
    this.url = url;
    this.resumeVersion = resumeVersion;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onLost = onLost;
    this.onRefused = onRefused;
    this.WebSocket = WebSocket;
    this.socketOptions = socketOptions;
    this.backoff = backoff;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.status = null;
  }

  start() {
    this.open();
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === this.WebSocket.OPEN;
  }

  /** Sends a message; false when there is no open connection to send it on. */
  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Drops the connection and opens a new one at once (the caller decides about resuming). */
  reconnectNow() {
    this.clearRetry();
    this.drop();
    this.open();
  }

  /**
   * Closes the connection and stops retrying, e.g. when the page is hidden for the
   * back/forward cache (Chromium would keep its WebSocket open there); `start()` resumes.
   */
  stop() {
    this.clearRetry();
    this.drop();
  }

  /** Tries at once if waiting for a retry, e.g. when the device comes back online. */
  retrySoon() {
    if (this.retryTimer !== null) this.reconnectNow();
  }

  setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, detail);
  }

  open() {
    this.setStatus('connecting');
    let socket;
    try {
      socket = this.socketOptions === undefined
        ? new this.WebSocket(this.url(this.resumeVersion()))
        : new this.WebSocket(this.url(this.resumeVersion()), this.socketOptions);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    // Node's `ws` names the HTTP status of a refused upgrade in its error; browsers never do.
    let status;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.setStatus('connected');
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.onLost();
      if (this.onRefused({ code: event?.code, reason: event?.reason, status })) {
        this.setStatus('offline', {});
        return;
      }
      this.scheduleRetry();
    };
    // An error is always followed by close, which handles it.
    socket.onerror = (event) => {
      const found = /Unexpected server response: (\d+)/.exec(String(event?.message ?? ''));
      if (found) status = Number(found[1]);
    };
  }

  drop() {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Node's `ws` throws an unhandled 'error' when nobody listens and a socket that never
    // opened is closed.
    socket.onerror = () => {};
    try {
      socket.close(1000);
    } catch {
      // Closing a socket that never opened can throw in some browsers; it is gone either way.
    }
    this.onLost();
  }

  clearRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  scheduleRetry() {
    this.clearRetry();
    const delay = backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.setStatus('offline', { retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }
}

// ---------------------------------------------------------------------------------------
// Own actions the server has not answered yet, oldest first, kept in a storage (the tab's
// sessionStorage in the page, a file or memory in Node) so that neither a lost connection
// nor a reload loses them. After reconnecting they are all resent with their original ids;
// the server applies each at most once and answers a repeat with the original Ack or Error.

/**
 * A fresh action id: random, never a counter, so ids from a reloaded or duplicated
 * tab cannot collide. `crypto.randomUUID` needs a secure context; plain http on a
 * LAN address falls back to 16 random bytes in hex.
 */
export function randomId(crypto = globalThis.crypto) {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Refusals a retry may cure: the server does not remember them, so the same id may go again. */
export const RETRYABLE = new Set(['storage_unavailable', 'rate_limited', 'internal_error']);

export class Outbox {
  /**
   * @param {object} options
   * @param {Storage | null} options.storage where the outbox outlives the page (sessionStorage), or null
   * @param {string} options.key the storage key, one per document
   */
  constructor({ storage, key }) {
    this.storage = storage;
    this.key = key;
    /** @type {object[]} actions awaiting an answer, oldest first */
    this.actions = [];
    /** field key -> value of edits queued behind an action in flight (see TodoStore.queuedValues) */
    this.queued = {};
    /** ids of actions refused for now, to go out again (see `retryLater`) */
    this.refusedForNow = new Set();
    /** What `save` last wrote (null: nothing kept), so an unchanged outbox is not written again. */
    this.saved = undefined;
    this.load();
  }

  get size() {
    return this.actions.length;
  }

  /** Keeps `action` (it carries its `id`) until `settle(id)`. */
  add(action) {
    this.actions.push(action);
    this.save();
  }

  /** Whether an action with `id` waits here (ids compare as JSON: 7 is not "7"). */
  holds(id) {
    return this.actions.some((action) => action.id === id);
  }

  /**
   * True when the Error `message` refused an action of the outbox only for now (the
   * database is down, a rate limit): the action stays, unanswered, until `takeRetries`.
   */
  retryLater(message) {
    if (!RETRYABLE.has(message.code) || !this.holds(message.id)) return false;
    this.refusedForNow.add(message.id);
    return true;
  }

  /** The actions refused for now, oldest first, to send again. */
  takeRetries() {
    const due = this.actions.filter((action) => this.refusedForNow.has(action.id));
    this.refusedForNow.clear();
    return due;
  }

  /** Drops the action with `id` (answered); false when it was not here. */
  settle(id) {
    const at = this.actions.findIndex((action) => action.id === id);
    if (at < 0) return false;
    this.actions.splice(at, 1);
    this.save();
    return true;
  }

  /** Remembers the edits queued behind actions in flight, replacing the last ones. */
  setQueued(values) {
    this.queued = values;
    this.save();
  }

  clear() {
    this.actions = [];
    this.queued = {};
    this.refusedForNow.clear();
    this.save();
  }

  // What another page of this tab saved; anything unreadable counts as nothing pending.
  load() {
    let saved = null;
    try {
      saved = JSON.parse(this.storage?.getItem(this.key) ?? 'null');
    } catch {
      return;
    }
    if (Array.isArray(saved?.actions)) {
      this.actions = saved.actions.filter((action) => action !== null && typeof action === 'object' && 'id' in action);
    }
    if (saved?.queued !== null && typeof saved?.queued === 'object' && !Array.isArray(saved.queued)) {
      this.queued = saved.queued;
    }
  }

  // A full or disabled storage leaves the outbox in memory: the connection may still come back.
  // An Ack settles an action and then sets the queued edits, mostly unchanged: one write, not two.
  save() {
    const empty = this.actions.length === 0 && Object.keys(this.queued).length === 0;
    const text = empty ? null : JSON.stringify({ actions: this.actions, queued: this.queued });
    if (text === this.saved) return;
    try {
      if (text === null) this.storage?.removeItem(this.key);
      else this.storage?.setItem(this.key, text);
      this.saved = text;
    } catch {
      // Kept in memory only.
    }
  }
}

/** A Storage in memory (Node programs without an outbox file, tests). */
export function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => { items.set(key, String(value)); },
    removeItem: (key) => { items.delete(key); },
  };
}

/**
 * A Storage kept in one JSON file (Node only), so that unanswered actions survive the
 * program's own restart. Each write goes to a temporary file, is flushed to disk and renamed
 * over the old one: a crash leaves the old outbox or the new one, never half of one.
 * @param {string} path
 */
export async function fileStorage(path) {
  const fs = await import('node:fs');
  let items = {};
  try {
    items = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (error) {
    if (error.code !== 'ENOENT') throw new PatchsyncError('outbox_unreadable', `the outbox ${path} cannot be read: ${error.message}`);
  }
  if (items === null || typeof items !== 'object' || Array.isArray(items)) {
    throw new PatchsyncError('outbox_unreadable', `the outbox ${path} is not a patchsync outbox`);
  }
  const write = () => {
    const temporary = `${path}.${process.pid}.tmp`;
    const descriptor = fs.openSync(temporary, 'w');
    try {
      fs.writeSync(descriptor, JSON.stringify(items));
      fs.fsyncSync(descriptor);
    } finally {
      fs.closeSync(descriptor);
    }
    fs.renameSync(temporary, path);
  };
  return {
    getItem: (key) => (Object.hasOwn(items, key) ? items[key] : null),
    setItem: (key, value) => { items[key] = String(value); write(); },
    removeItem: (key) => { if (Object.hasOwn(items, key)) { delete items[key]; write(); } },
  };
}

// ---------------------------------------------------------------------------------------
// Errors and the protocol's state machine.

/**
 * What went wrong, with a stable `code`: an action's Error code (`invalid_index`,
 * `forbidden`, `test_failed`, `conflict` with `version`, ...), `http_401`/`http_403` (a
 * refused upgrade, seen under Node), `token_expired` (the session closed with 1008), or
 * `closed` (the document was closed before the server answered).
 */
export class PatchsyncError extends Error {
  constructor(code, message, { id, version } = {}) {
    super(message);
    this.name = 'PatchsyncError';
    this.code = code;
    if (id !== undefined) this.id = id;
    if (version !== undefined) this.version = version;
  }
}

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const isRecord = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The client's side of the protocol with no socket and no clock: it holds the state, the
 * version and the presence list, and returns what to do (`send`, `events`). Tested alone.
 */
export class ClientCore {
  /** @param {{ outbox: Outbox, client: string }} options */
  constructor({ outbox, client }) {
    this.outbox = outbox;
    this.client = client;
    this.state = null;
    this.version = null;
    /** "todo" for the Todo list, "state" for a declared type: whichever the Full carries. */
    this.stateKey = null;
    this.role = null;
    /** @type {Map<number, object>} */
    this.people = new Map();
    this.helloName = undefined;
    this.saidHello = false;
    this.focus = null;
    this.isOpen = false;
  }

  get loaded() {
    return this.version !== null;
  }

  /** `base` with `since` (when a state is held), `client` and `token` set. */
  url(base, token = null) {
    const url = new URL(base);
    url.searchParams.delete('since');
    url.searchParams.delete('client');
    if (this.version !== null) url.searchParams.set('since', String(this.version));
    url.searchParams.set('client', this.client);
    if (token) url.searchParams.set('token', token);
    url.hash = '';
    return url.href;
  }

  /** A connection is open: the outbox again, in order with the original ids; then Hello and Focus. */
  opened() {
    this.isOpen = true;
    this.outbox.refusedForNow.clear();
    const send = [...this.outbox.actions];
    if (this.saidHello) {
      send.push(this.hello(this.helloName));
      if (this.focus !== null) send.push({ type: 'Focus', focus: this.focus });
    }
    return send;
  }

  lost() {
    this.isOpen = false;
    this.people = new Map();
  }

  /** Gives `action` an id unless it has one and keeps it until answered; returns it. */
  submit(action) {
    if (!isRecord(action) || typeof action.type !== 'string') {
      throw new TypeError('an action is an object with a string "type"');
    }
    const kept = { ...action };
    if (kept.id === undefined || kept.id === null) kept.id = randomId();
    else if (typeof kept.id !== 'string' && !Number.isInteger(kept.id)) throw new TypeError('an action id is a string or an integer');
    else if (this.outbox.holds(kept.id)) throw new TypeError(`action id ${JSON.stringify(kept.id)} is already waiting for an answer`);
    this.outbox.add(kept);
    return kept;
  }

  hello(name) {
    this.saidHello = true;
    this.helloName = name;
    return name === undefined || name === null ? { type: 'Hello' } : { type: 'Hello', name };
  }

  setFocus(focus) {
    this.focus = focus;
    return { type: 'Focus', focus };
  }

  /**
   * One server message. Returns events: `{ change }`, `{ answered: id, version }`,
   * `{ answered: id, error: PatchsyncError }`, `{ retryLater: id }`, `{ resync: reason }`
   * (reconnect; the version is forgotten when a Full is needed), `{ problem: PatchsyncError }`,
   * `{ people: true }`.
   */
  receive(message) {
    if (!isRecord(message)) return [];
    switch (message.type) {
      case 'Full': return this.receiveFull(message);
      case 'Patch': return this.receivePatch(message);
      case 'Ack':
        return this.outbox.settle(message.id) ? [{ answered: message.id, version: message.version }] : [];
      case 'Error': return this.receiveError(message);
      case 'Presence':
      case 'PresenceJoin':
      case 'PresenceLeave':
      case 'PresenceFocus':
        return this.receivePresence(message);
      default:
        return []; // unknown types are ignored (rule zero)
    }
  }

  receiveFull(message) {
    const key = 'state' in message ? 'state' : 'todo';
    if (!(key in message) || !Number.isInteger(message.version)) return [{ resync: 'a Full without a state or a version', full: true }];
    const before = this.version;
    this.stateKey = key;
    this.state = message[key];
    this.version = message.version;
    if (typeof message.role === 'string') this.role = message.role;
    if (before === null) return [];
    return [{ change: { version: this.version, ops: [{ op: 'replace', path: '', value: this.state }], state: this.state } }];
  }

  receivePatch(message) {
    if (this.version === null) return [{ resync: 'a Patch before the Full', full: true }];
    const { version, ops } = message;
    if (!Number.isInteger(version) || !Array.isArray(ops)) return [{ resync: 'a Patch without ops or a version' }];
    if (version <= this.version) return [];
    const from = Number.isInteger(message.from) ? message.from : version - 1;
    if (from !== this.version) {
      return [{ resync: `a Patch from version ${from} to ${version} does not follow version ${this.version}` }];
    }
    try {
      this.state = applyPatchInPlace(this.state, ops);
    } catch (error) {
      // Wrong data is worse than starting over: the next connection gets a Full.
      this.version = null;
      return [{ resync: `a Patch to version ${version} does not apply: ${error.message}`, full: true }];
    }
    this.version = version;
    return [{ change: { version, ops, state: this.state } }];
  }

  receiveError(message) {
    const code = String(message.code ?? 'error');
    const text = String(message.message ?? 'the server refused the action');
    if ('id' in message && this.outbox.holds(message.id)) {
      if (this.outbox.retryLater(message)) return [{ retryLater: message.id, code }];
      this.outbox.settle(message.id);
      if (code === 'forbidden') this.role = 'viewer';
      const version = Number.isInteger(message.version) ? message.version : undefined;
      return [{ answered: message.id, error: new PatchsyncError(code, `${code}: ${text}`, { id: message.id, version }) }];
    }
    return [{ problem: new PatchsyncError(code, `${code}: ${text}`) }];
  }

  receivePresence(message) {
    if (message.type === 'Presence' && Array.isArray(message.sessions)) {
      this.people = new Map(message.sessions.filter((s) => isRecord(s) && 'session' in s).map((s) => [s.session, s]));
    } else if (message.type === 'PresenceJoin' && isRecord(message.session) && 'session' in message.session) {
      this.people.set(message.session.session, message.session);
    } else if (message.type === 'PresenceLeave') {
      this.people.delete(message.session);
    } else if (message.type === 'PresenceFocus' && this.people.has(message.session)) {
      this.people.set(message.session, { ...this.people.get(message.session), focus: message.focus ?? null });
    } else {
      return [];
    }
    return [{ people: true }];
  }
}

// ---------------------------------------------------------------------------------------
// The document a program holds: `connect` returns it once it holds the state.

// Refusals a retry may cure go out again after a pause: 0.5 s doubling to 8 s while they last.
const RETRY_FIRST_MS = 500;
const RETRY_LONGEST_MS = 8000;

export class PatchsyncDocument {
  /** @internal use `connect` */
  constructor({ url, core, token, WebSocket, socketOptions, backoff, logger }) {
    this.url = url;
    this.core = core;
    this.token = token;
    this.logger = logger;
    /** @type {Map<unknown, { resolve: Function, reject: Function }>} */
    this.waiting = new Map();
    this.subscribers = new Set();
    /** `waitFor` checks, run after every change and presence message */
    this.watchers = new Set();
    this.fatal = null;
    this.closed = false;
    this.retryDelay = RETRY_FIRST_MS;
    this.retryTimer = null;
    /** resyncs since the last change applied */
    this.resyncs = 0;
    this.loaded = new Promise((resolve, reject) => {
      this.markLoaded = resolve;
      this.failLoad = reject;
    });
    this.loaded.catch(() => {});
    this.connection = new Connection({
      url: () => core.url(url, token),
      resumeVersion: () => core.version,
      onMessage: (message) => this.receive(message),
      onStatus: (status) => {
        if (status === 'connected') for (const message of core.opened()) this.connection.send(message);
      },
      onLost: () => core.lost(),
      onRefused: (event) => this.refused(event),
      WebSocket,
      socketOptions,
      backoff,
    });
  }

  /** The Full's state member (`todo` for the Todo list, `state` for a declared type), kept current in place. */
  get state() { return this.core.state; }

  get version() { return this.core.version ?? 0; }

  /** "editor" or "viewer", from the Full. */
  get role() { return this.core.role; }

  /** The client id the server knows this program by (exactly-once actions). */
  get client() { return this.core.client; }

  /** The sessions that said Hello (after `hello`): `{session, name, client, since, role, focus}`. */
  get people() { return [...this.core.people.values()]; }

  /** Actions sent and not answered yet. */
  get pending() { return this.core.outbox.size; }

  /**
   * Sends `action` (a random id is added unless it has one); resolves with its Ack's version,
   * rejects with a PatchsyncError when the server refuses it. Across lost connections it is
   * resent with its id until answered, and the server applies it at most once.
   */
  send(action) {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new PatchsyncError('closed', 'the document is closed'));
    let kept;
    try {
      kept = this.core.submit(action);
    } catch (error) {
      return Promise.reject(error);
    }
    const answer = new Promise((resolve, reject) => this.waiting.set(kept.id, { resolve, reject }));
    if (this.core.isOpen) this.connection.send(kept);
    return answer;
  }

  /** A raw RFC 6902 write; `base`: the version the ops were made against. */
  patch(ops, { base, id } = {}) {
    const action = { type: 'Patch', ops };
    if (base !== undefined && base !== null) action.base = base;
    if (id !== undefined) action.id = id;
    return this.send(action);
  }

  /** Opts into presence (again after every reconnect); `people` then lists everyone. */
  hello(name) {
    const message = this.core.hello(name);
    if (this.core.isOpen) this.connection.send(message);
  }

  /** What this program looks at (a JSON Pointer, or null); after `hello`. */
  focus(pointer) {
    const message = this.core.setFocus(pointer);
    if (this.core.isOpen && this.core.saidHello) this.connection.send(message);
  }

  /**
   * Calls `callback({ version, ops, state })` for every change from now on, in version order,
   * own writes included; returns the function that stops it. `state` is the live state.
   */
  subscribe(callback) {
    this.subscribers.add(callback);
    return () => this.subscribers.delete(callback);
  }

  /** Resolves with the state once `predicate(state)` holds (checked now and after every change or
   * presence message); rejects after `timeout` ms with code `timeout`. */
  waitFor(predicate, { timeout } = {}) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const finish = (error, state) => {
        this.watchers.delete(check);
        if (timer !== null) clearTimeout(timer);
        if (error) reject(error);
        else resolve(state);
      };
      const check = () => {
        if (this.fatal || this.closed) finish(this.fatal ?? new PatchsyncError('closed', 'the document is closed'));
        else if (this.core.loaded && predicate(this.core.state)) finish(null, this.core.state);
      };
      this.watchers.add(check);
      if (timeout !== undefined) timer = setTimeout(() => finish(new PatchsyncError('timeout', `not within ${timeout} ms`)), timeout);
      check();
    });
  }

  /** Closes the connection; sends still waiting reject with code `closed`. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.connection.stop();
    this.finish(this.fatal ?? new PatchsyncError('closed', 'the connection was closed before the server answered'));
  }

  finish(error) {
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
    this.failLoad(error);
    for (const check of [...this.watchers]) check();
  }

  fail(error) {
    this.fatal = error;
    this.connection.stop();
    this.finish(error);
  }

  // A refusal a retry cannot fix ends the document; anything else is retried.
  refused({ code, reason, status }) {
    if (code === 1008 && reason === 'token expired') {
      this.fail(new PatchsyncError('token_expired', 'the server closed the session: token expired'));
      return true;
    }
    if (status === 400 && this.core.version !== null) {
      // `since` the server cannot serve (its data was replaced): start over from a Full.
      this.core.version = null;
      return false;
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      this.fail(new PatchsyncError(`http_${status}`, `${this.url} refused the connection: HTTP ${status}`));
      return true;
    }
    return false;
  }

  receive(message) {
    const events = this.core.receive(message);
    for (const event of events) {
      if (event.change) {
        this.resyncs = 0;
        for (const subscriber of [...this.subscribers]) {
          try {
            subscriber(event.change);
          } catch (error) {
            this.logger?.error?.('patchsync: a subscriber threw', error);
          }
        }
      } else if (event.answered !== undefined) {
        this.retryDelay = RETRY_FIRST_MS;
        const waiter = this.waiting.get(event.answered);
        this.waiting.delete(event.answered);
        if (event.error) {
          if (waiter) waiter.reject(event.error);
          else this.logger?.warn?.(`patchsync: an action from the outbox was refused: ${event.error.message}`);
        } else {
          waiter?.resolve(event.version);
        }
      } else if (event.retryLater !== undefined) {
        this.scheduleRetry();
      } else if (event.resync) {
        this.logger?.warn?.(`patchsync: ${event.resync}; reconnecting`);
        // At once the first time; a second resync in a row (a server that keeps sending what
        // this copy cannot follow) waits like any other retry, so it never spins.
        this.resyncs += 1;
        if (this.resyncs === 1) {
          this.connection.reconnectNow();
        } else {
          this.connection.drop();
          this.connection.scheduleRetry();
        }
        return;
      } else if (event.problem) {
        this.logger?.warn?.(`patchsync: the server says ${event.problem.message}`);
      }
    }
    if (this.core.loaded) this.markLoaded(this);
    if (events.some((event) => event.change || event.people)) for (const check of [...this.watchers]) check();
  }

  scheduleRetry() {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.core.isOpen) for (const action of this.core.outbox.takeRetries()) this.connection.send(action);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_LONGEST_MS);
  }
}

/**
 * Opens a live copy of the document at `url` (`ws://host:port/ws/<name>`, or `wss://`).
 * Resolves once the copy holds the state; retries while the server is unreachable; rejects
 * with a PatchsyncError when it refuses for good (under Node: HTTP 401/403 and other 4xx).
 *
 * @param {string} url
 * @param {object} [options]
 * @param {string} [options.client] names this program for exactly-once actions (random if not given;
 *   kept in the outbox storage, so a restarted program resends its actions as the same client)
 * @param {string} [options.token] sent as `?token=`
 * @param {typeof WebSocket} [options.WebSocket] the constructor (browsers: the global one; Node: `ws`)
 * @param {string | Storage} [options.outbox] a file path (Node) or a Storage (sessionStorage,
 *   localStorage) that keeps unanswered actions; default: memory
 * @param {string | Buffer} [options.ca] PEM of the CA to trust for wss:// (Node's `ws` only)
 * @param {{ initial?: number, max?: number }} [options.backoff] reconnect delays in ms
 * @param {{ warn?: Function, error?: Function }} [options.logger] default: console
 * @returns {Promise<PatchsyncDocument>}
 */
export async function connect(url, {
  client, token, WebSocket = globalThis.WebSocket, outbox, ca, backoff = { initial: 250, max: 10_000 },
  logger = globalThis.console,
} = {}) {
  const parsed = new URL(url);
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`${url} is not a ws:// or wss:// URL`);
  if (typeof WebSocket !== 'function') {
    throw new TypeError('no WebSocket: under Node pass one, e.g. { WebSocket } from the ws package');
  }
  if (client !== undefined && !CLIENT_ID.test(client)) throw new TypeError('a client id is 1 to 64 of A-Z a-z 0-9 _ -');
  const storage = typeof outbox === 'string' ? await fileStorage(outbox) : outbox ?? memoryStorage();
  const key = `patchsync:outbox:${parsed.host}${parsed.pathname}`;
  const saved = storage.getItem(`${key}:client`);
  const box = new Outbox({ storage, key });
  if (client !== undefined && saved !== null && saved !== client && box.size > 0) {
    throw new PatchsyncError('outbox_client', `the outbox holds unanswered actions of client ${saved}, not ${client}`);
  }
  const clientId = client ?? saved ?? randomId().replace(/[^A-Za-z0-9_-]/g, '');
  if (saved !== clientId) storage.setItem(`${key}:client`, clientId);
  const core = new ClientCore({ outbox: box, client: clientId });
  const socketOptions = ca !== undefined ? { ca } : undefined;
  const doc = new PatchsyncDocument({ url, core, token, WebSocket, socketOptions, backoff, logger });
  doc.connection.start();
  try {
    return await doc.loaded;
  } catch (error) {
    await doc.close();
    throw error;
  }
}
