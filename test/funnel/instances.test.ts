// The funnel on the emulators: the routes count views, submissions, accepted signups, fresh links,
// confirmations and unsubscribes (not HEADs, prefetches or invalid posts); two instances add up in
// one bucket; figures survive a restart (closing flushes); an S3 outage during a flush loses nothing,
// and a flush whose answer was lost is not counted twice.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import nock from 'nock'
import { S3Client } from '@aws-sdk/client-s3'
import { buildApp, type App } from '../../src/app.ts'
import { createJsonStore } from '../../src/storage/json-store.ts'
import { createFunnelStore } from '../../src/funnel/store.ts'
import { createFunnelCounter } from '../../src/funnel/counter.ts'
import { dayOf, type FunnelCounts } from '../../src/funnel/model.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators, type Teardown } from '../helper.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const stack = await startEmulators(t, { SES_MAX_SEND_RATE: '100', SES_TEMPLATES: 'off' })
isolateNetwork(t)
const S3_ENDPOINT = stack.config.aws.s3.endpoint as string
const BUCKET = stack.config.aws.s3.bucket
const today = dayOf(Date.now())

async function instance (t: Teardown, close = true): Promise<App> {
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  if (close) t.teardown(() => app.close())
  await app.ready()
  return app
}
const first = await instance(t)
const pointer = await first.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

/** The counts of a slug today, per version. */
async function counts (app: App, slug = 'default'): Promise<Record<string, FunnelCounts>> {
  const rows = await app.funnel.read({ from: today, to: today, slug })
  return Object.fromEntries(rows.map(r => [r.version, r.counts]))
}

t.test('the routes count what visitors and recipients do, once each', async t => {
  const get = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => first.inject({ method, url, headers })
  t.equal((await get('/')).statusCode, 200)
  t.equal((await get('/w/default')).statusCode, 200)
  t.equal((await get('/embed/default')).statusCode, 200)
  t.equal((await get('/', {}, 'HEAD')).statusCode, 200, 'a HEAD is not a view')
  t.equal((await get('/', { 'sec-purpose': 'prefetch;prerender' })).statusCode, 200, 'a prefetch is not a view')
  t.equal((await get('/', { purpose: 'prefetch' })).statusCode, 200)
  t.equal((await get('/w/missing')).statusCode, 404, 'no page, no view')

  const json = { accept: 'application/json' }
  t.equal((await first.inject({ method: 'POST', url: '/subscribe', headers: json, payload: { email: 'not an address' } })).statusCode, 422, 'invalid: not a submission')
  t.equal((await first.inject({ method: 'POST', url: '/subscribe', headers: json, payload: { email: 'reader@example.com' } })).statusCode, 202)
  const email = await eventually(async () => (await sentEmails(stack.sesUrl)).find(e => e.destination.to.includes('reader@example.com')))
  const link = (path: string) => {
    const match = new RegExp(`https?://[^\\s"<>]+/${path}/[A-Za-z0-9_-]+`).exec(email.body.text)
    if (!match) throw new Error(`no /${path}/ link`)
    return new URL(match[0]).pathname
  }
  t.equal((await first.inject({ method: 'GET', url: link('d') })).statusCode, 302)
  t.equal((await first.inject({ method: 'GET', url: link('c') })).statusCode, 200, 'the confirm page is not a confirmation')
  t.equal((await first.inject({ method: 'POST', url: link('c'), headers: json })).json().status, 'confirmed')
  t.equal((await first.inject({ method: 'POST', url: link('c'), headers: json })).json().status, 'already-confirmed', 'not counted again')
  t.equal((await first.inject({ method: 'POST', url: link('u'), headers: json })).json().status, 'unsubscribed')
  t.equal((await first.inject({ method: 'POST', url: link('u'), headers: json })).json().status, 'already-unsubscribed', 'not counted again')
  // Submissions and accepted signups find their version after the request: wait for it.
  await eventually(async () => { await first.funnel.flush(); return (await counts(first))[pointer.version]?.accepted === 1 ? true : undefined })
  const byVersion = await counts(first)
  t.same(byVersion[pointer.version], { views: 3, submissions: 1, accepted: 1, freshLinks: 1 })
  t.same(byVersion[''], { confirmations: 1, unsubscribes: 1 }, 'confirmations and unsubscribes are per whitepaper (the link does not carry the version)')
})

