// Policy analysis from Node: lint, access review, diff and replay, the core's answers as plain
// objects (docs/analysis.md).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { PolicySet, RequestError, diff, replay } from 'agen-policy'

const acmePath = fileURLToPath(new URL('../../examples/acme.json', import.meta.url))
const acme = () => JSON.parse(readFileSync(acmePath, 'utf8'))
const withPolicy = (id, change) => {
  const doc = acme()
  change(doc.policies.find((p) => p.id === id))
  return PolicySet.fromObject(doc)
}

test('lint lists the example findings', () => {
  const { findings } = PolicySet.fromFile(acmePath).lint()
  assert.equal(findings[0].code, 'broad_allow')
  assert.equal(findings[0].severity, 'security_warning')
  assert.ok(findings.some((f) => f.code === 'ungoverned_tool' && f.path === '/connectors/1/tools/3'))
})

test('the access review of one user, piece by piece', () => {
  const review = PolicySet.fromFile(acmePath).access('google_drive', 'get_file', 'alice')
  const [alice] = review.principals
  assert.deepEqual(alice.principal, { kind: 'user', id: 'alice' })
  assert.equal(alice.exact, true)
  assert.deepEqual(alice.pieces.map((p) => p.action), ['allow', 'request_approval'])
  assert.deepEqual(alice.pieces[1].example, { 'agent.trusted': false })
})

test('diff witnesses decide as claimed', () => {
  const older = PolicySet.fromFile(acmePath)
  const newer = withPolicy('github-write-trusted-agents', (p) => { p.targeting.otherwise = 'none' })
  const d = diff(older, newer)
  assert.ok(d.changes.length > 0)
  for (const change of d.changes) {
    assert.equal(change.impact, 'more_permissive')
    for (const w of change.witnesses) {
      assert.equal(older.evaluate(w.request).action, w.old.action)
      assert.equal(newer.evaluate(w.request).action, w.new.action)
    }
  }
  assert.deepEqual(diff(older, older).changes, [])
})

test('replay takes records and lines, and names a bad one', () => {
  const newer = withPolicy('github-read', (p) => { p.action = 'deny' })
  const record = { user: 'carol', connector: 'github', tool: 'list_user_repositories', action: 'allow' }
  const r = replay(newer, [record, JSON.stringify(record)])
  assert.equal(r.records, 2)
  assert.deepEqual(r.summary, [{ from: 'allow', to: 'deny', count: 2 }])
  assert.throws(() => replay(newer, [record, { user: 1 }]), (e) => e instanceof RequestError && e.index === 1)
})
