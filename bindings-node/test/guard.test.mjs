// The tool guard: identity comes from the host only, blocked calls raise the core's outcomes,
// and an async tool's blocked call rejects rather than throws.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import {
  ApprovalRequired,
  ArgumentError,
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
