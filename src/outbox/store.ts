// The outbox in S3: batches of emails owed, one object per batch under outbox/, leased by the
// instance sending them (conditional writes decide who holds a lease).
import { randomUUID } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { createJsonStore } from '../storage/json-store.ts'
import { type DeliveryLog, type OutboxBatch, OutboxBatchSchema } from './model.ts'

export type { DeliveryLog, ItemRetry, OutboxBatch, OutboxItem, SendResult } from './model.ts'

export const OUTBOX_PREFIX = 'outbox/'
const BATCH_KEY_RE = /^outbox\/([0-9a-z]+-[0-9a-f]+)\.json$/

export const DELIVERY_LOG_PREFIX = 'deliveries/'

/**
 * Under the day the batch was created, which its id tells: a person's lines are found from the item ids
 * on their subscriber record (erase, show) by listing one narrow prefix, never by scanning the log.
 */
export function deliveryLogKey (batchId: string): string {
  return `${DELIVERY_LOG_PREFIX}${new Date(batchTime(batchId)).toISOString().slice(0, 10)}/${batchId}.json`
}

export interface StoredBatch {
  batch: OutboxBatch
  etag: string
}

/** Time-sortable ids: the oldest batch lists first, and its age is readable from its name. */
export function newBatchId (at: number = Date.now()): string {
  // 12 random hex digits: the last group of a v4 UUID, all random. randomUUID draws from a buffer of
  // entropy; randomBytes(6) took 3 % of the server's CPU in a burst's profile.
  return `${at.toString(36).padStart(9, '0')}-${randomUUID().slice(24)}`
}

export function batchTime (id: string): number {
  return Number.parseInt(id.split('-')[0] ?? '', 36)
}

export function batchKey (id: string): string {
  return `${OUTBOX_PREFIX}${id}.json`
}

/** The batch id of an outbox key; undefined for anything else under outbox/ (settle objects). */
export function batchIdOf (key: string): string | undefined {
  return BATCH_KEY_RE.exec(key)?.[1]
}

/**
 * Where an instance writes when a signup owes nothing: the write costs what a batch costs (so the
 * answer takes as long), overwrites the last one and is never scanned (README: a lifecycle rule
 * expires what stopped instances leave).
 */
export function settleKey (owner: string): string {
  return `${OUTBOX_PREFIX}settle/${owner}.json`
}

export type OutboxStore = ReturnType<typeof createOutboxStore>

export function createOutboxStore (options: { s3: S3Client, bucket: string }) {
  const json = createJsonStore(options)

  return {
    create: (batch: OutboxBatch) => json.put(batchKey(batch.id), batch, { ifNoneMatch: '*' }),

    /** A batch-sized write that owes nothing (see settleKey). */
    async settle (batch: OutboxBatch): Promise<void> {
      await json.put(settleKey(batch.owner), batch)
    },
    replace: (batch: OutboxBatch, etag: string) => json.put(batchKey(batch.id), batch, { ifMatch: etag }),

    async read (id: string): Promise<StoredBatch | null> {
      const found = await json.get(batchKey(id), OutboxBatchSchema)
      return found ? { batch: found.value, etag: found.etag } : null
    },

    /**
     * Keeps the outcome of a finished batch (message ids, versions, link expiries) for audits. No address
     * and no record key: a line is linked to a person only by the item id on their record, so erasing
     * the record leaves nothing here that points back to them.
     */
    async log (batch: OutboxBatch, finishedAt: Date): Promise<void> {
      const log: DeliveryLog = {
        schemaVersion: 1,
        batch: batch.id,
        finishedAt: finishedAt.toISOString(),
        items: batch.items.map(i => ({
          id: i.id, slug: i.slug, requestedAt: i.requestedAt, outcome: batch.done[i.id] ?? 'failed', ...batch.results?.[i.id]
        }))
      }
      await json.put(deliveryLogKey(batch.id), log)
    },

    remove: (id: string): Promise<void> => json.delete(batchKey(id)),

    /** Ids of every batch in the outbox, oldest first. */
    async list (): Promise<string[]> {
      const ids: string[] = []
      for await (const object of json.list(OUTBOX_PREFIX)) {
        const id = batchIdOf(object.key)
        if (id) ids.push(id)
      }
      return ids.sort()
    }
  }
}
