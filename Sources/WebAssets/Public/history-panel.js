// The history panel: the document's changes newest first, a page at a time; new ones as
// Patches arrive; a past version previewed against now; restore after a confirmation.

import { apiURL, author, compareStates, restoreSummary, summarize } from './history.js';
import { Panel } from './panel.js';

const PAGE_SIZE = 20;
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
  if (!response.ok) throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
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
   */
  constructor({ name, api, current, canRestore, notify }) {
    super('history');
    Object.assign(this, { name, api, current, canRestore, notify });
    this.list = $('[data-history]');
    this.note = $('#history-note');
    this.older = $('button[name=older]');
    this.preview = $('#preview');
    this.restore = $('button[name=restore]');
    this.dialog = $('#confirm-restore-dialog');
    this.shown = new Set();
    this.oldest = null;
    this.selected = null;

    this.older.addEventListener('click', () => this.loadOlder());
    this.list.addEventListener('click', (event) => {
      const entry = event.target.closest('[data-version]');
      if (entry) this.select(Number(entry.dataset.version));
    });
    this.restore.addEventListener('click', () => this.confirmRestore());
    $('button[name=cancel-restore]').addEventListener('click', () => this.dialog.close());
    $('button[name=confirm-restore]').addEventListener('click', () => this.performRestore());
  }

  async open() {
    super.open();
    this.refreshRole();
    this.list.replaceChildren();
    this.shown.clear();
    this.oldest = null;
    const { version } = this.current();
    if (!version) {
      this.note.textContent = 'No changes yet.';
      return;
    }
    const since = Math.max(0, version - PAGE_SIZE);
    await this.load(since, version - since, 'append');
    this.list.querySelector('[data-version]')?.focus();
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

  /** A Patch from `from` to `version` arrived: its events join the top of the list. */
  changed(from, version) {
    if (this.isOpen && this.oldest !== null && version > from) this.load(from, version - from, 'prepend');
    else if (this.isOpen && this.oldest === null) this.open();
  }

  async loadOlder() {
    if (this.oldest === null || this.oldest <= 1) return;
    const since = Math.max(0, this.oldest - 1 - PAGE_SIZE);
    await this.load(since, this.oldest - 1 - since, 'append');
  }

  async load(since, limit, where) {
    let events;
    try {
      ({ events } = await this.api(`docs/${this.name}/history?since=${since}&limit=${limit}`));
    } catch (error) {
      this.note.textContent = `The history could not be loaded: ${error.message}`;
      return;
    }
    const fresh = events.filter((event) => !this.shown.has(event.version)).reverse();
    const items = fresh.map((event) => this.entry(event));
    if (where === 'prepend') this.list.prepend(...items);
    else this.list.append(...items);
    for (const event of fresh) this.shown.add(event.version);
    if (where === 'append' || this.oldest === null) {
      const oldestLoaded = events.length > 0 ? events[0].version : since + 1;
      this.oldest = this.oldest === null ? oldestLoaded : Math.min(this.oldest, oldestLoaded);
      // The log keeps the newest events; before them there is nothing to page to.
      this.older.hidden = events.length === 0 || this.oldest <= 1 || events.length < limit;
    }
    this.note.textContent = this.shown.size === 0 ? 'No changes kept in the history.' : '';
  }

  entry(event) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'history-entry';
    button.dataset.version = String(event.version);
    button.setAttribute('aria-pressed', String(this.selected === event.version));
    const version = document.createElement('span');
    version.className = 'history-version';
    version.textContent = `v${event.version}`;
    const summary = document.createElement('span');
    summary.className = 'history-summary';
    summary.textContent = summarize(event);
    const time = document.createElement('time');
    time.className = 'history-time';
    time.dateTime = new Date(event.time).toISOString();
    time.textContent = formatTime(event.time);
    button.append(version, summary, time);
    const who = author(event);
    if (who) {
      const by = document.createElement('span');
      by.className = 'history-who';
      by.textContent = `by ${who}`;
      button.append(by);
    }
    item.append(button);
    return item;
  }

  async select(version) {
    this.selected = version;
    for (const entry of this.list.querySelectorAll('[data-version]')) {
      entry.setAttribute('aria-pressed', String(Number(entry.dataset.version) === version));
    }
    let past;
    try {
      past = await this.api(`docs/${this.name}/state?version=${version}`);
    } catch (error) {
      this.notify(`Version ${version} could not be shown: ${error.message}`);
      return;
    }
    if (this.selected !== version) return;
    this.comparison = compareStates(past.state, this.current().document);
    this.pastName = String(past.state?.name ?? '');
    this.renderPreview(version);
  }

  renderPreview(version) {
    $('#preview-title').textContent = `Version ${version}, as it was`;
    $('#preview-name').textContent = this.pastName.trim() ? `List name: ${this.pastName}` : 'The list had no name.';
    const rows = this.comparison.rows.map((row) => {
      const item = document.createElement('li');
      item.className = `preview-row mark-${row.mark}`;
      const name = document.createElement('span');
      name.className = 'preview-row-name';
      name.textContent = row.name.trim() || 'untitled item';
      item.append(name);
      const note = { gone: 'removed since', changed: 'changed since', new: 'added since' }[row.mark];
      if (note) {
        const tag = document.createElement('span');
        tag.className = 'mark';
        tag.textContent = note;
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
