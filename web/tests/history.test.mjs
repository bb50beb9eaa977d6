// The history panel's summaries, API addresses and restore preview.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, author, apiURL, compareStates, restoreSummary, groupHistory, editedField, RESTORE_LABELS, GROUP_GAP_MS } from '../../Sources/WebAssets/Public/history.js';

const event = (action, ops) => ({ version: 1, time: 0, action, ops });

describe('summarize', () => {
  test('says what each action did, in words', () => {
    assert.equal(summarize(event({ type: 'Add', row: { name: 'milk', completed: false } },
      [{ op: 'add', path: '/todos/1', value: { name: 'milk', completed: false } }])), "added 'milk'");
    assert.equal(summarize(event({ type: 'ChangeName', name: 'Line 3' }, [{ op: 'replace', path: '/name', value: 'Line 3' }])),
      "renamed the list to 'Line 3'");
    assert.equal(summarize(event({ type: 'Update', index: 2, row: { name: 'tea', completed: true } },
      [{ op: 'replace', path: '/todos/2/completed', value: true }])), "completed 'tea'");
    assert.equal(summarize(event({ type: 'Update', index: 2, row: { name: 'green tea', completed: false } },
      [{ op: 'replace', path: '/todos/2/name', value: 'green tea' }])), "renamed an item to 'green tea'");
    // Without the state before, a removal can only give the index.
    assert.equal(summarize(event({ type: 'Remove', index: 4 }, [{ op: 'remove', path: '/todos/4' }])), 'removed item 4');
    assert.equal(summarize(event({ type: 'RemoveCompleted' }, [{ op: 'remove', path: '/todos/1' }, { op: 'remove', path: '/todos/3' }])),
      'removed 2 completed items');
    assert.equal(summarize(event({ type: 'Revert', version: 41 }, [])), 'restored version 41');
    assert.equal(summarize(event({ type: 'Patch' }, [{ op: 'add', path: '/x', value: 1 }])), 'changed 1 value');
  });

  test('names the author only when the event records one', () => {
    assert.equal(author({ name: ' Ana ' }), 'Ana');
    assert.equal(author({}), null);
    assert.equal(author({ author: 'line-3 operator', name: 'panel' }), 'line-3 operator');
    assert.equal(author({ author: null, name: 'panel' }), 'panel');
  });
});

test('the API lives next to the page, under any prefix', () => {
  assert.equal(apiURL('http://box:3333/?doc=a#token=x', 'docs'), 'http://box:3333/api/docs');
  assert.equal(apiURL('https://example.com/todo/?doc=a', 'docs/a/history?since=3'), 'https://example.com/todo/api/docs/a/history?since=3');
});

test('a past state compared with now, and the confirmation that says what a restore changes', () => {
  const past = { name: 'A', todos: { 1: { name: 'milk', completed: false }, 2: { name: 'tea', completed: false } } };
  const now = { name: 'B', todos: { 2: { name: 'tea', completed: true }, 3: { name: 'jam', completed: false } } };
  const comparison = compareStates(past, now);
  assert.deepEqual(comparison.rows.map((row) => [row.index, row.mark]), [[1, 'gone'], [2, 'changed'], [3, 'new']]);
  assert.equal(comparison.renamed, true);
  assert.equal(restoreSummary(7, comparison),
    'Restoring version 7 will bring back 1 item, remove 1 item, change 1 item and restore the list name. It is added to the history, so it can be undone.');
});

describe('rows named as they were', () => {
  const before = { name: 'L', todos: { 1: { name: 'bread', completed: true }, 3: { name: 'jam', completed: true }, 4: { name: 'tea', completed: false } } };

  test('a removal names the row it removed, from the state before', () => {
    assert.equal(summarize(event({ type: 'Remove', index: 4 }, [{ op: 'remove', path: '/todos/4' }]), before, null), "removed 'tea'");
    assert.equal(summarize(event({ type: 'RemoveCompleted' }, [{ op: 'remove', path: '/todos/1' }, { op: 'remove', path: '/todos/3' }]), before, null),
      "removed 2 completed items: 'bread', 'jam'");
  });

  test('a rename says what the row was called', () => {
    const after = { name: 'L', todos: { 4: { name: 'green tea', completed: false } } };
    assert.equal(summarize(event({ type: 'Update', index: 4, row: { name: 'green tea', completed: false } },
      [{ op: 'replace', path: '/todos/4/name', value: 'green tea' }]), before, after), "renamed 'tea' to 'green tea'");
  });
});

