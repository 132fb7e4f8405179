// The tool guard: identity comes from the host only, blocked calls raise the core's outcomes,
// and an async tool's blocked call rejects rather than throws.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import {
  ApprovalRequired,
  ArgumentError,
  argumentsDigest,
  Engine,
  Guard,
  GuardError,
  PolicyError,
  PolicySet,
  RequestError,
  StepUpRequired,
  ToolDenied,
  authorize,
  blockedOutcome,
} from 'agen-policy'

const acme = PolicySet.fromFile(fileURLToPath(new URL('../../examples/acme.json', import.meta.url)))
const native = createRequire(import.meta.url)('../agen-policy.node')

// Erin works through an agent the host knows as `homegrown`: GitHub writes are denied for it.
const erin = () => new Guard(acme, { user: 'erin', context: { agent: { type: 'homegrown' } } })

describe('the guard takes identity from the host only', () => {
  test('a tool call whose arguments name another agent is still the host\'s call', () => {
    const guard = erin()
    let ran = 0
    const createIssue = guard.wrap('github', 'create_issue', (args) => {
      ran++
      return args
    })
    for (const args of [{ 'agent.type': 'ChatGPT' }, { agent: { type: 'Cursor' } }, { agent: { type: 'ChatGPT' } }, { context: { agent: { type: 'ChatGPT' } } }]) {
      assert.throws(
        () => createIssue(args),
        (e) => e instanceof ToolDenied && e.request.context.agent.type === 'homegrown' && !('agent.type' in e.request.context),
        JSON.stringify(args),
      )
    }
    // Asking for the arguments as context, as an earlier API allowed, does not make them so.
    for (const args of [{ 'agent.type': 'ChatGPT' }, { agent: { type: 'Cursor' } }]) {
      assert.throws(
        () => guard.wrap('github', 'create_issue', () => ran++, { context: (a) => a })(args),
        (e) => e instanceof ArgumentError || e instanceof ToolDenied,
      )
    }
    assert.equal(ran, 0)
    // The same call made for a host whose agent is trusted runs.
    const trusted = new Guard(acme, { user: 'erin', context: { agent: { type: 'ChatGPT' } } })
    assert.deepEqual(trusted.wrap('github', 'create_issue', (args) => args)({ agent: { type: 'Cursor' } }), { agent: { type: 'Cursor' } })
  })

  test('the old `context` option of wrap is refused, not ignored', () => {
    const guard = erin()
    for (const method of ['wrap', 'wrapAsync']) {
      assert.throws(
        () => guard[method]('github', 'create_issue', (a) => a, { context: (args) => args }),
        (e) => e instanceof ArgumentError && e instanceof PolicyError && e.code === 'invalid_argument' && /context/.test(e.message),
        method,
      )
      assert.throws(() => guard[method]('github', 'create_issue', (a) => a, { identity: {} }), ArgumentError)
      assert.throws(() => guard[method]('github', 'create_issue', 'not a function'), ArgumentError)
    }
  })

  test('check merges nothing: groups or context without user are refused', () => {
    const guard = erin()
    assert.throws(
      () => guard.check({ connector: 'github', tool: 'create_issue', context: { agent: { type: 'ChatGPT' } } }),
      (e) => e instanceof ArgumentError && e.code === 'invalid_argument',
    )
    assert.throws(() => guard.check({ connector: 'github', tool: 'create_issue', groups: ['security'] }), ArgumentError)
    assert.throws(() => guard.check(null), ArgumentError)
    assert.throws(() => guard.check('github/create_issue'), ArgumentError)
  })

  test('an identity the host names in full replaces the guard\'s; none of it is added', () => {
    const alice = new Guard(acme, { user: 'alice', context: { agent: { type: 'ChatGPT' } } })
    assert.equal(alice.check({ connector: 'github', tool: 'create_issue' }).action, 'allow')
    // For erin, named with no context: the guard's ChatGPT context is not carried over.
    assert.throws(
      () => alice.check({ user: 'erin', connector: 'github', tool: 'create_issue' }),
      (e) => e instanceof ToolDenied && e.request.context === undefined,
    )
    assert.equal(alice.check({ user: 'erin', connector: 'github', tool: 'create_issue', context: { agent: { type: 'Claude 3' } } }).action, 'allow')
  })

  test('the identity is copied when the guard is made, and frozen', () => {
    const context = { agent: { type: 'homegrown' } }
    const guard = new Guard(acme, { user: 'erin', context })
    context.agent.type = 'ChatGPT'
    assert.throws(() => guard.check({ connector: 'github', tool: 'create_issue' }), ToolDenied)
    assert.equal(guard.identity.context.agent.type, 'homegrown')
    assert.ok(Object.isFrozen(guard.identity.context.agent))
    assert.throws(() => new Guard(acme, { user: 'erin', agent: 'ChatGPT' }), ArgumentError)
    assert.throws(() => new Guard(acme, 'erin'), ArgumentError)
  })

  test('unknown fields of a call reach the core, which refuses them', () => {
    assert.throws(() => erin().check({ connector: 'github', tool: 'create_issue', agent: 'ChatGPT' }), (e) => e instanceof RequestError && e.path === '/agent')
  })
})

