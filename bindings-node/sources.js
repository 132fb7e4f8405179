'use strict'

// Policy sources: keep an `Engine` on the document a URL or a file holds.
//
// A source polls the document and, when it changed and loads, replaces the engine's set
// atomically; every decision carries the `version` of the set that made it. On any error (the
// network, an HTTP status, a document that does not load, a digest other than the pinned one)
// the last good set keeps serving and `onError` hears of it. Timers are unref'd: a source never
// keeps the process alive.
//
// `UrlSource` polls an HTTP(S) URL with `If-None-Match` (global `fetch`); `FileSource` polls a
// file's size, modification time and inode, and reads it when they change.

const { createHash } = require('node:crypto')
const { open } = require('node:fs/promises')

const { ArgumentError, Engine, PolicyError, PolicySet } = require('./index.js')

// The core refuses documents above 64 MiB; a source reads at most one byte more, so an endless
// or oversized body is cut and refused by the core's limit, never read whole.
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

// A policy source could not get a document; the engine keeps its current set. `code` is
// `fetch_failed` (the network, a timeout, a file that cannot be read), `http_status` (an answer
// other than 200 or 304; `status` holds it) or `digest_mismatch`. A document that does not load
// is reported as the engine's `DocumentError`.
class SourceError extends PolicyError {
  constructor(message, code, status, options) {
    super(`${code}: ${message}`, code, options)
    if (status !== undefined) this.status = status
  }
}

const HEX64 = /^[0-9a-fA-F]{64}$/

