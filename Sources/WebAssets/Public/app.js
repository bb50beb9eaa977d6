// Wires the shared Todo list to the page: server messages -> store -> DOM,
// and the person's input -> store -> outbox -> actions on the WebSocket.

import { Changes, TodoStore, fieldKey } from './todo-store.js';
import { pageOptions, socketURL } from './connection.js';
import { isTokenExpiry, showTokenExpired } from './refusals.js';
import { Connection, Outbox, randomId } from './patchsync.js';
import { DocumentsPanel } from './documents-panel.js';
import { HistoryPanel, callAPI } from './history-panel.js';
import { tabClient } from './tab-client.js';
import { FocusSender, NAME_POINTER, Presence, helloName, rowPointer } from './presence.js';
import { PeoplePanel } from './people-panel.js';
import { EditingMarks } from './editing-marks.js';

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
  unsaved: $('#unsaved'),
  toast: $('#toast'),
  stale: $('#stale'),
  rowTemplate: $('#row-template'),
};

/** The tab's sessionStorage and the browser's localStorage; null where the browser refuses them. */
const storageOf = (get) => {
  try {
    return get();
  } catch {
    return null;
  }
};
const tabStorage = storageOf(() => sessionStorage);
const browserStorage = storageOf(() => localStorage);

const options = pageOptions(location.href);
const documentName = options.document ?? 'default';
const { id: clientId, duplicated } = await tabClient({ storage: tabStorage, makeId: randomId, page: window });
const outbox = new Outbox({ storage: tabStorage, key: `patchsync:outbox:${documentName}` });
// A duplicated tab's copied outbox belongs to the tab it was copied from, which sends it.
if (duplicated) outbox.clear();
const store = new TodoStore({ makeId: randomId });
store.restorePending(outbox.actions, outbox.queued);
/** True once this connection has resent the outbox and said Hello; until then new actions wait in the outbox. */
let ready = false;

/** row index -> { element, check, name, remove, completed } for every row on the page */
const rowElements = new Map();
/** Rows on the page shown as done, for the summary. */
let doneShown = 0;
let connected = false;
/** Set when the server refuses edits from this session (a watch-only token). */
let watchOnly = false;
/** The shop-floor view (`&display`): large type, read-only, says when it is stale. */
const display = options.display;
// Offline edits wait in the outbox.
const isEditable = () => !watchOnly && !display;
/** True while an input method composes text; rewriting the field then would break the composition. */
let composing = false;
/** The element that had focus when the person asked for a new row; the row takes focus from it. */
let focusBeforeAdd = null;

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
  url: (since) => socketURL(location.href, since, clientId),
  resumeVersion: () => store.resumeVersion,
  onMessage: receive,
  onStatus: showStatus,
  onLost: () => {
    ready = false;
    showPresence(presence.clear());
    showUnsaved();
  },
  onRefused: (event) => {
    if (!isTokenExpiry(event)) return false;
    showTokenExpired();
    return true;
  },
});

// ---- presence: who is here, and which row they edit ----

const NAME_KEY = 'patchsync:name';
const presence = new Presence({ client: clientId });
// Without a chosen name, a "Guest" number kept for this browser.
function ownName() {
  const saved = storageOf(() => browserStorage.getItem(NAME_KEY));
  if (saved) return helloName(saved, 'Guest');
  const name = `Guest ${100 + Math.floor(Math.random() * 900)}`;
  storageOf(() => browserStorage.setItem(NAME_KEY, name));
  return name;
}
const takesPart = () => ready && !display;
const focusSender = new FocusSender({
  send: (focus) => takesPart() && connection.send({ type: 'Focus', focus }),
});
const marks = new EditingMarks({ presence, listName: elements.listName, rowParts: (index) => rowElements.get(index) });
const people = new PeoplePanel({
  presence,
  ownName,
  rename: (name) => {
    const chosen = helloName(name, ownName());
    storageOf(() => browserStorage.setItem(NAME_KEY, chosen));
    if (takesPart()) connection.send({ type: 'Hello', name: chosen });
  },
});

function showPresence(changed) {
  if (changed.people) people.render();
  marks.show(changed);
}

// What this page is editing, as a JSON Pointer, from where the keyboard focus is.
function focusedPointer() {
  const active = document.activeElement;
  if (active === elements.listName) return NAME_POINTER;
  const index = active && elements.rows.contains(active) ? rowOf(active) : null;
  return index === null ? null : rowPointer(index);
}

// ---- the outbox: own actions until the server answers them ----

