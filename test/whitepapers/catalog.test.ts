// Catalog: what publish writes to S3 (nock), caching of the pointer, and refusing bad files.
import t from 'tap'
import { createHash } from 'node:crypto'
import nock from 'nock'
import { S3Client } from '@aws-sdk/client-s3'
import { createCatalog, type WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { ConflictError, ValidationError } from '../../src/errors.ts'
import { isolateNetwork, S3_HOST, BUCKET, TEST_CREDENTIALS } from '../helper.ts'

const PDF = Buffer.from('%PDF-1.4\n% test\n%%EOF\n')
const NOT_FOUND = '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'
const PRECONDITION = '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'

function s3 (t: { teardown: (fn: () => void) => void }) {
  const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 })
  t.teardown(() => client.destroy())
  return client
}

interface Seen { path: string, headers: Record<string, string>, body: string }
function seen (scope: nock.Scope, into: Seen[]) {
  scope.on('request', (req: Request, _i: unknown, body: string) => {
    into.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers.entries()), body })
  })
}

const at = new Date('2026-03-04T05:06:07.890Z')

t.test('publish writes an immutable version, then switches current.json conditionally', async t => {
  isolateNetwork(t)
  const puts: Seen[] = []
  const sha = createHash('sha256').update(PDF).digest('hex')
  const versionKey = `/whitepapers/q3/versions/20260304T050607Z-${sha.slice(0, 8)}/Q3-report.pdf`
  const scope = nock(S3_HOST)
    .put(versionKey).query(true).reply(200, '', { ETag: '"v"' })
    .get('/whitepapers/q3/current.json').query(true).reply(404, NOT_FOUND, { 'Content-Type': 'application/xml' })
    .put('/whitepapers/q3/current.json').query(true).reply(200, '', { ETag: '"p"' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at })
  const pointer = await catalog.publish({ slug: 'q3', bytes: PDF, filename: 'Q3 report.pdf', title: 'Q3 Report' })
  t.ok(scope.isDone())
  const [version, , current] = puts
  t.equal(version?.headers['if-none-match'], '*', 'a version is never overwritten')
  t.equal(version?.headers['content-type'], 'application/pdf')
  t.equal(version?.headers['content-disposition'], 'attachment; filename="Q3 report.pdf"')
  t.equal(version?.headers['x-amz-meta-sha256'], sha)
  t.equal(version?.body, PDF.toString())
  t.equal(current?.headers['if-none-match'], '*', 'first publish creates the pointer only if absent')
  t.same(JSON.parse(current?.body ?? '{}'), pointer)
  t.same(pointer, {
    slug: 'q3',
    version: `20260304T050607Z-${sha.slice(0, 8)}`,
    key: versionKey.slice(1),
    filename: 'Q3 report.pdf',
    title: 'Q3 Report',
    description: '',
    size: PDF.byteLength,
    sha256: sha,
    activatedAt: at.toISOString()
  })
  t.same(await catalog.current('q3'), pointer, 'served from cache without another request')
})

t.test('a second publish keeps the title and uses If-Match on the pointer; losing the race is a clear conflict', async t => {
  isolateNetwork(t)
  const puts: Seen[] = []
  const previous = { slug: 'default', title: 'Kept title', description: 'Kept description' }
  const scope = nock(S3_HOST)
    .put(/\/whitepapers\/default\/versions\/.+\/paper\.pdf/).query(true).reply(200, '', { ETag: '"v"' })
    .get('/whitepapers/default/current.json').query(true).reply(200, JSON.stringify(previous), { ETag: '"old"' })
    .put('/whitepapers/default/current.json').query(true).reply(412, PRECONDITION, { 'Content-Type': 'application/xml' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at })
  const err = await catalog.publish({ bytes: PDF, filename: 'paper.pdf' }).catch(e => e)
  t.type(err, ConflictError)
  t.equal(err.code, 'publish_conflict')
  t.equal(puts[2]?.headers['if-match'], '"old"')
  t.match(JSON.parse(puts[2]?.body ?? '{}'), { title: 'Kept title', description: 'Kept description' })
})

t.test('refuses what is not a PDF, or a bad slug, before writing anything', async t => {
  isolateNetwork(t)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const notPdf = await catalog.publish({ bytes: Buffer.from('<html>'), filename: 'x.pdf' }).catch(e => e)
  t.type(notPdf, ValidationError)
  t.equal(notPdf.code, 'not_a_pdf')
  const empty = await catalog.publish({ bytes: Buffer.alloc(0), filename: 'x.pdf' }).catch(e => e)
  t.equal(empty.code, 'not_a_pdf')
  const slug = await catalog.publish({ slug: 'Bad Slug', bytes: PDF, filename: 'x.pdf' }).catch(e => e)
  t.equal(slug.code, 'slug_invalid')
  t.equal(nock.pendingMocks().length, 0)
})

t.test('pointer cache: re-read after the refresh interval; S3 errors keep the last known pointer', async t => {
  isolateNetwork(t)
  const v1 = { slug: 'default', version: 'v1' } as WhitepaperPointer
  const v2 = { slug: 'default', version: 'v2' } as WhitepaperPointer
  nock(S3_HOST)
    .get('/whitepapers/default/current.json').query(true).reply(200, JSON.stringify(v1))
    .get('/whitepapers/default/current.json').query(true).reply(200, JSON.stringify(v2))
    .get('/whitepapers/default/current.json').query(true).reply(500, '<Error><Code>InternalError</Code></Error>')
  const warnings: string[] = []
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 0, log: { warn: (_o, msg) => warnings.push(msg) } })
  t.equal((await catalog.current('default'))?.version, 'v1')
  t.equal((await catalog.current('default'))?.version, 'v2', 'a swap is picked up once the cache is stale')
  t.equal((await catalog.current('default'))?.version, 'v2', 'an S3 error serves the cached pointer')
  t.same(warnings, ['catalog refresh failed; serving the cached pointer'])
})

t.test('concurrent reads share one S3 request', async t => {
  isolateNetwork(t)
  const scope = nock(S3_HOST).get('/whitepapers/default/current.json').query(true).delay(50).reply(200, JSON.stringify({ version: 'v1' }))
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const results = await Promise.all(Array.from({ length: 20 }, () => catalog.current('default')))
  t.ok(scope.isDone())
  t.ok(results.every(r => r?.version === 'v1'))
})
