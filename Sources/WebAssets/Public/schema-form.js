// A declared type's JSON Schema turned into a description of form controls, without the DOM:
// which control edits which value (its JSON Pointer), with what bounds, and the Patch an edit
// sends. type-form.js puts the description on the page; the node tests read it directly.

import { escapeToken } from './patchsync.js';

/** The pointer of `token` inside the value at `pointer`. */
export const childPointer = (pointer, token) => `${pointer}/${escapeToken(String(token))}`;

/**
 * The schema that applies at `schema`, with a local `$ref` ("#/$defs/x", "#/definitions/x", any
 * "#/..." pointer) followed inside `root`. Sibling keywords of a `$ref` are kept beside the target's
 * (the sibling wins): in 2020-12 both apply. An unresolvable reference gives `{}` (edited as JSON).
 */
export function resolve(schema, root, seen = new Set()) {
  if (schema === null || typeof schema !== 'object' || typeof schema.$ref !== 'string') return schema;
  const ref = schema.$ref;
  if (!ref.startsWith('#') || seen.has(ref)) return {};
  let target = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    target = target !== null && typeof target === 'object' ? target[token] : undefined;
  }
  if (ref === '#') target = root;
  if (target === undefined) return {};
  const { $ref, ...siblings } = schema;
  const resolved = resolve(target, root, new Set([...seen, ref]));
  return typeof resolved === 'object' && resolved !== null ? { ...resolved, ...siblings } : resolved;
}

const jsonType = (value) =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;

/** Whether `value` is of the JSON Schema `type` name (an integer is also a number). */
function isOfType(value, type) {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** A light match of `value` against `schema` (type, const, enum, required): to pick a branch. */
function roughlyMatches(schema, value, root) {
  const s = resolve(schema, root);
  if (s === true || s === undefined) return true;
  if (s === false) return false;
  if ('const' in s) return JSON.stringify(s.const) === JSON.stringify(value);
  if (Array.isArray(s.enum)) return s.enum.some((option) => JSON.stringify(option) === JSON.stringify(value));
  const types = typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? s.type : null;
  if (types && !types.some((type) => isOfType(value, type))) return false;
  if (Array.isArray(s.required) && jsonType(value) === 'object') return s.required.every((key) => key in value);
  return true;
}

/**
 * The one schema a control follows for `value`: `$ref` resolved, `allOf` merged, and of
 * `anyOf`/`oneOf` the first branch that `value` roughly matches (none: the value is edited as JSON
 * text). `if`/`then`/`else` and `not` are left to the server, which checks every write.
 */
export function effectiveSchema(schema, value, root) {
  let s = resolve(schema, root);
  if (s === true || s === undefined || s === null) return {};
  if (s === false) return { json: true };
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    s = allOf.reduce((merged, part) => ({ ...merged, ...effectiveSchema(part, value, root) }), rest);
  }
  for (const key of ['anyOf', 'oneOf']) {
    if (!Array.isArray(s[key])) continue;
    const { [key]: branches, ...rest } = s;
    const branch = branches.find((candidate) => roughlyMatches(candidate, value, root));
    s = branch === undefined ? { ...rest, json: true } : { ...rest, ...effectiveSchema(branch, value, root) };
  }
  return s;
}

/** The schema's `type` for `value`: the declared one that fits the value, else the value's own. */
function typeFor(s, value) {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type)) return s.type.find((type) => isOfType(value, type)) ?? s.type[0];
  if (Array.isArray(s.enum) || 'const' in s) return 'enum';
  if (s.properties || s.additionalProperties || s.patternProperties) return 'object';
  if (s.items || s.prefixItems) return 'array';
  return value === undefined ? 'json' : jsonType(value);
}

