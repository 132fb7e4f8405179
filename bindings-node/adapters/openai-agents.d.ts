// agen-policy/openai-agents: the engine inside the function tools of @openai/agents.
import type { FunctionTool, RunContext, tool as sdkTool } from '@openai/agents'
import type { HostIdentity, PolicyOptions, ToolPolicy } from './shared.js'

export type { HostIdentity, Pause, PolicyOptions, ToolPolicy } from './shared.js'

/** The name of the input guardrail the adapter adds to each tool. */
export declare const GUARDRAIL: 'agen-policy'

export interface AgentsPolicyOptions<Context = unknown> extends PolicyOptions {
  /** The host's identity from the run context (`run(agent, input, { context })`). */
  identity: (context: Context) => HostIdentity | undefined | Promise<HostIdentity | undefined>
}

/** The policy of a host's agents: `tool(...)` makes guarded function tools with the SDK's `tool()`. */
export declare class AgentsPolicy<Context = unknown> extends ToolPolicy {
  constructor(options: AgentsPolicyOptions<Context>)
  /** What the pause point answered for this call id (paused or not). */
  answerOf(toolCallId: string): { pause: boolean; action: string } | undefined
  /** A function tool of the SDK (`name` required), guarded: `needsApproval`, an input guardrail, and a check around `execute`. */
  tool: typeof sdkTool
}

export declare function agentsPolicy<Context = unknown>(options: AgentsPolicyOptions<Context>): AgentsPolicy<Context>
export type { FunctionTool, RunContext }
