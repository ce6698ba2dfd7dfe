'use strict'
// The real-client acceptance scenarios of docs/sync.md: WatermelonDB phones syncing with a
// running Homeward server. tests/test_sync_real_client.py registers the people, serves the
// app and runs one scenario per test; by hand:
//
//   HOMEWARD_URL=http://127.0.0.1:5000 MEMBER_ID=... MEMBER_TOKEN_A=... MEMBER_TOKEN_B=... \
//   MENTOR_TOKEN=... node scenarios.js two_devices_converge
//
// SYNC_STRATEGY=frontend-md makes every phone's pullChanges return only
// { changes, timestamp }, as Sync/Frontend.md's snippet does; the default hands
// experimentalStrategy on. Privacy scenarios must hold either way.
//
// MEMBER_TOKEN_A and MEMBER_TOKEN_B are two sessions of one member (two phones, A and B);
// MENTOR_TOKEN is a mentor's session (a third phone). Every scenario starts from an empty
// server database and fresh, empty phones.
//
// stdout carries one JSON document only:
//   {"ok": true, "scenario": ..., "result": {...}, "devices": {a|b|mentor: {table: {id: raw}}},
//    "requests": {a|b|mentor: [...]}, "diagnostics": [...]}
// or the same with "ok": false, "failure" and "details". The exit status is 0 only when every
// expectation held.

const util = require('node:util')

// WatermelonDB logs its routine steps with console.log: keep stdout for the result, and
// those steps out of the way unless SYNC_CLIENT_VERBOSE is set. Warnings and errors
// (console.warn, console.error) still reach stderr.
for (const level of ['log', 'info', 'debug']) {
  console[level] = process.env.SYNC_CLIENT_VERBOSE
    ? (...args) => process.stderr.write(`${util.format(...args)}\n`)
    : () => {}
}
// WatermelonDB reports what it had to repair in a pull ("Server wants client to create
// record X, but it already exists locally ...") with console.error. Those lines go to
// stderr as before and into the report, where a failing test shows them.
const diagnostics = []
const printError = console.error
console.error = (...args) => {
  diagnostics.push(util.format(...args).split('\n')[0])
  printError(...args)
}

const { Device } = require('./device')

class ExpectationFailed extends Error {
  constructor(message, details) {
    super(message)
    this.details = details
  }
}

function expect(condition, message, details = undefined) {
  if (!condition) {
    throw new ExpectationFailed(message, details)
  }
}

function env(name) {
  const value = process.env[name]
  if (!value) {
    throw new Error(`${name} is not set (see the top of scenarios.js)`)
  }
  return value
}

/** The columns in which two sets of raw records differ: [] when they are identical. */
function differences(left, right, leftName, rightName) {
  const found = []
  for (const id of new Set([...Object.keys(left), ...Object.keys(right)])) {
    if (!(id in left) || !(id in right)) {
      found.push(`${id}: only on ${id in left ? leftName : rightName}`)
      continue
    }
    for (const column of new Set([...Object.keys(left[id]), ...Object.keys(right[id])])) {
      if (left[id][column] !== right[id][column]) {
        found.push(
          `${id}.${column}: ${JSON.stringify(left[id][column])} on ${leftName}, ` +
            `${JSON.stringify(right[id][column])} on ${rightName}`,
        )
      }
    }
  }
  return found
}

/** Both phones hold the same records in every table, each of them synced. */
async function expectConverged(a, b) {
  const [left, right] = [await a.snapshot(), await b.snapshot()]
  expect(left.unsynced.length === 0, `${a.name} still has unsynced changes`, left.unsynced)
  expect(right.unsynced.length === 0, `${b.name} still has unsynced changes`, right.unsynced)
  for (const table of Object.keys(left.tables)) {
    const found = differences(left.tables[table], right.tables[table], a.name, b.name)
    expect(found.length === 0, `${a.name} and ${b.name} differ in ${table}`, found)
  }
  return left.tables
}

// A wall-clock time some days ahead, as appointments store it (YYYY-MM-DDTHH:MM).
function daysAhead(days, time) {
  const date = new Date(Date.now() + days * 86_400_000)
  return `${date.toISOString().slice(0, 10)}T${time}`
}

function appointment(title, kind, days) {
  return {
    title,
    kind,
    starts_at: daysAhead(days, '09:30'),
    ends_at: null,
    timezone: 'America/Los_Angeles',
    location: null,
    notes: null,
    recurrence: null,
    reminder_offsets: '1d@18:00,2h',
    channels: 'push',
    status: 'scheduled',
  }
}

