// The retention sweep on the S3 emulator, with the app's clock moved forward: signups never confirmed go
// after PENDING_RETENTION_DAYS, unsubscribed ones after UNSUBSCRIBED_RETENTION_DAYS, each leaving a
// tombstone; confirmed and suppressed records stay. Runs are bounded, continue from a cursor, and take
// turns through a lease; the command does the same run.
import { readFile } from 'node:fs/promises'
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import type { Clock } from '../../src/clock.ts'
import { reconfigure } from '../../src/config.ts'
import { createRetentionSweep, erasableFrom, SWEEP_STATE_KEY } from '../../src/privacy/retention.ts'
import { createJsonStore } from '../../src/storage/json-store.ts'
import { createEraser } from '../../src/subscribers/erase.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { eventually, startEmulators } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const DAY = 86_400_000
const stack = await startEmulators(t, { RATE_LIMIT_PER_IP_PER_MINUTE: '0', SENDER: 'off', RETENTION_SWEEP_SECONDS: '0' })
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const start = Date.now()

async function appAt (t: { teardown: (fn: () => unknown) => void }, offsetDays: number, settings: Record<string, string> = {}): Promise<App> {
  const now: Clock = () => Date.now() + offsetDays * DAY
  const app = await buildApp(reconfigure(stack.config, settings), { clientOptions: { credentials: stack.credentials }, now }, { logger: false })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

async function record (app: App, address: string): Promise<SubscriberRecord | null> {
  return (await app.subscribers.get(app.subscribers.keyOf(address), address))?.record ?? null
}

async function bodies (): Promise<string> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  const out: string[] = []
  for (const o of listed.Contents ?? []) {
    if (!o.Key || o.Key.endsWith('.pdf')) continue
    out.push(o.Key, await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }))).Body?.transformToString() ?? '')
  }
  return out.join('\n')
}

const today = await appAt(t, 0)
await today.catalog.publish({ bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)), filename: 'Guide.pdf', title: 'Guide' })
async function signup (app: App, email: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email } })
  if (res.statusCode !== 202) throw new Error(`${email}: signup answered ${res.statusCode}`)
}
for (const email of ['never-confirmed@example.com', 'confirmed@example.com', 'unsubscribed@example.com', 'came-back@example.com']) await signup(today, email)
const linksOf = (address: string) => today.recipientLinks.forEmail(today.subscribers.keyOf(address), 'default')
const by = { ip: '192.0.2.1', userAgent: 'test' }
await today.recipientLinks.confirm(new URL(linksOf('confirmed@example.com').confirmUrl).pathname.slice(3), by)
await today.recipientLinks.unsubscribe(new URL(linksOf('unsubscribed@example.com').unsubscribeUrl).pathname.slice(3), { ...by, via: 'page' })
await today.subscribers.create({
  schemaVersion: 1, address: 'bounced@example.com', addressHash: today.subscribers.keyOf('bounced@example.com'), status: 'suppressed', createdAt: new Date(start).toISOString(), updatedAt: new Date(start).toISOString(),
  suppression: { at: new Date(start).toISOString(), reason: 'bounce', detail: 'Permanent/General' }, signups: [], deliveries: []
})
// 20 days later the last one submits the form again: its time starts again.
await signup(await appAt(t, 20), 'came-back@example.com')

t.test('the rules: from the last email, from unsubscribing; confirmed and suppressed are kept', async t => {
  const rules = { pendingDays: 30, unsubscribedDays: 365 }
  const pending = await record(today, 'came-back@example.com')
  t.equal(erasableFrom(pending!, rules), Date.parse(pending!.deliveries.at(-1)!.at) + 30 * DAY, 'pending: 30 days after its last email')
  const unsubscribed = await record(today, 'unsubscribed@example.com')
  t.equal(erasableFrom(unsubscribed!, rules), Date.parse(unsubscribed!.unsubscription!.at) + 365 * DAY, 'unsubscribed: 365 days after unsubscribing')
  t.equal(erasableFrom((await record(today, 'confirmed@example.com'))!, rules), null)
  t.equal(erasableFrom((await record(today, 'bounced@example.com'))!, rules), null)
})

t.test('31 days on, the service\'s own sweep erases the signup never confirmed, and only it', async t => {
  const later = await appAt(t, 31, { RETENTION_SWEEP_SECONDS: '1' })
  const gone = await eventually(async () => {
    const r = await record(later, 'never-confirmed@example.com')
    return r?.erasedAt ? r : undefined
  }, { timeoutMs: 20_000 })
  t.equal(gone.address, '', 'a tombstone: no address')
  t.equal(gone.status, 'unsubscribed', 'not mailed again unless it signs up again itself')
  t.same([gone.signups, gone.deliveries], [[], []], 'no consent proof, no history')
  t.notOk((await bodies()).includes('never-confirmed@example.com'), 'the address is nowhere in the bucket (its queued email went too)')
  t.equal((await record(later, 'came-back@example.com'))?.status, 'pending', 'a signup whose last email is 11 days old stays')
  t.equal((await record(later, 'unsubscribed@example.com'))?.status, 'unsubscribed', 'an unsubscribe of 31 days ago stays')
  t.equal((await record(later, 'confirmed@example.com'))?.status, 'confirmed')
  t.equal((await record(later, 'bounced@example.com'))?.status, 'suppressed')
})

