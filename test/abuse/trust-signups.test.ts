// Nobody can make leadlink mail a person who did not ask, against the real emulators: the per-address
// cap whatever the IPs, unsubscribed stays unsubscribed, stamps are single-use, other sites cannot post.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { eventually, sentEmails, startEmulators, type StoredEmail } from '../helper.ts'
import { FORM, form } from './support.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const stack = await startEmulators(t, { ADDRESS_COOLDOWN_SECONDS: '0', ADDRESS_MAX_EMAILS: '3', ADDRESS_WINDOW_DAYS: '30', RATE_LIMIT_PER_IP_PER_MINUTE: '0' })
const app = await buildApp(reconfigure(stack.config, { FORM_ORIGINS: 'https://www.marketer.example' }),
  { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const bucket = stack.config.aws.s3.bucket
const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`

async function recordOf (address: string): Promise<SubscriberRecord> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/${app.subscribers.keyOf(address)}.json` }))
  return JSON.parse(await res.Body!.transformToString()) as SubscriberRecord
}

/** Every outbox batch is gone: everything owed was sent (or skipped). */
async function idle (): Promise<void> {
  await eventually(async () => {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'outbox/' }))
    return (res.Contents ?? []).every(o => o.Key?.startsWith('outbox/settle/')) || undefined
  }, { timeoutMs: 15_000 })
}

async function emailsTo (address: string): Promise<StoredEmail[]> {
  await idle()
  return (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(address))
}

const post = (target: App, fields: Record<string, string>, ip = '198.51.100.1', headers: Record<string, string> = {}) =>
  target.inject({ method: 'POST', url: '/subscribe', headers: { ...FORM, ...headers }, payload: form(fields), remoteAddress: ip })

const linkIn = (mail: StoredEmail, path: 'c' | 'u' | 'd') => {
  const match = new RegExp(`https?://[^\\s"]+/${path}/([A-Za-z0-9_-]+)`).exec(mail.body.text)
  if (!match?.[1]) throw new Error(`no /${path}/ link in the email`)
  return match[1]
}

t.test('an address that has not confirmed gets at most ADDRESS_MAX_EMAILS emails in the window, whatever the IPs', async t => {
  const victim = unique('victim')
  const answers = []
  for (let i = 0; i < 6; i++) answers.push((await post(app, { email: victim }, `203.0.113.${i + 1}`)).statusCode)
  t.same(answers, [303, 303, 303, 303, 303, 303], 'every submission gets the same answer')
  t.equal((await emailsTo(victim)).length, 3, 'three emails, not six')
  const record = await recordOf(victim)
  t.equal(record.signups.length, 6, 'every submission is on the record')
  t.equal(record.deliveries.length, 3)
  t.equal(record.status, 'pending')
})

t.test('a confirmed address is not capped (it asked for our mail)', async t => {
  const reader = unique('reader')
  t.equal((await post(app, { email: reader })).statusCode, 303)
  const [first] = await emailsTo(reader)
  const confirm = await app.inject({ method: 'POST', url: `/c/${linkIn(first!, 'c')}`, headers: { accept: 'application/json' } })
  t.same(confirm.json(), { status: 'confirmed' })
  for (let i = 0; i < 4; i++) await post(app, { email: reader })
  t.equal((await emailsTo(reader)).length, 5, 'one email per request once confirmed')
})

t.test('unsubscribed stays unsubscribed: one email per window, worded for it, and old confirm buttons never resubscribe', async t => {
  const alice = unique('alice')
  await post(app, { email: alice })
  const [welcome] = await emailsTo(alice)
  t.match(welcome?.body.text, 'Thanks for signing up')
  const oldConfirm = linkIn(welcome!, 'c')
  // Alice leaves with the one-click link her mail provider shows (RFC 8058).
  const left = await app.inject({ method: 'POST', url: `/u/${linkIn(welcome!, 'u')}`, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, payload: 'List-Unsubscribe=One-Click' })
  t.same(left.json(), { status: 'unsubscribed' })
  // Tokens carry whole seconds: one issued in the second of the unsubscription counts as older (the
  // safe side). People take longer than that; the test waits for the next second instead.
  const leftAt = Math.floor(Date.now() / 1000)
  await eventually(() => Math.floor(Date.now() / 1000) > leftAt || undefined, { intervalMs: 20 })

  // A third party submits her address, twice, from other IPs.
  t.equal((await post(app, { email: alice }, '192.0.2.66')).statusCode, 303)
  t.equal((await post(app, { email: alice }, '192.0.2.67')).statusCode, 303)
  const mails = await emailsTo(alice)
  t.equal(mails.length, 2, 'the welcome, then one email after the unsubscription, not two')
  const returning = mails[1]!
  t.match(returning.body.text, 'You unsubscribed from our emails earlier')
  t.match(returning.body.text, 'you stay unsubscribed')
  t.match(returning.body.html, 'You stay unsubscribed')
  t.equal((await recordOf(alice)).status, 'unsubscribed', 'the submissions did not resubscribe her')

  // Her old confirm button, pressed now, does nothing.
  const old = await app.inject({ method: 'POST', url: `/c/${oldConfirm}`, headers: { accept: 'application/json' } })
  t.same(old.json(), { status: 'unsubscribed-since' })
  t.equal((await recordOf(alice)).status, 'unsubscribed')
  // The button in the email sent after the new submission is hers to press.
  const fresh = await app.inject({ method: 'POST', url: `/c/${linkIn(returning, 'c')}`, headers: { accept: 'application/json' } })
  t.same(fresh.json(), { status: 'confirmed' })
  t.equal((await recordOf(alice)).status, 'confirmed')
})

