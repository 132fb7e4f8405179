// agen-policy/openai-agents against the real @openai/agents: a Runner with a test model that
// calls one tool and then answers, tools made by the adapter, the host's identity in the run
// context.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Agent, run, setTracingDisabled, Usage } from '@openai/agents'
import { assistantMessage, functionCall } from '@openai/agents/testing'
import { z } from 'zod'

import { MemoryApprovalStore } from 'agen-policy'
import { agentsPolicy } from 'agen-policy/openai-agents'

import { TOOLS, counter, policies, reauthenticated, session } from './fixture.mjs'

setTracingDisabled(true)

// A Model (the SDK's interface) that calls `name` once and, once it has read the tool's output,
// answers. It keeps every input it was given: what the model saw.
class OneToolModel {
  constructor(name, args = { target: 'x' }) {
    this.name = name
    this.args = args
    this.inputs = []
  }

  async getResponse(request) {
    this.inputs.push(request.input)
    const last = Array.isArray(request.input) ? request.input.at(-1) : undefined
    const output = last?.type === 'function_call_result' ? [assistantMessage('done')] : [functionCall(this.name, this.args, { callId: 'call-1' })]
    return { usage: new Usage(), output, responseId: `r-${this.inputs.length}` }
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse() {
    throw new Error('not streamed in these tests')
  }

  seen() {
    return JSON.stringify(this.inputs.at(-1))
  }
}

function setUp() {
  const ran = counter()
  const records = []
  const approvals = new MemoryApprovalStore()
  const policy = agentsPolicy({
    policies,
    connector: 'acme',
    approvals,
    onDecision: (r) => records.push(r),
    // The host's session, from the context it passes to run().
    identity: (context) => context.session,
  })
  const tools = TOOLS.map((name) =>
    policy.tool({ name, description: name, parameters: z.object({ target: z.string() }), execute: async (input) => ran.run(name, input) }),
  )
  return { ran, records, approvals, policy, tools }
}

async function start(setup, name, context, args) {
  const model = new OneToolModel(name, args)
  const agent = new Agent({ name: 'assistant', model, tools: setup.tools })
  const result = await run(agent, 'go', { context })
  return { model, agent, result }
}

describe('agen-policy/openai-agents', () => {
  test('allow: the tool runs', async () => {
    const setup = setUp()
    const { model, result } = await start(setup, 'list_files', { session: session() })
    assert.equal(result.interruptions.length, 0)
    assert.equal(result.finalOutput, 'done')
    assert.equal(setup.ran.runs.list_files, 1)
    assert.match(model.seen(), /list_files ran/)
    assert.deepEqual(setup.records.map((r) => [r.tool_call_id, r.action]), [['call-1', 'allow'], ['call-1', 'allow']])
  })

  test('deny: the guardrail rejects with the refusal the model reads; the tool does not run', async () => {
    const setup = setUp()
    const { model, result } = await start(setup, 'drop_database', { session: session() })
    assert.equal(result.interruptions.length, 0)
    assert.equal(result.finalOutput, 'done')
    assert.match(model.seen(), /acme\/drop_database was denied by policy and did not run/)
    assert.equal(result.state._toolInputGuardrailResults.at(-1)?.output.behavior.type, 'rejectContent')
    assert.equal(setup.ran.runs.drop_database, 0)
  })

  test('unknown tool: denied', async () => {
    const setup = setUp()
    const { model } = await start(setup, 'launch_rockets', { session: session() })
    assert.match(model.seen(), /acme\/launch_rockets was denied/)
    assert.equal(setup.records[0].reason, 'unknown_tool')
    assert.equal(setup.ran.runs.launch_rockets, 0)
  })

  test('request_approval: interrupted → approved (SPEC §8) → resumed → ran exactly once', async () => {
    const setup = setUp()
    const { agent, model, result } = await start(setup, 'delete_repository', { session: session() }, { target: 'acme/site' })
    assert.equal(result.interruptions.length, 1)
    const [item] = result.interruptions
    assert.equal(item.rawItem.callId, 'call-1')
    const pause = setup.policy.pauseOf('call-1')
    assert.equal(pause.action, 'request_approval')
    assert.equal(setup.ran.runs.delete_repository, 0)
    // Bob approves through the store; the host approves the interruption and resumes.
    await setup.approvals.approve(policies, pause.approvalId, 'bob', Date.now())
    result.state.approve(item)
    const resumed = await run(agent, result.state)
    assert.equal(resumed.finalOutput, 'done')
    assert.equal(setup.ran.runs.delete_repository, 1)
    assert.match(model.seen(), /delete_repository ran/)
    assert.deepEqual(setup.records.at(-1).satisfied, ['delete-review'])
    assert.equal(setup.ran.runs.delete_repository, 1, 'ran exactly once')
  })

  test('request_approval: approving the interruption without an approved request runs nothing', async () => {
    const setup = setUp()
    const { agent, model, result } = await start(setup, 'delete_repository', { session: session() }, { target: 'acme/site' })
    result.state.approve(result.interruptions[0])
    const resumed = await run(agent, result.state)
    assert.equal(resumed.finalOutput, 'done')
    assert.match(model.seen(), /needs an approver's approval first/)
    assert.equal(setup.ran.runs.delete_repository, 0)
  })

  test('request_approval rejected: the tool never runs', async () => {
    const setup = setUp()
    const { agent, model, result } = await start(setup, 'delete_repository', { session: session() }, { target: 'acme/site' })
    const { approvalId } = setup.policy.pauseOf('call-1')
    await setup.approvals.reject(policies, approvalId, 'bob', Date.now())
    result.state.reject(result.interruptions[0], { message: 'An approver rejected the call; it did not run.' })
    const resumed = await run(agent, result.state)
    assert.equal(resumed.finalOutput, 'done')
    assert.match(model.seen(), /rejected the call/)
    assert.equal(setup.ran.runs.delete_repository, 0)
  })

  test('step_up: interrupted → re-authenticated (auth evidence) → resumed → ran', async () => {
    const setup = setUp()
    const context = { session: session() }
    const { agent, result } = await start(setup, 'share_file', context)
    assert.equal(result.interruptions.length, 1)
    assert.equal(setup.policy.pauseOf('call-1').action, 'step_up')
    assert.equal(setup.ran.runs.share_file, 0)
    // The user signs in again; the host's session (the run context) now carries it.
    context.session = reauthenticated(context.session)
    result.state.approve(result.interruptions[0])
    const resumed = await run(agent, result.state)
    assert.equal(resumed.finalOutput, 'done')
    assert.equal(setup.ran.runs.share_file, 1)
  })

  test('identity comes from the host: none, nothing runs', async () => {
    const setup = setUp()
    await assert.rejects(start(setup, 'list_files', {}, { target: 'x', user: 'bob' }), /identity|user/)
    assert.equal(setup.ran.runs.list_files, 0)
  })

  test('a counter proves that no blocked tool ever ran', async () => {
    const setup = setUp()
    for (const name of TOOLS) await start(setup, name, { session: session() })
    assert.deepEqual(setup.ran.runs, { list_files: 1, drop_database: 0, share_file: 0, delete_repository: 0, launch_rockets: 0 })
  })
})
