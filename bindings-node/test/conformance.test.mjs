// Every SPEC §6 vector, through the one harness.

import assert from 'node:assert/strict'
import { basename } from 'node:path'
import { describe, test } from 'node:test'

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
  })
}
