// The S3 JSON store against the emulator (round trips, conditional writes, records that fail their
// schema) and nock (the exact ListObjectsV2 pages over more than 1000 keys, 409 in flight).
import t from 'tap'
import nock from 'nock'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Type } from 'typebox'
import { createJsonStore, InvalidRecord, WriteConflict } from '../../src/storage/json-store.ts'
import { BUCKET, isolateNetwork, S3_HOST, startEmulators, TEST_CREDENTIALS } from '../helper.ts'

const Note = Type.Object({
  title: Type.String({ minLength: 1 }),
  state: Type.Union([Type.Literal('draft'), Type.Literal('done')]),
  tags: Type.Array(Type.String()),
  due: Type.Optional(Type.Integer({ minimum: 0 }))
})

const stack = await startEmulators(t)
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
const store = createJsonStore({ s3, bucket })

async function putRaw (key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }))
}

t.test('a record round-trips with its ETag; a missing key is null', async t => {
  const etag = await store.put('notes/a.json', { title: 'A', state: 'draft', tags: [] })
  t.match(etag, /^"[0-9a-f]+"$/)
  t.same(await store.get('notes/a.json', Note), { value: { title: 'A', state: 'draft', tags: [] }, etag })
  t.equal(await store.get('notes/missing.json', Note), null)
  t.equal(await store.exists('notes/a.json'), true)
  t.equal(await store.exists('notes/missing.json'), false)
  await store.delete('notes/a.json')
  t.equal(await store.get('notes/a.json', Note), null, 'deleted')
  await store.delete('notes/a.json')
  t.pass('deleting an absent key is not an error')
})

t.test('conditional writes: create only once, replace only the version read', async t => {
  const first = await store.put('notes/c.json', { title: 'C', state: 'draft', tags: [] }, { ifNoneMatch: '*' })
  const again = await store.put('notes/c.json', { title: 'C2', state: 'draft', tags: [] }, { ifNoneMatch: '*' }).catch(e => e)
  t.type(again, WriteConflict, 'If-None-Match: * on an existing key')
  t.equal(again.key, 'notes/c.json', 'the conflict names its key')
  t.equal(again.inFlight, false, 'a 412, not a write in flight')
  const second = await store.put('notes/c.json', { title: 'C', state: 'done', tags: [] }, { ifMatch: first })
  t.not(second, first, 'a replace answers the new ETag')
  const stale = await store.put('notes/c.json', { title: 'stale', state: 'done', tags: [] }, { ifMatch: first }).catch(e => e)
  t.type(stale, WriteConflict, 'If-Match with the ETag of an older version')
  t.same((await store.get('notes/c.json', Note))?.value, { title: 'C', state: 'done', tags: [] }, 'the losing writes changed nothing')
  t.ok(await store.put('notes/c.json', { title: 'C3', state: 'done', tags: [] }), 'an unconditional write overwrites')
})

t.test('a record that fails its schema is an InvalidRecord naming the key and the first problem, never a cast', async t => {
  const cases: Array<[string, string, string]> = [
    ['notes/bad-state.json', JSON.stringify({ title: 'x', state: 'archived', tags: [] }), '/state must be one of "draft", "done"'],
    ['notes/bad-tag.json', JSON.stringify({ title: 'x', state: 'done', tags: ['ok', 7] }), '/tags/1 must be string'],
    ['notes/missing.json', JSON.stringify({ title: 'x', tags: [] }), 'the record must have required properties state'],
    ['notes/negative.json', JSON.stringify({ title: 'x', state: 'done', tags: [], due: -1 }), '/due must be >= 0'],
    ['notes/array.json', '[]', 'the record must be object'],
    ['notes/text.json', 'not json {', 'it is not JSON']
  ]
  for (const [key, body, problem] of cases) {
    await putRaw(key, body)
    const err = await store.get(key, Note).catch(e => e)
    t.type(err, InvalidRecord, key)
    t.equal(err.key, key)
    t.equal(err.problem, problem, key)
    t.equal(err.message, `${key} is not a valid record: ${problem}`)
    t.equal(err.code, 'record_invalid')
  }
  await putRaw('notes/extra.json', JSON.stringify({ title: 'x', state: 'done', tags: [], later: true }))
  t.same((await store.get('notes/extra.json', Note))?.value, { title: 'x', state: 'done', tags: [], later: true }, 'fields the schema does not name are kept (newer writers may add some)')
})

// Paging itself is tested with nock below: s3rver's continuation tokens use DES, which Node 24's
// OpenSSL refuses (a second page is a 500 from the emulator).
t.test('list on the emulator, with and without a delimiter', async t => {
  for (const name of ['b', 'a', 'e', 'c', 'd']) await putRaw(`paged/${name}.json`, '{}')
  await putRaw('paged/sub/x.json', '{}')
  await putRaw('paged/sub/y.json', '{}')
  const keys: string[] = []
  for await (const entry of store.list('paged/')) keys.push(entry.key)
  t.same(keys, ['paged/a.json', 'paged/b.json', 'paged/c.json', 'paged/d.json', 'paged/e.json', 'paged/sub/x.json', 'paged/sub/y.json'], 'in key order')
  const top: Array<[string, boolean]> = []
  for await (const entry of store.list('paged/', { delimiter: '/' })) top.push([entry.key, entry.commonPrefix === true])
  t.same(top.filter(([, prefix]) => prefix), [['paged/sub/', true]], 'the folder is one common prefix')
  t.equal(top.length, 6)
})

