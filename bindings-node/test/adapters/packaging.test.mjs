// The adapters are subpath exports with the frameworks as optional peers: loading the package
// loads no framework, and each adapter loads from CommonJS and from an ES module.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
const FRAMEWORKS = ['@modelcontextprotocol/sdk', 'ai', '@openai/agents']

test('require("agen-policy") loads no framework', () => {
  const script = `require('agen-policy'); const loaded = Object.keys(require.cache).filter((p) => /node_modules\\/(ai|@modelcontextprotocol|@openai)\\//.test(p)); process.stdout.write(JSON.stringify(loaded))`
  assert.deepEqual(JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: new URL('../..', import.meta.url) }).toString()), [])
})

test('each framework is an optional peer, pinned exactly for the tests', () => {
  for (const name of FRAMEWORKS) {
    assert.ok(manifest.peerDependencies[name], name)
    assert.equal(manifest.peerDependenciesMeta[name].optional, true, name)
    assert.match(manifest.devDependencies[name], /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version`)
    const installed = JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'))
    assert.equal(installed.version, manifest.devDependencies[name], `${name} installed is the pinned one`)
  }
})

test('each adapter loads from CommonJS and from an ES module', async () => {
  const names = { mcp: ['guardMcpServer'], 'ai-sdk': ['guardTools', 'ToolRefused'], 'openai-agents': ['agentsPolicy', 'AgentsPolicy'] }
  for (const [subpath, exported] of Object.entries(names)) {
    const cjs = require(`agen-policy/${subpath}`)
    const esm = await import(`agen-policy/${subpath}`)
    for (const name of exported) {
      assert.equal(typeof cjs[name], 'function', `${subpath} (CommonJS): ${name}`)
      assert.equal(typeof esm[name], 'function', `${subpath} (ES module): ${name}`)
    }
  }
})
