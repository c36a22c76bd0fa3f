// Group commit: signups arriving together share one outbox object, so accepting a signup costs a
// fraction of an S3 request. Each signup's promise resolves only once its batch is durable.
import { systemClock, type Clock } from '../clock.ts'
import type { OutboxBatch, OutboxItem, OutboxStore } from './store.ts'
import { newBatchId } from './store.ts'

/** `Known`: what the caller knows about an item (the subscriber record as just written), kept in memory only. */
interface Waiting<Known> {
  /** null: no email, only the wait (a signup that owes nothing costs the same time) */
  item: OutboxItem | null
  known: Known | undefined
  resolve: () => void
  reject: (err: unknown) => void
}

export interface OutboxWriterOptions<Known> {
  store: Pick<OutboxStore, 'create' | 'settle'>
  owner: string
  leaseMs: number
  /** most items per batch */
  maxBatch?: number
  /** most batch writes in flight at once */
  maxInFlight?: number
  /** called with each durable batch, still leased by this instance, and what is known per item id */
  onWritten: (batch: OutboxBatch, etag: string, known: Map<string, Known>) => void
  clock?: Clock
}

export type OutboxWriter<Known = unknown> = ReturnType<typeof createOutboxWriter<Known>>

export function createOutboxWriter<Known> (options: OutboxWriterOptions<Known>) {
  const maxBatch = options.maxBatch ?? 100
  // An append waits for a write slot, then for its own write. In a burst of 1,500 signups at 50
  // connections, 4 slots answered with a p99 10-15 % lower than 2, with as many batches (8 did not
  // help further): the wait for a slot was the part that grew.
  const maxInFlight = options.maxInFlight ?? 4
  const clock = options.clock ?? systemClock
  let waiting: Array<Waiting<Known>> = []
  let inFlight = 0
  let scheduled = false

  async function flush (group: Array<Waiting<Known>>): Promise<void> {
    const at = clock()
    const items = group.flatMap(w => w.item ? [w.item] : [])
    const batch: OutboxBatch = {
      schemaVersion: 1,
      id: newBatchId(at),
      createdAt: new Date(at).toISOString(),
      owner: options.owner,
      leaseUntil: new Date(at + options.leaseMs).toISOString(),
      items,
      done: {},
      retries: {}
    }
    try {
      if (items.length > 0) {
        const etag = await options.store.create(batch)
        const known = new Map<string, Known>()
        for (const w of group) if (w.item && w.known !== undefined) known.set(w.item.id, w.known)
        options.onWritten(batch, etag, known)
      } else {
        // Nothing owed: written only for its cost, where no sender looks.
        await options.store.settle(batch)
      }
      for (const w of group) w.resolve()
    } catch (err) {
      for (const w of group) w.reject(err)
    }
  }

  function pump (): void {
    scheduled = false
    while (waiting.length > 0 && inFlight < maxInFlight) {
      const group = waiting.slice(0, maxBatch)
      waiting = waiting.slice(group.length)
      inFlight++
      flush(group).finally(() => {
        inFlight--
        pump()
      })
    }
  }

  function enqueue (item: OutboxItem | null, known: Known | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ item, known, resolve, reject })
      // Gather what arrives in the same tick; under load, what arrives while writes are in flight.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true
        setImmediate(pump)
      }
    })
  }

  return {
    /** Resolves once the item is in a durable outbox object. */
    append (item: OutboxItem, known?: Known): Promise<void> {
      return enqueue(item, known)
    },
    /** Waits for an outbox write, as append does, owing nothing (the group it joins may owe emails). */
    settle (): Promise<void> {
      return enqueue(null, undefined)
    },
    get pending (): number { return waiting.length + inFlight }
  }
}
