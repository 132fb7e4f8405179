// Runs one entry point over the workload's 1,000 requests `passes` times, for callgrind: two
// runs with different pass counts, diffed, give the instructions of one call, start-up left out.
// The JIT's and the collector's work differs from run to run by millions of instructions, so
// the runs are 100,000 calls apart:
//
//   valgrind --tool=callgrind --callgrind-out-file=cg.10 node cg.mjs evaluate 10
//   valgrind --tool=callgrind --callgrind-out-file=cg.110 node cg.mjs evaluate 110
//   echo $(( ($(grep ^totals: cg.110 | cut -d' ' -f2) - $(grep ^totals: cg.10 | cut -d' ' -f2)) / 100000 ))
//
// (modes: evaluate, many, floor); per function: callgrind_annotate on each file, diffed.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import { PolicySet } from 'agen-policy'

import { agenDocument, requests } from './workload.mjs'

const require = createRequire(import.meta.url)
const native = require(join(dirname(require.resolve('agen-policy/package.json')), 'agen-policy.node'))
const [mode = 'evaluate', passes = '2'] = process.argv.slice(2)
const set = PolicySet.fromObject(agenDocument())
const reqs = requests(1000)
const runs = {
  evaluate: () => reqs.reduce((n, r) => n + set.evaluate(r).policies.length, 0),
  many: () => set.evaluateMany(reqs).length,
  floor: () => reqs.reduce((n, r) => n + (native.__floorForBench(r) === undefined ? 1 : 0), 0),
}
set.evaluate(reqs[0])
let sink = 0
for (let p = 0; p < Number(passes); p++) sink += runs[mode]()
console.log(mode, passes, sink)
