// The package's API from ES modules: loading, deciding, explaining, validating, the fast path
// against the general path, and the harness itself.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import agenPolicy, { DataCloneError, DocumentError, Engine, Explanation, PolicyError, PolicySet, RequestError, validate } from 'agen-policy'

import { check } from './harness.mjs'

const acmePath = fileURLToPath(new URL('../../examples/acme.json', import.meta.url))
const acmeText = readFileSync(acmePath, 'utf8')
const acme = PolicySet.fromFile(acmePath)

const deleteRepo = { user: 'alice', connector: 'github', tool: 'delete_repository' }

describe('loading', () => {
  test('fromJson, fromObject and fromFile load the same set', () => {
    const sets = [PolicySet.fromJson(acmeText), PolicySet.fromObject(JSON.parse(acmeText)), acme]
    for (const set of sets) {
      assert.ok(set instanceof PolicySet)
      assert.deepEqual(set.document(), acme.document())
      assert.deepEqual(set.evaluate(deleteRepo), acme.evaluate(deleteRepo))
    }
  })

  test('the default export holds the same classes as the named exports', () => {
    assert.equal(agenPolicy.PolicySet, PolicySet)
  })

  test('document() fills in defaults', () => {
    const set = PolicySet.fromJson('{"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}')
    const doc = set.document()
    assert.equal(doc.version, 1)
    assert.equal(doc.connectors[0].enabled, true)
    assert.deepEqual(doc.policies, [])
  })

  test('warnings are kept', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      users: [{ id: 'alice' }],
      policies: [{ id: 'p', name: 'P', connector: 'c', action: 'allow', users: ['bob'], tools: [] }],
    })
    assert.deepEqual(set.warnings.map((w) => w.code).sort(), ['governs_nothing', 'unknown_user'])
  })
})

