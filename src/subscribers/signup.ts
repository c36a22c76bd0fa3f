// Signup use case: record consent in S3 and put the email owed into the durable outbox. Sending
// happens in the background (src/outbox/worker.ts): accepting a signup never waits on SES.
//
// Every outcome costs the same S3 round trips (read the record, write it, join an outbox write), so
// that response time says nothing about whether an address is on file or in what state.
import { systemClock, type Clock } from '../clock.ts'
import { UnavailableError } from '../errors.ts'
import { newBatchId, type OutboxItem } from '../outbox/store.ts'
import type { Catalog } from '../whitepapers/catalog.ts'
import { parseAddress } from './address.ts'
import { CONSENT_TEXT, CONSENT_VERSION } from './consent.ts'
import { emailAllowance, type EmailLimits } from './email-allowance.ts'
import { capHistory, capSignups, updateSubscriber, upsertSubscriber, type StoredRecord, type SubscriberRecord, type SubscriberStore } from './store.ts'

export interface SignupLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface Outbox {
  /** resolves once the item is durable in S3 */
  append: (item: OutboxItem, record: StoredRecord) => Promise<void>
  /** resolves once an outbox write as costly as an append is done, with nothing owed (constant timing) */
  settle: () => Promise<void>
}

export interface SignupDeps {
  catalog: Catalog
  store: SubscriberStore
  outbox: Outbox
  limits: EmailLimits
  /** RECORD_SIGNUP_IP: keep the request's IP and user agent in the consent proof (default true) */
  recordRequester?: boolean
  now?: Clock
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
   * cooldown: it was emailed moments ago; capped: it had its emails for the window (not confirmed,
   * or unsubscribed). The visitor sees the same answer, after the same work.
   */
  outcome: 'queued' | 'suppressed' | 'cooldown' | 'capped'
  addressHash: string
}

export type Signup = (request: SignupRequest, log: SignupLogger) => Promise<SignupResult>

export function createSignup (deps: SignupDeps): Signup {
  const now = deps.now ?? systemClock
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
    const { address } = parseAddress(request.email)
    const hash = deps.store.keyOf(address)
    const requester = deps.recordRequester === false ? {} : { ip: request.ip, userAgent: request.userAgent }
    const pointer = await deps.catalog.require(request.slug)
    const at = new Date(now()).toISOString()
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
    let outcome: SignupResult['outcome'] = 'queued'
    let returning = false
    let stored: StoredRecord
    try {
      stored = await inTurn(hash, async () => {
        // Read first, whatever the address: a blind create would answer a new address faster.
        const known = await deps.store.get(hash, address)
        return await upsertSubscriber(deps.store, hash, fresh, record => {
          // An erased address signing up again itself: its tombstone (src/subscribers/erase.ts) holds it again.
          if (record.erasedAt !== undefined) { record.address = address; delete record.erasedAt }
          record.signups = capSignups([...record.signups, {
            at, slug: pointer.slug, consentText: CONSENT_TEXT, consentVersion: CONSENT_VERSION, ...requester
          }])
          // An unsubscribed address stays unsubscribed: only a confirm POST made after this email rejoins it.
          const allowance = emailAllowance(record, Date.parse(at), deps.limits)
          outcome = allowance.outcome
          returning = allowance.returning
          if (outcome === 'queued') {
            record.deliveries = capHistory([...record.deliveries, { at, slug: pointer.slug, status: 'requested', outboxId: itemId }])
          }
          record.updatedAt = at
          return record
        }, 5, known)
      })
    } catch (err) {
      throw new UnavailableError('We could not record your signup just now. Please try again in a minute.', { cause: err })
    }
    const logFields = { addressHash: hash.slice(0, 12), slug: pointer.slug }
    if (outcome !== 'queued') {
      await deps.outbox.settle().catch(() => {})
      log.info({ ...logFields, outcome }, 'signup recorded: no email owed')
      return { outcome, addressHash: hash }
    }
    try {
      await deps.outbox.append({ id: itemId, address, addressHash: hash, slug: pointer.slug, requestedAt: at, ...(returning ? { kind: 'returning' as const } : {}) }, stored)
    } catch (err) {
      log.error({ err, ...logFields }, 'could not queue the email')
      await updateSubscriber(deps.store, hash, record => {
        const d = record.deliveries.find(x => x.outboxId === itemId)
        if (!d) return null
        d.status = 'failed'
        d.error = 'queue_unavailable'
        return record
      }, 5, address).catch(() => {})
      throw new UnavailableError('We could not queue your email just now. Please submit the form again in a minute.', { cause: err })
    }
    log.info({ ...logFields, outboxId: itemId }, 'signup recorded; email queued')
    return { outcome: 'queued', addressHash: hash }
  }
}
