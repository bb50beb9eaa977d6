// A session whose signed token expired (close 1008 "token expired"): a retry with the same
// token cannot help, so the page stops, says so, and reloads once its URL carries a new token.

import { pageOptions } from './connection.js';

/**
 * Whether a connection ended because the session's signed token expired (close 1008
 * "token expired"): retrying with the same token cannot help.
 */
export function isTokenExpiry(event) {
  return event.code === 1008 && event.reason === 'token expired';
}

/**
 * After a token expired, the page waits for a new one: a portal sends the browser back with a
 * fresh `#token=` (to `#renew=<portal URL>` when the page was given one), or the person pastes
 * it into the URL. A changed token reloads the page, whose outbox keeps its pending changes.
 * @returns {string | null} the portal's address from `#renew=`, if it is an http(s) URL
 */
export function awaitNewToken(win = globalThis) {
  const initial = pageOptions(win.location.href).token;
  win.addEventListener('hashchange', () => {
    if (pageOptions(win.location.href).token !== initial) win.location.reload();
  });
  const renew = new URLSearchParams(new URL(win.location.href).hash.slice(1)).get('renew');
  if (renew === null) return null;
  try {
    const url = new URL(renew);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** The signed token ran out: what is shown stays, and the page waits for a new token. */
export function showTokenExpired() {
  const $ = (selector) => document.querySelector(selector);
  const renew = awaitNewToken();
  $('#problem .problem-title').textContent = 'Your access has expired';
  $('#problem-text').textContent = 'Changes you make now wait on this page until it has a new token.';
  const hint = $('#problem .problem-hint');
  hint.replaceChildren();
  if (renew) {
    const link = document.createElement('a');
    link.href = renew;
    link.textContent = 'Sign in again';
    hint.append(link);
  } else {
    hint.textContent = 'Open this page again from where you got it, to sign in again.';
  }
  $('#problem').hidden = false;
}
