// Each kind of record is checked against its schema when read (nock answers with a record that is
// not one): subscribers, batches and pointers fail clearly, a bad session record opens nothing.
import t from 'tap'
import nock from 'nock'
import { S3Client } from '@aws-sdk/client-s3'
import { createSessionStore, sessionKey } from '../../src/admin/sessions.ts'
import { batchKey, createOutboxStore } from '../../src/outbox/store.ts'
import { UnavailableError } from '../../src/errors.ts'
import { InvalidRecord } from '../../src/storage/json-store.ts'
import { createAddressKeys } from '../../src/subscribers/address.ts'
import { migratedState } from '../../src/subscribers/legacy-keys.ts'
import { createSubscriberStore, subscriberKey } from '../../src/subscribers/store.ts'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { pointer } from '../aws-mocks.ts'
import { BUCKET, isolateNetwork, S3_HOST, TEST_CREDENTIALS } from '../helper.ts'

const HASH = 'ab'.repeat(32)

function s3 (t: { teardown: (fn: () => void) => void }) {
  isolateNetwork(t)
  const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 })
  t.teardown(() => client.destroy())
  return client
}

const record = {
  schemaVersion: 1,
  address: 'jane@example.com',
  addressHash: HASH,
  status: 'pending',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  signups: [{ at: '2026-01-01T00:00:00.000Z', slug: 'default', consentText: 'c', consentVersion: 'v', ip: '192.0.2.1', userAgent: 'ua' }],
  deliveries: [{ at: '2026-01-01T00:00:00.000Z', slug: 'default', status: 'requested', outboxId: 'o-1' }]
}

t.test('a subscriber record is read as it is, with its ETag', async t => {
  nock(S3_HOST).get(`/${subscriberKey(HASH)}`).query(true).reply(200, JSON.stringify(record), { ETag: '"r1"' })
  const store = createSubscriberStore({ s3: s3(t), bucket: BUCKET, keys: createAddressKeys('k'.repeat(32)), migration: migratedState })
  t.same(await store.get(HASH), { record, etag: '"r1"' })
})

t.test('a subscriber record that breaks its schema is an InvalidRecord naming the key, not a cast', async t => {
  const store = createSubscriberStore({ s3: s3(t), bucket: BUCKET, keys: createAddressKeys('k'.repeat(32)), migration: migratedState })
  const broken: Array<[string, object, string]> = [
    ['an unknown status', { ...record, status: 'vip' }, '/status must be one of "pending", "confirmed", "unsubscribed", "suppressed"'],
    ['another schema version', { ...record, schemaVersion: 2 }, '/schemaVersion must be equal to constant'],
    ['no deliveries', { ...record, deliveries: undefined }, 'the record must have required properties deliveries'],
    ['a delivery of an old shape', { ...record, deliveries: [{ at: 'x', slug: 'default', status: 'sent' }] }, '/deliveries/0/status must be one of "requested", "failed"'],
    // The IP and user agent are optional (RECORD_SIGNUP_IP); what was consented to is not.
    ['a signup without its consent text', { ...record, signups: [{ ...record.signups[0], consentText: undefined }] }, '/signups/0 must have required properties consentText']
  ]
  for (const [why, body, problem] of broken) {
    nock(S3_HOST).get(`/${subscriberKey(HASH)}`).query(true).reply(200, JSON.stringify(body), { ETag: '"r1"' })
    const err = await store.get(HASH).catch(e => e)
    t.type(err, InvalidRecord, why)
    t.equal(err.key, subscriberKey(HASH), why)
    t.equal(err.problem, problem, why)
  }
})

t.test('a pointer that is not one: the admin read fails clearly, a cold cache is unavailable', async t => {
  const client = s3(t)
  const bad = { ...pointer, size: 'big' }
  nock(S3_HOST).get('/whitepapers/default/current.json').query(true).times(2).reply(200, JSON.stringify(bad), { ETag: '"p"' })
  const catalog = createCatalog({ s3: client, bucket: BUCKET, refreshMs: 30_000 })
  const read = await catalog.read('default').catch(e => e)
  t.type(read, InvalidRecord)
  t.equal(read.message, 'whitepapers/default/current.json is not a valid record: /size must be integer')
  const current = await catalog.current('default').catch(e => e)
  t.type(current, UnavailableError, 'a page or signup gets the 503 it gets when S3 cannot be read')
  t.type(current.cause, InvalidRecord)
})

t.test('a session record that is not one opens nothing', async t => {
  const client = s3(t)
  const session = { value: 'cookie', nonce: 'n'.repeat(24), issuedAt: 1_800_000_000, expiresAt: 1_800_003_600 }
  const path = `/${sessionKey(session)}`
  const store = createSessionStore({ s3: client, bucket: BUCKET, now: () => 1_800_000_100_000 })
  nock(S3_HOST)
    .get(path).query(true).reply(200, JSON.stringify({ issuedAt: session.issuedAt, expiresAt: session.expiresAt }))
    .get(path).query(true).reply(200, JSON.stringify({ issuedAt: session.issuedAt, expiresAt: String(session.expiresAt) }))
    .get(path).query(true).reply(200, 'not json')
  t.equal(await store.isActive(session), true, 'a good record')
  t.equal(await store.isActive(session), false, 'an expiry that is not a number')
  t.equal(await store.isActive(session), false, 'not JSON')
  t.same(nock.pendingMocks(), [])
})

t.test('an outbox batch is checked too: an item without its address is not sent to nobody', async t => {
  const client = s3(t)
  const batch = {
    schemaVersion: 1, id: '00000000a-0123456789ab', createdAt: 'x', owner: 'a', leaseUntil: 'x',
    items: [{ id: 'i-1', address: 'jane@example.com', addressHash: HASH, slug: 'default', requestedAt: 'x', kind: 'returning' }],
    done: {}, retries: {}
  }
  nock(S3_HOST)
    .get(`/${batchKey(batch.id)}`).query(true).reply(200, JSON.stringify(batch), { ETag: '"b1"' })
    .get(`/${batchKey(batch.id)}`).query(true).reply(200, JSON.stringify({ ...batch, items: [{ ...batch.items[0], address: undefined }] }), { ETag: '"b2"' })
    .get(`/${batchKey(batch.id)}`).query(true).reply(200, JSON.stringify({ ...batch, done: { 'i-1': 'delivered' } }), { ETag: '"b3"' })
  const store = createOutboxStore({ s3: client, bucket: BUCKET })
  t.same(await store.read(batch.id), { batch, etag: '"b1"' })
  const noAddress = await store.read(batch.id).catch(e => e)
  t.type(noAddress, InvalidRecord)
  t.equal(noAddress.problem, '/items/0 must have required properties address')
  const badOutcome = await store.read(batch.id).catch(e => e)
  t.equal(badOutcome.problem, '/done/i-1 must be one of "sent", "failed", "skipped"')
})
