// Recipient links end to end through the real emulators: confirm, one-click unsubscribe, fresh link.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { buildApp } from '../../src/app.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { eventually, sentEmails, startEmulators, type Emulators, type StoredEmail, type Teardown } from '../helper.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0 (recipient)' }

async function setup (t: Teardown, overrides: Record<string, string> = {}, now?: () => number) {
  const stack = await startEmulators(t, { CATALOG_REFRESH_SECONDS: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', ...overrides })
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials }, ...(now ? { now } : {}) }, { logger: false })
  t.teardown(() => app.close())
  await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const record = async (address: string): Promise<SubscriberRecord> => {
    const res = await s3.send(new GetObjectCommand({ Bucket: stack.config.aws.s3.bucket, Key: `subscribers/${app.subscribers.keyOf(address)}.json` }))
    return JSON.parse(await res.Body!.transformToString()) as SubscriberRecord
  }
  /** Signs up and waits until the email is out and the sender has recorded it (no write left in flight). */
  const signUp = async (address: string): Promise<StoredEmail> => {
    const email = await signUpOnly(app, stack, address)
    await eventually(() => (app.outbox.stats().pending === 0 && app.outbox.stats().inFlight === 0) || undefined)
    return email
  }
  return { stack, app, record, signUp }
}

async function signUpOnly (app: Awaited<ReturnType<typeof buildApp>>, stack: Emulators, address: string): Promise<StoredEmail> {
  const before = (await sentEmails(stack.sesUrl)).length
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: `email=${encodeURIComponent(address)}`, remoteAddress: '198.51.100.20' })
  if (res.statusCode !== 303) throw new Error(`signup answered ${res.statusCode}`)
  return await eventually(async () => (await sentEmails(stack.sesUrl))[before])
}

function linksOf (email: StoredEmail) {
  const find = (re: RegExp) => {
    const m = email.body.text.match(re)
    if (!m) throw new Error(`no ${re} in the email`)
    return new URL(m[0]).pathname
  }
  return { confirm: find(/http:\/\/\S+\/c\/[A-Za-z0-9_-]+/), unsubscribe: find(/http:\/\/\S+\/u\/[A-Za-z0-9_-]+/), renew: find(/http:\/\/\S+\/d\/[A-Za-z0-9_-]+/) }
}

t.test('every email carries the three links and the RFC 8058 headers', async t => {
  const { signUp } = await setup(t)
  const email = await signUp('ann@example.com')
  const links = linksOf(email)
  for (const path of Object.values(links)) t.match(email.body.html, `href="http://localhost:3000${path}"`)
  t.same(email.headers, [
    { name: 'List-Unsubscribe', value: `<http://localhost:3000${links.unsubscribe}>` },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }
  ])
})

