// `evaluate` reads the context in place: only the attributes some condition of a candidate
// policy reads, each converted where it is found, and checked there. Every value type read, a
// nested path, a dotted top-level key, what is refused where read and not looked at otherwise,
// groups, and `evaluateMany` in one native call, against `evaluateJson` and `evaluate`.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import { PolicySet, RequestError } from 'agen-policy'

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
])

const held = (context, extra = {}) => set.evaluate({ user: 'u', connector: 'c', tool: 't', context, ...extra }).policies

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
  })

  test('a dotted top-level key is found before the path along the dots', () => {
    assert.deepEqual(held({ 'k.v': 'dotted' }), ['p7'])
    assert.deepEqual(held({ k: { v: 'dotted' } }), ['p7'])
    assert.deepEqual(held({ 'k.v': 'other', k: { v: 'dotted' } }), [])
    assert.deepEqual(held({ 'a.b.c': 'deep' }), ['p6'])
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

  test('a value read that JSON cannot hold is refused with invalid_request at its place', () => {
    const refused = [
      [{ s: () => 1 }, '/context/s', /a function has no JSON form/],
      [{ s: Symbol('s') }, '/context/s', /a symbol has no JSON form/],
      [{ n: 10n }, '/context/n', /a BigInt has no JSON form/],
      [{ n: NaN }, '/context/n', /NaN has no JSON form/],
      [{ n: -Infinity }, '/context/n', /-Infinity has no JSON form/],
      [{ l: ['y', undefined] }, '/context/l/1', /undefined has no JSON form/],
      // eslint-disable-next-line no-sparse-arrays
      [{ l: [, 'y'] }, '/context/l/0', /undefined has no JSON form/],
      [{ l: [1, Infinity] }, '/context/l/1', /Infinity has no JSON form/],
      [{ a: { b: { c: 1n } } }, '/context/a/b/c', /BigInt/],
      [{ 'k.v': Symbol('k') }, '/context/k.v', /symbol/],
      [{ 'x/y~': 1, k: { v: () => 0 } }, '/context/k/v', /function/],
    ]
    for (const [context, path, message] of refused) {
      for (const run of [(r) => set.evaluate(r), (r) => set.evaluateMany([{ user: 'u', connector: 'c', tool: 't' }, r])]) {
        assert.throws(
          () => run({ user: 'u', connector: 'c', tool: 't', context }),
          (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === path && message.test(e.message),
          `${path} ${message}`,
        )
      }
    }
    assert.throws(
      () => set.evaluateMany([{ user: 'u', connector: 'c', tool: 't' }, { user: 'u', connector: 'c', tool: 't', context: { n: 1n } }]),
      (e) => e.index === 1 && /^request 1: invalid request at \/context\/n/.test(e.message),
    )
    // The pointer escapes `~` and `/`.
    const odd = setOf([['x/y~', 'exists', []]])
    assert.throws(() => odd.evaluate({ user: 'u', connector: 'c', tool: 't', context: { 'x/y~': 1n } }), (e) => e.path === '/context/x~1y~0')
  })

  test('a value no condition reads is not looked at', () => {
    const bad = { f: () => 1, s: Symbol('s'), n: 10n, nan: NaN, l: [undefined], deep: JSON.parse('['.repeat(100) + ']'.repeat(100)) }
    bad.cycle = bad
    // `quiet` reads nothing; `t` reads s, n, b, z, l, o, a.b.c, k.v and these are all elsewhere.
    assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 'quiet', context: { ...bad, s: 1n } }).action, 'allow')
    assert.deepEqual(held({ other: bad, s: 'x' }), ['p0'])
    // The general path (evaluateJson, explain, a request with evidence) checks the whole request.
    assert.throws(() => set.explain({ user: 'u', connector: 'c', tool: 'quiet', context: { n: 10n } }), RequestError)
  })

  test('a getter runs only when its attribute is read, once', () => {
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
    assert.deepEqual(reads.sort(), ['n', 's'])
    reads.length = 0
    set.evaluate({ user: 'u', connector: 'c', tool: 'quiet', context })
    assert.deepEqual(reads, [])
    // A getter that throws: its exception, as JSON.stringify would throw it.
    const throwing = { get s() { throw new Error('no s') } }
    assert.throws(() => held(throwing), /no s/)
    assert.throws(() => set.evaluateMany([{ user: 'u', connector: 'c', tool: 't', context: throwing }]), /no s/)
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
    assert.throws(() => when.evaluateJson(JSON.stringify({ user: 'u', connector: 'c', tool: 't', context: { o: { s: '\ud800' } } })), RequestError)
    assert.equal(fastDecisions(), before, 'all handed over')
  })

  test('a value found deeper than the context may nest is refused where read', () => {
    const path = Array.from({ length: 32 }, () => 'a')
    const deep = setOf([[path.join('.'), 'exists', []]])
    let context = { x: 1 }
    for (let i = 0; i < 32; i++) context = { a: context }
    assert.throws(
      () => deep.evaluate({ user: 'u', connector: 'c', tool: 't', context }),
      (e) => e instanceof RequestError && e.path === `/context/${path.join('/')}` && /nesting/.test(e.message),
    )
    assert.equal(deep.evaluate({ user: 'u', connector: 'c', tool: 't', context: { a: 1 } }).policies.length, 0)
  })
})

// A small seeded generator (mulberry32), so that a failure is reproducible.
function generator(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  const pick = (list) => list[int(list.length)]
  return { next, int, pick }
}

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
