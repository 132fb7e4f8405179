// The Node-side runner of SPEC §6 test files: `check(file)` loads the file's document and
// decides every case through every entry point of the package (which tests the conversions and
// the fast path), replays every approval scenario through the package's approval API, or
// checks that the document fails to load with the expected problems. The core's own runner
// (`runTests`) runs the same files too; this one checks the package around it.

import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ApprovalError, DocumentError, Engine, PolicySet, RequestError } from '../index.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The conformance vectors: `AGEN_CONFORMANCE_DIR`, else the repository's `conformance/spec`. */
export const conformanceDir = process.env.AGEN_CONFORMANCE_DIR ?? join(repoRoot, 'conformance', 'spec')

/** The peer vectors: `AGEN_PEER_CONFORMANCE_DIR`, else the repository's `conformance/peer`. */
export const peerConformanceDir = process.env.AGEN_PEER_CONFORMANCE_DIR ?? join(repoRoot, 'conformance', 'peer')

/** Every `*.json` file directly inside `dir` (not in subdirectories), sorted. */
export function testFiles(dir) {
  assert.ok(existsSync(dir), `no test vectors at ${dir}`)
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(dir, e.name))
    .sort()
  assert.ok(files.length > 0, `no *.json test files in ${dir}`)
  return files
}

// An inline document is loaded as an object, a `document_file` as text: both paths get used.
function load(spec, file) {
  if (spec.document_file !== undefined) {
    return () => PolicySet.fromJson(readFileSync(join(dirname(file), spec.document_file), 'utf8'))
  }
  assert.ok(spec.document !== undefined, 'a test file needs `document` or `document_file`')
  return () => PolicySet.fromObject(spec.document)
}

const sorted = (list) => [...list].sort()

/**
 * Every way the package decides on a request given as a JavaScript value: the fast path and
 * the general path of `evaluate` (a request with evidence takes the general one), the JSON
 * text and bytes, a batch, an explanation, and an Engine's.
 */
export const ENTRY_POINTS = {
  evaluate: (set, _engine, r) => set.evaluate(r),
  'evaluate (general path)': (set, _engine, r) => set.evaluate({ toJSON: () => r }),
  evaluateJson: (set, _engine, r) => set.evaluateJson(JSON.stringify(r)),
  'evaluateJson (bytes)': (set, _engine, r) => set.evaluateJson(Buffer.from(JSON.stringify(r))),
  evaluateMany: (set, _engine, r) => set.evaluateMany([r]),
  explain: (set, _engine, r) => set.explain(r).decision,
  'Engine#evaluate': (_set, engine, r) => engine.evaluate(r),
  'Engine#evaluateJson': (_set, engine, r) => engine.evaluateJson(JSON.stringify(r)),
  'Engine#evaluateMany': (_set, engine, r) => engine.evaluateMany([r]),
  'Engine#explain': (_set, engine, r) => engine.explain(r).decision,
}

// A step-up requirement in the test files' key style.
const snakeStepUp = ({ policy, maxAge, acrValues }) => ({ policy, max_age: maxAge, acr_values: acrValues })

/** Compares a decision with a case's `expect` as SPEC §6 says. */
export function expectDecision(d, e, label) {
  assert.equal(d.action, e.action, `${label}: action`)
  if (e.reason !== undefined) assert.equal(d.reason, e.reason, `${label}: reason`)
  if (e.policies !== undefined) assert.deepEqual(sorted(d.policies), sorted(e.policies), `${label}: policies`)
  if (e.approval_flows !== undefined) assert.deepEqual(sorted(d.approvalFlows), sorted(e.approval_flows), `${label}: approval flows`)
  if (e.satisfied !== undefined) assert.deepEqual(sorted(d.satisfied), sorted(e.satisfied), `${label}: satisfied`)
  if (e.step_up !== undefined) assert.deepEqual(d.stepUp.map(snakeStepUp), e.step_up, `${label}: step_up`)
  assert.equal(d.allowed, d.action === 'allow', `${label}: allowed`)
}

function checkCase(set, engine, c, label) {
  if (c.expect_error !== undefined) {
    for (const [name, run] of Object.entries(ENTRY_POINTS)) {
      assert.throws(
        () => run(set, engine, c.request),
        (e) => e instanceof RequestError && e.code === c.expect_error && typeof e.path === 'string' && (!name.endsWith('evaluateMany') || e.index === 0),
        `${label} through ${name}: expected ${c.expect_error}`,
      )
    }
    return
  }
  let first
  for (const [name, run] of Object.entries(ENTRY_POINTS)) {
    let d = run(set, engine, c.request)
    if (name.endsWith('evaluateMany')) {
      assert.equal(d.length, 1)
      d = d[0]
    }
    expectDecision(d, c.expect, `${label} through ${name}`)
    // Every entry point gives the very same decision.
    if (first === undefined) first = d
    else assert.deepEqual(d, first, `${label}: ${name} and evaluate differ`)
  }
}

