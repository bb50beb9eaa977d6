// Puts schema-form.js's description of a declared type's document on the page as a form, and
// turns the person's edits into Patches. Every control's `name` is the JSON Pointer it edits.

import {
  addMemberOps, appendOps, controlFor, describe, initialValue, parseInput, removeOps, replaceOps,
} from './schema-form.js';

let nextId = 0;
const uniqueId = (prefix) => `${prefix}-${(nextId += 1)}`;

function make(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') element.setAttribute(key, value);
    else element[key] = value;
  }
  element.append(...children.filter(Boolean));
  return element;
}

/** What decides which controls exist: every node's pointer and kind, and a select's options. */
function shapeOf(node) {
  const own = `${node.name}:${node.kind}:${node.removable ?? ''}:${(node.options ?? []).join(',')}:${(node.absent ?? []).join(',')}`;
  return node.children ? `${own}[${node.children.map(shapeOf).join(';')}]` : own;
}

function setValue(control, value) {
  if (control.value !== value) control.value = value;
}

export class TypeForm {
  /**
   * @param {object} options
   * @param {HTMLFormElement} options.form where the controls go
   * @param {(ops: object[], pointer: string) => void} options.onEdit a change the person made, and the control's pointer
   */
  constructor({ form, onEdit }) {
    Object.assign(this, { form, onEdit });
    /** pointer -> node (schema-form.js) of every control on the page */
    this.nodes = new Map();
    /** pointer -> message shown next to that control */
    this.errors = new Map();
    this.editable = true;
    form.addEventListener('submit', (event) => event.preventDefault());
    form.addEventListener('change', (event) => this.changed(event.target));
    form.addEventListener('click', (event) => this.clicked(event.target.closest('button')));
    form.addEventListener('keydown', (event) => {
      // Enter in a new key's field adds it, rather than submitting the form.
      if (event.key === 'Enter' && event.target.dataset.newKeyFor !== undefined) {
        event.preventDefault();
        this.addMember(event.target.dataset.newKeyFor);
      }
    });
  }

  /**
   * Shows `state` under `schema`. When only values changed, the controls are updated where they
   * are and the one being edited (focused) keeps its text; when entries came or went the form is
   * built again and the focused control's text and caret move to its namesake.
   */
  render(schema, state, { editable }) {
    this.schema = schema;
    const tree = describe(schema, state, schema, '', schema.title ?? 'Document');
    const shape = `${editable}|${shapeOf(tree)}`;
    const active = document.activeElement;
    const focused = active && this.form.contains(active) && active.name ? active : null;
    this.nodes.clear();
    if (shape === this.shape) {
      this.update(tree, focused);
      return;
    }
    this.shape = shape;
    this.editable = editable;
    this.controls = new Map();
    const root = this.node(tree, 0);
    this.form.replaceChildren(root);
    for (const [pointer, message] of this.errors) this.placeError(pointer, message);
    const same = focused && this.controls.get(focused.name);
    if (same && same.tagName === focused.tagName && same.type === focused.type) {
      if ('value' in focused && focused.type !== 'checkbox' && focused.tagName !== 'SELECT') {
        same.value = focused.value;
      }
      same.focus();
      if (typeof focused.selectionStart === 'number' && typeof same.setSelectionRange === 'function') {
        try {
          same.setSelectionRange(focused.selectionStart, focused.selectionEnd);
        } catch {
          // number fields have no selection
        }
      }
    }
  }

  /** Puts each leaf's value in its control, except the focused one's, and keeps the nodes current. */
  update(node, focused) {
    this.nodes.set(node.name, node);
    for (const child of node.children ?? []) this.update(child, focused);
    const control = this.controls.get(node.name);
    if (!control || node.children) return;
    if (control === focused && node.kind !== 'checkbox' && node.kind !== 'select') return;
    switch (node.kind) {
      case 'checkbox':
        control.checked = node.value === true;
        break;
      case 'select':
        control.value = node.options.includes(node.value) ? node.value : '';
        break;
      case 'json':
        setValue(control, node.value === undefined ? '' : JSON.stringify(node.value, null, 2));
        break;
      default:
        setValue(control, node.value === undefined || node.value === null ? '' : String(node.value));
    }
  }