// Once per connection, when the page holds the state: the outbox goes out again, in
// order and with the original ids (the server applies each at most once), then Hello.
function connectionReady() {
  if (ready || !connected || !store.loaded) return;
  ready = true;
  outbox.takeRetries(); // the whole outbox goes out now
  for (const action of outbox.actions) connection.send(action);
  if (!display) {
    connection.send({ type: 'Hello', name: ownName() });
    people.enable();
    focusSender.reconnected();
  }
  showUnsaved();
}

// Shown at once while offline; while connected only once an answer is slow in coming,
// so that fast typing does not make it flicker.
const UNSAVED_AFTER_MS = 1500;
let unsavedSince = null;
let unsavedTimer = null;
// Runs on every keystroke and answer: it touches the DOM and the timer only when they change.
let unsavedTimerFor = null;
function showUnsaved() {
  const count = outbox.size + store.queuedCount;
  unsavedSince = count === 0 ? null : unsavedSince ?? Date.now();
  const overdue = unsavedSince !== null && Date.now() - unsavedSince >= UNSAVED_AFTER_MS;
  const hidden = count === 0 || (connected && !overdue);
  const text = count === 1 ? '1 change not saved yet' : `${count} changes not saved yet`;
  if (elements.unsaved.textContent !== text) {
    elements.unsaved.dataset.unsaved = String(count);
    elements.unsaved.textContent = text;
  }
  if (elements.unsaved.hidden !== hidden) elements.unsaved.hidden = hidden;
  // A timer still due at the same moment stays; it shows the count if the answers are late.
  const due = hidden && count > 0 ? unsavedSince + UNSAVED_AFTER_MS : null;
  if (due === unsavedTimerFor) return;
  clearTimeout(unsavedTimer);
  unsavedTimerFor = due;
  unsavedTimer = due === null ? null : setTimeout(() => {
    unsavedTimerFor = null;
    showUnsaved();
  }, due - Date.now());
}

// Refusals a retry may cure leave the action in the outbox, unanswered; it goes out again
// with its id after a pause that doubles while they last.
const RETRY_FIRST_MS = 500;
const RETRY_LONGEST_MS = 8000;
let retryDelay = RETRY_FIRST_MS;
let retryTimer = null;
function scheduleRetry() {
  if (retryTimer !== null) return;
  if (retryDelay === RETRY_FIRST_MS) showToast('Not saved yet: the server cannot take changes right now. Trying again.');
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (ready) for (const action of outbox.takeRetries()) connection.send(action);
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, RETRY_LONGEST_MS);
}

function receive(message) {
  const changed = presence.receive(message);
  if (changed) {
    showPresence(changed);
    return;
  }
  if (message.type === 'Error' && outbox.retryLater(message)) {
    scheduleRetry();
    showUnsaved();
    return;
  }
  if (message.type === 'Ack') retryDelay = RETRY_FIRST_MS;
  const result = store.receive(message);
  if (result.resync) {
    // Wrong data is worse than a reload: start over from a fresh Full.
    store.forgetVersion();
    connection.reconnectNow();
    return;
  }
  const answered = message.type === 'Ack' || message.type === 'Error';
  if (answered) outbox.settle(message.id);
  for (const action of result.send) send(action);
  if (answered) {
    outbox.setQueued(store.queuedValues());
    showUnsaved();
  }
  if (message.type === 'Full' && store.role === 'viewer' && !watchOnly) {
    // A read-only token: say so before the first edit is refused.
    watchOnly = true;
    elements.statusText.textContent = 'Live · view only';
    if (store.loaded) applyEditable();
  }
  if (result.error?.code === 'forbidden') {
    watchOnly = true;
    elements.statusText.textContent = 'Live · view only';
    showToast('You can follow this list but not change it.');
  } else if (result.error) {
    showToast(result.error.message);
  }
  render(result.changes);
  for (const index of result.addedByMe ?? []) focusNewRow(index);
  if (message.type === 'Full') connectionReady();
  if (message.type === 'Full' || result.error?.code === 'forbidden') historyPanel.refreshRole();
  if (message.type === 'Patch' && typeof message.version === 'number' && store.version === message.version) {
    historyPanel.changed(typeof message.from === 'number' ? message.from : message.version - 1, message.version);
  }
}

// `action` is null when the edit waits behind one in flight; it goes out with the next.
// `changes` is what the edit shows at once (before the server answers).
function perform(action, changes = new Changes()) {
  if (action) send(action);
  outbox.setQueued(store.queuedValues());
  showUnsaved();
  render(changes);
}

