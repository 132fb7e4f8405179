// Time per `evaluate` call from Node: agen-policy's PolicySet beside cedar-wasm's stateful
// authorizer, on the same 1,000-policy workload (workload.mjs), in one run.
//
//   AGEN_POLICY_NODE_FEATURES=bench-hooks npm install && node bench.mjs [--quick]
//
// The `bench-hooks` build adds the floor, `__floorForBench`: a native function that takes the
// request object and returns undefined, what one call into the addon costs at least.
//
// Before timing, every request is decided by both engines, which must agree on allow/deny and
// on the determining policies. Each figure is per call, over whole passes through the prebuilt
// requests (1,000; Cedar's first 100): the median, minimum and 90th percentile of the samples'
// wall-clock time, and the median of their CPU time (process.cpuUsage), which time the process
// spends waiting for a core shared with other processes does not inflate.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import { PolicySet } from 'agen-policy'

import { agenDocument, cedarCall, cedarPolicies, POLICIES, requests } from './workload.mjs'

const require = createRequire(import.meta.url)
const native = require(join(dirname(require.resolve('agen-policy/package.json')), 'agen-policy.node'))
if (typeof native.__floorForBench !== 'function') {
  throw new Error('the floor needs the bench-hooks build: AGEN_POLICY_NODE_FEATURES=bench-hooks npm install')
}

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

// Per call: `passes` passes over the first `n` requests per sample; `decide(i)` decides request
// `i`, or with `batch`, `decide()` decides all of them in one call.
function measure(name, passes, decide, n = reqs.length, batch = false) {
  let sink = 0
  const pass = batch ? () => (sink += decide()) : () => {
    for (let i = 0; i < n; i++) sink += decide(i)
  }
  for (let w = 0; w < Math.max(1, passes); w++) pass()
  const perCall = []
  const cpuPerCall = []
  for (let s = 0; s < SAMPLES; s++) {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    for (let p = 0; p < passes; p++) pass()
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

const countAllowed = (decisions) => {
  let n = 0
  for (const d of decisions) if (d.allowed) n++
  return n
}
assert.deepEqual(set.evaluateMany(reqs), reqs.map((r) => set.evaluate(r)))

const ns = (v) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} µs` : `${v.toFixed(0)} ns`)
const agenPasses = quick ? 5 : 20
const results = [
  measure('agen-policy  set.evaluate(request)', agenPasses, (i) => (set.evaluate(reqs[i]).allowed ? 1 : 0)),
  measure('agen-policy  set.evaluateJson(text)', quick ? 2 : 5, (i) => (set.evaluateJson(texts[i]).allowed ? 1 : 0)),
  measure('agen-policy  set.evaluateMany(requests), per request', agenPasses, () => countAllowed(set.evaluateMany(reqs)), reqs.length, true),
  measure('floor        native no-op taking the request', agenPasses, (i) => (native.__floorForBench(reqs[i]) === undefined ? 1 : 0)),
  // Cedar takes milliseconds a call: each sample is one pass through the first 100 requests.
  measure('cedar-wasm   statefulIsAuthorized(call)', 1, (i) => (cedar.statefulIsAuthorized(calls[i]).response.decision === 'allow' ? 1 : 0), 100),
]

console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0].model}, cedar ${cedar.getCedarVersion()}`)
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log(`${POLICIES} policies, ${reqs.length} requests; both engines agree on all of them:`, outcomes)
console.log(`${SAMPLES} samples each; per call:`)
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(52)} median ${ns(r.median).padStart(8)}   min ${ns(r.min).padStart(8)}   p90 ${ns(r.p90).padStart(8)}   cpu ${ns(r.cpu).padStart(8)}`,
  )
}
const [agen, , many, floor, cedarResult] = results
console.log(
  `cedar-wasm / agen-policy: ${(cedarResult.median / agen.median).toFixed(0)}× (wall-clock medians), ${(cedarResult.cpu / agen.cpu).toFixed(0)}× (CPU time)`,
)
const ratio = (a, b) => `${(a / b).toFixed(1)}×`
console.log(
  `evaluate / floor: ${ratio(agen.median, floor.median)} (wall-clock medians), ${ratio(agen.cpu, floor.cpu)} (CPU time), ${ratio(agen.min, floor.min)} (minima); evaluateMany per request / floor: ${ratio(many.median, floor.median)}`,
)
console.log(
  `target, evaluate ≤ 4× the floor: wall-clock ${agen.median <= 4 * floor.median ? 'met' : 'not met'}, CPU time ${agen.cpu <= 4 * floor.cpu ? 'met' : 'not met'}`,
)
