// History summaries of a declared type: the schema's titles, items by name, the new value.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { summarizeTyped, labelsOf, formatValue, titleOf, compareTyped } from '../../Sources/WebAssets/Public/type-history.js';
import { groupHistory, restoreSummary } from '../../Sources/WebAssets/Public/history.js';

const line = JSON.parse(readFileSync(new URL('../../examples/types/line.json', import.meta.url)));
// A schema whose list items name themselves (`x-patchsync.title` inside the item's schema).
const crew = {
  type: 'object',
  properties: {
    shift: { title: 'Shift', type: 'string' },
    people: {
      title: 'Crew',
      type: 'array',
      items: {
        title: 'Person',
        type: 'object',
        properties: { name: { title: 'Name', type: 'string' }, station: { title: 'Station', type: 'integer' } },
        'x-patchsync': { title: '/name' },
      },
    },
  },
  'x-patchsync': { title: '/shift' },
};
const state = {
  name: 'Line 3',
  machines: { M1: { status: 'stop', good: 4, scrap: 0 } },
  alarms: [{ machine: 'M1', code: 'E101', since: '2026-01-01T00:00:00Z' }],
};
const event = (ops, extra = {}) => ({ version: 2, time: 0, action: { type: 'Patch' }, ops, ...extra });

describe('summarizeTyped', () => {
  test('names the field by its titles and says the new value; test ops are left out', () => {
    const ops = [{ op: 'test', path: '/machines/M1/status', value: 'stop' }, { op: 'replace', path: '/machines/M1/status', value: 'run' }];
    assert.equal(summarizeTyped(line, event(ops)), "set Machines › M1 › Status to 'run'");
    assert.equal(summarizeTyped(line, event([{ op: 'replace', path: '/machines/M1/good', value: 12 }])), 'set Machines › M1 › Good parts to 12');
    assert.equal(summarizeTyped(line, event([{ op: 'replace', path: '/name', value: '' }])), 'cleared Line');
  });

  test('reads the value from the state after the change when it is known', () => {
    const after = { ...state, name: 'Line 3 – shift change' };
    assert.equal(summarizeTyped(line, event([{ op: 'replace', path: '/name', value: 'L' }]), state, after),
      "set Line to 'Line 3 – shift change'");
  });

  test('adds and removals name the member or item', () => {
    assert.equal(summarizeTyped(line, event([{ op: 'add', path: '/machines/M7', value: { status: 'stop', good: 0, scrap: 0 } }])),
      'added Machines › M7');
    assert.equal(summarizeTyped(line, event([{ op: 'remove', path: '/alarms/0' }]), state, { ...state, alarms: [] }),
      'removed Open alarms › Item 1');
    assert.equal(summarizeTyped(line, event([{ op: 'replace', path: '/alarms/0/acknowledged', value: true }])),
      'set Open alarms › Item 1 › Acknowledged to yes');
  });

  test("an item is named by the string at its schema's x-patchsync.title, as it was then", () => {
    const before = { shift: 'Night', people: [{ name: 'Ana', station: 1 }, { name: 'Bo', station: 2 }] };
    const after = { shift: 'Night', people: [{ name: 'Ana', station: 1 }, { name: 'Bo', station: 5 }] };
    assert.equal(summarizeTyped(crew, event([{ op: 'replace', path: '/people/1/station', value: 5 }]), before, after),
      "set Crew › 'Bo' › Station to 5");
    assert.equal(summarizeTyped(crew, event([{ op: 'remove', path: '/people/0' }]), before, { ...before, people: [before.people[1]] }),
      "removed Crew › 'Ana'");
    // Without the states the item falls back to its schema's title and position.
    assert.equal(summarizeTyped(crew, event([{ op: 'remove', path: '/people/0' }])), 'removed Crew › Person 1');
    assert.deepEqual(labelsOf(crew, ['people', '0', 'name'], before), ['Crew', "'Ana'", 'Name']);
  });

  test('many values at once say where they are; a restore says so', () => {
    const ops = ['good', 'scrap', 'speed'].map((key) => ({ op: 'replace', path: `/machines/M1/${key}`, value: 1 }));
    assert.equal(summarizeTyped(line, event(ops)), 'changed 3 values in Machines › M1');
    assert.equal(summarizeTyped(line, event([], { action: { type: 'Revert', version: 4 } })), 'restored version 4');
  });

  test('values read short', () => {
    assert.equal(formatValue('x'.repeat(80)).length, 62);
    assert.equal(formatValue(false), 'no');
    assert.equal(titleOf(line, state), 'Line 3');
  });
});

describe('groupHistory with a declared type', () => {
  test('typing a field is one entry saying what it became', () => {
    const base = { ...state, name: '' };
    const events = ['L', 'Li', 'Lin', 'Line 9'].map((name, at) => ({
      version: at + 1, time: at * 100, client: 'tab', action: { type: 'Patch' },
      ops: [{ op: 'test', path: '/name', value: at === 0 ? '' : ['L', 'Li', 'Lin'][at - 1] }, { op: 'replace', path: '/name', value: name }],
    }));
    const groups = groupHistory(events, base, (e, before, after) => summarizeTyped(line, e, before, after));
    assert.equal(groups.length, 1);
    assert.equal(groups[0].summary, "set Line to 'Line 9'");
    assert.equal(groups[0].members.length, 4);
  });
});

describe('focusLabel', () => {
  test("names what another person's control edits, for the People panel", async () => {
    const { focusLabel } = await import('../../Sources/WebAssets/Public/type-history.js');
    assert.equal(focusLabel(line, '/machines/M1/status', state), 'Machines › M1 › Status');
    assert.equal(focusLabel(crew, '/people/0/station', { shift: '', people: [{ name: 'Ana', station: 1 }] }), "Crew › 'Ana' › Station");
    assert.equal(focusLabel(line, null, state), null);
  });
});

describe('compareTyped (the restore preview of a declared type)', () => {
  const now = {
    name: 'Line 3 – late shift',
    machines: { M1: { status: 'run', good: 4, scrap: 0 }, M7: { status: 'stop', good: 0, scrap: 0 } },
    alarms: [],
  };

  test('lists each value that differs, in the schema\'s words, by what a restore does to it', () => {
    const comparison = compareTyped(line, state, now);
    assert.deepEqual(comparison.rows, [
      { name: "Line: 'Line 3'", mark: 'changed' },
      { name: "Machines › M1 › Status: 'stop'", mark: 'changed' },
      { name: 'Machines › M7', mark: 'new' },
      { name: 'Open alarms › Item 1', mark: 'gone' },
    ]);
    assert.equal(comparison.heading, 'Production line: Line 3');
    assert.deepEqual(comparison.counts, { back: 1, drop: 1, change: 2 });
    assert.match(restoreSummary(5, comparison), /will bring back 1 item, remove 1 item and change 2 items/);
  });

  test('an equal state changes nothing; a schema without a title pointer says how many values', () => {
    assert.deepEqual(compareTyped(line, state, state).rows, []);
    const untitled = { type: 'object', properties: { count: { title: 'Count', type: 'integer' } } };
    const comparison = compareTyped(untitled, { count: 1 }, { count: 2 });
    assert.deepEqual(comparison.rows, [{ name: 'Count: 1', mark: 'changed' }]);
    assert.equal(comparison.heading, 'What restoring it changes (1 value)');
  });
});

