// Signups export: CSV rows and escaping (RFC 4180, formula injection), the streamed scan (pages,
// bounded concurrency, key order, reading no further ahead than the consumer), counts, and the
// `npm run signups -- export` command as a real process against the S3 emulator.
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { parse } from 'csv-parse/sync'
import nock from 'nock'
import t from 'tap'
import { mapBounded } from '../../src/concurrency.ts'
import { csvWriter, exportCsv, scanSubscribers, signupStats, toCsvRow } from '../../src/subscribers/export.ts'
import { leanHeapHolders } from '../../src/subscribers/export-heap.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { keyOf } from '../aws-mocks.ts'
import { BUCKET, isolateNetwork, S3_HOST, startEmulators, TEST_CREDENTIALS, tempDir } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const XML = { 'Content-Type': 'application/xml' }

function record (address: string, extra: Partial<SubscriberRecord> = {}): SubscriberRecord {
  return {
    schemaVersion: 1,
    address,
    addressHash: keyOf(address),
    status: 'pending',
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
    signups: [{ at: '2026-03-01T10:00:00.000Z', slug: 'default', consentText: 'c', consentVersion: 'cv1', ip: '192.0.2.10', userAgent: 'ua' }],
    deliveries: [],
    ...extra
  }
}

async function csvOf (rows: object[]): Promise<string> {
  let out = ''
  const writer = csvWriter()
  const sink = new Writable({ write (chunk, _e, done) { out += String(chunk); done() } })
  const done = pipeline(writer, sink)
  for (const row of rows) writer.write(row)
  writer.end()
  await done
  return out
}

function s3 (t: { teardown: (fn: () => void) => void }) {
  const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 })
  t.teardown(() => client.destroy())
  return client
}

function listXml (keys: string[], next?: string): string {
  const contents = keys.map(k => `<Contents><Key>${k}</Key><Size>10</Size></Contents>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name>${next ? `<IsTruncated>true</IsTruncated><NextContinuationToken>${next}</NextContinuationToken>` : '<IsTruncated>false</IsTruncated>'}${contents}</ListBucketResult>`
}

t.test('a row: the columns, the latest consent and IP, every whitepaper asked for once', async t => {
  const r = record('ann@example.com', {
    status: 'confirmed',
    confirmation: { at: '2026-03-02T00:00:00.000Z', ip: '192.0.2.1', userAgent: 'x' },
    unsubscription: { at: '2026-03-03T00:00:00.000Z', ip: '192.0.2.1', userAgent: 'x', via: 'page' },
    signups: [
      { at: '2026-03-01T00:00:00.000Z', slug: 'q3', consentText: 'a', consentVersion: 'old', ip: '192.0.2.7', userAgent: 'x' },
      { at: '2026-03-02T00:00:00.000Z', slug: 'default', consentText: 'b', consentVersion: 'new', ip: '192.0.2.8', userAgent: 'x' },
      { at: '2026-03-03T00:00:00.000Z', slug: 'q3', consentText: 'b', consentVersion: 'new', ip: '2001:db8::1', userAgent: 'x' }
    ]
  })
  t.same(toCsvRow(r), {
    address: 'ann@example.com',
    status: 'confirmed',
    created: '2026-03-01T10:00:00.000Z',
    confirmed: '2026-03-02T00:00:00.000Z',
    unsubscribed: '2026-03-03T00:00:00.000Z',
    consentVersion: 'new',
    whitepapers: 'q3 default',
    signupIp: '2001:db8::1'
  })
  t.same(toCsvRow(record('x@example.com', { signups: [] })), {
    address: 'x@example.com', status: 'pending', created: '2026-03-01T10:00:00.000Z', confirmed: '', unsubscribed: '', consentVersion: '', whitepapers: '', signupIp: ''
  }, 'no submission on record: empty cells, not "undefined"')
})

t.test('RFC 4180 and formula injection: CRLF, quoting, doubled quotes; = + - @ tab CR prefixed with \'', async t => {
  const out = await csvOf([
    { address: '=HYPERLINK("http://evil.example","x")@example.com', status: 'pending', created: '+1', confirmed: '-2+3', unsubscribed: '@SUM(A1)', consentVersion: '\tTAB', whitepapers: '\rCR', signupIp: 'a,b' },
    { address: 'plain@example.com', status: 'line\nbreak', created: 'say "hi"', confirmed: '', unsubscribed: '', consentVersion: '', whitepapers: 'a b', signupIp: '' }
  ])
  t.equal(out,
    'address,status,created,confirmed,unsubscribed,consent_text_version,whitepapers_requested,signup_ip\r\n' +
    '"\'=HYPERLINK(""http://evil.example"",""x"")@example.com",pending,\'+1,\'-2+3,\'@SUM(A1),\'\tTAB,"\'\rCR","a,b"\r\n' +
    'plain@example.com,"line\nbreak","say ""hi""",,,,a b,\r\n')
  const parsed = parse(out, { columns: true, relax_quotes: false }) as Array<Record<string, string>>
  t.equal(parsed.length, 2, 'a strict RFC 4180 parser reads it back')
  t.equal(parsed[0]?.address, '\'=HYPERLINK("http://evil.example","x")@example.com')
  t.equal(parsed[1]?.status, 'line\nbreak')
})

t.test('mapBounded keeps input order, never exceeds its concurrency, and passes errors on', async t => {
  let inFlight = 0
  let peak = 0
  const out: number[] = []
  for await (const v of mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async n => {
    inFlight++
    peak = Math.max(peak, inFlight)
    await new Promise(resolve => setTimeout(resolve, n * 3))
    inFlight--
    return n * 10
  })) out.push(v)
  t.same(out, [50, 10, 40, 20, 30, 0, 60])
  t.equal(peak, 3)
  const failing = (async () => {
    for await (const _ of mapBounded([1, 2, 3], 2, async n => { if (n === 2) throw new Error('boom'); return n })) { /* drain */ }
  })()
  await t.rejects(failing, /boom/)
})

