// Lint findings: the core's, about the live document. A marker beside each policy they
// concern, and the Findings panel listing them all.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { openDetail } from './detail.js';

const ORDER = ['error', 'security_warning', 'warning', 'suggestion'];
const LABELS = { error: 'Error', security_warning: 'Security warning', warning: 'Warning', suggestion: 'Suggestion' };

const severityLabel = (s) => LABELS[s] ?? String(s);
const severityClass = (s) => `sev sev-${ORDER.includes(s) ? s : 'other'}`;

/** The findings of the live document (`GET /api/lint`), kept on `ctx.findings`. */
export async function loadFindings(ctx) {
  const { findings } = await api('GET', '/api/lint');
  ctx.findings = findings;
  const button = document.getElementById('open-findings');
  clear(button).append('Findings ', el('span', { class: `count ${findings.length ? severityClass(worst(findings)) : ''}`, text: findings.length }));
  return findings;
}

/** The most severe of some findings' severities; an unknown severity counts as the most. */
function worst(findings) {
  const ranks = findings.map((f) => ORDER.indexOf(f.severity));
  return ranks.includes(-1) ? 'other' : ORDER[Math.min(...ranks)];
}

const line = (f) => `${severityLabel(f.severity)} · ${f.code}: ${f.message}`;

/** The marker beside a policy in the table: how many findings concern it, coloured by the worst. */
export function findingsMarker(ctx, policyId) {
  const mine = (ctx.findings ?? []).filter((f) => Array.isArray(f.policies) && f.policies.includes(policyId));
  if (!mine.length) return null;
  const list = el('ul', { class: 'marker-list', hidden: true }, mine.map((f) => el('li', { text: line(f) })));
  const marker = el('button', {
    type: 'button', class: `marker ${severityClass(worst(mine))}`, 'data-severity': worst(mine),
    title: mine.map(line).join('\n'), 'aria-expanded': 'false',
    'aria-label': `${mine.length} finding${mine.length === 1 ? '' : 's'}`, text: mine.length,
    on: { click: () => { list.hidden = !list.hidden; marker.setAttribute('aria-expanded', String(!list.hidden)); } },
  });
  return { marker, list };
}

/** The Findings panel: every finding, most severe first, each linking to its policies. */
export async function openFindings(ctx) {
  const findings = await loadFindings(ctx);
  const names = new Map((ctx.doc?.document.policies ?? []).map((p) => [p.id, p.name]));
  const counts = ORDER.map((s) => [s, findings.filter((f) => f.severity === s).length]).filter(([, n]) => n);
  const body = el('div', { class: 'findings', id: 'findings' },
    el('p', { class: 'hint', text: findings.length
      ? counts.map(([s, n]) => `${n} ${severityLabel(s).toLowerCase()}${n === 1 ? '' : 's'}`).join(', ')
      : 'No findings: nothing in the policies looks like a mistake.' }),
    el('ul', { class: 'finding-list' }, findings.map((f) => el('li', { class: 'finding', 'data-code': f.code },
      el('div', { class: 'finding-head' },
        el('span', { class: severityClass(f.severity), text: severityLabel(f.severity) }),
        el('span', { class: 'mono', text: f.code })),
      el('p', { class: 'finding-message', text: f.message }),
      el('p', { class: 'muted mono', text: f.path || 'the document' }),
      (f.policies ?? []).length ? el('p', { class: 'finding-policies' }, f.policies.map((id) => el('button', {
        type: 'button', class: 'link', 'data-policy': id, text: names.get(id) ?? id,
        on: { click: async () => { ctx.closePanel(); await openDetail(ctx, id, 'tools'); } },
      }))) : null))));
  ctx.openPanel('Findings', body);
}
