'use strict'

// The package's entry: the native addon (built from source by `npm install`), its error
// classes, the conversion of JavaScript values to JSON text, the tool guard, and an encoding
// fast path in front of `PolicySet#evaluate`.

const { isAsyncFunction, isGeneratorFunction } = require('node:util').types

const native = require('./agen-policy.node')

const { PolicySet, Explanation, validate, blockedOutcome } = native

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

// A value that JSON cannot hold, reported as the core reports a bad request or document.
function unwritable(kind, index, path, message, code) {
  if (kind === 'request') {
    const text = `invalid request at ${problemText(path, message)}`
    return new RequestError(index === undefined ? text : `request ${index}: ${text}`, { path, index })
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
function jsonOf(value, kind, index) {
  let text
  try {
    text = JSON.stringify(value)
  } catch {
    text = jsonWithPlaces(value, kind, index)
  }
  return text === undefined ? 'null' : text
}

function jsonWithPlaces(value, kind, index) {
  const places = new WeakMap() // object being written → { path, depth, parent, object }
  function replacer(key, v) {
    const holder = places.get(this) // undefined for the root's wrapper
    const path = holder === undefined ? '' : `${holder.path}/${escapeToken(key)}`
    if (typeof v === 'bigint') throw unwritable(kind, index, path, 'a BigInt has no JSON form')
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
      default:
        return new PolicyError(info.message, info.code)
    }
  },
  ({ value, kind, index }) => jsonOf(value, kind, index),
  ({ handle }) => refuseCloning(handle, 'a PolicySet', SET_ELSEWHERE),
)

// --- The fast path --------------------------------------------------------------------------
//
// Each string or object that crosses the Node-API boundary costs a few hundred nanoseconds,
// more than the engine takes to decide. So `evaluate` writes the request into one shared buffer
// (the format is documented at `Encoded` in src/convert.rs), makes one native call, and reads
// the decision back from the same buffer. It handles the plain JSON-like values requests are
// made of and means exactly what `JSON.stringify` would; anything else (a `toJSON` method, a
// class instance, a BigInt, a cycle, an invalid request, a buffer too small) returns
// `undefined` and goes to the native `evaluate`, which writes the request as JSON (`jsonOf`)
// and lets the core parse it, and reports errors. Either way the request is checked by the
// core (the decoded one through the same builder, under the same limits).

const REASONS = ['unknown_connector', 'connector_disabled', 'unknown_tool', 'tool_disabled', 'no_policy', 'policy']
// Context nesting the encoder writes; deeper contexts go to the core, which enforces its limit.
const MAX_DEPTH = 40
const CAPACITY = 1 << 16

const memory = new ArrayBuffer(CAPACITY)
const bytes = Buffer.from(memory)
const view = new DataView(memory)
const words = new Uint32Array(memory)
const fastState = Symbol('agen-policy.fastPath')

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && typeof value.toJSON !== 'function'
}

// JSON leaves out members whose value is one of these.
function isSkipped(value) {
  const type = typeof value
  return type === 'undefined' || type === 'function' || type === 'symbol'
}

function writeString(s, at) {
  const n = s.length
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (at + 4 + 3 * n > CAPACITY) return -1
  let p = at + 4
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) {
      // JSON escapes lone surrogates, which UTF-8 cannot hold: the general path keeps them.
      if (!s.isWellFormed()) return -1
      const written = bytes.write(s, at + 4, 'utf8')
      view.setUint32(at, written, true)
      return at + 4 + written
    }
    bytes[p++] = c
  }
  view.setUint32(at, n, true)
  return p
}

// What writeValue returns for a value JSON leaves out (as a member) or writes as null (in a list).
const SKIP = -2

function writeValue(value, at, depth) {
  if (at + 9 > CAPACITY) return -1
  switch (typeof value) {
    case 'string':
      bytes[at] = 4
      return writeString(value, at + 1)
    case 'number':
      if (!Number.isFinite(value)) {
        bytes[at] = 0 // JSON writes NaN and the infinities as null
        return at + 1
      }
      if (Number.isSafeInteger(value)) {
        bytes[at] = 3 // JSON writes it exactly (-0 as 0, and so does the decoder)
        view.setFloat64(at + 1, value, true)
        return at + 9
      }
      // Any other number as the text JSON writes for it, which the native side parses as the
      // core parses JSON: 2 ** 60 is written 1152921504606847000, not the double's value.
      bytes[at] = 7
      return writeString(String(value), at + 1)
    case 'boolean':
      bytes[at] = value ? 2 : 1
      return at + 1
    case 'object':
      if (value === null) {
        bytes[at] = 0
        return at + 1
      }
      if (depth === 0) return -1
      if (Array.isArray(value)) {
        if (typeof value.toJSON === 'function') return -1
        bytes[at] = 5
        const n = value.length
        view.setUint32(at + 1, n, true)
        let p = at + 5
        for (let i = 0; i < n; i++) {
          const q = writeValue(value[i], p, depth - 1)
          if (q === SKIP) {
            bytes[p] = 0 // JSON writes a left-out list item as null
            p += 1
          } else if (q < 0) {
            return -1
          } else {
            p = q
          }
        }
        return p
      }
      if (!isPlainObject(value)) return -1
      bytes[at] = 6
      return writeEntries(value, at + 1, depth - 1)
    case 'undefined':
    case 'function':
    case 'symbol':
      return SKIP
    default:
      return -1 // a BigInt: JSON.stringify throws, on the general path
  }
}

