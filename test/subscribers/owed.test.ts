// The outbox's subscriber ports: whether an email is still owed, and failures in the history.
import t from 'tap'
import type { OutboxItem } from '../../src/outbox/store.ts'
import { createOwedChecks } from '../../src/subscribers/owed.ts'
import { WriteConflict, type StoredRecord, type SubscriberRecord, type SubscriberStore } from '../../src/subscribers/store.ts'

const HASH = 'a'.repeat(64)
const item: OutboxItem = { id: 'item-1', address: 'jane@example.com', addressHash: HASH, slug: 'default', requestedAt: '2026-01-02T00:00:00.000Z' }
const at = Date.parse('2026-01-03T00:00:00.000Z')

function record (change: Partial<SubscriberRecord> = {}): SubscriberRecord {
  return {
    schemaVersion: 1, address: item.address, addressHash: HASH, status: 'pending', createdAt: item.requestedAt, updatedAt: item.requestedAt, signups: [],
    deliveries: [{ at: item.requestedAt, slug: 'default', status: 'requested', outboxId: item.id }],
    ...change
  }
}

/** A subscriber store in memory, with S3's conditional-write semantics, counting reads. */
function memoryStore (initial?: SubscriberRecord) {
  let stored: StoredRecord | null = initial ? { record: structuredClone(initial), etag: '"e0"' } : null
  let n = 0
  const counts = { gets: 0, writes: 0 }
  const store = {
    keyOf: () => 'test-key',
    async get () { counts.gets++; return stored && structuredClone(stored) },
    async create (r: SubscriberRecord) {
      if (stored) throw new WriteConflict('test-key')
      counts.writes++
      stored = { record: structuredClone(r), etag: `"e${++n}"` }
      return stored.etag
    },
    async replace (r: SubscriberRecord, etag: string) {
      if (stored?.etag !== etag) throw new WriteConflict('test-key')
      counts.writes++
      stored = { record: structuredClone(r), etag: `"e${++n}"` }
      return stored.etag
    }
  }
  return { store: store as unknown as SubscriberStore, counts, current: () => stored }
}

t.test('isOwed: a batch written here is owed without a read; a recovered one is checked against the record', async t => {
  const check = async (r: SubscriberRecord | undefined, recovered = true) => {
    const memory = memoryStore(r)
    const owed = await createOwedChecks({ store: memory.store, clock: () => at }).isOwed(item, recovered)
    return { owed, gets: memory.counts.gets }
  }
  t.same(await check(record({ status: 'suppressed' }), false), { owed: true, gets: 0 }, 'not recovered: no read')
  t.same(await check(record()), { owed: true, gets: 1 })
  t.same(await check(record({ status: 'confirmed' })), { owed: true, gets: 1 })
  t.same((await check(undefined)).owed, false, 'no record (erased): nothing owed')
  t.same((await check(record({ status: 'suppressed' }))).owed, false, 'bounced or complained since')
  const unsubscribed = (when: string) => record({ status: 'unsubscribed', unsubscription: { at: when, ip: '192.0.2.1', userAgent: 'x', via: 'page' } })
  t.same((await check(unsubscribed('2026-01-02T12:00:00.000Z'))).owed, false, 'unsubscribed after the signup')
  t.same((await check(unsubscribed('2026-01-01T00:00:00.000Z'))).owed, true, 'unsubscribed before: the new signup is owed its email (returning)')
})

t.test('recordFailure marks the signup\'s delivery entry failed, without a read when the record is known', async t => {
  const memory = memoryStore(record())
  const known = memory.current() as StoredRecord
  await createOwedChecks({ store: memory.store, clock: () => at }).recordFailure(item, 'MessageRejected', known)
  t.same(memory.counts, { gets: 0, writes: 1 })
  t.same(memory.current()?.record.deliveries, [{ at: item.requestedAt, slug: 'default', status: 'failed', outboxId: item.id, error: 'MessageRejected' }])
  t.equal(memory.current()?.record.updatedAt, new Date(at).toISOString())
})

t.test('recordFailure without a known record reads it, and adds an entry when the signup\'s is gone from the history', async t => {
  const memory = memoryStore(record({ deliveries: [] }))
  await createOwedChecks({ store: memory.store, clock: () => at }).recordFailure(item, 'retries_exhausted', undefined)
  t.same(memory.counts, { gets: 1, writes: 1 })
  t.same(memory.current()?.record.deliveries, [{ at: item.requestedAt, slug: 'default', status: 'failed', outboxId: item.id, error: 'retries_exhausted' }])
})

t.test('recordFailure on an erased address writes nothing', async t => {
  const memory = memoryStore()
  await createOwedChecks({ store: memory.store, clock: () => at }).recordFailure(item, 'MessageRejected', undefined)
  t.same(memory.counts, { gets: 1, writes: 0 })
})