  /** Shows `message` next to the control that edits `pointer` (or holds it), until it is edited again. */
  showError(pointer, message) {
    const name = controlFor(pointer, this.nodes.keys()) ?? '';
    this.errors.set(name, message);
    this.placeError(name, message);
    return name;
  }

  clearError(pointer) {
    if (!this.errors.delete(pointer)) return;
    const error = this.errorElement(pointer);
    if (error) {
      error.textContent = '';
      error.hidden = true;
    }
    this.form.querySelector(`[name="${CSS.escape(pointer)}"]`)?.removeAttribute('aria-invalid');
  }

  errorElement(pointer) {
    return this.form.querySelector(`[data-error-for="${CSS.escape(pointer)}"]`);
  }

  placeError(pointer, message) {
    const error = this.errorElement(pointer);
    if (!error) return;
    error.textContent = message;
    error.hidden = false;
    this.form.querySelector(`[name="${CSS.escape(pointer)}"]`)?.setAttribute('aria-invalid', 'true');
  }

  // ---- building ----

  node(node, depth) {
    this.nodes.set(node.name, node);
    switch (node.kind) {
      case 'group':
      case 'map':
      case 'list':
        return this.container(node, depth);
      default:
        return this.field(node);
    }
  }

  errorLine(pointer, id) {
    return make('p', { class: 'tf-error', id, 'data-error-for': pointer, hidden: true, role: 'alert' });
  }

  removeButton(node) {
    if (!node.removable) return null;
    return make('button', {
      class: 'tf-remove', type: 'button', 'data-remove': node.name, 'aria-label': `Remove ${node.label}`,
      title: `Remove ${node.label}`, disabled: !this.editable,
    });
  }

  container(node, depth) {
    const errorId = uniqueId('tf-error');
    const head = depth === 0
      ? make('h2', { class: 'tf-title', text: node.label })
      : make('legend', { class: 'tf-legend' }, make('span', { text: node.label }), this.removeButton(node));
    const box = make(depth === 0 ? 'div' : 'fieldset', {
      class: `tf-${node.kind} tf-depth-${Math.min(depth, 3)}`, 'data-pointer': node.name,
    }, head);
    if (node.description && depth === 0) box.append(make('p', { class: 'tf-description', text: node.description }));
    box.append(this.errorLine(node.name, errorId));
    const body = make('div', { class: 'tf-body' }, ...node.children.map((child) => this.node(child, depth + 1)));
    if (node.kind === 'list' && node.children.length === 0) body.append(make('p', { class: 'tf-empty', text: 'None.' }));
    box.append(body);
    if (node.absent?.length > 0) {
      box.append(make('div', { class: 'tf-add tf-optional' }, ...node.absent.map((key) => make('button', {
        class: 'button button-quiet', type: 'button', 'data-add-property': node.name, 'data-key': key,
        text: `Add ${node.schema.properties?.[key]?.title ?? key}`, disabled: !this.editable,
      }))));
    }
    if (node.kind === 'map') box.append(this.newMember(node));
    if (node.kind === 'list') {
      box.append(make('div', { class: 'tf-add' }, make('button', {
        class: 'button button-quiet', type: 'button', 'data-append': node.name, text: `Add to ${node.label}`,
        disabled: !this.editable || (node.maxItems !== undefined && node.children.length >= node.maxItems),
      })));
    }
    return box;
  }

  newMember(node) {
    const id = uniqueId('tf-key');
    const input = make('input', {
      id, type: 'text', class: 'tf-key', autocomplete: 'off', spellcheck: false, placeholder: 'Name',
      'data-new-key-for': node.name, pattern: node.keyPattern, readOnly: !this.editable,
    });
    return make('div', { class: 'tf-add' },
      make('label', { class: 'tf-key-label', htmlFor: id, text: `New in ${node.label}` }), input,
      make('button', {
        class: 'button button-quiet', type: 'button', 'data-add': node.name, text: 'Add', disabled: !this.editable,
      }));
  }

