// The servers the bench launches: where each one's entry is, the environment they all share, and the
// stand-in process that plays S3 and SES for them (with its counters).
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { launch, stop, type Launched } from './processes.ts'
import type { SesLimits, StandInStats } from './stand-ins.ts'

export type ServerName = 'leadlink' | 'bare' | 'naive' | 'bundled-bare' | 'sources'

export interface Servers {
  /** this checkout, where the bench's own files are */
  root: string
  /** the checkout the measured leadlink comes from (--leadlink may point into another worktree) */
  leadlinkRoot: string
  entry: Record<ServerName, string>
}

/** The nearest folder above `file` with a package.json. */
function checkoutOf (file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
  }
  throw new Error(`bench: no package.json above ${file}`)
}

export function servers (root: string, leadlink: string): Servers {
  const leadlinkEntry = resolve(root, leadlink)
  const leadlinkRoot = checkoutOf(leadlinkEntry)
  return {
    root,
    leadlinkRoot,
    entry: {
      // What `npm start` runs: the build's bundle.
      leadlink: leadlinkEntry,
      // The reference: a bare Fastify app with the same SDK clients, run as people write it.
      bare: join(root, 'bench/bare-server.ts'),
      naive: join(root, 'bench/naive-server.ts'),
      // Like for like: the bare app bundled exactly as leadlink is (bundling speeds any app up).
      'bundled-bare': join(root, 'dist/bench/bare-server.mjs'),
      // leadlink without its build: Node strips the types of each source file at start-up.
      sources: join(leadlinkRoot, 'src/server.ts')
    }
  }
}

// Long enough for the config's minimum; with it set, /admin is registered as in a production that uses it.
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef'

/**
 * The same environment for every server: aws mode against the stand-ins, logs at warn, the admin area
 * on. Sending is unpaced unless `pacing` is 'account': then leadlink reads its rate from SES
 * GetAccount, as in production.
 */
export function serverEnv (port: number, standInUrl: string, pacing: 'unpaced' | 'account' = 'unpaced'): Record<string, string> {
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
    ADDRESS_KEY: 'bench-address-key-0123456789abcdef',
    ADMIN_TOKEN,
    // Abuse guards off: every request comes from one IP at machine speed, and they are not what is measured.
    RATE_LIMIT_PER_IP_PER_MINUTE: '0',
    ADDRESS_COOLDOWN_SECONDS: '0',
    BOT_MIN_FILL_SECONDS: '0',
    CAPTCHA: 'off',
    // The /metrics listener is not what is measured; several servers run in turn.
    METRICS_PORT: '0',
    ...(pacing === 'unpaced' ? { SES_MAX_SEND_RATE: '100000' } : {})
  }
}

/** The stand-in process as the sections drive it: its counters, its SES limits, and waiting for quiet. */
export interface StandInProcess {
  pid: number
  url: string
  call: (path: '/__bench/stats' | '/__bench/reset' | '/__bench/wipe') => Promise<StandInStats>
  /** sets the SES stand-in's sending limits; {} lifts them */
  limitSes: (limits: Partial<SesLimits>) => Promise<SesLimits>
  /**
   * Waits until the counters stop moving: a server that sends from an outbox may still owe emails when
   * the load stops. Returns the counters and how long the last owed email took to go out (NaN: never).
   */
  settle: (atLeastEmails: number, timeoutMs?: number) => Promise<{ stats: StandInStats, drainMs: number }>
  stop: () => Promise<void>
}

const traffic = (x: StandInStats): number =>
  x.s3Put + x.s3Get + x.s3Head + x.s3Delete + x.s3List + x.sesSend + x.sesThrottled + x.sesGetAccount + x.sesOther

export async function startStandInProcess (root: string): Promise<StandInProcess> {
  const launched: Launched = launch('stand-ins', [join(root, 'bench/stand-ins.ts')], { PATH: process.env.PATH ?? '' }, { stdin: true })
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    launched.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const match = /\{"port":(\d+)\}/.exec(buffered)
      if (match) resolve(Number(match[1]))
    })
    launched.exited.then(code => reject(new Error(`stand-ins exited (code ${code}):\n${launched.tail().join('\n')}`)), reject)
  })
  const url = `http://127.0.0.1:${port}`
  const call: StandInProcess['call'] = async path => {
    const res = await fetch(`${url}${path}`, { method: path === '/__bench/stats' ? 'GET' : 'POST' })
    return await res.json() as StandInStats
  }
  return {
    pid: launched.pid,
    url,
    call,
    async limitSes (limits) {
      const res = await fetch(`${url}/__bench/ses`, { method: 'POST', body: JSON.stringify(limits) })
      return await res.json() as SesLimits
    },
    async settle (atLeastEmails, timeoutMs = 20_000) {
      const start = performance.now()
      let last = await call('/__bench/stats')
      let stableSince = performance.now()
      let drainMs = last.sesSend >= atLeastEmails ? 0 : NaN
      while (performance.now() - start < timeoutMs) {
        await sleep(50)
        const now = await call('/__bench/stats')
        if (traffic(now) !== traffic(last)) stableSince = performance.now()
        if (Number.isNaN(drainMs) && now.sesSend >= atLeastEmails) drainMs = performance.now() - start
        last = now
        // A second without S3 or SES traffic: deferred work (delivery history, outbox clean-up) is done too.
        const quiet = performance.now() - stableSince
        if ((now.sesSend >= atLeastEmails && quiet >= 1000) || quiet >= 3000) break
      }
      return { stats: last, drainMs }
    },
    stop: () => stop(launched)
  }
}
