// What a caller (a test, the Lambda entry, the bench) may hand the feature plugins instead of defaults.
import type { AwsClients, ClientOptions } from '../../aws/clients.ts'
import type { Clock } from '../../clock.ts'

export interface ServiceDeps {
  /** clients to use instead of creating them (then the caller destroys them) */
  aws?: AwsClients
  clientOptions?: ClientOptions
  templatesDir?: string
  /** the clock every feature reads (tests move time with their own) */
  now?: Clock
}
