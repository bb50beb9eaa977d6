// The page's model of the shared Todo list: the server's document, its version,
// and the person's own edits that the server has not confirmed yet.
//
// The server echoes every change, and echoes of older keystrokes would overwrite
// newer text. So a field with own edits not yet acknowledged shows the local value;
// it follows the server again once the last of them is answered (the Ack comes
// after the Patch it caused). Fast typing is coalesced: at most one action per
// target (the list name, or one row) is in flight; keystrokes made meanwhile go
// out as one action with the latest text when it is answered.
//
// Own actions survive a lost connection: they stay pending until the server answers
// them, since the page resends them with their ids after reconnecting (the server
// answers a repeat with its original Ack or Error).
//
// A change costs what it changes, whatever the list's size: Patches are applied in
// place, the rows' order is kept sorted as rows come and go, and every message and
// edit reports which fields it changed (`Changes`) so the page updates only those.

import { applyPatchInPlace, parsePointer } from './patchsync.js';

const EMPTY_DOCUMENT = Object.freeze({ name: '', todos: {} });

/** @typedef {{ index: number, name: string, completed: boolean }} RowView */

/** Key of one editable field, used to track pending edits. */
export const fieldKey = {
  listName: 'name',
  rowName: (index) => `todos/${index}/name`,
  rowCompleted: (index) => `todos/${index}/completed`,
};

const LIST_TARGET = 'name';
const rowTarget = (index) => `todos/${index}`;
const targetOf = (key) => (key === fieldKey.listName ? LIST_TARGET : key.split('/').slice(0, 2).join('/'));

