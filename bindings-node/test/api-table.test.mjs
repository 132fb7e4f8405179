// docs/api.md is the one table of names every language must match: each Node cell that names
// something must name an export of this package (and a declaration of its types), so the table
// and the code cannot drift apart.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import * as esm from 'agen-policy'

const cjs = createRequire(import.meta.url)('agen-policy')
const table = readFileSync(fileURLToPath(new URL('../../docs/api.md', import.meta.url)), 'utf8')
const types = readFileSync(fileURLToPath(new URL('../index.d.ts', import.meta.url)), 'utf8')

/** Every row of every table whose header has a `Node` column: `{ concept, node }`. */
export function nodeCells(markdown) {
  const rows = []
  let column
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      column = undefined
      continue
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    if (column === undefined) {
      column = cells.indexOf('Node')
      if (column < 0) column = null
      continue
    }
    if (column === null || cells.every((c) => /^-+$/.test(c))) continue
    rows.push({ concept: cells[0], node: cells[column] })
  }
  return rows
}

/** The names a table asks of the package: a cell holding one backticked name, but `object`. */
export function namesIn(rows) {
  const names = []
  for (const { concept, node } of rows) {
    if (node === '—') continue
    const match = /^`([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)`$/.exec(node)
    assert.ok(match, `${concept}: the Node cell must be one backticked name or —, not ${JSON.stringify(node)}`)
    if (match[1] !== 'object') names.push({ concept, name: match[1] })
  }
  return names
}

// Own members of a class or function and of its prototype chain, up to the built-in ones.
function hasMember(exported, member) {
  for (let o = exported; o && o !== Function.prototype && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, member)) return true
  }
  for (let o = exported.prototype; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, member)) return true
  }
  return false
}

// A name the generated declarations export (a class, function, interface, type or const).
function declared(name) {
  return new RegExp(`^export (?:declare )?(?:class|function|interface|type|const) ${name}\\b`, 'm').test(types)
}

/** Why `name` is not in the package, or undefined when it is. */
export function missing(name, module = cjs) {
  const [exportName, member] = name.split('.')
  const exported = module[exportName]
  if (member === undefined) {
    if (exported !== undefined) return declared(exportName) ? undefined : `\`${exportName}\` is exported but not declared in index.d.ts`
    // A shape without a runtime value (a decision is a plain object) is a declared type.
    return declared(exportName) ? undefined : `no export \`${exportName}\``
  }
  if (exported === undefined) return `no export \`${exportName}\``
  if (!hasMember(exported, member)) return `\`${exportName}\` has no member \`${member}\``
  return new RegExp(`^\\s+(?:static |readonly |get )*${member}\\b`, 'm').test(declarationOf(exportName))
    ? undefined
    : `\`${exportName}.${member}\` is not declared in index.d.ts`
}

// The body of `export declare class Name { ... }` in index.d.ts.
function declarationOf(name) {
  const start = types.search(new RegExp(`^export declare class ${name}\\b`, 'm'))
  if (start < 0) return ''
  const end = types.indexOf('\n}', start)
  return types.slice(start, end)
}

describe('docs/api.md, the Node column', () => {
  const rows = nodeCells(table)
  const names = namesIn(rows)

  test('the table is read: every section, with names to check', () => {
    assert.ok(rows.length >= 50, `${rows.length} rows`)
    for (const expected of ['PolicySet.fromObject', 'Engine.evaluateJson', 'runTests', 'argumentsDigest', 'PolicySet.checkApprover', 'MemoryApprovalStore', 'ApprovalError', 'Guard.check']) {
      assert.ok(names.some((n) => n.name === expected), expected)
    }
  })

  for (const { concept, name } of names) {
    test(`${concept}: ${name}`, () => {
      assert.equal(missing(name), undefined)
      assert.equal(esm[name.split('.')[0]], cjs[name.split('.')[0]], 'the ES module exports the same')
    })
  }

  test('a name the package lacks fails the check', () => {
    const drifted = namesIn(nodeCells('| concept | Rust | Node |\n|---|---|---|\n| x | `x` | `PolicySet.evaluateKeywords` |\n| y | `y` | `approve` |\n| z | `z` | — |'))
    assert.deepEqual(drifted.map((n) => n.name), ['PolicySet.evaluateKeywords', 'approve'])
    assert.match(missing('PolicySet.evaluateKeywords'), /no member/)
    assert.match(missing('approve'), /no export/)
    assert.match(missing('Engine.nope'), /no member/)
    assert.equal(missing('PolicySet.version'), undefined, 'a getter counts')
    assert.equal(missing('Decision'), undefined, 'a declared type counts')
    assert.throws(() => namesIn([{ concept: 'x', node: 'evaluate' }]), /backticked/)
  })
})
