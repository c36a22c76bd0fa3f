// Browser uploads: exactly what the presigned POST is asked for and what its signed policy says (the S3
// emulator checks neither signatures nor policies, so the policy is checked here), the refusals, and
// the exact S3 requests of the check: staging object read with If-Match, copied with
// x-amz-copy-source-if-match and If-None-Match, meta.json with the copy's ETag, staging deleted.
import { createHash } from 'node:crypto'
import { S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post'
import nock from 'nock'
import t from 'tap'
import { ConflictError, ValidationError } from '../../src/errors.ts'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { createUploads, type Presign, stagingKey, UPLOAD_POST_TTL_SECONDS } from '../../src/whitepapers/uploads.ts'
import { BUCKET, isolateNetwork, TEST_CREDENTIALS } from '../helper.ts'

const MAX = 5 * 1024 * 1024
const at = new Date('2026-03-04T05:06:07.890Z')
const HOST = `https://${BUCKET}.s3.eu-west-1.amazonaws.com`

function setup (t: { teardown: (fn: () => void) => void }, presign?: Presign) {
  const s3 = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 })
  t.teardown(() => s3.destroy())
  const catalog = createCatalog({ s3, bucket: BUCKET, refreshMs: 0 })
  return createUploads({ s3, bucket: BUCKET, catalog, maxBytes: MAX, now: () => at.getTime(), ...(presign ? { presign } : {}) })
}

t.test('createPresignedPost gets the exact staging key, the size range, the PDF content type and a short expiry', async t => {
  isolateNetwork(t)
  const calls: PresignedPostOptions[] = []
  const uploads = setup(t, async (_client, options) => {
    calls.push(options)
    return { url: 'https://bucket.example/', fields: { key: options.Key, Policy: 'p' } }
  })
  const ticket = await uploads.start('q3', { filename: 'Q3 Report é.pdf', size: 1234 })
  t.equal(calls.length, 1)
  const [options] = calls
  t.match(ticket.version, /^20260304T050607Z-[0-9a-f]{8}$/)
  t.same(options, {
    Bucket: BUCKET,
    Key: `uploads/q3/${ticket.version}/upload.pdf`,
    Conditions: [
      ['content-length-range', 1, MAX],
      ['eq', '$Content-Type', 'application/pdf']
    ],
    Fields: { 'Content-Type': 'application/pdf' },
    Expires: UPLOAD_POST_TTL_SECONDS
  })
  t.ok(UPLOAD_POST_TTL_SECONDS <= 900, 'the POST works for minutes, not hours')
  t.same(ticket, {
    slug: 'q3',
    version: ticket.version,
    key: options?.Key,
    filename: 'Q3 Report é.pdf',
    url: 'https://bucket.example/',
    fields: { key: options?.Key, Policy: 'p' },
    expiresAt: new Date(at.getTime() + UPLOAD_POST_TTL_SECONDS * 1000).toISOString(),
    maxBytes: MAX
  })
  const second = await uploads.start('q3', { filename: 'Q3 Report é.pdf', size: 1234 })
  t.not(second.key, ticket.key, 'every upload gets its own staging key')
})

t.test('whatever the name, an upload is a .pdf written at a staging key outside whitepapers/', async t => {
  isolateNetwork(t)
  const calls: PresignedPostOptions[] = []
  const uploads = setup(t, async (_client, options) => {
    calls.push(options)
    return { url: 'https://bucket.example/', fields: { key: options.Key } }
  })
  const long = `${'a'.repeat(300)}.txt`
  for (const [given, filename] of [
    ['meta.json', 'meta.json.pdf'],
    ['../../current.json', 'current.json.pdf'],
    ['report.PDF', 'report.pdf'],
    ['notes.html', 'notes.html.pdf'],
    ['.pdf', 'whitepaper.pdf'],
    [long, `${long.slice(0, 251)}.pdf`]
  ] as const) {
    const ticket = await uploads.start('q3', { filename: given, size: 100 })
    t.equal(ticket.filename, filename, `${given.slice(0, 20)} → ${filename.slice(0, 20)}`)
    t.ok(ticket.filename.length <= 255, 'within the name limit')
    t.equal(ticket.key, `uploads/q3/${ticket.version}/upload.pdf`, 'the staging key, whatever the name')
    t.equal(ticket.key, stagingKey('q3', ticket.version))
    t.equal(calls.at(-1)?.Key, ticket.key, 'the POST may write that key only')
  }
  t.notOk(calls.some(c => c.Key.startsWith('whitepapers/')), 'no POST can ever write under whitepapers/')
})

