// ES module entry: the same objects as the CommonJS entry.
import agenPolicy from './index.js'

export const {
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
  PostgresApprovalStore,
  StoreError,
  UrlSource,
  FileSource,
  SourceError,
} = agenPolicy

export default agenPolicy
