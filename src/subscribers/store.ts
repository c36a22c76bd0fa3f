// Subscriber records in S3: one JSON object per address key (an HMAC of the address under ADDRESS_KEY),
// written with conditional requests. While records of before (plain SHA-256 keys) may remain, reads
// also look there, and the first write moves the record to its new key (src/subscribers/legacy-keys.ts).
import type { S3Client } from '@aws-sdk/client-s3'
import { createJsonStore, WriteConflict } from '../storage/json-store.ts'
import { type AddressKeys, legacyAddressHash } from './address.ts'
import { type KeyMigrationState, LegacyMapSchema, legacyMapKey } from './legacy-keys.ts'
import { type SubscriberRecord, SubscriberRecordSchema } from './model.ts'

export type { ActionProof, ConsentProof, Delivery, SubscriberRecord, SubscriberStatus } from './model.ts'
export { WriteConflict } from '../storage/json-store.ts'

export interface StoredRecord {
  record: SubscriberRecord
  etag: string
  /**
   * read from the address's key of before ADDRESS_KEY (record.addressHash already says the new key):
   * the next write creates the new key (If-None-Match) rather than replacing this ETag
   */
  legacy?: true
}

/** A record's key and address, as an old token's key resolves (the address only while it is needed). */
export interface RecordRef {
  key: string
  address?: string
}

export const MAX_HISTORY = 50

export function subscriberKey (addressKey: string): string {
  return `subscribers/${addressKey}.json`
}

export type SubscriberStore = ReturnType<typeof createSubscriberStore>

export interface SubscriberStoreOptions {
  s3: S3Client
  bucket: string
  keys: AddressKeys
  migration: KeyMigrationState
}

export function createSubscriberStore (options: SubscriberStoreOptions) {
  const json = createJsonStore(options)
  const { keys, migration } = options

  async function read (key: string): Promise<StoredRecord | null> {
    const found = await json.get(subscriberKey(key), SubscriberRecordSchema)
    return found ? { record: found.value, etag: found.etag } : null
  }

  return {
    /** The record key of a canonical address (src/subscribers/address.ts parseAddress). */
    keyOf: keys.keyOf,
    /**
     * The record under `key`. With `address`, while the key migration is pending, the address's key of
     * before is read too, every time (the same requests whatever is on file): first, so that a record
     * moved in between is found under its new key by the second read.
     */
    async get (key: string, address?: string): Promise<StoredRecord | null> {
      if (address === undefined) return await read(key)
      await migration.ready()
      if (!migration.pending()) return await read(key)
      const old = await read(legacyAddressHash(address))
      const current = await read(key)
      if (current || !old) return current
      return { record: { ...old.record, addressHash: key }, etag: old.etag, legacy: true }
    },
    /** Creates the record only if none exists (`If-None-Match: *`); returns the new ETag. */
    create: (record: SubscriberRecord) => json.put(subscriberKey(record.addressHash), record, { ifNoneMatch: '*' }),
    /** Replaces the record only if it is still the version read (`If-Match`); returns the new ETag. */
    replace: (record: SubscriberRecord, etag: string) => json.put(subscriberKey(record.addressHash), record, { ifMatch: etag }),
    /**
     * Where the key in a token of before ADDRESS_KEY (the address's plain SHA-256) points now: the
     * migration's mapping, or while it is pending the record still under that key. Null: nothing.
     */
    async resolveLegacy (legacyHash: string): Promise<RecordRef | null> {
      await migration.ready()
      if (migration.pending()) {
        // The record of before first: the migration writes the mapping before it deletes that record.
        const old = await read(legacyHash)
        if (old) return { key: keys.keyOf(old.record.address), address: old.record.address }
      }
      const mapped = await json.get(legacyMapKey(keys.legacyRefOf(legacyHash)), LegacyMapSchema)
      return mapped ? { key: mapped.value.key } : null
    },
    /** Every object that may hold something of this address (for erasure): its record, a record of before, the mapping. */
    keysOf (address: string): string[] {
      const legacy = legacyAddressHash(address)
      return [subscriberKey(keys.keyOf(address)), subscriberKey(legacy), legacyMapKey(keys.legacyRefOf(legacy))]
    }
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
      if (known === undefined || known === null || known.legacy) {
        const record = change(known ? structuredClone(known.record) : fresh())
        return { record, etag: await store.create(record) }
      }
      const record = change(structuredClone(known.record))
      return { record, etag: await store.replace(record, known.etag) }
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err
      // Another writer won: let it finish (jittered, growing) before reading its version.
      await new Promise(resolve => setTimeout(resolve, Math.random() * 25 * 2 ** attempt))
      known = await store.get(addressHash, fresh().address)
    }
  }
  throw new WriteConflict(subscriberKey(addressHash))
}

/**
 * Changes an existing record with optimistic concurrency; returns null when there is no record.
 * `change` returns the record to write, or null to leave it as it is. With `address`, a record still
 * under its key of before is found too (and moved by the write).
 */
export async function updateSubscriber (
  store: SubscriberStore,
  addressHash: string,
  change: (record: SubscriberRecord) => SubscriberRecord | null,
  attempts = 5,
  address?: string
): Promise<SubscriberRecord | null> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const known = await store.get(addressHash, address)
    if (!known) return null
    const next = change(structuredClone(known.record))
    if (!next) return known.record
    try {
      if (known.legacy) await store.create(next)
      else await store.replace(next, known.etag)
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
