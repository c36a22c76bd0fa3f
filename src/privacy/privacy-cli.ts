// `npm run signups -- migrate-keys` and `npm run signups -- sweep`: the privacy chores that run beside
// the service (same settings as the server; local mode uses the emulators of a running `npm start`).
import { parseArgs } from 'node:util'
import { createAwsClients } from '../aws/clients.ts'
import { type CliOutput, loadCliConfig, readCommandLine } from '../cli-common.ts'
import type { Config } from '../config.ts'
import { connectRuntime } from '../runtime.ts'
import { createAddressKeys } from '../subscribers/address.ts'
import { migrateKeys } from '../subscribers/migrate-keys.ts'

export const PRIVACY_COMMANDS = ['migrate-keys'] as const

export const PRIVACY_USAGE = `  npm run signups -- migrate-keys

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
  return await run(config, io, async (aws, config, addressKey) => {
    const r = await migrateKeys({ s3: aws.s3, bucket: config.aws.s3.bucket, keys: createAddressKeys(addressKey), now: Date.now, progress: io.err })
    return `moved ${r.moved} record(s) to keys under ADDRESS_KEY (${r.merged} merged with what the service wrote meanwhile); ` +
      `${r.current} already there; ${r.skipped} other object(s) left alone; ${r.logsRewritten} delivery log(s) stripped of plain hashes`
  })
}
