// One decision per request whatever the path: `evaluate` (a plain-data request encoded into a
// buffer, one native call) and `evaluateJson(JSON.stringify(request))` (the core parses the
// text) decide alike on random contexts, and the fast path is shown to have run.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import { PolicySet, RequestError } from 'agen-policy'

import { generator } from './generator.mjs'

// Test-only export of the `test-hooks` build (test.sh): requests decided on the fast path.
const native = createRequire(import.meta.url)('../agen-policy.node')
const fastDecisions = () => native.__fastPathDecisionsForTest()

// Conditions of every operator family, each in its own policy. Every policy allows, and one
// whose condition fails serves nothing, so a decision's `policies` are exactly the conditions
// that held; each is there negated too, which tells a false condition from a missing value.
// Written as JSON text, so that numbers beyond JavaScript's precision stay exact.
const CONDITIONS = [
  ['n', 'equals', '[0, 1, -1, 0.1, 1.5, 9007199254740993, 9007199254740992, 1152921504606846976, 1152921504606847000, -9223372036854775808, 9223372036854775807, 18446744073709551615, 18446744073709551616, 1e21]'],
  ['n', 'lt', '[-9223372036854775808]'],
  ['n', 'lte', '[-9223372036854775808]'],
  ['n', 'gt', '[9007199254740992]'],
  ['n', 'gte', '[18446744073709551615]'],
  ['n', 'gt', '[0.30000000000000004]'],
  ['n', 'lt', '[1e-7]'],
  ['n', 'before', '[0]'],
  ['n', 'after', '["2000-01-01T00:00:00Z"]'],
  ['n', 'before', '["2030-01-01T00:00:00Z"]'],
  ['n', 'exists', '[]'],
  ['s', 'equals', '["", "é", "🤖", "a", "1", "true"]'],
  ['s', 'equals', '["ÉCOLE", "a"]', true],
  ['s', 'matches', '["*é*", "?", "a*"]'],
  ['s', 'regex', '["^a", "\\\\d", "🤖$"]'],
  ['s', 'starts_with', '["a", "é"]'],
  ['s', 'ends_with', '["z", "🤖"]'],
  ['s', 'contains', '["b", "ß"]', true],
  ['s', 'semver_eq', '["1.2.3"]'],
  ['s', 'semver_lt', '["1.0.0"]'],
  ['s', 'semver_gt', '["1.0.0-alpha"]'],
  ['s', 'in_cidr', '["10.0.0.0/8", "::1/128"]'],
  ['s', 'before', '["2001-01-01T00:00:00Z"]'],
  ['a.b', 'equals', '[1, "x", true, false]'],
  ['a.b', 'gt', '[2]'],
  ['a.b', 'exists', '[]'],
  ['a.b.c', 'lt', '[0]'],
  ['l', 'equals', '[1, "x", -0.5]'],
  ['l', 'gte', '[4294967296]'],
  ['flag', 'equals', '[true]'],
  ['é.🤖', 'matches', '["*"]'],
]

const policies = CONDITIONS.flatMap(([attribute, operator, values, ignoreCase], i) =>
  [false, true].map(
    (negate) => `{"id": "p${i}${negate ? 'n' : ''}", "name": "P", "connector": "c", "action": "allow", "all_users": true,
      "tools": ["t"], "targeting": {"rules": [{"conditions": [{"attribute": ${JSON.stringify(attribute)},
      "operator": "${operator}", "values": ${values}, "negate": ${negate}${ignoreCase ? ', "ignore_case": true' : ''}}]}],
      "otherwise": "none"}}`,
  ),
)
const set = PolicySet.fromJson(`{"connectors": [{"id": "c", "tools": [{"name": "t"}]}], "policies": [${policies.join(',')}]}`)

