// Bench section "subscribe": POST /subscribe throughput of leadlink against the naive inline route, in
// alternating rounds on fresh servers, a new address per request, every accepted signup followed to its email.
import autocannon from 'autocannon'
import { profileArgs, standInsOf, type BenchContext } from './context.ts'
import { cpuMs, describeLogLine, freePort, launch, machineBusyMs, rssMb, stop, waitHealthy } from './processes.ts'
import { serverEnv } from './servers.ts'
import type { StandInStats } from './stand-ins.ts'
import { fmt, median, NOISY_PCT, othersPct, range, row, sum, type Log } from './stats.ts'
import { verdict, type TargetName } from './targets.ts'

type Contender = 'leadlink' | 'naive'

export interface LoadResult {
  target: Contender
  round: number
  rps: number
  p50: number
  p99: number
  accepted: number
  /** 1xx, 4xx, 5xx, connection errors and timeouts */
  bad: number
  statusCodes: Record<string, number>
  errors: number
  stats: StandInStats
  serverCpuMsPerReq: number
  /** from the end of the load until SendEmail had caught up with the accepted requests (NaN: never) */
  drainMs: number
  serverCpuPct: number
  standInCpuPct: number
  benchCpuPct: number
  othersCpuPct: number
  rssAfter: number
  warnings: string[]
}

export type SubscribeBench = Record<Contender, LoadResult[]>

let requestSeq = 0

async function cannon (port: number, connections: number, seconds: number, tag: string): Promise<autocannon.Result> {
  return await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
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

async function loadOnce (ctx: BenchContext, target: Contender, round: number): Promise<LoadResult> {
  const { opts } = ctx
  const standIns = standInsOf(ctx)
  const port = await freePort()
  // A fresh bucket per server: nothing left over (an outbox batch, say) for it to pick up.
  await standIns.call('/__bench/wipe')
  const server = launch(target, [...profileArgs(ctx, `${target}-round${round + 1}`), ctx.servers.entry[target]], serverEnv(port, standIns.url))
  try {
    await waitHealthy(server, port)
    // Warm-up: JIT, keep-alive sockets to the stand-ins, the catalog cache.
    const warm = await cannon(port, opts.connections, opts.warmup, `w${round}${target}`)
    await standIns.settle(warm['2xx'] + warm['3xx'])
    await standIns.call('/__bench/reset')
    const at0 = performance.now()
    const cpu0 = { server: cpuMs(server.pid), standIns: cpuMs(standIns.pid), bench: cpuMs('self'), machine: machineBusyMs() }
    const result = await cannon(port, opts.connections, opts.duration, `r${round}${target}`)
    const wall = performance.now() - at0
    const cpu = {
      server: cpuMs(server.pid) - cpu0.server,
      standIns: cpuMs(standIns.pid) - cpu0.standIns,
      bench: cpuMs('self') - cpu0.bench,
      machine: machineBusyMs() - cpu0.machine
    }
    const accepted = result['2xx'] + result['3xx']
    const { stats, drainMs } = await standIns.settle(accepted)
    // CPU per request counts the work done after the load for the requests accepted during it.
    const serverCpuAfterDrain = cpuMs(server.pid) - cpu0.server
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
      stats,
      serverCpuMsPerReq: serverCpuAfterDrain / Math.max(accepted, 1),
      drainMs,
      serverCpuPct: cpu.server / wall * 100,
      standInCpuPct: cpu.standIns / wall * 100,
      benchCpuPct: cpu.bench / wall * 100,
      othersCpuPct: othersPct(cpu.machine, cpu.server + cpu.standIns + cpu.bench, wall),
      rssAfter: rssMb(server.pid),
      warnings: server.warnings()
    }
  } finally {
    await stop(server)
  }
}

function printLoad (r: LoadResult, log: Log): void {
  const codes = Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ')
  log(`  round ${r.round + 1} ${r.target.padEnd(8)} ${fmt(r.rps).padStart(5)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ` +
    `[${codes}${r.errors ? ` errors×${r.errors}` : ''}]  SendEmail ${r.stats.sesSend} for ${r.accepted} accepted  ` +
    `S3 PUT ${r.stats.s3Put} GET ${r.stats.s3Get}`)
  log(`    CPU: server ${fmt(r.serverCpuPct)}% (${fmt(r.serverCpuMsPerReq, 2)} ms/req), stand-ins ${fmt(r.standInCpuPct)}%, ` +
    `autocannon ${fmt(r.benchCpuPct)}%, other processes ${fmt(r.othersCpuPct)}%; server RSS after ${fmt(r.rssAfter, 1)} MB`)
  if (r.othersCpuPct > NOISY_PCT) log('    note: other processes competed for the CPUs during this round: its figures are unreliable')
  if (r.stats.sesSend < r.accepted) log(`    !! ${r.accepted - r.stats.sesSend} accepted signups were not emailed (waited 20 s)`)
  else if (r.drainMs > 200) log(`    note: emails were still owed when the load stopped; SendEmail caught up ${fmt(r.drainMs)} ms later`)
  if (r.stats.s3PreconditionFailed) log(`    note: ${r.stats.s3PreconditionFailed} conditional writes lost (412)`)
  if (r.stats.unsupported) log(`    note: the stand-in does not implement: ${r.stats.unsupportedSamples.join(', ')}`)
  if (r.warnings.length) log(`    note: ${r.warnings.length} warn/error lines from ${r.target}; first: ${describeLogLine(r.warnings[0] ?? '')}`)
}

