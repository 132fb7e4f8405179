'use strict'

// An approval store on PostgreSQL, for a fleet of services sharing approval requests.
//
// `PostgresApprovalStore` is a `MemoryApprovalStore` whose four storage methods (`load`,
// `insert`, `compareAndSwap`, `list`) are SQL on one table, `agen_policy_approvals`; the
// operations (`open`, `approve`, `reject`, `cancel`, `tick`, `grant`, `get`, `pendingFor`) are
// the memory store's: the engine computes each state, and every write is a compare-and-swap,
// `UPDATE ... WHERE id = $1 AND version = $2`. Under PostgreSQL's READ COMMITTED an UPDATE that
// waited for a concurrent writer re-checks its WHERE on the committed row, so of two updates
// computed from one version exactly one writes and the other starts again from the new state.
//
// The schema ships as SQL files in `sql/` (the same files as the Python package's); `migrate()`
// applies those not yet recorded in `agen_policy_migrations`, in one transaction under an
// advisory lock. A database that cannot be reached fails closed: the operation rejects with a
// `StoreError` (`store_unavailable`, `store_not_migrated` or `store_error`) and nothing changes.
//
// Needs the `pg` package (an optional peer dependency), required when a store is made from a
// connection string; a host may pass its own `pg.Pool` instead.

const { readdirSync, readFileSync } = require('node:fs')
const { join } = require('node:path')

const { ArgumentError, MemoryApprovalStore, PolicyError } = require('./index.js')

const TABLE = 'agen_policy_approvals'
// The key of the advisory lock migrations hold: the same in every language.
const MIGRATION_LOCK = 7316948201
const SQL_DIR = join(__dirname, 'sql')

// The approval store's database did not answer as it should; nothing was written. `code` is
// `store_unavailable` (the database cannot be reached, or the connection broke),
// `store_not_migrated` (the table is missing: run `migrate()`) or `store_error`.
class StoreError extends PolicyError {
  constructor(message, code, options) {
    super(`${code}: ${message}`, code, options)
  }
}

// The shipped migrations, in order: `{ version, name, sql }`.
function migrations() {
  return readdirSync(SQL_DIR)
    .filter((name) => /^\d{4}_.*\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: Number(name.slice(0, 4)), name, sql: readFileSync(join(SQL_DIR, name), 'utf8') }))
}

// Errors of a connection, not of a statement: pg's own (no SQLSTATE) and the system's.
const SQLSTATE = /^[0-9A-Z]{5}$/

function storeError(error) {
  const detail = String(error?.message ?? error).split('\n')[0]
  const code = typeof error?.code === 'string' ? error.code : undefined
  if (code === '42P01') {
    return new StoreError(`the table \`${TABLE}\` does not exist: apply the migrations (migrate()): ${detail}`, 'store_not_migrated', { cause: error })
  }
  // 08: connection exception; 53: insufficient resources; 57P: the server shutting down.
  if (code === undefined || !SQLSTATE.test(code) || code.startsWith('08') || code.startsWith('53') || code.startsWith('57P')) {
    return new StoreError(`the approval database cannot be reached: ${detail}`, 'store_unavailable', { cause: error })
  }
  return new StoreError(`the approval database failed: ${detail}`, 'store_error', { cause: error })
}

function loadPg() {
  try {
    return require('pg')
  } catch (e) {
    throw new StoreError('PostgresApprovalStore needs the `pg` package: npm install pg', 'store_unavailable', { cause: e })
  }
}

class PostgresApprovalStore extends MemoryApprovalStore {
  #pool
  #ownPool

