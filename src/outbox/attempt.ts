// One email's try: is it still owed, send it, its outcome onto the batch; on failure a retry after backoff, or giving up.
import type { EventEmitter } from 'node:events'
import type { Clock } from '../clock.ts'
import type { Lease, Leases } from './leases.ts'
import type { OutboxEvents, OutboxPorts, SendPacing, WorkerLogger } from './ports.ts'
import { DeliveryFailure, type SendFailure } from './ses-errors.ts'
import type { QueueCounters } from './stats.ts'
import type { OutboxItem, SendResult } from './store.ts'

/** A batch this instance holds, as a try needs it. */
export interface Held<Known> extends Lease {
  /** claimed from the outbox (not written by this instance): whether it is owed is re-read */
  recovered: boolean
  known: Map<string, Known>
}

export interface AttemptOptions<Known> {
  leases: Pick<Leases, 'expiring' | 'checkpoint'>
  ports: OutboxPorts<Known>
  rate: Pick<SendPacing, 'throttled'>
  maxAttempts: number
  /** addresses that bounced or complained since their email was queued (OutboxWorker.suppress) */
  suppressed: ReadonlySet<string>
  counters: QueueCounters
  events: EventEmitter<OutboxEvents>
  log: WorkerLogger
  clock: Clock
}

const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 60_000

/**
 * The try of one item of a held batch. It answers in how many ms to try again, or undefined once the
 * item is resolved (sent, no longer owed, failed for good) or the batch is lost; it throws on S3 or
 * catalog trouble (the caller tries again shortly).
 */
export function createAttempt<Known> (options: AttemptOptions<Known>) {
  const { leases, ports, rate, suppressed, counters, events, log, clock } = options

  async function giveUp (work: Held<Known>, item: OutboxItem, reason: string): Promise<void> {
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

  async function failed (work: Held<Known>, item: OutboxItem, failure: SendFailure, fields: object): Promise<number | undefined> {
    const attempts = (work.batch.retries[item.id]?.attempts ?? 0) + 1
    if (failure.kind === 'retry' && attempts < options.maxAttempts) {
      // Exponential backoff with full jitter: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
      const delay = Math.max(50, Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)))
      work.batch.retries[item.id] = { attempts, notBefore: new Date(clock() + delay).toISOString(), lastError: failure.reason }
      counters.retried(failure.throttled)
      events.emit('retried', failure.reason)
      if (failure.throttled) rate.throttled()
      log.warn({ ...fields, reason: failure.reason, attempts, retryInMs: Math.round(delay) }, 'send failed; will retry')
      return delay
    }
    const reason = failure.kind === 'retry' ? 'retries_exhausted' : failure.reason
    log.error({ ...fields, reason, attempts }, 'email not sent: giving up on this recipient')
    await giveUp(work, item, reason)
    return undefined
  }

  return async function attempt (work: Held<Known>, item: OutboxItem): Promise<number | undefined> {
    const fields = { addressHash: item.addressHash.slice(0, 12), batch: work.batch.id, item: item.id }
    if (leases.expiring(work)) await leases.checkpoint(work)
    if (work.lost) return undefined
    if (suppressed.has(item.addressHash) || !await ports.isOwed(item, work.recovered)) {
      work.batch.done[item.id] = 'skipped'
      log.info(fields, 'email no longer owed (unsubscribed or suppressed since)')
      return undefined
    }
    let result: SendResult
    try {
      result = await ports.deliver(item)
    } catch (err) {
      // Anything else (S3 or catalog trouble) is the caller's: the item is retried shortly.
      if (!(err instanceof DeliveryFailure)) throw err
      if (err.linkMinted) events.emit('minted')
      return await failed(work, item, err.failure, fields)
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
    return undefined
  }
}
