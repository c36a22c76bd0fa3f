// Catalog listing: versions newest first, legacy versions rebuilt from their object, and meta.json
// checked on every read (its schema, then that it describes its own folder).
import t from 'tap'
import nock from 'nock'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { ConflictError } from '../../src/errors.ts'
import { isolateNetwork, S3_HOST, BUCKET } from '../helper.ts'
import { listXml, meta, NOT_FOUND, s3, V1, V2, XML } from './catalog-support.ts'

t.test('versions: newest first; meta.json read; a browser upload that never passed the check is unverified', async t => {
  isolateNetwork(t)
  const V3 = '20260303T000000Z-33333333'
  nock(S3_HOST)
    .get('/').query(q => q.prefix === 'whitepapers/q3/versions/')
    .reply(200, listXml({
      keys: [
        { key: `whitepapers/q3/versions/${V1}/meta.json` }, { key: `whitepapers/q3/versions/${V1}/q3.pdf`, size: 1234 },
        { key: `whitepapers/q3/versions/${V2}/meta.json` }, { key: `whitepapers/q3/versions/${V2}/q3.pdf`, size: 1234 },
        { key: `whitepapers/q3/versions/${V3}/junk.pdf`, size: 99 }
      ]
    }), XML)
    .get('/whitepapers/q3/current.json').query(true).reply(200, JSON.stringify({ ...meta(V2), activatedAt: 'x' }))
    .get(`/whitepapers/q3/versions/${V1}/meta.json`).query(true).reply(200, JSON.stringify(meta(V1)))
    .get(`/whitepapers/q3/versions/${V2}/meta.json`).query(true).reply(200, JSON.stringify(meta(V2)))
    // No x-amz-meta-sha256: not bytes that publish checked.
    .head(`/whitepapers/q3/versions/${V3}/junk.pdf`).query(true).reply(200, '', { 'Content-Length': '99' })
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const versions = await catalog.versions('q3')
  t.same(versions.map(v => [v.version, v.state, v.current]), [[V3, 'unverified', false], [V2, 'ready', true], [V1, 'ready', false]])
  t.same(versions[1]?.meta, meta(V2))
  t.equal(versions[0]?.size, 99)
})

t.test('a version published before meta.json existed is rebuilt from the object (legacy)', async t => {
  isolateNetwork(t)
  nock(S3_HOST)
    .get('/').query(q => q.prefix === 'whitepapers/q3/versions/')
    .reply(200, listXml({ keys: [{ key: `whitepapers/q3/versions/${V1}/Q3-report.pdf`, size: 1234 }] }), XML)
    .get('/whitepapers/q3/current.json').query(true).reply(404, NOT_FOUND, XML)
    .head(`/whitepapers/q3/versions/${V1}/Q3-report.pdf`).query(true).reply(200, '', {
      'Content-Length': '1234',
      ETag: '"legacy"',
      'Last-Modified': 'Sun, 01 Mar 2026 00:00:00 GMT',
      'Content-Disposition': 'attachment; filename="Q3 _.pdf"; filename*=UTF-8\'\'Q3%20%C3%A9.pdf',
      'x-amz-meta-sha256': 'cd'.repeat(32)
    })
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  const [legacy] = await catalog.versions('q3')
  t.same(legacy?.meta, {
    slug: 'q3',
    version: V1,
    key: `whitepapers/q3/versions/${V1}/Q3-report.pdf`,
    filename: 'Q3 é.pdf',
    title: 'Q3 é',
    description: '',
    size: 1234,
    sha256: 'cd'.repeat(32),
    createdAt: '2026-03-01T00:00:00.000Z',
    source: 'legacy',
    etag: '"legacy"'
  })
})
t.test('a meta.json that does not describe its own version, or breaks a limit, cannot be activated', async t => {
  isolateNetwork(t)
  const folder = `whitepapers/q3/versions/${V1}/`
  const crafted: Array<[string, unknown]> = [
    ['another slug', meta(V1, { slug: 'default' })],
    ['another version', meta(V1, { version: V2 })],
    ['a subscriber record as the key', meta(V1, { key: `subscribers/${'ab'.repeat(32)}.json` })],
    ['the key of another version', meta(V1, { key: `whitepapers/q3/versions/${V2}/q3.pdf` })],
    ['another slug\'s key', meta(V1, { key: `whitepapers/default/versions/${V1}/q3.pdf` })],
    ['meta.json itself as the key', meta(V1, { key: `${folder}meta.json` })],
    ['a key below the folder', meta(V1, { key: `${folder}x/q3.pdf` })],
    ['a key climbing out', meta(V1, { key: `${folder}../../../../subscribers/x.pdf` })],
    ['a 201-character title', meta(V1, { title: 't'.repeat(201) })],
    ['a blank title', meta(V1, { title: '   ' })],
    ['a 1001-character description', meta(V1, { description: 'd'.repeat(1001) })],
    ['a negative size', meta(V1, { size: -1 })],
    ['a size over 5 GiB', meta(V1, { size: 5 * 1024 ** 3 + 1 })],
    ['a fractional size', meta(V1, { size: 12.5 })],
    ['a sha256 that is not hex', meta(V1, { sha256: 'zz'.repeat(32) })],
    ['a short sha256', meta(V1, { sha256: 'ab' })],
    ['a file name that is not .pdf', meta(V1, { filename: 'q3.html' })],
    ['a file name with a path', meta(V1, { filename: '../q3.pdf' })],
    ['a file name with a quote', meta(V1, { filename: 'q"3.pdf' })],
    ['an upload without ETag', { ...meta(V1, { source: 'upload' }), etag: undefined }],
    ['an unknown source', meta(V1, { source: 'mystery' as never })],
    ['not a date', meta(V1, { createdAt: 'yesterday' })],
    ['an array', [meta(V1)]],
    ['a string', 'meta']
  ]
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  for (const [why, body] of crafted) {
    nock(S3_HOST)
      .get('/').query(q => q.prefix === folder)
      .reply(200, listXml({ keys: [{ key: `${folder}meta.json` }, { key: `${folder}q3.pdf`, size: 1234 }] }), XML)
      .get(`/${folder}meta.json`).query(true).reply(200, JSON.stringify(body))
    const err = await catalog.activate('q3', V1).catch(e => e)
    t.type(err, ConflictError, why)
    t.equal(err.code, 'version_meta_invalid', why)
    t.match(err.message, `Version ${V1} of "q3" cannot be activated: its meta.json is not valid (`, why)
    t.same(nock.pendingMocks(), [], `${why}: nothing read beyond meta.json, no pointer written`)
  }
})

