// The Lambda sender against the real emulators: signups accepted by the HTTP handler (SENDER=off), then
// the sender invoked with S3 event notifications as S3 sends them: every email once, events for gone or
// finished batches are harmless, and a deadline mid-batch leaves the rest to the next invocation.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { createLambdaHandler, createSenderHandler, type LambdaEvent } from '../../src/lambda.ts'
import { batchIdsOf, STOP_BEFORE_END_MS, type SenderEvent } from '../../src/lambda-sender.ts'
import { createOutboxStore, newBatchId, type OutboxBatch } from '../../src/outbox/store.ts'
import { sentEmails, startEmulators, type Teardown } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'
import { httpApiEvent, lambdaEnv, startWithWhitepaper } from './env.ts'

/** A JSON POST /subscribe as API Gateway (HTTP API, payload 2.0) hands it to the HTTP function. */
const subscribeEvent = (email: string): LambdaEvent => httpApiEvent({
  method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email })
})

/** A key as S3 puts it into a notification: URL-encoded, a space as "+", the slashes kept. */
const s3EncodedKey = (key: string): string => key.split('/').map(part => encodeURIComponent(part).replace(/%20/g, '+')).join('/')

/** An S3 event notification (event structure 2.1) for objects just written, as Lambda receives it. */
function s3Event (bucket: string, objects: Array<{ key: string, size: number, eTag: string }>): SenderEvent {
  return {
    Records: objects.map((object, i) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AROAEXAMPLEROLE:leadlink-http' },
      requestParameters: { sourceIPAddress: '203.0.113.9' },
      responseElements: { 'x-amz-request-id': `C3D13FE58DE4C8${i}`, 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'leadlink-outbox',
        bucket: { name: bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${bucket}` },
        object: { key: s3EncodedKey(object.key), size: object.size, eTag: object.eTag.replace(/"/g, ''), sequencer: `0055AED6DCD9028${i}E5` }
      }
    }))
  }
}

async function setUp (t: Teardown, overrides: Record<string, string> = {}) {
  const stack = await startWithWhitepaper(t)
  const deps = { clientOptions: { credentials: stack.credentials } }
  const http = createLambdaHandler(lambdaEnv(stack), deps)
  t.teardown(() => http.close())
  const sender = createSenderHandler(lambdaEnv(stack, overrides), deps)
  t.teardown(() => sender.close())
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const bucket = stack.config.aws.s3.bucket

  /** The outbox's batch objects now, as the notifications for them would name them. */
  async function batchObjects () {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'outbox/' }))
    const keys = (listed.Contents ?? []).map(o => o.Key ?? '').filter(k => !k.startsWith('outbox/settle/'))
    return await Promise.all(keys.map(async key => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      return { key, size: head.ContentLength ?? 0, eTag: head.ETag ?? '' }
    }))
  }
  async function readBatch (key: string): Promise<OutboxBatch> {
    return JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) as OutboxBatch
  }
  // The SES emulator keeps one store per process: only what this test sends counts.
  const before = (await sentEmails(stack.sesUrl)).length
  /** Addresses emailed by this test, with how many times each. */
  async function inbox (): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const email of (await sentEmails(stack.sesUrl)).slice(before)) for (const to of email.destination.to) counts.set(to, (counts.get(to) ?? 0) + 1)
    return counts
  }
  return { stack, http, sender, s3, bucket, batchObjects, readBatch, inbox }
}

const context = (remainingMs: number) => ({ functionName: 'leadlink-sender', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => remainingMs })

t.test('batch ids from a notification: only ObjectCreated batch objects of this bucket, keys decoded', async t => {
  const id = newBatchId()
  const record = (key: string, over: Record<string, unknown> = {}) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key } }, ...over })
  t.same(batchIdsOf({
    Records: [
      record(`outbox/${id}.json`),
      record(`outbox/${id}.json`, { eventName: 'ObjectCreated:CompleteMultipartUpload' }),
      record(s3EncodedKey('outbox/settle/web 1-ab12.json')),
      record('outbox/settle/%E0%A4%A.json'),
      record(`outbox/${id}.json`, { eventName: 'ObjectRemoved:Delete' }),
      record(`outbox/${id}.json`, { eventSource: 'aws:sqs' }),
      { ...record(`outbox/${newBatchId()}.json`), s3: { bucket: { name: 'another-bucket' }, object: { key: `outbox/${newBatchId()}.json` } } },
      record('subscribers/abc.json')
    ]
  }, 'b'), [id], 'one id however often it is named; settle objects, malformed keys, other events and buckets left out')
  t.same(batchIdsOf({}, 'b'), [])
})

t.test('signups through the HTTP function, then the sender invoked by their S3 notifications: every email once', async t => {
  const { bucket, http, sender, s3, batchObjects, readBatch, inbox } = await setUp(t)
  const addresses = Array.from({ length: 6 }, (_, i) => `lambda${i}@example.com`)
  for (const address of addresses) t.equal((await http(subscribeEvent(address), context(29_000))).statusCode, 202)

  const objects = await batchObjects()
  t.ok(objects.length >= 1, 'the signups are queued in outbox/')
  for (const object of objects) {
    const batch = await readBatch(object.key)
    t.ok(Date.parse(batch.leaseUntil) <= Date.parse(batch.createdAt), 'a process that does not send leaves its batch unleased: a sender may claim it at once')
  }
  t.same([...(await inbox()).keys()], [], 'the HTTP function sent nothing')

  // One notification per object, as S3 sends them (here all in one invocation's Records).
  const first = await sender(s3Event(bucket, objects), context(60_000))
  t.match(first, { trigger: 's3', sent: addresses.length, left: 0 })
  const counts = await inbox()
  t.same([...counts.keys()].sort(), [...addresses].sort(), 'every signup emailed')
  t.ok([...counts.values()].every(n => n === 1), 'each once')
  t.same(await batchObjects(), [], 'the finished batches are gone from outbox/')

  // The same notifications again (S3 delivers at least once): the batches are gone, nothing happens.
  const again = await sender(s3Event(bucket, objects), context(60_000))
  t.match(again, { claimed: 0, sent: 0 })
  // A finished batch still in the bucket (its delete had failed), whose lease ran out: deleted, nothing sent.
  const store = createOutboxStore({ s3, bucket })
  const item = { id: newBatchId(), address: 'lambda0@example.com', addressHash: 'f'.repeat(64), slug: 'default', requestedAt: new Date().toISOString() }
  const finished: OutboxBatch = { schemaVersion: 1, id: newBatchId(), createdAt: item.requestedAt, owner: 'gone', leaseUntil: new Date(Date.now() - 1000).toISOString(), items: [item], done: { [item.id]: 'sent' }, retries: {} }
  await store.create(finished)
  const late = await sender(s3Event(bucket, await batchObjects()), context(60_000))
  t.match(late, { sent: 0, left: 0 })
  t.same(await batchObjects(), [], 'the finished batch is deleted')
  // S3's test event (sent when the notification is configured) and a schedule with nothing owed.
  t.match(await sender({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket, RequestId: 'x', HostId: 'y' }, context(60_000)), { trigger: 'test', sent: 0 })
  t.match(await sender({ version: '0', source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} }, context(60_000)), { trigger: 'sweep', claimed: 0, sent: 0 })
  t.same([...(await inbox()).values()], addresses.map(() => 1), 'still each once')
})

t.test('a deadline mid-batch: the sender stops in time, releases the batch, and the next invocation sends the rest', async t => {
  // 2 emails a second: 8 emails take at least 3.5 s, and the first invocation has 2 s to send.
  const { bucket, http, sender, batchObjects, readBatch, inbox } = await setUp(t, { SES_MAX_SEND_RATE: '2' })
  const addresses = Array.from({ length: 8 }, (_, i) => `deadline${i}@example.com`)
  // Submitted together: the HTTP function's group commit puts them into one or a few batches.
  const answers = await Promise.all(addresses.map(address => http(subscribeEvent(address), context(29_000))))
  t.ok(answers.every(a => a.statusCode === 202))
  const objects = await batchObjects()

  const first = await sender(s3Event(bucket, objects), context(STOP_BEFORE_END_MS + 2000))
  t.ok(first.sent >= 1 && first.sent < addresses.length, `sent ${first.sent} of ${addresses.length} before its deadline`)
  t.equal(first.left, addresses.length - first.sent, 'the rest is left')
  const left = await batchObjects()
  t.ok(left.length >= 1, 'unfinished batches stay in outbox/')
  let marked = 0
  for (const object of left) {
    const batch = await readBatch(object.key)
    t.ok(Date.parse(batch.leaseUntil) <= Date.now(), 'released: the next invocation may claim it at once')
    marked += Object.values(batch.done).filter(d => d === 'sent').length
  }
  const afterFirst = await inbox()
  t.equal([...afterFirst.values()].reduce((a, b) => a + b, 0), first.sent, 'what it reported is what SES got')

  // The release wrote each batch again: S3 notifies, and the next invocation continues.
  const second = await sender(s3Event(bucket, left), context(60_000))
  t.equal(second.sent, addresses.length - first.sent, 'the next invocation sends the rest')
  t.ok(marked <= first.sent, 'sends recorded in the released batches are not repeated')
  const counts = await inbox()
  t.same([...counts.keys()].sort(), [...addresses].sort(), 'every signup emailed')
  t.ok([...counts.values()].every(n => n === 1), 'nothing twice')
  t.same(await batchObjects(), [])
})

t.test('lambda.mjs exports the sender beside the HTTP handler: S3\'s test event in a fresh process', async t => {
  const stack = await startEmulators(t)
  const script = `const { senderHandler, handler } = await import(${JSON.stringify(new URL('../../lambda.mjs', import.meta.url).href)})
    if (typeof handler !== 'function') throw new Error('no HTTP handler')
    process.stdout.write(JSON.stringify(await senderHandler({ Service: 'Amazon S3', Event: 's3:TestEvent' }, { getRemainingTimeInMillis: () => 60000 })))`
  const run = await runNode(t, ['--input-type=module', '-e', script], childEnv({
    ...lambdaEnv(stack),
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey
  }))
  t.equal(run.code, 0, run.stderr)
  t.same(JSON.parse(run.stdout), { trigger: 'test', claimed: 0, sent: 0, left: 0 })
})
