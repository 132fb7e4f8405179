// PostgresApprovalStore: approval states kept in PostgreSQL, updated by compare-and-swap.
//
// The tests against a server need AGEN_TEST_POSTGRES_DSN (a connection string of a role that may
// create schemas); scripts/test-fleet starts a throwaway cluster and sets it. Without it they
// are skipped, saying so. Each test works in a schema of its own.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import pg from 'pg'

import { ApprovalError, ConflictError, MemoryApprovalStore, NotFoundError, PolicySet, PostgresApprovalStore, StoreError } from 'agen-policy'

const DSN = process.env.AGEN_TEST_POSTGRES_DSN ?? ''
const skip = DSN === '' ? 'no PostgreSQL server: set AGEN_TEST_POSTGRES_DSN (scripts/test-fleet starts one)' : false

const T0 = 1795600800000
const APPROVERS = Array.from({ length: 8 }, (_, i) => `p${i}`)
const DOC = {
  connectors: [{ id: 'github', tools: [{ name: 'delete' }, { name: 'purge' }] }],
  users: [{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }, { id: 'dan' }, ...APPROVERS.map((id) => ({ id }))],
  approval_flows: [
    { id: 'two', steps: [{ users: ['bob', 'carol'], min_approvals: 2 }] },
    { id: 'eight', steps: [{ users: APPROVERS, min_approvals: 8 }] },
  ],
  policies: [
    { id: 'deletes', name: 'D', connector: 'github', action: 'request_approval', approval_flow: 'two', all_users: true, tools: ['delete'] },
    { id: 'purges', name: 'P', connector: 'github', action: 'request_approval', approval_flow: 'eight', all_users: true, tools: ['purge'] },
  ],
}
const set = PolicySet.fromObject(DOC)
const REQUEST = { user: 'alice', connector: 'github', tool: 'delete' }
const PURGE = { user: 'alice', connector: 'github', tool: 'purge' }

// A connection string whose tables live in a fresh schema; `drop` removes it.
async function freshSchema() {
  const schema = `agen_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: DSN })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  const url = new URL(DSN.includes('://') ? DSN : 'postgresql://localhost')
  if (!DSN.includes('://')) throw new Error('AGEN_TEST_POSTGRES_DSN must be a postgresql:// URL for the Node tests')
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    dsn: url.href,
    async drop() {
      const c = new pg.Client({ connectionString: DSN })
      await c.connect()
      await c.query(`DROP SCHEMA ${schema} CASCADE`)
      await c.end()
    },
  }
}

async function withStore(fn, options) {
  const schema = await freshSchema()
  const store = new PostgresApprovalStore(schema.dsn, options)
  try {
    await store.migrate()
    await fn(store, schema.dsn)
  } finally {
    await store.close()
    await schema.drop()
  }
}

async function versionOf(dsn, id) {
  const c = new pg.Client({ connectionString: dsn })
  await c.connect()
  const { rows } = await c.query('SELECT version FROM agen_policy_approvals WHERE id = $1', [id])
  await c.end()
  return Number(rows[0].version)
}

test('the shipped migrations are the Python package’s', () => {
  const node = fileURLToPath(new URL('../sql/', import.meta.url))
  const python = fileURLToPath(new URL('../../bindings-python/python/agen_policy/sql/', import.meta.url))
  const names = readdirSync(node).sort()
  assert.deepEqual(names, readdirSync(python).sort())
  for (const name of names) assert.equal(readFileSync(node + name, 'utf8'), readFileSync(python + name, 'utf8'), name)
})

test('a bad target or option is an ArgumentError', () => {
  assert.throws(() => new PostgresApprovalStore(42), { code: 'invalid_argument' })
  assert.throws(() => new PostgresApprovalStore('postgresql://x', { pool: 1 }), { code: 'invalid_argument' })
  assert.ok(new PostgresApprovalStore('postgresql://x') instanceof MemoryApprovalStore)
})

async function closedPort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('a database that is down fails closed', async () => {
  const store = new PostgresApprovalStore(`postgresql://none@127.0.0.1:${await closedPort()}/none`, { connectTimeout: 2000 })
  const calls = [
    () => store.migrate(),
    () => store.open(set, REQUEST, 'two', 'a', T0),
    () => store.approve(set, 'a', 'bob', T0),
    () => store.grant(set, 'a'),
    () => store.get('a'),
    () => store.pendingFor(set, 'bob', T0),
  ]
  for (const call of calls) {
    await assert.rejects(call, (e) => {
      assert.ok(e instanceof StoreError)
      assert.equal(e.code, 'store_unavailable')
      assert.match(e.message, /^store_unavailable: the approval database cannot be reached/)
      return true
    })
  }
  await store.close()
})

