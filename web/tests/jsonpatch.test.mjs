// Runs the public RFC 6902 conformance suite and a few focused cases against the page's applier.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  applyPatch, applyPatchInPlace, JsonPatchError, parsePointer, escapeToken, jsonEqual, getByPointer,
} from '../../clients/js/patchsync.js';

const fixtures = new URL('../../Tests/JSONPatchTests/Fixtures/', import.meta.url);

function loadSuite(name) {
  return JSON.parse(readFileSync(fileURLToPath(new URL(name, fixtures)), 'utf8'));
}

for (const file of ['tests.json', 'spec_tests.json']) {
  describe(`conformance ${file}`, () => {
    const cases = loadSuite(file);
    cases.forEach((testCase, position) => {
      const title = `#${position} ${testCase.comment ?? testCase.error ?? JSON.stringify(testCase.patch)}`;
      test(title, { skip: testCase.disabled ? 'disabled in the suite' : false }, () => {
        const before = JSON.stringify(testCase.doc);
        if ('error' in testCase) {
          assert.throws(() => applyPatch(testCase.doc, testCase.patch), JsonPatchError, testCase.error);
        } else {
          const result = applyPatch(testCase.doc, testCase.patch);
          if ('expected' in testCase) {
            assert.ok(jsonEqual(result, testCase.expected),
              `got ${JSON.stringify(result)}, expected ${JSON.stringify(testCase.expected)}`);
          }
        }
        assert.equal(JSON.stringify(testCase.doc), before, 'the input document must not change');
      });
      test(`${title} (in place)`, { skip: testCase.disabled ? 'disabled in the suite' : false }, () => {
        const doc = structuredClone(testCase.doc);
        if ('error' in testCase) {
          assert.throws(() => applyPatchInPlace(doc, testCase.patch), JsonPatchError, testCase.error);
          assert.deepEqual(doc, testCase.doc, 'a failing patch must leave the document as it was');
        } else {
          const result = applyPatchInPlace(doc, testCase.patch);
          if ('expected' in testCase) {
            assert.ok(jsonEqual(result, testCase.expected),
              `got ${JSON.stringify(result)}, expected ${JSON.stringify(testCase.expected)}`);
          }
        }
      });
    });
  });
}

describe('applyPatch', () => {
  test('a failing patch leaves the document untouched (atomic)', () => {
    const doc = { name: 'groceries', todos: { 1: { name: 'milk', completed: false } } };
    const patch = [
      { op: 'replace', path: '/name', value: 'chores' },
      { op: 'remove', path: '/todos/2' },
    ];
    assert.throws(() => applyPatch(doc, patch), (error) => error.code === 'path-not-found' && error.opIndex === 1);
    assert.deepEqual(doc, { name: 'groceries', todos: { 1: { name: 'milk', completed: false } } });
  });

  test('applies the patches the server sends for the Todo list', () => {
    let doc = { name: '', todos: {} };
    doc = applyPatch(doc, [{ op: 'add', path: '/todos/1', value: { name: '', completed: false } }]);
    doc = applyPatch(doc, [{ op: 'replace', path: '/todos/1/name', value: 'Buy milk' }]);
    doc = applyPatch(doc, [{ op: 'replace', path: '/name', value: 'Groceries' }]);
    doc = applyPatch(doc, [{ op: 'remove', path: '/todos/1' }]);
    assert.deepEqual(doc, { name: 'Groceries', todos: {} });
  });

  test('a member called __proto__ is data, not a prototype', () => {
    const doc = applyPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.deepEqual(Object.keys(doc), ['__proto__']);
    assert.equal({}.polluted, undefined);
    assert.deepEqual(getByPointer(doc, '/__proto__'), { polluted: true });
  });

  test('added values are copies of the operation values', () => {
    const value = { nested: [1] };
    const doc = applyPatch({}, [{ op: 'add', path: '/a', value }]);
    value.nested.push(2);
    assert.deepEqual(doc, { a: { nested: [1] } });
  });

  test('in place: edits the caller\'s document and undoes every op of a failing patch', () => {
    const row = { name: 'milk', completed: false };
    const doc = { name: 'groceries', list: [1, 2, 3], todos: { 1: row, 2: { name: 'tea', completed: true } } };
    const original = structuredClone(doc);
    const patch = [
      { op: 'replace', path: '/name', value: 'chores' },
      { op: 'remove', path: '/list/0' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'move', from: '/todos/2', path: '/todos/3' },
      { op: 'copy', from: '/todos/1', path: '/todos/4' },
      { op: 'add', path: '/todos/1/note', value: 'x' },
      { op: 'test', path: '/name', value: 'not this' },
    ];
    assert.throws(() => applyPatchInPlace(doc, patch), (error) => error.code === 'test-failed' && error.opIndex === 6);
    assert.deepEqual(doc, original);
    assert.equal(doc.todos[1], row, 'untouched members keep their identity');

    const result = applyPatchInPlace(doc, patch.slice(0, 6));
    assert.equal(result, doc);
    assert.deepEqual(doc, {
      name: 'chores', list: [2, 3, 4],
      todos: { 1: { name: 'milk', completed: false, note: 'x' }, 3: { name: 'tea', completed: true }, 4: { name: 'milk', completed: false } },
    });
  });

  test('rejects malformed patches with a clear error', () => {
    assert.throws(() => applyPatch({}, { op: 'add' }), /array of operations/);
    assert.throws(() => applyPatch({}, [null]), /must be an object/);
    assert.throws(() => applyPatch({}, [{ op: 'add', path: '/a' }]), /needs a "value" member/);
    assert.throws(() => applyPatch({}, [{ op: 'move', from: 1, path: '/a' }]), /"from" must be a string/);
    assert.throws(() => applyPatch({ a: {} }, [{ op: 'move', from: '/a', path: '/a/b' }]), /own child/);
  });
});

describe('JSON Pointer', () => {
  test('unescapes ~1 before ~0', () => {
    assert.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
  });

  test('rejects pointers without a leading slash or with a bad escape', () => {
    assert.throws(() => parsePointer('a'), JsonPatchError);
    assert.throws(() => parsePointer('/a~2'), JsonPatchError);
    assert.throws(() => parsePointer('/a~'), JsonPatchError);
  });

  test('escapeToken round-trips through parsePointer', () => {
    const token = 'a/~b~1';
    assert.deepEqual(parsePointer(`/${escapeToken(token)}`), [token]);
  });
});

describe('jsonEqual', () => {
  test('numbers by value, objects in any order, no coercion', () => {
    assert.ok(jsonEqual(1, 1.0));
    assert.ok(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
    assert.ok(!jsonEqual(10, '10'));
    assert.ok(!jsonEqual([1, 2], [2, 1]));
    assert.ok(!jsonEqual({}, []));
    assert.ok(!jsonEqual(null, {}));
    assert.ok(!jsonEqual({ a: undefined }, { b: undefined }));
  });
});
