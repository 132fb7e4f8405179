// "Create policy": the side panel.

import { el, field, toggle, actionSelect, showProblems } from './dom.js';
import { openDetail } from './detail.js';

export function openCreate(ctx) {
  const connectors = ctx.doc.document.connectors;
  const name = el('input', { id: 'create-name', type: 'text', autocomplete: 'off' });
  const description = el('textarea', { id: 'create-description', rows: 3 });
  const counter = el('span', { class: 'counter', text: '0/160' });
  description.addEventListener('input', () => { counter.textContent = `${[...description.value].length}/160`; });
  const connector = el('select', { id: 'create-connector' },
    connectors.map((c) => el('option', { value: c.id, text: c.name === c.id ? c.id : `${c.name} (${c.id})` })));
  const form = el('form', { class: 'form', novalidate: true },
    field('Name', name, 'name'),
    field('Description', description, 'description', 'At most 160 characters.'),
    counter,
    field('Application', connector, 'connector'),
    field('Action', actionSelect('create-action', 'allow'), 'action'),
    el('div', { class: 'field', 'data-field': 'all_users' },
      toggle('create-all-users', 'Enforce policy action on all users', false),
      el('p', { class: 'error', 'data-error-for': 'all_users' })),
    el('p', { class: 'error', 'data-error-for': 'general', role: 'alert' }),
    el('p', { class: 'hint', text: 'A new policy governs no tools until you switch them on in its Tools tab.' }),
    el('div', { class: 'buttons' },
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => ctx.closePanel() } }),
      el('button', { type: 'submit', class: 'primary', id: 'create-submit', text: 'Create policy' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const draft = {
      name: name.value,
      description: description.value,
      connector: connector.value,
      action: form.querySelector('#create-action').value,
      all_users: form.querySelector('#create-all-users').checked,
    };
    const result = await ctx.edit('POST', '/api/policies', draft, (err) => showProblems(form, err));
    if (result) {
      ctx.closePanel();
      ctx.detail = { id: result.policy, tab: 'tools' };
      await ctx.reload();
      await openDetail(ctx, result.policy, 'tools');
    }
  });
  ctx.openPanel('Create policy', form);
}