t.test('confirm: a scanner\'s GET changes nothing; the POST confirms once, with proof', async t => {
  const { app, record, signUp } = await setup(t)
  const { confirm } = linksOf(await signUp('bob@example.com'))
  const page = await app.inject({ url: confirm, headers: { 'user-agent': 'LinkScanner/1.0' } })
  t.equal(page.statusCode, 200)
  t.match(page.body, `<form method="post" action="${confirm}">`)
  t.equal(page.headers['cache-control'], 'no-store')
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.notMatch(page.body, '<script')
  t.equal((await record('bob@example.com')).status, 'pending', 'the GET did not confirm')

  const done = await app.inject({ method: 'POST', url: confirm, headers: { 'user-agent': 'Mozilla/5.0 (phone)' }, remoteAddress: '203.0.113.9' })
  t.equal(done.statusCode, 200)
  t.match(done.body, 'you are subscribed to our newsletter')
  const confirmed = await record('bob@example.com')
  t.equal(confirmed.status, 'confirmed')
  t.match(confirmed.confirmation, { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (phone)' })
  t.ok(Date.parse(confirmed.confirmation!.at) > 0)

  const again = await app.inject({ method: 'POST', url: confirm, headers: { accept: 'application/json' }, remoteAddress: '192.0.2.1' })
  t.same(again.json(), { status: 'already-confirmed' })
  t.same((await record('bob@example.com')).confirmation, confirmed.confirmation, 'repeating keeps the first proof')
})

t.test('unsubscribe: GET shows a button; the one-click POST unsubscribes at once, with no cookie or script', async t => {
  const { app, stack, record, signUp } = await setup(t)
  const { unsubscribe, confirm } = linksOf(await signUp('cy@example.com'))
  const page = await app.inject({ url: unsubscribe })
  t.equal(page.statusCode, 200)
  t.match(page.body, `<form method="post" action="${unsubscribe}">`)
  t.equal((await record('cy@example.com')).status, 'pending', 'the GET did not unsubscribe')

  // Exactly what RFC 8058 §3.1 describes a mail provider sending.
  const oneClick = await app.inject({
    method: 'POST', url: unsubscribe, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click'
  })
  t.equal(oneClick.statusCode, 200)
  t.notOk(oneClick.headers['set-cookie'])
  t.match(oneClick.body, 'You are unsubscribed')
  const rec = await record('cy@example.com')
  t.equal(rec.status, 'unsubscribed')
  t.equal(rec.unsubscription?.via, 'one-click')

  const old = await app.inject({ method: 'POST', url: confirm, headers: { accept: 'application/json' } })
  t.same(old.json(), { status: 'unsubscribed-since' }, 'the old confirm button does not resubscribe')
  t.equal((await record('cy@example.com')).status, 'unsubscribed')

  const before = (await sentEmails(stack.sesUrl)).length
  await signUp('cy@example.com')
  t.equal((await sentEmails(stack.sesUrl)).length, before + 1, 'submitting the form again sends one email')
  // The newsletter is rejoined only through a confirm POST made after that submission (design rule).
  t.equal((await record('cy@example.com')).status, 'unsubscribed', 'the submission alone does not resubscribe')
})

t.test('one-click as multipart/form-data, and repeating it, are fine', async t => {
  const { app, record, signUp } = await setup(t)
  const { unsubscribe } = linksOf(await signUp('dee@example.com'))
  const boundary = '----leadlink'
  const payload = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`
  const res = await app.inject({ method: 'POST', url: unsubscribe, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload })
  t.equal(res.statusCode, 200)
  t.equal((await record('dee@example.com')).unsubscription?.via, 'one-click')
  const again = await app.inject({ method: 'POST', url: unsubscribe, headers: { accept: 'application/json' } })
  t.same(again.json(), { status: 'already-unsubscribed' })
})

t.test('fresh link: 302 to a new short-lived presigned URL of the current version', async t => {
  const { app, signUp } = await setup(t)
  const { renew } = linksOf(await signUp('eve@example.com'))
  const res = await app.inject({ url: renew })
  t.equal(res.statusCode, 302)
  t.equal(res.headers['cache-control'], 'no-store')
  const location = new URL(String(res.headers.location))
  t.equal(location.searchParams.get('X-Amz-Expires'), '300')
  const pdf = await fetch(location)
  t.equal(pdf.status, 200)
  t.same(Buffer.from(await pdf.arrayBuffer()), SAMPLE)

  // A swap: the same email's fresh link now serves the new version.
  const v2 = Buffer.concat([SAMPLE, Buffer.from('\n% second edition\n')])
  await app.catalog.publish({ bytes: v2, filename: 'Guide.pdf' })
  const after = await app.inject({ url: renew })
  const pdf2 = await fetch(String(after.headers.location))
  t.same(Buffer.from(await pdf2.arrayBuffer()), v2)
})

t.test('a whitepaper that is gone: a clear 410 page', async t => {
  const { app } = await setup(t)
  const links = app.recipientLinks.forEmail(app.subscribers.keyOf('x@example.com'), 'withdrawn')
  const res = await app.inject({ url: new URL(links.renewUrl).pathname })
  t.equal(res.statusCode, 410)
  t.match(res.body, 'This whitepaper is no longer available')
})

t.test('tampered, wrong-purpose and expired tokens: friendly 4xx pages, never a 500', async t => {
  const { app, stack, signUp } = await setup(t)
  const links = linksOf(await signUp('fay@example.com'))
  const token = links.confirm.slice(3)
  const tampered = `/c/${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`
  // A character appended to a link decodes to the same bytes (the decoder drops it): still refused.
  const appended = [[`${links.renew}x`, 'GET'], [`${links.renew}A`, 'GET'], [`${links.confirm}x`, 'GET'], [`${links.confirm}x`, 'POST'], [`${links.unsubscribe}x`, 'GET'], [`${links.unsubscribe}x`, 'POST']] as const
  for (const [url, method] of [[tampered, 'GET'], [tampered, 'POST'], [`/c/${links.unsubscribe.slice(3)}`, 'POST'], [`/u/${links.renew.slice(3)}`, 'POST'], [`/d/${links.confirm.slice(3)}`, 'GET'], ['/c/short', 'GET'], [`/c/${'x'.repeat(300)}`, 'GET'], ['/u/bad%20token!', 'POST'], ...appended] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 400, `${method} ${url.slice(0, 20)}…${url.slice(-3)}`)
    t.match(res.body, 'This link does not work')
    t.notOk(res.headers.location, 'no redirect')
  }
  t.same((await app.inject({ url: `${links.renew}x`, headers: { accept: 'application/json' } })).json().code, 'token_invalid')
  t.equal((await app.inject({ url: links.renew })).statusCode, 302, 'the link as sent still works')
  const json = await app.inject({ method: 'POST', url: tampered, headers: { accept: 'application/json' } })
  t.same(json.json(), { code: 'token_invalid', message: 'This link is not valid. It may have been cut short or changed: copy the whole address from the email.' })

  // 91 days later the fresh-link token has expired; the unsubscribe token still works.
  const later = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials }, now: () => Date.now() + 91 * 86400_000 }, { logger: false })
  t.teardown(() => later.close())
  const expired = await later.inject({ url: links.renew })
  t.equal(expired.statusCode, 410)
  t.match(expired.body, 'This link has expired')
  t.match(expired.body, 'Sign up again')
  const stillWorks = await later.inject({ method: 'POST', url: links.unsubscribe, headers: { accept: 'application/json' } })
  t.same(stillWorks.json(), { status: 'unsubscribed' })
})

t.test('the fresh-link route is rate-limited per IP', async t => {
  const { app, signUp } = await setup(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '2' })
  const { renew } = linksOf(await signUp('gus@example.com'))
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ url: renew, remoteAddress: '192.0.2.50' })).statusCode)
  t.same(codes, [302, 302, 429])
  const limited = await app.inject({ url: renew, remoteAddress: '192.0.2.50', headers: { accept: 'application/json' } })
  t.equal(limited.json().code, 'too_many_requests')
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await app.inject({ url: renew, remoteAddress: '192.0.2.51' })).statusCode, 302, 'other IPs are unaffected')
})
