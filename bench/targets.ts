// Every target the bench judges a figure against, in one table: the sections and the summary print "✓"
// or "✗ missed" from here, so a threshold is written once. The bench never fails on a miss: figures
// from a shared machine are evidence to read, not a gate (no timed assertions in tests either).

export type Comparison = '<' | '≤' | '=' | '≥'

export interface Target {
  /** the figure the target applies to, as the bench computes it */
  figure: string
  compare: Comparison
  threshold: number
  /** printed after the threshold ('ms', '%', …); ratios have none */
  unit: string
  /** where the target comes from, and its words there (quoted only where the words are at hand) */
  source: string
}

export const TARGETS = {
  startupMs: {
    figure: 'start-up to the first /healthz 200: leadlink as `npm start` runs it ÷ the bare Fastify + SDK app (medians)',
    compare: '≤',
    threshold: 1.2,
    unit: '×',
    source: 'the start-up target of the README\'s Performance table (≤ 1.2 × a bare Fastify app with the same SDK clients); "One clear core" item 4: measured "with the admin area enabled"'
  },
  startupRssReady: {
    figure: 'RSS at the first /healthz 200: leadlink ÷ bare (medians)',
    compare: '≤',
    threshold: 1.2,
    unit: '×',
    source: 'the memory target of the README\'s Performance table (≤ 1.2 × the bare app); admin area enabled, as above'
  },
  startupRssWarm: {
    figure: 'RSS after 300 × /healthz: leadlink ÷ bare (medians)',
    compare: '≤',
    threshold: 1.2,
    unit: '×',
    source: 'the memory target of the README\'s Performance table (≤ 1.2 × the bare app); admin area enabled, as above'
  },
  mintRatio: {
    figure: 'µs per download link: links.mint() ÷ getSignedUrl (medians, in process)',
    compare: '≤',
    threshold: 0.25,
    unit: '×',
    source: 'issue 3 (µs per minted link next to getSignedUrl), as the bench and README have stated it: ≤ 0.25'
  },
  statesSpreadPct: {
    figure: 'POST /subscribe: largest gap between two address states\' median times, in % of the smaller',
    compare: '≤',
    threshold: 10,
    unit: '%',
    source: 'design.md: "Nothing an outsider can reach (a page, a status code, a header, a timing, a metric) tells whether an address is on file or in what state"; 10 % is the bench\'s reading of it (since 181a97b)'
  },
  burstFailed: {
    figure: 'signup burst: submissions answered other than 2xx/3xx, or not at all, over every burst',
    compare: '=',
    threshold: 0,
    unit: '',
    source: 'issue 5, as the bench stated it: "The campaign launch of issue 5: targets 0 failed, p99 < 250 ms, every email ≤ 20 s after the burst, throttling answers < 2 % of SendEmail calls"'
  },
  burstP99Ms: {
    figure: 'signup burst: submission latency p99 (median of the bursts)',
    compare: '<',
    threshold: 250,
    unit: 'ms',
    source: 'issue 5 (as above): "p99 < 250 ms"'
  },
  burstLastEmailS: {
    figure: 'signup burst: from the last answer to the last email, every accepted signup emailed (median of the bursts)',
    compare: '≤',
    threshold: 20,
    unit: 's',
    source: 'issue 5 (as above): "every email ≤ 20 s after the burst"'
  },
  burstThrottledPct: {
    figure: 'signup burst: SendEmail calls SES answered TooManyRequests, in % of all SendEmail calls',
    compare: '<',
    threshold: 2,
    unit: '%',
    source: 'issue 5 (as above): "throttling answers < 2 % of SendEmail calls"'
  },
  subscribeRps: {
    figure: 'POST /subscribe accepted req/s (--connections, 32 by default): leadlink ÷ the naive inline route (medians)',
    compare: '≥',
    threshold: 0.8,
    unit: '×',
    source: 'as the bench stated it: "the core floor: ≥ 0.8 × naive, every accepted signup emailed"'
  },
  subscribeRpsPerCore: {
    figure: 'POST /subscribe req/s per server CPU core: leadlink ÷ naive (less sensitive to a busy machine)',
    compare: '≥',
    threshold: 0.8,
    unit: '×',
    source: 'the same floor, per CPU the server spent (the bench\'s own reading, less sensitive to a busy machine)'
  },
  subscribeBad: {
    figure: 'POST /subscribe: answers other than 2xx/3xx, connection errors and timeouts, every round',
    compare: '=',
    threshold: 0,
    unit: '',
    source: 'the bench\'s summary before this table: 0 (every signup accepted)'
  },
  subscribeUnsent: {
    figure: 'POST /subscribe: accepted signups never emailed (after up to 20 s of settling), every round',
    compare: '=',
    threshold: 0,
    unit: '',
    source: 'the core floor (as above): "every accepted signup emailed"'
  },
  signupsExportRatio: {
    figure: 'signups section (--only signups): export or /admin/signups.csv time ÷ the floor (listing plus reading every record at the same concurrency, median of the runs around it)',
    compare: '≤',
    threshold: 2,
    unit: '×',
    source: 'issue 13 item 4: "finish within 2× of the floor (listing plus reading every record with the same concurrency, measured in the same run)"'
  },
  signupsRssMb: {
    figure: 'signups section: peak RSS of the export process, and of the server that streamed /admin/signups.csv',
    compare: '<',
    threshold: 200,
    unit: 'MB',
    source: 'issue 13 item 4: "stream with bounded memory (RSS under 200 MB)"'
  }
} as const satisfies Record<string, Target>

export type TargetName = keyof typeof TARGETS

/** true when the figure meets its target, false when it misses, undefined when there is no figure (NaN). */
export function meets (name: TargetName, value: number): boolean | undefined {
  if (Number.isNaN(value)) return undefined
  const { compare, threshold } = TARGETS[name] as Target
  switch (compare) {
    case '<': return value < threshold
    case '≤': return value <= threshold
    case '=': return value === threshold
    case '≥': return value >= threshold
  }
}

/** The target as printed beside a figure: "≤ 1.2 ×", "< 250 ms". */
export function describe (name: TargetName): string {
  const { compare, threshold, unit } = TARGETS[name] as Target
  return `${compare} ${threshold}${unit ? ` ${unit}` : ''}`
}

/** "≤ 1.2 × ✓", "< 250 ms ✗ missed", or "… (no figure)". */
export function verdict (name: TargetName, value: number): string {
  const ok = meets(name, value)
  return `${describe(name)} ${ok === undefined ? '(no figure)' : ok ? '✓' : '✗ missed'}`
}

/** Every target with its source, for --targets. */
export function listTargets (): string[] {
  return Object.entries(TARGETS).flatMap(([name, t]) => [`${name.padEnd(20)} ${describe(name as TargetName).padEnd(9)} ${t.figure}`, `${''.padEnd(31)}from: ${t.source}`])
}
