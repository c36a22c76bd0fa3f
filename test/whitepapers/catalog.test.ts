// Catalog: what publish and activate write to S3 (nock), caching of the pointer, refusing bad input.
import t from 'tap'
import { createHash } from 'node:crypto'
import nock from 'nock'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.ts'
import { isolateNetwork, S3_HOST, BUCKET } from '../helper.ts'
import { at, listXml, meta, NOT_FOUND, PDF, PRECONDITION, s3, type Seen, seen, stored, V1, V2, XML } from './catalog-support.ts'

t.test('publish writes an immutable version, then switches current.json conditionally', async t => {
  isolateNetwork(t)
  const puts: Seen[] = []
  const sha = createHash('sha256').update(PDF).digest('hex')
  const versionKey = `/whitepapers/q3/versions/20260304T050607Z-${sha.slice(0, 8)}/Q3-report.pdf`
  const metaPath = `/whitepapers/q3/versions/20260304T050607Z-${sha.slice(0, 8)}/meta.json`
  const scope = nock(S3_HOST)
    .put(versionKey).query(true).reply(200, '', { ETag: '"v"' })
    .get('/whitepapers/q3/current.json').query(true).reply(404, NOT_FOUND, { 'Content-Type': 'application/xml' })
    .put(metaPath).query(true).reply(200, '', { ETag: '"m"' })
    .put('/whitepapers/q3/current.json').query(true).reply(200, '', { ETag: '"p"' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at.getTime() })
  const pointer = await catalog.publish({ slug: 'q3', bytes: PDF, filename: 'Q3 report.pdf', title: 'Q3 Report' })
  t.ok(scope.isDone())
  t.same(puts.map(p => p.path), [versionKey, metaPath, '/whitepapers/q3/current.json'], 'bytes, then meta.json, then the pointer')
  const [version, meta, current] = puts
  t.equal(version?.headers['if-none-match'], '*', 'a version is never overwritten')
  t.equal(version?.headers['content-type'], 'application/pdf')
  t.equal(version?.headers['content-disposition'], 'attachment; filename="Q3 report.pdf"')
  t.equal(version?.headers['x-amz-meta-sha256'], sha)
  t.equal(version?.body, PDF.toString())
  t.equal(meta?.headers['if-none-match'], '*', 'meta.json is written once, like the bytes')
  t.same(JSON.parse(meta?.body ?? '{}'), {
    slug: 'q3',
    version: `20260304T050607Z-${sha.slice(0, 8)}`,
    key: versionKey.slice(1),
    filename: 'Q3 report.pdf',
    title: 'Q3 Report',
    description: '',
    size: PDF.byteLength,
    sha256: sha,
    createdAt: at.toISOString(),
    source: 'publish',
    etag: '"v"'
  }, 'meta.json holds everything a pointer needs, and the ETag of the bytes')
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
  const previous = stored({ title: 'Kept title', description: 'Kept description' })
  const scope = nock(S3_HOST)
    .put(/\/whitepapers\/default\/versions\/.+\/paper\.pdf/).query(true).reply(200, '', { ETag: '"v"' })
    .get('/whitepapers/default/current.json').query(true).reply(200, JSON.stringify(previous), { ETag: '"old"' })
    .put(/\/whitepapers\/default\/versions\/.+\/meta\.json/).query(true).reply(200, '', { ETag: '"m"' })
    .put('/whitepapers/default/current.json').query(true).reply(412, PRECONDITION, { 'Content-Type': 'application/xml' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at.getTime() })
  const err = await catalog.publish({ bytes: PDF, filename: 'paper.pdf' }).catch(e => e)
  t.ok(scope.isDone())
  t.type(err, ConflictError)
  t.equal(err.code, 'publish_conflict')
  t.match(err.message, /is uploaded but not active\. Activate it with: npm run whitepaper -- activate 20260304T050607Z-[0-9a-f]{8} --slug default/)
  t.equal(puts[2]?.headers['if-match'], '"old"')
  t.match(JSON.parse(puts[1]?.body ?? '{}'), { title: 'Kept title', description: 'Kept description' }, 'meta.json keeps the title')
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
t.test('publish refuses a file over maxBytes before writing anything', async t => {
  isolateNetwork(t)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const err = await catalog.publish({ bytes: PDF, filename: 'x.pdf', maxBytes: PDF.byteLength - 1 }).catch(e => e)
  t.type(err, ValidationError)
  t.equal(err.code, 'file_too_large')
  const title = await catalog.publish({ bytes: PDF, filename: 'x.pdf', title: ' ' }).catch(e => e)
  t.equal(title.code, 'title_invalid')
})
t.test('publish stores every file as a .pdf, whatever its name', async t => {
  isolateNetwork(t)
  const puts: Seen[] = []
  const scope = nock(S3_HOST)
    .put(/\/whitepapers\/q3\/versions\/[^/]+\/meta\.json\.pdf$/).query(true).reply(200, '', { ETag: '"v"' })
    .get('/whitepapers/q3/current.json').query(true).reply(404, NOT_FOUND, XML)
    .put(/\/whitepapers\/q3\/versions\/[^/]+\/meta\.json$/).query(true).reply(200, '', { ETag: '"m"' })
    .put('/whitepapers/q3/current.json').query(true).reply(200, '', { ETag: '"p"' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at.getTime() })
  const pointer = await catalog.publish({ slug: 'q3', bytes: PDF, filename: 'meta.json' })
  t.ok(scope.isDone())
  t.equal(pointer.filename, 'meta.json.pdf')
  t.match(pointer.key, /\/meta\.json\.pdf$/)
  t.equal(pointer.title, 'meta.json')
  t.equal(puts[0]?.headers['content-disposition'], 'attachment; filename="meta.json.pdf"')
})

t.test('pointer cache: re-read after the refresh interval; S3 errors keep the last known pointer', async t => {
  isolateNetwork(t)
  const v1 = stored({ version: 'v1' })
  const v2 = stored({ version: 'v2' })
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
  const scope = nock(S3_HOST).get('/whitepapers/default/current.json').query(true).delay(50).reply(200, JSON.stringify(stored({ version: 'v1' })))
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const results = await Promise.all(Array.from({ length: 20 }, () => catalog.current('default')))
  t.ok(scope.isDone())
  t.ok(results.every(r => r?.version === 'v1'))
})
t.test('slugs: one ListObjectsV2 with Delimiter=/ per page, every page followed', async t => {
  isolateNetwork(t)
  const queries: Array<Record<string, string>> = []
  const scope = nock(S3_HOST)
    .get('/').query(q => { queries.push(q as Record<string, string>); return !q['continuation-token'] })
    .reply(200, listXml({ prefixes: ['whitepapers/default/', 'whitepapers/q3/'], truncated: 'page2' }), XML)
    .get('/').query(q => { queries.push(q as Record<string, string>); return q['continuation-token'] === 'page2' })
    .reply(200, listXml({ prefixes: ['whitepapers/Not_A_Slug/', 'whitepapers/a-1/'] }), XML)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  t.same(await catalog.slugs(), ['a-1', 'default', 'q3'], 'valid slugs from every page, sorted')
  t.ok(scope.isDone())
  t.match(queries[0], { 'list-type': '2', prefix: 'whitepapers/', delimiter: '/' })
})

t.test('activate: reads meta.json, checks the bytes are the ones checked, switches the pointer with If-Match', async t => {
  isolateNetwork(t)
  const puts: Seen[] = []
  const current = { ...meta(V2), activatedAt: '2026-03-02T00:00:00.000Z' }
  const scope = nock(S3_HOST)
    .get('/').query(q => q.prefix === `whitepapers/q3/versions/${V1}/`)
    .reply(200, listXml({ keys: [{ key: `whitepapers/q3/versions/${V1}/meta.json` }, { key: `whitepapers/q3/versions/${V1}/q3.pdf`, size: 1234 }] }), XML)
    .get(`/whitepapers/q3/versions/${V1}/meta.json`).query(true).reply(200, JSON.stringify(meta(V1)))
    .head(`/whitepapers/q3/versions/${V1}/q3.pdf`).query(true).reply(200, '', { ETag: `"etag-${V1}"`, 'Content-Length': '1234' })
    .get('/whitepapers/q3/current.json').query(true).reply(200, JSON.stringify(current), { ETag: '"ptr-1"' })
    .put('/whitepapers/q3/current.json').query(true).reply(200, '', { ETag: '"ptr-2"' })
  seen(scope, puts)
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, now: () => at.getTime() })
  const pointer = await catalog.activate('q3', V1)
  t.ok(scope.isDone())
  t.equal(puts.length, 1, 'one write: the pointer')
  t.equal(puts[0]?.headers['if-match'], '"ptr-1"', 'conditional on the pointer as read')
  const { createdAt: _c, source: _s, etag: _e, ...fields } = meta(V1)
  t.same(pointer, { ...fields, activatedAt: at.toISOString() }, 'the pointer is rebuilt from meta.json')
  t.same(JSON.parse(puts[0]?.body ?? '{}'), pointer)
  t.same(await catalog.current('q3'), pointer, 'this instance sees the switch at once')
})

