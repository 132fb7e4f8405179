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
  ArgumentError,
  DataCloneError,
  GuardError,
  ToolDenied,
  StepUpRequired,
  ApprovalRequired,
  Guard,
  authorize,
  blockedOutcome,
} = agenPolicy

export default agenPolicy
