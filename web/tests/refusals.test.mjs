import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awaitNewToken, isTokenExpiry } from '../../Sources/WebAssets/Public/refusals.js';

function fakeWindow(href) {
  const listeners = [];
  const win = {
    location: { href, reloads: 0, reload() { this.reloads += 1; } },
    addEventListener: (type, listener) => listeners.push([type, listener]),
    navigate(next) {
      win.location.href = next;
      for (const [type, listener] of listeners) if (type === 'hashchange') listener();
    },
  };
  return win;
}

test('only a close 1008 "token expired" is a token expiry', () => {
  assert.equal(isTokenExpiry({ code: 1008, reason: 'token expired' }), true);
  assert.equal(isTokenExpiry({ code: 1008, reason: 'too many refusals' }), false);
  assert.equal(isTokenExpiry({ code: 1006, reason: '' }), false);
});

test('a new token in the fragment reloads the page; the same one does not', () => {
  const win = fakeWindow('http://box/?doc=line-3#token=old&renew=https://portal.example/p');
  assert.equal(awaitNewToken(win), 'https://portal.example/p');
  win.navigate('http://box/?doc=line-3#token=old&renew=https://portal.example/p&x=1');
  assert.equal(win.location.reloads, 0);
  win.navigate('http://box/?doc=line-3#token=new');
  assert.equal(win.location.reloads, 1);
});

test('renew must be an http(s) address', () => {
  assert.equal(awaitNewToken(fakeWindow('http://box/#token=a&renew=javascript:alert(1)')), null);
  assert.equal(awaitNewToken(fakeWindow('http://box/#token=a&renew=not a url')), null);
  assert.equal(awaitNewToken(fakeWindow('http://box/#token=a')), null);
});