function writeEntries(object, at, depth) {
  let n = 0
  let p = at + 4
  // Own enumerable keys, as JSON.stringify takes them (for-in would add inherited ones).
  const keys = Object.keys(object)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]
    const start = p
    p = writeString(key, p)
    if (p < 0) return -1
    const q = writeValue(object[key], p, depth)
    if (q === SKIP) {
      p = start // JSON leaves the member out
      continue
    }
    if (q < 0) return -1
    p = q
    n++
  }
  view.setUint32(at, n, true)
  return p
}

// Writes a request; -1 when it is not plain data, or not a request the core would accept as is.
function encodeRequest(request) {
  if (request === null || typeof request !== 'object' || !isPlainObject(request)) return -1
  let user
  let connector
  let tool
  let groups
  let context
  const keys = Object.keys(request)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]
    const value = request[key]
    switch (key) {
      case 'user':
        user = value
        break
      case 'connector':
        connector = value
        break
      case 'tool':
        tool = value
        break
      case 'groups':
        groups = value
        break
      case 'context':
        context = value
        break
      default:
        if (!isSkipped(value)) return -1 // an unknown field: the core reports it
    }
  }
  // JSON leaves out skipped values, as if the member were absent.
  if (isSkipped(groups)) groups = undefined
  if (isSkipped(context)) context = undefined
  if (typeof user !== 'string' || typeof connector !== 'string' || typeof tool !== 'string') return -1
  let p = writeString(user, 0)
  if (p >= 0) p = writeString(connector, p)
  if (p >= 0) p = writeString(tool, p)
  if (p < 0) return -1
  if (groups === undefined) {
    view.setUint32(p, 0, true)
    p += 4
  } else {
    if (!Array.isArray(groups) || typeof groups.toJSON === 'function') return -1
    const n = groups.length
    view.setUint32(p, n, true)
    p += 4
    for (let i = 0; i < n && p >= 0; i++) {
      if (typeof groups[i] !== 'string') return -1
      p = writeString(groups[i], p)
    }
    if (p < 0) return -1
  }
  if (p + 1 > CAPACITY) return -1
  if (context === undefined) {
    bytes[p] = 0
    return p + 1
  }
  if (context === null || typeof context !== 'object' || Array.isArray(context) || !isPlainObject(context)) {
    return -1
  }
  bytes[p] = 1
  return writeEntries(context, p + 1, MAX_DEPTH)
}

function readIds(at, ids) {
  const n = words[at]
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = ids[words[at + 1 + i]]
  return out
}

function fastPathOf(set) {
  let state = set[fastState]
  if (state === undefined) {
    state = {
      slot: set.fastSlot(),
      policies: set.policyIds(),
      approvalFlows: set.approvalFlowIds(),
      version: set.version,
    }
    Object.defineProperty(set, fastState, { value: state })
  }
  return state
}

// Set while the shared buffer is in use: a getter on the request that evaluates another request
// would otherwise overwrite it halfway, so a nested call takes the general path.
let busy = false

// The decision, or undefined when the request needs the general path.
function evaluateFast(set, request) {
  if (busy) return undefined
  const state = fastPathOf(set)
  busy = true
  try {
    if (encodeRequest(request) < 0 || !native.evaluateEncoded(state.slot, bytes)) return undefined
  } finally {
    busy = false
  }
  const action = words[0]
  const policies = readIds(2, state.policies)
  const approvalFlows = readIds(3 + policies.length, state.approvalFlows)
  return {
    action: ACTIONS[action],
    reason: REASONS[words[1]],
    policies,
    approvalFlows,
    allowed: action === 0,
    version: state.version,
  }
}

const nativeEvaluate = PolicySet.prototype.evaluate
const nativeEvaluateMany = PolicySet.prototype.evaluateMany
const nativeExplain = PolicySet.prototype.explain

