// Hot reload: an Engine swaps its policy set at once, refuses an invalid document and keeps the
// old set, and every decision names the version of the set that made it.

import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { ArgumentError, DocumentError, Engine, Guard, PolicySet, ToolDenied } from 'agen-policy'

const ACTIONS = ['allow', 'step_up', 'request_approval', 'deny']

function documentOf(i) {
  return {
    connectors: [{ id: 'c', tools: [{ name: 't' }] }],
    policies: [
      { id: `p${i}`, name: `Version ${i}`, connector: 'c', action: ACTIONS[i % 4], all_users: true, tools: 'all' },
    ],
  }
}

const request = { user: 'u', connector: 'c', tool: 't' }

describe('Engine', () => {
  test('reload swaps the set and returns its version', () => {
    const engine = new Engine(PolicySet.fromObject(documentOf(0)))
    const first = engine.version
    assert.equal(engine.evaluate(request).action, 'allow')
    assert.equal(engine.evaluate(request).version, first)
    const version = engine.reload(JSON.stringify(documentOf(3)))
    assert.notEqual(version, first)
    assert.equal(engine.version, version)
    const decision = engine.evaluate(request)
    assert.equal(decision.action, 'deny')
    assert.equal(decision.version, version)
    assert.equal(engine.reload(documentOf(1)), PolicySet.fromObject(documentOf(1)).version)
    assert.equal(engine.current.version, engine.version)
  })

  test('the fast and general paths carry the same version', () => {
    const set = PolicySet.fromObject(documentOf(2))
    assert.equal(set.evaluate(request).version, set.version)
    assert.equal(set.evaluateJson(JSON.stringify(request)).version, set.version)
    assert.equal(set.evaluateMany([request])[0].version, set.version)
    assert.equal(set.explain(request).decision.version, set.version)
  })

  test('an invalid document is refused and the old set keeps serving', () => {
    const engine = new Engine(PolicySet.fromObject(documentOf(0)))
    const before = engine.version
    assert.throws(() => engine.reload('{"connectors": [], "policies": [{"id": "p"}]}'), (e) => {
      assert.ok(e instanceof DocumentError)
      assert.equal(e.problems[0].path, '/policies/0')
      return true
    })
    assert.throws(() => engine.reload('{'), DocumentError)
    assert.equal(engine.version, before)
    assert.equal(engine.evaluate(request).action, 'allow')
  })

  test('reloadFile and replace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agen-engine-'))
    const path = join(dir, 'policies.json')
    writeFileSync(path, JSON.stringify(documentOf(2)))
    const engine = new Engine(PolicySet.fromObject(documentOf(0)))
    assert.equal(engine.reloadFile(path), engine.version)
    assert.equal(engine.evaluate(request).action, 'request_approval')
    const replacement = PolicySet.fromObject(documentOf(1))
    const old = engine.replace(replacement)
    assert.equal(old.version, PolicySet.fromObject(documentOf(2)).version)
    assert.equal(engine.current, replacement)
    assert.throws(() => new Engine({}), ArgumentError)
    assert.throws(() => engine.replace('not a set'), ArgumentError)
  })

  test('a guard on an engine follows reloads', () => {
    const engine = new Engine(PolicySet.fromObject(documentOf(0)))
    const guard = new Guard(engine, { user: 'u' })
    assert.equal(guard.check({ connector: 'c', tool: 't' }).action, 'allow')
    engine.reload(documentOf(3))
    assert.throws(() => guard.check({ connector: 'c', tool: 't' }), ToolDenied)
  })

  test('a thousand reloads interleaved with evaluations: each decision matches its version', async () => {
    const sets = Array.from({ length: 8 }, (_, i) => PolicySet.fromObject(documentOf(i)))
    const expected = new Map(sets.map((s, i) => [s.version, { action: ACTIONS[i % 4], policies: [`p${i}`] }]))
    const texts = sets.map((_, i) => JSON.stringify(documentOf(i)))
    const engine = new Engine(sets[0])
    let evaluations = 0
    let done = false
    // Readers interleave with the writer on the event loop, as a server's requests do.
    const reader = async () => {
      while (!done) {
        const d = engine.evaluate(request)
        const want = expected.get(d.version)
        assert.ok(want, `unknown version ${d.version}`)
        assert.equal(d.action, want.action)
        assert.deepEqual(d.policies, want.policies)
        evaluations++
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const readers = [reader(), reader(), reader()]
    for (let swap = 1; swap <= 1000; swap++) {
      engine.reload(texts[swap % 8])
      if (swap % 100 === 0) assert.throws(() => engine.reload('[]'), DocumentError)
      if (swap % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    done = true
    await Promise.all(readers)
    assert.ok(evaluations >= 3)
    assert.equal(engine.version, sets[1000 % 8].version)
  })
})