// Words of the member's plan a plan.progress grant never shows.
const PLAN_WHY = 'So my daughter can stay over on weekends'
const PLAN_NOTES = 'Ask whether the record matters for this one'
const PLAN_BRING = ['Release papers', 'Two pay stubs']

function checkin(fields) {
  return {
    mood: 3,
    needs: '',
    wins: null,
    note: null,
    help_requested: false,
    place: null,
    recorded_at: Date.now(),
    ...fields,
  }
}

const SCENARIOS = {
  // Two phones of one member, each edited offline, end up holding the same records.
  async two_devices_converge({ a, b }) {
    await a.sync()
    await b.sync()
    const shared = await a.create(
      'appointments',
      appointment('Probation check-in', 'supervision', 20),
    )
    await a.sync()
    await b.sync()
    expect(
      (await b.records('appointments'))[shared],
      'B did not pull the appointment A made before both went offline',
    )

    // Offline on both: a new record on each, and the shared appointment edited in a
    // different column on each.
    const court = await a.create('appointments', appointment('Court date', 'court', 30))
    await a.update('appointments', shared, { location: 'Room 204, 400 County Center' })
    const mood = await b.create('checkins', checkin({ mood: 4, needs: 'housing,work' }))
    await b.update('appointments', shared, { notes: 'Bring the last two pay stubs' })

    // A, B, A: each pulls what the other pushed. B pulls A's edit of the shared appointment
    // before it pushes, so B's push is no conflict: WatermelonDB merges per column. The
    // last round (B) lets B pull what the server stamped on B's own push (created_at and
    // updated_at come from the server clock).
    await a.sync()
    await b.sync()
    await a.sync()
    await b.sync()

    const tables = await expectConverged(a, b)
    expect(tables.appointments[court]?.title === 'Court date', 'B lacks the court date A made')
    expect(tables.checkins[mood]?.needs === 'housing,work', 'A lacks the check-in B made')
    const merged = tables.appointments[shared]
    expect(
      merged?.location === 'Room 204, 400 County Center' &&
        merged?.notes === 'Bring the last two pay stubs',
      'the shared appointment lost one of the two offline edits',
      merged,
    )
    return { shared, court, checkin: mood }
  },

  // A check-in deleted on one phone disappears from the other and stays gone.
  async delete_stays_deleted({ a, b }) {
    const kept = await a.create('checkins', checkin({ mood: 4, wins: 'Got my ID back' }))
    const deleted = await a.create('checkins', checkin({ mood: 1, note: 'Rough night' }))
    await a.sync()
    await b.sync()
    expect((await b.records('checkins'))[deleted], 'B did not pull the check-in to delete')

    await a.markAsDeleted('checkins', deleted)
    await a.sync()
    expect(!(await a.records('checkins'))[deleted], 'the deleted check-in is still on A')
    await b.sync()
    expect(!(await b.records('checkins'))[deleted], 'the check-in A deleted is still on B')

    // Later syncs on either phone must not bring it back.
    await b.sync()
    await a.sync()
    const tables = await expectConverged(a, b)
    expect(!tables.checkins[deleted], 'the deleted check-in came back', tables.checkins[deleted])
    expect(tables.checkins[kept], 'the other check-in went too')
    return { kept, deleted }
  },

  // A push racing another phone's push is refused (409); the retry pulls, merges, pushes.
  async conflict_is_retried({ a, b }) {
    const interview = await a.create(
      'appointments',
      appointment('Interview at the warehouse', 'job_interview', 10),
    )
    await a.sync()
    await b.sync()
    expect((await b.records('appointments'))[interview], 'B did not pull the interview')

    await b.update('appointments', interview, { notes: 'Bring ID and the forklift card' })
    // synchronize() pulls, then pushes. To be refused, B's push must meet a change the
    // server made after B's pull: A edits the same appointment (another column) and syncs
    // in exactly that gap, as a second phone on another network could.
    b.beforeNextPush = async () => {
      await a.update('appointments', interview, { location: '1200 Industrial Way, door 3' })
      await a.sync()
    }
    const outcome = await b.syncWithRetry()
    expect(
      outcome.attempts === 2 && outcome.firstError?.status === 409,
      "B's first push was not refused with 409",
      outcome,
    )
    const refused = b.requests.filter((r) => r.method === 'POST' && r.status === 409)
    expect(refused.length === 1, 'expected exactly one refused push', b.requests)
    let problem = null
    try {
      problem = JSON.parse(refused[0].body)
    } catch {
      // Not JSON: the expectation below says so.
    }
    expect(
      typeof problem?.type === 'string' && problem.type.endsWith('sync-conflict'),
      'the 409 is not problem+json with a type ending in sync-conflict',
      refused[0].body,
    )

    // A pulls B's merged push; B pulls what the server stamped on it.
    await a.sync()
    await b.sync()
    const tables = await expectConverged(a, b)
    const merged = tables.appointments[interview]
    expect(
      merged?.notes === 'Bring ID and the forklift card' &&
        merged?.location === '1200 Industrial Way, door 3',
      'after the retry, the interview lacks one of the two edits',
      merged,
    )
    return { interview, outcome, problem }
  },

  // A mentor's phone holds a shared check-in while the grant is in force, and not after.
  async mentor_loses_revoked_share({ a, mentor, memberId }) {
    const invite = await a.fetchJson('POST', '/api/v1/invites', { scopes: ['checkins.mood'] })
    const grant = await mentor.fetchJson('POST', '/api/v1/invites/redeem', {
      code: invite.code,
    })

    await mentor.sync()
    const held = (await mentor.records('grants'))[grant.id]
    expect(held?.in_force === true, 'the mentor phone lacks the grant', held)
    expect(held.scopes === 'checkins.mood', 'the grant on the mentor phone has other scopes', held)

    const asked = await a.create(
      'checkins',
      checkin({
        mood: 2,
        needs: 'housing,legal',
        note: 'Landlord says out by Friday unless I pay',
        wins: 'Finished the forklift certificate',
        place: 'Northside Public Library',
        help_requested: true,
      }),
    )
    const recordedAt = (await a.records('checkins'))[asked].recorded_at
    await a.sync()
    await mentor.sync()
    const sharedCheckins = await mentor.records('shared_checkins')
    const shared = sharedCheckins[asked]
    expect(shared, 'the mentor phone did not pull the shared check-in', sharedCheckins)
    expect(shared.member_id === memberId, 'the shared check-in names another member', shared)
    expect(shared.mood === 2, 'the shared check-in lacks the mood', shared)
    expect(shared.recorded_at === recordedAt, 'the shared check-in has another recorded_at', shared)
    // checkins.mood shows the mood only: nothing the member wrote, not the help request.
    for (const column of ['note', 'wins', 'place', 'needs', 'help_requested']) {
      expect(shared[column] === null, `a mood-only grant showed ${column}`, shared)
    }
    await a.sync()
    const memberGrant = (await a.records('grants'))[grant.id]
    expect(memberGrant?.in_force === true, "the member's phone lacks the grant", memberGrant)

    // The member ends the grant; the mentor's next pull takes back what it shared.
    await a.fetchJson('DELETE', `/api/v1/grants/${grant.id}`)
    await mentor.sync()
    const after = await mentor.snapshot()
    expect(
      !after.tables.shared_checkins[asked],
      'the revoked share is still on the mentor phone',
      after.tables.shared_checkins,
    )
    expect(
      !after.tables.grants[grant.id],
      'the revoked grant is still on the mentor phone',
      after.tables.grants,
    )
    await mentor.sync()
    const later = await mentor.snapshot()
    expect(
      Object.keys(later.tables.shared_checkins).length === 0 &&
        Object.keys(later.tables.grants).length === 0,
      'something came back to the mentor phone after the revocation',
      later.tables,
    )

    await a.sync()
    const memberGrantAfter = (await a.records('grants'))[grant.id]
    expect(
      !memberGrantAfter || memberGrantAfter.in_force === false,
      "the member's phone still shows the revoked grant in force",
      memberGrantAfter,
    )
    return { grant: grant.id, checkin: asked, shared }
  },

  // The member shares the plan's progress: the mentor's phone gets step titles, statuses
  // and dates, never why, notes or bring; the mentor suggests a step, which reaches the
  // member's phone and changes nothing in the plan. Then the member revokes the grant:
  // the mentor's next pull leaves no plan row on the phone.
  async mentor_loses_revoked_plan({ a, mentor, memberId }) {
    const invite = await a.fetchJson('POST', '/api/v1/invites', { scopes: ['plan.progress'] })
    const grant = await mentor.fetchJson('POST', '/api/v1/invites/redeem', {
      code: invite.code,
    })
    const goal = await a.fetchJson('POST', '/api/v1/plan/goals', {
      area: 'housing',
      title: 'A room of my own',
      why: PLAN_WHY,
    })
    const steps = []
    for (const body of [
      { title: 'View the room', notes: PLAN_NOTES, bring: PLAN_BRING, due_date: '2026-12-20' },
      { title: 'Call the landlord', status: 'done', position: 1 },
    ]) {
      steps.push((await a.fetchJson('POST', `/api/v1/plan/goals/${goal.id}/steps`, body)).id)
    }
    await a.sync()

    await mentor.sync()
    const held = await mentor.records('shared_plan_steps')
    expect(
      Object.keys(held).sort().join() === [...steps].sort().join(),
      'the mentor phone lacks the shared steps',
      held,
    )
    const viewing = held[steps[0]]
    expect(viewing.member_id === memberId, 'the shared step names another member', viewing)
    expect(viewing.goal_title === 'A room of my own', 'the shared step lacks its goal', viewing)
    expect(viewing.due_date === '2026-12-20', 'the shared step lacks its date', viewing)
    expect(held[steps[1]].status === 'done', 'the shared step lacks its status', held[steps[1]])
    for (const column of ['notes', 'bring']) {
      expect(viewing[column] === null, `a plan.progress grant showed ${column}`, viewing)
    }
    const everything = JSON.stringify((await mentor.snapshot()).tables)
    for (const words of [PLAN_WHY, PLAN_NOTES, ...PLAN_BRING]) {
      expect(!everything.includes(words), `the mentor phone holds "${words}"`, everything)
    }

    const suggestion = await mentor.fetchJson(
      'POST',
      `/api/v1/mentees/${memberId}/plan/suggestions`,
      { title: 'Ask about a deposit plan', goal_id: goal.id },
    )
    await a.sync()
    const suggested = (await a.records('plan_suggestions'))[suggestion.id]
    expect(suggested?.status === 'pending', "the member's phone lacks the suggestion", suggested)
    const planSteps = await a.records('plan_steps')
    expect(
      Object.keys(planSteps).length === steps.length,
      'a suggestion changed the plan before it was accepted',
      planSteps,
    )

    await a.fetchJson('DELETE', `/api/v1/grants/${grant.id}`)
    await mentor.sync()
    const after = await mentor.snapshot()
    expect(
      Object.keys(after.tables.shared_plan_steps).length === 0,
      'the revoked plan is still on the mentor phone',
      after.tables.shared_plan_steps,
    )
    await mentor.sync()
    const later = await mentor.snapshot()
    expect(
      Object.keys(later.tables.shared_plan_steps).length === 0 &&
        Object.keys(later.tables.grants).length === 0,
      'something came back to the mentor phone after the revocation',
      later.tables,
    )
    return { grant: grant.id, goal: goal.id, steps, shared: viewing, suggestion: suggestion.id }
  },

  // The member narrows a full grant to mood only: the mentor's phone keeps the check-in
  // and loses every field the grant no longer covers (a pull merges what it sends into
  // what the phone holds, so the server must send those fields as null).
  async mentor_loses_narrowed_fields({ a, mentor }) {
    const invite = await a.fetchJson('POST', '/api/v1/invites', {
      scopes: ['checkins.full'],
      share_history: true,
    })
    const grant = await mentor.fetchJson('POST', '/api/v1/invites/redeem', { code: invite.code })
    const written = await a.create(
      'checkins',
      checkin({
        mood: 2,
        needs: 'housing,legal',
        note: 'Landlord says out by Friday unless I pay',
        wins: 'Finished the forklift certificate',
        place: 'Northside Public Library',
        help_requested: true,
      }),
    )
    await a.sync()
    await mentor.sync()
    const before = (await mentor.records('shared_checkins'))[written]
    expect(before?.note === 'Landlord says out by Friday unless I pay', 'full grant lacks the note', before)

    await a.fetchJson('PATCH', `/api/v1/grants/${grant.id}`, { scopes: ['checkins.mood'] })
    await mentor.sync()
    const after = (await mentor.records('shared_checkins'))[written]
    expect(after?.mood === 2, 'the narrowed grant lost the mood it still covers', after)
    for (const column of ['note', 'wins', 'place', 'needs', 'help_requested']) {
      expect(after[column] === null, `after narrowing, the mentor phone still holds ${column}`, after)
    }
    const grantOnPhone = (await mentor.records('grants'))[grant.id]
    expect(grantOnPhone?.scopes === 'checkins.mood', 'the phone shows the old scopes', grantOnPhone)
    return { grant: grant.id, checkin: written, before, after }
  },

  // The member moves their area: the phone keeps no listing of the old area.
  async area_moves({ a, env }) {
    const [first, second] = [JSON.parse(env('AREA_FIRST')), JSON.parse(env('AREA_SECOND'))]
    await a.fetchJson('PUT', '/api/v1/me/area', first)
    await a.sync()
    const near = Object.keys(await a.records('resources')).sort()
    await a.fetchJson('PUT', '/api/v1/me/area', second)
    await a.sync()
    const moved = Object.keys(await a.records('resources')).sort()
    await a.fetchJson('DELETE', '/api/v1/me/area')
    await a.sync()
    const none = Object.keys(await a.records('resources')).sort()
    return { near, moved, none }
  },

  // WatermelonDB #1374: a record edited on the phone while its push is in flight stays
  // unsynced, goes up with the next sync, and the other phone ends with the last edit.
  async edit_during_push({ a, b }) {
    const id = await a.create('checkins', checkin({ mood: 3, note: 'first words' }))
    a.beforeNextPush = async () => {
      await a.update('checkins', id, { note: 'written while the push was in flight' })
    }
    await a.syncOnce()
    const unsynced = (await a.snapshot()).unsynced
    expect(unsynced.includes(`checkins/${id} (created)`) || unsynced.includes(`checkins/${id} (updated)`),
      'the edit made during the push was marked synced', unsynced)
    await a.sync()
    await b.sync()
    await a.sync() // A pulls what the server stamped on its own push (updated_at)
    const tables = await expectConverged(a, b)
    expect(tables.checkins[id]?.note === 'written while the push was in flight',
      'the edit made during the push was lost', tables.checkins[id])
    return { id }
  },

  // WatermelonDB #1462: a record created, synced and deleted never reaches a fresh
  // install (no id is both created and deleted in one answer; a first pull deletes none).
  async fresh_install_never_gets_a_deleted_record({ a, b }) {
    const doomed = await a.create('checkins', checkin({ mood: 1, note: 'Rough night' }))
    const kept = await a.create('checkins', checkin({ mood: 4 }))
    await a.sync()
    await a.markAsDeleted('checkins', doomed)
    await a.sync()
    await b.sync() // phone B is a fresh install of the same account
    const first = b.requests.find((r) => r.method === 'GET')
    expect(first.lastPulledAt == null, 'phone B was not a fresh install', first)
    const held = await b.records('checkins')
    expect(!held[doomed], 'the fresh install got the deleted check-in', held)
    expect(held[kept], 'the fresh install lacks the kept check-in', held)
    const deleted = Object.values(first.counts).reduce((sum, c) => sum + c.deleted, 0)
    expect(deleted === 0, 'a first pull named deletions', first.counts)
    return { doomed, kept }
  },
}

