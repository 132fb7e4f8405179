// agen-policy/mcp: the engine inside an McpServer of @modelcontextprotocol/sdk.
// The server and the request's `extra` are typed by the members the adapter uses, so that the
// types fit the SDK's CommonJS and ES module builds alike.
import type { Decision } from '../index.js'
import type { HostIdentity, PolicyOptions, ToolPolicy } from './shared.js'

export type { HostIdentity, Pause, PolicyOptions, ToolPolicy } from './shared.js'

/** The `_meta` key of a blocked call's result: `{ action, approval_id?, approval_status? }`. */
export declare const META: 'agen-policy/decision'

/** What the adapter reads of a request handler's `extra` (the SDK's RequestHandlerExtra). */
export interface McpRequestExtra {
  /** The validated access token (the SDK's AuthInfo): its subject and claims are the host's to map to an identity. */
  authInfo?: { token: string; clientId: string; scopes: string[]; expiresAt?: number; extra?: Record<string, unknown> }
  sessionId?: string
  requestId: string | number
}

/** An McpServer of @modelcontextprotocol/sdk (the members the adapter wraps). */
export interface GuardableMcpServer {
  registerTool(...args: any[]): unknown
  tool(...args: any[]): unknown
}

export interface McpPolicyOptions extends PolicyOptions {
  /** The host's identity for a request, from `extra.authInfo` (its access token's subject and claims). */
  identity: (extra: McpRequestExtra) => HostIdentity | undefined | Promise<HostIdentity | undefined>
  /** The page where the user re-authenticates, for a step-up's URL elicitation. */
  stepUpUrl?: (
    pause: { decision: Decision; connector: string; tool: string; user: string; elicitationId: string },
    extra: McpRequestExtra,
  ) => string | URL | Promise<string | URL>
}

/** Guards every tool the server registers from now on (`registerTool`, `tool`). */
export declare function guardMcpServer(server: GuardableMcpServer, options: McpPolicyOptions): ToolPolicy
