// What every page of a document does the same way, whatever the document's shape: the tab's
// client id and outbox, the connection (resume, reconnect, a wiped server), resending the outbox,
// refusals a retry may cure, presence and Focus, the People, Lists and History panels, the
// status pill, "not live since", "n changes not saved yet", view-only and token expiry.
// A page (app.js: the Todo list; type-page.js: a declared type's form) adds only its rendering
// and its edits, through the hooks it passes to `run`.

import { ResumeChoice, pageOptions, socketURL } from './connection.js';
import { isTokenExpiry, showTokenExpired } from './refusals.js';
import { Connection, Outbox, randomId } from './patchsync.js';
import { DocumentsPanel } from './documents-panel.js';
import { HistoryPanel, callAPI } from './history-panel.js';
import { tabClient } from './tab-client.js';
import { FocusSender, Presence, helloName } from './presence.js';
import { PeoplePanel } from './people-panel.js';

const $ = (selector) => document.querySelector(selector);

/** The tab's sessionStorage and the browser's localStorage; null where the browser refuses them. */
export const storageOf = (get) => {
  try {
    return get();
  } catch {
    return null;
  }
};

const NAME_KEY = 'patchsync:name';
// Shown at once while offline; while connected only once an answer is slow in coming,
// so that fast typing does not make it flicker.
const UNSAVED_AFTER_MS = 1500;
// Refusals a retry may cure leave the action in the outbox; it goes out again with its id
// after a pause that doubles while they last.
const RETRY_FIRST_MS = 500;
const RETRY_LONGEST_MS = 8000;
// After this long without a connection the page says it may be out of date.
const STALE_AFTER_MS = 5000;

/**
 * @typedef {object} PageHooks what the page itself does
 * @property {() => boolean} loaded whether the page holds a state (a Full arrived)
 * @property {() => number | null} version the version of the state it holds
 * @property {() => void} forgetVersion the next connection takes a Full
 * @property {() => object | null} state the state the server confirmed (for the history's preview)
 * @property {(message: object, detail: { own: boolean }) => { resync?: boolean } | void} receive
 *   a Full, Patch, Ack or Error (the outbox has settled an answered action already; `own`: it was
 *   this tab's); `resync`: the state cannot be trusted, start over from a Full
 * @property {(changed: { people: boolean }) => void} showPresence others' focus marks
 * @property {() => string | null} focusedPointer what this tab edits, from the keyboard focus
 * @property {(editable: boolean) => void} showEditable editing was allowed or stopped
 * @property {() => number} [queuedCount] edits waiting behind one in flight (not in the outbox yet)
 * @property {(event: object, before: object | null, after: object | null) => string} [summarize]
 *   a history event's one-line summary (default: the Todo list's)
 * @property {(past: object, now: object | null) => object} [compare] what restoring a past state
 *   changes, for the history's preview (default: the Todo list's rows, `compareStates`)
 * @property {(focus: string | null) => string | null} [describeFocus] what another person's Focus
 *   pointer is, in words, for the People panel (default: the Todo list's)
 */

export class PageController {
  /**
   * The tab's client id and its outbox for `documentName`: a page reads them (pending edits to
   * show) before it calls `run`.
   * @param {{ options?: ReturnType<typeof pageOptions>, noun?: string }} [setup]
   *   `noun`: what the page shows ("list", "document"), for its messages
   */
  static async open({ options = pageOptions(location.href), noun = 'list' } = {}) {
    const tabStorage = storageOf(() => sessionStorage);
    const documentName = options.document ?? 'default';
    const { id, duplicated } = await tabClient({ storage: tabStorage, makeId: randomId, page: window });
    const outbox = new Outbox({ storage: tabStorage, key: `patchsync:outbox:${documentName}` });
    // A duplicated tab's copied outbox belongs to the tab it was copied from, which sends it.
    if (duplicated) outbox.clear();
    return new PageController({ options, documentName, clientId: id, outbox, noun });
  }

