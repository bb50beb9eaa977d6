// The tab's client id: kept over a reload, fresh in a duplicated tab.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { tabClient } from '../../Sources/WebAssets/Public/tab-client.js';

class MemoryStorage {
  constructor(items = new Map()) { this.items = new Map(items); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

// BroadcastChannel between the "tabs" of this process, counting the questions asked.
const opened = [];
let asked = 0;
class Channel extends BroadcastChannel {
  constructor(name) {
    super(name);
    opened.push(this);
  }

  postMessage(message) {
    if (message?.asks) asked += 1;
    super.postMessage(message);
  }
}

afterEach(() => {
  for (const channel of opened.splice(0)) channel.close();
  asked = 0;
});

let made = 0;
const makeId = () => `id-${++made}`;
const open = (storage, page = new EventTarget()) => tabClient({ storage, makeId, page, Channel, answerWithin: 200 });

describe('tabClient', () => {
  test('a new tab makes an id; a reload of the tab keeps it without asking anyone', async () => {
    const storage = new MemoryStorage();
    const page = new EventTarget();
    const first = await open(storage, page);
    assert.deepEqual(first, { id: first.id, duplicated: false });
    assert.match(first.id, /^id-\d+$/);
    page.dispatchEvent(new Event('pagehide'));
    const reloaded = await open(storage);
    assert.deepEqual(reloaded, { id: first.id, duplicated: false });
    assert.equal(asked, 0);
  });

  test('a duplicated tab, whose copied id another live tab answers for, takes a fresh one', async () => {
    const original = new MemoryStorage();
    const mine = await open(original);
    const copy = new MemoryStorage(original.items);
    const duplicate = await open(copy);
    assert.equal(duplicate.duplicated, true);
    assert.notEqual(duplicate.id, mine.id);
    assert.equal(copy.getItem('patchsync:client'), duplicate.id);
    assert.equal(original.getItem('patchsync:client'), mine.id, 'the original tab keeps its id');
  });

  test('after a crash (the page never hid) nobody answers, so the tab keeps its id', async () => {
    const storage = new MemoryStorage();
    const before = await open(storage);
    for (const channel of opened.splice(0)) channel.close();
    const after = await open(storage);
    assert.deepEqual(after, { id: before.id, duplicated: false });
    assert.equal(asked, 1);
  });

  test('a stored id the server would refuse is replaced; without storage the id lasts the page', async () => {
    const storage = new MemoryStorage([['patchsync:client', 'not valid!']]);
    const client = await open(storage);
    assert.match(client.id, /^id-\d+$/);
    const refusing = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('SecurityError'); }, removeItem: () => {} };
    assert.match((await open(refusing)).id, /^id-\d+$/);
  });
});
