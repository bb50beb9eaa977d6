// Wires the shared Todo list to the page: server messages -> store -> DOM,
// and the person's input -> store -> actions on the WebSocket.

import { Changes, TodoStore, fieldKey } from './todo-store.js';
import { Connection, pageOptions, socketURL } from './connection.js';
import { DocumentsPanel } from './documents-panel.js';
import { HistoryPanel, callAPI } from './history-panel.js';

const $ = (selector) => document.querySelector(selector);

const elements = {
  card: $('.card'),
  loading: $('#loading'),
  loadingText: $('.loading-text'),
  list: $('#list'),
  listName: $('input[name=list-name]'),
  summary: $('#summary'),
  rows: $('#rows'),
  empty: $('#empty'),
  add: $('button[name=add]'),
  removeCompleted: $('button[name=remove-completed]'),
  status: $('[data-status]'),
  statusText: $('.status-text'),
  statusRetry: $('.status-retry'),
  toast: $('#toast'),
  stale: $('#stale'),
  rowTemplate: $('#row-template'),
};

const store = new TodoStore();
/** row index -> { element, check, name, remove, completed } for every row on the page */
const rowElements = new Map();
/** Rows on the page shown as done, for the summary. */
let doneShown = 0;
let connected = false;
/** Set when the server refuses edits from this session (a watch-only token). */
let watchOnly = false;
/** The shop-floor view (`&display`): large type, read-only, says when it is stale. */
const display = pageOptions(location.href).display;
const isEditable = () => connected && !watchOnly && !display;
/** True while an input method composes text; rewriting the field then would break the composition. */
let composing = false;
/** The element that had focus when the person asked for a new row; the row takes focus from it. */
let focusBeforeAdd = null;

const options = pageOptions(location.href);
const documentName = options.document ?? 'default';
const api = (path, init) => callAPI(location.href, options.token, path, init);
const historyPanel = new HistoryPanel({
  name: documentName,
  api,
  current: () => ({ version: store.version, document: store.document }),
  canRestore: () => store.role === 'editor' && !watchOnly && !display,
  notify: (text) => showToast(text),
});
new DocumentsPanel({ current: documentName, api });

const connection = new Connection({
  url: (since) => socketURL(location.href, since),
  resumeVersion: () => store.resumeVersion,
  onMessage: receive,
  onStatus: showStatus,
  onLost: () => render(store.connectionLost()),
});

function receive(message) {
  const result = store.receive(message);
  if (result.resync) {
    // Wrong data is worse than a reload: start over from a fresh Full.
    store.forgetVersion();
    connection.reconnectNow();
    return;
  }
  for (const action of result.send) send(action);
  if (result.error?.code === 'forbidden') {
    watchOnly = true;
    elements.statusText.textContent = 'Live · view only';
    showToast('You can follow this list but not change it.');
  } else if (result.error) {
    showToast(result.error.message);
  }
  render(result.changes);
  for (const index of result.addedByMe ?? []) focusNewRow(index);
  if (message.type === 'Full' || result.error?.code === 'forbidden') historyPanel.refreshRole();
  if (message.type === 'Patch' && typeof message.version === 'number' && store.version === message.version) {
    historyPanel.changed(typeof message.from === 'number' ? message.from : message.version - 1, message.version);
  }
}

// `action` is null when the edit waits behind one in flight; it goes out with the next.
// `changes` is what the edit shows at once (before the server answers).
function perform(action, changes = new Changes()) {
  if (action) send(action);
  render(changes);
}

function send(action) {
  if (!connection.send(action)) {
    render(store.connectionLost());
    showToast('You are offline; that change was not saved.');
  }
}

// ---- rendering ----

// Shows what `changes` names: a Patch touches only the rows it changed.
function render(changes) {
  elements.loading.hidden = store.loaded;
  elements.list.hidden = !store.loaded;
  elements.card.setAttribute('aria-busy', String(!store.loaded));
  if (!store.loaded) return;

  if (changes.all || changes.name) renderName();
  if (changes.all) renderAllRows();
  else for (const index of changes.rows) renderRow(index);

  elements.removeCompleted.hidden = doneShown === 0;
  elements.empty.hidden = rowElements.size > 0;
  elements.summary.textContent = summaryText(rowElements.size, doneShown);
  applyEditable();
}

