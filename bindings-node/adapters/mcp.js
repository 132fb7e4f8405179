'use strict'

// agen-policy/mcp: the engine inside an MCP server built with `@modelcontextprotocol/sdk`
// (`McpServer`). Every tool registered after `guardMcpServer(server, options)` is guarded: its
// callback is wrapped, and decided on each call with the identity the host derives from the
// request (its validated access token, `extra.authInfo`), never from the tool's arguments.
//
//   allow            → the callback runs
//   deny             → `{ isError: true, content: [refusal] }`; the callback does not run
//   step_up          → a URL elicitation error (-32042) pointing at the host's re-authentication
//                      page; the client retries the call once the user has signed in again
//   request_approval → an approval request (SPEC §8) is opened and the call returns a pending
//                      `isError` result naming it; the client retries once it is approved
//
// MCP has no tool-call id that survives a retry, so a paused call is remembered by who makes it,
// the tool and the digest of its arguments: the retry of the same call finds its approval
// request, and the grant is used for that call only.

const { ArgumentError } = require('../index.js')
const { ToolPolicy } = require('./shared.js')

const META = 'agen-policy/decision'

// The SDK's error classes, of the build (CommonJS or ES module) the host's server uses: the
// server recognizes a URL elicitation error by its class, and the two builds' classes differ.
// The ES module entry passes its own; this one loads the CommonJS build when first needed, never
// when `agen-policy` itself is loaded.
let commonJsTypes
function sdkTypes() {
  commonJsTypes ??= require('@modelcontextprotocol/sdk/types.js')
  return commonJsTypes
}

function text(refusal) {
  return [{ type: 'text', text: refusal }]
}

// Guards the tools an McpServer registers from now on (`registerTool` and `tool`). Options:
// those of every adapter (`policies`, `connector` or `resolve`, `approvals`, `onDecision`,
// `logArguments`, `bindArguments`, `now`, `newId`), and
// - `identity(extra)`: the host's identity for a request, from `extra.authInfo` (required);
// - `stepUpUrl({ decision, connector, tool, user, elicitationId }, extra)`: the page where the
//   user re-authenticates (required for policies that step up).
// Returns the policy: `.approvals` is the store approval requests are opened in.
function guardMcpServer(server, options, types = sdkTypes()) {
  if (server === null || typeof server !== 'object' || typeof server.registerTool !== 'function') {
    throw new ArgumentError('guardMcpServer(server, options): `server` must be an McpServer')
  }
  const { identity, stepUpUrl, ...shared } = options ?? {}
  if (typeof identity !== 'function') {
    throw new ArgumentError('guardMcpServer: `identity(extra)` must be a function giving the host\'s identity for a request (from extra.authInfo)')
  }
  if (stepUpUrl !== undefined && typeof stepUpUrl !== 'function') throw new ArgumentError('guardMcpServer: `stepUpUrl` must be a function')
  const policy = new ToolPolicy(shared, 'guardMcpServer')
  const { UrlElicitationRequiredError } = types

  function guarded(names, callback) {
    return async function guardedTool(...parameters) {
      // The SDK calls `callback(args, extra)` for a tool with an input schema, else `callback(extra)`.
      const extra = parameters.at(-1)
      const args = parameters.length > 1 ? parameters[0] : undefined
      const call = { identity: await identity(extra), name: names.current, args }
      const outcome = await policy.decideNow(call)
      if (outcome.run) return callback(...parameters)
      const meta = { [META]: { action: outcome.action, approval_id: outcome.approvalId, approval_status: outcome.approvalStatus } }
      if (outcome.action === 'step_up') {
        if (stepUpUrl === undefined) {
          return { isError: true, content: text(outcome.refusal), _meta: meta }
        }
        const { connector, tool } = policy.target(names.current)
        const elicitationId = `step-up-${policy.newId()}`
        const url = await stepUpUrl({ decision: outcome.decision, connector, tool, user: call.identity.user, elicitationId }, extra)
        // Thrown so that the SDK returns it as the JSON-RPC error, not as a tool result.
        throw new UrlElicitationRequiredError([{ mode: 'url', message: outcome.refusal, elicitationId, url: String(url) }], outcome.refusal)
      }
      return { isError: true, content: text(outcome.refusal), _meta: meta }
    }
  }

  function wrapRegistered(registered, name) {
    const names = { current: name }
    const update = registered.update
    registered.update = function guardedUpdate(updates) {
      const next = { ...updates }
      if (typeof next.name === 'string') names.current = next.name
      // A callback replaced later is guarded too.
      if (typeof next.callback === 'function') next.callback = guarded(names, next.callback)
      return update.call(this, next)
    }
    update.call(registered, { callback: guarded(names, registered.handler) })
    return registered
  }

  const registerTool = server.registerTool
  const tool = server.tool
  server.registerTool = function registerGuardedTool(name, config, callback) {
    return wrapRegistered(registerTool.call(this, name, config, callback), name)
  }
  server.tool = function guardedTool(name, ...rest) {
    return wrapRegistered(tool.call(this, name, ...rest), name)
  }
  return policy
}

module.exports = { guardMcpServer, META }
