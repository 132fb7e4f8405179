// The detail view of one policy: its head, the all-users banner and the five tabs.

import { api } from './api.js';
import { el, clear, badge } from './dom.js';
import { toolsTab, membersTab, settingsTab } from './tabs.js';
import { targetingTab } from './targeting.js';

const TABS = {
  tools: toolsTab,
  users: (ctx, d, body) => membersTab(ctx, d, body, 'users'),
  groups: (ctx, d, body) => membersTab(ctx, d, body, 'groups'),
  targeting: targetingTab,
  settings: settingsTab,
};

export async function openDetail(ctx, id, tab = 'tools') {
  let data;
  try {
    data = await api('GET', `/api/policies/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) { ctx.showList(); ctx.notify('That policy no longer exists.'); return; }
    throw e;
  }
  ctx.version = data.version;
  ctx.detail = { id, tab };
  const d = data.detail;
  const p = d.policy;
  document.getElementById('list-view').hidden = true;
  document.getElementById('detail-view').hidden = false;
  document.getElementById('detail-name').textContent = p.name;
  clear(document.getElementById('detail-badge')).append(badge(p.action));
  document.getElementById('detail-meta').textContent =
    `Application: ${d.connector_name} (${p.connector}) · Policy id: ${p.id}${p.description ? ` · ${p.description}` : ''}`;
  document.getElementById('all-users-banner').hidden = !p.all_users;
  for (const button of document.querySelectorAll('#tabs [data-tab]')) {
    const selected = button.dataset.tab === tab;
    button.setAttribute('aria-selected', String(selected));
    button.onclick = () => openDetail(ctx, id, button.dataset.tab);
  }
  const body = clear(document.getElementById('tab-body'));
  body.dataset.tab = tab;
  (TABS[tab] ?? TABS.tools)(ctx, d, body);
}

/** After an edit: the data again, the same tab. */
export async function refreshDetail(ctx) {
  await ctx.reload();
}

export function errorSlot() {
  return el('p', { class: 'error', 'data-error-for': 'general', role: 'alert' });
}