async function main() {
  const name = process.argv[2]
  const scenario = SCENARIOS[name]
  if (!scenario) {
    process.stderr.write(`usage: node scenarios.js ${Object.keys(SCENARIOS).join('|')}\n`)
    process.exitCode = 2
    return
  }
  const baseUrl = env('HOMEWARD_URL').replace(/\/$/, '')
  const honoursStrategy = process.env.SYNC_STRATEGY !== 'frontend-md'
  const device = (name, role, token) =>
    new Device({ name, role, baseUrl, token: env(token), honoursStrategy })
  const phones = {
    a: device('phone A', 'member', 'MEMBER_TOKEN_A'),
    b: device('phone B', 'member', 'MEMBER_TOKEN_B'),
    mentor: device('mentor phone', 'mentor', 'MENTOR_TOKEN'),
  }
  const report = { ok: false, scenario: name }
  const started = Date.now()
  try {
    report.result = await scenario({ ...phones, memberId: env('MEMBER_ID'), env })
    report.ok = true
  } catch (error) {
    report.failure = error.message
    report.details = error instanceof ExpectationFailed ? error.details ?? null : error.stack
    process.stderr.write(`FAILED ${name}: ${error.message}\n`)
    if (report.details != null) {
      const details = report.details
      process.stderr.write(
        `${typeof details === 'string' ? details : JSON.stringify(details, null, 2)}\n`,
      )
    }
    process.exitCode = 1
  }
  report.ms = Date.now() - started
  report.diagnostics = diagnostics
  report.devices = {}
  report.requests = {}
  for (const [key, phone] of Object.entries(phones)) {
    report.devices[key] = (await phone.snapshot()).tables
    report.requests[key] = phone.requests
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`)
  process.exitCode = 2
})
