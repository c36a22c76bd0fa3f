// Route tests for POST /subscribe: nock stands in front of S3 and SES and records exactly what is sent.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Writable } from 'node:stream'
import nock from 'nock'
import { buildApp } from '../../src/app.ts'
import { loggerOptions } from '../../src/logging.ts'
import { CONSENT_TEXT, CONSENT_VERSION } from '../../src/subscribers/consent.ts'
import { build, eventually, isolateNetwork, S3_HOST, SES_HOST, TEST_CREDENTIALS, testConfig, type Teardown } from '../helper.ts'
import { ADDRESS, capture, HASH, mockOutbox, newAddressMocks, mockPointer, mockPut, mockRecord, mockSes, pointer, recorder, type Captured } from '../aws-mocks.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0 test' }

/** No network but loopback; S3 (the current version, a record write, the outbox) and SES answer, recorded. */
function signupMocks (t: Teardown, current: WhitepaperPointer = pointer): ReturnType<typeof recorder> {
  const rec = newAddressMocks(t, current)
  mockOutbox(rec)
  mockSes(rec)
  return rec
}

t.test('a form post records the signup, sends the exact SES request and redirects to the thank-you page', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  mockRecord()
  mockPut(rec, 200, '"etag-1"')
  mockOutbox(rec)
  mockSes(rec)
  const app = await build(t)
  const before = Date.now()
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ' Jane@Example.COM ' }), remoteAddress: '203.0.113.7' })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/thanks')
  t.equal(rec.s3Puts.length, 1, 'the answer waits for the record...')
  t.equal(rec.outboxPuts.length, 1, '...and the outbox entry')
  await eventually(() => (rec.logPuts.length === 1 && rec.outboxDeletes.length === 1) || undefined)
  t.same(rec.unmatched, [])
  t.ok(nock.isDone(), 'every mocked call was made')
  t.equal(rec.s3Puts.length, 1, 'a successful send does not rewrite the subscriber record')

  // 1. the record is created only if absent, keyed by the address hash
  const [create] = rec.s3Puts
  t.equal(create?.headers['if-none-match'], '*')
  t.notOk(create?.headers['if-match'])
  t.equal(create?.headers['content-type'], 'application/json')
  t.notMatch(create?.path ?? '', 'jane', 'the key never contains the address')
  t.match(create?.body, {
    schemaVersion: 1,
    address: ADDRESS,
    addressHash: HASH,
    status: 'pending'
  })
  t.same(create?.body.signups, [{
    at: create?.body.createdAt, slug: 'default', consentText: CONSENT_TEXT, consentVersion: CONSENT_VERSION, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test'
  }])
  const outboxId = create?.body.deliveries[0]?.outboxId
  t.same(create?.body.deliveries, [{ at: create?.body.createdAt, slug: 'default', status: 'requested', outboxId }], 'the email is owed')

  // 2. the outbox entry: durable, conditional, leased by this instance, deleted once sent
  const batch = rec.outboxPuts[0]
  t.equal(batch?.headers['if-none-match'], '*')
  t.match(batch?.body, { schemaVersion: 1, owner: /^leadlink-[0-9a-f]{8}$/, done: {}, retries: {} })
  t.same(batch?.body.items, [{ id: outboxId, address: ADDRESS, addressHash: HASH, slug: 'default', requestedAt: create?.body.createdAt }])
  t.ok(Date.parse(batch?.body.leaseUntil) > Date.now(), 'the lease is in the future')
  t.same(rec.outboxDeletes, [batch?.path])

  // 3. the SES request
  t.equal(rec.sesSends.length, 1)
  const ses = rec.sesSends[0]?.body
  t.equal(ses.FromEmailAddress, 'Leadlink <hello@leadlink.test>')
  t.same(ses.Destination, { ToAddresses: [ADDRESS] })
  t.equal(ses.Content.Simple.Subject.Data, 'Your copy of The Guide')
  t.notOk(ses.ConfigurationSetName, 'no configuration set unless configured')
  t.match(ses.Content.Simple.Headers, [
    { Name: 'List-Unsubscribe', Value: /^<https:\/\/leadlink\.test\/u\/[A-Za-z0-9_-]{100,}>$/ },
    { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' }
  ], 'RFC 8058 headers on every email')
  t.equal(ses.Content.Simple.Headers.length, 2)
  const unsubscribeUrl = ses.Content.Simple.Headers[0].Value.slice(1, -1)
  const text: string = ses.Content.Simple.Body.Text.Data
  const html: string = ses.Content.Simple.Body.Html.Data
  const url = new URL(text.match(/https:\/\/\S+/)?.[0] ?? '')
  t.equal(url.host, 'leadlink-test.s3.us-east-1.amazonaws.com')
  t.equal(url.pathname, `/${pointer.key}`)
  t.equal(url.searchParams.get('X-Amz-Expires'), '604800')
  t.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256')
  t.match(url.searchParams.get('X-Amz-Credential'), /^AKIDTESTTESTTEST\/\d{8}\/us-east-1\/s3\/aws4_request$/)
  t.equal(url.searchParams.get('response-content-disposition'), 'attachment; filename="guide.pdf"')
  t.equal(url.searchParams.get('response-content-type'), 'application/pdf')
  t.match(html, url.href.replace(/&/g, '&amp;'), 'the HTML part carries the same link')
  const signedAt = Date.parse(url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
  t.ok(signedAt >= before - 1000 && signedAt <= Date.now(), 'signed now')
  const expiry = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(signedAt + 604800_000))
  t.match(text, `works until ${expiry} UTC`, 'the email states when the link expires')
  t.notMatch(text, 'Jane', 'nothing the visitor typed is in the email')
  t.match(text, `Unsubscribe: ${unsubscribeUrl}`, 'the body carries the same unsubscribe link')
  t.match(text, /Get a fresh one: https:\/\/leadlink\.test\/d\/[A-Za-z0-9_-]+/)
  t.match(text, /https:\/\/leadlink\.test\/c\/[A-Za-z0-9_-]+/)

  // 4. the finished batch goes to the delivery log (item ids: no address, no record key), then leaves the outbox
  const log = rec.logPuts[0]
  t.match(log?.path, new RegExp(`^/deliveries/\\d{4}-\\d{2}-\\d{2}/${batch?.body.id}\\.json$`))
  t.same(log?.body.items, [{
    id: outboxId, slug: 'default', requestedAt: create?.body.createdAt, outcome: 'sent',
    messageId: 'msg-0001', version: pointer.version, linkExpiresAt: new Date(signedAt + 604800_000).toISOString(), sentAt: log?.body.items[0].sentAt
  }])
  t.notMatch(JSON.stringify(log?.body), 'jane@', 'no address in the log')
  t.notMatch(JSON.stringify(log?.body), HASH, 'nor the record key: the record names its lines, not the other way round')
})

