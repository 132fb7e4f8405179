// Approval requests (SPEC §8) on plain JSON states, and the arguments digest (§8.5).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ApprovalError, PolicyError, PolicySet, RequestError, argumentsDigest } from 'agen-policy'

const set = PolicySet.fromObject({
  connectors: [{ id: 'github', tools: [{ name: 'delete_repository' }, { name: 'create_issue' }] }],
  groups: [{ id: 'security' }],
  users: [{ id: 'alice' }, { id: 'bob', groups: ['security'] }, { id: 'carol', groups: ['security'] }, { id: 'dave' }],
  approval_flows: [
    { id: 'two-person', grant_ttl: 600, steps: [{ groups: ['security'], min_approvals: 2 }] },
    { id: 'timed', timeout: 60, steps: [{ users: ['bob'] }] },
  ],
  policies: [
    { id: 'issues', name: 'Issues', connector: 'github', action: 'allow', all_users: true, tools: ['create_issue'] },
    { id: 'delete', name: 'Deletes', connector: 'github', action: 'request_approval', approval_flow: 'two-person', all_users: true, tools: ['delete_repository'] },
  ],
})

const T0 = 1795600800000
const deleteRepo = { user: 'alice', connector: 'github', tool: 'delete_repository' }
const STATE_FIELDS = ['id', 'flow', 'user', 'connector', 'tool', 'arguments', 'opened', 'status', 'step', 'approvals', 'rejected_by', 'closed']
const GRANT_FIELDS = ['id', 'flow', 'user', 'connector', 'tool', 'arguments', 'expires', 'approvers']
const isApprovalError = (code) => (e) => e instanceof ApprovalError && e instanceof PolicyError && e.code === code && typeof e.message === 'string'

describe('the approval loop', () => {
  test('request_approval → open → approve ×2 → grant → evaluate with the grant → allow', () => {
    const digest = argumentsDigest({ owner: 'acme', repo: 'website' })
    const request = { ...deleteRepo, arguments: digest }
    const first = set.evaluate(request)
    assert.equal(first.action, 'request_approval')
    assert.deepEqual(first.approvalFlows, ['two-person'])

    const opened = set.openApproval(request, 'two-person', 'apr-1', T0)
    assert.deepEqual(Object.keys(opened).sort(), [...STATE_FIELDS].sort(), 'the SPEC §8.2 fields, snake_case')
    assert.deepEqual(opened, {
      id: 'apr-1', flow: 'two-person', user: 'alice', connector: 'github', tool: 'delete_repository', arguments: digest,
      opened: T0, status: 'pending', step: 0, approvals: [[]], rejected_by: null, closed: null,
    })
    assert.deepEqual(set.eligibleApprovers(opened), ['bob', 'carol'])
    const once = set.approve(opened, 'bob', T0 + 1000)
    assert.deepEqual(opened.approvals, [[]], 'the state given is not changed')
    assert.deepEqual(set.eligibleApprovers(once), ['carol'])
    assert.throws(() => set.grant(once), isApprovalError('not_approved'))
    const approved = set.approve(once, 'carol', new Date(T0 + 2000), [])
    assert.equal(approved.status, 'approved')
    assert.equal(approved.closed, T0 + 2000)

    const grant = set.grant(approved)
    assert.deepEqual(Object.keys(grant).sort(), [...GRANT_FIELDS].sort())
    assert.deepEqual(grant, {
      id: 'apr-1', flow: 'two-person', user: 'alice', connector: 'github', tool: 'delete_repository',
      arguments: digest, expires: T0 + 2000 + 600_000, approvers: ['bob', 'carol'],
    })
    const again = set.evaluate({ ...request, now: T0 + 3000, grants: [grant] })
    assert.equal(again.action, 'allow')
    assert.deepEqual(again.satisfied, ['delete'])
    // Bound to the arguments: another call, or the grant after it expires, is not allowed.
    const other = argumentsDigest({ owner: 'acme', repo: 'payments' })
    assert.equal(set.evaluate({ ...request, arguments: other, now: T0 + 3000, grants: [grant] }).action, 'request_approval')
    assert.equal(set.evaluate({ ...request, now: grant.expires, grants: [grant] }).action, 'request_approval')
  })

  test('a state round-trips through JSON text, as a database stores it', () => {
    const opened = JSON.parse(JSON.stringify(set.openApproval(deleteRepo, 'two-person', 'apr-2', '2026-11-25T10:00:00Z')))
    assert.equal(opened.opened, T0)
    const approved = set.approve(JSON.parse(JSON.stringify(set.approve(opened, 'bob', T0 + 1))), 'carol', T0 + 2)
    assert.equal(approved.status, 'approved')
  })
})

