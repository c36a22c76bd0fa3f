// The outbox worker: drains the batches this instance holds at SES's pace, retries with backoff, and
// leaves composing, sending and subscriber records to the ports it is given. Batches written here
// are sent at once; a periodic scan claims batches whose lease ran out (a crashed or stopped instance).
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { systemClock, type Clock } from '../clock.ts'
import { isFinished, type Lease, type Leases } from './leases.ts'
import type { SendPacing } from './ports.ts'
import type { DrainOptions, DrainResult, OutboxEvents, OutboxPorts, WorkerLogger } from './ports.ts'
import { DeliveryFailure, type SendFailure } from './ses-errors.ts'
import { createQueueCounters, type QueueStats } from './stats.ts'
import type { OutboxBatch, OutboxItem, SendResult } from './store.ts'

export type { DrainOptions, DrainResult, OutboxEvents, OutboxPorts } from './ports.ts'
export type { QueueStats } from './stats.ts'

export interface OutboxWorkerOptions<Known> {
  leases: Leases
  ports: OutboxPorts<Known>
  rate: SendPacing
  scanIntervalMs: number
  maxAttempts: number
  /** SES calls in flight at once */
  concurrency: number
  /**
   * A scan claims no more than this much sending at the current pace (half a lease): what it leaves
   * is for the other senders, and nothing claimed waits here until its lease runs out.
   */
  claimAheadMs?: number
  log: WorkerLogger
  clock?: Clock
}

interface Work<Known> extends Lease {
  /** claimed from the outbox (not written by this instance): whether it is owed is re-read */
  recovered: boolean
  inFlight: Set<string>
  known: Map<string, Known>
  /** a checkpoint of outcomes not yet written is due (checkpointLater) */
  flushTimer?: NodeJS.Timeout | undefined
}

interface Ready<Known> { work: Work<Known>, item: OutboxItem }

// What a crash can send twice: the sends since the last checkpoint. 100 ms keeps that under 1 % of a
// fleet's emails when one instance is SIGKILLed mid-burst (test/process/instances.test.ts), for about 0.7
// checkpoint PUT per email at a new account's 14/s and 0.05-0.1 at 200/s (test/cost).
const CHECKPOINT_EVERY = 20
const CHECKPOINT_MS = 100
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 60_000
/** beyond this many emails ready, a scan claims no more batches */
const MAX_READY = 5000

export type OutboxWorker<Known = unknown> = ReturnType<typeof createOutboxWorker<Known>>

