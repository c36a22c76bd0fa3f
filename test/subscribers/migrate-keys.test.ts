// The key migration on the real S3 emulator, beside a live app: records of before ADDRESS_KEY (plain
// SHA-256 keys) in every state are moved, twice, while signups and an old unsubscribe link are served;
// every state is kept and no plain hash is left in any key or body.
import { createHash, createHmac } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import { createAddressKeys } from '../../src/subscribers/address.ts'
import { KEYS_MARKER } from '../../src/subscribers/legacy-keys.ts'
import { mergeRecords } from '../../src/subscribers/merge-records.ts'
import { migrateKeys } from '../../src/subscribers/migrate-keys.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { eventually, sentEmails, startEmulators } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const DAY = 86_400_000
const then = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString()

const stack = await startEmulators(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '0', CATALOG_REFRESH_SECONDS: '0' })
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const keys = createAddressKeys(stack.config.privacy.addressKey ?? '')
const tokenSecret = stack.config.links.tokenSecrets[0] ?? ''

await createCatalog({ s3, bucket, refreshMs: 0 }).publish({
  bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)), filename: 'Guide.pdf', title: 'Guide'
})

function old (address: string, status: SubscriberRecord['status'], extra: Partial<SubscriberRecord> = {}): SubscriberRecord {
  return {
    schemaVersion: 1, address, addressHash: sha256(address), status, createdAt: then(40), updatedAt: then(10),
    signups: [{ at: then(40), slug: 'default', consentText: 'the consent of before', consentVersion: 'v0', ip: '198.51.100.7', userAgent: 'old browser' }],
    deliveries: [{ at: then(40), slug: 'default', status: 'requested', outboxId: `old-${address}` }],
    ...extra
  }
}

const unsubscription = { at: then(20), ip: '198.51.100.8', userAgent: 'old browser', via: 'one-click' as const }
const SEEDED: SubscriberRecord[] = [
  old('pending@example.com', 'pending'),
  old('confirmed@example.com', 'confirmed', { confirmation: { at: then(39), ip: '198.51.100.9', userAgent: 'old browser' } }),
  old('unsubscribed@example.com', 'unsubscribed', { unsubscription }),
  old('bounced@example.com', 'suppressed', { suppression: { at: then(30), reason: 'bounce', detail: 'Permanent/General' } }),
  old('complained@example.com', 'suppressed', { suppression: { at: then(30), reason: 'complaint', detail: 'abuse' } }),
  old('old-link@example.com', 'confirmed', { confirmation: { at: then(39), ip: '198.51.100.9', userAgent: 'old browser' } }),
  old('late-link@example.com', 'confirmed', { confirmation: { at: then(39), ip: '198.51.100.9', userAgent: 'old browser' } }),
  // Enough others that the migration is still running while the app serves.
  ...Array.from({ length: 60 }, (_, i) => old(`reader${i}@example.com`, 'confirmed', { confirmation: { at: then(39), ip: '198.51.100.9', userAgent: 'x' } }))
]
const put = (key: string, body: unknown) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }))
for (const record of SEEDED) await put(`subscribers/${record.addressHash}.json`, record)
// A delivery log of before: its lines named the records by their plain hash.
await put('deliveries/2026-01-01/0000old00-abcdef.json', {
  schemaVersion: 1, batch: '0000old00-abcdef', finishedAt: then(40),
  items: SEEDED.slice(0, 3).map(r => ({ id: `old-${r.address}`, addressHash: r.addressHash, slug: 'default', requestedAt: then(40), outcome: 'sent' }))
})

/** An unsubscribe link as the service signed it before ADDRESS_KEY: token format 1, the plain SHA-256. */
function oldUnsubscribeToken (address: string): string {
  const slug = Buffer.from('default')
  const payload = Buffer.alloc(42 + slug.length)
  payload.writeUInt8(1, 0)
  payload.writeUInt8(1, 1)
  Buffer.from(sha256(address), 'hex').copy(payload, 2)
  payload.writeUInt32BE(Math.floor(Date.parse(then(40)) / 1000), 34)
  payload.writeUInt32BE(0, 38)
  slug.copy(payload, 42)
  return Buffer.concat([payload, createHmac('sha256', tokenSecret).update('leadlink-token').update(payload).digest()]).toString('base64url')
}

