// `evaluate` writes the whole context into a shared buffer in JavaScript (reading all of it, as
// `JSON.stringify` would) and the engine reads those bytes in place: every value type read, a
// nested path, a dotted top-level key, unicode, empty values, numbers at the integer/float
// boundary, keys that are prefixes of others; what cannot be written takes the general path and
// means what its JSON means; the whole context is checked whatever is read; groups; and
// `evaluateMany` in one native call, against `evaluateJson` and `evaluate`.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import { PolicySet, RequestError } from 'agen-policy'

import { generator } from './generator.mjs'

const native = createRequire(import.meta.url)('../agen-policy.node')
const fastDecisions = () => native.__fastPathDecisionsForTest()

// Each condition in its own policy, which allows when it holds and serves nothing otherwise:
// a decision's `policies` are the conditions that held.
function setOf(conditions, extra = []) {
  return PolicySet.fromObject({
    connectors: [{ id: 'c', tools: [{ name: 't' }, { name: 'quiet' }] }],
    users: [{ id: 'u', groups: ['staff'] }],
    policies: [
      ...conditions.map(([attribute, operator, values], i) => ({
        id: `p${i}`, name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'],
        targeting: { rules: [{ conditions: [{ attribute, operator, values }] }], otherwise: 'none' },
      })),
      // `quiet` reads nothing.
      { id: 'q', name: 'Q', connector: 'c', action: 'allow', all_users: true, tools: ['quiet'] },
      ...extra,
    ],
  })
}

const set = setOf([
  ['s', 'equals', ['x']], // p0
  ['n', 'equals', [2]], // p1
  ['b', 'equals', [true]], // p2
  ['z', 'exists', []], // p3: null is not there
  ['l', 'equals', ['y', 3]], // p4
  ['o', 'exists', []], // p5
  ['a.b.c', 'equals', ['deep']], // p6
  ['k.v', 'equals', ['dotted']], // p7
  ['user.groups', 'equals', ['eng']], // p8
  ['é.🤖', 'equals', ['ß🤖']], // p9
  ['ab', 'equals', ['x']], // p10: `a` and `abc` are other keys
  ['big', 'equals', [1152921504606847000]], // p11: what JSON writes for 2 ** 60
  ['f', 'equals', [0.30000000000000004]], // p12
  ['e', 'equals', ['']], // p13
])

const requestOf = (context, extra = {}) => ({ user: 'u', connector: 'c', tool: 't', context, ...extra })
const held = (context, extra = {}) => set.evaluate(requestOf(context, extra)).policies

// The decision of `evaluate`, checked against evaluateJson and evaluateMany, and whether the
// fast path took it.
function decide(context, on = set) {
  const r = requestOf(context)
  const before = fastDecisions()
  const decision = on.evaluate(r)
  const fast = fastDecisions() > before
  assert.deepEqual(decision, on.evaluateJson(JSON.stringify(r)), JSON.stringify(context))
  assert.deepEqual(on.evaluateMany([r, r]), [decision, decision])
  return { policies: decision.policies, fast }
}