/** Checks that `actual` has every field of `expected` with an equal value (SPEC §8.4). */
export function assertSubset(actual, expected, label) {
  assert.ok(expected !== null && typeof expected === 'object', `${label}: an expectation is an object`)
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(actual[key], value, `${label}: ${key}`)
}

const isApprovalError = (code) => (e) => e instanceof ApprovalError && e.code === code

// Runs one approval operation of a scenario's step on `state`.
function operate(set, state, step) {
  switch (step.op) {
    case 'approve':
      return set.approve(state, step.by, step.now, step.groups)
    case 'reject':
      return set.reject(state, step.by, step.now, step.groups)
    case 'cancel':
      return set.cancel(state, step.now)
    case 'tick':
      return set.tick(state, step.now)
    default:
      assert.fail(`unknown op \`${step.op}\``)
  }
}

/** Replays one SPEC §8.4 scenario through the package's approval API. */
export function replay(set, scenario, label) {
  let state
  if (scenario.state !== undefined) {
    state = scenario.state
  } else {
    const open = () => set.openApproval(scenario.request, scenario.flow, scenario.id, scenario.now)
    if (scenario.expect_open_error !== undefined) {
      assert.throws(open, isApprovalError(scenario.expect_open_error), `${label}: open must fail with ${scenario.expect_open_error}`)
      return
    }
    state = open()
    if (scenario.expect_open !== undefined) assertSubset(state, scenario.expect_open, `${label}, after open`)
  }
  for (const [i, step] of (scenario.steps ?? []).entries()) {
    const what = `${label}, step ${i + 1} (${step.op})`
    // `checkApprover` says what `approve` and `reject` say, but `already_voted`.
    if (step.op === 'approve' || step.op === 'reject') {
      const code = step.expect_error === 'already_voted' ? undefined : step.expect_error
      const check = () => set.checkApprover(state, step.by, step.now, step.groups)
      if (code === undefined) assert.equal(check(), undefined, `${what}: checkApprover`)
      else assert.throws(check, isApprovalError(code), `${what}: checkApprover must fail with ${code}`)
    }
    if (step.expect_error !== undefined) {
      assert.throws(() => operate(set, state, step), isApprovalError(step.expect_error), `${what}: must fail with ${step.expect_error}`)
      continue
    }
    state = operate(set, state, step)
    if (step.expect !== undefined) assertSubset(state, step.expect, what)
  }
  const expected = scenario.expect_grant
  if (expected === undefined) return
  if (expected.error !== undefined) {
    assert.throws(() => set.grant(state), isApprovalError(expected.error), `${label}: grant must fail with ${expected.error}`)
  } else {
    assertSubset(set.grant(state), expected, `${label}, the grant`)
  }
}

/** Checks one test file; returns how many cases, approval scenarios or expected errors it checked. */
export function check(file) {
  const spec = JSON.parse(readFileSync(file, 'utf8'))
  const loader = load(spec, file)
  if (spec.expect_errors !== undefined) {
    assert.ok(spec.cases === undefined && spec.approvals === undefined, 'a test file with `expect_errors` has no `cases` or `approvals`')
    let error
    try {
      loader()
    } catch (e) {
      error = e
    }
    assert.ok(error instanceof DocumentError, `the document must fail to load, got ${error ?? 'a policy set'}`)
    const found = error.problems.map((p) => `${p.code} at ${JSON.stringify(p.path)}`)
    for (const expected of spec.expect_errors) {
      const wanted = `${expected.code} at ${JSON.stringify(expected.path)}`
      assert.ok(found.includes(wanted), `expected ${wanted}; problems: ${found.join('; ')}`)
    }
    return spec.expect_errors.length
  }
  assert.ok(Array.isArray(spec.cases) || Array.isArray(spec.approvals), 'a test file needs `cases`, `approvals` or `expect_errors`')
  const set = loader()
  const engine = new Engine(set)
  const cases = spec.cases ?? []
  const scenarios = spec.approvals ?? []
  for (const [i, c] of cases.entries()) checkCase(set, engine, c, `case ${JSON.stringify(c.name ?? `#${i + 1}`)}`)
  for (const [i, s] of scenarios.entries()) replay(set, s, `approval scenario ${JSON.stringify(s.name ?? `#${i + 1}`)}`)
  return cases.length + scenarios.length
}
