// Many signups on the S3 emulator (2,100 records, three listing pages): the export streams them all with
// bounded reads and stops reading when its reader stops (a download cut off at the socket too); the admin list walks them a page at a time
// with one ListObjectsV2 each; the sender's scan lists outbox/ only, whatever the number of records.
// (The 100,000-record figures are the bench's: npm run bench -- --only signups.)
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { createAwsClients } from '../../src/aws/clients.ts'
import { mapAll } from '../../src/concurrency.ts'
import { reconfigure } from '../../src/config.ts'
import { exportCsv } from '../../src/subscribers/export.ts'
import { leanHeapHolders } from '../../src/subscribers/export-heap.ts'
import { signupPage } from '../../src/subscribers/export-page.ts'
import { KEYS_MARKER } from '../../src/subscribers/legacy-keys.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { eventually, startEmulators } from '../helper.ts'

const RECORDS = 2100

const stack = await startEmulators(t)
const bucket = stack.config.aws.s3.bucket

/** An S3 client that counts what it sends: command, key or prefix, MaxKeys and StartAfter; and reads in flight. */
function countingClient () {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const sent: Array<{ command: string, key: string, maxKeys?: number, startAfter?: string }> = []
  let inFlight = 0
  let peak = 0
  s3.middlewareStack.add((next, context) => async args => {
    const input = args.input as { Key?: string, Prefix?: string, MaxKeys?: number, StartAfter?: string }
    sent.push({ command: (context.commandName ?? '').replace(/Command$/, ''), key: input.Key ?? input.Prefix ?? '', ...(input.MaxKeys ? { maxKeys: input.MaxKeys } : {}), ...(input.StartAfter ? { startAfter: input.StartAfter } : {}) })
    const read = context.commandName === 'GetObjectCommand'
    if (read) peak = Math.max(peak, ++inFlight)
    try { return await next(args) } finally { if (read) inFlight-- }
  }, { step: 'initialize', name: 'countRequests' })
  return {
    s3,
    sent,
    peak: () => peak,
    count: (command: string) => sent.filter(s => s.command === command).length,
    reset: () => { sent.length = 0; peak = 0 }
  }
}

const seeder = countingClient()
const addresses = Array.from({ length: RECORDS }, (_, i) => `many${i}@example.com`)
const at = new Date().toISOString()
await mapAll(addresses, 32, async address => {
  const key = randomBytes(32).toString('hex')
  const record: SubscriberRecord = {
    schemaVersion: 1, address, addressHash: key, status: 'pending', createdAt: at, updatedAt: at,
    signups: [{ at, slug: 'default', consentText: 'c', consentVersion: 'cv1', ip: '192.0.2.1', userAgent: 'ua' }], deliveries: []
  }
  await seeder.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `subscribers/${key}.json`, Body: JSON.stringify(record) }))
})

t.test('the export reads every record, a bounded number at a time, and stops reading when its reader stops', async t => {
  const { s3, count, peak, reset } = countingClient()
  reset()
  let rows = 0
  let text = ''
  for await (const chunk of exportCsv({ s3, bucket })) text += String(chunk)
  rows = text.split('\r\n').length - 2
  t.equal(rows, RECORDS, 'every record, once')
  t.equal(new Set(text.split('\r\n').slice(1, -1)).size, RECORDS)
  t.equal(count('ListObjectsV2'), 3, 'three pages of at most 1000 keys')
  t.equal(count('GetObject'), RECORDS, 'one read per record')
  t.ok(peak() <= 16 && peak() >= 2, `reads overlap, at most 16 in flight (peak ${peak()})`)

  // A reader that takes one chunk and stops: the export reads only what its buffers hold, then waits.
  reset()
  const paused = exportCsv({ s3, bucket })
  await new Promise<void>(resolve => paused.once('readable', () => { paused.read(); resolve() }))
  await eventually(() => count('GetObject') > 0 || undefined, { timeoutMs: 30_000 })
  const settled = await eventually(async () => {
    const before = count('GetObject')
    await sleep(300)
    return count('GetObject') === before ? before : undefined
  }, { timeoutMs: 30_000 })
  t.ok(settled > 0 && settled < 500, `a paused reader holds the export back (${settled} of ${RECORDS} records read)`)
  t.equal(leanHeapHolders(), 1, 'the paused export still holds the lean heap sizing')
  paused.destroy()
  await eventually(() => leanHeapHolders() === 0 || undefined, { timeoutMs: 30_000 })
  t.pass('a download cut off lets go of it')
})

