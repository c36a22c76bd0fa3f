// Retention (issue 15 item 4): a signup never confirmed is erased PENDING_RETENTION_DAYS after its last
// email (or form submission), an unsubscribed one UNSUBSCRIBED_RETENTION_DAYS after unsubscribing; the
// erasure leaves its tombstone (src/subscribers/erase.ts). Confirmed and suppressed records are kept.
//
// The sweep runs in one instance at a time: it holds a lease in privacy/retention-sweep.json (If-Match,
// like the outbox's batches) and keeps its place there, so that each run reads at most `pagesPerRun`
// pages of subscribers/ and the next run goes on from there; a full pass starts at most once a day.
import { type Static, Type } from 'typebox'
import type { Clock } from '../clock.ts'
import { mapBounded } from '../concurrency.ts'
import { InvalidRecord, type JsonStore, WriteConflict } from '../storage/json-store.ts'
import type { EraseOptions, EraseResult, EraseTarget } from '../subscribers/erase.ts'
import { SubscriberRecordSchema, type SubscriberRecord } from '../subscribers/model.ts'

export const SWEEP_STATE_KEY = 'privacy/retention-sweep.json'
const RECORD_KEY_RE = /^subscribers\/[0-9a-f]{64}\.json$/
const DAY_MS = 86_400_000

export const SweepStateSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  /** the instance that holds (or last held) the lease */
  owner: Type.String(),
  leaseUntil: Type.String(),
  /** the last record key looked at in the pass under way; absent between passes */
  cursor: Type.Optional(Type.String()),
  passStartedAt: Type.Optional(Type.String()),
  /** when the last full pass ended */
  lastPassAt: Type.Optional(Type.String()),
  erasedThisPass: Type.Integer({ minimum: 0 })
})
type SweepState = Static<typeof SweepStateSchema>

export interface RetentionRules {
  pendingDays: number
  unsubscribedDays: number
}

const iso = (ms: number): string => new Date(ms).toISOString()
const latest = (dates: Array<string | undefined>): number => Math.max(0, ...dates.filter(d => d !== undefined).map(d => Date.parse(d)))

/** When `record` is due for erasure (ms), or null when it is kept (confirmed, suppressed, already a tombstone). */
export function erasableFrom (record: SubscriberRecord, rules: RetentionRules): number | null {
  if (record.erasedAt !== undefined) return null
  // The last email (or a form submission that owed none): consent given again restarts the time.
  const lastContact = latest([record.createdAt, ...record.deliveries.map(d => d.at), ...record.signups.map(s => s.at)])
  if (record.status === 'pending') return lastContact + rules.pendingDays * DAY_MS
  // From unsubscribing, or from a form submission since (still unsubscribed until a confirm), if later.
  if (record.status === 'unsubscribed') return latest([record.unsubscription?.at ?? record.updatedAt, iso(lastContact)]) + rules.unsubscribedDays * DAY_MS
  return null
}

export function isErasable (record: SubscriberRecord, rules: RetentionRules, now: number): boolean {
  const from = erasableFrom(record, rules)
  return from !== null && from <= now
}

export interface SweepLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

export interface RetentionSweepOptions {
  json: JsonStore
  /** src/subscribers/erase.ts createEraser(…).erase */
  erase: (target: EraseTarget, options: EraseOptions) => Promise<EraseResult>
  rules: RetentionRules
  owner: string
  now: Clock
  log: SweepLogger
  /** keys per LIST page (S3's maximum is 1000) */
  pageSize?: number
  /** pages one run reads at most: the bound on a run's requests */
  pagesPerRun?: number
  leaseMs?: number
  /** a new pass starts at most this long after the last one ended */
  passEveryMs?: number
  /** records read at once */
  concurrency?: number
}

export interface SweepReport {
  /** false: another instance holds the lease, or the last pass ended less than passEveryMs ago */
  ran: boolean
  reason?: 'held' | 'not-due'
  looked: number
  erased: number
  /** records it could not judge or erase (logged; the next pass tries again) */
  failed: number
  /** this run reached the end of subscribers/ */
  passFinished: boolean
}

export type RetentionSweep = ReturnType<typeof createRetentionSweep>