/** The schema for the member `key` of an object: `properties`, else a matching `patternProperties`, else `additionalProperties`. */
export function memberSchema(s, key) {
  if (s.properties && Object.hasOwn(s.properties, key)) return s.properties[key];
  for (const [pattern, schema] of Object.entries(s.patternProperties ?? {})) {
    try {
      if (new RegExp(pattern, 'u').test(key)) return schema;
    } catch {
      // A pattern the browser cannot read: the server still checks it.
    }
  }
  return s.additionalProperties === undefined ? true : s.additionalProperties;
}

/** The schema of new members of a map (an object with `additionalProperties` or `patternProperties`), or null. */
function entrySchema(s) {
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) return s.additionalProperties;
  const patterns = Object.values(s.patternProperties ?? {});
  return patterns.length > 0 ? patterns[0] : null;
}

/** A `pattern` the browser's `pattern` attribute (the `v` flag, whole value) can take, or undefined. */
export function browserPattern(pattern) {
  if (typeof pattern !== 'string') return undefined;
  // The attribute anchors the whole value; an anchored schema pattern says the same.
  const inner = pattern.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
  const anchored = pattern.startsWith('^') && /(?<!\\)\$$/.test(pattern);
  if (!anchored) return undefined;
  try {
    new RegExp(`^(?:${inner})$`, 'v');
    return inner;
  } catch {
    return undefined;
  }
}

/**
 * A value a new entry starts with: the schema's `default`, else the first `enum` value or `const`,
 * else the least value of its type (an object with its required members).
 */
export function initialValue(schema, root) {
  const s = effectiveSchema(schema, undefined, root);
  if ('default' in s) return structuredClone(s.default);
  if ('const' in s) return structuredClone(s.const);
  if (Array.isArray(s.enum) && s.enum.length > 0) return structuredClone(s.enum[0]);
  switch (typeFor(s, undefined)) {
    case 'object': {
      const value = {};
      for (const key of s.required ?? []) value[key] = initialValue(memberSchema(s, key), root);
      return value;
    }
    case 'array':
      return [];
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'string':
      return '';
    default:
      return null;
  }
}

function labelOf(s, key) {
  return typeof s.title === 'string' && s.title.trim() ? s.title : String(key);
}

/**
 * The controls for `value` at `pointer` under `schema` (`root` is the whole schema file, for `$ref`):
 * - `group`: an object's fixed properties, `children` one per property (present or required);
 * - `map`: an object whose members are open (`additionalProperties`/`patternProperties`),
 *   `children` one per member, with `removable`, and `keyPattern` for a new member's name;
 * - `list`: an array, `children` one per item, with add and remove;
 * - `select` (`options`: the enum's values), `checkbox`, `number` (`min`, `max`, `step`),
 *   `text` (`minLength`, `maxLength`, `pattern`), and `json` (any other value, as JSON text).
 * Every node has `name` (the JSON Pointer it edits), `label`, `value` and `schema`.
 */
