// npm run bench: start-up and memory against a bare Fastify app, POST /subscribe throughput against a naive route.
// Prints figures only (no thresholds enforced); everything runs on 127.0.0.1 against in-memory S3/SES stand-ins.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { cpuMs, freePort, hitHealthz, installCleanup, launch, machineBusyMs, rssMb, stop, waitHealthy, type Launched } from './bench/processes.ts'
import { summariseProfile } from './bench/profile-summary.ts'
import type { StandInStats } from './bench/stand-ins.ts'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const PROFILE_DIR = join(ROOT, 'artifacts', 'bench-profiles')

const { values: opts } = parseArgs({
  options: {
    'startup-runs': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string', default: 'all' },
    leadlink: { type: 'string', default: 'src/server.ts' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (opts.help) {
  process.stdout.write(`usage: npm run bench -- [--startup-runs 5] [--rounds 2] [--duration 10] [--warmup 3]
       [--connections 32] [--only all|startup|subscribe] [--profile] [--leadlink src/server.ts]
--leadlink points at another entry (a worktree of a branch, say) to compare a change.
--profile runs the servers under --cpu-prof (slower: compare only the profiles) and summarises them;
files go to artifacts/bench-profiles/.
`)
  process.exit(0)
}
const STARTUP_RUNS = Number(opts['startup-runs'])
const ROUNDS = Number(opts.rounds)
const DURATION = Number(opts.duration)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)

type Target = 'leadlink' | 'bare' | 'naive'
const ENTRY: Record<Target, string> = {
  leadlink: resolve(ROOT, opts.leadlink),
  bare: join(ROOT, 'scripts/bench/bare-server.ts'),
  naive: join(ROOT, 'scripts/bench/naive-server.ts')
}

const median = (xs: number[]): number => {
  const s = xs.filter(x => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const fmt = (x: number, digits = 0): string => Number.isNaN(x) ? 'n/a' : x.toFixed(digits)
const log = (line = ''): void => { process.stdout.write(`${line}\n`) }

// ---------------------------------------------------------------------------------------------
// Stand-ins and server environments

let standIns: Launched
let standInUrl = ''

async function startStandIns (): Promise<void> {
  standIns = launch('stand-ins', [join(ROOT, 'scripts/bench/stand-ins.ts')], { PATH: process.env.PATH ?? '' }, { stdin: true })
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    standIns.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const match = /\{"port":(\d+)\}/.exec(buffered)
      if (match) resolve(Number(match[1]))
    })
    standIns.exited.then(code => reject(new Error(`stand-ins exited (code ${code}):\n${standIns.tail().join('\n')}`)), reject)
  })
  standInUrl = `http://127.0.0.1:${port}`
}

async function standInCall (path: '/__bench/stats' | '/__bench/reset'): Promise<StandInStats> {
  const res = await fetch(`${standInUrl}${path}`, { method: path === '/__bench/reset' ? 'POST' : 'GET' })
  return await res.json() as StandInStats
}

/** The same environment for every server: aws mode against the stand-ins, logs at warn. */
function serverEnv (port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-bench-secret-bench-secret-00',
    AWS_EC2_METADATA_DISABLED: 'true',
    S3_BUCKET: 'bench-bucket',
    S3_ENDPOINT: standInUrl,
    S3_FORCE_PATH_STYLE: 'true',
    SES_ENDPOINT: standInUrl,
    SES_FROM: 'Bench <bench@example.com>',
    TOKEN_SECRET: 'bench-token-secret-0123456789abcdef',
    // Abuse guards off: every request comes from one IP at machine speed, and they are not what is measured.
    RATE_LIMIT_PER_IP_PER_MINUTE: '0',
    ADDRESS_COOLDOWN_SECONDS: '0',
    BOT_MIN_FILL_SECONDS: '0',
    CAPTCHA: 'off',
    SES_MAX_SEND_RATE: '100000'
  }
}

