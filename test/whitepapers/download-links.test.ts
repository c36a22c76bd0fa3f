// Download links: the reused presigner signs exactly what getSignedUrl signs; expiry is honest.
import t from 'tap'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { attachmentDisposition } from '../../src/whitepapers/content-disposition.ts'
import { createDownloadLinks } from '../../src/whitepapers/download-links.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { BUCKET, TEST_CREDENTIALS } from '../helper.ts'

const pointer: WhitepaperPointer = {
  slug: 'default', version: 'v1', key: 'whitepapers/default/versions/v1/Q3-report.pdf', filename: 'Q3 report (final).pdf',
  title: 'Q3', description: '', size: 1, sha256: 'x', activatedAt: '2026-01-01T00:00:00.000Z'
}

function client (t: { teardown: (fn: () => void) => void }, options: ConstructorParameters<typeof S3Client>[0] = {}) {
  const s3 = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...options })
  t.teardown(() => s3.destroy())
  return s3
}

function params (url: string) {
  return Object.fromEntries(new URL(url).searchParams)
}

t.test('a minted link is exactly what the SDK\'s getSignedUrl signs for that second', async t => {
  for (const options of [{}, { forcePathStyle: true, endpoint: 'http://127.0.0.1:4569' }]) {
    const s3 = client(t, options)
    const at = Date.parse('2026-05-06T07:08:09.400Z')
    const links = createDownloadLinks({ s3, bucket: BUCKET, now: () => at })
    const minted = await links.mint(pointer, 3600)
    const reference = await getSignedUrl(s3, new GetObjectCommand({
      Bucket: BUCKET, Key: pointer.key, ResponseContentDisposition: attachmentDisposition(pointer.filename), ResponseContentType: 'application/pdf'
    }), { expiresIn: 3600, signingDate: new Date('2026-05-06T07:08:09Z') })
    t.equal(minted.url, reference, 'the same URL, to the character')
  }
})

t.test('mint: TTL, attachment name, and reuse within the window only', async t => {
  let clock = Date.parse('2026-05-06T07:08:09.750Z')
  const links = createDownloadLinks({ s3: client(t), bucket: BUCKET, reuseMs: 60_000, now: () => clock })
  const a = await links.mint(pointer, 604800)
  const q = params(a.url)
  t.equal(q['X-Amz-Expires'], '604800')
  t.equal(q['X-Amz-Date'], '20260506T070809Z')
  t.equal(q['response-content-disposition'], 'attachment; filename="Q3 report (final).pdf"')
  t.equal(q['response-content-type'], 'application/pdf')
  t.equal(a.expiresAt.toISOString(), '2026-05-13T07:08:09.000Z', 'expiry counted from the signed second')
  clock += 30_000
  t.equal(await links.mint(pointer, 604800), a, 'reused inside the window')
  clock += 31_000
  const b = await links.mint(pointer, 604800)
  t.not(b.url, a.url, 'signed again after the window')
  const short = await links.mint(pointer, 300)
  t.equal(params(short.url)['X-Amz-Expires'], '300', 'each TTL has its own link')
  clock += 16_000
  t.not((await links.mint(pointer, 300)).url, short.url, 'a short link is reused for at most ttl/20')
})

t.test('temporary credentials: the link and its stated expiry are clamped to the credentials', async t => {
  const clock = Date.parse('2026-05-06T07:00:00Z')
  const expiration = new Date(clock + 3600_000)
  const s3 = client(t, { credentials: async () => ({ ...TEST_CREDENTIALS, sessionToken: 'session', expiration }) })
  const links = createDownloadLinks({ s3, bucket: BUCKET, now: () => clock })
  const link = await links.mint(pointer, 604800)
  const q = params(link.url)
  t.equal(q['X-Amz-Expires'], String(3600 - 60), 'one minute before the credentials expire')
  t.equal(q['X-Amz-Security-Token'], 'session')
  t.equal(link.expiresAt.toISOString(), new Date(clock + 3540_000).toISOString())
})
