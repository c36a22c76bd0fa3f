// Shared by the catalog tests: an S3 client for nock, what a PUT sent, listing pages, stored records.
import type nock from 'nock'
import { S3Client } from '@aws-sdk/client-s3'
import type { VersionMeta, WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { BUCKET, TEST_CREDENTIALS } from '../helper.ts'

export const PDF = Buffer.from('%PDF-1.4\n% test\n%%EOF\n')
export const NOT_FOUND = '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'
export const PRECONDITION = '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'

export function s3 (t: { teardown: (fn: () => void) => void }) {
  const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 })
  t.teardown(() => client.destroy())
  return client
}

export interface Seen { path: string, headers: Record<string, string>, body: string }
export function seen (scope: nock.Scope, into: Seen[]) {
  scope.on('request', (req: Request, _i: unknown, body: string) => {
    if (req.method === 'PUT') into.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers.entries()), body })
  })
}

export const at = new Date('2026-03-04T05:06:07.890Z')

/** A pointer as current.json holds it (every read is checked against WhitepaperPointerSchema). */
export const stored = (fields: Partial<WhitepaperPointer>): WhitepaperPointer => ({
  slug: 'default',
  version: '20260101T000000Z-abcdef12',
  key: 'whitepapers/default/versions/20260101T000000Z-abcdef12/guide.pdf',
  filename: 'guide.pdf',
  title: 'The Guide',
  description: '',
  size: 2048,
  sha256: 'ab'.repeat(32),
  activatedAt: '2026-01-01T00:00:00.000Z',
  ...fields
})

export function listXml (input: { keys?: Array<{ key: string, size?: number }>, prefixes?: string[], truncated?: string }): string {
  const contents = (input.keys ?? []).map(k => `<Contents><Key>${k.key}</Key><Size>${k.size ?? 0}</Size><ETag>"e"</ETag><LastModified>2026-03-04T05:06:07.000Z</LastModified></Contents>`).join('')
  const prefixes = (input.prefixes ?? []).map(p => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join('')
  const truncated = input.truncated ? `<IsTruncated>true</IsTruncated><NextContinuationToken>${input.truncated}</NextContinuationToken>` : '<IsTruncated>false</IsTruncated>'
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name>${truncated}${contents}${prefixes}</ListBucketResult>`
}
export const XML = { 'Content-Type': 'application/xml' }

export const V1 = '20260301T000000Z-11111111'
export const V2 = '20260302T000000Z-22222222'
export const meta = (version: string, extra: Partial<VersionMeta> = {}): VersionMeta => ({
  slug: 'q3',
  version,
  key: `whitepapers/q3/versions/${version}/q3.pdf`,
  filename: 'q3.pdf',
  title: `Title ${version}`,
  description: 'd',
  size: 1234,
  sha256: 'ab'.repeat(32),
  createdAt: '2026-03-01T00:00:00.000Z',
  source: 'publish',
  etag: `"etag-${version}"`,
  ...extra
})
