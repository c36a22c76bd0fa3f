// The outbox worker alone, with its ports faked: what it asks (isOwed, deliver, recordFailure), the
// events it emits, what it writes to the batch and the delivery log, and claiming recovered batches.
import t from 'tap'
import { createLeases } from '../../src/outbox/leases.ts'
import type { OutboxPorts } from '../../src/outbox/ports.ts'
import { TokenBucket } from '../../src/outbox/token-bucket.ts'
import { DeliveryFailure } from '../../src/outbox/ses-errors.ts'
import { newBatchId, type OutboxBatch, type OutboxItem, type OutboxStore, type SendResult } from '../../src/outbox/store.ts'
import { createOutboxWorker } from '../../src/outbox/worker.ts'
import { WriteConflict } from '../../src/subscribers/store.ts'
import { eventually, type Teardown } from '../helper.ts'

const quiet = { info () {}, warn () {}, error () {} }

/** An outbox in memory, with S3's conditional-write semantics. */
function memoryStore () {
  const batches = new Map<string, { json: string, etag: string }>()
  const logs: Array<{ batch: OutboxBatch, finishedAt: Date }> = []
  let n = 0
  const put = (batch: OutboxBatch) => {
    const etag = `"e${++n}"`
    batches.set(batch.id, { json: JSON.stringify(batch), etag })
    return etag
  }
  const store = {
    async create (batch: OutboxBatch) {
      if (batches.has(batch.id)) throw new WriteConflict('test-key')
      return put(batch)
    },
    async replace (batch: OutboxBatch, etag: string) {
      if (batches.get(batch.id)?.etag !== etag) throw new WriteConflict('test-key')
      return put(batch)
    },
    async read (id: string) {
      const b = batches.get(id)
      return b ? { batch: JSON.parse(b.json) as OutboxBatch, etag: b.etag } : null
    },
    async remove (id: string) { batches.delete(id) },
    async log (batch: OutboxBatch, finishedAt: Date) { logs.push({ batch: structuredClone(batch), finishedAt }) },
    async list () { return [...batches.keys()].sort() }
  }
  return { store: store as unknown as OutboxStore, batches, logs }
}

const item = (name: string): OutboxItem => ({ id: newBatchId(), address: `${name}@example.com`, addressHash: name.padEnd(64, '0'), slug: 'default', requestedAt: new Date(0).toISOString() })

function batchOf (items: OutboxItem[], leaseUntil: number): OutboxBatch {
  return { schemaVersion: 1, id: newBatchId(), createdAt: new Date().toISOString(), owner: 'elsewhere', leaseUntil: new Date(leaseUntil).toISOString(), items, done: {}, retries: {} }
}

const sent = (messageId: string): SendResult => ({ messageId, version: 'v1', linkExpiresAt: '2030-01-01T00:00:00.000Z', sentAt: '2029-12-25T00:00:00.000Z' })

function setUp (t: Teardown, ports: OutboxPorts<string>) {
  const memory = memoryStore()
  const leases = createLeases({ store: memory.store, owner: 'me', leaseMs: 30_000, clock: Date.now, log: quiet })
  const worker = createOutboxWorker<string>({ leases, ports, rate: new TokenBucket(1000), scanIntervalMs: 60_000, maxAttempts: 3, concurrency: 4, log: quiet })
  const events: string[] = []
  worker.events.on('minted', () => events.push('minted'))
  worker.events.on('sent', () => events.push('sent'))
  worker.events.on('failed', reason => events.push(`failed:${reason}`))
  worker.events.on('retried', reason => events.push(`retried:${reason}`))
  t.teardown(() => worker.stop(1000))
  return { ...memory, leases, worker, events }
}