t.test('366 days on, the unsubscribed one goes too; confirmed and bounced stay', async t => {
  const year = await appAt(t, 366)
  const report = await year.retention.run()
  t.match(report, { ran: true, erased: 2, failed: 0, passFinished: true })
  for (const gone of ['unsubscribed@example.com', 'came-back@example.com']) {
    const r = await record(year, gone)
    t.ok(r?.erasedAt, `${gone} is a tombstone`)
    t.equal(r?.address, '')
  }
  t.equal((await record(year, 'confirmed@example.com'))?.address, 'confirmed@example.com')
  t.equal((await record(year, 'bounced@example.com'))?.status, 'suppressed')
  t.match(await year.retention.run(), { ran: false, reason: 'not-due' }, 'a new pass waits a day after the last one')
})

t.test('a run is bounded: it reads at most its pages, the next goes on from the cursor; one instance at a time', async t => {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: SWEEP_STATE_KEY }))
  const old = new Date(start - 40 * DAY).toISOString()
  const addresses = Array.from({ length: 5 }, (_, i) => `stale${i}@example.com`)
  for (const address of addresses) {
    await today.subscribers.create({
      schemaVersion: 1, address, addressHash: today.subscribers.keyOf(address), status: 'pending', createdAt: old, updatedAt: old,
      signups: [{ at: old, slug: 'default', consentText: 'c', consentVersion: 'v' }], deliveries: [{ at: old, slug: 'default', status: 'requested' }]
    })
  }
  const counted = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => counted.destroy())
  const calls: string[] = []
  counted.middlewareStack.add((next, context) => async args => { calls.push(context.commandName ?? ''); return await next(args) }, { step: 'initialize', name: 'count' })
  const json = createJsonStore({ s3: counted, bucket })
  const eraser = createEraser({ s3: counted, bucket, store: today.subscribers, json })
  const sweeper = (owner: string) => createRetentionSweep({
    json, erase: (target, options) => eraser.erase(target, options), rules: { pendingDays: 30, unsubscribedDays: 365 },
    owner, now: Date.now, log: { info: () => {}, warn: () => {} }, pageSize: 2, pagesPerRun: 1
  })
  const a = sweeper('a')
  const total = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'subscribers/' }))).KeyCount ?? 0
  let looked = 0
  let erased = 0
  for (let run = 0; run < 10; run++) {
    calls.length = 0
    const report = await a.run()
    t.ok(report.ran)
    t.ok(report.looked <= 2, `run ${run}: at most one page of 2 records (${report.looked})`)
    t.ok(calls.filter(c => c === 'ListObjectsV2Command').length <= 1, `run ${run}: at most one LIST`)
    looked += report.looked
    erased += report.erased
    if (report.passFinished) break
    // Between two runs another instance finds the lease released: it could take over, and goes on from the cursor.
  }
  t.equal(looked, total, 'every record looked at exactly once over the runs')
  t.equal(erased, addresses.length, 'the stale signups were erased')
  for (const address of addresses) t.ok((await record(today, address))?.erasedAt, `${address} is a tombstone`)

  await s3.send(new PutObjectCommand({
    Bucket: bucket, Key: SWEEP_STATE_KEY, ContentType: 'application/json',
    Body: JSON.stringify({ schemaVersion: 1, owner: 'elsewhere', leaseUntil: new Date(Date.now() + 60_000).toISOString(), cursor: 'subscribers/0', erasedThisPass: 0 })
  }))
  t.match(await sweeper('b').run(), { ran: false, reason: 'held', looked: 0 }, 'another instance holds the lease: nothing done')
  const leftAlone = await record(today, 'confirmed@example.com')
  t.match(await eraser.erase({ address: 'confirmed@example.com' }, { onlyIf: () => false }), { kept: true }, 'erase judges the record it reads')
  t.same(await record(today, 'confirmed@example.com'), leftAlone, 'and leaves it when the judgement says no')
})

t.test('npm run signups -- sweep: one run, as an operator schedules it', async t => {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: SWEEP_STATE_KEY }))
  const old = new Date(start - 40 * DAY).toISOString()
  await today.subscribers.create({
    schemaVersion: 1, address: 'cli-stale@example.com', addressHash: today.subscribers.keyOf('cli-stale@example.com'), status: 'pending', createdAt: old, updatedAt: old,
    signups: [{ at: old, slug: 'default', consentText: 'c', consentVersion: 'v' }], deliveries: []
  })
  const env = childEnv({
    S3_BUCKET: bucket, S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '', S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', ADDRESS_KEY: stack.config.privacy.addressKey ?? ''
  })
  const first = await runNode(t, ['scripts/signups.ts', 'sweep'], env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stderr, /looked at \d+ record\(s\), erased 1; the pass is finished/)
  t.ok((await record(today, 'cli-stale@example.com'))?.erasedAt, 'the stale signup is a tombstone')
  const again = await runNode(t, ['scripts/signups.ts', 'sweep'], env)
  t.equal(again.code, 0)
  t.match(again.stderr, 'the last pass ended less than a day ago: nothing to do yet')
})