function nodeArgs (target: Target, label: string): string[] {
  const args: string[] = []
  if (opts.profile) args.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${label}.cpuprofile`)
  return [...args, ENTRY[target]]
}

// ---------------------------------------------------------------------------------------------
// 1. Start-up time and memory

interface StartupSample { ms: number, rssReady: number, rssWarm: number }

async function startupOnce (target: Target): Promise<StartupSample> {
  const port = await freePort()
  const server = launch(target, [ENTRY[target]], serverEnv(port))
  try {
    const ready = await waitHealthy(server, port)
    const rssReady = rssMb(server.pid)
    await hitHealthz(port, 300)
    await sleep(200)
    return { ms: ready - server.spawnedAt, rssReady, rssWarm: rssMb(server.pid) }
  } finally {
    await stop(server)
  }
}

function nodeBaselineMs (): number {
  const t0 = performance.now()
  spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  return performance.now() - t0
}

interface StartupResult { ms: number, rssReady: number, rssWarm: number, samples: StartupSample[] }

async function benchStartup (): Promise<{ leadlink: StartupResult, bare: StartupResult, nodeMs: number }> {
  log(`\n== start-up: ${STARTUP_RUNS} runs each, alternating, spawn → first /healthz 200; RSS at that moment and after 300 /healthz`)
  const samples: Record<'leadlink' | 'bare', StartupSample[]> = { leadlink: [], bare: [] }
  const baseline: number[] = []
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const order: Array<'leadlink' | 'bare'> = i % 2 === 0 ? ['leadlink', 'bare'] : ['bare', 'leadlink']
    for (const target of order) {
      const s = await startupOnce(target)
      samples[target].push(s)
      log(`  run ${i + 1} ${target.padEnd(8)} ${fmt(s.ms).padStart(5)} ms   RSS ${fmt(s.rssReady, 1)} MB → ${fmt(s.rssWarm, 1)} MB`)
    }
    baseline.push(nodeBaselineMs())
  }
  const summarise = (xs: StartupSample[]): StartupResult => ({
    ms: median(xs.map(s => s.ms)), rssReady: median(xs.map(s => s.rssReady)), rssWarm: median(xs.map(s => s.rssWarm)), samples: xs
  })
  return { leadlink: summarise(samples.leadlink), bare: summarise(samples.bare), nodeMs: median(baseline) }
}

// ---------------------------------------------------------------------------------------------
// 2. POST /subscribe throughput

interface LoadResult {
  target: Target
  round: number
  rps: number
  p50: number
  p99: number
  accepted: number
  bad: number
  statusCodes: Record<string, number>
  errors: number
  sesSend: number
  s3Put: number
  s3Get: number
  preconditionFailed: number
  unsupported: string[]
  serverCpuMsPerReq: number
  serverCpuPct: number
  standInCpuPct: number
  benchCpuPct: number
  /** CPU used by processes other than the server, the stand-ins and the bench (a noisy neighbour) */
  othersCpuPct: number
  rssAfter: number
  warnings: string[]
}

let requestSeq = 0

async function cannon (port: number, seconds: number, tag: string): Promise<autocannon.Result> {
  return await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: 'POST',
      path: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // A new address per request: a repeat would be an update (read + conditional replace), not a signup.
      setupRequest: request => ({ ...request, body: `email=${tag}-u${++requestSeq}@example.com&slug=default` })
    }]
  })
}

/** Waits until the stand-in's SendEmail count stops moving (an outbox may still be draining). */
async function settle (atLeast: number, timeoutMs = 10_000): Promise<StandInStats> {
  const deadline = performance.now() + timeoutMs
  let last = await standInCall('/__bench/stats')
  let stableSince = performance.now()
  while (performance.now() < deadline) {
    await sleep(100)
    const now = await standInCall('/__bench/stats')
    if (now.sesSend !== last.sesSend || now.s3Put !== last.s3Put) stableSince = performance.now()
    last = now
    if (now.sesSend >= atLeast && performance.now() - stableSince >= 300) break
    if (performance.now() - stableSince >= 1500) break
  }
  return last
}

async function loadOnce (target: 'leadlink' | 'naive', round: number): Promise<LoadResult> {
  const port = await freePort()
  const label = `${target}-round${round + 1}`
  const server = launch(target, nodeArgs(target, label), serverEnv(port))
  try {
    await waitHealthy(server, port)
    // Warm-up: JIT, keep-alive sockets to the stand-ins, the catalog cache.
    await cannon(port, WARMUP, `w${round}${target}`)
    await settle(0)
    await standInCall('/__bench/reset')
    const cpu0 = { server: cpuMs(server.pid), standIns: cpuMs(standIns.pid), bench: process.cpuUsage(), machine: machineBusyMs(), at: performance.now() }
    const result = await cannon(port, DURATION, `r${round}${target}`)
    const wall = performance.now() - cpu0.at
    const cpu1 = { server: cpuMs(server.pid), standIns: cpuMs(standIns.pid), bench: process.cpuUsage(cpu0.bench), machine: machineBusyMs() }
    const ours = (cpu1.server - cpu0.server) + (cpu1.standIns - cpu0.standIns) + (cpu1.bench.user + cpu1.bench.system) / 1000
    const accepted = result['2xx'] + result['3xx']
    const stats = await settle(accepted)
    const statusCodes: Record<string, number> = {}
    for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0
    return {
      target,
      round,
      rps: accepted / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      accepted,
      bad: result['1xx'] + result['4xx'] + result['5xx'] + result.errors,
      statusCodes,
      errors: result.errors,
      sesSend: stats.sesSend,
      s3Put: stats.s3Put,
      s3Get: stats.s3Get,
      preconditionFailed: stats.s3PreconditionFailed,
      unsupported: stats.unsupportedSamples,
      serverCpuMsPerReq: (cpu1.server - cpu0.server) / Math.max(accepted, 1),
      serverCpuPct: (cpu1.server - cpu0.server) / wall * 100,
      standInCpuPct: (cpu1.standIns - cpu0.standIns) / wall * 100,
      benchCpuPct: (cpu1.bench.user + cpu1.bench.system) / 1000 / wall * 100,
      othersCpuPct: Math.max(0, (cpu1.machine - cpu0.machine) - ours) / wall * 100,
      rssAfter: rssMb(server.pid),
      warnings: server.warnings()
    }
  } finally {
    await stop(server)
  }
}

function printLoad (r: LoadResult): void {
  const codes = Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ')
  log(`  round ${r.round + 1} ${r.target.padEnd(8)} ${fmt(r.rps).padStart(5)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ` +
    `[${codes}${r.errors ? ` errors×${r.errors}` : ''}]  SendEmail ${r.sesSend}/${r.accepted} accepted  ` +
    `S3 PUT ${r.s3Put} GET ${r.s3Get}  CPU server ${fmt(r.serverCpuPct)}% (${fmt(r.serverCpuMsPerReq, 2)} ms/req) ` +
    `stand-ins ${fmt(r.standInCpuPct)}% load ${fmt(r.benchCpuPct)}% others ${fmt(r.othersCpuPct)}%`)
  if (r.othersCpuPct > 15) log(`    note: other processes used ${fmt(r.othersCpuPct)}% CPU during this run: its figures are unreliable`)
  if (r.preconditionFailed) log(`    note: ${r.preconditionFailed} conditional writes lost (412)`)
  if (r.unsupported.length) log(`    note: the stand-in does not implement: ${r.unsupported.join(', ')}`)
  if (r.warnings.length) log(`    note: ${r.warnings.length} warn/error lines from ${r.target}, first: ${r.warnings[0]?.slice(0, 300)}`)
}

async function benchSubscribe (): Promise<{ leadlink: LoadResult[], naive: LoadResult[] }> {
  log(`\n== POST /subscribe: ${ROUNDS} rounds, alternating, ${WARMUP} s warm-up + ${DURATION} s × ${CONNECTIONS} connections, a new address per request`)
  const out: { leadlink: LoadResult[], naive: LoadResult[] } = { leadlink: [], naive: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const order: Array<'leadlink' | 'naive'> = round % 2 === 0 ? ['leadlink', 'naive'] : ['naive', 'leadlink']
    for (const target of order) {
      const r = await loadOnce(target, round)
      out[target].push(r)
      printLoad(r)
    }
  }
  return out
}

function printProfiles (): void {
  log('\n== CPU profiles (whole process lifetime: start-up, warm-up and load)')
  for (const file of readdirSync(PROFILE_DIR).filter(f => f.endsWith('.cpuprofile')).sort()) {
    const s = summariseProfile(join(PROFILE_DIR, file), ROOT)
    const pct = (ms: number) => `${fmt(ms / s.totalMs * 100, 1).padStart(5)}%`
    log(`\n-- ${file}: ${fmt(s.totalMs)} ms sampled; ${s.special.map(([n, ms]) => `${n} ${pct(ms).trim()}`).join(', ')}`)
    log('   self time by package/file:')
    for (const [name, ms] of s.byPackage) log(`     ${pct(ms)}  ${name}`)
    log('   self time by function:')
    for (const [name, ms] of s.selfByFunction) log(`     ${pct(ms)}  ${name}`)
    if (s.totalBySrcFunction.length) {
      log('   total time (self + callees) by src/ function:')
      for (const [name, ms] of s.totalBySrcFunction) log(`     ${pct(ms)}  ${name}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function row (label: string, a: string, b: string, ratio: string, target: string): string {
  return `${label.padEnd(26)}${a.padStart(10)}${b.padStart(12)}${ratio.padStart(9)}   ${target}`
}

async function main (): Promise<void> {
  installCleanup()
  const started = performance.now()
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  log(`leadlink bench: Node ${process.version}, ${availableParallelism()} CPUs (${cpu}), ${process.platform}`)
  if (opts.profile) {
    mkdirSync(PROFILE_DIR, { recursive: true })
    for (const f of readdirSync(PROFILE_DIR)) if (f.endsWith('.cpuprofile')) rmSync(join(PROFILE_DIR, f))
    log(`profiling: figures below are slowed by --cpu-prof; profiles in ${PROFILE_DIR}`)
  }

  // The server reads compiled email templates at boot: build them once, as `npm start` would.
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build-templates.ts')], { stdio: 'inherit' })
  if (build.status !== 0) throw new Error('npm run build (template build) failed')

  await startStandIns()
  const startup = opts.only === 'subscribe' ? undefined : await benchStartup()
  const load = opts.only === 'startup' ? undefined : await benchSubscribe()
  await stop(standIns)
  if (opts.profile) printProfiles()

  log(`\n== summary (medians; ${fmt((performance.now() - started) / 1000)} s in all)`)
  log(row('', 'leadlink', 'reference', 'ratio', 'target'))
  if (startup) {
    const { leadlink: l, bare: b } = startup
    log(row('startup ms', fmt(l.ms), `bare ${fmt(b.ms)}`, fmt(l.ms / b.ms, 2), '≤ 1.2'))
    log(row('RSS at ready MB', fmt(l.rssReady, 1), `bare ${fmt(b.rssReady, 1)}`, fmt(l.rssReady / b.rssReady, 2), '≤ 1.2'))
    log(row('RSS after warm-up MB', fmt(l.rssWarm, 1), `bare ${fmt(b.rssWarm, 1)}`, fmt(l.rssWarm / b.rssWarm, 2), '≤ 1.2'))
    log(row('(node -e 0 alone, ms)', '', fmt(startup.nodeMs), '', ''))
  }
  if (load) {
    const m = (rs: LoadResult[], f: (r: LoadResult) => number) => median(rs.map(f))
    const { leadlink: l, naive: n } = load
    const lr = m(l, r => r.rps)
    const nr = m(n, r => r.rps)
    log(row('subscribe req/s', fmt(lr), `naive ${fmt(nr)}`, fmt(lr / nr, 2), '≥ 0.8'))
    log(row('latency p50 ms', fmt(m(l, r => r.p50)), `naive ${fmt(m(n, r => r.p50))}`, '', ''))
    log(row('latency p99 ms', fmt(m(l, r => r.p99)), `naive ${fmt(m(n, r => r.p99))}`, '', ''))
    const sum = (rs: LoadResult[], f: (r: LoadResult) => number) => rs.reduce((a, r) => a + f(r), 0)
    log(row('non-2xx/3xx (all rounds)', String(sum(l, r => r.bad)), `naive ${sum(n, r => r.bad)}`, '', '0'))
    const emailed = (rs: LoadResult[]) => `${sum(rs, r => r.sesSend)}/${sum(rs, r => r.accepted)}`
    log(row('SendEmail/accepted', emailed(l), `naive ${emailed(n)}`, '', 'every accepted one emailed'))
    const missing = sum(l, r => Math.max(0, r.accepted - r.sesSend))
    if (missing) log(`  !! leadlink accepted ${missing} signups that were never emailed`)
    log(row('S3 requests/accepted', fmt(sum(l, r => r.s3Put + r.s3Get) / sum(l, r => r.accepted), 2),
      `naive ${fmt(sum(n, r => r.s3Put + r.s3Get) / sum(n, r => r.accepted), 2)}`, '', ''))
    const lc = m(l, r => r.serverCpuMsPerReq)
    const nc = m(n, r => r.serverCpuMsPerReq)
    log(row('server CPU ms/request', fmt(lc, 2), `naive ${fmt(nc, 2)}`, fmt(lc / nc, 2), ''))
    log(row('RSS after load MB', fmt(m(l, r => r.rssAfter), 1), `naive ${fmt(m(n, r => r.rssAfter), 1)}`, fmt(m(l, r => r.rssAfter) / m(n, r => r.rssAfter), 2), ''))
  }
}

try {
  await main()
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
  // Exiting runs the cleanup that kills every child still alive.
  process.exit(1)
}
