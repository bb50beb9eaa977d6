// A panel that a header button opens and closes: button[name=NAME] toggles #NAME-panel,
// button[name=close-NAME] closes it, the toggle's aria-expanded follows, and closing hands the
// keyboard focus back to the toggle. Subclasses add what their panel does on open and close.

const $ = (selector) => document.querySelector(selector);

export class Panel {
  /** @param {string} name */
  constructor(name) {
    this.toggle = $(`button[name=${name}]`);
    this.panel = $(`#${name}-panel`);
    this.toggle.addEventListener('click', () => (this.panel.hidden ? this.open() : this.close()));
    $(`button[name=close-${name}]`).addEventListener('click', () => this.close());
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  open() {
    this.panel.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
  }

  close() {
    this.panel.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.toggle.focus();
  }
}
