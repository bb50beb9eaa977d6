// Who is on the list: avatars on the "People" button in the header, the full list
// in its panel, and the field where the person sets the name the others see.

import { Panel } from './panel.js';
import { NAME_POINTER, initials, pointerRow } from './presence.js';

const $ = (selector) => document.querySelector(selector);
const SHOWN_AVATARS = 3;

function avatar(person, colour) {
  const element = document.createElement('span');
  element.className = 'avatar';
  element.dataset.colour = colour;
  element.textContent = initials(person.name);
  return element;
}

/** "item 3" or "the list name" for a Focus pointer; null for anything else. */
function focusText(focus) {
  if (focus === NAME_POINTER) return 'the list name';
  const row = pointerRow(focus);
  return row === null ? null : `item ${row}`;
}

export class PeoplePanel extends Panel {
  /**
   * @param {object} options
   * @param {import('./presence.js').Presence} options.presence
   * @param {() => string} options.ownName
   * @param {(name: string) => void} options.rename called with the name the person saved
   * @param {(focus: string | null) => string | null} [options.describeFocus] what a Focus pointer
   *   is, in words ("item 3"); default: the Todo list's
   */
  constructor({ presence, ownName, rename, describeFocus = focusText }) {
    super('people');
    Object.assign(this, { presence, ownName, rename, describeFocus });
    this.avatars = $('[data-avatars]');
    this.label = $('.people-label');
    this.list = $('[data-people]');
    this.field = $('#your-name-field');
    $('#your-name').addEventListener('submit', (event) => {
      event.preventDefault();
      this.rename(this.field.value);
      this.field.value = this.ownName();
      this.render();
    });
  }

  /** Shows the button once this session takes part in presence. */
  enable() {
    this.toggle.hidden = false;
    this.render();
  }

  open() {
    super.open();
    this.field.value = this.ownName();
    this.field.focus();
  }

  render() {
    const others = this.presence.others();
    const names = others.map((person) => person.name);
    this.toggle.setAttribute('aria-label', names.length === 0
      ? 'People: only you are here'
      : `People: ${names.length === 1 ? '1 other person' : `${names.length} others`} here, ${names.join(', ')}`);
    const shown = others.slice(0, SHOWN_AVATARS).map((person) => avatar(person, this.presence.colourOf(person)));
    if (others.length > SHOWN_AVATARS) {
      const more = document.createElement('span');
      more.className = 'avatar avatar-more';
      more.textContent = `+${others.length - SHOWN_AVATARS}`;
      shown.push(more);
    }
    this.avatars.replaceChildren(...shown);
    this.label.textContent = others.length === 0 ? 'Only you' : 'People';
    this.list.replaceChildren(this.entry({ name: this.ownName(), client: this.presence.client, session: 'you', focus: null }, true),
      ...others.map((person) => this.entry(person, false)));
  }

  entry(person, own) {
    const item = document.createElement('li');
    item.className = 'person';
    if (!own) item.dataset.session = String(person.session);
    const name = document.createElement('span');
    name.className = 'person-name';
    name.textContent = person.name;
    const detail = document.createElement('span');
    detail.className = 'person-detail';
    const parts = [];
    if (own) parts.push('you');
    if (person.role === 'viewer') parts.push('viewing only');
    const editing = this.describeFocus(person.focus);
    if (editing) parts.push(`editing ${editing}`);
    detail.textContent = parts.join(' · ');
    item.append(avatar(person, this.presence.colourOf(person)), name, detail);
    return item;
  }
}
