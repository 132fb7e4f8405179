// The policies table: rows as the core's admin table gives them.

import { el, clear, badge } from './dom.js';
import { openDetail } from './detail.js';
import { findingsMarker } from './findings.js';

export function renderTable(ctx, rows) {
  const body = clear(document.getElementById('rows'));
  document.getElementById('empty').hidden = rows.length > 0;
  for (const name of ['name', 'action']) {
    const th = document.getElementById(`sort-${name}`).closest('th');
    if (ctx.query.sort === name) th.setAttribute('aria-sort', ctx.query.descending ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
  for (const row of rows) {
    const menu = el('div', { class: 'menu', hidden: true, role: 'menu' },
      el('button', { type: 'button', role: 'menuitem', text: 'Edit', on: { click: () => openDetail(ctx, row.id, 'tools') } }),
      el('button', { type: 'button', role: 'menuitem', class: 'danger', text: 'Delete', on: { click: () => confirmDelete(ctx, row) } }));
    const toggle = el('button', {
      type: 'button', class: 'kebab', 'aria-label': `Actions for ${row.name}`, 'aria-haspopup': 'menu', text: '⋯',
      on: { click: (e) => { e.stopPropagation(); closeMenus(menu); menu.hidden = !menu.hidden; } },
    });
    const findings = findingsMarker(ctx, row.id);
    body.append(el('tr', { 'data-policy': row.id },
      el('td', {},
        el('button', { type: 'button', class: 'link name', text: row.name, on: { click: () => openDetail(ctx, row.id, 'tools') } }),
        findings?.marker,
        row.description ? el('div', { class: 'muted', text: row.description }) : null,
        findings?.list),
      el('td', {}, el('div', { text: row.connector_name }), el('div', { class: 'muted mono', text: row.connector })),
      el('td', { class: 'users', text: row.users }),
      el('td', { class: 'groups', text: row.groups }),
      el('td', { class: 'tools', text: row.tools }),
      el('td', { class: 'action' }, badge(row.action)),
      el('td', { class: 'menu-cell' }, toggle, menu)));
  }
}

function closeMenus(except) {
  for (const m of document.querySelectorAll('.menu')) if (m !== except) m.hidden = true;
}
document.addEventListener('click', () => closeMenus(null));

export function confirmDelete(ctx, row) {
  closeMenus(null);
  const error = el('p', { class: 'error', role: 'alert' });
  const body = el('div', {},
    el('p', {}, 'Delete the policy ', el('strong', { text: row.name }), '? Decisions it made change at once.'),
    error,
    el('div', { class: 'buttons' },
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => ctx.closePanel() } }),
      el('button', {
        type: 'button', class: 'danger', id: 'confirm-delete', text: 'Delete policy',
        on: {
          click: async () => {
            const done = await ctx.edit('DELETE', `/api/policies/${encodeURIComponent(row.id)}`, undefined, (e) => { error.textContent = e.message; });
            if (done) { ctx.closePanel(); ctx.showList(); await ctx.reload(); }
          },
        },
      })));
  ctx.openPanel('Delete policy', body);
}
