// The lease protocol on top of the outbox store: an instance holds a batch until `leaseUntil`,
// renews it with each checkpoint, releases it at shutdown; anyone may claim it after. Conditional
// writes (If-Match on the batch's ETag) decide who holds it when two instances try.
import { dateOf, type Clock } from '../clock.ts'
import { isNotFound } from '../storage/errors.ts'
import { WriteConflict } from '../storage/json-store.ts'
import { adoptRemovals, type LeaseHeld } from './redact.ts'
import type { OutboxBatch, OutboxStore } from './store.ts'

export interface LeaseLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

/** A batch this instance holds, with its progress since the last write. */
export interface Lease {
  readonly batch: OutboxBatch
  etag: string
  /** the lease was taken by another instance, or the batch is gone: stop touching it */
  lost: boolean
  /** every item is resolved and the batch object is being deleted */
  finishing: boolean
  /** outcomes since the last checkpoint */
  sinceCheckpoint: number
  /** outcomes in the write under way (back in sinceCheckpoint if it fails) */
  recording: number
  lastCheckpoint: number
  /** the write in progress: writes to one batch are serialised */
  writing: Promise<void>
}

export interface LeasesOptions {
  store: Pick<OutboxStore, 'read' | 'replace' | 'remove' | 'log' | 'list'>
  owner: string
  leaseMs: number
  clock: Clock
  log: LeaseLogger
}

export type Leases = ReturnType<typeof createLeases>

export function isFinished (batch: OutboxBatch): boolean {
  return batch.items.every(i => batch.done[i.id])
}

/** How many of the batch's emails are neither sent, skipped nor failed for good. */
export function countOwed (batch: OutboxBatch): number {
  return batch.items.filter(i => !batch.done[i.id]).length
}

export function createLeases (options: LeasesOptions) {
  const { store, owner, leaseMs, clock, log } = options

  /** Writes the batch; if an erasure took items out meanwhile (src/outbox/redact.ts), adopts it and writes again. */
  async function replaceAdopting (lease: Lease, written: LeaseHeld): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await store.replace(lease.batch, lease.etag)
      } catch (err) {
        if (!(err instanceof WriteConflict) || attempt >= 3) throw err
        const stored = await store.read(lease.batch.id)
        if (!stored || !adoptRemovals(lease.batch, stored, written)) throw err
        lease.etag = stored.etag
      }
    }
  }

  function hold (batch: OutboxBatch, etag: string): Lease {
    return { batch, etag, lost: false, finishing: false, sinceCheckpoint: 0, recording: 0, lastCheckpoint: clock(), writing: Promise.resolve() }
  }

  /** Writes the batch's progress and renews the lease (or, with `release`, ends it now). */
  function checkpoint (lease: Lease, release = false): Promise<void> {
    lease.writing = lease.writing.then(async () => {
      // A finishing batch is being deleted: only its release (on failure to delete) is still written.
      if (lease.lost || (lease.finishing && !release)) return
      const written: LeaseHeld = { owner: lease.batch.owner, leaseUntil: lease.batch.leaseUntil }
      lease.batch.owner = owner
      lease.batch.leaseUntil = new Date(release ? clock() : clock() + leaseMs).toISOString()
      lease.recording = lease.sinceCheckpoint
      lease.sinceCheckpoint = 0
      lease.lastCheckpoint = clock()
      try {
        lease.etag = await replaceAdopting(lease, written)
        lease.recording = 0
      } catch (err) {
        lease.sinceCheckpoint += lease.recording
        lease.recording = 0
        if (err instanceof WriteConflict || isNotFound(err)) {
          lease.lost = true
          log.warn({ batch: lease.batch.id }, 'outbox batch was claimed or finished elsewhere; leaving it')
        } else {
          log.warn({ err, batch: lease.batch.id }, 'outbox checkpoint failed; will retry')
        }
      }
    })
    return lease.writing
  }

  return {
    /** A batch this instance just wrote, leased to it by the writer. */
    hold,

    /** Ids of every batch in the outbox, oldest first. */
    list: () => store.list(),

    /**
     * Takes a batch whose lease ran out (left by a crashed instance, or released at shutdown).
     * Null when it is gone, still leased (ours included: one of ours not tracked is being deleted),
     * or another instance claimed it first.
     */
    async claim (id: string): Promise<Lease | null> {
      const stored = await store.read(id)
      if (!stored) return null
      const { batch, etag } = stored
      if (Date.parse(batch.leaseUntil) > clock()) return null
      batch.owner = owner
      batch.leaseUntil = new Date(clock() + leaseMs).toISOString()
      try {
        return hold(batch, await store.replace(batch, etag))
      } catch (err) {
        if (err instanceof WriteConflict) return null
        throw err
      }
    },

    checkpoint,

    /** Less than a third of the lease is left: renew it before starting another send. */
    expiring: (lease: Lease): boolean => Date.parse(lease.batch.leaseUntil) - clock() < leaseMs / 3,

    /** Ends the lease now, so the next instance (or this one restarted) takes the batch at once. */
    release: (lease: Lease): Promise<void> => checkpoint(lease, true),

    /** Every item is resolved: keep the delivery log, then delete the batch. */
    async finish (lease: Lease): Promise<void> {
      lease.finishing = true
      await lease.writing
      try {
        await store.log(lease.batch, dateOf(clock)).catch(err => {
          log.warn({ err, batch: lease.batch.id }, 'could not write the delivery log of a finished batch')
        })
        await store.remove(lease.batch.id)
      } catch (err) {
        // Harmless once every item is marked done in S3: whoever claims it next just deletes it.
        log.warn({ err, batch: lease.batch.id }, 'could not delete a finished outbox batch')
        await checkpoint(lease, true)
      }
    }
  }
}
