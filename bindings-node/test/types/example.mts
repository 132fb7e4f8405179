// Type-checked by `tsc --noEmit` in the tests: the package's types from an ES module.
import {
  ApprovalRequired,
  ArgumentError,
  blockedOutcome,
  type Decision,
  DocumentError,
  Guard,
  PolicySet,
  type Request,
  RequestError,
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
  // @ts-expect-error: a tool call's arguments never become context; wrap takes no options
  guard.wrap('github', 'create_issue', (title: string) => title, { context: (title: string) => ({ title }) })
} catch (e) {
  if (e instanceof ArgumentError) console.log(e.code)
}

// @ts-expect-error: 'permit' is not an action
const wrong: Decision['action'] = 'permit'
console.log(wrong)