describe('blocked outcomes are the core\'s', () => {
  test('the native table: a code and a class for every action but allow', () => {
    assert.equal(blockedOutcome('allow'), null)
    assert.deepEqual(blockedOutcome('deny'), { code: 'tool_denied', className: 'ToolDenied' })
    assert.deepEqual(blockedOutcome('step_up'), { code: 'step_up_required', className: 'StepUpRequired' })
    assert.deepEqual(blockedOutcome('request_approval'), { code: 'approval_required', className: 'ApprovalRequired' })
    assert.throws(() => blockedOutcome('permit'), ArgumentError)
    assert.throws(() => blockedOutcome(3), ArgumentError)
  })

  test('each error\'s class and code are the ones the core names for its action', () => {
    const set = PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 'deny' }, { name: 'step_up' }, { name: 'request_approval' }, { name: 'allow' }] }],
      approval_flows: [{ id: 'review', name: 'Review', steps: [{ users: ['bob'] }] }],
      policies: ['allow', 'step_up', 'request_approval', 'deny'].map((action) => ({
        id: action, name: action, connector: 'c', action, all_users: true, tools: [action],
        ...(action === 'request_approval' ? { approval_flow: 'review' } : {}),
      })),
    })
    const classes = { ToolDenied, StepUpRequired, ApprovalRequired }
    for (const action of ['deny', 'step_up', 'request_approval']) {
      const outcome = native.blockedOutcome(action)
      assert.throws(
        () => authorize(set, { user: 'u', connector: 'c', tool: action }),
        (e) => e instanceof classes[outcome.className] && e instanceof GuardError && e.code === outcome.code && e.name === outcome.className,
        action,
      )
    }
    assert.equal(authorize(set, { user: 'u', connector: 'c', tool: 'allow' }).action, 'allow')
  })
})

