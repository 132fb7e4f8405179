// ES module entry: the same objects as the CommonJS entry.
import agenPolicy from './index.js'

export const {
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
} = agenPolicy

export default agenPolicy