describe('against PostgreSQL', { skip }, () => {
  test('open, approve, grant, and another store sees it', () =>
    withStore(async (store, dsn) => {
      const opened = await store.open(set, REQUEST, 'two', 'apr-1', T0)
      assert.deepEqual(await store.get('apr-1'), opened)
      await assert.rejects(store.get('nope'), NotFoundError)
      await store.approve(set, 'apr-1', 'bob', T0 + 1)
      const again = new PostgresApprovalStore(dsn)
      assert.deepEqual((await again.get('apr-1')).state.approvals, [['bob']])
      const done = await again.approve(set, 'apr-1', 'carol', T0 + 2)
      assert.deepEqual([done.version, done.state.status], [3, 'approved'])
      const grant = await again.grant(set, 'apr-1')
      await again.close()
      assert.deepEqual(grant.approvers, ['bob', 'carol'])
      assert.equal(set.evaluate({ ...REQUEST, now: T0 + 3, grants: [grant] }).action, 'allow')
      assert.equal(await versionOf(dsn, 'apr-1'), 3)
    }))

  test('migrations apply once, however many processes start together', async () => {
    const schema = await freshSchema()
    const stores = Array.from({ length: 6 }, () => new PostgresApprovalStore(schema.dsn))
    const applied = await Promise.all(stores.map((s) => s.migrate()))
    assert.deepEqual(applied.map((a) => a.join()).sort(), ['', '', '', '', '', '1'])
    await Promise.all(stores.map((s) => s.close()))
    await schema.drop()
  })

  test('errors', () =>
    withStore(async (store) => {
      for (const call of [() => store.approve(set, 'ghost', 'bob', T0), () => store.cancel(set, 'ghost', T0), () => store.grant(set, 'ghost')]) {
        await assert.rejects(call, { code: 'not_found' })
      }
      await store.open(set, REQUEST, 'two', 'a', T0)
      await assert.rejects(store.open(set, REQUEST, 'two', 'a', T0), ConflictError)
      await assert.rejects(store.approve(set, 'a', 'dan', T0), (e) => e instanceof ApprovalError && e.code === 'not_an_approver')
      assert.deepEqual((await store.get('a')).state.approvals, [[]])
      await store.cancel(set, 'a', T0 + 1)
      await assert.rejects(store.reject(set, 'a', 'bob', T0 + 2), { code: 'not_pending' })
    }))

  test('pendingFor lists what a person may act on', () =>
    withStore(async (store) => {
      await store.open(set, REQUEST, 'two', 'b', T0)
      await store.open(set, REQUEST, 'two', 'a', T0)
      await store.open(set, REQUEST, 'two', 'c', T0)
      await store.cancel(set, 'c', T0)
      assert.deepEqual((await store.pendingFor(set, 'bob', T0)).map((r) => r.state.id), ['a', 'b'])
      assert.deepEqual(await store.pendingFor(set, 'dan', T0), [])
      await assert.rejects(store.pendingFor(set, '', T0), { code: 'invalid_request' })
    }))

  test('a missing table says to migrate', async () => {
    const schema = await freshSchema()
    const store = new PostgresApprovalStore(schema.dsn)
    await assert.rejects(store.open(set, REQUEST, 'two', 'a', T0), (e) => e instanceof StoreError && e.code === 'store_not_migrated' && /migrate\(\)/.test(e.message))
    await store.close()
    await schema.drop()
  })

  test('endless interference is a conflict, and nothing is written', () =>
    withStore(
      async (store, dsn) => {
        await store.open(set, REQUEST, 'two', 'a', T0)
        const other = new pg.Client({ connectionString: dsn })
        await other.connect()
        let tries = 0
        const interfering = {
          approve(state, approver, now, groups) {
            tries++
            return set.approve(state, approver, now, groups)
          },
        }
        // Every compare-and-swap of the store finds the version moved by another writer.
        const swap = store.compareAndSwap.bind(store)
        store.compareAndSwap = async (id, version, state) => {
          await other.query("UPDATE agen_policy_approvals SET version = version + 1 WHERE id = 'a'")
          return swap(id, version, state)
        }
        await assert.rejects(store.approve(interfering, 'a', 'bob', T0 + 1), ConflictError)
        assert.equal(tries, 3)
        await other.end()
        delete store.compareAndSwap
        assert.deepEqual((await store.get('a')).state.approvals, [[]])
        assert.equal(await versionOf(dsn, 'a'), 4)
      },
      { retries: 3 },
    ))

  test('eight processes voting at once lose no vote', () =>
    withStore(async (store, dsn) => {
      const ids = Array.from({ length: 24 }, (_, i) => `apr-${String(i).padStart(2, '0')}`)
      for (const id of ids) await store.open(set, PURGE, 'eight', id, T0)
      const script = `
        import { PolicySet, PostgresApprovalStore } from 'agen-policy'
        const [dsn, person, ids, doc] = process.argv.slice(1)
        const set = PolicySet.fromJson(doc)
        const store = new PostgresApprovalStore(dsn)
        let counted = 0
        for (const id of JSON.parse(ids)) { await store.approve(set, id, person, ${T0 + 1}); counted++ }
        await store.close()
        process.stdout.write(String(counted))`
      const runs = APPROVERS.map(
        (person) =>
          new Promise((resolve, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script, dsn, person, JSON.stringify(ids), JSON.stringify(DOC)], {
              cwd: fileURLToPath(new URL('.', import.meta.url)),
              stdio: ['ignore', 'pipe', 'inherit'],
            })
            let out = ''
            child.stdout.on('data', (d) => (out += d))
            child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`${person} exited ${code}`))))
          }),
      )
      assert.deepEqual(await Promise.all(runs), APPROVERS.map(() => ids.length))
      for (const id of ids) {
        const { state } = await store.get(id)
        assert.equal(state.status, 'approved')
        assert.deepEqual([...state.approvals[0]].sort(), APPROVERS)
        assert.equal(await versionOf(dsn, id), 1 + APPROVERS.length) // one write per vote, no more
      }
    }))

  test('approve and reject racing end in exactly one final state', () =>
    withStore(async (store) => {
      const ids = Array.from({ length: 20 }, (_, i) => `r-${i}`)
      for (const id of ids) {
        await store.open(set, REQUEST, 'two', id, T0)
        await store.approve(set, id, 'bob', T0)
      }
      for (const id of ids) {
        const results = await Promise.allSettled([store.approve(set, id, 'carol', T0 + 1), store.reject(set, id, 'bob', T0 + 1)])
        const won = results.filter((r) => r.status === 'fulfilled')
        assert.equal(won.length, 1)
        for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'not_pending')
        assert.deepEqual((await store.get(id)).state, won[0].value.state)
      }
    }))
})
