// Errors and bad input: every error the package throws is one of its own classes (PolicyError
// and its subclasses) with a stable code, never a raw RangeError, a Node-API message or a JSON
// parser's; and nothing takes the process down.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ArgumentError, DocumentError, Engine, Explanation, Guard, PolicyError, PolicySet, RequestError, validate } from '../index.mjs'

const acme = PolicySet.fromFile(fileURLToPath(new URL('../../examples/acme.json', import.meta.url)))
const ok = { user: 'alice', connector: 'github', tool: 'list_user_repositories' }

describe('document errors', () => {
  test('list every problem with code, path and message', () => {
    const text = JSON.stringify({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      policies: [
        { id: 'p', name: 'P', connector: 'c', action: 'allow', tools: ['nope'], description: 'x'.repeat(161) },
        { id: 'q', name: 'Q', connector: 'c', acton: 'deny', tools: [] },
      ],
    })
    let error
    try {
      PolicySet.fromJson(text)
    } catch (e) {
      error = e
    }
    assert.ok(error instanceof DocumentError)
    assert.ok(error instanceof PolicyError)
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'DocumentError')
    assert.equal(error.code, error.problems[0].code)
    assert.equal(error.path, error.problems[0].path)
    const found = error.problems.map((p) => `${p.code} ${p.path}`)
    for (const expected of [
      'unknown_tool /policies/0/tools/0',
      'description_too_long /policies/0/description',
      'invalid_document /policies/1/acton',
    ]) {
      assert.ok(found.includes(expected), `${expected} in ${found.join('; ')}`)
    }
    for (const p of error.problems) assert.equal(typeof p.message, 'string')
    assert.match(error.message, /^invalid policy document \(\d+ problems\)/)
    assert.ok(error.stack.includes('DocumentError'))
  })

  test('a syntax error points at the root with line and column', () => {
    assert.throws(
      () => PolicySet.fromJson('{"connectors": [}'),
      (e) => e instanceof DocumentError && e.code === 'invalid_document' && e.path === '' && e.problems[0].line === 1,
    )
  })

  test('wrong kinds of documents are document errors', () => {
    for (const doc of [null, 42, 'text', [], { connectors: 'x' }, undefined]) {
      assert.throws(() => PolicySet.fromObject(doc), DocumentError, String(doc))
    }
    for (const text of ['', 'null', '{}', '\u0000']) {
      assert.throws(() => PolicySet.fromJson(text), DocumentError, JSON.stringify(text))
    }
  })

  test('values JSON cannot hold are document errors naming where they are', () => {
    const cyclic = { connectors: [{ id: 'c', tools: [] }] }
    cyclic.connectors[0].tools.push(cyclic)
    assert.throws(
      () => PolicySet.fromObject(cyclic),
      (e) => e instanceof DocumentError && e.code === 'invalid_document' && e.path === '/connectors/0/tools/0' && /cycle/.test(e.message),
    )
    assert.throws(
      () => PolicySet.fromObject({ connectors: [], version: 1n }),
      (e) => e instanceof DocumentError && e.path === '/version' && /BigInt/.test(e.message),
    )
    assert.throws(() => validate({ 'a/b~': [2n] }), (e) => e instanceof DocumentError && e.path === '/a~1b~0/0')
  })

  test('an unreadable file is a PolicyError with code io_error', () => {
    assert.throws(
      () => PolicySet.fromFile('/nonexistent/policies.json'),
      (e) => e instanceof PolicyError && !(e instanceof DocumentError) && e.code === 'io_error' && /nonexistent/.test(e.message),
    )
  })

  test('wrong argument types are ArgumentErrors, in the package\'s words', () => {
    const wrong = [
      ['fromJson(42)', () => PolicySet.fromJson(42), /must be a string or a Uint8Array, not a number/],
      ['fromJson()', () => PolicySet.fromJson(), /not undefined/],
      ['fromJson(null)', () => PolicySet.fromJson(null), /not null/],
      ['fromFile({})', () => PolicySet.fromFile({}), /path must be a string, not an object/],
      ['fromFile(7)', () => PolicySet.fromFile(7), /not a number/],
      ['new PolicySet()', () => new PolicySet(), /fromJson/],
      ['new Explanation()', () => new Explanation(), /explain/],
      ['evaluateJson(7)', () => acme.evaluateJson(7), /not a number/],
      ['evaluateMany("x")', () => acme.evaluateMany('not a list'), /must be an array, not a string/],
      ['evaluateMany({})', () => acme.evaluateMany({ length: 1, 0: ok }), /must be an array, not an object/],
      ['new Engine()', () => new Engine(), /PolicySet/],
      ['new Guard(null)', () => new Guard(null), /PolicySet or an Engine/],
    ]
    for (const [name, run, message] of wrong) {
      assert.throws(
        run,
        (e) =>
          e instanceof ArgumentError &&
          e instanceof PolicyError &&
          e.code === 'invalid_argument' &&
          e.name === 'ArgumentError' &&
          message.test(e.message) &&
          !/Failed to convert|rust type|JavaScript value|Class contains/.test(e.message),
        name,
      )
    }
    assert.equal(validate().valid, false)
  })

  test('document() of a 200,000-policy set works', () => {
    const n = 200_000
    const policies = Array.from({ length: n }, (_, i) => ({
      id: `p${i}`, name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'],
    }))
    const set = PolicySet.fromObject({ connectors: [{ id: 'c', tools: [{ name: 't' }] }], policies })
    const doc = set.document()
    assert.equal(doc.policies.length, n)
    assert.equal(doc.policies[n - 1].id, `p${n - 1}`)
    assert.deepEqual(PolicySet.fromObject(doc).version, set.version)
  })
})

