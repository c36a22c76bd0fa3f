// Subscriber records in S3: one JSON object per address hash, written with conditional requests.
import type { S3Client } from '@aws-sdk/client-s3'
import { createJsonStore, WriteConflict } from '../storage/json-store.ts'
import { type SubscriberRecord, SubscriberRecordSchema } from './model.ts'

export type { ActionProof, ConsentProof, Delivery, SubscriberRecord, SubscriberStatus } from './model.ts'
export { WriteConflict } from '../storage/json-store.ts'

export interface StoredRecord {
  record: SubscriberRecord
  etag: string
}

export const MAX_HISTORY = 50

export function subscriberKey (addressHash: string): string {
  return `subscribers/${addressHash}.json`
}

export type SubscriberStore = ReturnType<typeof createSubscriberStore>

export function createSubscriberStore (options: { s3: S3Client, bucket: string }) {
  const json = createJsonStore(options)

  return {
    async get (addressHash: string): Promise<StoredRecord | null> {
      const found = await json.get(subscriberKey(addressHash), SubscriberRecordSchema)
      return found ? { record: found.value, etag: found.etag } : null
    },
    /** Creates the record only if none exists (`If-None-Match: *`); returns the new ETag. */
    create: (record: SubscriberRecord) => json.put(subscriberKey(record.addressHash), record, { ifNoneMatch: '*' }),
    /** Replaces the record only if it is still the version read (`If-Match`); returns the new ETag. */
    replace: (record: SubscriberRecord, etag: string) => json.put(subscriberKey(record.addressHash), record, { ifMatch: etag })
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
  throw new WriteConflict(subscriberKey(addressHash))
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
  throw new WriteConflict(subscriberKey(addressHash))
}

/** Like capHistory, but the first signup (the original opt-in) is always kept. */
export function capSignups<T> (items: T[]): T[] {
  return items.length > MAX_HISTORY ? [items[0] as T, ...items.slice(items.length - MAX_HISTORY + 1)] : items
}

export function capHistory<T> (items: T[]): T[] {
  return items.length > MAX_HISTORY ? items.slice(items.length - MAX_HISTORY) : items
}
