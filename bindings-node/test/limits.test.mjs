// Bounds: a document is read no further than one byte past its size limit (64 MiB) and then
// refused with `limit_exceeded`; a request too large is refused alike by every entry point.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ArgumentError, DocumentError, Engine, Guard, PolicyError, PolicySet, RequestError, validate } from 'agen-policy'

const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'agen-limits-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const small = '{"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}'
const tooLarge = (e) => e instanceof DocumentError && e.code === 'limit_exceeded' && e.path === '' && e.problems[0].code === 'limit_exceeded'

// A file of `size` bytes that takes no disk space (as `truncate -s` makes it).
function sparse(name, size) {
  const path = join(dir, name)
  closeSync(openSync(path, 'w'))
  truncateSync(path, size)
  return path
}

describe('documents are read no further than the limit', () => {
  // In a child process with a deadline, so that reading a whole input shows as a failure, not
  // as a test run that never ends or runs out of memory.
  function refusedPromptly(path) {
    const script = `
      const { PolicySet, Engine } = require(${JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))})
      const codes = []
      for (const load of [() => PolicySet.fromFile(process.argv[1]), () => new Engine(PolicySet.fromJson('{"connectors": []}')).reloadFile(process.argv[1])]) {
        try { load(); codes.push('loaded') } catch (e) { codes.push(e.constructor.name + ' ' + e.code + ' at ' + JSON.stringify(e.path)) }
      }
      console.log(codes.join('\\n'))
    `
    const child = spawnSync(process.execPath, ['-e', script, path], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(child.signal, null, `reading ${path} did not end in time`)
    assert.equal(child.status, 0, child.stderr)
    assert.deepEqual(child.stdout.trim().split('\n'), ['DocumentError limit_exceeded at ""', 'DocumentError limit_exceeded at ""'])
  }

  test('/dev/zero ends promptly with limit_exceeded', { skip: !existsSync('/dev/zero') }, () => {
    refusedPromptly('/dev/zero')
  })

  test('a sparse file of 16 GiB is refused after reading 64 MiB', (t) => {
    let path
    try {
      path = sparse('16G.json', 16 * 1024 ** 3)
    } catch (e) {
      t.skip(`no sparse file of that size here: ${e.message}`)
      return
    }
    refusedPromptly(path)
  })

  test('a sparse file just over the limit is refused; one at the limit is parsed', () => {
    // 65 MiB of zeros is over the limit: refused for its size, not for its content.
    assert.throws(() => PolicySet.fromFile(sparse('65M.json', 65 * 1024 * 1024)), tooLarge)
    assert.throws(() => PolicySet.fromFile(sparse('over.json', MAX_DOCUMENT_BYTES + 1)), tooLarge)
    // At the limit exactly, the text is read and parsed (and zeros are not JSON).
    assert.throws(
      () => PolicySet.fromFile(sparse('at.json', MAX_DOCUMENT_BYTES)),
      (e) => e instanceof DocumentError && e.code === 'invalid_document',
    )
  })

  test('Engine.reloadFile refuses a file over the limit and keeps its set', () => {
    const engine = new Engine(PolicySet.fromJson(small))
    const before = engine.version
    assert.throws(() => engine.reloadFile(sparse('reload.json', 65 * 1024 * 1024)), tooLarge)
    assert.equal(engine.version, before)
  })

  test('bytes and strings over the limit are refused before they are copied', () => {
    const bytes = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20)
    assert.throws(() => PolicySet.fromJson(bytes), tooLarge)
    assert.throws(() => PolicySet.fromJson(new Uint8Array(bytes.buffer, 0, bytes.length)), tooLarge)
    assert.throws(() => new Engine(PolicySet.fromJson(small)).reload(bytes), tooLarge)
    assert.equal(validate(bytes).problems[0].code, 'limit_exceeded')
    // A string is measured in UTF-8: 22,369,622 three-byte characters are 67,108,866 bytes.
    const wide = 'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1)
    assert.throws(() => PolicySet.fromJson(wide), tooLarge)
    assert.equal(validate(wide).problems[0].code, 'limit_exceeded')
  })

  test('fromJson accepts bytes as well as text, and nothing else', () => {
    const fromText = PolicySet.fromJson(small)
    for (const bytes of [Buffer.from(small), new TextEncoder().encode(small)]) {
      assert.equal(PolicySet.fromJson(bytes).version, fromText.version)
      assert.equal(new Engine(fromText).reload(bytes), fromText.version)
    }
    for (const wrong of [42, null, undefined, {}, [small], new Uint16Array(4)]) {
      assert.throws(() => PolicySet.fromJson(wrong), (e) => e instanceof ArgumentError && e.code === 'invalid_argument', String(wrong))
    }
  })

  test('a file that cannot be read is a PolicyError with code io_error naming the path', () => {
    for (const path of [join(dir, 'missing.json'), dir]) {
      assert.throws(
        () => PolicySet.fromFile(path),
        (e) => e instanceof PolicyError && !(e instanceof DocumentError) && e.code === 'io_error' && e.message.includes(path),
        path,
      )
    }
    const unreadable = join(dir, 'unreadable.json')
    writeFileSync(unreadable, small, { mode: 0o000 })
    if (process.getuid?.() !== 0) assert.throws(() => PolicySet.fromFile(unreadable), (e) => e.code === 'io_error')
    for (const wrong of [undefined, 42, {}, Buffer.from('x')]) {
      assert.throws(() => PolicySet.fromFile(wrong), ArgumentError)
    }
  })
})

describe('request size', () => {
  const set = PolicySet.fromJson(small)
  const guard = new Guard(set, { user: 'u' })
  const engine = new Engine(set)
  const base = { user: 'u', connector: 'c', tool: 't' }
  // 100,000 keys: about 2.4 MB as JSON, over the 1 MiB request limit.
  const context = {}
  for (let i = 0; i < 100_000; i++) context[`attribute_${i}`] = i
  const request = { ...base, context }

  // What the JSON path says, which every entry point must say.
  function refusal(run) {
    try {
      run()
    } catch (e) {
      assert.ok(e instanceof RequestError, `${e}`)
      return { code: e.code, path: e.path, message: e.message.replace(/^request \d+: /, '') }
    }
    assert.fail('the request was decided')
  }

  test('a 100,000-key context is refused with invalid_request by every entry point', () => {
    const expected = refusal(() => set.evaluateJson(JSON.stringify(request)))
    assert.equal(expected.code, 'invalid_request')
    assert.match(expected.message, /limit/)
    const entries = {
      evaluate: () => set.evaluate(request),
      'evaluateJson (bytes)': () => set.evaluateJson(Buffer.from(JSON.stringify(request))),
      evaluateMany: () => set.evaluateMany([base, request]),
      explain: () => set.explain(request),
      'Engine#evaluate': () => engine.evaluate(request),
      'Engine#evaluateMany': () => engine.evaluateMany([request]),
      'Guard#check': () => guard.check(request),
      'Guard identity': () => new Guard(set, { user: 'u', context }).check({ connector: 'c', tool: 't' }),
    }
    for (const [name, run] of Object.entries(entries)) {
      assert.deepEqual(refusal(run), expected, name)
    }
    assert.equal(refusal(() => set.evaluateMany([base, request])).path, expected.path)
  })

  test('a request text over the limit is refused before it is copied', () => {
    const huge = JSON.stringify({ ...base, context: { blob: 'x'.repeat(8 << 20) } })
    assert.throws(() => set.evaluateJson(huge), (e) => e instanceof RequestError && /limit/.test(e.message))
    assert.throws(() => set.evaluateJson(42), ArgumentError)
  })
})
