// `npm run whitepaper` as a real process against the S3 emulator: publish, list, activate (rollback),
// show, and its refusals; large files go up in parts, with a progress bar on a terminal.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { createCatalog, type WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { runWhitepaperCli } from '../../src/whitepapers/cli.ts'
import { PART_SIZE } from '../../src/whitepapers/upload-bytes.ts'
import { startEmulators, tempDir } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const SAMPLE = 'scripts/sample-whitepaper.pdf'
const CLI = 'scripts/whitepaper.ts'
const sample = await readFile(new URL(`../../${SAMPLE}`, import.meta.url))
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

const stack = await startEmulators(t)
const bucket = stack.config.aws.s3.bucket
const endpoint = stack.config.aws.s3.endpoint ?? ''
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

// The same command in this process (faster than a child; the SDK's default credential chain reads
// the emulator's keys from this process's environment).
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
async function cliHere (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runWhitepaperCli(args, env, { out: line => out.push(line), err: line => err.push(line) })
  return { code, stdout: out.map(l => `${l}\n`).join(''), stderr: err.map(l => `${l}\n`).join('') }
}

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
    `whitepapers/cli-paper/versions/${version}/meta.json`,
    pointer.key
  ], 'one immutable version, its meta.json, and the pointer')
  const meta = JSON.parse((await getBytes(`whitepapers/cli-paper/versions/${version}/meta.json`)).bytes.toString('utf8'))
  t.has(meta, { slug: 'cli-paper', version, key: pointer.key, title: 'CLI Paper', filename: 'sample-whitepaper.pdf', size: sample.length, sha256: sha256(sample), source: 'publish' })
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

/** A PDF of `size` bytes whose content differs by `mark` (real enough for the %PDF- check). */
function pdfOfSize (size: number, mark: string): Buffer {
  const bytes = Buffer.alloc(size, 0x20)
  bytes.write(`%PDF-1.4\n% ${mark}\n`, 0, 'latin1')
  bytes.write('\n%%EOF\n', size - 7, 'latin1')
  return bytes
}

t.test('list shows every version; activate rolls back and forward; show --version prints meta.json', async t => {
  const dir = await tempDir(t)
  const first = join(dir, 'Roll Back.pdf')
  const second = join(dir, 'roll-forward.pdf')
  await writeFile(first, pdfOfSize(2048, 'first'))
  await writeFile(second, pdfOfSize(4096, 'second'))
  const one = await cli('publish', first, '--slug', 'cli-roll', '--title', 'First edition', '--description', 'The first one.')
  t.equal(one.code, 0, one.stderr)
  const v1 = /version (\S+); it is now current/.exec(one.stdout)?.[1] ?? ''
  const two = await cli('publish', second, '--slug', 'cli-roll', '--title', 'Second edition')
  t.equal(two.code, 0, two.stderr)
  const v2 = /version (\S+); it is now current/.exec(two.stdout)?.[1] ?? ''
  t.not(v1, v2)

  const listed = await cli('list', '--slug', 'cli-roll')
  t.equal(listed.code, 0, listed.stderr)
  const lines = listed.stdout.trim().split('\n')
  t.match(lines[0], `cli-roll  current: ${v2}  (2 versions; * = current)`)
  t.match(lines[1], new RegExp(`^  \\* ${v2}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+4 KB  "Second edition"  roll-forward\\.pdf$`), 'newest first, marked current')
  t.match(lines[2], new RegExp(`^    ${v1}  .*2 KB  "First edition"  Roll Back\\.pdf$`), 'the older version keeps its own title and real file name')

  const back = await cli('activate', v1, '--slug', 'cli-roll')
  t.equal(back.code, 0, back.stderr)
  t.match(back.stdout, `activated cli-roll version ${v1} ("First edition", Roll Back.pdf, 2 KB); it replaces ${v2}`)
  const pointer = JSON.parse((await getBytes('whitepapers/cli-roll/current.json')).bytes.toString('utf8')) as WhitepaperPointer
  t.has(pointer, { version: v1, title: 'First edition', description: 'The first one.', filename: 'Roll Back.pdf', size: 2048 }, 'the pointer is rebuilt from the version\'s metadata')
  t.equal(sha256((await getBytes(pointer.key)).bytes), sha256(pdfOfSize(2048, 'first')), 'and points at the first bytes')

  const again = await cli('activate', v1, '--slug', 'cli-roll')
  t.equal(again.code, 0)
  t.match(again.stdout, 'was already current; nothing changed')

  const forward = await cli('activate', v2, '--slug', 'cli-roll')
  t.equal(forward.code, 0, forward.stderr)
  t.equal(JSON.parse((await getBytes('whitepapers/cli-roll/current.json')).bytes.toString('utf8')).version, v2)

  const shown = await cli('show', '--slug', 'cli-roll', '--version', v1)
  t.equal(shown.code, 0, shown.stderr)
  t.has(JSON.parse(shown.stdout), { version: v1, title: 'First edition', size: 2048, source: 'publish' })

  const all = await cli('list')
  t.equal(all.code, 0)
  t.match(all.stdout, /^cli-paper {2}current: /m, 'without --slug, every whitepaper')
  t.match(all.stdout, /^cli-roll {2}current: /m)
})