// Into the outbox, and out at once when the connection is ready; otherwise it goes
// when the page reconnects.
function send(action) {
  outbox.add(action);
  if (ready) connection.send(action);
}

// ---- rendering ----

// Shows what `changes` names: a Patch touches only the rows it changed.
function render(changes) {
  if (elements.list.hidden === store.loaded) {
    elements.loading.hidden = store.loaded;
    elements.list.hidden = !store.loaded;
    elements.card.setAttribute('aria-busy', String(!store.loaded));
  }
  if (!store.loaded) return;

  if (changes.all || changes.name) {
    renderName();
    marks.markListName();
  }
  if (changes.all) renderAllRows();
  // Last row first: a new row goes before the row after it, which is then on the page already.
  else for (const index of [...changes.rows].sort((a, b) => b - a)) renderRow(index);
  tidyChunks();

  elements.removeCompleted.hidden = doneShown === 0;
  elements.empty.hidden = rowElements.size > 0;
  elements.rows.hidden = rowElements.size === 0;
  const summary = summaryText(rowElements.size, doneShown);
  if (elements.summary.textContent !== summary) elements.summary.textContent = summary;
  applyEditable();
}

function renderName() {
  const name = store.name;
  setFieldValue(elements.listName, name, fieldKey.listName);
  if (elements.listName.title !== name) elements.listName.title = name; // the whole name where it is cut
  const title = name.trim() ? `${name.trim()} · patchsync` : 'patchsync';
  if (document.title !== title) document.title = title;
}

// After a Full: rows gone are removed, new ones inserted in order, every row updated. Rows are
// ordered by index, so the elements that stay are already in order and are never moved (a move
// would take the keyboard focus away).
function renderAllRows() {
  const { rows } = store.view();
  if (rowElements.size === 0) {
    fillRows(rows);
    return;
  }
  const shown = new Set(rows.map((row) => row.index));
  for (const index of [...rowElements.keys()]) {
    if (!shown.has(index)) removeRow(index);
  }
  let following = null;
  for (let at = rows.length - 1; at >= 0; at -= 1) {
    let parts = rowElements.get(rows[at].index);
    if (!parts) {
      parts = createRow(rows[at].index);
      placeRow(parts.element, following);
    }
    updateRow(parts, rows[at]);
    following = parts.element;
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
    placeRow(parts.element, next === null ? null : rowElements.get(next)?.element ?? null);
  }
  updateRow(parts, row);
}

function removeRow(index) {
  const parts = rowElements.get(index);
  if (!parts) return;
  if (parts.completed) doneShown -= 1;
  marks.forget(index);
  touchedChunks.add(parts.element.parentElement);
  parts.element.remove();
  rowElements.delete(index);
}

// ---- rows in chunks ----

// The rows sit in chunks of about ROWS_PER_CHUNK, so that what the browser does per frame or
// per keystroke counts chunks, or the rows of one chunk, not the rows of the list:
// - a chunk off screen skips style, layout and paint (`content-visibility: auto` in style.css),
//   so each frame checks which chunks are on screen, hit-tests and paints chunks (with the
//   property on each row, every frame on a 10,000-row list cost 30-50 ms);
// - a chunk is a form (role none, never submitted), so Chromium's autofill, which reads the
//   whole form of a field on every keystroke, reads one chunk: fields outside any form are one
//   form to it, 10-30 ms a keystroke for 10,000 rows;
// - the form says autocomplete="off", so the browser does not keep the checkboxes' state for
//   the session history: it serialised 10,000 of them (1.6 MB) a second after each change.
// Every row stays in the page: find-in-page, the tab order and screen readers see the whole list.
const ROWS_PER_CHUNK = 100;
/** Chunks whose rows changed since the last `tidyChunks`. */
const touchedChunks = new Set();

// A chunk's row count sizes it while it is off screen and has never been shown.
function sizeChunk(chunk) {
  chunk.style.setProperty('--rows', String(chunk.childElementCount));
}

function newChunk() {
  const chunk = document.createElement('form');
  chunk.className = 'rows-chunk';
  chunk.setAttribute('role', 'none');
  chunk.autocomplete = 'off';
  return chunk;
}

// An empty list (the first Full) filled chunk by chunk, each chunk's rows in one insertion:
// form controls inserted into a form one at a time cost about twice as much (0.2 s more for
// 10,000 rows).
function fillRows(rows) {
  for (let at = 0; at < rows.length; at += ROWS_PER_CHUNK) {
    const chunk = elements.rows.appendChild(newChunk());
    const fragment = document.createDocumentFragment();
    for (const row of rows.slice(at, at + ROWS_PER_CHUNK)) {
      const parts = createRow(row.index);
      updateRow(parts, row);
      fragment.append(parts.element);
    }
    chunk.append(fragment);
    sizeChunk(chunk);
  }
}

