// The outbox: own actions until answered, kept over a reload of the tab.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, randomId } from '../../clients/js/patchsync.js';

// sessionStorage as a browser gives it: strings in, strings out.
class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

describe('Outbox', () => {
  test('keeps actions in order until each is answered, and a reloaded page finds them', () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox({ storage, key: 'patchsync:outbox:default' });
    const name = { type: 'ChangeName', name: 'a', id: 'x1' };
    const add = { type: 'Add', row: { name: '', completed: false }, id: 'x2' };
    const remove = { type: 'Remove', index: 3, id: 7 };
    outbox.add(name);
    outbox.add(add);
    outbox.add(remove);
    outbox.setQueued({ name: 'abc' });

    const reloaded = new Outbox({ storage, key: 'patchsync:outbox:default' });
    assert.deepEqual(reloaded.actions, [name, add, remove]);
    assert.deepEqual(reloaded.queued, { name: 'abc' });
    assert.equal(reloaded.size, 3);

    assert.equal(reloaded.settle('x2'), true);
    assert.equal(reloaded.settle('7'), false, 'the id 7 and "7" differ');
    assert.equal(reloaded.settle(7), true);
    assert.deepEqual(new Outbox({ storage, key: 'patchsync:outbox:default' }).actions, [name]);
  });

  test('each document has its own outbox, and an empty one leaves nothing stored', () => {
    const storage = new MemoryStorage();
    const shop = new Outbox({ storage, key: 'patchsync:outbox:shop' });
    shop.add({ type: 'RemoveCompleted', id: 'a' });
    assert.equal(new Outbox({ storage, key: 'patchsync:outbox:default' }).size, 0);
    shop.settle('a');
    assert.equal(storage.items.size, 0);
    shop.add({ type: 'RemoveCompleted', id: 'b' });
    shop.clear();
    assert.equal(storage.items.size, 0);
  });

  test('unreadable saved data counts as nothing pending; a refusing storage keeps it in memory', () => {
    const storage = new MemoryStorage();
    storage.setItem('k', '{not json');
    assert.equal(new Outbox({ storage, key: 'k' }).size, 0);
    storage.setItem('k', JSON.stringify({ actions: [null, 3, { type: 'Add' }, { type: 'RemoveCompleted', id: 'ok' }], queued: [1] }));
    const salvaged = new Outbox({ storage, key: 'k' });
    assert.deepEqual(salvaged.actions, [{ type: 'RemoveCompleted', id: 'ok' }]);
    assert.deepEqual(salvaged.queued, {});

    const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => {} };
    const outbox = new Outbox({ storage: full, key: 'k' });
    outbox.add({ type: 'RemoveCompleted', id: 'z' });
    assert.equal(outbox.size, 1);
    assert.equal(new Outbox({ storage: null, key: 'k' }).size, 0);
  });

  test('a refusal a retry may cure keeps the action, to go out again in order; a final one does not', () => {
    const outbox = new Outbox({ storage: new MemoryStorage(), key: 'k' });
    const first = { type: 'ChangeName', name: 'a', id: 'a' };
    const second = { type: 'Add', row: { name: 'b', completed: false }, id: 'b' };
    const third = { type: 'Remove', index: 9, id: 'c' };
    outbox.add(first);
    outbox.add(second);
    outbox.add(third);
    assert.equal(outbox.retryLater({ type: 'Error', id: 'b', code: 'storage_unavailable', message: 'down' }), true);
    assert.equal(outbox.retryLater({ type: 'Error', id: 'a', code: 'rate_limited', message: 'slow down' }), true);
    assert.equal(outbox.retryLater({ type: 'Error', id: 'c', code: 'invalid_index', message: 'no row 9' }), false);
    assert.equal(outbox.retryLater({ type: 'Error', id: 'zz', code: 'storage_unavailable', message: 'down' }), false,
      'not an action of this outbox');
    assert.equal(outbox.size, 3, 'nothing answered for good yet');
    assert.deepEqual(outbox.takeRetries(), [first, second], 'in the order they were first sent');
    assert.deepEqual(outbox.takeRetries(), [], 'each refusal is retried once');
  });
});

describe('randomId', () => {
  test('is a UUID where the browser offers one, else 32 random hex digits; never the same twice', () => {
    assert.match(randomId(), /^[0-9a-f-]{36}$/);
    const insecure = { getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes) };
    const ids = new Set(Array.from({ length: 100 }, () => randomId(insecure)));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  });
});
