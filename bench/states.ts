// Bench section "states": POST /subscribe's response time for an address that is new, on file, cooling
// down, capped or suppressed. Every answer is the same 202; the time must not tell them apart either
// (target: statesSpreadPct in targets.ts). Runs the app in this process against the S3 stand-in,
// which answers after S3_LATENCY_MS as S3 does from the same region (a few ms to a few tens).
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import type { BenchContext } from './context.ts'
import { startStandIns } from './stand-ins.ts'
import { cpuMs, machineBusyMs } from './processes.ts'
import { fmt, median, NOISY_PCT, othersPct, row, type Log } from './stats.ts'
import { verdict } from './targets.ts'

export const STATES = ['new', 'on file', 'cooling down', 'capped', 'suppressed'] as const
export type AddressState = typeof STATES[number]
export const S3_LATENCY_MS = 5

export interface StatesResult {
  samples: number
  medianMs: Record<AddressState, number>
  /** the largest gap between two states' medians, in % of the smaller */
  spreadPct: number
  /** CPU other processes used while it was measured, in % of one CPU */
  othersPct: number
}

const DAY = 24 * 60 * 60 * 1000

function recordFor (state: AddressState, address: string, key: string, now: number): object | undefined {
  const at = (ms: number) => new Date(now - ms).toISOString()
  const base = { schemaVersion: 1, address, addressHash: key, createdAt: at(40 * DAY), updatedAt: at(DAY), signups: [] }
  switch (state) {
    case 'new': return undefined
    case 'on file': return { ...base, status: 'pending', deliveries: [] }
    case 'cooling down': return { ...base, status: 'pending', deliveries: [{ at: at(60_000), slug: 'default', status: 'requested' }] }
    case 'capped': return { ...base, status: 'pending', deliveries: [1, 2, 3].map(d => ({ at: at(d * DAY), slug: 'default', status: 'requested' })) }
    case 'suppressed': return { ...base, status: 'suppressed', suppression: { at: at(DAY), reason: 'complaint', detail: 'abuse' }, deliveries: [] }
  }
}

/** `rounds` requests per state, interleaved (new, on file, …, new, …) so that drift hits every state alike. */
async function benchStates (rounds: number): Promise<StatesResult> {
  const standIns = await startStandIns({ s3LatencyMs: S3_LATENCY_MS })
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    S3_BUCKET: 'bench-bucket',
    S3_ENDPOINT: standIns.url,
    S3_FORCE_PATH_STYLE: 'true',
    SES_ENDPOINT: standIns.url,
    SES_FROM: 'bench@example.com',
    TOKEN_SECRET: 'bench-token-secret-0123456789abcdef',
    ADDRESS_KEY: 'bench-address-key-0123456789abcdef',
    SENDER: 'off',
    METRICS_ENABLED: 'false',
    RATE_LIMIT_PER_IP_PER_MINUTE: '0',
    BOT_MIN_FILL_SECONDS: '0',
    ADDRESS_COOLDOWN_SECONDS: '300'
  })
  const app = await buildApp(config, { clientOptions: { credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' } } }, { logger: false })
  try {
    const now = Date.now()
    const addresses = Object.fromEntries(STATES.map(s => [s, [] as string[]])) as Record<AddressState, string[]>
    for (const state of STATES) {
      for (let i = 0; i < rounds + 5; i++) {
        const address = `${state.replace(' ', '-')}-${i}@bench.example`
        addresses[state].push(address)
        const record = recordFor(state, address, app.subscribers.keyOf(address), now)
        if (record) {
          await app.aws.s3.send(new PutObjectCommand({ Bucket: 'bench-bucket', Key: `subscribers/${app.subscribers.keyOf(address)}.json`, Body: JSON.stringify(record) }))
        }
      }
    }
    const times = Object.fromEntries(STATES.map(s => [s, [] as number[]])) as Record<AddressState, number[]>
    const post = (email: string) => app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email } })
    // Warm-up (JIT, the catalog cache, connections): not counted.
    for (const state of STATES) for (let i = 0; i < 5; i++) await post(addresses[state][rounds + i] as string)
    const t0 = { wall: performance.now(), machine: machineBusyMs(), own: cpuMs('self') }
    for (let i = 0; i < rounds; i++) {
      for (const state of STATES) {
        const started = process.hrtime.bigint()
        const res = await post(addresses[state][i] as string)
        times[state].push(Number(process.hrtime.bigint() - started) / 1e6)
        if (res.statusCode !== 202) throw new Error(`${state}: POST /subscribe answered ${res.statusCode}`)
      }
    }
    const medianMs = Object.fromEntries(STATES.map(s => [s, median(times[s])])) as Record<AddressState, number>
    const values = Object.values(medianMs)
    const others = othersPct(machineBusyMs() - t0.machine, cpuMs('self') - t0.own, performance.now() - t0.wall)
    return { samples: rounds, medianMs, spreadPct: (Math.max(...values) / Math.min(...values) - 1) * 100, othersPct: others }
  } finally {
    await app.close()
    await standIns.close()
  }
}

export async function runStates (ctx: BenchContext, rounds = 60): Promise<StatesResult> {
  ctx.log(`\n== POST /subscribe by address state: in process, ${rounds} requests per state, interleaved; the S3 stand-in answers after ${S3_LATENCY_MS} ms`)
  const r = await benchStates(rounds)
  ctx.log(`  ${STATES.map(s => `${s} ${fmt(r.medianMs[s], 2)} ms`).join(' · ')}`)
  ctx.log(`  spread ${fmt(r.spreadPct, 1)} % ${verdict('statesSpreadPct', r.spreadPct)}` +
    (r.othersPct > NOISY_PCT ? `   (other processes used ${fmt(r.othersPct)}% CPU meanwhile: the spread may be theirs)` : ''))
  return r
}

export function summariseStates (r: StatesResult, log: Log): void {
  log(`  POST /subscribe by address state (median of ${r.samples} each; every answer is the same 202)`)
  const values = STATES.map(s => r.medianMs[s])
  log(row('state medians ms', `${fmt(Math.min(...values), 2)}–${fmt(Math.max(...values), 2)}`, '', '', ''))
  log(row('largest gap between states %', fmt(r.spreadPct, 1), '', '', verdict('statesSpreadPct', r.spreadPct)))
  if (r.othersPct > NOISY_PCT) log(`  (other processes used ${fmt(r.othersPct)}% of a CPU meanwhile: rerun on a quiet machine before reading the gap)`)
}
