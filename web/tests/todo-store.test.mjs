// The page's model: server echoes never overwrite text the person is still typing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { TodoStore, fieldKey } from '../../Sources/WebAssets/Public/todo-store.js';

function loadedStore(todo = { name: '', todos: {} }, version = 0) {
  const store = new TodoStore();
  store.receive({ type: 'Full', todo, version });
  return store;
}

// What the server does with an action: one Patch to everyone, then an Ack to the sender.
function serverEcho(store, version, ops, id) {
  store.receive({ type: 'Patch', ops, version });
  if (id !== undefined) store.receive({ type: 'Ack', id, version });
}

// A deterministic stand-in for the server: applies actions in order, one Patch and one Ack each.
class FakeServer {
  constructor() {
    this.document = { name: '', todos: {} };
    this.version = 0;
    this.queue = [];
    this.received = 0;
  }

  processNext(store) {
    const action = this.queue.shift();
    this.received += 1;
    const ops = [];
    if (action.type === 'ChangeName' && action.name !== this.document.name) {
      this.document.name = action.name;
      ops.push({ op: 'replace', path: '/name', value: action.name });
    }
    if (ops.length > 0) {
      this.version += 1;
      store.receive({ type: 'Patch', ops, version: this.version });
    }
    const answer = store.receive({ type: 'Ack', id: action.id, version: this.version });
    this.queue.push(...answer.send);
  }
}

