// An AI SDK agent guarded by the Acme policies (examples/acme.json), driven by the SDK's own mock
// model, through the four outcomes: a call that runs, one that is denied (the model reads the
// refusal), one that needs a fresh sign-in and one that needs an approver. No network, no LLM.
//
//   cd bindings-node && npm install && node ../examples/node/ai-sdk-agent.mjs
//
// The frameworks are the package's dev dependencies, so the example loads them from there; in
// a host's project they are its own dependencies: `import { generateText } from 'ai'`.

import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(new URL('../../bindings-node/package.json', import.meta.url))
const { generateText, stepCountIs, tool } = require('ai')
const { MockLanguageModelV3 } = require('ai/test')
const { z } = require('zod')
const { MemoryApprovalStore, PolicySet } = require('agen-policy')
const { guardTools } = require('agen-policy/ai-sdk')

const policies = PolicySet.fromFile(fileURLToPath(new URL('../acme.json', import.meta.url)))
const approvals = new MemoryApprovalStore() // a host backs the same methods with its database

// The host's tools, and which connector of the policies each belongs to.
const CONNECTORS = { list_user_repositories: 'github', transfer_repository: 'github', delete_repository: 'github', share_file: 'google_drive' }
const tools = {
  list_user_repositories: tool({ description: 'List repositories', inputSchema: z.object({}), execute: async () => ['acme/site', 'acme/api'] }),
  transfer_repository: tool({ description: 'Transfer a repository', inputSchema: z.object({ repo: z.string(), to: z.string() }), execute: async ({ repo }) => `transferred ${repo}` }),
  delete_repository: tool({ description: 'Delete a repository', inputSchema: z.object({ repo: z.string() }), execute: async ({ repo }) => `deleted ${repo}` }),
  share_file: tool({ description: 'Share a file', inputSchema: z.object({ file: z.string() }), execute: async ({ file }) => `shared ${file}` }),
}
const guarded = guardTools(tools, {
  policies,
  resolve: (name) => ({ connector: CONNECTORS[name] ?? 'unknown', tool: name }),
  approvals,
  // Who the agent acts for: the host's session, passed to generateText as experimental_context.
  identity: (context) => context.session,
})

// A mock model that calls one tool, then says what the tool answered.
function modelCalling(toolName, input) {
  const usage = { inputTokens: { total: 1, noCache: 1 }, outputTokens: { total: 1, text: 1 } }
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      const last = prompt.at(-1)
      if (last.role !== 'tool') {
        return { content: [{ type: 'tool-call', toolCallId: `call-${toolName}`, toolName, input: JSON.stringify(input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] }
      }
      const { output } = last.content.find((part) => part.type === 'tool-result')
      return { content: [{ type: 'text', text: `the tool said: ${JSON.stringify(output.value)}` }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] }
    },
  })
}

let session = { user: 'alice', context: { agent: { type: 'ChatGPT' } } }

async function turn(model, messages) {
  return generateText({ model, tools: guarded.tools, messages, stopWhen: stepCountIs(3), experimental_context: { session } })
}

// Runs one call; a paused call is settled by `settle(pause)` and resumed.
async function ask(label, toolName, input, settle) {
  const model = modelCalling(toolName, input)
  const messages = [{ role: 'user', content: label }]
  let result = await turn(model, messages)
  const request = result.content.find((part) => part.type === 'tool-approval-request')
  if (request !== undefined) {
    const pause = guarded.policy.pauseOf(request.toolCall.toolCallId)
    console.log(`${label}: paused (${pause.action})`)
    await settle(pause)
    const response = { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: request.approvalId, approved: true }] }
    result = await turn(model, [...messages, ...result.response.messages, response])
  }
  console.log(`${label}: ${result.text}`)
}

await ask('alice lists repositories', 'list_user_repositories', {})
await ask('alice transfers acme/site', 'transfer_repository', { repo: 'acme/site', to: 'evil' })
await ask('alice shares roadmap.pdf', 'share_file', { file: 'roadmap.pdf' }, async () => {
  // The host sends alice to sign in again; its session now holds the new authentication.
  session = { ...session, auth: { time: Date.now() } }
  console.log('alice signs in again')
})
await ask('alice deletes acme/old-site', 'delete_repository', { repo: 'acme/old-site' }, async (pause) => {
  // The approval request the adapter opened (SPEC §8): bob, of security, approves it.
  const { state } = await approvals.approve(policies, pause.approvalId, 'bob', Date.now())
  console.log(`bob approves ${pause.approvalId.slice(0, 4)}…: ${state.status}`)
})
