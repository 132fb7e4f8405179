// runTests: SPEC §6 test files and directories through the core's runner.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ArgumentError, PolicyError, runTests } from 'agen-policy'

const acme = JSON.parse(readFileSync(fileURLToPath(new URL('../../examples/acme.json', import.meta.url)), 'utf8'))
const deleteRepo = { user: 'alice', connector: 'github', tool: 'delete_repository' }

function directory(files) {
  const dir = mkdtempSync(join(tmpdir(), 'agen-policy-run-tests-'))
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  }
  return dir
}

const right = { document: acme, cases: [{ name: 'review', request: deleteRepo, expect: { action: 'request_approval', approval_flows: ['security-review'] } }] }
const wrong = { document: acme, cases: [{ name: 'wishful', request: deleteRepo, expect: { action: 'allow', satisfied: [] } }] }

describe('runTests', () => {
  test('a passing file: a plain report, snake_case like the core\'s, with the text', () => {
    const dir = directory({ 'right.json': right })
    const report = runTests(join(dir, 'right.json'))
    assert.equal(Object.getPrototypeOf(report), Object.prototype)
    assert.deepEqual(report, {
      passed: 1,
      failed: 0,
      files: [{ file: join(dir, 'right.json'), kind: 'cases', cases: 1, approvals: 0, expected_errors: 0, failed: 0, failures: [] }],
      ok: true,
      text: `ok    ${join(dir, 'right.json')}  (1 case)\n1 passed, 0 failed\n`,
    })
  })

  test('a wrong expectation fails, showing expected against actual', () => {
    const dir = directory({ 'wrong.json': wrong })
    const report = runTests(dir)
    assert.equal(report.ok, false)
    assert.equal(report.failed, 1)
    const [failure] = report.files[0].failures
    assert.equal(failure.case, 'wishful')
    assert.match(failure.message, /action differs/)
    assert.deepEqual(failure.expected, { action: 'allow', satisfied: [] })
    assert.equal(failure.actual.action, 'request_approval')
    assert.match(report.text, /FAIL {2}.*wrong\.json/)
    assert.ok(report.text.endsWith('0 passed, 1 failed\n'), report.text)
  })

  test('a directory: its *.json files directly inside, in name order; document_file relative to each', () => {
    const dir = directory({
      'b.json': { document_file: 'data/acme.json', cases: right.cases },
      'a.json': wrong,
      'notes.txt': 'not a test',
      'data/acme.json': acme,
      'data/nested.json': wrong, // in a subdirectory: not run
    })
    const report = runTests(dir)
    assert.deepEqual(report.files.map((f) => f.file), [join(dir, 'a.json'), join(dir, 'b.json')])
    assert.deepEqual([report.passed, report.failed, report.ok], [1, 1, false])
  })

  test('an empty directory, a file that cannot run or an unreadable document_file is a failure', () => {
    const empty = runTests(directory({}))
    assert.equal(empty.ok, false)
    assert.equal(empty.failed, 1)
    assert.equal(empty.files[0].kind, 'none')
    assert.match(empty.files[0].failures[0].message, /no `\*\.json` test files/)
    const broken = runTests(directory({ 'x.json': '{"document": {}, "cases": [], "expect": 1}' }))
    assert.equal(broken.ok, false)
    const missing = runTests(directory({ 'x.json': { document_file: 'gone.json', cases: right.cases } }))
    assert.match(missing.files[0].failures[0].message, /document_file `gone\.json`/)
  })

  test('a test file past the document limit is refused after reading the limit + 1 byte', () => {
    const dir = directory({ 'huge.json': '' })
    truncateSync(join(dir, 'huge.json'), 16 * 1024 ** 3) // sparse: reading it all would take long
    const started = process.hrtime.bigint()
    const report = runTests(dir)
    assert.ok(process.hrtime.bigint() - started < 10_000_000_000n, 'read no more than the limit')
    assert.equal(report.ok, false)
    assert.match(report.files[0].failures[0].message, /limit_exceeded/)
  })

  test('a path that does not exist throws io_error; a path that is not a string, invalid_argument', () => {
    assert.throws(() => runTests('/nonexistent/agen-policy-tests'), (e) => e instanceof PolicyError && e.code === 'io_error' && /nonexistent/.test(e.message))
    assert.throws(() => runTests(42), (e) => e instanceof ArgumentError && e.code === 'invalid_argument')
  })
})
