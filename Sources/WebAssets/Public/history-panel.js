// The history panel: the document's changes newest first, grouped into intentions, a page at
// a time; new ones as Patches arrive; a past version previewed against now; restore after a
// confirmation.

import { RESTORE_LABELS, apiURL, compareStates, groupHistory, restoreSummary } from './history.js';
import { Panel } from './panel.js';

/** Events asked for at once. */
const PAGE_SIZE = 20;
/** Entries (after grouping) the panel shows at least, when the history has them: a phone's screen. */
const SCREEN_ENTRIES = 12;
const $ = (selector) => document.querySelector(selector);

function formatTime(ms) {
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** GET or POST to the API next to the page; the API's own error message on failure. */
export async function callAPI(pageHref, token, path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(apiURL(pageHref, path), { ...init, headers });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

export class HistoryPanel extends Panel {
  /**
   * @param {object} options
   * @param {string} options.name the document's name
   * @param {(path: string, init?: object) => Promise<any>} options.api
   * @param {() => { version: number | null, document: object | null }} options.current
   * @param {() => boolean} options.canRestore
   * @param {(text: string) => void} options.notify
   * @param {(event: object, before: object | null, after: object | null) => string} [options.summarize]
   *   an event's one-line summary (default: the Todo list's)
   * @param {(past: object, now: object | null) => ReturnType<typeof compareStates>} [options.compare]
   *   what a restore of a past state changes, for its preview (default: the Todo list's rows)
   */
  constructor({ name, api, current, canRestore, notify, summarize, compare = compareStates }) {
    super('history');
    Object.assign(this, { name, api, current, canRestore, notify, summarize, compare });
    this.list = $('[data-history]');
    this.note = $('#history-note');
    this.older = $('button[name=older]');
    this.preview = $('#preview');
    this.restore = $('button[name=restore]');
    this.dialog = $('#confirm-restore-dialog');
    this.selected = null;
    /** Loads run one after another, so that pages and new events never interleave. */
    this.queue = Promise.resolve();
    this.reset();

    this.older.addEventListener('click', () => this.enqueue(() => this.loadOlder()));
    this.list.addEventListener('click', (event) => {
      const expand = event.target.closest('button[name=expand]');
      if (expand) {
        this.toggleGroup(expand);
        return;
      }
      const entry = event.target.closest('[data-version], [data-member]');
      if (entry) this.select(Number(entry.dataset.version ?? entry.dataset.member));
    });
    this.restore.addEventListener('click', () => this.confirmRestore());
    $('button[name=cancel-restore]').addEventListener('click', () => this.dialog.close());
    $('button[name=confirm-restore]').addEventListener('click', () => this.performRestore());
  }

  reset() {
    /** version -> event, every event loaded */
    this.events = new Map();
    /** The oldest version loaded, and the oldest the server keeps. */
    this.oldest = null;
    this.retainedFrom = 1;
    /** The state before `oldest` (null: unknown), from which rows are named as they were. */
    this.base = null;
    /** Groups shown expanded, by their oldest member's version. */
    this.expanded = new Set();
    this.entryCount = 0;
  }

  enqueue(work) {
    this.queue = this.queue.then(work).catch((error) => {
      this.note.textContent = `The history could not be loaded: ${error.message}`;
    });
    return this.queue;
  }

  open() {
    super.open();
    this.refreshRole();
    this.list.replaceChildren();
    this.reset();
    return this.enqueue(async () => {
      if (!this.current().version) {
        this.note.textContent = 'No changes yet.';
        return;
      }
      await this.loadNewest();
      this.list.querySelector('[data-version]')?.focus();
    });
  }

  /**
   * The history starts over (the server's data was replaced): what is shown goes; the next
   * `changed` loads the new history (a document never written has none to ask for).
   */
  startOver() {
    this.preview.hidden = true;
    this.selected = null;
    this.list.replaceChildren();
    this.reset();
    this.note.textContent = 'No changes yet.';
  }

  /** The newest page, then older ones until the list shows a screen of entries. */
  async loadNewest() {
    const { events, oldest } = await this.api(`docs/${this.name}/history?order=desc&limit=${PAGE_SIZE}`);
    this.retainedFrom = oldest;
    this.take(events);
    while (this.entryCount < SCREEN_ENTRIES && this.hasOlder) await this.loadPage();
    await this.loadBase();
    this.render();
  }

  close() {
    this.preview.hidden = true;
    this.selected = null;
    super.close();
  }

  /** Watch-only sessions never see Restore. */
  refreshRole() {
    this.restore.hidden = !this.canRestore();
  }

  get hasOlder() {
    return this.oldest !== null && this.oldest > Math.max(1, this.retainedFrom);
  }

  get newest() {
    return this.events.size === 0 ? null : Math.max(...this.events.keys());
  }

  /** A Patch from `from` to `version` arrived: its events join the list (and maybe the newest entry). */
  changed(from, version) {
    if (!this.isOpen) return;
    this.enqueue(async () => {
      const newest = this.newest;
      if (newest === null) {
        await this.loadNewest(); // the first change since the panel opened on an empty list
        return;
      }
      if (version <= newest) return;
      const since = Math.max(from, newest);
      const { events } = await this.api(`docs/${this.name}/history?since=${since}&limit=${version - since}`);
      this.take(events);
      this.render();
    });
  }

  /** Older pages until the list shows a screen more of entries, or the history's start. */
  async loadOlder() {
    const target = this.entryCount + SCREEN_ENTRIES;
    do await this.loadPage();
    while (this.entryCount < target && this.hasOlder);
    await this.loadBase();
    this.render();
  }

  /** The page of events before the oldest loaded. */
  async loadPage() {
    if (!this.hasOlder) return;
    const since = Math.max(0, this.oldest - 1 - PAGE_SIZE);
    const { events, oldest } = await this.api(`docs/${this.name}/history?since=${since}&limit=${this.oldest - 1 - since}`);
    this.retainedFrom = oldest;
    if (events.length === 0) this.retainedFrom = this.oldest; // nothing older is kept
    this.take(events);
  }

  take(events) {
    for (const event of events) {
      this.events.set(event.version, event);
      this.oldest = this.oldest === null ? event.version : Math.min(this.oldest, event.version);
    }
    this.entryCount = groupHistory([...this.events.values()], null, this.summarize).length;
  }

  /** The state just before the oldest event loaded; rows in summaries are named from it. */
  async loadBase() {
    if (this.oldest === null || this.base?.version === this.oldest - 1) return;
    try {
      const { state } = await this.api(`docs/${this.name}/state?version=${this.oldest - 1}`);
      this.base = { version: this.oldest - 1, state };
    } catch {
      this.base = null; // outside the retained history: summaries name rows from the actions
    }
  }

  render() {
    const focused = document.activeElement;
    const focusKey = this.list.contains(focused) ? keyOf(focused) : null;
    const groups = groupHistory([...this.events.values()], this.base?.state ?? null, this.summarize);
    this.entryCount = groups.length;
    this.list.replaceChildren(...groups.map((group) => this.entry(group)));
    this.older.hidden = !this.hasOlder;
    this.note.textContent = groups.length === 0 ? 'No changes kept in the history.' : '';
    if (focusKey) [...this.list.querySelectorAll('button')].find((button) => keyOf(button) === focusKey)?.focus();
  }

  entry(group) {
    const item = document.createElement('li');
    item.className = 'history-item';
    item.dataset.first = String(group.members.at(-1).version);
    const button = this.entryButton(group, group.members.length > 1 ? `${group.members.length} edits` : null);
    button.dataset.version = String(group.version);
    item.append(button);
    if (group.members.length > 1) {
      const key = String(group.members.at(-1).version);
      const expanded = this.expanded.has(key);
      const toggle = document.createElement('button');
      toggle.type = 'button';
      toggle.name = 'expand';
      toggle.className = 'history-expand';
      toggle.dataset.group = key;
      toggle.setAttribute('aria-expanded', String(expanded));
      toggle.setAttribute('aria-label', `Show the ${group.members.length} versions of: ${group.summary}`);
      const members = document.createElement('ol');
      members.className = 'history-members';
      members.id = `history-members-${key}`;
      members.hidden = !expanded;
      toggle.setAttribute('aria-controls', members.id);
      members.append(...group.members.map((member) => {
        const memberItem = document.createElement('li');
        const memberButton = this.entryButton({ ...member, author: null }, null);
        // Not a [data-version]: the group's entry is the version tools and tests pick.
        memberButton.dataset.member = String(member.version);
        memberButton.classList.add('history-member');
        memberItem.append(memberButton);
        return memberItem;
      }));
      item.append(toggle, members);
    }
    return item;
  }

  entryButton({ version, time, summary, author }, count) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'history-entry';
    button.setAttribute('aria-pressed', String(this.selected === version));
    const text = document.createElement('span');
    text.className = 'history-summary';
    text.textContent = summary;
    const when = document.createElement('time');
    when.className = 'history-time';
    when.dateTime = new Date(time).toISOString();
    when.textContent = formatTime(time);
    const detail = document.createElement('span');
    detail.className = 'history-detail';
    const version_ = document.createElement('span');
    version_.className = 'history-version';
    version_.textContent = `v${version}`;
    detail.append(version_);
    for (const part of [author ? `by ${author}` : null, count]) {
      if (!part) continue;
      const span = document.createElement('span');
      span.className = part === count ? 'history-count' : 'history-who';
      span.textContent = part;
      detail.append(' · ', span);
    }
    button.append(text, when, detail);
    return button;
  }

  toggleGroup(toggle) {
    const key = toggle.dataset.group;
    const expanded = toggle.getAttribute('aria-expanded') !== 'true';
    if (expanded) this.expanded.add(key);
    else this.expanded.delete(key);
    toggle.setAttribute('aria-expanded', String(expanded));
    document.getElementById(toggle.getAttribute('aria-controls')).hidden = !expanded;
  }

  async select(version) {
    this.selected = version;
    for (const entry of this.list.querySelectorAll('[data-version], [data-member]')) {
      entry.setAttribute('aria-pressed', String(Number(entry.dataset.version ?? entry.dataset.member) === version));
    }
    let past;
    try {
      past = await this.api(`docs/${this.name}/state?version=${version}`);
    } catch (error) {
      this.notify(`Version ${version} could not be shown: ${error.message}`);
      return;
    }
    if (this.selected !== version) return;
    this.comparison = this.compare(past.state, this.current().document);
    this.renderPreview(version);
  }

  renderPreview(version) {
    $('#preview-title').textContent = `Version ${version}, as it was`;
    $('#preview-name').textContent = this.comparison.heading;
    const rows = this.comparison.rows.map((row) => {
      const item = document.createElement('li');
      item.className = `preview-row mark-${row.mark}`;
      const name = document.createElement('span');
      name.className = 'preview-row-name';
      name.textContent = row.name.trim() || 'untitled item';
      name.title = name.textContent;
      item.append(name);
      // What pressing Restore does to the row, in words (the colour only repeats it).
      const label = RESTORE_LABELS[row.mark];
      if (label) {
        const tag = document.createElement('span');
        tag.className = 'mark';
        tag.textContent = label;
        item.append(tag);
      }
      if (row.completed && row.mark !== 'new') item.classList.add('is-done');
      return item;
    });
    $('#preview-rows').replaceChildren(...rows);
    this.refreshRole();
    this.preview.hidden = false;
    this.preview.scrollIntoView({ block: 'nearest' });
  }

  confirmRestore() {
    if (this.selected === null) return;
    $('#confirm-title').textContent = `Restore version ${this.selected}?`;
    $('#confirm-text').textContent = restoreSummary(this.selected, this.comparison);
    this.dialog.showModal();
  }

  async performRestore() {
    const version = this.selected;
    this.dialog.close();
    try {
      const answer = await this.api(`docs/${this.name}/revert`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ version }),
      });
      this.notify(`Restored version ${version} as version ${answer.version}.`);
    } catch (error) {
      this.notify(`The restore failed: ${error.message}`);
    }
  }
}

/**
 * What a button in the list stands for, to find it again after the list is drawn anew: an
 * entry and its toggle by the entry's oldest version (its newest moves as edits join it).
 */
function keyOf(element) {
  const { member, version } = element.dataset ?? {};
  if (member) return `member:${member}`;
  const first = element.closest?.('li.history-item')?.dataset.first;
  if (!first) return null;
  return `${version ? 'entry' : 'toggle'}:${first}`;
}
