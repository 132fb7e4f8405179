// agen-policy/mcp: the engine inside an McpServer of @modelcontextprotocol/sdk.
import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Decision } from '../index.js'
import type { HostIdentity, PolicyOptions, ToolPolicy } from './shared.js'

export type { HostIdentity, Pause, PolicyOptions, ToolPolicy } from './shared.js'
export type { RegisteredTool }

/** The `_meta` key of a blocked call's result: `{ action, approval_id?, approval_status? }`. */
export declare const META: 'agen-policy/decision'

/** The request handler's `extra` (the SDK's RequestHandlerExtra): `authInfo` is the validated access token. */
export type McpRequestExtra = Parameters<Parameters<McpServer['registerTool']>[2]>[1]

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
export declare function guardMcpServer(server: McpServer, options: McpPolicyOptions): ToolPolicy
