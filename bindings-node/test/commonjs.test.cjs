// The package from CommonJS, and the tool guard.

const assert = require('node:assert/strict')
const path = require('node:path')
const { describe, test } = require('node:test')

const {
  ApprovalRequired,
  ArgumentError,
  Guard,
  GuardError,
  PolicyError,
  PolicySet,
  StepUpRequired,
  ToolDenied,
  authorize,
} = require('agen-policy')

const acme = PolicySet.fromFile(path.join(__dirname, '..', '..', 'examples', 'acme.json'))

describe('CommonJS', () => {
  test('require gives the same module as import', async () => {
    const esm = await import('agen-policy')
    assert.equal(esm.PolicySet, PolicySet)
    assert.equal(esm.Guard, Guard)
  })
})

describe('Guard', () => {
  const guard = new Guard(acme, { user: 'alice', context: { agent: { type: 'ChatGPT' } } })

  test('returns the decision when the tool may run', () => {
    const d = guard.check({ connector: 'github', tool: 'list_user_repositories' })
    assert.equal(d.action, 'allow')
  })

  test('throws ApprovalRequired carrying the decision', () => {
    assert.throws(
      () => guard.check({ connector: 'github', tool: 'delete_repository' }),
      (e) =>
        e instanceof ApprovalRequired &&
        e instanceof GuardError &&
        e instanceof PolicyError &&
        e.code === 'approval_required' &&
        e.decision.action === 'request_approval' &&
        e.approvalFlows.includes('security-review') &&
        e.request.user === 'alice',
    )
  })

  test('throws ToolDenied on deny', () => {
    assert.throws(
      () => guard.check({ connector: 'github', tool: 'transfer_repository' }),
      (e) => e instanceof ToolDenied && e.code === 'tool_denied' && e.decision.reason === 'tool_disabled',
    )
    assert.throws(() => authorize(acme, { user: 'alice', connector: 'nope', tool: 't' }), ToolDenied)
  })

  test('throws StepUpRequired on step_up', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'bank', tools: [{ name: 'pay' }] }],
      policies: [{ id: 'p', name: 'Payments need a fresh login', connector: 'bank', action: 'step_up', all_users: true, tools: ['pay'] }],
    })
    assert.throws(
      () => authorize(set, { user: 'u', connector: 'bank', tool: 'pay' }),
      (e) => e instanceof StepUpRequired && e.code === 'step_up_required' && e.decision.policies[0] === 'p',
    )
  })

  test('takes the identity from the constructor; a call cannot change it', () => {
    assert.equal(guard.check({ connector: 'github', tool: 'create_repository' }).action, 'allow')
    // A per-call context is not merged over the guard's: it is refused.
    assert.throws(
      () => guard.check({ connector: 'github', tool: 'create_repository', context: { agent: { type: 'Unknown' } } }),
      ArgumentError,
    )
  })

  test('wrap checks before every call and passes the result through', async () => {
    let calls = 0
    const list = guard.wrap('github', 'list_user_repositories', (owner) => {
      calls++
      return [`${owner}/repo`]
    })
    assert.deepEqual(list('alice'), ['alice/repo'])
    const remove = guard.wrap('github', 'delete_repository', async () => {
      calls++
    })
    await assert.rejects(remove('alice/repo'), ApprovalRequired)
    assert.equal(calls, 1)
    const fetchFile = guard.wrap('google_drive', 'get_file', async (id) => `file ${id}`)
    assert.equal(await fetchFile('42'), 'file 42')
  })

  test('needs a PolicySet', () => {
    assert.throws(() => new Guard({}), (e) => e instanceof ArgumentError && e instanceof PolicyError && e.code === 'invalid_argument')
  })
})
