// The real process: `npm start`'s `node dist/node/server.mjs` (the build's bundle) in local mode (emulators in-process), its shutdown and restart,
// and the boot errors of a misconfigured production start.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { createAddressKeys } from '../../src/subscribers/address.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { eventually, extractLink, tempDir, type StoredEmail } from '../helper.ts'
import { childEnv, freePorts, serverEntry, runNode, spawnNode, waitForOutput, type NodeProcess } from './child.ts'

const SERVER_ENTRY = serverEntry()

const SAMPLE_TITLE = 'The Illustrated Guide to Presigned Links'
const SAMPLE_FILENAME = 'illustrated-guide-to-presigned-links.pdf'
const PUBLISHED_LOG = 'local mode: published the sample whitepaper'
const sample = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

interface Started { proc: NodeProcess, landing: string, inbox: string }

async function startServer (t: Parameters<typeof spawnNode>[0], env: Record<string, string>): Promise<Started> {
  const proc = spawnNode(t, [SERVER_ENTRY], env)
  const [, landing = '', inbox = ''] = await waitForOutput(proc, /landing page\s+(\S+)\n\s+inbox\s+(\S+)\n/)
  return { proc, landing, inbox }
}

async function readJson<T> (s3: S3Client, key: string): Promise<T> {
  const res = await s3.send(new GetObjectCommand({ Bucket: 'leadlink-local', Key: key }))
  return JSON.parse(await res.Body?.transformToString() ?? '') as T
}

/** JSON log lines of the process (pino), skipping the printed banner. */
function logLines (stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
}

t.test('npm start without S3_BUCKET runs local mode, stops gracefully and keeps its data', async t => {
  const dataDir = await tempDir(t)
  const [port, s3Port, sesPort] = await freePorts(3)
  const env = childEnv({
    NODE_ENV: 'development',
    PORT: String(port),
    LOCAL_S3_PORT: String(s3Port),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: dataDir,
    PUBLIC_URL: `http://localhost:${port}`,
    BOT_MIN_FILL_SECONDS: '0',
    ADDRESS_COOLDOWN_SECONDS: '0'
  })
  const s3Client = () => {
    const s3 = new S3Client({
      region: 'us-east-1', endpoint: `http://localhost:${s3Port}`, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
    })
    t.teardown(() => s3.destroy())
    return s3
  }

  const first = await startServer(t, env)
  t.equal(first.landing, `http://localhost:${port}/`, 'prints the landing page URL')
  t.equal(first.inbox, `http://localhost:${sesPort}/`, 'prints the inbox URL')
  t.match(first.proc.stdout(), `data folder   ${dataDir}`)

  const health = await fetch(new URL('/healthz', first.landing))
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const landing = await fetch(first.landing)
  t.equal(landing.status, 200)
  t.match(await landing.text(), `<h1>${SAMPLE_TITLE}</h1>`, 'the sample whitepaper is published and shown')
  const inbox = await fetch(first.inbox)
  t.equal(inbox.status, 200)
  t.match(inbox.headers.get('content-type'), /text\/html/, 'the inbox page is served')

  const address = 'local.mode@example.com'
  const res = await fetch(new URL('/subscribe', first.landing), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: 'Local.Mode@Example.com' }).toString()
  })
  t.equal(res.status, 303)
  t.equal(res.headers.get('location'), '/thanks')
  const mail = await eventually(async () => {
    const store = await (await fetch(new URL('/store', first.inbox))).json() as { emails: StoredEmail[] }
    return store.emails.find(m => m.destination.to.includes(address))
  })
  t.equal(mail.subject, `Your copy of ${SAMPLE_TITLE}`)
  const download = await fetch(extractLink(mail.body.text))
  t.equal(download.status, 200, 'the emailed link downloads from the local S3')
  t.equal(download.headers.get('content-disposition'), `attachment; filename="${SAMPLE_FILENAME}"`)
  t.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(sample), 'the sample PDF')

  t.equal(logLines(first.proc.stdout()).filter(l => l.msg === PUBLISHED_LOG).length, 1, 'the first start publishes the sample')
  const before = await readJson<WhitepaperPointer>(s3Client(), 'whitepapers/default/current.json')
  t.equal(before.title, SAMPLE_TITLE)
  t.equal(before.sha256, sha256(sample))
  t.notMatch(first.proc.stdout(), address, 'the address never reaches the logs')

  const stopped = await first.proc.stop('SIGTERM')
  t.same(stopped, { code: 0, signal: null }, 'SIGTERM shuts down gracefully with exit code 0')
  t.ok(logLines(first.proc.stdout()).some(l => l.msg === 'shutting down' && l.signal === 'SIGTERM'), 'logs the shutdown')

  const second = await startServer(t, env)
  t.equal(second.landing, `http://localhost:${port}/`)
  const s3 = s3Client()
  const after = await readJson<WhitepaperPointer>(s3, 'whitepapers/default/current.json')
  t.same(after, before, 'the current pointer is untouched: same version, same activatedAt')
  t.equal(logLines(second.proc.stdout()).filter(l => l.msg === PUBLISHED_LOG).length, 0, 'the restart does not republish the sample')
  const versions = await s3.send(new ListObjectsV2Command({ Bucket: 'leadlink-local', Prefix: 'whitepapers/default/versions/' }))
  t.same((versions.Contents ?? []).map(o => o.Key), [before.key, before.key.replace(/[^/]+$/, 'meta.json')], 'one version (its PDF and meta.json) in the bucket')
  // Keyed under the ADDRESS_KEY that local mode keeps in its data folder.
  const key = createAddressKeys(await readFile(join(dataDir, 'address-key'), 'utf8')).keyOf(address)
  const record = await readJson<SubscriberRecord>(s3, `subscribers/${key}.json`)
  t.equal(record.deliveries.length, 1, 'the signup survived the restart')
  t.match(await (await fetch(second.landing)).text(), SAMPLE_TITLE)

  t.same(await second.proc.stop('SIGTERM'), { code: 0, signal: null }, 'the second run stops gracefully too')
})

