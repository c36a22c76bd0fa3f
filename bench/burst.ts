// Bench section "burst": a campaign launch (issue 5). 1,500 signups at 50 connections, each burst on a new
// leadlink against an SES stand-in throttled at 100 sends/s that leadlink paces itself to through GetAccount.
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { profileArgs, standInsOf, type BenchContext } from './context.ts'
import { cpuMs, describeLogLine, freePort, launch, machineBusyMs, stop, waitHealthy } from './processes.ts'
import { serverEnv } from './servers.ts'
import type { StandInStats } from './stand-ins.ts'
import { fmt, median, NOISY_PCT, othersPct, percentile, range, row, sum, type Log } from './stats.ts'
import { meets, verdict } from './targets.ts'

export const BURST = { signups: 1500, connections: 50, sesRate: 100, warmupSignups: 200, deliveryDeadlineMs: 60_000 }

export interface BurstResult {
  attempt: number
  accepted: number
  /** 1xx, 4xx, 5xx, connection errors and timeouts */
  failed: number
  statusCodes: Record<string, number>
  errors: number
  burstMs: number
  p50: number
  p99: number
  max: number
  /** the slowest first answer on a connection, and the p99 of the others (ms) */
  firstMax: number
  laterP99: number
  /** SendEmail calls accepted by the stand-in since the burst began */
  emailed: number
  throttled: number
  /** from the end of the burst to the last email (NaN: not every accepted signup was emailed in time) */
  deliveredAfterMs: number
  getAccount: number
  /** leadlink's CPU from the burst's start to the last email, per signup */
  serverCpuMsPerSignup: number
  serverCpuPct: number
  othersCpuPct: number
  warnings: string[]
  stats: StandInStats
}

interface Burst {
  result: autocannon.Result
  /** performance.now() and Date.now() at the last answer (NaN: none) */
  lastAnswer: { at: number, epochMs: number }
  /** ms, the first answer on each connection (its clock runs from before the server accepted it) */
  firstLatencies: number[]
  /** ms, every later answer */
  laterLatencies: number[]
}

let requestSeq = 0

/**
 * Exactly `amount` signups, a new address each. autocannon reports on its next one-second tick, so
 * the last answer is timed here.
 */
async function burstCannon (port: number, amount: number, connections: number, tag: string): Promise<Burst> {
  const lastAnswer = { at: NaN, epochMs: NaN }
  const answered = () => {
    lastAnswer.at = performance.now()
    lastAnswer.epochMs = Date.now()
  }
  const seen = new Set<unknown>()
  const firstLatencies: number[] = []
  const laterLatencies: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      amount,
      requests: [{
        method: 'POST',
        path: '/subscribe',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: request => ({ ...request, body: `email=${tag}-u${++requestSeq}@example.com&slug=default` })
      }]
    }, (err, result) => err ? reject(err as Error) : resolve(result))
    instance.on('response', (client, _status, _bytes, ms) => {
      answered()
      if (seen.has(client)) laterLatencies.push(ms)
      else {
        seen.add(client)
        firstLatencies.push(ms)
      }
    })
    instance.on('reqError', answered)
  })
  return { result, lastAnswer, firstLatencies, laterLatencies }
}

