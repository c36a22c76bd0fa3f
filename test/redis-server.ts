// A real redis-server on a free loopback port for the tests of shared counts and marks (.ci/run
// installs Debian's redis-server; without it those tests are skipped, saying why).
import { execFileSync, spawn } from 'node:child_process'
import type { Redis } from 'ioredis'
import { eventually, type Teardown } from './helper.ts'
import { freePorts } from './process/child.ts'

function binary (): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export const REDIS_SERVER = binary()
export const WITHOUT_REDIS = REDIS_SERVER ? false : 'redis-server is not installed (.ci/run installs it)'

/** Starts redis-server (killed on teardown) and answers once it takes commands: its URL and a client. */
export async function startRedis (t: Teardown): Promise<{ url: string, probe: Redis }> {
  const [port] = await freePorts(1)
  const server = spawn(REDIS_SERVER as string, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => { server.kill('SIGKILL') })
  const url = `redis://127.0.0.1:${port}`
  const { Redis } = await import('ioredis')
  const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  t.teardown(() => probe.disconnect())
  // Refused connections are expected until the server listens: not worth a line each.
  probe.on('error', () => {})
  // Until redis-server listens (poll; no fixed sleep).
  await eventually(async () => await probe.ping() === 'PONG' || undefined)
  return { url, probe }
}
