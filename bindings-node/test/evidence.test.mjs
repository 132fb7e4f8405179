// Evidence in requests (SPEC §7): `satisfied` and `stepUp` on decisions, the forms an instant
// may take in JavaScript, and the core's `invalid_request` from every entry point.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import { Engine, PolicySet, RequestError } from 'agen-policy'

const native = createRequire(import.meta.url)('../agen-policy.node')
const fastDecisions = () => native.__fastPathDecisionsForTest()

const set = PolicySet.fromObject({
  step_up: { max_age: 600, acr_values: ['urn:acme:mfa'] },
  connectors: [{ id: 'github', tools: [{ name: 'delete_repository' }, { name: 'create_issue' }, { name: 'merge' }] }],
  users: [{ id: 'alice' }, { id: 'bob' }],
  approval_flows: [{ id: 'review', steps: [{ users: ['bob'] }] }],
  policies: [
    { id: 'issues', name: 'Issues need MFA', connector: 'github', action: 'step_up', all_users: true, tools: ['create_issue'] },
    {
      id: 'merge-fresh', name: 'Merges need a fresh login', connector: 'github', action: 'step_up', all_users: true,
      tools: ['merge'], step_up: { max_age: 60, acr_values: [] },
    },
    {
      id: 'merge-hwk', name: 'Merges need a key', connector: 'github', action: 'step_up', all_users: true,
      tools: ['merge'], step_up: { acr_values: ['urn:acme:hwk', 'urn:acme:mfa'] },
    },
    { id: 'delete', name: 'Deletes need a review', connector: 'github', action: 'request_approval', approval_flow: 'review', all_users: true, tools: ['delete_repository'] },
  ],
})

const T0 = 1795600800000 // 2026-11-25T10:00:00Z
const merge = { user: 'alice', connector: 'github', tool: 'merge' }

describe('decisions', () => {
  test('a step-up lists each determining policy\'s requirement, in camelCase like approvalFlows', () => {
    const before = fastDecisions()
    const d = set.evaluate(merge)
    assert.equal(fastDecisions(), before + 1, 'decided on the fast path')
    assert.deepEqual(d, {
      action: 'step_up',
      reason: 'policy',
      policies: ['merge-fresh', 'merge-hwk'],
      approvalFlows: [],
      satisfied: [],
      stepUp: [
        { policy: 'merge-fresh', maxAge: 60, acrValues: [] },
        { policy: 'merge-hwk', maxAge: 600, acrValues: ['urn:acme:hwk', 'urn:acme:mfa'] },
      ],
      allowed: false,
      version: set.version,
    })
    assert.deepEqual(set.evaluateJson(JSON.stringify(merge)), d)
    assert.deepEqual(set.explain(merge).decision, d)
  })

  test('evidence that satisfies one of two step-ups: the other still decides, satisfied names the first', () => {
    const d = set.evaluate({ ...merge, now: T0, auth: { time: T0 - 30_000 } })
    assert.equal(d.action, 'step_up')
    assert.deepEqual(d.satisfied, ['merge-fresh'])
    assert.deepEqual(d.stepUp, [{ policy: 'merge-hwk', maxAge: 600, acrValues: ['urn:acme:hwk', 'urn:acme:mfa'] }])
    const both = set.evaluate({ ...merge, now: T0, auth: { time: T0 - 30_000, acr: 'urn:acme:hwk', amr: ['hwk'] } })
    assert.equal(both.action, 'allow')
    assert.equal(both.allowed, true)
    assert.deepEqual(both.satisfied, ['merge-fresh', 'merge-hwk'])
    assert.deepEqual(both.policies, ['merge-fresh', 'merge-hwk'])
    assert.deepEqual(both.stepUp, [])
  })

  test('the explanation says what evidence each step-up needs and whether it was held', () => {
    const e = set.explain({ ...merge, now: T0, auth: { time: T0 - 30_000 } })
    const byId = Object.fromEntries(e.policies.map((p) => [p.id, p.evidence]))
    assert.equal(byId['merge-fresh'].held, true)
    assert.equal(byId['merge-hwk'].held, false)
    assert.equal(typeof byId['merge-hwk'].needed, 'string')
    assert.equal(typeof byId['merge-hwk'].because, 'string')
    assert.equal(e.toJSON().policies.find((p) => p.id === 'merge-hwk').evidence.held, false)
  })
})

