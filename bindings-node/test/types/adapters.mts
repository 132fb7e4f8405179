// Type-checked by `tsc --noEmit` in the tests: the adapters' types from an ES module.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { Agent } from '@openai/agents'
import { tool } from 'ai'
import { z } from 'zod'

import { JsonlDecisionLog, MemoryApprovalStore, PolicySet, type DecisionRecord } from 'agen-policy'
import { guardTools, ToolRefused } from 'agen-policy/ai-sdk'
import { guardMcpServer, META } from 'agen-policy/mcp'
import { agentsPolicy } from 'agen-policy/openai-agents'

const policies = PolicySet.fromFile('examples/acme.json')
const approvals = new MemoryApprovalStore()
const log = new JsonlDecisionLog('decisions.jsonl')

const server = new McpServer({ name: 'acme', version: '1.0.0' })
const mcpPolicy = guardMcpServer(server, {
  policies,
  connector: 'github',
  approvals,
  onDecision: log,
  identity: (extra) => ({ user: String(extra.authInfo?.extra?.sub ?? '') }),
  stepUpUrl: ({ elicitationId }) => `https://login.example/step-up?id=${elicitationId}`,
})
console.log(META, mcpPolicy.pauseOf('x')?.approvalId)

const { tools, policy } = guardTools(
  { list_user_repositories: tool({ description: 'list', inputSchema: z.object({}), execute: async () => 'repos' }) },
  { policies, connector: 'github', identity: (context) => (context as { user: string }), onDecision: (r: DecisionRecord) => console.log(r.action) },
)
console.log(tools.list_user_repositories.description, policy.approvals, ToolRefused.name)

const agents = agentsPolicy<{ user: string }>({ policies, connector: 'github', identity: (context) => ({ user: context.user }) })
const remove = agents.tool({ name: 'delete_repository', description: 'delete', parameters: z.object({ repo: z.string() }), execute: async ({ repo }) => `deleted ${repo}` })
console.log(new Agent({ name: 'a', tools: [remove] }).name, agents.answerOf('call-1')?.pause)
