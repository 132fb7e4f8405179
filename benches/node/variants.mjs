// The boundary choices behind `evaluate`, timed on the workload of bench.mjs:
// inputs (object read natively, positional strings, JSON text, the encoded buffer) with the same
// output, and outputs (plain object, class instance, interned ids) with the same input.
//
//   npm install && node variants.mjs [--quick]
//
// Builds ./variants (a throwaway addon with one export per choice) with cargo first.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { PolicySet } from 'agen-policy'

import { agenDocument, requests } from './workload.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const manifest = join(here, 'variants', 'Cargo.toml')
execFileSync('cargo', ['build', '--release', '--manifest-path', manifest], { stdio: 'inherit' })
const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest]))
const addon = join(here, 'variants', 'variants.node')
copyFileSync(join(metadata.target_directory, 'release', 'libagen_policy_node_variants.so'), addon)
const { Variants } = createRequire(import.meta.url)(addon)

const quick = process.argv.includes('--quick')
const SAMPLES = quick ? 11 : 41
const PASSES = quick ? 3 : 10

const document = agenDocument()
const set = PolicySet.fromObject(document)
const variants = Variants.fromJson(JSON.stringify(document))
const reqs = requests(1000)
const texts = reqs.map((r) => JSON.stringify(r))
const ids = variants.policyIds()
const out = Buffer.from(new ArrayBuffer(4096))
const words = new Uint32Array(out.buffer)
const ACTIONS = ['allow', 'step_up', 'request_approval', 'deny']
const REASONS = ['unknown_connector', 'connector_disabled', 'unknown_tool', 'tool_disabled', 'no_policy', 'policy']

function interned(text) {
  variants.jsonInInternedOut(text, out)
  const n = words[2]
  const policies = new Array(n)
  for (let i = 0; i < n; i++) policies[i] = ids[words[3 + i]]
  return { action: ACTIONS[words[0]], reason: REASONS[words[1]], policies, approvalFlows: [], allowed: words[0] === 0 }
}

const choices = [
  ['input: object, read natively (out: plain object)', (i) => variants.objectIn(reqs[i])],
  ['input: positional strings + context JSON (out: plain object)', (i) => variants.positionalIn(reqs[i].user, reqs[i].connector, reqs[i].tool, JSON.stringify(reqs[i].context))],
  ['input: JSON.stringify(request) (out: plain object)', (i) => variants.jsonIn(JSON.stringify(reqs[i]))],
  ['input: JSON text made beforehand (out: plain object)', (i) => variants.jsonIn(texts[i])],
  ['output: plain object made natively (in: JSON text)', (i) => variants.jsonIn(texts[i])],
  ['output: class instance with getters (in: JSON text)', (i) => variants.jsonInClassOut(texts[i])],
  ['output: interned ids, object made in JS (in: JSON text)', (i) => interned(texts[i])],
  ['shipped: set.evaluateJson(text)', (i) => set.evaluateJson(texts[i])],
  ['shipped: set.evaluate(request) (encoded buffer, interned)', (i) => set.evaluate(reqs[i])],
]

// Every choice decides as the shipped evaluate does.
for (const [name, decide] of choices) {
  for (let i = 0; i < reqs.length; i += 7) {
    const d = decide(i)
    const expected = set.evaluate(reqs[i])
    assert.equal(d.action, expected.action, name)
    assert.deepEqual([...d.policies], expected.policies, name)
  }
}

console.log(`${SAMPLES} samples of ${PASSES} × ${reqs.length} calls; per call (median, min), load average ${loadavg()[0].toFixed(2)}:`)
for (const [name, decide] of choices) {
  const n = reqs.length
  let sink = 0
  for (let i = 0; i < n * 20; i++) sink += decide(i % n).policies.length
  const perCall = []
  for (let s = 0; s < SAMPLES; s++) {
    const start = process.hrtime.bigint()
    for (let p = 0; p < PASSES; p++) for (let i = 0; i < n; i++) sink += decide(i).policies.length
    perCall.push(Number(process.hrtime.bigint() - start) / (PASSES * n))
  }
  perCall.sort((a, b) => a - b)
  const median = perCall[perCall.length >> 1].toFixed(0)
  console.log(`  ${name.padEnd(62)} ${median.padStart(6)} ns  ${perCall[0].toFixed(0).padStart(6)} ns${sink < 0 ? '' : ''}`)
}
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