async function burstOnce (ctx: BenchContext, attempt: number): Promise<BurstResult> {
  const standIns = standInsOf(ctx)
  const port = await freePort()
  await standIns.call('/__bench/wipe')
  await standIns.limitSes({ sendRate: BURST.sesRate })
  const server = launch('leadlink', [...profileArgs(ctx, `leadlink-burst${attempt + 1}`), ctx.servers.entry.leadlink], serverEnv(port, standIns.url, 'account'))
  try {
    await waitHealthy(server, port)
    // Warm-up, as on a service that was up before the campaign went out: JIT, keep-alive sockets,
    // the catalog cache. Its emails go out first; settle's quiet second refills SES's bucket.
    const { result: warm } = await burstCannon(port, BURST.warmupSignups, 10, `bw${attempt}`)
    // GetAccount is asked at boot (then every 5 minutes): counted before the counters are zeroed.
    const { stats: booted } = await standIns.settle(warm['2xx'] + warm['3xx'])
    await standIns.call('/__bench/reset')
    const at0 = performance.now()
    const cpu0 = { server: cpuMs(server.pid), standIns: cpuMs(standIns.pid), bench: cpuMs('self'), machine: machineBusyMs() }
    const { result, lastAnswer, firstLatencies, laterLatencies } = await burstCannon(port, BURST.signups, BURST.connections, `b${attempt}`)
    const burstMs = lastAnswer.at - at0
    const accepted = result['2xx'] + result['3xx']
    // Every accepted signup's email, or the deadline.
    let stats = await standIns.call('/__bench/stats')
    const deadline = performance.now() + BURST.deliveryDeadlineMs
    while ((accepted === 0 || stats.sesSend < accepted) && performance.now() < deadline) {
      await sleep(50)
      stats = await standIns.call('/__bench/stats')
    }
    const wall = performance.now() - at0
    const cpu = {
      server: cpuMs(server.pid) - cpu0.server,
      standIns: cpuMs(standIns.pid) - cpu0.standIns,
      bench: cpuMs('self') - cpu0.bench,
      machine: machineBusyMs() - cpu0.machine
    }
    const statusCodes: Record<string, number> = {}
    for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0
    return {
      attempt,
      accepted,
      failed: result['1xx'] + result['4xx'] + result['5xx'] + result.errors,
      statusCodes,
      errors: result.errors,
      burstMs,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      firstMax: Math.max(...firstLatencies),
      laterP99: percentile(laterLatencies, 99),
      emailed: stats.sesSend,
      throttled: stats.sesThrottled,
      deliveredAfterMs: accepted > 0 && stats.sesSend >= accepted ? Math.max(0, stats.sesLastSendAt - lastAnswer.epochMs) : NaN,
      getAccount: booted.sesGetAccount + stats.sesGetAccount,
      serverCpuMsPerSignup: cpu.server / Math.max(accepted, 1),
      serverCpuPct: cpu.server / wall * 100,
      othersCpuPct: othersPct(cpu.machine, cpu.server + cpu.standIns + cpu.bench, wall),
      warnings: server.warnings(),
      stats
    }
  } finally {
    await stop(server)
    await standIns.limitSes({})
  }
}

function printBurst (r: BurstResult, log: Log): void {
  const codes = Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ')
  const calls = r.emailed + r.throttled
  log(`  burst ${r.attempt + 1}: ${BURST.signups} signups in ${fmt(r.burstMs / 1000, 1)} s (${fmt(BURST.signups / r.burstMs * 1000)}/s)  ` +
    `[${codes}${r.errors ? ` errors×${r.errors}` : ''}]  p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms ` +
    `(first answer per connection: max ${fmt(r.firstMax)} ms; the others: p99 ${fmt(r.laterP99)} ms)`)
  log(`    emails: ${r.emailed} for ${r.accepted} accepted, ` +
    (Number.isNaN(r.deliveredAfterMs) ? `not all within ${BURST.deliveryDeadlineMs / 1000} s` : `the last ${fmt(r.deliveredAfterMs / 1000, 1)} s after the burst`) +
    `; SendEmail answered TooManyRequests to ${r.throttled} of ${calls} calls (${fmt(r.throttled / calls * 100, 1)}%); GetAccount asked ${r.getAccount}×`)
  log(`    CPU until the last email: server ${fmt(r.serverCpuPct)}% (${fmt(r.serverCpuMsPerSignup, 2)} ms/signup), other processes ${fmt(r.othersCpuPct)}%`)
  if (r.othersCpuPct > NOISY_PCT) log('    note: other processes competed for the CPUs during this burst: its figures are unreliable')
  if (r.getAccount === 0) log('    !! leadlink never asked GetAccount: its pace did not come from the SES quota')
  if (r.stats.unsupported) log(`    note: the stand-in does not implement: ${r.stats.unsupportedSamples.join(', ')}`)
  // Throttling answers are logged at warn by design; anything else is news.
  const others = r.warnings.filter(line => !line.includes('"reason":"throttled"'))
  if (others.length) log(`    note: ${others.length} warn/error lines from leadlink besides throttled retries; first: ${describeLogLine(others[0] ?? '')}`)
}

