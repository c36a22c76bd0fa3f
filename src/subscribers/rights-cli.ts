// `npm run signups -- show <address>` and `npm run signups -- erase <address> [--dry-run]`: a person's rights
// of access and erasure served from the command line (same settings as the server; local mode uses
// the emulators). `show` prints the very JSON the self-service page downloads.
import { createAwsClients } from '../aws/clients.ts'
import type { CliOutput } from '../cli-common.ts'
import type { Config } from '../config.ts'
import { connectRuntime } from '../runtime.ts'
import { createJsonStore } from '../storage/json-store.ts'
import { createAddressKeys, parseAddress } from './address.ts'
import { createEraser } from './erase.ts'
import { createKeyMigrationState } from './legacy-keys.ts'
import { personalDataOfAddress } from './personal-data.ts'
import { createSubscriberStore } from './store.ts'

export const RIGHTS_USAGE = `  npm run signups -- show <address>
  npm run signups -- erase <address> [--dry-run]

show prints as JSON everything held about one address (what the self-service page downloads).
erase removes it from every place it is stored and leaves a tombstone that holds no address;
with --dry-run it only says what it would erase.`

export async function runRightsCommand (command: 'show' | 'erase', rest: string[], dryRun: boolean, config: Config, io: CliOutput): Promise<number> {
  if (rest.length !== 1) {
    io.err(`${command} takes one address\n${RIGHTS_USAGE}`)
    return 2
  }
  let address: string
  try {
    address = parseAddress(rest[0]).address
  } catch (err) {
    io.err(`not an address: ${(err as Error).message}`)
    return 2
  }
  const runtime = await connectRuntime(config)
  const aws = createAwsClients(runtime.config, runtime.clientOptions)
  try {
    const addressKey = runtime.config.privacy.addressKey
    if (addressKey === undefined) {
      io.err('ADDRESS_KEY is not set: it keys the records, so nothing can be found without it')
      return 1
    }
    const s3 = { s3: aws.s3, bucket: runtime.config.aws.s3.bucket }
    const json = createJsonStore(s3)
    const migration = createKeyMigrationState({ json, log: { info: () => {}, warn: () => {} }, now: Date.now })
    await migration.check()
    const store = createSubscriberStore({ ...s3, keys: createAddressKeys(addressKey), migration })
    const data = command === 'show' || dryRun ? await personalDataOfAddress({ store, json }, address) : null
    if (command === 'show') {
      if (!data) {
        io.err('nothing is held about this address (never on file, or erased: a tombstone holds no address)')
        io.out(JSON.stringify({ address, held: null }, null, 2))
        return 0
      }
      io.out(JSON.stringify(data, null, 2))
      return 0
    }
    if (dryRun) {
      io.err(data
        ? `would erase: the record (${data.record.status}, ${data.record.signups.length} form submission(s), ${data.record.deliveries.length} email(s)), ` +
          `${data.queuedEmails.length} queued email(s), ${data.deliveryLog.length} delivery-log line(s)`
        : 'nothing is held about this address: nothing to erase')
      return 0
    }
    const result = await createEraser({ ...s3, store, json }).erase({ address })
    io.err(result.found
      ? `erased: the record, ${result.outboxItems} queued email(s), ${result.deliveryLines} delivery-log line(s); ` +
        `a tombstone (${result.tombstone}) holds no address`
      : `nothing held about this address${result.tombstone ? ` (already erased: tombstone ${result.tombstone})` : ''}`)
    return 0
  } catch (err) {
    io.err(`${command} failed: ${(err as Error).name}: ${(err as Error).message}${command === 'erase' ? ' (run it again: erasing is safe to repeat and finishes what was left)' : ''}`)
    return 1
  } finally {
    aws.destroy()
    await runtime.close()
  }
}
