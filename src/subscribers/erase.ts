// Erasure (GDPR Art. 17): an address and everything tied to it leave every place leadlink stores it:
// its record (consent proofs, delivery history), its emails still queued in outbox/, its lines in the
// delivery log, a record still under its key of before ADDRESS_KEY and the old links' mapping. What is
// left is a tombstone under the record key (an HMAC, not the address) holding no address, consent or IP:
// only what keeps the address from being mailed again unless it signs up again itself (and, if it
// bounced or complained, even then). Used by `npm run signups -- erase`, /admin, the self-service page
// and the retention sweep.
//
// Order: the traces first, the tombstone last (If-Match on the record as read). An S3 failure midway
// leaves the record in place, so a retry finds the same traces and finishes; a signup that slipped in
// (a new delivery line) makes the tombstone's write fail, and the next attempt erases that one too.
import { systemClock, type Clock } from '../clock.ts'
import { DeliveryLogSchema } from '../outbox/model.ts'
import { removeItems } from '../outbox/redact.ts'
import { createOutboxStore } from '../outbox/store.ts'
import { type JsonStore, WriteConflict } from '../storage/json-store.ts'
import { createTraceFinder } from './email-traces.ts'
import { isTombstone, itemIdsOf } from './personal-data.ts'
import { type StoredRecord, type SubscriberRecord, type SubscriberStore, subscriberKey } from './store.ts'
import type { S3Client } from '@aws-sdk/client-s3'

export interface EraseDeps {
  s3: S3Client
  bucket: string
  store: Pick<SubscriberStore, 'get' | 'keyOf' | 'replace' | 'create' | 'keysOf'>
  json: JsonStore
  now?: Clock
}

/** By address (CLI, admin) or by record key (the self-service token, the retention sweep). */
export type EraseTarget = { address: string } | { key: string }

export interface EraseOptions {
  /**
   * Erase only a record this says yes to, judged on the very version the tombstone replaces (the
   * retention sweep: a signup that came in since it looked keeps the record)
   */
  onlyIf?: (record: SubscriberRecord) => boolean
}

export interface EraseResult {
  /** the record key (an HMAC of the address): what the tombstone is stored under */
  key: string
  /** a record with the person's data was there; false: nothing on file, or already only a tombstone */
  found: boolean
  /** what stays under the key: unsubscribed (mailed again only after a new signup), suppressed (never), or nothing */
  tombstone: 'unsubscribed' | 'suppressed' | null
  /** queued emails taken out of outbox batches */
  outboxItems: number
  /** lines taken out of the delivery log */
  deliveryLines: number
  /** onlyIf said no: the record was left as it is */
  kept?: true
}

/** What erasure leaves: the key and why not to mail it; no address, consent proof, IP or history. */
export function tombstoneOf (record: SubscriberRecord, at: string): SubscriberRecord {
  const suppressed = record.status === 'suppressed'
  return {
    schemaVersion: 1,
    address: '',
    addressHash: record.addressHash,
    status: suppressed ? 'suppressed' : 'unsubscribed',
    createdAt: at,
    updatedAt: at,
    erasedAt: at,
    // Unsubscribed as of the erasure: an old confirm link cannot subscribe it (recipient-links.ts).
    ...(suppressed ? {} : { unsubscription: { at, ip: '', userAgent: '', via: 'erase' as const } }),
    // Why it is never mailed, without SES's feedback id (which leads back to the address at SES).
    ...(suppressed && record.suppression ? { suppression: { at: record.suppression.at, reason: record.suppression.reason, detail: '' } } : {}),
    signups: [],
    deliveries: []
  }
}

export type Eraser = ReturnType<typeof createEraser>

export function createEraser (deps: EraseDeps) {
  const { store, json } = deps
  const clock = deps.now ?? systemClock
  const outbox = createOutboxStore({ s3: deps.s3, bucket: deps.bucket })
  const traces = createTraceFinder(json)

  /** Takes lines out of one delivery log object (If-Match; deleted when none is left). */
  async function removeLines (key: string, ids: ReadonlySet<string>): Promise<number> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await json.get(key, DeliveryLogSchema)
      if (!found) return 0
      const log = found.value
      const kept = log.items.filter(i => !ids.has(i.id))
      const removed = log.items.length - kept.length
      if (removed === 0) return 0
      try {
        if (kept.length === 0) await json.delete(key)
        else await json.put(key, { ...log, items: kept }, { ifMatch: found.etag })
        return removed
      } catch (err) {
        if (!(err instanceof WriteConflict)) throw err
      }
    }
    throw new WriteConflict(key)
  }

  /** The emails of `record` in outbox/ and deliveries/: taken out. Safe to repeat. */
  async function eraseTraces (key: string, record: SubscriberRecord): Promise<{ outboxItems: number, deliveryLines: number }> {
    const found = await traces.find(itemIdsOf(record), key)
    let outboxItems = 0
    const byBatch = Map.groupBy(found.outbox, q => q.batch)
    for (const [batch, queued] of byBatch) outboxItems += await removeItems(outbox, batch, new Set(queued.map(q => q.item.id)))
    let deliveryLines = 0
    const byLog = Map.groupBy(found.deliveryLog, l => l.key)
    for (const [logKey, lines] of byLog) deliveryLines += await removeLines(logKey, new Set(lines.map(l => l.line.id)))
    return { outboxItems, deliveryLines }
  }

  /** Objects of before ADDRESS_KEY that may still hold the address (a record not yet moved, the old links' mapping). */
  async function eraseLegacy (key: string, address: string): Promise<void> {
    const current = subscriberKey(key)
    for (const k of store.keysOf(address)) if (k !== current) await json.delete(k)
  }

  async function writeTombstone (stored: StoredRecord, at: string): Promise<SubscriberRecord> {
    const tomb = tombstoneOf(stored.record, at)
    // Read from a key of before: nothing under the new key yet, so it is created there.
    if (stored.legacy) await store.create(tomb)
    else await store.replace(tomb, stored.etag)
    return tomb
  }

  return {
    async erase (target: EraseTarget, options: EraseOptions = {}): Promise<EraseResult> {
      const key = 'key' in target ? target.key : store.keyOf(target.address)
      let address = 'address' in target ? target.address : undefined
      let outboxItems = 0
      let deliveryLines = 0
      for (let attempt = 0; attempt < 5; attempt++) {
        const stored = await store.get(key, address)
        if (!stored || (isTombstone(stored.record) && !stored.legacy)) {
          if (address !== undefined) await eraseLegacy(key, address)
          const tombstone = stored ? stored.record.status === 'suppressed' ? 'suppressed' : 'unsubscribed' : null
          return { key, found: outboxItems + deliveryLines > 0, tombstone, outboxItems, deliveryLines }
        }
        if (options.onlyIf && !options.onlyIf(stored.record)) return { key, found: true, tombstone: null, outboxItems, deliveryLines, kept: true }
        address = stored.record.address
        const removed = await eraseTraces(key, stored.record)
        outboxItems += removed.outboxItems
        deliveryLines += removed.deliveryLines
        let tomb: SubscriberRecord
        try {
          tomb = await writeTombstone(stored, new Date(clock()).toISOString())
        } catch (err) {
          // A signup or a status change came in between: read it again and erase what it added too.
          if (err instanceof WriteConflict) continue
          throw err
        }
        await eraseLegacy(key, address)
        return { key, found: true, tombstone: tomb.status === 'suppressed' ? 'suppressed' : 'unsubscribed', outboxItems, deliveryLines }
      }
      throw new WriteConflict(subscriberKey(key))
    }
  }
}
