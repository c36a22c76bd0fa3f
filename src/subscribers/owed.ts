// What subscriber records say about the emails the outbox owes: whether one is still owed, and the
// failures marketers see in an address's history. The outbox worker's isOwed and recordFailure ports.
import { dateOf, type Clock } from '../clock.ts'
import type { OutboxItem } from '../outbox/store.ts'
import { capHistory, updateSubscriber, upsertSubscriber, type Delivery, type StoredRecord, type SubscriberStore } from './store.ts'

export interface OwedOptions {
  store: SubscriberStore
  clock: Clock
}

export function createOwedChecks (options: OwedOptions) {
  const { store, clock } = options
  return {
    /**
     * A batch this instance wrote at signup is owed as it stands. A batch claimed from the outbox
     * may be old: the address may have bounced, complained or unsubscribed since it was queued.
     */
    async isOwed (item: OutboxItem, recovered: boolean): Promise<boolean> {
      if (!recovered) return true
      // By the address: an item queued before ADDRESS_KEY carries the record's key of before.
      const stored = await store.get(store.keyOf(item.address), item.address)
      if (!stored) return false
      const { record } = stored
      if (record.status === 'suppressed') return false
      if (record.status === 'unsubscribed' && record.unsubscription && record.unsubscription.at > item.requestedAt) return false
      return true
    },

    /**
     * Puts a failure onto the subscriber's history (rare, so written at once), over the entry the
     * signup wrote for this item. `known`: the record as the signup wrote it, to skip a read.
     */
    async recordFailure (item: OutboxItem, error: string, known?: StoredRecord): Promise<void> {
      const delivery: Delivery = { at: item.requestedAt, slug: item.slug, status: 'failed', outboxId: item.id, error }
      const apply = (record: StoredRecord['record']) => {
        const index = record.deliveries.findIndex(d => d.outboxId !== undefined && d.outboxId === delivery.outboxId)
        if (index >= 0) record.deliveries[index] = { ...record.deliveries[index], ...delivery }
        else record.deliveries = capHistory([...record.deliveries, delivery])
        record.updatedAt = dateOf(clock).toISOString()
        return record
      }
      const key = store.keyOf(item.address)
      if (known) await upsertSubscriber(store, key, () => known.record, apply, 5, known)
      else await updateSubscriber(store, key, apply, 5, item.address)
    }
  }
}
