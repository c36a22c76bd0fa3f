// Outbox building blocks: group commit, the token bucket, and the SES error classification.
import t from 'tap'
import { TokenBucket } from '../../src/outbox/token-bucket.ts'
import { classifySendError } from '../../src/outbox/ses-errors.ts'
import { createOutboxWriter } from '../../src/outbox/writer.ts'
import { batchTime, newBatchId, type OutboxBatch, type OutboxItem, type OutboxStore } from '../../src/outbox/store.ts'

const item = (i: number): OutboxItem => ({ id: `item-${i}`, address: `u${i}@example.com`, addressHash: 'h'.repeat(64), slug: 'default', requestedAt: new Date(0).toISOString() })

function fakeStore (fail = false) {
  const created: OutboxBatch[] = []
  let release: () => void = () => {}
  let gate = Promise.resolve()
  return {
    created,
    hold () { gate = new Promise(resolve => { release = resolve }) },
    release: () => release(),
    store: {
      async settle () {},
      async create (batch: OutboxBatch) {
        await gate
        if (fail) throw new Error('S3 is down')
        created.push(structuredClone(batch))
        return `"etag-${created.length}"`
      }
    } as unknown as OutboxStore
  }
}

t.test('group commit: signups arriving together share one durable write', async t => {
  const fake = fakeStore()
  const written: Array<[string, number]> = []
  const writer = createOutboxWriter({ store: fake.store, owner: 'me', leaseMs: 30_000, onWritten: (b, etag) => written.push([etag, b.items.length]) })
  await Promise.all(Array.from({ length: 40 }, (_, i) => writer.append(item(i))))
  t.equal(fake.created.length, 1, 'one S3 object for 40 signups arriving in one tick')
  t.equal(fake.created[0]?.items.length, 40)
  t.same(written, [['"etag-1"', 40]], 'the sender is handed the batch with its ETag')
  t.equal(fake.created[0]?.owner, 'me')
  t.ok(Date.parse(fake.created[0]?.leaseUntil ?? '') > Date.now() + 29_000, 'leased to the writer')
})

t.test('what signup knows about each item is handed back with the batch, typed, by item id', async t => {
  const fake = fakeStore()
  const handed: Array<Map<string, { etag: string }>> = []
  const writer = createOutboxWriter<{ etag: string }>({ store: fake.store, owner: 'me', leaseMs: 30_000, onWritten: (_b, _etag, known) => handed.push(known) })
  await Promise.all([writer.append(item(1), { etag: '"r1"' }), writer.append(item(2)), writer.settle()])
  t.equal(handed.length, 1)
  t.same([...(handed[0] ?? new Map()).entries()], [['item-1', { etag: '"r1"' }]], 'items appended without a record are absent')
})

t.test('under load, what arrives while writes are in flight forms the next batches (bounded size)', async t => {
  const fake = fakeStore()
  const writer = createOutboxWriter({ store: fake.store, owner: 'me', leaseMs: 1000, maxBatch: 25, maxInFlight: 1, onWritten: () => {} })
  fake.hold()
  const first = writer.append(item(0))
  await new Promise(resolve => setImmediate(resolve))
  const rest = Array.from({ length: 60 }, (_, i) => writer.append(item(i + 1)))
  t.equal(writer.pending, 61)
  fake.release()
  await Promise.all([first, ...rest])
  t.same(fake.created.map(b => b.items.length), [1, 25, 25, 10])
  t.same(fake.created.flatMap(b => b.items.map(i => i.id)), Array.from({ length: 61 }, (_, i) => `item-${i}`), 'in order, none lost')
})

t.test('a failed write rejects every signup in it (the visitor is told to retry)', async t => {
  const fake = fakeStore(true)
  const writer = createOutboxWriter({ store: fake.store, owner: 'me', leaseMs: 1000, onWritten: () => t.fail('not written') })
  const results = await Promise.allSettled([writer.append(item(1)), writer.append(item(2))])
  t.same(results.map(r => r.status), ['rejected', 'rejected'])
})

t.test('batch ids sort by time and carry it', async t => {
  const a = newBatchId(1_000_000)
  const b = newBatchId(2_000_000)
  t.ok(a < b)
  t.equal(batchTime(a), 1_000_000)
  t.match(a, /^[0-9a-z]{9}-[0-9a-f]{12}$/)
})

t.test('token bucket: never more than rate + a tenth in any one-second window', async t => {
  // A simulated clock: waiting advances it. Take tokens as fast as they come for 5 seconds.
  let clock = 0
  const bucket = new TokenBucket(100, () => clock, async ms => { clock += ms })
  const sends: number[] = []
  while (clock < 5000) {
    await bucket.take()
    sends.push(clock)
  }
  let worst = 0
  for (let i = 0; i < sends.length; i++) {
    let j = i
    while (j < sends.length && (sends[j] as number) < (sends[i] as number) + 1000) j++
    worst = Math.max(worst, j - i)
  }
  t.ok(worst <= 110, `at most 110 sends in any second (saw ${worst})`)
  t.ok(sends.length >= 490, `keeps up with the rate (${sends.length} in 5 s)`)
})

t.test('token bucket: a pause after throttling stops sends, and the rate can change', async t => {
  let clock = 0
  let waited = 0
  const bucket = new TokenBucket(10, () => clock, async ms => { clock += ms; waited += ms })
  t.equal(bucket.capacity, 1)
  bucket.setRate(50)
  t.equal(bucket.rate, 50)
  t.equal(bucket.capacity, 5)
  bucket.pause(1000)
  await bucket.take()
  t.ok(waited >= 1000, `waited out the pause (${waited} ms)`)
})

t.test('SES errors: throttling and 5xx are retried, rejections are final', async t => {
  const err = (name: string, status?: number, message = '') => Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) })
  t.same(classifySendError(err('TooManyRequestsException', 429)), { kind: 'retry', reason: 'throttled', throttled: true })
  t.same(classifySendError(err('ThrottlingException', 400)), { kind: 'retry', reason: 'throttled', throttled: true })
  t.same(classifySendError(err('Throttling', 400, 'Maximum sending rate exceeded.')), { kind: 'retry', reason: 'throttled', throttled: true })
  t.same(classifySendError(err('InternalFailure', 500)), { kind: 'retry', reason: 'http_500', throttled: false })
  t.same(classifySendError(err('ServiceUnavailable', 503)), { kind: 'retry', reason: 'http_503', throttled: false })
  t.same(classifySendError(err('TimeoutError')), { kind: 'retry', reason: 'network', throttled: false })
  t.same(classifySendError(err('MessageRejected', 400)), { kind: 'permanent', reason: 'MessageRejected' })
  t.same(classifySendError(err('SendingPausedException', 400)), { kind: 'permanent', reason: 'SendingPausedException' })
  t.same(classifySendError(err('AccountSuspendedException', 400)), { kind: 'permanent', reason: 'AccountSuspendedException' })
  t.same(classifySendError(err('MailFromDomainNotVerifiedException', 400)), { kind: 'permanent', reason: 'MailFromDomainNotVerifiedException' })
  t.same(classifySendError(err('ValidationException', 400)), { kind: 'permanent', reason: 'ValidationException' })
})
