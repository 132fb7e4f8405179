// "Who has access": the core's access review of one tool, per principal, piece by piece.

import { api } from './api.js';
import { el, clear, badge } from './dom.js';

function principalLabel(p) {
  const who = p.principal ?? {};
  if (who.kind === 'user') return p.groups?.length ? `${who.id} (${p.groups.join(', ')})` : who.id;
  if (who.kind === 'group') return `group ${who.id}`;
  return 'anyone else';
}

/** `when`: alternatives (ORed) of terms (ANDed); one empty alternative is "always". */
function whenText(when) {
  if (!Array.isArray(when) || when.some((alt) => !alt.length)) return 'always';
  const alts = when.map((alt) => alt.map((t) => (t.matches ? t.rules : `not (${t.rules})`)).join(' and '));
  return alts.length > 1 ? alts.map((a) => `(${a})`).join(' or ') : alts[0];
}

function pieceItem(piece) {
  return el('li', { class: 'piece', 'data-action': piece.action, 'data-certain': String(piece.certain) },
    piece.certain ? null : el('span', { class: 'tag may', title: 'Only combinations that could not be decided give this: it may happen.', text: 'may' }),
    badge(piece.action),
    piece.approval_flows?.length ? el('span', { class: 'muted', text: `flow ${piece.approval_flows.join(', ')}` }) : null,
    el('span', { class: 'when', text: `when ${whenText(piece.when)}` }),
    el('span', { class: 'muted', text: piece.policies?.length ? `[${piece.policies.join(', ')}]` : `(${piece.reason})` }));
}

/** Fetches the review of `connector`/`tool` and shows it in `slot`. */
export async function showAccess(connector, tool, slot) {
  clear(slot).append(el('p', { class: 'muted', text: 'Reviewing…' }));
  slot.hidden = false;
  let review;
  try {
    review = await api('GET', `/api/access?${new URLSearchParams({ connector, tool })}`);
  } catch (e) {
    clear(slot).append(el('p', { class: 'error', role: 'alert', text: e.message }));
    return;
  }
  clear(slot).append(
    el('table', { class: 'access' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Who' }), el('th', { text: 'Decision' }))),
      el('tbody', {}, review.principals.map((p) => el('tr', { 'data-principal': principalLabel(p) },
        el('td', { class: 'who', text: principalLabel(p) }),
        el('td', {},
          el('ul', { class: 'pieces' }, p.pieces.map(pieceItem)),
          p.exact ? null : el('p', { class: 'muted', text: `Not decided exactly: ${p.unknown.join('; ')}` })))))));
}
