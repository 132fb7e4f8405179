// MemoryApprovalStore: the engine's transitions on stored states, with compare-and-swap on a
// version, under concurrent approvers.

import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'

import { ApprovalError, ConflictError, MemoryApprovalStore, NotFoundError, PolicyError, PolicySet } from 'agen-policy'

const SECURITY = Array.from({ length: 12 }, (_, i) => `sec${String(i).padStart(2, '0')}`)

const set = PolicySet.fromObject({
  connectors: [{ id: 'github', tools: [{ name: 'delete_repository' }, { name: 'transfer_repository' }, { name: 'create_issue' }] }],
  groups: [{ id: 'security' }],
  users: [{ id: 'alice' }, ...SECURITY.map((id) => ({ id, groups: ['security'] }))],
  approval_flows: [
    { id: 'two-person', steps: [{ groups: ['security'], min_approvals: 2 }] },
    { id: 'everyone', steps: [{ groups: ['security'], min_approvals: SECURITY.length }] },
  ],
  policies: [
    { id: 'delete', name: 'D', connector: 'github', action: 'request_approval', approval_flow: 'two-person', all_users: true, tools: ['delete_repository'] },
    { id: 'transfer', name: 'T', connector: 'github', action: 'request_approval', approval_flow: 'everyone', all_users: true, tools: ['transfer_repository'] },
  ],
})

const T0 = 1795600800000
const deleteRepo = { user: 'alice', connector: 'github', tool: 'delete_repository' }
const transfer = { user: 'alice', connector: 'github', tool: 'transfer_repository' }

// A store whose every storage call waits a random while, as a database's would, so that
// concurrent updates interleave between reading a state and writing the next one.
class SlowStore extends MemoryApprovalStore {
  swaps = 0
  lost = 0
  async load(id) {
    await sleep(Math.random() * 3)
    return super.load(id)
  }

  async compareAndSwap(id, version, state) {
    await sleep(Math.random() * 3)
    this.swaps++
    const won = await super.compareAndSwap(id, version, state)
    if (!won) this.lost++
    return won
  }
}

// Each promise's outcome: `{ value }` or `{ error }`.
const settle = (promises) => Promise.all(promises.map((p) => p.then((value) => ({ value }), (error) => ({ error }))))

