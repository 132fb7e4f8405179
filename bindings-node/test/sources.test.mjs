// UrlSource and FileSource: an engine kept on a document served over HTTP or in a file, the last
// good set serving through every error. The HTTP tests run a real server on loopback.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'

import { DocumentError, Engine, FileSource, PolicySet, SourceError, UrlSource } from 'agen-policy'

function document(action) {
  return JSON.stringify({
    connectors: [{ id: 'github', tools: [{ name: 'merge' }] }],
    users: [{ id: 'alice' }],
    policies: [{ id: 'merges', name: 'Merges', connector: 'github', action, all_users: true, tools: ['merge'] }],
  })
}

const V1 = document('allow')
const V2 = document('deny')
const VERSION1 = PolicySet.fromJson(V1).version
const VERSION2 = PolicySet.fromJson(V2).version
const merge = { user: 'alice', connector: 'github', tool: 'merge' }

// A server on loopback answering what `served` says, with ETags and 304s.
async function serve() {
  const served = { body: V1, status: 200, requests: [] }
  const etag = () => `"${createHash('sha256').update(served.body).digest('hex').slice(0, 16)}"`
  const server = createServer((req, res) => {
    const match = req.headers['if-none-match']
    served.requests.push(match)
    if (served.status !== 200) {
      res.writeHead(served.status).end()
    } else if (match === etag()) {
      res.writeHead(304).end()
    } else {
      res.writeHead(200, { etag: etag(), 'content-type': 'application/json' }).end(served.body)
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  after(() => server.close())
  return { served, etag, url: `http://127.0.0.1:${server.address().port}/policies.json` }
}

test('a UrlSource follows the document with ETags', async () => {
  const { served, etag, url } = await serve()
  const updates = []
  const errors = []
  const source = await UrlSource.open(url, { start: false, onUpdate: (v) => updates.push(v), onError: (e) => errors.push(e) })
  const { engine } = source
  assert.equal(engine.version, VERSION1)
  assert.equal(source.etag, etag())
  assert.equal(engine.evaluate(merge).action, 'allow')
  assert.equal(await source.poll(), false) // a 304
  assert.deepEqual(served.requests, [undefined, etag()])
  served.body = V2
  assert.equal(await source.poll(), true)
  const decision = engine.evaluate(merge)
  assert.deepEqual([decision.action, decision.version], ['deny', VERSION2])
  assert.deepEqual(updates, [VERSION2])
  assert.deepEqual(errors, [])
  assert.equal(source.lastError, null)
})

test('every error keeps the last good set', async () => {
  const { served, url } = await serve()
  const errors = []
  const engine = new Engine(PolicySet.fromJson(V1))
  const source = new UrlSource(engine, url, { onError: (e) => errors.push(e) })
  assert.equal(await source.poll(), false) // the same policies: nothing replaced
  served.body = '{"connectors": ['
  assert.equal(await source.poll(), false)
  served.body = '{"connectors": [], "policies": [{"id": 1}]}'
  assert.equal(await source.poll(), false)
  served.status = 503
  assert.equal(await source.poll(), false)
  served.status = 404
  assert.equal(await source.poll(), false)
  assert.deepEqual(
    errors.map((e) => [e.constructor, e.code, e.status]),
    [
      [DocumentError, 'invalid_document', undefined],
      [DocumentError, 'invalid_document', undefined],
      [SourceError, 'http_status', 503],
      [SourceError, 'http_status', 404],
    ],
  )
  assert.equal(source.lastError, errors.at(-1))
  assert.equal(engine.version, VERSION1)
  // A bad document's ETag is never kept: each poll asks again for the last good one.
  assert.equal(served.requests.at(-1), source.etag)
})

test('an unreachable server is reported, and open rejects', async () => {
  const errors = []
  const engine = new Engine(PolicySet.fromJson(V1))
  const source = new UrlSource(engine, 'http://127.0.0.1:9/policies.json', { onError: (e) => errors.push(e), timeout: 2000 })
  assert.equal(await source.poll(), false)
  assert.equal(errors.length, 1)
  assert.ok(errors[0] instanceof SourceError)
  assert.equal(errors[0].code, 'fetch_failed')
  assert.match(errors[0].message, /^fetch_failed: cannot fetch http:\/\/127\.0\.0\.1:9/)
  assert.equal(engine.version, VERSION1)
  await assert.rejects(UrlSource.open('http://127.0.0.1:9/', { timeout: 2000 }), { code: 'fetch_failed' })
})

test('a pinned digest refuses any other document', async () => {
  const { served, url } = await serve()
  const errors = []
  const pin = createHash('sha256').update(V1).digest('hex')
  const source = await UrlSource.open(url, { start: false, sha256: pin.toUpperCase(), onError: (e) => errors.push(e) })
  served.body = V2
  assert.equal(await source.poll(), false)
  assert.deepEqual(errors.map((e) => e.code), ['digest_mismatch'])
  assert.ok(errors[0].message.includes(pin))
  assert.equal(source.engine.version, VERSION1)
  await assert.rejects(UrlSource.open(url, { sha256: pin }), { code: 'digest_mismatch' })
  assert.throws(() => new UrlSource(source.engine, url, { sha256: 'abc' }), { code: 'invalid_argument' })
  assert.throws(() => new UrlSource(source.engine, 'ftp://x/'), { code: 'invalid_argument' })
  assert.throws(() => new UrlSource(source.engine, url, { every: 1 }), { code: 'invalid_argument' })
})

test('polling converges within one interval and stops', async () => {
  const { served, url } = await serve()
  let seen
  const updated = new Promise((resolve) => (seen = resolve))
  const source = await UrlSource.open(url, { interval: 200, onUpdate: () => seen(Date.now()) })
  await sleep(100)
  served.body = V2
  const changed = Date.now()
  const at = await updated
  assert.ok(at - changed < 200 + 500, `${at - changed} ms`)
  assert.equal(source.engine.version, VERSION2)
  source.stop()
  const polls = served.requests.length
  await sleep(500)
  assert.equal(served.requests.length, polls)
})

test('a callback that throws does not stop polling', async () => {
  const { served, url } = await serve()
  const warned = []
  const onWarning = (w) => warned.push(w.name)
  process.on('warning', onWarning)
  const source = await UrlSource.open(url, {
    start: false,
    onError: () => {
      throw new Error('the host failed')
    },
  })
  served.status = 500
  assert.equal(await source.poll(), false)
  served.status = 200
  served.body = V2
  assert.equal(await source.poll(), true)
  await sleep(10)
  process.off('warning', onWarning)
  assert.deepEqual(warned, ['AgenPolicySourceWarning'])
})

test('a FileSource', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agen-source-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'policies.json')
  writeFileSync(path, V1)
  const updates = []
  const errors = []
  const source = await FileSource.open(path, { start: false, onUpdate: (v) => updates.push(v), onError: (e) => errors.push(e) })
  assert.equal(source.engine.version, VERSION1)
  assert.equal(await source.poll(), false)
  writeFileSync(join(dir, 'next.json'), V2)
  renameSync(join(dir, 'next.json'), path) // replaced atomically, as a deployment should
  assert.equal(await source.poll(), true)
  assert.deepEqual(updates, [VERSION2])
  writeFileSync(path, 'not json')
  assert.equal(await source.poll(), false)
  assert.ok(errors.at(-1) instanceof DocumentError)
  unlinkSync(path)
  assert.equal(await source.poll(), false)
  assert.equal(errors.at(-1).code, 'fetch_failed')
  assert.ok(errors.at(-1).message.includes(path))
  assert.equal(source.engine.version, VERSION2)
  writeFileSync(path, V2) // the same document again: nothing replaced
  assert.equal(await source.poll(), false)
  assert.equal(source.lastError, null)
  assert.deepEqual(updates, [VERSION2])
  await assert.rejects(FileSource.open(join(dir, 'missing.json')), { code: 'fetch_failed' })
})

test('a FileSource polls in the background, and does not keep the process alive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agen-source-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'policies.json')
  writeFileSync(path, V1)
  let seen
  const updated = new Promise((resolve) => (seen = resolve))
  const source = await FileSource.open(path, { interval: 100, onUpdate: seen })
  writeFileSync(path, `${V2} `)
  const wait = setTimeout(() => {}, 5000) // the source's own timer keeps nothing alive
  assert.equal(await updated, VERSION2)
  clearTimeout(wait)
  assert.equal(source.engine.evaluate(merge).version, VERSION2)
  // No source.stop(): the unref'd timer lets the test process end.
})
