// Precompiles every route validator and serializer into dist/schemas.cjs (see src/schema/precompiled.ts):
// the server then starts without Ajv compiling anything. (The config is checked with TypeBox's Value.)
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { PRECOMPILED_FILE, recordingCompilers, renderStore, type Recorded } from '../src/schema/precompiled.ts'

/**
 * Every optional feature on, so that every route is registered. Nothing is contacted: the sender is
 * off and the endpoints are a closed port.
 */
const BUILD_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  S3_BUCKET: 'leadlink-build',
  S3_ENDPOINT: 'http://127.0.0.1:9',
  SES_ENDPOINT: 'http://127.0.0.1:9',
  SES_FROM: 'build@example.com',
  TOKEN_SECRET: 'build-time-only-secret-0123456789abcdef',
  ADDRESS_KEY: 'build-time-only-address-key-0123456789ab',
  ADMIN_TOKEN: 'build-time-only-admin-token',
  SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:123456789012:leadlink-build',
  CAPTCHA: 'altcha',
  SENDER: 'off',
  METRICS_ENABLED: 'true'
}

export async function buildSchemas (file = PRECOMPILED_FILE): Promise<{ validators: number, serializers: number, changed: boolean }> {
  const recorded: Recorded = { validators: new Map(), serializers: new Map() }
  const app = await buildApp(loadConfig(BUILD_ENV), {
    clientOptions: { credentials: { accessKeyId: 'AKIDBUILD', secretAccessKey: 'build' } }
  }, { fastify: { schemaController: { compilersFactory: recordingCompilers(recorded) } } })
  // Local mode's click redirect is registered by src/serve.ts, not buildApp: `npm start` would compile it.
  await app.register((await import('../src/http/routes/local-events.ts')).default)
  await app.ready()
  await app.close()

  const text = renderStore(recorded)
  const before = await readFile(file, 'utf8').catch(() => '')
  if (text !== before) {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, text)
  }
  return { validators: recorded.validators.size, serializers: recorded.serializers.size, changed: text !== before }
}
