// The brand store on the S3 emulator: settings and page extras round-trip and are checked on read, a
// save against a stale ETag is a conflict (two marketers at once: no lost update), another instance
// sees a change once its refresh time passes, and images are checked by their bytes after a real
// presigned POST to the emulator.
import t from 'tap'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createBrandStore } from '../../src/brand/store.ts'
import { createImageUploads } from '../../src/brand/uploads.ts'
import { BRAND_KEY, DEFAULT_BRAND, pageKey } from '../../src/brand/model.ts'
import { InvalidRecord } from '../../src/storage/json-store.ts'
import { startEmulators } from '../helper.ts'
import { jpeg, png, SVG } from './images.ts'

const stack = await startEmulators(t)
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

/** Sends the file to the emulator exactly as the admin page's script does (multipart POST, file last). */
async function postFile (ticket: { url: string, fields: Record<string, string> }, bytes: Uint8Array, type = 'image/png'): Promise<number> {
  const form = new FormData()
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, name === 'Content-Type' ? type : value)
  form.append('file', new Blob([bytes]))
  return (await fetch(ticket.url, { method: 'POST', body: form })).status
}

t.test('settings: defaults, round trip, conflict on a stale ETag, conflict on a second first save', async t => {
  const store = createBrandStore({ s3, bucket, refreshMs: 0 })
  t.same(await store.read(), { value: DEFAULT_BRAND, etag: '' }, 'nothing saved: the defaults, no ETag')
  const first = await store.save({ siteName: 'Acme Research', accent: '#0f766e' }, '')
  t.match(first, { value: { siteName: 'Acme Research', accent: '#0f766e', updatedAt: /^\d{4}-/ }, etag: /^".+"$/ })
  t.same(await store.read(), first)
  await t.rejects(store.save({ siteName: 'Someone else', accent: '#0f766e' }, ''), { code: 'brand_conflict', statusCode: 409 }, 'creating it again')

  // Two marketers opened the form with the same ETag: the first save wins, the second is told.
  const second = await store.save({ siteName: 'Acme', accent: '#b91c1c' }, first.etag)
  await t.rejects(store.save({ siteName: 'Acme Labs', accent: '#0f766e' }, first.etag), { code: 'brand_conflict', message: /Someone else saved the brand settings/ })
  t.equal((await store.read()).value.siteName, 'Acme', 'the first save is kept')
  t.equal((await store.settings()).accent, '#b91c1c')
  t.not(second.etag, first.etag)
})

t.test('page extras: per whitepaper, round trip and conflict', async t => {
  const store = createBrandStore({ s3, bucket, refreshMs: 0 })
  t.same((await store.readPage('q3')).value, { slug: 'q3', learn: [], thanks: '', updatedAt: '' })
  const saved = await store.savePage('q3', { learn: ['Why', 'How'], thanks: 'Thanks!' }, '')
  t.same((await store.page('q3')).learn, ['Why', 'How'])
  await t.rejects(store.savePage('q3', { learn: [], thanks: '' }, ''), { code: 'brand_conflict' })
  await store.savePage('q3', { learn: ['Only this'], thanks: '' }, saved.etag)
  t.same((await store.readPage('q3')).value.learn, ['Only this'])
  await t.rejects(store.page('../x'), { code: 'slug_invalid' })
})

t.test('another instance picks a change up once its refresh time has passed, without a restart', async t => {
  let now = Date.now()
  const writer = createBrandStore({ s3, bucket, refreshMs: 0 })
  const reader = createBrandStore({ s3, bucket, refreshMs: 30_000, now: () => now })
  const before = await writer.read()
  t.equal((await reader.settings()).accent, before.value.accent)
  await writer.save({ ...before.value, accent: '#7c2d12' }, before.etag)
  now += 29_000
  t.equal((await reader.settings()).accent, before.value.accent, 'served from memory within CATALOG_REFRESH_SECONDS')
  now += 2_000
  t.equal((await reader.settings()).accent, '#7c2d12', 'read again after it')
})

t.test('a stored record that is not valid is refused on read, never served', async t => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: pageKey('broken'), Body: JSON.stringify({ slug: 'broken', learn: 'not a list', thanks: '', updatedAt: '' }) }))
  const store = createBrandStore({ s3, bucket, refreshMs: 0 })
  await t.rejects(store.readPage('broken'), InvalidRecord)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: BRAND_KEY, Body: JSON.stringify({ siteName: 'x', accent: 'red; } body { x', updatedAt: '' }) }))
  await t.rejects(store.read(), InvalidRecord)
})

t.test('images: a presigned POST to the emulator, checked by bytes, stored by hash, found by name', async t => {
  const uploads = createImageUploads({ s3, bucket })
  const store = createBrandStore({ s3, bucket, refreshMs: 0 })
  const logo = png(120, 40)
  const ticket = await uploads.start({ size: logo.length })
  t.match(ticket.key, /^uploads\/brand\/[0-9a-f]{32}\/upload$/)
  t.equal(await postFile(ticket, logo), 204)
  const checked = await uploads.verify(ticket.id)
  t.match(checked, { type: 'png', width: 120, height: 40, size: logo.length })
  const image = await store.image(checked.name, 'Acme', 'logo')
  t.same(image, { name: checked.name, type: 'png', width: 120, height: 40, size: logo.length, alt: 'Acme' })
  const file = await store.openImage(image)
  t.equal(file.contentType, 'image/png')
  const chunks: Buffer[] = []
  for await (const c of file.body) chunks.push(c as Buffer)
  t.same(Buffer.concat(chunks), logo, 'exactly the bytes checked')
  await t.rejects(uploads.verify(ticket.id), { code: 'upload_not_found' }, 'the staging object is gone')

  // The same bytes again: same name, nothing overwritten.
  const again = await uploads.start({ size: logo.length })
  await postFile(again, logo)
  t.equal((await uploads.verify(again.id)).name, checked.name)

  const svg = await uploads.start({ size: SVG.length })
  t.equal(await postFile(svg, SVG, 'image/svg+xml'), 204, 'the bucket takes any image/*')
  await t.rejects(uploads.verify(svg.id), { code: 'image_type' }, 'the check does not')
  await t.rejects(uploads.verify(svg.id), { code: 'upload_not_found' }, 'and refused bytes are deleted')

  const big = jpeg(6000, 4000)
  const huge = await uploads.start({ size: big.length })
  await postFile(huge, big, 'image/jpeg')
  await t.rejects(uploads.verify(huge.id), { code: 'image_pixels' })

  await t.rejects(uploads.start({ size: 3 * 1024 * 1024 }), { code: 'image_too_large' })
  await t.rejects(store.image('0'.repeat(64) + '.png', 'x', 'logo'), { code: 'image_unknown', field: 'logo' })
  await t.rejects(store.image('../settings/brand.json', 'x', 'logo'), { code: 'image_unknown' })
  await t.rejects(uploads.verify('../../x'), { code: 'upload_invalid' })
})
