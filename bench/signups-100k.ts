// Bench section "signups" (opt-in: --only signups [--records 100000]): a bucket with that many subscriber
// records in local mode's s3rver. Prints the export's time beside the floor (listing plus reading every
// record at the same concurrency, measured in the same run) and its peak RSS, /admin/signups.csv's time
// and the server's RSS (idle, then its peak), the admin list's page time, and the S3 requests of the
// sender's scan. The server is what `npm start` runs (the build's bundle), with Node's default heap
// sizing: no NODE_OPTIONS, as an operator starts it.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchContext } from './context.ts'
import { freePort, launch, rssMb, stop, waitHealthy, type Launched } from './processes.ts'
import { ADMIN_TOKEN, serverEnv } from './servers.ts'
import { scanRequests, type ScanCount } from './signups-scan.ts'
import { fmt, median, range, row, type Log } from './stats.ts'
import { verdict } from './targets.ts'
import { DEFAULT_CONCURRENCY } from '../src/subscribers/export.ts'

const BUCKET = 'bench-signups'
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
/** NODE_OPTIONS for the measured server: none (Node's defaults, as an operator runs it) unless BENCH_SIGNUPS_NODE_OPTIONS compares some. */
const SERVER_NODE_OPTIONS = process.env.BENCH_SIGNUPS_NODE_OPTIONS ?? ''
const STATUSES = ['pending', 'confirmed', 'confirmed', 'unsubscribed', 'pending', 'confirmed', 'suppressed'] as const
// Prints the process's peak resident set (getrusage ru_maxrss, kB) on its way out.
const PEAK_RSS = `--import=data:text/javascript,process.on('exit',()=>process.stderr.write('peak-rss-kb '+process.resourceUsage().maxRSS+'\\n'))`

export interface SignupsBench {
  records: number
  seedMs: number
  /** keys the first floor run listed (must equal records) */
  listed: number
  floorMs: number[]
  exportMs: number
  exportRows: number
  exportPeakMb: number
  csvMs: number
  csvRows: number
  /** the server's RSS once started and logged in, before the download */
  serverIdleMb: number
  /** the server's peak RSS (VmHWM) over its start, the download and everything before */
  csvPeakMb: number
  /** NODE_OPTIONS of the server that streamed the CSV ('' for none) */
  serverNodeOptions: string
  firstPageMs: number
  deepPageMs: number
  scan: ScanCount
}

/** One record as the signup writes it: a consent proof, a delivery, a status. */
function recordOf (i: number, at: string): { key: string, body: string } {
  const hash = createHash('sha256').update(`bench-record-${i}`).digest('hex')
  const status = STATUSES[i % STATUSES.length] as string
  const proof = { at, ip: '198.51.100.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' }
  const record = {
    schemaVersion: 1,
    address: `reader${i}@example.com`,
    addressHash: hash,
    status,
    createdAt: at,
    updatedAt: at,
    ...(status === 'confirmed' ? { confirmation: proof } : {}),
    ...(status === 'unsubscribed' ? { unsubscription: { ...proof, via: 'one-click' } } : {}),
    ...(status === 'suppressed' ? { suppression: { at, reason: 'bounce', detail: 'Permanent/General' } } : {}),
    signups: [{ ...proof, slug: 'default', consentText: 'Send me the whitepaper and the occasional newsletter. I can unsubscribe at any time.', consentVersion: 'c-2f1e9a' }],
    deliveries: [{ at, slug: 'default', status: 'requested', outboxId: `0mx${i.toString(36).padStart(6, '0')}-0123456789ab` }]
  }
  return { key: `subscribers/${hash}.json`, body: JSON.stringify(record) }
}

/**
 * Writes s3rver's own on-disk layout (object, its MD5 and metadata, as a PUT leaves them): a hundred
 * thousand PUTs through HTTP would take longer than everything measured after.
 */
async function seed (dir: string, records: number, log: Log): Promise<number> {
  const started = performance.now()
  const base = join(dir, BUCKET)
  await mkdir(join(base, 'subscribers'), { recursive: true })
  await mkdir(join(base, 'outbox'), { recursive: true })
  const at = new Date().toISOString()
  const metadata = JSON.stringify({ 'content-type': 'application/json' }, null, 2)
  const write = async (key: string, body: string) => {
    const path = join(base, `${key}._S3rver_`)
    await writeFile(`${path}object`, body)
    await writeFile(`${path}object.md5`, createHash('md5').update(body).digest('hex'))
    await writeFile(`${path}metadata.json`, metadata)
  }
  for (let i = 0; i < records; i += 256) {
    await Promise.all(Array.from({ length: Math.min(256, records - i) }, (_, j) => {
      const { key, body } = recordOf(i + j, at)
      return write(key, body)
    }))
    if ((i / 256) % 80 === 79) log(`  seeded ${i + 256} records`)
  }
  // Records written under ADDRESS_KEY from the start: no migration pending (src/subscribers/legacy-keys.ts).
  await mkdir(join(base, 'privacy'), { recursive: true })
  await write('privacy/address-keys.json', JSON.stringify({ schemaVersion: 1, migratedAt: at, moved: 0 }))
  // Two batches another sender holds: the scan lists and reads them, and claims neither.
  for (const n of [1, 2]) {
    const id = `${Date.now().toString(36).padStart(9, '0')}-00000000000${n}`
    await write(`outbox/${id}`.concat('.json'), JSON.stringify({ schemaVersion: 1, id, createdAt: at, owner: 'elsewhere', leaseUntil: new Date(Date.now() + 3600_000).toISOString(), items: [], done: {}, retries: {} }))
  }
  return performance.now() - started
}

