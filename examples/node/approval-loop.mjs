// What follows a blocked tool call, with the Acme policies (examples/acme.json): an approval (the
// host opens a request, an approver approves, the grant lets that exact call run) and a step-up
// (the user signs in again, then the call runs). The engine reads no clock and keeps no state:
// the host keeps the approval requests (here in memory) and passes the evidence back.
//
//   cd bindings-node && npm install && cd ../examples/node && node approval-loop.mjs

import { fileURLToPath } from 'node:url'

import { ApprovalRequired, Guard, MemoryApprovalStore, PolicySet, StepUpRequired } from '../../bindings-node/index.mjs'

const policies = PolicySet.fromFile(fileURLToPath(new URL('../acme.json', import.meta.url)))
const store = new MemoryApprovalStore() // a host backs the same methods with its database
let opened = 0

function toolsFor(guard) {
  return {
    // Bound to its arguments: a grant for one repository does not delete another.
    deleteRepository: guard.wrap('github', 'delete_repository', async (repo) => `deleted ${repo}`, { bindArguments: true }),
    shareFile: guard.wrap('google_drive', 'share_file', async (file) => `shared ${file}`),
  }
}

async function run(label, call) {
  try {
    console.log(`${label}: ${await call()}`)
  } catch (e) {
    if (e instanceof ApprovalRequired) {
      // The error holds what the request is opened for: the call, with its arguments' digest.
      await store.open(policies, e.request, e.approvalFlows[0], `apr-${++opened}`, Date.now())
      console.log(`${label}: waiting for approval via ${e.approvalFlows}`)
    } else if (e instanceof StepUpRequired) {
      console.log(`${label}: sign in again first (max age ${e.decision.stepUp[0].maxAge} s)`)
    } else {
      throw e
    }
  }
}

// Alice's session, as the host knows it.
let alice = new Guard(policies, { user: 'alice', context: { agent: { type: 'ChatGPT' } } })
await run('alice deletes acme/old-site', () => toolsFor(alice).deleteRepository('acme/old-site'))

// Bob opens the approvals page: what may he act on now, and who else could?
const [pending] = await store.pendingFor(policies, 'bob', Date.now())
console.log(`approvers who may act: ${policies.eligibleApprovers(pending.state).join(', ')}`)
const { state, version } = await store.approve(policies, pending.state.id, 'bob', Date.now())
console.log(`bob approves: ${state.status} (version ${version})`)

// The host adds the grant to alice's identity: the approved call runs, and only that call.
alice = alice.withIdentity({ ...alice.identity, grants: [await store.grant(policies, pending.state.id)] })
await run('alice deletes acme/old-site', () => toolsFor(alice).deleteRepository('acme/old-site'))
await run('alice deletes acme/site', () => toolsFor(alice).deleteRepository('acme/site'))

// Sharing a file needs a recent sign-in: once the identity provider reports one, the call runs.
await run('alice shares roadmap.pdf', () => toolsFor(alice).shareFile('roadmap.pdf'))
alice = alice.withIdentity({ ...alice.identity, auth: { time: Date.now() } })
await run('alice shares roadmap.pdf', () => toolsFor(alice).shareFile('roadmap.pdf'))