const NUMBERS = [
  0, -0, 1, -1, 0.1, 0.2, 0.1 + 0.2, 1.5, -0.5, 2, 3, 1e-7, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308,
  2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), -(2 ** 53) - 2, 2 ** 60, 2 ** 63, -(2 ** 63), 2 ** 64, -(2 ** 64),
  2 ** 64 + 4096, 1152921504606846976, 9007199254740993, 1e21, -1e21, 1e20, 123456789012345680000, 1e300, 1e-300,
  NaN, Infinity, -Infinity, 946684800000, 946684800001, -62135596800000, 1893456000000,
]
const STRINGS = [
  '', 'a', 'ab', 'é', 'É', 'école', 'ÉCOLE', '🤖', 'a🤖', 'ß', 'SS', 'x', '1', 'true', 'null', '1.2.3', '1.2.3-rc.1', '0.9.0',
  '10.1.2.3', '11.0.0.1', '::1', '::2', '2000-06-01T00:00:00Z', '1999-12-31T23:59:59.999Z', '2030-01-01T00:00:00+01:00',
  'a\u0000b', '\u0001', '"', '\\', 'line\nbreak', '\u2028', 'ﬀ', 'İ', 'z', 'abz', 'b9',
]
const KEYS = ['n', 's', 'a', 'b', 'c', 'l', 'flag', 'a.b', 'é', '🤖', 'é.🤖', '', 'x y', '0', '10', 'constructor', 'toString']

function value(g, depth) {
  const r = g.next()
  if (r < 0.25) return g.pick(NUMBERS)
  if (r < 0.3) {
    // Any double at all, from random bits.
    const view = new DataView(new ArrayBuffer(8))
    view.setUint32(0, g.int(2 ** 32))
    view.setUint32(4, g.int(2 ** 32))
    return view.getFloat64(0)
  }
  if (r < 0.35) return (g.next() - 0.5) * 2 ** g.int(80)
  if (r < 0.4) return Math.round((g.next() - 0.5) * 2 ** g.int(70))
  if (r < 0.6) {
    if (g.next() < 0.8) return g.pick(STRINGS)
    return Array.from({ length: g.int(6) }, () => String.fromCodePoint(g.pick([0x61, 0xe9, 0x1f916, 0x4e2d, 0x20 + g.int(0x50), g.int(0xd7ff)]))).join('')
  }
  if (r < 0.65) return g.next() < 0.5
  if (r < 0.68) return null
  if (depth <= 0) return g.pick(NUMBERS)
  if (r < 0.82) return Array.from({ length: g.int(4) }, () => value(g, depth - 1))
  return object(g, depth - 1)
}

function object(g, depth) {
  const o = {}
  const n = g.int(5)
  for (let i = 0; i < n; i++) o[g.pick(KEYS)] = value(g, depth)
  return o
}

function request(g) {
  const context = object(g, 4)
  // The attributes the conditions read, most of the time.
  for (const key of ['n', 's', 'a', 'l', 'flag', 'é']) {
    if (g.next() < 0.6) context[key] = key === 'a' || key === 'é' ? (g.next() < 0.7 ? object(g, 3) : value(g, 2)) : value(g, 2)
  }
  if (g.next() < 0.3 && typeof context.a === 'object' && context.a !== null) context.a.b = value(g, 2)
  return { user: g.pick(['u', 'zoë']), connector: 'c', tool: 't', groups: g.next() < 0.2 ? ['g'] : undefined, context }
}

// The decision of each path, or the error it threw.
function outcome(run) {
  try {
    return run()
  } catch (e) {
    assert.ok(e instanceof RequestError, `only a RequestError may be thrown: ${e}`)
    return { error: e.code, path: e.path, message: e.message }
  }
}

function agree(r) {
  const text = JSON.stringify(r)
  const fast = outcome(() => set.evaluate(r))
  const general = outcome(() => set.evaluateJson(text))
  assert.deepEqual(fast, general, text)
  return fast
}