t.test('JSON in, JSON out: 202 with a stable shape', async t => {
  const rec = signupMocks(t)
  mockPut(rec)
  const app = await build(t, testConfig({ SES_CONFIGURATION_SET: 'leadlink-events' }))
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS } })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { status: 'accepted', message: 'Check your inbox: the whitepaper is on its way.' })
  await eventually(() => rec.sesSends[0])
  t.equal(rec.sesSends[0]?.body.ConfigurationSetName, 'leadlink-events')
})

t.test('an address already on file is updated in place, never duplicated', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  const existing = {
    schemaVersion: 1, address: ADDRESS, addressHash: HASH, status: 'unsubscribed', createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
    signups: [{ at: '2025-01-01T00:00:00.000Z', slug: 'default', consentText: 'old', consentVersion: 'sha256:old', ip: '198.51.100.1', userAgent: 'old' }],
    deliveries: []
  }
  mockPointer()
  mockRecord(existing, '"existing"')
  mockPut(rec, 200, '"etag-2"')
  mockOutbox(rec)
  mockSes(rec)
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 303)
  await eventually(() => rec.outboxDeletes[0])
  t.ok(nock.isDone())
  t.equal(rec.s3Puts.length, 1, 'one write: the record as read, replaced')
  const replace = rec.s3Puts[0]
  t.equal(replace?.headers['if-match'], '"existing"')
  t.equal(replace?.body.createdAt, '2025-01-01T00:00:00.000Z', 'created time kept')
  t.equal(replace?.body.signups.length, 2, 'the new consent is appended')
  t.equal(replace?.body.status, 'unsubscribed', 'a new submission does not resubscribe: only a later confirm POST does')
  t.equal(rec.sesSends.length, 1, 'one email after the unsubscription...')
  const text = rec.sesSends[0]?.body.Content.Simple.Body.Text.Data as string
  t.match(text, 'You unsubscribed from our emails earlier', '...worded for that case')
  t.match(text, 'you stay unsubscribed, and this address gets no further email from us for 30 days')
})

