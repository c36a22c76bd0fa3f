// The self-service privacy page (/p/<token>) against the real emulators: the email's footer links it,
// the page is the same for every valid token, the download is everything held, a GET never erases,
// the erasure needs the confirmation's POST, and each route is rate-limited per IP.
import { readFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import { loggerOptions } from '../../src/logging.ts'
import { createTokenSigner } from '../../src/recipient-links/tokens.ts'
import { build, eventually, sentEmails, startEmulators, type App } from '../helper.ts'

const ADDRESS = 'self.service@example.com'
const stack = await startEmulators(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '0' })
const pdf = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
let logs = ''
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, {
  logger: { ...loggerOptions('debug'), stream: new Writable({ write (chunk, _enc, cb) { logs += String(chunk); cb() } }) }
})
t.teardown(() => app.close())
await app.catalog.publish({ bytes: pdf, filename: 'Guide.pdf', title: 'Privacy Guide' })

async function signup (a: App, email: string) {
  const res = await a.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json', 'user-agent': 'privacy-test' }, payload: { email }, remoteAddress: '198.51.100.7' })
  if (res.statusCode !== 202) throw new Error(`signup answered ${res.statusCode}`)
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const pathOf = (url: string) => new URL(url).pathname

await signup(app, ADDRESS)
const mail = await eventually(async () => (await sentEmails(stack.sesUrl)).find(m => m.destination.to.includes(ADDRESS)))
const privacyUrl = /Your data \(download or erase it\): (\S+)/.exec(mail.body.text)?.[1] ?? ''
const token = pathOf(privacyUrl).split('/')[2] ?? ''

t.test('the email\'s footer links the page, in both parts, signed for this record', async t => {
  t.match(privacyUrl, /^http:\/\/localhost:3000\/p\/[A-Za-z0-9_-]+$/)
  t.match(mail.body.html, `href="${privacyUrl}"`)
  const claims = app.recipientLinks.checkPrivacy(token)
  t.equal(claims.addressHash, app.subscribers.keyOf(ADDRESS), 'the token names the record key, not the address')
  t.equal(claims.expiresAt - claims.issuedAt, stack.config.links.renewTtlSeconds, 'valid as long as the fresh-link link')
  t.throws(() => app.recipientLinks.checkConfirm(token), 'a privacy token is good for nothing else')
})

t.test('the page: the same for every valid token, whatever is on file', async t => {
  const res = await app.inject({ url: `/p/${token}` })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.match(res.body, `<form method="post" action="/p/${token}/data">`)
  t.match(res.body, `href="/p/${token}/erase"`)
  t.notMatch(res.body, ADDRESS, 'the page shows nothing held')
  const unknown = app.recipientLinks.forEmail('ab'.repeat(32), 'default').privacyUrl
  const other = await app.inject({ url: pathOf(unknown) })
  t.equal(other.statusCode, 200)
  const unknownToken = pathOf(unknown).split('/')[2] ?? ''
  t.equal(other.body.replaceAll(unknownToken, 'T'), res.body.replaceAll(token, 'T'), 'a key with no record gets the very same page')
})

t.test('the download: everything held, as the CLI\'s show prints it', async t => {
  // Once the sender has finished the batch, so that both reads see the same state.
  await eventually(async () => {
    const d = await app.rights.show({ address: ADDRESS })
    return (d?.deliveryLog.length === 1 && d.queuedEmails.length === 0) || undefined
  })
  const res = await app.inject({ method: 'POST', url: `/p/${token}/data`, headers: FORM, payload: '' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['content-disposition'], 'attachment; filename="my-data.json"')
  const data = JSON.parse(res.body)
  t.match(data, { schemaVersion: 1, address: ADDRESS, recordKey: app.subscribers.keyOf(ADDRESS), record: { address: ADDRESS, status: 'pending' } })
  t.match(data.record.signups[0], { ip: '198.51.100.7', userAgent: 'privacy-test', slug: 'default' }, 'with the consent proof')
  t.match(data.deliveryLog, [{ outcome: 'sent', slug: 'default', messageId: String }], 'with what SES accepted')
  t.same(data, await app.rights.show({ address: ADDRESS }).then(d => ({ ...d, generatedAt: data.generatedAt })), 'the same JSON as `signups show`')
})

t.test('a GET never erases; the POST needs the confirmation', async t => {
  const confirm = await app.inject({ url: `/p/${token}/erase` })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, `<form method="post" action="/p/${token}/erase">`)
  t.match(confirm.body, 'name="confirm" value="erase"')
  const unconfirmed = await app.inject({ method: 'POST', url: `/p/${token}/erase`, headers: FORM, payload: '' })
  t.equal(unconfirmed.statusCode, 303)
  t.equal(unconfirmed.headers.location, `/p/${token}/erase`)
  t.equal((await app.subscribers.get(app.subscribers.keyOf(ADDRESS)))?.record.address, ADDRESS, 'still on file')

  const erased = await app.inject({ method: 'POST', url: `/p/${token}/erase`, headers: FORM, payload: 'confirm=erase' })
  t.equal(erased.statusCode, 200)
  t.match(erased.body, 'Your data is erased')
  const tomb = (await app.subscribers.get(app.subscribers.keyOf(ADDRESS)))?.record
  t.match(tomb, { address: '', status: 'unsubscribed', signups: [] }, 'a tombstone is left')
  const again = await app.inject({ method: 'POST', url: `/p/${token}/erase`, headers: FORM, payload: 'confirm=erase' })
  t.equal(again.body, erased.body, 'erasing again: the same page')
  const unknown = pathOf(app.recipientLinks.forEmail('cd'.repeat(32), 'default').privacyUrl)
  t.equal((await app.inject({ method: 'POST', url: `${unknown}/erase`, headers: FORM, payload: 'confirm=erase' })).body, erased.body, 'and for a key never on file')
  const download = JSON.parse((await app.inject({ method: 'POST', url: `/p/${token}/data`, headers: FORM, payload: '' })).body)
  t.match(download, { held: null }, 'the download now holds nothing')
  t.notMatch(logs, ADDRESS, 'no address in the logs')
})

t.test('bad, other-purpose and expired tokens get a page, not data', async t => {
  const renew = pathOf(app.recipientLinks.forEmail('ab'.repeat(32), 'default').renewUrl).split('/')[2] ?? ''
  const wrong = await app.inject({ url: `/p/${renew}`, headers: { accept: 'text/html' } })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, 'This link does not work')
  t.equal((await app.inject({ method: 'POST', url: `/p/${token.slice(0, -2)}xx/data`, headers: FORM, payload: '' })).statusCode, 400)
  const past = createTokenSigner(stack.config.links.tokenSecrets, () => Date.now() - 10 * 86_400_000)
    .sign({ purpose: 'privacy', addressHash: 'ab'.repeat(32), slug: 'default', expiresAt: Math.floor(Date.now() / 1000) - 3600 })
  const expired = await app.inject({ url: `/p/${past}`, headers: { accept: 'text/html' } })
  t.equal(expired.statusCode, 410)
  t.match(expired.body, 'This link has expired')
})

t.test('rate-limited per IP, like /d/', async t => {
  const limited = await build(t, reconfigure(stack.config, { RATE_LIMIT_PER_IP_PER_MINUTE: '2', SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } })
  const url = pathOf(limited.recipientLinks.forEmail('ab'.repeat(32), 'default').privacyUrl)
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await limited.inject({ url, remoteAddress: '203.0.113.9' })).statusCode)
  codes.push((await limited.inject({ method: 'POST', url: `${url}/data`, headers: FORM, payload: '', remoteAddress: '203.0.113.9' })).statusCode)
  t.same(codes, [200, 200, 429, 200], 'the third page view in a minute is refused (each route counts on its own)')
  t.equal((await limited.inject({ url, remoteAddress: '203.0.113.10' })).statusCode, 200, 'another IP is not held up')
})