  constructor({ options, documentName, clientId, outbox, noun }) {
    Object.assign(this, { options, documentName, clientId, outbox, noun });
    this.display = options.display;
    this.browserStorage = storageOf(() => localStorage);
    this.elements = {
      card: $('.card'),
      loading: $('#loading'),
      loadingText: $('.loading-text'),
      status: $('[data-status]'),
      statusText: $('.status-text'),
      statusRetry: $('.status-retry'),
      unsaved: $('#unsaved'),
      toast: $('#toast'),
      stale: $('#stale'),
    };
    /** "editor" or "viewer", from the last Full. */
    this.role = 'editor';
    /** Set when the server refuses edits from this session (a read-only token). */
    this.viewOnly = false;
    this.connected = false;
    /** True once this connection has resent the outbox and said Hello; until then new actions wait. */
    this.ready = false;
    this.retryDelay = RETRY_FIRST_MS;
    this.retryTimer = null;
    this.unsavedSince = null;
    this.unsavedTimer = null;
    this.unsavedTimerFor = null;
    this.countdown = null;
    this.staleTimer = null;
    this.toastTimer = null;
    this.editableShown = null;
    this.presence = new Presence({ client: clientId });
    this.resume = new ResumeChoice();
  }

  /** Whether the person may edit: not on the wall display, not with a read-only session. */
  get editable() {
    return !this.viewOnly && !this.display && this.role !== 'viewer';
  }

  /** The API next to the page, with the page's token. */
  api(path, init) {
    return callAPI(location.href, this.options.token, path, init);
  }

  /**
   * Wires the panels and the connection to the page's hooks and connects (unless the page's
   * address is a problem, which the page shows itself).
   * @param {PageHooks} hooks
   */
  run(hooks) {
    this.hooks = hooks;
    this.history = new HistoryPanel({
      name: this.documentName,
      api: (path, init) => this.api(path, init),
      current: () => ({ version: hooks.version(), document: hooks.state() }),
      canRestore: () => this.editable,
      notify: (text) => this.toast(text),
      summarize: hooks.summarize,
      compare: hooks.compare,
    });
    new DocumentsPanel({ current: this.documentName, api: (path, init) => this.api(path, init) });
    $('#people-title').textContent = `On this ${this.noun}`;

    this.focusSender = new FocusSender({
      send: (focus) => this.takesPart && this.connection.send({ type: 'Focus', focus }),
    });
    this.people = new PeoplePanel({
      presence: this.presence,
      ownName: () => this.ownName(),
      rename: (name) => {
        const chosen = helloName(name, this.ownName());
        storageOf(() => this.browserStorage.setItem(NAME_KEY, chosen));
        if (this.takesPart) this.connection.send({ type: 'Hello', name: chosen });
      },
      describeFocus: hooks.describeFocus,
    });

    this.connection = new Connection({
      url: (since) => {
        this.resume.attempting(since);
        return socketURL(location.href, since, this.clientId);
      },
      resumeVersion: () => this.resume.since(hooks.version()),
      onMessage: (message) => this.receive(message),
      onStatus: (status, detail) => this.showStatus(status, detail),
      onLost: () => {
        this.ready = false;
        this.showPresence(this.presence.clear());
        this.showUnsaved();
      },
      onRefused: (event) => this.refused(event),
    });

    // Focus moves synchronously between fields; the pointer is read once the move is over.
    const followFocus = () => queueMicrotask(() => this.focusSender.set(hooks.focusedPointer()));
    document.addEventListener('focusin', followFocus);
    document.addEventListener('focusout', followFocus);
    window.addEventListener('online', () => this.connection.retrySoon());
    // A page left for another keeps no session (others would see it as still here);
    // one restored from the back/forward cache connects again and resumes.
    window.addEventListener('pagehide', () => this.connection.stop());
    window.addEventListener('pageshow', (event) => {
      if (event.persisted && !this.options.problem) this.connection.start();
    });
    document.body.classList.toggle('is-display', this.display);
    if (!this.options.problem) this.connection.start();
  }

  get takesPart() {
    return this.ready && !this.display;
  }

  // Without a chosen name, a "Guest" number kept for this browser.
  ownName() {
    const saved = storageOf(() => this.browserStorage.getItem(NAME_KEY));
    if (saved) return helloName(saved, 'Guest');
    const name = `Guest ${100 + Math.floor(Math.random() * 900)}`;
    storageOf(() => this.browserStorage.setItem(NAME_KEY, name));
    return name;
  }

