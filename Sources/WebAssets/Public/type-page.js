// The page for a document of a declared type (docs/types.md, "On the page"): the form built from
// the type's schema, raw Patches guarded by `test` through the same outbox, connection,
// presence, people and history as the Todo list.

import { socketURL } from './connection.js';
import { isTokenExpiry, showTokenExpired } from './refusals.js';
import { DocumentsPanel } from './documents-panel.js';
import { HistoryPanel, callAPI } from './history-panel.js';
import { Connection, Outbox, applyPatch, randomId } from './patchsync.js';
import { PeoplePanel } from './people-panel.js';
import { FocusSender, Presence, helloName } from './presence.js';
import { failurePointer } from './schema-form.js';
import { tabClient } from './tab-client.js';
import { TypeForm } from './type-form.js';

const $ = (selector) => document.querySelector(selector);

/** Refusals that say something about the edit, shown next to its control rather than as a toast. */
const FIELD_ERRORS = new Set(['invalid_patch', 'test_failed', 'conflict']);

/**
 * Runs the page for `documentName`, of the declared type `model` whose JSON Schema is `schema`.
 * @param {{ documentName: string, model: string, schema: object, options: ReturnType<import('./connection.js').pageOptions> }} setup
 */
export async function startTypePage({ documentName, model, schema, options }) {
  const storageOf = (get) => {
    try {
      return get();
    } catch {
      return null;
    }
  };
  const tabStorage = storageOf(() => sessionStorage);
  const browserStorage = storageOf(() => localStorage);
  const elements = {
    card: $('.card'),
    loading: $('#loading'),
    loadingText: $('.loading-text'),
    list: $('#list'),
    status: $('[data-status]'),
    statusText: $('.status-text'),
    statusRetry: $('.status-retry'),
    unsaved: $('#unsaved'),
    toast: $('#toast'),
    stale: $('#stale'),
  };
  elements.list.remove();
  document.body.classList.add('is-typed');
  const form = document.createElement('form');
  form.className = 'type-form';
  form.id = 'type-form';
  form.noValidate = true;
  form.autocomplete = 'off';
  form.dataset.model = model;
  form.hidden = true;
  elements.card.append(form);
  elements.loadingText.textContent = 'Loading…';

  const { id: clientId, duplicated } = await tabClient({ storage: tabStorage, makeId: randomId, page: window });
  const outbox = new Outbox({ storage: tabStorage, key: `patchsync:outbox:${documentName}` });
  if (duplicated) outbox.clear();

  /** The state as the server last sent it, and its version; null until the first Full. */
  let confirmed = null;
  let version = null;
  let role = 'editor';
  let connected = false;
  let ready = false;
  let watchOnly = false;
  const display = options.display;
  /** action id -> the pointer of the control that made it, for showing its refusal. */
  const madeBy = new Map();

  // What the page shows: the server's state with own Patches not answered yet applied on top
  // (one that no longer applies, because its `test` fails, is left out until the answer comes).
  const shownState = () => outbox.actions.reduce((state, action) => {
    try {
      return applyPatch(state, action.ops);
    } catch {
      return state;
    }
  }, confirmed);

  const isEditable = () => role === 'editor' && !watchOnly && !display;
  const api = (path, init) => callAPI(location.href, options.token, path, init);

  const typeForm = new TypeForm({
    form,
    onEdit: (ops, pointer) => {
      const action = { type: 'Patch', id: randomId(), ops };
      madeBy.set(action.id, pointer);
      outbox.add(action);
      if (ready) connection.send(action);
      render();
      showUnsaved();
    },
  });

  const historyPanel = new HistoryPanel({
    name: documentName,
    api,
    current: () => ({ version, document: confirmed }),
    canRestore: isEditable,
    notify: (text) => showToast(text),
  });
  new DocumentsPanel({ current: documentName, api });

  const presence = new Presence({ client: clientId });
  const NAME_KEY = 'patchsync:name';
  function ownName() {
    const saved = storageOf(() => browserStorage.getItem(NAME_KEY));
    if (saved) return helloName(saved, 'Guest');
    const name = `Guest ${100 + Math.floor(Math.random() * 900)}`;
    storageOf(() => browserStorage.setItem(NAME_KEY, name));
    return name;
  }
  const takesPart = () => ready && !display;
  const focusSender = new FocusSender({ send: (focus) => takesPart() && connection.send({ type: 'Focus', focus }) });
  const people = new PeoplePanel({
    presence,
    ownName,
    rename: (name) => {
      const chosen = helloName(name, ownName());
      storageOf(() => browserStorage.setItem(NAME_KEY, chosen));
      if (takesPart()) connection.send({ type: 'Hello', name: chosen });
    },
  });

  // Others' focus marks the control they edit (its pointer is its name).
  function showPresence(changed) {
    if (changed.people) people.render();
    for (const control of form.querySelectorAll('[name^="/"]')) {
      const others = presence.editing(control.name);
      const field = control.closest('.tf-field');
      if (!field) continue;
      const text = others.map((person) => person.name).join(', ');
      if ((field.dataset.editing ?? '') !== text) {
        if (text) field.dataset.editing = text;
        else delete field.dataset.editing;
        if (others[0]) field.dataset.colour = presence.colourOf(others[0]);
      }
    }
  }

  const connection = new Connection({
    url: (since) => socketURL(location.href, since, clientId),
    resumeVersion: () => version,
    onMessage: receive,
    onStatus: showStatus,
    onLost: () => {
      ready = false;
      showPresence(presence.clear());
      showUnsaved();
    },
    onRefused: (event) => {
      if (!isTokenExpiry(event)) return false;
      showTokenExpired();
      return true;
    },
  });

  function connectionReady() {
    if (ready || !connected || confirmed === null) return;
    ready = true;
    outbox.takeRetries();
    for (const action of outbox.actions) connection.send(action);
    if (!display) {
      connection.send({ type: 'Hello', name: ownName() });
      people.enable();
      focusSender.reconnected();
    }
    showUnsaved();
  }

  let retryDelay = 500;
  let retryTimer = null;
  function scheduleRetry() {
    if (retryTimer !== null) return;
    if (retryDelay === 500) showToast('Not saved yet: the server cannot take changes right now. Trying again.');
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (ready) for (const action of outbox.takeRetries()) connection.send(action);
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  }

  function receive(message) {
    const changed = presence.receive(message);
    if (changed) {
      showPresence(changed);
      return;
    }
    switch (message.type) {
      case 'Full':
        if (!('state' in message)) {
          // The document's type changed under the page (the server's types did): start over.
          location.reload();
          return;
        }
        confirmed = message.state;
        version = message.version;
        role = message.role ?? 'editor';
        render();
        connectionReady();
        historyPanel.refreshRole();
        return;
      case 'Patch': {
        const from = typeof message.from === 'number' ? message.from : message.version - 1;
        let next;
        try {
          if (from !== version) throw new Error(`a Patch from version ${from} at version ${version}`);
          next = applyPatch(confirmed, message.ops);
        } catch {
          // Wrong data is worse than a reload: start over from a fresh Full.
          version = null;
          connection.reconnectNow();
          return;
        }
        confirmed = next;
        version = message.version;
        render();
        historyPanel.changed(from, version);
        return;
      }
      case 'Ack':
        retryDelay = 500;
        if (outbox.settle(message.id)) typeForm.clearError(madeBy.get(message.id) ?? '');
        madeBy.delete(message.id);
        showUnsaved();
        render();
        return;
      case 'Error':
        if (outbox.retryLater(message)) {
          scheduleRetry();
          showUnsaved();
          return;
        }
        refused(message);
        return;
      default:
    }
  }

  function refused(message) {
    const own = outbox.settle(message.id);
    const pointer = madeBy.get(message.id);
    madeBy.delete(message.id);
    if (message.code === 'forbidden') {
      watchOnly = true;
      elements.statusText.textContent = 'Live · view only';
      showToast('You can follow this document but not change it.');
      historyPanel.refreshRole();
    } else if (own && FIELD_ERRORS.has(message.code)) {
      const text = message.code === 'invalid_patch' ? message.message
        : 'Someone else changed this first; it now shows their value.';
      const at = message.code === 'invalid_patch' ? failurePointer(message.message) ?? pointer ?? '' : pointer ?? '';
      typeForm.showError(at, text);
    } else {
      showToast(message.message ?? message.code);
    }
    showUnsaved();
    render();
  }

  function render() {
    if (confirmed === null) return;
    elements.loading.hidden = true;
    form.hidden = false;
    elements.card.setAttribute('aria-busy', 'false');
    typeForm.render(schema, shownState(), { editable: isEditable() });
    showPresence({ people: false });
    const title = String(titleOf(shownState()) ?? documentName).trim() || documentName;
    const pageTitle = `${title} · patchsync`;
    if (document.title !== pageTitle) document.title = pageTitle;
  }

  // `x-patchsync.title`: the pointer of the value that titles the document.
  function titleOf(state) {
    const pointer = schema['x-patchsync']?.title;
    if (typeof pointer !== 'string') return null;
    let value = state;
    for (const token of pointer.split('/').slice(1)) {
      value = value?.[token.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return typeof value === 'string' ? value : null;
  }

  function showUnsaved() {
    const count = outbox.size;
    const text = count === 1 ? '1 change not saved yet' : `${count} changes not saved yet`;
    elements.unsaved.dataset.unsaved = String(count);
    elements.unsaved.textContent = text;
    elements.unsaved.hidden = count === 0 || connected;
  }

  let countdown = null;
  let staleTimer = null;
  function showStatus(status, { retryAt } = {}) {
    elements.status.dataset.status = status;
    clearInterval(countdown);
    countdown = null;
    elements.statusRetry.textContent = '';
    connected = status === 'connected';
    connectionReady();
    if (status === 'connected') {
      clearTimeout(staleTimer);
      staleTimer = null;
      elements.stale.hidden = true;
      document.body.classList.remove('is-stale');
      elements.statusText.textContent = watchOnly || role === 'viewer' ? 'Live · view only' : 'Live';
    } else if (status === 'connecting') {
      elements.statusText.textContent = confirmed === null ? 'Connecting…' : 'Reconnecting…';
    } else {
      elements.statusText.textContent = 'Offline';
      const tick = () => {
        elements.statusRetry.textContent = ` · retrying in ${Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))}s`;
      };
      tick();
      countdown = setInterval(tick, 1000);
    }
    if (status !== 'connected' && staleTimer === null && confirmed !== null) {
      const since = new Date();
      staleTimer = setTimeout(() => {
        const time = since.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
        elements.stale.textContent = `Not live since ${time}: this may be out of date. Reconnecting…`;
        elements.stale.hidden = false;
        document.body.classList.add('is-stale');
      }, 5000);
    }
    document.body.classList.toggle('is-offline', status !== 'connected' && confirmed !== null);
    showUnsaved();
  }

  let toastTimer = null;
  function showToast(text) {
    elements.toast.textContent = text;
    elements.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      elements.toast.hidden = true;
    }, 4000);
  }

  const followFocus = () => queueMicrotask(() => {
    const active = document.activeElement;
    focusSender.set(active && form.contains(active) && active.name?.startsWith('/') ? active.name : null);
  });
  document.addEventListener('focusin', followFocus);
  document.addEventListener('focusout', followFocus);
  window.addEventListener('online', () => connection.retrySoon());
  window.addEventListener('pagehide', () => connection.stop());
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) connection.start();
  });

  document.body.classList.toggle('is-display', display);
  connection.start();
}
