// nock stand-ins for S3 and SES that record exactly what the app sends (route and sender tests).
import nock from 'nock'
import type { Config } from '../src/config.ts'
import { createAddressKeys } from '../src/subscribers/address.ts'
import type { WhitepaperPointer } from '../src/whitepapers/catalog.ts'
import { isolateNetwork, S3_HOST, SES_HOST, type Teardown, testConfig } from './helper.ts'

export const pointer: WhitepaperPointer = {
  slug: 'default',
  version: '20260101T000000Z-abcdef12',
  key: 'whitepapers/default/versions/20260101T000000Z-abcdef12/guide.pdf',
  filename: 'guide.pdf',
  title: 'The Guide',
  description: 'All about links.',
  size: 2048,
  sha256: 'abcdef12',
  activatedAt: '2026-01-01T00:00:00.000Z'
}

/** The record key of a canonical address under a config's ADDRESS_KEY (the test config's by default). */
export function keyOf (address: string, config: Config = testConfig()): string {
  const secret = config.privacy.addressKey
  if (secret === undefined) throw new Error('this config has no ADDRESS_KEY')
  return createAddressKeys(secret).keyOf(address)
}

export const ADDRESS = 'jane@example.com'
export const HASH = keyOf(ADDRESS)
export const RECORD_PATH = `/subscribers/${HASH}.json`

export interface Captured { path: string, headers: Record<string, string | string[] | undefined>, body: any }

export function recorder () {
  const s3Puts: Captured[] = []
  const sesSends: Captured[] = []
  const outboxPuts: Captured[] = []
  const outboxDeletes: string[] = []
  const logPuts: Captured[] = []
  const unmatched: string[] = []
  // nock 15 hands over a Fetch API Request (url, not href or path).
  const onNoMatch = (req: { method?: string, url?: string, path?: string, href?: string }) => unmatched.push(`${req.method} ${req.url ?? req.href ?? req.path}`)
  nock.emitter.on('no match', onNoMatch)
  return { s3Puts, sesSends, outboxPuts, outboxDeletes, logPuts, unmatched, stop: () => nock.emitter.removeListener('no match', onNoMatch) }
}

/** Records each request a scope answers (headers as sent, body parsed). */
export function capture (scope: nock.Scope, into: Captured[], method: string) {
  let taken = false
  // nock 15 hands over a Fetch API Request.
  scope.on('request', (req: Request, _interceptor: unknown, body: string) => {
    if (taken || req.method !== method) return
    taken = true
    into.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers.entries()), body: JSON.parse(body) })
  })
}

export function mockPointer (p: WhitepaperPointer | null = pointer, slug = 'default') {
  mockEmptyOutboxScan()
  mockKeysMigrated()
  mockBrandUnset()
  mockFunnelStore()
  const scope = nock(S3_HOST).get(`/whitepapers/${slug}/current.json`).query(true)
  if (p) scope.reply(200, JSON.stringify(p), { ETag: '"pointer-etag"', 'Content-Type': 'application/json' })
  else scope.reply(404, '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>', { 'Content-Type': 'application/xml' })
}

/** The signup reads the record first, whatever the address (constant timing): absent, or this one. */
export function mockRecord (existing: object | null = null, etag = '"existing"', status = existing ? 200 : 404) {
  const scope = nock(S3_HOST).get(RECORD_PATH).query(true)
  if (status >= 500) scope.reply(status, '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>', { 'Content-Type': 'application/xml' })
  else if (existing) scope.reply(200, JSON.stringify(existing), { ETag: etag, 'Content-Type': 'application/json' })
  else scope.reply(404, '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>', { 'Content-Type': 'application/xml' })
}

export function mockPut (rec: ReturnType<typeof recorder>, status = 200, etag = '"etag-1"') {
  const scope = nock(S3_HOST).put(RECORD_PATH).query(true).reply(() => {
    if (status === 412) return [412, '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>', { 'Content-Type': 'application/xml' }]
    if (status >= 500) return [status, '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>', { 'Content-Type': 'application/xml' }]
    return [200, '', { ETag: etag }]
  })
  capture(scope, rec.s3Puts, 'PUT')
}

/**
 * A new address signs up: no network but loopback, the current version, the record read (absent)
 * and written (ETag "etag-1"), recorded. The caller adds the outbox and SES it needs.
 */
export function newAddressMocks (t: Teardown, current: WhitepaperPointer | null = pointer): ReturnType<typeof recorder> {
  isolateNetwork(t)
  const rec = recorder()
  t.teardown(rec.stop)
  mockPointer(current)
  mockRecord()
  mockPut(rec, 200, '"etag-1"')
  return rec
}