t.test('the real signed policy: exact key, bucket, 1..max bytes, application/pdf, expiry; SigV4 fields', async t => {
  isolateNetwork(t)
  const before = Date.now()
  const uploads = setup(t, createPresignedPost as unknown as Presign)
  const ticket = await uploads.start('default', { filename: 'meta.json', size: 4096 })
  t.equal(ticket.key, `uploads/default/${ticket.version}/upload.pdf`)
  t.equal(ticket.url, `https://${BUCKET}.s3.eu-west-1.amazonaws.com/`, 'the POST goes straight to the bucket')
  const policy = JSON.parse(Buffer.from(ticket.fields.Policy ?? '', 'base64').toString('utf8')) as { expiration: string, conditions: unknown[] }
  const expires = Date.parse(policy.expiration)
  t.ok(expires >= before + UPLOAD_POST_TTL_SECONDS * 1000 - 2000 && expires <= Date.now() + UPLOAD_POST_TTL_SECONDS * 1000 + 1000, 'expires UPLOAD_POST_TTL_SECONDS from now')
  t.has(policy.conditions, [
    ['content-length-range', 1, MAX],
    ['eq', '$Content-Type', 'application/pdf']
  ])
  t.ok(policy.conditions.some(c => JSON.stringify(c) === JSON.stringify({ key: ticket.key })), 'the key is an exact match, not starts-with')
  t.notOk(policy.conditions.some(c => Array.isArray(c) && c[0] === 'starts-with'), 'no starts-with condition at all')
  t.ok(policy.conditions.some(c => JSON.stringify(c) === JSON.stringify({ bucket: BUCKET })))
  t.ok(policy.conditions.some(c => JSON.stringify(c) === JSON.stringify({ 'Content-Type': 'application/pdf' })))
  t.has(ticket.fields, {
    key: ticket.key,
    'Content-Type': 'application/pdf',
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    bucket: BUCKET
  })
  t.match(ticket.fields['X-Amz-Credential'], /^AKIDTESTTESTTEST\/\d{8}\/eu-west-1\/s3\/aws4_request$/)
  t.match(ticket.fields['X-Amz-Signature'], /^[0-9a-f]{64}$/)
  t.equal(await uploads.postOrigin(), `https://${BUCKET}.s3.eu-west-1.amazonaws.com`, 'the origin the admin CSP allows to connect to')
})

t.test('start refuses a file over the limit, an empty one, a bad slug and a nameless file before signing', async t => {
  isolateNetwork(t)
  let signed = 0
  const uploads = setup(t, async () => { signed++; return { url: 'x', fields: {} } })
  const big = await uploads.start('q3', { filename: 'big.pdf', size: MAX + 1 }).catch(e => e)
  t.type(big, ValidationError)
  t.equal(big.code, 'file_too_large')
  t.equal((await uploads.start('q3', { filename: 'tiny.pdf', size: 4 }).catch(e => e)).code, 'not_a_pdf')
  t.equal((await uploads.start('Bad Slug', { filename: 'a.pdf', size: 100 }).catch(e => e)).code, 'slug_invalid')
  t.equal((await uploads.start('q3', { filename: '/', size: 100 }).catch(e => e)).code, 'filename_invalid')
  t.equal(signed, 0, 'nothing signed')
  const exact = await uploads.start('q3', { filename: 'max.pdf', size: MAX })
  t.ok(exact.key, 'exactly the limit is fine')
})

