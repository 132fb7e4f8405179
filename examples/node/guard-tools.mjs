// Guards an agent's tool calls with the Acme policies (examples/acme.json).
//
//   cd bindings-node && npm install && cd ../examples/node && node guard-tools.mjs

import { fileURLToPath } from 'node:url'

import { ApprovalRequired, Guard, PolicySet, StepUpRequired, ToolDenied } from '../../bindings-node/index.mjs'

// Load once; the set is immutable and cheap to evaluate against.
const policies = PolicySet.fromFile(fileURLToPath(new URL('../acme.json', import.meta.url)))

// The tools the agent may call, each checked before it runs.
function toolsFor(guard) {
  return {
    listRepositories: guard.wrap('github', 'list_user_repositories', async () => ['acme/site', 'acme/api']),
    createIssue: guard.wrap('github', 'create_issue', async (repo, title) => `${repo}#1 ${title}`),
    deleteRepository: guard.wrap('github', 'delete_repository', async (repo) => `deleted ${repo}`),
    shareFile: guard.wrap('google_drive', 'share_file', async (file, email) => `shared ${file} with ${email}`),
  }
}

async function run(label, call) {
  try {
    console.log(`${label}: ok, ${JSON.stringify(await call())}`)
  } catch (e) {
    if (e instanceof StepUpRequired) console.log(`${label}: sign in again first (${e.decision.policies})`)
    else if (e instanceof ApprovalRequired) console.log(`${label}: waiting for approval via ${e.approvalFlows}`)
    else if (e instanceof ToolDenied) console.log(`${label}: denied (${e.decision.reason}: ${e.decision.policies})`)
    else throw e
  }
}

// Alice, an engineer, works through ChatGPT; Erin is a contractor on an unknown agent.
const alice = toolsFor(new Guard(policies, { user: 'alice', context: { agent: { type: 'ChatGPT' } } }))
const erin = toolsFor(new Guard(policies, { user: 'erin', context: { agent: { type: 'homegrown' } } }))

await run('alice lists repositories', () => alice.listRepositories())
await run('alice files an issue', () => alice.createIssue('acme/site', 'Fix the footer'))
await run('alice deletes a repository', () => alice.deleteRepository('acme/old-site'))
await run('alice shares a file', () => alice.shareFile('roadmap.pdf', 'partner@example.com'))
await run('erin files an issue', () => erin.createIssue('acme/site', 'Typo'))

// Why was Erin denied? The explanation is for people.
console.log(`\n${policies.explain({ user: 'erin', connector: 'github', tool: 'create_issue', context: { agent: { type: 'homegrown' } } })}`)