function renderName() {
  const name = store.name;
  setFieldValue(elements.listName, name, fieldKey.listName);
  document.title = name.trim() ? `${name.trim()} · patchsync` : 'patchsync';
}

// After a Full: every row anew, reusing the elements of rows that stay.
function renderAllRows() {
  const { rows } = store.view();
  const shown = new Set();
  let previous = null;
  for (const row of rows) {
    shown.add(row.index);
    const parts = rowElements.get(row.index) ?? createRow(row.index);
    updateRow(parts, row);
    const expectedPosition = previous ? previous.nextElementSibling : elements.rows.firstElementChild;
    if (expectedPosition !== parts.element) elements.rows.insertBefore(parts.element, expectedPosition);
    previous = parts.element;
  }
  for (const index of rowElements.keys()) {
    if (!shown.has(index)) removeRow(index);
  }
}

// One row: updated where it is, inserted before the row that follows it, or removed.
function renderRow(index) {
  const row = store.row(index);
  if (row === null) {
    removeRow(index);
    return;
  }
  let parts = rowElements.get(index);
  if (!parts) {
    parts = createRow(index);
    const next = store.rowAfter(index);
    elements.rows.insertBefore(parts.element, next === null ? null : rowElements.get(next)?.element ?? null);
  }
  updateRow(parts, row);
}

function removeRow(index) {
  const parts = rowElements.get(index);
  if (!parts) return;
  if (parts.completed) doneShown -= 1;
  parts.element.remove();
  rowElements.delete(index);
}

function summaryText(total, done) {
  if (total === 0) return 'No items';
  const items = total === 1 ? '1 item' : `${total} items`;
  if (done === 0) return items;
  return done === total ? `${items} · all done` : `${items} · ${done} done`;
}

function createRow(index) {
  const element = elements.rowTemplate.content.firstElementChild.cloneNode(true);
  element.dataset.index = String(index);
  const [check, name, remove] = element.children;
  const parts = { element, check, name, remove, completed: false };
  setRowEditable(parts, isEditable());
  rowElements.set(index, parts);
  return parts;
}

function updateRow(parts, row) {
  const label = row.name.trim() || 'untitled item';
  setFieldValue(parts.name, row.name, fieldKey.rowName(row.index));
  if (parts.check.checked !== row.completed) parts.check.checked = row.completed;
  if (parts.completed !== row.completed) {
    doneShown += row.completed ? 1 : -1;
    parts.completed = row.completed;
    parts.element.classList.toggle('is-done', row.completed);
  }
  setLabel(parts.check, `Done: ${label}`);
  setLabel(parts.name, `Item ${row.index}`);
  setLabel(parts.remove, `Remove ${label}`);
}

function setLabel(element, text) {
  if (element.getAttribute('aria-label') !== text) element.setAttribute('aria-label', text);
}

// The field being typed in keeps its text while own edits are in flight;
// otherwise it follows the server, keeping the caret where it was.
function setFieldValue(input, value, key) {
  if (input.value === value) return;
  const focused = document.activeElement === input;
  if (focused && (composing || store.isPending(key))) return;
  if (!focused) {
    input.value = value;
    return;
  }
  const { selectionStart, selectionEnd } = input;
  input.value = value;
  input.setSelectionRange(Math.min(selectionStart, value.length), Math.min(selectionEnd, value.length));
}

// Visits every row, so only when editability flips (connecting, a watch-only answer).
let editableShown = null;
function applyEditable() {
  const editable = isEditable();
  if (editable === editableShown) return;
  editableShown = editable;
  elements.listName.readOnly = !editable;
  elements.add.disabled = !editable;
  elements.removeCompleted.disabled = !editable;
  for (const parts of rowElements.values()) setRowEditable(parts, editable);
}

function setRowEditable(parts, editable) {
  parts.name.readOnly = !editable;
  parts.check.disabled = !editable;
  parts.remove.disabled = !editable;
}

function focusNewRow(index) {
  const parts = rowElements.get(index);
  const active = document.activeElement;
  const untouched = active === focusBeforeAdd || active === document.body || active === null;
  focusBeforeAdd = null;
  if (parts && untouched) parts.name.focus();
}

