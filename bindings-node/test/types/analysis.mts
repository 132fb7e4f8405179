// Type-checked by `tsc --noEmit` in the tests: the analysis results' types from an ES module.
import { type AccessReview, diff, type LintReport, PolicySet, type PolicyDiff, replay, type ReplayReport } from 'agen-policy'

const set: PolicySet = PolicySet.fromFile('examples/acme.json')
const lint: LintReport = set.lint()
const severities: string[] = lint.findings.map((f) => `${f.severity} ${f.code} ${f.path}`)
const review: AccessReview = set.access('github', 'delete_repository', 'alice')
const actions: string[] = review.principals.flatMap((p) => p.pieces.map((piece) => piece.action))
const change: PolicyDiff = diff(set, set)
const gate: boolean = change.changes.some((c) => c.more_permissive)
const replayed: ReplayReport = replay(set, [
  { user: 'alice', connector: 'github', tool: 'create_issue', action: 'deny', context: { agent: { type: 'Claude' } } },
  '{"user":"bob","connector":"github","tool":"create_issue","action":"allow"}',
])
const loosened: number = replayed.transitions.filter((t) => t.new.action === 'allow').length
export { actions, gate, loosened, severities }
