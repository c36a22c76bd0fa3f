// The /admin report's figures from funnel rows (pure): totals with the rate of each step, a daily series,
// one whitepaper or all, the versions of each whitepaper side by side, and the date range they cover.
import { ValidationError } from '../errors.ts'
import { addRows, DAY_RE, FUNNEL_STEPS, type FunnelRow, type FunnelStep, sortRows } from './model.ts'

export type StepCounts = Record<FunnelStep, number>

/** What the page and the chart call each step. */
export const STEP_LABELS: Record<FunnelStep, string> = {
  views: 'Landing-page views',
  submissions: 'Form submissions',
  accepted: 'Signups accepted',
  sent: 'Emails sent',
  delivered: 'Delivered',
  opened: 'Opened',
  downloads: 'Downloaded',
  freshLinks: 'Fresh links used',
  confirmations: 'Newsletter confirmations',
  unsubscribes: 'Unsubscribes',
  bounced: 'Bounced',
  complained: 'Complaints',
  rejected: 'Rejected by SES',
  delayed: 'Delivery delayed',
  renderingFailures: 'Rendering failures'
}

export interface RatedStep { step: FunnelStep, of?: FunnelStep }

/**
 * The main path, each step rated against the one it follows from. Opens, downloads and confirmations
 * are rated of delivered emails, as mail tools do (Mailchimp's open and click rates): open tracking is
 * optional and many clients block its pixel, so a download needs no recorded open before it.
 */
export const FUNNEL_PATH: readonly RatedStep[] = [
  { step: 'views' },
  { step: 'submissions', of: 'views' },
  { step: 'accepted', of: 'submissions' },
  { step: 'sent', of: 'accepted' },
  { step: 'delivered', of: 'sent' },
  { step: 'opened', of: 'delivered' },
  { step: 'downloads', of: 'delivered' },
  { step: 'confirmations', of: 'delivered' }
]

/** Everything else, as rates of what SES sent (bounce rate) or delivered (complaint rate), as SES reports them. */
export const SIDE_STEPS: readonly RatedStep[] = [
  { step: 'bounced', of: 'sent' },
  { step: 'complained', of: 'delivered' },
  { step: 'unsubscribes', of: 'delivered' },
  { step: 'freshLinks', of: 'delivered' },
  { step: 'rejected', of: 'sent' },
  { step: 'delayed', of: 'sent' },
  { step: 'renderingFailures', of: 'sent' }
]

export interface StepFigure {
  step: FunnelStep
  label: string
  count: number
  /** the step this one is rated against */
  of?: FunnelStep
  /** count / of's count; null when that is 0 (shown as "–") */
  rate: number | null
  /** count / views (main path only); null when there were no views */
  ofViews: number | null
}

export interface Figures {
  totals: StepCounts
  funnel: StepFigure[]
  side: StepFigure[]
}

export interface VersionFigures extends Figures {
  /** '' when the events could not tell the version */
  version: string
  /** the first and last day of the range with any count for this version */
  firstDay: string
  lastDay: string
}

export interface SlugVersions { slug: string, versions: VersionFigures[] }

export interface FunnelReport extends Figures {
  from: string
  to: string
  /** one whitepaper, or undefined for all */
  slug?: string
  /** every day of the range, in order, zeros included */
  days: Array<{ day: string, counts: StepCounts }>
  /** per whitepaper with counts in the range, its versions oldest first (unknown last) */
  versions: SlugVersions[]
}

export function emptyCounts (): StepCounts {
  return Object.fromEntries(FUNNEL_STEPS.map(s => [s, 0])) as StepCounts
}

/** Sums rows into a full set of counts (missing, negative or non-finite counts add nothing). */
export function sumCounts (rows: Iterable<FunnelRow>): StepCounts {
  const totals = emptyCounts()
  for (const row of rows) {
    for (const step of FUNNEL_STEPS) {
      const n = row.counts[step]
      if (typeof n === 'number' && Number.isFinite(n) && n > 0) totals[step] += n
    }
  }
  return totals
}

/** part / whole, or null when whole is 0: no rate, never NaN or Infinity. */
export function rate (part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null
}