export function describe(schema, value, root = schema, pointer = '', label = 'Document') {
  const s = effectiveSchema(schema, value, root);
  const node = { name: pointer, label: labelOf(s, label), value, schema: s };
  if (typeof s.description === 'string') node.description = s.description;
  if (s.json) return { ...node, kind: 'json' };
  const type = typeFor(s, value);
  if (type === 'enum') {
    const options = Array.isArray(s.enum) ? s.enum : [s.const];
    if (options.every((option) => typeof option === 'string')) return { ...node, kind: 'select', options };
    return { ...node, kind: 'json' };
  }
  // A container of another type cannot be shown by its schema; a leaf keeps its control (a
  // pending edit the server will refuse may hold anything for a moment).
  if (value !== undefined && (type === 'object' || type === 'array') && !isOfType(value, type)) {
    return { ...node, kind: 'json' };
  }
  switch (type) {
    case 'object': {
      const object = value ?? {};
      const fixed = Object.keys(s.properties ?? {});
      const shown = fixed.filter((key) => key in object || (s.required ?? []).includes(key));
      const extra = Object.keys(object).filter((key) => !fixed.includes(key));
      const open = entrySchema(s) !== null;
      const children = [...shown, ...extra].map((key) => {
        const child = describe(memberSchema(s, key), object[key], root, childPointer(pointer, key), key);
        // A member the schema does not require can go; a required one only goes with its parent.
        child.removable = !(s.required ?? []).includes(key);
        return child;
      });
      // Optional fixed properties not set yet can be added by name.
      const absent = fixed.filter((key) => !shown.includes(key));
      const result = { ...node, kind: open ? 'map' : 'group', children, absent };
      if (open) {
        result.keyPattern = browserPattern(s.propertyNames?.pattern);
        result.maxProperties = s.maxProperties;
      }
      return result;
    }
    case 'array': {
      const items = value ?? [];
      const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
      const children = items.map((item, index) => {
        const itemSchema = index < prefix.length ? prefix[index] : s.items ?? true;
        const child = describe(itemSchema, item, root, childPointer(pointer, index), `${labelOf(resolve(itemSchema, root) ?? {}, 'Item')} ${index + 1}`);
        child.removable = true;
        return child;
      });
      return { ...node, kind: 'list', children, maxItems: s.maxItems, itemSchema: s.items ?? true };
    }
    case 'boolean':
      return { ...node, kind: 'checkbox' };
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined);
      const max = s.maximum ?? (typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined);
      const step = type === 'integer' ? (s.multipleOf ?? 1) : (s.multipleOf ?? 'any');
      return { ...node, kind: 'number', integer: type === 'integer', min, max, step };
    }
    case 'string':
      return {
        ...node, kind: 'text', minLength: s.minLength, maxLength: s.maxLength, pattern: browserPattern(s.pattern),
        // Room for more than a line: a text area (no `pattern` attribute there; the server checks it).
        multiline: typeof s.maxLength === 'number' && s.maxLength > 200 && s.pattern === undefined && s.format === undefined,
      };
    default:
      return { ...node, kind: 'json' };
  }
}

/** Ops that change the value at `pointer` from `old` to `value`, guarded by `test` (the old value). */
export function replaceOps(pointer, old, value) {
  if (old === undefined) return [{ op: 'add', path: pointer, value }];
  return [{ op: 'test', path: pointer, value: old }, { op: 'replace', path: pointer, value }];
}

/** Ops that add the member `key` to the object at `pointer` (the form offers only keys not there). */
export function addMemberOps(pointer, key, value) {
  return [{ op: 'add', path: childPointer(pointer, key), value }];
}

/** Ops that append `value` to the array at `pointer` as item `length` (fails if the array got shorter). */
export function appendOps(pointer, length, value) {
  return [{ op: 'add', path: childPointer(pointer, length), value }];
}

/** Ops that remove the value at `pointer`, guarded by `test` (the old value). */
export function removeOps(pointer, old) {
  return [{ op: 'test', path: pointer, value: old }, { op: 'remove', path: pointer }];
}

/**
 * The value a control's text stands for: a number from a number field (NaN stays text, so the
 * server names the problem), JSON from a JSON field (a parse error is thrown, for the page to show).
 */
export function parseInput(node, text, checked) {
  switch (node.kind) {
    case 'checkbox':
      return checked;
    case 'number': {
      const number = Number(text);
      return text.trim() !== '' && Number.isFinite(number) ? number : text;
    }
    case 'json':
      return JSON.parse(text);
    default:
      return text;
  }
}

/** The pointer an `invalid_patch` message names: what comes before the first ": ". */
export function failurePointer(message) {
  const text = String(message ?? '');
  const at = text.indexOf(': ');
  if (at < 0) return null;
  const pointer = text.slice(0, at);
  return pointer === '' || pointer.startsWith('/') ? pointer : null;
}

/** The control that shows a failure at `pointer`: the deepest of `names` that is `pointer` or holds it. */
export function controlFor(pointer, names) {
  let best = null;
  for (const name of names) {
    const holds = name === pointer || pointer.startsWith(`${name}/`) || name === '';
    if (holds && (best === null || name.length > best.length)) best = name;
  }
  return best;
}
