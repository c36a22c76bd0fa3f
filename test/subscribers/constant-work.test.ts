// POST /subscribe does the same S3 round trips whatever the address's state, so that response time
// cannot tell whether someone signed up before (the bench prints the medians side by side).
import t from 'tap'
import nock from 'nock'
import { build, isolateNetwork, S3_HOST, testConfig } from '../helper.ts'
import { legacyAddressHash } from '../../src/subscribers/address.ts'
import { ADDRESS, HASH, mockEmptyOutboxScan, mockPointer, pointer, RECORD_PATH } from '../aws-mocks.ts'

const DAY = 24 * 60 * 60 * 1000
const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString()
const base = { schemaVersion: 1, address: ADDRESS, addressHash: HASH, createdAt: at(40 * DAY), updatedAt: at(DAY), signups: [] }
const STATES: Array<[string, object | null]> = [
  ['new', null],
  ['on file', { ...base, status: 'pending', deliveries: [] }],
  ['cooling down', { ...base, status: 'pending', deliveries: [{ at: at(60_000), slug: 'default', status: 'requested' }] }],
  ['capped', { ...base, status: 'pending', deliveries: [1, 2, 3].map(d => ({ at: at(d * DAY), slug: 'default', status: 'requested' })) }],
  ['suppressed', { ...base, status: 'suppressed', deliveries: [] }],
  ['unsubscribed, emailed since', { ...base, status: 'unsubscribed', unsubscription: { at: at(3 * DAY), ip: 'x', userAgent: 'x', via: 'page' }, deliveries: [{ at: at(2 * DAY), slug: 'default', status: 'requested' }] }]
]

t.test('every state: read the record, write it back conditionally, write an outbox object, then answer', async t => {
  const seen: Record<string, string[]> = {}
  for (const [name, existing] of STATES) {
    isolateNetwork(t)
    const requests: string[] = []
    const log = (what: string) => () => { requests.push(what) }
    mockPointer()
    nock(S3_HOST).get(RECORD_PATH).query(true).reply(() => {
      requests.push('GET record')
      return existing
        ? [200, JSON.stringify(existing), { ETag: '"e"', 'Content-Type': 'application/json' }]
        : [404, '<Error><Code>NoSuchKey</Code></Error>', { 'Content-Type': 'application/xml' }]
    })
    // nock 15 hands reply functions the Fetch Request.
    nock(S3_HOST).put(RECORD_PATH).query(true).reply((req: Request) => {
      const conditional = req.headers.get('if-match') ? 'If-Match' : req.headers.get('if-none-match') ? 'If-None-Match' : 'unconditional'
      requests.push(`PUT record (${conditional})`)
      return [200, '', { ETag: '"f"' }]
    })
    nock(S3_HOST).put(/^\/outbox\//).query(true).reply(() => { log('PUT outbox')(); return [200, '', { ETag: '"b"' }] })
    nock(S3_HOST).delete(/^\/outbox\//).query(true).optionally().reply(204, '')
    const app = await build(t, testConfig({ SENDER: 'off', ADDRESS_COOLDOWN_SECONDS: '300' }))
    const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS } })
    t.equal(res.statusCode, 202, `${name}: the same answer`)
    seen[name] = requests.slice(0, 3)
    await app.close()
    nock.cleanAll()
  }
  t.same(seen.new, ['GET record', 'PUT record (If-None-Match)', 'PUT outbox'])
  for (const [name] of STATES.slice(1)) t.same(seen[name], ['GET record', 'PUT record (If-Match)', 'PUT outbox'], `${name}: the same round trips as any other`)
})

t.test('while records may still be under their keys of before (no migration marker): every state reads both keys', async t => {
  const LEGACY_PATH = `/subscribers/${legacyAddressHash(ADDRESS)}.json`
  const XML = { 'Content-Type': 'application/xml' }
  // Where the record is: nowhere, under the key of before (not moved yet), or under its key (moved).
  const PLACES: Array<[string, object | null, 'legacy' | 'new']> = [
    ['new', null, 'new'],
    ...STATES.slice(1).map(([name, record]): [string, object | null, 'legacy' | 'new'] => [`${name}, not moved yet`, record, 'legacy']),
    ...STATES.slice(1).map(([name, record]): [string, object | null, 'legacy' | 'new'] => [`${name}, moved`, record, 'new'])
  ]
  const seen: Record<string, string[]> = {}
  for (const [name, existing, where] of PLACES) {
    isolateNetwork(t)
    const requests: string[] = []
    mockEmptyOutboxScan()
    nock(S3_HOST).get('/whitepapers/default/current.json').query(true).reply(200, JSON.stringify(pointer), { ETag: '"p"', 'Content-Type': 'application/json' })
    nock(S3_HOST).get('/privacy/address-keys.json').query(true).reply(404, '<Error><Code>NoSuchKey</Code></Error>', XML)
    nock(S3_HOST).get('/').query(q => q['list-type'] === '2' && q.prefix === 'subscribers/').reply(200,
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>leadlink-test</Name><Prefix>subscribers/</Prefix><KeyCount>1</KeyCount><Contents><Key>subscribers/${'0'.repeat(64)}.json</Key></Contents><IsTruncated>true</IsTruncated></ListBucketResult>`, XML)
    const answer = (here: boolean, what: string) => () => {
      requests.push(what)
      return existing && here
        ? [200, JSON.stringify(existing), { ETag: '"e"', 'Content-Type': 'application/json' }]
        : [404, '<Error><Code>NoSuchKey</Code></Error>', XML]
    }
    nock(S3_HOST).get(LEGACY_PATH).query(true).reply(answer(where === 'legacy', 'GET key of before'))
    nock(S3_HOST).get(RECORD_PATH).query(true).reply(answer(where === 'new', 'GET record'))
    nock(S3_HOST).put(RECORD_PATH).query(true).reply((req: Request) => {
      requests.push(`PUT record (${req.headers.get('if-match') ? 'If-Match' : req.headers.get('if-none-match') ? 'If-None-Match' : 'unconditional'})`)
      return [200, '', { ETag: '"f"' }]
    })
    nock(S3_HOST).put(/^\/outbox\//).query(true).reply(() => { requests.push('PUT outbox'); return [200, '', { ETag: '"b"' }] })
    nock(S3_HOST).delete(/^\/outbox\//).query(true).optionally().reply(204, '')
    const app = await build(t, testConfig({ SENDER: 'off', ADDRESS_COOLDOWN_SECONDS: '300' }))
    const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS } })
    t.equal(res.statusCode, 202, `${name}: the same answer`)
    t.ok(app.keyMigration.pending(), `${name}: the service knows records may be under keys of before`)
    seen[name] = requests.slice(0, 4)
    await app.close()
    nock.cleanAll()
  }
  for (const [name, , where] of PLACES) {
    // A record found under its key of before is written under its new key, created: the move.
    const put = where === 'legacy' || name === 'new' ? 'If-None-Match' : 'If-Match'
    t.same(seen[name], ['GET key of before', 'GET record', `PUT record (${put})`, 'PUT outbox'], `${name}: both keys read, then the same writes`)
  }
})
