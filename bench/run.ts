// npm run bench: the bench's only entry. Parses the flags, runs the chosen sections (start-up and memory
// against a bare Fastify app, link minting against getSignedUrl, POST /subscribe per address state, a
// signup burst against a throttled SES, POST /subscribe throughput against a naive route) and prints a
// summary with each figure beside its target (targets.ts). Prints figures only: a miss fails nothing.
// Everything runs on 127.0.0.1 against in-memory S3/SES stand-ins.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runBurst, summariseBurst, type BurstResult } from './burst.ts'
import { DEFAULT_SECTIONS, profileDir, SECTIONS, type BenchContext, type BenchOptions, type Section } from './context.ts'
import { runMint, summariseMint, type MintBench } from './mint.ts'
import { installCleanup } from './processes.ts'
import { printProfiles } from './profile-summary.ts'
import { servers, startStandInProcess } from './servers.ts'
import { runSignups, summariseSignups, type SignupsBench } from './signups-100k.ts'
import { runStartup, summariseStartup, type StartupBench } from './startup.ts'
import { runStates, summariseStates, type StatesResult } from './states.ts'
import { fmt, log, row, type Log } from './stats.ts'
import { runSubscribe, summariseSubscribe, type SubscribeBench } from './subscribe.ts'
import { listTargets } from './targets.ts'

export const USAGE = `usage: npm run bench -- [--startup-runs 9] [--rounds 3] [--duration 10] [--warmup 3]
       [--connections 32] [--bursts 3] [--mint-runs 5] [--mint-warmup 20000] [--only all|startup,mint,states,burst,subscribe,signups]
       [--records 100000]
       [--leadlink dist/node/server.mjs] [--budget 230] [--profile] [--targets]
--only      the sections to run, comma-separated (all: every one):
              startup    start-up time and memory against a bare Fastify app; leadlink as npm start runs it,
                         without its precompiled schemas, from its sources, and from its sources without them
              mint       µs per download link against the SDK's getSignedUrl, in process
              states     POST /subscribe's median time per address state (new, on file, cooling, capped, suppressed)
              burst      1,500 signups at 50 connections against an SES throttled at 100 sends/s
              subscribe  POST /subscribe throughput against a naive route
              signups    (not in all: minutes) --records subscriber records in s3rver: export and
                         /admin/signups.csv time against the floor and their peak RSS, the admin list's
                         page time, the sender scan's S3 requests
--bursts    signup bursts, each against a new server (the summary takes their medians)
--budget    seconds the whole run may take when extra bursts or /subscribe rounds (as many as planned,
            at most) replace ones that other processes disturbed; the planned ones always run
--leadlink  another entry to measure (the dist/node/server.mjs of a worktree, say) to compare a change;
            that tree is built first, and link minting loads its src/whitepapers/download-links.ts
--profile   runs the burst and /subscribe servers under --cpu-prof and summarises where their CPU goes;
            the profiler slows them, so compare the profiles, not those figures (artifacts/bench-profiles/)
--targets   prints every target (bench/targets.ts) with where it comes from, and runs nothing
`

export type Parsed = { kind: 'run', opts: BenchOptions } | { kind: 'print', text: string } | { kind: 'error', text: string }

export function parseOptions (argv: string[]): Parsed {
  try {
    return parseValidated(argv)
  } catch (err) {
    // node:util's parseArgs refuses an unknown flag or a missing value with a message that says which.
    if (String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) return { kind: 'error', text: `bench: ${(err as Error).message}\n${USAGE}` }
    throw err
  }
}