function sourceOptions(method, options, extra) {
  const { interval, sha256, onError, onUpdate, ...rest } = options ?? {}
  for (const key of Object.keys(rest)) {
    if (!extra.includes(key)) {
      throw new ArgumentError(`${method}: unknown option \`${key}\` (expected interval, sha256, onError, onUpdate${extra.map((k) => `, ${k}`).join('')})`)
    }
  }
  if (interval !== undefined && !(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) {
    throw new ArgumentError(`${method}: \`interval\` must be a positive number of milliseconds`)
  }
  if (sha256 !== undefined && !(typeof sha256 === 'string' && HEX64.test(sha256))) {
    throw new ArgumentError(`${method}: \`sha256\` must be 64 hexadecimal digits`)
  }
  for (const [name, f] of [['onError', onError], ['onUpdate', onUpdate]]) {
    if (f !== undefined && typeof f !== 'function') throw new ArgumentError(`${method}: \`${name}\` must be a function`)
  }
  return { interval, sha256: sha256?.toLowerCase(), onError, onUpdate, rest }
}

// What both sources share: the pin, loading, the engine, the callbacks and the timer.
class Source {
  #engine
  #digest // of the bytes of the set last installed
  #timer
  #polling // the poll under way, if any
  #sha256
  #onError
  #onUpdate

  constructor(engine, method, { interval, sha256, onError, onUpdate }) {
    if (engine !== undefined && !(engine instanceof Engine)) throw new ArgumentError(`${method}: \`engine\` must be an Engine`)
    this.#engine = engine
    this.interval = interval
    this.#sha256 = sha256
    this.#onError = onError
    this.#onUpdate = onUpdate
    // The error of the last poll, or null when it succeeded (changed or not).
    this.lastError = null
  }

  // The engine this source keeps current.
  get engine() {
    if (this.#engine === undefined) throw new SourceError('the source has loaded no document yet', 'fetch_failed')
    return this.#engine
  }

  get sha256() {
    return this.#sha256
  }

  // Installs `body` if it loads and differs from the current set; true when it replaced it.
  #load(body) {
    const digest = createHash('sha256').update(body).digest('hex')
    if (this.#sha256 !== undefined && digest !== this.#sha256) {
      throw new SourceError(`the document's SHA-256 is ${digest}, not the pinned ${this.#sha256}`, 'digest_mismatch')
    }
    if (digest === this.#digest) return false
    const policySet = PolicySet.fromJson(body) // a DocumentError: nothing changes
    this.#digest = digest
    // INVARIANT: the engine swaps whole sets, so each decision is made by one version.
    if (this.#engine === undefined) {
      this.#engine = new Engine(policySet)
    } else if (policySet.version === this.#engine.version) {
      return false // the same policies, written differently
    } else {
      this.#engine.replace(policySet)
    }
    return true
  }

  // `open`'s first fetch: any error rejects, since there is no set to fall back on.
  async first(start) {
    const body = await this.fetchDocument()
    if (body === undefined) throw new SourceError(`${this} gave no document on its first fetch`, 'fetch_failed')
    this.#load(body)
    this.accepted()
    if (start) this.start()
    return this
  }

  // Fetches the document now and installs it if it changed and loads; resolves to whether the
  // engine's set was replaced. Never rejects for the document's sake: an error is kept in
  // `lastError`, given to `onError`, and the current set keeps serving. Polls do not overlap: a
  // call during a poll waits for it.
  async poll() {
    while (this.#polling !== undefined) await this.#polling.catch(() => {})
    this.#polling = this.#pollOnce()
    try {
      return await this.#polling
    } finally {
      this.#polling = undefined
    }
  }

  async #pollOnce() {
    let changed
    try {
      const body = await this.fetchDocument()
      changed = body !== undefined && this.#load(body)
      this.accepted()
    } catch (e) {
      const error = e instanceof PolicyError ? e : new SourceError(String(e?.message ?? e), 'fetch_failed', undefined, { cause: e })
      this.lastError = error
      report(this.#onError, error)
      return false
    }
    this.lastError = null
    if (changed) report(this.#onUpdate, this.#engine.version)
    return changed
  }

  // Starts polling every `interval` milliseconds (no-op if started). Fixed-rate: a change is
  // seen at most one interval (plus one fetch) after it is made.
  start() {
    if (this.#timer !== undefined) return this
    const timer = {}
    let next = Date.now() + this.interval
    const schedule = (delay) => {
      timer.handle = setTimeout(tick, delay)
      timer.handle.unref()
    }
    const tick = () => {
      next += this.interval
      this.poll().finally(() => {
        if (this.#timer !== timer) return // stopped (and maybe started again) meanwhile
        schedule(Math.max(0, next - Date.now()))
        next = Math.max(next, Date.now())
      })
    }
    this.#timer = timer
    schedule(this.interval)
    return this
  }

  // Stops polling (a poll under way finishes; its result is still installed).
  stop() {
    if (this.#timer !== undefined) clearTimeout(this.#timer.handle)
    this.#timer = undefined
  }
}

function report(callback, value) {
  if (callback === undefined) return
  try {
    callback(value)
  } catch (e) {
    // A failing callback must not stop the polling that keeps the policies current.
    process.emitWarning(`a policy source callback threw: ${e?.stack ?? e}`, 'AgenPolicySourceWarning')
  }
}

async function readBounded(stream) {
  const chunks = []
  let size = 0
  for await (const chunk of stream) {
    chunks.push(chunk)
    size += chunk.length
    if (size > MAX_DOCUMENT_BYTES) break
  }
  return Buffer.concat(chunks).subarray(0, MAX_DOCUMENT_BYTES + 1)
}

// Keeps an engine on the document served at an http: or https: URL. Options: `interval`
// (milliseconds between polls, 30000), `sha256` (the pinned SHA-256 of the document's bytes),
// `onError(error)`, `onUpdate(version)`, `timeout` (milliseconds per request, 10000), `headers`
// (added to each request: an `Authorization` for a private bucket).
class UrlSource extends Source {
  #pendingEtag

  constructor(engine, url, options) {
    const method = 'new UrlSource(engine, url, options)'
    const { rest, ...common } = sourceOptions(method, options, ['timeout', 'headers'])
    const text = url instanceof URL ? url.href : url
    if (typeof text !== 'string' || !/^https?:\/\//i.test(text)) throw new ArgumentError(`${method}: \`url\` must be an http:// or https:// URL`)
    const { timeout = 10000, headers = {} } = rest
    if (!Number.isSafeInteger(timeout) || timeout < 1) throw new ArgumentError(`${method}: \`timeout\` must be a positive integer of milliseconds`)
    super(engine, method, { ...common, interval: common.interval ?? 30000 })
    this.url = text
    this.timeout = timeout
    this.headers = { ...headers }
    // The ETag of the document last installed, sent as If-None-Match.
    this.etag = undefined
  }

  // Fetches the document once, makes an Engine on it (`source.engine`) and, unless
  // `options.start` is false, starts polling. With no set to fall back on, a first fetch that
  // fails rejects with its error (a SourceError or a DocumentError).
  static async open(url, options) {
    const { start = true, ...rest } = options ?? {}
    return new UrlSource(undefined, url, rest).first(start)
  }

  async fetchDocument() {
    const headers = { ...this.headers }
    if (this.etag !== undefined) headers['if-none-match'] = this.etag
    let response
    try {
      response = await fetch(this.url, { headers, signal: AbortSignal.timeout(this.timeout), cache: 'no-store' })
    } catch (e) {
      const reason = e?.cause?.message ?? e?.message ?? String(e)
      throw new SourceError(`cannot fetch ${this.url}: ${reason}`, 'fetch_failed', undefined, { cause: e })
    }
    if (response.status === 304) {
      await response.body?.cancel()
      this.#pendingEtag = this.etag
      return undefined
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new SourceError(`${this.url} answered HTTP ${response.status} ${response.statusText}`.trimEnd(), 'http_status', response.status)
    }
    this.#pendingEtag = response.headers.get('etag') ?? undefined
    try {
      return response.body === null ? Buffer.alloc(0) : await readBounded(response.body)
    } catch (e) {
      throw new SourceError(`cannot fetch ${this.url}: ${e?.message ?? e}`, 'fetch_failed', undefined, { cause: e })
    }
  }

  accepted() {
    this.etag = this.#pendingEtag
  }

  toString() {
    return `UrlSource(${this.url})`
  }
}

// Keeps an engine on the document in a file. Options: `interval` (milliseconds between polls,
// 1000), `sha256`, `onError(error)`, `onUpdate(version)`. Replace the file atomically (write a
// new one, then rename it over the old).
class FileSource extends Source {
  #seen
  #pendingSeen

  constructor(engine, path, options) {
    const method = 'new FileSource(engine, path, options)'
    const { rest: _rest, ...common } = sourceOptions(method, options, [])
    if (typeof path !== 'string' && !(path instanceof URL)) throw new ArgumentError(`${method}: \`path\` must be a string or a file: URL`)
    super(engine, method, { ...common, interval: common.interval ?? 1000 })
    this.path = path
  }

  // Reads the file once, makes an Engine on it (`source.engine`) and, unless `options.start`
  // is false, starts polling. A first read that fails rejects with its error.
  static async open(path, options) {
    const { start = true, ...rest } = options ?? {}
    return new FileSource(undefined, path, rest).first(start)
  }

  async fetchDocument() {
    let file
    try {
      file = await open(this.path, 'r')
      const info = await file.stat({ bigint: true })
      const seen = `${info.size}:${info.mtimeNs}:${info.ino}`
      this.#pendingSeen = seen
      if (seen === this.#seen) return undefined
      return await readBounded(file.createReadStream({ autoClose: false }))
    } catch (e) {
      throw new SourceError(`cannot read the policy file ${this.path}: ${e?.message ?? e}`, 'fetch_failed', undefined, { cause: e })
    } finally {
      await file?.close()
    }
  }

  accepted() {
    this.#seen = this.#pendingSeen
  }

  toString() {
    return `FileSource(${this.path})`
  }
}

module.exports = { UrlSource, FileSource, SourceError }