t.test('a form stamp is single-use: replayed for another address, it is treated like a bot', async t => {
  const strict = await buildApp(reconfigure(stack.config, { BOT_MIN_FILL_SECONDS: '1' }), { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => strict.close())
  const page = await strict.inject({ method: 'GET', url: '/' })
  const stamp = /name="stamp" value="([^"]+)"/.exec(page.body)?.[1] as string
  await eventually(() => strict.formStamps.check(stamp, 1000) === 'ok' || undefined, { timeoutMs: 5000, intervalMs: 100 })
  const first = unique('first')
  const typo = await post(strict, { email: 'first@@example.com', stamp })
  t.equal(typo.statusCode, 422, 'a typo...')
  t.equal((await post(strict, { email: first, stamp })).statusCode, 303, '...leaves the stamp usable for the corrected address')
  const others = [unique('second'), unique('third')]
  for (const address of others) t.equal((await post(strict, { email: address, stamp }, '198.51.100.99')).statusCode, 303, 'the replay gets a person\'s answer')
  t.equal((await emailsTo(first)).length, 1)
  for (const address of others) t.same(await emailsTo(address), [], 'but no email')
  t.equal(strict.formStamps.check(stamp, 1000), 'replayed')
})

t.test('another site cannot post the form (403 page); FORM_ORIGINS and our own pages can, scripts are judged by the other limits', async t => {
  const cases: Array<[string, Record<string, string>, number]> = [
    ['a page on another site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 403],
    ['another site, Origin only', { origin: 'https://evil.example' }, 403],
    ['a sandboxed frame (Origin: null)', { origin: 'null' }, 403],
    ['Origin: null from a cross-site frame', { origin: 'null', 'sec-fetch-site': 'cross-site' }, 403],
    ['our no-referrer page in an old browser (Origin: null, same-origin)', { origin: 'null', 'sec-fetch-site': 'same-origin' }, 303],
    ['cross-site without Origin', { 'sec-fetch-site': 'cross-site' }, 403],
    ['our own page', { origin: new URL(stack.config.http.publicUrl).origin, 'sec-fetch-site': 'same-origin' }, 303],
    ['the host the browser addressed', { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', 'sec-fetch-site': 'same-origin' }, 303],
    ['a FORM_ORIGINS page', { origin: 'https://www.marketer.example', 'sec-fetch-site': 'cross-site' }, 303],
    ['a script (neither header)', {}, 303]
  ]
  for (const [name, headers, status] of cases) {
    const address = unique('origin')
    const res = await post(app, { email: address }, '198.51.100.2', headers)
    t.equal(res.statusCode, status, name)
    if (status === 403) {
      t.match(res.body, 'This form can only be sent from our own pages', `${name}: a clear page`)
      t.match(res.headers['content-type'], 'text/html')
      await t.rejects(recordOf(address), { name: 'NoSuchKey' }, `${name}: nothing recorded`)
    }
  }
  const json = await post(app, { email: unique('json') }, '198.51.100.2', { origin: 'https://evil.example', accept: 'application/json' })
  t.same(json.json(), { code: 'cross_site_form', message: 'This form can only be sent from our own pages. Open the form on our site and send it from there.' })
})

t.test('/embed/<slug> may be framed by FORM_ORIGINS pages only; every other page refuses frames', async t => {
  const embed = await app.inject({ method: 'GET', url: '/embed/default' })
  t.equal(embed.statusCode, 200)
  t.match(embed.headers['content-security-policy'], `frame-ancestors 'self' ${new URL(stack.config.http.publicUrl).origin} https://www.marketer.example;`)
  t.notOk(embed.headers['x-frame-options'], 'no X-Frame-Options to contradict it')
  t.match(embed.body, '<input type="hidden" name="embed" value="1">')
  t.notMatch(embed.body, 'class="site"', 'the form alone')
  const address = unique('embedded')
  const posted = await post(app, { email: address, embed: '1' }, '198.51.100.3', { origin: 'https://www.marketer.example' })
  t.equal(posted.headers.location, '/thanks?embed=1')
  const thanks = await app.inject({ method: 'GET', url: '/thanks?embed=1' })
  t.match(thanks.headers['content-security-policy'], 'frame-ancestors \'self\' ')
  t.match(thanks.body, 'href="/embed/default"')
  const invalid = await post(app, { email: 'nope', embed: '1' }, '198.51.100.3', { origin: 'https://www.marketer.example' })
  t.equal(invalid.statusCode, 422)
  t.match(invalid.headers['content-security-policy'], 'frame-ancestors \'self\' ', 'the re-rendered form stays in its frame')
  for (const url of ['/', '/thanks', '/w/default']) {
    const res = await app.inject({ method: 'GET', url })
    t.match(res.headers['content-security-policy'], "frame-ancestors 'none'", `${url} refuses frames`)
  }
  t.equal((await emailsTo(address)).length, 1)
})
