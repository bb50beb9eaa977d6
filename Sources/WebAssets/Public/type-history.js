// History summaries for a document of a declared type: what changed, said with the schema's
// words. A field is named by its schema `title`s from the root ("Machines › M1 › Good parts"),
// an array item or map member by the string at its schema's `x-patchsync.title` pointer (relative
// to the item) where the schema gives one, else by its key or "<item title> <n>"; the new value is
// read from the state after the change when it is known.

import { countMarks } from './history.js';
import { jsonEqual, parsePointer } from './patchsync.js';
import { effectiveSchema, memberSchema, resolve } from './schema-form.js';

const SEPARATOR = ' › ';
/** Values longer than this are cut in a summary (the history shows a line, not the value). */
const LONGEST_VALUE = 60;

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

function tokensOf(pointer) {
  try {
    return typeof pointer === 'string' ? parsePointer(pointer) : null;
  } catch {
    return null;
  }
}

function valueAt(state, tokens) {
  let value = state;
  for (const token of tokens) {
    if (Array.isArray(value) && /^\d+$/.test(token)) value = value[Number(token)];
    else if (isObject(value) && Object.hasOwn(value, token)) value = value[token];
    else return undefined;
  }
  return value;
}

/** The string at `x-patchsync.title` (a JSON Pointer) inside `value`, or null. */
export function titleOf(schema, value) {
  const pointer = isObject(schema) ? schema['x-patchsync']?.title : undefined;
  const tokens = tokensOf(pointer);
  if (tokens === null) return null;
  const title = valueAt(value, tokens);
  return typeof title === 'string' && title.trim() ? title.trim() : null;
}

const titled = (s) => (isObject(s) && typeof s.title === 'string' && s.title.trim() ? s.title.trim() : null);

/** What a value reads as in a summary: a quoted string (cut), a number, yes/no, or its kind. */
export function formatValue(value) {
  if (typeof value === 'string') {
    const text = value.trim();
    return `'${text.length > LONGEST_VALUE ? `${text.slice(0, LONGEST_VALUE - 1)}…` : text}'`;
  }
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return value.length === 1 ? '1 item' : `${value.length} items`;
  return 'a new value';
}

/**
 * The words for the value at `tokens` under `schema`, one per step, naming items from `state`
 * (the state in which the value exists: after an add, before a remove).
 */
export function labelsOf(schema, tokens, state) {
  const labels = [];
  let s = schema;
  let value = state;
  for (const token of tokens) {
    const here = effectiveSchema(s, value, schema);
    const child = Array.isArray(value) ? value[Number(token)] : isObject(value) ? value[token] : undefined;
    if (Array.isArray(value) || here.type === 'array' || here.items !== undefined || here.prefixItems !== undefined) {
      const index = Number(token);
      const prefix = Array.isArray(here.prefixItems) ? here.prefixItems : [];
      s = Number.isInteger(index) && index < prefix.length ? prefix[index] : here.items ?? true;
      const itemSchema = effectiveSchema(s, child, schema);
      const name = titleOf(itemSchema, child);
      labels.push(name !== null ? formatValue(name) : `${titled(resolve(s, schema)) ?? 'Item'} ${Number.isInteger(index) ? index + 1 : token}`);
    } else {
      const fixed = isObject(here.properties) && Object.hasOwn(here.properties, token);
      s = memberSchema(here, token);
      const memberEffective = effectiveSchema(s, child, schema);
      const name = fixed ? null : titleOf(memberEffective, child);
      labels.push(fixed ? titled(memberEffective) ?? token : name !== null ? formatValue(name) : token);
    }
    value = child;
  }
  return labels;
}

const label = (schema, tokens, state) => (tokens.length === 0 ? 'the whole document' : labelsOf(schema, tokens, state).join(SEPARATOR));

/** What the control at the Focus pointer `focus` edits, in words, for the People panel; null for none. */
export function focusLabel(schema, focus, state) {
  const tokens = tokensOf(focus);
  return tokens === null || tokens.length === 0 ? null : labelsOf(schema, tokens, state).join(SEPARATOR);
}