  refused(event) {
    if (isTokenExpiry(event)) {
      showTokenExpired();
      return true;
    }
    // A wiped server refuses a resume in a way the browser cannot see (see ResumeChoice).
    this.resume.closed();
    return false;
  }

  // Into the outbox, and out at once when the connection is ready; otherwise it goes
  // when the page reconnects.
  send(action) {
    this.outbox.add(action);
    if (this.ready) this.connection.send(action);
  }

  // Once per connection, when the page holds the state: the outbox goes out again, in
  // order and with the original ids (the server applies each at most once), then Hello.
  connectionReady() {
    if (this.ready || !this.connected || !this.hooks.loaded()) return;
    this.ready = true;
    this.outbox.takeRetries(); // the whole outbox goes out now
    for (const action of this.outbox.actions) this.connection.send(action);
    if (!this.display) {
      this.connection.send({ type: 'Hello', name: this.ownName() });
      this.people.enable();
      this.focusSender.reconnected();
    }
    this.showUnsaved();
  }

  scheduleRetry() {
    if (this.retryTimer !== null) return;
    if (this.retryDelay === RETRY_FIRST_MS) this.toast('Not saved yet: the server cannot take changes right now. Trying again.');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.ready) for (const action of this.outbox.takeRetries()) this.connection.send(action);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_LONGEST_MS);
  }

  receive(message) {
    const changed = this.presence.receive(message);
    if (changed) {
      this.showPresence(changed);
      return;
    }
    if (message?.type === 'Error' && this.outbox.retryLater(message)) {
      this.scheduleRetry();
      this.showUnsaved();
      return;
    }
    if (message?.type === 'Ack') this.retryDelay = RETRY_FIRST_MS;
    if (message?.type === 'Full') this.receiveFull(message);
    const answered = message?.type === 'Ack' || message?.type === 'Error';
    const own = answered && this.outbox.settle(message.id);
    const result = this.hooks.receive(message, { own }) ?? {};
    if (result.resync) {
      // Wrong data is worse than a reload: start over from a fresh Full.
      this.hooks.forgetVersion();
      this.connection.reconnectNow();
      return;
    }
    if (message?.type === 'Error' && message.code === 'forbidden') {
      this.setViewOnly();
      this.toast(`You can follow this ${this.noun} but not change it.`);
    }
    if (message?.type === 'Full') this.connectionReady();
    if (message?.type === 'Full' || message?.code === 'forbidden') this.history.refreshRole();
    if (message?.type === 'Patch' && typeof message.version === 'number' && this.hooks.version() === message.version) {
      this.history.changed(typeof message.from === 'number' ? message.from : message.version - 1, message.version);
    }
    if (answered) this.showUnsaved();
    this.showEditable();
  }

  receiveFull(message) {
    this.role = message.role === 'viewer' ? 'viewer' : 'editor';
    // A read-only token: say so before the first edit is refused.
    if (this.role === 'viewer') this.setViewOnly();
    const heldVersion = this.resume.full(message.version);
    if (heldVersion !== null) {
      // The server lost what this page saw (its data was wiped or restored from a backup):
      // its state is the truth now; the page's own unanswered edits go to it again.
      this.history.startOver();
      const pending = this.outbox.size;
      const resent = pending === 0 ? '' : ` Your ${pending === 1 ? 'unsaved change was' : `${pending} unsaved changes were`} sent again.`;
      this.toast(`The server's copy of this ${this.noun} was replaced (version ${heldVersion} → ${message.version}).${resent}`);
    }
    // A Full in place of Patches (a resync, a server that was away or replaced): the open history
    // takes the versions it has not shown.
    if (this.hooks.loaded() && Number.isInteger(message.version) && message.version > 0) this.history.changed(0, message.version);
  }

  showPresence(changed) {
    if (changed.people) this.people.render();
    this.hooks.showPresence(changed);
  }

  setViewOnly() {
    this.viewOnly = true;
    if (this.connected) this.elements.statusText.textContent = 'Live · view only';
  }

  // Tells the page only when editing was allowed or stopped (it may visit every row).
  showEditable() {
    if (!this.hooks?.loaded()) return;
    const editable = this.editable;
    if (editable === this.editableShown) return;
    this.editableShown = editable;
    this.hooks.showEditable(editable);
  }

  // Runs on every keystroke and answer: it touches the DOM and the timer only when they change.
  showUnsaved() {
    const { unsaved } = this.elements;
    const count = this.outbox.size + (this.hooks?.queuedCount?.() ?? 0);
    this.unsavedSince = count === 0 ? null : this.unsavedSince ?? Date.now();
    const overdue = this.unsavedSince !== null && Date.now() - this.unsavedSince >= UNSAVED_AFTER_MS;
    const hidden = count === 0 || (this.connected && !overdue);
    const text = count === 1 ? '1 change not saved yet' : `${count} changes not saved yet`;
    if (unsaved.textContent !== text) {
      unsaved.dataset.unsaved = String(count);
      unsaved.textContent = text;
    }
    if (unsaved.hidden !== hidden) unsaved.hidden = hidden;
    // A timer still due at the same moment stays; it shows the count if the answers are late.
    const due = hidden && count > 0 ? this.unsavedSince + UNSAVED_AFTER_MS : null;
    if (due === this.unsavedTimerFor) return;
    clearTimeout(this.unsavedTimer);
    this.unsavedTimerFor = due;
    this.unsavedTimer = due === null ? null : setTimeout(() => {
      this.unsavedTimerFor = null;
      this.showUnsaved();
    }, due - Date.now());
  }

  showStale(status) {
    const { stale } = this.elements;
    if (status === 'connected') {
      clearTimeout(this.staleTimer);
      this.staleTimer = null;
      stale.hidden = true;
      document.body.classList.remove('is-stale');
      return;
    }
    if (this.staleTimer !== null || !this.hooks.loaded()) return;
    const lastLive = new Date();
    this.staleTimer = setTimeout(() => {
      const time = lastLive.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
      stale.textContent = `Not live since ${time}: the ${this.noun} may be out of date. Reconnecting…`;
      stale.hidden = false;
      document.body.classList.add('is-stale');
    }, STALE_AFTER_MS);
  }

  showStatus(status, { retryAt } = {}) {
    const { elements } = this;
    const loaded = this.hooks.loaded();
    if (status === 'connected') this.resume.open();
    this.showStale(status);
    elements.status.dataset.status = status;
    clearInterval(this.countdown);
    this.countdown = null;
    elements.statusRetry.textContent = '';
    this.connected = status === 'connected';
    this.connectionReady();
    if (status === 'connecting') {
      elements.statusText.textContent = loaded ? 'Reconnecting…' : 'Connecting…';
    } else if (status === 'connected') {
      elements.statusText.textContent = this.viewOnly ? 'Live · view only' : 'Live';
    } else {
      elements.statusText.textContent = 'Offline';
      // The countdown is for the eye only; screen readers hear "Offline" once.
      const tick = () => {
        const seconds = Math.max(1, Math.ceil(((retryAt ?? Date.now()) - Date.now()) / 1000));
        elements.statusRetry.textContent = retryAt === undefined ? '' : ` · retrying in ${seconds}s`;
      };
      tick();
      if (retryAt !== undefined) this.countdown = setInterval(tick, 1000);
    }
    elements.loadingText.textContent = status === 'offline' ? 'Waiting for the server…' : `Loading your ${this.noun}…`;
    document.body.classList.toggle('is-offline', status !== 'connected' && loaded);
    this.showAccessRefusal(status);
    this.showEditable();
    this.showUnsaved();
  }

  // The server refused the page's token (page.js asked before connecting): said in place of the
  // skeleton and the status while not connected. The page keeps trying, and keeps what is not
  // saved yet, so a server that stops asking for that token is joined as before.
  showAccessRefusal(status) {
    const { accessRefusal } = this.options;
    if (!accessRefusal) return;
    const refused = status !== 'connected';
    $('#problem-text').textContent = accessRefusal;
    $('#problem .problem-hint').hidden = true;
    $('#problem').hidden = !refused;
    // Lists and History would be refused too.
    document.body.classList.toggle('is-refused', refused);
    this.elements.status.hidden = refused;
    if (!this.hooks.loaded()) this.elements.loading.hidden = refused;
  }

  toast(text) {
    const { toast } = this.elements;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => {
      toast.hidden = true;
    }, 4000);
  }
}
