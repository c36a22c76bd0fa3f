// No compliance event is lost: an SNS message counts as handled only once its effects and its marker
// (webhooks/sns/<MessageId>.json) are in S3; S3 faults (nock in front of the emulator) answer 5xx so
// that SNS retries; restarts and a second instance find the marker; suppression writes only once.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import nock from 'nock'
import { buildApp, type App } from '../../src/app.ts'
import { subscriberKey } from '../../src/subscribers/store.ts'
import { markerKey } from '../../src/webhooks/processed.ts'
import { isolateNetwork, startEmulators, tempDir, type Teardown } from '../helper.ts'
import { bounce, complaint, makeCertificates, postTo, serveCertificate, signed, TOPIC } from './sns-support.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const JSON_POST = { 'content-type': 'application/json', accept: 'application/json' }

const certs = await makeCertificates(await tempDir(t))
// The sender is off: its background S3 traffic would only blur what the faults below hit.
const stack = await startEmulators(t, { SNS_TOPIC_ARNS: TOPIC, SENDER: 'off' })
isolateNetwork(t)
serveCertificate(certs)
const S3_ENDPOINT = stack.config.aws.s3.endpoint as string
const BUCKET = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

/** One leadlink instance on the shared bucket, with the keys of the S3 writes that succeeded. */
async function instance (t: Teardown) {
  const app: App = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  const puts: string[] = []
  app.aws.s3.middlewareStack.add((next, context) => async args => {
    const out = await next(args)
    if (context.commandName === 'PutObjectCommand') puts.push((args.input as { Key: string }).Key)
    return out
  }, { step: 'initialize', name: 'recordPuts' })
  return { app, post: postTo(app), puts }
}

const first = await instance(t)
await first.app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

const stored = async (address: string) => await first.app.subscribers.get(first.app.subscribers.keyOf(address))
const written = (puts: string[], address: string) => puts.filter(k => k === subscriberKey(first.app.subscribers.keyOf(address))).length

async function marker (messageId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: markerKey(messageId) }))
    return JSON.parse(await res.Body!.transformToString()) as Record<string, unknown>
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined
    throw err
  }
}

/**
 * S3 fails for the requests matching `path` and `methods` until `end()`: unreachable by default, or
 * a 503 answer. Other requests reach the emulator.
 */
function s3Fault (path: RegExp, fault: 'unreachable' | 503 = 'unreachable', methods = ['HEAD', 'GET', 'PUT']) {
  const scope = nock(S3_ENDPOINT, { allowUnmocked: true }).persist()
  let hits = 0
  scope.on('request', () => { hits++ })
  const interceptors = methods.map(method => {
    const interceptor = scope.intercept(path, method)
    if (fault === 'unreachable') interceptor.replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
    else interceptor.reply(503, '<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>', { 'content-type': 'application/xml' })
    return interceptor
  })
  return {
    hits: () => hits,
    end: () => { for (const i of interceptors) nock.removeInterceptor(i) }
  }
}

t.test('S3 unreachable: 5xx and nothing marked; when it is back, the identical retry suppresses', async t => {
  const { app, post } = first
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: JSON_POST, payload: { email: 'angry@example.com' } })).statusCode, 202)
  t.equal((await stored('angry@example.com'))?.record.status, 'pending')
  const message = signed(certs.key, { Type: 'Notification', Message: complaint('angry@example.com') })

  const outage = s3Fault(new RegExp(`^/${BUCKET}/`))
  const failed = await post(message)
  outage.end()
  t.ok(outage.hits() > 0, 'S3 was asked')
  t.equal(failed.statusCode, 500, 'SNS will retry')
  t.equal(failed.json().code, 'internal_error')
  t.equal((await stored('angry@example.com'))?.record.status, 'pending', 'nothing changed')
  t.equal(await marker(message.MessageId!), undefined, 'not marked')

  const retried = await post(message)
  t.equal(retried.statusCode, 200)
  t.same(retried.json(), { status: 'processed', suppressed: 1 })
  t.equal((await stored('angry@example.com'))?.record.status, 'suppressed')
  t.match(await marker(message.MessageId!), { schemaVersion: 1, type: 'Notification', topicArn: TOPIC, suppressed: 1 })
  t.same((await post(message)).json(), { status: 'ignored' }, 'and once marked, a further copy is ignored')
})

t.test('the suppression cannot be stored: 5xx, no marker, and the retry stores it', async t => {
  const { post } = first
  const message = signed(certs.key, { Type: 'Notification', Message: bounce('hard@example.com') })
  const fault = s3Fault(new RegExp(`^/${BUCKET}/subscribers/`), 503)
  const failed = await post(message)
  fault.end()
  t.equal(failed.statusCode, 500)
  t.equal(await stored('hard@example.com'), null)
  t.equal(await marker(message.MessageId!), undefined, 'the marker is written only after the effect')
  t.same((await post(message)).json(), { status: 'processed', suppressed: 1 })
  t.equal((await stored('hard@example.com'))?.record.status, 'suppressed')
})