describe('instants', () => {
  const issue = { user: 'alice', connector: 'github', tool: 'create_issue' }
  const auth = (time) => ({ time, acr: 'urn:acme:mfa' })

  test('now and auth.time as RFC 3339 text, integer milliseconds or a Date mean the same instant', () => {
    const forms = [
      { now: T0, auth: auth(T0 - 600_000) },
      { now: '2026-11-25T10:00:00Z', auth: auth('2026-11-25T09:50:00Z') },
      { now: '2026-11-25T11:00:00+01:00', auth: auth('2026-11-25T09:50:00.000Z') },
      { now: new Date(T0), auth: auth(new Date(T0 - 600_000)) },
    ]
    for (const evidence of forms) {
      assert.deepEqual(set.evaluate({ ...issue, ...evidence }).satisfied, ['issues'], JSON.stringify(evidence))
      // One millisecond older is too old, in every form.
      const stale = { ...evidence, auth: auth(T0 - 600_001) }
      assert.deepEqual(set.evaluate({ ...issue, ...stale }).satisfied, [], JSON.stringify(stale))
    }
  })

  test('a Date is read as its milliseconds, so years past 9999 (which ISO text cannot hold) work', () => {
    const far = new Date(Date.UTC(20000, 0, 1))
    assert.match(JSON.stringify(far), /\+020000/) // not RFC 3339: as text, the core would refuse it
    const d = set.evaluate({ ...issue, now: far, auth: { time: new Date(far.getTime() - 1000), acr: 'urn:acme:mfa' } })
    assert.equal(d.action, 'allow')
    assert.throws(() => set.evaluateJson(JSON.stringify({ ...issue, now: far })), (e) => e instanceof RequestError && e.path === '/now')
  })

  test('an invalid Date is refused at /now', () => {
    assert.throws(
      () => set.evaluate({ ...issue, now: new Date('nonsense') }),
      (e) => e instanceof RequestError && e.code === 'invalid_request' && e.path === '/now',
    )
  })
})

describe('invalid evidence is the core\'s invalid_request, from every entry point', () => {
  const engine = new Engine(set)
  const bad = [
    [{ auth: { time: T0 } }, '/auth'],
    [{ grants: [] }, '/grants'],
    [{ now: true }, '/now'],
    [{ now: T0 + 0.5 }, '/now'],
    [{ now: T0, auth: { time: T0, method: 'webauthn' } }, '/auth/method'],
    [{ now: T0, grants: [{ id: 'x' }] }, '/grants/0'],
    [{ arguments: 7 }, '/arguments'],
  ]
  const entryPoints = {
    evaluate: (r) => set.evaluate(r),
    evaluateJson: (r) => set.evaluateJson(JSON.stringify(r)),
    evaluateMany: (r) => set.evaluateMany([merge, r]),
    explain: (r) => set.explain(r),
    'Engine#evaluate': (r) => engine.evaluate(r),
    'Engine#evaluateJson': (r) => engine.evaluateJson(JSON.stringify(r)),
    'Engine#explain': (r) => engine.explain(r),
  }
  for (const [evidence, path] of bad) {
    test(`${JSON.stringify(evidence)} at ${path}`, () => {
      const request = { ...merge, ...evidence }
      const messages = new Set()
      for (const [name, run] of Object.entries(entryPoints)) {
        assert.throws(
          () => run(request),
          (e) => {
            assert.ok(e instanceof RequestError, `${name}: ${e}`)
            assert.equal(e.code, 'invalid_request', name)
            assert.equal(e.path, path, name)
            if (name === 'evaluateMany') assert.equal(e.index, 1)
            messages.add(e.message.replace(/^request 1: /, ''))
            return true
          },
        )
      }
      assert.equal(messages.size, 1, `one message, the core's: ${[...messages].join(' | ')}`)
    })
  }
})
