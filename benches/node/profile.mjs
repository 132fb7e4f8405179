// Runs `evaluate` on the workload for a few seconds, for a profiler to sample:
//
//   perf record -e cpu-clock -g node --perf-basic-prof profile.mjs [seconds]
//   perf report --no-children --sort symbol

import { PolicySet } from 'agen-policy'

import { agenDocument, requests } from './workload.mjs'

const seconds = Number(process.argv[2] ?? 8)
const set = PolicySet.fromObject(agenDocument())
const reqs = requests(1000)
let decided = 0
const end = Date.now() + seconds * 1000
while (Date.now() < end) {
  for (const r of reqs) decided += set.evaluate(r).policies.length >= 0 ? 1 : 0
}
console.log(`${decided} decisions`)