t.test('the admin list: a page is one listing from the key before it, and the pages cover every record once', async t => {
  const { s3, sent, count, reset } = countingClient()
  const seen: string[] = []
  let after: string | undefined
  let pages = 0
  do {
    reset()
    const page = await signupPage({ s3, bucket, after, limit: 200 })
    pages++
    t.equal(count('ListObjectsV2'), 1, `page ${pages}: one ListObjectsV2`)
    t.match(sent[0], { key: 'subscribers/', maxKeys: 201, ...(after ? { startAfter: `subscribers/${after}.json` } : {}) }, 'from the last key of the page before, one more than a page')
    t.equal(count('GetObject'), page.rows.length, 'and one read per row: nothing else is read')
    t.ok(page.rows.length === 200 || page.next === undefined, 'full pages until the last')
    seen.push(...page.rows.map(r => r.address))
    after = page.next
  } while (after)
  t.equal(pages, Math.ceil(RECORDS / 200))
  t.equal(seen.length, RECORDS)
  t.same(new Set(seen), new Set(addresses), 'every record exactly once across the pages')
  const last = await signupPage({ s3, bucket, after: 'f'.repeat(64) })
  t.same(last, { rows: [] }, 'after the last key: an empty page, no next')
})

t.test('the sender\'s scan lists outbox/ only: its cost does not grow with the number of subscribers', async t => {
  const { sent, reset } = countingClient()
  const counted = countingClient()
  // The bucket's records are under ADDRESS_KEY from the start (no key migration pending to look for).
  await counted.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEYS_MARKER, Body: JSON.stringify({ schemaVersion: 1, migratedAt: at, moved: 0 }) }))
  const config = reconfigure(stack.config, { SENDER: 'off', RETENTION_SWEEP_SECONDS: '0' })
  const aws = createAwsClients(config, { credentials: stack.credentials })
  aws.s3.middlewareStack.add((next, context) => async args => {
    const input = args.input as { Key?: string, Prefix?: string }
    counted.sent.push({ command: (context.commandName ?? '').replace(/Command$/, ''), key: input.Key ?? input.Prefix ?? '' })
    return await next(args)
  }, { step: 'initialize', name: 'countScan' })
  const app = await buildApp(config, { aws }, { logger: false })
  t.teardown(async () => { await app.close(); aws.destroy() })
  await app.ready()
  reset()
  counted.reset()
  await app.outbox.scan()
  // (Other features may write their own objects meanwhile, e.g. the funnel's counts: not the scan's.)
  t.same(counted.sent.filter(s => s.command.startsWith('List')), [{ command: 'ListObjectsV2', key: 'outbox/' }], 'one listing, of outbox/')
  t.same(counted.sent.filter(s => s.key.startsWith('subscribers/')), [], `nothing under subscribers/ (${RECORDS} records there)`)
  t.same(sent, [])
})

t.test('/admin/signups.csv cut off by its client: the reads stop and the lean heap sizing is let go', async t => {
  const config = reconfigure(stack.config, { SENDER: 'off', RETENTION_SWEEP_SECONDS: '0', ADMIN_TOKEN: 'scale-admin-token-0123456789' })
  const aws = createAwsClients(config, { credentials: stack.credentials })
  let reads = 0
  aws.s3.middlewareStack.add((next, context) => async args => {
    if (context.commandName === 'GetObjectCommand' && String((args.input as { Key?: string }).Key).startsWith('subscribers/')) reads++
    return await next(args)
  }, { step: 'initialize', name: 'countReads' })
  const app = await buildApp(config, { aws }, { logger: false })
  t.teardown(async () => { await app.close(); aws.destroy() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const login = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: 'scale-admin-token-0123456789' } })
  const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
  const { port } = app.server.address() as { port: number }
  // A real socket, closed after the first chunk of rows (what a browser does when the download is cancelled).
  const first = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/admin/signups.csv', headers: { cookie } }, res => {
      res.once('data', (chunk: Buffer) => { req.destroy(); resolve(chunk.toString()) })
    })
    req.once('error', reject)
    req.end()
  })
  t.match(first, /^address,status,created/, 'the download had started')
  const settled = await eventually(async () => {
    const before = reads
    await sleep(300)
    return reads === before && leanHeapHolders() === 0 ? before : undefined
  }, { timeoutMs: 30_000 })
  t.ok(settled < RECORDS, `the reads stopped (${settled} of ${RECORDS} records read)`)
  t.equal(leanHeapHolders(), 0, 'and the scan let go of the lean heap sizing')
})