describe('evaluate', () => {
  test('gives a plain decision object', () => {
    const d = acme.evaluate({ ...deleteRepo, context: { agent: { type: 'ChatGPT' } } })
    assert.deepEqual(d, {
      action: 'request_approval',
      reason: 'policy',
      policies: ['github-delete-approval'],
      approvalFlows: ['security-review'],
      satisfied: [],
      stepUp: [],
      allowed: false,
      version: acme.version,
    })
    assert.equal(Object.getPrototypeOf(d), Object.prototype)
  })

  test('allowed is true only for allow', () => {
    const d = acme.evaluate({ user: 'alice', connector: 'github', tool: 'list_user_repositories' })
    assert.equal(d.action, 'allow')
    assert.equal(d.allowed, true)
  })

  test('denies outright what the document does not know', () => {
    assert.deepEqual(acme.evaluate({ user: 'alice', connector: 'jira', tool: 'x' }), {
      action: 'deny',
      reason: 'unknown_connector',
      policies: [],
      approvalFlows: [],
      satisfied: [],
      stepUp: [],
      allowed: false,
      version: acme.version,
    })
    assert.equal(acme.evaluate({ user: 'alice', connector: 'github', tool: 'nope' }).reason, 'unknown_tool')
    assert.equal(acme.evaluate({ user: 'alice', connector: 'github', tool: 'transfer_repository' }).reason, 'tool_disabled')
  })

  test('reads values as JSON.stringify writes them', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      policies: [
        {
          id: 'p', name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'],
          targeting: { rules: [{ conditions: [{ attribute: 'when', operator: 'before', values: ['2030-01-01T00:00:00Z'] }] }] },
        },
      ],
    })
    // A Date has toJSON: it becomes an RFC 3339 string.
    assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', context: { when: new Date('2029-01-01T00:00:00Z') } }).action, 'allow')
    assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', context: { when: new Date('2031-01-01T00:00:00Z') } }).action, 'deny')
    // undefined members are left out, as JSON leaves them out.
    assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', groups: undefined, context: { when: undefined } }).action, 'deny')
  })

  test('evaluateMany decides each request in order', () => {
    const requests = [
      deleteRepo,
      { user: 'alice', connector: 'github', tool: 'list_user_repositories' },
      { user: 'alice', connector: 'jira', tool: 'x' },
    ]
    assert.deepEqual(acme.evaluateMany(requests), requests.map((r) => acme.evaluate(r)))
    assert.deepEqual(acme.evaluateMany([]), [])
  })

  test('the fast path and the general path agree', () => {
    // A context with a toJSON method is not plain data, so it takes the general path (the core
    // parses JSON.stringify's output); the same request as plain data takes the fast path.
    const general = (r) => ({ ...r, context: { toJSON: () => r.context } })
    const contexts = [
      undefined,
      {},
      { agent: { type: 'ChatGPT' } },
      { 'agent.type': 'Claude', n: 3, x: 1.5, big: 2 ** 60, neg: -7, flags: [true, false, null, 'é'] },
      { agent: { type: 'ChatGPT', tags: ['a', ['b', { c: NaN }]] }, emoji: '🤖', nested: { a: { b: { c: {} } } } },
      { agent: { type: 'Claude', gone: undefined, f() {} }, list: [undefined, () => 1, Symbol('s'), -Infinity, 1], s: Symbol('t') },
    ]
    const users = ['alice', 'bob', 'carol', 'mallory', 'zoë']
    const tools = ['list_user_repositories', 'create_repository', 'delete_repository', 'create_issue', 'share_file', 'nope']
    const connectors = ['github', 'google_drive', 'jira']
    let n = 0
    for (const user of users) {
      for (const connector of connectors) {
        for (const tool of tools) {
          for (const context of contexts) {
            for (const groups of [undefined, [], ['contractors'], ['engineering', 'security']]) {
              const r = { user, connector, tool, groups, context }
              assert.deepEqual(acme.evaluate(r), acme.evaluate(general(r)), JSON.stringify(r))
              assert.deepEqual(acme.explain(r).decision, acme.evaluate(r), JSON.stringify(r))
              n++
            }
          }
        }
      }
    }
    assert.equal(n, 5 * 3 * 6 * 6 * 4)
  })

  test('a getter that evaluates while the request is read does not mix the two requests', () => {
    // The context is read while the engine evaluates (`create_issue` reads `agent.type`).
    let inner
    let many
    const request = {
      user: 'carol',
      connector: 'github',
      tool: 'create_issue',
      context: {
        get agent() {
          inner = acme.evaluate({ user: 'carol', connector: 'google_drive', tool: 'share_file' })
          many = acme.evaluateMany([{ user: 'carol', connector: 'google_drive', tool: 'share_file' }, deleteRepo])
          return { type: 'ChatGPT' }
        },
      },
    }
    const plain = { ...request, context: { agent: { type: 'ChatGPT' } } }
    assert.deepEqual(acme.evaluate(request), acme.evaluate(plain))
    assert.deepEqual(inner.policies, ['drive-share-step-up'])
    assert.deepEqual(many, [inner, acme.evaluate(deleteRepo)])
    inner = undefined
    assert.deepEqual(acme.evaluateMany([deleteRepo, request, deleteRepo]), [acme.evaluate(deleteRepo), acme.evaluate(plain), acme.evaluate(deleteRepo)])
    assert.deepEqual(inner.policies, ['drive-share-step-up'])
  })

  test('inherited properties are not read, as JSON.stringify does not read them', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      policies: [
        {
          id: 'p', name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'],
          targeting: { rules: [{ conditions: [{ attribute: 'role', operator: 'equals', values: ['admin'] }] }] },
        },
      ],
    })
    Object.prototype.role = 'admin' // eslint-disable-line no-extend-native
    try {
      assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', context: {} }).action, 'deny')
      assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't' }).action, 'deny')
      assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', context: { role: 'admin' } }).action, 'allow')
    } finally {
      delete Object.prototype.role
    }
  })

  test('numbers keep their JSON meaning on the fast path', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      policies: [
        {
          id: 'p', name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'],
          targeting: { rules: [{ conditions: [{ attribute: 'n', operator: 'equals', values: [1] }] }] },
        },
      ],
    })
    for (const [n, action] of [[1, 'allow'], [1.0, 'allow'], ['1', 'deny'], [true, 'deny'], [1.5, 'deny'], [-0, 'deny']]) {
      assert.equal(set.evaluate({ user: 'u', connector: 'c', tool: 't', context: { n } }).action, action, String(n))
    }
    const explanation = set.explain({ user: 'u', connector: 'c', tool: 't', context: { n: 1 } })
    assert.equal(explanation.policies[0].rules[0].conditions[0].actual, 1)
  })

  test('long and non-ASCII strings cross intact', () => {
    const long = 'x'.repeat(100_000)
    const set = PolicySet.fromObject({
      connectors: [{ id: 'ç', tools: [{ name: 'outil-é' }] }],
      policies: [
        {
          id: 'p', name: 'P', connector: 'ç', action: 'allow', all_users: true, tools: ['outil-é'],
          targeting: { rules: [{ conditions: [{ attribute: 'agent.name', operator: 'ends_with', values: ['🤖'] }] }] },
        },
      ],
    })
    const r = { user: 'zoë', connector: 'ç', tool: 'outil-é', context: { agent: { name: 'robot 🤖' } } }
    assert.equal(set.evaluate(r).action, 'allow')
    assert.equal(set.evaluate({ ...r, context: { agent: { name: long + '🤖' } } }).action, 'allow')
    assert.equal(set.evaluate({ ...r, context: { agent: { name: long } } }).action, 'deny')
    assert.equal(set.evaluate({ ...r, user: long }).action, 'allow')
  })
})

