// Child-process helpers for tests that run the real entry points (server, CLI) as separate processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { EnvSchema } from '../../src/config.ts'
import type { Teardown } from '../helper.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** What `npm start` runs: the build's bundle of src/server.ts (npm test builds it first). */
export function serverEntry (): string {
  const entry = 'dist/node/server.mjs'
  if (!existsSync(new URL(`../../${entry}`, import.meta.url))) {
    throw new Error(`${entry} is missing: run \`npm run build\` (npm test does) before these tests`)
  }
  return entry
}
/** The project's Node 24 (the `node` devDependency), never the system one. */
export const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))

/** Ports that were free a moment ago: all held open together so that they are distinct. */
export async function freePorts (count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
    }
    return servers.map(s => (s.address() as AddressInfo).port)
  } finally {
    await Promise.all(servers.map(s => new Promise<void>(resolve => s.close(() => resolve()))))
  }
}

const SETTINGS = new Set(Object.keys(EnvSchema.properties))

/**
 * The parent's environment without anything that would change the child's behaviour: every
 * leadlink setting, AWS_* (credentials, profiles, CA bundle), the SES emulator's SMTP relay and
 * tap's own loaders; then `overrides`.
 */
export function childEnv (overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (SETTINGS.has(key) || key.startsWith('AWS_') || key.startsWith('TAP') || key.startsWith('_TAPJS') ||
      key === 'NODE_OPTIONS' || key === 'SMTP_TRANSPORT') continue
    env[key] = value
  }
  // Processes run side by side: the metrics listener (default 127.0.0.1:9464) only where a test asks.
  return { ...env, METRICS_PORT: '0', ...overrides }
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface NodeProcess {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** settles once the process has exited and its output is fully read */
  exit: Promise<Exit>
  exited: () => boolean
  /** sends `signal` and waits for the exit */
  stop: (signal?: NodeJS.Signals) => Promise<Exit>
}

/** Starts `node <args>` in the project root; it is killed on teardown if it is still running. */
export function spawnNode (t: Teardown, args: string[], env: Record<string, string>): NodeProcess {
  const child = spawn(NODE, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let done = false
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  const exit = new Promise<Exit>(resolve => {
    child.once('error', e => {
      err += `\nspawn failed: ${e.message}`
      done = true
      resolve({ code: null, signal: null })
    })
    child.once('close', (code, signal) => {
      done = true
      resolve({ code, signal })
    })
  })
  t.teardown(async () => {
    if (!done) {
      child.kill('SIGKILL')
      await exit
    }
  })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    exited: () => done,
    async stop (signal = 'SIGTERM') {
      if (!done) child.kill(signal)
      return await exit
    }
  }
}

export interface RunResult extends Exit {
  stdout: string
  stderr: string
}

/** Runs `node <args>` to completion (killed after `timeoutMs`, which then fails the run). */
export async function runNode (t: Teardown, args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<RunResult> {
  const proc = spawnNode(t, args, env)
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs)
  try {
    const result = await proc.exit
    return { ...result, stdout: proc.stdout(), stderr: proc.stderr() }
  } finally {
    clearTimeout(timer)
  }
}

/** Polls the process's stdout until `pattern` matches; fails early if the process exits. */
export async function waitForOutput (proc: NodeProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = proc.stdout().match(pattern)
    if (match) return match
    const why = proc.exited() ? 'the process exited' : Date.now() > deadline ? `${timeoutMs} ms passed` : undefined
    if (why) {
      throw new Error(`${why} before stdout matched ${pattern}\n--- stdout\n${proc.stdout()}\n--- stderr\n${proc.stderr()}`)
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
