// Suppression: an address that bounced permanently or complained is never emailed again, whatever
// it submits later. A record is created if there was none, so that a later signup finds it.
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
  now?: () => Date
}

/** Returns the address hash, or undefined when SES reported something that is not an address. */
export async function suppressAddress (options: SuppressOptions, event: SuppressionEvent): Promise<string | undefined> {
  let parsed: ParsedAddress
  try {
    parsed = parseAddress(event.address)
  } catch {
    return undefined
  }
  const at = (options.now ?? (() => new Date()))().toISOString()
  const fresh = (): SubscriberRecord => ({
    schemaVersion: 1, address: parsed.address, addressHash: parsed.hash, status: 'suppressed', createdAt: at, updatedAt: at, signups: [], deliveries: []
  })
  await upsertSubscriber(options.store, parsed.hash, fresh, record => {
    record.status = 'suppressed'
    record.suppression = { at: event.at, reason: event.reason, detail: event.detail, ...(event.feedbackId ? { feedbackId: event.feedbackId } : {}) }
    record.updatedAt = at
    return record
  })
  options.onSuppressed?.(parsed.hash)
  return parsed.hash
}
