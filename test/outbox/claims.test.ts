// Several instances share one bucket: batches left by a crashed instance are claimed by exactly one
// of them (conditional writes), each email goes out once, and a live lease is respected.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { buildApp } from '../../src/app.ts'
import { createOutboxStore, newBatchId, type OutboxBatch } from '../../src/outbox/store.ts'
import { reconfigure } from '../../src/config.ts'
import { eventually, sentEmails, startEmulators } from '../helper.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

t.test('two instances drain a crashed instance\'s batches exactly once', async t => {
  const stack = await startEmulators(t, { OUTBOX_SCAN_SECONDS: '0.2', SES_MAX_SEND_RATE: '500', OUTBOX_LEASE_SECONDS: '5' })
  const apps = await Promise.all(['a', 'b'].map(async name => {
    const app = await buildApp(reconfigure(stack.config, { INSTANCE_NAME: `instance-${name}` }), { clientOptions: { credentials: stack.credentials } }, { logger: false })
    t.teardown(() => app.close())
    return app
  }))
  const [a, b] = apps as [typeof apps[0], typeof apps[0]]
  await a.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const outbox = createOutboxStore({ s3, bucket: stack.config.aws.s3.bucket })

  const now = Date.now()
  const requestedAt = new Date(now - 60_000).toISOString()
  const addresses: string[] = []
  const batchOf = (owner: string, leaseUntil: number, first: number, count: number): OutboxBatch => {
    const items = Array.from({ length: count }, (_, i) => {
      const address = `reader${first + i}@example.com`
      addresses.push(address)
      return { id: newBatchId(now - 60_000 + first + i), address, addressHash: a.subscribers.keyOf(address), slug: 'default', requestedAt }
    })
    return { schemaVersion: 1, id: newBatchId(now - 60_000 + first), createdAt: requestedAt, owner, leaseUntil: new Date(leaseUntil).toISOString(), items, done: {}, retries: {} }
  }
  // Records exist for everyone (the crashed instance wrote them before its batches).
  const crashed = [batchOf('crashed', now - 1000, 0, 10), batchOf('crashed', now - 1000, 10, 10), batchOf('crashed', now - 1000, 20, 10)]
  const aliveBatch = batchOf('alive-elsewhere', now + 600_000, 100, 3)
  for (const address of addresses) {
    const hash = a.subscribers.keyOf(address)
    const unsubscribed = address === 'reader7@example.com'
    await a.subscribers.create({
      schemaVersion: 1, address, addressHash: hash, status: unsubscribed ? 'unsubscribed' : 'pending', createdAt: requestedAt, updatedAt: requestedAt,
      signups: [], deliveries: [],
      ...(unsubscribed ? { unsubscription: { at: new Date(now - 30_000).toISOString(), ip: '192.0.2.1', userAgent: 'x', via: 'one-click' as const } } : {})
    })
  }
  // Half-done: the crashed instance had sent reader0 and reader1 of the first batch.
  const first = crashed[0] as OutboxBatch
  first.done[first.items[0]!.id] = 'sent'
  first.done[first.items[1]!.id] = 'sent'
  for (const batch of [...crashed, aliveBatch]) await outbox.create(batch)

  await Promise.all([a.ready(), b.ready()])
  const expected = addresses.filter(x => !['reader0@example.com', 'reader1@example.com', 'reader7@example.com'].includes(x) && !aliveBatch.items.some(i => i.address === x))
  await eventually(async () => {
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: stack.config.aws.s3.bucket, Prefix: 'outbox/' }))).Contents ?? []).filter(o => !o.Key?.startsWith('outbox/settle/'))
    return keys.length === 1 ? true : undefined
  }, { timeoutMs: 20_000 })
  const emails = await sentEmails(stack.sesUrl)
  const counts = new Map<string, number>()
  for (const e of emails) for (const to of e.destination.to) counts.set(to, (counts.get(to) ?? 0) + 1)
  t.same([...counts.keys()].sort(), expected.sort(), 'everyone owed got the email; nobody else')
  t.ok([...counts.values()].every(n => n === 1), 'each exactly once')
  t.notOk(counts.has('reader7@example.com'), 'an address that unsubscribed after the signup is skipped')
  t.notOk(counts.has('reader0@example.com'), 'what the crashed instance had checkpointed as sent is not sent again')
  const left = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: `outbox/${aliveBatch.id}.json` }))).Body!.transformToString()) as OutboxBatch
  t.equal(left.owner, 'alive-elsewhere', 'a live lease is left alone')
  t.same(left.done, {})
  const sentBy = a.outbox.stats().sent + b.outbox.stats().sent
  t.equal(sentBy, expected.length, 'the two instances together sent each once')
})
