// Bench section "startup": spawn → first /healthz 200 and RSS for leadlink as `npm start` runs it, for
// the same app without each piece of its build (the bundle, the precompiled schemas, Node's compile
// cache), and for a bare Fastify + SDK app; all with ADMIN_TOKEN set, so the admin area loads as
// where it is used.
import { spawnSync } from 'node:child_process'
import { cp, mkdir, rm, symlink } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { standInsOf, type BenchContext } from './context.ts'
import { cpuMs, freePort, hitHealthz, launch, machineBusyMs, rssMb, stop, waitHealthy } from './processes.ts'
import { serverEnv, type Servers } from './servers.ts'
import { fmt, median, NOISY_PCT, othersPct, range, row, savingPct, type Log } from './stats.ts'
import { verdict } from './targets.ts'

/** leadlink as `npm start` runs it and the issue's reference first; then what each piece of the build is worth. */
export const STARTUP_VARIANTS = ['leadlink', 'bare', 'no-compile-cache', 'bundle-no-schemas', 'sources', 'sources-no-schemas', 'bundled-bare'] as const
export type StartupVariant = typeof STARTUP_VARIANTS[number]

const LABEL: Record<StartupVariant, string> = {
  leadlink: '(a) the bundle + precompiled schemas: what `npm start` runs (Node\'s compile cache on, filled by the start before)',
  'no-compile-cache': '(e) the same without Node\'s compile cache (NODE_DISABLE_COMPILE_CACHE=1): what the first start after a build costs',
  'bundle-no-schemas': '(b) the bundle, schemas compiled at start-up (no dist/schemas.cjs)',
  sources: '(c) node src/server.ts + precompiled schemas',
  'sources-no-schemas': '(d) node src/server.ts, schemas compiled at start-up',
  bare: 'bare Fastify + the same SDK clients, run as people write it (the reference)',
  'bundled-bare': 'the same bare app, bundled as leadlink is (like for like)'
}

/** `cpuMs`: the server's own CPU (every thread) until its first /healthz 200, which a busy machine stretches far less than `ms`. */
interface StartupSample { ms: number, cpuMs: number, rssReady: number, rssWarm: number, othersPct: number }

export interface StartupResult {
  ms: number
  cpuMs: number
  rssReady: number
  rssWarm: number
  /** every sample the medians come from, for their spread */
  used: StartupSample[]
  of: number
}

export interface StartupBench {
  results: Record<StartupVariant, StartupResult>
  /** `node -e 0`, for scale */
  nodeMs: number
  quietRuns: number
  runs: number
}

/** The bare reference app bundled with leadlink's own esbuild settings (build/build.ts's BUNDLE_OPTIONS). */
async function bundleBare (servers: Servers): Promise<void> {
  const { build } = await import('esbuild')
  const { BUNDLE_OPTIONS } = await import('../build/build.ts')
  await build({ ...BUNDLE_OPTIONS, splitting: false, absWorkingDir: servers.root, entryPoints: { 'bare-server': 'bench/bare-server.ts' }, outdir: dirname(servers.entry['bundled-bare']) })
}

/**
 * leadlink without its precompiled schemas, with no change to the product: src/schema/precompiled.ts
 * looks for dist/schemas.cjs two folders above the module that loads it, so copies of the bundle and of
 * src/ in a folder with no dist/schemas.cjs compile every schema at start-up, as a clean checkout does.
 * Copies, not links: Node resolves a linked entry to its real path. public/ and templates/ (read
 * relative to the modules) are linked; packages resolve from the checkout's node_modules above.
 */
async function treeWithoutSchemas (servers: Servers): Promise<{ bundle: string, sources: string }> {
  const tree = join(servers.leadlinkRoot, 'dist', 'bench', 'without-schemas')
  const bundleRel = relative(servers.leadlinkRoot, servers.entry.leadlink)
  if (bundleRel.startsWith('..')) throw new Error(`bench: --leadlink ${servers.entry.leadlink} is outside its checkout`)
  await rm(tree, { recursive: true, force: true })
  await mkdir(tree, { recursive: true })
  await cp(dirname(servers.entry.leadlink), join(tree, dirname(bundleRel)), { recursive: true })
  await cp(join(servers.leadlinkRoot, 'src'), join(tree, 'src'), { recursive: true })
  for (const dir of ['public', 'templates']) await symlink(join(servers.leadlinkRoot, dir), join(tree, dir))
  return { bundle: join(tree, bundleRel), sources: join(tree, 'src/server.ts') }
}

/** What a variant runs with beside the bench's server environment. */
const VARIANT_ENV: Partial<Record<StartupVariant, Record<string, string>>> = { 'no-compile-cache': { NODE_DISABLE_COMPILE_CACHE: '1' } }