t.test('a suppressed address gets the same answer and no email', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  mockRecord({
    schemaVersion: 1, address: ADDRESS, addressHash: HASH, status: 'suppressed', createdAt: 'x', updatedAt: 'x', signups: [], deliveries: []
  }, '"s"')
  mockPut(rec)
  const settles: Captured[] = []
  capture(nock(S3_HOST).put(/^\/outbox\/settle\/leadlink-[0-9a-f]{8}\.json/).query(true).reply(200, '', { ETag: '"settle"' }), settles, 'PUT')
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/thanks')
  t.equal(rec.sesSends.length, 0)
  t.equal(settles.length, 1, 'an outbox-sized write as for any signup (same time)...')
  t.same(settles[0]?.body.items, [], '...owing nothing, where no sender looks')
  t.equal(settles[0]?.headers['if-none-match'], undefined, 'it overwrites the last one')
  t.same(rec.outboxPuts, [], 'no batch')
  t.equal(rec.s3Puts[0]?.headers['if-match'], '"s"')
  t.equal(rec.s3Puts[0]?.body.status, 'suppressed')
  t.same(rec.s3Puts[0]?.body.deliveries, [], 'no delivery line for a suppressed address')
  t.same(rec.unmatched, [])
})

t.test('invalid input: 422, the form re-rendered with the message beside the field, nothing written or sent', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: 'not-an-address<script>' }) })
  t.equal(res.statusCode, 422)
  t.match(res.headers['content-type'], 'text/html')
  t.match(res.body, '<input id="email" name="email" type="email"')
  t.match(res.body, 'aria-invalid="true" aria-describedby="email-error"')
  t.match(res.body, '<p id="email-error" class="field-error" role="alert">Enter an email address like name@example.com.</p>')
  t.match(res.body, 'value="not-an-address&lt;script&gt;"', 'what was typed comes back, escaped')
  t.notMatch(res.body, '<script>')
  t.same(rec.s3Puts, [])
  t.same(rec.sesSends, [])
  t.same(rec.unmatched, [])
})

t.test('invalid input as JSON: 422 with a machine-readable code', async t => {
  isolateNetwork(t)
  const app = await build(t)
  const missing = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { slug: 'default' } })
  t.equal(missing.statusCode, 422)
  t.same(missing.json(), { code: 'email_required', message: 'Enter your email address.', field: 'email' })
  const bad = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'a@b' } })
  t.equal(bad.statusCode, 422)
  t.same(bad.json(), { code: 'email_invalid', message: 'Enter an email address like name@example.com.', field: 'email' })
  const wrongType = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ['a@example.com', 'b@example.com'] } })
  t.equal(wrongType.statusCode, 422)
  t.equal(wrongType.json().code, 'email_invalid')
  const badSlug = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS, slug: '../etc' } })
  t.equal(badSlug.statusCode, 422)
  t.same(badSlug.json(), { code: 'invalid_request', message: 'The field "slug" is invalid.', field: 'slug' })
})

