// Child processes for the bench: launch, wait for /healthz, read RSS and CPU from /proc, and never leave one behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Launched {
  name: string
  child: ChildProcess
  pid: number
  /** performance.now() just before spawn */
  spawnedAt: number
  exited: Promise<number | null>
  /** last lines the process printed (stdout and stderr) */
  tail: () => string[]
  /** pino lines at warn (40) or above, plus anything that is not JSON */
  warnings: () => string[]
}

const children = new Set<ChildProcess>()

function killAll (): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/** Every child dies with the bench: normal exit, crash or Ctrl-C. */
export function installCleanup (): void {
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll()
      process.exit(130)
    })
  }
}

export function launch (name: string, args: string[], env: Record<string, string>, options: { stdin?: boolean } = {}): Launched {
  const lines: string[] = []
  const warnings: string[] = []
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, args, { env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  children.add(child)
  if (child.pid === undefined) throw new Error(`${name}: could not start ${args.join(' ')}`)
  const partial = { stdout: '', stderr: '' }
  const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = partial[stream] + chunk.toString('utf8')
    const complete = text.split('\n')
    partial[stream] = complete.pop() ?? ''
    for (const line of complete) {
      if (line.trim() === '') continue
      lines.push(line)
      if (lines.length > 40) lines.shift()
      let level = 100
      try {
        level = (JSON.parse(line) as { level?: number }).level ?? 100
      } catch {}
      if (level >= 40 && warnings.length < 1000) warnings.push(line)
    }
  }
  child.stdout?.on('data', collect('stdout'))
  child.stderr?.on('data', collect('stderr'))
  const exited = new Promise<number | null>(resolve => child.once('exit', code => {
    children.delete(child)
    resolve(code)
  }))
  return { name, child, pid: child.pid, spawnedAt, exited, tail: () => [...lines], warnings: () => [...warnings] }
}

/** A pino line in brief (level, component, message, error), or the raw line cut short. */
export function describeLogLine (line: string): string {
  try {
    const entry = JSON.parse(line) as { level?: number, msg?: string, component?: string, err?: { type?: string, message?: string } }
    const parts = [`level ${entry.level}`, entry.component, entry.msg && `"${entry.msg}"`, entry.err && `${entry.err.type}: ${entry.err.message}`]
    return parts.filter(Boolean).join(', ')
  } catch {
    return line.slice(0, 300)
  }
}

function describeExit (launched: Launched, code: number | string | null): Error {
  return new Error(`${launched.name} exited (code ${code}) before it was ready:\n${launched.tail().join('\n')}`)
}

/** Polls GET /healthz on a fresh connection until it answers 200; returns performance.now() at that moment. */
export async function waitHealthy (launched: Launched, port: number, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs
  const { child } = launched
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw describeExit(launched, child.exitCode ?? child.signalCode)
    const status = await new Promise<number>(resolve => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1000 }, res => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', () => resolve(0))
      req.on('timeout', () => req.destroy())
      req.end()
    })
    if (status === 200) return performance.now()
    await sleep(5)
  }
  throw new Error(`${launched.name} did not answer /healthz within ${timeoutMs} ms:\n${launched.tail().join('\n')}`)
}

/** Sequential GET /healthz on one keep-alive connection: warms the process without load. */
export async function hitHealthz (port: number, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, res => {
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', reject)
        req.end()
      })
    }
  } finally {
    agent.destroy()
  }
}

/** SIGTERM (graceful: lets --cpu-prof write its file), then SIGKILL if it lingers. */
export async function stop (launched: Launched, graceMs = 12_000): Promise<void> {
  const { child } = launched
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await launched.exited
  clearTimeout(timer)
}

export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  if (typeof address !== 'object' || !address) throw new Error('could not find a free port')
  return address.port
}

/** Resident set size in MB from /proc/<pid>/status (VmRSS), or NaN where /proc is missing. */
export function rssMb (pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}

// USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every mainstream Linux architecture.
const TICK_MS = 10

/** User + system CPU time of a process in ms, from /proc/<pid>/stat, or NaN where /proc is missing. */
export function cpuMs (pid: number | 'self', withReapedChildren = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may itself contain spaces and parentheses:
    // utime, stime, then cutime, cstime (children already waited for).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number)
    const [utime = NaN, stime = NaN, cutime = NaN, cstime = NaN] = fields
    return (utime + stime + (withReapedChildren ? cutime + cstime : 0)) * TICK_MS
  } catch {
    return NaN
  }
}

/** CPU time used by the whole machine (all CPUs, all processes) in ms, from /proc/stat, or NaN. */
export function machineBusyMs (): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    // cpu user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS
  } catch {
    return NaN
  }
}
