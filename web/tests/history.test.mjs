// The history panel's summaries, API addresses and restore preview.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, author, apiURL, compareStates, restoreSummary } from '../../Sources/WebAssets/Public/history.js';

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
    assert.equal(summarize(event({ type: 'Remove', index: 4 }, [{ op: 'remove', path: '/todos/4' }])), 'removed item 4');
    assert.equal(summarize(event({ type: 'RemoveCompleted' }, [{ op: 'remove', path: '/todos/1' }, { op: 'remove', path: '/todos/3' }])),
      'removed 2 completed items');
    assert.equal(summarize(event({ type: 'Revert', version: 41 }, [])), 'restored version 41');
    assert.equal(summarize(event({ type: 'Patch' }, [{ op: 'add', path: '/x', value: 1 }])), 'changed 1 value');
  });

  test('names the author only when the event records one', () => {
    assert.equal(author({ name: ' Ana ' }), 'Ana');
    assert.equal(author({}), null);
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