t.test('meta.json at the limits is fine; extra fields are dropped', async t => {
  isolateNetwork(t)
  const folder = `whitepapers/q3/versions/${V1}/`
  const edge = meta(V1, { title: 't'.repeat(200), description: 'd'.repeat(1000), filename: `${'f'.repeat(251)}.pdf`, key: `${folder}${'f'.repeat(251)}.pdf` })
  nock(S3_HOST)
    .get('/').query(q => q.prefix === folder)
    .reply(200, listXml({ keys: [{ key: `${folder}meta.json` }, { key: edge.key, size: 1234 }] }), XML)
    .get(`/${folder}meta.json`).query(true).reply(200, JSON.stringify({ ...edge, extra: 'ignored' }))
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000 })
  t.same(await catalog.version('q3', V1), edge)
})

t.test('versions: a version whose meta.json fails its check is listed as unverified, with a warning', async t => {
  isolateNetwork(t)
  nock(S3_HOST)
    .get('/').query(q => q.prefix === 'whitepapers/q3/versions/')
    .reply(200, listXml({
      keys: [
        { key: `whitepapers/q3/versions/${V1}/meta.json` }, { key: `whitepapers/q3/versions/${V1}/q3.pdf`, size: 1234 },
        { key: `whitepapers/q3/versions/${V2}/meta.json` }
      ]
    }), XML)
    .get('/whitepapers/q3/current.json').query(true).reply(404, NOT_FOUND, XML)
    .get(`/whitepapers/q3/versions/${V1}/meta.json`).query(true).reply(200, JSON.stringify(meta(V1)))
    .get(`/whitepapers/q3/versions/${V2}/meta.json`).query(true).reply(200, JSON.stringify(meta(V2, { key: 'subscribers/x.json' })))
  const warnings: Array<[object, string]> = []
  const catalog = createCatalog({ s3: s3(t), bucket: BUCKET, refreshMs: 30_000, log: { warn: (o, msg) => warnings.push([o, msg]) } })
  const versions = await catalog.versions('q3')
  t.same(versions.map(v => [v.version, v.state]), [[V2, 'unverified'], [V1, 'ready']])
  t.equal(versions[0]?.meta, undefined, 'nothing from the bad meta.json is shown as fact')
  t.same(warnings, [[{ slug: 'q3', version: V2, code: 'version_meta_invalid' }, 'a version\'s meta.json failed its check; listed as unverified']])
})
