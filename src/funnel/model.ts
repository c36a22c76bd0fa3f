// The funnel's contract (the /admin report reads only this) and the shapes of its S3 objects.
// Counts per whitepaper version per UTC day; no address, address hash or message id is ever stored.
import { Type, type Static } from 'typebox'

/**
 * Every step, in funnel order. What each counts (README, "The funnel"):
 * - views, submissions, accepted, freshLinks, confirmations, unsubscribes: the service's own events, totals
 *   (views: GET landing pages and the embedded form, not HEAD or prefetch; submissions: form posts that
 *   passed validation; accepted: posts that owe an email; freshLinks: /d/ links used; confirmations and
 *   unsubscribes: the POSTs that did it)
 * - sent, delivered, bounced, complained, rejected, renderingFailures, delayed: SES events, emails
 *   (each email counts once per step, however often SNS delivers the event)
 * - opened, downloads: unique emails (an email opened five times is one open; downloads: emails whose
 *   download link was clicked at least once, told apart from the confirm, fresh and unsubscribe links)
 */
export const FUNNEL_STEPS = ['views', 'submissions', 'accepted', 'sent', 'delivered', 'opened',
  'downloads', 'freshLinks', 'confirmations', 'unsubscribes', 'bounced', 'complained', 'rejected',
  'delayed', 'renderingFailures'] as const
export type FunnelStep = typeof FUNNEL_STEPS[number]
export type FunnelCounts = Partial<Record<FunnelStep, number>>
/** one whitepaper version's counts on one UTC day; version '' when the event could not tell */
export interface FunnelRow { day: string /* YYYY-MM-DD */, slug: string, version: string, counts: FunnelCounts }
export interface FunnelReader {
  /** every row with from <= day <= to (inclusive), optionally one whitepaper; a bounded number of S3 requests */
  read (range: { from: string, to: string, slug?: string }): Promise<FunnelRow[]>
}

/** Where an event happened: the whitepaper and version ('' when unknown). */
export interface FunnelSubject { slug: string, version: string }

export const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$'
export const DAY_RE = new RegExp(DAY_PATTERN)

const CountsSchema = Type.Object(Object.fromEntries(FUNNEL_STEPS.map(step => [step, Type.Optional(Type.Integer({ minimum: 0 }))])), { additionalProperties: false })

export const FunnelRowSchema = Type.Object({
  day: Type.String({ pattern: DAY_PATTERN }),
  slug: Type.String({ maxLength: 64 }),
  version: Type.String({ maxLength: 64 }),
  counts: CountsSchema
})

/** funnel/parts/<YYYY-MM>/<part id>.json: one instance's counts from one flush, written once. */
export const FunnelPartSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  rows: Type.Array(FunnelRowSchema)
})
export type FunnelPart = Static<typeof FunnelPartSchema>

/** funnel/months/<YYYY-MM>.json: the month's parts added up; `absorbed` names the parts already in it. */
export const FunnelMonthSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  month: Type.String({ pattern: '^\\d{4}-\\d{2}$' }),
  rows: Type.Array(FunnelRowSchema),
  absorbed: Type.Array(Type.String({ maxLength: 200 }))
})
export type FunnelMonth = Static<typeof FunnelMonthSchema>

/** The UTC day of a time in milliseconds. */
export function dayOf (ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export function monthOf (day: string): string {
  return day.slice(0, 7)
}

/** Each month from `from`'s to `to`'s, inclusive (YYYY-MM). */
export function monthsBetween (from: string, to: string): string[] {
  const months: string[] = []
  const last = monthOf(to)
  let [y, m] = monthOf(from).split('-').map(Number) as [number, number]
  for (let month = monthOf(from); month <= last && months.length < 1200; month = `${y}-${String(m).padStart(2, '0')}`) {
    months.push(month)
    if (++m > 12) { m = 1; y++ }
  }
  return months
}

const rowKey = (row: { day: string, slug: string, version: string }) => `${row.day}\u0000${row.slug}\u0000${row.version}`

/** Adds rows into a map of rows by day, slug and version (compaction and reading both sum this way). */
export function addRows (into: Map<string, FunnelRow>, rows: Iterable<FunnelRow>): Map<string, FunnelRow> {
  for (const row of rows) {
    const key = rowKey(row)
    let target = into.get(key)
    if (!target) {
      target = { day: row.day, slug: row.slug, version: row.version, counts: {} }
      into.set(key, target)
    }
    for (const [step, n] of Object.entries(row.counts) as Array<[FunnelStep, number]>) {
      if (n) target.counts[step] = (target.counts[step] ?? 0) + n
    }
  }
  return into
}

/** Rows in a stable order: by day, then slug, then version. */
export function sortRows (rows: Iterable<FunnelRow>): FunnelRow[] {
  return [...rows].sort((a, b) => a.day.localeCompare(b.day) || a.slug.localeCompare(b.slug) || a.version.localeCompare(b.version))
}
