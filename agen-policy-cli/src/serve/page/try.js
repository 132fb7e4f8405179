// "Try a request": user, connector, tool and context → the decision and why.

import { api } from './api.js';
import { el, clear, field, badge } from './dom.js';

export function openTry(ctx) {
  const doc = ctx.doc.document;
  const user = el('input', { id: 'try-user', type: 'text', list: 'try-users', value: doc.users[0]?.id ?? '' });
  const users = el('datalist', { id: 'try-users' }, doc.users.map((u) => el('option', { value: u.id, text: u.name ?? u.id })));
  const groups = el('input', { id: 'try-groups', type: 'text', placeholder: 'group claims, comma-separated' });
  const connector = el('select', { id: 'try-connector' }, doc.connectors.map((c) => el('option', { value: c.id, text: c.name })));
  const tool = el('select', { id: 'try-tool' });
  const fillTools = () => {
    const c = doc.connectors.find((x) => x.id === connector.value);
    clear(tool).append(...(c?.tools ?? []).map((t) => el('option', { value: t.name, text: t.title ? `${t.title} (${t.name})` : t.name })));
  };
  connector.addEventListener('change', fillTools);
  fillTools();
  const context = el('textarea', { id: 'try-context', rows: 4, class: 'mono' });
  context.value = '{ "agent": { "type": "ChatGPT" } }';
  const result = el('div', { id: 'try-result', class: 'try-result', 'aria-live': 'polite' });
  const form = el('form', { class: 'form', novalidate: true },
    users,
    field('User', user, 'user'),
    field('Groups', groups, 'groups', 'Added to the groups the directory gives the user.'),
    field('Application', connector, 'connector'),
    field('Tool', tool, 'tool'),
    field('Context (JSON)', context, 'context', 'What targeting reads, e.g. agent.type.'),
    el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary', id: 'try-submit', text: 'Decide' })),
    result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(result);
    let ctxValue = {};
    if (context.value.trim() !== '') {
      try { ctxValue = JSON.parse(context.value); } catch (err) {
        result.append(el('p', { class: 'error', text: `The context is not JSON: ${err.message}` }));
        return;
      }
    }
    const request = {
      user: user.value.trim(),
      connector: connector.value,
      tool: tool.value,
      groups: groups.value.split(',').map((g) => g.trim()).filter((g) => g),
      context: ctxValue,
    };
    try {
      const answer = await api('POST', '/api/try', request);
      const d = answer.decision;
      result.append(
        el('div', { class: 'decision' }, el('span', { text: 'Decision: ' }), badge(d.action), el('span', { class: 'muted', text: ` reason: ${d.reason}` })),
        d.policies.length ? el('p', { text: `Determining policies: ${d.policies.join(', ')}` }) : null,
        d.approval_flows.length ? el('p', { text: `Approval flows: ${d.approval_flows.join(', ')}` }) : null,
        el('pre', { class: 'explanation', id: 'try-text', text: answer.text }));
    } catch (err) {
      result.append(el('p', { class: 'error', text: `${err.message}${err.path ? ` (at ${err.path})` : ''}` }));
    }
  });
  ctx.openPanel('Try a request', form);
}
