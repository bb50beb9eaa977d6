// The WebSocket endpoint next to the page, backoff, and resuming from a version.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { socketURL, pageOptions, refuseAccess, ResumeChoice } from '../../Sources/WebAssets/Public/connection.js';
import { backoffDelay, Connection } from '../../clients/js/patchsync.js';

describe('socketURL', () => {
  test('is "ws" relative to the page, under any path prefix', () => {
    assert.equal(socketURL('http://box.local:3333/'), 'ws://box.local:3333/ws');
    assert.equal(socketURL('https://example.com/todo/'), 'wss://example.com/todo/ws');
    assert.equal(socketURL('https://example.com/todo/index.html?x=1#top'), 'wss://example.com/todo/ws');
  });

  test('asks to resume after a version', () => {
    assert.equal(socketURL('http://127.0.0.1:8080/', 12), 'ws://127.0.0.1:8080/ws?since=12');
    assert.equal(socketURL('http://127.0.0.1:8080/', 0), 'ws://127.0.0.1:8080/ws?since=0');
  });

  test('names the tab\'s client', () => {
    assert.equal(socketURL('http://h:1/?doc=shop#token=t', 3, 'tab-1'), 'ws://h:1/ws/shop?since=3&client=tab-1&token=t');
    assert.equal(socketURL('http://h:1/', null, 'tab-1'), 'ws://h:1/ws?client=tab-1');
  });
});

describe('backoffDelay', () => {
  test('doubles up to the maximum, with jitter between half and all of it', () => {
    assert.equal(backoffDelay(0, { initial: 500, max: 10_000 }, () => 0.999999), 500);
    assert.equal(backoffDelay(3, { initial: 500, max: 10_000 }, () => 0), 2000);
    assert.equal(backoffDelay(50, { initial: 500, max: 10_000 }, () => 0.999999), 10_000);
  });
});

// A stand-in for the browser's WebSocket, driven by the test.
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.sent = [];
    FakeSocket.instances.push(this);
  }

  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  serverOpens() { this.readyState = FakeSocket.OPEN; this.onopen?.(); }
  serverSends(message) { this.onmessage?.({ data: JSON.stringify(message) }); }
  serverGoesAway() { this.readyState = 3; this.onclose?.({ code: 1006 }); }
}

const nextTurn = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Connection', () => {
  test('reports its status, reconnects after a loss and resumes from the last version', async () => {
    FakeSocket.instances = [];
    const statuses = [];
    const messages = [];
    let version = null;
    let lost = 0;
    const connection = new Connection({
      url: (since) => socketURL('http://127.0.0.1:1/', since),
      resumeVersion: () => version,
      onMessage: (message) => { messages.push(message); version = message.version; },
      onStatus: (status) => statuses.push(status),
      onLost: () => { lost += 1; },
      WebSocket: FakeSocket,
      backoff: { initial: 1, max: 2 },
    });
    connection.start();
    assert.equal(connection.send({ type: 'Add' }), false, 'nothing is sent before the socket opens');
    const first = FakeSocket.instances[0];
    assert.equal(first.url, 'ws://127.0.0.1:1/ws');
    first.serverOpens();
    first.serverSends({ type: 'Full', todo: { name: '', todos: {} }, version: 4 });
    assert.equal(connection.send({ type: 'RemoveCompleted', id: 1 }), true);
    assert.deepEqual(first.sent, [{ type: 'RemoveCompleted', id: 1 }]);

    first.serverGoesAway();
    assert.equal(lost, 1);
    assert.equal(statuses.at(-1), 'offline');
    await nextTurn();
    const second = FakeSocket.instances[1];
    assert.ok(second, 'a new socket is opened after the backoff');
    assert.equal(second.url, 'ws://127.0.0.1:1/ws?since=4');
    second.serverOpens();
    assert.deepEqual(statuses, ['connecting', 'connected', 'offline', 'connecting', 'connected']);
    assert.equal(messages.length, 1);
  });

  test('reconnectNow drops the socket and ignores anything the old one still says', () => {
    FakeSocket.instances = [];
    const messages = [];
    const connection = new Connection({
      url: (since) => socketURL('http://127.0.0.1:1/', since),
      resumeVersion: () => null,
      onMessage: (message) => messages.push(message),
      onStatus: () => {},
      WebSocket: FakeSocket,
    });
    connection.start();
    const old = FakeSocket.instances[0];
    old.serverOpens();
    const oldOnMessage = old.onmessage;
    connection.reconnectNow();
    assert.equal(old.readyState, 3);
    oldOnMessage?.({ data: '{"type":"Patch"}' });
    assert.equal(messages.length, 0);
    assert.equal(FakeSocket.instances.length, 2);
    assert.equal(FakeSocket.instances[1].url, 'ws://127.0.0.1:1/ws');
  });

  test('stop closes the socket and retries nothing until started again', async () => {
    FakeSocket.instances = [];
    let lost = 0;
    const connection = new Connection({
      url: (since) => socketURL('http://127.0.0.1:1/', since),
      resumeVersion: () => 7,
      onMessage: () => {},
      onStatus: () => {},
      onLost: () => { lost += 1; },
      WebSocket: FakeSocket,
      backoff: { initial: 1, max: 1 },
    });
    connection.start();
    FakeSocket.instances[0].serverOpens();
    connection.stop();
    assert.equal(FakeSocket.instances[0].readyState, 3);
    assert.equal(lost, 1);
    await nextTurn(20);
    assert.equal(FakeSocket.instances.length, 1, 'no reconnect after stop');
    connection.start();
    assert.equal(FakeSocket.instances[1].url, 'ws://127.0.0.1:1/ws?since=7');
  });
});

