// Small numeric and formatting helpers every bench section shares: medians, percentiles, spreads, table rows.

/** Above this share of one CPU, other processes (tests, a build) competed with the bench and its figures say little. */
export const NOISY_PCT = 15

/** Median of the numbers that are not NaN (NaN when none are). */
export function median (xs: number[]): number {
  const s = xs.filter(x => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** Nearest-rank percentile, as autocannon reports them. */
export function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] as number
}

export function sum<T> (xs: T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0)
}

export function fmt (x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a'
}

/** "min–max" of the numbers that are not NaN, so a median comes with the spread it was taken from. */
export function range (xs: number[], digits = 0): string {
  const s = xs.filter(x => !Number.isNaN(x))
  if (s.length === 0) return 'n/a'
  const lo = Math.min(...s)
  const hi = Math.max(...s)
  return lo === hi ? fmt(lo, digits) : `${fmt(lo, digits)}–${fmt(hi, digits)}`
}

/** How much smaller `after` is than `before`, in % of `before` (negative: it grew). */
export function savingPct (before: number, after: number): number {
  return (before - after) / before * 100
}

/** CPU that processes other than ours used over an interval, in % of one CPU. */
export function othersPct (machineMs: number, oursMs: number, wallMs: number): number {
  return Math.max(0, machineMs - oursMs) / wallMs * 100
}

export type Log = (line?: string) => void

/** Writes to stdout: the bench's report is its output. */
export const log: Log = (line = '') => { process.stdout.write(`${line}\n`) }

/** One line of the summary table: figure, leadlink, reference, ratio, target and verdict. */
export function row (label: string, a: string, b: string, ratio = '', target = ''): string {
  return `  ${label.padEnd(28)}${a.padStart(12)}${b.padStart(18)}${ratio.padStart(8)}   ${target}`.trimEnd()
}
