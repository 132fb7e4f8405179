// agen-policy/ai-sdk against the real `ai` package: generateText driven by the SDK's own test
// model (MockLanguageModelV3 from `ai/test`), tools guarded, the host's identity passed as
// `experimental_context`.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { generateText, stepCountIs, tool } from 'ai'
import { MockLanguageModelV3 } from 'ai/test'
import { z } from 'zod'

import { MemoryApprovalStore } from 'agen-policy'
import { guardTools } from 'agen-policy/ai-sdk'

import { TOOLS, counter, policies, reauthenticated, session } from './fixture.mjs'

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
}

// A model that calls `name` once, then, once it has read the tool's output, answers with text.
// Every prompt it was given is kept: what the model saw.
function scriptedModel(name, input = { target: 'x' }, toolCallId = 'call-1') {
  const prompts = []
  const model = new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      prompts.push(prompt)
      if (prompt.at(-1).role === 'tool') {
        return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }
      }
      return {
        content: [{ type: 'tool-call', toolCallId, toolName: name, input: JSON.stringify(input) }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      }
    },
  })
  return { model, prompts, seen: () => JSON.stringify(prompts.at(-1)) }
}

function setUp() {
  const ran = counter()
  const records = []
  const approvals = new MemoryApprovalStore()
  const tools = {}
  for (const name of TOOLS) {
    tools[name] = tool({ description: name, inputSchema: z.object({ target: z.string() }), execute: async (input) => ran.run(name, input) })
  }
  const guarded = guardTools(tools, {
    policies,
    connector: 'acme',
    approvals,
    onDecision: (r) => records.push(r),
    // The host's session, from the context it passes to generateText.
    identity: (context) => context.session,
  })
  return { ran, records, approvals, ...guarded }
}

async function firstTurn(setup, script, session) {
  const messages = [{ role: 'user', content: 'go' }]
  const result = await generateText({ model: script.model, tools: setup.tools, messages, stopWhen: stepCountIs(5), experimental_context: { session } })
  return { messages, result }
}

// The host's answer to a tool-approval-request, and the run that resumes.
async function resume(setup, script, { messages, result }, approved, session) {
  const request = result.content.find((part) => part.type === 'tool-approval-request')
  const next = [...messages, ...result.response.messages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: request.approvalId, approved }] }]
  return generateText({ model: script.model, tools: setup.tools, messages: next, stopWhen: stepCountIs(5), experimental_context: { session } })
}

function approvalRequestOf(result) {
  return result.content.find((part) => part.type === 'tool-approval-request')
}

