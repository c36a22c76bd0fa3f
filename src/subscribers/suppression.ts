// Suppression: an address that bounced permanently or complained is never emailed again, whatever
// it submits later. A record is created if there was none, so that a later signup finds it.
import { systemClock, type Clock } from '../clock.ts'
import { parseAddress, type ParsedAddress } from './address.ts'
import { upsertSubscriber, type SubscriberRecord, type SubscriberStore } from './store.ts'

export interface SuppressionEvent {
  address: string
  reason: 'bounce' | 'complaint'
  /** SES's detail: bounce type/subtype or complaint feedback type */
  detail: string
  at: string
  /** SES feedback id, for tracing a notification to the record */
  feedbackId?: string
}

export interface SuppressOptions {
  store: SubscriberStore
  /** also drop what the local sender still owes the address */
  onSuppressed?: (addressHash: string) => void
  now?: Clock
}

/** The record already says exactly this: writing it again would change nothing but updatedAt and the ETag. */
function holds (record: SubscriberRecord, event: SuppressionEvent): boolean {
  const s = record.suppression
  return record.status === 'suppressed' && s !== undefined && s.at === event.at && s.reason === event.reason &&
    s.detail === event.detail && s.feedbackId === event.feedbackId
}

/**
 * The record an SES address belongs to. Normally parseAddress's; but SES may report an address that
 * the form would refuse today (stored before a rule was added, e.g. a `%` in the local part): it is
 * still suppressed, under the key it was stored with then (lowercased, as parseAddress always did).
 */
export function suppressionKey (input: string): ParsedAddress | undefined {
  try {
    return parseAddress(input)
  } catch {
    const address = input.trim().toLowerCase()
    if (!/^[^\s@<>"]+@[a-z0-9.-]+\.[a-z0-9-]+$/.test(address) || address.length > 254) return undefined
    return { address }
  }
}

/** Thrown out of the change function to leave a record that already holds the suppression untouched. */
class AlreadySuppressed extends Error {}

/**
 * Returns the record key, or undefined when SES reported something that is not an address.
 * Idempotent: a retried or duplicated notification finds the same suppression and writes nothing.
 */
export async function suppressAddress (options: SuppressOptions, event: SuppressionEvent): Promise<string | undefined> {
  const parsed = suppressionKey(event.address)
  if (!parsed) return undefined
  const key = options.store.keyOf(parsed.address)
  const at = new Date((options.now ?? systemClock)()).toISOString()
  const fresh = (): SubscriberRecord => ({
    schemaVersion: 1, address: parsed.address, addressHash: key, status: 'suppressed', createdAt: at, updatedAt: at, signups: [], deliveries: []
  })
  try {
    // Read first: a suppression usually concerns an address on file, and a retry must find it unchanged.
    const known = await options.store.get(key, parsed.address)
    await upsertSubscriber(options.store, key, fresh, record => {
      // Also checked after a lost race: the other writer may have stored this very suppression.
      if (holds(record, event)) throw new AlreadySuppressed()
      record.status = 'suppressed'
      record.suppression = { at: event.at, reason: event.reason, detail: event.detail, ...(event.feedbackId ? { feedbackId: event.feedbackId } : {}) }
      record.updatedAt = at
      return record
    }, undefined, known)
  } catch (err) {
    if (!(err instanceof AlreadySuppressed)) throw err
  }
  options.onSuppressed?.(key)
  return key
}