t.test('the scan: every page, subscriber keys only, key order, bounded concurrency, no read-ahead past the consumer', async t => {
  isolateNetwork(t)
  const addresses = Array.from({ length: 12 }, (_, i) => `reader${i}@example.com`)
  const keys = addresses.map(a => `subscribers/${keyOf(a)}.json`).sort()
  const byKey = new Map(addresses.map(a => [`subscribers/${keyOf(a)}.json`, a]))
  const pages = nock(S3_HOST)
    // Only subscriber records are listed: another prefix would match nothing and fail the scan.
    .get('/').query(q => q['list-type'] === '2' && q.prefix === 'subscribers/' && !q['continuation-token'])
    .reply(200, listXml([...keys.slice(0, 6), 'subscribers/not-a-record.txt'], 'next'), XML)
    .get('/').query(q => q['list-type'] === '2' && q.prefix === 'subscribers/' && q['continuation-token'] === 'next')
    .reply(200, listXml(keys.slice(6)), XML)
  let fetched = 0
  for (const key of keys) {
    nock(S3_HOST).get(`/${key}`).query(true).delay(5).reply(() => {
      fetched++
      // One record vanished between the listing and the read.
      if (key === keys[3]) return [404, '<Error><Code>NoSuchKey</Code></Error>', XML]
      return [200, JSON.stringify(record(byKey.get(key) ?? '')), { 'Content-Type': 'application/json' }]
    })
  }
  const client = s3(t)
  // Reads in flight, as the SDK sees them (from the call to its answer).
  let inFlight = 0
  let peak = 0
  client.middlewareStack.add((next, context) => async args => {
    if (context.commandName !== 'GetObjectCommand') return await next(args)
    inFlight++
    peak = Math.max(peak, inFlight)
    try { return await next(args) } finally { inFlight-- }
  }, { step: 'initialize', name: 'countInFlight' })

  const seen: string[] = []
  for await (const r of scanSubscribers({ s3: client, bucket: BUCKET, concurrency: 4 })) {
    seen.push(r.address)
    if (seen.length === 2) {
      // The consumer is slow here: nothing more than the window may be read meanwhile.
      await new Promise(resolve => setTimeout(resolve, 50))
      t.ok(fetched <= 2 + 4 + 1, `read ahead by at most the window (fetched ${fetched} while 2 were consumed)`)
    }
  }
  t.ok(pages.isDone(), 'both pages listed')
  t.same(seen, keys.filter(k => k !== keys[3]).map(k => byKey.get(k)), 'in key order, the vanished record skipped, the non-record key ignored')
  t.ok(peak <= 4, `at most 4 reads in flight (peak ${peak})`)
  t.ok(peak >= 2, 'but more than one: the reads overlap')
})

