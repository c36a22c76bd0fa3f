// End to end against the real emulators: form → S3 signup record → SES email → presigned link → PDF.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { CONSENT_TEXT, CONSENT_VERSION } from '../../src/subscribers/consent.ts'
import type { DeliveryLog } from '../../src/outbox/store.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { reconfigure } from '../../src/config.ts'
import { build, eventually, extractLink, sentEmails, startEmulators, type StoredEmail } from '../helper.ts'

const TITLE = 'Loop Test: Presigned Links'
// A name with spaces: the key gets a key-safe form, the download must keep the real one.
const FILENAME = 'Presigned Links Guide.pdf'
const SUBJECT = 'Loop test: {{title}}'
const FROM = 'Loop Test <loop@leadlink.test>'
const UA = 'leadlink-e2e/1.0 (loop test)'
const DAY_7 = 604800

const pdf = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

const stack = await startEmulators(t, {
  EMAIL_SUBJECT: SUBJECT,
  SES_FROM: FROM,
  // Features that would hold back a repeated or fast submission are off: this file tests the loop.
  ADDRESS_COOLDOWN_SECONDS: '0',
  BOT_MIN_FILL_SECONDS: '0',
  RATE_LIMIT_PER_IP_PER_MINUTE: '0'
})
const bucket = stack.config.aws.s3.bucket
const s3Endpoint = stack.config.aws.s3.endpoint ?? ''
const s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

const app = await build(t, stack.config, { clientOptions: { credentials: stack.credentials } })
const pointer = await app.catalog.publish({ bytes: pdf, filename: FILENAME, title: TITLE })
const base = await app.listen({ port: 0, host: '127.0.0.1' })

