// The Node example runs and guards as its comments say.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

test('examples/node/guard-tools.mjs', () => {
  const script = fileURLToPath(new URL('../../examples/node/guard-tools.mjs', import.meta.url))
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  const lines = child.stdout.split('\n')
  for (const expected of [
    'alice lists repositories: ok, ["acme/site","acme/api"]',
    'alice deletes a repository: waiting for approval via security-review',
    'alice shares a file: sign in again first (drive-share-step-up)',
    'erin files an issue: denied (policy: github-write-trusted-agents)',
    'decision: deny (policy: github-write-trusted-agents)',
  ]) {
    assert.ok(lines.includes(expected), `${expected}\n---\n${child.stdout}`)
  }
})
