// Group commit: signups arriving together share one outbox object, so accepting a signup costs a
// fraction of an S3 request. Each signup's promise resolves only once its batch is durable.
import type { OutboxBatch, OutboxItem, OutboxStore } from './store.ts'
import { newBatchId } from './store.ts'

interface Waiting {
  /** null: no email, only the wait (a signup that owes nothing costs the same time) */
  item: OutboxItem | null
  /** kept in memory only, handed to `onWritten` (the subscriber record as just written) */
  context: unknown
  resolve: () => void
  reject: (err: unknown) => void
}

export interface OutboxWriterOptions {
  store: OutboxStore
  owner: string
  leaseMs: number
  /** most items per batch */
  maxBatch?: number
  /** most batch writes in flight at once */
  maxInFlight?: number
  /** called with each durable batch, still leased by this instance */
  onWritten: (batch: OutboxBatch, etag: string, contexts: Map<string, unknown>) => void
  now?: () => number
}

export type OutboxWriter = ReturnType<typeof createOutboxWriter>

export function createOutboxWriter (options: OutboxWriterOptions) {
  const maxBatch = options.maxBatch ?? 100
  const maxInFlight = options.maxInFlight ?? 2
  const now = options.now ?? Date.now
  let waiting: Waiting[] = []
  let inFlight = 0
  let scheduled = false

  async function flush (group: Waiting[]): Promise<void> {
    const at = now()
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
        options.onWritten(batch, etag, new Map(group.flatMap(w => w.item ? [[w.item.id, w.context]] : [])))
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

  function enqueue (item: OutboxItem | null, context: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ item, context, resolve, reject })
      // Gather what arrives in the same tick; under load, what arrives while writes are in flight.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true
        setImmediate(pump)
      }
    })
  }

  return {
    /** Resolves once the item is in a durable outbox object. */
    append (item: OutboxItem, context?: unknown): Promise<void> {
      return enqueue(item, context)
    },
    /** Waits for an outbox write, as append does, owing nothing (the group it joins may owe emails). */
    settle (): Promise<void> {
      return enqueue(null, undefined)
    },
    get pending (): number { return waiting.length + inFlight }
  }
}
