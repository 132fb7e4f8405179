'use strict'

// agen-policy/openai-agents: the engine inside the function tools of the OpenAI Agents SDK
// (`@openai/agents`). `agentsPolicy(options).tool(toolOptions)` makes a tool with the SDK's own
// `tool()`, adding
//
// - `needsApproval`: the pause point. `step_up` and `request_approval` interrupt the run
//   (`result.interruptions`, a `RunToolApprovalItem` each); an approval request of SPEC §8 is
//   opened for `request_approval`. The answer is memoized per call id.
// - an input guardrail: a call the pause point found denied is rejected the SDK's way
//   (`rejectContent`) with the core's refusal text, which the model reads as the tool's output;
// - around `execute`: the run point. It decides again, with the input the tool is given, the
//   host's identity and evidence then and the grant of the call's approval request once
//   approved; a call that may not run returns the refusal text instead of running. So
//   approving the interruption in the SDK (`state.approve(item)`) without a grant or a fresh
//   authentication runs nothing.
//
// The identity is the host's: `identity(runContext.context)`, from the context the host passes
// to `run(agent, input, { context })`, never from the tool's arguments.

const { ArgumentError } = require('../index.js')
const { ToolPolicy } = require('./shared.js')

const GUARDRAIL = 'agen-policy'

// The SDK's `tool` of the build (CommonJS or ES module) the host runs: a tool and the runner that
// calls it must come from the same build. The ES module entry passes its own.
let commonJsSdk
function sdk() {
  commonJsSdk ??= require('@openai/agents')
  return commonJsSdk
}

class AgentsPolicy extends ToolPolicy {
  #identity
  #sdk

  constructor(options, agentsSdk = sdk()) {
    const { identity, ...shared } = options ?? {}
    super(shared, 'agentsPolicy')
    if (typeof identity !== 'function') {
      throw new ArgumentError('agentsPolicy: `identity(context)` must be a function giving the host\'s identity from the run context')
    }
    this.#identity = identity
    this.#sdk = agentsSdk
  }

  async #call(runContext, name, args, toolCallId) {
    return { identity: await this.#identity(runContext?.context), name, args, toolCallId }
  }

  // A function tool of the SDK, guarded. `options` are those of the SDK's `tool()`, with
  // `name` required; a `needsApproval` of the host's own still applies.
  tool(options) {
    if (options === null || typeof options !== 'object' || typeof options.name !== 'string' || typeof options.execute !== 'function') {
      throw new ArgumentError('agentsPolicy().tool(options): `options` must have a `name` and an `execute`')
    }
    const { name, execute, needsApproval: own, inputGuardrails = [] } = options
    const policy = this
    return this.#sdk.tool({
      ...options,
      async needsApproval(runContext, input, callId) {
        const { pause } = await policy.pausePoint(await policy.#call(runContext, name, input, callId))
        if (pause) return true
        if (typeof own === 'function') return own(runContext, input, callId)
        return own === true
      },
      inputGuardrails: [
        {
          // The SDK's native refusal of a call the pause point found denied: the model reads
          // the core's text as the tool's output. Every other call goes on to `execute`, which
          // decides again.
          name: GUARDRAIL,
          async run({ toolCall }) {
            const answer = policy.answerOf(toolCall.callId)
            if (answer === undefined || answer.pause || answer.action === 'allow') return { behavior: { type: 'allow' } }
            return { behavior: { type: 'rejectContent', message: policy.refusal(answer.action, answer) }, outputInfo: { action: answer.action } }
          },
        },
        ...inputGuardrails,
      ],
      async execute(input, runContext, details) {
        const outcome = await policy.runPoint(await policy.#call(runContext, name, input, details?.toolCall?.callId))
        if (!outcome.run) return outcome.refusal
        return execute(input, runContext, details)
      },
    })
  }
}

// The policy for a host's agents: make each function tool with `policy.tool(...)`.
function agentsPolicy(options, agentsSdk) {
  return new AgentsPolicy(options, agentsSdk)
}

module.exports = { agentsPolicy, AgentsPolicy, GUARDRAIL }
