// Type-checked by `tsc --noEmit` in the tests: the package's types from CommonJS.
import agenPolicy = require('agen-policy')

const set = agenPolicy.PolicySet.fromObject({ connectors: [{ id: 'c', tools: [{ name: 't' }] }] })
const action: agenPolicy.Action = set.evaluate({ user: 'u', connector: 'c', tool: 't' }).action
const reason: agenPolicy.Reason = agenPolicy.authorize(set, { user: 'u', connector: 'c', tool: 't' }).reason
console.log(action, reason)
