// agen-policy/mcp against the real @modelcontextprotocol/sdk: an McpServer and a Client over the
// SDK's InMemoryTransport, the identity taken from the access token the transport carries.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { ErrorCode, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'

import { MemoryApprovalStore } from 'agen-policy'
import { guardMcpServer, META } from 'agen-policy/mcp'

import { TOOLS, counter, policies } from './fixture.mjs'

// A server with the five tools, guarded; the host's sessions by access token, which the host's
// token validation (here: the test) maps to an identity.
async function setUp() {
  const tools = counter()
  const records = []
  const sessions = new Map([['token-alice', { user: 'alice' }]])
  const approvals = new MemoryApprovalStore()
  const server = new McpServer({ name: 'acme', version: '1.0.0' })
  const policy = guardMcpServer(server, {
    policies,
    connector: 'acme',
    approvals,
    onDecision: (record) => records.push(record),
    identity: (extra) => sessions.get(extra.authInfo?.token),
    stepUpUrl: ({ elicitationId }) => `https://login.acme.example/step-up?id=${elicitationId}`,
  })
  for (const name of TOOLS) {
    server.registerTool(name, { description: name, inputSchema: { target: z.string() } }, async (args) => ({
      content: [{ type: 'text', text: tools.run(name, args) }],
    }))
  }
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair()
  // What an HTTP transport's bearer-token middleware does: every request carries the token.
  const send = clientTransport.send.bind(clientTransport)
  clientTransport.send = (message, options) => send(message, { ...options, authInfo: { token: 'token-alice', clientId: 'agent', scopes: [] } })
  await server.connect(serverTransport)
  const client = new Client({ name: 'agent', version: '1.0.0' })
  await client.connect(clientTransport)
  const call = (name, target = 'x') => client.callTool({ name, arguments: { target } })
  return { tools, records, sessions, approvals, policy, call, client }
}

function textOf(result) {
  return result.content.map((c) => c.text).join('\n')
}

