// The page's model of the shared Todo list: the server's document, its version,
// and the person's own edits that the server has not confirmed yet.
//
// The server echoes every change, and echoes of older keystrokes would overwrite
// newer text. So a field with own edits not yet acknowledged shows the local value;
// it follows the server again once the last of them is answered (the Ack comes
// after the Patch it caused). Fast typing is coalesced: at most one action per
// target (the list name, or one row) is in flight; keystrokes made meanwhile go
// out as one action with the latest text when it is answered.

import { applyPatch } from './jsonpatch.js';

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

export class TodoStore {
  constructor() {
    /** The document as the server last described it, or null before the first Full. */
    this.document = null;
    /** Version of `document`; null when the server does not send versions. */
    this.version = null;
    /** True when the server speaks the original protocol (no versions, no Acks). */
    this.legacy = false;
    this.nextId = 1;
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
  }

  get loaded() {
    return this.document !== null;
  }

  /** Version to resume from after a reconnect, or null to ask for a Full. */
  get resumeVersion() {
    return this.legacy ? null : this.version;
  }

  /**
   * Handles one message from the server.
   * @returns {{ changed: boolean, send: object[], resync?: string, ack?: unknown,
   *   error?: { id: unknown, code: string, message: string }, newRows?: number[], addedByMe?: number[] }}
   *   `send` holds follow-up actions to send now.
   */
  receive(message) {
    if (!isRecord(message)) return { changed: false, send: [] };
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
        return { ...this.settle(message.id), changed: true, error };
      }
      default:
        return { changed: false, send: [] };
    }
  }

  receiveFull(message) {
    if (!isRecord(message.todo)) return { changed: false, resync: 'Full without a todo object' };
    const before = this.rowIndices();
    this.document = message.todo;
    this.legacy = typeof message.version !== 'number';
    this.version = this.legacy ? null : message.version;
    this.dropConfirmedLegacyEdits();
    return { changed: true, ...this.rowsAppeared(before) };
  }

  receivePatch(message) {
    if (!this.loaded) return { changed: false, resync: 'Patch before the first Full' };
    if (typeof message.version === 'number' && this.version !== null) {
      if (message.version <= this.version) return { changed: false };
      if (message.version !== this.version + 1) {
        return { changed: false, resync: `missed versions ${this.version + 1}..${message.version - 1}` };
      }
    }
    const before = this.rowIndices();
    try {
      this.document = applyPatch(this.document, message.ops);
    } catch (error) {
      return { changed: false, resync: `patch did not apply: ${error.message}` };
    }
    if (typeof message.version === 'number') this.version = message.version;
    this.dropConfirmedLegacyEdits();
    return { changed: true, ...this.rowsAppeared(before) };
  }

  // Rows new since `before`. With versions, the Ack of an own Add names the
  // version that added its row; without them, the oldest own Add claims the newest row.
  rowsAppeared(before) {
    const newRows = [...this.rowIndices()].filter((index) => !before.has(index));
    if (!this.legacy) {
      this.rowsAddedAt.set(this.version, newRows);
      if (this.rowsAddedAt.size > 64) this.rowsAddedAt.delete(this.rowsAddedAt.keys().next().value);
      return { newRows, addedByMe: [] };
    }
    const addedByMe = [];
    if (newRows.length > 0 && this.pendingAdds.length > 0) {
      this.pendingAdds.shift();
      addedByMe.push(Math.max(...newRows));
    }
    return { newRows, addedByMe };
  }

  // The original protocol has no Acks: an edit is confirmed once the server holds its value.
  dropConfirmedLegacyEdits() {
    if (!this.legacy) return;
    for (const [key, pending] of this.pendingFields) {
      const current = this.serverValue(key);
      if (current === undefined || current === pending.value) this.pendingFields.delete(key);
    }
  }

  /**
   * Forgets the own action `id`: answered by the server, or never sent.
   * @returns {{ changed: boolean, send: object[] }} `send`: edits queued behind it, as one action per target
   */
  settle(id) {
    const send = [];
    for (const [target, state] of this.targets) {
      if (state.inFlight !== id) continue;
      this.targets.delete(target);
      if (state.queued) {
        const followUp = this.dispatch(target);
        if (followUp) send.push(followUp);
      }
    }
    let changed = send.length > 0;
    for (const [key, pending] of this.pendingFields) {
      if (pending.ids.delete(id) && pending.ids.size === 0) {
        this.pendingFields.delete(key);
        changed = true;
      }
    }
    if (this.pendingRemovals.delete(id)) changed = true;
    const add = this.pendingAdds.indexOf(id);
    if (add >= 0) this.pendingAdds.splice(add, 1);
    return { changed, send };
  }

  /** Forgets actions in flight: after a disconnect they will never be answered. */
  connectionLost() {
    this.pendingFields.clear();
    this.targets.clear();
    this.pendingRemovals.clear();
    this.pendingAdds = [];
    this.rowsAddedAt.clear();
  }

  /** Forgets the version so the next connection asks for a Full. */
  forgetVersion() {
    this.version = null;
  }

  isPending(key) {
    return this.pendingFields.has(key);
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

  rowIndices() {
    const todos = this.document && isRecord(this.document.todos) ? this.document.todos : {};
    return new Set(Object.keys(todos).filter((key) => /^\d+$/.test(key)).map(Number));
  }

  /** @returns {{ name: string, rows: RowView[] }} what the page shows */
  view() {
    const hidden = new Set(this.pendingRemovals.values());
    const rows = [...this.rowIndices()]
      .filter((index) => !hidden.has(index))
      .sort((a, b) => a - b)
      .map((index) => ({
        index,
        name: this.value(fieldKey.rowName(index)),
        completed: this.value(fieldKey.rowCompleted(index)),
      }));
    return { name: this.value(fieldKey.listName), rows };
  }

  makeId() {
    return this.nextId++;
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
      if (!this.rowIndices().has(index)) {
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
    if (!this.legacy) this.targets.set(target, { inFlight: action.id, queued: false });
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
    if (!this.legacy) this.pendingRemovals.set(id, index);
    this.forgetTarget(rowTarget(index));
    return { type: 'Remove', index, id };
  }

  removeCompleted() {
    return { type: 'RemoveCompleted', id: this.makeId() };
  }
}
