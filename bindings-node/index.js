'use strict'

// The package's entry: the native addon (built from source by `npm install`), its error
// classes, the conversion of JavaScript values to JSON text, the tool guard, and an encoding
// fast path in front of `PolicySet#evaluate`.

const { isAsyncFunction, isGeneratorFunction } = require('node:util').types
const { randomUUID } = require('node:crypto')
const { closeSync, openSync, writeSync } = require('node:fs')

const native = require('./agen-policy.node')

const { PolicySet, Explanation, validate, blockedOutcome, runTests, argumentsDigest, refusalMessage, diff, replay } = native

// --- Errors ---------------------------------------------------------------------------------
//
// Every error the package throws is one of these, with a stable `code`.

class PolicyError extends Error {
  constructor(message, code, options) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

class DocumentError extends PolicyError {
  constructor(message, code, { path = '', problems = [], warnings = [] } = {}) {
    super(message, code)
    this.path = path
    this.problems = problems
    this.warnings = warnings
  }
}

class RequestError extends PolicyError {
  constructor(message, { path = '', index } = {}) {
    super(message, 'invalid_request')
    this.path = path
    if (index !== undefined) this.index = index
  }
}

// An approval operation that did not happen (SPEC §8.3); `code` is the core's: `invalid_request`,
// `invalid_state`, `not_requested`, `cannot_approve`, `not_pending`, `expired`, `self_approval`,
// `not_an_approver`, `already_voted` or `not_approved`. The state is unchanged.
class ApprovalError extends PolicyError {}

// An approval store lost the race to update a request more times than it retries (`conflict`),
// or was asked to open a request under an id it already holds.
class ConflictError extends PolicyError {
  constructor(message) {
    super(message, 'conflict')
  }
}

// An approval store holds no request of that id (`not_found`).
class NotFoundError extends PolicyError {
  constructor(message) {
    super(message, 'not_found')
  }
}

// A wrong argument: a value of the wrong type, an unknown option.
class ArgumentError extends PolicyError {
  constructor(message) {
    super(message, 'invalid_argument')
  }
}

// What structuredClone or postMessage meets when given a handle that cannot leave its thread.
class DataCloneError extends PolicyError {
  constructor(message) {
    super(message, 'not_cloneable')
  }
}

class GuardError extends PolicyError {
  constructor(message, code, decision, request) {
    super(message, code)
    this.decision = decision
    this.request = request
  }
}

// The guard's outcomes, their codes and class names are the core's (`guard::Blocked`), the same
// in every language; `BLOCKED` maps each action to its class, `allow` to none.
const ACTIONS = ['allow', 'step_up', 'request_approval', 'deny']
const CODES = {}

class ToolDenied extends GuardError {
  constructor(message, decision, request) {
    super(message, CODES.ToolDenied, decision, request)
  }
}

class StepUpRequired extends GuardError {
  constructor(message, decision, request) {
    super(message, CODES.StepUpRequired, decision, request)
  }
}

class ApprovalRequired extends GuardError {
  constructor(message, decision, request) {
    super(message, CODES.ApprovalRequired, decision, request)
  }

