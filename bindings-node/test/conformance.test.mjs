// Every SPEC §6 vector, through the package's entry points (`check`) and through the core's
// runner (`runTests`).

import assert from 'node:assert/strict'
import { basename } from 'node:path'
import { describe, test } from 'node:test'

import { runTests } from 'agen-policy'

import { check, conformanceDir, peerConformanceDir, testFiles } from './harness.mjs'

for (const [name, dir] of [
  ['conformance', conformanceDir],
  ['peer conformance', peerConformanceDir],
]) {
  describe(name, () => {
    for (const file of testFiles(dir)) {
      test(basename(file), () => {
        assert.ok(check(file) > 0, 'a test file must check something')
      })
    }

    test('runTests runs the whole directory, every file passing', () => {
      const report = runTests(dir)
      assert.ok(report.ok, report.text)
      assert.equal(report.failed, 0, report.text)
      assert.deepEqual(
        report.files.map((f) => f.file),
        testFiles(dir),
        'every *.json file directly inside, in name order',
      )
      for (const f of report.files) assert.ok(f.cases + f.approvals + f.expected_errors > 0, `${f.file} checks something`)
      assert.ok(report.text.endsWith(`${report.passed} passed, 0 failed\n`), report.text)
    })
  })
}