t.test('the marker cannot be stored: 5xx; the retry finds the suppression done and rewrites nothing', async t => {
  const { post, puts } = first
  const message = signed(certs.key, { Type: 'Notification', Message: bounce('twice@example.com') })
  const fault = s3Fault(/\/webhooks\/sns\//, 503, ['PUT'])
  const failed = await post(message)
  fault.end()
  t.equal(failed.statusCode, 500)
  const after = await stored('twice@example.com')
  t.equal(after?.record.status, 'suppressed', 'the effect was stored')
  t.equal(await marker(message.MessageId!), undefined)

  const before = puts.length
  t.same((await post(message)).json(), { status: 'processed', suppressed: 1 }, 'processed again, not ignored')
  t.same(puts.slice(before), [markerKey(message.MessageId!)], 'only the marker is written')
  t.same(await stored('twice@example.com'), after, 'the record is untouched (same ETag, same body)')
})

t.test('after a restart the same message changes nothing', async t => {
  const message = signed(certs.key, { Type: 'Notification', Message: complaint('restart@example.com') })
  t.same((await first.post(message)).json(), { status: 'processed', suppressed: 1 })
  const before = await stored('restart@example.com')
  t.equal(before?.record.status, 'suppressed')

  // A new process: nothing in memory, the same bucket.
  const restarted = await instance(t)
  const res = await restarted.post(message)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ignored' })
  t.same(restarted.puts, [], 'nothing written')
  t.same(await stored('restart@example.com'), before, 'same ETag, same body')
})

t.test('two instances receiving the same message: one effect', async t => {
  const a = await instance(t)
  const b = await instance(t)
  for (let round = 0; round < 5; round++) {
    const address = `race-${round}@example.com`
    const message = signed(certs.key, { Type: 'Notification', Message: complaint(address) })
    const answers = await Promise.all([a.post(message), b.post(message)])
    t.same(answers.map(r => r.statusCode), [200, 200], `round ${round}: both acknowledged`)
    t.equal(written(a.puts, address) + written(b.puts, address), 1, `round ${round}: the record was written once`)
    t.equal((await stored(address))?.record.status, 'suppressed')
    t.ok(await marker(message.MessageId!), 'marked')
  }
})

t.test('the same notification under another MessageId (SES or SNS duplicates) rewrites nothing', async t => {
  const { post, puts } = first
  const notification = bounce('dup@example.com')
  t.same((await post(signed(certs.key, { Type: 'Notification', Message: notification }))).json(), { status: 'processed', suppressed: 1 })
  const before = await stored('dup@example.com')
  t.same((await post(signed(certs.key, { Type: 'Notification', Message: notification }))).json(), { status: 'processed', suppressed: 1 })
  t.same(await stored('dup@example.com'), before, 'same ETag, same body')
  t.equal(written(puts, 'dup@example.com'), 1)

  // A different suppression of the same address is news, and is recorded.
  t.same((await post(signed(certs.key, { Type: 'Notification', Message: complaint('dup@example.com') }))).json(), { status: 'processed', suppressed: 1 })
  t.match((await stored('dup@example.com'))?.record.suppression, { reason: 'complaint' })
})

t.test('a subscription confirmation whose SubscribeURL fails is not marked, and is confirmed on retry', async t => {
  const { post } = first
  const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t1'
  const message = signed(certs.key, { Type: 'SubscriptionConfirmation', Message: 'subscribe', SubscribeURL: url, Token: 't1' })
  nock('https://sns.us-east-1.amazonaws.com').get('/').query(true).reply(503)
  t.equal((await post(message)).statusCode, 500)
  t.equal(await marker(message.MessageId!), undefined)
  nock('https://sns.us-east-1.amazonaws.com').get('/').query(true).reply(200, '<ConfirmSubscriptionResponse/>')
  t.same((await post(message)).json(), { status: 'confirmed' })
  t.match(await marker(message.MessageId!), { type: 'SubscriptionConfirmation' })
})

t.test('an address the form would refuse today (stored before the rule) is still suppressed under its old key', async t => {
  const { suppressionKey } = await import('../../src/subscribers/suppression.ts')
  t.same(suppressionKey('Old%Relay@Example.com'), { address: 'old%relay@example.com' })
  t.same(suppressionKey('Jane@Example.com'), { address: 'jane@example.com' }, 'a valid address: the usual key')
  t.equal(suppressionKey('not an address'), undefined)
  t.equal(suppressionKey('a@b'), undefined)
})