/** The outbox: one batch written by the signup, logged and deleted once sent; the scan finds nothing else. */
export function mockOutbox (rec: ReturnType<typeof recorder>) {
  mockDeliveryLog(rec)
  const put = nock(S3_HOST).put(/^\/outbox\/[0-9a-z]+-[0-9a-f]+\.json/).query(true).reply(200, '', { ETag: '"batch-1"' })
  capture(put, rec.outboxPuts, 'PUT')
  // A send that ends CHECKPOINT_MS or more after the batch was written checkpoints it (a second PUT):
  // under a loaded machine it happens, so it may, but need not.
  nock(S3_HOST).put(/^\/outbox\/[0-9a-z]+-[0-9a-f]+\.json/).query(true).optionally().reply(200, '', { ETag: '"batch-2"' })
  nock(S3_HOST).delete(/^\/outbox\/[0-9a-z]+-[0-9a-f]+\.json/).query(true).reply((req: Request) => {
    rec.outboxDeletes.push(new URL(req.url).pathname)
    return [204, '']
  })
}

/** deliveries/<day>/<batch>.json: the outcome of a finished batch. */
export function mockDeliveryLog (rec: ReturnType<typeof recorder>) {
  const scope = nock(S3_HOST).put(/^\/deliveries\/\d{4}-\d{2}-\d{2}\/[0-9a-z]+-[0-9a-f]+\.json/).query(true).reply(200, '', { ETag: '"log-1"' })
  capture(scope, rec.logPuts, 'PUT')
}

/** The key migration's marker, read at start: no record of before ADDRESS_KEY remains (one read per record). */
export function mockKeysMigrated () {
  nock(S3_HOST).get('/privacy/address-keys.json').query(true).reply(200,
    JSON.stringify({ schemaVersion: 1, migratedAt: '2026-01-01T00:00:00.000Z', moved: 0 }), { ETag: '"keys-marker"', 'Content-Type': 'application/json' }).persist()
}

/** No brand saved (src/brand/): pages and emails read the settings and page extras and find none. */
export function mockBrandUnset () {
  const missing = ['<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>', { 'Content-Type': 'application/xml' }] as const
  nock(S3_HOST).get('/settings/brand.json').query(true).optionally().reply(404, ...missing).persist()
  nock(S3_HOST).get(/^\/whitepapers\/[a-z0-9-]+\/page\.json/).query(true).optionally().reply(404, ...missing).persist()
}

/**
 * The funnel's counts reach S3 when the app closes (src/funnel/counter.ts): parts are written, and the
 * compaction after them finds an empty bucket. Optional: a test that counts nothing sends none of these.
 */
export function mockFunnelStore () {
  nock(S3_HOST).put(/^\/funnel\//).query(true).optionally().reply(200, '', { ETag: '"funnel"' }).persist()
  nock(S3_HOST).get(/^\/funnel\/months\//).query(true).optionally().reply(404, '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>', { 'Content-Type': 'application/xml' }).persist()
  nock(S3_HOST).get('/').query(q => q['list-type'] === '2' && String(q.prefix).startsWith('funnel/')).optionally().reply(200,
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>leadlink-test</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>',
    { 'Content-Type': 'application/xml' }).persist()
}

export function mockEmptyOutboxScan () {
  nock(S3_HOST).get('/').query(q => q['list-type'] === '2' && q.prefix === 'outbox/').reply(200,
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>leadlink-test</Name><Prefix>outbox/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>',
    { 'Content-Type': 'application/xml' }).persist()
  mockSenderHeartbeats()
}

/** The sender's heartbeat (senders/<start>-<owner>.json, src/outbox/senders.ts): written, listed alone, deleted at close. */
export function mockSenderHeartbeats () {
  nock(S3_HOST).put(/^\/senders\/[^/]+\.json/).query(true).optionally().reply(200, '', { ETag: '"heartbeat"' }).persist()
  nock(S3_HOST).delete(/^\/senders\/[^/]+\.json/).query(true).optionally().reply(204, '').persist()
  nock(S3_HOST).get('/').query(q => q['list-type'] === '2' && q.prefix === 'senders/').optionally().reply(200,
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>leadlink-test</Name><Prefix>senders/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>',
    { 'Content-Type': 'application/xml' }).persist()
}

export function mockSes (rec: ReturnType<typeof recorder>, reply: [number, object] = [200, { MessageId: 'msg-0001' }]) {
  const scope = nock(SES_HOST).post('/v2/email/outbound-emails').reply(() => [reply[0], reply[1], {
    'Content-Type': 'application/json', ...(reply[0] >= 400 ? { 'x-amzn-ErrorType': (reply[1] as { __type?: string }).__type ?? 'InternalFailure' } : {})
  }])
  capture(scope, rec.sesSends, 'POST')
}

