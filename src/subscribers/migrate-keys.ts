// `npm run signups -- migrate-keys`: moves every record from its key of before ADDRESS_KEY (the plain
// SHA-256 of the address) to its HMAC key, safe to run twice and beside a live service:
// 1. the mapping old key -> new key is written first (old unsubscribe links keep working throughout),
// 2. the record is created under its new key (If-None-Match), or merged into the one the live service
//    wrote there meanwhile (If-Match, src/subscribers/merge-records.ts),
// 3. only then is the old key deleted; delivery logs of before lose the plain hashes they carried;
// 4. at the end the marker tells every instance to stop reading old keys (src/subscribers/legacy-keys.ts).
import type { S3Client } from '@aws-sdk/client-s3'
import { Type } from 'typebox'
import type { Clock } from '../clock.ts'
import { mapBounded } from '../concurrency.ts'
import { createJsonStore, InvalidRecord, WriteConflict } from '../storage/json-store.ts'
import { type AddressKeys, legacyAddressHash } from './address.ts'
import { KEYS_MARKER, legacyMapKey } from './legacy-keys.ts'
import { mergeRecords } from './merge-records.ts'
import { SubscriberRecordSchema, type SubscriberRecord } from './model.ts'
import { subscriberKey } from './store.ts'

const RECORD_KEY_RE = /^subscribers\/([0-9a-f]{64})\.json$/
const DELIVERY_LOG_PREFIX = 'deliveries/'
const ATTEMPTS = 5

/** Only what this command changes in a delivery log: each line's `addressHash`, if it still has one. */
const LooseLogSchema = Type.Object({ items: Type.Array(Type.Record(Type.String(), Type.Unknown())) })

export interface MigrateKeysOptions {
  s3: S3Client
  bucket: string
  keys: AddressKeys
  now: Clock
  /** records moved at once (each costs 3 to 5 requests) */
  concurrency?: number
  /** progress lines (no address, no key) */
  progress?: (line: string) => void
}

export interface MigrateKeysResult {
  /** records found under a key of before and moved to their new key */
  moved: number
  /** of those, how many were merged into a record the live service had written under the new key */
  merged: number
  /** records already under their new key (a second run finds only these) */
  current: number
  /** objects under subscribers/ that are neither (not a record, or a key that is not its address's): left alone */
  skipped: number
  /** delivery logs whose lines lost the plain hash */
  logsRewritten: number
}

type Outcome = 'moved' | 'merged' | 'current' | 'skipped'

export async function migrateKeys (options: MigrateKeysOptions): Promise<MigrateKeysResult> {
  const { keys } = options
  const json = createJsonStore(options)
  const result: MigrateKeysResult = { moved: 0, merged: 0, current: 0, skipped: 0, logsRewritten: 0 }

  /** Writes `record` under its new key: created, or merged into what is there. */
  async function place (record: SubscriberRecord): Promise<'created' | 'merged'> {
    const key = subscriberKey(record.addressHash)
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        const there = await json.get(key, SubscriberRecordSchema)
        if (!there) {
          await json.put(key, record, { ifNoneMatch: '*' })
          return 'created'
        }
        const merged = mergeRecords(there.value, record)
        if (JSON.stringify(merged) !== JSON.stringify(there.value)) await json.put(key, merged, { ifMatch: there.etag })
        return 'merged'
      } catch (err) {
        // The live service wrote the new key in between: read its version and merge again.
        if (!(err instanceof WriteConflict)) throw err
      }
    }
    throw new WriteConflict(key)
  }

  async function migrate (objectKey: string): Promise<Outcome> {
    const legacy = RECORD_KEY_RE.exec(objectKey)?.[1]
    if (!legacy) return 'skipped'
    let found: Awaited<ReturnType<typeof json.get<typeof SubscriberRecordSchema>>>
    try {
      found = await json.get(objectKey, SubscriberRecordSchema)
    } catch (err) {
      if (err instanceof InvalidRecord) return 'skipped'
      throw err
    }
    // Gone since the listing (another run moved it), or a tombstone (only ever written under a new key).
    if (!found || found.value.address === '') return 'current'
    const { address } = found.value
    if (keys.keyOf(address) === legacy) return 'current'
    if (legacyAddressHash(address) !== legacy) return 'skipped'
    const key = keys.keyOf(address)
    // First the mapping: from here on an old unsubscribe link finds the record wherever it is.
    await json.put(legacyMapKey(keys.legacyRefOf(legacy)), { key })
    const placed = await place({ ...found.value, addressHash: key })
    await json.delete(objectKey)
    return placed === 'created' ? 'moved' : 'merged'
  }

  for await (const outcome of mapBounded(listKeys(json, 'subscribers/'), options.concurrency ?? 8, migrate)) {
    if (outcome === 'merged') result.moved++
    result[outcome]++
    const done = result.moved + result.current + result.skipped
    if (done % 1000 === 0) options.progress?.(`${done} records looked at, ${result.moved} moved`)
  }

  // Delivery logs of before named each line's record by its plain hash: the line's item id, which the
  // record's own history holds, is the only link kept (as in logs written now).
  for await (const rewritten of mapBounded(listKeys(json, DELIVERY_LOG_PREFIX), options.concurrency ?? 8, async key => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const log = await json.get(key, LooseLogSchema).catch(err => { if (err instanceof InvalidRecord) return null; throw err })
      if (!log) return false
      if (!log.value.items.some(i => 'addressHash' in i)) return false
      for (const item of log.value.items) delete item.addressHash
      try {
        await json.put(key, log.value, { ifMatch: log.etag })
        return true
      } catch (err) {
        if (!(err instanceof WriteConflict)) throw err
      }
    }
    throw new WriteConflict(key)
  })) if (rewritten) result.logsRewritten++

  // Every instance stops reading old keys within a minute of this (src/http/plugins/subscribers.ts).
  await json.put(KEYS_MARKER, { schemaVersion: 1, migratedAt: new Date(options.now()).toISOString(), moved: result.moved })
  return result
}

async function * listKeys (json: ReturnType<typeof createJsonStore>, prefix: string): AsyncGenerator<string> {
  for await (const object of json.list(prefix)) if (!object.commonPrefix) yield object.key
}