describe('pageOptions', () => {
  test('?doc= picks a document and a token is passed on', () => {
    assert.equal(socketURL('http://h:1/todo/?doc=shop-list_2'), 'ws://h:1/todo/ws/shop-list_2');
    assert.equal(socketURL('http://h:1/?doc=shop', 3), 'ws://h:1/ws/shop?since=3');
    assert.equal(socketURL('https://h/#token=s3cret'), 'wss://h/ws?token=s3cret');
    assert.equal(socketURL('https://h/?token=a%26b'), 'wss://h/ws?token=a%26b');
  });

  test('a bad document name is reported, not sent', () => {
    assert.equal(pageOptions('http://h/').problem, null);
    assert.match(pageOptions('http://h/?doc=../etc').problem, /not a list name/);
    assert.match(pageOptions(`http://h/?doc=${'x'.repeat(65)}`).problem, /not a list name/);
  });

  // Last: the refusal stays for the page's life, as it does in a browser.
  test('a refused token is said from then on, and says which refusal it was', () => {
    assert.equal(pageOptions('http://h/').accessRefusal, null);
    refuseAccess(401, null);
    assert.match(pageOptions('http://h/').accessRefusal, /needs an access token/);
    refuseAccess(401, 'typo');
    assert.match(pageOptions('http://h/#token=typo').accessRefusal, /does not accept the access token/);
    refuseAccess(403, 'operator');
    const refused = pageOptions('http://h/?doc=line-4#token=operator');
    assert.match(refused.accessRefusal, /does not let you open this list/);
    assert.equal(refused.problem, null, 'the page still connects');
  });
});

describe('ResumeChoice (a wiped server refuses a resume; the browser sees only a failed connection)', () => {
  test('resumes while connections open, and a Full then says nothing', () => {
    const resume = new ResumeChoice();
    assert.equal(resume.since(7), 7);
    resume.attempting(7);
    resume.open();
    resume.closed(); // an open connection that ends later says nothing about the resume
    assert.equal(resume.since(7), 7);
    assert.equal(resume.full(9), null);
  });

  test('after a resume that never opened, the next attempt asks for a Full until one arrives', () => {
    const resume = new ResumeChoice();
    resume.attempting(12);
    resume.closed();
    assert.equal(resume.since(12), null);
    resume.attempting(null);
    resume.closed(); // the server is still away: still no `since`
    assert.equal(resume.since(12), null);
    resume.attempting(null);
    resume.open();
    assert.equal(resume.full(3), 12, 'the server went back from 12 to 3: its data was replaced');
    assert.equal(resume.since(3), 3, 'resuming again after the Full');
  });

  test('a server that was merely away sends a Full at or past the held version: nothing was replaced', () => {
    const resume = new ResumeChoice();
    resume.attempting(5);
    resume.closed();
    resume.attempting(null);
    resume.open();
    assert.equal(resume.full(5), null);
    assert.equal(resume.full(4), null, 'only the first Full after the refusal is compared');
  });

  test('a first connection without a version never counts as a refused resume', () => {
    const resume = new ResumeChoice();
    resume.attempting(null);
    resume.closed();
    assert.equal(resume.since(null), null);
    assert.equal(resume.full(1), null);
  });
});
