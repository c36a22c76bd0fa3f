// `npm run signups -- export [--out file.csv] [--status confirmed]`: the signups as CSV, streamed
// from S3 to a file or stdout (same settings as the server; local mode uses the emulators).
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { createAwsClients } from '../aws/clients.ts'
import { loadCliConfig, readCommandLine } from '../cli-common.ts'
import { connectRuntime } from '../runtime.ts'
import { exportCsv, STATUSES } from './export.ts'
import { RIGHTS_USAGE, runRightsCommand } from './rights-cli.ts'
import type { SubscriberStatus } from './store.ts'

export interface SignupsCliIo {
  out: (line: string) => void
  err: (line: string) => void
  /** where the CSV goes without --out */
  stdout: Writable
}

export const USAGE = `usage:
  npm run signups -- export [--out signups.csv] [--status ${STATUSES.join('|')}]
${RIGHTS_USAGE}

Writes every signup as CSV (RFC 4180): address, status, created, confirmed, unsubscribed,
consent_text_version, whitepapers_requested, signup_ip. Without --out the CSV goes to stdout.`

function parseCliArgs (argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      status: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}

export async function runSignupsCli (argv: string[], env: Record<string, string | undefined>, io: SignupsCliIo): Promise<number> {
  const line = readCommandLine(argv, parseCliArgs, USAGE, io)
  if (typeof line === 'number') return line
  const { parsed, command, rest } = line
  if (command === 'show' || command === 'erase') {
    const config = loadCliConfig(env, io)
    return typeof config === 'number' ? config : await runRightsCommand(command, rest, parsed.values['dry-run'] === true, config, io)
  }
  if (command !== 'export' || rest.length > 0) {
    io.err(`${command === 'export' ? 'export takes no arguments' : `unknown command "${command}"`}\n${USAGE}`)
    return 2
  }
  const status = parsed.values.status
  if (status !== undefined && !STATUSES.includes(status as SubscriberStatus)) {
    io.err(`--status must be one of ${STATUSES.join(', ')}`)
    return 2
  }

  const config = loadCliConfig(env, io)
  if (typeof config === 'number') return config
  const runtime = await connectRuntime(config)
  const aws = createAwsClients(runtime.config, runtime.clientOptions)
  const out = parsed.values.out
  // Written beside the target and renamed at the end: a failed export never leaves half a file behind.
  const partial = out ? `${out}.partial` : undefined
  let rows = 0
  try {
    const csv = exportCsv({ s3: aws.s3, bucket: runtime.config.aws.s3.bucket, status: status as SubscriberStatus | undefined }, () => { rows++ })
    if (partial && out) {
      await pipeline(csv, createWriteStream(partial, { mode: 0o600 }))
      await rename(partial, out)
    } else {
      await pipeline(csv, io.stdout, { end: false })
    }
    io.err(`exported ${rows} signup${rows === 1 ? '' : 's'}${status ? ` with status ${status}` : ''}${out ? ` to ${out}` : ''}`)
    return 0
  } catch (err) {
    if (partial) await rm(partial, { force: true })
    io.err(`export failed: ${(err as Error).name}: ${(err as Error).message}`)
    return 1
  } finally {
    aws.destroy()
    await runtime.close()
  }
}