function s3Mock (t: { teardown: (fn: () => void) => void }) {
  isolateNetwork(t)
  const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 })
  t.teardown(() => client.destroy())
  return createJsonStore({ s3: client, bucket: BUCKET })
}

function listXml (keys: string[], next?: string): string {
  const contents = keys.map(k => `<Contents><Key>${k}</Key><Size>2</Size></Contents>`).join('')
  const truncated = next ? `<IsTruncated>true</IsTruncated><NextContinuationToken>${next}</NextContinuationToken>` : '<IsTruncated>false</IsTruncated>'
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name>${truncated}<KeyCount>${keys.length}</KeyCount>${contents}</ListBucketResult>`
}
const XML = { 'Content-Type': 'application/xml' }

t.test('list with pageSize asks for that many keys a page', async t => {
  const json = s3Mock(t)
  nock(S3_HOST).get('/').query(q => q['max-keys'] === '2' && q['continuation-token'] === undefined).reply(200, listXml(['k/a', 'k/b'], 't1'), XML)
    .get('/').query(q => q['max-keys'] === '2' && q['continuation-token'] === 't1').reply(200, listXml(['k/c']), XML)
  const keys: string[] = []
  for await (const entry of json.list('k/', { pageSize: 2 })) keys.push(entry.key)
  t.same(keys, ['k/a', 'k/b', 'k/c'])
  t.same(nock.pendingMocks(), [])
})

t.test('list over 2500 keys: three ListObjectsV2 requests, each with the token of the page before', async t => {
  const json = s3Mock(t)
  const keys = Array.from({ length: 2500 }, (_, i) => `items/${String(i).padStart(5, '0')}.json`)
  const queries: Array<Record<string, string>> = []
  const page = (token: string | undefined, from: number, next?: string) =>
    nock(S3_HOST).get('/').query(q => q['continuation-token'] === token && (queries.push(q as Record<string, string>) > 0))
      .reply(200, listXml(keys.slice(from, from + 1000), next), XML)
  page(undefined, 0, 'token-1')
  page('token-1', 1000, 'token-2')
  page('token-2', 2000)
  const seen: string[] = []
  for await (const entry of json.list('items/')) seen.push(entry.key)
  t.same(seen, keys, 'every key once, in order')
  t.same(queries.map(q => q['continuation-token']), [undefined, 'token-1', 'token-2'])
  t.ok(queries.every(q => q['list-type'] === '2' && q.prefix === 'items/' && q.delimiter === undefined && q['max-keys'] === undefined))
  t.same(nock.pendingMocks(), [])
})

t.test('a consumer that stops early asks for no further page', async t => {
  const json = s3Mock(t)
  nock(S3_HOST).get('/').query(q => q['continuation-token'] === undefined && q.delimiter === '/')
    .reply(200, listXml(['w/current.json'], 'more'), XML)
  for await (const entry of json.list('w/', { delimiter: '/' })) {
    t.equal(entry.key, 'w/current.json')
    break
  }
  t.same(nock.pendingMocks(), [], 'no request for the page behind "more" (nock would refuse it)')
})

t.test('409 ConditionalRequestConflict is a WriteConflict in flight; other errors pass through', async t => {
  const json = s3Mock(t)
  nock(S3_HOST)
    .put('/x.json').query(true).reply(409, '<Error><Code>ConditionalRequestConflict</Code><Message>in flight</Message></Error>', XML)
    .put('/x.json').query(true).reply(403, '<Error><Code>AccessDenied</Code><Message>no</Message></Error>', XML)
  const conflict = await json.put('x.json', {}, { ifNoneMatch: '*' }).catch(e => e)
  t.type(conflict, WriteConflict)
  t.equal(conflict.inFlight, true)
  const denied = await json.put('x.json', {}, { ifNoneMatch: '*' }).catch(e => e)
  t.notOk(denied instanceof WriteConflict)
  t.equal(denied.name, 'AccessDenied')
})

t.test('what put sends: JSON, its content type, the condition and the cache header asked for', async t => {
  const json = s3Mock(t)
  const seen: Array<{ headers: Record<string, string>, body: string }> = []
  const scope = nock(S3_HOST).put('/p.json').query(true).times(2).reply(200, '', { ETag: '"p"' })
  // nock 15 hands over a Fetch API Request.
  scope.on('request', (req: Request, _i: unknown, body: string) => { seen.push({ headers: Object.fromEntries(req.headers.entries()), body }) })
  t.equal(await json.put('p.json', { a: 1 }, { ifMatch: '"old"', cacheControl: 'no-cache', pretty: true }), '"p"')
  await json.put('p.json', { a: 1 })
  t.equal(seen[0]?.body, '{\n  "a": 1\n}')
  t.match(seen[0]?.headers, { 'content-type': 'application/json', 'if-match': '"old"', 'cache-control': 'no-cache' })
  t.equal(seen[1]?.body, '{"a":1}')
  t.equal(seen[1]?.headers['if-match'], undefined)
  t.equal(seen[1]?.headers['if-none-match'], undefined)
  t.equal(seen[1]?.headers['cache-control'], undefined)
})