describe('the core\'s checks and codes', () => {
  const opened = set.openApproval(deleteRepo, 'two-person', 'apr-1', T0)

  test('open: not_requested, invalid_request (never a RequestError)', () => {
    assert.throws(() => set.openApproval({ ...deleteRepo, tool: 'create_issue' }, 'two-person', 'apr-1', T0), isApprovalError('not_requested'))
    assert.throws(() => set.openApproval(deleteRepo, 'timed', 'apr-1', T0), isApprovalError('not_requested'))
    assert.throws(() => set.openApproval({ ...deleteRepo, bogus: 1 }, 'two-person', 'apr-1', T0), isApprovalError('invalid_request'))
    assert.throws(() => set.openApproval({ ...deleteRepo, context: { n: 1n } }, 'two-person', 'apr-1', T0), isApprovalError('invalid_request'))
    assert.throws(() => set.openApproval(deleteRepo, '', 'apr-1', T0), isApprovalError('invalid_request'))
    assert.throws(() => set.openApproval(deleteRepo, 'two-person', undefined, T0), isApprovalError('invalid_request'))
    assert.throws(() => set.openApproval(deleteRepo, 'two-person', 'apr-1', 'yesterday'), isApprovalError('invalid_request'))
    assert.throws(() => set.openApproval(deleteRepo, 'two-person', 'apr-1', new Date('nonsense')), isApprovalError('invalid_request'))
  })

  test('a context nested too deep for JSON readers is the core\'s invalid_request', () => {
    let context = {}
    for (let i = 0; i < 200; i++) context = { a: context }
    assert.throws(
      () => set.openApproval({ ...deleteRepo, context }, 'two-person', 'apr-1', T0),
      (e) => isApprovalError('invalid_request')(e) && /nesting/.test(e.message),
    )
  })

  test('arguments are checked before the state: invalid_request, then invalid_state', () => {
    const broken = { ...opened, status: 'open' }
    assert.throws(() => set.approve(broken, 'bob', T0), isApprovalError('invalid_state'))
    assert.throws(() => set.approve(broken, '', T0), isApprovalError('invalid_request'))
    assert.throws(() => set.approve(broken, 'bob', 'soon'), isApprovalError('invalid_request'))
    assert.throws(() => set.approve(broken, 'bob', T0, [''] ), isApprovalError('invalid_request'))
    assert.throws(() => set.approve(opened, 'bob', T0, 'security'), isApprovalError('invalid_request'))
    // `groups` left out is none; `null` is not a list (as in a test file's step).
    assert.equal(set.approve(opened, 'bob', T0, undefined).status, 'pending')
    assert.throws(() => set.approve(opened, 'bob', T0, null), isApprovalError('invalid_request'))
    assert.throws(() => set.checkApprover(opened, 'bob', T0, null), isApprovalError('invalid_request'))
    assert.throws(() => set.approve({ ...opened, extra: 1 }, 'bob', T0), isApprovalError('invalid_state'))
    assert.throws(() => set.approve({ ...opened, opened: 1n }, 'bob', T0), isApprovalError('invalid_state'))
    assert.throws(() => set.tick(null, T0), isApprovalError('invalid_state'))
    assert.throws(() => set.grant('apr-1'), isApprovalError('invalid_state'))
    assert.throws(() => set.eligibleApprovers({ ...opened, flow: 'gone' }), isApprovalError('invalid_state'))
  })

  test('approve: self_approval, not_an_approver, already_voted; the host\'s group claims count', () => {
    assert.throws(() => set.approve(opened, 'alice', T0), isApprovalError('self_approval'))
    assert.throws(() => set.approve(opened, 'dave', T0), isApprovalError('not_an_approver'))
    const byDave = set.approve(opened, 'dave', T0, ['security'])
    assert.deepEqual(byDave.approvals, [['dave']])
    assert.throws(() => set.approve(byDave, 'dave', T0, ['security']), isApprovalError('already_voted'))
  })

  test('checkApprover throws what approve would before counting, and returns nothing otherwise', () => {
    assert.equal(set.checkApprover(opened, 'bob', T0), undefined)
    assert.throws(() => set.checkApprover(opened, 'alice', T0), isApprovalError('self_approval'))
    assert.throws(() => set.checkApprover(opened, 'dave', T0), isApprovalError('not_an_approver'))
    assert.equal(set.checkApprover(opened, 'dave', T0, ['security']), undefined)
    assert.throws(() => set.checkApprover(opened, '', T0), isApprovalError('invalid_request'))
    // One who approved may still act (reject): it is not already_voted.
    const byBob = set.approve(opened, 'bob', T0)
    assert.equal(set.checkApprover(byBob, 'bob', T0), undefined)
    assert.equal(set.reject(byBob, 'bob', T0).status, 'rejected')
    assert.throws(() => set.checkApprover(set.cancel(opened, T0), 'bob', T0), isApprovalError('not_pending'))
  })

  test('reject, cancel and tick', () => {
    const rejected = set.reject(opened, 'carol', T0 + 5)
    assert.deepEqual([rejected.status, rejected.rejected_by, rejected.closed], ['rejected', 'carol', T0 + 5])
    assert.throws(() => set.cancel(rejected, T0), isApprovalError('not_pending'))
    assert.equal(set.cancel(opened, T0 + 6).status, 'cancelled')
    assert.deepEqual(set.eligibleApprovers(rejected), [])
    const timed = set.openApproval(
      { ...deleteRepo },
      'two-person',
      'apr-3',
      T0,
    )
    assert.deepEqual(set.tick(timed, T0 + 10 ** 9), timed, 'no timeout: tick changes nothing')
  })
})