describe('async tools reject, sync tools throw', () => {
  const alice = new Guard(acme, { user: 'alice', context: { agent: { type: 'ChatGPT' } } })

  async function noUncaught(run) {
    const uncaught = []
    const onError = (e) => uncaught.push(e)
    process.on('uncaughtException', onError)
    process.on('unhandledRejection', onError)
    try {
      return await run()
    } finally {
      await new Promise((resolve) => setImmediate(resolve))
      process.off('uncaughtException', onError)
      process.off('unhandledRejection', onError)
      assert.deepEqual(uncaught, [])
    }
  }

  test('a blocked async tool returns a rejected promise that .catch sees', async () => {
    let ran = 0
    const remove = alice.wrap('github', 'delete_repository', async (repo) => {
      ran++
      return `deleted ${repo}`
    })
    const outcome = await noUncaught(() => {
      let returned
      assert.doesNotThrow(() => {
        returned = remove('acme/site')
      })
      assert.ok(returned instanceof Promise)
      return returned.then(
        () => 'ran',
        (e) => e,
      )
    })
    assert.ok(outcome instanceof ApprovalRequired, String(outcome))
    assert.deepEqual(outcome.approvalFlows, ['security-review'])
    assert.equal(ran, 0)
  })

  test('wrapAsync: a function returning a promise rejects too, and an allowed one resolves', async () => {
    const share = alice.wrapAsync('google_drive', 'share_file', (file) => Promise.resolve(`shared ${file}`))
    const outcome = await noUncaught(() => share('roadmap.pdf').catch((e) => e))
    assert.ok(outcome instanceof StepUpRequired)
    const list = alice.wrapAsync('github', 'list_user_repositories', () => ['acme/site'])
    assert.deepEqual(await list(), ['acme/site'])
  })

  test('an allowed async tool resolves with its value and keeps `this`', async () => {
    const tools = {
      prefix: 'repo',
      list: alice.wrap('github', 'list_user_repositories', async function (owner) {
        return `${this.prefix} ${owner}`
      }),
    }
    assert.equal(await tools.list('alice'), 'repo alice')
  })

  test('a blocked sync tool throws synchronously', () => {
    const remove = alice.wrap('github', 'delete_repository', (repo) => `deleted ${repo}`)
    assert.throws(() => remove('acme/site'), ApprovalRequired)
  })

  test('a guard on an engine decides on the current set at each call', async () => {
    const engine = new Engine(PolicySet.fromObject({
      connectors: [{ id: 'c', tools: [{ name: 't' }] }],
      policies: [{ id: 'p', name: 'P', connector: 'c', action: 'allow', all_users: true, tools: ['t'] }],
    }))
    const run = new Guard(engine, { user: 'u' }).wrap('c', 't', async () => 'ran')
    assert.equal(await run(), 'ran')
    engine.reload({ connectors: [{ id: 'c', tools: [{ name: 't' }] }] })
    await assert.rejects(run(), ToolDenied)
  })
})

