// The Tools, Users, Groups and Settings tabs.

import { el, clear, field, toggle, actionSelect, showProblems } from './dom.js';
import { refreshDetail, errorSlot } from './detail.js';
import { showAccess } from './access.js';

const path = (d, rest) => `/api/policies/${encodeURIComponent(d.policy.id)}/${rest}`;

export function toolsTab(ctx, d, body) {
  const all = d.policy.tools.all;
  const master = toggle('tools-all', 'All tools of the application', all);
  const rows = d.tools.map((t, i) => {
    const review = el('div', { class: 'access-review', id: `access-${i}`, hidden: true });
    const who = el('button', {
      type: 'button', class: 'link who-button', 'data-tool': t.name, text: 'Who has access',
      'aria-label': `Who has access to ${t.name}`, 'aria-controls': `access-${i}`,
      on: { click: () => { if (review.hidden) showAccess(d.policy.connector, t.name, review); else review.hidden = true; } },
    });
    return el('li', { class: 'tool', 'data-tool': t.name },
      toggle(`tool-${i}`, t.title ? `${t.title}` : t.name, t.on),
      el('span', { class: 'muted mono', text: t.name }),
      t.description ? el('span', { class: 'muted', text: t.description }) : null,
      t.enabled ? null : el('span', { class: 'tag', text: 'disabled in the application: always denied' }),
      who, review);
  });
  const masterInput = master.querySelector('input');
  masterInput.addEventListener('change', () => {
    for (const [i] of d.tools.entries()) body.querySelector(`#tool-${i}`).checked = masterInput.checked;
  });
  const save = el('button', { type: 'button', class: 'primary', id: 'save-tools', text: 'Save tools' });
  body.append(
    el('p', { class: 'hint', text: 'With “All tools” on, the policy also governs tools the application adds later, except those switched off here.' }),
    master, el('ul', { class: 'tool-list' }, rows), errorSlot(), el('div', { class: 'buttons' }, save));
  save.addEventListener('click', async () => {
    const toggles = {
      all: masterInput.checked,
      tools: d.tools.map((t, i) => ({ name: t.name, on: body.querySelector(`#tool-${i}`).checked })),
    };
    const done = await ctx.edit('PUT', path(d, 'tools'), toggles, (e) => showProblems(body, e, () => 'general'));
    if (done) await refreshDetail(ctx);
  });
}

export function membersTab(ctx, d, body, kind) {
  const singular = kind === 'users' ? 'user' : 'group';
  const entries = d[kind];
  const members = entries.filter((m) => m.member);
  const list = el('table', { class: 'members', id: `${kind}-members` },
    el('thead', {}, el('tr', {}, el('th', { text: 'Name' }), el('th', { text: kind === 'users' ? 'E-mail' : 'Description' }), el('th', { text: 'Id' }), el('th', {}))),
    el('tbody', {}, members.map((m) => el('tr', {},
      el('td', { text: m.name ?? m.id }),
      el('td', { text: m.detail ?? '' }),
      el('td', { class: 'mono', text: m.in_directory ? m.id : `${m.id} (not in the directory)` }),
      el('td', {}, el('button', {
        type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove ${m.name ?? m.id}`,
        on: { click: async () => { if (await ctx.edit('POST', path(d, kind), { remove: [m.id] }, (e) => showProblems(body, e, () => 'general'))) await refreshDetail(ctx); } },
      }))))));
  const add = el('button', { type: 'button', class: 'primary', id: `add-${kind}`, text: `Add ${kind}`, on: { click: () => addPanel(ctx, d, kind) } });
  body.append(
    d.policy.all_users ? el('p', { class: 'hint', text: `The policy applies to all users: the ${kind} listed here are kept but not enforced.` }) : null,
    el('div', { class: 'buttons left' }, add),
    members.length ? list : el('p', { class: 'empty', text: `No ${singular} yet.` }),
    errorSlot());
}

function addPanel(ctx, d, kind) {
  const candidates = d[kind].filter((m) => !m.member && m.in_directory);
  const search = el('input', { type: 'search', id: `${kind}-search`, placeholder: `Search ${kind}`, 'aria-label': `Search ${kind}` });
  const items = candidates.map((m) => el('li', { 'data-text': `${m.id} ${m.name ?? ''} ${m.detail ?? ''}`.toLowerCase() },
    el('label', { class: 'check' },
      el('input', { type: 'checkbox', value: m.id }),
      el('span', { text: m.name ?? m.id }),
      el('span', { class: 'muted', text: m.detail ?? m.id }))));
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    for (const li of items) li.hidden = q !== '' && !li.dataset.text.includes(q);
  });
  const error = el('p', { class: 'error', role: 'alert' });
  const body = el('div', { class: 'add-panel' },
    search,
    items.length ? el('ul', { class: 'check-list' }, items) : el('p', { class: 'empty', text: `Every ${kind === 'users' ? 'user' : 'group'} of the directory is already in the policy.` }),
    error,
    el('div', { class: 'buttons' },
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => ctx.closePanel() } }),
      el('button', {
        type: 'button', class: 'primary', id: `add-${kind}-submit`, text: 'Add selected',
        on: {
          click: async () => {
            const ids = [...body.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
            if (!ids.length) { error.textContent = `Select at least one ${kind === 'users' ? 'user' : 'group'}.`; return; }
            const done = await ctx.edit('POST', path(d, kind), { add: ids }, (e) => { error.textContent = e.problems?.map((p) => p.message).join('; ') || e.message; });
            if (done) { ctx.closePanel(); await refreshDetail(ctx); }
          },
        },
      })));
  ctx.openPanel(`Add ${kind}`, body);
}

export function settingsTab(ctx, d, body) {
  const p = d.policy;
  const flows = ctx.doc.document.approval_flows;
  const name = el('input', { id: 'settings-name', type: 'text', value: p.name });
  const description = el('textarea', { id: 'settings-description', rows: 3 });
  description.value = p.description;
  const flow = el('select', { id: 'settings-flow' },
    el('option', { value: '', text: 'None' }),
    flows.map((f) => el('option', { value: f.id, text: f.name ?? f.id, selected: f.id === p.approval_flow })));
  const form = el('form', { class: 'form', novalidate: true },
    field('Name', name, 'name'),
    field('Description', description, 'description', 'At most 160 characters.'),
    field('Action', actionSelect('settings-action', p.action), 'action'),
    el('div', { class: 'field', 'data-field': 'all_users' },
      toggle('settings-all-users', 'Enforce policy action on all users', p.all_users),
      el('p', { class: 'error', 'data-error-for': 'all_users' })),
    field('Approval flow (for Request approval)', flow, 'approval_flow'),
    errorSlot(),
    el('div', { class: 'buttons' },
      el('button', { type: 'submit', class: 'primary', id: 'save-settings', text: 'Save settings' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const settings = {
      name: name.value,
      description: description.value,
      action: form.querySelector('#settings-action').value,
      all_users: form.querySelector('#settings-all-users').checked,
      approval_flow: flow.value || null,
    };
    const done = await ctx.edit('PUT', path(d, 'settings'), settings, (err) => showProblems(form, err));
    if (done) await refreshDetail(ctx);
  });
  const danger = el('div', { class: 'danger-zone' },
    el('h3', { text: 'Delete this policy' }),
    el('button', {
      type: 'button', class: 'danger', id: 'delete-policy', text: 'Delete policy',
      on: { click: async () => { const { confirmDelete } = await import('./table.js'); confirmDelete(ctx, { id: p.id, name: p.name }); } },
    }));
  clear(body).append(form, danger);
}
