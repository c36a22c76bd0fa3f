// The outbox worker: sends what the outbox owes for as long as the process runs (start, stop) or in one go (drain, the Lambda sender).
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { systemClock, type Clock } from '../clock.ts'
import { createClaims } from './claims.ts'
import type { Leases } from './leases.ts'
import type { DrainOptions, DrainResult, OutboxEvents, OutboxPorts, SendPacing, WorkerLogger } from './ports.ts'
import { createSendLoop } from './send-loop.ts'
import { createQueueCounters, type QueueStats } from './stats.ts'
import type { OutboxBatch } from './store.ts'

/** drain()'s argument and answer (src/lambda-sender.ts) */
export type { DrainOptions, DrainResult } from './ports.ts'

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

export type OutboxWorker<Known = unknown> = ReturnType<typeof createOutboxWorker<Known>>

export function createOutboxWorker<Known> (options: OutboxWorkerOptions<Known>) {
  const { leases, ports, rate, maxAttempts, concurrency, scanIntervalMs, claimAheadMs, log } = options
  const clock = options.clock ?? systemClock
  const events = new EventEmitter<OutboxEvents>()
  const counters = createQueueCounters(clock)
  const suppressed = new Set<string>()
  const sending = createSendLoop<Known>({ leases, ports, rate, maxAttempts, concurrency, suppressed, counters, events, log, clock })
  const claims = createClaims({ leases, holder: sending, rate, counters, scanIntervalMs, claimAheadMs, log, clock })
  /** stop() was called: no drain either */
  let closed = false
  let scanner: Promise<void> | undefined

  return {
    /** sent, failed, retried, minted: for metrics (observe.ts) */
    events,

    start (): void {
      if (sending.running) return
      sending.start()
      scanner = claims.scanLoop()
    },

    /** A batch this instance just wrote (and holds the lease on): send it right away. */
    accept (batch: OutboxBatch, etag: string, known: Map<string, Known> = new Map()): void {
      sending.accept(leases.hold(batch, etag), known)
    },

    /** An address that bounced or complained: drop what is owed to it. */
    suppress (addressHash: string): void {
      suppressed.add(addressHash)
    },

    /** Runs one scan now (tests, and the first start). */
    scan: claims.scan,

    stats (): QueueStats {
      return counters.snapshot(sending.held().map(w => w.batch), sending.inFlight, rate.rate)
    },

    /**
     * Stops taking work, lets in-flight sends finish until the deadline, then releases the leases of
     * what is left so that the next instance (or this one restarted) sends it without waiting.
     */
    async stop (deadlineMs: number): Promise<void> {
      if (closed) return
      closed = true
      await sending.windDown(deadlineMs, scanner)
    },

    /**
     * One-shot sending for a process that is not running the loop (the Lambda sender): claims the
     * batches `ids` (every batch in the outbox when not given), sends what they owe at the pace, and
     * returns once they are finished, or at `deadline` (clock ms): then in-flight sends get `graceMs`
     * and the leases of what is left are released, so that the next drain takes it at once.
     */
    async drain (options: DrainOptions): Promise<DrainResult> {
      if (sending.running || closed) throw new Error('drain() needs a worker that is neither started nor stopped')
      let sent = 0
      const count = () => { sent++ }
      events.on('sent', count)
      const timeUp = new AbortController()
      sending.start()
      try {
        const claimed = await claims.claimAll(options.ids ?? await leases.list(), options.deadline)
        await Promise.race([sending.idle(), sleep(Math.max(0, options.deadline - clock()), undefined, { signal: timeUp.signal }).catch(() => {})])
        await sending.windDown(options.graceMs)
        return { claimed, sent, left: sending.owed() }
      } finally {
        timeUp.abort()
        events.off('sent', count)
        // Ready for the next drain (a warm Lambda environment runs many), unless stop() came meanwhile.
        sending.reset(!closed)
      }
    }
  }
}
