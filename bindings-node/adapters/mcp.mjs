// ES module entry of agen-policy/mcp: the CommonJS module's functions, given the SDK's ES module
// build, whose error classes an ES module server recognizes.
import * as types from '@modelcontextprotocol/sdk/types.js'

import mcp from './mcp.js'

export const { META } = mcp

export function guardMcpServer(server, options) {
  return mcp.guardMcpServer(server, options, types)
}
