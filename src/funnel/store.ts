// The funnel in S3: each instance writes its counts as small parts, written once; a compaction adds
// the parts of a month into one object with a conditional write, so a report reads one object per
// month plus the few parts not yet added, whatever the traffic.
//
//   funnel/parts/<YYYY-MM>/<part id>.json   one flush of one instance (rows of that month), never rewritten
//   funnel/months/<YYYY-MM>.json            the month's absorbed parts added up, and their ids
//
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import type { JsonStore } from '../storage/json-store.ts'
import { WriteConflict } from '../storage/json-store.ts'
import { mapAll } from '../concurrency.ts'
import {
  addRows, DAY_RE, FunnelMonthSchema, FunnelPartSchema, monthsBetween, sortRows,
  type FunnelMonth, type FunnelReader, type FunnelRow
} from './model.ts'

export const FUNNEL_PREFIX = 'funnel/'
const PART_ID = /^\d{13}-[A-Za-z0-9._-]{1,120}$/

export const partsPrefix = (month: string) => `${FUNNEL_PREFIX}parts/${month}/`
export const partKey = (month: string, id: string) => `${partsPrefix(month)}${id}.json`
export const monthKey = (month: string) => `${FUNNEL_PREFIX}months/${month}.json`

/** A part id starts with its creation time (ms, 13 digits), so that old ids can be forgotten. */
export function partId (createdAt: number, instance: string, seq: number): string {
  return `${String(createdAt).padStart(13, '0')}-${instance}-${seq}`
}
const createdAtOf = (id: string) => Number(id.slice(0, 13))

/**
 * How long a compacted part's id is kept after its part is gone. A flush that failed ambiguously (S3
 * wrote the part but the answer was lost) retries with the same id; were the id forgotten by then, the
 * retried part would count twice. An hour is far longer than any retry outlives an S3 outage's answer.
 */
export const ABSORBED_KEEP_MS = 60 * 60 * 1000
/** Most parts added by one compaction (the rest wait for the next one); keeps one write small. */
const MAX_PARTS_PER_COMPACTION = 1000
const READ_CONCURRENCY = 8

export type FunnelStore = ReturnType<typeof createFunnelStore>

export function createFunnelStore (options: { json: JsonStore }) {
  const { json } = options

  async function partIds (month: string): Promise<string[]> {
    const ids: string[] = []
    for await (const entry of json.list(partsPrefix(month))) {
      const id = entry.key.slice(partsPrefix(month).length).replace(/\.json$/, '')
      if (PART_ID.test(id)) ids.push(id)
    }
    return ids
  }

  /**
   * One month's rows: the parts are listed BEFORE the month object is read, so that a part compacted
   * in between is found in the month's `absorbed` and not counted twice. A listed part that is gone
   * when read was compacted and deleted after the month was read: read again, once.
   */
  async function readMonth (month: string, retry = true): Promise<FunnelRow[]> {
    const listed = await partIds(month)
    const stored = await json.get(monthKey(month), FunnelMonthSchema)
    const absorbed = new Set(stored?.value.absorbed ?? [])
    const pending = listed.filter(id => !absorbed.has(id))
    const parts = await mapAll(pending, READ_CONCURRENCY, id => json.get(partKey(month, id), FunnelPartSchema))
    if (parts.some(p => p === null) && retry) return readMonth(month, false)
    const rows = addRows(new Map(), stored?.value.rows ?? [])
    for (const part of parts) if (part) addRows(rows, part.value.rows)
    return [...rows.values()]
  }

  const reader: FunnelReader = {
    async read (range) {
      if (!DAY_RE.test(range.from) || !DAY_RE.test(range.to) || range.from > range.to) return []
      const months = await mapAll(monthsBetween(range.from, range.to), 4, month => readMonth(month))
      return sortRows(months.flat().filter(row => row.day >= range.from && row.day <= range.to && (range.slug === undefined || row.slug === range.slug)))
    }
  }

  return {
    ...reader,

    /** Writes a part once (`If-None-Match: *`); a 412 means an earlier try of the same part got there. */
    async writePart (month: string, id: string, rows: FunnelRow[]): Promise<void> {
      try {
        await json.put(partKey(month, id), { schemaVersion: 1, rows }, { ifNoneMatch: '*' })
      } catch (err) {
        if (!(err instanceof WriteConflict) || err.inFlight) throw err
      }
    },

    /**
     * Adds the month's parts into its month object (`If-Match` the version read, or `If-None-Match: *`
     * for the first), then deletes them. Another instance compacting at the same time makes the write
     * fail: read again and retry, a few times. Answers how many parts were added.
     */
    async compact (month: string, now: number): Promise<number> {
      for (let attempt = 0; attempt < 3; attempt++) {
        const stored = await json.get(monthKey(month), FunnelMonthSchema)
        // Listed after the month is read: an id absorbed but no longer listed is a deleted part.
        const listed = await partIds(month)
        const listedSet = new Set(listed)
        const absorbed = stored?.value.absorbed ?? []
        const known = new Set(absorbed)
        const fresh = listed.filter(id => !known.has(id)).slice(0, MAX_PARTS_PER_COMPACTION)
        const leftovers = absorbed.filter(id => listedSet.has(id))
        if (fresh.length === 0) {
          await mapAll(leftovers, READ_CONCURRENCY, id => json.delete(partKey(month, id)))
          return 0
        }
        const parts = await mapAll(fresh, READ_CONCURRENCY, id => json.get(partKey(month, id), FunnelPartSchema))
        // A part gone between listing and reading was compacted by someone else: the month changed.
        if (parts.some(p => p === null)) continue
        const rows = addRows(new Map(), stored?.value.rows ?? [])
        for (const part of parts) if (part) addRows(rows, part.value.rows)
        const next: FunnelMonth = {
          schemaVersion: 1,
          month,
          rows: sortRows(rows.values()),
          absorbed: [...absorbed.filter(id => listedSet.has(id) || createdAtOf(id) > now - ABSORBED_KEEP_MS), ...fresh]
        }
        try {
          await json.put(monthKey(month), next, stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' })
        } catch (err) {
          if (err instanceof WriteConflict) continue
          throw err
        }
        await mapAll([...leftovers, ...fresh], READ_CONCURRENCY, id => json.delete(partKey(month, id)))
        return fresh.length
      }
      return 0
    }
  }
}
