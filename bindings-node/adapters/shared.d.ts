// Types shared by the framework adapters (agen-policy/mcp, agen-policy/ai-sdk,
// agen-policy/openai-agents).
import type { Auth, Decision, DecisionCallback, Engine, Grant, MemoryApprovalStore, PolicySet } from '../index.js'

/** Who a tool call is made for, and the evidence the host holds for them: the host's, never the model's. */
export interface HostIdentity {
  user: string
  groups?: string[]
  context?: Record<string, unknown>
  /** The user's last authentication, as the host verified it (after a step-up, a fresh one). */
  auth?: Auth
  /** Approval grants the host holds for this user (the adapter adds the grant of the call's own approval request). */
  grants?: Grant[]
}

/** The options every adapter takes. */
export interface PolicyOptions {
  /** The policies (an Engine's current set decides at each call). */
  policies: PolicySet | Engine
  /** The connector the framework's tools belong to; a tool's name is its name in the policies. */
  connector?: string
  /** Or: the connector and tool a framework's tool name stands for. */
  resolve?: (name: string) => { connector: string; tool: string }
  /** Where approval requests are opened (SPEC §8); default a new MemoryApprovalStore. */
  approvals?: MemoryApprovalStore
  /** Receives the decision log record of every decision. */
  onDecision?: DecisionCallback
  /** Put the call's argument values in the records (default false: only their digest). */
  logArguments?: boolean
  /** Pass the digest of the call's arguments as the request's `arguments` (default true), so an approval is for that exact call. */
  bindArguments?: boolean
  /** The host's clock, Unix milliseconds (default Date.now). */
  now?: () => number
  /** Ids for approval requests and decision records (default crypto.randomUUID). */
  newId?: () => string
}

/** What a paused call waits for. */
export interface Pause {
  action: 'step_up' | 'request_approval'
  decision: Decision
  /** The approval request opened for the call (`request_approval`). */
  approvalId?: string
  connector: string
  tool: string
  user: string
}

/** The policy an adapter applies; one per host, shared by its tools. */
export declare class ToolPolicy {
  /** The store approval requests are opened in: approvers vote there (`approve`, `reject`). */
  readonly approvals: MemoryApprovalStore
  readonly policies: PolicySet | Engine
  /** What the paused call with this tool-call id waits for; undefined when it did not pause or has run. */
  pauseOf(toolCallId: string): Pause | undefined
}
