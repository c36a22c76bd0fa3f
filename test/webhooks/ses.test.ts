// POST /webhooks/ses with real signatures: a test CA signs a certificate that stands in for SNS's,
// served to the verifier by nock at an SNS address (the only place the tests redirect its fetch).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createSign, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import nock from 'nock'
import { buildApp } from '../../src/app.ts'
import { hashAddress } from '../../src/subscribers/address.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators, tempDir } from '../helper.ts'

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events'
const CERT_HOST = 'https://sns.us-east-1.amazonaws.com'
const CERT_PATH = `/SimpleNotificationService-${'0123456789abcdef'.repeat(2)}.pem`
const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

/** A CA and a leaf certificate it signed, made with openssl for this run. */
async function makeCertificates (dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=leadlink test CA')
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sns.key', '-out', 'sns.csr', '-subj', '/CN=sns.amazonaws.com')
  run('x509', '-req', '-in', 'sns.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'sns.pem', '-days', '2')
  return { key: await readFile(join(dir, 'sns.key'), 'utf8'), cert: await readFile(join(dir, 'sns.pem'), 'utf8'), otherKey: await readFile(join(dir, 'ca.key'), 'utf8') }
}

// The string SNS signs: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
function canonical (m: Record<string, string>): string {
  const keys = m.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
  return keys.filter(k => k in m).map(k => `${k}\n${m[k]}\n`).join('')
}

function signed (key: string, fields: Record<string, string>, version: '1' | '2' = '2'): Record<string, string> {
  const m = { Timestamp: new Date().toISOString(), MessageId: randomUUID(), TopicArn: TOPIC, ...fields, SignatureVersion: version, SigningCertURL: `${CERT_HOST}${CERT_PATH}` }
  const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(canonical(m)).sign(key, 'base64')
  return { ...m, Signature: signature }
}

const bounce = (address: string, bounceType = 'Permanent') => JSON.stringify({
  notificationType: 'Bounce',
  bounce: { bounceType, bounceSubType: 'General', feedbackId: 'fb-1', timestamp: new Date().toISOString(), bouncedRecipients: [{ emailAddress: address }] },
  mail: { messageId: 'm-1', destination: [address] }
})
const complaint = (address: string) => JSON.stringify({
  eventType: 'Complaint',
  complaint: { complaintFeedbackType: 'abuse', feedbackId: 'fb-2', timestamp: new Date().toISOString(), complainedRecipients: [{ emailAddress: address }] },
  mail: { messageId: 'm-2', destination: [address] }
})

const dir = await tempDir(t)
const certs = await makeCertificates(dir)
const stack = await startEmulators(t, { SNS_TOPIC_ARNS: TOPIC, SES_MAX_SEND_RATE: '100' })
isolateNetwork(t)
nock(CERT_HOST).get(CERT_PATH).reply(200, certs.cert).persist()
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
await app.services.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

const post = (body: unknown, contentType = 'text/plain; charset=UTF-8') => app.inject({
  method: 'POST', url: '/webhooks/ses', headers: { 'content-type': contentType, 'x-amz-sns-message-type': 'Notification' }, payload: typeof body === 'string' ? body : JSON.stringify(body)
})
const record = async (address: string) => (await app.services.subscribers.get(hashAddress(address)))?.record

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