  // `target` is a connection string (a pool of `pg` is made, and ended by `close()`) or the
  // host's own `pg.Pool` (or anything with its `query` and `connect`). Options: `retries` (the
  // compare-and-swap tries of one update, 16), `connectTimeout` (milliseconds a new connection
  // may take before the call fails with `store_unavailable`, 10000) and `max` (connections in
  // the pool, 4), the last two for a pool made here.
  constructor(target, options) {
    const { retries, connectTimeout = 10000, max = 4, ...rest } = options ?? {}
    for (const key of Object.keys(rest)) {
      throw new ArgumentError(`new PostgresApprovalStore(target, options): unknown option \`${key}\` (expected retries, connectTimeout, max)`)
    }
    super(retries === undefined ? undefined : { retries })
    if (typeof target === 'string') {
      if (!Number.isSafeInteger(connectTimeout) || connectTimeout < 1) {
        throw new ArgumentError('new PostgresApprovalStore(target, options): `connectTimeout` must be a positive integer of milliseconds')
      }
      const { Pool } = loadPg()
      this.#pool = new Pool({ connectionString: target, connectionTimeoutMillis: connectTimeout, max })
      // A connection the server ends while idle is reported here; the next query connects again.
      this.#pool.on('error', () => {})
      this.#ownPool = true
    } else if (target !== null && typeof target === 'object' && typeof target.query === 'function' && typeof target.connect === 'function') {
      this.#pool = target
      this.#ownPool = false
    } else {
      throw new ArgumentError('new PostgresApprovalStore(target): `target` must be a connection string or a pg.Pool')
    }
  }

  async #query(text, values) {
    try {
      return await this.#pool.query(text, values)
    } catch (e) {
      throw storeError(e)
    }
  }

  // Applies the shipped migrations the database has not recorded, in order, in one transaction
  // under an advisory lock (processes migrating together apply each once); resolves to the
  // versions applied now.
  async migrate() {
    let client
    try {
      client = await this.#pool.connect()
    } catch (e) {
      throw storeError(e)
    }
    const applied = []
    let failure
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
      await client.query(readFileSync(join(SQL_DIR, 'migrations.sql'), 'utf8'))
      const done = new Set((await client.query('SELECT version FROM agen_policy_migrations')).rows.map((r) => Number(r.version)))
      for (const { version, name, sql } of migrations()) {
        if (done.has(version)) continue
        await client.query(sql)
        await client.query('INSERT INTO agen_policy_migrations (version, name) VALUES ($1, $2)', [version, name])
        applied.push(version)
      }
      await client.query('COMMIT')
    } catch (e) {
      failure = e
      await client.query('ROLLBACK').catch(() => {})
      throw storeError(e)
    } finally {
      client.release(failure)
    }
    return applied
  }

  // Ends the pool made from a connection string (a host's pool is the host's to end).
  async close() {
    if (this.#ownPool) await this.#pool.end()
  }

  // --- Storage ---

  async load(id) {
    const { rows } = await this.#query(`SELECT state, version FROM ${TABLE} WHERE id = $1`, [id])
    return rows.length === 0 ? undefined : { version: Number(rows[0].version), state: rows[0].state }
  }

  async insert(id, state) {
    const { rowCount } = await this.#query(
      `INSERT INTO ${TABLE} (id, state, status, version) VALUES ($1, $2::jsonb, $3, 1) ON CONFLICT (id) DO NOTHING`,
      [id, JSON.stringify(state), state.status],
    )
    return rowCount === 1
  }

  async compareAndSwap(id, version, state) {
    // INVARIANT: a state is written only over the version it was computed from.
    const { rowCount } = await this.#query(
      `UPDATE ${TABLE} SET state = $1::jsonb, status = $2, version = version + 1, updated = now() WHERE id = $3 AND version = $4`,
      [JSON.stringify(state), state.status, id, version],
    )
    return rowCount === 1
  }

  // The pending requests only: `pendingFor` needs no others.
  async list() {
    const { rows } = await this.#query(`SELECT state, version FROM ${TABLE} WHERE status = 'pending' ORDER BY id`)
    return rows.map((row) => ({ version: Number(row.version), state: row.state }))
  }
}

module.exports = { PostgresApprovalStore, StoreError, migrations }
