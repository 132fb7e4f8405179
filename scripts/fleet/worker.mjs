// One Node service of the fleet test (scripts/test-fleet): policies from a URL, approvals in
// PostgreSQL. Usage: node worker.mjs NAME URL DSN RUN_DIR INTERVAL REQUESTS SEED. The same
// workload as worker.py, logged the same way to RUN_DIR/NAME.jsonl.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import agen from '../../bindings-node/index.js'

const { PolicyError, PostgresApprovalStore, UrlSource } = agen
const [name, url, dsn, run, interval, requests, seed] = process.argv.slice(2)
const spec = JSON.parse(readFileSync(join(run, 'workload.json'), 'utf8'))
const logPath = join(run, `${name}.jsonl`)

// A small seeded generator (mulberry32), so that a run can be replayed.
let s = Number(seed) >>> 0
function random() {
  s = (s + 0x6d2b79f5) >>> 0
  let t = s
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (list) => list[Math.floor(random() * list.length)]
const exists = (file) => existsSync(join(run, file))

function write(kind, fields = {}) {
  appendFileSync(logPath, `${JSON.stringify({ kind, t: Date.now() / 1000, ...fields })}\n`)
}

const source = await UrlSource.open(url, {
  interval: Number(interval) * 1000,
  onUpdate: (version) => {
    write('update', { version })
    writeFileSync(join(run, `${name}.version`), version)
  },
  onError: (error) => write('source_error', { code: error.code, message: error.message }),
})
const { engine } = source
write('update', { version: engine.version })
writeFileSync(join(run, `${name}.version`), engine.version)
const store = new PostgresApprovalStore(dsn)
write('migrated', { applied: await store.migrate() })
writeFileSync(join(run, `${name}.ready`), '')
while (!exists('go')) await sleep(10)

function decide() {
  const batch = engine.evaluateMany(spec.evaluate)
  write('decisions', { versions: batch.map((d) => d.version), actions: batch.map((d) => d.action) })
  const index = Math.floor(random() * spec.evaluate.length)
  const decision = engine.evaluate(spec.evaluate[index])
  write('decisions', { versions: [decision.version], actions: [decision.action], index })
}

async function storeOp(op, id, by, call) {
  let record
  try {
    record = await call()
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e
    write('op', { op, id, by, ok: false, code: e.code })
    return
  }
  write('op', { op, id, by, ok: true, status: record.state.status, approvals: record.state.approvals })
}

const now = () => Date.now()
const total = Number(requests)
let opened = 0
const mine = []
let nextOpen = Date.now()
while (!exists('stop')) {
  decide()
  if (opened < total && Date.now() >= nextOpen) {
    const id = `${name}-${String(opened).padStart(3, '0')}`
    const request = { ...spec.approval_request, user: spec.requesters[name], now: now() }
    await storeOp('open', id, null, () => store.open(engine.current, request, spec.flow, id, now()))
    mine.push(id)
    opened++
    nextOpen = Date.now() + (0.5 + random()) * spec.open_every * 1000
  }
  const approver = pick(spec.approvers)
  for (const { state } of (await store.pendingFor(engine.current, approver, now())).slice(0, 3)) {
    if (random() < spec.reject_rate) {
      await storeOp('reject', state.id, approver, () => store.reject(engine.current, state.id, approver, now()))
    } else {
      await storeOp('approve', state.id, approver, () => store.approve(engine.current, state.id, approver, now()))
    }
  }
  if (mine.length > 0 && random() < spec.cancel_rate) {
    const id = pick(mine)
    const { state } = await store.get(id)
    if (state.status === 'pending') await storeOp('cancel', id, null, () => store.cancel(engine.current, id, now()))
  }
  await sleep(random() * 20)
}

write('stopped', { opened })
writeFileSync(join(run, `${name}.done`), '')
while (!exists('db-down')) await sleep(10)
// The database is down: every store call must fail closed, and decisions go on.
const probe = mine[0] ?? `${name}-000`
const approver = spec.approvers[0]
const calls = {
  approve: () => store.approve(engine.current, probe, approver, now()),
  pending_for: () => store.pendingFor(engine.current, approver, now()),
  get: () => store.get(probe),
}
for (const [op, call] of Object.entries(calls)) {
  try {
    await call()
    write('down', { op, ok: true })
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e
    write('down', { op, ok: false, code: e.code, message: e.message })
  }
}
decide()
write('exit')
source.stop()
await store.close()
