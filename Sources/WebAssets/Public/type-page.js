// The page for a document of a declared type (docs/types.md, "On the page"): the form built from
// the type's schema and its raw Patches guarded by `test`. Connection, outbox, presence, panels
// and status are the page controller's (page-controller.js), shared with the Todo list.

import { applyPatch, randomId } from './patchsync.js';
import { PageController } from './page-controller.js';
import { failurePointer } from './schema-form.js';
import { TypeForm } from './type-form.js';
import { compareTyped, focusLabel, summarizeTyped, titleOf } from './type-history.js';

const $ = (selector) => document.querySelector(selector);

/** Refusals that say something about the edit, shown next to its control rather than as a toast. */
const FIELD_ERRORS = new Set(['invalid_patch', 'test_failed', 'conflict']);

/**
 * Runs the page for `documentName`, of the declared type `model` whose JSON Schema is `schema`.
 * @param {{ documentName: string, model: string, schema: object, options: ReturnType<import('./connection.js').pageOptions> }} setup
 */
export async function startTypePage({ documentName, model, schema, options }) {
  const card = $('.card');
  $('#list').remove();
  document.body.classList.add('is-typed');
  const form = document.createElement('form');
  form.className = 'type-form';
  form.id = 'type-form';
  form.noValidate = true;
  form.autocomplete = 'off';
  form.dataset.model = model;
  form.hidden = true;
  card.append(form);
  $('.loading-text').textContent = 'Loading…';

  const page = await PageController.open({ options, noun: 'document' });
  const { outbox } = page;

  /** The state as the server last sent it, and its version; null until the first Full. */
  let confirmed = null;
  let version = null;
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

  const typeForm = new TypeForm({
    form,
    onEdit: (ops, pointer) => {
      const action = { type: 'Patch', id: randomId(), ops };
      madeBy.set(action.id, pointer);
      page.send(action);
      render();
      page.showUnsaved();
    },
  });

  // Others' focus marks the control they edit (its pointer is its name).
  function showPresence() {
    for (const control of form.querySelectorAll('[name^="/"]')) {
      const others = page.presence.editing(control.name);
      const field = control.closest('.tf-field');
      if (!field) continue;
      const text = others.map((person) => person.name).join(', ');
      if ((field.dataset.editing ?? '') !== text) {
        if (text) field.dataset.editing = text;
        else delete field.dataset.editing;
        if (others[0]) field.dataset.colour = page.presence.colourOf(others[0]);
      }
    }
  }

  function receive(message, { own }) {
    switch (message.type) {
      case 'Full':
        if (!('state' in message)) {
          // The document's type changed under the page (the server's types did): start over.
          location.reload();
          return {};
        }
        confirmed = message.state;
        version = message.version;
        break;
      case 'Patch': {
        const from = typeof message.from === 'number' ? message.from : message.version - 1;
        try {
          if (from !== version) throw new Error(`a Patch from version ${from} at version ${version}`);
          confirmed = applyPatch(confirmed, message.ops);
        } catch {
          return { resync: true };
        }
        version = message.version;
        break;
      }
      case 'Ack':
        if (own) typeForm.clearError(madeBy.get(message.id) ?? '');
        madeBy.delete(message.id);
        break;
      case 'Error':
        refused(message, own);
        break;
      default:
        return {};
    }
    render();
    return {};
  }

  function refused(message, own) {
    const pointer = madeBy.get(message.id);
    madeBy.delete(message.id);
    if (message.code === 'forbidden') return; // the controller says so
    if (own && FIELD_ERRORS.has(message.code)) {
      const text = message.code === 'invalid_patch' ? message.message
        : 'Someone else changed this first; it now shows their value.';
      const at = message.code === 'invalid_patch' ? failurePointer(message.message) ?? pointer ?? '' : pointer ?? '';
      typeForm.showError(at, text);
    } else {
      page.toast(message.message ?? message.code);
    }
  }

  function render() {
    if (confirmed === null) return;
    $('#loading').hidden = true;
    form.hidden = false;
    card.setAttribute('aria-busy', 'false');
    const shown = shownState();
    typeForm.render(schema, shown, { editable: page.editable });
    showPresence();
    const title = String(titleOf(schema, shown) ?? documentName).trim() || documentName;
    const pageTitle = `${title} · patchsync`;
    if (document.title !== pageTitle) document.title = pageTitle;
  }

  page.run({
    loaded: () => confirmed !== null,
    version: () => version,
    forgetVersion: () => {
      version = null;
    },
    state: () => confirmed,
    receive,
    showPresence,
    focusedPointer: () => {
      const active = document.activeElement;
      return active && form.contains(active) && active.name?.startsWith('/') ? active.name : null;
    },
    showEditable: () => render(),
    summarize: (event, before, after) => summarizeTyped(schema, event, before, after),
    compare: (past, now) => compareTyped(schema, past, now),
    describeFocus: (focus) => focusLabel(schema, focus, confirmed),
  });
}
