// The shared client scenarios (tests/client_scenarios.md) for clients/js/patchsync.js under
// Node, against the real server binary, which this file starts (and kills with SIGKILL).
// Run by tests/test_js_client.py, which also passes an nginx terminating TLS in
// PATCHSYNC_WSS_URL / PATCHSYNC_CA_FILE; alone: `node --test clients/js/tests/scenarios.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { connect } from '../patchsync.js';

const require = createRequire(import.meta.url);
// Debian's node-ws (no npm here); NODE_PATH or a local install also work.
const WebSocket = (() => {
  for (const name of ['ws', '/usr/share/nodejs/ws']) {
    try {
      return require(name);
    } catch {
      // next
    }
  }
  throw new Error('the ws package is missing: apt-get install node-ws');
})();

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BINARY = process.env.PATCHSYNC_BIN ?? join(ROOT, '.build/debug/patchsync');
// The relay is Python (tests/support/dropping_relay.py, needs `websockets`): the test venv's.
const PYTHON = process.env.PYTHON ?? (existsSync(join(ROOT, '.venv/bin/python')) ? join(ROOT, '.venv/bin/python') : 'python3');
const quiet = { warn() {}, error() {} };
const add = (name) => ({ type: 'Add', row: { name, completed: false } });
const names = (state) => Object.values(state.todos).map((row) => row.name).sort();

/** `patchsync serve` on a free port (or `port`), resolved once it listens. */
function startServer({ data, args = [], port = 0 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data', data, ...args],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const found = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (found) resolve({ child, port: Number(found[1]), ws: `ws://127.0.0.1:${found[1]}/ws` });
    });
    child.on('exit', (code) => reject(new Error(`patchsync exited with ${code} before listening`)));
  });
}

async function withServer(args, body) {
  const data = mkdtempSync(join(tmpdir(), 'patchsync-js-'));
  const server = await startServer({ data, args });
  server.data = data;
  try {
    return await body(server);
  } finally {
    server.child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('connect_full', () => withServer([], async (server) => {
  const doc = await connect(`${server.ws}/line-1`, { WebSocket, logger: quiet });
  assert.deepEqual(doc.state, { name: '', todos: {} });
  assert.equal(doc.version, 0);
  assert.equal(doc.role, 'editor');
  assert.match(doc.client, /^[A-Za-z0-9_-]{1,64}$/);
  await doc.close();
}));

test('send_ack', () => withServer([], async (server) => {
  const doc = await connect(server.ws, { client: 'bench-3', WebSocket, logger: quiet });
  assert.equal(await doc.send(add('milk')), 1);
  assert.equal(doc.version, 1);
  assert.deepEqual(names(doc.state), ['milk']);
  assert.equal(await doc.send({ type: 'ChangeName', name: 'Line 3' }), 2);
  assert.equal(doc.state.name, 'Line 3');
  await doc.close();
}));

test('refused_action', () => withServer([], async (server) => {
  const doc = await connect(server.ws, { WebSocket, logger: quiet });
  await doc.send(add('a'));
  await assert.rejects(doc.send({ type: 'Update', index: -1, row: { name: 'x', completed: false } }),
    (error) => error.name === 'PatchsyncError' && error.code === 'invalid_index');
  assert.equal(doc.version, 1);
  assert.equal(doc.pending, 0);
  await doc.close();
}));

test('raw_patch', () => withServer([], async (server) => {
  const doc = await connect(server.ws, { WebSocket, logger: quiet });
  await doc.send(add('row'));
  assert.equal(await doc.patch([{ op: 'replace', path: '/todos/1/completed', value: true }], { base: 1 }), 2);
  assert.equal(doc.state.todos['1'].completed, true);
  await assert.rejects(doc.patch([{ op: 'test', path: '/todos/1/completed', value: false }, { op: 'remove', path: '/todos/1' }]),
    (error) => error.code === 'test_failed');
  await assert.rejects(doc.patch([{ op: 'replace', path: '/todos/1/completed', value: 'yes' }]),
    (error) => error.code === 'invalid_patch' && error.message.includes('/todos/1/completed'));
  assert.equal(doc.version, 2);
  await doc.close();
}));

test('other_change_seen', () => withServer([], async (server) => {
  const watcher = await connect(server.ws, { WebSocket, logger: quiet });
  const writer = await connect(server.ws, { WebSocket, logger: quiet });
  const seen = [];
  const unsubscribe = watcher.subscribe((change) => seen.push({ version: change.version, op: change.ops[0].op, names: names(change.state) }));
  await writer.send(add('from the writer'));
  const state = await watcher.waitFor((s) => Object.keys(s.todos).length === 1, { timeout: 20_000 });
  assert.deepEqual(names(state), ['from the writer']);
  assert.deepEqual(seen, [{ version: 1, op: 'add', names: ['from the writer'] }]);
  unsubscribe();
  await watcher.close();
  await writer.close();
}));

test('own writes reach subscribers in version order', () => withServer([], async (server) => {
  const doc = await connect(server.ws, { WebSocket, logger: quiet });
  const versions = [];
  doc.subscribe((change) => versions.push(change.version));
  for (const name of ['a', 'b', 'c']) await doc.send(add(name));
  assert.deepEqual(versions, [1, 2, 3]);
  await doc.close();
}));

test('from_gap_resume', () => withServer([], async (server) => {
  // The relay drops the Patch of version 2 once; the client must notice `from` and resume.
  const relay = spawn(PYTHON, [join(ROOT, 'tests/support/dropping_relay.py'), `ws://127.0.0.1:${server.port}`, '2'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    // The relay prints its port, then "dropped" once it dropped the Patch.
    const lines = [];
    let heard = () => {};
    relay.stdout.on('data', (chunk) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      heard();
    });
    const line = (predicate) => new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.find(predicate);
        if (found !== undefined) resolve(found);
      };
      heard = check;
      relay.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
      check();
    });
    const port = Number(await line((text) => /^\d+$/.test(text)));
    const doc = await connect(`ws://127.0.0.1:${port}/ws`, { WebSocket, logger: quiet });
    const writer = await connect(server.ws, { WebSocket, logger: quiet });
    await writer.send(add('one'));
    await doc.waitFor((s) => Object.keys(s.todos).length === 1, { timeout: 20_000 });
    await writer.send(add('two'));
    await line((text) => text === 'dropped');
    await writer.send(add('three'));
    const state = await doc.waitFor((s) => Object.keys(s.todos).length === 3, { timeout: 30_000 });
    assert.deepEqual(names(state), ['one', 'three', 'two']);
    assert.equal(doc.version, 3);
    await doc.close();
    await writer.close();
  } finally {
    relay.kill('SIGKILL');
  }
}));