/** Runs a node script to its end: wall time from spawn to exit, its stderr, and the peak RSS it reported. */
async function timed (args: string[], env: Record<string, string>): Promise<{ ms: number, stdout: string, stderr: string, peakMb: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, [PEAK_RSS, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`)
  const peak = /peak-rss-kb (\d+)/.exec(stderr)
  return { ms, stdout, stderr, peakMb: peak ? Number(peak[1]) / 1024 : NaN }
}

async function httpGet (url: string, cookie: string): Promise<{ ms: number, status: number, body: string }> {
  const started = performance.now()
  const res = await fetch(url, { headers: { cookie } })
  const body = await res.text()
  return { ms: performance.now() - started, status: res.status, body }
}

/** /proc/<pid>/status VmHWM: the peak resident set so far, in MB. */
function peakMb (pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}

/**
 * The server that streams /admin/signups.csv, as `npm start` runs it: the build's bundle (built here,
 * as npm start would), with Node's default heap sizing unless `nodeOptions` asks otherwise. A scan of
 * every record keeps V8's young generation small while it runs (src/subscribers/export-heap.ts):
 * without it, this server went from 110 MB to over 340 MB streaming 20,000 rows.
 */
async function adminServer (ctx: BenchContext, endpoint: string, nodeOptions: string): Promise<{ server: Launched, port: number, cookie: string }> {
  const port = await freePort()
  const env = {
    // The bench's server environment, on s3rver's bucket and credentials.
    ...serverEnv(port, endpoint),
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...CREDENTIALS,
    S3_BUCKET: BUCKET,
    // This server only answers the admin: its sender would ask the S3 emulator for SES.
    SENDER: 'off'
  }
  const build = spawnSync(process.execPath, [join(ctx.servers.leadlinkRoot, 'build/build.ts')], { cwd: ctx.servers.leadlinkRoot, stdio: 'inherit' })
  if (build.status !== 0) throw new Error('the build (npm run build) failed')
  const server = launch('leadlink (admin)', [ctx.servers.entry.leadlink], env)
  await waitHealthy(server, port)
  const login = await fetch(`http://127.0.0.1:${port}/admin/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${port}` }, body: `token=${ADMIN_TOKEN}`
  })
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  if (login.status !== 303 || !cookie) throw new Error(`bench: admin log-in answered ${login.status}`)
  return { server, port, cookie }
}

