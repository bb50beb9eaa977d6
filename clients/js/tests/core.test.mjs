// ClientCore, the protocol state machine of clients/js/patchsync.js, fed messages by hand (no
// sockets), and the document's refusal rules. The page's building blocks (Connection, Outbox,
// the JSON Patch applier) are tested in web/tests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ClientCore, Outbox, PatchsyncError, connect, memoryStorage } from '../patchsync.js';

function loaded(version = 3) {
  const core = new ClientCore({ outbox: new Outbox({ storage: memoryStorage(), key: 'k' }), client: 'c1' });
  core.receive({ type: 'Full', todo: { name: '', todos: {} }, version, role: 'editor' });
  return core;
}

describe('ClientCore', () => {
  it('loads the Full without a change and names since and client in the URL', () => {
    const core = new ClientCore({ outbox: new Outbox({ storage: null, key: 'k' }), client: 'c1' });
    assert.equal(core.url('ws://h:1/ws/line'), 'ws://h:1/ws/line?client=c1');
    assert.deepEqual(core.receive({ type: 'Full', todo: { name: 'x', todos: {} }, version: 4, role: 'viewer' }), []);
    assert.equal(core.role, 'viewer');
    assert.equal(core.url('ws://h:1/ws/line?since=1', 't'), 'ws://h:1/ws/line?since=4&client=c1&token=t');
  });

  it('keeps a declared type under state', () => {
    const core = new ClientCore({ outbox: new Outbox({ storage: null, key: 'k' }), client: 'c1' });
    core.receive({ type: 'Full', state: { machines: {} }, version: 0, model: 'line' });
    assert.deepEqual(core.state, { machines: {} });
    assert.equal(core.stateKey, 'state');
  });

  it('applies a Patch that follows and reports it as a change', () => {
    const core = loaded();
    const [event] = core.receive({ type: 'Patch', ops: [{ op: 'replace', path: '/name', value: 'L3' }], version: 4, from: 3 });
    assert.equal(event.change.version, 4);
    assert.equal(core.state.name, 'L3');
  });

  it('asks to resume from its version on a gap and ignores old Patches', () => {
    const core = loaded();
    assert.deepEqual(core.receive({ type: 'Patch', ops: [], version: 3, from: 2 }), []);
    const [event] = core.receive({ type: 'Patch', ops: [], version: 6, from: 5 });
    assert.match(event.resync, /from version 5 to 6 does not follow version 3/);
    assert.equal(core.version, 3);
  });

  it('asks for a Full when a Patch does not apply, leaving the state as it was', () => {
    const core = loaded();
    const [event] = core.receive({ type: 'Patch', ops: [{ op: 'add', path: '/name', value: 'x' }, { op: 'remove', path: '/nope' }], version: 4, from: 3 });
    assert.ok(event.full);
    assert.equal(core.version, null);
    assert.equal(core.state.name, '');
  });

  it('gives actions ids, keeps them until answered and resends them in order', () => {
    const core = loaded();
    const first = core.submit({ type: 'Add', row: { name: 'a', completed: false } });
    const second = core.submit({ type: 'RemoveCompleted', id: 7 });
    assert.equal(typeof first.id, 'string');
    assert.deepEqual(core.opened(), [first, second]);
    assert.deepEqual(core.receive({ type: 'Ack', id: '7', version: 9 }), []);
    assert.deepEqual(core.receive({ type: 'Ack', id: 7, version: 9 }), [{ answered: 7, version: 9 }]);
    assert.deepEqual(core.opened(), [first]);
    assert.throws(() => core.submit({ type: 'X', id: first.id }), /already waiting/);
    assert.throws(() => core.submit({ row: {} }), TypeError);
  });

  it('keeps an action refused for now and settles one refused for good', () => {
    const core = loaded();
    const action = core.submit({ type: 'Remove', index: 1 });
    assert.deepEqual(core.receive({ type: 'Error', id: action.id, code: 'rate_limited', message: 'm' }), [{ retryLater: action.id, code: 'rate_limited' }]);
    assert.deepEqual(core.outbox.takeRetries(), [action]);
    const [event] = core.receive({ type: 'Error', id: action.id, code: 'conflict', message: 'm', version: 8 });
    assert.ok(event.error instanceof PatchsyncError);
    assert.equal(event.error.code, 'conflict');
    assert.equal(event.error.version, 8);
    assert.equal(core.outbox.size, 0);
  });

  it('follows presence and says Hello and Focus again after a reconnect', () => {
    const core = loaded();
    core.hello('gateway');
    core.setFocus('/todos/1');
    assert.deepEqual(core.opened(), [{ type: 'Hello', name: 'gateway' }, { type: 'Focus', focus: '/todos/1' }]);
    const entry = { session: 1, name: 'gateway', client: 'c1', since: 0, role: 'editor', focus: null };
    core.receive({ type: 'Presence', sessions: [entry] });
    core.receive({ type: 'PresenceJoin', session: { ...entry, session: 2 } });
    core.receive({ type: 'PresenceFocus', session: 2, focus: '/name' });
    core.receive({ type: 'PresenceLeave', session: 1 });
    assert.deepEqual([...core.people.keys()], [2]);
    assert.equal(core.people.get(2).focus, '/name');
    core.lost();
    assert.equal(core.people.size, 0);
  });
});