describe('argumentsDigest', () => {
  const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../conformance/spec/data/arguments_digest.json', import.meta.url)), 'utf8'))

  test('matches every shared vector', () => {
    assert.ok(vectors.length >= 5)
    for (const v of vectors) assert.equal(argumentsDigest(v.value), v.digest, v.name)
  })

  test('is lowercase hex SHA-256, whatever the order of keys', () => {
    const a = argumentsDigest({ owner: 'acme', repo: 'website' })
    assert.match(a, /^[0-9a-f]{64}$/)
    assert.equal(argumentsDigest({ repo: 'website', owner: 'acme' }), a)
    assert.equal(argumentsDigest([new Date(0)]), argumentsDigest(['1970-01-01T00:00:00.000Z']), 'a value is what JSON.stringify writes')
  })

  test('refuses what JSON cannot hold exactly: NaN, infinities, lone surrogates, BigInt, cycles, undefined', () => {
    const cycle = {}
    cycle.self = cycle
    const refused = [[NaN], { n: Infinity }, { n: -Infinity }, ['\ud800'], { ['\udc00']: 1 }, { n: 1n }, cycle, undefined, () => 1]
    for (const value of refused) {
      assert.throws(
        () => argumentsDigest(value),
        (e) => e instanceof RequestError && e.code === 'invalid_request' && typeof e.path === 'string',
        String(value),
      )
    }
    assert.throws(() => argumentsDigest({ a: [1, NaN] }), (e) => e instanceof RequestError && e.path === '/a/1')
  })
})
