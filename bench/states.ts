// Bench section "states": POST /subscribe's response time for an address that is new, on file, cooling
// down, capped or suppressed. Every answer is the same 202; the time must not tell them apart either
// (target: each median within 10 % of the others). Runs the app in this process against the S3 stand-in,
// which answers after S3_LATENCY_MS as S3 does from the same region (a few ms to a few tens).
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { buildApp } from '../../src/app.ts'
import { hashAddress } from '../../src/subscribers/address.ts'
import { loadConfig } from '../../src/config.ts'
import { startStandIns } from './stand-ins.ts'

export const STATES = ['new', 'on file', 'cooling down', 'capped', 'suppressed'] as const
export type AddressState = typeof STATES[number]
export const STATES_TARGET_PCT = 10
export const S3_LATENCY_MS = 5

export interface StatesResult {
  samples: number
  medianMs: Record<AddressState, number>
  /** the largest gap between two states' medians, in % of the smaller */
  spreadPct: number
}

const DAY = 24 * 60 * 60 * 1000
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? Number.NaN }

function recordFor (state: AddressState, address: string, now: number): object | undefined {
  const at = (ms: number) => new Date(now - ms).toISOString()
  const base = { schemaVersion: 1, address, addressHash: hashAddress(address), createdAt: at(40 * DAY), updatedAt: at(DAY), signups: [] }
  switch (state) {
    case 'new': return undefined
    case 'on file': return { ...base, status: 'pending', deliveries: [] }
    case 'cooling down': return { ...base, status: 'pending', deliveries: [{ at: at(60_000), slug: 'default', status: 'requested' }] }
    case 'capped': return { ...base, status: 'pending', deliveries: [1, 2, 3].map(d => ({ at: at(d * DAY), slug: 'default', status: 'requested' })) }
    case 'suppressed': return { ...base, status: 'suppressed', suppression: { at: at(DAY), reason: 'complaint', detail: 'abuse' }, deliveries: [] }
  }
}

/** `rounds` requests per state, interleaved (new, on file, …, new, …) so that drift hits every state alike. */
export async function benchStates (rounds = 60): Promise<StatesResult> {
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
        const record = recordFor(state, address, now)
        if (record) {
          await app.services.aws.s3.send(new PutObjectCommand({ Bucket: 'bench-bucket', Key: `subscribers/${hashAddress(address)}.json`, Body: JSON.stringify(record) }))
        }
      }
    }
    const times = Object.fromEntries(STATES.map(s => [s, [] as number[]])) as Record<AddressState, number[]>
    const post = (email: string) => app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email } })
    // Warm-up (JIT, the catalog cache, connections): not counted.
    for (const state of STATES) for (let i = 0; i < 5; i++) await post(addresses[state][rounds + i] as string)
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
    return { samples: rounds, medianMs, spreadPct: (Math.max(...values) / Math.min(...values) - 1) * 100 }
  } finally {
    await app.close()
    await standIns.close()
  }
}

export function printStates (r: StatesResult, log: (line?: string) => void): void {
  log(`POST /subscribe by address state (median of ${r.samples} each, interleaved, S3 stand-in answering after ${S3_LATENCY_MS} ms; target: within ${STATES_TARGET_PCT} % of each other)`)
  log(`  ${STATES.map(s => `${s} ${r.medianMs[s].toFixed(2)} ms`).join(' · ')}`)
  log(`  spread ${r.spreadPct.toFixed(1)} % ${r.spreadPct <= STATES_TARGET_PCT ? '✓' : '✗ missed'}`)
}

if (import.meta.main) {
  printStates(await benchStates(), line => process.stdout.write(`${line ?? ''}\n`))
}