async function getRecord (hash: string): Promise<SubscriberRecord> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/${hash}.json` }))
  return JSON.parse(await res.Body?.transformToString() ?? '') as SubscriberRecord
}

async function listKeys (prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  return (res.Contents ?? []).map(o => o.Key ?? '').sort()
}

/** Polls the SES emulator until `address` has received `count` emails. */
async function emailsTo (address: string, count: number): Promise<StoredEmail[]> {
  return await eventually(async () => {
    const mails = (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(address))
    return mails.length >= count ? mails : undefined
  })
}

function unescapeHtml (value: string): string {
  return value.replace(/&(amp|quot|#39|lt|gt);/g, (_m, e: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>' })[e] ?? '')
}

/** The presigned link of an email; every link in the HTML part must be the text part's link. */
function linkOf (t: Test, mail: StoredEmail): string {
  const link = extractLink(mail.body.text)
  const hrefs = [...mail.body.html.matchAll(/href="([^"]*X-Amz-Signature[^"]*)"/g)].map(m => unescapeHtml(m[1] ?? ''))
  t.equal(hrefs.length, 2, 'the HTML part has the button and the copyable fallback link')
  for (const href of hrefs) t.equal(href, link, 'the HTML link is the text link')
  return link
}

/** X-Amz-Date (yyyyMMddTHHmmssZ) as epoch milliseconds. */
function signedAt (url: URL): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date') ?? '')
  if (!m) throw new Error('no X-Amz-Date in the link')
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

/** The record, once the delivery log (deliveries/<day>/<batch>.json) has `sent` emails to it (its lines name the record's item ids). */
async function recordWithSent (hash: string, sent: number) {
  return await eventually(async () => {
    const record = await getRecord(hash)
    const ids = new Set(record.deliveries.map(d => d.outboxId))
    const logged: DeliveryLog['items'] = []
    for (const key of await listKeys('deliveries/')) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      const log = JSON.parse(await res.Body?.transformToString() ?? '') as DeliveryLog
      logged.push(...log.items.filter(i => ids.has(i.id) && i.outcome === 'sent'))
    }
    if (logged.length < sent) return undefined
    // In the record's order: each delivery line has its line in the log.
    const log = record.deliveries.map(d => logged.find(i => i.id === d.outboxId))
    return { ...record, log }
  })
}

async function postForm (email: string, accept = 'text/html'): Promise<Response> {
  return await fetch(`${base}/subscribe`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept, 'user-agent': UA },
    body: new URLSearchParams({ email }).toString()
  })
}

t.test('a form signup emails a presigned link that downloads the published PDF', async t => {
  const address = 'loop.reader@example.com'
  const hash = app.subscribers.keyOf(address)
  const startedAt = Date.now()

  const landing = await (await fetch(`${base}/`)).text()
  t.match(landing, TITLE, 'the landing page shows the published title')
  t.match(landing, CONSENT_TEXT, 'the landing page shows the consent text that gets recorded')

  const res = await postForm('  Loop.Reader@Example.COM ')
  t.equal(res.status, 303)
  t.equal(res.headers.get('location'), '/thanks')
  const thanks = await fetch(new URL(res.headers.get('location') ?? '', base))
  t.equal(thanks.status, 200)
  t.match(await thanks.text(), TITLE, 'the thank-you page names the whitepaper')

  const [mail, ...more] = await emailsTo(address, 1)
  t.equal(more.length, 0, 'exactly one email')
  if (!mail) throw new Error('no email')
  t.same(mail.destination.to, [address], 'sent to the normalised address only')
  t.equal(mail.from, FROM)
  t.equal(mail.subject, `Loop test: ${TITLE}`, 'subject from EMAIL_SUBJECT')

  const link = linkOf(t, mail)
  const url = new URL(link)
  // Sent as an SES stored template (named by its content's hash), rendered by SES from the data.
  const store = await (await fetch(`${stack.sesUrl}/store`)).json() as { templates: Record<string, unknown> }
  t.match(Object.keys(store.templates), [/^leadlink-confirmation-[0-9a-f]{16}$/], 'the email template is stored in SES')
  t.notMatch(mail.body.html, /\{\{\{?[a-z]/, 'every placeholder was filled')
  t.notMatch(mail.body.text, /&amp;/, 'the text part is not HTML-escaped')
  t.equal(url.origin, new URL(s3Endpoint).origin, 'the link points straight at S3')
  t.equal(decodeURIComponent(url.pathname), `/${bucket}/${pointer.key}`, 'the link is for the current version')
  t.equal(url.searchParams.get('X-Amz-Expires'), String(DAY_7), 'valid for LINK_TTL_SECONDS (7 days)')
  t.equal(url.searchParams.get('response-content-disposition'), `attachment; filename="${FILENAME}"`)
  t.equal(url.searchParams.get('response-content-type'), 'application/pdf')
  t.notMatch(link, /loop\.reader|example\.com/i, 'the link carries nothing personal')

  const download = await fetch(link)
  t.equal(download.status, 200)
  t.equal(download.headers.get('content-type'), 'application/pdf')
  t.equal(download.headers.get('content-disposition'), `attachment; filename="${FILENAME}"`)
  const bytes = Buffer.from(await download.arrayBuffer())
  t.equal(bytes.length, pdf.length)
  t.equal(sha256(bytes), sha256(pdf), 'the downloaded bytes are the published file')

  t.same(await listKeys('subscribers/'), [`subscribers/${hash}.json`], 'one record, keyed by the address hash')
  const record = await recordWithSent(hash, 1)
  t.equal(record.address, address)
  t.equal(record.addressHash, hash)
  t.equal(record.status, 'pending')
  const createdAt = Date.parse(record.createdAt)
  t.ok(createdAt >= startedAt - 1000 && createdAt <= Date.now(), 'createdAt is the time of the signup')
  t.equal(record.signups.length, 1)
  t.has(record.signups[0], {
    slug: 'default', consentText: CONSENT_TEXT, consentVersion: CONSENT_VERSION, ip: '127.0.0.1', userAgent: UA
  })
  t.equal(record.deliveries.length, 1)
  t.has(record.deliveries[0], { status: 'requested', slug: 'default' })
  const delivery = record.log[0]
  t.has(delivery, { outcome: 'sent', slug: 'default', version: pointer.version, messageId: mail.messageId })
  t.equal(Date.parse(delivery?.linkExpiresAt ?? ''), signedAt(url) + DAY_7 * 1000, 'the logged expiry is the link\'s')
  t.notMatch(JSON.stringify(record.log), address, 'the delivery log holds hashes, not addresses')

  // The same person again, typed differently: one record, a second signup and delivery.
  const again = await postForm('LOOP.READER@example.com')
  t.equal(again.status, 303)
  const mails = await emailsTo(address, 2)
  t.equal(mails.length, 2)
  t.same(await listKeys('subscribers/'), [`subscribers/${hash}.json`], 'still one record')
  const updated = await recordWithSent(hash, 2)
  t.equal(updated.createdAt, record.createdAt, 'createdAt unchanged')
  t.equal(updated.status, 'pending')
  t.equal(updated.signups.length, 2)
  t.equal(updated.deliveries.length, 2)
  t.same(updated.log.map(d => d?.messageId), mails.map(m => m.messageId), 'each delivery is one email sent')
  t.ok(Date.parse(updated.updatedAt) >= Date.parse(updated.signups[1]?.at ?? ''), 'updatedAt follows the last signup')
})

t.test('Accept: application/json answers 202 with JSON, and the email is sent', async t => {
  const form = await postForm('json.form@example.com', 'application/json')
  t.equal(form.status, 202)
  t.match(form.headers.get('content-type'), /^application\/json/)
  t.same(await form.json(), { status: 'accepted', message: 'Check your inbox: the whitepaper is on its way.' })

  const json = await fetch(`${base}/subscribe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ email: 'JSON.Body@Example.com', slug: 'default' })
  })
  t.equal(json.status, 202)
  t.match(await json.json(), { status: 'accepted' })

  for (const address of ['json.form@example.com', 'json.body@example.com']) {
    const [mail] = await emailsTo(address, 1)
    t.equal(mail?.subject, `Loop test: ${TITLE}`, `${address} got the email`)
    t.equal((await recordWithSent(app.subscribers.keyOf(address), 1)).deliveries.length, 1, `${address} has its record`)
  }
})