const V = '20260304T050607Z-0badc0de'
const STAGING = `/uploads/q3/${V}/upload.pdf`
const META = `/whitepapers/q3/versions/${V}/meta.json`
const XML = { 'Content-Type': 'application/xml' }
const NOT_FOUND = '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'
const PRECONDITION = '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'
const PDF = Buffer.from(`%PDF-1.4\n% checked bytes\n${'x'.repeat(200)}\n%%EOF\n`, 'latin1')
const SHA = createHash('sha256').update(PDF).digest('hex')

interface Sent { method: string, path: string, headers: Record<string, string>, body: string }
function record (scope: nock.Scope, into: Sent[]) {
  scope.on('request', (req: Request, _i: unknown, body: string) => {
    into.push({ method: req.method, path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers.entries()), body })
  })
}
const copyResult = (etag: string) => `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><LastModified>2026-03-04T05:06:08.000Z</LastModified><ETag>${etag}</ETag></CopyObjectResult>`

t.test('verify: checks the staging object, copies exactly those bytes (If-Match on its ETag), records the copy\'s ETag', async t => {
  isolateNetwork(t)
  const sent: Sent[] = []
  const versionPath = `/whitepapers/q3/versions/${V}/meta.json.pdf`
  const scope = nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"', 'Content-Range': `bytes 0-4/${PDF.length}` })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(200, copyResult('"copied"'), XML)
    .put(META).query(true).reply(200, '', { ETag: '"m"' })
    .delete(STAGING).query(true).reply(204)
  record(scope, sent)
  const uploads = setup(t)
  // Named meta.json on purpose: it becomes meta.json.pdf and never the version's meta.json.
  const meta = await uploads.verify('q3', V, { filename: 'meta.json', title: 'Q3' })
  t.ok(scope.isDone())
  t.same(sent.map(r => `${r.method} ${r.path}`), [
    `GET ${META}`, `HEAD ${STAGING}`, `GET ${STAGING}`, `GET ${STAGING}`, `PUT ${versionPath}`, `PUT ${META}`, `DELETE ${STAGING}`
  ], 'meta.json absent → staging checked → copied → recorded → staging deleted')
  const [, , magic, full, copy, written] = sent
  t.equal(magic?.headers.range, 'bytes=0-4', 'the first five bytes decide first')
  t.equal(magic?.headers['if-match'], '"staged"', 'every read is of the object the HEAD saw')
  t.equal(full?.headers['if-match'], '"staged"')
  t.equal(copy?.headers['x-amz-copy-source'], `${BUCKET}/uploads/q3/${V}/upload.pdf`, 'a copy of the staging object')
  t.equal(copy?.headers['x-amz-copy-source-if-match'], '"staged"', 'only if it is still the bytes that were hashed')
  t.equal(copy?.headers['if-none-match'], '*', 'into a version key nobody wrote yet')
  t.equal(copy?.headers['x-amz-metadata-directive'], 'REPLACE', 'with the server\'s headers, not the POST\'s')
  t.equal(copy?.headers['content-type'], 'application/pdf')
  t.equal(copy?.headers['content-disposition'], 'attachment; filename="meta.json.pdf"')
  t.equal(copy?.headers['x-amz-meta-sha256'], SHA)
  t.equal(written?.headers['if-none-match'], '*', 'meta.json is written once')
  const stored = JSON.parse(written?.body ?? '{}')
  t.same(stored, {
    slug: 'q3',
    version: V,
    key: versionPath.slice(1),
    filename: 'meta.json.pdf',
    title: 'Q3',
    description: '',
    size: PDF.length,
    sha256: SHA,
    createdAt: at.toISOString(),
    source: 'upload',
    etag: '"copied"'
  }, 'the ETag recorded is the copy\'s, which activation compares')
  t.same(meta, stored)
})

