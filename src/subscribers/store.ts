// Subscriber records in S3: one JSON object per address hash, written with conditional requests.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { isConditionFailed, isNotFound } from '../aws/errors.ts'

export type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'suppressed'

/** Proof of consent: what the visitor saw and where the request came from. */
export interface ConsentProof {
  at: string
  slug: string
  consentText: string
  consentVersion: string
  ip: string
  userAgent: string
}

export interface Delivery {
  /** when the email was asked for */
  at: string
  slug: string
  /**
   * requested: an email was owed for this signup (what SES accepted, with its message id, is in
   * the delivery log deliveries/<day>/<batch>.json); failed: given up on (see error).
   */
  status: 'requested' | 'failed'
  /** the outbox item that carries it (and its line in the delivery log) */
  outboxId?: string
  error?: string
}

/** Who did something to the record, from where (proof for confirmations and unsubscribes). */
export interface ActionProof {
  at: string
  ip: string
  userAgent: string
}

export interface SubscriberRecord {
  schemaVersion: 1
  address: string
  addressHash: string
  status: SubscriberStatus
  createdAt: string
  updatedAt: string
  /** double opt-in: when and from where the confirm button was pressed */
  confirmation?: ActionProof
  /** the latest unsubscribe, and how (the page's button or an RFC 8058 one-click POST) */
  unsubscription?: ActionProof & { via: 'page' | 'one-click' }
  /** why the address is suppressed (status 'suppressed'): a permanent bounce or a complaint */
  suppression?: { at: string, reason: 'bounce' | 'complaint', detail: string, feedbackId?: string }
  /** every form submission, newest last (capped) */
  signups: ConsentProof[]
  /** every email sent or attempted, newest last (capped) */
  deliveries: Delivery[]
}

export interface StoredRecord {
  record: SubscriberRecord
  etag: string
}

export const MAX_HISTORY = 50

export function subscriberKey (addressHash: string): string {
  return `subscribers/${addressHash}.json`
}

/** The write lost a race: someone else wrote the record in between. */
export class WriteConflict extends Error {
  constructor () {
    super('subscriber record changed concurrently')
    this.name = 'WriteConflict'
  }
}

export type SubscriberStore = ReturnType<typeof createSubscriberStore>

export function createSubscriberStore (options: { s3: S3Client, bucket: string }) {
  const { s3, bucket } = options

  async function put (record: SubscriberRecord, condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<string> {
    try {
      const res = await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: subscriberKey(record.addressHash),
        Body: JSON.stringify(record),
        ContentType: 'application/json',
        ...condition
      }))
      return res.ETag ?? ''
    } catch (err) {
      if (isConditionFailed(err)) throw new WriteConflict()
      throw err
    }
  }

  return {
    async get (addressHash: string): Promise<StoredRecord | null> {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: subscriberKey(addressHash) }))
        const body = await res.Body?.transformToString()
        if (body === undefined) return null
        return { record: JSON.parse(body) as SubscriberRecord, etag: res.ETag ?? '' }
      } catch (err) {
        if (isNotFound(err)) return null
        throw err
      }
    },
    /** Creates the record only if none exists (`If-None-Match: *`); returns the new ETag. */
    create: (record: SubscriberRecord) => put(record, { IfNoneMatch: '*' }),
    /** Replaces the record only if it is still the version read (`If-Match`); returns the new ETag. */
    replace: (record: SubscriberRecord, etag: string) => put(record, { IfMatch: etag })
  }
}

/**
 * Read-modify-write with optimistic concurrency. The first attempt assumes a new address and
 * creates blindly (one request in the common case); a conflict falls back to read + conditional replace.
 */
export async function upsertSubscriber (
  store: SubscriberStore,
  addressHash: string,
  fresh: () => SubscriberRecord,
  change: (record: SubscriberRecord) => SubscriberRecord,
  attempts = 5,
  /** the record as last read or written, when the caller has it */
  known?: StoredRecord | null
): Promise<StoredRecord> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      if (known === undefined || known === null) {
        const record = change(fresh())
        return { record, etag: await store.create(record) }
      }
      const record = change(structuredClone(known.record))
      return { record, etag: await store.replace(record, known.etag) }
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err
      // Another writer won: let it finish (jittered, growing) before reading its version.
      await new Promise(resolve => setTimeout(resolve, Math.random() * 25 * 2 ** attempt))
      known = await store.get(addressHash)
    }
  }
  throw new WriteConflict()
}

/**
 * Changes an existing record with optimistic concurrency; returns null when there is no record.
 * `change` returns the record to write, or null to leave it as it is.
 */
export async function updateSubscriber (
  store: SubscriberStore,
  addressHash: string,
  change: (record: SubscriberRecord) => SubscriberRecord | null,
  attempts = 5
): Promise<SubscriberRecord | null> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const known = await store.get(addressHash)
    if (!known) return null
    const next = change(structuredClone(known.record))
    if (!next) return known.record
    try {
      await store.replace(next, known.etag)
      return next
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err
    }
  }
  throw new WriteConflict()
}

/** Like capHistory, but the first signup (the original opt-in) is always kept. */
export function capSignups<T> (items: T[]): T[] {
  return items.length > MAX_HISTORY ? [items[0] as T, ...items.slice(items.length - MAX_HISTORY + 1)] : items
}

export function capHistory<T> (items: T[]): T[] {
  return items.length > MAX_HISTORY ? items.slice(items.length - MAX_HISTORY) : items
}
