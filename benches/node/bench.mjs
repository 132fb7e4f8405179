// Time per `evaluate` call from Node: agen-policy's PolicySet beside cedar-wasm's stateful
// authorizer, on the same 1,000-policy workload (workload.mjs), in one run.
//
//   npm install && node bench.mjs [--quick]
//
// Before timing, every request is decided by both engines, which must agree on allow/deny and
// on the determining policies. Each figure is per call, over whole passes through the prebuilt
// requests (1,000; Cedar's first 100): the median, minimum and 90th percentile of the samples'
// wall-clock time, and the median of their CPU time (process.cpuUsage), which time the process
// spends waiting for a core shared with other processes does not inflate.

import assert from 'node:assert/strict'
import { cpus, loadavg } from 'node:os'

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import { PolicySet } from 'agen-policy'

import { agenDocument, cedarCall, cedarPolicies, POLICIES, requests } from './workload.mjs'

const quick = process.argv.includes('--quick')
const SAMPLES = quick ? 11 : 41

const set = PolicySet.fromObject(agenDocument())
const CEDAR_SET = 'bench'
const parsed = cedar.preparsePolicySet(CEDAR_SET, { staticPolicies: cedarPolicies() })
assert.equal(parsed.type, 'success', JSON.stringify(parsed))

const reqs = requests(1000)
const calls = reqs.map((r) => cedarCall(r, CEDAR_SET))
const texts = reqs.map((r) => JSON.stringify(r))

function cedarDecide(call) {
  const answer = cedar.statefulIsAuthorized(call)
  assert.equal(answer.type, 'success', JSON.stringify(answer))
  assert.deepEqual(answer.response.diagnostics.errors, [])
  return answer.response
}

// Agreement, on every request of the workload.
const outcomes = {}
for (let i = 0; i < reqs.length; i++) {
  const ours = set.evaluate(reqs[i])
  const theirs = cedarDecide(calls[i])
  assert.equal(ours.action, theirs.decision, `request ${i}: ${JSON.stringify(reqs[i])}`)
  assert.deepEqual([...ours.policies].sort(), [...theirs.diagnostics.reason].sort(), `request ${i}: determining policies`)
  const key = `${ours.action} (${ours.reason})`
  outcomes[key] = (outcomes[key] ?? 0) + 1
}

function measure(name, passes, decide, n = reqs.length) {
  let sink = 0
  for (let w = 0; w < Math.max(1, passes); w++) for (let i = 0; i < n; i++) sink += decide(i)
  const perCall = []
  const cpuPerCall = []
  for (let s = 0; s < SAMPLES; s++) {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    for (let p = 0; p < passes; p++) for (let i = 0; i < n; i++) sink += decide(i)
    perCall.push(Number(process.hrtime.bigint() - start) / (passes * n))
    const used = process.cpuUsage(cpu)
    cpuPerCall.push(((used.user + used.system) * 1000) / (passes * n))
  }
  perCall.sort((a, b) => a - b)
  cpuPerCall.sort((a, b) => a - b)
  const result = {
    name,
    median: perCall[perCall.length >> 1],
    min: perCall[0],
    p90: perCall[Math.floor(perCall.length * 0.9)],
    cpu: cpuPerCall[cpuPerCall.length >> 1],
  }
  if (sink < 0) console.log(sink) // keeps the results alive
  return result
}

const ns = (v) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} µs` : `${v.toFixed(0)} ns`)
const results = [
  measure('agen-policy  set.evaluate(request)', quick ? 5 : 20, (i) => (set.evaluate(reqs[i]).allowed ? 1 : 0)),
  measure('agen-policy  set.evaluateJson(text)', quick ? 2 : 5, (i) => (set.evaluateJson(texts[i]).allowed ? 1 : 0)),
  // Cedar takes milliseconds a call: each sample is one pass through the first 100 requests.
  measure('cedar-wasm   statefulIsAuthorized(call)', 1, (i) => (cedar.statefulIsAuthorized(calls[i]).response.decision === 'allow' ? 1 : 0), 100),
]

console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0].model}, cedar ${cedar.getCedarVersion()}`)
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log(`${POLICIES} policies, ${reqs.length} requests; both engines agree on all of them:`, outcomes)
console.log(`${SAMPLES} samples each; per call:`)
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(42)} median ${ns(r.median).padStart(8)}   min ${ns(r.min).padStart(8)}   p90 ${ns(r.p90).padStart(8)}   cpu ${ns(r.cpu).padStart(8)}`,
  )
}
const [agen, , cedarResult] = results
console.log(
  `cedar-wasm / agen-policy: ${(cedarResult.median / agen.median).toFixed(0)}× (wall-clock medians), ${(cedarResult.cpu / agen.cpu).toFixed(0)}× (CPU time)`,
)
console.log(
  `target, median ≤ 1 µs per evaluate: wall-clock ${agen.median <= 1000 ? 'met' : 'not met'}, CPU time ${agen.cpu <= 1000 ? 'met' : 'not met'}`,
)
