// End to end through the emulators: versions and roll-back as visitors see them. Publishing from a
// second instance (sharing the bucket) reaches a running instance within CATALOG_REFRESH_SECONDS;
// every email's link downloads the version it was sent with, even after a swap or a roll-back.
import { createHash } from 'node:crypto'
import t from 'tap'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { reconfigure } from '../../src/config.ts'
import { build, eventually, extractLink, sentEmails, startEmulators, type StoredEmail } from '../helper.ts'

const REFRESH_SECONDS = 1
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

function pdf (mark: string): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${mark}\n${'x'.repeat(2048)}\n%%EOF\n`, 'latin1')
}

const stack = await startEmulators(t, {
  CATALOG_REFRESH_SECONDS: String(REFRESH_SECONDS),
  ADDRESS_COOLDOWN_SECONDS: '0',
  BOT_MIN_FILL_SECONDS: '0',
  RATE_LIMIT_PER_IP_PER_MINUTE: '0'
})
const clientOptions = { clientOptions: { credentials: stack.credentials } }
// The instance visitors use (it sends the emails), and the one a marketer publishes through.
const visitors = await build(t, stack.config, clientOptions)
const publisher = await build(t, reconfigure(stack.config, { SENDER: 'off' }), clientOptions)
const catalog = publisher.catalog

const v1 = { bytes: pdf('first edition'), filename: 'report.pdf', title: 'The Report, 1st edition', description: 'First.' }
const v2 = { bytes: pdf('second edition'), filename: 'report-2.pdf', title: 'The Report, 2nd edition', description: 'Second.' }

async function signup (address: string, slug?: string): Promise<StoredEmail> {
  const res = await visitors.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ email: address, ...(slug ? { slug } : {}) }).toString()
  })
  if (res.statusCode !== 303) throw new Error(`signup answered ${res.statusCode}: ${res.body}`)
  return await eventually(async () => (await sentEmails(stack.sesUrl)).find(m => m.destination.to.includes(address)))
}

async function download (mail: StoredEmail): Promise<{ key: string, sha: string }> {
  const link = extractLink(mail.body.text)
  const res = await fetch(link)
  if (res.status !== 200) throw new Error(`download answered ${res.status}`)
  return { key: decodeURIComponent(new URL(link).pathname).split('/').slice(2).join('/'), sha: sha256(Buffer.from(await res.arrayBuffer())) }
}

/** Polls the visitors' landing page until it shows `title`; returns how long that took. */
async function landingShows (path: string, title: string): Promise<number> {
  const started = Date.now()
  // The deadline is the promise: CATALOG_REFRESH_SECONDS, plus a second for the request itself.
  await eventually(async () => (await visitors.inject({ url: path })).body.includes(title) || undefined, { timeoutMs: (REFRESH_SECONDS + 1) * 1000, intervalMs: 50 })
  return Date.now() - started
}

t.test('publish v1 → signup → publish v2 elsewhere → signup → roll back → signup: each link downloads its own version', async t => {
  const p1 = await catalog.publish(v1)
  await landingShows('/', v1.title)
  const mail1 = await signup('first.reader@example.com')
  t.equal(mail1.subject, `Your copy of ${v1.title}`)

  const p2 = await catalog.publish(v2)
  t.not(p2.version, p1.version)
  const waited = await landingShows('/', v2.title)
  t.ok(waited <= (REFRESH_SECONDS + 1) * 1000, `the running instance switched to v2 in ${waited} ms (CATALOG_REFRESH_SECONDS=${REFRESH_SECONDS})`)
  const mail2 = await signup('second.reader@example.com')
  t.equal(mail2.subject, `Your copy of ${v2.title}`, 'new emails name the new version')

  const [d1, d2] = [await download(mail1), await download(mail2)]
  t.equal(d1.key, p1.key, 'the email sent before the swap links v1')
  t.equal(d1.sha, sha256(v1.bytes), 'and still downloads v1\'s bytes')
  t.equal(d2.key, p2.key, 'the email sent after links v2')
  t.equal(d2.sha, sha256(v2.bytes), 'and downloads v2\'s bytes')

  // Roll back (as `npm run whitepaper -- activate <v1>` or the admin page do).
  const back = await catalog.activate('default', p1.version)
  t.has(back, { version: p1.version, title: v1.title, description: v1.description, filename: v1.filename, sha256: sha256(v1.bytes) } as Partial<WhitepaperPointer>)
  await landingShows('/', v1.title)
  const mail3 = await signup('third.reader@example.com')
  t.equal(mail3.subject, `Your copy of ${v1.title}`)
  const d3 = await download(mail3)
  t.equal(d3.key, p1.key, 'after the roll-back new emails link v1 again')
  t.equal(d3.sha, sha256(v1.bytes))
  t.equal((await download(mail2)).sha, sha256(v2.bytes), 'the v2 link sent before the roll-back still downloads v2')

  const versions = await catalog.versions('default')
  t.same(versions.map(v => [v.version, v.current, v.state]), [[p2.version, false, 'ready'], [p1.version, true, 'ready']], 'both versions stay; v1 is current')
})

t.test('several whitepapers: each slug has its landing page, the form posts its slug, the email links that whitepaper', async t => {
  const other = { slug: 'pricing-guide', bytes: pdf('pricing'), filename: 'pricing.pdf', title: 'The Pricing Guide', description: 'How to price.' }
  const published = await catalog.publish(other)
  await landingShows('/w/pricing-guide', other.title)
  const landing = (await visitors.inject({ url: '/w/pricing-guide' })).body
  t.match(landing, '<input type="hidden" name="slug" value="pricing-guide">', 'the form posts its slug')
  t.match(landing, 'How to price.')
  t.notMatch((await visitors.inject({ url: '/' })).body, other.title, 'the default landing page is unchanged')

  const mail = await signup('pricing.reader@example.com', 'pricing-guide')
  t.equal(mail.subject, `Your copy of ${other.title}`)
  const d = await download(mail)
  t.equal(d.key, published.key)
  t.match(d.key, /^whitepapers\/pricing-guide\/versions\//)
  t.equal(d.sha, sha256(other.bytes))
  t.same(await catalog.slugs(), ['default', 'pricing-guide'], 'the catalog lists both slugs')
})
