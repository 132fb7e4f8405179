// agen-policy/ai-sdk: the engine inside the tools of the AI SDK (`ai` v6).
import type { Tool } from 'ai'
import type { Decision, PolicyError } from '../index.js'
import type { HostIdentity, PolicyOptions, ToolPolicy } from './shared.js'

export type { HostIdentity, Pause, PolicyOptions, ToolPolicy } from './shared.js'

export interface AiSdkPolicyOptions extends PolicyOptions {
  /** The host's identity, or a function of the call's `experimental_context` (what the host passed to generateText) giving it. */
  identity: HostIdentity | ((experimentalContext: unknown) => HostIdentity | undefined | Promise<HostIdentity | undefined>)
}

/** What a guarded tool's `execute` fails with when the call may not run: its message is the core's refusal text. */
export declare class ToolRefused extends PolicyError {
  readonly action: Decision['action']
  readonly decision: Decision
  readonly approvalId?: string
}

/**
 * Guards AI SDK tools: `needsApproval` pauses `step_up` and `request_approval` calls (opening the
 * approval request), `execute` decides again before the tool runs. Every tool needs `execute`.
 */
export declare function guardTools<TOOLS extends Record<string, Tool>>(tools: TOOLS, options: AiSdkPolicyOptions): { tools: TOOLS; policy: ToolPolicy }
