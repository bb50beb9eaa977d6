// Presence on the page: who is here, what they edit, and Focus sent at a bounded rate.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FocusSender, Presence, helloName, initials, pointerRow, rowPointer } from '../../Sources/WebAssets/Public/presence.js';

const entry = (session, name, client, focus = null, since = session) => ({ session, name, client, since, role: 'editor', focus });

describe('Presence', () => {
  test('the roster, joins, focus and leaves; own sessions are not among the others', () => {
    const presence = new Presence({ client: 'me' });
    let changed = presence.receive({ type: 'Presence', sessions: [entry(2, 'Me', 'me'), entry(1, 'Ana', 'tab-a', '/todos/3')] });
    assert.deepEqual([...changed.focus], ['/todos/3']);
    assert.deepEqual(presence.others().map((p) => p.name), ['Ana']);
    assert.deepEqual(presence.editing(rowPointer(3)).map((p) => p.name), ['Ana']);

    changed = presence.receive({ type: 'PresenceJoin', session: entry(5, 'Bo', null) });
    assert.equal(changed.people, true);
    assert.deepEqual(presence.others().map((p) => p.name), ['Ana', 'Bo']);

    changed = presence.receive({ type: 'PresenceFocus', session: 1, focus: '/todos/4' });
    assert.deepEqual([...changed.focus].sort(), ['/todos/3', '/todos/4'], 'the row left and the row entered');
    assert.deepEqual(presence.editing('/todos/3'), []);
    presence.receive({ type: 'PresenceFocus', session: 5, focus: '/todos/4' });
    assert.deepEqual(presence.editing('/todos/4').map((p) => p.name), ['Ana', 'Bo']);

    // A renamed session replaces its entry.
    presence.receive({ type: 'PresenceJoin', session: { ...entry(5, 'Bob', null), focus: '/todos/4' } });
    assert.deepEqual(presence.others().map((p) => p.name), ['Ana', 'Bob']);

    changed = presence.receive({ type: 'PresenceLeave', session: 1 });
    assert.deepEqual([...changed.focus], ['/todos/4']);
    assert.deepEqual(presence.others().map((p) => p.name), ['Bob']);
    assert.equal(presence.receive({ type: 'PresenceLeave', session: 99 }).people, false);

    assert.equal(presence.receive({ type: 'Patch', ops: [] }), null);
    changed = presence.clear();
    assert.deepEqual([...changed.focus], ['/todos/4']);
    assert.deepEqual(presence.others(), []);
  });

  test('odd entries are read safely', () => {
    const presence = new Presence({ client: 'me' });
    presence.receive({ type: 'Presence', sessions: [null, { session: 'x' }, { session: 3, name: '  ', focus: 7 }] });
    assert.deepEqual(presence.others().map((p) => [p.name, p.focus]), [['Someone', null]]);
    presence.receive({ type: 'PresenceFocus', session: 42, focus: '/name' });
    presence.receive({ type: 'Presence' });
    assert.deepEqual(presence.others(), []);
  });
});

describe('pointers', () => {
  test('a row pointer and back; anything else names no row', () => {
    assert.equal(rowPointer(3), '/todos/3');
    assert.equal(pointerRow('/todos/3'), 3);
    for (const other of ['/name', '/todos/03', '/todos/3/name', '/todos/', null, 7]) assert.equal(pointerRow(other), null);
  });
});

describe('names and colours', () => {
  test('the Hello name is trimmed, falls back, and stays within 64 characters', () => {
    assert.equal(helloName('  Ana  ', 'Guest 1'), 'Ana');
    assert.equal(helloName('', 'Guest 1'), 'Guest 1');
    assert.equal(helloName(null, 'Guest 1'), 'Guest 1');
    assert.equal(helloName('é'.repeat(70), 'x'), 'é'.repeat(64));
    assert.equal(initials('ana maria lopez'), 'AM');
    assert.equal(initials('Guest 311'), 'G');
    assert.equal(initials('Jean-Luc Picard'), 'JL');
    assert.equal(initials('élise 2 zoë'), 'ÉZ');
    assert.equal(initials('  ana  '), 'A');
    assert.equal(initials('42'), '4');
    assert.equal(initials('  '), '?');
  });

  test('the people here have different colours, by order of arrival; this page has its own', () => {
    const presence = new Presence({ client: 'me' });
    presence.receive({ type: 'Presence', sessions: [entry(9, 'Me', 'me'), entry(4, 'Bo', 'b', null, 20), entry(3, 'Ana', 'a', null, 10)] });
    const colour = (session) => presence.colourOf(presence.sessions.get(session));
    assert.deepEqual([colour(3), colour(4), colour(9)], ['0', '1', 'self']);
    presence.receive({ type: 'PresenceLeave', session: 3 });
    assert.equal(colour(4), '0');
    for (let session = 10; session < 17; session += 1) presence.receive({ type: 'PresenceJoin', session: entry(session, `P${session}`, null, null, 100 + session) });
    assert.deepEqual(presence.others().map((person) => presence.colourOf(person)), ['0', '1', '2', '3', '4', '5', '0', '1']);
  });
});

// A clock and timers the test moves by hand.
class ManualTime {
  constructor() { this.now = 0; this.timers = []; }
  setTimeout(callback, ms) { const timer = { at: this.now + ms, callback }; this.timers.push(timer); return timer; }
  clearTimeout(timer) { this.timers = this.timers.filter((t) => t !== timer); }
  advance(ms) {
    this.now += ms;
    for (const timer of this.timers.filter((t) => t.at <= this.now)) {
      this.clearTimeout(timer);
      timer.callback();
    }
  }
}

describe('FocusSender', () => {
  test('sends at once, then at most once per interval with the latest value; repeats are not sent', () => {
    const time = new ManualTime();
    const sent = [];
    const sender = new FocusSender({ send: (focus) => sent.push(focus) > 0, interval: 300, now: () => time.now, timers: time });
    sender.set('/todos/1');
    assert.deepEqual(sent, ['/todos/1']);
    for (let row = 2; row <= 20; row += 1) {
      sender.set(rowPointer(row));
      time.advance(10);
    }
    sender.set(null);
    assert.deepEqual(sent, ['/todos/1']);
    time.advance(300);
    assert.deepEqual(sent, ['/todos/1', null], 'the burst went out as its last value');
    time.advance(1000);
    sender.set(null);
    assert.deepEqual(sent, ['/todos/1', null]);
  });

  test('a new connection hears the current focus again; nothing is sent while it cannot be', () => {
    const time = new ManualTime();
    const sent = [];
    let open = false;
    const sender = new FocusSender({ send: (focus) => open && sent.push(focus) > 0, now: () => time.now, timers: time });
    sender.set('/name');
    assert.deepEqual(sent, []);
    open = true;
    sender.reconnected();
    assert.deepEqual(sent, ['/name']);
    sender.reconnected();
    assert.deepEqual(sent, ['/name', '/name']);
  });
});
