// The document's history as the operator reads it: one-line summaries of logged events that
// name rows by their names at the time, runs of edits grouped into the intention they made,
// the HTTP API next to the page (under any proxy prefix), and what a restore would change.

import { applyPatchInPlace, cloneJSON, parsePointer } from './patchsync.js';

const quoted = (text) => `'${String(text ?? '').trim() || 'untitled item'}'`;

/** Edits of one field by one client at most this far apart read as one change. */
export const GROUP_GAP_MS = 5000;

const rowsOf = (todo) => (todo && typeof todo.todos === 'object' && todo.todos !== null ? todo.todos : {});
const rowIn = (state, index) => (state ? rowsOf(state)[index] : undefined);

function tokensOf(op) {
  try {
    return typeof op?.path === 'string' ? parsePointer(op.path) : [];
  } catch {
    return [];
  }
}

function rowOps(ops, field) {
  return ops.filter((op) => {
    const tokens = tokensOf(op);
    return tokens[0] === 'todos' && (field === null ? tokens.length === 2 : tokens[2] === field);
  });
}

/** A row's name: from the state when it is known there, else from the action. */
function rowName(state, index, fallback) {
  const row = rowIn(state, index);
  return row && typeof row.name === 'string' ? row.name : fallback;
}

/**
 * A one-line human summary of one history event ({version, time, action, ops}), or of a run of
 * grouped events (the first event's kind of change, from `before` the run to `after` it).
 * `before` and `after`: the document's state before and after, when known (null otherwise);
 * rows are then named as they were, also for removals.
 * @returns {string}
 */
export function summarize(event, before = null, after = null) {
  const action = event?.action ?? {};
  const ops = Array.isArray(event?.ops) ? event.ops : [];
  const index = Number.isInteger(action.index) ? action.index : null;
  switch (action.type) {
    case 'Add': {
      const added = rowOps(ops, null).find((op) => op.op === 'add');
      const at = added ? Number(tokensOf(added)[1]) : null;
      return `added ${quoted(at === null ? action.row?.name : rowName(after, at, action.row?.name))}`;
    }
    case 'ChangeName': {
      const name = after && typeof after.name === 'string' ? after.name : action.name;
      return String(name ?? '').trim() ? `renamed the list to ${quoted(name)}` : 'cleared the list name';
    }
    case 'Update': {
      const nowName = rowName(after, index, action.row?.name);
      if (rowOps(ops, null).some((op) => op.op === 'add')) return `added ${quoted(nowName)}`;
      const ticked = rowOps(ops, 'completed').find((op) => op.op === 'replace');
      if (ticked) {
        const done = after ? Boolean(rowIn(after, index)?.completed) : ticked.value;
        return `${done ? 'completed' : 'reopened'} ${quoted(nowName)}`;
      }
      const old = rowIn(before, index);
      return old ? `renamed ${quoted(old.name)} to ${quoted(nowName)}` : `renamed an item to ${quoted(nowName)}`;
    }
    case 'Remove':
      return rowIn(before, index) ? `removed ${quoted(rowName(before, index))}` : `removed item ${action.index}`;
    case 'RemoveCompleted': {
      const removed = rowOps(ops, null).filter((op) => op.op === 'remove');
      const names = removed.map((op) => rowIn(before, tokensOf(op)[1])).filter(Boolean).map((row) => quoted(row.name));
      const count = `${removed.length} completed ${removed.length === 1 ? 'item' : 'items'}`;
      return names.length === removed.length && names.length > 0 && names.length <= 3
        ? `removed ${count}: ${names.join(', ')}` : `removed ${count}`;
    }
    case 'Revert':
      return `restored version ${action.version}`;
    default:
      return `changed ${ops.length} ${ops.length === 1 ? 'value' : 'values'}`;
  }
}

/** Who made the change, when the event records it: its token's `sub`, else the name a client gave in its Hello. */
export function author(event) {
  const name = event?.author ?? event?.name;
  return typeof name === 'string' && name.trim() ? name.trim() : null;
}

/**
 * The one field an event edits, for grouping: `{ path, created }`; null when it edits more than
 * one value or a whole structure. `created`: the event added the object at `path`, so edits of
 * `path + "/name"` that follow continue it (a new row, then its name typed).
 */