t.test('an S3 failure midway ends the CSV stream with the error', async t => {
  isolateNetwork(t)
  const keys = ['a', 'b'].map(a => `subscribers/${keyOf(a)}.json`)
  nock(S3_HOST).get('/').query(true).reply(200, listXml(keys), XML)
  nock(S3_HOST).get(`/${keys[0]}`).query(true).reply(200, JSON.stringify(record('a@example.com')))
  nock(S3_HOST).get(`/${keys[1]}`).query(true).reply(403, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>', XML)
  const csv = exportCsv({ s3: s3(t), bucket: BUCKET, concurrency: 1 })
  await t.rejects(pipeline(csv, new Writable({ write (_c, _e, done) { done() } })), { name: 'AccessDenied' })
  t.equal(leanHeapHolders(), 0, 'the failed scan let go of the lean heap sizing')
})

t.test('a scan holds the lean heap sizing (src/subscribers/export-heap.ts) from its start to its end, or until it is stopped', async t => {
  isolateNetwork(t)
  const keys = ['a', 'b', 'c'].map(a => `subscribers/${keyOf(a)}.json`).sort()
  nock(S3_HOST).get('/').query(true).times(2).reply(200, listXml(keys), XML)
  for (const key of keys) nock(S3_HOST).get(`/${key}`).query(true).times(2).reply(200, JSON.stringify(record('a@example.com')))
  const held: number[] = []
  for await (const _ of scanSubscribers({ s3: s3(t), bucket: BUCKET, concurrency: 1 })) held.push(leanHeapHolders())
  t.same(held, [1, 1, 1], 'held while every record is read')
  t.equal(leanHeapHolders(), 0, 'let go at the end')
  // A download cut off: Readable.from returns the generator, as this does.
  const scan = scanSubscribers({ s3: s3(t), bucket: BUCKET, concurrency: 1 })
  await scan.next()
  t.equal(leanHeapHolders(), 1)
  await scan.return(undefined)
  t.equal(leanHeapHolders(), 0, 'let go when stopped')
})

t.test('counts by status and by day, within the window', async t => {
  isolateNetwork(t)
  const records = [
    record('a@example.com', { status: 'confirmed', createdAt: '2026-03-04T08:00:00.000Z', confirmation: { at: '2026-03-05T09:00:00.000Z', ip: '', userAgent: '' } }),
    record('b@example.com', { status: 'pending', createdAt: '2026-03-05T08:00:00.000Z', signups: [
      { at: '2026-03-05T08:00:00.000Z', slug: 'default', consentText: '', consentVersion: '', ip: '', userAgent: '' },
      { at: '2026-03-05T09:00:00.000Z', slug: 'default', consentText: '', consentVersion: '', ip: '', userAgent: '' }
    ] }),
    record('c@example.com', { status: 'unsubscribed', createdAt: '2025-01-01T00:00:00.000Z', signups: [], unsubscription: { at: '2026-03-05T10:00:00.000Z', ip: '', userAgent: '', via: 'one-click' } })
  ]
  const keys = records.map(r => `subscribers/${r.addressHash}.json`)
  nock(S3_HOST).get('/').query(true).reply(200, listXml(keys), XML)
  for (const [i, key] of keys.entries()) nock(S3_HOST).get(`/${key}`).query(true).reply(200, JSON.stringify(records[i]))
  const stats = await signupStats({ s3: s3(t), bucket: BUCKET, days: 30, now: () => Date.parse('2026-03-05T12:00:00Z') })
  t.same(stats, {
    total: 3,
    byStatus: { pending: 1, confirmed: 1, unsubscribed: 1, suppressed: 0 },
    byDay: [
      { day: '2026-03-05', created: 1, submissions: 2, confirmed: 1, unsubscribed: 1 },
      { day: '2026-03-04', created: 1, submissions: 0, confirmed: 0, unsubscribed: 0 },
      { day: '2026-03-01', created: 0, submissions: 1, confirmed: 0, unsubscribed: 0 }
    ]
  }, 'a 2025 signup counts by status, not in the 30-day table')
})

t.test('npm run signups -- export: to a file or stdout, filtered by status; bad arguments', async t => {
  const stack = await startEmulators(t)
  const bucket = stack.config.aws.s3.bucket
  const client = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => client.destroy())
  const people = [
    record('one@example.com', { status: 'confirmed' }),
    record('two@example.com'),
    record('=three@example.com', { status: 'confirmed' })
  ]
  for (const r of people) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `subscribers/${r.addressHash}.json`, Body: JSON.stringify(r) }))
  }
  const env = childEnv({
    S3_BUCKET: bucket,
    S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1'
  })
  const dir = await tempDir(t)
  const out = join(dir, 'signups.csv')
  const toFile = await runNode(t, ['scripts/signups.ts', 'export', '--out', out], env)
  t.equal(toFile.code, 0, toFile.stderr)
  t.equal(toFile.stdout, '')
  t.equal(toFile.stderr, `exported 3 signups to ${out}\n`)
  const rows = parse(await readFile(out, 'utf8'), { columns: true }) as Array<Record<string, string>>
  t.same(rows.map(r => r.address).sort(), ["'=three@example.com", 'one@example.com', 'two@example.com'])
  t.equal((await stat(out)).mode & 0o777, 0o600, 'addresses are personal data: the file is private')

  const confirmed = await runNode(t, ['scripts/signups.ts', 'export', '--status', 'confirmed'], env)
  t.equal(confirmed.code, 0, confirmed.stderr)
  t.equal(confirmed.stderr, 'exported 2 signups with status confirmed\n')
  t.same((parse(confirmed.stdout, { columns: true }) as Array<Record<string, string>>).map(r => r.status), ['confirmed', 'confirmed'], 'the CSV goes to stdout')

  const badStatus = await runNode(t, ['scripts/signups.ts', 'export', '--status', 'everyone'], env)
  t.equal(badStatus.code, 2)
  t.match(badStatus.stderr, '--status must be one of pending, confirmed, unsubscribed, suppressed')
  const unknown = await runNode(t, ['scripts/signups.ts', 'import'], env)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, 'unknown command "import"')
})
