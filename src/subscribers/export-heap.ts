// V8's heap sizing while a scan of every subscriber record runs (the CSV export, the counts).
// Why: what a scan allocates dies young (a request, a record, a row), yet under its steady load V8
// grows the young generation up to 128 MB (Node 24 sizes its limit from the machine's memory) and
// lets the old one fill with promoted garbage, which pins response buffers until the next full
// collection: a server streaming 20,000 rows went from 110 MB to 344 MB (the bench's signups section
// has the 100,000-row figures). While a scan runs, the young generation is given back and kept at that
// size and the old one grows by 30 % per collection. Both flags are read by V8 at each resize, so they
// can change while the process runs; a running isolate's limits (--max-semi-space-size) cannot.
// https://nodejs.org/api/v8.html#v8setflagsfromstringflags
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const LEAN = { 'semi-space-growth-factor': 1, 'heap-growing-percent': 30 } as const
type Flag = keyof typeof LEAN
/** V8's defaults (node --v8-options), unless the process was started with its own value. */
const DEFAULTS: Record<Flag, number> = { 'semi-space-growth-factor': 2, 'heap-growing-percent': 0 }

function startValue (flag: Flag): number {
  // V8 flags are not allowed in NODE_OPTIONS: only the command line can set these two.
  const given = process.execArgv.findLast(arg => arg.replaceAll('_', '-').startsWith(`--${flag}=`))
  const value = given === undefined ? Number.NaN : Number(given.slice(given.indexOf('=') + 1))
  return Number.isInteger(value) ? value : DEFAULTS[flag]
}

let holders = 0
let collect: ((options: object) => void) | undefined

/**
 * A full collection that also gives back what the young generation grew to (the one V8 makes before
 * it reports running out of memory): the scan then starts from the smallest young generation, which
 * the lean growth factor keeps. Without --expose-gc at start, the function is taken from a context
 * made while the flag is set, and the flag is unset at once. It pauses the process once per scan
 * that finds none running: two full collections, 0.3–0.4 s measured on the busy 2-CPU development machine.
 * https://github.com/v8/v8/blob/main/src/extensions/gc-extension.cc
 */
function collectAll (): void {
  collect ??= (globalThis as { gc?: (options: object) => void }).gc
  if (!collect) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as (options: object) => void
    setFlagsFromString('--no-expose-gc')
  }
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' })
}

function apply (values: (flag: Flag) => number): void {
  for (const flag of Object.keys(LEAN) as Flag[]) setFlagsFromString(`--${flag}=${values(flag)}`)
}

/**
 * Lean heap sizing until the returned function is called (idempotent); overlapping scans share it,
 * and the process's own sizing comes back when the last one ends.
 */
export function holdLeanHeap (): () => void {
  if (holders++ === 0) {
    apply(flag => LEAN[flag])
    collectAll()
  }
  let released = false
  return () => {
    if (released) return
    released = true
    if (--holders === 0) apply(startValue)
  }
}

/** Scans holding the lean sizing now (for tests). */
export const leanHeapHolders = (): number => holders