  field(node) {
    const id = uniqueId('tf-field');
    const errorId = `${id}-error`;
    const common = { id, name: node.name, 'aria-describedby': errorId };
    let control;
    switch (node.kind) {
      case 'select': {
        control = make('select', { ...common, disabled: !this.editable },
          ...node.options.map((option) => make('option', { value: option, text: option })));
        if (!node.options.includes(node.value)) control.prepend(make('option', { value: '', text: '' }));
        control.value = node.options.includes(node.value) ? node.value : '';
        break;
      }
      case 'checkbox':
        control = make('input', { ...common, type: 'checkbox', checked: node.value === true, disabled: !this.editable });
        break;
      case 'number':
        control = make('input', {
          ...common, type: 'number', inputMode: node.integer ? 'numeric' : 'decimal', readOnly: !this.editable,
          value: node.value === undefined ? '' : String(node.value),
        });
        if (node.min !== undefined) control.min = String(node.min);
        if (node.max !== undefined) control.max = String(node.max);
        control.step = String(node.step);
        break;
      case 'text':
        if (node.multiline) {
          control = make('textarea', {
            ...common, rows: 2, spellcheck: true, readOnly: !this.editable, value: node.value ?? '',
          });
          if (node.maxLength !== undefined) control.maxLength = node.maxLength;
          break;
        }
        control = make('input', {
          ...common, type: 'text', autocomplete: 'off', spellcheck: false, readOnly: !this.editable,
          value: node.value ?? '', pattern: node.pattern,
        });
        if (node.minLength !== undefined) control.minLength = node.minLength;
        if (node.maxLength !== undefined) control.maxLength = node.maxLength;
        break;
      default:
        control = make('textarea', {
          ...common, class: 'tf-json', rows: 3, spellcheck: false, readOnly: !this.editable,
          value: node.value === undefined ? '' : JSON.stringify(node.value, null, 2),
        });
    }
    this.controls.set(node.name, control);
    const label = make('label', { class: 'tf-label', htmlFor: id, text: node.label });
    return make('div', { class: `tf-field tf-${node.kind}`, 'data-pointer': node.name },
      label, make('div', { class: 'tf-control' }, control, this.removeButton(node)), this.errorLine(node.name, errorId));
  }

  // ---- edits ----

  changed(target) {
    const node = target.name ? this.nodes.get(target.name) : undefined;
    if (!node || !this.editable) return;
    let value;
    try {
      value = parseInput(node, target.value, target.checked);
    } catch (error) {
      this.showError(node.name, `${node.name}: not JSON: ${error.message}`);
      return;
    }
    this.clearError(node.name);
    this.onEdit(replaceOps(node.name, node.value, value), node.name);
  }

  clicked(button) {
    if (!button || !this.editable) return;
    if (button.dataset.remove !== undefined) {
      const node = this.nodes.get(button.dataset.remove);
      if (node) this.onEdit(removeOps(node.name, node.value), node.name);
    } else if (button.dataset.add !== undefined) {
      this.addMember(button.dataset.add);
    } else if (button.dataset.addProperty !== undefined) {
      const pointer = button.dataset.addProperty;
      const node = this.nodes.get(pointer);
      const key = button.dataset.key;
      if (node) this.onEdit(addMemberOps(pointer, key, initialValue(node.schema.properties?.[key] ?? true, this.schema)), pointer);
    } else if (button.dataset.append !== undefined) {
      const node = this.nodes.get(button.dataset.append);
      if (node) this.onEdit(appendOps(node.name, node.children.length, initialValue(node.itemSchema, this.schema)), node.name);
    }
  }

  addMember(pointer) {
    const node = this.nodes.get(pointer);
    const input = this.form.querySelector(`[data-new-key-for="${CSS.escape(pointer)}"]`);
    if (!node || !input) return;
    const key = input.value.trim();
    if (!key) {
      this.showError(pointer, `${pointer}: give the new entry a name`);
      return;
    }
    if (node.value && Object.hasOwn(node.value, key)) {
      this.showError(pointer, `${pointer}: "${key}" is there already`);
      return;
    }
    this.clearError(pointer);
    const open = node.schema.additionalProperties;
    const schema = open !== undefined && open !== false ? open : Object.values(node.schema.patternProperties ?? {})[0] ?? true;
    this.onEdit(addMemberOps(pointer, key, initialValue(schema, this.schema)), pointer);
    input.value = '';
  }
}
