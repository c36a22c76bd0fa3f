// The outbox in S3: batches of emails owed, one object per batch under outbox/, leased by the
// instance sending them (conditional writes decide who holds a lease).
import { randomBytes } from 'node:crypto'
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isConditionFailed, isConditionInFlight, isNotFound } from '../storage/errors.ts'
import { WriteConflict } from '../storage/json-store.ts'

export const OUTBOX_PREFIX = 'outbox/'

/** One email owed. The address is here so that sending needs no extra read; keys stay hashed. */
export interface OutboxItem {
  id: string
  address: string
  addressHash: string
  slug: string
  requestedAt: string
  /** returning: the address had unsubscribed, and the email says it stays so unless confirmed */
  kind?: 'returning'
}

export interface ItemRetry {
  attempts: number
  notBefore: string
  lastError: string
}

export interface OutboxBatch {
  schemaVersion: 1
  id: string
  createdAt: string
  /** the instance working on it, until `leaseUntil`; anyone may claim it after */
  owner: string
  leaseUntil: string
  items: OutboxItem[]
  /** outcome per item id; items without one are still owed */
  done: Record<string, 'sent' | 'failed' | 'skipped'>
  retries: Record<string, ItemRetry>
  /** what SES accepted, per item id (kept in the delivery log once the batch is done) */
  results?: Record<string, SendResult>
}

export interface SendResult {
  messageId: string
  version: string
  linkExpiresAt: string
  sentAt: string
}

/** A finished batch, as kept under deliveries/: hashes only, no addresses. */
export interface DeliveryLog {
  schemaVersion: 1
  batch: string
  finishedAt: string
  items: Array<{ id: string, addressHash: string, slug: string, requestedAt: string, outcome: 'sent' | 'failed' | 'skipped' } & Partial<SendResult>>
}

export const DELIVERY_LOG_PREFIX = 'deliveries/'

export function deliveryLogKey (batchId: string, finishedAt: Date): string {
  return `${DELIVERY_LOG_PREFIX}${finishedAt.toISOString().slice(0, 10)}/${batchId}.json`
}

export interface StoredBatch {
  batch: OutboxBatch
  etag: string
}

/** Time-sortable ids: the oldest batch lists first, and its age is readable from its name. */
export function newBatchId (at: number = Date.now()): string {
  return `${at.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`
}

export function batchTime (id: string): number {
  return Number.parseInt(id.split('-')[0] ?? '', 36)
}

export function batchKey (id: string): string {
  return `${OUTBOX_PREFIX}${id}.json`
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
  const { s3, bucket } = options

  async function put (batch: OutboxBatch, condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<string> {
    try {
      const res = await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: batchKey(batch.id), Body: JSON.stringify(batch), ContentType: 'application/json', ...condition
      }))
      return res.ETag ?? ''
    } catch (err) {
      if (isConditionFailed(err)) throw new WriteConflict(batchKey(batch.id), { inFlight: isConditionInFlight(err), cause: err })
      throw err
    }
  }

  return {
    create: (batch: OutboxBatch) => put(batch, { IfNoneMatch: '*' }),

    /** A batch-sized write that owes nothing (see settleKey). */
    async settle (batch: OutboxBatch): Promise<void> {
      await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: settleKey(batch.owner), Body: JSON.stringify(batch), ContentType: 'application/json'
      }))
    },
    replace: (batch: OutboxBatch, etag: string) => put(batch, { IfMatch: etag }),

    async read (id: string): Promise<StoredBatch | null> {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: batchKey(id) }))
        const body = await res.Body?.transformToString()
        if (body === undefined) return null
        return { batch: JSON.parse(body) as OutboxBatch, etag: res.ETag ?? '' }
      } catch (err) {
        if (isNotFound(err)) return null
        throw err
      }
    },

    /** Keeps the outcome of a finished batch (message ids, versions, link expiries) for audits. */
    async log (batch: OutboxBatch, finishedAt: Date): Promise<void> {
      const log: DeliveryLog = {
        schemaVersion: 1,
        batch: batch.id,
        finishedAt: finishedAt.toISOString(),
        items: batch.items.map(i => ({
          id: i.id, addressHash: i.addressHash, slug: i.slug, requestedAt: i.requestedAt, outcome: batch.done[i.id] ?? 'failed', ...batch.results?.[i.id]
        }))
      }
      await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: deliveryLogKey(batch.id, finishedAt), Body: JSON.stringify(log), ContentType: 'application/json'
      }))
    },

    async remove (id: string): Promise<void> {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: batchKey(id) }))
    },

    /** Ids of every batch in the outbox, oldest first. */
    async list (): Promise<string[]> {
      const ids: string[] = []
      let token: string | undefined
      do {
        const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: OUTBOX_PREFIX, ContinuationToken: token }))
        for (const o of res.Contents ?? []) {
          const m = o.Key?.match(/^outbox\/([0-9a-z]+-[0-9a-f]+)\.json$/)
          if (m?.[1]) ids.push(m[1])
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined
      } while (token)
      return ids.sort()
    }
  }
}
