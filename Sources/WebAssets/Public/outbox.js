// Own actions the server has not answered yet, oldest first, kept in the tab's
// sessionStorage so that neither a lost connection nor a reload loses them. After
// reconnecting the page resends all of them with their original ids; the server
// applies each at most once and answers a repeat with the original Ack or Error.

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
const RETRYABLE = new Set(['storage_unavailable', 'rate_limited', 'internal_error']);

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

  /**
   * True when the Error `message` refused an action of the outbox only for now (the
   * database is down, a rate limit): the action stays, unanswered, until `takeRetries`.
   */
  retryLater(message) {
    if (!RETRYABLE.has(message.code) || !this.actions.some((action) => action.id === message.id)) return false;
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