t.test('an unknown whitepaper is a 404, with nothing written', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer(null, 'nope')
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS, slug: 'nope' } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'whitepaper_not_found')
  t.same(rec.s3Puts, [])
})

t.test('S3 down: 503 with Retry-After, no email sent', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  // The SDK retries 5xx itself (3 attempts) before giving up.
  mockRecord(null, '', 500); mockRecord(null, '', 500); mockRecord(null, '', 500)
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '60')
  t.match(res.body, 'We could not record your signup just now')
  t.notMatch(res.body, /InternalError|\n\s+at /, 'no internals leak')
  t.equal(rec.s3Puts.length, 0, 'the record could not be read: nothing is written')
  t.ok(nock.isDone(), 'three attempts to read it')
  t.equal(rec.sesSends.length, 0)
})

t.test('SES refusing the message: the visitor was already thanked; the failure is recorded on the subscriber', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  mockRecord()
  mockPut(rec, 200, '"etag-1"')
  mockOutbox(rec)
  mockSes(rec, [400, { __type: 'MessageRejected', message: 'Email address is not verified: jane@example.com' }])
  mockPut(rec, 200, '"etag-2"')
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS } })
  t.equal(res.statusCode, 202, 'accepting never waits on SES')
  await eventually(() => (rec.s3Puts[1] && rec.outboxDeletes.length === 1) || undefined)
  t.equal(rec.sesSends.length, 1, 'a permanent failure is not retried')
  t.match(rec.s3Puts[1]?.body.deliveries, [{ status: 'failed', error: 'MessageRejected' }])
  t.equal(rec.s3Puts[1]?.headers['if-match'], '"etag-1"')
  t.same(app.outbox.stats().failures, { MessageRejected: 1 })
})

t.test('logs never contain the address, even when SES quotes it', async t => {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer()
  mockRecord()
  mockPut(rec)
  mockOutbox(rec)
  mockSes(rec, [400, { __type: 'MessageRejected', message: 'Email address is not verified: jane@example.com' }])
  mockPut(rec)
  let logs = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logs += chunk.toString(); cb() } })
  const app = await buildApp(testConfig(), { clientOptions: { credentials: TEST_CREDENTIALS } }, { logger: { ...loggerOptions('info'), stream } })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: 'Jane@Example.com' }) })
  t.equal(res.statusCode, 303)
  await eventually(() => (rec.s3Puts[1] && logs.includes('giving up on this recipient')) || undefined)
  t.match(logs, 'email not sent: giving up on this recipient', 'the failure is logged')
  t.match(logs, '"reason":"MessageRejected"')
  t.match(logs, HASH.slice(0, 12), 'with the address hash as the identifier')
  t.notMatch(logs.toLowerCase(), 'jane')
})

t.test('pages: landing, thank-you, health, 404', async t => {
  isolateNetwork(t)
  mockPointer()
  const app = await build(t)
  const landing = await app.inject({ url: '/' })
  t.equal(landing.statusCode, 200)
  t.match(landing.headers['content-type'], 'text/html')
  t.match(landing.body, '<h1>The Guide</h1>')
  t.match(landing.body, '<form method="post" action="/subscribe"')
  t.match(landing.body, '<label for="email">Email address</label>')
  t.match(landing.body, CONSENT_TEXT)
  // Works without JavaScript (test/browser/ proves it); the enhancement is one external file, never inline.
  t.match(landing.body, '<script src="/assets/subscribe.js" defer></script>')
  t.notMatch(landing.body, /<script(?![^>]*\ssrc=)/, 'no inline script')
  const thanks = await app.inject({ url: '/thanks' })
  t.equal(thanks.statusCode, 200)
  t.match(thanks.body, 'Check your inbox')
  t.match(thanks.body, '<strong>The Guide</strong>')
  const health = await app.inject({ url: '/healthz' })
  t.same(health.json(), { status: 'ok' })
  const css = await app.inject({ url: '/assets/site.css' })
  t.match(css.headers['content-type'], 'text/css')
  const missing = await app.inject({ url: '/nope', headers: { accept: 'application/json' } })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { code: 'not_found', message: 'There is nothing at this address.' })
})