export function editedField(event) {
  // A `test` op only guards the edit (a declared type's form sends one before each change).
  const ops = (Array.isArray(event?.ops) ? event.ops : []).filter((op) => op?.op !== 'test');
  if (ops.length !== 1) return null;
  const [op] = ops;
  if (op.op !== 'replace' && op.op !== 'add') return null;
  if (typeof op.path !== 'string') return null;
  const structured = op.value !== null && typeof op.value === 'object';
  if (structured) return op.op === 'add' ? { path: op.path, created: true } : null;
  return { path: op.path, created: false };
}

function continues(group, event, field) {
  const last = group.events.at(-1);
  if (field === null || field.created || group.field === null) return false;
  if (typeof event.client !== 'string' || event.client !== last.client) return false;
  if (!(event.time - last.time <= GROUP_GAP_MS && event.time >= last.time)) return false;
  if (event.version !== last.version + 1) return false;
  return field.path === group.field.path || (group.field.created && field.path === `${group.field.path}/name`);
}

function groupSummary(group, describe) {
  const first = group.events[0];
  const newest = group.events.at(-1);
  if (group.events.length === 1) return group.members[0].summary;
  if (group.before !== null && group.after !== null) return describe(first, group.before, group.after);
  // Without the states, the newest edit says what the field became.
  if (group.field.created && describe === summarize) return `added ${quoted(newest.ops[0]?.value)}`;
  return describe(newest);
}

/**
 * Events (any order, distinct versions) as the entries the panel shows, newest first: runs of
 * consecutive edits of the same field by the same client, each at most GROUP_GAP_MS after the
 * one before, are one entry. `base`: the state before the oldest event, or null when unknown;
 * with it every summary names rows as they were. `describe`: an event's summary (`summarize`,
 * the Todo list's, unless the document is of a declared type).
 * @returns {{ version: number, time: number, summary: string, author: string | null,
 *   members: { version: number, time: number, summary: string }[] }[]} `version`: the newest
 *   member's; `members`: every event of the entry, newest first (one for a single change)
 */
export function groupHistory(events, base = null, describe = summarize) {
  const ordered = [...events].sort((a, b) => a.version - b.version);
  // `state` is edited in place; each event keeps a copy of the state after it (the next one's before).
  let state = base === null ? null : cloneJSON(base);
  let after = base;
  const groups = [];
  for (const event of ordered) {
    const before = after;
    if (state !== null) {
      try {
        state = applyPatchInPlace(state, Array.isArray(event.ops) ? event.ops : []);
      } catch {
        state = null; // a gap or a damaged event: later names come from the actions
      }
    }
    after = state === null ? null : cloneJSON(state);
    const field = editedField(event);
    const member = { version: event.version, time: event.time, summary: describe(event, before, after) };
    const group = groups.at(-1);
    if (group && continues(group, event, field)) {
      group.events.push(event);
      group.members.push(member);
      group.after = after;
    } else {
      groups.push({ field, events: [event], members: [member], before, after });
    }
  }
  return groups.reverse().map((group) => {
    const newest = group.events.at(-1);
    return {
      version: newest.version,
      time: newest.time,
      summary: groupSummary(group, describe),
      author: author(newest),
      members: group.members.reverse(),
    };
  });
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

const sameRow = (a, b) => String(a?.name ?? '') === String(b?.name ?? '') && Boolean(a?.completed) === Boolean(b?.completed);

/** What a restore does to a row marked so by `compareStates`: the preview's label. */
export const RESTORE_LABELS = { gone: 'comes back', changed: 'changes back', new: 'goes away' };

/**
 * What differs between a past state and the current one, row by row.
 * @returns {{ rows: { index?: number, name: string, completed?: boolean, mark: 'same' | 'changed' | 'gone' | 'new' }[],
 *   heading: string, renamed: boolean, counts: { back: number, drop: number, change: number } }}
 *   `mark`: how the row in the past differs from now ('gone': removed since, so a restore brings
 *   it back; 'new': added since, so a restore drops it); `heading`: the line above the rows;
 *   `counts`: what a restore would do.
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
  const name = String(past?.name ?? '');
  return {
    rows,
    heading: name.trim() ? `List name: ${name}` : 'The list had no name.',
    renamed: name !== String(now?.name ?? ''),
    counts: countMarks(rows),
  };
}

/** How many rows a restore brings back, drops and changes back. */
export function countMarks(rows) {
  const count = (mark) => rows.filter((row) => row.mark === mark).length;
  return { back: count('gone'), drop: count('new'), change: count('changed') };
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