function parseValidated (argv: string[]): Parsed {
  const { values } = parseArgs({
    args: argv,
    options: {
      'startup-runs': { type: 'string', default: '9' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      bursts: { type: 'string', default: '3' },
      'mint-runs': { type: 'string', default: '5' },
      'mint-warmup': { type: 'string', default: '20000' },
      records: { type: 'string', default: '100000' },
      only: { type: 'string', default: 'all' },
      leadlink: { type: 'string', default: 'dist/node/server.mjs' },
      budget: { type: 'string', default: '230' },
      profile: { type: 'boolean', default: false },
      targets: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) return { kind: 'print', text: USAGE }
  if (values.targets) return { kind: 'print', text: `${listTargets().join('\n')}\n` }
  const names = values.only === 'all' ? [...DEFAULT_SECTIONS] : values.only.split(',').map(name => name.trim())
  const unknown = names.find(name => !(SECTIONS as readonly string[]).includes(name))
  if (unknown !== undefined) return { kind: 'error', text: `bench: unknown section "${unknown}" in --only (sections: ${SECTIONS.join(', ')}, or all)\n` }
  const numbers = {
    startupRuns: Number(values['startup-runs']),
    rounds: Number(values.rounds),
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
    bursts: Number(values.bursts),
    mintRuns: Number(values['mint-runs']),
    mintWarmup: Number(values['mint-warmup']),
    records: Number(values.records),
    budget: Number(values.budget)
  }
  const bad = Object.entries(numbers).find(([, n]) => !Number.isFinite(n) || n < 0)
  if (bad) return { kind: 'error', text: `bench: ${bad[0]} must be a number ≥ 0\n` }
  return { kind: 'run', opts: { ...numbers, sections: names as Section[], profile: values.profile, leadlink: values.leadlink } }
}

interface Results {
  startup?: StartupBench | undefined
  mint?: MintBench | undefined
  states?: StatesResult | undefined
  burst?: BurstResult[] | undefined
  subscribe?: SubscribeBench | undefined
  signups?: SignupsBench | undefined
}

function printSummary (results: Results, opts: BenchOptions, seconds: number, out: Log): void {
  out(`\n== summary (medians; ${fmt(seconds)} s in all; ✓ or ✗ from bench/targets.ts, which npm run bench -- --targets lists with their sources)`)
  out(row('', 'leadlink', 'reference', 'ratio', 'target'))
  if (results.startup) summariseStartup(results.startup, out)
  if (results.subscribe) summariseSubscribe(results.subscribe, opts.connections, out)
  if (results.mint) summariseMint(results.mint, out)
  if (results.burst) summariseBurst(results.burst, out)
  if (results.states) summariseStates(results.states, out)
  if (results.signups) summariseSignups(results.signups, out)
}

/** Runs the chosen sections; the in-process ones first, before any child exists. */
export async function runBench (opts: BenchOptions, out: Log = log): Promise<void> {
  installCleanup()
  const started = performance.now()
  const root = fileURLToPath(new URL('../', import.meta.url))
  const ctx: BenchContext = { opts, servers: servers(root, opts.leadlink), standIns: undefined, deadline: started + opts.budget * 1000, log: out }
  const wants = (section: Section): boolean => opts.sections.includes(section)
  out(`leadlink bench: Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${process.platform}, ` +
    `load average ${loadavg().map(x => fmt(x, 2)).join(' ')}; leadlink = ${ctx.servers.entry.leadlink}`)
  if (opts.profile) {
    mkdirSync(profileDir(ctx), { recursive: true })
    for (const f of readdirSync(profileDir(ctx))) if (f.endsWith('.cpuprofile')) rmSync(join(profileDir(ctx), f))
    out(`profiling: the burst and /subscribe figures are slowed by --cpu-prof; profiles go to ${profileDir(ctx)}`)
  }
  const results: Results = {}
  if (wants('mint')) results.mint = await runMint(ctx)
  if (wants('states')) results.states = await runStates(ctx)
  if (wants('signups')) results.signups = await runSignups(ctx, opts.records)
  if (wants('startup') || wants('burst') || wants('subscribe')) {
    // What `npm start` runs is the build's output: build it, as `npm start` would (in the tree that
    // --leadlink points into).
    const { leadlinkRoot } = ctx.servers
    const build = spawnSync(process.execPath, [join(leadlinkRoot, 'build/build.ts')], { cwd: leadlinkRoot, stdio: 'inherit' })
    if (build.status !== 0) throw new Error('the build (npm run build) failed')
    ctx.standIns = await startStandInProcess(root)
    try {
      if (wants('startup')) results.startup = await runStartup(ctx)
      // An extra burst must leave time for the planned /subscribe rounds (their warm-up, load and settling).
      const subscribeMs = wants('subscribe') ? opts.rounds * 2 * (opts.warmup + opts.duration + 5) * 1000 : 0
      if (wants('burst')) results.burst = await runBurst(ctx, subscribeMs)
      if (wants('subscribe')) results.subscribe = await runSubscribe(ctx)
    } finally {
      await ctx.standIns.stop()
    }
  }
  if (opts.profile && (results.subscribe || results.burst)) printProfiles(profileDir(ctx), ctx.servers.leadlinkRoot, root, out)
  printSummary(results, opts, (performance.now() - started) / 1000, out)
}

if (import.meta.main) {
  const parsed = parseOptions(process.argv.slice(2))
  if (parsed.kind === 'print') process.stdout.write(parsed.text)
  else if (parsed.kind === 'error') {
    process.stderr.write(parsed.text)
    process.exitCode = 2
  } else {
    try {
      await runBench(parsed.opts)
    } catch (err) {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
      // Exiting runs the cleanup that kills every child still alive.
      process.exit(1)
    }
  }
}