describe('the fast path and the general path', () => {
  test('-(2 ** 63) against `before`: one decision, whatever the path', () => {
    const r = { user: 'u', connector: 'c', tool: 't', context: { n: -(2 ** 63) } }
    const before = fastDecisions()
    const decision = agree(r)
    assert.equal(fastDecisions(), before + 1, 'the fast path ran')
    // JSON writes -9223372036854776000, which is not an integer of Unix milliseconds in range:
    // `before` has nothing to compare, so it and its negation both fail.
    assert.ok(!decision.policies.includes('p7') && !decision.policies.includes('p7n'), JSON.stringify(decision))
    // 2 ** 60 is written 1152921504606847000: equal to that integer, not to 2 ** 60 exactly.
    assert.ok(agree({ ...r, context: { n: 2 ** 60 } }).policies.includes('p0'))
  })

  test('agree on thousands of random contexts, all decided on the fast path', () => {
    const g = generator(0x5eed)
    const cases = 4000
    const before = fastDecisions()
    const seen = new Set()
    for (let i = 0; i < cases; i++) {
      const decision = agree(request(g))
      assert.ok(decision.action !== undefined, 'every case is decided')
      for (const p of decision.policies) seen.add(p)
    }
    assert.equal(fastDecisions() - before, cases, 'every case took the fast path')
    // The cases reach most conditions both ways, so agreement means something.
    assert.ok(seen.size >= CONDITIONS.length * 1.5, `conditions that held: ${[...seen].sort().join(' ')}`)
  })

  test('agree where the fast path hands over: lone surrogates, toJSON, deep nesting, sizes', () => {
    const g = generator(42)
    const before = fastDecisions()
    const odd = [
      { s: '\ud800' },
      { s: 'a\udfffb' },
      { s: new Date(0) },
      { n: { toJSON: () => 2 ** 63 } },
      { a: JSON.parse('{"b":'.repeat(45) + '1' + '}'.repeat(45)) },
      { a: JSON.parse('{"b":'.repeat(31) + '1' + '}'.repeat(31)) },
      { s: 'x'.repeat(70_000) },
      { l: Array.from({ length: 9000 }, (_, i) => i) },
    ]
    for (const context of odd) agree({ user: 'u', connector: 'c', tool: 't', context })
    for (let i = 0; i < 300; i++) {
      const r = request(g)
      r.context.s = `${g.pick(STRINGS)}${String.fromCharCode(0xd800 + g.int(0x800))}`
      agree(r)
    }
    assert.equal(fastDecisions(), before + 1, 'only the context 31 levels deep is plain and small enough')
  })
})

// Step-ups and approvals, with evidence or without: a request without evidence is decided on the
// fast path (which writes `satisfied` and `stepUp` into its buffer), one with evidence on the
// general path; both agree with the core's reading of the request's JSON text.
const evidenceSet = PolicySet.fromObject({
  step_up: { max_age: 300, acr_values: ['urn:mfa'] },
  connectors: [{ id: 'c', tools: [{ name: 't1' }, { name: 't2' }, { name: 't3' }, { name: 't4' }] }],
  users: [{ id: 'u', groups: ['g'] }, { id: 'bob' }],
  approval_flows: [
    { id: 'f1', steps: [{ users: ['bob'] }] },
    { id: 'f2', bind_arguments: false, steps: [{ users: ['bob'] }] },
  ],
  policies: [
    { id: 'all', name: 'P', connector: 'c', action: 'allow', all_users: true, tools: 'all' },
    { id: 's1', name: 'P', connector: 'c', action: 'step_up', all_users: true, tools: ['t1'], step_up: { max_age: 60, acr_values: ['urn:mfa', 'urn:hwk', 'é🤖'] } },
    { id: 's2', name: 'P', connector: 'c', action: 'step_up', groups: ['g'], tools: ['t1', 't2'] },
    { id: 's3', name: 'P', connector: 'c', action: 'step_up', users: ['v'], tools: ['t2', 't3'], step_up: { acr_values: [] } },
    { id: 'a1', name: 'P', connector: 'c', action: 'request_approval', approval_flow: 'f1', all_users: true, tools: ['t2', 't3'] },
    { id: 'a2', name: 'P', connector: 'c', action: 'request_approval', approval_flow: 'f2', users: ['u'], tools: ['t3', 't4'] },
    {
      id: 'd1', name: 'P', connector: 'c', action: 'deny', all_users: true, tools: ['t4'],
      targeting: { rules: [{ conditions: [{ attribute: 'n', operator: 'equals', values: [1] }] }], otherwise: 'none' },
    },
  ],
})

