// Wires the shared Todo list to the page: server messages -> store -> DOM,
// and the person's input -> store -> actions on the WebSocket.

import { TodoStore, fieldKey } from './todo-store.js';
import { Connection, pageOptions, socketURL } from './connection.js';

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
  rowTemplate: $('#row-template'),
};

const store = new TodoStore();
/** row index -> { element, check, name, remove } */
const rowElements = new Map();
let connected = false;
/** Set when the server refuses edits from this session (a watch-only token). */
let watchOnly = false;
const isEditable = () => connected && !watchOnly;
/** True while an input method composes text; rewriting the field then would break the composition. */
let composing = false;
/** The element that had focus when the person asked for a new row; the row takes focus from it. */
let focusBeforeAdd = null;

const connection = new Connection({
  url: (since) => socketURL(location.href, since),
  resumeVersion: () => store.resumeVersion,
  onMessage: receive,
  onStatus: showStatus,
  onLost: () => {
    store.connectionLost();
    render();
  },
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
  if (result.changed) render();
  for (const index of result.addedByMe ?? []) focusNewRow(index);
}

// `action` is null when the edit waits behind one in flight; it goes out with the next.
function perform(action) {
  if (action) send(action);
  render();
}

function send(action) {
  if (!connection.send(action)) {
    store.connectionLost();
    showToast('You are offline; that change was not saved.');
  }
}

// ---- rendering ----

function render() {
  elements.loading.hidden = store.loaded;
  elements.list.hidden = !store.loaded;
  elements.card.setAttribute('aria-busy', String(!store.loaded));
  if (!store.loaded) return;

  const view = store.view();
  setFieldValue(elements.listName, view.name, fieldKey.listName);
  document.title = view.name.trim() ? `${view.name.trim()} · patchsync` : 'patchsync';

  const shown = new Set();
  let previous = null;
  for (const row of view.rows) {
    shown.add(row.index);
    const parts = rowElements.get(row.index) ?? createRow(row.index);
    updateRow(parts, row);
    const expectedPosition = previous ? previous.nextElementSibling : elements.rows.firstElementChild;
    if (expectedPosition !== parts.element) elements.rows.insertBefore(parts.element, expectedPosition);
    previous = parts.element;
  }
  for (const [index, parts] of rowElements) {
    if (!shown.has(index)) {
      parts.element.remove();
      rowElements.delete(index);
    }
  }

  const done = view.rows.filter((row) => row.completed).length;
  elements.removeCompleted.hidden = done === 0;
  elements.empty.hidden = view.rows.length > 0;
  elements.summary.textContent = summaryText(view.rows.length, done);
  applyEditable();
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
  const parts = {
    element,
    check: element.querySelector('input[type=checkbox]'),
    name: element.querySelector('input[type=text]'),
    remove: element.querySelector('button[name=remove]'),
  };
  rowElements.set(index, parts);
  return parts;
}

function updateRow(parts, row) {
  const label = row.name.trim() || 'untitled item';
  setFieldValue(parts.name, row.name, fieldKey.rowName(row.index));
  if (parts.check.checked !== row.completed) parts.check.checked = row.completed;
  parts.element.classList.toggle('is-done', row.completed);
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

function applyEditable() {
  const editable = isEditable();
  elements.listName.readOnly = !editable;
  elements.add.disabled = !editable;
  elements.removeCompleted.disabled = !editable;
  for (const parts of rowElements.values()) {
    parts.name.readOnly = !editable;
    parts.check.disabled = !editable;
    parts.remove.disabled = !editable;
  }
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

function showStatus(status, { retryAt } = {}) {
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
  perform(store.changeName(elements.listName.value));
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
  perform(store.updateRow(index, { name: event.target.value }));
});

elements.rows.addEventListener('change', (event) => {
  const index = rowOf(event.target);
  if (index === null || event.target.type !== 'checkbox') return;
  perform(store.updateRow(index, { completed: event.target.checked }));
});

elements.rows.addEventListener('click', (event) => {
  const button = event.target.closest('button[name=remove]');
  if (!button) return;
  const index = rowOf(button);
  if (index === null) return;
  // Keep keyboard users in the list: focus moves to the neighbouring row.
  const row = button.closest('[data-index]');
  const neighbour = row.nextElementSibling ?? row.previousElementSibling;
  perform(store.removeRow(index));
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

render();
const { problem } = pageOptions(location.href);
if (problem) {
  elements.status.dataset.status = 'offline';
  elements.statusText.textContent = 'Not connected';
  elements.loadingText.textContent = problem;
} else {
  connection.start();
}
