// POST /webhooks/ses with real signatures (test CA, see sns-support.ts): suppression, rejection of
// forged, foreign and replayed messages, the subscription handshake.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import nock from 'nock'
import { buildApp } from '../../src/app.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators, tempDir } from '../helper.ts'
import { bounce, CERT_HOST, complaint, makeCertificates, postTo, serveCertificate, signed, TOPIC } from './sns-support.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

const dir = await tempDir(t)
const certs = await makeCertificates(dir)
const stack = await startEmulators(t, { SNS_TOPIC_ARNS: TOPIC, SES_MAX_SEND_RATE: '100' })
isolateNetwork(t)
serveCertificate(certs)
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

const post = postTo(app)
const record = async (address: string) => (await app.subscribers.get(app.subscribers.keyOf(address)))?.record

t.test('a permanent bounce (SignatureVersion 2) suppresses the address for good', async t => {
  const res = await post(signed(certs.key, { Type: 'Notification', Message: bounce('Bounced@Example.com') }))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'processed', suppressed: 1 })
  const rec = await record('bounced@example.com')
  t.equal(rec?.status, 'suppressed')
  t.match(rec?.suppression, { reason: 'bounce', detail: 'Permanent/General', feedbackId: 'fb-1' })

  // Whatever it submits later: the same thank-you, and no email.
  const signup = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'bounced@example.com' } })
  t.equal(signup.statusCode, 202)
  const after = await record('bounced@example.com')
  t.equal(after?.status, 'suppressed')
  t.same(after?.deliveries, [], 'nothing owed')
  t.equal(after?.signups.length, 1, 'the attempt is on file')
})

t.test('a complaint via event publishing (SignatureVersion 1) suppresses an address already subscribed', async t => {
  await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'angry@example.com' } })
  await eventually(async () => (await sentEmails(stack.sesUrl)).find(e => e.destination.to.includes('angry@example.com')))
  const res = await post(signed(certs.key, { Type: 'Notification', Message: complaint('angry@example.com') }, '1'))
  t.same(res.json(), { status: 'processed', suppressed: 1 })
  t.equal((await record('angry@example.com'))?.status, 'suppressed')
  t.match((await record('angry@example.com'))?.suppression, { reason: 'complaint', detail: 'abuse' })
})

t.test('a transient bounce changes nothing', async t => {
  const res = await post(signed(certs.key, { Type: 'Notification', Message: bounce('soft@example.com', 'Transient') }))
  t.same(res.json(), { status: 'processed', suppressed: 0 })
  t.equal(await record('soft@example.com'), undefined)
})

t.test('forged, tampered, foreign, replayed and malformed messages are rejected', async t => {
  const good = signed(certs.key, { Type: 'Notification', Message: bounce('victim@example.com') })
  const cases: Array<[string, unknown, string]> = [
    ['tampered message', { ...good, Message: bounce('someone-else@example.com') }, 'webhook_signature'],
    ['signed with another key', signed(certs.otherKey, { Type: 'Notification', Message: bounce('victim@example.com') }), 'webhook_signature'],
    ['certificate from a non-SNS host', { ...good, SigningCertURL: 'https://evil.example.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem' }, 'webhook_signature'],
    ['unknown signature version', { ...good, SignatureVersion: '3' }, 'webhook_signature'],
    ['topic not allow-listed', signed(certs.key, { Type: 'Notification', Message: bounce('victim@example.com'), TopicArn: 'arn:aws:sns:us-east-1:999999999999:other' }), 'webhook_topic'],
    ['two hours old', signed(certs.key, { Type: 'Notification', Message: bounce('victim@example.com'), Timestamp: new Date(Date.now() - 7200_000).toISOString() }), 'webhook_stale'],
    ['a MessageId that would escape its key', signed(certs.key, { Type: 'Notification', Message: bounce('victim@example.com'), MessageId: '../subscribers/x' }), 'webhook_malformed'],
    ['not JSON', 'hello', 'webhook_malformed'],
    ['missing fields', { Type: 'Notification', Message: 'x' }, 'invalid_request']
  ]
  for (const [name, body, code] of cases) {
    const res = await post(body)
    t.equal(res.statusCode, code === 'invalid_request' ? 422 : 400, name)
    t.equal(res.json().code, code, name)
  }
  t.equal(await record('victim@example.com'), undefined, 'nothing was suppressed')
  t.equal(await record('someone-else@example.com'), undefined)

  const once = signed(certs.key, { Type: 'Notification', Message: bounce('twice@example.com', 'Transient') })
  t.same((await post(once)).json(), { status: 'processed', suppressed: 0 })
  t.same((await post(once)).json(), { status: 'ignored' }, 'a replayed MessageId is ignored')
})

t.test('the subscription handshake is confirmed by fetching the SubscribeURL', async t => {
  const subscribeUrl = `${CERT_HOST}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC)}&Token=abc123`
  const confirm = nock(CERT_HOST).get('/').query({ Action: 'ConfirmSubscription', TopicArn: TOPIC, Token: 'abc123' }).reply(200, '<ConfirmSubscriptionResponse/>')
  const res = await post(signed(certs.key, { Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe…', SubscribeURL: subscribeUrl, Token: 'abc123' }))
  t.same(res.json(), { status: 'confirmed' })
  t.ok(confirm.isDone(), 'SubscribeURL fetched')
  const evil = await post(signed(certs.key, { Type: 'SubscriptionConfirmation', Message: 'x', SubscribeURL: 'https://evil.example.com/confirm', Token: 't' }))
  t.equal(evil.statusCode, 400, 'a SubscribeURL off SNS is never fetched')
})

t.test('off unless SNS_TOPIC_ARNS is set', async t => {
  const other = await startEmulators(t)
  const plain = await buildApp(other.config, { clientOptions: { credentials: other.credentials } }, { logger: false })
  t.teardown(() => plain.close())
  const res = await plain.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain' }, payload: '{}' })
  t.equal(res.statusCode, 404)
})
