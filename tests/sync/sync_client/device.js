'use strict'
// One phone: a WatermelonDB database (LokiJS, in memory) with Homeward's local schema, and
// synchronize() wired to the server the way Sync/Frontend.md of WatermelonDB shows it.
// The tables and raw columns are those of docs/sync.md; keep the two in step.

const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { schemaMigrations } = require('@nozbe/watermelondb/Schema/migrations')
const { synchronize } = require('@nozbe/watermelondb/sync')

const SCHEMA_VERSION = 1

const s = (name, more = {}) => ({ name, type: 'string', ...more })
const n = (name, more = {}) => ({ name, type: 'number', ...more })
const b = (name, more = {}) => ({ name, type: 'boolean', ...more })
const optional = { isOptional: true }

const GRANTS = tableSchema({
  name: 'grants',
  columns: [
    s('member_name', optional),
    s('mentor_name', optional),
    s('scopes'),
    b('share_history'),
    n('created_at'),
    n('expires_at', optional),
    n('revoked_at', optional),
    b('in_force'),
  ],
})

const MEMBER_TABLES = [
  tableSchema({
    name: 'appointments',
    columns: [
      s('title'),
      s('kind'),
      s('starts_at'),
      s('ends_at', optional),
      s('timezone'),
      s('location', optional),
      s('notes', optional),
      s('recurrence', optional),
      s('reminder_offsets'),
      s('channels'),
      s('status'),
      n('created_at'),
      n('updated_at'),
    ],
  }),
  tableSchema({
    name: 'checkins',
    columns: [
      n('mood'),
      s('needs'),
      s('wins', optional),
      s('note', optional),
      b('help_requested'),
      s('place', optional),
      n('recorded_at'),
      n('created_at'),
      n('updated_at'),
    ],
  }),
  tableSchema({
    name: 'plan_goals',
    columns: [
      s('area'),
      s('title'),
      s('why', optional),
      s('status'),
      s('target_date', optional),
      n('position'),
      n('created_at'),
      n('updated_at'),
    ],
  }),
  tableSchema({
    name: 'plan_steps',
    columns: [
      s('goal_id', { isIndexed: true }),
      s('title'),
      s('notes', optional),
      s('status'),
      s('due_date', optional),
      s('due_time', optional),
      s('timezone', optional),
      b('remind'),
      s('bring'),
      n('position'),
      s('listing_id', optional),
      s('appointment_id', optional),
      n('created_at'),
      n('updated_at'),
    ],
  }),
  tableSchema({
    name: 'plan_suggestions',
    columns: [
      s('mentor_name', optional),
      s('goal_id', optional),
      s('title'),
      s('notes', optional),
      s('status'),
      s('step_id', optional),
      n('created_at'),
      n('decided_at', optional),
    ],
  }),
  tableSchema({
    name: 'checkin_responses',
    columns: [
      s('checkin_id', { isIndexed: true }),
      s('body'),
      s('mentor_name', optional),
      n('created_at'),
    ],
  }),
  tableSchema({
    name: 'saved_resources',
    columns: [s('resource_id', { isIndexed: true }), s('kind'), s('name'), n('created_at')],
  }),
  GRANTS,
  tableSchema({
    name: 'resources',
    columns: [
      s('kind'),
      s('name'),
      s('organization_name', optional),
      s('description'),
      s('address', optional),
      n('latitude', optional),
      n('longitude', optional),
      s('phone', optional),
      b('fair_chance', optional),
      s('accepts_records', optional),
      n('valid_through', optional),
      n('last_verified_at', optional),
    ],
  }),
  tableSchema({
    name: 'reminders',
    columns: [
      s('appointment_id', { isIndexed: true }),
      n('occurrence_at'),
      n('remind_at'),
      s('offset'),
      s('state'),
      s('push_state', optional),
      s('push_reason', optional),
      s('sms_state', optional),
      s('sms_reason', optional),
      s('detail', optional),
    ],
  }),
]