async function startupOnce (ctx: BenchContext, variant: StartupVariant, entry: string): Promise<StartupSample> {
  const standIns = standInsOf(ctx)
  const port = await freePort()
  // Our own CPU: the bench, every server it started and reaped, and the idle stand-ins.
  const own = () => cpuMs('self', true) + cpuMs(standIns.pid)
  const t0 = { machine: machineBusyMs(), own: own() }
  const server = launch(variant, [entry], { ...serverEnv(port, standIns.url), ...VARIANT_ENV[variant] })
  let ready: number
  let cpuReady: number
  let rssReady: number
  let rssWarm: number
  try {
    ready = await waitHealthy(server, port)
    cpuReady = cpuMs(server.pid)
    rssReady = rssMb(server.pid)
    await hitHealthz(port, 300)
    await sleep(200)
    rssWarm = rssMb(server.pid)
  } finally {
    await stop(server)
  }
  const others = othersPct(machineBusyMs() - t0.machine, own() - t0.own, performance.now() - server.spawnedAt)
  return { ms: ready - server.spawnedAt, cpuMs: cpuReady, rssReady, rssWarm, othersPct: others }
}

/**
 * Not timed: one start-up at LOG_LEVEL info, to read the app's own count of schemas compiled at
 * start-up (src/app.ts logs it when there are any), so that each variant is what it says.
 */
async function compiledAtStartup (ctx: BenchContext, variant: StartupVariant, entry: string): Promise<string> {
  const standIns = standInsOf(ctx)
  const port = await freePort()
  const server = launch(variant, [entry], { ...serverEnv(port, standIns.url), LOG_LEVEL: 'info' })
  try {
    await waitHealthy(server, port)
    await sleep(100)
  } finally {
    await stop(server)
  }
  for (const line of server.tail()) {
    try {
      const entry = JSON.parse(line) as { compiled?: number, precompiled?: number }
      if (typeof entry.compiled === 'number') return `${entry.precompiled ?? 0} precompiled, ${entry.compiled} compiled at start-up`
    } catch {}
  }
  return 'every schema precompiled'
}

function nodeBaselineMs (): number {
  const t0 = performance.now()
  spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  return performance.now() - t0
}

export async function runStartup (ctx: BenchContext): Promise<StartupBench> {
  const { servers, log, opts } = ctx
  await bundleBare(servers)
  const without = await treeWithoutSchemas(servers)
  const entry: Record<StartupVariant, string> = {
    leadlink: servers.entry.leadlink,
    'no-compile-cache': servers.entry.leadlink,
    'bundle-no-schemas': without.bundle,
    sources: servers.entry.sources,
    'sources-no-schemas': without.sources,
    bare: servers.entry.bare,
    'bundled-bare': servers.entry['bundled-bare']
  }
  log(`\n== start-up: ${opts.startupRuns} runs each, rotating the order; spawn → first /healthz 200, RSS then and after 300 × /healthz; ADMIN_TOKEN set`)
  for (const v of STARTUP_VARIANTS) log(`  ${v.padEnd(18)} ${LABEL[v]}\n  ${''.padEnd(18)} ${entry[v]}`)
  for (const v of ['leadlink', 'bundle-no-schemas', 'sources', 'sources-no-schemas'] as const) {
    log(`  schemas of ${v.padEnd(18)} ${await compiledAtStartup(ctx, v, entry[v])} (one untimed start-up at LOG_LEVEL info)`)
  }
  const samples = Object.fromEntries(STARTUP_VARIANTS.map(v => [v, [] as StartupSample[]])) as Record<StartupVariant, StartupSample[]>
  const baseline: number[] = []
  for (let i = 0; i < opts.startupRuns; i++) {
    const order = STARTUP_VARIANTS.map((_, k) => STARTUP_VARIANTS[(k + i) % STARTUP_VARIANTS.length] as StartupVariant)
    for (const variant of order) {
      const s = await startupOnce(ctx, variant, entry[variant])
      samples[variant].push(s)
      log(`  run ${i + 1} ${variant.padEnd(18)} ${fmt(s.ms).padStart(5)} ms (CPU ${fmt(s.cpuMs).padStart(4)} ms)   RSS ${fmt(s.rssReady, 1)} MB → ${fmt(s.rssWarm, 1)} MB` +
        (s.othersPct > NOISY_PCT ? `   (other processes used ${fmt(s.othersPct)}% CPU meanwhile)` : ''))
    }
    baseline.push(nodeBaselineMs())
  }
  // Only runs where no start-up had competition, when there are some (see summariseStartup).
  const quiet = samples.leadlink.map((_, i) => STARTUP_VARIANTS.every(v => (samples[v][i]?.othersPct ?? Infinity) <= NOISY_PCT))
  const summarise = (all: StartupSample[]): StartupResult => {
    const used = quiet.some(Boolean) ? all.filter((_, i) => quiet[i]) : all
    return { ms: median(used.map(s => s.ms)), cpuMs: median(used.map(s => s.cpuMs)), rssReady: median(used.map(s => s.rssReady)), rssWarm: median(used.map(s => s.rssWarm)), used, of: all.length }
  }
  const results = Object.fromEntries(STARTUP_VARIANTS.map(v => [v, summarise(samples[v])])) as Record<StartupVariant, StartupResult>
  return { results, nodeMs: median(baseline), quietRuns: quiet.filter(Boolean).length, runs: opts.startupRuns }
}

