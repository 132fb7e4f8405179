// Runs one entry point over the workload's 1,000 requests `passes` times, for callgrind: two
// runs with different pass counts, diffed, give the instructions of one call, start-up left out.
// The runs are 100,000 calls apart, and V8 compiles on the main thread
// (`--no-concurrent-recompilation`): compiled in the background, the optimized code arrives at
// a different call in each run under callgrind, which moves the difference by hundreds of
// instructions per call. The JIT's and the collector's own work still differs by millions of
// instructions from run to run, which the figures leave out (they sum the functions that run
// per call):
//
//   valgrind --tool=callgrind --callgrind-out-file=cg.10 node --no-concurrent-recompilation cg.mjs evaluate 10
//   valgrind --tool=callgrind --callgrind-out-file=cg.110 node --no-concurrent-recompilation cg.mjs evaluate 110
//   echo $(( ($(grep ^totals: cg.110 | cut -d' ' -f2) - $(grep ^totals: cg.10 | cut -d' ' -f2)) / 100000 ))
//
// (modes: evaluate, many, floor; a third argument runs another build of the package, a
// directory with its index.js and addon); per function: callgrind_annotate on each file, diffed.
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

import { agenDocument, requests } from './workload.mjs'

const require = createRequire(import.meta.url)
const [mode = 'evaluate', passes = '2', packageDir] = process.argv.slice(2)
// The installed package, or another build of it (a directory with index.js and its addon).
const dir = packageDir === undefined ? dirname(require.resolve('agen-policy/package.json')) : resolve(packageDir)
const { PolicySet } = require(join(dir, 'index.js'))
const native = require(join(dir, 'agen-policy.node'))
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
