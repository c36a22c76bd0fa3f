// The send loop: the batches this instance holds, what they owe tried at the pace, their outcomes checkpointed, each deleted once done.
import { setTimeout as sleep } from 'node:timers/promises'
import { createAttempt, type AttemptOptions, type Held } from './attempt.ts'
import { countOwed, isFinished, type Lease, type Leases } from './leases.ts'
import type { SendPacing } from './ports.ts'
import type { OutboxItem } from './store.ts'

export interface SendLoopOptions<Known> extends AttemptOptions<Known> {
  leases: Pick<Leases, 'expiring' | 'checkpoint' | 'finish' | 'release'>
  rate: SendPacing
  /** SES calls in flight at once */
  concurrency: number
}

interface Work<Known> extends Held<Known> {
  inFlight: Set<string>
  /** a checkpoint of outcomes not yet written is due (checkpointLater) */
  flushTimer?: NodeJS.Timeout | undefined
}

interface Ready<Known> { work: Work<Known>, item: OutboxItem }

// What a crash can send twice: the sends whose outcome is not yet in S3. Outcomes are written every
// 100 ms (or 20 outcomes), about 0.7 checkpoint PUT per email at a new account's 14/s and 0.05-0.1 at
// 200/s (test/cost). Sending never runs further ahead of S3 than UNRECORDED_MIN sends, or a tenth of a
// second of this sender's pace if more: at that point what is done is written at once, and when S3 is
// slow to take the writes, sending waits. A SIGKILL sends at most that many twice, however loaded the
// machine (test/process/instances.test.ts; under load a checkpoint PUT lagged 150-600 ms).
export const CHECKPOINT_EVERY = 20
const CHECKPOINT_MS = 100
export const UNRECORDED_MIN = 5
const UNRECORDED_SECONDS = 0.1

export type SendLoop<Known> = ReturnType<typeof createSendLoop<Known>>