t.test('verify: the staging object replaced between the check and the copy is refused (412 on the copy source)', async t => {
  isolateNetwork(t)
  const sent: Sent[] = []
  const versionPath = `/whitepapers/q3/versions/${V}/paper.pdf`
  const scope = nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(412, PRECONDITION, XML)
    .head(versionPath).query(true).reply(404, '')
  record(scope, sent)
  const err = await setup(t).verify('q3', V, { filename: 'paper.pdf' }).catch(e => e)
  t.ok(scope.isDone())
  t.type(err, ConflictError)
  t.equal(err.code, 'upload_changed')
  t.notOk(sent.some(r => r.path === META && r.method === 'PUT'), 'no meta.json: the version cannot be activated')
})

t.test('verify: a 412 on a read (the object changed after the HEAD) is refused too', async t => {
  isolateNetwork(t)
  nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(412, PRECONDITION, XML)
  const err = await setup(t).verify('q3', V, { filename: 'paper.pdf' }).catch(e => e)
  t.equal(err.code, 'upload_changed')
  t.equal(nock.pendingMocks().length, 0)
})

t.test('verify: a retry after the copy (meta.json not yet written) finishes with the copy already there', async t => {
  isolateNetwork(t)
  const sent: Sent[] = []
  const versionPath = `/whitepapers/q3/versions/${V}/paper.pdf`
  const scope = nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(412, PRECONDITION, XML)
    .head(versionPath).query(true).reply(200, '', { ETag: '"copied"', 'Content-Length': String(PDF.length), 'x-amz-meta-sha256': SHA })
    .put(META).query(true).reply(200, '', { ETag: '"m"' })
    .delete(STAGING).query(true).reply(204)
  record(scope, sent)
  const meta = await setup(t).verify('q3', V, { filename: 'paper.pdf' })
  t.ok(scope.isDone())
  t.equal(meta.etag, '"copied"')

  nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(412, PRECONDITION, XML)
    .head(versionPath).query(true).reply(200, '', { ETag: '"other"', 'Content-Length': String(PDF.length), 'x-amz-meta-sha256': 'ab'.repeat(32) })
  const other = await setup(t).verify('q3', V, { filename: 'paper.pdf' }).catch(e => e)
  t.equal(other.code, 'version_exists', 'other bytes already in the version key are never adopted')
})

t.test('verify: a version already recorded answers its meta.json and reads no staging bytes', async t => {
  isolateNetwork(t)
  const recorded = {
    slug: 'q3', version: V, key: `whitepapers/q3/versions/${V}/paper.pdf`, filename: 'paper.pdf', title: 'First title', description: '',
    size: PDF.length, sha256: SHA, createdAt: at.toISOString(), source: 'upload', etag: '"copied"'
  }
  const scope = nock(HOST)
    .get(META).query(true).reply(200, JSON.stringify(recorded))
    .delete(STAGING).query(true).reply(204)
  const meta = await setup(t).verify('q3', V, { filename: 'other.pdf', title: 'Second title' })
  t.ok(scope.isDone())
  t.same(meta, recorded, 'the first check wins; a ticket reused since changes nothing')
})