t.test('the worker calls its ports: skips what is not owed, retries a throttled send, records a rejection', async t => {
  const [skipped, throttledOnce, rejected] = [item('skipped'), item('throttled'), item('rejected')]
  const delivered: string[] = []
  const recorded: Array<[string, string, string | undefined]> = []
  const owedAsked: Array<[string, boolean]> = []
  let throttles = 0
  const { store, batches, logs, worker, events } = setUp(t, {
    async isOwed (i, recovered) { owedAsked.push([i.address, recovered]); return i !== skipped },
    async deliver (i) {
      delivered.push(i.address)
      if (i === throttledOnce && throttles++ === 0) throw new DeliveryFailure({ kind: 'retry', reason: 'throttled', throttled: true }, true)
      if (i === rejected) throw new DeliveryFailure({ kind: 'permanent', reason: 'MessageRejected' }, true)
      return sent(`msg-${i.address}`)
    },
    async recordFailure (i, error, known) { recorded.push([i.address, error, known]) }
  })
  const batch = batchOf([skipped, throttledOnce, rejected], Date.now() + 30_000)
  const etag = await store.create(batch)
  worker.start()
  worker.accept(batch, etag, new Map([[rejected.id, 'record-of-rejected']]))
  await eventually(() => (batches.size === 0 && logs.length === 1) || undefined)

  t.ok(owedAsked.length >= 3 && owedAsked.every(([, recovered]) => !recovered), 'a batch written here is not recovered')
  t.notOk(delivered.includes(skipped.address), 'what is no longer owed is not delivered')
  t.same(delivered.filter(a => a === throttledOnce.address).length, 2, 'the throttled send was tried again')
  t.same(recorded, [['rejected@example.com', 'MessageRejected', 'record-of-rejected']], 'the failure is recorded with what signup knew')
  t.same(events.filter(e => e !== 'minted').sort(), ['failed:MessageRejected', 'retried:throttled', 'sent'])
  t.equal(events.filter(e => e === 'minted').length, 3, 'a link went into each email attempted')
  const done = logs[0]?.batch as OutboxBatch
  t.same(done.done, { [skipped.id]: 'skipped', [throttledOnce.id]: 'sent', [rejected.id]: 'failed' })
  t.same(done.results, { [throttledOnce.id]: sent('msg-throttled@example.com') }, 'what deliver returned goes to the delivery log')
  t.same(done.retries, {})
  const stats = worker.stats()
  t.match(stats, { pending: 0, sent: 1, retries: 1, throttled: 1, failures: { MessageRejected: 1 }, maxSendRate: 1000 })
})

t.test('an error deliver cannot classify (S3 trouble) keeps the item owed, without spending an attempt', async t => {
  const one = item('one')
  let calls = 0
  const { store, batches, logs, worker, events } = setUp(t, {
    isOwed: async () => true,
    async deliver () {
      if (calls++ === 0) throw new Error('S3 is down')
      return sent('msg-1')
    },
    recordFailure: async () => { t.fail('nothing failed for good') }
  })
  const batch = batchOf([one], Date.now() + 30_000)
  worker.start()
  worker.accept(batch, await store.create(batch))
  await eventually(() => (batches.size === 0 && logs.length === 1) || undefined)
  t.equal(calls, 2)
  t.same(events, ['minted', 'sent'], 'neither a retry nor a failure')
  t.same(logs[0]?.batch.done, { [one.id]: 'sent' })
})

t.test('a scan claims an expired batch as recovered, leaves a live one, and suppress() drops an address', async t => {
  const [owed, suppressed] = [item('owed'), item('suppressed')]
  const owedAsked: Array<[string, boolean]> = []
  const { store, batches, logs, worker } = setUp(t, {
    async isOwed (i, recovered) { owedAsked.push([i.address, recovered]); return true },
    deliver: async i => sent(`msg-${i.address}`),
    recordFailure: async () => {}
  })
  const expired = batchOf([owed, suppressed], Date.now() - 1000)
  const live = batchOf([item('live')], Date.now() + 600_000)
  await store.create(expired)
  await store.create(live)
  worker.suppress(suppressed.addressHash)
  worker.start()
  await eventually(() => (!batches.has(expired.id) && logs.length === 1) || undefined)
  t.same(owedAsked, [['owed@example.com', true]], 'a claimed batch is recovered; a suppressed address is not even asked about')
  t.same(logs[0]?.batch.done, { [owed.id]: 'sent', [suppressed.id]: 'skipped' })
  t.equal(logs[0]?.batch.owner, 'me', 'claimed by this instance')
  const left = JSON.parse(batches.get(live.id)?.json ?? '{}') as OutboxBatch
  t.equal(left.owner, 'elsewhere', 'a live lease is left alone')
  t.equal(worker.stats().batches, 2, 'the scan saw both batches')
})

t.test('stop releases the lease of what is still owed, so the next instance takes it at once', async t => {
  const one = item('one')
  let release: () => void = () => {}
  const { store, batches, worker } = setUp(t, {
    isOwed: async () => true,
    deliver: () => new Promise(resolve => { release = () => resolve(sent('late')) }),
    recordFailure: async () => {}
  })
  const blocked = batchOf([one], Date.now() + 30_000)
  const other = batchOf([item('two')], Date.now() + 30_000)
  worker.start()
  worker.accept(blocked, await store.create(blocked))
  await eventually(() => worker.stats().inFlight === 1 || undefined)
  // The worker's deadline timer does not hold the process open (a server does): this test must.
  const alive = setInterval(() => {}, 1000)
  const stopped = worker.stop(200)
  worker.accept(other, await store.create(other))
  await stopped
  clearInterval(alive)
  release()
  const left = JSON.parse(batches.get(other.id)?.json ?? '{}') as OutboxBatch
  t.ok(Date.parse(left.leaseUntil) <= Date.now(), 'released: the lease ends now')
  t.same(left.done, {}, 'still owed')
})