async function readRecord (address: string): Promise<SubscriberRecord | null> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/${keys.keyOf(address)}.json` }))
    return JSON.parse(await res.Body?.transformToString() ?? '') as SubscriberRecord
  } catch {
    return null
  }
}

async function everything (): Promise<Array<{ key: string, body: string }>> {
  const out: Array<{ key: string, body: string }> = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('.pdf')) continue
      out.push({ key: o.Key, body: await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }))).Body?.transformToString() ?? '' })
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

const signup = (app: App, email: string) => app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email } })
const unsubscribe = (app: App, token: string) => app.inject({ method: 'POST', url: `/u/${token}`, headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' })
const emailsTo = async (address: string) => (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(address)).length

const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
await app.ready()

t.test('before the migration the service reads the keys of before: nothing is lost', async t => {
  await app.keyMigration.ready()
  t.ok(app.keyMigration.pending(), 'records of before are in the bucket: no marker written')
  t.equal((await signup(app, 'bounced@example.com')).statusCode, 202, 'the same answer as anyone')
  t.equal((await signup(app, 'unsubscribed@example.com')).statusCode, 202)
  t.equal((await signup(app, 'pending@example.com')).statusCode, 202)
  await eventually(async () => (await emailsTo('pending@example.com')) === 1 || undefined)
  const moved = await readRecord('pending@example.com')
  t.equal(moved?.signups.length, 2, 'the signup moved the record to its new key, its first consent kept')
  t.equal(moved?.addressHash, keys.keyOf('pending@example.com'))
  t.equal((await readRecord('bounced@example.com'))?.status, 'suppressed', 'a bounced address stays suppressed under its new key')
  t.equal((await readRecord('unsubscribed@example.com'))?.status, 'unsubscribed', 'an unsubscribed address stays unsubscribed')
  t.equal(await emailsTo('bounced@example.com'), 0, 'and is not mailed')
})

t.test('the migration, run twice beside signups and an old unsubscribe link, keeps every state', async t => {
  const live = (async () => {
    const answers = []
    for (let i = 0; i < 6; i++) {
      answers.push((await signup(app, `newcomer${i}@example.com`)).statusCode)
      answers.push((await signup(app, `reader${i * 7}@example.com`)).statusCode)
    }
    answers.push((await signup(app, 'complained@example.com')).statusCode)
    const link = await unsubscribe(app, oldUnsubscribeToken('old-link@example.com'))
    return { answers, link: link.json() }
  })()
  const first = await migrateKeys({ s3, bucket, keys, now: Date.now, concurrency: 2 })
  const served = await live
  t.same(new Set(served.answers), new Set([202]), 'every signup was served during the run')
  t.same(served.link, { status: 'unsubscribed' }, 'an unsubscribe link sent before ADDRESS_KEY works during the run')
  t.equal(first.moved, SEEDED.length, `every record of before moved (${first.merged} merged with what the service wrote meanwhile)`)
  t.ok(first.merged >= 3, 'those the service had moved by a signup were merged')
  t.equal(first.skipped, 0)
  t.ok(first.logsRewritten >= 1, 'the old delivery log lost its plain hashes')

  // The command, as an operator runs it, a second time: nothing left to move.
  const env = childEnv({
    S3_BUCKET: bucket, S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '', S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', ADDRESS_KEY: stack.config.privacy.addressKey ?? ''
  })
  const again = await runNode(t, ['scripts/signups.ts', 'migrate-keys'], env)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stderr, /^moved 0 record\(s\) .*; \d+ already there; 0 other object\(s\) left alone; 0 delivery log\(s\)/m, 'the second run moves nothing')

  for (const seeded of SEEDED) {
    const record = await readRecord(seeded.address)
    if (!record) { t.fail(`${seeded.address} has no record under its new key`); continue }
    t.equal(record.addressHash, keys.keyOf(seeded.address), `${seeded.address}: keyed by the HMAC`)
    t.ok(record.signups.some(s => s.consentText === 'the consent of before' && s.ip === '198.51.100.7'), `${seeded.address}: the original consent proof kept`)
    t.ok(record.deliveries.some(d => d.outboxId === `old-${seeded.address}`), `${seeded.address}: its deliveries kept`)
    const expected = seeded.address === 'old-link@example.com' ? 'unsubscribed' : seeded.status
    t.equal(record.status, expected, `${seeded.address}: still ${expected}`)
    if (seeded.suppression) t.same(record.suppression, seeded.suppression, `${seeded.address}: the suppression kept`)
    if (seeded.unsubscription) t.same(record.unsubscription, seeded.unsubscription, `${seeded.address}: the unsubscription kept`)
    if (seeded.confirmation) t.same(record.confirmation, seeded.confirmation, `${seeded.address}: the confirmation kept`)
  }
  t.equal((await readRecord('complained@example.com'))?.signups.length, 2, 'a signup during the run landed on the moved record')
  t.equal(await emailsTo('complained@example.com'), 0, 'and a complaint stays suppressed')

  const objects = await everything()
  const plain = SEEDED.map(r => r.addressHash)
  const leaks = objects.filter(o => plain.some(h => o.key.includes(h) || o.body.includes(h))).map(o => o.key)
  t.same(leaks, [], 'no plain SHA-256 of an address in any key or body')
  t.ok(objects.some(o => o.key === KEYS_MARKER), 'the marker says the migration finished')
  await app.keyMigration.check()
  t.notOk(app.keyMigration.pending(), 'the service stops reading keys of before')
})

t.test('after the migration an old unsubscribe link still works, through the mapping', async t => {
  t.same((await unsubscribe(app, oldUnsubscribeToken('late-link@example.com'))).json(), { status: 'unsubscribed' })
  t.equal((await readRecord('late-link@example.com'))?.status, 'unsubscribed')
  t.equal((await readRecord('late-link@example.com'))?.unsubscription?.via, 'one-click')
  t.same((await unsubscribe(app, oldUnsubscribeToken('never-here@example.com'))).json(), { status: 'gone' }, 'an old link of an address not on file: gone')
  // A new instance starts with the marker there: one key read per signup.
  const fresh = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => fresh.close())
  await fresh.ready()
  await fresh.keyMigration.ready()
  t.notOk(fresh.keyMigration.pending())
})

t.test('merging two versions keeps the strongest state and every proof', async t => {
  const a = old('m@example.com', 'confirmed', { addressHash: 'n'.repeat(64), confirmation: { at: then(5), ip: '1', userAgent: 'u' }, updatedAt: then(5) })
  const b = old('m@example.com', 'unsubscribed', { unsubscription: { ...unsubscription, at: then(3) }, updatedAt: then(3), signups: [{ ...a.signups[0]!, at: then(4), ip: '2' }] })
  const merged = mergeRecords(a, b)
  t.equal(merged.status, 'unsubscribed', 'the later unsubscribe wins over an earlier confirmation')
  t.equal(merged.addressHash, 'n'.repeat(64), 'under the new key')
  t.same(merged.signups.map(s => s.ip), ['198.51.100.7', '2'], 'every consent proof, oldest first')
  const bounced = mergeRecords(a, old('m@example.com', 'suppressed', { suppression: { at: then(50), reason: 'bounce', detail: 'x' }, updatedAt: then(50) }))
  t.equal(bounced.status, 'suppressed', 'a suppression on either side wins, however old')
  t.ok(bounced.confirmation, 'and the confirmation proof stays')
  const tomb = { ...a, address: '', erasedAt: then(1), signups: [], deliveries: [] }
  t.same(mergeRecords(tomb, b), tomb, 'an erasure made since outranks what the old key held')
})
