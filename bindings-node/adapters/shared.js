'use strict'

// What every framework adapter shares: the identity the host gives, the request built from it,
// the two decisions (at the framework's pause point, and again right before the tool runs), the
// approval request opened for a paused call (SPEC §8) and the grant it yields, the decision log,
// and the mapping of the four actions onto "run", "refuse" and "pause". The engine decides; the
// core writes the refusal text and the log record. Nothing here judges a rule.

const { randomUUID } = require('node:crypto')

const {
  ApprovalError,
  ArgumentError,
  Engine,
  MemoryApprovalStore,
  PolicySet,
  argumentsDigest,
  decisionRecord,
  refusalMessage,
} = require('../index.js')

// The four actions, written down once: what the adapter does with each at the pause point.
// `allow` and `deny` do not pause (a denied call is refused when it would run, as the model's
// tool result); `step_up` and `request_approval` pause the call the framework's way.
const AT_PAUSE = Object.freeze({ allow: 'run', deny: 'refuse', step_up: 'pause', request_approval: 'pause' })

const IDENTITY = ['user', 'groups', 'context', 'auth', 'grants']
const OPTIONS = ['policies', 'connector', 'resolve', 'approvals', 'onDecision', 'logArguments', 'bindArguments', 'now', 'newId']

function isObject(value) {
  return value !== null && typeof value === 'object'
}

// The identity a call is made for, as the host gives it: a fresh copy of exactly these members,
// and never anything from the tool call. A missing user fails the call.
function identityOf(given, adapter) {
  if (!isObject(given)) throw new ArgumentError(`${adapter}: the host's identity must be an object with \`user\``)
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !IDENTITY.includes(key)) {
      throw new ArgumentError(`${adapter}: unknown identity member \`${key}\` (expected ${IDENTITY.join(', ')})`)
    }
  }
  if (typeof given.user !== 'string' || given.user === '') {
    throw new ArgumentError(`${adapter}: the host's identity has no \`user\``)
  }
  const { user, groups, context, auth, grants } = given
  return { user, groups, context, auth, grants }
}

// One tool-call policy, shared by the adapters of one host: it holds the memo of pause-point
// answers per tool-call id and the approval requests opened for paused calls.
class ToolPolicy {
  #options
  #paused = new Map() // call key → what a paused call waits for
  #answered = new Map() // tool-call id key → the pause point's answer when it did not pause