function isRecord(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const ROW_KEY = /^(0|[1-9][0-9]*)$/;

/** Position of `value` in the ascending array `sorted`, or where it would go. */
function insertionPoint(sorted, value) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * What a message or an edit changed in what the page shows: everything (`all`),
 * or the list name and some rows by index.
 */
export class Changes {
  constructor({ all = false, name = false, rows = [] } = {}) {
    this.all = all;
    this.name = name;
    /** @type {Set<number>} */
    this.rows = new Set(rows);
  }

  get any() {
    return this.all || this.name || this.rows.size > 0;
  }

  add(other) {
    this.all ||= other.all;
    this.name ||= other.name;
    for (const index of other.rows) this.rows.add(index);
    return this;
  }

  /** The part of the document a field key or a JSON Pointer's tokens name. */
  mark(tokens) {
    if (tokens.length === 0 || (tokens[0] === 'todos' && tokens.length === 1)) this.all = true;
    else if (tokens[0] === 'name') this.name = true;
    else if (tokens[0] === 'todos' && ROW_KEY.test(tokens[1])) this.rows.add(Number(tokens[1]));
    return this;
  }

  /** What the operations of a Patch touch; throws JsonPatchError for a malformed pointer. */
  static of(ops) {
    const changes = new Changes();
    for (const op of Array.isArray(ops) ? ops : []) {
      if (!isRecord(op)) continue;
      changes.mark(parsePointer(op.path));
      if (op.op === 'move') changes.mark(parsePointer(op.from));
    }
    return changes;
  }
}

/** Ids 1, 2, 3, … for own actions when none are given (tests); the page passes random ones. */
function countingIds() {
  let last = 0;
  return () => ++last;
}

export class TodoStore {
  /** @param {{ makeId?: () => string | number }} [options] */
  constructor({ makeId = countingIds() } = {}) {
    /** The document as the server last described it, or null before the first Full. */
    this.document = null;
    /** Version of `document`; null before the first Full (or after `forgetVersion`). */
    this.version = null;
    this.makeId = makeId;
    /** field key -> { value, ids: Set } for edits not yet confirmed. */
    this.pendingFields = new Map();
    /** target -> { inFlight: id, queued: boolean }: the one action in flight per target. */
    this.targets = new Map();
    /** action id -> row index removed optimistically. */
    this.pendingRemovals = new Map();
    /** ids of own Add actions not answered yet, oldest first. */
    this.pendingAdds = [];
    /** version -> indices of the rows that change added, for matching Acks of own Adds. */
    this.rowsAddedAt = new Map();
    /** Indices of the document's rows, ascending. */
    this.order = [];
    /** What the server lets this session do, from the Full (servers before roles: editor). */
    this.role = 'editor';
  }

  get loaded() {
    return this.document !== null;
  }

  /** Version to resume from after a reconnect, or null to ask for a Full. */
  get resumeVersion() {
    return this.version;
  }

  /**
   * Handles one message from the server.
   * @returns {{ changes: Changes, send: object[], resync?: string, ack?: unknown,
   *   error?: { id: unknown, code: string, message: string }, newRows?: number[], addedByMe?: number[] }}
   *   `changes`: what to show anew; `send`: follow-up actions to send now.
   */
  receive(message) {
    if (!isRecord(message)) return { changes: new Changes(), send: [] };
    switch (message.type) {
      case 'Full':
        return { send: [], ...this.receiveFull(message) };
      case 'Patch':
        return { send: [], ...this.receivePatch(message) };
      case 'Ack': {
        const ownAdd = this.pendingAdds.includes(message.id);
        const result = { ...this.settle(message.id), ack: message.id };
        const rows = ownAdd ? this.rowsAddedAt.get(message.version) : undefined;
        return rows && rows.length > 0 ? { ...result, addedByMe: [Math.max(...rows)] } : result;
      }
      case 'Error': {
        const error = {
          id: message.id,
          code: String(message.code ?? 'error'),
          message: String(message.message ?? 'The server refused a change.'),
        };
        return { ...this.settle(message.id), error };
      }
      default:
        return { changes: new Changes(), send: [] };
    }
  }

  receiveFull(message) {
    if (!isRecord(message.todo)) return { changes: new Changes(), resync: 'Full without a todo object' };
    if (typeof message.version !== 'number') return { changes: new Changes(), resync: 'Full without a version' };
    const before = new Set(this.order);
    this.document = message.todo;
    this.version = message.version;
    if ('role' in message) this.role = message.role === 'viewer' ? 'viewer' : 'editor';
    this.order = this.rowKeys().map(Number).sort((a, b) => a - b);
    return { changes: new Changes({ all: true }), ...this.rowsAppeared(this.order.filter((index) => !before.has(index))) };
  }

  // A Patch applies to `from` (the version before it unless coalesced).
  receivePatch(message) {
    if (!this.loaded || this.version === null) return { changes: new Changes(), resync: 'Patch before the first Full' };
    if (typeof message.version !== 'number') return { changes: new Changes(), resync: 'Patch without a version' };
    if (message.version <= this.version) return { changes: new Changes() };
    const from = typeof message.from === 'number' ? message.from : message.version - 1;
    if (from > this.version) return { changes: new Changes(), resync: `missed versions ${this.version + 1}..${from}` };
    if (from < this.version) return { changes: new Changes(), resync: `a Patch from version ${from} overlaps version ${this.version}` };
    let changes;
    try {
      changes = Changes.of(message.ops);
      if (changes.all) return this.receiveFull({ todo: applyPatchInPlace(this.document, message.ops), version: message.version });
      const existed = [...changes.rows].filter((index) => this.hasRow(index));
      const from = this.version;
      this.document = applyPatchInPlace(this.document, message.ops);
      for (const index of changes.rows) this.placeRow(index);
      this.version = message.version;
      const newRows = [...changes.rows].filter((index) => this.hasRow(index) && !existed.includes(index));
      return { changes, ...this.rowsAppeared(newRows, from) };
    } catch (error) {
      return { changes: new Changes(), resync: `patch did not apply: ${error.message}` };
    }
  }

  // Keeps `order` in step with whether row `index` exists.
  placeRow(index) {
    const at = insertionPoint(this.order, index);
    const listed = this.order[at] === index;
    const exists = this.hasRow(index);
    if (exists && !listed) this.order.splice(at, 0, index);
    else if (!exists && listed) this.order.splice(at, 1);
  }

  // The Ack of an own Add names the version that added its row.
  rowsAppeared(newRows, from = this.version - 1) {
    // A coalesced Patch spans several versions: the Ack of an own Add may name any of them.
    for (let version = Math.max(from + 1, this.version - 63); version <= this.version; version++) {
      this.rowsAddedAt.set(version, newRows);
    }
    while (this.rowsAddedAt.size > 64) this.rowsAddedAt.delete(this.rowsAddedAt.keys().next().value);
    return { newRows, addedByMe: [] };
  }

  /**
   * Forgets the own action `id`: answered by the server, or never sent.
   * @returns {{ changes: Changes, send: object[] }} `send`: edits queued behind it, as one action per target
   */
  settle(id) {
    const send = [];
    const changes = new Changes();
    for (const [target, state] of this.targets) {
      if (state.inFlight !== id) continue;
      this.targets.delete(target);
      if (state.queued) {
        const followUp = this.dispatch(target);
        if (followUp) send.push(followUp);
      }
    }
    for (const [key, pending] of this.pendingFields) {
      if (pending.ids.delete(id) && pending.ids.size === 0) {
        this.pendingFields.delete(key);
        changes.mark(key.split('/'));
      }
    }
    const removed = this.pendingRemovals.get(id);
    if (this.pendingRemovals.delete(id)) changes.rows.add(removed);
    const add = this.pendingAdds.indexOf(id);
    if (add >= 0) this.pendingAdds.splice(add, 1);
    return { changes, send };
  }

  /** Forgets the version so the next connection asks for a Full. */
  forgetVersion() {
    this.version = null;
  }

  isPending(key) {
    return this.pendingFields.has(key);
  }

  /** Edits waiting behind an action in flight on the same target (each goes out as one action). */
  get queuedCount() {
    let count = 0;
    for (const state of this.targets.values()) if (state.queued) count += 1;
    return count;
  }

  /** The values of edits waiting behind an action in flight, by field key: to keep over a reload. */
  queuedValues() {
    const values = {};
    for (const [key, pending] of this.pendingFields) {
      if (this.targets.get(targetOf(key))?.queued) values[key] = pending.value;
    }
    return values;
  }

  /**
   * Takes up own actions sent before a reload (oldest first) and the edits queued behind them
   * (`queuedValues()`), so the page shows them and settles them as the answers come.
   */
  restorePending(actions, queued) {
    for (const action of actions) this.track(action);
    for (const [key, value] of Object.entries(queued)) {
      const state = this.targets.get(targetOf(key));
      const pending = this.pendingFields.get(key);
      if (!state || !pending || pending.value === value) continue;
      pending.value = value;
      state.queued = true;
    }
  }

  // Records what an own action shows until it is answered.
  track(action) {
    const { id } = action;
    const hold = (target, values) => {
      for (const [key, value] of Object.entries(values)) {
        const pending = this.pendingFields.get(key) ?? { value, ids: new Set() };
        pending.value = value;
        pending.ids.add(id);
        this.pendingFields.set(key, pending);
      }
      this.targets.set(target, { inFlight: id, queued: false });
    };
    switch (action.type) {
      case 'ChangeName':
        hold(LIST_TARGET, { [fieldKey.listName]: action.name });
        break;
      case 'Update':
        hold(rowTarget(action.index), {
          [fieldKey.rowName(action.index)]: action.row.name,
          [fieldKey.rowCompleted(action.index)]: action.row.completed,
        });
        break;
      case 'Remove':
        this.pendingRemovals.set(id, action.index);
        this.forgetTarget(rowTarget(action.index));
        break;
      case 'Add':
        this.pendingAdds.push(id);
        break;
      default:
    }
  }

  serverValue(key) {
    const doc = this.document ?? EMPTY_DOCUMENT;
    if (key === fieldKey.listName) return typeof doc.name === 'string' ? doc.name : '';
    const [, index, field] = key.split('/');
    const row = isRecord(doc.todos) ? doc.todos[index] : undefined;
    if (!isRecord(row)) return undefined;
    return field === 'name' ? String(row.name ?? '') : row.completed === true;
  }

  value(key) {
    const pending = this.pendingFields.get(key);
    return pending ? pending.value : this.serverValue(key);
  }

  rowKeys() {
    const todos = this.document && isRecord(this.document.todos) ? this.document.todos : {};
    return Object.keys(todos).filter((key) => ROW_KEY.test(key) && isRecord(todos[key]));
  }

  hasRow(index) {
    const todos = this.document?.todos;
    return isRecord(todos) && Object.hasOwn(todos, index) && isRecord(todos[index]);
  }

  isShown(index) {
    if (!this.hasRow(index)) return false;
    for (const removed of this.pendingRemovals.values()) if (removed === index) return false;
    return true;
  }

  /** @returns {RowView | null} row `index` as the page shows it, null when it is not shown */
  row(index) {
    if (!this.isShown(index)) return null;
    return { index, name: this.value(fieldKey.rowName(index)), completed: this.value(fieldKey.rowCompleted(index)) };
  }

  /** The shown row that follows row `index` in the list, or null when it is the last. */
  rowAfter(index) {
    for (let at = insertionPoint(this.order, index + 1); at < this.order.length; at += 1) {
      if (this.isShown(this.order[at])) return this.order[at];
    }
    return null;
  }

  get name() {
    return this.value(fieldKey.listName);
  }

  /** @returns {{ name: string, rows: RowView[] }} everything the page shows */
  view() {
    const rows = [];
    for (const index of this.order) {
      const row = this.row(index);
      if (row) rows.push(row);
    }
    return { name: this.name, rows };
  }

  // Records local values, then sends at once unless an action on the same target is in flight.
  edit(target, values) {
    for (const [key, value] of Object.entries(values)) {
      const pending = this.pendingFields.get(key) ?? { value, ids: new Set() };
      pending.value = value;
      this.pendingFields.set(key, pending);
    }
    const state = this.targets.get(target);
    if (state) {
      state.queued = true;
      return null;
    }
    return this.dispatch(target);
  }

  // The action carrying the current local values of `target`; its id covers every pending field there.
  dispatch(target) {
    let action;
    if (target === LIST_TARGET) {
      action = { type: 'ChangeName', name: this.value(fieldKey.listName), id: this.makeId() };
    } else {
      const index = Number(target.split('/')[1]);
      if (!this.hasRow(index)) {
        // The row was removed meanwhile: an Update would bring it back.
        this.forgetTarget(target);
        return null;
      }
      const row = { name: this.value(fieldKey.rowName(index)), completed: this.value(fieldKey.rowCompleted(index)) };
      action = { type: 'Update', index, row, id: this.makeId() };
    }
    for (const [key, pending] of this.pendingFields) {
      if (targetOf(key) === target) pending.ids.add(action.id);
    }
    this.targets.set(target, { inFlight: action.id, queued: false });
    return action;
  }

  forgetTarget(target) {
    this.targets.delete(target);
    for (const key of [...this.pendingFields.keys()]) {
      if (targetOf(key) === target) this.pendingFields.delete(key);
    }
  }

  // The methods below record an edit locally and return the message to send, or
  // null when it waits behind an action in flight on the same target.

  changeName(name) {
    return this.edit(LIST_TARGET, { [fieldKey.listName]: name });
  }

  addRow() {
    const id = this.makeId();
    this.pendingAdds.push(id);
    return { type: 'Add', row: { name: '', completed: false }, id };
  }

  /** @param {number} index @param {{ name?: string, completed?: boolean }} change */
  updateRow(index, change) {
    const values = {};
    if ('name' in change) values[fieldKey.rowName(index)] = change.name;
    if ('completed' in change) values[fieldKey.rowCompleted(index)] = change.completed;
    return this.edit(rowTarget(index), values);
  }

  removeRow(index) {
    const id = this.makeId();
    this.pendingRemovals.set(id, index);
    this.forgetTarget(rowTarget(index));
    return { type: 'Remove', index, id };
  }

  removeCompleted() {
    return { type: 'RemoveCompleted', id: this.makeId() };
  }
}