export function createOutboxWorker<Known> (options: OutboxWorkerOptions<Known>) {
  const { leases, ports, rate, log } = options
  const clock = options.clock ?? systemClock
  const events = new EventEmitter<OutboxEvents>()
  const counters = createQueueCounters(clock)
  const works = new Map<string, Work<Known>>()
  const ready: Array<Ready<Known>> = []
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  const suppressed = new Set<string>()
  let abort = new AbortController()
  let wake: (() => void) | undefined
  /** a drain waiting for every batch it holds to be finished (or lost) */
  let onIdle: (() => void) | undefined
  let stopping = false
  /** stop() was called: no drain either */
  let closed = false
  let loop: Promise<void> | undefined
  let scanner: Promise<void> | undefined

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

  function checkIdle (): void {
    if (onIdle && ![...works.values()].some(w => !w.lost)) onIdle()
  }

  async function giveUp (work: Work<Known>, item: OutboxItem, reason: string): Promise<void> {
    work.batch.done[item.id] = 'failed'
    delete work.batch.retries[item.id]
    counters.failed(reason)
    events.emit('failed', reason)
    try {
      await ports.recordFailure(item, reason, work.known.get(item.id))
    } catch (err) {
      log.warn({ err, addressHash: item.addressHash.slice(0, 12) }, 'could not record a failed delivery on the subscriber')
    }
  }

  async function failed (work: Work<Known>, item: OutboxItem, failure: SendFailure, fields: object): Promise<void> {
    const attempts = (work.batch.retries[item.id]?.attempts ?? 0) + 1
    if (failure.kind === 'retry' && attempts < options.maxAttempts) {
      // Exponential backoff with full jitter: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
      const delay = Math.max(50, Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)))
      work.batch.retries[item.id] = { attempts, notBefore: new Date(clock() + delay).toISOString(), lastError: failure.reason }
      counters.retried(failure.throttled)
      events.emit('retried', failure.reason)
      if (failure.throttled) rate.throttled()
      log.warn({ ...fields, reason: failure.reason, attempts, retryInMs: Math.round(delay) }, 'send failed; will retry')
      schedule(work, item, delay)
      return
    }
    const reason = failure.kind === 'retry' ? 'retries_exhausted' : failure.reason
    log.error({ ...fields, reason, attempts }, 'email not sent: giving up on this recipient')
    await giveUp(work, item, reason)
  }

  async function attempt (work: Work<Known>, item: OutboxItem): Promise<void> {
    const fields = { addressHash: item.addressHash.slice(0, 12), batch: work.batch.id, item: item.id }
    if (leases.expiring(work)) await leases.checkpoint(work)
    if (work.lost) return
    if (suppressed.has(item.addressHash) || !await ports.isOwed(item, work.recovered)) {
      work.batch.done[item.id] = 'skipped'
      log.info(fields, 'email no longer owed (unsubscribed or suppressed since)')
      return
    }
    let result: SendResult
    try {
      result = await ports.deliver(item)
    } catch (err) {
      // Anything else (S3 or catalog trouble) is handled by launch: the item is retried shortly.
      if (!(err instanceof DeliveryFailure)) throw err
      if (err.linkMinted) events.emit('minted')
      await failed(work, item, err.failure, fields)
      return
    }
    events.emit('minted')
    work.batch.done[item.id] = 'sent'
    delete work.batch.retries[item.id]
    // The outcome goes to the batch (and then the delivery log), not to the subscriber record:
    // one write per batch instead of one per email.
    work.batch.results = { ...work.batch.results, [item.id]: result }
    counters.sent()
    events.emit('sent')
    log.info({ ...fields, messageId: result.messageId, version: result.version }, 'email sent')
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
      if (!work.lost && !work.finishing && work.sinceCheckpoint > 0) leases.checkpoint(work).catch(() => {})
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
        schedule(work, item, 1000)
      })
      .then(async () => {
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
      while (inFlight.size >= options.concurrency && !stopping) await new Promise<void>(resolve => { wake = resolve })
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

  /** Claims batches whose lease ran out: left by a crashed instance, or released at shutdown. */
  async function scanOnce (): Promise<void> {
    // Batches held while their turn comes (sending is paced): renewed before their lease runs out, or
    // another instance would claim them and send them again.
    await Promise.all([...works.values()].filter(w => !w.lost && !w.finishing && leases.expiring(w)).map(w => leases.checkpoint(w)))
    const ids = await leases.list()
    counters.scanned(ids)
    const ahead = options.claimAheadMs === undefined ? MAX_READY : Math.max(CHECKPOINT_EVERY, rate.rate * options.claimAheadMs / 1000)
    await claimAll(ids, Number.POSITIVE_INFINITY, Math.min(MAX_READY, ahead))
  }

  /** Claims those of `ids` whose lease ran out (gone or leased ones are skipped); answers how many. */
  async function claimAll (ids: string[], until = Number.POSITIVE_INFINITY, maxReady = MAX_READY): Promise<number> {
    let claimed = 0
    for (const id of ids) {
      if (stopping || works.has(id)) continue
      if (ready.length > maxReady || clock() >= until) break
      try {
        const lease = await leases.claim(id)
        if (!lease) continue
        claimed++
        const work = track(lease, true, new Map())
        log.info({ batch: id, owed: lease.batch.items.filter(i => !lease.batch.done[i.id]).length }, 'claimed an outbox batch')
        enqueueOwed(work)
        await finishIfDone(work)
      } catch (err) {
        // One unreadable batch must not stop the others from being claimed.
        log.warn({ err, batch: id }, 'could not claim an outbox batch; will retry')
      }
    }
    return claimed
  }

  /** Lets in-flight sends finish within `graceMs`, then releases the leases of what is left. */
  async function windDown (graceMs: number): Promise<void> {
    stopping = true
    abort.abort()
    notify()
    onIdle?.()
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    const deadline = sleep(graceMs, undefined, { ref: false })
    await Promise.race([Promise.allSettled([...inFlight]), deadline])
    await Promise.race([Promise.allSettled([loop, scanner]), deadline])
    await Promise.race([Promise.allSettled([...works.values()].map(async work => {
      if (isFinished(work.batch) && work.inFlight.size === 0) await finishIfDone(work)
      else await leases.release(work)
    })), deadline])
    ready.length = 0
  }

  async function scanLoop (): Promise<void> {
    while (!stopping) {
      try {
        await scanOnce()
      } catch (err) {
        log.warn({ err }, 'outbox scan failed; will retry')
      }
      try {
        await sleep(options.scanIntervalMs, undefined, { signal: abort.signal })
      } catch {
        return
      }
    }
  }

  return {
    /** sent, failed, retried, minted: for metrics (observe.ts) */
    events,

    start (): void {
      if (loop) return
      loop = run()
      scanner = scanLoop()
    },

    /** A batch this instance just wrote (and holds the lease on): send it right away. */
    accept (batch: OutboxBatch, etag: string, known: Map<string, Known> = new Map()): void {
      const work = track(leases.hold(batch, etag), false, known)
      if (!stopping) enqueueOwed(work)
    },

    /** An address that bounced or complained: drop what is owed to it. */
    suppress (addressHash: string): void {
      suppressed.add(addressHash)
    },

    /** Runs one scan now (tests, and the first start). */
    scan: scanOnce,

    stats (): QueueStats {
      return counters.snapshot([...works.values()].map(w => w.batch), inFlight.size, rate.rate)
    },

    /**
     * Stops taking work, lets in-flight sends finish until the deadline, then releases the leases of
     * what is left so that the next instance (or this one restarted) sends it without waiting.
     */
    async stop (deadlineMs: number): Promise<void> {
      if (closed) return
      closed = true
      await windDown(deadlineMs)
    },

    /**
     * One-shot sending for a process that is not running the loop (the Lambda sender): claims the
     * batches `ids` (every batch in the outbox when not given), sends what they owe at the pace, and
     * returns once they are finished, or at `deadline` (clock ms): then in-flight sends get `graceMs`
     * and the leases of what is left are released, so that the next drain takes it at once.
     */
    async drain (options: DrainOptions): Promise<DrainResult> {
      if (loop || closed) throw new Error('drain() needs a worker that is neither started nor stopped')
      let sent = 0
      const count = () => { sent++ }
      events.on('sent', count)
      const timeUp = new AbortController()
      loop = run()
      try {
        const claimed = await claimAll(options.ids ?? await leases.list(), options.deadline)
        const idle = new Promise<void>(resolve => { onIdle = resolve })
        checkIdle()
        await Promise.race([idle, sleep(Math.max(0, options.deadline - clock()), undefined, { signal: timeUp.signal }).catch(() => {})])
        await windDown(options.graceMs)
        const left = [...works.values()].reduce((n, w) => n + (w.lost ? 0 : w.batch.items.filter(i => !w.batch.done[i.id]).length), 0)
        return { claimed, sent, left }
      } finally {
        timeUp.abort()
        events.off('sent', count)
        onIdle = undefined
        // Released (or lost): a send that outlived the grace must not write to them when it ends.
        for (const work of works.values()) work.lost = true
        works.clear()
        // Ready for the next drain (a warm Lambda environment runs many), unless stop() came meanwhile.
        loop = undefined
        if (!closed) {
          abort = new AbortController()
          stopping = false
        }
      }
    }
  }
}
