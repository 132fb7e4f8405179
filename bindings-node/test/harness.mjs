// The one runner of SPEC §6 test files: `check(file)` loads the file's document and checks
// every case, or checks that the document fails to load with the expected problems.

import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { DocumentError, PolicySet, RequestError } from '../index.js'

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

/** Checks one test file; returns how many cases or expected errors it checked. */
export function check(file) {
  const spec = JSON.parse(readFileSync(file, 'utf8'))
  const loader = load(spec, file)
  if (spec.expect_errors !== undefined) {
    assert.ok(spec.cases === undefined, 'a test file has either `cases` or `expect_errors`')
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
  assert.ok(Array.isArray(spec.cases), 'a test file needs `cases` or `expect_errors`')
  const set = loader()
  for (const c of spec.cases) {
    const label = `case ${JSON.stringify(c.name)}`
    if (c.expect_error !== undefined) {
      assert.throws(
        () => set.evaluate(c.request),
        (e) => e instanceof RequestError && e.code === c.expect_error,
        `${label}: expected ${c.expect_error}`,
      )
      continue
    }
    const d = set.evaluate(c.request)
    const e = c.expect
    assert.equal(d.action, e.action, `${label}: action`)
    if (e.reason !== undefined) assert.equal(d.reason, e.reason, `${label}: reason`)
    if (e.policies !== undefined) assert.deepEqual(sorted(d.policies), sorted(e.policies), `${label}: policies`)
    if (e.approval_flows !== undefined) {
      assert.deepEqual(sorted(d.approvalFlows), sorted(e.approval_flows), `${label}: approval flows`)
    }
  }
  return spec.cases.length
}