describe('the context read in place', () => {
  test('each value type read', () => {
    const before = fastDecisions()
    assert.deepEqual(held({ s: 'x' }), ['p0'])
    assert.deepEqual(held({ s: 'é🤖' }), [])
    assert.deepEqual(held({ n: 2 }), ['p1'])
    assert.deepEqual(held({ n: 2.5 }), [])
    assert.deepEqual(held({ b: true }), ['p2'])
    assert.deepEqual(held({ b: 'true' }), [])
    assert.deepEqual(held({ z: null }), [])
    assert.deepEqual(held({ z: false }), ['p3'])
    assert.deepEqual(held({ l: ['a', 3] }), ['p4'])
    assert.deepEqual(held({ l: [null, [], {}, 'y'] }), ['p4'])
    assert.deepEqual(held({ o: {} }), ['p5'])
    assert.deepEqual(held({ o: Object.create(null) }), ['p5'])
    assert.deepEqual(held({ s: 'x', n: 2, b: true, z: 0, l: [3], o: { any: 1 } }), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'])
    assert.equal(fastDecisions(), before + 13, 'all on the fast path')
  })

  test('a nested path, and what is not an object on the way', () => {
    assert.deepEqual(held({ a: { b: { c: 'deep' } } }), ['p6'])
    assert.deepEqual(held({ a: { b: { c: 'shallow' } } }), [])
    for (const a of [{ b: 'deep' }, { b: ['deep'] }, ['deep'], 'deep', null, { b: null }]) assert.deepEqual(held({ a }), [], JSON.stringify(a))
    // Members before the one looked for are skipped whatever they hold.
    const before = { x: [1, 'two', [3, [4]], { five: 5 }], y: { z: { w: [] } }, s2: 'é'.repeat(100) }
    assert.deepEqual(held({ a: { ...before, b: { ...before, c: 'deep' } } }), ['p6'])
  })

  test('a dotted top-level key is found before the path along the dots', () => {
    assert.deepEqual(held({ 'k.v': 'dotted' }), ['p7'])
    assert.deepEqual(held({ k: { v: 'dotted' } }), ['p7'])
    assert.deepEqual(held({ 'k.v': 'other', k: { v: 'dotted' } }), [])
    assert.deepEqual(held({ k: { v: 'dotted' }, 'k.v': 'other' }), [])
    assert.deepEqual(held({ 'a.b.c': 'deep' }), ['p6'])
    assert.deepEqual(held({ 'a.b': { c: 'deep' } }), [])
  })

  test('bytes at the edges: unicode, empty values, nested lists, prefixes, numbers', () => {
    const cases = [
      [{ 'é': { '🤖': 'ß🤖' } }, ['p9']],
      [{ 'é': { '🤖': 'ß🤖 ' } }, []],
      [{ 'é': { '🤖x': 'ß🤖', '🤖': 'ß🤖' } }, ['p9']],
      [{ 'é': { '🤖': 'ß🤖' } }, []], // another spelling of é: other bytes
      [{ '': 'x', s: 'x' }, ['p0']],
      [{ e: '' }, ['p13']],
      [{ e: '', s: '', l: [], o: {}, a: {}, k: [] }, ['p13', 'p5']],
      [{ l: [[], [[]], [['y']], {}, ''] }, []], // items of items are not compared
      [{ l: [[['y']], 'y'] }, ['p4']],
      [{ l: ['', 3] }, ['p4']],
      [{ a: 'x', abc: 'x' }, []],
      [{ a: 'x', abc: 'x', ab: 'x' }, ['p10']],
      [{ abc: 'y', ab: 'x', a: 'y' }, ['p10']],
      [{ ab: 'xy' }, []],
      [{ big: 2 ** 60 }, ['p11']],
      [{ big: 1152921504606846976 }, ['p11']], // the same double
      [{ big: 2 ** 60 + 2 ** 8 }, []],
      [{ f: 0.1 + 0.2 }, ['p12']],
      [{ f: 0.3 }, []],
      ...[2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 64, -(2 ** 63), 1e21, 1e20, -0, 0, 1.0, 2.0000000000000004, 5e-324, 1.7976931348623157e308].map((n) => [{ n, big: n, f: n, l: [n, 3] }, undefined]),
      [{ n: 2.0 }, ['p1']],
      [{ n: -0, z: -0 }, ['p3']],
    ]
    for (const [context, expected] of cases) {
      const { policies, fast } = decide(context)
      assert.ok(fast, `fast: ${JSON.stringify(context)}`)
      if (expected !== undefined) assert.deepEqual(policies, expected, JSON.stringify(context))
    }
    // The same numbers compared by every operator that reads numbers.
    const numeric = setOf([['n', 'lt', [9007199254740992]], ['n', 'gte', [9007199254740993]], ['n', 'equals', [9007199254740992]], ['n', 'gt', [1e21]], ['n', 'equals', [0]]])
    for (const n of [2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e21, 1e22, -0, 0.5]) {
      assert.ok(decide({ n }, numeric).fast, String(n))
    }
  })

  test('groups', () => {
    assert.deepEqual(held(undefined, { groups: ['eng'] }), ['p8'])
    assert.deepEqual(held(undefined, { groups: ['ops', 'eng'] }), ['p8'])
    assert.deepEqual(held(undefined, { groups: [] }), [])
    assert.deepEqual(held(undefined), [])
    assert.throws(() => held(undefined, { groups: [''] }), (e) => e instanceof RequestError && e.path === '/groups/0')
  })

  test('inherited members are not read', () => {
    Object.prototype.s = 'x' // eslint-disable-line no-extend-native
    try {
      assert.deepEqual(held({}), [])
      assert.deepEqual(held({ a: { b: {} } }), [])
    } finally {
      delete Object.prototype.s
    }
    // Names that Object.prototype has are absent unless the context has them.
    const names = setOf([['constructor', 'exists', []], ['toString', 'exists', []], ['__proto__', 'exists', []], ['a.constructor', 'exists', []]])
    const r = (context) => names.evaluate({ user: 'u', connector: 'c', tool: 't', context }).policies
    assert.deepEqual(r({ a: {} }), [])
    assert.deepEqual(r(JSON.parse('{"constructor": 1, "toString": "x", "__proto__": 2, "a": {"constructor": true}}')), ['p0', 'p1', 'p2', 'p3'])
  })

  test('values JSON writes otherwise are written as JSON writes them', () => {
    // JSON writes NaN and the infinities as null, leaves out undefined, functions and symbols
    // as members and writes them as null in a list.
    const meant = [
      [{ n: NaN, s: 'x' }, ['p0']],
      [{ n: Infinity, z: -Infinity }, []],
      [{ s: () => 1, n: 2 }, ['p1']],
      [{ s: Symbol('s'), b: true, z: undefined }, ['p2']],
      [{ l: ['y', () => 0] }, ['p4']],
      [{ l: [Symbol('l'), 3, undefined] }, ['p4']],
      // eslint-disable-next-line no-sparse-arrays
      [{ l: [NaN, , 'y'] }, ['p4']],
      [{ a: { b: { c: 'deep', d: Infinity } } }, ['p6']],
    ]
    for (const [context, expected] of meant) assert.deepEqual(decide(context), { policies: expected, fast: true }, String(expected))
  })

  test('a value JSON cannot hold is refused with invalid_request at its place, read or not', () => {
    for (const tool of ['t', 'quiet']) {
      const refused = [
        [{ n: 10n }, '/context/n', /a BigInt has no JSON form/],
        [{ other: { deep: [1, 2n] } }, '/context/other/deep/1', /BigInt/],
        [{ 'x/y~': 1n }, '/context/x~1y~0', /BigInt/],
      ]
      for (const [context, path, message] of refused) {
        for (const run of [(r) => set.evaluate(r), (r) => set.evaluateMany([requestOf({}), r])]) {
          assert.throws(
            () => run({ ...requestOf(context), tool }),
            (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === path && message.test(e.message),
            `${tool} ${path} ${message}`,
          )
        }
      }
    }
    assert.throws(
      () => set.evaluateMany([requestOf({}), requestOf({ n: 1n })]),
      (e) => e.index === 1 && /^request 1: invalid request at \/context\/n/.test(e.message),
    )
    const cyclic = { s: 'x' }
    cyclic.self = { up: cyclic }
    assert.throws(() => set.evaluate({ ...requestOf(cyclic), tool: 'quiet' }), (e) => e instanceof RequestError && e.path === '/context/self/up' && /cycle/.test(e.message))
  })

  test('every getter runs, once, whatever is read', () => {
    const reads = []
    const context = {}
    for (const key of ['s', 'n', 'unread', 'other']) {
      Object.defineProperty(context, key, {
        enumerable: true,
        get() {
          reads.push(key)
          return key === 's' ? 'x' : 2
        },
      })
    }
    assert.deepEqual(held(context), ['p0', 'p1'])
    assert.deepEqual(reads, ['s', 'n', 'unread', 'other'])
    reads.length = 0
    set.evaluate({ user: 'u', connector: 'c', tool: 'quiet', context })
    assert.deepEqual(reads, ['s', 'n', 'unread', 'other'])
    // A getter that throws: its exception, as JSON.stringify would throw it, read or not.
    const throwing = { get unread() { throw new Error('no unread') } }
    assert.throws(() => held(throwing), /no unread/)
    assert.throws(() => set.evaluate({ ...requestOf(throwing), tool: 'quiet' }), /no unread/)
    assert.throws(() => set.evaluateMany([requestOf(throwing)]), /no unread/)
  })

  test('values that are not plain data take the general path, as JSON.stringify writes them', () => {
    const when = setOf([['d', 'before', ['2030-01-01T00:00:00Z']], ['o.s', 'equals', ['x']]])
    const r = (context) => when.evaluate({ user: 'u', connector: 'c', tool: 't', context }).policies
    const before = fastDecisions()
    assert.deepEqual(r({ d: new Date('2029-01-01T00:00:00Z') }), ['p0'])
    assert.deepEqual(r({ d: new Date('2031-01-01T00:00:00Z') }), [])
    assert.deepEqual(r({ o: { toJSON: () => ({ s: 'x' }) } }), ['p1'])
    assert.deepEqual(r({ o: new (class { s = 'x' })() }), ['p1'])
    // JSON escapes a lone surrogate, which the core refuses, as it does on every path.
    assert.throws(() => r({ o: { s: '\ud800' } }), (e) => e instanceof RequestError && e.code === 'invalid_request')
    assert.throws(() => r({ 'k\udc00': 1 }), (e) => e instanceof RequestError && e.code === 'invalid_request')
    assert.throws(() => when.evaluateJson(JSON.stringify({ user: 'u', connector: 'c', tool: 't', context: { o: { s: '\ud800' } } })), RequestError)
    assert.equal(fastDecisions(), before, 'all handed over')
  })

  test('a context nested deeper than the limit is refused at /context, read or not', () => {
    const path = Array.from({ length: 31 }, () => 'a')
    const deep = setOf([[path.join('.'), 'exists', []]])
    const nested = (levels, leaf) => {
      let context = leaf
      for (let i = 0; i < levels; i++) context = { a: context }
      return context
    }
    // 32 levels: the context object and 31 inside it.
    for (const tool of ['t', 'quiet']) {
      const before = fastDecisions()
      const r = { user: 'u', connector: 'c', tool, context: nested(31, {}) }
      assert.equal(deep.evaluate(r).action, 'allow')
      assert.equal(fastDecisions(), before + 1)
      for (const context of [nested(32, {}), nested(31, { x: [] }), nested(30, { x: [[]] })]) {
        assert.throws(
          () => deep.evaluate({ ...r, context }),
          (e) => e instanceof RequestError && e.path === '/context' && /nesting/.test(e.message),
        )
      }
    }
  })
})

const SCALARS = ['x', 'y', '', 'deep', 'dotted', 'eng', 2, 3, 2.5, -0, 2 ** 60, true, false, null]
const KEYS = ['s', 'n', 'b', 'z', 'l', 'o', 'a', 'b', 'c', 'k', 'v', 'k.v', 'a.b', 'a.b.c', 'constructor']

function value(g, depth) {
  const r = g.next()
  if (r < 0.55 || depth === 0) return g.pick(SCALARS)
  if (r < 0.75) return Array.from({ length: g.int(4) }, () => value(g, depth - 1))
  return object(g, depth - 1)
}

function object(g, depth) {
  const o = {}
  for (let i = g.int(6); i > 0; i--) o[g.pick(KEYS)] = value(g, depth)
  return o
}

function request(g) {
  const r = { user: g.pick(['u', 'v']), connector: 'c', tool: g.pick(['t', 't', 't', 'quiet', 'nope']) }
  if (g.next() < 0.3) r.groups = g.pick([[], ['eng'], ['staff', 'eng'], ['ops']])
  if (g.next() < 0.9) r.context = object(g, 4)
  return r
}

describe('evaluate, evaluateJson and evaluateMany decide alike', () => {
  test('on many random contexts', () => {
    const g = generator(0xc0ffee)
    const requests = Array.from({ length: 3000 }, () => request(g))
    const seen = new Set()
    const before = fastDecisions()
    const decisions = requests.map((r) => {
      const decision = set.evaluate(r)
      assert.deepEqual(decision, set.evaluateJson(JSON.stringify(r)), JSON.stringify(r))
      for (const p of decision.policies) seen.add(p)
      return decision
    })
    assert.equal(fastDecisions() - before, requests.length, 'every one on the fast path')
    assert.ok(seen.size >= 8, [...seen].join(' '))
    // evaluateMany: in one native call for as many as the buffer holds, in order.
    assert.deepEqual(set.evaluateMany(requests), decisions)
    assert.equal(fastDecisions() - before, 2 * requests.length)
  })

  test('decisions are frozen, and equal decisions of the fast path are one object', () => {
    const r = { user: 'u', connector: 'c', tool: 't', context: { s: 'x' } }
    const decision = set.evaluate(r)
    assert.equal(set.evaluate({ ...r, context: { s: 'x', other: 1 } }), decision)
    assert.equal(set.evaluateMany([r])[0], decision)
    assert.notEqual(set.evaluate({ ...r, context: { s: 'x', n: 2 } }), decision)
    const general = [set.evaluateJson(JSON.stringify(r)), set.evaluate({ ...r, now: 0 }), set.evaluateMany([{ ...r, now: 0 }])[0]]
    for (const d of [decision, set.evaluate({ ...r, context: { s: 'x', n: 2, b: true } }), ...general]) {
      assert.deepEqual(d, decision.policies.length === 1 && d.policies.length === 1 ? decision : d)
      for (const part of [d, d.policies, d.approvalFlows, d.satisfied, d.stepUp]) assert.ok(Object.isFrozen(part))
    }
    assert.throws(() => {
      'use strict'
      decision.policies.push('p1')
    }, TypeError)
    // A step-up decision's requirements are frozen too, on either path.
    const stepUp = setOf([], [{ id: 's', name: 'S', connector: 'c', action: 'step_up', all_users: true, tools: ['t'], step_up: { max_age: 60, acr_values: ['mfa'] } }])
    for (const d of [stepUp.evaluate({ user: 'u', connector: 'c', tool: 't' }), stepUp.evaluateJson('{"user":"u","connector":"c","tool":"t"}')]) {
      assert.deepEqual(d.stepUp, [{ policy: 's', maxAge: 60, acrValues: ['mfa'] }])
      assert.ok(Object.isFrozen(d.stepUp[0]) && Object.isFrozen(d.stepUp[0].acrValues))
    }
  })

  test('strings written again are written exactly, whatever they hold and however often', () => {
    // Keys and values the encoder writes again from its memo (or not: too long, lone surrogates),
    // many of them sharing its slots.
    const words = [
      'agent', 'type', 'ChatGPT', 'Claude', 'Other', 'é', 'éé', 'naïve', '日本語', '😀', 'a😀b', 'ab', 'ba', 'abc', 'cba',
      'x'.repeat(39), 'y'.repeat(40), 'z'.repeat(41), '€'.repeat(40), '\ud800', 'a\udc00b',
      ...Array.from({ length: 300 }, (_, i) => `k${i}${'q'.repeat(i % 11)}`),
    ]
    const memo = setOf([['s', 'equals', words.filter((_, i) => i % 3 === 0)]])
    const g = generator(0x5eed)
    const before = fastDecisions()
    let wellFormed = 0
    for (let round = 0; round < 3000; round++) {
      const w = g.pick(words)
      const key = g.pick(words)
      const r = { user: 'u', connector: 'c', tool: 't', context: { [key]: w, s: w, o: { [w]: key } } }
      if (w.isWellFormed() && key.isWellFormed()) {
        assert.deepEqual(memo.evaluate(r), memo.evaluateJson(JSON.stringify(r)), JSON.stringify(r))
        wellFormed++
      } else {
        // The core refuses a lone surrogate, which the general path writes escaped.
        assert.throws(() => memo.evaluate(r), RequestError)
      }
    }
    assert.equal(fastDecisions() - before, wellFormed, 'every well-formed one on the fast path')
  })

  test('decisions with more than two policies are kept too, each told from the others', () => {
    // Policy i allows when the context's n has bit i: every subset of five policies decides.
    const bits = setOf(Array.from({ length: 5 }, (_, i) => [`b${i}`, 'equals', [true]]))
    const requests = Array.from({ length: 32 }, (_, n) => {
      const context = {}
      for (let i = 0; i < 5; i++) context[`b${i}`] = (n & (1 << i)) !== 0
      return { user: 'u', connector: 'c', tool: 't', context }
    })
    const first = requests.map((r) => bits.evaluate(r))
    requests.forEach((r, n) => {
      const decision = bits.evaluate(r)
      assert.equal(decision, first[n], `request ${n} again`)
      assert.deepEqual(decision, bits.evaluateJson(JSON.stringify(r)))
    })
    assert.deepEqual(first[31].policies, ['p0', 'p1', 'p2', 'p3', 'p4'])
    assert.equal(new Set(first).size, 32)
  })

  test('evaluateMany takes any request the fast path does not on the general path, in order', () => {
    const ok = { user: 'u', connector: 'c', tool: 't', context: { s: 'x' } }
    const mixed = [
      ok,
      { ...ok, now: 0 }, // evidence
      { ...ok, context: { d: new Date(0) } }, // not plain data: decided alike all the same
      { ...ok, groups: ['eng'] },
      { ...ok, user: 'é'.repeat(40_000) }, // larger than the buffer
      ...Array.from({ length: 2000 }, (_, i) => ({ ...ok, user: `u${i}` })), // more than one call
      { ...ok, context: { s: 'y' } },
    ]
    assert.deepEqual(set.evaluateMany(mixed), mixed.map((r) => set.evaluate(r)))
    assert.throws(() => set.evaluateMany([ok, ok, { ...ok, now: 'soon' }]), (e) => e instanceof RequestError && e.index === 2 && /^request 2:/.test(e.message))
    assert.deepEqual(set.evaluateMany([]), [])
  })
})