t.test('a landing page for a slug that does not exist is a friendly 404', async t => {
  isolateNetwork(t)
  mockPointer(null, 'ghost')
  const app = await build(t)
  const res = await app.inject({ url: '/w/ghost' })
  t.equal(res.statusCode, 404)
  t.match(res.body, 'There is no whitepaper here.')
  const bad = await app.inject({ url: '/w/Bad%20Slug' })
  t.equal(bad.statusCode, 422)
})

t.test('slow credentials (a metadata service far away) do not hold up start-up', async t => {
  let resolved = false
  const app = await buildApp(testConfig({ SENDER: 'off' }), {
    clientOptions: {
      credentials: async () => {
        await sleep(1500)
        resolved = true
        return TEST_CREDENTIALS
      }
    }
  }, { logger: false })
  t.teardown(() => app.close())
  await app.ready()
  t.notOk(resolved, 'the credentials are still being resolved')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'and the app serves')
})

t.test('temporary credentials: the link and the date in the email end before the credentials do', async t => {
  const rec = signupMocks(t)
  const expiration = new Date(Date.now() + 2 * 3600_000)
  let logs = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logs += chunk.toString(); cb() } })
  const app = await buildApp(testConfig(), {
    clientOptions: { credentials: async () => ({ ...TEST_CREDENTIALS, sessionToken: 'session-token', expiration }) }
  }, { logger: { ...loggerOptions('info'), stream } })
  t.teardown(() => app.close())
  await app.ready()
  await eventually(() => logs.includes('the AWS credentials are temporary') || undefined)
  t.match(logs, 'the AWS credentials are temporary', 'a boot warning explains the shorter links')
  t.match(logs, `"credentialsExpireAt":"${expiration.toISOString()}"`)
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 303)
  await eventually(() => rec.logPuts[0])
  const text: string = rec.sesSends[0]?.body.Content.Simple.Body.Text.Data
  const url = new URL(text.match(/https:\/\/\S+X-Amz-Signature\S+/)?.[0] ?? '')
  const expires = Number(url.searchParams.get('X-Amz-Expires'))
  t.ok(expires <= 2 * 3600 - 60 && expires > 2 * 3600 - 120, `clamped to the credentials (${expires} s)`)
  t.equal(url.searchParams.get('X-Amz-Security-Token'), 'session-token')
  const signedAt = Date.parse(url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
  const stated = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(signedAt + expires * 1000))
  t.match(text, `works until ${stated} UTC`, 'the email states the real, shorter expiry')
  t.equal(rec.logPuts[0]?.body.items[0].linkExpiresAt, new Date(signedAt + expires * 1000).toISOString())
})

t.test('long-lived credentials: no warning at boot', async t => {
  let logs = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logs += chunk.toString(); cb() } })
  const app = await buildApp(testConfig(), { clientOptions: { credentials: TEST_CREDENTIALS } }, { logger: { ...loggerOptions('info'), stream } })
  t.teardown(() => app.close())
  await app.ready()
  t.notMatch(logs, 'temporary')
})