describe('the guard learns evidence from the host', () => {
  const set = PolicySet.fromObject({
    connectors: [{ id: 'github', tools: [{ name: 'delete_repository' }, { name: 'merge' }, { name: 'list' }] }],
    users: [{ id: 'alice' }, { id: 'bob' }],
    approval_flows: [{ id: 'review', steps: [{ users: ['bob'] }] }],
    policies: [
      { id: 'list', name: 'L', connector: 'github', action: 'allow', all_users: true, tools: ['list'] },
      { id: 'merge', name: 'M', connector: 'github', action: 'step_up', all_users: true, tools: ['merge'], step_up: { max_age: 300, acr_values: ['urn:mfa'] } },
      { id: 'delete', name: 'D', connector: 'github', action: 'request_approval', approval_flow: 'review', all_users: true, tools: ['delete_repository'] },
    ],
  })

  test('step-up: blocked until the host re-authenticates the user, then the call runs', async () => {
    const guard = new Guard(set, { user: 'alice' })
    const merge = guard.wrap('github', 'merge', async (pr) => `merged #${pr}`)
    const blocked = await merge(7).catch((e) => e)
    assert.ok(blocked instanceof StepUpRequired, String(blocked))
    assert.deepEqual(blocked.decision.stepUp, [{ policy: 'merge', maxAge: 300, acrValues: ['urn:mfa'] }])
    assert.equal(blocked.request.now, undefined, 'without evidence the guard reads no clock')

    // The host signs the user in again (its verified session), then makes a guard for it.
    const stale = guard.withIdentity({ ...guard.identity, auth: { time: Date.now() - 301_000, acr: 'urn:mfa' } })
    await assert.rejects(stale.wrap('github', 'merge', async () => 'merged')(), StepUpRequired)
    const weak = guard.withIdentity({ ...guard.identity, auth: { time: Date.now(), acr: 'urn:pwd' } })
    await assert.rejects(weak.wrap('github', 'merge', async () => 'merged')(), StepUpRequired)
    const fresh = guard.withIdentity({ ...guard.identity, auth: { time: new Date(), acr: 'urn:mfa', amr: ['otp'] } })
    const before = Date.now()
    assert.equal(await fresh.wrap('github', 'merge', async (pr) => `merged #${pr}`)(7), 'merged #7')
    const decision = fresh.check({ connector: 'github', tool: 'merge' })
    assert.deepEqual(decision.satisfied, ['merge'])
    // The guard stamps each request with the clock, read at the call.
    const e = await stale.wrap('github', 'merge', async () => 'merged')().catch((e) => e)
    assert.ok(e.request.now >= before && e.request.now <= Date.now(), String(e.request.now))
    assert.ok(Object.isFrozen(fresh.identity.auth))
  })

  test('approval: the error says what to open; once the grant is in the identity, that exact call runs', () => {
    const guard = new Guard(set, { user: 'alice', context: { team: 'platform' } })
    let ran = 0
    const remove = (g) => g.wrap('github', 'delete_repository', (owner, repo) => `deleted ${owner}/${repo} (${++ran})`, { bindArguments: true })

    let blocked
    assert.throws(() => remove(guard)('acme', 'site'), (e) => (blocked = e) instanceof ApprovalRequired)
    assert.deepEqual(blocked.approvalFlows, ['review'])
    // The digest of the call's arguments array is evidence, not context.
    assert.equal(blocked.request.arguments, argumentsDigest(['acme', 'site']))
    assert.deepEqual(blocked.request.context, { team: 'platform' })
    assert.equal(ran, 0)

    // The host opens the approval request from the error, an approver approves, the host issues the grant.
    const opened = set.openApproval(blocked.request, blocked.approvalFlows[0], 'apr-1', Date.now())
    assert.equal(opened.arguments, argumentsDigest(['acme', 'site']))
    const grant = set.grant(set.approve(opened, 'bob', Date.now()))

    const granted = guard.withIdentity({ ...guard.identity, grants: [grant] })
    assert.equal(remove(granted)('acme', 'site'), 'deleted acme/site (1)')
    // Bound to the arguments: another repository still needs its own approval.
    assert.throws(() => remove(granted)('acme', 'payments'), ApprovalRequired)
    // Without bindArguments the request names no arguments, which a bound grant does not match.
    assert.throws(() => granted.wrap('github', 'delete_repository', () => 'deleted')('acme', 'site'), ApprovalRequired)
    assert.equal(ran, 1)
  })

  test('an async tool with bound arguments: rejected, then resolved with the grant', async () => {
    const guard = new Guard(set, { user: 'alice', grants: [] })
    const remove = (g) => g.wrapAsync('github', 'delete_repository', async ({ repo }) => `deleted ${repo}`, { bindArguments: true })
    const blocked = await remove(guard)({ repo: 'site' }).catch((e) => e)
    assert.ok(blocked instanceof ApprovalRequired)
    assert.equal(blocked.request.arguments, argumentsDigest([{ repo: 'site' }]))
    const grant = set.grant(set.approve(set.openApproval(blocked.request, 'review', 'apr-2', Date.now()), 'bob', Date.now()))
    assert.equal(await remove(guard.withIdentity({ user: 'alice', grants: [grant] }))({ repo: 'site' }), 'deleted site')
    // Arguments JSON cannot hold exactly are refused; the tool does not run.
    await assert.rejects(remove(guard)({ repo: NaN }), RequestError)
  })

  test('evidence comes from the host: not from a call, and not a clock the host sets', () => {
    const guard = new Guard(set, { user: 'alice' })
    for (const evidence of [{ auth: { time: Date.now(), acr: 'urn:mfa' } }, { grants: [] }, { now: Date.now() }]) {
      assert.throws(() => guard.check({ connector: 'github', tool: 'merge', ...evidence }), ArgumentError, JSON.stringify(evidence))
    }
    assert.throws(() => new Guard(set, { user: 'alice', now: Date.now() }), (e) => e instanceof ArgumentError && /clock/.test(e.message))
    assert.throws(() => guard.wrap('github', 'merge', () => 1, { bindArguments: 'yes' }), ArgumentError)
    // A request the host names in full is used as it is, evidence included.
    const now = Date.now()
    assert.equal(guard.check({ user: 'alice', connector: 'github', tool: 'merge', now, auth: { time: now, acr: 'urn:mfa' } }).action, 'allow')
    // A guard's identity keeps the evidence the host gave, copied and frozen.
    const auth = { time: now, acr: 'urn:mfa' }
    const fresh = new Guard(set, { user: 'alice', auth })
    auth.acr = 'urn:pwd'
    assert.equal(fresh.check({ connector: 'github', tool: 'merge' }).action, 'allow')
    assert.equal(fresh.withIdentity({ user: 'alice' }).identity.auth, undefined, 'nothing is merged')
  })
})
