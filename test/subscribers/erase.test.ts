// Erasure against the real emulators: every object in the bucket (keys and bodies) is listed before and
// after erasing an address that has a record, a sent email (delivery log), an email still queued, funnel
// counts, a record under its key of before ADDRESS_KEY and an old links' mapping. After: neither the
// address nor its plain SHA-256 anywhere, its HMAC only in its tombstone, the others' data untouched.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { reconfigure } from '../../src/config.ts'
import { createJsonStore } from '../../src/storage/json-store.ts'
import { createAddressKeys } from '../../src/subscribers/address.ts'
import { createEraser } from '../../src/subscribers/erase.ts'
import { exportCsv, signupStats } from '../../src/subscribers/export.ts'
import { legacyMapKey } from '../../src/subscribers/legacy-keys.ts'
import { personalDataOfAddress } from '../../src/subscribers/personal-data.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { suppressAddress } from '../../src/subscribers/suppression.ts'
import { build, eventually, sentEmails, startEmulators, type App } from '../helper.ts'

const ERASED = 'erase.me@example.com'
const OTHER = 'keep.me@example.com'
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

const stack = await startEmulators(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '0', OUTBOX_SCAN_SECONDS: '3600' })
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const keys = createAddressKeys(stack.config.privacy.addressKey ?? '')
const pdf = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

async function everyObject (): Promise<Array<{ key: string, body: string }>> {
  const out: Array<{ key: string, body: string }> = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const o of page.Contents ?? []) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }))
      out.push({ key: o.Key ?? '', body: Buffer.from(await res.Body?.transformToByteArray() ?? []).toString('latin1') })
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

const holding = (objects: Array<{ key: string, body: string }>, needle: string) =>
  objects.filter(o => o.key.includes(needle) || o.body.toLowerCase().includes(needle.toLowerCase())).map(o => o.key)

async function signup (app: App, email: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json', 'user-agent': 'erase-test/1.0' }, payload: { email }, remoteAddress: '198.51.100.23' })
  if (res.statusCode !== 202) throw new Error(`signup answered ${res.statusCode}: ${res.body}`)
}

const eraserOf = (app: App) => createEraser({ s3: app.aws.s3, bucket, store: app.subscribers, json: createJsonStore({ s3: app.aws.s3, bucket }) })

t.test('after an erase, nothing in the bucket holds the address, its plain hash, or its HMAC outside the tombstone', async t => {
  // 1. A sent email: the sender finishes the batch and keeps its delivery log line.
  const sender = await build(t, stack.config, { clientOptions: { credentials: stack.credentials } })
  await sender.catalog.publish({ bytes: pdf, filename: 'Guide.pdf', title: 'Erase Test Guide' })
  await signup(sender, ERASED)
  await signup(sender, OTHER)
  await eventually(async () => (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(ERASED)).length === 1 || undefined)
  await eventually(async () => (await everyObject()).some(o => o.key.startsWith('deliveries/') && o.body.includes('"sent"')) || undefined)
  await eventually(async () => (await everyObject()).every(o => !/^outbox\/[0-9a-z]+-[0-9a-f]+\.json$/.test(o.key)) || undefined)
  await sender.close()

  // 2. Emails still queued: an instance that accepts signups but does not send.
  const accepter = await build(t, reconfigure(stack.config, { SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } })
  await Promise.all([signup(accepter, ERASED), signup(accepter, OTHER)])
  // 3. Objects of before ADDRESS_KEY: a record not yet moved (plain SHA-256 key) and an old links' mapping.
  const key = accepter.subscribers.keyOf(ERASED)
  const legacy = sha256(ERASED)
  const old: SubscriberRecord = { schemaVersion: 1, address: ERASED, addressHash: legacy, status: 'pending', createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z', signups: [], deliveries: [] }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `subscribers/${legacy}.json`, Body: JSON.stringify(old) }))
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: legacyMapKey(keys.legacyRefOf(legacy)), Body: JSON.stringify({ key }) }))

  const before = await everyObject()
  t.ok(holding(before, ERASED).some(k => k.startsWith('outbox/')), 'before: a queued email holds the address')
  t.ok(holding(before, ERASED).some(k => k.startsWith('subscribers/')), 'before: the record holds it')
  t.ok(holding(before, legacy).length > 0, 'before: the plain hash is there')
  t.ok(before.some(o => o.key.startsWith('funnel/')), 'the funnel counted the first signups (checked below like the rest)')
  const shown = await personalDataOfAddress({ store: accepter.subscribers, json: createJsonStore({ s3: accepter.aws.s3, bucket }) }, ERASED)
  t.equal(shown?.queuedEmails.length, 1, 'show finds the queued email')
  t.equal(shown?.deliveryLog.length, 1, 'show finds the delivery-log line')
  t.equal(shown?.deliveryLog[0]?.outcome, 'sent')
  t.equal(shown?.record.signups.length, 2, 'show has both consent proofs')

  const result = await eraserOf(accepter).erase({ address: ERASED })
  t.match(result, { key, found: true, tombstone: 'unsubscribed', outboxItems: 1, deliveryLines: 1 })

  const after = await everyObject()
  t.same(holding(after, ERASED), [], 'no object holds the address')
  t.same(holding(after, legacy), [], 'no object holds its plain SHA-256')
  t.same(holding(after, key), [`subscribers/${key}.json`], 'its HMAC is only the tombstone\'s')
  const tomb = JSON.parse(after.find(o => o.key === `subscribers/${key}.json`)?.body ?? '{}') as SubscriberRecord
  t.match(tomb, { address: '', status: 'unsubscribed', signups: [], deliveries: [], unsubscription: { ip: '', userAgent: '', via: 'erase' } })
  t.notOk(JSON.stringify(tomb).includes('198.51.100.23'), 'the tombstone holds no IP')
  t.notOk(JSON.stringify(tomb).includes('erase-test'), 'nor a user agent')

  // The other person is untouched: record, consent, queued email, delivery-log line.
  const otherKey = accepter.subscribers.keyOf(OTHER)
  t.same(before.filter(o => o.body.includes(OTHER) || o.key.includes(otherKey)).map(o => o.key).sort(),
    after.filter(o => o.body.includes(OTHER) || o.key.includes(otherKey)).map(o => o.key).sort(), 'the other address is where it was')
  const otherShown = await personalDataOfAddress({ store: accepter.subscribers, json: createJsonStore({ s3: accepter.aws.s3, bucket }) }, OTHER)
  t.equal(otherShown?.queuedEmails.length, 1, 'its queued email is still queued')
  t.equal(otherShown?.deliveryLog.length, 1, 'its delivery-log line is still there')

  // Export and counts list no tombstone (it is no signup).
  const csv = await new Promise<string>((resolve, reject) => {
    let out = ''
    exportCsv({ s3, bucket }).on('data', c => { out += String(c) }).on('end', () => resolve(out)).on('error', reject)
  })
  t.same(csv.trim().split('\r\n').slice(1).map(line => line.split(',')[0]), [OTHER], 'the export has the other address only, no empty row')
  t.equal((await signupStats({ s3, bucket })).total, 1, 'and the counts one address')

  // Idempotent: a second erase changes nothing.
  t.match(await eraserOf(accepter).erase({ address: ERASED }), { found: false, tombstone: 'unsubscribed', outboxItems: 0, deliveryLines: 0 })
  t.same((await everyObject()).map(o => o.key), after.map(o => o.key), 'nothing written or deleted by the repeat')
  t.equal(await personalDataOfAddress({ store: accepter.subscribers, json: createJsonStore({ s3: accepter.aws.s3, bucket }) }, ERASED), null, 'show: nothing held')
  await accepter.close()

  // A sender drains the queue: the other address gets its email, the erased one does not.
  const mailedBefore = (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(ERASED)).length
  const drainer = await build(t, reconfigure(stack.config, { OUTBOX_SCAN_SECONDS: '1' }), { clientOptions: { credentials: stack.credentials } })
  await drainer.ready()
  await eventually(async () => (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(OTHER)).length === 2 || undefined, { timeoutMs: 20_000 })
  t.equal((await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(ERASED)).length, mailedBefore, 'the erased address got nothing more')

  // It signs up again itself: it is emailed again (as someone who had left), and the record holds it again.
  await signup(drainer, ERASED)
  await eventually(async () => (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(ERASED)).length === mailedBefore + 1 || undefined)
  const back = await drainer.subscribers.get(key)
  t.match(back?.record, { address: ERASED, status: 'unsubscribed' }, 'back on file, still unsubscribed from the newsletter')
  t.equal(back?.record.erasedAt, undefined, 'no longer a tombstone')
  await drainer.close()
})