  // `own` names the options the adapter itself reads; any other unknown option is a mistake.
  constructor(options, adapter, own = []) {
    if (!isObject(options)) throw new ArgumentError(`${adapter}: \`options\` must be an object`)
    for (const key of Object.keys(options)) {
      if (!OPTIONS.includes(key) && !own.includes(key)) {
        throw new ArgumentError(`${adapter}: unknown option \`${key}\` (expected ${[...OPTIONS, ...own].join(', ')})`)
      }
    }
    const { policies, connector, resolve, approvals, onDecision, logArguments = false, bindArguments = true, now, newId } = options
    if (!(policies instanceof PolicySet || policies instanceof Engine)) {
      throw new ArgumentError(`${adapter}: \`policies\` must be a PolicySet or an Engine`)
    }
    if (resolve === undefined && (typeof connector !== 'string' || connector === '')) {
      throw new ArgumentError(`${adapter}: give \`connector\` (the connector the tools belong to) or \`resolve(name)\``)
    }
    if (resolve !== undefined && typeof resolve !== 'function') throw new ArgumentError(`${adapter}: \`resolve\` must be a function`)
    if (onDecision !== undefined && typeof onDecision !== 'function' && !(isObject(onDecision) && typeof onDecision.write === 'function')) {
      throw new ArgumentError(`${adapter}: \`onDecision\` must be a function or an object with a \`write\` method`)
    }
    this.adapter = adapter
    this.#options = {
      policies,
      connector,
      resolve,
      approvals: approvals ?? new MemoryApprovalStore(),
      onDecision: typeof onDecision === 'function' ? onDecision : onDecision && ((record) => onDecision.write(record)),
      logArguments: logArguments === true,
      bindArguments: bindArguments !== false,
      now: now ?? Date.now,
      newId: newId ?? randomUUID,
    }
  }

  // A fresh id (the `newId` option), for what the adapter names.
  newId() {
    return this.#options.newId()
  }

  get policies() {
    return this.#options.policies
  }

  // The approval store the adapter opens requests in (the host's approvers vote there).
  get approvals() {
    return this.#options.approvals
  }

  // The policy set deciding now (an Engine's current one).
  #set() {
    const { policies } = this.#options
    return policies instanceof Engine ? policies.current : policies
  }

  // Which connector and tool a framework's tool name stands for.
  target(name) {
    const { resolve, connector } = this.#options
    const target = resolve === undefined ? { connector, tool: name } : resolve(name)
    if (!isObject(target) || typeof target.connector !== 'string' || typeof target.tool !== 'string') {
      throw new ArgumentError(`${this.adapter}: resolve(\`${name}\`) must give { connector, tool }`)
    }
    return { connector: target.connector, tool: target.tool }
  }

  // The key a call's pause is remembered under: the framework's tool-call id, or, where the
  // framework has none that survives a retry (MCP), the call itself: who, which tool, which
  // arguments.
  #key(call, request) {
    if (call.toolCallId !== undefined) return `id:${call.toolCallId}`
    return `call:${argumentsDigest([request.user, request.connector, request.tool, request.arguments ?? null])}`
  }

  // The request for a call: the host's identity and evidence, the clock, and the digest of the
  // call's arguments (evidence a bound grant must match, never context).
  #request(identity, target, args, extraGrants) {
    const request = { user: identity.user, connector: target.connector, tool: target.tool }
    if (identity.groups !== undefined) request.groups = identity.groups
    if (identity.context !== undefined) request.context = identity.context
    if (this.#options.bindArguments) request.arguments = argumentsDigest(args ?? null)
    const grants = [...(identity.grants ?? []), ...extraGrants]
    if (identity.auth !== undefined || grants.length > 0) {
      request.now = this.#options.now()
      if (identity.auth !== undefined) request.auth = identity.auth
      if (grants.length > 0) request.grants = grants
    }
    return request
  }

  #log(decision, request, call) {
    const { onDecision, logArguments, newId, now } = this.#options
    if (onDecision === undefined) return
    const fields = {
      id: newId(),
      time: now(),
      user: request.user,
      groups: request.groups,
      connector: request.connector,
      tool: request.tool,
      toolCallId: call.toolCallId,
      argumentsDigest: request.arguments,
    }
    if (logArguments) fields.arguments = call.args ?? null
    onDecision(decisionRecord(decision, fields))
  }

  // The grant of the approval request opened for this call, once approved; its state otherwise.
  async #approvalOf(paused) {
    if (paused?.approvalId === undefined) return { grants: [] }
    const { approvals } = this.#options
    const { state } = await approvals.get(paused.approvalId)
    try {
      return { grants: [await approvals.grant(this.#set(), paused.approvalId)], state }
    } catch (e) {
      if (e instanceof ApprovalError && e.code === 'not_approved') return { grants: [], state }
      throw e
    }
  }

  // The identity, target, request (without the call's grant) and memo key of a call.
  #prepare(call) {
    const identity = identityOf(call.identity, this.adapter)
    const target = this.target(call.name)
    const request = this.#request(identity, target, call.args, [])
    return { identity, target, request, key: this.#key(call, request) }
  }

  #evaluate(request, call) {
    const decision = this.#set().evaluate(request)
    this.#log(decision, request, call)
    return decision
  }

  // The pause point: whether the framework should pause this call. With a tool-call id the
  // answer is memoized, so a framework that asks again on resume (a replayed step, a
  // revalidated approval) gets the same answer; a paused call is remembered either way. The
  // approval request of a `request_approval` is opened here, once per call. Returns `{ pause,
  // action, decision, replayed }`, and for a pause `approvalId` (approval) and `connector`,
  // `tool`, `user`.
  async pausePoint(call) {
    const { target, request, key } = this.#prepare(call)
    const known = this.#paused.get(key) ?? this.#answered.get(key)
    if (known !== undefined) return { ...known, replayed: true }
    const decision = this.#evaluate(request, call)
    const what = AT_PAUSE[decision.action] ?? 'refuse'
    const entry = { pause: what === 'pause', action: decision.action, decision, connector: target.connector, tool: target.tool, user: request.user }
    if (decision.action === 'request_approval') {
      const id = `apr-${this.#options.newId()}`
      // The engine evaluates the request again and refuses unless it asks for this flow.
      await this.#options.approvals.open(this.#set(), request, decision.approvalFlows[0], id, this.#options.now())
      entry.approvalId = id
    }
    if (entry.pause) this.#paused.set(key, entry)
    else if (call.toolCallId !== undefined) this.#answered.set(key, entry)
    return { ...entry, replayed: false }
  }

  // What the paused call with this tool-call id waits for: `{ action, decision, approvalId?,
  // connector, tool, user }`, or undefined when it did not pause (or has run).
  pauseOf(toolCallId) {
    const entry = this.#paused.get(`id:${toolCallId}`)
    if (entry === undefined) return undefined
    const { pause: _pause, ...rest } = entry
    return rest
  }

  // The pause point's answer for this tool-call id, paused or not; undefined before it.
  answerOf(toolCallId) {
    const key = `id:${toolCallId}`
    return this.#paused.get(key) ?? this.#answered.get(key)
  }

  // The run point: decides again, with the evidence the host holds now and the grant of the
  // call's approval request once approved. `{ run: true, decision }` lets the tool run;
  // otherwise `{ run: false, action, decision, refusal, approvalId?, approvalStatus? }`, where
  // `refusal` is the core's text for the model.
  async runPoint(call) {
    const { identity, target, request, key } = this.#prepare(call)
    const paused = this.#paused.get(key)
    const approval = await this.#approvalOf(paused)
    const decision = this.#evaluate(approval.grants.length > 0 ? this.#request(identity, target, call.args, approval.grants) : request, call)
    if (decision.action === 'allow') {
      // The grant belongs to the call it was opened for: a later call of the same tool pauses
      // again and opens its own request.
      this.#paused.delete(key)
      return { run: true, decision }
    }
    // An approval request closed without a grant (rejected, cancelled, expired) will not
    // become one: the model reads the refusal of a denied call, not an invitation to retry.
    const closed = approval.state !== undefined && approval.state.status !== 'pending' && approval.grants.length === 0
    return {
      run: false,
      action: decision.action,
      decision,
      refusal: this.refusal(closed ? 'deny' : decision.action, target),
      approvalId: paused?.approvalId,
      approvalStatus: approval.state?.status,
    }
  }

  // The core's text for the model when a call with this action did not run.
  refusal(action, target) {
    return refusalMessage(action, target.connector, target.tool) ?? refusalMessage('deny', target.connector, target.tool)
  }

  // For frameworks whose pause point is the moment the tool would run (an MCP tool callback):
  // a call seen for the first time is decided once, and runs, is refused or pauses; a paused
  // call seen again (the client retries) is decided again with the host's evidence now.
  async decideNow(call) {
    const pause = await this.pausePoint(call)
    if (pause.replayed) return this.runPoint(call)
    if (pause.action === 'allow') return { run: true, decision: pause.decision }
    return {
      run: false,
      action: pause.action,
      decision: pause.decision,
      refusal: this.refusal(pause.action, pause),
      approvalId: pause.approvalId,
      paused: pause.pause,
    }
  }
}

module.exports = { ToolPolicy, AT_PAUSE, identityOf }
