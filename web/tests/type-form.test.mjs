// The form builder for declared types: schema -> controls and their pointers, edits -> Patches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  browserPattern, controlFor, describe, effectiveSchema, failurePointer, initialValue, parseInput, removeOps,
  replaceOps, resolve, addMemberOps, appendOps,
} from '../../Sources/WebAssets/Public/schema-form.js';

const line = JSON.parse(readFileSync(new URL('../../examples/types/line.json', import.meta.url), 'utf8'));
const shift = JSON.parse(readFileSync(new URL('../../examples/types/shift.json', import.meta.url), 'utf8'));

/** Every node of a description, depth first. */
function nodes(node) {
  return [node, ...(node.children ?? []).flatMap(nodes)];
}
const byName = (tree) => new Map(nodes(tree).map((node) => [node.name, node]));

test('line.json: objects are groups, the machines a map, the alarms a list; names are JSON Pointers', () => {
  const state = structuredClone(line.default);
  state.machines.M1.speed = 12.5;
  state.alarms.push({ machine: 'M1', code: 'E101', since: '2026-12-06T10:00:00Z', acknowledged: false });
  const tree = describe(line, state);
  const all = byName(tree);
  assert.equal(tree.kind, 'group');
  assert.equal(tree.name, '');
  assert.equal(tree.label, 'Production line');
  assert.equal(all.get('/name').kind, 'text');
  assert.equal(all.get('/name').label, 'Line');
  assert.equal(all.get('/name').maxLength, 80);
  assert.equal(all.get('/name').minLength, 1);
  assert.equal(all.get('/machines').kind, 'map');
  assert.equal(all.get('/machines').keyPattern, 'M[0-9]{1,3}');
  assert.equal(all.get('/machines/M1').kind, 'group');
  assert.equal(all.get('/machines/M1').label, 'M1');
  assert.equal(all.get('/machines/M1').removable, true);
  const status = all.get('/machines/M3/status') ?? all.get('/machines/M1/status');
  assert.equal(status.kind, 'select');
  assert.deepEqual(status.options, ['run', 'stop', 'alarm']);
  assert.equal(status.label, 'Status');
  assert.equal(status.removable, false, 'a required property cannot be removed');
  const good = all.get('/machines/M1/good');
  assert.equal(good.kind, 'number');
  assert.equal(good.integer, true);
  assert.equal(good.min, 0);
  assert.equal(good.step, 1);
  const speed = all.get('/machines/M1/speed');
  assert.deepEqual([speed.min, speed.max, speed.step, speed.removable], [0, 1000, 'any', true]);
  assert.deepEqual(all.get('/machines/M2').absent, ['speed'], 'an optional property not set can be added');
  assert.equal(all.get('/alarms').kind, 'list');
  assert.equal(all.get('/alarms/0').kind, 'group');
  assert.equal(all.get('/alarms/0/code').pattern, '[A-Z][0-9]{3}');
  assert.equal(all.get('/alarms/0/acknowledged').kind, 'checkbox');
});

test('keys that need escaping make pointers with ~0 and ~1', () => {
  const schema = { type: 'object', additionalProperties: { type: 'boolean' } };
  const all = byName(describe(schema, { 'a/b': true, 'c~d': false }));
  assert.ok(all.has('/a~1b'));
  assert.ok(all.has('/c~0d'));
});

test('$ref and $defs resolve inside the file, with sibling keywords kept', () => {
  const root = { $defs: { n: { type: 'integer', minimum: 1 } }, $ref: '#/$defs/n', maximum: 9 };
  assert.deepEqual(resolve(root, root), { type: 'integer', minimum: 1, maximum: 9, $defs: root.$defs });
  assert.deepEqual(resolve({ $ref: '#/$defs/missing' }, root), {});
  const loop = { $defs: { a: { $ref: '#/$defs/a' } } };
  assert.deepEqual(resolve(loop.$defs.a, loop), {}, 'a reference to itself is edited as JSON, not followed for ever');
});