t.test('the tombstone of a bounced address keeps it suppressed, even when it signs up again', async t => {
  const app = await build(t, stack.config, { clientOptions: { credentials: stack.credentials } })
  const address = 'bounced.erase@example.com'
  await signup(app, address)
  await eventually(async () => (await sentEmails(stack.sesUrl)).filter(m => m.destination.to.includes(address)).length === 1 || undefined)
  await suppressAddress({ store: app.subscribers }, { address, reason: 'bounce', detail: 'Permanent/General', at: new Date().toISOString(), feedbackId: 'fb-1' })
  const result = await eraserOf(app).erase({ address })
  t.equal(result.tombstone, 'suppressed')
  const tomb = (await app.subscribers.get(app.subscribers.keyOf(address)))?.record
  t.match(tomb, { address: '', status: 'suppressed', suppression: { reason: 'bounce', detail: '' } })
  t.notOk(JSON.stringify(tomb).includes('fb-1'), 'no SES feedback id (it leads back to the address at SES)')
  await signup(app, address)
  const record = (await app.subscribers.get(app.subscribers.keyOf(address)))?.record
  t.equal(record?.status, 'suppressed', 'still suppressed')
  t.equal(record?.deliveries.length, 0, 'no email owed')
})

t.test('an S3 failure midway leaves the record in place, and running the erase again finishes it', async t => {
  const app = await build(t, reconfigure(stack.config, { SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } })
  const address = 'flaky.erase@example.com'
  await signup(app, address)
  const key = app.subscribers.keyOf(address)
  // S3 refuses the tombstone's write: the queued email is already out of the outbox by then.
  const failing = { ...app.subscribers, replace: async () => { throw Object.assign(new Error('injected S3 failure'), { name: 'InternalError' }) } }
  const json = createJsonStore({ s3: app.aws.s3, bucket })
  await t.rejects(createEraser({ s3: app.aws.s3, bucket, store: failing, json }).erase({ address }), /injected/)
  const kept = await app.subscribers.get(key)
  t.equal(kept?.record.address, address, 'the record is whole: the retry can find everything from it')
  t.ok(holding(await everyObject(), address).every(k => k.startsWith('subscribers/')), 'only the record still holds the address')
  t.match(await eraserOf(app).erase({ address }), { found: true, tombstone: 'unsubscribed' })
  t.same(holding(await everyObject(), address), [], 'the retry finished it')
})