describe('explain', () => {
  test('is structured, with the readable text as toString()', () => {
    const e = acme.explain(deleteRepo)
    assert.ok(e instanceof Explanation)
    assert.deepEqual(e.decision, acme.evaluate(deleteRepo))
    assert.equal(e.user, 'alice')
    assert.equal(e.userInDirectory, true)
    assert.equal(e.connector, 'github')
    assert.equal(e.tool, 'delete_repository')
    const determining = e.policies.filter((p) => p.determining).map((p) => p.id)
    assert.deepEqual(determining, e.decision.policies)
    const text = String(e)
    assert.match(text, /^decision: request_approval \(policy: github-delete-approval\) via approval flow security-review\n/)
    assert.match(text, /\* github-delete-approval \[request_approval\]/)
    assert.equal(`${e}`, e.toString())
  })

  test('serializes to plain data', () => {
    const e = acme.explain({ ...deleteRepo, context: { agent: { type: 'ChatGPT' } } })
    const data = JSON.parse(JSON.stringify(e))
    assert.equal(data.user, 'alice')
    assert.deepEqual(data.decision, e.decision)
    assert.equal(data.policies.length, e.policies.length)
  })

  test('shows each condition with its outcome', () => {
    const r = { user: 'alice', connector: 'github', tool: 'create_repository', context: { agent: { type: 'ChatGPT' } } }
    const conditions = acme
      .explain(r)
      .policies.flatMap((p) => p.rules.flatMap((rule) => rule.conditions))
    assert.ok(conditions.length > 0)
    for (const c of conditions) assert.ok(['true', 'false', 'missing'].includes(c.outcome))
  })
})

describe('validate', () => {
  test('accepts text, bytes and objects', () => {
    for (const input of [acmeText, Buffer.from(acmeText), new TextEncoder().encode(acmeText), JSON.parse(acmeText)]) {
      const v = validate(input)
      assert.equal(v.valid, true)
      assert.deepEqual(v.problems, [])
    }
  })

  test('lists every problem and warning', () => {
    const v = validate({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      users: [{ id: 'alice' }],
      policies: [
        { id: 'p', name: ' ', connector: 'c', action: 'allow', users: ['bob'], tools: ['t'] },
        { id: 'p', name: 'P', connector: 'nope', action: 'allow', tools: ['t'] },
      ],
    })
    assert.equal(v.valid, false)
    const found = v.problems.map((p) => `${p.code} ${p.path}`)
    assert.ok(found.includes('empty_name /policies/0/name'), found.join('; '))
    assert.ok(found.includes('duplicate_id /policies/1/id'), found.join('; '))
    assert.ok(found.includes('unknown_connector /policies/1/connector'), found.join('; '))
    assert.deepEqual(v.warnings.map((w) => w.code), ['unknown_user'])
  })

  test('gives line and column of a syntax error', () => {
    const v = validate('{\n  "connectors": [,]\n}')
    assert.equal(v.problems[0].code, 'invalid_document')
    assert.equal(v.problems[0].path, '')
    assert.equal(v.problems[0].line, 2)
    assert.equal(typeof v.problems[0].column, 'number')
  })
})

describe('the harness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agen-policy-harness-'))
  const write = (name, spec) => {
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify(spec))
    return file
  }
  const document = JSON.parse(acmeText)

  test('fails on a wrong expectation', () => {
    const file = write('wrong.json', { document, cases: [{ name: 'x', request: deleteRepo, expect: { action: 'allow' } }] })
    assert.throws(() => check(file), /action/)
  })

  test('fails when an expected error is missing', () => {
    const file = write('errors.json', { document, expect_errors: [{ code: 'duplicate_id', path: '/policies/0/id' }] })
    assert.throws(() => check(file), /must fail to load/)
  })

  test('fails when a request expected to be rejected is decided', () => {
    const file = write('request.json', { document, cases: [{ name: 'x', request: deleteRepo, expect_error: 'invalid_request' }] })
    assert.throws(() => check(file), /invalid_request/)
  })

  test('passes a right expectation', () => {
    const file = write('right.json', {
      document,
      cases: [{ name: 'x', request: deleteRepo, expect: { action: 'request_approval', reason: 'policy', approval_flows: ['security-review'] } }],
    })
    assert.equal(check(file), 1)
  })

  test('DocumentError is what a bad document throws', () => {
    assert.throws(() => PolicySet.fromJson('[]'), DocumentError)
    assert.throws(() => acme.evaluate({}), RequestError)
  })
})