t.test('two instances count into one bucket; the figures survive a restart', async t => {
  const before = (await counts(first, 'two'))['v'] ?? {}
  const second = await instance(t, false)
  first.funnel.record('views', { slug: 'two', version: 'v' }, 2)
  second.funnel.record('views', { slug: 'two', version: 'v' }, 3)
  second.funnel.record('downloads', { slug: 'two', version: 'v' })
  await first.funnel.flush()
  // Closing flushes what is in memory.
  await second.close()
  t.same((await counts(first, 'two'))['v'], { views: (before.views ?? 0) + 5, downloads: 1 })
  const restarted = await instance(t)
  t.same((await counts(restarted, 'two'))['v'], { views: 5, downloads: 1 }, 'a new instance reads the same')
})

t.test('S3 down during a flush: counts stay in memory and reach S3 once it is back', async t => {
  const app = await instance(t)
  const scope = nock(S3_ENDPOINT, { allowUnmocked: true }).persist()
  const interceptor = scope.intercept(new RegExp(`^/${BUCKET}/funnel/parts/`), 'PUT')
  interceptor.reply(503, '<Error><Code>ServiceUnavailable</Code><Message>Slow down</Message></Error>', { 'content-type': 'application/xml' })
  app.funnel.record('views', { slug: 'outage', version: 'v' }, 4)
  await app.funnel.flush()
  t.equal(app.funnel.unsaved(), 4, 'kept')
  app.funnel.record('views', { slug: 'outage', version: 'v' }, 1)
  await app.funnel.flush()
  t.equal(app.funnel.unsaved(), 5, 'and the next counts wait behind them')
  t.same(await counts(app, 'outage'), {}, 'nothing stored yet')
  nock.removeInterceptor(interceptor)
  await app.funnel.flush()
  await app.funnel.flush()
  t.equal(app.funnel.unsaved(), 0)
  t.same(await counts(app, 'outage'), { v: { views: 5 } })
})

t.test('a flush whose answer was lost (S3 stored the part) is retried under the same name, not counted twice', async t => {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const store = createFunnelStore({ json: createJsonStore({ s3, bucket: BUCKET }) })
  let lose = 1
  const warnings: string[] = []
  const counter = createFunnelCounter({
    store: {
      async writePart (month, id, rows) {
        await store.writePart(month, id, rows)
        if (lose-- > 0) throw new Error('socket hang up')
      },
      compact: store.compact
    },
    instance: 'lost-answer',
    clock: Date.now,
    compactEveryMs: 0,
    log: { warn: (_obj, msg) => { warnings.push(msg) } }
  })
  counter.record('opened', { slug: 'lost', version: 'v' }, 7)
  await counter.flush()
  t.equal(counter.unsaved(), 7, 'the answer was lost: kept')
  t.equal(warnings.length, 1)
  await counter.flush()
  t.equal(counter.unsaved(), 0)
  t.same((await store.read({ from: today, to: today, slug: 'lost' })).map(r => r.counts), [{ opened: 7 }])
})

t.test('counts reach S3 on their own every FUNNEL_FLUSH_SECONDS', async t => {
  const { reconfigure } = await import('../../src/config.ts')
  const app = await buildApp(reconfigure(stack.config, { FUNNEL_FLUSH_SECONDS: '1' }), { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  await app.ready()
  app.funnel.record('views', { slug: 'timer', version: 'v' }, 2)
  t.same(await eventually(async () => (await counts(app, 'timer')).v), { views: 2 }, 'no flush asked for')
})

t.test('flushIfDue (Lambda, whose timers stop between invocations): at most one flush per interval, only with counts', async t => {
  let now = Date.parse('2026-05-05T12:00:00Z')
  const parts: string[] = []
  const counter = createFunnelCounter({
    store: { async writePart (_month, id) { parts.push(id) }, async compact () { return 0 } },
    instance: 'lambda',
    clock: () => now,
    compactEveryMs: 60_000,
    log: { warn: () => {} }
  })
  await counter.flushIfDue(10_000)
  t.equal(parts.length, 0, 'nothing to store')
  counter.record('views', { slug: 'l', version: 'v' })
  await counter.flushIfDue(10_000)
  t.equal(parts.length, 1, 'the first count after a quiet spell is stored at once')
  now += 1000
  counter.record('views', { slug: 'l', version: 'v' })
  await counter.flushIfDue(10_000)
  t.equal(parts.length, 1, 'within the interval: it waits')
  now += 10_000
  await counter.flushIfDue(10_000)
  t.equal(parts.length, 2, 'the next invocation after the interval stores it')
  t.equal(counter.unsaved(), 0)
})