const T0 = 1795600800000
const DIGESTS = ['3b55ba5044f396babe141fa12e0250ed8032537fcc16024cc2c8c32404b73b4a', 'e2a2423226eecb9ec422f29eb9a6435f628088b842a6e20c3fb2137b5208e5b6']

function evidenceRequest(g) {
  const r = { user: g.pick(['u', 'v', 'w']), connector: 'c', tool: g.pick(['t1', 't2', 't3', 't4']) }
  if (g.next() < 0.3) r.groups = ['g']
  if (g.next() < 0.5) r.context = { n: g.pick([0, 1]) }
  if (g.next() < 0.25) return r // no evidence: the fast path
  const instant = (t) => g.pick([t, new Date(t).toISOString(), new Date(t), new Date(t).toISOString().replace('Z', '+00:00')])
  const now = T0 + g.int(3) * 30_000
  if (g.next() < 0.9) r.now = instant(now)
  if (g.next() < 0.6) {
    r.auth = { time: instant(now - g.pick([0, 1, 59_000, 60_000, 60_001, 300_000, 300_001, -1])) }
    if (g.next() < 0.7) r.auth.acr = g.pick(['urn:mfa', 'urn:hwk', 'é🤖', 'urn:other'])
    if (g.next() < 0.3) r.auth.amr = ['pwd', 'otp']
  }
  if (g.next() < 0.6) {
    r.grants = Array.from({ length: g.int(3) }, () => ({
      id: 'apr', flow: g.pick(['f1', 'f2', 'f3']), user: g.pick([r.user, 'u']), connector: 'c', tool: g.pick([r.tool, 't3']),
      arguments: g.pick([null, ...DIGESTS]), expires: now + g.pick([-1, 0, 1, 3_600_000]), approvers: ['bob'],
    }))
  }
  if (g.next() < 0.5) r.arguments = g.pick(DIGESTS)
  if (g.next() < 0.05) r.now = g.pick(['soon', true, null, 1.5, '2026-02-30T00:00:00Z']) // malformed: both refuse
  return r
}

describe('the fast path and the general path, with evidence', () => {
  test('agree on random step-ups, approvals and evidence; only requests without evidence take the fast path', () => {
    const g = generator(0xe71d)
    const seen = { satisfied: new Set(), stepUp: new Set(), actions: new Set(), errors: 0 }
    let plain = 0
    const before = fastDecisions()
    for (let i = 0; i < 3000; i++) {
      const r = evidenceRequest(g)
      if (!['now', 'auth', 'grants', 'arguments'].some((k) => k in r)) plain++
      const fast = outcome(() => evidenceSet.evaluate(r))
      const general = outcome(() => evidenceSet.evaluateJson(JSON.stringify(r)))
      assert.deepEqual(fast, general, JSON.stringify(r))
      if (fast.error !== undefined) {
        seen.errors++
        continue
      }
      seen.actions.add(fast.action)
      for (const p of fast.satisfied) seen.satisfied.add(p)
      for (const s of fast.stepUp) seen.stepUp.add(`${s.policy}:${s.maxAge}:${s.acrValues.join('|')}`)
    }
    assert.equal(fastDecisions() - before, plain, 'exactly the requests without evidence took the fast path')
    assert.ok(plain > 300)
    // The cases reach what they are meant to compare.
    assert.deepEqual([...seen.actions].sort(), ['allow', 'deny', 'request_approval', 'step_up'])
    assert.deepEqual([...seen.satisfied].sort(), ['a1', 'a2', 's1', 's2', 's3'])
    assert.deepEqual([...seen.stepUp].sort(), ['s1:60:urn:mfa|urn:hwk|é🤖', 's2:300:urn:mfa', 's3:300:'])
    assert.ok(seen.errors > 10)
  })
})