  get approvalFlows() {
    return this.decision.approvalFlows
  }
}

const BLOCKED = new Map()
{
  const classes = { ToolDenied, StepUpRequired, ApprovalRequired }
  for (const action of ACTIONS) {
    const outcome = blockedOutcome(action)
    if (outcome === null) continue
    const blocked = classes[outcome.className]
    if (blocked === undefined) throw new Error(`the engine names a guard outcome this package lacks: ${outcome.className}`)
    CODES[outcome.className] = outcome.code
    BLOCKED.set(action, blocked)
  }
}

function problemText(path, message) {
  return `${path === '' ? 'the root' : path}: ${message}`
}

// A value that JSON cannot hold, reported as the core reports a bad value of its kind (see
// `Kind` in src/convert.rs).
function unwritable(kind, index, path, message, code) {
  switch (kind) {
    case 'request': {
      const text = `invalid request at ${problemText(path, message)}`
      return new RequestError(index === undefined ? text : `request ${index}: ${text}`, { path, index })
    }
    case 'arguments':
      return new RequestError(`invalid request at ${problemText(path, `the arguments: ${message}`)}`, { path })
    case 'approval_request':
      return new ApprovalError(`invalid_request: invalid request: invalid request at ${problemText(path, message)}`, 'invalid_request')
    case 'approval_argument':
      return new ApprovalError(`invalid_request: an argument cannot be written as JSON: ${message}`, 'invalid_request')
    case 'state':
      return new ApprovalError(`invalid_state: the state at ${problemText(path, message)}`, 'invalid_state')
  }
  const problem = { code: code ?? 'invalid_document', path, message }
  return new DocumentError(`invalid policy document (1 problem)\n  ${problem.code} at ${problemText(path, message)}`, problem.code, {
    path,
    problems: [problem],
  })
}

function escapeToken(key) {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

// Nesting written before it is cut. The core accepts far less (a context 32 levels deep, a
// document 64), so a value cut here is still too deep and the core reports it; what matters is
// that writing it cannot overflow the stack.
const MAX_WRITTEN_DEPTH = 256

// JSON text of a value, the way JSON.stringify writes it. Where JSON.stringify throws (a cycle,
// a BigInt, nesting deeper than the stack), the value is written again, noting where each
// object sits, so that the error is the package's and names the place.
//
// Instants are written as Unix milliseconds when given as a `Date` (JSON.stringify would write
// an ISO string, which cannot hold years past 9999): a request's `now` and `auth.time`, and the
// `now` of an approval operation. A call's arguments, to digest, must be JSON exactly: NaN and
// the infinities, which JSON.stringify writes as `null`, are refused.
function jsonOf(value, kind, index) {
  if (kind === 'arguments') {
    const text = jsonWithPlaces(value, kind, index)
    if (text === undefined) throw unwritable(kind, index, '', `${typeof value} has no JSON form`)
    return text
  }
  if (kind === 'request' || kind === 'approval_request') value = withMillis(value)
  else if (kind === 'approval_argument' && value instanceof Date) value = value.getTime()
  let text
  try {
    text = JSON.stringify(value)
  } catch {
    text = jsonWithPlaces(value, kind, index)
  }
  return text === undefined ? 'null' : text
}

// A request with its `now` and `auth.time` as Unix milliseconds where they are `Date`s.
function withMillis(request) {
  if (!isObject(request) || !isPlainObject(request)) return request
  const { now, auth } = request
  const authTime = isObject(auth) && isPlainObject(auth) && auth.time instanceof Date
  if (!(now instanceof Date) && !authTime) return request
  const copy = { ...request }
  if (now instanceof Date) copy.now = now.getTime()
  if (authTime) copy.auth = { ...auth, time: auth.time.getTime() }
  return copy
}

function jsonWithPlaces(value, kind, index) {
  const places = new WeakMap() // object being written → { path, depth, parent, object }
  function replacer(key, v) {
    const holder = places.get(this) // undefined for the root's wrapper
    const path = holder === undefined ? '' : `${holder.path}/${escapeToken(key)}`
    if (typeof v === 'bigint') throw unwritable(kind, index, path, 'a BigInt has no JSON form')
    if (kind === 'arguments' && typeof v === 'number' && !Number.isFinite(v)) {
      throw unwritable(kind, index, path, `${v} has no JSON form`)
    }
    if (v === null || typeof v !== 'object') return v
    for (let p = holder; p !== undefined; p = p.parent) {
      if (p.object === v) throw unwritable(kind, index, path, 'the value contains itself (a cycle)')
    }
    const depth = holder === undefined ? 0 : holder.depth + 1
    if (depth > MAX_WRITTEN_DEPTH) return []
    places.set(v, { path, depth, parent: holder, object: v })
    return v
  }
  try {
    return JSON.stringify(value, replacer)
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    // Longer than a JavaScript string can be, so far beyond the core's size limits.
    const what = kind === 'request' ? 'request' : 'document'
    throw unwritable(kind, index, '', `the ${what} is too large to write as JSON`, 'limit_exceeded')
  }
}

// --- Handles stay on their thread -----------------------------------------------------------
//
// structuredClone and postMessage copy an object's own enumerable properties; a native handle
// has none, so it would arrive as `{}`. This getter makes the copy fail with a DataCloneError
// that says what to do instead.

function refuseCloning(object, what, instead) {
  Object.defineProperty(object, 'notCloneable', {
    enumerable: true,
    get() {
      throw new DataCloneError(`${what} cannot be cloned or sent to another thread (structuredClone, postMessage): ${instead}`)
    },
  })
  return object
}

const SET_ELSEWHERE = 'load it there, with PolicySet.fromJson(JSON.stringify(set.document())) or PolicySet.fromFile(path)'

native.installHooks(
  (info) => {
    switch (info.kind) {
      case 'document':
        return new DocumentError(info.message, info.code, info)
      case 'request':
        return new RequestError(info.message, info)
      case 'argument':
        return new ArgumentError(info.message)
      case 'approval':
        return new ApprovalError(info.message, info.code)
      default:
        return new PolicyError(info.message, info.code)
    }
  },
  ({ value, kind, index }) => jsonOf(value, kind, index),
  ({ handle }) => refuseCloning(handle, 'a PolicySet', SET_ELSEWHERE),
)

// --- The fast path --------------------------------------------------------------------------
//
// Each string or object that crosses the Node-API boundary costs tens to hundreds of
// nanoseconds, more than the engine takes to decide. So `evaluate` writes the whole request into
// one shared buffer (the format is documented in src/fast.rs), makes one native call, in which
// the engine reads the context in place from the bytes, and reads the decision back from the
// buffer as indices. It writes plain data as `JSON.stringify` means it, reading all of it as
// JSON.stringify does (own enumerable members in its order, getters run; NaN and the infinities
// written as null; `undefined`, functions and symbols left out as members and null in lists),
// within the core's limits. Anything else (a request with evidence or an unknown member, a
// BigInt, a Date or anything with `toJSON`, a class instance, a lone surrogate, a cycle, nesting
// beyond the limit, a buffer too small, an invalid id) returns `undefined` and goes to the
// native `evaluate`, which writes the whole request as JSON (`jsonOf`), lets the core parse and
// check all of it, and reports errors. Either way the whole request is checked.

const REASONS = ['unknown_connector', 'connector_disabled', 'unknown_tool', 'tool_disabled', 'no_policy', 'policy', 'internal']
const CAPACITY = 1 << 16
// evaluateMany writes its requests below this byte and reads the decisions from it on.
const SPLIT = 1 << 15
// The core's default `max_context_depth`: the context object is level 1, a list or object in it
// level 2, and so on. A deeper context goes to the general path, which refuses it.
const MAX_CONTEXT_DEPTH = 32

const memory = new ArrayBuffer(CAPACITY)
const bytes = Buffer.from(memory)
const view = new DataView(memory)
const words = new Uint32Array(memory)
const fastState = Symbol('agen-policy.fastPath')
// Given to the native side once, rather than with every call.
native.fastBuffer(bytes)

function isPlainObject(value) {
  // `toJSON` first: once optimized, that load has checked the object's shape, from which V8
  // then knows its prototype without a call.
  if (typeof value.toJSON === 'function') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const { hasOwnProperty } = Object.prototype

// JSON leaves out members whose value is one of these.
function isSkipped(value) {
  return typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol'
}

// Writes the UTF-8 of `s` from byte `at` on, before `end`; the end of what it wrote, or -1.
function writeText(s, at, end) {
  const n = s.length
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (at + 3 * n > end) return -1
  // Each code unit as one byte, the test for ASCII made once at the end (a byte store keeps
  // the low 8 bits of a wider code unit, which the UTF-8 below then overwrites).
  let units = 0
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    units |= c
    bytes[at + i] = c
  }
  if (units < 0x80) return at + n
  // JSON escapes lone surrogates, which UTF-8 cannot hold: the general path keeps them.
  if (!s.isWellFormed()) return -1
  return at + bytes.write(s, at, 'utf8')
}

// A string with its byte length before it.
function writeString(s, at, end) {
  const n = s.length
  if (n >= MEMO_FROM && n <= MEMO_TO) return writeMemo(s, n, at, end)
  const p = writeText(s, at + 4, end)
  if (p >= 0) view.setUint32(at, p - at - 4, true)
  return p
}

// The strings of a context (its keys, often its values) repeat from call to call, and V8 reads
// each character of a string through a dispatch on how the string is held, about 30
// instructions a character: a small memo keeps the UTF-8 of the last string of MEMO_FROM to
// MEMO_TO code units seen in each of its slots (chosen by the length and the last character),
// written back four bytes at a time. A string is found by value (`===`), so the bytes are
// always its own.
const MEMO_FROM = 1
const MEMO_TO = 40
const MEMO_SLOTS = 64
// Per slot: the string's byte length and byte length before it, as written, then its bytes
// as little-endian 32-bit words (at most 3 * MEMO_TO bytes).
const MEMO_WORDS = 1 + (3 * MEMO_TO) / 4
const memoStrings = new Array(MEMO_SLOTS).fill('')
const memoBytes = new Int32Array(MEMO_SLOTS * MEMO_WORDS)

function writeMemo(s, n, at, end) {
  const slot = (n + 7 * s.charCodeAt(n - 1)) & (MEMO_SLOTS - 1)
  const k = slot * MEMO_WORDS
  if (memoStrings[slot] === s) {
    const length = memoBytes[k]
    const words = (length + 3) >> 2
    // The last word may write up to three bytes past the string, which the caller overwrites
    // or leaves unread; they must still be in the buffer.
    if (at + 4 + 4 * words > end) return -1
    view.setUint32(at, length, true)
    for (let i = 0; i < words; i++) view.setInt32(at + 4 + 4 * i, memoBytes[k + 1 + i], true)
    return at + 4 + length
  }
  const p = writeText(s, at + 4, end)
  if (p < 0) return p
  const length = p - at - 4
  view.setUint32(at, length, true)
  memoStrings[slot] = s
  memoBytes[k] = length
  for (let i = 0; i < length; i += 4) {
    let word = 0
    for (let j = Math.min(3, length - i - 1); j >= 0; j--) word = (word << 8) | bytes[at + 4 + i + j]
    memoBytes[k + 1 + (i >> 2)] = word
  }
  return p
}

// What writeValue returns for a value JSON leaves out (as a member) or writes as null (in a list).
const SKIP = -2

// Writes a context value from byte `at` on, before `end`, where `depth` more levels of lists
// and objects may nest, as JSON.stringify means it; the end of what it wrote, SKIP, or -1 for a
// value the general path must write.
function writeValue(value, at, end, depth) {
  if (at + 9 > end) return -1
  // `typeof` compared where it is taken, which V8 compiles into a check of the value (a
  // `switch` over it calls a builtin for the type's name).
  if (typeof value === 'string') {
    bytes[at] = 4
    return writeString(value, at + 1, end)
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      bytes[at] = 0 // JSON writes NaN and the infinities as null
      return at + 1
    }
    bytes[at] = 3
    view.setFloat64(at + 1, value, true)
    return at + 9
  }
  if (typeof value === 'boolean') {
    bytes[at] = value ? 2 : 1
    return at + 1
  }
  if (typeof value === 'object') {
    if (value === null) {
      bytes[at] = 0
      return at + 1
    }
    if (depth === 0) return -1
    if (Array.isArray(value)) {
      if (typeof value.toJSON === 'function') return -1
      return writeList(value, at, end, depth - 1)
    }
    if (!isPlainObject(value)) return -1
    return writeObject(value, at, end, depth - 1)
  }
  if (typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol') return SKIP
  return -1 // a BigInt: JSON.stringify throws, on the general path
}

// tag u32(count) u32(byte length) items: the header is filled in once the items are written.
function writeList(list, at, end, depth) {
  bytes[at] = 5
  const start = at + 9
  let p = start
  const n = list.length
  for (let i = 0; i < n; i++) {
    const q = writeValue(list[i], p, end, depth)
    if (q === SKIP) {
      bytes[p] = 0 // JSON writes such an item as null
      p += 1
    } else if (q < 0) {
      return -1
    } else {
      p = q
    }
  }
  view.setUint32(at + 1, n, true)
  view.setUint32(at + 5, p - start, true)
  return p
}

function writeObject(object, at, end, depth) {
  if (at + 9 > end) return -1
  bytes[at] = 6
  const start = at + 9
  let p = start
  let n = 0
  // Own enumerable keys, in JSON.stringify's order: for-in, which V8 runs over the object's
  // cached keys and whose `object[key]` it reads by position, without inherited keys (which
  // for-in would add; V8 folds this test away when the prototypes have none).
  for (const key in object) {
    if (!hasOwnProperty.call(object, key)) continue
    const q = writeString(key, p, end)
    if (q < 0) return -1
    const r = writeValue(object[key], q, end, depth)
    if (r === SKIP) continue // JSON leaves the member out
    if (r < 0) return -1
    p = r
    n++
  }
  view.setUint32(at + 1, n, true)
  view.setUint32(at + 5, p - start, true)
  return p
}

// Writes a request from byte `at` on, before `end`; the end of what it wrote, or -1 when the
// request is not plain data without evidence.
function encodeRequest(request, at, end) {
  if (request === null || typeof request !== 'object' || !isPlainObject(request)) return -1
  let user
  let connector
  let tool
  let groups
  let context
  // Own enumerable members, as JSON.stringify takes them (see writeObject), each read by its
  // name, which V8 does faster than by a key held in a variable.
  for (const key in request) {
    if (!hasOwnProperty.call(request, key)) continue
    switch (key) {
      case 'user':
        user = request.user
        break
      case 'connector':
        connector = request.connector
        break
      case 'tool':
        tool = request.tool
        break
      case 'groups':
        groups = request.groups
        break
      case 'context':
        context = request.context
        break
      default:
        if (!isSkipped(request[key])) return -1 // evidence, or an unknown field the core reports
    }
  }
  // JSON leaves out skipped values, as if the member were absent.
  if (isSkipped(groups)) groups = undefined
  if (isSkipped(context)) context = undefined
  if (typeof user !== 'string' || typeof connector !== 'string' || typeof tool !== 'string') return -1
  let n = 0
  if (groups !== undefined) {
    if (!Array.isArray(groups) || typeof groups.toJSON === 'function') return -1
    n = groups.length
  }
  // The lengths first, then the bytes of all the ids one after the other (read as UTF-8 at once).
  let p = at + 16 + 4 * n
  if (p > end) return -1
  view.setUint32(at, n, true)
  let q = writeText(user, p, end)
  if (q < 0) return -1
  view.setUint32(at + 4, q - p, true)
  p = writeText(connector, q, end)
  if (p < 0) return -1
  view.setUint32(at + 8, p - q, true)
  q = writeText(tool, p, end)
  if (q < 0) return -1
  view.setUint32(at + 12, q - p, true)
  p = q
  for (let i = 0; i < n; i++) {
    const group = groups[i]
    if (typeof group !== 'string') return -1
    q = writeText(group, p, end)
    if (q < 0) return -1
    view.setUint32(at + 16 + 4 * i, q - p, true)
    p = q
  }
  if (context === undefined) {
    if (p + 1 > end) return -1
    bytes[p] = 0
    return p + 1
  }
  if (context === null || typeof context !== 'object' || Array.isArray(context) || !isPlainObject(context)) {
    return -1
  }
  return writeObject(context, p, end, MAX_CONTEXT_DEPTH - 1)
}

// Where the decision readDecision read last ends, in words.
let decisionEnd = 0

// Distinct decisions one policy set keeps as made objects (Python's binding keeps as many).
const DECISIONS_KEPT = 4096

function readIds(at, ids) {
  const n = words[at]
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = ids[words[at + 1 + i]]
  return Object.freeze(out)
}

// The decision written from word `at` on (the format is in src/fast.rs): a frozen object, the
// same one for equal decisions of the set. A decision is equal to another exactly when its
// action, reason, policies, approval flows and satisfied policies are (the step-up
// requirements follow from the policies: `Decision::identity` in the core), so a decision
// with no flow and nothing satisfied is kept: with at most two policies under a number made of
// those, with more (up to MANY_POLICIES) under a hash of them, checked against the kept
// decision's action, reason and policies; any other is made each time.
function readDecision(state, at) {
  const action = words[at]
  const reason = words[at + 1]
  const policies = words[at + 2]
  const flows = words[at + 3 + policies]
  const satisfied = words[at + 4 + policies + flows]
  if (flows !== 0 || satisfied !== 0) return makeDecision(state, at)
  if (policies > 2) return readHashed(state, at)
  const p1 = policies > 0 ? words[at + 3] + 1 : 0
  const p2 = policies > 1 ? words[at + 4] + 1 : 0
  // Below 2 ** 53 for sets of up to 2 ** 24 policies (the core's limit is 10 ** 6).
  const key = action * 8 + reason + 32 * (p1 + state.policies.length * p2 + p2)
  const kept = state.decisions.get(key)
  if (kept !== undefined) {
    decisionEnd = skipStepUp(at + 5 + policies)
    return kept
  }
  return keep(state, key, makeDecision(state, at))
}

function keep(state, key, decision) {
  if (state.decisions.size < DECISIONS_KEPT) state.decisions.set(key, decision)
  return decision
}

// Decisions with more policies than this are made each time.
const MANY_POLICIES = 64

// readDecision for a decision with more than two policies (and no flow, nothing satisfied),
// kept apart to keep readDecision small enough for V8 to inline.
function readHashed(state, at) {
  const policies = words[at + 2]
  if (policies > MANY_POLICIES) return makeDecision(state, at)
  let hash = words[at] * 8 + words[at + 1]
  for (let i = 0; i < policies; i++) hash = (Math.imul(hash, 31) + words[at + 3 + i]) | 0
  // Negative, apart from the exact keys of readDecision, and a small integer.
  const key = -1 - (hash & 0x1fffffff)
  const kept = state.decisions.get(key)
  if (kept !== undefined && isDecision(kept, state, at)) {
    decisionEnd = skipStepUp(at + 5 + policies)
    return kept
  }
  return keep(state, key, makeDecision(state, at))
}

// Whether `decision`, kept under a hash, has the action, reason and policies written from word
// `at` on (policy ids are unique in a set, so equal ids are equal indices).
function isDecision(decision, state, at) {
  const n = words[at + 2]
  const policies = decision.policies
  if (decision.action !== ACTIONS[words[at]] || decision.reason !== REASONS[words[at + 1]] || policies.length !== n) {
    return false
  }
  for (let i = 0; i < n; i++) if (policies[i] !== state.policies[words[at + 3 + i]]) return false
  return true
}

// The end of the step-up requirements written from word `at` on.
function skipStepUp(at) {
  const n = words[at]
  at += 1
  for (let i = 0; i < n; i++) at += 3 + words[at + 2]
  return at
}

function makeDecision(state, at) {
  const action = words[at]
  const reason = words[at + 1]
  at += 2
  const policies = readIds(at, state.policies)
  at += 1 + policies.length
  const approvalFlows = readIds(at, state.approvalFlows)
  at += 1 + approvalFlows.length
  const satisfied = readIds(at, state.policies)
  at += 1 + satisfied.length
  const stepUp = new Array(words[at])
  at += 1
  for (let i = 0; i < stepUp.length; i++) {
    const acrValues = readIds(at + 2, state.acrValues)
    stepUp[i] = Object.freeze({ policy: state.policies[words[at]], maxAge: words[at + 1], acrValues })
    at += 3 + acrValues.length
  }
  decisionEnd = at
  return Object.freeze({
    action: ACTIONS[action],
    reason: REASONS[reason],
    policies,
    approvalFlows,
    satisfied,
    stepUp: Object.freeze(stepUp),
    allowed: action === 0,
    version: state.version,
  })
}

function fastPathOf(set) {
  let state = set[fastState]
  if (state === undefined) {
    state = {
      slot: set.fastSlot(),
      policies: set.policyIds(),
      approvalFlows: set.approvalFlowIds(),
      acrValues: set.acrValueIds(),
      version: set.version,
      decisions: new Map(),
    }
    Object.defineProperty(set, fastState, { value: state })
  }
  return state
}

// Set while the shared buffer is in use: a getter of the request or of its context that
// evaluates another request while it is written would otherwise overwrite it halfway, so a
// nested call takes the general path.
let busy = false

// The decision, or undefined when the request needs the general path.
function evaluateFast(set, request) {
  if (busy) return undefined
  const state = fastPathOf(set)
  busy = true
  try {
    // The slot first, then the request (the call takes no argument: see src/fast.rs).
    words[0] = state.slot
    if (encodeRequest(request, 4, CAPACITY) < 0 || !native.evaluateEncoded()) return undefined
  } finally {
    busy = false
  }
  return readDecision(state, 0)
}

const nativeEvaluate = PolicySet.prototype.evaluate
const nativeEvaluateMany = PolicySet.prototype.evaluateMany
const nativeEvaluateJson = PolicySet.prototype.evaluateJson

// A decision of the general path, frozen as the fast path's are.
function frozenDecision(decision) {
  Object.freeze(decision.policies)
  Object.freeze(decision.approvalFlows)
  Object.freeze(decision.satisfied)
  for (const requirement of decision.stepUp) {
    Object.freeze(requirement.acrValues)
    Object.freeze(requirement)
  }
  Object.freeze(decision.stepUp)
  return Object.freeze(decision)
}
const nativeExplain = PolicySet.prototype.explain

// The request at `index` of evaluateMany's list, on the general path; its error names the index.
function evaluateAt(set, request, index) {
  try {
    return frozenDecision(nativeEvaluate.call(set, request))
  } catch (e) {
    if (e instanceof RequestError && e.index === undefined) {
      throw new RequestError(`request ${index}: ${e.message}`, { path: e.path, index })
    }
    throw e
  }
}

Object.defineProperty(PolicySet.prototype, 'evaluate', {
  value: function evaluate(request) {
    return evaluateFast(this, request) ?? frozenDecision(nativeEvaluate.call(this, request))
  },
  writable: true,
  configurable: true,
})

// As many requests as the buffer holds cross in one native call, and their decisions come back
// together; a request the fast path does not take is decided alone on the general path.
Object.defineProperty(PolicySet.prototype, 'evaluateMany', {
  value: function evaluateMany(requests) {
    if (!Array.isArray(requests) || busy) return nativeEvaluateMany.call(this, requests).map(frozenDecision)
    const state = fastPathOf(this)
    const n = requests.length
    const decisions = new Array(n)
    let i = 0
    while (i < n) {
      let status = 1
      busy = true
      try {
        let count = 0
        // After the slot, the count and the split (see src/fast.rs).
        let p = 12
        while (i + count < n) {
          const q = encodeRequest(requests[i + count], p, SPLIT)
          if (q < 0) break
          count++
          p = q
        }
        if (count > 0) {
          words[0] = state.slot
          words[1] = count
          words[2] = SPLIT
          status = native.evaluateEncodedMany()
        }
      } finally {
        busy = false
      }
      const decided = status >>> 1
      let at = SPLIT >>> 2
      for (let k = 0; k < decided; k++) {
        decisions[i + k] = readDecision(state, at)
        at = decisionEnd
      }
      i += decided
      // The next request is the general path's, and so is one whose decision fills the buffer.
      if ((status & 1) === 1 || decided === 0) {
        decisions[i] = evaluateAt(this, requests[i], i)
        i++
      }
    }
    return decisions
  },
  writable: true,
  configurable: true,
})

Object.defineProperty(PolicySet.prototype, 'evaluateJson', {
  value: function evaluateJson(text) {
    return frozenDecision(nativeEvaluateJson.call(this, text))
  },
  writable: true,
  configurable: true,
})

Object.defineProperty(PolicySet.prototype, 'explain', {
  value: function explain(request) {
    return refuseCloning(nativeExplain.call(this, request), 'an Explanation', 'send explanation.toJSON() instead')
  },
  writable: true,
  configurable: true,
})

// --- Engine and guard -----------------------------------------------------------------------

function describe(request, decision) {
  const why = decision.policies.length > 0 ? `${decision.reason}: ${decision.policies.join(', ')}` : decision.reason
  return `tool \`${request.tool}\` of connector \`${request.connector}\` for user \`${request.user}\`: ${decision.action} (${why})`
}

function isText(document) {
  return typeof document === 'string' || ArrayBuffer.isView(document)
}

// A handle to the current policy set that can be reloaded while the host keeps evaluating.
// The core validates a new document completely before anything changes; swapping the reference
// is atomic in JavaScript (worker threads each load their own sets), so a call always runs on
// exactly one set, whose version its decision carries.
class Engine {
  #current

  constructor(policySet) {
    if (!(policySet instanceof PolicySet)) throw new ArgumentError('new Engine(policySet): `policySet` must be a PolicySet')
    this.#current = policySet
    refuseCloning(this, 'an Engine', SET_ELSEWHERE.replace('PolicySet.from', 'new Engine(PolicySet.from'))
  }

  get current() {
    return this.#current
  }

  get version() {
    return this.#current.version
  }

  reload(document) {
    const next = isText(document) ? PolicySet.fromJson(document) : PolicySet.fromObject(document)
    this.#current = next
    return next.version
  }

  reloadFile(path) {
    const next = PolicySet.fromFile(path)
    this.#current = next
    return next.version
  }

  replace(policySet) {
    if (!(policySet instanceof PolicySet)) throw new ArgumentError('Engine#replace(policySet): `policySet` must be a PolicySet')
    const old = this.#current
    this.#current = policySet
    return old
  }

  evaluate(request) {
    return this.#current.evaluate(request)
  }

  evaluateJson(text) {
    return this.#current.evaluateJson(text)
  }

  evaluateMany(requests) {
    return this.#current.evaluateMany(requests)
  }

  explain(request) {
    return this.#current.explain(request)
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object'
}

function deepFreeze(value) {
  if (isObject(value)) {
    for (const member of Object.values(value)) deepFreeze(member)
    Object.freeze(value)
  }
  return value
}

const IDENTITY = ['user', 'groups', 'context', 'auth', 'grants']

// Who the guarded calls are made for, and the evidence the host holds for them, come from the
// host, never from the call: a copy, taken once, of what the host gives the Guard.
function identityOf(identity, method) {
  if (identity === undefined) return Object.freeze({})
  if (!isObject(identity)) throw new ArgumentError(`${method}: \`identity\` must be an object`)
  for (const key of Object.keys(identity)) {
    if (!IDENTITY.includes(key)) {
      const hint = key === 'now' ? ' (the guard reads the clock at each call)' : ''
      throw new ArgumentError(`${method}: unknown identity member \`${key}\` (expected ${IDENTITY.join(', ')})${hint}`)
    }
  }
  const { user, groups, context, auth, grants } = identity
  return deepFreeze(JSON.parse(jsonOf({ user, groups, context, auth, grants }, 'request')))
}

// The options of `wrap` and `wrapAsync`: `bindArguments` only.
function wrapOptions(method, options) {
  if (options === undefined) return { bindArguments: false }
  if (!isObject(options)) throw new ArgumentError(`Guard#${method}: \`options\` must be an object`)
  for (const key of Object.keys(options)) {
    if (key === 'context') {
      throw new ArgumentError(
        `Guard#${method}: there is no \`context\` option: a tool call's arguments never become its identity or context. ` +
          'Give the host\'s context to the guard: new Guard(policySet, { user, groups, context })',
      )
    }
    if (key !== 'bindArguments') throw new ArgumentError(`Guard#${method}: unknown option \`${key}\` (expected bindArguments)`)
  }
  const { bindArguments = false } = options
  if (typeof bindArguments !== 'boolean') throw new ArgumentError(`Guard#${method}: \`bindArguments\` must be a boolean`)
  return { bindArguments }
}

// What a call may name besides its tool when it does not name a user: the digest of its
// arguments. Groups, context and evidence come with a user, from the host, or from the guard.
const IDENTITY_OF_CALL = ['groups', 'context', 'auth', 'grants', 'now']

// Checks tool calls of agent code before they run. The identity a call is made for (user,
// groups, context) and its evidence (auth, grants) are the host's: the ones given to the
// constructor, or a request the host names in full in `check`. Nothing from a tool call is
// merged into them, and nothing is decided here: the engine decides, and the core says which
// error each action raises.
//
// The engine reads no clock: when the identity carries `auth` or `grants`, the guard gives each
// request `now: Date.now()`, read when the call is checked.
class Guard {
  #identity
  #evidence
  #options

  // `options.onDecision`, when given, receives the decision log record of every decision the
  // guard makes (see `decisionRecord`): a function, or a sink with a `write` method such as a
  // `JsonlDecisionLog`. A callback that throws blocks the call it was told about.
  constructor(policySet, identity, options) {
    if (!(policySet instanceof PolicySet || policySet instanceof Engine)) {
      throw new ArgumentError('new Guard(policySet): `policySet` must be a PolicySet or an Engine')
    }
    this.policySet = policySet
    this.#identity = identityOf(identity, 'new Guard(policySet, identity)')
    this.#evidence = this.#identity.auth !== undefined || this.#identity.grants !== undefined
    this.#options = guardOptions(options)
  }

  // The identity every guarded call is made for (frozen).
  get identity() {
    return this.#identity
  }

  // A guard on the same policy set for another identity, given whole (nothing is merged): after
  // the user re-authenticates, `guard.withIdentity({ ...guard.identity, auth })`; once a grant
  // is issued, `guard.withIdentity({ ...guard.identity, grants: [grant] })`.
  withIdentity(identity) {
    return new Guard(this.policySet, identity ?? {}, this.#options)
  }

  check(call) {
    if (!isObject(call)) throw new ArgumentError('Guard#check(call): `call` must be an object with `connector` and `tool`')
    let request
    if (call.user !== undefined) {
      request = call // the host names the identity in full: nothing of the guard's is added
    } else {
      const named = IDENTITY_OF_CALL.filter((key) => call[key] !== undefined)
      if (named.length > 0) {
        throw new ArgumentError(
          `Guard#check(call): \`${named.join('`, `')}\` come${named.length === 1 ? 's' : ''} with \`user\`; without it the guard's identity is used, and nothing is merged into it`,
        )
      }
      const { user: _user, groups: _groups, context: _context, auth: _auth, grants: _grants, now: _now, ...rest } = call
      request = { ...this.#identity, ...rest }
      if (this.#evidence) request.now = Date.now()
    }
    const decision = this.policySet.evaluate(request)
    const { onDecision } = this.#options
    if (onDecision !== undefined) {
      onDecision(
        decisionRecord(decision, {
          id: randomUUID(),
          time: Date.now(),
          user: request.user,
          groups: request.groups,
          connector: request.connector,
          tool: request.tool,
          argumentsDigest: request.arguments,
        }),
      )
    }
    if (decision.action === 'allow') return decision
    const Blocked = BLOCKED.get(decision.action) ?? ToolDenied // an action unknown here does not run
    let message
    switch (Blocked) {
      case StepUpRequired:
        message = `step-up authentication required: ${describe(request, decision)}`
        break
      case ApprovalRequired:
        message = `approval required via ${decision.approvalFlows.join(', ') || 'no approval flow'}: ${describe(request, decision)}`
        break
      default:
        message = `denied: ${describe(request, decision)}`
    }
    throw new Blocked(message, decision, request)
  }

  // Wraps a tool so that every call is checked first. An async function's wrapper is async: a
  // blocked call rejects its promise. Any other function's wrapper throws when the call is
  // blocked; `wrapAsync` is for functions that return a promise without being async.
  //
  // With `bindArguments: true`, each request carries `arguments`: `argumentsDigest(args)`, the
  // digest of the array of the arguments the wrapper is called with, as JSON.stringify writes
  // it (so a grant bound to `['acme', 'site']` matches only `fn('acme', 'site')`). It is matched
  // against grants, never read as context.
  wrap(connector, tool, fn, options) {
    if (typeof fn !== 'function') throw new ArgumentError('Guard#wrap(connector, tool, fn): `fn` must be a function')
    const { bindArguments } = wrapOptions('wrap', options)
    return isAsyncFunction(fn) && !isGeneratorFunction(fn)
      ? this.#guardedAsync(connector, tool, fn, bindArguments)
      : this.#guarded(connector, tool, fn, bindArguments)
  }

  // Wraps a tool whose calls return promises: the wrapper always returns a promise, rejected
  // when the call is blocked (or when `fn` throws).
  wrapAsync(connector, tool, fn, options) {
    if (typeof fn !== 'function') throw new ArgumentError('Guard#wrapAsync(connector, tool, fn): `fn` must be a function')
    const { bindArguments } = wrapOptions('wrapAsync', options)
    return this.#guardedAsync(connector, tool, fn, bindArguments)
  }

  #call(connector, tool, args, bindArguments) {
    return bindArguments ? { connector, tool, arguments: argumentsDigest(args) } : { connector, tool }
  }

  #guarded(connector, tool, fn, bindArguments) {
    const guard = this
    return function guarded(...args) {
      guard.check(guard.#call(connector, tool, args, bindArguments))
      return fn.apply(this, args)
    }
  }

  #guardedAsync(connector, tool, fn, bindArguments) {
    const guard = this
    return async function guarded(...args) {
      guard.check(guard.#call(connector, tool, args, bindArguments))
      return fn.apply(this, args)
    }
  }
}

// The options of `new Guard`: `onDecision` only.
function guardOptions(options) {
  if (options === undefined) return Object.freeze({})
  if (!isObject(options)) throw new ArgumentError('new Guard(policySet, identity, options): `options` must be an object')
  for (const key of Object.keys(options)) {
    if (key !== 'onDecision') throw new ArgumentError(`new Guard(policySet, identity, options): unknown option \`${key}\` (expected onDecision)`)
  }
  const onDecision = decisionCallback(options.onDecision, 'new Guard(policySet, identity, options)')
  return Object.freeze(onDecision === undefined ? {} : { onDecision })
}

// --- Decision log -----------------------------------------------------------------------------
//
// A record is the core's (`log::DecisionRecord`), the same JSON in every language: snake_case
// members in a fixed order. The host gives its id and time; nothing else is added here.

// The record of one decision: `fields` are `{ id, time, user, connector, tool, groups?,
// toolCallId?, argumentsDigest?, arguments? }`, `time` in Unix milliseconds or a `Date`.
function decisionRecord(decision, fields) {
  if (!isObject(decision)) throw new ArgumentError('decisionRecord(decision, fields): `decision` must be a decision object')
  if (!isObject(fields)) throw new ArgumentError('decisionRecord(decision, fields): `fields` must be an object')
  const time = fields.time instanceof Date ? fields.time.getTime() : fields.time
  let text
  try {
    text = JSON.stringify({ ...fields, time })
  } catch (e) {
    throw new ArgumentError(`decisionRecord: the fields cannot be written as JSON: ${e.message}`)
  }
  return JSON.parse(native.decisionRecordLine(JSON.stringify(decision), text))
}

// A decision callback given as a function or as a sink with a `write` method.
function decisionCallback(callback, method) {
  if (callback === undefined) return undefined
  if (typeof callback === 'function') return callback
  if (isObject(callback) && typeof callback.write === 'function') return (record) => callback.write(record)
  throw new ArgumentError(`${method}: \`onDecision\` must be a function or an object with a \`write\` method`)
}

// A decision log sink: one JSON object per line, appended to a file (opened once, in append
// mode) or written to a writable stream. Argument values are left out unless
// `includeArguments: true`; the arguments digest stays, so a grant can still be matched to the
// call it was for. `write` is bound, so `onDecision: log.write` works as well as `onDecision: log`.
class JsonlDecisionLog {
  #fd
  #stream
  #includeArguments

  constructor(target, options) {
    const { includeArguments = false, ...rest } = options ?? {}
    for (const key of Object.keys(rest)) throw new ArgumentError(`new JsonlDecisionLog(target, options): unknown option \`${key}\` (expected includeArguments)`)
    if (typeof includeArguments !== 'boolean') throw new ArgumentError('new JsonlDecisionLog(target, options): `includeArguments` must be a boolean')
    this.#includeArguments = includeArguments
    if (typeof target === 'string' || target instanceof URL) {
      try {
        this.#fd = openSync(target, 'a')
      } catch (e) {
        throw new PolicyError(`cannot open the decision log \`${target}\`: ${e.message}`, 'io_error', { cause: e })
      }
    } else if (isObject(target) && typeof target.write === 'function') {
      this.#stream = target
    } else {
      throw new ArgumentError('new JsonlDecisionLog(target): `target` must be a file path or a writable stream')
    }
    this.write = this.write.bind(this)
  }

  // Appends one record (as `decisionRecord` makes it) as one line.
  write(record) {
    if (!isObject(record)) throw new ArgumentError('JsonlDecisionLog#write(record): `record` must be a decision record')
    let kept = record
    if (!this.#includeArguments && Object.hasOwn(record, 'arguments')) {
      const { arguments: _values, ...rest } = record
      kept = rest
    }
    const line = `${JSON.stringify(kept)}\n`
    if (this.#stream !== undefined) {
      this.#stream.write(line)
    } else {
      if (this.#fd === undefined) throw new PolicyError('the decision log is closed', 'io_error')
      writeSync(this.#fd, line)
    }
  }

  // Closes the file (a stream is the host's to end).
  close() {
    if (this.#fd !== undefined) {
      closeSync(this.#fd)
      this.#fd = undefined
    }
  }
}

// --- Approval store ---------------------------------------------------------------------------
//
// The host keeps approval states (SPEC §8.2) and applies the engine's transitions to them. Two
// approvers answering at once must not lose a vote, and a request must not be approved twice:
// every update reads the state with its version, computes the next state with the policy set,
// and writes it only if the version is still the one read (compare-and-swap), retrying a lost
// race a bounded number of times. Every method returns a promise, so a store backed by a
// database has the same interface: it replaces the four storage methods (`load`, `insert`,
// `compareAndSwap`, `list`) and keeps the operations.

class MemoryApprovalStore {
  #records = new Map() // id → { version, state }
  #retries

  constructor(options) {
    const { retries = 16, ...rest } = options ?? {}
    for (const key of Object.keys(rest)) throw new ArgumentError(`new MemoryApprovalStore(options): unknown option \`${key}\` (expected retries)`)
    if (!Number.isSafeInteger(retries) || retries < 1) {
      throw new ArgumentError('new MemoryApprovalStore(options): `retries` must be a positive integer')
    }
    this.#retries = retries
  }

  // --- Storage: what a database-backed store replaces. A record is `{ version, state }`. ---

  // The record of `id`, or undefined.
  async load(id) {
    const record = this.#records.get(id)
    return record === undefined ? undefined : { version: record.version, state: structuredClone(record.state) }
  }

  // Stores a new request at version 1; false if `id` is taken.
  async insert(id, state) {
    if (this.#records.has(id)) return false
    this.#records.set(id, { version: 1, state: structuredClone(state) })
    return true
  }

  // Replaces the state of `id` if its version is still `version`, and bumps the version; false
  // otherwise (another update came first).
  async compareAndSwap(id, version, state) {
    const record = this.#records.get(id)
    if (record === undefined || record.version !== version) return false
    this.#records.set(id, { version: version + 1, state: structuredClone(state) })
    return true
  }

  // Every record (a database may leave out those whose status is not `pending`).
  async list() {
    return Array.from(this.#records.values(), ({ version, state }) => ({ version, state: structuredClone(state) }))
  }

  // --- Operations: each is one transition of the engine's, on the stored state. ---

  // Opens a request under the host's `id` (see PolicySet#openApproval); a taken id rejects
  // with a ConflictError.
  async open(policySet, request, flow, id, now) {
    const state = policySet.openApproval(request, flow, id, now)
    if (!(await this.insert(id, state))) throw new ConflictError(`an approval request \`${id}\` exists already`)
    return { version: 1, state }
  }

  async approve(policySet, id, approver, now, groups = []) {
    return this.#update(id, (state) => policySet.approve(state, approver, now, groups))
  }

  async reject(policySet, id, approver, now, groups = []) {
    return this.#update(id, (state) => policySet.reject(state, approver, now, groups))
  }

  async cancel(policySet, id, now) {
    return this.#update(id, (state) => policySet.cancel(state, now))
  }

  async tick(policySet, id, now) {
    return this.#update(id, (state) => policySet.tick(state, now))
  }

  // The grant of an approved request (see PolicySet#grant).
  async grant(policySet, id) {
    return policySet.grant((await this.get(id)).state)
  }

  // The record of `id`; an unknown id rejects with a NotFoundError.
  async get(id) {
    const record = await this.load(id)
    if (record === undefined) throw new NotFoundError(`no approval request \`${id}\``)
    return record
  }

  // The pending requests `approver` (with the host's group claims `groups`) may act on at `now`:
  // those `checkApprover` lets through.
  async pendingFor(policySet, approver, now, groups = []) {
    const mine = []
    for (const record of await this.list()) {
      try {
        policySet.checkApprover(record.state, approver, now, groups)
      } catch (e) {
        // A bad argument or a stored state the engine cannot read is the host's to see.
        if (!(e instanceof ApprovalError) || e.code === 'invalid_request' || e.code === 'invalid_state') throw e
        continue
      }
      mine.push(record)
    }
    return mine
  }

  async #update(id, transition) {
    for (let attempt = 0; attempt < this.#retries; attempt++) {
      const record = await this.get(id)
      // The engine's error (not_pending, already_voted, ...) is final: nothing is retried.
      const state = transition(record.state)
      if (await this.compareAndSwap(id, record.version, state)) return { version: record.version + 1, state }
    }
    throw new ConflictError(`approval request \`${id}\`: another update came first ${this.#retries} times; try again`)
  }
}

function authorize(policySet, request) {
  return new Guard(policySet).check(request)
}

module.exports = {
  PolicySet,
  Engine,
  Explanation,
  validate,
  runTests,
  argumentsDigest,
  diff,
  replay,
  MemoryApprovalStore,
  PolicyError,
  DocumentError,
  RequestError,
  ApprovalError,
  ConflictError,
  NotFoundError,
  ArgumentError,
  DataCloneError,
  GuardError,
  ToolDenied,
  StepUpRequired,
  ApprovalRequired,
  Guard,
  authorize,
  blockedOutcome,
  refusalMessage,
  decisionRecord,
  JsonlDecisionLog,
}

// Built on the exports above: the PostgreSQL approval store (which requires `pg` only when a
// store is made) and the policy sources.
const { PostgresApprovalStore, StoreError } = require('./postgres.js')
const { UrlSource, FileSource, SourceError } = require('./sources.js')
Object.assign(module.exports, { PostgresApprovalStore, StoreError, UrlSource, FileSource, SourceError })
