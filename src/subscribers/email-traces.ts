// Where one person's emails are outside their record: batches in outbox/ not yet finished and lines of
// the delivery log (deliveries/). Found from the item ids on the record, never by a scan: an item id
// starts with the time it was queued (base 36), and its batch was created moments later, so only the
// batches whose ids start like it are listed (one narrow prefix), then read nearest first.
import type { JsonStore } from '../storage/json-store.ts'
import { DeliveryLogSchema, OutboxBatchSchema, type DeliveryLog, type ItemRetry, type OutboxBatch, type OutboxItem } from '../outbox/model.ts'
import { batchKey, batchTime, DELIVERY_LOG_PREFIX, deliveryLogKey, OUTBOX_PREFIX } from '../outbox/store.ts'

/** A batch is created at most this long before (clock skew between instances) or after its items. */
const BEFORE_MS = 60_000
const AFTER_MS = 10 * 60_000
/** of the 9 base-36 time digits of an id: 36^4 ms, about 28 minutes, per listed prefix */
const PREFIX_DIGITS = 5
const DAY_MS = 24 * 60 * 60 * 1000

export type DeliveryLogLine = DeliveryLog['items'][number]

export interface QueuedEmail {
  batch: string
  item: OutboxItem
  /** set when the sender already dealt with it (the batch is not finished yet) */
  outcome?: 'sent' | 'failed' | 'skipped'
  retry?: ItemRetry
}

export interface LoggedEmail {
  /** the delivery log object (deliveries/<day>/<batch>.json) */
  key: string
  line: DeliveryLogLine
}

export interface EmailTraces {
  outbox: QueuedEmail[]
  deliveryLog: LoggedEmail[]
}

const time36 = (ms: number) => Math.max(0, ms).toString(36).padStart(9, '0')
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** The id prefixes (one per ~28 minutes) that every batch created around `at` starts with. */
function prefixesAround (at: number): string[] {
  const first = Number.parseInt(time36(at - BEFORE_MS).slice(0, PREFIX_DIGITS), 36)
  const last = Number.parseInt(time36(at + AFTER_MS).slice(0, PREFIX_DIGITS), 36)
  const out: string[] = []
  for (let p = first; p <= last; p++) out.push(p.toString(36).padStart(PREFIX_DIGITS, '0'))
  return out
}

/** Batch ids in the window, the ones created just after `at` first (the likeliest), then the ones just before. */
function nearestFirst (ids: Iterable<string>, at: number): string[] {
  const inWindow = [...new Set(ids)].filter(id => {
    const t = batchTime(id)
    return t >= at - BEFORE_MS && t <= at + AFTER_MS
  })
  const after = inWindow.filter(id => batchTime(id) >= at).sort()
  const before = inWindow.filter(id => batchTime(id) < at).sort().reverse()
  return [...after, ...before]
}

/** `load`, called once per argument. */
function memo<T> (load: (arg: string) => Promise<T>): (arg: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>()
  return arg => {
    const known = seen.get(arg)
    if (known) return known
    const loading = load(arg)
    seen.set(arg, loading)
    return loading
  }
}

export interface TraceFinder {
  /** The outbox items and delivery-log lines of these item ids (and, in logs of before, of this record key). */
  find: (itemIds: Iterable<string>, recordKey?: string) => Promise<EmailTraces>
}

export function createTraceFinder (json: JsonStore): TraceFinder {
  return {
    async find (itemIds, recordKey) {
      // One finder call reads each prefix and each object at most once.
      const list = memo(async (prefix: string) => {
        const out: string[] = []
        for await (const o of json.list(prefix)) out.push(o.key)
        return out
      })
      const readBatch = memo(async (id: string): Promise<OutboxBatch | null> => (await json.get(batchKey(id), OutboxBatchSchema))?.value ?? null)
      const readLog = memo(async (key: string): Promise<DeliveryLog | null> => (await json.get(key, DeliveryLogSchema))?.value ?? null)

      const outbox = new Map<string, QueuedEmail>()
      const logged = new Map<string, LoggedEmail>()
      for (const itemId of new Set(itemIds)) {
        const at = batchTime(itemId)
        if (!Number.isFinite(at)) continue
        const prefixes = prefixesAround(at)

        const outboxIds: string[] = []
        for (const p of prefixes) {
          for (const key of await list(`${OUTBOX_PREFIX}${p}`)) {
            const id = /^outbox\/([0-9a-z]+-[0-9a-f]+)\.json$/.exec(key)?.[1]
            if (id) outboxIds.push(id)
          }
        }
        for (const id of nearestFirst(outboxIds, at)) {
          const batch = await readBatch(id)
          const item = batch?.items.find(i => i.id === itemId)
          if (!batch || !item) continue
          const outcome = batch.done[itemId]
          const retry = batch.retries[itemId]
          outbox.set(itemId, { batch: id, item, ...(outcome ? { outcome } : {}), ...(retry ? { retry } : {}) })
          break
        }

        // Logs sit under the day their batch was created (deliveryLogKey); logs of before this rule
        // sit under the day they finished: the day after is listed too.
        const days = new Set([dayOf(at - BEFORE_MS), dayOf(at + AFTER_MS), dayOf(at + AFTER_MS + DAY_MS)])
        const logKeys = new Map<string, string>()
        for (const day of days) {
          for (const p of prefixes) {
            for (const key of await list(`${DELIVERY_LOG_PREFIX}${day}/${p}`)) {
              const id = /\/([0-9a-z]+-[0-9a-f]+)\.json$/.exec(key)?.[1]
              if (id) logKeys.set(id, key)
            }
          }
        }
        for (const id of nearestFirst(logKeys.keys(), at)) {
          const key = logKeys.get(id) ?? deliveryLogKey(id)
          const log = await readLog(key)
          const line = log?.items.find(i => i.id === itemId)
          if (!log || !line) continue
          logged.set(itemId, { key, line })
          // Old logs also carried the record key: the other lines of this person in the same log.
          if (recordKey) {
            for (const other of log.items) if (other.addressHash === recordKey && !logged.has(other.id)) logged.set(other.id, { key, line: other })
          }
          break
        }
      }
      return { outbox: [...outbox.values()], deliveryLog: [...logged.values()] }
    }
  }
}