// ---- connection status and messages ----

let countdown = null;
// After this long without a connection the display says its list may be out of date.
const STALE_AFTER_MS = 5000;
let staleTimer = null;
let lastLive = null;

function showStale(status) {
  if (status === 'connected') {
    clearTimeout(staleTimer);
    staleTimer = null;
    elements.stale.hidden = true;
    document.body.classList.remove('is-stale');
    return;
  }
  if (staleTimer !== null || !store.loaded) return;
  lastLive = new Date();
  staleTimer = setTimeout(() => {
    const time = lastLive.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    elements.stale.textContent = `Not live since ${time}: the list may be out of date. Reconnecting…`;
    elements.stale.hidden = false;
    document.body.classList.add('is-stale');
  }, STALE_AFTER_MS);
}

function showStatus(status, { retryAt } = {}) {
  showStale(status);
  elements.status.dataset.status = status;
  clearInterval(countdown);
  countdown = null;
  elements.statusRetry.textContent = '';
  connected = status === 'connected';
  if (status === 'connecting') {
    elements.statusText.textContent = store.loaded ? 'Reconnecting…' : 'Connecting…';
  } else if (status === 'connected') {
    elements.statusText.textContent = watchOnly ? 'Live · view only' : 'Live';
  } else {
    elements.statusText.textContent = 'Offline';
    // The countdown is for the eye only; screen readers hear "Offline" once.
    const tick = () => {
      const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
      elements.statusRetry.textContent = ` · retrying in ${seconds}s`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
  elements.loadingText.textContent = status === 'offline' ? 'Waiting for the server…' : 'Loading your list…';
  document.body.classList.toggle('is-offline', status !== 'connected' && store.loaded);
  if (store.loaded) applyEditable();
}

let toastTimer = null;

function showToast(text) {
  elements.toast.textContent = text;
  elements.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    elements.toast.hidden = true;
  }, 4000);
}

// ---- input ----

function rowOf(target) {
  const element = target.closest('[data-index]');
  return element ? Number(element.dataset.index) : null;
}

elements.listName.addEventListener('input', () => {
  perform(store.changeName(elements.listName.value), new Changes({ name: true }));
});

elements.listName.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.isComposing) return;
  event.preventDefault();
  const first = elements.rows.querySelector('input[type=text]');
  if (first) first.focus();
  else addRow();
});

function addRow() {
  focusBeforeAdd = document.activeElement;
  perform(store.addRow());
}

elements.add.addEventListener('click', addRow);

elements.removeCompleted.addEventListener('click', () => {
  perform(store.removeCompleted());
  elements.add.focus();
});

elements.rows.addEventListener('input', (event) => {
  const index = rowOf(event.target);
  if (index === null || event.target.type !== 'text') return;
  perform(store.updateRow(index, { name: event.target.value }), new Changes({ rows: [index] }));
});

elements.rows.addEventListener('change', (event) => {
  const index = rowOf(event.target);
  if (index === null || event.target.type !== 'checkbox') return;
  perform(store.updateRow(index, { completed: event.target.checked }), new Changes({ rows: [index] }));
});

elements.rows.addEventListener('click', (event) => {
  const button = event.target.closest('button[name=remove]');
  if (!button) return;
  const index = rowOf(button);
  if (index === null) return;
  // Keep keyboard users in the list: focus moves to the neighbouring row.
  const row = button.closest('[data-index]');
  const neighbour = row.nextElementSibling ?? row.previousElementSibling;
  perform(store.removeRow(index), new Changes({ rows: [index] }));
  const target = neighbour?.isConnected ? neighbour.querySelector('button[name=remove]') : elements.add;
  target.focus();
});

elements.rows.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.isComposing || event.target.type !== 'text') return;
  event.preventDefault();
  addRow();
});

document.addEventListener('compositionstart', () => {
  composing = true;
});
document.addEventListener('compositionend', () => {
  composing = false;
});
window.addEventListener('online', () => connection.retrySoon());

document.body.classList.toggle('is-display', display);
render(new Changes());
const { problem } = options;
if (problem) {
  elements.status.dataset.status = 'offline';
  elements.statusText.textContent = 'Not connected';
  elements.loadingText.textContent = problem;
} else {
  connection.start();
}
