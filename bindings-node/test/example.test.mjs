// The Node examples run and print what their comments say: examples/node/*.mjs, and every
// snippet of the READMEs marked ```js run, whose `console.log` lines ending in `// → text`
// must print `text`, in order.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const packageDir = fileURLToPath(new URL('..', import.meta.url))

function runScript(script) {
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8', cwd: repoRoot })
  assert.equal(child.status, 0, `${child.stderr}\n---\n${child.stdout}`)
  return child.stdout
}

test('examples/node/guard-tools.mjs', () => {
  const stdout = runScript(join(repoRoot, 'examples/node/guard-tools.mjs'))
  const lines = stdout.split('\n')
  for (const expected of [
    'alice lists repositories: ok, ["acme/site","acme/api"]',
    'alice deletes a repository: waiting for approval via security-review',
    'alice shares a file: sign in again first (drive-share-step-up)',
    'erin files an issue: denied (policy: github-write-trusted-agents)',
    'decision: deny (policy: github-write-trusted-agents)',
  ]) {
    assert.ok(lines.includes(expected), `${expected}\n---\n${stdout}`)
  }
})

test('examples/node/approval-loop.mjs', () => {
  const stdout = runScript(join(repoRoot, 'examples/node/approval-loop.mjs'))
  assert.deepEqual(stdout.trim().split('\n'), [
    'alice deletes acme/old-site: waiting for approval via security-review',
    'approvers who may act: bob',
    'bob approves: approved (version 2)',
    'alice deletes acme/old-site: deleted acme/old-site',
    'alice deletes acme/site: waiting for approval via security-review',
    'alice shares roadmap.pdf: sign in again first (max age 300 s)',
    'alice shares roadmap.pdf: shared roadmap.pdf',
  ])
})

test('examples/node/ai-sdk-agent.mjs: an AI SDK agent through the four outcomes', () => {
  const stdout = runScript(join(repoRoot, 'examples/node/ai-sdk-agent.mjs'))
  assert.deepEqual(stdout.trim().split('\n'), [
    'alice lists repositories: the tool said: ["acme/site","acme/api"]',
    'alice transfers acme/site: the tool said: "The call to github/transfer_repository was denied by policy and did not run. Do not retry it; tell the user it is not allowed."',
    'alice shares roadmap.pdf: paused (step_up)',
    'alice signs in again',
    'alice shares roadmap.pdf: the tool said: "shared roadmap.pdf"',
    'alice deletes acme/old-site: paused (request_approval)',
    'bob approves apr-…: approved',
    'alice deletes acme/old-site: the tool said: "deleted acme/old-site"',
  ])
})

/** The snippets of a Markdown file fenced as ```js run, with the outputs they promise. */
export function runnableSnippets(markdown) {
  const snippets = []
  for (const [, code] of markdown.matchAll(/^```js run\n([\s\S]*?)^```$/gm)) {
    const expected = [...code.matchAll(/console\.log\(.*\/\/ → (.*)$/gm)].map((m) => m[1])
    snippets.push({ code, expected })
  }
  return snippets
}

describe('README snippets marked ```js run', () => {
  // A directory in which `import 'agen-policy'` resolves to this package, as in a host's project.
  const dir = mkdtempSync(join(tmpdir(), 'agen-policy-readme-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(packageDir, join(dir, 'node_modules', 'agen-policy'), 'dir')

  for (const readme of ['README.md', 'bindings-node/README.md']) {
    const snippets = runnableSnippets(readFileSync(join(repoRoot, readme), 'utf8'))
    test(`${readme} has runnable snippets`, () => assert.ok(snippets.length > 0))
    for (const [i, { code, expected }] of snippets.entries()) {
      test(`${readme}, snippet ${i + 1}`, () => {
        assert.ok(expected.length > 0, 'a snippet promises some output')
        const script = join(dir, `${readme.replaceAll('/', '-')}-${i + 1}.mjs`)
        writeFileSync(script, code)
        assert.deepEqual(runScript(script).trimEnd().split('\n'), expected)
      })
    }
  }
})