export async function runSignups (ctx: BenchContext, records: number): Promise<SignupsBench> {
  const { log } = ctx
  log(`\n== signups: ${records} subscriber records in s3rver (local mode's S3, in its own process); export concurrency ${DEFAULT_CONCURRENCY}`)
  const dir = await mkdtemp(join(tmpdir(), 'leadlink-bench-signups-'))
  let emulator: Launched | undefined
  let admin: Launched | undefined
  try {
    const seedMs = await seed(dir, records, log)
    log(`  seeded ${records} records (s3rver's on-disk layout) in ${fmt(seedMs / 1000, 1)} s`)
    emulator = launch('s3rver', [join(ctx.servers.root, 'bench/s3rver-process.ts'), dir, BUCKET], { PATH: process.env.PATH ?? '' })
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      emulator?.child.stdout?.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /\{"port":(\d+)\}/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      emulator?.exited.then(code => reject(new Error(`s3rver exited (${code})`)), reject)
    })
    const endpoint = `http://127.0.0.1:${port}`
    const env = { PATH: process.env.PATH ?? '', ...CREDENTIALS, AWS_REGION: 'us-east-1', S3_BUCKET: BUCKET, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', LOG_LEVEL: 'warn' }
    const runFloor = async () => {
      const run = await timed([join(ctx.servers.root, 'bench/signups-floor.ts'), endpoint, BUCKET, String(DEFAULT_CONCURRENCY)], env)
      const result = JSON.parse(run.stdout) as { listed: number }
      log(`  floor: listed ${result.listed} keys and read every record in ${fmt(run.ms / 1000, 1)} s (peak RSS ${fmt(run.peakMb)} MB)`)
      return { ms: run.ms, listed: result.listed }
    }
    const first = await runFloor()
    if (first.listed !== records) throw new Error(`bench: the listing saw ${first.listed} records, not ${records}`)

    const out = join(dir, 'export.csv')
    const exported = await timed([join(ctx.servers.leadlinkRoot, 'scripts/signups.ts'), 'export', '--out', out], env)
    const exportRows = Number(/exported (\d+) signup/.exec(exported.stderr)?.[1] ?? NaN)
    log(`  npm run signups -- export: ${exportRows} rows in ${fmt(exported.ms / 1000, 1)} s, peak RSS ${fmt(exported.peakMb)} MB`)
    await rm(out, { force: true })

    const started = await adminServer(ctx, endpoint, SERVER_NODE_OPTIONS)
    admin = started.server
    const base = `http://127.0.0.1:${started.port}`
    const serverIdleMb = rssMb(admin.pid)
    const csvStarted = performance.now()
    const res = await fetch(`${base}/admin/signups.csv`, { headers: { cookie: started.cookie } })
    let csvRows = -1
    let tail = ''
    let sampledMb = 0
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = tail + Buffer.from(chunk).toString()
      const lines = text.split('\r\n')
      tail = lines.pop() ?? ''
      csvRows += lines.length
      sampledMb = Math.max(sampledMb, rssMb(admin.pid))
    }
    const csvMs = performance.now() - csvStarted
    const csvPeakMb = peakMb(admin.pid)
    log(`  /admin/signups.csv (${ctx.servers.entry.leadlink}, ${SERVER_NODE_OPTIONS ? `NODE_OPTIONS=${SERVER_NODE_OPTIONS}` : 'no NODE_OPTIONS: Node\'s default heap sizing'}): ${csvRows} rows in ${fmt(csvMs / 1000, 1)} s; server RSS ${fmt(serverIdleMb)} MB before, at most ${fmt(sampledMb)} MB while streaming, peak ${fmt(csvPeakMb)} MB since its start`)

    const pageTimes: number[] = []
    const deepTimes: number[] = []
    let deepAfter = ''
    for (let i = 0; i < 5; i++) {
      const page = await httpGet(`${base}/admin/signups`, started.cookie)
      if (page.status !== 200) throw new Error(`bench: /admin/signups answered ${page.status}`)
      pageTimes.push(page.ms)
      deepAfter ||= createHash('sha256').update('bench-record-middle').digest('hex')
      const deep = await httpGet(`${base}/admin/signups?after=${deepAfter}`, started.cookie)
      if (deep.status !== 200) throw new Error(`bench: /admin/signups?after= answered ${deep.status}`)
      deepTimes.push(deep.ms)
    }
    log(`  /admin/signups (a page of 50): first page ${fmt(median(pageTimes))} ms, a page in the middle ${fmt(median(deepTimes))} ms (medians of 5; ${range(pageTimes)} / ${range(deepTimes)} ms)`)
    await stop(admin)
    admin = undefined

    const scan = await scanRequests(endpoint, BUCKET)
    log(`  sender scan: ${scan.requests} S3 requests (${scan.byCommand}), prefixes listed: ${scan.prefixes.join(', ')}; ${scan.subscriberRequests} under subscribers/`)
    const second = await runFloor()
    return {
      records, seedMs, listed: first.listed,
      floorMs: [first.ms, second.ms],
      exportMs: exported.ms, exportRows, exportPeakMb: exported.peakMb,
      csvMs, csvRows, serverIdleMb, csvPeakMb, serverNodeOptions: SERVER_NODE_OPTIONS,
      firstPageMs: median(pageTimes), deepPageMs: median(deepTimes),
      scan
    }
  } finally {
    if (admin) await stop(admin)
    if (emulator) await stop(emulator)
    await rm(dir, { recursive: true, force: true })
  }
}

export function summariseSignups (r: SignupsBench, out: Log): void {
  const floorMs = median(r.floorMs)
  out(row(`export, ${r.records / 1000}k records (s)`, fmt(r.exportMs / 1000, 1), `floor ${fmt(floorMs / 1000, 1)}`, fmt(r.exportMs / floorMs, 2), verdict('signupsExportRatio', r.exportMs / floorMs)))
  out(row('export peak RSS (MB)', fmt(r.exportPeakMb), '', '', verdict('signupsRssMb', r.exportPeakMb)))
  out(row('/admin/signups.csv (s)', fmt(r.csvMs / 1000, 1), `floor ${fmt(floorMs / 1000, 1)}`, fmt(r.csvMs / floorMs, 2), verdict('signupsExportRatio', r.csvMs / floorMs)))
  out(row('server peak RSS (MB)', fmt(r.csvPeakMb), `idle ${fmt(r.serverIdleMb)}`, '', verdict('signupsRssMb', r.csvPeakMb)))
  out(row('/admin/signups page (ms)', fmt(r.firstPageMs), `middle ${fmt(r.deepPageMs)}`))
  out(`  (floor runs: ${range(r.floorMs.map(x => x / 1000), 1)} s; the server ran with ${r.serverNodeOptions ? `NODE_OPTIONS=${r.serverNodeOptions}` : 'no NODE_OPTIONS'})`)
  out(row('sender scan (S3 requests)', String(r.scan.requests), `${r.scan.subscriberRequests} under subscribers/`))
}


