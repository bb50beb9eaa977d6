// The documents panel: every list on the server with its last change, and opening (or
// starting) a list by name. A new list shows up here once it has a change.

import { isDocumentName } from './connection.js';
import { Panel } from './panel.js';

const $ = (selector) => document.querySelector(selector);

/** Where the page shows list `name`: same page, `?doc=NAME`, keeping a token in the fragment. */
export function documentHref(pageHref, name) {
  const url = new URL(pageHref);
  url.search = `?doc=${encodeURIComponent(name)}`;
  return url.href;
}

export class DocumentsPanel extends Panel {
  /**
   * @param {object} options
   * @param {string} options.current the name of the list on the page
   * @param {(path: string) => Promise<any>} options.api
   */
  constructor({ current, api }) {
    super('documents');
    Object.assign(this, { current, api });
    this.list = $('[data-documents]');
    this.field = $('#new-document');
    this.error = $('#new-document-error');
    $('#open-document').addEventListener('submit', (event) => {
      event.preventDefault();
      this.openByName(this.field.value.trim());
    });
  }

  async open() {
    super.open();
    let documents;
    try {
      ({ documents } = await this.api('docs'));
    } catch (error) {
      this.error.textContent = `The lists could not be loaded: ${error.message}`;
      return;
    }
    this.list.replaceChildren(...documents.map((summary) => this.entry(summary)));
    (this.list.querySelector('a') ?? this.field).focus();
  }

  // The title (what people call the list) leads; the name, which the address uses, is beside it.
  entry({ name, version, changed, title }) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.className = 'document-link';
    link.href = documentHref(location.href, name);
    link.dataset.doc = name;
    const heading = typeof title === 'string' && title.trim() ? title.trim() : name;
    const label = document.createElement('span');
    label.className = 'document-title';
    label.textContent = heading;
    link.append(label);
    if (heading !== name) {
      const id = document.createElement('span');
      id.className = 'document-name';
      id.textContent = name;
      link.append(' ', id);
    }
    link.title = heading === name ? name : `${heading} (${name})`;
    if (name === this.current) {
      link.setAttribute('aria-current', 'page');
      const open = document.createElement('span');
      open.className = 'document-open';
      open.textContent = 'open';
      link.append(' ', open);
    }
    const detail = document.createElement('span');
    detail.className = 'document-detail';
    const when = typeof changed === 'number'
      ? `changed ${new Date(changed).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`
      : 'no recent change';
    detail.textContent = `version ${version} · ${when}`;
    item.append(link, detail);
    return item;
  }

  openByName(name) {
    if (!isDocumentName(name)) {
      this.error.textContent = 'A list name is 1 to 64 letters, digits, "-" or "_".';
      this.field.setAttribute('aria-invalid', 'true');
      this.field.focus();
      return;
    }
    location.href = documentHref(location.href, name);
  }
}