function describeOp(schema, op, before, after) {
  const tokens = tokensOf(op?.path);
  if (tokens === null) return 'changed a value';
  const now = after === null ? undefined : valueAt(after, tokens);
  const value = now !== undefined ? now : op.value;
  switch (op.op) {
    case 'remove':
      return `removed ${label(schema, tokens, before ?? after)}`;
    case 'add':
    case 'replace': {
      const where = label(schema, tokens, after ?? before);
      if (value !== null && typeof value === 'object') return `${op.op === 'add' ? 'added' : 'replaced'} ${where}`;
      if (typeof value === 'string' && !value.trim()) return `cleared ${where}`;
      return `set ${where} to ${formatValue(value)}`;
    }
    case 'move':
    case 'copy': {
      const from = tokensOf(op.from);
      const source = from === null ? 'a value' : label(schema, from, before ?? after);
      return `${op.op === 'move' ? 'moved' : 'copied'} ${source} to ${label(schema, tokens, after ?? before)}`;
    }
    default:
      return 'changed a value';
  }
}

/**
 * A one-line summary of one history event ({version, action, ops}) of a declared type, or of a
 * grouped run (the first event, with the states before and after the whole run). `before`,
 * `after`: the document's state around it, when known (null otherwise).
 */
export function summarizeTyped(schema, event, before = null, after = null) {
  const action = event?.action ?? {};
  if (action.type === 'Revert') return `restored version ${action.version}`;
  // A form's edit carries `test` ops that guard it; they change nothing.
  const ops = (Array.isArray(event?.ops) ? event.ops : []).filter((op) => op?.op !== 'test');
  if (ops.length === 0) return 'changed nothing';
  if (ops.length <= 2) return ops.map((op) => describeOp(schema, op, before, after)).join('; ');
  // Many values at once: say where, when they share a place.
  const paths = ops.map((op) => tokensOf(op.path) ?? []);
  const common = [];
  for (let at = 0; paths.every((tokens) => at < tokens.length - 1 && tokens[at] === paths[0][at]); at += 1) common.push(paths[0][at]);
  const where = common.length === 0 ? '' : ` in ${label(schema, common, after ?? before)}`;
  return `changed ${ops.length} values${where}`;
}

/**
 * What restoring `past` does to a document of a declared type, for the history's preview: one row
 * per value that differs from `now`, named with the schema's words, marked as `compareStates`
 * marks the Todo list's rows ('gone': a restore brings it back, 'new': it goes away, 'changed':
 * it changes back to the value shown).
 * @returns {ReturnType<typeof import('./history.js').compareStates>}
 */
export function compareTyped(schema, past, now) {
  const rows = [];
  const walk = (tokens, then, current) => {
    if (jsonEqual(then, current)) return;
    if (then === undefined) {
      rows.push({ name: label(schema, tokens, now), mark: 'new' });
    } else if (current === undefined) {
      rows.push({ name: label(schema, tokens, past), mark: 'gone' });
    } else if (isObject(then) && isObject(current)) {
      for (const key of new Set([...Object.keys(then), ...Object.keys(current)])) walk([...tokens, key], then[key], current[key]);
    } else if (Array.isArray(then) && Array.isArray(current)) {
      for (let index = 0; index < Math.max(then.length, current.length); index += 1) {
        walk([...tokens, String(index)], then[index], current[index]);
      }
    } else {
      rows.push({ name: `${label(schema, tokens, past)}: ${formatValue(then)}`, mark: 'changed' });
    }
  };
  walk([], past ?? null, now ?? null);
  const title = titleOf(schema, past);
  return {
    rows,
    heading: title !== null ? `${titled(schema) ?? 'Title'}: ${title}` : `What restoring it changes (${rows.length === 1 ? '1 value' : `${rows.length} values`})`,
    renamed: false,
    counts: countMarks(rows),
  };
}
