// A sender paced at its share holds batches longer: their leases are renewed while they wait, a scan
// claims only what it can send within half a lease, and outcomes are written even when the batch's
// next item is far off (what a crash would send again).
import t from 'tap'
import { createLeases } from '../../src/outbox/leases.ts'
import { TokenBucket } from '../../src/outbox/token-bucket.ts'
import { newBatchId, type OutboxBatch, type OutboxItem, type OutboxStore } from '../../src/outbox/store.ts'
import { UNRECORDED_MIN } from '../../src/outbox/send-loop.ts'
import { createOutboxWorker } from '../../src/outbox/worker.ts'
import { WriteConflict } from '../../src/storage/json-store.ts'
import { eventually, type Teardown } from '../helper.ts'

const quiet = { info () {}, warn () {}, error () {} }
const sent = { messageId: 'm', version: 'v1', linkExpiresAt: '2030-01-01T00:00:00.000Z', sentAt: '2029-12-25T00:00:00.000Z' }

function memoryStore (writeDelayMs = 0, readDelayMs = 0) {
  const batches = new Map<string, { json: string, etag: string }>()
  let n = 0
  const put = (batch: OutboxBatch) => {
    const etag = `"e${++n}"`
    batches.set(batch.id, { json: JSON.stringify(batch), etag })
    return etag
  }
  const store = {
    async create (batch: OutboxBatch) { if (batches.has(batch.id)) throw new WriteConflict('k'); return put(batch) },
    async replace (batch: OutboxBatch, etag: string) {
      const json = JSON.stringify(batch)
      if (writeDelayMs) await new Promise(resolve => setTimeout(resolve, writeDelayMs))
      if (batches.get(batch.id)?.etag !== etag) throw new WriteConflict('k')
      return put(JSON.parse(json) as OutboxBatch)
    },
    async read (id: string) {
      if (readDelayMs) await new Promise(resolve => setTimeout(resolve, readDelayMs))
      const b = batches.get(id)
      return b ? { batch: JSON.parse(b.json) as OutboxBatch, etag: b.etag } : null
    },
    async remove (id: string) { batches.delete(id) },
    async log () {},
    async list () { return [...batches.keys()].sort() }
  }
  const stored = (id: string) => JSON.parse(batches.get(id)?.json ?? 'null') as OutboxBatch | null
  return { store: store as unknown as OutboxStore, stored }
}

const items = (prefix: string, count: number): OutboxItem[] => Array.from({ length: count }, (_, i) => ({
  id: newBatchId(), address: `${prefix}${i}@example.com`, addressHash: `${prefix}${i}`.padEnd(64, '0'), slug: 'default', requestedAt: new Date(0).toISOString()
}))

function batchOf (list: OutboxItem[], owner: string, leaseUntil: number): OutboxBatch {
  return { schemaVersion: 1, id: newBatchId(), createdAt: new Date().toISOString(), owner, leaseUntil: new Date(leaseUntil).toISOString(), items: list, done: {}, retries: {} }
}

function worker (t: Teardown, store: OutboxStore, rate: number, leaseMs: number, claimAheadMs?: number, onDeliver = () => {}) {
  const delivered: string[] = []
  const leases = createLeases({ store, owner: 'me', leaseMs, clock: Date.now, log: quiet })
  const w = createOutboxWorker<string>({
    leases,
    ports: { async isOwed () { return true }, async deliver (i) { delivered.push(i.address); onDeliver(); return sent }, async recordFailure () {} },
    rate: new TokenBucket(rate),
    scanIntervalMs: 200,
    maxAttempts: 3,
    concurrency: 4,
    log: quiet,
    ...(claimAheadMs === undefined ? {} : { claimAheadMs })
  })
  t.teardown(() => w.stop(1000))
  return { w, delivered, leases }
}

/**
 * Two batches this instance wrote, held with 1.5 s leases and sent at `rate` a second: the second
 * waits its turn behind the first. How often its lease was seen run out before its first email went
 * (another instance's scan would claim it the moment it did).
 */
