// `npm run whitepaper` as a real process against the S3 emulator: publish, show, and its refusals.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { startEmulators, tempDir } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const SAMPLE = 'scripts/sample-whitepaper.pdf'
const CLI = 'scripts/whitepaper.ts'
const sample = await readFile(new URL(`../../${SAMPLE}`, import.meta.url))
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

const stack = await startEmulators(t)
const bucket = stack.config.s3Bucket
const endpoint = stack.config.S3_ENDPOINT ?? ''
// What an operator sets to point the CLI at an S3-compatible endpoint (no SES or token settings:
// the CLI only touches the bucket); credentials via the SDK chain.
const env = childEnv({
  S3_BUCKET: bucket,
  S3_ENDPOINT: endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1'
})
const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())

const cli = (...args: string[]) => runNode(t, [CLI, ...args], env)

async function keys (prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  return (res.Contents ?? []).map(o => o.Key ?? '').sort()
}

async function getBytes (key: string): Promise<{ bytes: Buffer, contentType: string | undefined, disposition: string | undefined }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return { bytes: Buffer.from(await res.Body?.transformToByteArray() ?? []), contentType: res.ContentType, disposition: res.ContentDisposition }
}

t.test('publish uploads a version and makes it current; show prints the pointer', async t => {
  const published = await cli('publish', SAMPLE, '--slug', 'cli-paper', '--title', 'CLI Paper')
  t.equal(published.code, 0, published.stderr)
  const version = /version (\S+); it is now current/.exec(published.stdout)?.[1]
  t.ok(version, 'the output names the version')
  t.match(published.stdout, /^published "CLI Paper" \(sample-whitepaper\.pdf, [\d.]+ KB\) as cli-paper version /)

  const shown = await cli('show', '--slug', 'cli-paper')
  t.equal(shown.code, 0, shown.stderr)
  const pointer = JSON.parse(shown.stdout) as WhitepaperPointer
  t.has(pointer, {
    slug: 'cli-paper',
    version,
    title: 'CLI Paper',
    filename: 'sample-whitepaper.pdf',
    size: sample.length,
    sha256: sha256(sample)
  })
  t.equal(pointer.key, `whitepapers/cli-paper/versions/${version}/sample-whitepaper.pdf`)
  t.ok(Math.abs(Date.parse(pointer.activatedAt) - Date.now()) < 60_000, 'activatedAt is now')

  t.same(await keys('whitepapers/cli-paper/'), [
    'whitepapers/cli-paper/current.json',
    pointer.key
  ], 'one immutable version and the pointer')
  const stored = await getBytes(pointer.key)
  t.equal(stored.bytes.length, sample.length)
  t.equal(sha256(stored.bytes), sha256(sample), 'the version holds the file\'s bytes')
  t.equal(stored.contentType, 'application/pdf')
  t.equal(stored.disposition, 'attachment; filename="sample-whitepaper.pdf"')
  const current = JSON.parse((await getBytes('whitepapers/cli-paper/current.json')).bytes.toString('utf8')) as WhitepaperPointer
  t.same(current, pointer, 'show prints exactly what is in current.json')
})

t.test('a file that is not a PDF is refused and nothing is written', async t => {
  const dir = await tempDir(t)
  // Named .pdf on purpose: the content decides, not the extension.
  const fake = join(dir, 'notes.pdf')
  await writeFile(fake, 'These are plain-text notes, not a PDF.\n')
  const before = await keys('whitepapers/cli-paper/')
  const run = await cli('publish', fake, '--slug', 'cli-paper', '--title', 'Fake')
  t.equal(run.code, 1)
  t.match(run.stderr, /not a PDF/)
  t.match(run.stderr, /\[not_a_pdf\]/)
  t.equal(run.stdout, '')
  t.same(await keys('whitepapers/cli-paper/'), before, 'nothing new under the slug')
  t.equal(JSON.parse((await getBytes('whitepapers/cli-paper/current.json')).bytes.toString('utf8')).title, 'CLI Paper', 'the current version is unchanged')

  const fresh = await cli('publish', fake, '--slug', 'cli-fake')
  t.equal(fresh.code, 1)
  t.same(await keys('whitepapers/cli-fake/'), [], 'nothing at all under a new slug')
})

t.test('a missing file is refused', async t => {
  const before = await keys('whitepapers/')
  const run = await cli('publish', 'does/not/exist.pdf', '--slug', 'cli-missing')
  t.equal(run.code, 1)
  t.match(run.stderr, 'cannot read does/not/exist.pdf: no such file')
  t.same(await keys('whitepapers/'), before, 'nothing written')
})

t.test('an invalid slug is refused', async t => {
  const before = await keys('whitepapers/')
  const run = await cli('publish', SAMPLE, '--slug', 'Bad Slug!')
  t.equal(run.code, 1)
  t.match(run.stderr, /A slug is 1-64 lowercase letters, digits and dashes\. \[slug_invalid\]/)
  t.same(await keys('whitepapers/'), before, 'nothing written')
})

t.test('show of an unknown slug fails', async t => {
  const run = await cli('show', '--slug', 'nothing-here')
  t.equal(run.code, 1)
  t.match(run.stderr, /\[whitepaper_not_found\]/)
})

t.test('an unknown command exits 2 with the usage', async t => {
  const run = await cli('frobnicate')
  t.equal(run.code, 2)
  t.match(run.stderr, 'unknown command "frobnicate"')
  t.match(run.stderr, /usage:\n\s+npm run whitepaper -- publish <file\.pdf>/)
  t.equal(run.stdout, '')
})
