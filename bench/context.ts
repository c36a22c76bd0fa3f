// What every bench section is handed: the options run.ts parsed, the servers it may launch, the
// stand-in process (for the sections that start servers), and where the report goes.
import { join } from 'node:path'
import type { StandInProcess, Servers } from './servers.ts'
import type { Log } from './stats.ts'

export const SECTIONS = ['startup', 'mint', 'states', 'burst', 'subscribe', 'signups'] as const
export type Section = typeof SECTIONS[number]
/** What --only all runs: signups takes minutes (it seeds and reads 100,000 records), so it is asked for by name. */
export const DEFAULT_SECTIONS: readonly Section[] = SECTIONS.filter(s => s !== 'signups')

export interface BenchOptions {
  sections: Section[]
  startupRuns: number
  rounds: number
  /** seconds */
  duration: number
  /** seconds */
  warmup: number
  connections: number
  bursts: number
  mintRuns: number
  mintWarmup: number
  /** subscriber records the signups section seeds */
  records: number
  /** seconds the whole run may take when extra bursts or rounds replace disturbed ones */
  budget: number
  profile: boolean
  /** the leadlink entry to measure, relative to this checkout or absolute */
  leadlink: string
}

export interface BenchContext {
  opts: BenchOptions
  servers: Servers
  /** started by run.ts before the sections that launch servers; undefined for the in-process ones */
  standIns: StandInProcess | undefined
  /** performance.now() by which the whole run should be over (extra bursts and rounds respect it) */
  deadline: number
  log: Log
}

export function profileDir (ctx: BenchContext): string {
  return join(ctx.servers.root, 'artifacts', 'bench-profiles')
}

/** node flags that write a CPU profile named `name` when --profile is on. */
export function profileArgs (ctx: BenchContext, name: string): string[] {
  return ctx.opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(ctx)}`, `--cpu-prof-name=${name}.cpuprofile`] : []
}

/** The stand-in process, which run.ts starts before any section that launches servers. */
export function standInsOf (ctx: BenchContext): StandInProcess {
  if (!ctx.standIns) throw new Error('bench: this section needs the stand-in process, which run.ts starts first')
  return ctx.standIns
}