Object.defineProperty(PolicySet.prototype, 'evaluate', {
  value: function evaluate(request) {
    return evaluateFast(this, request) ?? nativeEvaluate.call(this, request)
  },
  writable: true,
  configurable: true,
})

Object.defineProperty(PolicySet.prototype, 'evaluateMany', {
  value: function evaluateMany(requests) {
    if (!Array.isArray(requests)) return nativeEvaluateMany.call(this, requests)
    const n = requests.length
    const decisions = new Array(n)
    for (let i = 0; i < n; i++) {
      const decision = evaluateFast(this, requests[i])
      // The general path reports an invalid request with its position.
      if (decision === undefined) return nativeEvaluateMany.call(this, requests)
      decisions[i] = decision
    }
    return decisions
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

const IDENTITY = ['user', 'groups', 'context']

// Who the guarded calls are made for comes from the host, never from the call: a copy, taken
// once, of what the host gives the Guard.
function identityOf(identity) {
  if (identity === undefined) return Object.freeze({})
  if (!isObject(identity)) throw new ArgumentError('new Guard(policySet, identity): `identity` must be an object')
  for (const key of Object.keys(identity)) {
    if (!IDENTITY.includes(key)) {
      throw new ArgumentError(`new Guard(policySet, identity): unknown identity member \`${key}\` (expected user, groups, context)`)
    }
  }
  const { user, groups, context } = identity
  return deepFreeze(JSON.parse(jsonOf({ user, groups, context }, 'request')))
}

function noOptions(method, options) {
  if (options === undefined) return
  if (!isObject(options)) throw new ArgumentError(`Guard#${method}: takes no options`)
  for (const key of Object.keys(options)) {
    if (key === 'context') {
      throw new ArgumentError(
        `Guard#${method}: there is no \`context\` option: a tool call's arguments never become its identity or context. ` +
          'Give the host\'s context to the guard: new Guard(policySet, { user, groups, context })',
      )
    }
    throw new ArgumentError(`Guard#${method}: unknown option \`${key}\``)
  }
}

// Checks tool calls of agent code before they run. The identity a call is made for (user,
// groups, context) is the host's: the one given to the constructor, or one the host names in
// full in `check`. Nothing from a tool call is merged into it, and nothing is decided here: the
// engine decides, and the core says which error each action raises.
class Guard {
  #identity

  constructor(policySet, identity) {
    if (!(policySet instanceof PolicySet || policySet instanceof Engine)) {
      throw new ArgumentError('new Guard(policySet): `policySet` must be a PolicySet or an Engine')
    }
    this.policySet = policySet
    this.#identity = identityOf(identity)
  }

  // The identity every guarded call is made for (frozen).
  get identity() {
    return this.#identity
  }

  check(call) {
    if (!isObject(call)) throw new ArgumentError('Guard#check(call): `call` must be an object with `connector` and `tool`')
    let request
    if (call.user !== undefined) {
      request = call // the host names the identity in full: nothing of the guard's is added
    } else {
      if (call.groups !== undefined || call.context !== undefined) {
        throw new ArgumentError(
          'Guard#check(call): `groups` and `context` come with `user`; without it the guard\'s identity is used, and nothing is merged into it',
        )
      }
      const { user: _user, groups: _groups, context: _context, ...rest } = call
      request = { ...this.#identity, ...rest }
    }
    const decision = this.policySet.evaluate(request)
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
  wrap(connector, tool, fn, options) {
    if (typeof fn !== 'function') throw new ArgumentError('Guard#wrap(connector, tool, fn): `fn` must be a function')
    noOptions('wrap', options)
    return isAsyncFunction(fn) && !isGeneratorFunction(fn) ? this.#guardedAsync(connector, tool, fn) : this.#guarded(connector, tool, fn)
  }

  // Wraps a tool whose calls return promises: the wrapper always returns a promise, rejected
  // when the call is blocked (or when `fn` throws).
  wrapAsync(connector, tool, fn, options) {
    if (typeof fn !== 'function') throw new ArgumentError('Guard#wrapAsync(connector, tool, fn): `fn` must be a function')
    noOptions('wrapAsync', options)
    return this.#guardedAsync(connector, tool, fn)
  }

  #guarded(connector, tool, fn) {
    const guard = this
    return function guarded(...args) {
      guard.check({ connector, tool })
      return fn.apply(this, args)
    }
  }

  #guardedAsync(connector, tool, fn) {
    const guard = this
    return async function guarded(...args) {
      guard.check({ connector, tool })
      return fn.apply(this, args)
    }
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
  PolicyError,
  DocumentError,
  RequestError,
  ArgumentError,
  DataCloneError,
  GuardError,
  ToolDenied,
  StepUpRequired,
  ApprovalRequired,
  Guard,
  authorize,
  blockedOutcome,
}
