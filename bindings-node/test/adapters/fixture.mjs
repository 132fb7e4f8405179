// What every adapter's tests share: a small policy document with one tool per outcome, the
// host's identities, and a counter of the tool runs, which proves that no blocked tool ran.

import { PolicySet } from 'agen-policy'

export const policies = PolicySet.fromObject({
  version: 1,
  connectors: [
    {
      id: 'acme',
      tools: [{ name: 'list_files' }, { name: 'drop_database' }, { name: 'share_file' }, { name: 'delete_repository' }],
    },
  ],
  users: [{ id: 'alice' }, { id: 'bob' }],
  approval_flows: [{ id: 'review', steps: [{ users: ['bob'], min_approvals: 1 }] }],
  policies: [
    { id: 'read', name: 'Read', connector: 'acme', action: 'allow', all_users: true, tools: ['list_files'] },
    { id: 'no-drop', name: 'No drop', connector: 'acme', action: 'deny', all_users: true, tools: ['drop_database'] },
    { id: 'share-fresh-login', name: 'Share after a fresh login', connector: 'acme', action: 'step_up', all_users: true, tools: ['share_file'], step_up: { max_age: 300 } },
    { id: 'delete-review', name: 'Delete after review', connector: 'acme', action: 'request_approval', all_users: true, tools: ['delete_repository'], approval_flow: 'review' },
  ],
})

// The five tools a framework is given: four the policies govern, one they have never heard of.
export const TOOLS = ['list_files', 'drop_database', 'share_file', 'delete_repository', 'launch_rockets']

// Counts each tool's runs.
export function counter() {
  const runs = Object.fromEntries(TOOLS.map((name) => [name, 0]))
  return {
    runs,
    run(name, args) {
      runs[name] += 1
      return `${name} ran with ${JSON.stringify(args ?? {})}`
    },
  }
}

// The host's session of alice: the identity the adapters read, and the evidence it gains.
export function session() {
  return { user: 'alice' }
}

export function reauthenticated(identity) {
  return { ...identity, auth: { time: Date.now() } }
}
