// Everything leadlink holds about one address, as one JSON document: what `npm run signups -- show`
// prints and what the self-service page (/p/<token>) downloads (GDPR Art. 15 and 20). The record, the
// emails still queued, the delivery-log lines, and whether the address is suppressed.
import { systemClock, type Clock } from '../clock.ts'
import type { JsonStore } from '../storage/json-store.ts'
import { createTraceFinder, type LoggedEmail, type QueuedEmail } from './email-traces.ts'
import type { SubscriberRecord, SubscriberStore } from './store.ts'

export interface PersonalData {
  schemaVersion: 1
  generatedAt: string
  /** what this document is, in words, for the person reading it */
  about: string
  address: string
  /** the record's key: an HMAC of the address under ADDRESS_KEY, which also signs this person's links */
  recordKey: string
  /** the subscriber record as stored: status, consent proofs (every form submission), emails asked for */
  record: SubscriberRecord
  /** null, or why this address is never emailed (a permanent bounce or a complaint) */
  suppression: { reason: 'bounce' | 'complaint', at: string } | null
  /** emails queued and not finished yet (they hold the address, to be sent) */
  queuedEmails: Array<Omit<QueuedEmail, 'item'> & { id: string, slug: string, requestedAt: string, address: string }>
  /** what SES accepted per email (message id, whitepaper version, link expiry), from the delivery log */
  deliveryLog: Array<LoggedEmail['line']>
  /** stored elsewhere: nothing that names this address */
  elsewhere: string
}

export const ABOUT = 'Everything this service holds about your email address: your subscription record (with the proof of each ' +
  'form submission, including the IP address and browser it came from when recording it is on), the emails queued for you, ' +
  'and what Amazon SES accepted for each email sent.'
export const ELSEWHERE = 'The funnel figures (views, signups, deliveries, clicks per whitepaper and day) are counts only, with no ' +
  'address or key. Amazon SES keeps its own sending records under its own retention.'

export interface PersonalDataDeps {
  store: Pick<SubscriberStore, 'get' | 'keyOf'>
  json: JsonStore
  now?: Clock
}

/** What the record names outside itself: the outbox items of its delivery lines. */
export function itemIdsOf (record: SubscriberRecord): string[] {
  return record.deliveries.flatMap(d => d.outboxId ? [d.outboxId] : [])
}

/** True for what erase leaves behind (no address, nothing of the person). */
export function isTombstone (record: SubscriberRecord): boolean {
  return record.erasedAt !== undefined
}

/**
 * The document for the record under `key` (the self-service page knows the key from its token), or
 * null when there is none, or only a tombstone: then nothing about the person is held.
 */
export async function personalDataOf (deps: PersonalDataDeps, target: { key: string, address?: string }): Promise<PersonalData | null> {
  const stored = await deps.store.get(target.key, target.address)
  if (!stored || isTombstone(stored.record)) return null
  const { record } = stored
  const traces = await createTraceFinder(deps.json).find(itemIdsOf(record), target.key)
  return {
    schemaVersion: 1,
    generatedAt: new Date((deps.now ?? systemClock)()).toISOString(),
    about: ABOUT,
    address: record.address,
    recordKey: target.key,
    record,
    suppression: record.status === 'suppressed' && record.suppression ? { reason: record.suppression.reason, at: record.suppression.at } : null,
    queuedEmails: traces.outbox.map(({ item, ...rest }) => ({ ...rest, id: item.id, slug: item.slug, requestedAt: item.requestedAt, address: item.address })),
    deliveryLog: traces.deliveryLog.map(l => {
      const { addressHash: _key, ...line } = l.line
      return line
    }),
    elsewhere: ELSEWHERE
  }
}

/** By address (the CLI): its key comes from the store (an HMAC under ADDRESS_KEY). */
export function personalDataOfAddress (deps: PersonalDataDeps, address: string): Promise<PersonalData | null> {
  return personalDataOf(deps, { key: deps.store.keyOf(address), address })
}