// Before the row element `following` (null: at the end of the list). A row that would start a
// full chunk starts a new one instead, so a list filled from its end fills whole chunks.
function placeRow(element, following) {
  let chunk = following?.parentElement ?? elements.rows.lastElementChild;
  if (!chunk || (chunk.childElementCount >= ROWS_PER_CHUNK && (following === null || following === chunk.firstElementChild))) {
    const fresh = newChunk();
    elements.rows.insertBefore(fresh, following === null ? null : chunk);
    chunk = fresh;
    following = null;
  }
  chunk.insertBefore(element, following);
  touchedChunks.add(chunk);
}

// Empty chunks go; one grown past twice the size (rows inserted in its middle) is split.
function tidyChunks() {
  for (const chunk of touchedChunks) {
    if (!chunk.isConnected) continue;
    if (chunk.childElementCount === 0) chunk.remove();
    else if (chunk.childElementCount > 2 * ROWS_PER_CHUNK) splitChunk(chunk);
    else sizeChunk(chunk);
  }
  touchedChunks.clear();
}

function splitChunk(chunk) {
  const active = document.activeElement;
  const rows = [...chunk.children];
  let last = chunk;
  for (let at = ROWS_PER_CHUNK; at < rows.length; at += ROWS_PER_CHUNK) {
    const piece = newChunk();
    piece.append(...rows.slice(at, at + ROWS_PER_CHUNK));
    sizeChunk(piece);
    last.after(piece);
    last = piece;
  }
  sizeChunk(chunk);
  // Moving an element takes the focus from it.
  if (active !== document.activeElement && active?.isConnected) active.focus({ preventScroll: true });
}

/** The row element after (or before) `row` in the list, across chunks; null at the end. */
function rowBeside(row, after) {
  const sibling = after ? row.nextElementSibling : row.previousElementSibling;
  if (sibling) return sibling;
  const chunk = after ? row.parentElement.nextElementSibling : row.parentElement.previousElementSibling;
  return (after ? chunk?.firstElementChild : chunk?.lastElementChild) ?? null;
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
  marks.markRow(parts, index);
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

// A list that cannot be opened (a bad `?doc=` name): one explanation in place of the list,
// no skeleton and no connection status, since nothing connects; "Lists" still opens another.
function showProblem(text) {
  elements.loading.hidden = true;
  elements.card.setAttribute('aria-busy', 'false');
  elements.status.hidden = true;
  $('button[name=history]').hidden = true;
  $('#problem-text').textContent = text;
  $('#problem').hidden = false;
}

function showStatus(status, { retryAt } = {}) {
  showStale(status);
  elements.status.dataset.status = status;
  clearInterval(countdown);
  countdown = null;
  elements.statusRetry.textContent = '';
  connected = status === 'connected';
  connectionReady();
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
  showUnsaved();
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
  const neighbour = rowBeside(row, true) ?? rowBeside(row, false);
  perform(store.removeRow(index), new Changes({ rows: [index] }));
  const target = neighbour?.isConnected ? neighbour.querySelector('button[name=remove]') : elements.add;
  target.focus();
});

// Enter in a chunk's only text field would submit its form.
elements.rows.addEventListener('submit', (event) => event.preventDefault());

elements.rows.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.isComposing || event.target.type !== 'text') return;
  event.preventDefault();
  addRow();
});

// Focus moves synchronously between fields; the pointer is read once the move is over.
const followFocus = () => queueMicrotask(() => focusSender.set(focusedPointer()));
document.addEventListener('focusin', followFocus);
document.addEventListener('focusout', followFocus);

document.addEventListener('compositionstart', () => {
  composing = true;
});
document.addEventListener('compositionend', () => {
  composing = false;
});
window.addEventListener('online', () => connection.retrySoon());
// A page left for another keeps no session (others would see it as still here);
// one restored from the back/forward cache connects again and resumes.
window.addEventListener('pagehide', () => connection.stop());
window.addEventListener('pageshow', (event) => {
  if (event.persisted && !options.problem) connection.start();
});

document.body.classList.toggle('is-display', display);
render(new Changes());
const { problem } = options;
if (problem) {
  showProblem(problem);
} else {
  connection.start();
}
