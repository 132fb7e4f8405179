// Two builds of the package side by side, interleaved in one process: CPU time per request of
// `evaluate` and `evaluateMany` on the workload, for an A/B on a shared, loaded machine.
//
//   node ab.mjs OLD_PACKAGE_DIR [NEW_PACKAGE_DIR]   (a directory with index.js and its addon)
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

import { agenDocument, requests } from './workload.mjs'

const require = createRequire(import.meta.url)
const [oldDir, newDir = '../../bindings-node'] = process.argv.slice(2)
const Old = require(resolve(oldDir, 'index.js'))
const New = require(resolve(newDir, 'index.js'))
const reqs = requests(1000)
const sets = { old: Old.PolicySet.fromObject(agenDocument()), new: New.PolicySet.fromObject(agenDocument()) }
for (let i = 0; i < 1000; i++) if (JSON.stringify(sets.old.evaluate(reqs[i])).replace(/"version":"\w+"/, '') !== JSON.stringify(sets.new.evaluate(reqs[i])).replace(/"version":"\w+"/, '')) throw new Error('differ ' + i)
const res = { old: [], new: [], oldMany: [], newMany: [] }
let sink = 0
for (let s = 0; s < 31; s++) {
  for (const k of ['old', 'new']) {
    const set = sets[k]
    let c = process.cpuUsage()
    for (let p = 0; p < 10; p++) for (const r of reqs) sink += set.evaluate(r).allowed ? 1 : 0
    let u = process.cpuUsage(c); res[k].push((u.user + u.system) * 1000 / 10000)
    c = process.cpuUsage()
    for (let p = 0; p < 10; p++) sink += set.evaluateMany(reqs).length
    u = process.cpuUsage(c); res[k + 'Many'].push((u.user + u.system) * 1000 / 10000)
  }
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(0)
console.log('CPU ns per request, medians of 31 interleaved samples: evaluate old', med(res.old), 'new', med(res.new), '| evaluateMany old', med(res.oldMany), 'new', med(res.newMany), sink > 0 ? '' : '-')
