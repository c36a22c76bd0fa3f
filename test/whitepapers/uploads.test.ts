// Browser uploads: exactly what the presigned POST is asked for and what its signed policy says (the S3
// emulator checks neither signatures nor policies, so the policy is checked here), and the refusals.
import { S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post'
import t from 'tap'
import { ValidationError } from '../../src/errors.ts'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import { createUploads, type Presign, UPLOAD_POST_TTL_SECONDS } from '../../src/whitepapers/uploads.ts'
import { BUCKET, isolateNetwork, TEST_CREDENTIALS } from '../helper.ts'

const MAX = 5 * 1024 * 1024
const at = new Date('2026-03-04T05:06:07.890Z')

function setup (t: { teardown: (fn: () => void) => void }, presign?: Presign) {
  const s3 = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS })
  t.teardown(() => s3.destroy())
  const catalog = createCatalog({ s3, bucket: BUCKET, refreshMs: 0 })
  return createUploads({ s3, bucket: BUCKET, catalog, maxBytes: MAX, now: () => at, ...(presign ? { presign } : {}) })
}

t.test('createPresignedPost gets the exact key, the size range, the PDF content type and a short expiry', async t => {
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
    Key: `whitepapers/q3/versions/${ticket.version}/Q3-Report-e.pdf`,
    Conditions: [
      ['content-length-range', 1, MAX],
      ['eq', '$Content-Type', 'application/pdf']
    ],
    Fields: {
      'Content-Type': 'application/pdf',
      'Content-Disposition': 'attachment; filename="Q3 Report e.pdf"; filename*=UTF-8\'\'Q3%20Report%20%C3%A9.pdf'
    },
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
  t.not(second.key, ticket.key, 'every upload gets its own version key')
})

t.test('the real signed policy: exact key, bucket, 1..max bytes, application/pdf, expiry; SigV4 fields', async t => {
  isolateNetwork(t)
  const before = Date.now()
  const uploads = setup(t, createPresignedPost as unknown as Presign)
  const ticket = await uploads.start('default', { filename: 'paper.pdf', size: 4096 })
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
    'Content-Disposition': 'attachment; filename="paper.pdf"',
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