function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('TodoStore', () => {
  test('is loading until the first Full', () => {
    const store = new TodoStore();
    assert.equal(store.loaded, false);
    store.receive({ type: 'Full', todo: { name: 'Chores', todos: { 2: { name: 'b', completed: true }, 1: { name: 'a', completed: false } } }, version: 7 });
    assert.equal(store.loaded, true);
    assert.equal(store.resumeVersion, 7);
    assert.deepEqual(store.view(), {
      name: 'Chores',
      rows: [{ index: 1, name: 'a', completed: false }, { index: 2, name: 'b', completed: true }],
    });
  });

  test('fast typing keeps every character although stale echoes arrive', () => {
    const store = loadedStore();
    const server = new FakeServer();
    const sentence = 'The quick brown fox jumps over the lazy dog';
    const random = seededRandom(7);
    for (let i = 1; i <= sentence.length; i += 1) {
      const typed = sentence.slice(0, i);
      const action = store.changeName(typed);
      if (action) server.queue.push(action);
      // The server answers some queued actions between keystrokes, in order.
      while (server.queue.length > 0 && random() < 0.4) server.processNext(store);
      assert.equal(store.view().name, typed, 'the field always shows what was typed');
    }
    while (server.queue.length > 0) server.processNext(store);
    assert.equal(server.document.name, sentence);
    assert.equal(store.view().name, sentence);
    assert.equal(store.isPending(fieldKey.listName), false);
    assert.ok(server.received < sentence.length, `coalesced into ${server.received} actions`);
  });

  test('one action per target is in flight; the next carries the latest text', () => {
    const store = loadedStore();
    const first = store.changeName('a');
    assert.deepEqual(first, { type: 'ChangeName', name: 'a', id: 1 });
    assert.equal(store.changeName('ab'), null);
    assert.equal(store.changeName('abc'), null);
    serverEcho(store, 1, [{ op: 'replace', path: '/name', value: 'a' }]);
    const answer = store.receive({ type: 'Ack', id: first.id, version: 1 });
    assert.deepEqual(answer.send, [{ type: 'ChangeName', name: 'abc', id: 2 }]);
    assert.equal(store.view().name, 'abc');
  });

  test('an Error for an own edit returns the field to the server value', () => {
    const store = loadedStore({ name: 'Kept', todos: {} });
    const action = store.changeName('Rejected');
    assert.equal(store.view().name, 'Rejected');
    const result = store.receive({ type: 'Error', id: action.id, code: 'invalid-action', message: 'name too long' });
    assert.deepEqual(result.error, { id: action.id, code: 'invalid-action', message: 'name too long' });
    assert.equal(store.view().name, 'Kept');
  });

  test('Update sends the whole row, with the other field as last known', () => {
    const store = loadedStore({ name: '', todos: { 3: { name: 'Tea', completed: false } } });
    const tick = store.updateRow(3, { completed: true });
    assert.deepEqual(tick, { type: 'Update', index: 3, row: { name: 'Tea', completed: true }, id: 1 });
    assert.equal(store.updateRow(3, { name: 'Green tea' }), null);
    assert.deepEqual(store.view().rows, [{ index: 3, name: 'Green tea', completed: true }]);
    serverEcho(store, 1, [{ op: 'replace', path: '/todos/3/completed', value: true }]);
    assert.deepEqual(store.receive({ type: 'Ack', id: tick.id, version: 1 }).send,
      [{ type: 'Update', index: 3, row: { name: 'Green tea', completed: true }, id: 2 }]);
  });

  test('an edit queued for a row that someone removed is dropped, not sent', () => {
    const store = loadedStore({ name: '', todos: { 1: { name: 'a', completed: false } } });
    const first = store.updateRow(1, { name: 'ab' });
    assert.equal(store.updateRow(1, { name: 'abc' }), null);
    store.receive({ type: 'Patch', ops: [{ op: 'replace', path: '/todos/1/name', value: 'ab' }], version: 1 });
    store.receive({ type: 'Patch', ops: [{ op: 'remove', path: '/todos/1' }], version: 2 });
    assert.deepEqual(store.receive({ type: 'Ack', id: first.id, version: 1 }).send, []);
    assert.deepEqual(store.view().rows, []);
  });

  test('actions carry the shapes of the protocol', () => {
    const store = loadedStore({ name: '', todos: { 1: { name: 'x', completed: true } } });
    assert.deepEqual(store.addRow(), { type: 'Add', row: { name: '', completed: false }, id: 1 });
    assert.deepEqual(store.removeRow(1), { type: 'Remove', index: 1, id: 2 });
    assert.deepEqual(store.removeCompleted(), { type: 'RemoveCompleted', id: 3 });
    assert.deepEqual(store.changeName('n'), { type: 'ChangeName', name: 'n', id: 4 });
  });

  test('a removed row disappears at once and stays gone after the Ack', () => {
    const store = loadedStore({ name: '', todos: { 1: { name: 'a', completed: false }, 2: { name: 'b', completed: false } } });
    const action = store.removeRow(1);
    assert.deepEqual(store.view().rows.map((row) => row.index), [2]);
    serverEcho(store, 1, [{ op: 'remove', path: '/todos/1' }], action.id);
    assert.deepEqual(store.view().rows.map((row) => row.index), [2]);
  });

  test('the Ack of an own Add names the new row when its Patch came coalesced with a later change', () => {
    const store = loadedStore({ name: '', todos: {} }, 10);
    const action = store.addRow();
    const ops = [{ op: 'add', path: '/todos/1', value: { name: '', completed: false } }, { op: 'replace', path: '/name', value: 'x' }];
    assert.deepEqual(store.receive({ type: 'Patch', ops, version: 12, from: 10 }).newRows, [1]);
    assert.deepEqual(store.receive({ type: 'Ack', id: action.id, version: 11 }).addedByMe, [1]);
  });

  test('the Ack of an own Add names the new row', () => {
    const store = loadedStore({ name: '', todos: { 4: { name: 'a', completed: false } } }, 10);
    const action = store.addRow();
    const patch = store.receive({ type: 'Patch', ops: [{ op: 'add', path: '/todos/5', value: { name: '', completed: false } }], version: 11 });
    assert.deepEqual(patch.newRows, [5]);
    assert.deepEqual(store.receive({ type: 'Ack', id: action.id, version: 11 }).addedByMe, [5]);
  });

  test('duplicate patches are skipped, a gap or a bad patch asks for a fresh Full', () => {
    const store = loadedStore({ name: 'a', todos: {} }, 5);
    assert.equal(store.receive({ type: 'Patch', ops: [{ op: 'replace', path: '/name', value: 'old' }], version: 5 }).changes.any, false);
    assert.equal(store.view().name, 'a');
    assert.match(store.receive({ type: 'Patch', ops: [], version: 7 }).resync, /missed versions 6\.\.6/);
    assert.match(store.receive({ type: 'Patch', ops: [{ op: 'remove', path: '/nope' }], version: 6 }).resync, /did not apply/);
    assert.equal(store.view().name, 'a');
    store.forgetVersion();
    assert.equal(store.resumeVersion, null);
  });

  test('a coalesced Patch applies when its from is the current version, and asks for a Full otherwise', () => {
    const store = loadedStore({ name: 'a', todos: {} }, 5);
    const ops = [
      { op: 'replace', path: '/name', value: 'b' },
      { op: 'add', path: '/todos/1', value: { name: 'x', completed: false } },
    ];
    assert.match(store.receive({ type: 'Patch', ops, version: 8, from: 6 }).resync, /missed versions 6\.\.6/);
    assert.equal(store.view().name, 'a');
    const applied = store.receive({ type: 'Patch', ops, version: 7, from: 5 });
    assert.equal(applied.resync, undefined);
    assert.equal(store.view().name, 'b');
    assert.equal(store.resumeVersion, 7);
    assert.equal(store.receive({ type: 'Patch', ops: [], version: 9, from: 7 }).resync, undefined);
    assert.equal(store.resumeVersion, 9);
  });

  test('an edit in flight outlives a reconnect and a fresh Full, and settles on its resent Ack', () => {
    const store = loadedStore({ name: 'a', todos: {} }, 3);
    const action = store.changeName('ab');
    assert.equal(store.changeName('abc'), null);
    store.receive({ type: 'Full', todo: { name: 'z', todos: {} }, version: 9 });
    assert.equal(store.view().name, 'abc', 'the field keeps what was typed');
    assert.equal(store.resumeVersion, 9);
    serverEcho(store, 10, [{ op: 'replace', path: '/name', value: 'ab' }], action.id);
    assert.equal(store.queuedCount, 0);
    assert.equal(store.view().name, 'abc');
  });

  test('pending actions and the edits queued behind them are taken up again after a reload', () => {
    const before = loadedStore({ name: 'L', todos: { 1: { name: 'a', completed: false }, 2: { name: 'b', completed: false } } }, 4);
    const actions = [before.changeName('L2'), before.updateRow(1, { completed: true }), before.removeRow(2), before.addRow()];
    assert.equal(before.changeName('L23'), null);
    assert.equal(before.updateRow(1, { name: 'a!' }), null);
    const queued = before.queuedValues();
    assert.deepEqual(queued, { name: 'L23', 'todos/1/name': 'a!', 'todos/1/completed': true });
    assert.equal(before.queuedCount, 2);

    const after = new TodoStore({ makeId: () => 'next' });
    after.restorePending(actions, queued);
    after.receive({ type: 'Full', todo: { name: 'L', todos: { 1: { name: 'a', completed: false }, 2: { name: 'b', completed: false } } }, version: 4 });
    assert.deepEqual(after.view(), { name: 'L23', rows: [{ index: 1, name: 'a!', completed: true }] });
    assert.equal(after.queuedCount, 2);
    // The answers settle them; the queued edits then go out as one action per target.
    const named = after.receive({ type: 'Ack', id: actions[0].id, version: 5 });
    assert.deepEqual(named.send, [{ type: 'ChangeName', name: 'L23', id: 'next' }]);
    const updated = after.receive({ type: 'Ack', id: actions[1].id, version: 6 });
    assert.deepEqual(updated.send, [{ type: 'Update', index: 1, row: { name: 'a!', completed: true }, id: 'next' }]);
    after.receive({ type: 'Error', id: actions[2].id, code: 'invalid_index', message: 'no row 2' });
    assert.deepEqual(after.view().rows.map((row) => row.index), [1, 2], 'a refused removal shows the row again');
  });

  test('a Patch reports the rows and fields it changed, and the order follows rows coming and going', () => {
    const store = loadedStore({ name: 'L', todos: { 1: { name: 'a', completed: false }, 3: { name: 'c', completed: false } } }, 1);
    let result = store.receive({ type: 'Patch', ops: [{ op: 'add', path: '/todos/2', value: { name: 'b', completed: false } }], version: 2 });
    assert.deepEqual([...result.changes.rows], [2]);
    assert.equal(result.changes.name || result.changes.all, false);
    assert.deepEqual(result.newRows, [2]);
    assert.deepEqual(store.order, [1, 2, 3]);
    assert.equal(store.rowAfter(1), 2);
    result = store.receive({ type: 'Patch', ops: [{ op: 'remove', path: '/todos/1' }, { op: 'replace', path: '/name', value: 'M' }], version: 3 });
    assert.deepEqual([...result.changes.rows], [1]);
    assert.equal(result.changes.name, true);
    assert.deepEqual(store.order, [2, 3]);
    assert.equal(store.row(1), null);
    result = store.receive({ type: 'Patch', ops: [{ op: 'replace', path: '/todos', value: { 7: { name: 'g', completed: true } } }], version: 4 });
    assert.equal(result.changes.all, true);
    assert.deepEqual(store.view(), { name: 'M', rows: [{ index: 7, name: 'g', completed: true }] });
  });

  test('a Patch is applied where the document is, not to a copy', () => {
    const todos = {};
    for (let i = 1; i <= 1000; i += 1) todos[i] = { name: `row ${i}`, completed: false };
    const store = loadedStore({ name: '', todos }, 1);
    const untouched = store.document.todos[500];
    store.receive({ type: 'Patch', ops: [{ op: 'replace', path: '/todos/1/name', value: 'x' }], version: 2 });
    assert.equal(store.document.todos[500], untouched);
    assert.equal(store.row(1).name, 'x');
  });

  test('a row removed optimistically comes back when the server refuses the removal', () => {
    const store = loadedStore({ name: '', todos: { 1: { name: 'a', completed: false }, 2: { name: 'b', completed: false } } }, 1);
    const action = store.removeRow(1);
    assert.equal(store.row(1), null);
    assert.equal(store.rowAfter(0), 2);
    const result = store.receive({ type: 'Error', id: action.id, code: 'storage_unavailable', message: 'disk full' });
    assert.deepEqual([...result.changes.rows], [1]);
    assert.deepEqual(store.row(1), { index: 1, name: 'a', completed: false });
  });

  test('a coalesced Patch applies when its from is the page\'s version; otherwise it asks for a resync', () => {
    const store = loadedStore({ name: 'a', todos: {} }, 5);
    const ops = [{ op: 'replace', path: '/name', value: 'b' }];
    assert.match(store.receive({ type: 'Patch', ops, from: 6, version: 9 }).resync, /missed versions 6\.\.6/);
    assert.match(store.receive({ type: 'Patch', ops, from: 4, version: 9 }).resync, /overlaps/);
    assert.equal(store.receive({ type: 'Patch', ops, from: 5, version: 9 }).changes.name, true);
    assert.equal(store.resumeVersion, 9);
    assert.equal(store.name, 'b');
  });

  test('ignores messages it does not know', () => {
    const store = loadedStore();
    assert.equal(store.receive({ type: 'Hello' }).changes.any, false);
    assert.equal(store.receive(null).changes.any, false);
  });
});