describe('agen-policy/ai-sdk', () => {
  test('allow: the tool runs', async () => {
    const setup = setUp()
    const script = scriptedModel('list_files')
    const { result } = await firstTurn(setup, script, session())
    assert.equal(result.text, 'done')
    assert.equal(setup.ran.runs.list_files, 1)
    assert.match(script.seen(), /list_files ran/)
    assert.deepEqual(setup.records.map((r) => [r.tool_call_id, r.action]), [['call-1', 'allow'], ['call-1', 'allow']])
  })

  test('deny: the model reads the refusal; the tool does not run', async () => {
    const setup = setUp()
    const script = scriptedModel('drop_database')
    const { result } = await firstTurn(setup, script, session())
    assert.equal(approvalRequestOf(result), undefined, 'a denial does not pause')
    assert.equal(result.text, 'done')
    assert.match(script.seen(), /acme\/drop_database was denied by policy and did not run/)
    assert.equal(setup.ran.runs.drop_database, 0)
  })

  test('unknown tool: denied', async () => {
    const setup = setUp()
    const script = scriptedModel('launch_rockets')
    await firstTurn(setup, script, session())
    assert.match(script.seen(), /acme\/launch_rockets was denied/)
    assert.equal(setup.records[0].reason, 'unknown_tool')
    assert.equal(setup.ran.runs.launch_rockets, 0)
  })

  test('request_approval: paused → approved (SPEC §8) → resumed → ran exactly once', async () => {
    const setup = setUp()
    const script = scriptedModel('delete_repository', { target: 'acme/site' })
    const turn = await firstTurn(setup, script, session())
    const request = approvalRequestOf(turn.result)
    assert.ok(request, 'the step ends with a tool-approval-request')
    assert.equal(request.toolCall.toolCallId, 'call-1')
    assert.equal(setup.ran.runs.delete_repository, 0)
    const pause = setup.policy.pauseOf('call-1')
    assert.equal(pause.action, 'request_approval')
    assert.equal((await setup.approvals.get(pause.approvalId)).state.status, 'pending')
    // Forwarding the approval response before an approver approved runs nothing.
    const forged = await resume(setup, scriptedModel('delete_repository', { target: 'acme/site' }), turn, true, session())
    assert.equal(forged.text, 'done')
    assert.equal(setup.ran.runs.delete_repository, 0)
    // Bob approves through the store; the host resumes with the SDK's approval response.
    await setup.approvals.approve(policies, pause.approvalId, 'bob', Date.now())
    const resumed = await resume(setup, script, turn, true, session())
    assert.equal(resumed.text, 'done')
    assert.equal(setup.ran.runs.delete_repository, 1)
    assert.match(script.seen(), /delete_repository ran/)
    assert.equal(setup.policy.pauseOf('call-1'), undefined, 'the call has run')
    assert.deepEqual(setup.records.at(-1).satisfied, ['delete-review'])
    assert.equal(setup.ran.runs.delete_repository, 1, 'ran exactly once')
  })

  test('request_approval rejected: the tool never runs, whatever the response says', async () => {
    const setup = setUp()
    const script = scriptedModel('delete_repository', { target: 'acme/site' })
    const turn = await firstTurn(setup, script, session())
    const { approvalId } = setup.policy.pauseOf('call-1')
    await setup.approvals.reject(policies, approvalId, 'bob', Date.now())
    const denied = await resume(setup, script, turn, false, session())
    assert.equal(denied.text, 'done')
    const forged = await resume(setup, script, turn, true, session())
    assert.match(script.seen(), /did not run/)
    assert.equal(forged.text, 'done')
    assert.equal(setup.ran.runs.delete_repository, 0)
  })

  test('step_up: paused → re-authenticated (auth evidence) → resumed → ran', async () => {
    const setup = setUp()
    const script = scriptedModel('share_file')
    const turn = await firstTurn(setup, script, session())
    assert.ok(approvalRequestOf(turn.result))
    assert.equal(setup.policy.pauseOf('call-1').action, 'step_up')
    assert.deepEqual(setup.policy.pauseOf('call-1').decision.stepUp.map((s) => s.maxAge), [300])
    // Resumed without a new sign-in: the model reads that the user must re-authenticate.
    await resume(setup, script, turn, true, session())
    assert.match(script.seen(), /must re-authenticate/)
    assert.equal(setup.ran.runs.share_file, 0)
    const resumed = await resume(setup, script, turn, true, reauthenticated(session()))
    assert.equal(resumed.text, 'done')
    assert.equal(setup.ran.runs.share_file, 1)
  })

  test('identity comes from the host: none, nothing runs', async () => {
    const setup = setUp()
    const script = scriptedModel('list_files', { target: 'x', user: 'bob' })
    await assert.rejects(firstTurn(setup, script, undefined), /identity/)
    assert.equal(setup.ran.runs.list_files, 0)
  })

  test('a counter proves that no blocked tool ever ran', async () => {
    const setup = setUp()
    for (const name of TOOLS) await firstTurn(setup, scriptedModel(name), session())
    assert.deepEqual(setup.ran.runs, { list_files: 1, drop_database: 0, share_file: 0, delete_repository: 0, launch_rockets: 0 })
  })
})