const MENTOR_TABLES = [
  GRANTS,
  tableSchema({
    name: 'shared_checkins',
    columns: [
      s('member_id', { isIndexed: true }),
      s('member_name', optional),
      n('recorded_at'),
      n('created_at'),
      // Only what the grant's scopes allow arrives; the rest stays null.
      n('mood', optional),
      s('needs', optional),
      b('help_requested', optional),
      s('wins', optional),
      s('note', optional),
      s('place', optional),
    ],
  }),
  tableSchema({
    name: 'shared_plan_steps',
    columns: [
      s('member_id', { isIndexed: true }),
      s('member_name', optional),
      s('goal_id'),
      s('goal_area'),
      s('goal_title'),
      s('goal_status'),
      s('title'),
      s('status'),
      s('due_date', optional),
      n('position'),
      // Only under plan.full; null under plan.progress.
      s('notes', optional),
      s('bring', optional),
    ],
  }),
  tableSchema({
    name: 'alerts',
    columns: [
      s('member_id', { isIndexed: true }),
      s('member_name', optional),
      s('checkin_id'),
      n('asked_at'),
      s('body'),
    ],
  }),
]

// Plain models, no decorators (no build step). The createdAt/updatedAt getters stand in
// for the usual `@readonly @date('created_at')` fields: WatermelonDB checks for those
// property names to stamp created_at on create and updated_at on every update, as an app
// built with decorators would.
function modelFor(table) {
  const columns = new Set(table.columnArray.map((column) => column.name))
  const TableModel = class extends Model {
    static table = table.name
  }
  if (columns.has('created_at')) {
    Object.defineProperty(TableModel.prototype, 'createdAt', {
      get() {
        return this._getRaw('created_at')
      },
    })
  }
  if (columns.has('updated_at')) {
    Object.defineProperty(TableModel.prototype, 'updatedAt', {
      get() {
        return this._getRaw('updated_at')
      },
    })
  }
  return TableModel
}

