// The benchmark's deterministic workload, written once and encoded twice: as an agen policy
// document and as Cedar policies, entities and requests.
//
// One connector `app` with 100 tools `t0`..`t99`; 200 users `u0`..`u199`, user `uN` in group
// `g(N mod 20)`; 1,000 policies, policy `i` governing tool `t(i mod 100)`:
//   - scope: every user when i % 7 == 0, else group `g(3i mod 20)` when i is even, else the two
//     users `u(11i mod 200)` and `u(13i+5 mod 200)`;
//   - action: deny when i % 5 == 0, else allow;
//   - an allow policy with i % 3 == 0 has targeting `agent.type equals <ChatGPT|Claude>` with
//     `otherwise: "none"` (it does not apply when the agent differs).
// Requests: user, tool and agent type drawn by a fixed linear congruential generator; the
// context is the one attribute `agent.type`, as `{ agent: { type } }`.

export const CONNECTOR = 'app'
export const TOOLS = 100
export const USERS = 200
export const GROUPS = 20
export const POLICIES = 1000
const AGENTS = ['ChatGPT', 'Claude', 'Other']

function shape(i) {
  const deny = i % 5 === 0
  let scope
  if (i % 7 === 0) scope = { kind: 'all' }
  else if (i % 2 === 0) scope = { kind: 'group', group: `g${(i * 3) % GROUPS}` }
  else scope = { kind: 'users', users: [`u${(i * 11) % USERS}`, `u${(i * 13 + 5) % USERS}`] }
  return {
    id: `p${String(i).padStart(4, '0')}`,
    tool: `t${i % TOOLS}`,
    deny,
    scope,
    agent: !deny && i % 3 === 0 ? AGENTS[(i >> 1) % 2] : null,
  }
}

export const shapes = Array.from({ length: POLICIES }, (_, i) => shape(i))

/** The agen policy document. */
export function agenDocument() {
  const policies = shapes.map((s) => {
    const p = { id: s.id, name: `Policy ${s.id}`, connector: CONNECTOR, action: s.deny ? 'deny' : 'allow', tools: [s.tool] }
    if (s.scope.kind === 'all') p.all_users = true
    else if (s.scope.kind === 'group') p.groups = [s.scope.group]
    else p.users = s.scope.users
    if (s.agent) {
      p.targeting = {
        rules: [{ conditions: [{ attribute: 'agent.type', operator: 'equals', values: [s.agent] }] }],
        otherwise: 'none',
      }
    }
    return p
  })
  return {
    version: 1,
    connectors: [{ id: CONNECTOR, tools: Array.from({ length: TOOLS }, (_, t) => ({ name: `t${t}` })) }],
    groups: Array.from({ length: GROUPS }, (_, g) => ({ id: `g${g}` })),
    users: Array.from({ length: USERS }, (_, u) => ({ id: `u${u}`, groups: [`g${u % GROUPS}`] })),
    policies,
  }
}

/**
 * The same policies in Cedar, keyed by the same ids: `permit` for allow, `forbid` for deny,
 * the targeting as a `when` clause. Cedar's forbid-overrides-permit and default deny are the
 * engine's most-restrictive-wins and `no_policy` on a document with only allow and deny.
 */
export function cedarPolicies() {
  const out = {}
  for (const s of shapes) {
    let principal = 'principal'
    const when = []
    if (s.scope.kind === 'group') principal = `principal in Group::"${s.scope.group}"`
    else if (s.scope.kind === 'users') when.push(s.scope.users.map((u) => `principal == User::"${u}"`).join(' || '))
    if (s.agent) when.push(`context.agent.type == "${s.agent}"`)
    const effect = s.deny ? 'forbid' : 'permit'
    const body = `${effect}(${principal}, action == Action::"call", resource == Tool::"${CONNECTOR}/${s.tool}")`
    out[s.id] = when.length > 0 ? `${body} when { ${when.map((w) => `(${w})`).join(' && ')} };` : `${body};`
  }
  return out
}

/** `n` requests, the same every run. */
export function requests(n) {
  let x = 12345
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    return x >>> 8
  }
  return Array.from({ length: n }, () => ({
    user: `u${next() % USERS}`,
    connector: CONNECTOR,
    tool: `t${next() % TOOLS}`,
    context: { agent: { type: AGENTS[next() % AGENTS.length] } },
  }))
}

/** A request as a Cedar authorization call: the user's entity (with its group) is passed along. */
export function cedarCall(r, policySetId) {
  const group = `g${Number(r.user.slice(1)) % GROUPS}`
  return {
    principal: { type: 'User', id: r.user },
    action: { type: 'Action', id: 'call' },
    resource: { type: 'Tool', id: `${r.connector}/${r.tool}` },
    context: r.context,
    preparsedPolicySetId: policySetId,
    entities: [{ uid: { type: 'User', id: r.user }, attrs: {}, parents: [{ type: 'Group', id: group }] }],
  }
}