t.test('the emailed link works until LINK_TTL_SECONDS have passed, then S3 answers 403', async t => {
  // LINK_TTL_SECONDS has a 60 s floor. Rather than wait a minute, this app's clock runs 56 s behind:
  // the email is the one a visitor got 56 s ago, signed as the real flow signs it, so its link
  // expires about 4 s from now, judged by the S3 emulator's own clock.
  const behindMs = 56_000
  const past = await build(t, reconfigure(stack.config, { LINK_TTL_SECONDS: '60' }), {
    clientOptions: { credentials: stack.credentials },
    now: () => Date.now() - behindMs
  })
  const address = 'short.ttl@example.com'
  const res = await past.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `email=${encodeURIComponent(address)}`
  })
  t.equal(res.statusCode, 303)
  const [mail] = await emailsTo(address, 1)
  if (!mail) throw new Error('no email')
  const link = linkOf(t, mail)
  const url = new URL(link)
  t.equal(url.searchParams.get('X-Amz-Expires'), '60')
  const expiresAt = signedAt(url) + 60_000
  t.ok(Math.abs(signedAt(url) - (Date.now() - behindMs)) < 3000, 'signed at the app\'s (past) time')
  const record = await recordWithSent(app.subscribers.keyOf(address), 1)
  t.equal(Date.parse(record.log[0]?.linkExpiresAt ?? ''), expiresAt, 'the delivery log knows when it expires')

  const before = Date.now()
  const fresh = await fetch(link)
  t.ok(before < expiresAt, 'fetched before the expiry')
  t.equal(fresh.status, 200, 'valid before the expiry')
  t.equal(sha256(Buffer.from(await fresh.arrayBuffer())), sha256(pdf))

  const denied = await eventually(async () => {
    const r = await fetch(link)
    const body = await r.text()
    return r.status === 200 ? undefined : { status: r.status, body, at: Date.now() }
  }, { timeoutMs: 15_000, intervalMs: 200 })
  t.equal(denied.status, 403, 'an expired link is refused')
  t.match(denied.body, /<Code>AccessDenied<\/Code>/)
  t.match(denied.body, /Request has expired/)
  t.ok(denied.at >= expiresAt, 'refused only once X-Amz-Date + X-Amz-Expires has passed')
})