t.test('NODE_ENV=production with nothing set exits with one error naming every missing setting', async t => {
  const [port, s3Port, sesPort] = await freePorts(3)
  const run = await runNode(t, [SERVER_ENTRY], childEnv({
    NODE_ENV: 'production',
    // Were it to fall back to local mode, it would at least not collide with anything.
    PORT: String(port),
    LOCAL_S3_PORT: String(s3Port),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: await tempDir(t)
  }))
  t.equal(run.code, 1, 'exits non-zero')
  t.equal(run.stderr.match(/Invalid configuration/g)?.length, 1, 'one message')
  for (const name of ['S3_BUCKET', 'SES_FROM', 'PUBLIC_URL', 'TOKEN_SECRET', 'ADDRESS_KEY']) {
    t.match(run.stderr, new RegExp(`^\\s+- ${name} is required when NODE_ENV=production$`, 'm'), `names ${name}`)
  }
  t.notMatch(run.stdout, /local mode|landing page/, 'never a silent fallback to local mode')
})

t.test('invalid values are all listed in one boot error', async t => {
  const [s3Port, sesPort] = await freePorts(2)
  const run = await runNode(t, [SERVER_ENTRY], childEnv({
    NODE_ENV: 'development',
    LINK_TTL_SECONDS: '999999',
    PORT: 'abc',
    LOCAL_S3_PORT: String(s3Port),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: await tempDir(t)
  }))
  t.equal(run.code, 1, 'exits non-zero')
  t.equal(run.stderr.match(/Invalid configuration/g)?.length, 1, 'one message')
  t.match(run.stderr, /^\s+- PORT must be integer$/m, 'names PORT')
  t.match(run.stderr, /^\s+- LINK_TTL_SECONDS must be <= 604800$/m, 'names LINK_TTL_SECONDS')
  t.match(run.stderr, /\.env\.example/, 'points at the documented settings')
  t.equal(run.stdout, '', 'nothing started')
})

t.test('a port already in use is named in one clear line, not a stack trace', async t => {
  const { createServer } = await import('node:net')
  const [port, s3Port, sesPort] = await freePorts(3)
  const squatter = createServer()
  await new Promise<void>(resolve => squatter.listen(s3Port, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>(resolve => squatter.close(() => resolve())))
  const run = await runNode(t, [SERVER_ENTRY], childEnv({
    NODE_ENV: 'development',
    PORT: String(port),
    LOCAL_S3_PORT: String(s3Port),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: await tempDir(t)
  }))
  t.equal(run.code, 1)
  t.match(run.stderr, `leadlink: port ${s3Port} is already in use.`)
  t.match(run.stderr, 'LOCAL_S3_PORT')
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
})

t.test('PORT is 16 listening sockets (LISTEN_SOCKETS), and a second leadlink on it is refused, not handed part of the traffic', { skip: process.platform !== 'linux' && '/proc/net/tcp is Linux' }, async t => {
  const [port = 0, s3Port = 0, sesPort = 0, s3Port2 = 0, sesPort2 = 0] = await freePorts(5)
  const env = (s3: number, ses: number) => childEnv({
    NODE_ENV: 'development',
    PORT: String(port),
    LOCAL_S3_PORT: String(s3),
    LOCAL_SES_PORT: String(ses)
  })
  const first = await startServer(t, { ...env(s3Port, sesPort), LOCAL_DATA_DIR: await tempDir(t) })
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const listening = (await readFile('/proc/net/tcp', 'utf8')).split('\n').map(line => line.trim().split(/\s+/))
    .filter(cols => cols[1] === local && cols[3] === '0A').length
  t.equal(listening, 16, 'the kernel lists 16 sockets listening on PORT')

  const second = await runNode(t, [SERVER_ENTRY], { ...env(s3Port2, sesPort2), LOCAL_DATA_DIR: await tempDir(t) })
  t.equal(second.code, 1)
  t.match(second.stderr, `leadlink: port ${port} is already in use.`)
  t.equal((await fetch(new URL('/healthz', first.landing))).status, 200, 'the first one still answers')
  t.same(await first.proc.stop('SIGTERM'), { code: 0, signal: null })
})
