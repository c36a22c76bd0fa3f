// Two versions of one address's record (its key of before ADDRESS_KEY and its new key, both written
// while the key migration ran on a live service) merged into one that loses nothing that matters:
// every consent proof and delivery, the latest confirmation and unsubscription, any suppression.
import { capHistory, capSignups, type SubscriberRecord } from './store.ts'

function latest<T extends { at: string }> (a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b
  if (!b) return a
  return b.at > a.at ? b : a
}

/** Both lists, each entry once (by `id`), oldest first; on a tie the entry from `b` wins (the newer record). */
function union<T extends { at: string }> (a: T[], b: T[], id: (item: T) => string): T[] {
  const byId = new Map<string, T>()
  for (const item of [...a, ...b]) byId.set(id(item), item)
  return [...byId.values()].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0))
}

/**
 * The status the merged events say (the rules of design.md): a bounce or complaint on either side
 * wins; then whichever of unsubscribe and confirmation came last; else pending.
 */
function statusOf (record: SubscriberRecord, either: SubscriberRecord[]): SubscriberRecord['status'] {
  if (record.suppression || either.some(r => r.status === 'suppressed')) return 'suppressed'
  const { unsubscription, confirmation } = record
  if (unsubscription && (!confirmation || unsubscription.at >= confirmation.at)) return 'unsubscribed'
  if (confirmation) return 'confirmed'
  return either.some(r => r.status === 'unsubscribed') ? 'unsubscribed' : 'pending'
}

/** `current` (under the new key) and `old` (under the key of before), merged under `current`'s key. */
export function mergeRecords (current: SubscriberRecord, old: SubscriberRecord): SubscriberRecord {
  // An erasure done since (by the new key) outranks what the old key still held from before it.
  if (current.erasedAt !== undefined && old.updatedAt <= current.erasedAt) return current
  const [newer, older] = current.updatedAt >= old.updatedAt ? [current, old] : [old, current]
  const merged: SubscriberRecord = {
    ...older,
    ...newer,
    address: current.address || old.address,
    addressHash: current.addressHash,
    createdAt: [current.createdAt, old.createdAt].sort()[0] ?? current.createdAt,
    updatedAt: newer.updatedAt,
    signups: capSignups(union(older.signups, newer.signups, s => `${s.at}|${s.slug}|${s.ip}`)),
    deliveries: capHistory(union(older.deliveries, newer.deliveries, d => d.outboxId ?? `${d.at}|${d.slug}`))
  }
  const confirmation = latest(current.confirmation, old.confirmation)
  const unsubscription = latest(current.unsubscription, old.unsubscription)
  const suppression = latest(current.suppression, old.suppression)
  for (const [name, value] of [['confirmation', confirmation], ['unsubscription', unsubscription], ['suppression', suppression]] as const) {
    if (value) Object.assign(merged, { [name]: value })
    else delete merged[name]
  }
  delete merged.erasedAt
  merged.status = statusOf(merged, [current, old])
  return merged
}