/** An error the server answered with: the status and the problem+json body. */
class ServerError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url} answered ${status}: ${body}`)
    this.status = status
    this.body = body
  }
}

class Device {
  // honoursStrategy false: pullChanges exactly as Frontend.md's first snippet writes it,
  // returning only { changes, timestamp } (most apps copy it), so a replacement sync is
  // applied as an ordinary one and only `deleted` takes records off the phone.
  constructor({ name, role, baseUrl, token, honoursStrategy = true }) {
    this.name = name
    this.honoursStrategy = honoursStrategy
    this.baseUrl = baseUrl
    this.token = token
    this.tables = role === 'mentor' ? MENTOR_TABLES : MEMBER_TABLES
    const schema = appSchema({ version: SCHEMA_VERSION, tables: this.tables })
    const adapter = new LokiJSAdapter({
      schema,
      migrations: schemaMigrations({ migrations: [] }),
      dbName: `homeward-${name}`,
      // In memory, in this process: Node has no IndexedDB and no Web Worker.
      useWebWorker: false,
      useIncrementalIndexedDB: false,
      // No autosave timer: there is nothing to save to, and it would keep Node alive.
      extraLokiOptions: { autosave: false },
      onSetUpError: (error) => {
        throw error
      },
    })
    this.database = new Database({ adapter, modelClasses: this.tables.map(modelFor) })
    // Every HTTP exchange of this device, in order: what the scenarios assert on.
    this.requests = []
    // Run once between the pull and the push of the next sync: the conflict scenario lets
    // another phone push in that gap.
    this.beforeNextPush = null
  }

  collection(table) {
    return this.database.get(table)
  }

  async fetchJson(method, path, body) {
    const url = `${this.baseUrl}${path}`
    const response = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    if (!response.ok) {
      throw new ServerError(method, path, response.status, text)
    }
    return text ? JSON.parse(text) : null
  }

  // pullChanges and pushChanges as Sync/Frontend.md writes them, plus the bearer token.
  // Every exchange is logged in this.requests.
  async pullChanges({ lastPulledAt, schemaVersion, migration }) {
    const urlParams = `last_pulled_at=${lastPulledAt}&schema_version=${schemaVersion}&migration=${encodeURIComponent(
      JSON.stringify(migration),
    )}`
    const path = `/api/v1/sync?${urlParams}`
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { Authorization: `Bearer ${this.token}` },
    })
    if (!response.ok) {
      const text = await response.text()
      this.requests.push({ method: 'GET', lastPulledAt, status: response.status, body: text })
      throw new ServerError('GET', path, response.status, text)
    }
    // Frontend.md, "Replacement Sync": the strategy is handed on to synchronize() too.
    const { changes, timestamp, experimentalStrategy } = await response.json()
    this.requests.push({
      method: 'GET',
      lastPulledAt,
      status: response.status,
      timestamp,
      ...(experimentalStrategy ? { experimentalStrategy } : {}),
      counts: countChanges(changes),
    })
    if (!this.honoursStrategy) {
      return { changes, timestamp }
    }
    return { changes, timestamp, ...(experimentalStrategy ? { experimentalStrategy } : {}) }
  }

  async pushChanges({ changes, lastPulledAt }) {
    if (this.beforeNextPush) {
      const hook = this.beforeNextPush
      this.beforeNextPush = null
      await hook()
    }
    const path = `/api/v1/sync?last_pulled_at=${lastPulledAt}`
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      // No Content-Type, as in Frontend.md: fetch() then labels the body text/plain.
      headers: { Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(changes),
    })
    const text = await response.text()
    const exchange = {
      method: 'POST',
      lastPulledAt,
      status: response.status,
      counts: countChanges(changes),
    }
    this.requests.push(exchange)
    if (!response.ok) {
      exchange.body = text
      throw new ServerError('POST', path, response.status, text)
    }
    // WatermelonDB reads experimentalRejectedIds from what pushChanges returns: those
    // records stay unsynced on the phone.
    const result = JSON.parse(text)
    exchange.rejected = result.experimentalRejectedIds ?? null
    return result
  }

  async syncOnce() {
    await synchronize({
      database: this.database,
      pullChanges: (args) => this.pullChanges(args),
      pushChanges: (args) => this.pushChanges(args),
      migrationsEnabledAtVersion: 1,
    })
  }

  /**
   * synchronize(), retried once when it fails, as Sync/Frontend.md advises: a push the
   * server refuses because a record changed after our pull (409) succeeds after pulling
   * and merging again. Answers {attempts, firstError} so scenarios can assert which
   * syncs needed the retry and why.
   */
  async syncWithRetry() {
    try {
      await this.syncOnce()
      return { attempts: 1, firstError: null }
    } catch (error) {
      const firstError = { status: error.status ?? null, message: error.message }
      await this.syncOnce()
      return { attempts: 2, firstError }
    }
  }

  /** A sync that must succeed at the first attempt, with every pushed record accepted. */
  async sync() {
    const before = this.requests.length
    const result = await this.syncWithRetry()
    if (result.attempts !== 1) {
      throw new Error(
        `${this.name}: sync needed a retry, but nothing should have conflicted: ` +
          result.firstError.message,
      )
    }
    for (const exchange of this.requests.slice(before)) {
      if (exchange.rejected && Object.keys(exchange.rejected).length > 0) {
        throw new Error(
          `${this.name}: the server rejected pushed records: ${JSON.stringify(exchange.rejected)}`,
        )
      }
    }
    return result
  }

  async create(table, values) {
    let created
    await this.database.write(async () => {
      created = await this.collection(table).create((record) => {
        for (const [column, value] of Object.entries(values)) {
          record._setRaw(column, value)
        }
      })
    })
    return created.id
  }

  async update(table, id, values) {
    await this.database.write(async () => {
      const record = await this.collection(table).find(id)
      await record.update((r) => {
        for (const [column, value] of Object.entries(values)) {
          r._setRaw(column, value)
        }
      })
    })
  }

  async markAsDeleted(table, id) {
    await this.database.write(async () => {
      const record = await this.collection(table).find(id)
      await record.markAsDeleted()
    })
  }

  /** The records of a table as raw objects by id, local bookkeeping included. */
  async rawRecords(table) {
    const records = await this.collection(table).query().fetch()
    const byId = {}
    for (const record of records) {
      byId[record.id] = { ...record._raw }
    }
    return byId
  }

  /** The records of a table as the server should know them: without _status/_changed. */
  async records(table) {
    const raws = await this.rawRecords(table)
    for (const raw of Object.values(raws)) {
      delete raw._status
      delete raw._changed
    }
    return raws
  }

  /** Every table: records, and which ones are not synced (created/updated/deleted locally). */
  async snapshot() {
    const tables = {}
    const unsynced = []
    for (const table of this.tables) {
      tables[table.name] = await this.records(table.name)
      for (const raw of Object.values(await this.rawRecords(table.name))) {
        if (raw._status !== 'synced') {
          unsynced.push(`${table.name}/${raw.id} (${raw._status})`)
        }
      }
      for (const id of await this.database.adapter.getDeletedRecords(table.name)) {
        unsynced.push(`${table.name}/${id} (deleted)`)
      }
    }
    return { tables, unsynced }
  }
}

function countChanges(changes) {
  const counts = {}
  for (const [table, { created, updated, deleted }] of Object.entries(changes || {})) {
    const total = created.length + updated.length + deleted.length
    if (total) {
      counts[table] = { created: created.length, updated: updated.length, deleted: deleted.length }
    }
  }
  return counts
}

module.exports = { Device, ServerError }
