// Counts funnel events in memory and adds them to S3 every FUNNEL_FLUSH_SECONDS (and on close): a
// route only increments a number, so counting never slows or fails a request. A flush S3 refuses
// keeps its part and retries it, under the same id, until S3 takes it: nothing is lost or doubled.
import type { Clock } from '../clock.ts'
import { addRows, dayOf, FUNNEL_STEPS, monthOf, type FunnelRow, type FunnelStep, type FunnelSubject } from './model.ts'
import { partId, type FunnelStore } from './store.ts'

export interface FunnelCounterOptions {
  store: Pick<FunnelStore, 'writePart' | 'compact'>
  /** this instance's name in part ids (letters, digits, dot, dash, underscore) */
  instance: string
  clock: Clock
  /** how often the months this instance wrote to are compacted (a reader reads at most the parts since) */
  compactEveryMs: number
  log: { warn: (obj: object, msg: string) => void }
}

/** A part that S3 has not yet confirmed, kept with its id so that a retry cannot count it twice. */
interface PendingPart { month: string, id: string, rows: FunnelRow[] }

const STEPS = new Set<string>(FUNNEL_STEPS)
/** Key parts are checked, never trusted: a slug or version from an SES tag becomes part of a row. */
const SAFE = /^[A-Za-z0-9._-]{0,64}$/

export type FunnelCounter = ReturnType<typeof createFunnelCounter>

export function createFunnelCounter (options: FunnelCounterOptions) {
  const { store, instance, clock, log } = options
  let buffer = new Map<string, FunnelRow>()
  const pending: PendingPart[] = []
  const lastCompacted = new Map<string, number>()
  let seq = 0
  /** whether counts were recorded since the last flush began, and when it began */
  let recorded = false
  let lastFlushAt = 0
  let flushing: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  function record (step: FunnelStep, subject: FunnelSubject, n = 1, at: number = clock()): void {
    if (!STEPS.has(step) || !Number.isInteger(n) || n <= 0 || !Number.isFinite(at)) return
    const slug = SAFE.test(subject.slug) ? subject.slug : ''
    const version = SAFE.test(subject.version) ? subject.version : ''
    addRows(buffer, [{ day: dayOf(at), slug, version, counts: { [step]: n } }])
    recorded = true
  }

  async function flushOnce (): Promise<void> {
    recorded = false
    lastFlushAt = clock()
    // At most one part per month waits for S3: while one does, new counts stay in the buffer.
    if (buffer.size > 0) {
      const waiting = new Set(pending.map(p => p.month))
      const keep = new Map<string, FunnelRow>()
      const byMonth = new Map<string, FunnelRow[]>()
      for (const [key, row] of buffer) {
        const month = monthOf(row.day)
        if (waiting.has(month)) keep.set(key, row)
        else byMonth.set(month, [...(byMonth.get(month) ?? []), row])
      }
      buffer = keep
      for (const [month, rows] of byMonth) pending.push({ month, id: partId(clock(), instance, seq++), rows })
    }
    const written = new Set<string>()
    while (pending.length > 0) {
      const part = pending[0] as PendingPart
      try {
        await store.writePart(part.month, part.id, part.rows)
      } catch (err) {
        log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, parts: pending.length }, 'funnel counts not stored yet: kept in memory, retried at the next flush')
        return
      }
      pending.shift()
      written.add(part.month)
    }
    const now = clock()
    for (const month of written) {
      if (now - (lastCompacted.get(month) ?? 0) < options.compactEveryMs) continue
      lastCompacted.set(month, now)
      // The parts are stored already: a compaction that fails is simply done by a later one.
      await store.compact(month, now).catch(err => {
        log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, month }, 'funnel compaction failed: a later one will do it')
      })
    }
  }

  /** One flush at a time: a flush asked for while one runs waits for it, then runs. */
  function flush (): Promise<void> {
    flushing = flushing.then(flushOnce, flushOnce)
    return flushing
  }

  return {
    record,
    flush,
    /** counts in memory not yet confirmed by S3 (buffered or in a part being retried) */
    unsaved (): number {
      let n = 0
      for (const row of buffer.values()) for (const c of Object.values(row.counts)) n += c ?? 0
      for (const part of pending) for (const row of part.rows) for (const c of Object.values(row.counts)) n += c ?? 0
      return n
    },
    /**
     * Flushes when there is something to store and the last flush began `intervalMs` ago or more: for
     * Lambda, whose timers stop while the environment is frozen between invocations (its handler calls
     * this before answering). At most one flush per interval, and no count waits past the next invocation.
     */
    async flushIfDue (intervalMs: number): Promise<void> {
      if ((recorded || pending.length > 0) && clock() - lastFlushAt >= intervalMs) await flush()
    },
    start (intervalMs: number): void {
      if (timer) return
      timer = setInterval(() => { flush().catch(() => {}) }, intervalMs)
      timer.unref()
    },
    /** Stops the timer and flushes what is left (compacting the months written, so a report sees them at once). */
    async stop (): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      lastCompacted.clear()
      await flush()
    }
  }
}
