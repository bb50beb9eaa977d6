// Marks what someone else is editing: a coloured edge on the row (or the list name)
// and their name beside it, which the field also gives as its description. Fields
// nobody else edits carry no badge, so a long list costs nothing extra.

import { NAME_POINTER, pointerRow, rowPointer } from './presence.js';

export class EditingMarks {
  /**
   * @param {object} options
   * @param {import('./presence.js').Presence} options.presence
   * @param {HTMLInputElement} options.listName
   * @param {(index: number) => { element: HTMLElement, name: HTMLInputElement } | undefined} options.rowParts
   */
  constructor({ presence, listName, rowParts }) {
    Object.assign(this, { presence, listName, rowParts });
    /** Indices of the rows marked now. */
    this.marked = new Set();
  }

  /** Updates the marks a Presence message (or a lost connection) changed. */
  show(changed) {
    // Colours follow the order of arrival, so a join or a leave may recolour every mark.
    const pointers = changed.people ? new Set([...changed.focus, NAME_POINTER, ...[...this.marked].map(rowPointer)]) : changed.focus;
    for (const pointer of pointers) {
      if (pointer === NAME_POINTER) this.markListName();
      const index = pointerRow(pointer);
      const parts = index === null ? undefined : this.rowParts(index);
      if (parts) this.markRow(parts, index);
    }
  }

  markRow(parts, index) {
    if (this.mark(parts.name, parts.element, `editing-${index}`, this.presence.editing(rowPointer(index)))) this.marked.add(index);
    else this.marked.delete(index);
  }

  /** Row `index` left the page. */
  forget(index) {
    this.marked.delete(index);
  }

  markListName() {
    this.mark(this.listName, this.listName, 'editing-name', this.presence.editing(NAME_POINTER));
  }

  // `edge` takes the colour of the first editor; true when there is one.
  mark(field, edge, badgeId, editors) {
    const next = field.nextElementSibling;
    let badge = next?.classList.contains('editor-badge') ? next : null;
    edge.classList.toggle('is-edited', editors.length > 0);
    if (editors.length === 0) {
      if (badge) {
        badge.remove();
        field.removeAttribute('aria-describedby');
        delete edge.dataset.colour;
      }
      return false;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'editor-badge';
      badge.id = badgeId;
      field.after(badge);
      field.setAttribute('aria-describedby', badgeId);
    }
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = editors.length === 1 ? ' is editing' : ' are editing';
    const names = editors.map((person) => person.name).join(', ');
    badge.replaceChildren(names, hidden);
    badge.title = names; // the whole names where the badge is cut short
    badge.dataset.colour = this.presence.colourOf(editors[0]);
    edge.dataset.colour = badge.dataset.colour;
    return true;
  }
}