describe('request errors', () => {
  const invalid = [
    ['not an object', 'alice', ''],
    ['null', null, ''],
    ['an array', [ok], ''],
    ['missing tool', { user: 'alice', connector: 'github' }, ''],
    ['empty user', { ...ok, user: '' }, '/user'],
    ['user not a string', { ...ok, user: 7 }, '/user'],
    ['unknown field', { ...ok, agent: 'ChatGPT' }, '/agent'],
    ['groups not a list', { ...ok, groups: 'eng' }, '/groups'],
    ['a group not a string', { ...ok, groups: ['eng', 3] }, '/groups/1'],
    ['an empty group', { ...ok, groups: [''] }, '/groups/0'],
    ['context not an object', { ...ok, context: 'agent' }, '/context'],
    ['context a list', { ...ok, context: [] }, '/context'],
    ['context null', { ...ok, context: null }, '/context'],
    ['context too deep', { ...ok, context: { a: JSON.parse('['.repeat(40) + ']'.repeat(40)) } }, '/context'],
  ]
  for (const [name, request, path] of invalid) {
    test(name, () => {
      assert.throws(
        () => acme.evaluate(request),
        (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === path && e.name === 'RequestError',
      )
      assert.throws(() => acme.explain(request), RequestError)
    })
  }

  test('undefined is not a request', () => {
    assert.throws(() => acme.evaluate(undefined), RequestError)
    assert.throws(() => acme.evaluate(), RequestError)
  })

  test('evaluateMany names the position of an invalid request', () => {
    assert.throws(
      () => acme.evaluateMany([ok, ok, { ...ok, user: '' }]),
      (e) => e instanceof RequestError && e.index === 2 && e.path === '/user' && /^request 2:/.test(e.message),
    )
    assert.throws(() => acme.evaluateMany('not a list'), ArgumentError)
  })

  test('values JSON cannot hold are request errors naming where they are', () => {
    const cyclic = { ...ok, context: { a: {} } }
    cyclic.context.a.self = cyclic.context
    const bigint = { ...ok, context: { n: 10n } }
    for (const run of [(r) => acme.evaluate(r), (r) => acme.explain(r), (r) => acme.evaluateMany([ok, r])]) {
      assert.throws(run.bind(null, cyclic), (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === '/context/a/self')
      assert.throws(run.bind(null, bigint), (e) => e instanceof RequestError && e.path === '/context/n' && /BigInt/.test(e.message))
    }
    assert.throws(() => acme.evaluateMany([ok, bigint]), (e) => e.index === 1 && /^request 1:/.test(e.message))
  })

  test('a context nested 100,000 levels is a RequestError at /context, not a stack overflow', () => {
    let context = {}
    for (let i = 0; i < 100_000; i++) context = { a: context }
    let list = []
    for (let i = 0; i < 100_000; i++) list = [list]
    const engine = new Engine(acme)
    const runs = {
      evaluate: (r) => acme.evaluate(r),
      evaluateMany: (r) => acme.evaluateMany([ok, r]),
      explain: (r) => acme.explain(r),
      'Engine#evaluate': (r) => engine.evaluate(r),
      'Guard#check': (r) => new Guard(acme).check(r),
      'Guard identity': (r) => new Guard(acme, { user: 'alice', context: r.context }).check({ connector: 'github', tool: 'create_issue' }),
    }
    for (const [name, run] of Object.entries(runs)) {
      for (const deep of [context, { list }]) {
        assert.throws(
          () => run({ ...ok, context: deep }),
          (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === '/context' && /nesting/.test(e.message),
          name,
        )
      }
    }
  })

  test('a large context goes through the general path, and its size limit', () => {
    const context = { blob: 'y'.repeat(200_000), list: Array.from({ length: 10_000 }, (_, i) => i) }
    assert.equal(acme.evaluate({ ...ok, context }).action, 'allow')
    assert.throws(
      () => acme.evaluate({ ...ok, context: { blob: 'y'.repeat(1 << 20) } }),
      (e) => e instanceof RequestError && /limit/.test(e.message),
    )
  })
})

describe('panics', () => {
  test('a panic in the addon is an exception, not an abort', () => {
    const require = createRequire(import.meta.url)
    // A test-only export of the `test-hooks` build (test.sh).
    const native = require('../agen-policy.node')
    assert.throws(() => native.__panicForTest(), /deliberate panic/)
    // The addon still works afterwards.
    assert.equal(acme.evaluate(ok).action, 'allow')
  })

  test('hostile input leaves the process alive', () => {
    // In a child process, so that an abort would show as its exit status.
    const script = `
      const { PolicySet } = require(${JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))})
      const set = PolicySet.fromObject({ connectors: [{ id: 'c', tools: [{ name: 't' }] }] })
      const inputs = [
        '\\uD800', '\\u0000', 'x'.repeat(1 << 22), '[' .repeat(100000), '{"a":' .repeat(100000),
        JSON.stringify({ connectors: [{ id: 'c', tools: [{ name: 't' }] }], policies: [{ id: 'p', name: 'P',
          connector: 'c', action: 'allow', tools: ['t'], targeting: { rules: [{ conditions: [
          { attribute: 'a', operator: 'regex', values: ['(a+)+' + 'x{1000}{1000}'] }] }] } }] }),
      ]
      for (const text of inputs) { try { PolicySet.fromJson(text) } catch (e) { if (!e.code) throw e } }
      const requests = [
        { user: '\\uD800', connector: 'c', tool: 't' },
        { user: 'u', connector: 'c', tool: 't', context: { ['\\uDFFF']: '\\uD800' } },
        { user: 'u', connector: 'c', tool: 't', context: { a: { b: { c: { d: [[[[[[[[[[[]]]]]]]]]]] } } } } },
        { user: 'u'.repeat(1 << 20), connector: 'c', tool: 't' },
        { user: 'u', connector: 'c', tool: 't', context: { n: Number.MAX_VALUE, m: -Number.MIN_VALUE, i: Infinity } },
      ]
      for (const r of requests) { try { set.evaluate(r); set.explain(r) } catch (e) { if (e.code !== 'invalid_request') throw e } }
      console.log('alive')
    `
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    assert.equal(child.status, 0, child.stderr)
    assert.equal(child.stdout.trim(), 'alive')
  })
})
