// The document's history as the operator reads it: one-line summaries of logged events,
// the HTTP API next to the page (under any proxy prefix), and what a restore would change.

import { parsePointer } from './jsonpatch.js';

const quoted = (text) => `'${String(text ?? '').trim() || 'untitled item'}'`;

function rowOps(ops, field) {
  return (Array.isArray(ops) ? ops : []).filter((op) => {
    const tokens = typeof op?.path === 'string' && op.path.startsWith('/') ? parsePointer(op.path) : [];
    return tokens[0] === 'todos' && (field === null ? tokens.length === 2 : tokens[2] === field);
  });
}

/**
 * A one-line human summary of one history event ({version, time, action, ops}).
 * @returns {string}
 */
export function summarize(event) {
  const action = event?.action ?? {};
  const ops = Array.isArray(event?.ops) ? event.ops : [];
  switch (action.type) {
    case 'Add':
      return `added ${quoted(action.row?.name)}`;
    case 'ChangeName':
      return String(action.name ?? '').trim() ? `renamed the list to ${quoted(action.name)}` : 'cleared the list name';
    case 'Update': {
      if (rowOps(ops, null).some((op) => op.op === 'add')) return `added ${quoted(action.row?.name)}`;
      const ticked = rowOps(ops, 'completed').find((op) => op.op === 'replace');
      if (ticked) return `${ticked.value ? 'completed' : 'reopened'} ${quoted(action.row?.name)}`;
      return `renamed an item to ${quoted(action.row?.name)}`;
    }
    case 'Remove':
      return `removed item ${action.index}`;
    case 'RemoveCompleted': {
      const count = rowOps(ops, null).filter((op) => op.op === 'remove').length;
      return `removed ${count} completed ${count === 1 ? 'item' : 'items'}`;
    }
    case 'Revert':
      return `restored version ${action.version}`;
    default:
      return `changed ${ops.length} ${ops.length === 1 ? 'value' : 'values'}`;
  }
}

/** Who made the change, when the event records it (the name a client gave in its Hello). */
export function author(event) {
  const name = event?.name;
  return typeof name === 'string' && name.trim() ? name.trim() : null;
}

/**
 * The API URL for `path` ("docs", "docs/line-3/history?since=4") next to the page, so
 * "/todo/" asks "/todo/api/...".
 */
export function apiURL(pageHref, path) {
  const url = new URL(`api/${path}`, pageHref);
  url.hash = '';
  return url.href;
}

const rowsOf = (todo) => (todo && typeof todo.todos === 'object' && todo.todos !== null ? todo.todos : {});
const sameRow = (a, b) => String(a?.name ?? '') === String(b?.name ?? '') && Boolean(a?.completed) === Boolean(b?.completed);

/**
 * What differs between a past state and the current one, row by row.
 * @returns {{ rows: { index: number, name: string, completed: boolean, mark: 'same' | 'changed' | 'gone' | 'new' }[],
 *   renamed: boolean, counts: { back: number, drop: number, change: number } }}
 *   `mark`: how the row in the past differs from now ('gone': removed since; 'new': added since,
 *   so restoring drops it); `counts`: what a restore would do.
 */
export function compareStates(past, now) {
  const then = rowsOf(past);
  const current = rowsOf(now);
  const indices = new Set([...Object.keys(then), ...Object.keys(current)].filter((key) => /^\d+$/.test(key)));
  const rows = [...indices].map(Number).sort((a, b) => a - b).map((index) => {
    const old = then[index];
    const row = old ?? current[index];
    let mark = 'same';
    if (!old) mark = 'new';
    else if (!current[index]) mark = 'gone';
    else if (!sameRow(old, current[index])) mark = 'changed';
    return { index, name: String(row?.name ?? ''), completed: Boolean(row?.completed), mark };
  });
  const count = (mark) => rows.filter((row) => row.mark === mark).length;
  return {
    rows,
    renamed: String(past?.name ?? '') !== String(now?.name ?? ''),
    counts: { back: count('gone'), drop: count('new'), change: count('changed') },
  };
}

/** The confirmation's sentence: what restoring `version` will change. */
export function restoreSummary(version, comparison) {
  const parts = [];
  const items = (n) => (n === 1 ? '1 item' : `${n} items`);
  const { back, drop, change } = comparison.counts;
  if (back) parts.push(`bring back ${items(back)}`);
  if (drop) parts.push(`remove ${items(drop)}`);
  if (change) parts.push(`change ${items(change)}`);
  if (comparison.renamed) parts.push('restore the list name');
  const what = parts.length === 0 ? 'change nothing that is shown'
    : parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `Restoring version ${version} will ${what}. It is added to the history, so it can be undone.`;
}
