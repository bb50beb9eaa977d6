// Who else is on the document and what they are editing, from the server's
// Presence messages (sent only to a session that said Hello), and this page's
// own Focus, sent at most a few times a second.

/** The JSON Pointer the page sends as Focus while row `index` is being edited. */
export const rowPointer = (index) => `/todos/${index}`;
export const NAME_POINTER = '/name';

const ROW_POINTER = /^\/todos\/(0|[1-9][0-9]*)$/;

/** The row a Focus pointer names, or null. */
export function pointerRow(focus) {
  const match = ROW_POINTER.exec(typeof focus === 'string' ? focus : '');
  return match ? Number(match[1]) : null;
}

const NAME_LIMIT = 64;

/** The name to say Hello with: what the person chose, trimmed to what the server takes. */
export function helloName(chosen, fallback) {
  const name = String(chosen ?? '').trim();
  return Array.from(name || fallback).slice(0, NAME_LIMIT).join('');
}

/**
 * Initials for an avatar: the first letters of the first two words that start with a letter
 * (words split at spaces and punctuation), so "Ana María López" is "AM", "Jean-Luc" is "JL"
 * and "Guest 571" is "G". A name with no such word shows its first character; none, "?".
 */
export function initials(name) {
  const words = String(name ?? '').split(/[\s\p{P}]+/u).filter((word) => /^\p{L}/u.test(word));
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0].toLocaleUpperCase()).join('');
  return letters || Array.from(String(name ?? '').trim())[0] || '?';
}

const PALETTE_SIZE = 6;

export class Presence {
  /** @param {{ client: string }} options this page's client id: its own sessions are not "others" */
  constructor({ client }) {
    this.client = client;
    /** session id -> { session, name, client, since, role, focus } */
    this.sessions = new Map();
    /** `others()`, kept until the next change: every row asks while a list renders. */
    this.othersShown = null;
  }

  /**
   * Takes a Presence message; null for any other message.
   * @returns {{ people: boolean, focus: Set<string> } | null} whether the list of people
   *   changed, and the pointers whose editors changed
   */
  receive(message) {
    if (typeof message?.type === 'string' && message.type.startsWith('Presence')) this.othersShown = null;
    const focus = new Set();
    const mark = (entry) => {
      if (typeof entry?.focus === 'string') focus.add(entry.focus);
    };
    switch (message?.type) {
      case 'Presence':
        for (const entry of this.sessions.values()) mark(entry);
        this.sessions.clear();
        for (const entry of Array.isArray(message.sessions) ? message.sessions : []) this.put(entry, mark);
        return { people: true, focus };
      case 'PresenceJoin':
        mark(this.sessions.get(message.session?.session));
        this.put(message.session, mark);
        return { people: true, focus };
      case 'PresenceLeave': {
        const gone = this.sessions.get(message.session);
        mark(gone);
        this.sessions.delete(message.session);
        return { people: gone !== undefined, focus };
      }
      case 'PresenceFocus': {
        const entry = this.sessions.get(message.session);
        if (!entry) return { people: false, focus };
        mark(entry);
        entry.focus = typeof message.focus === 'string' ? message.focus : null;
        mark(entry);
        return { people: true, focus };
      }
      default:
        return null;
    }
  }

  put(entry, mark) {
    if (entry === null || typeof entry !== 'object' || typeof entry.session !== 'number') return;
    const person = {
      session: entry.session,
      name: typeof entry.name === 'string' && entry.name.trim() ? entry.name : 'Someone',
      client: typeof entry.client === 'string' ? entry.client : null,
      since: typeof entry.since === 'number' ? entry.since : 0,
      role: entry.role === 'viewer' ? 'viewer' : 'editor',
      focus: typeof entry.focus === 'string' ? entry.focus : null,
    };
    this.sessions.set(person.session, person);
    mark(person);
  }

  /** Forgets everyone: after a lost connection, until the next Presence. */
  clear() {
    this.othersShown = null;
    const focus = new Set();
    for (const entry of this.sessions.values()) if (entry.focus !== null) focus.add(entry.focus);
    this.sessions.clear();
    return { people: true, focus };
  }

  isOwn(person) {
    return person.client !== null && person.client === this.client;
  }

  /** Everyone else on the document, who came first first. */
  others() {
    this.othersShown ??= [...this.sessions.values()]
      .filter((person) => !this.isOwn(person))
      .sort((a, b) => a.since - b.since || a.session - b.session);
    return this.othersShown;
  }

  /** The others editing what `pointer` names. */
  editing(pointer) {
    return this.others().filter((person) => person.focus === pointer);
  }

  /**
   * Which of the palette's colours marks `person`: "self" for this page, otherwise by
   * order of arrival, so that the few people usually on a list all differ.
   */
  colourOf(person) {
    if (this.isOwn(person)) return 'self';
    const at = this.others().findIndex((other) => other.session === person.session);
    return String(Math.max(0, at) % PALETTE_SIZE);
  }
}

/**
 * Sends this page's Focus, coalesced: at once if the last went out at least
 * `interval` ms ago, otherwise the latest value when the interval is over. The
 * server allows 10 a second; the default stays well below.
 */
export class FocusSender {
  constructor({ send, interval = 300, now = () => Date.now(), timers = globalThis }) {
    Object.assign(this, { send, interval, now, timers });
    this.wanted = null;
    this.sent = null;
    this.lastAt = -Infinity;
    this.timer = null;
  }

  set(focus) {
    this.wanted = focus;
    if (this.timer !== null) return;
    const wait = this.lastAt + this.interval - this.now();
    if (wait <= 0) this.flush();
    else this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  flush() {
    if (this.wanted === this.sent) return;
    if (!this.send(this.wanted)) return;
    this.sent = this.wanted;
    this.lastAt = this.now();
  }

  /** A new connection knows no focus of this page: the current one is sent again (if any). */
  reconnected() {
    this.sent = null;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.lastAt = -Infinity;
    if (this.wanted !== null) this.set(this.wanted);
  }
}