/**
 * Bursts, each against a new server. When other processes competed for the CPUs during one, extra
 * bursts run while the time budget allows, leaving `reserveMs` for the sections after.
 */
export async function runBurst (ctx: BenchContext, reserveMs: number): Promise<BurstResult[]> {
  const { log, opts } = ctx
  log(`\n== signup burst: ${opts.bursts} × ${BURST.signups} signups at ${BURST.connections} connections, each on a new server after ${BURST.warmupSignups} warm-up signups;`)
  log(`   SES throttled at ${BURST.sesRate} sends/s (bucket of ${BURST.sesRate}), GetAccount says so; leadlink paces from it (no SES_MAX_SEND_RATE)`)
  const out: BurstResult[] = []
  let quiet = 0
  let longest = 0
  const extraAllowed = (attempt: number) => attempt < 2 * opts.bursts && quiet < opts.bursts && performance.now() + longest + reserveMs < ctx.deadline
  for (let attempt = 0; attempt < opts.bursts || extraAllowed(attempt); attempt++) {
    if (attempt === opts.bursts) log(`  (only ${quiet} of ${opts.bursts} bursts were free of competing processes: running more while the time budget allows)`)
    const started = performance.now()
    const r = await burstOnce(ctx, attempt)
    out.push(r)
    printBurst(r, log)
    if (r.othersCpuPct <= NOISY_PCT) quiet++
    longest = Math.max(longest, performance.now() - started)
  }
  return out
}

export function summariseBurst (burst: BurstResult[], log: Log): void {
  if (burst.length === 0) return
  // Only bursts that had the CPUs to themselves, when there are some.
  const quietBursts = burst.filter(r => r.othersCpuPct <= NOISY_PCT)
  const used = quietBursts.length > 0 ? quietBursts : burst
  const m = (f: (r: BurstResult) => number) => median(used.map(f))
  const calls = sum(used, r => r.emailed + r.throttled)
  const throttled = sum(used, r => r.throttled)
  const emailed = `${sum(used, r => r.emailed)}/${sum(used, r => r.accepted)} emailed`
  const late = used.some(r => Number.isNaN(r.deliveredAfterMs))
  const lastEmailS = late ? NaN : m(r => r.deliveredAfterMs) / 1000
  log(`  signup burst: ${BURST.signups} at ${BURST.connections} connections, SES throttled at ${BURST.sesRate}/s (issue 5)`)
  log(row('failed submissions, all', String(sum(burst, r => r.failed)), `of ${burst.length * BURST.signups}`, '', verdict('burstFailed', sum(burst, r => r.failed))))
  log(row('submission latency p99 ms', fmt(m(r => r.p99)), `p50 ${fmt(m(r => r.p50))}`, '', verdict('burstP99Ms', m(r => r.p99))))
  log(row('last email after burst, s', fmt(lastEmailS, 1), emailed, '', verdict('burstLastEmailS', lastEmailS)))
  log(row('throttled, % of SendEmail', fmt(throttled / calls * 100, 1), `${throttled} of ${calls}`, '', verdict('burstThrottledPct', throttled / calls * 100)))
  log(`    bursts used: p99 ${range(used.map(r => r.p99))} ms, last email ${range(used.map(r => r.deliveredAfterMs / 1000), 1)} s`)
  if (meets('burstP99Ms', m(r => r.p99)) === false && meets('burstP99Ms', m(r => r.laterP99))) {
    log(`  (without each connection's first answer, p99 is ${fmt(m(r => r.laterP99))} ms: the tail is connections that leadlink accepted late)`)
  }
  if (quietBursts.length < burst.length) {
    log(`  (other processes competed for the CPUs during ${burst.length - quietBursts.length} of ${burst.length} bursts; ` +
      (quietBursts.length > 0 ? `the figures use the ${quietBursts.length} quiet ones)` : 'none was quiet: rerun on a quiet machine)'))
  }
}
