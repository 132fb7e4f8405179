'use strict'

// agen-policy/ai-sdk: the engine inside the tools of the AI SDK (`ai`, v6). `guardTools(tools,
// options)` gives each tool
//
// - a `needsApproval` that decides at the SDK's pause point: `step_up` and `request_approval`
//   return true, so the step ends with a `tool-approval-request` (an approval request of SPEC §8
//   is opened for `request_approval`); the answer is memoized per tool-call id, because the SDK
//   asks again when it resumes and treats a changed answer as a denial;
// - an `execute` that decides again right before the tool runs, with the host's identity and
//   evidence then and the grant of the call's approval request once approved. A call that is
//   not allowed does not run: it fails with the core's refusal text, which the model reads as
//   the tool's error. So an approval response the host forwards (or a client forges) runs
//   nothing on its own: only a grant the engine accepts, or a fresh authentication, does.
//
// The identity is the host's: `identity(experimental_context)`, from the context the host
// passes to generateText / streamText / ToolLoopAgent, never from the tool's input.

const { ArgumentError, PolicyError } = require('../index.js')
const { ToolPolicy } = require('./shared.js')

// What a refused call fails with: the model reads its message, the core's refusal text.
class ToolRefused extends PolicyError {
  constructor(outcome) {
    super(outcome.refusal, 'tool_refused')
    this.action = outcome.action
    this.decision = outcome.decision
    if (outcome.approvalId !== undefined) this.approvalId = outcome.approvalId
  }
}

function guardTools(tools, options) {
  if (tools === null || typeof tools !== 'object') throw new ArgumentError('guardTools(tools, options): `tools` must be an object of AI SDK tools')
  const { identity, ...shared } = options ?? {}
  if (typeof identity !== 'function' && (identity === null || typeof identity !== 'object')) {
    throw new ArgumentError('guardTools: `identity` must be the host\'s identity, or a function of the call\'s `experimental_context` giving it')
  }
  const policy = new ToolPolicy(shared, 'guardTools')
  const identityOf = typeof identity === 'function' ? identity : () => identity

  const guarded = {}
  for (const [name, tool] of Object.entries(tools)) {
    if (tool === null || typeof tool !== 'object' || typeof tool.execute !== 'function') {
      // A tool the SDK does not execute runs where the policy cannot stop it.
      throw new ArgumentError(`guardTools: the tool \`${name}\` has no \`execute\`, so its calls cannot be checked before they run`)
    }
    const { needsApproval: own, execute } = tool
    guarded[name] = {
      ...tool,
      async needsApproval(input, { toolCallId, experimental_context: context, messages }) {
        const call = { identity: await identityOf(context), name, args: input, toolCallId }
        const { pause } = await policy.pausePoint(call)
        if (pause) return true
        if (typeof own === 'function') return own(input, { toolCallId, experimental_context: context, messages })
        return own === true
      },
      async execute(input, executionOptions) {
        const { toolCallId, experimental_context: context } = executionOptions
        const outcome = await policy.runPoint({ identity: await identityOf(context), name, args: input, toolCallId })
        if (!outcome.run) throw new ToolRefused(outcome)
        return execute.call(tool, input, executionOptions)
      },
    }
  }
  return { tools: guarded, policy }
}

module.exports = { guardTools, ToolRefused }
