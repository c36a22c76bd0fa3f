// What both Lambda handlers (HTTP in src/lambda.ts, sender in src/lambda-sender.ts) check of their
// settings: a real bucket and the production settings; local mode cannot run on Lambda.
import { loadConfig, type Config } from './config.ts'

export class LambdaConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'LambdaConfigError'
  }
}

/** The settings of a handler over `env`: a ConfigError names every bad setting. */
export const lambdaConfig = (env: Record<string, string | undefined>): Config => loadConfig(env)

/** Thrown at the first invocation (not at import), so that the error is in that invocation's log. */
export function assertNotLocal (config: Config): void {
  if (config.mode === 'local') {
    throw new LambdaConfigError('leadlink on Lambda needs S3_BUCKET, SES_FROM, PUBLIC_URL, TOKEN_SECRET and ADDRESS_KEY: local mode (emulators in the process) cannot run on Lambda. Set NODE_ENV=production to have every missing setting named.')
  }
}
