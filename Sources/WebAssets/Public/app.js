// The Todo list's page: the list's rendering and its edits. Connection, outbox, presence, panels
// and status are the page controller's (page-controller.js), shared with the declared types' form.

import { Changes, TodoStore, fieldKey } from './todo-store.js';
import { randomId } from './patchsync.js';
import { PageController } from './page-controller.js';
import { NAME_POINTER, rowPointer } from './presence.js';
import { EditingMarks } from './editing-marks.js';

const $ = (selector) => document.querySelector(selector);

const elements = {
  card: $('.card'),
  loading: $('#loading'),
  list: $('#list'),
  listName: $('input[name=list-name]'),
  summary: $('#summary'),
  rows: $('#rows'),
  empty: $('#empty'),
  add: $('button[name=add]'),
  removeCompleted: $('button[name=remove-completed]'),
  status: $('[data-status]'),
  rowTemplate: $('#row-template'),
};

const page = await PageController.open({ noun: 'list' });
const { options, outbox } = page;
const store = new TodoStore({ makeId: randomId });
store.restorePending(outbox.actions, outbox.queued);

/** row index -> { element, check, name, remove, completed } for every row on the page */
const rowElements = new Map();
/** Rows on the page shown as done, for the summary. */
let doneShown = 0;
/** True while an input method composes text; rewriting the field then would break the composition. */
let composing = false;
/** The element that had focus when the person asked for a new row; the row takes focus from it. */
let focusBeforeAdd = null;

const marks = new EditingMarks({ presence: page.presence, listName: elements.listName, rowParts: (index) => rowElements.get(index) });

function showPresence(changed) {
  marks.show(changed);
}

// What this page is editing, as a JSON Pointer, from where the keyboard focus is.
function focusedPointer() {
  const active = document.activeElement;
  if (active === elements.listName) return NAME_POINTER;
  const index = active && elements.rows.contains(active) ? rowOf(active) : null;
  return index === null ? null : rowPointer(index);
}

// The store's answer to a server message: its follow-up actions go out, the rows it changed
// are drawn again.
function receive(message) {
  const result = store.receive(message);
  if (result.resync) return { resync: true };
  const answered = message.type === 'Ack' || message.type === 'Error';
  for (const action of result.send) page.send(action);
  if (answered) outbox.setQueued(store.queuedValues());
  if (result.error && result.error.code !== 'forbidden') page.toast(result.error.message);
  render(result.changes);
  for (const index of result.addedByMe ?? []) focusNewRow(index);
  return {};
}

// `action` is null when the edit waits behind one in flight; it goes out with the next.
// `changes` is what the edit shows at once (before the server answers).
function perform(action, changes = new Changes()) {
  if (action) page.send(action);
  outbox.setQueued(store.queuedValues());
  page.showUnsaved();
  render(changes);
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
  page.showEditable();
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
  setRowEditable(parts, page.editable);
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

// Visits every row, so only when editability flips (connecting, a view-only answer).
function showEditable(editable) {
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

// ---- a list that cannot be opened ----

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

document.addEventListener('compositionstart', () => {
  composing = true;
});
document.addEventListener('compositionend', () => {
  composing = false;
});

render(new Changes());
if (options.problem) showProblem(options.problem);
page.run({
  loaded: () => store.loaded,
  version: () => store.resumeVersion,
  forgetVersion: () => store.forgetVersion(),
  state: () => store.document,
  receive,
  showPresence,
  focusedPointer,
  showEditable,
  queuedCount: () => store.queuedCount,
});
