// Type-checked by `tsc --noEmit` in the tests: the package's types from an ES module.
import {
  ApprovalError,
  ApprovalRequired,
  type ApprovalState,
  ArgumentError,
  argumentsDigest,
  blockedOutcome,
  ConflictError,
  type Decision,
  DocumentError,
  Engine,
  type Grant,
  Guard,
  MemoryApprovalStore,
  PolicySet,
  type Request,
  RequestError,
  runTests,
  type StepUpRequirement,
  type TestReport,
  validate,
} from 'agen-policy'

const set: PolicySet = PolicySet.fromFile('examples/acme.json')

const request: Request = {
  user: 'alice',
  connector: 'github',
  tool: 'delete_repository',
  context: { agent: { type: 'ChatGPT' } },
}
const decision: Decision = set.evaluate(request)

// The action is a union of string literals: a switch over it is checked for exhaustiveness.
function describe(d: Decision): string {
  switch (d.action) {
    case 'allow':
      return 'run it'
    case 'step_up':
      return 're-authenticate'
    case 'request_approval':
      return `ask ${d.approvalFlows.join(', ')}`
    case 'deny':
      return `denied (${d.reason})`
  }
}
console.log(describe(decision))

const many: Decision[] = set.evaluateMany([request, { ...request, tool: 'list_user_repositories' }])
console.log(many.map((d) => d.allowed))

const explanation = set.explain(request)
console.log(explanation.toString(), explanation.policies.map((p) => p.served ?? 'not a candidate'))

const validation = validate('{"connectors": []}')
if (!validation.valid) console.log(validation.problems.map((p) => `${p.code} ${p.path}`))

try {
  PolicySet.fromJson('{}')
} catch (e) {
  if (e instanceof DocumentError) console.log(e.problems.map((p) => p.message))
  if (e instanceof RequestError) console.log(e.path)
}

const guard = new Guard(set, { user: 'alice', context: { agent: { type: 'ChatGPT' } } })
const remove = guard.wrap('github', 'delete_repository', async (repo: string) => `deleted ${repo}`)
remove('acme/site').catch((e: unknown) => {
  if (e instanceof ApprovalRequired) console.log(e.approvalFlows, e.decision.policies)
})
const share = guard.wrapAsync('google_drive', 'share_file', (file: string): Promise<string> => Promise.resolve(file))
const shared: Promise<string> = share('roadmap.pdf')
console.log(shared, guard.identity.user, blockedOutcome('deny')?.className)
try {
  // @ts-expect-error: a tool call's arguments never become context; wrap has no such option
  guard.wrap('github', 'create_issue', (title: string) => title, { context: (title: string) => ({ title }) })
} catch (e) {
  if (e instanceof ArgumentError) console.log(e.code)
}

// @ts-expect-error: 'permit' is not an action
const wrong: Decision['action'] = 'permit'
console.log(wrong)

// Evidence, step-ups and approvals.
const stepUp: StepUpRequirement[] = decision.stepUp
console.log(stepUp.map((s) => `${s.policy} ${s.maxAge} ${s.acrValues.join(' ')}`), decision.satisfied)
const now = new Date()
const withEvidence: Request = { ...request, now, auth: { time: now.getTime() - 1000, acr: 'urn:acme:mfa' }, arguments: argumentsDigest({ repo: 'site' }) }
const state: ApprovalState = set.openApproval(withEvidence, 'security-review', 'apr-1', now)
const approved: ApprovalState = set.approve(state, 'bob', Date.now(), ['security'])
const checked: void = set.checkApprover(state, 'carol', '2026-11-25T10:00:00Z')
const people: string[] = set.eligibleApprovers(state)
const grant: Grant = set.grant(approved)
console.log(checked, people, set.tick(set.cancel(state, now), now).status, set.reject(state, 'bob', now).rejected_by)
console.log(new Engine(set).evaluateJson(JSON.stringify({ ...request, now: Date.now(), grants: [grant] })).allowed)
try {
  set.grant(state)
} catch (e) {
  if (e instanceof ApprovalError) console.log(e.code === 'not_approved')
}

const report: TestReport = runTests('conformance/spec')
console.log(report.ok, report.files.map((f) => `${f.file} ${f.expected_errors} ${f.failures.map((x) => x.case ?? x.message)}`), report.text)

const store = new MemoryApprovalStore({ retries: 8 })
async function approveInStore(): Promise<Grant> {
  const { version } = await store.open(set, request, 'security-review', 'apr-2', Date.now())
  const record = await store.approve(set, 'apr-2', 'bob', Date.now())
  console.log(version < record.version, (await store.pendingFor(set, 'carol', Date.now())).length)
  return store.grant(set, 'apr-2')
}
approveInStore().catch((e: unknown) => e instanceof ConflictError && console.log(e.code))

const reauthenticated = guard.withIdentity({ ...guard.identity, auth: { time: Date.now(), acr: 'urn:acme:mfa' }, grants: [grant] })
const bound = reauthenticated.wrap('github', 'delete_repository', async (owner: string, repo: string) => `${owner}/${repo}`, { bindArguments: true })
bound('acme', 'site').catch((e: unknown) => {
  if (e instanceof ApprovalRequired) console.log(e.request.arguments, e.approvalFlows)
})