describe('groupHistory', () => {
  const typed = (text, { client = 'tab-a', start = 1, time = 1000, step = 300 } = {}) => Array.from(text).map((_, at) => ({
    version: start + at, time: time + at * step, client,
    action: { type: 'ChangeName', name: text.slice(0, at + 1) },
    ops: [{ op: 'replace', path: '/name', value: text.slice(0, at + 1) }],
  }));

  test('typing a 30-character name is one entry, the newest version, expandable to every keystroke', () => {
    const name = 'Line 3 – shift change, bay 12!';
    assert.equal(Array.from(name).length, 30);
    const groups = groupHistory(typed(name), { name: '', todos: {} });
    assert.equal(groups.length, 1);
    assert.equal(groups[0].version, 30);
    assert.equal(groups[0].summary, `renamed the list to '${name}'`);
    assert.deepEqual(groups[0].members.map((member) => member.version), Array.from({ length: 30 }, (_, at) => 30 - at));
    assert.equal(groups[0].members.at(-1).summary, "renamed the list to 'L'");
  });

  test('another client, a pause or another field starts a new entry', () => {
    const events = [
      ...typed('ab', { start: 1 }),
      ...typed('cd', { start: 3, client: 'tab-b', time: 2000 }),
      ...typed('ef', { start: 5, client: 'tab-b', time: 2300 + GROUP_GAP_MS + 1 }),
    ];
    assert.deepEqual(groupHistory(events).map((group) => group.version), [6, 4, 2]);
    const tick = { version: 7, time: 99999, client: 'tab-b', action: { type: 'Update', index: 1, row: { name: 'x', completed: true } },
      ops: [{ op: 'replace', path: '/todos/1/completed', value: true }] };
    const rename = { version: 8, time: 99999, client: 'tab-b', action: { type: 'Update', index: 1, row: { name: 'y', completed: true } },
      ops: [{ op: 'replace', path: '/todos/1/name', value: 'y' }] };
    assert.equal(groupHistory([...events, tick, rename]).length, 5);
  });

  test('events without a client are never grouped', () => {
    assert.equal(groupHistory(typed('abc', { client: null })).length, 3);
  });

  test('a new row and its name typed after it read as one addition', () => {
    const events = [
      { version: 1, time: 0, client: 'c', action: { type: 'Add', row: { name: '', completed: false } },
        ops: [{ op: 'add', path: '/todos/1', value: { name: '', completed: false } }] },
      ...['m', 'mi', 'mil', 'milk'].map((name, at) => ({ version: 2 + at, time: 100 * (at + 1), client: 'c',
        action: { type: 'Update', index: 1, row: { name, completed: false } }, ops: [{ op: 'replace', path: '/todos/1/name', value: name }] })),
      { version: 6, time: 600, client: 'c', action: { type: 'Remove', index: 1 }, ops: [{ op: 'remove', path: '/todos/1' }] },
    ];
    assert.deepEqual(groupHistory(events, { name: '', todos: {} }).map((group) => [group.version, group.summary]),
      [[6, "removed 'milk'"], [5, "added 'milk'"]]);
    // Without the state before the first event, the names come from the actions.
    assert.deepEqual(groupHistory(events.slice(0, 5)).map((group) => group.summary), ["added 'milk'"]);
  });

  test('only single-value edits group', () => {
    assert.deepEqual(editedField({ ops: [{ op: 'replace', path: '/name', value: 'x' }] }), { path: '/name', created: false });
    assert.equal(editedField({ ops: [{ op: 'replace', path: '/a', value: 1 }, { op: 'replace', path: '/b', value: 2 }] }), null);
    assert.equal(editedField({ ops: [{ op: 'remove', path: '/todos/1' }] }), null);
  });
});

test('the preview says what a restore does to each row', () => {
  assert.deepEqual(RESTORE_LABELS, { gone: 'comes back', changed: 'changes back', new: 'goes away' });
});
