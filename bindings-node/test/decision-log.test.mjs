// The refusal text, the decision record and the JSON-lines sink: the core's, exposed as plain
// values; the guard reports every decision to its `onDecision` callback.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ArgumentError, decisionRecord, Guard, JsonlDecisionLog, PolicySet, refusalMessage, ToolDenied } from 'agen-policy'

const acme = PolicySet.fromFile(fileURLToPath(new URL('../../examples/acme.json', import.meta.url)))

describe('refusalMessage', () => {
  test('names the tool for every blocking action, nothing for allow', () => {
    assert.equal(refusalMessage('allow', 'github', 'x'), null)
    for (const action of ['deny', 'step_up', 'request_approval']) {
      const text = refusalMessage(action, 'github', 'delete_repository')
      assert.match(text, /github\/delete_repository/)
      assert.match(text, /did not run/)
    }
    assert.throws(() => refusalMessage('permit', 'github', 'x'), ArgumentError)
  })
})

describe('decisionRecord', () => {
  const decision = acme.evaluate({ user: 'alice', connector: 'google_drive', tool: 'share_file' })

  test('the core record: snake_case members in order, absent ones left out', () => {
    const record = decisionRecord(decision, { id: 'd1', time: new Date(0), user: 'alice', connector: 'google_drive', tool: 'share_file' })
    assert.deepEqual(Object.keys(record), ['id', 'time', 'version', 'user', 'connector', 'tool', 'action', 'reason', 'policies', 'approval_flows', 'satisfied', 'step_up'])
    assert.equal(record.time, '1970-01-01T00:00:00.000Z')
    assert.equal(record.version, acme.version)
    assert.deepEqual(record.step_up, [{ policy: 'drive-share-step-up', max_age: 300, acr_values: [] }])
  })

  test('every optional member, and time as milliseconds', () => {
    const record = decisionRecord(decision, {
      id: 'd2',
      time: 1795965890123,
      user: 'alice',
      groups: ['engineering'],
      connector: 'google_drive',
      tool: 'share_file',
      toolCallId: 'call_1',
      argumentsDigest: 'ab',
      arguments: { file: 'roadmap.pdf' },
    })
    assert.equal(record.time, '2026-11-29T15:24:50.123Z')
    assert.deepEqual(record.groups, ['engineering'])
    assert.equal(record.tool_call_id, 'call_1')
    assert.equal(record.arguments_digest, 'ab')
    assert.deepEqual(record.arguments, { file: 'roadmap.pdf' })
    assert.deepEqual(Object.keys(record).slice(-2), ['arguments_digest', 'arguments'])
  })

  test('bad fields are an ArgumentError', () => {
    const fields = { id: 'd', time: 0, user: 'u', connector: 'c', tool: 't' }
    assert.throws(() => decisionRecord(decision, { ...fields, id: '' }), ArgumentError)
    assert.throws(() => decisionRecord(decision, { ...fields, time: 'yesterday' }), ArgumentError)
    assert.throws(() => decisionRecord(decision, { ...fields, extra: 1 }), ArgumentError)
    assert.throws(() => decisionRecord({ ...decision, action: 'permit' }, fields), ArgumentError)
  })
})

describe('JsonlDecisionLog', () => {
  const decision = acme.evaluate({ user: 'alice', connector: 'github', tool: 'delete_repository' })
  const record = decisionRecord(decision, { id: 'd1', time: 0, user: 'alice', connector: 'github', tool: 'delete_repository', arguments: { repo: 'acme/site' } })

  test('one line per record, argument values left out by default', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agen-log-')), 'decisions.jsonl')
    const log = new JsonlDecisionLog(path)
    log.write(record)
    log.write({ ...record, id: 'd2', user: 'line\nbreak' })
    log.close()
    const lines = readFileSync(path, 'utf8').split('\n')
    assert.equal(lines.length, 3)
    assert.equal(lines[2], '')
    const first = JSON.parse(lines[0])
    assert.equal(first.arguments, undefined)
    assert.deepEqual(Object.keys(first), Object.keys(record).filter((k) => k !== 'arguments'))
    assert.equal(JSON.parse(lines[1]).user, 'line\nbreak')
  })

  test('to a stream, with the arguments when asked', () => {
    const stream = new PassThrough()
    const log = new JsonlDecisionLog(stream, { includeArguments: true })
    const write = log.write // bound
    write(record)
    assert.deepEqual(JSON.parse(stream.read().toString()).arguments, { repo: 'acme/site' })
    assert.throws(() => new JsonlDecisionLog(42), ArgumentError)
    assert.throws(() => new JsonlDecisionLog(stream, { includeArgs: true }), ArgumentError)
  })
})

describe('Guard onDecision', () => {
  test('reports every decision, allowed or blocked, and behaves as before', () => {
    const records = []
    const guard = new Guard(acme, { user: 'alice', groups: ['engineering'] }, { onDecision: (r) => records.push(r) })
    assert.equal(guard.check({ connector: 'github', tool: 'list_user_repositories' }).action, 'allow')
    assert.throws(() => guard.check({ connector: 'github', tool: 'no_such_tool' }), ToolDenied)
    const again = guard.withIdentity({ user: 'carol' })
    assert.throws(() => again.check({ connector: 'github', tool: 'create_repository' }), ToolDenied)
    assert.deepEqual(records.map((r) => [r.user, r.tool, r.action]), [
      ['alice', 'list_user_repositories', 'allow'],
      ['alice', 'no_such_tool', 'deny'],
      ['carol', 'create_repository', 'deny'],
    ])
    assert.deepEqual(records[0].groups, ['engineering'])
    assert.notEqual(records[0].id, records[1].id)
  })

  test('a sink with write works, a bad option does not', () => {
    const stream = new PassThrough()
    const guard = new Guard(acme, { user: 'alice' }, { onDecision: new JsonlDecisionLog(stream) })
    guard.check({ connector: 'github', tool: 'get_authenticated_user' })
    assert.equal(JSON.parse(stream.read().toString()).action, 'allow')
    assert.throws(() => new Guard(acme, { user: 'alice' }, { onDecision: 1 }), ArgumentError)
    assert.throws(() => new Guard(acme, { user: 'alice' }, { log: () => {} }), ArgumentError)
  })
})
