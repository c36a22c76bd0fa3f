// Claims: a periodic scan renews the leases of batches held here and claims batches whose lease ran out (a crashed or stopped sender's).
import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../clock.ts'
import { countOwed, type Lease, type Leases } from './leases.ts'
import type { SendPacing, WorkerLogger } from './ports.ts'
import { CHECKPOINT_EVERY } from './send-loop.ts'
import type { QueueCounters } from './stats.ts'

/** What claiming needs of the send loop (send-loop.ts). */
export interface Holder {
  /** winding down: claim nothing more */
  readonly stopping: boolean
  /** aborted when winding down */
  readonly signal: AbortSignal
  /** emails waiting for their turn */
  readonly waiting: number
  holds: (id: string) => boolean
  held: () => Lease[]
  /** Sends what a claimed batch owes. */
  adopt: (lease: Lease) => Promise<void>
}

export interface ClaimsOptions {
  leases: Pick<Leases, 'list' | 'claim' | 'expiring' | 'checkpoint'>
  holder: Holder
  rate: Pick<SendPacing, 'rate'>
  counters: Pick<QueueCounters, 'scanned'>
  scanIntervalMs: number
  /**
   * A scan claims no more than this much sending at the current pace (half a lease): what it leaves
   * is for the other senders, and nothing claimed waits here until its lease runs out.
   */
  claimAheadMs?: number | undefined
  log: WorkerLogger
  clock: Clock
}

/** beyond this many emails ready, a scan claims no more batches */
const MAX_READY = 5000

export function createClaims (options: ClaimsOptions) {
  const { leases, holder, rate, counters, log, clock } = options

  let renewing: Promise<unknown> | undefined
  /**
   * Batches held while their turn comes (sending is paced) are renewed before their lease runs out, or
   * another instance would claim them and send them again.
   */
  function renewExpiring (): Promise<unknown> {
    renewing ??= Promise.all(holder.held().filter(w => !w.lost && !w.finishing && leases.expiring(w)).map(w => leases.checkpoint(w)))
      .finally(() => { renewing = undefined })
    return renewing
  }

  /** Claims batches whose lease ran out: left by a crashed instance, or released at shutdown. */
  async function scan (): Promise<void> {
    await renewExpiring()
    const ids = await leases.list()
    counters.scanned(ids)
    const ahead = options.claimAheadMs === undefined ? MAX_READY : Math.max(CHECKPOINT_EVERY, rate.rate * options.claimAheadMs / 1000)
    await claimAll(ids, Number.POSITIVE_INFINITY, Math.min(MAX_READY, ahead))
  }

  /** Claims those of `ids` whose lease ran out (gone or leased ones are skipped); answers how many. */
  async function claimAll (ids: string[], until = Number.POSITIVE_INFINITY, maxReady = MAX_READY): Promise<number> {
    let claimed = 0
    for (const id of ids) {
      if (holder.stopping || holder.holds(id)) continue
      if (holder.waiting > maxReady || clock() >= until) break
      try {
        const lease = await leases.claim(id)
        if (!lease) continue
        claimed++
        log.info({ batch: id, owed: countOwed(lease.batch) }, 'claimed an outbox batch')
        await holder.adopt(lease)
      } catch (err) {
        // One unreadable batch must not stop the others from being claimed.
        log.warn({ err, batch: id }, 'could not claim an outbox batch; will retry')
      }
    }
    return claimed
  }

  /**
   * Scans every `scanIntervalMs` until the send loop winds down. Renewal has a timer of its own: a
   * scan reads every batch it may claim, and on a slow S3 with a long outbox that outlasted a lease
   * (a held batch waiting its turn lapsed, and another instance sent it again).
   */
  async function scanLoop (): Promise<void> {
    const renewal = setInterval(() => { renewExpiring().catch(() => {}) }, options.scanIntervalMs)
    renewal.unref()
    try {
      await scanUntilStopped()
    } finally {
      clearInterval(renewal)
    }
  }

  async function scanUntilStopped (): Promise<void> {
    while (!holder.stopping) {
      try {
        await scan()
      } catch (err) {
        log.warn({ err }, 'outbox scan failed; will retry')
      }
      try {
        await sleep(options.scanIntervalMs, undefined, { signal: holder.signal })
      } catch {
        return
      }
    }
  }

  return { scan, claimAll, scanLoop }
}