t.test('activate: unknown version, unknown slug and a malformed version are clear errors', async t => {
  const unknownVersion = await cliHere('activate', '20200101T000000Z-00000000', '--slug', 'cli-paper')
  t.equal(unknownVersion.code, 1)
  t.match(unknownVersion.stderr, '"cli-paper" has no version 20200101T000000Z-00000000. [version_not_found]')
  const unknownSlug = await cliHere('activate', '20200101T000000Z-00000000', '--slug', 'never-published')
  t.equal(unknownSlug.code, 1)
  t.match(unknownSlug.stderr, 'There is no whitepaper "never-published". [whitepaper_not_found]')
  const malformed = await cliHere('activate', 'latest')
  t.equal(malformed.code, 1)
  t.match(malformed.stderr, '[version_invalid]')
  const listUnknown = await cliHere('list', '--slug', 'never-published')
  t.equal(listUnknown.code, 1)
  t.match(listUnknown.stderr, 'there is no whitepaper "never-published" [whitepaper_not_found]')
  const noVersion = await cliHere('activate')
  t.equal(noVersion.code, 2)
  t.match(noVersion.stderr, 'activate takes exactly one version')
})

t.test('a file over ADMIN_UPLOAD_MAX_BYTES is refused before anything is uploaded', async t => {
  const dir = await tempDir(t)
  const big = join(dir, 'big.pdf')
  await writeFile(big, pdfOfSize(4096, 'big'))
  const before = await keys('whitepapers/')
  const run = await runNode(t, [CLI, 'publish', big, '--slug', 'cli-big'], { ...env, ADMIN_UPLOAD_MAX_BYTES: '2048' })
  t.equal(run.code, 1)
  t.match(run.stderr, `${big} is 4 KB; the limit is 2 KB (ADMIN_UPLOAD_MAX_BYTES) [file_too_large]`)
  t.same(await keys('whitepapers/'), before, 'nothing written')
})

t.test('a large file published by the CLI downloads intact; no progress bar when stderr is not a terminal', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'large.pdf')
  const bytes = pdfOfSize(9 * 1024 * 1024, 'large')
  await writeFile(path, bytes)
  const run = await runNode(t, [CLI, 'publish', path, '--slug', 'cli-large'], env, 60_000)
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stderr, '', 'a pipe gets no progress bar')
  const pointer = JSON.parse((await getBytes('whitepapers/cli-large/current.json')).bytes.toString('utf8')) as WhitepaperPointer
  t.equal(pointer.size, bytes.length)
  t.equal(pointer.sha256, sha256(bytes))
  const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer.key }))
  t.equal(stored.ContentType, 'application/pdf')
  t.equal(sha256(Buffer.from(await stored.Body?.transformToByteArray() ?? [])), sha256(bytes), 'the parts add up to the file')
})

t.test('on a terminal, publish draws a progress bar up to 100%', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'progress.pdf')
  await writeFile(path, pdfOfSize(9 * 1024 * 1024, 'progress'))
  let drawn = ''
  const tty = Object.assign(new Writable({ write (chunk, _enc, done) { drawn += String(chunk); done() } }), { isTTY: true, columns: 100 })
  const out: string[] = []
  const err: string[] = []
  const code = await runWhitepaperCli(['publish', path, '--slug', 'cli-progress'], env, {
    out: line => out.push(line), err: line => err.push(line), progress: tty
  })
  t.equal(code, 0, err.join('\n'))
  t.match(drawn, /uploading progress\.pdf \|[█░]+\| \d+% \| /, 'a bar with the file name')
  t.match(drawn, /\|█{40}\| 100% \| 9\.0 MB of 9\.0 MB/, 'it ends full')
  t.match(out.join('\n'), /published "progress" .* as cli-progress version/)
})

t.test('a streamed source over one part is a multipart upload, still conditional (If-None-Match on completion)', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'parts.pdf')
  // Over one 8 MiB part: CreateMultipartUpload, two UploadPart, CompleteMultipartUpload.
  const bytes = pdfOfSize(PART_SIZE + 1024, 'parts')
  await writeFile(path, bytes)
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: stack.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' })
  t.teardown(() => client.destroy())
  const sent: Array<{ command: string, ifNoneMatch: string | undefined }> = []
  client.middlewareStack.add((next, context) => async args => {
    const headers = (args.request as { headers?: Record<string, string> }).headers ?? {}
    sent.push({ command: String(context.commandName), ifNoneMatch: headers['if-none-match'] })
    return await next(args)
  }, { step: 'finalizeRequest', name: 'recordCommands' })
  const progress: number[] = []
  const catalog = createCatalog({ s3: client, bucket, refreshMs: 0 })
  const pointer = await catalog.publish({
    slug: 'cli-parts',
    filename: 'parts.pdf',
    source: { size: bytes.length, sha256: sha256(bytes), head: bytes.subarray(0, 5), body: () => createReadStream(path) },
    onProgress: loaded => progress.push(loaded)
  })
  // The writes, in order (reads of current.json aside).
  const uploads = sent.filter(s => /MultipartUpload|UploadPart|^PutObjectCommand$/.test(s.command))
  t.same(uploads.map(s => s.command), [
    'CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand',
    'PutObjectCommand', 'PutObjectCommand'
  ], 'two parts, then meta.json and the pointer')
  t.equal(uploads.find(s => s.command === 'CompleteMultipartUploadCommand')?.ifNoneMatch, '*', 'the version is never overwritten')
  t.equal(progress.at(-1), bytes.length, 'progress reaches the whole size')
  t.ok(progress.length >= 2, 'progress is reported per part')
  const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer.key }))
  t.equal(sha256(Buffer.from(await stored.Body?.transformToByteArray() ?? [])), sha256(bytes), 'the parts add up to the file')
})
