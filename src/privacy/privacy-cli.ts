// `npm run signups -- migrate-keys` and `npm run signups -- sweep`: the privacy chores that run beside
// the service (same settings as the server; local mode uses the emulators of a running `npm start`).
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { parseArgs } from 'node:util'
import { createAwsClients } from '../aws/clients.ts'
import { type CliOutput, loadCliConfig, readCommandLine } from '../cli-common.ts'
import type { Config } from '../config.ts'
import { connectRuntime } from '../runtime.ts'
import { createJsonStore } from '../storage/json-store.ts'
import { createAddressKeys } from '../subscribers/address.ts'
import { createEraser } from '../subscribers/erase.ts'
import { createKeyMigrationState } from '../subscribers/legacy-keys.ts'
import { migrateKeys } from '../subscribers/migrate-keys.ts'
import { createSubscriberStore } from '../subscribers/store.ts'
import { createRetentionSweep, type SweepReport } from './retention.ts'

export const PRIVACY_COMMANDS = ['migrate-keys', 'sweep'] as const

export const PRIVACY_USAGE = `  npm run signups -- migrate-keys
  npm run signups -- sweep

sweep runs the retention sweep once (what the service does every RETENTION_SWEEP_SECONDS): signups never
confirmed are erased PENDING_RETENTION_DAYS after their last email, unsubscribed ones
UNSUBSCRIBED_RETENTION_DAYS after unsubscribing, each leaving its tombstone. One run reads a bounded
number of pages and the next goes on from there; it waits while another instance holds the sweep's lease.

migrate-keys moves every subscriber record from its key of before ADDRESS_KEY (the address's plain
SHA-256) to its HMAC key, keeps old unsubscribe links working, and strips the plain hashes from old
delivery logs. Safe to run twice and while the service runs.`

function parseCliArgs (argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } })
}

export function isPrivacyCommand (argv: string[]): boolean {
  const command = argv.find(a => !a.startsWith('-'))
  return (PRIVACY_COMMANDS as readonly string[]).includes(command ?? '')
}

async function run (config: Config, io: CliOutput, work: (aws: ReturnType<typeof createAwsClients>, config: Config, addressKey: string) => Promise<string>): Promise<number> {
  const runtime = await connectRuntime(config)
  const aws = createAwsClients(runtime.config, runtime.clientOptions)
  try {
    const { addressKey } = runtime.config.privacy
    if (addressKey === undefined) {
      io.err('ADDRESS_KEY is not set: the record keys are made with it')
      return 1
    }
    io.err(await work(aws, runtime.config, addressKey))
    return 0
  } catch (err) {
    io.err(`failed: ${(err as Error).name}: ${(err as Error).message} (run it again: it is safe to repeat and finishes what was left)`)
    return 1
  } finally {
    aws.destroy()
    await runtime.close()
  }
}

export async function runPrivacyCli (argv: string[], env: Record<string, string | undefined>, io: CliOutput): Promise<number> {
  const line = readCommandLine(argv, parseCliArgs, PRIVACY_USAGE, io)
  if (typeof line === 'number') return line
  const { command, rest } = line
  if (rest.length > 0) {
    io.err(`${command} takes no arguments\n${PRIVACY_USAGE}`)
    return 2
  }
  const config = loadCliConfig(env, io)
  if (typeof config === 'number') return config
  if (command === 'sweep') return await run(config, io, (aws, config, addressKey) => sweepOnce(aws, config, addressKey, io))
  return await run(config, io, async (aws, config, addressKey) => {
    const r = await migrateKeys({ s3: aws.s3, bucket: config.aws.s3.bucket, keys: createAddressKeys(addressKey), now: Date.now, progress: io.err })
    return `moved ${r.moved} record(s) to keys under ADDRESS_KEY (${r.merged} merged with what the service wrote meanwhile); ` +
      `${r.current} already there; ${r.skipped} other object(s) left alone; ${r.logsRewritten} delivery log(s) stripped of plain hashes`
  })
}

async function sweepOnce (aws: ReturnType<typeof createAwsClients>, config: Config, addressKey: string, io: CliOutput): Promise<string> {
  const s3 = { s3: aws.s3, bucket: config.aws.s3.bucket }
  const json = createJsonStore(s3)
  const quiet = { info: () => {}, warn: () => {} }
  const store = createSubscriberStore({ ...s3, keys: createAddressKeys(addressKey), migration: createKeyMigrationState({ json, log: quiet, now: Date.now }) })
  const eraser = createEraser({ ...s3, store, json })
  const report: SweepReport = await createRetentionSweep({
    json,
    erase: (target, options) => eraser.erase(target, options),
    rules: { pendingDays: config.privacy.pendingRetentionDays, unsubscribedDays: config.privacy.unsubscribedRetentionDays },
    owner: `cli-${hostname()}-${randomBytes(4).toString('hex')}`,
    now: Date.now,
    log: { info: quiet.info, warn: (_obj, msg) => { io.err(msg) } }
  }).run()
  if (!report.ran) {
    return report.reason === 'held' ? 'another instance is sweeping now (it holds the lease): nothing done' : 'the last pass ended less than a day ago: nothing to do yet'
  }
  return `looked at ${report.looked} record(s), erased ${report.erased}${report.failed ? `, ${report.failed} failed (see above; the next pass tries again)` : ''}; ` +
    (report.passFinished ? 'the pass is finished' : 'the pass goes on at the next run')
}
