// Building the page: every string a user typed goes through textContent, never markup.

/** el('div', {class: 'x', text: 'shown as text'}, child, 'text child') */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === 'checked' || key === 'value' || key === 'disabled' || key === 'selected') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export const ACTIONS = ['allow', 'step_up', 'request_approval', 'deny'];
const LABELS = { allow: 'Allow', step_up: 'Step up', request_approval: 'Request approval', deny: 'Deny', none: 'Not apply (none)' };

export function actionLabel(action) {
  return LABELS[action] ?? String(action);
}

export function badge(action) {
  return el('span', { class: `badge badge-${ACTIONS.includes(action) ? action : 'other'}`, text: actionLabel(action) });
}

export function actionSelect(id, value, withNone = false) {
  const choices = withNone ? [...ACTIONS, 'none'] : ACTIONS;
  return el('select', { id, name: id },
    choices.map((a) => el('option', { value: a, text: actionLabel(a), selected: a === value })));
}

/** A labelled field with a place for its validation message. */
export function field(label, input, name, hint) {
  return el('div', { class: 'field', 'data-field': name },
    el('label', { for: input.id, text: label }),
    input,
    hint ? el('p', { class: 'hint', text: hint }) : null,
    el('p', { class: 'error', 'data-error-for': name, role: 'alert' }));
}

export function toggle(id, label, checked) {
  return el('label', { class: 'toggle', for: id },
    el('input', { type: 'checkbox', id, role: 'switch', checked }),
    el('span', { class: 'track' }),
    el('span', { class: 'toggle-label', text: label }));
}

/**
 * Puts each problem of a refused edit next to its field: the problem's JSON Pointer, under the
 * edited policy's pointer, names the field (`/policies/3/name` → `name`). `fieldOf` maps the
 * rest of the pointer to a field name; problems without a field go to `general`.
 */
export function showProblems(root, error, fieldOf = (rest) => rest.split('/')[0]) {
  for (const node of root.querySelectorAll('[data-error-for]')) node.textContent = '';
  for (const node of root.querySelectorAll('.invalid')) node.classList.remove('invalid');
  const problems = error.problems?.length ? error.problems : [error];
  const general = [];
  for (const p of problems) {
    let name = null;
    const prefix = error.policy_path ? `${error.policy_path}/` : null;
    if (prefix && typeof p.path === 'string' && p.path.startsWith(prefix)) name = fieldOf(p.path.slice(prefix.length));
    const slot = name ? root.querySelector(`[data-error-for="${CSS.escape(name)}"]`) : null;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${p.message}` : p.message;
      slot.closest('[data-field]')?.classList.add('invalid');
    } else {
      general.push(p.message ?? String(p));
    }
  }
  const slot = root.querySelector('[data-error-for="general"]');
  if (slot) slot.textContent = general.join('; ');
  return general;
}
