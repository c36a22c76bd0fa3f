// Signup use case: record consent in S3 and put the email owed into the durable outbox. Sending
// happens in the background (src/outbox/sender.ts): accepting a signup never waits on SES.
import { UnavailableError } from '../errors.ts'
import { newBatchId, type OutboxItem } from '../outbox/store.ts'
import type { Catalog } from '../whitepapers/catalog.ts'
import { parseAddress } from './address.ts'
import { CONSENT_TEXT, CONSENT_VERSION } from './consent.ts'
import { capHistory, capSignups, updateSubscriber, upsertSubscriber, type StoredRecord, type SubscriberRecord, type SubscriberStore } from './store.ts'

export interface SignupLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface Outbox {
  /** resolves once the item is durable in S3 */
  append: (item: OutboxItem, record: StoredRecord) => Promise<void>
}

export interface SignupDeps {
  catalog: Catalog
  store: SubscriberStore
  outbox: Outbox
  /** at most one email per address per this many seconds (0: no limit) */
  cooldownSeconds: number
  now?: () => Date
}

export interface SignupRequest {
  email: unknown
  slug: string
  ip: string
  userAgent: string
}

export interface SignupResult {
  /**
   * queued: the email is owed and durable; suppressed: the address bounced or complained;
   * cooldown: it was emailed moments ago (subscription bombing). The visitor sees the same answer.
   */
  outcome: 'queued' | 'suppressed' | 'cooldown'
  addressHash: string
}

export type Signup = (request: SignupRequest, log: SignupLogger) => Promise<SignupResult>

export function createSignup (deps: SignupDeps): Signup {
  const now = deps.now ?? (() => new Date())
  // Signups for one address take turns in this process (a bombing burst would otherwise make them
  // fight over the record's ETag); instances still settle races with conditional writes.
  const turns = new Map<string, Promise<unknown>>()
  function inTurn<T> (hash: string, work: () => Promise<T>): Promise<T> {
    const previous = turns.get(hash) ?? Promise.resolve()
    const mine = previous.then(work, work)
    const settled = mine.catch(() => {})
    turns.set(hash, settled)
    settled.then(() => { if (turns.get(hash) === settled) turns.delete(hash) })
    return mine
  }

  return async function signup (request, log) {
    const { address, hash } = parseAddress(request.email)
    const pointer = await deps.catalog.require(request.slug)
    const at = now().toISOString()
    const itemId = newBatchId(Date.parse(at))
    const fresh = (): SubscriberRecord => ({
      schemaVersion: 1,
      address,
      addressHash: hash,
      status: 'pending',
      createdAt: at,
      updatedAt: at,
      signups: [],
      deliveries: []
    })
    let stored: StoredRecord
    let cooling = false
    try {
      stored = await inTurn(hash, () => upsertSubscriber(deps.store, hash, fresh, record => {
        record.signups = capSignups([...record.signups, {
          at, slug: pointer.slug, consentText: CONSENT_TEXT, consentVersion: CONSENT_VERSION, ip: request.ip, userAgent: request.userAgent
        }])
        // Submitting the form again is a new opt-in, unless the address bounced or complained.
        if (record.status === 'unsubscribed') record.status = 'pending'
        // Whatever IP it comes from, an address gets at most one email per cooldown.
        const since = Date.parse(at) - deps.cooldownSeconds * 1000
        cooling = deps.cooldownSeconds > 0 && record.deliveries.some(d => d.status !== 'failed' && Date.parse(d.at) > since)
        if (record.status !== 'suppressed' && !cooling) {
          record.deliveries = capHistory([...record.deliveries, { at, slug: pointer.slug, status: 'requested', outboxId: itemId }])
        }
        record.updatedAt = at
        return record
      }))
    } catch (err) {
      throw new UnavailableError('We could not record your signup just now. Please try again in a minute.', { cause: err })
    }
    const logFields = { addressHash: hash.slice(0, 12), slug: pointer.slug }
    if (stored.record.status === 'suppressed') {
      log.info(logFields, 'signup from a suppressed address: no email owed')
      return { outcome: 'suppressed', addressHash: hash }
    }
    if (cooling) {
      log.info(logFields, 'address emailed within the cooldown: no new email')
      return { outcome: 'cooldown', addressHash: hash }
    }
    try {
      await deps.outbox.append({ id: itemId, address, addressHash: hash, slug: pointer.slug, requestedAt: at }, stored)
    } catch (err) {
      log.error({ err, ...logFields }, 'could not queue the email')
      await updateSubscriber(deps.store, hash, record => {
        const d = record.deliveries.find(x => x.outboxId === itemId)
        if (!d) return null
        d.status = 'failed'
        d.error = 'queue_unavailable'
        return record
      }).catch(() => {})
      throw new UnavailableError('We could not queue your email just now. Please submit the form again in a minute.', { cause: err })
    }
    log.info({ ...logFields, outboxId: itemId }, 'signup recorded; email queued')
    return { outcome: 'queued', addressHash: hash }
  }
}
