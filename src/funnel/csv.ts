// The report as CSV (pure): one row per day, whitepaper and version with every step's count, written like
// the signups export (RFC 4180, CRLF, formula-like cells neutralised).
import { stringify } from 'csv-stringify/sync'
import { FUNNEL_STEPS, type FunnelRow } from './model.ts'
import { selectRows } from './report.ts'

export const CSV_HEADER = ['day', 'slug', 'version', ...FUNNEL_STEPS] as const

/**
 * The rows of a range (and one whitepaper, or all), duplicates added up, by day, slug and version.
 * A cell starting with = + - @ tab or CR gets a leading ' so that a spreadsheet shows it as text instead
 * of running it (https://owasp.org/www-community/attacks/CSV_Injection).
 */
export function funnelCsv (rows: Iterable<FunnelRow>, range: { from: string, to: string, slug?: string | undefined }): string {
  const records = selectRows(rows, range).map(r => [r.day, r.slug, r.version, ...FUNNEL_STEPS.map(s => r.counts[s] ?? 0)])
  return stringify(records, {
    header: true,
    columns: [...CSV_HEADER],
    record_delimiter: 'windows',
    quote_record_delimiter: true,
    escape_formulas: true
  })
}