export function createRetentionSweep (options: RetentionSweepOptions) {
  const { json, rules, owner, log } = options
  const pageSize = options.pageSize ?? 1000
  const pagesPerRun = options.pagesPerRun ?? 10
  const leaseMs = options.leaseMs ?? 15 * 60_000
  const passEveryMs = options.passEveryMs ?? DAY_MS

  /** One record: erased if it is due (judged again on the version erase reads: a signup since keeps it). */
  async function judge (key: string, now: number): Promise<'kept' | 'erased' | 'failed'> {
    try {
      const found = await json.get(key, SubscriberRecordSchema)
      if (!found || !isErasable(found.value, rules, now)) return 'kept'
      const { address } = found.value
      // By address when there is one: a record still under its key of before ADDRESS_KEY goes too.
      const result = await options.erase(address ? { address } : { key: key.slice('subscribers/'.length, -'.json'.length) }, { onlyIf: r => isErasable(r, rules, now) })
      return result.kept ? 'kept' : 'erased'
    } catch (err) {
      log.warn({ err: err instanceof InvalidRecord ? { problem: err.problem } : err, key: key.slice(0, 24) }, 'retention sweep: could not judge or erase a record')
      return 'failed'
    }
  }

  return {
    /** One bounded run: at most pagesPerRun LISTs and the reads and erasures of their records. */
    async run (): Promise<SweepReport> {
      const report: SweepReport = { ran: false, looked: 0, erased: 0, failed: 0, passFinished: false }
      const now = options.now()
      const found = await json.get(SWEEP_STATE_KEY, SweepStateSchema)
      const held = found?.value
      if (held && held.owner !== owner && Date.parse(held.leaseUntil) > now) return { ...report, reason: 'held' }
      if (held && held.cursor === undefined && held.lastPassAt && now - Date.parse(held.lastPassAt) < passEveryMs) return { ...report, reason: 'not-due' }
      const state: SweepState = held ? { ...held, owner, leaseUntil: iso(now + leaseMs) } : { schemaVersion: 1, owner, leaseUntil: iso(now + leaseMs), erasedThisPass: 0 }
      if (state.cursor === undefined) Object.assign(state, { passStartedAt: iso(now), erasedThisPass: 0 })
      let etag: string
      try {
        etag = await json.put(SWEEP_STATE_KEY, state, found ? { ifMatch: found.etag } : { ifNoneMatch: '*' })
      } catch (err) {
        if (err instanceof WriteConflict) return { ...report, reason: 'held' }
        throw err
      }
      report.ran = true
      const erasedBefore = state.erasedThisPass

      /** Keeps our place and the lease; false when another instance took the lease meanwhile. */
      const checkpoint = async (): Promise<boolean> => {
        try {
          etag = await json.put(SWEEP_STATE_KEY, state, { ifMatch: etag })
          return true
        } catch (err) {
          if (!(err instanceof WriteConflict)) throw err
          log.warn({}, 'retention sweep: the lease was taken over; stopping')
          return false
        }
      }
      const sweepPage = async (keys: string[]): Promise<boolean> => {
        for await (const outcome of mapBounded(keys, options.concurrency ?? 4, key => judge(key, now))) {
          report.looked++
          if (outcome === 'erased') report.erased++
          if (outcome === 'failed') report.failed++
        }
        state.cursor = keys[keys.length - 1]
        state.erasedThisPass = erasedBefore + report.erased
        state.leaseUntil = iso(options.now() + leaseMs)
        return await checkpoint()
      }

      let page: string[] = []
      let pages = 0
      let exhausted = true
      for await (const object of json.list('subscribers/', { pageSize, ...(state.cursor ? { startAfter: state.cursor } : {}) })) {
        if (!RECORD_KEY_RE.test(object.key)) continue
        page.push(object.key)
        if (page.length < pageSize) continue
        if (!await sweepPage(page)) return report
        page = []
        // Stop before the next LIST: the next run goes on from the cursor.
        if (++pages >= pagesPerRun) { exhausted = false; break }
      }
      if (page.length > 0 && !await sweepPage(page)) return report
      if (exhausted) {
        log.info({ erased: state.erasedThisPass, since: state.passStartedAt }, 'retention sweep: pass finished')
        delete state.cursor
        state.lastPassAt = iso(options.now())
        report.passFinished = true
      }
      // Released: the next run (here or elsewhere) need not wait for the lease to run out.
      state.leaseUntil = iso(options.now())
      await checkpoint()
      return report
    }
  }
}