t.test('SES_TEMPLATES=on: the email is stored once as an SES template, and each send carries only its data', async t => {
  const rec = signupMocks(t, { ...pointer, title: 'Guide <to> "S3" & more' })
  const created: Captured[] = []
  const get = nock(SES_HOST).get(/^\/v2\/email\/templates\/leadlink-confirmation-[0-9a-f]{16}$/)
    .reply(404, { __type: 'NotFoundException', message: 'not found' }, { 'x-amzn-ErrorType': 'NotFoundException' })
  const create = nock(SES_HOST).post('/v2/email/templates').reply(200, {})
  capture(create, created, 'POST')
  const app = await build(t, testConfig({ SES_TEMPLATES: 'on' }))
  await app.ready()
  // The sender prepares the template beside the server, not before it serves.
  await eventually(() => created[0])
  t.ok(get.isDone() && create.isDone(), 'looked up, then created')
  const template = created[0]?.body
  t.match(template.TemplateName, /^leadlink-confirmation-[0-9a-f]{16}$/)
  t.equal(template.TemplateContent.Subject, '{{{t.subject}}}')
  t.match(template.TemplateContent.Html, 'href="{{{h.downloadUrl}}}"')
  t.match(template.TemplateContent.Text, '{{{t.downloadUrl}}}')
  t.notMatch(template.TemplateContent.Html, /(^|[^{])\{\{[a-zA-Z]/, 'no placeholder left in the template itself')

  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 303)
  await eventually(() => rec.sesSends[0])
  const sent = rec.sesSends[0]?.body
  t.notOk(sent.Content.Simple, 'no whole email in the request')
  t.equal(sent.Content.Template.TemplateName, template.TemplateName)
  t.match(sent.Content.Template.Headers, [{ Name: 'List-Unsubscribe' }, { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' }])
  const data = JSON.parse(sent.Content.Template.TemplateData)
  t.equal(data.t.title, 'Guide <to> "S3" & more', 'text values raw')
  t.equal(data.h.title, 'Guide &lt;to&gt; &quot;S3&quot; &amp; more', 'HTML values escaped by us (triple-stash: SES adds nothing)')
  t.equal(data.t.subject, 'Your copy of Guide <to> "S3" & more')
  t.match(data.t.downloadUrl, /X-Amz-Expires=604800&/)
  t.equal(data.h.downloadUrl, data.t.downloadUrl.replace(/&/g, '&amp;'))
  // Four signed links, the presigned URL, the brand and the SES tags, each in text and HTML form: a few KB,
  // against the whole email's HTML alone (templates/build/confirmation.html, over 10 KB) on every send.
  t.ok(JSON.stringify(sent).length < 5000, `the request is small (${JSON.stringify(sent).length} bytes)`)
})

t.test('a slow SES does not hold up start-up: the app serves while the sender is still preparing', async t => {
  const rec = signupMocks(t)
  const get = nock(SES_HOST).get(/^\/v2\/email\/templates\//).delay(1500)
    .reply(404, { __type: 'NotFoundException', message: 'not found' }, { 'x-amzn-ErrorType': 'NotFoundException' })
  const create = nock(SES_HOST).post('/v2/email/templates').reply(200, {})
  const app = await build(t, testConfig({ SES_TEMPLATES: 'on' }))
  await app.ready()
  t.ok(get.isDone(), 'the template was looked up')
  t.notOk(create.isDone(), 'SES has not answered yet (so nothing was stored)')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'and the app serves')
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  t.equal(res.statusCode, 303, 'signups are accepted (queued) meanwhile')
  await eventually(() => rec.sesSends[0])
  t.ok(create.isDone(), 'the template was stored before the first send')
  t.ok(rec.sesSends[0]?.body.Content.Template, 'and the send uses it')
})

t.test('SES_TEMPLATES=on but SES refuses to store it: whole emails, and a warning', async t => {
  const rec = signupMocks(t)
  nock(SES_HOST).get(/^\/v2\/email\/templates\//).reply(403, { __type: 'AccessDeniedException', message: 'no' }, { 'x-amzn-ErrorType': 'AccessDeniedException' })
  let logs = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logs += chunk.toString(); cb() } })
  const app = await buildApp(testConfig({ SES_TEMPLATES: 'on' }), { clientOptions: { credentials: TEST_CREDENTIALS } }, { logger: { ...loggerOptions('info'), stream } })
  t.teardown(() => app.close())
  await app.ready()
  await eventually(() => logs.includes('SES would not store the email template') || undefined)
  t.match(logs, 'SES would not store the email template')
  await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: ADDRESS }) })
  await eventually(() => rec.sesSends[0])
  t.ok(rec.sesSends[0]?.body.Content.Simple.Body.Html.Data.length > 1000, 'the whole email is sent instead')
})