describe('agen-policy/mcp', () => {
  test('allow: the tool runs', async () => {
    const { tools, call, records } = await setUp()
    const result = await call('list_files')
    assert.equal(result.isError, undefined)
    assert.match(textOf(result), /list_files ran/)
    assert.equal(tools.runs.list_files, 1)
    assert.deepEqual(records.map((r) => [r.tool, r.action]), [['list_files', 'allow']])
    assert.equal(records[0].arguments, undefined, 'argument values are not logged by default')
    assert.match(records[0].arguments_digest, /^[0-9a-f]{64}$/)
  })

  test('deny: an isError result with the refusal; the tool does not run', async () => {
    const { tools, call } = await setUp()
    const result = await call('drop_database')
    assert.equal(result.isError, true)
    assert.match(textOf(result), /acme\/drop_database was denied by policy and did not run/)
    assert.equal(result._meta[META].action, 'deny')
    assert.equal(tools.runs.drop_database, 0)
  })

  test('unknown tool: denied like any denial', async () => {
    const { tools, call, records } = await setUp()
    const result = await call('launch_rockets')
    assert.equal(result.isError, true)
    assert.match(textOf(result), /acme\/launch_rockets was denied/)
    assert.equal(records[0].reason, 'unknown_tool')
    assert.equal(tools.runs.launch_rockets, 0)
  })

  test('step_up: a URL elicitation error; after re-authentication the retry runs', async () => {
    const { tools, call, sessions, records } = await setUp()
    const error = await call('share_file').then(
      () => assert.fail('a step-up must not return a result'),
      (e) => e,
    )
    assert.ok(error instanceof UrlElicitationRequiredError, String(error))
    assert.equal(error.code, ErrorCode.UrlElicitationRequired)
    assert.equal(error.code, -32042)
    const [elicitation] = error.elicitations
    assert.equal(elicitation.mode, 'url')
    assert.match(elicitation.url, /^https:\/\/login\.acme\.example\/step-up\?id=/)
    assert.match(elicitation.message, /must re-authenticate/)
    assert.equal(tools.runs.share_file, 0)
    // Retried before signing in again: still paused.
    await assert.rejects(call('share_file'), UrlElicitationRequiredError)
    assert.equal(tools.runs.share_file, 0)
    // The host's sign-in page records the new authentication in the session.
    sessions.set('token-alice', { user: 'alice', auth: { time: Date.now() } })
    const result = await call('share_file')
    assert.equal(result.isError, undefined)
    assert.equal(tools.runs.share_file, 1)
    assert.deepEqual(records.map((r) => r.action), ['step_up', 'step_up', 'allow'])
  })

  test('request_approval: pending → approved (SPEC §8) → the retry runs exactly once', async () => {
    const { tools, call, approvals, records } = await setUp()
    const pending = await call('delete_repository', 'acme/site')
    assert.equal(pending.isError, true)
    assert.match(textOf(pending), /needs an approver's approval first/)
    const { approval_id: id } = pending._meta[META]
    assert.equal(pending._meta[META].action, 'request_approval')
    const { state } = await approvals.get(id)
    assert.equal(state.status, 'pending')
    assert.equal(state.user, 'alice')
    assert.equal(state.tool, 'delete_repository')
    assert.notEqual(state.arguments, null, 'the request is bound to the call\'s arguments')
    // Retried while pending: still pending, no second request.
    const again = await call('delete_repository', 'acme/site')
    assert.equal(again._meta[META].approval_id, id)
    assert.equal((await approvals.list()).length, 1)
    // Bob approves through the store (SPEC §8.3).
    assert.deepEqual((await approvals.pendingFor(policies, 'bob', Date.now())).map((r) => r.state.id), [id])
    await approvals.approve(policies, id, 'bob', Date.now())
    // Another call of the same tool is another call: it does not ride on the grant.
    const other = await call('delete_repository', 'acme/other')
    assert.equal(other.isError, true)
    assert.equal(tools.runs.delete_repository, 0)
    const result = await call('delete_repository', 'acme/site')
    assert.equal(result.isError, undefined)
    assert.equal(tools.runs.delete_repository, 1)
    assert.deepEqual(records.at(-1).satisfied, ['delete-review'])
    // The grant was for that one call: a new identical call asks again.
    const later = await call('delete_repository', 'acme/site')
    assert.equal(later.isError, true)
    assert.notEqual(later._meta[META].approval_id, id)
    assert.equal(tools.runs.delete_repository, 1, 'ran exactly once')
  })

  test('request_approval rejected: the tool never runs', async () => {
    const { tools, call, approvals } = await setUp()
    const pending = await call('delete_repository', 'acme/site')
    const id = pending._meta[META].approval_id
    await approvals.reject(policies, id, 'bob', Date.now())
    const result = await call('delete_repository', 'acme/site')
    assert.equal(result.isError, true)
    assert.equal(result._meta[META].approval_status, 'rejected')
    assert.match(textOf(result), /denied by policy and did not run/)
    assert.equal(tools.runs.delete_repository, 0)
  })

  test('identity comes from the host: no session, no run; arguments never name the user', async () => {
    const { tools, call, sessions, client } = await setUp()
    const spoofed = await client.callTool({ name: 'list_files', arguments: { target: 'x', user: 'bob' } })
    assert.equal(spoofed.isError, undefined)
    sessions.delete('token-alice')
    const result = await call('list_files')
    assert.equal(result.isError, true, 'an error inside the adapter blocks the call')
    assert.match(textOf(result), /no `user`|identity/)
    assert.equal(tools.runs.list_files, 1)
  })

  test('a counter proves that no blocked tool ever ran', async () => {
    const { tools, call } = await setUp()
    for (const name of TOOLS) await call(name).catch(() => {})
    assert.deepEqual(tools.runs, { list_files: 1, drop_database: 0, share_file: 0, delete_repository: 0, launch_rockets: 0 })
  })
})