describe('worker threads', () => {
  test('each worker loads and evaluates on its own', async () => {
    const { Worker } = await import('node:worker_threads')
    const script = `
      const { parentPort } = require('node:worker_threads')
      const { PolicySet, RequestError } = require(${JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))})
      const set = PolicySet.fromFile(${JSON.stringify(acmePath)})
      let invalid
      try { set.evaluate({ user: '' , connector: 'github', tool: 't' }) } catch (e) { invalid = e instanceof RequestError }
      parentPort.postMessage({ decision: set.evaluate(${JSON.stringify(deleteRepo)}), invalid })
    `
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise((resolve, reject) => {
            const worker = new Worker(script, { eval: true })
            worker.once('message', resolve)
            worker.once('error', reject)
          }),
      ),
    )
    for (const r of results) {
      assert.deepEqual(r.decision, acme.evaluate(deleteRepo))
      assert.equal(r.invalid, true)
    }
    // The main thread's sets still work after the workers are gone.
    assert.deepEqual(acme.evaluate(deleteRepo).policies, ['github-delete-approval'])
  })

  test('a PolicySet, an Engine or an Explanation cannot be cloned or posted: it fails loudly', async () => {
    const { MessageChannel } = await import('node:worker_threads')
    const refused = (e) => e instanceof DataCloneError && e instanceof PolicyError && e.code === 'not_cloneable' && /PolicySet\.from/.test(e.message)
    assert.throws(() => structuredClone(acme), refused)
    assert.throws(() => structuredClone({ policies: [acme] }), refused)
    assert.throws(() => structuredClone(new Engine(acme)), refused)
    assert.throws(() => structuredClone(acme.explain(deleteRepo)), (e) => e instanceof DataCloneError && /toJSON/.test(e.message))
    const { port1, port2 } = new MessageChannel()
    try {
      assert.throws(() => port1.postMessage(acme), refused)
      assert.throws(() => port1.postMessage({ set: acme }), refused)
    } finally {
      port1.close()
      port2.close()
    }
    // Still a working set, whose data clones.
    assert.deepEqual(structuredClone(acme.evaluate(deleteRepo)), acme.evaluate(deleteRepo))
    assert.deepEqual(structuredClone(acme.explain(deleteRepo).toJSON()).decision, acme.evaluate(deleteRepo))
  })

  test('a worker loads its own set from the document', async () => {
    const { Worker } = await import('node:worker_threads')
    const script = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { PolicySet } = require(${JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))})
      const set = PolicySet.fromJson(workerData)
      parentPort.postMessage({ version: set.version, decision: set.evaluate(${JSON.stringify(deleteRepo)}) })
    `
    const result = await new Promise((resolve, reject) => {
      const worker = new Worker(script, { eval: true, workerData: JSON.stringify(acme.document()) })
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    assert.equal(result.version, acme.version)
    assert.deepEqual(result.decision, acme.evaluate(deleteRepo))
  })

  test('sets that are garbage-collected free their slots, and a reused slot is the new set', async () => {
    const { setFlagsFromString } = await import('node:v8')
    const { runInNewContext } = await import('node:vm')
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc')
    const taken = new Set()
    for (let i = 0; i < 50; i++) {
      const set = PolicySet.fromJson(acmeText)
      set.evaluate(deleteRepo)
      taken.add(set.fastSlot())
    }
    for (let i = 0; i < 5; i++) {
      gc()
      await new Promise((resolve) => setImmediate(resolve))
    }
    const other = PolicySet.fromObject({
      connectors: [{ id: 'github', tools: [{ name: 'delete_repository' }] }],
      policies: [{ id: 'mine', name: 'Mine', connector: 'github', action: 'step_up', all_users: true, tools: ['delete_repository'] }],
    })
    assert.deepEqual(other.evaluate(deleteRepo).policies, ['mine'])
    assert.ok(taken.has(other.fastSlot()), 'a freed slot is reused')
    assert.deepEqual(acme.evaluate(deleteRepo).policies, ['github-delete-approval'])
  })
})
