// ES module entry of agen-policy/openai-agents: the CommonJS module's classes, given the SDK's ES
// module build, whose runner calls the tools it makes.
import * as agentsSdk from '@openai/agents'

import agents from './openai-agents.js'

export const { AgentsPolicy, GUARDRAIL } = agents

export function agentsPolicy(options) {
  return new AgentsPolicy(options, agentsSdk)
}