test('anyOf/oneOf follow the branch the current value matches; no match is a JSON text area', () => {
  const schema = { oneOf: [{ type: 'string', maxLength: 3 }, { type: 'integer', minimum: 5 }] };
  assert.equal(describe(schema, 7).kind, 'number');
  assert.equal(describe(schema, 'abc').kind, 'text');
  assert.equal(describe(schema, 'abc').maxLength, 3);
  assert.equal(describe(schema, [1]).kind, 'json');
  assert.equal(effectiveSchema({ allOf: [{ type: 'integer' }, { minimum: 2 }] }, 3, {}).minimum, 2);
});

test('a container of the wrong type, a non-string enum and an untyped value are JSON text areas', () => {
  assert.equal(describe({ type: 'object' }, 'seven').kind, 'json');
  assert.equal(describe({ type: 'integer' }, 'seven').kind, 'number', 'a leaf keeps its control');
  assert.equal(describe({ enum: [1, 2] }, 1).kind, 'json');
  assert.equal(describe({}, { any: 'thing' }).kind, 'group');
  assert.equal(describe(true, null).kind, 'json');
});

test('shift.json builds without a JSON fallback for its default', () => {
  const tree = describe(shift, shift.default);
  for (const node of nodes(tree)) assert.ok(node.name === '' || node.name.startsWith('/'), node.name);
  assert.equal(tree.kind, 'group');
});

test('an edit is a replace guarded by test of the old value; a new member an add', () => {
  assert.deepEqual(replaceOps('/machines/M3/status', 'run', 'stop'), [
    { op: 'test', path: '/machines/M3/status', value: 'run' },
    { op: 'replace', path: '/machines/M3/status', value: 'stop' },
  ]);
  assert.deepEqual(replaceOps('/machines/M1/speed', undefined, 3), [{ op: 'add', path: '/machines/M1/speed', value: 3 }]);
  assert.deepEqual(removeOps('/machines/M2', { status: 'stop' }), [
    { op: 'test', path: '/machines/M2', value: { status: 'stop' } },
    { op: 'remove', path: '/machines/M2' },
  ]);
  assert.deepEqual(addMemberOps('/machines', 'M3', { a: 1 }), [{ op: 'add', path: '/machines/M3', value: { a: 1 } }]);
  assert.deepEqual(appendOps('/alarms', 2, {}), [{ op: 'add', path: '/alarms/2', value: {} }]);
});

test('a new entry starts from default, enum, or its required members', () => {
  assert.deepEqual(initialValue(line.$defs.machine, line), { status: 'run', good: 0, scrap: 0 });
  assert.deepEqual(initialValue({ type: 'string', default: 'x' }, {}), 'x');
  assert.deepEqual(initialValue({ type: 'array' }, {}), []);
  assert.equal(initialValue({ type: 'integer', minimum: 4 }, {}), 4);
});

test('input text becomes the value: numbers, JSON, checkboxes; a non-number stays text for the server to name', () => {
  assert.equal(parseInput({ kind: 'number' }, '12'), 12);
  assert.equal(parseInput({ kind: 'number' }, '-3.5'), -3.5);
  assert.equal(parseInput({ kind: 'number' }, 'x'), 'x');
  assert.equal(parseInput({ kind: 'checkbox' }, 'on', true), true);
  assert.deepEqual(parseInput({ kind: 'json' }, '{"a":[1]}'), { a: [1] });
  assert.throws(() => parseInput({ kind: 'json' }, '{'));
  assert.equal(parseInput({ kind: 'text' }, ' a '), ' a ');
});

test('an invalid_patch message names the control: the pointer before the first ": "', () => {
  const message = '/machines/M3/status: "jammed" is not one of "run", "stop", "alarm" (enum)';
  assert.equal(failurePointer(message), '/machines/M3/status');
  assert.equal(failurePointer(': missing "name" (required)'), '');
  assert.equal(failurePointer('no pointer here'), null);
  const names = ['', '/machines', '/machines/M3', '/machines/M3/status'];
  assert.equal(controlFor('/machines/M3/status', names), '/machines/M3/status');
  assert.equal(controlFor('/machines/M3/good', names), '/machines/M3');
  assert.equal(controlFor('/other', names), '');
});

test('patterns the browser cannot take as a whole-value pattern are left to the server', () => {
  assert.equal(browserPattern('^M[0-9]{1,3}$'), 'M[0-9]{1,3}');
  assert.equal(browserPattern('M[0-9]'), undefined, 'unanchored: the attribute would anchor it');
  assert.equal(browserPattern('^(?<x$'), undefined);
});