t.test('activate refuses bytes that changed after the check, and an unknown version or slug', async t => {
  isolateNetwork(t)
  nock(S3_HOST)
    .get('/').query(q => q.prefix === `whitepapers/q3/versions/${V1}/`)
    .reply(200, listXml({ keys: [{ key: `whitepapers/q3/versions/${V1}/meta.json` }, { key: `whitepapers/q3/versions/${V1}/q3.pdf` }] }), XML)
    .get(`/whitepapers/q3/versions/${V1}/meta.json`).query(true).reply(200, JSON.stringify(meta(V1)))
    .head(`/whitepapers/q3/versions/${V1}/q3.pdf`).query(true).reply(200, '', { ETag: '"something-else"' })
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const changed = await catalog.activate('q3', V1).catch(e => e)
  t.type(changed, ConflictError)
  t.equal(changed.code, 'version_changed')

  nock(S3_HOST)
    .get('/').query(q => q.prefix === `whitepapers/q3/versions/${V2}/`).reply(200, listXml({}), XML)
    .get('/').query(q => q.prefix === 'whitepapers/q3/' && q.delimiter === '/').reply(200, listXml({ keys: [{ key: 'whitepapers/q3/current.json' }], prefixes: ['whitepapers/q3/versions/'] }), XML)
  const unknown = await catalog.activate('q3', V2).catch(e => e)
  t.type(unknown, NotFoundError)
  t.equal(unknown.code, 'version_not_found')

  nock(S3_HOST)
    .get('/').query(q => q.prefix === `whitepapers/nope/versions/${V2}/`).reply(200, listXml({}), XML)
    .get('/').query(q => q.prefix === 'whitepapers/nope/').reply(200, listXml({}), XML)
  const noSlug = await catalog.activate('nope', V2).catch(e => e)
  t.equal(noSlug.code, 'whitepaper_not_found')

  const badVersion = await catalog.activate('q3', 'latest').catch(e => e)
  t.equal(badVersion.code, 'version_invalid', 'a malformed version is refused before any request')
  t.equal(nock.pendingMocks().length, 0)
})
t.test('activate refuses a file whose size is not the one checked', async t => {
  isolateNetwork(t)
  nock(S3_HOST)
    .get('/').query(q => q.prefix === `whitepapers/q3/versions/${V1}/`)
    .reply(200, listXml({ keys: [{ key: `whitepapers/q3/versions/${V1}/meta.json` }, { key: `whitepapers/q3/versions/${V1}/q3.pdf` }] }), XML)
    .get(`/whitepapers/q3/versions/${V1}/meta.json`).query(true).reply(200, JSON.stringify(meta(V1)))
    .head(`/whitepapers/q3/versions/${V1}/q3.pdf`).query(true).reply(200, '', { ETag: `"etag-${V1}"`, 'Content-Length': '999' })
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  t.equal((await catalog.activate('q3', V1).catch(e => e)).code, 'version_changed')
})