/**
 * Rounds of leadlink then naive (the order alternates). When other processes competed for the CPUs
 * in a round, extra rounds run while the time budget allows, so a shared machine still yields some
 * clean pairs.
 */
export async function runSubscribe (ctx: BenchContext): Promise<SubscribeBench> {
  const { log, opts } = ctx
  log(`\n== POST /subscribe: ${opts.rounds} rounds, alternating; ${opts.warmup} s warm-up + ${opts.duration} s × ${opts.connections} connections, a new address per request`)
  const out: SubscribeBench = { leadlink: [], naive: [] }
  let quietRounds = 0
  let longestRound = 0
  const extraAllowed = (round: number) => round < 2 * opts.rounds && quietRounds < opts.rounds && performance.now() + longestRound < ctx.deadline
  for (let round = 0; round < opts.rounds || extraAllowed(round); round++) {
    if (round === opts.rounds) log(`  (only ${quietRounds} of ${opts.rounds} rounds were free of competing processes: running more while the time budget allows)`)
    const started = performance.now()
    const order: Contender[] = round % 2 === 0 ? ['leadlink', 'naive'] : ['naive', 'leadlink']
    let quiet = true
    for (const target of order) {
      const r = await loadOnce(ctx, target, round)
      out[target].push(r)
      printLoad(r, log)
      quiet &&= r.othersCpuPct <= NOISY_PCT
    }
    if (quiet) quietRounds++
    longestRound = Math.max(longestRound, performance.now() - started)
  }
  return out
}

export function summariseSubscribe (load: SubscribeBench, connections: number, log: Log): void {
  // Only rounds where both servers had the CPUs to themselves, when there are some: a busy
  // neighbour during one side of a round skews the comparison.
  const isQuiet = (round: number) => [...load.leadlink, ...load.naive].every(r => r.round !== round || r.othersCpuPct <= NOISY_PCT)
  const quietRounds = load.leadlink.map(r => r.round).filter(isQuiet)
  const use = (rs: LoadResult[]) => quietRounds.length > 0 ? rs.filter(r => quietRounds.includes(r.round)) : rs
  const l = use(load.leadlink)
  const n = use(load.naive)
  log(`  POST /subscribe, ${connections} connections (ratio: leadlink ÷ naive)`)
  const both = (label: string, f: (r: LoadResult) => number, digits = 0, ratio = false, target: TargetName | string = '') => {
    const a = median(l.map(f))
    const b = median(n.map(f))
    const judged = target === 'subscribeRps' || target === 'subscribeRpsPerCore' ? verdict(target, a / b) : target
    log(row(label, fmt(a, digits), `naive ${fmt(b, digits)}`, ratio ? fmt(a / b, 2) : '', judged))
  }
  both('subscribe req/s', r => r.rps, 0, true, 'subscribeRps')
  log(`    rounds used: leadlink ${range(l.map(r => r.rps))} req/s, naive ${range(n.map(r => r.rps))} req/s`)
  both('latency p50 ms', r => r.p50)
  both('latency p99 ms', r => r.p99)
  const bad = sum(load.leadlink, r => r.bad)
  log(row('non-2xx/3xx, all rounds', String(bad), `naive ${sum(load.naive, r => r.bad)}`, '', verdict('subscribeBad', bad)))
  const emailed = (rs: LoadResult[]) => `${sum(rs, r => r.stats.sesSend)}/${sum(rs, r => r.accepted)}`
  log(row('SendEmail/accepted, all', emailed(load.leadlink), `naive ${emailed(load.naive)}`, '', '(≥ 1, + ≤ connections in flight at stop)'))
  const unsent = (rs: LoadResult[]) => sum(rs, r => Math.max(0, r.accepted - r.stats.sesSend))
  log(row('accepted, never emailed', String(unsent(load.leadlink)), `naive ${unsent(load.naive)}`, '', verdict('subscribeUnsent', unsent(load.leadlink))))
  const per = (rs: LoadResult[], f: (s: StandInStats) => number) => sum(rs, r => f(r.stats)) / sum(rs, r => r.stats.sesSend)
  const s3 = (x: StandInStats) => x.s3Put + x.s3Get + x.s3Head + x.s3Delete + x.s3List
  log(row('S3 requests per email', fmt(per(load.leadlink, s3), 2), `naive ${fmt(per(load.naive, s3), 2)}`))
  log(row('SendEmail request KB', fmt(per(load.leadlink, x => x.sesBytes) / 1024, 1), `naive ${fmt(per(load.naive, x => x.sesBytes) / 1024, 1)}`))
  both('emails caught up after, ms', r => r.drainMs, 0, false, '(an outbox may still owe some at stop)')
  both('server CPU ms per request', r => r.serverCpuMsPerReq, 2, true, '(lower is better)')
  both('req/s per server CPU core', r => 1000 / r.serverCpuMsPerReq, 0, true, 'subscribeRpsPerCore')
  both('server RSS after load MB', r => r.rssAfter, 1, true)
  if (quietRounds.length < load.leadlink.length) {
    log(`  (other processes competed for the CPUs in ${load.leadlink.length - quietRounds.length} of ${load.leadlink.length} rounds; ` +
      (quietRounds.length > 0 ? `the medians use round ${quietRounds.map(r => r + 1).join(', ')} only)` : 'no round was quiet: rerun on a quiet machine)'))
  }
  const missing = unsent(load.leadlink)
  if (missing) log(`  !! leadlink accepted ${missing} signups that were never emailed`)
}
