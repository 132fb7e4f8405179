'use strict'

// The package's entry: the native addon (built from source by `npm install`), its error
// classes, the tool guard, and an encoding fast path in front of `PolicySet#evaluate`.

const native = require('./agen-policy.node')

const { PolicySet, Explanation, validate } = native

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

class GuardError extends PolicyError {
  constructor(message, code, decision, request) {
    super(message, code)
    this.decision = decision
    this.request = request
  }
}

class ToolDenied extends GuardError {
  constructor(message, decision, request) {
    super(message, 'tool_denied', decision, request)
  }
}

class StepUpRequired extends GuardError {
  constructor(message, decision, request) {
    super(message, 'step_up_required', decision, request)
  }
}

class ApprovalRequired extends GuardError {
  constructor(message, decision, request) {
    super(message, 'approval_required', decision, request)
  }

  get approvalFlows() {
    return this.decision.approvalFlows
  }
}

native.setErrorFactory((info) => {
  switch (info.kind) {
    case 'document':
      return new DocumentError(info.message, info.code, info)
    case 'request':
      return new RequestError(info.message, info)
    default:
      return new PolicyError(info.message, info.code)
  }
})

// --- The fast path --------------------------------------------------------------------------
//
// Each string or object that crosses the Node-API boundary costs a few hundred nanoseconds,
// more than the engine takes to decide. So `evaluate` writes the request into one shared buffer
// (the format is documented at `Encoded` in src/convert.rs), makes one native call, and reads
// the decision back from the same buffer. It handles the plain JSON-like values requests are
// made of and means exactly what `JSON.stringify` would; anything else (a `toJSON` method, a
// class instance, a BigInt, a cycle, an invalid request, a buffer too small) returns
// `undefined` and goes to the native `evaluate`, which stringifies the request and lets the core
// parse it, and reports errors.

const ACTIONS = ['allow', 'step_up', 'request_approval', 'deny']
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
      bytes[at] = 3
      view.setFloat64(at + 1, value, true)
      return at + 9
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
    if (!Array.isArray(groups)) return -1
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

// --- The guard ------------------------------------------------------------------------------

function describe(request, decision) {
  const why = decision.policies.length > 0 ? `${decision.reason}: ${decision.policies.join(', ')}` : decision.reason
  return `tool \`${request.tool}\` of connector \`${request.connector}\` for user \`${request.user}\`: ${decision.action} (${why})`
}

// A handle to the current policy set that can be reloaded while the host keeps evaluating.
// The core validates a new document completely before anything changes; swapping the reference
// is atomic in JavaScript (worker threads each load their own sets), so a call always runs on
// exactly one set, whose version its decision carries.
class Engine {
  #current

  constructor(policySet) {
    if (!(policySet instanceof PolicySet)) throw new TypeError('Engine needs a PolicySet')
    this.#current = policySet
  }

  get current() {
    return this.#current
  }

  get version() {
    return this.#current.version
  }

  reload(document) {
    const next = typeof document === 'string' ? PolicySet.fromJson(document) : PolicySet.fromObject(document)
    this.#current = next
    return next.version
  }

  reloadFile(path) {
    const next = PolicySet.fromFile(path)
    this.#current = next
    return next.version
  }

  replace(policySet) {
    if (!(policySet instanceof PolicySet)) throw new TypeError('Engine.replace needs a PolicySet')
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

class Guard {
  constructor(policySet, defaults = {}) {
    if (!(policySet instanceof PolicySet || policySet instanceof Engine)) {
      throw new TypeError('Guard needs a PolicySet or an Engine')
    }
    this.policySet = policySet
    this.defaults = defaults
  }

  check(request) {
    const d = this.defaults
    const merged = { ...d, ...request }
    if (d.context !== undefined && request.context !== undefined) {
      merged.context = { ...d.context, ...request.context }
    }
    const decision = this.policySet.evaluate(merged)
    switch (decision.action) {
      case 'allow':
        return decision
      case 'step_up':
        throw new StepUpRequired(`step-up authentication required: ${describe(merged, decision)}`, decision, merged)
      case 'request_approval':
        throw new ApprovalRequired(
          `approval required via ${decision.approvalFlows.join(', ') || 'no approval flow'}: ${describe(merged, decision)}`,
          decision,
          merged,
        )
      default:
        throw new ToolDenied(`denied: ${describe(merged, decision)}`, decision, merged)
    }
  }

  wrap(connector, tool, fn, options = {}) {
    const guard = this
    const contextOf = options.context
    return function guarded(...args) {
      const context = contextOf === undefined ? undefined : contextOf(...args)
      guard.check(context === undefined ? { connector, tool } : { connector, tool, context })
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
  GuardError,
  ToolDenied,
  StepUpRequired,
  ApprovalRequired,
  Guard,
  authorize,
}
