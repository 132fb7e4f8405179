// Errors and bad input: every error is an Error subclass with a stable code, and nothing takes
// the process down.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { DocumentError, PolicyError, PolicySet, RequestError, validate } from '../index.mjs'

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

  test('values JSON cannot hold throw what JSON.stringify throws', () => {
    const cyclic = { connectors: [] }
    cyclic.self = cyclic
    assert.throws(() => PolicySet.fromObject(cyclic), TypeError)
    assert.throws(() => PolicySet.fromObject({ connectors: [], version: 1n }), TypeError)
  })

  test('an unreadable file is a PolicyError with code io_error', () => {
    assert.throws(
      () => PolicySet.fromFile('/nonexistent/policies.json'),
      (e) => e instanceof PolicyError && !(e instanceof DocumentError) && e.code === 'io_error' && /nonexistent/.test(e.message),
    )
  })

  test('wrong argument types throw, they do not crash', () => {
    assert.throws(() => PolicySet.fromJson(42))
    assert.throws(() => PolicySet.fromJson())
    assert.throws(() => PolicySet.fromFile({}))
    assert.equal(validate().valid, false)
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
    assert.throws(() => acme.evaluateMany('not a list'))
  })

  test('values JSON cannot hold throw what JSON.stringify throws', () => {
    const cyclic = { ...ok, context: {} }
    cyclic.context.self = cyclic.context
    assert.throws(() => acme.evaluate(cyclic), TypeError)
    assert.throws(() => acme.evaluate({ ...ok, context: { n: 10n } }), TypeError)
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
