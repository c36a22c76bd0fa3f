// Taking one person's emails out of outbox batches (erasure), safely against the instance that holds a
// batch's lease: the edit keeps `owner` and `leaseUntil` as they are, so the holder's next checkpoint,
// refused by If-Match, tells an edit from a claim (a claim always changes them) and adopts it (leases.ts).
import { WriteConflict } from '../storage/json-store.ts'
import { batchKey, type OutboxBatch, type OutboxStore, type StoredBatch } from './store.ts'

export interface LeaseHeld {
  owner: string
  leaseUntil: string
}

/**
 * Removes the items whose id is in `itemIds` from batch `id` (and their outcome, retry and SES result).
 * Answers how many were removed; 0 when the batch is gone (finished) or holds none of them.
 */
export async function removeItems (store: Pick<OutboxStore, 'read' | 'replace'>, id: string, itemIds: ReadonlySet<string>, attempts = 5): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const stored = await store.read(id)
    if (!stored) return 0
    const { batch, etag } = stored
    const removed = batch.items.filter(i => itemIds.has(i.id))
    if (removed.length === 0) return 0
    batch.items = batch.items.filter(i => !itemIds.has(i.id))
    forget(batch, removed.map(i => i.id))
    try {
      await store.replace(batch, etag)
      return removed.length
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err
      // The holder checkpointed (or someone claimed it) in between: read its version and edit that.
    }
  }
  throw new WriteConflict(batchKey(id))
}

function forget (batch: OutboxBatch, ids: string[]): void {
  for (const id of ids) {
    delete batch.done[id]
    delete batch.retries[id]
    if (batch.results) delete batch.results[id]
  }
}

/**
 * The holder's side: its write was refused, and S3 has `stored`. When owner and leaseUntil are still
 * the ones it wrote, nobody claimed the batch: someone took items out. The holder drops those items
 * (marked skipped in memory, so that nothing queued sends them) and keeps its own progress on the rest.
 * False when the batch was claimed: the lease is lost.
 */
export function adoptRemovals (held: OutboxBatch, stored: StoredBatch, lastWritten: LeaseHeld): boolean {
  if (stored.batch.owner !== lastWritten.owner || stored.batch.leaseUntil !== lastWritten.leaseUntil) return false
  const kept = new Set(stored.batch.items.map(i => i.id))
  const gone = held.items.filter(i => !kept.has(i.id)).map(i => i.id)
  held.items = held.items.filter(i => kept.has(i.id))
  forget(held, gone)
  for (const id of gone) held.done[id] = 'skipped'
  return true
}