describe('MemoryApprovalStore', () => {
  test('open, get, approve, grant: every update bumps the version; methods return promises', async () => {
    const store = new MemoryApprovalStore()
    const opening = store.open(set, deleteRepo, 'two-person', 'apr-1', T0)
    assert.ok(opening instanceof Promise)
    const opened = await opening
    assert.equal(opened.version, 1)
    assert.equal(opened.state.status, 'pending')
    assert.deepEqual(await store.get('apr-1'), opened)
    const once = await store.approve(set, 'apr-1', 'sec00', T0 + 1)
    assert.equal(once.version, 2)
    const twice = await store.approve(set, 'apr-1', 'sec01', T0 + 2, [])
    assert.deepEqual([twice.version, twice.state.status], [3, 'approved'])
    assert.deepEqual((await store.grant(set, 'apr-1')).approvers, ['sec00', 'sec01'])
    // What a caller does to a returned state does not reach the store.
    ;(await store.get('apr-1')).state.status = 'pending'
    assert.equal((await store.get('apr-1')).state.status, 'approved')
  })

  test('an unknown id is not_found; an id taken is a conflict; the engine\'s errors pass through', async () => {
    const store = new MemoryApprovalStore()
    await store.open(set, deleteRepo, 'two-person', 'apr-1', T0)
    const notFound = (e) => e instanceof NotFoundError && e instanceof PolicyError && e.code === 'not_found'
    await assert.rejects(store.get('nope'), notFound)
    await assert.rejects(store.approve(set, 'nope', 'sec00', T0), notFound)
    await assert.rejects(store.tick(set, 'nope', T0), notFound)
    await assert.rejects(store.grant(set, 'nope'), notFound)
    await assert.rejects(store.open(set, deleteRepo, 'two-person', 'apr-1', T0), (e) => e instanceof ConflictError && e.code === 'conflict')
    await assert.rejects(store.open(set, { ...deleteRepo, tool: 'create_issue' }, 'two-person', 'apr-2', T0), (e) => e instanceof ApprovalError && e.code === 'not_requested')
    await assert.rejects(store.approve(set, 'apr-1', 'alice', T0), (e) => e instanceof ApprovalError && e.code === 'self_approval')
    await assert.rejects(store.grant(set, 'apr-1'), (e) => e instanceof ApprovalError && e.code === 'not_approved')
    assert.equal((await store.get('apr-1')).version, 1, 'a refused operation changes nothing')
  })

  test('twelve interleaved approvers on a two-person request: two votes count, it is approved once, none is lost', async () => {
    for (let round = 0; round < 10; round++) {
      const store = new SlowStore()
      const id = `apr-${round}`
      await store.open(set, deleteRepo, 'two-person', id, T0)
      const results = await settle(SECURITY.map((person, i) => store.approve(set, id, person, T0 + i)))
      const won = results.filter((r) => r.value !== undefined)
      const refused = results.filter((r) => r.error !== undefined)
      for (const { error } of refused) assert.ok(error instanceof ApprovalError && error.code === 'not_pending', String(error))
      assert.equal(won.length, 2, 'exactly two approvals were recorded')
      assert.equal(won.filter((r) => r.value.state.status === 'approved').length, 1, 'approved once')
      const final = await store.get(id)
      assert.equal(final.state.status, 'approved')
      assert.equal(final.version, 3)
      // No vote lost: each approver told "recorded" is in the final state.
      const voters = final.state.approvals.flat()
      assert.equal(new Set(voters).size, 2)
      for (const { value } of won) for (const p of value.state.approvals.flat()) assert.ok(voters.includes(p))
      assert.ok(store.lost > 0 || round > 0, 'updates did race')
    }
  })

  test('twelve interleaved approvers on a twelve-person request: every vote counts', async () => {
    const store = new SlowStore()
    await store.open(set, transfer, 'everyone', 'apr-all', T0)
    const results = await settle(SECURITY.map((person) => store.approve(set, 'apr-all', person, T0 + 1)))
    assert.deepEqual(results.filter((r) => r.error).map((r) => String(r.error)), [])
    const final = await store.get('apr-all')
    assert.equal(final.state.status, 'approved')
    assert.deepEqual([...final.state.approvals[0]].sort(), SECURITY)
    assert.equal(final.version, 1 + SECURITY.length)
    assert.ok(store.lost > 0, `the updates raced (${store.swaps} swaps)`)
  })

  test('one person approving twice at once counts once', async () => {
    const store = new SlowStore()
    await store.open(set, deleteRepo, 'two-person', 'apr-1', T0)
    const results = await settle([store.approve(set, 'apr-1', 'sec00', T0), store.approve(set, 'apr-1', 'sec00', T0)])
    assert.equal(results.filter((r) => r.value).length, 1)
    assert.ok(results.some((r) => r.error instanceof ApprovalError && r.error.code === 'already_voted'))
    assert.deepEqual((await store.get('apr-1')).state.approvals, [['sec00']])
  })

  test('an update that keeps losing the race gives up after `retries` tries with a ConflictError', async () => {
    class Contended extends MemoryApprovalStore {
      tries = 0
      async compareAndSwap() {
        this.tries++
        return false
      }
    }
    const store = new Contended({ retries: 5 })
    await store.open(set, deleteRepo, 'two-person', 'apr-1', T0)
    await assert.rejects(store.approve(set, 'apr-1', 'sec00', T0), (e) => e instanceof ConflictError && e.code === 'conflict' && /apr-1/.test(e.message))
    assert.equal(store.tries, 5)
    assert.throws(() => new MemoryApprovalStore({ retries: 0 }), (e) => e.code === 'invalid_argument')
    assert.throws(() => new MemoryApprovalStore({ retry: 3 }), (e) => e.code === 'invalid_argument')
  })

  test('pendingFor lists what an approver may act on now', async () => {
    const store = new MemoryApprovalStore()
    await store.open(set, deleteRepo, 'two-person', 'a', T0)
    await store.open(set, transfer, 'everyone', 'b', T0)
    await store.open(set, deleteRepo, 'two-person', 'c', T0)
    await store.cancel(set, 'c', T0)
    const ids = async (...args) => (await store.pendingFor(set, ...args)).map((r) => r.state.id).sort()
    assert.deepEqual(await ids('sec00', T0), ['a', 'b'])
    assert.deepEqual(await ids('alice', T0), [])
    assert.deepEqual(await ids('frank', T0), [])
    assert.deepEqual(await ids('frank', T0, ['security']), ['a', 'b'])
    await assert.rejects(store.pendingFor(set, '', T0), (e) => e instanceof ApprovalError && e.code === 'invalid_request')
  })
})