test('kill_restart_exactly_once', { timeout: 180_000 }, () => withServer([], async (server) => {
  const sends = 150;
  const doc = await connect(`${server.ws}/crash`, { client: 'press-7', WebSocket, logger: quiet, backoff: { initial: 100, max: 1000 } });
  let acked = 0;
  const crashes = (async () => {
    // kill -9 while sends are in flight, twice; the same port and data come back.
    for (const threshold of [40, 100]) {
      while (acked < threshold) await sleep(2);
      server.child.kill('SIGKILL');
      await sleep(300);
      for (let attempt = 0; ; attempt += 1) {
        try {
          server.child = (await startServer({ data: server.data, port: server.port })).child;
          break;
        } catch (error) {
          if (attempt > 10) throw error;
          await sleep(300);
        }
      }
    }
  })();
  const versions = [];
  for (let number = 0; number < sends; number += 1) {
    versions.push(await doc.send(add(`part ${number}`)));
    acked += 1;
  }
  await crashes;
  assert.equal(new Set(versions).size, sends);
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  await doc.close();
  const check = await connect(`${server.ws}/crash`, { WebSocket, logger: quiet });
  assert.deepEqual(names(check.state), Array.from({ length: sends }, (_, n) => `part ${n}`).sort());
  assert.equal(check.version, sends);
  await check.close();
}));

test('token_refused', () => withServer(['--token', 's3cret'], async (server) => {
  await assert.rejects(connect(server.ws, { token: 'wrong', WebSocket, logger: quiet }), (error) => error.code === 'http_401');
  const doc = await connect(server.ws, { token: 's3cret', WebSocket, logger: quiet });
  assert.equal(await doc.send(add('allowed')), 1);
  await doc.close();
}));

test('wss_through_nginx', { skip: process.env.PATCHSYNC_WSS_URL ? false : 'needs PATCHSYNC_WSS_URL (run by tests/test_js_client.py)' }, async () => {
  const url = process.env.PATCHSYNC_WSS_URL;
  assert.match(url, /^wss:/);
  const doc = await connect(url, { ca: readFileSync(process.env.PATCHSYNC_CA_FILE), WebSocket, logger: quiet });
  const versions = [];
  doc.subscribe((change) => versions.push(change.version));
  const version = await doc.send(add('over TLS'));
  assert.deepEqual(versions, [version]);
  await doc.close();
});

test('the outbox file keeps unanswered actions and the client across a restart of the program', () => withServer([], async (server) => {
  const scratch = mkdtempSync(join(tmpdir(), 'patchsync-outbox-'));
  const path = join(scratch, 'outbox.json');
  try {
    // A program that died with an action unanswered: its outbox file, written by hand.
    const key = `patchsync:outbox:127.0.0.1:${server.port}/ws`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, JSON.stringify({ [`${key}:client`]: 'plc-1', [key]: JSON.stringify({ actions: [{ ...add('left over'), id: 'a1' }], queued: {} }) }));
    for (let run = 0; run < 2; run += 1) {
      const doc = await connect(server.ws, { outbox: path, WebSocket, logger: quiet });
      assert.equal(doc.client, 'plc-1');
      await doc.waitFor((s) => names(s).includes('left over'), { timeout: 20_000 });
      await doc.send({ type: 'ChangeName', name: `run ${run}` });
      assert.equal(doc.pending, 0);
      await doc.close();
      if (run === 0) {
        // As if the program had died before saving the answer: the same action again.
        const saved = JSON.parse(readFileSync(path, 'utf8'));
        saved[key] = JSON.stringify({ actions: [{ ...add('left over'), id: 'a1' }], queued: {} });
        writeFileSync(path, JSON.stringify(saved));
      }
    }
    const check = await connect(server.ws, { WebSocket, logger: quiet });
    assert.deepEqual(names(check.state), ['left over']);
    assert.equal(check.version, 3);
    await check.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}));

test('a declared type keeps its state under state', () => withServer(['--types', join(ROOT, 'examples/types')], async (server) => {
  const doc = await connect(`${server.ws}/line-7`, { WebSocket, logger: quiet });
  assert.deepEqual(doc.state.machines.M1, { status: 'stop', good: 0, scrap: 0 });
  assert.equal(await doc.patch([{ op: 'replace', path: '/machines/M1/status', value: 'run' }]), 1);
  assert.equal(doc.state.machines.M1.status, 'run');
  await assert.rejects(doc.patch([{ op: 'replace', path: '/machines/M1/status', value: 'jammed' }]),
    (error) => error.code === 'invalid_patch' && error.message.includes('/machines/M1/status'));
  await doc.close();
}));
