// The Targeting tab: If (rules: conditions ANDed, rules ORed) / Else (what the policy serves).

import { el, clear, actionSelect, actionLabel, showProblems } from './dom.js';
import { refreshDetail, errorSlot } from './detail.js';

const ATTRIBUTES = ['agent.type', 'user.id', 'user.email', 'user.name', 'user.groups', 'tool.name', 'request.ip'];
const NUMBERS = ['lt', 'lte', 'gt', 'gte'];
const INSTANTS = ['before', 'after'];

/** What the values field holds, as the document's values: comma-separated, typed by operator. */
function values(text, operator) {
  if (operator === 'exists') return [];
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '').map((v) => {
    if (NUMBERS.includes(operator) && v !== '' && Number.isFinite(Number(v))) return Number(v);
    if (INSTANTS.includes(operator) && /^-?\d+$/.test(v)) return Number(v);
    return v;
  });
}

export function targetingTab(ctx, d, body) {
  const operators = ctx.doc.operators;
  const p = d.policy;
  const rulesBox = el('div', { class: 'rules', id: 'rules' });
  const datalist = el('datalist', { id: 'attributes' }, ATTRIBUTES.map((a) => el('option', { value: a })));

  function conditionRow(c = { attribute: 'agent.type', operator: 'equals', values: [], negate: false }) {
    const row = el('div', { class: 'condition', 'data-field': '' },
      el('input', { class: 'attribute', type: 'text', list: 'attributes', value: c.attribute, 'aria-label': 'Attribute' }),
      el('label', { class: 'check negate' }, el('input', { type: 'checkbox', class: 'negate', checked: c.negate }), el('span', { text: 'not' })),
      el('select', { class: 'operator', 'aria-label': 'Operator' }, operators.map((o) => el('option', { value: o, text: o.replaceAll('_', ' '), selected: o === c.operator }))),
      el('input', { class: 'values', type: 'text', value: c.values.map(String).join(', '), placeholder: 'values, comma-separated', 'aria-label': 'Values' }),
      el('button', { type: 'button', class: 'link danger remove-condition', 'aria-label': 'Remove condition', text: '✕', on: { click: () => { row.remove(); renumber(); } } }),
      el('p', { class: 'error condition-error', role: 'alert' }));
    return row;
  }

  function ruleBox(rule = { conditions: [undefined] }) {
    const conditions = el('div', { class: 'conditions' }, rule.conditions.map((c) => conditionRow(c)));
    const box = el('div', { class: 'rule', 'data-field': '' },
      el('div', { class: 'rule-head' },
        el('strong', { class: 'rule-title' }),
        el('button', { type: 'button', class: 'link danger', text: 'Remove rule', on: { click: () => { box.remove(); renumber(); } } })),
      conditions,
      el('button', { type: 'button', class: 'link add-condition', text: '+ Add condition (AND)', on: { click: () => { conditions.append(conditionRow()); renumber(); } } }),
      el('p', { class: 'error rule-error', role: 'alert' }));
    return box;
  }

  // Error slots are named after the rule and condition they are under, so that problems at
  // `targeting/rules/0/conditions/1/…` land next to that condition.
  function renumber() {
    [...rulesBox.querySelectorAll('.rule')].forEach((rule, r) => {
      rule.querySelector('.rule-title').textContent = r === 0 ? 'If' : 'Or if';
      rule.querySelector('.rule-error').dataset.errorFor = `rule-${r}`;
      rule.dataset.field = `rule-${r}`;
      [...rule.querySelectorAll('.condition')].forEach((c, i) => {
        c.dataset.field = `rule-${r}-condition-${i}`;
        c.querySelector('.condition-error').dataset.errorFor = `rule-${r}-condition-${i}`;
      });
    });
    empty.hidden = rulesBox.querySelector('.rule') !== null;
  }

  const empty = el('p', { class: 'empty', text: 'No targeting: the policy serves its action to every request it governs.' });
  for (const rule of p.targeting?.rules ?? []) rulesBox.append(ruleBox(rule));
  const otherwise = actionSelect('otherwise', p.targeting?.otherwise ?? 'deny', true);
  const save = el('button', { type: 'button', class: 'primary', id: 'save-targeting', text: 'Save targeting' });
  body.append(datalist,
    el('p', { class: 'hint' }, 'When a rule matches (all of its conditions hold), the policy serves ', el('strong', { text: actionLabel(p.action) }), '. Rules are alternatives: any one may match.'),
    empty, rulesBox,
    el('button', { type: 'button', class: 'secondary', id: 'add-rule', text: '+ Add rule (OR)', on: { click: () => { rulesBox.append(ruleBox()); renumber(); } } }),
    el('div', { class: 'field else', 'data-field': 'otherwise' },
      el('label', { for: 'otherwise', text: 'Else serve' }), otherwise,
      el('p', { class: 'error', 'data-error-for': 'otherwise', role: 'alert' })),
    errorSlot(),
    el('div', { class: 'buttons' }, save));
  renumber();

  save.addEventListener('click', async () => {
    const edit = {
      rules: [...rulesBox.querySelectorAll('.rule')].map((rule) => ({
        conditions: [...rule.querySelectorAll('.condition')].map((c) => {
          const operator = c.querySelector('.operator').value;
          return {
            attribute: c.querySelector('.attribute').value.trim(),
            operator,
            values: values(c.querySelector('.values').value, operator),
            negate: c.querySelector('input.negate').checked,
          };
        }),
      })),
      otherwise: otherwise.value,
    };
    const fieldOf = (rest) => {
      const m = /^targeting\/rules\/(\d+)(?:\/conditions(?:\/(\d+))?)?/.exec(rest);
      if (m) return m[2] !== undefined ? `rule-${m[1]}-condition-${m[2]}` : `rule-${m[1]}`;
      if (rest.startsWith('targeting/otherwise')) return 'otherwise';
      return 'general';
    };
    const done = await ctx.edit('PUT', `/api/policies/${encodeURIComponent(p.id)}/targeting`, edit, (e) => showProblems(body, e, fieldOf));
    if (done) await refreshDetail(ctx);
  });
}
