// Signups out of S3: a streamed scan of the subscriber records (bounded concurrency, memory flat in
// their number), the CSV export for marketers (RFC 4180, formula injection neutralised) and counts.
import { systemClock, type Clock } from '../clock.ts'
import { Readable, type Transform } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { stringify } from 'csv-stringify'
import { stringify as stringifyRows } from 'csv-stringify/sync'
import { mapBounded, readAhead } from '../concurrency.ts'
import { createJsonStore, type JsonStore } from '../storage/json-store.ts'
import { holdLeanHeap } from './export-heap.ts'
import { type SubscriberRecord, SubscriberRecordSchema, type SubscriberStatus } from './model.ts'

export const STATUSES: readonly SubscriberStatus[] = ['pending', 'confirmed', 'unsubscribed', 'suppressed']
const KEY_RE = /^subscribers\/[0-9a-f]{64}\.json$/
/** GetObject requests in flight at once (the export, the counts and the admin list) */
export const DEFAULT_CONCURRENCY = 16

/** A subscriber record's key (other objects may share the prefix). */
export const isRecordKey = (key: string): boolean => KEY_RE.test(key)

export interface ScanOptions {
  s3: S3Client
  bucket: string
  /** GetObject requests in flight at once */
  concurrency?: number
  /** ListObjectsV2 page size (S3's maximum is 1000) */
  pageSize?: number
}

/** Every subscriber key, page by page (ListObjectsV2 returns keys in UTF-8 binary order). */
async function * subscriberKeys (json: JsonStore, pageSize: number | undefined): AsyncGenerator<string> {
  for await (const object of json.list('subscribers/', pageSize ? { pageSize } : {})) {
    if (isRecordKey(object.key)) yield object.key
  }
}

/**
 * Every subscriber record, in key order; at most `concurrency` reads in flight, and the keys of the
 * next page listed while this one is read (a page of keys ahead: a listing never stalls the reads).
 */
export async function * scanSubscribers (options: ScanOptions): AsyncGenerator<SubscriberRecord> {
  const json = createJsonStore(options)
  // Listed, then gone (get answers null): a record deleted in between is simply not exported.
  const read = async (key: string): Promise<SubscriberRecord | null> => (await json.get(key, SubscriberRecordSchema))?.value ?? null
  const keys = readAhead(subscriberKeys(json, options.pageSize), options.pageSize ?? 1000)
  // Released when the scan ends, fails or is stopped (a download cut off returns the generator).
  const release = holdLeanHeap()
  try {
    for await (const record of mapBounded(keys, options.concurrency ?? DEFAULT_CONCURRENCY, read)) {
      // An erased address's tombstone (src/subscribers/erase.ts) is no signup: no address, nothing to export or count.
      if (record && record.erasedAt === undefined) yield record
    }
  } finally {
    release()
  }
}

export const CSV_COLUMNS = [
  { key: 'address', header: 'address' },
  { key: 'status', header: 'status' },
  { key: 'created', header: 'created' },
  { key: 'confirmed', header: 'confirmed' },
  { key: 'unsubscribed', header: 'unsubscribed' },
  { key: 'consentVersion', header: 'consent_text_version' },
  { key: 'whitepapers', header: 'whitepapers_requested' },
  { key: 'signupIp', header: 'signup_ip' }
] as const

export type CsvRow = Record<(typeof CSV_COLUMNS)[number]['key'], string>

/** One CSV row: consent version and IP are the latest form submission's (the opt-in that counts now). */
export function toCsvRow (record: SubscriberRecord): CsvRow {
  const latest = record.signups[record.signups.length - 1]
  return {
    address: record.address,
    status: record.status,
    created: record.createdAt,
    confirmed: record.confirmation?.at ?? '',
    unsubscribed: record.unsubscription?.at ?? '',
    consentVersion: latest?.consentVersion ?? '',
    whitepapers: [...new Set(record.signups.map(s => s.slug))].join(' '),
    signupIp: latest?.ip ?? ''
  }
}

/**
 * A CSV writer: RFC 4180 (CRLF line ends; fields with a comma, quote, CR or LF quoted, quotes doubled),
 * and any cell starting with = + - @ tab or CR prefixed with ' so that spreadsheets show it as text
 * instead of running it as a formula (https://owasp.org/www-community/attacks/CSV_Injection).
 */
const CSV_OPTIONS = {
  columns: CSV_COLUMNS.map(c => ({ key: c.key, header: c.header })),
  record_delimiter: 'windows',
  quote_record_delimiter: true,
  escape_formulas: true
} as const

export function csvWriter (): Transform {
  return stringify({ ...CSV_OPTIONS, header: true })
}

/** Rows written at a time: one string per chunk instead of one per row. */
const ROWS_PER_CHUNK = 64

export interface ExportOptions extends ScanOptions {
  status?: SubscriberStatus | undefined
}

/**
 * The signups as a CSV stream (the writer's format); an S3 failure midway ends it with that error.
 * Records are read only as fast as the stream is consumed: a generator of text pulled by
 * Readable.from, because csv-stringify's stream does not hold back when its reader does.
 */
export function exportCsv (options: ExportOptions, onRow?: () => void): Readable {
  async function * text () {
    yield stringifyRows([], { ...CSV_OPTIONS, header: true })
    let rows: CsvRow[] = []
    for await (const record of scanSubscribers(options)) {
      if (options.status && record.status !== options.status) continue
      onRow?.()
      rows.push(toCsvRow(record))
      if (rows.length >= ROWS_PER_CHUNK) {
        yield stringifyRows(rows, CSV_OPTIONS)
        rows = []
      }
    }
    if (rows.length > 0) yield stringifyRows(rows, CSV_OPTIONS)
  }
  return Readable.from(text(), { objectMode: false, highWaterMark: 16 * 1024 })
}

export interface DayCounts {
  /** YYYY-MM-DD (UTC) */
  day: string
  /** addresses whose record was created that day */
  created: number
  /** form submissions that day (new and returning addresses) */
  submissions: number
  confirmed: number
  unsubscribed: number
}

export interface SignupStats {
  total: number
  byStatus: Record<SubscriberStatus, number>
  /** the most recent `days` days with any activity, newest first */
  byDay: DayCounts[]
}

/** Counts by status and by day over every record (one streamed scan). */
export async function signupStats (options: ScanOptions & { days?: number, now?: Clock }): Promise<SignupStats> {
  const days = options.days ?? 30
  const now = new Date((options.now ?? systemClock)())
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1))).toISOString().slice(0, 10)
  const byStatus = Object.fromEntries(STATUSES.map(s => [s, 0])) as Record<SubscriberStatus, number>
  const byDay = new Map<string, DayCounts>()
  const bump = (at: string | undefined, field: Exclude<keyof DayCounts, 'day'>) => {
    const day = at?.slice(0, 10)
    if (!day || day < since) return
    const entry = byDay.get(day) ?? { day, created: 0, submissions: 0, confirmed: 0, unsubscribed: 0 }
    entry[field]++
    byDay.set(day, entry)
  }
  let total = 0
  for await (const record of scanSubscribers(options)) {
    total++
    if (record.status in byStatus) byStatus[record.status]++
    bump(record.createdAt, 'created')
    for (const signup of record.signups) bump(signup.at, 'submissions')
    bump(record.confirmation?.at, 'confirmed')
    bump(record.unsubscription?.at, 'unsubscribed')
  }
  return { total, byStatus, byDay: [...byDay.values()].sort((a, b) => b.day.localeCompare(a.day)) }
}