/** Each piece of the build, as the step from the variant without it to the one with it. */
const PIECES: Array<[string, StartupVariant, StartupVariant]> = [
  ['Node\'s compile cache (e → a)', 'no-compile-cache', 'leadlink'],
  ['precompiled schemas, in the bundle (b → a)', 'bundle-no-schemas', 'leadlink'],
  ['precompiled schemas, from sources (d → c)', 'sources-no-schemas', 'sources'],
  ['the bundle, with the schemas (c → a)', 'sources', 'leadlink'],
  ['the bundle, without them (d → b)', 'sources-no-schemas', 'bundle-no-schemas'],
  ['both (d → a)', 'sources-no-schemas', 'leadlink']
]

export function summariseStartup (startup: StartupBench, log: Log): void {
  const r = startup.results
  const b = r.bare
  log('  start-up and memory, ADMIN_TOKEN set (ratio: ÷ bare)')
  log(row('start-up ms', fmt(r.leadlink.ms), `bare ${fmt(b.ms)}`, fmt(r.leadlink.ms / b.ms, 2), verdict('startupMs', r.leadlink.ms / b.ms)))
  log(row('RSS at first /healthz MB', fmt(r.leadlink.rssReady, 1), `bare ${fmt(b.rssReady, 1)}`, fmt(r.leadlink.rssReady / b.rssReady, 2), verdict('startupRssReady', r.leadlink.rssReady / b.rssReady)))
  log(row('RSS after 300 /healthz MB', fmt(r.leadlink.rssWarm, 1), `bare ${fmt(b.rssWarm, 1)}`, fmt(r.leadlink.rssWarm / b.rssWarm, 2), verdict('startupRssWarm', r.leadlink.rssWarm / b.rssWarm)))
  const bb = r['bundled-bare']
  log('  like for like: both bundled (no target; how much of the gain is the bundling itself)')
  log(row('start-up ms', fmt(r.leadlink.ms), `b.bare ${fmt(bb.ms)}`, fmt(r.leadlink.ms / bb.ms, 2)))
  log(row('RSS at first /healthz MB', fmt(r.leadlink.rssReady, 1), `b.bare ${fmt(bb.rssReady, 1)}`, fmt(r.leadlink.rssReady / bb.rssReady, 2)))
  log('  each variant: median [min–max of the runs used] (no targets; how much each piece of the build is worth)')
  log(`    ${'variant'.padEnd(20)}${'start-up ms'.padStart(22)}${'÷ bare'.padStart(8)}${'CPU to ready ms'.padStart(22)}${'RSS at /healthz MB'.padStart(26)}`)
  for (const v of STARTUP_VARIANTS) {
    const x = r[v]
    log(`    ${v.padEnd(20)}${`${fmt(x.ms)} [${range(x.used.map(s => s.ms))}]`.padStart(22)}${fmt(x.ms / b.ms, 2).padStart(8)}` +
      `${`${fmt(x.cpuMs)} [${range(x.used.map(s => s.cpuMs))}]`.padStart(22)}` +
      `${`${fmt(x.rssReady, 1)} [${range(x.used.map(s => s.rssReady), 1)}]`.padStart(26)}`)
  }
  log('  what each piece saves, in % of the variant without it (medians; CPU to ready varies least on a busy machine)')
  for (const [label, before, after] of PIECES) {
    const pct = (f: (x: StartupResult) => number) => fmt(savingPct(f(r[before]), f(r[after]))).padStart(3)
    log(`    ${label.padEnd(46)} start-up ${pct(x => x.ms)} %   CPU ${pct(x => x.cpuMs)} %   RSS ${pct(x => x.rssReady)} %`)
  }
  log(row('(node -e 0 alone: ms)', '', fmt(startup.nodeMs)))
  if (startup.quietRuns < startup.runs) {
    log(startup.quietRuns > 0
      ? `  (other processes competed for the CPUs during some start-ups; the start-up medians use the ${startup.quietRuns} of ${startup.runs} runs where no server had competition)`
      : '  (other processes competed for the CPUs during every start-up run: the medians use them all; rerun on a quiet machine)')
  }
}