/** A rate as the page shows it: "42.9%", or "–" when there is none. */
export function formatRate (value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`
}

export function figures (totals: StepCounts): Figures {
  const figure = ({ step, of }: RatedStep, main: boolean): StepFigure => ({
    step,
    label: STEP_LABELS[step],
    count: totals[step],
    ...(of ? { of } : {}),
    rate: of ? rate(totals[step], totals[of]) : null,
    ofViews: main && step !== 'views' ? rate(totals[step], totals.views) : null
  })
  return { totals, funnel: FUNNEL_PATH.map(s => figure(s, true)), side: SIDE_STEPS.map(s => figure(s, false)) }
}

const DAY_MS = 86_400_000
const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`)

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not one). */
export function isDay (value: string): boolean {
  if (!DAY_RE.test(value)) return false
  const ms = dayMs(value)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === value
}

export function addDays (day: string, n: number): string {
  return new Date(dayMs(day) + n * DAY_MS).toISOString().slice(0, 10)
}

/** Days from `from` to `to`, both included. */
export function daysBetween (from: string, to: string): string[] {
  const out: string[] = []
  for (let day = from; day <= to; day = addDays(day, 1)) out.push(day)
  return out
}

export const DEFAULT_DAYS = 30
export const MAX_DAYS = 366

/**
 * The range asked for, checked: `to` defaults to today (UTC), `from` to DEFAULT_DAYS days ending on
 * `to`; both real days, from <= to, at most MAX_DAYS days. Empty strings count as not given.
 */
export function resolveRange (input: { from?: string | undefined, to?: string | undefined }, today: string): { from: string, to: string } {
  const to = input.to || today
  if (!isDay(to)) throw new ValidationError('range_invalid', 'Enter the last day as a real date (YYYY-MM-DD).', 'to')
  const from = input.from || addDays(to, 1 - DEFAULT_DAYS)
  if (!isDay(from)) throw new ValidationError('range_invalid', 'Enter the first day as a real date (YYYY-MM-DD).', 'from')
  if (from > to) throw new ValidationError('range_invalid', 'The first day is after the last day.', 'from')
  if ((dayMs(to) - dayMs(from)) / DAY_MS + 1 > MAX_DAYS) {
    throw new ValidationError('range_too_long', `A report covers at most ${MAX_DAYS} days: pick a later first day or an earlier last day.`, 'from')
  }
  return { from, to }
}

/** Rows in the range (and of the slug), duplicates of a day, slug and version added up, in a stable order. */
export function selectRows (rows: Iterable<FunnelRow>, range: { from: string, to: string, slug?: string | undefined }): FunnelRow[] {
  const kept = [...rows].filter(r => r.day >= range.from && r.day <= range.to && (!range.slug || r.slug === range.slug))
  return sortRows(addRows(new Map(), kept).values())
}

/** Versions oldest first: ids start with their UTC time (20260304T050607Z-…); the unknown version last. */
function byVersion (a: string, b: string): number {
  if (a === '' || b === '') return a === b ? 0 : a === '' ? 1 : -1
  return a.localeCompare(b)
}

export function compareVersions (rows: readonly FunnelRow[]): SlugVersions[] {
  return [...Map.groupBy(rows, r => r.slug)].sort(([a], [b]) => a.localeCompare(b)).map(([slug, ofSlug]) => ({
    slug,
    versions: [...Map.groupBy(ofSlug, r => r.version)].sort(([a], [b]) => byVersion(a, b)).map(([version, own]) => {
      const days = own.map(r => r.day).sort()
      return { version, firstDay: days[0] ?? '', lastDay: days.at(-1) ?? '', ...figures(sumCounts(own)) }
    })
  }))
}

/** The whole report of a range (and one whitepaper, or all) from whatever rows the reader returned. */
export function buildReport (rows: Iterable<FunnelRow>, range: { from: string, to: string, slug?: string | undefined }): FunnelReport {
  const selected = selectRows(rows, range)
  const byDay = Map.groupBy(selected, r => r.day)
  return {
    from: range.from,
    to: range.to,
    ...(range.slug ? { slug: range.slug } : {}),
    ...figures(sumCounts(selected)),
    days: daysBetween(range.from, range.to).map(day => ({ day, counts: sumCounts(byDay.get(day) ?? []) })),
    versions: compareVersions(selected)
  }
}