describe('connect', () => {
  it('refuses a URL that is not ws:// or wss://, and a missing WebSocket', async () => {
    await assert.rejects(connect('http://127.0.0.1:1/ws', { WebSocket: class {} }), /not a ws/);
    await assert.rejects(connect('ws://127.0.0.1:1/ws', { WebSocket: undefined }), /no WebSocket/);
    await assert.rejects(connect('ws://127.0.0.1:1/ws', { client: 'a b', WebSocket: class {} }), /client id/);
  });
});

// A WebSocket stand-in that plays a server's part: opens, sends a Full, then closes as told.
function fakeSocket(script) {
  const sockets = [];
  class FakeWebSocket {
    static OPEN = 1;
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.();
        script(this);
      }, 0);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.readyState = 3; }
    message(value) { this.onmessage?.({ data: JSON.stringify(value) }); }
    end(code, reason) { this.readyState = 3; this.onclose?.({ code, reason }); }
  }
  return { FakeWebSocket, sockets };
}

describe('refusals a retry cannot fix', () => {
  it('a session closed with 1008 "token expired" rejects the waiting send and does not reconnect', async () => {
    const { FakeWebSocket, sockets } = fakeSocket((socket) => socket.message({ type: 'Full', todo: { name: '', todos: {} }, version: 0 }));
    const doc = await connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWebSocket, logger: { warn() {} }, backoff: { initial: 1, max: 1 } });
    const sending = doc.send({ type: 'RemoveCompleted' });
    sockets[0].end(1008, 'token expired');
    await assert.rejects(sending, (error) => error.code === 'token_expired');
    await assert.rejects(doc.send({ type: 'RemoveCompleted' }), (error) => error.code === 'token_expired');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sockets.length, 1);
  });

  it('a refused upgrade (HTTP 403, as Node\'s ws reports it) rejects connect', async () => {
    const { FakeWebSocket } = fakeSocket(() => {});
    class Refused extends FakeWebSocket {
      constructor(url) {
        super(url);
        setTimeout(() => {
          this.onerror?.({ message: 'Unexpected server response: 403' });
          this.end(1006, '');
        }, 0);
      }
    }
    await assert.rejects(connect('ws://127.0.0.1:1/ws', { WebSocket: Refused, logger: { warn() {} } }), (error) => error.code === 'http_403');
  });

  it('any other lost connection is retried and resumed from the version held', async () => {
    let opened = 0;
    const { FakeWebSocket, sockets } = fakeSocket((socket) => {
      opened += 1;
      if (opened === 1) {
        socket.message({ type: 'Full', todo: { name: '', todos: {} }, version: 4 });
      }
    });
    const doc = await connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWebSocket, logger: { warn() {} }, backoff: { initial: 1, max: 1 } });
    const sending = doc.send({ type: 'RemoveCompleted', id: 'r1' });
    sockets[0].end(1001, 'shutdown');
    while (sockets.length < 2 || sockets[1].readyState !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.match(sockets[1].url, /since=4/);
    assert.deepEqual(sockets[1].sent, [{ type: 'RemoveCompleted', id: 'r1' }]);
    sockets[1].message({ type: 'Ack', id: 'r1', version: 4 });
    assert.equal(await sending, 4);
    await doc.close();
  });
});