export function createSendLoop<Known> (options: SendLoopOptions<Known>) {
  const { leases, rate, log, clock } = options
  const attempt = createAttempt(options)
  const works = new Map<string, Work<Known>>()
  const ready: Array<Ready<Known>> = []
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let abort = new AbortController()
  let wake: (() => void) | undefined
  /** a drain waiting for every batch it holds to be finished (or lost) */
  let onIdle: (() => void) | undefined
  let stopping = false
  let loop: Promise<void> | undefined

  function notify (): void {
    const w = wake
    wake = undefined
    w?.()
  }

  function track (lease: Lease, recovered: boolean, known: Map<string, Known>): Work<Known> {
    const work = Object.assign(lease, { recovered, inFlight: new Set<string>(), known })
    works.set(lease.batch.id, work)
    return work
  }

  function enqueueOwed (work: Work<Known>): void {
    const at = clock()
    for (const item of work.batch.items) {
      if (work.batch.done[item.id]) continue
      const retry = work.batch.retries[item.id]
      const due = retry ? Date.parse(retry.notBefore) : 0
      if (due > at) schedule(work, item, due - at)
      else ready.push({ work, item })
    }
    notify()
  }

  function schedule (work: Work<Known>, item: OutboxItem, delayMs: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopping && !work.lost) {
        ready.push({ work, item })
        notify()
      }
    }, delayMs)
    timer.unref()
    timers.add(timer)
  }

  async function finishIfDone (work: Work<Known>): Promise<void> {
    if (work.lost || work.finishing || work.inFlight.size > 0 || !isFinished(work.batch)) return
    try {
      await leases.finish(work)
    } finally {
      // Tracked until gone from S3, so that a scan never mistakes it for someone else's leftovers.
      works.delete(work.batch.id)
      checkIdle()
    }
  }

  /** Sends started whose outcome is not yet written: in flight, done since the last write, or in the write under way. */
  function unrecorded (): number {
    let n = 0
    for (const w of works.values()) if (!w.lost) n += w.inFlight.size + w.sinceCheckpoint + w.recording
    return n
  }

  /** Whether one more send may start: SES calls in flight, and what a crash now would send again. */
  function mayLaunch (): boolean {
    return inFlight.size < options.concurrency && unrecorded() < windowSize()
  }

  function windowSize (): number {
    return Math.max(UNRECORDED_MIN, Math.ceil(rate.rate * UNRECORDED_SECONDS))
  }

  /** The window of unrecorded sends is full: outcomes waiting for the 100 ms timer are written now. */
  function recordNow (): void {
    if (unrecorded() < windowSize()) return
    for (const w of works.values()) {
      if (!w.lost && !w.finishing && w.sinceCheckpoint > 0 && w.recording === 0) leases.checkpoint(w).catch(() => {}).then(notify)
    }
  }

  function checkIdle (): void {
    if (onIdle && ![...works.values()].some(w => !w.lost)) onIdle()
  }

  /**
   * A paced batch's next outcome may be far off (its items wait behind other batches'): what it has is
   * written CHECKPOINT_MS after its last write all the same, since a crash would send it again.
   */
  function checkpointLater (work: Work<Known>): void {
    if (work.flushTimer) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      work.flushTimer = undefined
      if (!work.lost && !work.finishing && work.sinceCheckpoint > 0) leases.checkpoint(work).catch(() => {}).then(notify)
    }, Math.max(1, CHECKPOINT_MS - (clock() - work.lastCheckpoint)))
    timer.unref()
    timers.add(timer)
    work.flushTimer = timer
  }

  function launch (entry: Ready<Known>): void {
    const { work, item } = entry
    work.inFlight.add(item.id)
    const task = attempt(work, item)
      .catch(err => {
        // S3 or catalog trouble: the item stays owed and is retried shortly.
        log.warn({ err, batch: work.batch.id }, 'could not process an outbox item; will retry')
        return 1000
      })
      .then(async retryInMs => {
        if (retryInMs !== undefined) schedule(work, item, retryInMs)
        work.inFlight.delete(item.id)
        work.sinceCheckpoint++
        if (work.sinceCheckpoint >= CHECKPOINT_EVERY || clock() - work.lastCheckpoint >= CHECKPOINT_MS) await leases.checkpoint(work)
        else checkpointLater(work)
        await finishIfDone(work)
      })
      .finally(() => {
        inFlight.delete(task)
        notify()
        checkIdle()
      })
    inFlight.add(task)
  }

  async function run (): Promise<void> {
    while (!stopping) {
      const entry = ready.shift()
      if (!entry) {
        await new Promise<void>(resolve => { wake = resolve })
        continue
      }
      if (entry.work.lost || entry.work.batch.done[entry.item.id] || entry.work.inFlight.has(entry.item.id)) continue
      // Woken when a send or a checkpoint ends; a lease renewal by the scan writes outcomes too, unannounced.
      while (!mayLaunch() && !stopping) {
        recordNow()
        await Promise.race([new Promise<void>(resolve => { wake = resolve }), sleep(CHECKPOINT_MS, undefined, { ref: false })])
      }
      try {
        await rate.take(abort.signal)
      } catch {
        ready.unshift(entry)
        return
      }
      if (stopping) {
        ready.unshift(entry)
        return
      }
      launch(entry)
    }
  }

  return {
    /** the loop runs (start() was called and no reset() since) */
    get running (): boolean { return loop !== undefined },
    /** windDown() began: nothing more is taken on */
    get stopping (): boolean { return stopping },
    /** aborted when winding down */
    get signal (): AbortSignal { return abort.signal },
    /** emails waiting for their turn */
    get waiting (): number { return ready.length },
    /** sends in progress */
    get inFlight (): number { return inFlight.size },
    holds: (id: string): boolean => works.has(id),
    held: (): Array<Work<Known>> => [...works.values()],

    start (): void {
      loop = run()
    },

    /** A batch this instance just wrote (and holds the lease on): what it owes is sent right away. */
    accept (lease: Lease, known: Map<string, Known>): void {
      const work = track(lease, false, known)
      if (!stopping) enqueueOwed(work)
    },

    /** A batch claimed from the outbox: whether each email is still owed is re-read; a finished one is deleted. */
    async adopt (lease: Lease): Promise<void> {
      const work = track(lease, true, new Map())
      enqueueOwed(work)
      await finishIfDone(work)
    },

    /** Resolves once every batch held is finished (or lost), or at windDown(). */
    idle (): Promise<void> {
      const idle = new Promise<void>(resolve => { onIdle = resolve })
      checkIdle()
      return idle
    },

    /** Emails still owed in the batches held. */
    owed: (): number => [...works.values()].reduce((n, w) => n + (w.lost ? 0 : countOwed(w.batch)), 0),

    /**
     * Lets in-flight sends (and `scanning`) finish within `graceMs`, then releases the leases of what is
     * left, so that the next instance (or this one restarted) sends it without waiting.
     */
    async windDown (graceMs: number, scanning?: Promise<void>): Promise<void> {
      stopping = true
      abort.abort()
      notify()
      onIdle?.()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const deadline = sleep(graceMs, undefined, { ref: false })
      await Promise.race([Promise.allSettled([...inFlight]), deadline])
      await Promise.race([Promise.allSettled([loop, scanning]), deadline])
      await Promise.race([Promise.allSettled([...works.values()].map(async work => {
        if (isFinished(work.batch) && work.inFlight.size === 0) await finishIfDone(work)
        else await leases.release(work)
      })), deadline])
      ready.length = 0
    },

    /** After a drain: forgets what it held and, with `reopen`, is ready for the next start(). */
    reset (reopen: boolean): void {
      onIdle = undefined
      // Released (or lost): a send that outlived the grace must not write to them when it ends.
      for (const work of works.values()) work.lost = true
      works.clear()
      loop = undefined
      if (reopen) {
        abort = new AbortController()
        stopping = false
      }
    }
  }
}