async function lapsesOfWaiting (t: Teardown, memory: ReturnType<typeof memoryStore>, rate: number, first: OutboxItem[], waiting: OutboxItem[]): Promise<number> {
  const { store, stored } = memory
  const { w, delivered } = worker(t, store, rate, 1500)
  const batches = [batchOf(first, 'me', Date.now() + 1500), batchOf(waiting, 'me', Date.now() + 1500)]
  for (const batch of batches) w.accept(batch, await store.create(batch))
  w.start()
  const watched = batches[1] as OutboxBatch
  const addresses = new Set(waiting.map(i => i.address))
  let lapsed = 0
  await eventually(() => {
    if (Date.parse(stored(watched.id)?.leaseUntil ?? '') <= Date.now()) lapsed++
    return delivered.some(a => addresses.has(a)) || undefined
  }, { timeoutMs: 10_000, intervalMs: 5 })
  return lapsed
}

t.test('a batch waiting behind another keeps its lease: the scan renews it before it runs out', async t => {
  // 4 sends a second, a 1.5 s lease: the second batch's first send comes after its lease would have run out.
  t.equal(await lapsesOfWaiting(t, memoryStore(), 4, items('a', 8), items('b', 4)), 0, 'its lease never ran out while it waited its turn')
})

t.test('a scan slower than a lease (a long outbox on a slow S3) does not let a held batch lapse', async t => {
  // 300 ms a read, 12 batches another instance holds: one scan reads for 3.6 s, over twice the 1.5 s lease.
  const memory = memoryStore(0, 300)
  for (let i = 0; i < 12; i++) await memory.store.create(batchOf(items(`o${i}-`, 1), 'other', Date.now() + 60_000))
  // 3 sends a second: the second batch waits 3 s behind the first, with no send of its own to renew it.
  t.equal(await lapsesOfWaiting(t, memory, 3, items('a', 9), items('w', 2)), 0, 'renewed on time while the scan was still reading')
})

t.test('outcomes are written within a moment even when the batch\'s next send is far off', async t => {
  const { store, stored } = memoryStore()
  // One send every 5 s: the second outcome is far off.
  const { w, delivered } = worker(t, store, 0.2, 30_000)
  const batch = batchOf(items('c', 2), 'me', Date.now() + 30_000)
  w.accept(batch, await store.create(batch))
  w.start()
  await eventually(() => Object.keys(stored(batch.id)?.done ?? {}).length === 1 || undefined, { timeoutMs: 4000 })
  t.equal(delivered.length, 1, 'the first outcome is in the store before the second send')
})

t.test('a scan claims only half a lease of sending at the current pace; the rest stays for others', async t => {
  const { store } = memoryStore()
  const leftOver = Array.from({ length: 10 }, (_, i) => batchOf(items(`d${i}-`, 10), 'crashed', Date.now() - 1000))
  for (const b of leftOver) await store.create(b)
  // 10 sends a second, half of a 4 s lease: 20 emails, so 2 or 3 batches of 10 out of 10.
  const { w } = worker(t, store, 10, 4000, 2000)
  await w.scan()
  const mine = (await Promise.all(leftOver.map(async b => (await store.read(b.id))?.batch.owner))).filter(o => o === 'me').length
  t.ok(mine >= 2 && mine <= 3, `claimed ${mine} of 10`)
})

t.test('when S3 is slow to take checkpoints, sending waits: a crash could never send more than UNRECORDED_MIN again', async t => {
  // Each checkpoint takes 600 ms to land (the batch as it was when the write began); 20 sends a second
  // would otherwise run 12 or more ahead of what S3 holds.
  const { store, stored } = memoryStore(600)
  const batch = batchOf(items('s', 30), 'me', Date.now() + 60_000)
  let widest = 0
  const { w, delivered } = worker(t, store, 20, 60_000, undefined, () => {
    const durable = Object.keys(stored(batch.id)?.done ?? {}).length
    widest = Math.max(widest, delivered.length - durable)
  })
  w.accept(batch, await store.create(batch))
  w.start()
  await eventually(() => Object.keys(stored(batch.id)?.done ?? {}).length === 30 || stored(batch.id) === null || undefined, { timeoutMs: 20_000, intervalMs: 20 })
  t.equal(delivered.length, 30, 'every email sent once')
  t.ok(widest <= UNRECORDED_MIN, `at most ${UNRECORDED_MIN} sends ahead of S3 at any moment (widest: ${widest})`)
  t.ok(widest >= UNRECORDED_MIN - 1, `and the bound is what held it back (widest: ${widest})`)
})