t.test('verify: not a PDF, too large or too small is refused before any copy, and the staging object goes', async t => {
  isolateNetwork(t)
  for (const [why, head, body, code] of [
    ['HTML', { ETag: '"e"', 'Content-Length': '100' }, '<html><body>hi</body></html>', 'not_a_pdf'],
    ['over the limit', { ETag: '"e"', 'Content-Length': String(MAX + 1) }, null, 'file_too_large'],
    ['four bytes', { ETag: '"e"', 'Content-Length': '4' }, null, 'not_a_pdf']
  ] as const) {
    const sent: Sent[] = []
    const scope = nock(HOST)
      .get(META).query(true).reply(404, NOT_FOUND, XML)
      .head(STAGING).query(true).reply(200, '', head)
    if (body) scope.get(STAGING).query(true).reply(206, body.slice(0, 5), { ETag: '"e"' })
    scope.delete(STAGING).query(true).reply(204)
    record(scope, sent)
    const err = await setup(t).verify('q3', V, { filename: 'x.pdf' }).catch(e => e)
    t.type(err, ValidationError, why)
    t.equal(err.code, code, why)
    t.ok(scope.isDone(), `${why}: staging deleted`)
    t.notOk(sent.some(r => r.method === 'PUT'), `${why}: nothing copied or recorded`)
  }
})

t.test('verify: a title over TITLE_MAX or a bad version is refused before any request', async t => {
  isolateNetwork(t)
  const uploads = setup(t)
  t.equal((await uploads.verify('q3', V, { filename: 'x.pdf', title: 't'.repeat(201) }).catch(e => e)).code, 'title_invalid')
  t.equal((await uploads.verify('q3', V, { filename: 'x.pdf', description: 'd'.repeat(1001) }).catch(e => e)).code, 'description_invalid')
  t.equal((await uploads.verify('q3', '../x', { filename: 'x.pdf' }).catch(e => e)).code, 'version_invalid')
  t.equal((await uploads.verify('q3', V, { filename: '/' }).catch(e => e)).code, 'filename_invalid')
  t.equal(nock.pendingMocks().length, 0)
})

t.test('verify: no title → the file name, cut to TITLE_MAX', async t => {
  isolateNetwork(t)
  const long = `${'n'.repeat(240)}.pdf`
  const versionPath = `/whitepapers/q3/versions/${V}/${'n'.repeat(240)}.pdf`
  const sent: Sent[] = []
  const scope = nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(200, copyResult('"copied"'), XML)
    .put(META).query(true).reply(200, '', { ETag: '"m"' })
    .delete(STAGING).query(true).reply(204)
  record(scope, sent)
  const meta = await setup(t).verify('q3', V, { filename: long })
  t.ok(scope.isDone())
  t.equal(meta.title, 'n'.repeat(200), 'a title a reader of meta.json accepts')
})

t.test('verify: a store without conditional copies (501) gets the copy without If-None-Match, still bound to the checked ETag', async t => {
  isolateNetwork(t)
  const sent: Sent[] = []
  const versionPath = `/whitepapers/q3/versions/${V}/paper.pdf`
  const scope = nock(HOST)
    .get(META).query(true).reply(404, NOT_FOUND, XML)
    .head(STAGING).query(true).reply(200, '', { ETag: '"staged"', 'Content-Length': String(PDF.length) })
    .get(STAGING).query(true).reply(206, PDF.subarray(0, 5), { ETag: '"staged"' })
    .get(STAGING).query(true).reply(200, PDF, { ETag: '"staged"' })
    .put(versionPath).query(true).reply(501, '<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>', XML)
    .head(versionPath).query(true).reply(404, '')
    .put(versionPath).query(true).reply(200, copyResult('"copied"'), XML)
    .put(META).query(true).reply(200, '', { ETag: '"m"' })
    .delete(STAGING).query(true).reply(204)
  record(scope, sent)
  const meta = await setup(t).verify('q3', V, { filename: 'paper.pdf' })
  t.ok(scope.isDone())
  t.equal(meta.etag, '"copied"')
  const copies = sent.filter(r => r.method === 'PUT' && r.path === versionPath)
  t.equal(copies[0]?.headers['if-none-match'], '*', 'tried with If-None-Match first')
  t.equal(copies[1]?.headers['if-none-match'], undefined, 'then without, the version key being free')
  t.equal(copies[1]?.headers['x-amz-copy-source-if-match'], '"staged"', 'always bound to the bytes that were hashed')
})
