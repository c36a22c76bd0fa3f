// What the Lambda tests start from: the emulators with a whitepaper published, the environment both
// functions get (production settings pointing at the emulators), and API Gateway's events.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { buildApp } from '../../src/app.ts'
import type { LambdaEvent } from '../../src/lambda.ts'
import { isolateNetwork, startEmulators, type Emulators, type Teardown } from '../helper.ts'

export const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
export const PUBLIC_URL = 'https://whitepapers.example.com'

/** Loopback only, the emulators, and the sample published as "Guide.pdf" (the catalog read on every request). */
export async function startWithWhitepaper (t: Teardown): Promise<Emulators> {
  isolateNetwork(t)
  const stack = await startEmulators(t, { CATALOG_REFRESH_SECONDS: '0' })
  const publisher = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  await publisher.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  await publisher.close()
  return stack
}

/** What a deployment sets (AWS credentials aside: tests pass the emulators' in `deps` or the child's env). */
export function lambdaEnv (stack: Emulators, overrides: Record<string, string> = {}): Record<string, string> & { S3_BUCKET: string, ADDRESS_KEY: string } {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    AWS_REGION: 'us-east-1',
    S3_BUCKET: stack.config.aws.s3.bucket,
    S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    SES_ENDPOINT: stack.config.aws.ses.endpoint ?? '',
    SES_FROM: 'Leadlink <hello@leadlink.test>',
    PUBLIC_URL,
    TOKEN_SECRET: 'lambda-token-secret-0123456789abcdef0123456789',
    ADDRESS_KEY: 'lambda-address-key-0123456789abcdef0123456789',
    // Both functions share one environment; the HTTP one only accepts.
    SENDER: 'off',
    SES_MAX_SEND_RATE: '50',
    RATE_LIMIT_PER_IP_PER_MINUTE: '0',
    // These requests are hand-made, not typed into the page: the bot checks are not the subject here.
    BOT_MIN_FILL_SECONDS: '0',
    ADDRESS_COOLDOWN_SECONDS: '0',
    ...overrides
  }
}

export interface HttpRequest { method: string, path: string, query?: string, headers?: Record<string, string>, body?: string, base64?: boolean, sourceIp?: string }

/** An API Gateway HTTP API event, payload format 2.0, as Lambda receives it. */
export function httpApiEvent (req: HttpRequest): LambdaEvent {
  const now = new Date()
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: req.query ?? '',
    ...(req.query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(req.query)) } : {}),
    headers: { host: 'whitepapers.example.com', 'user-agent': 'Mozilla/5.0 (lambda test)', 'x-forwarded-proto': 'https', ...req.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'whitepapers.example.com',
      domainPrefix: 'whitepapers',
      http: { method: req.method, path: req.path, protocol: 'HTTP/1.1', sourceIp: req.sourceIp ?? '198.51.100.7', userAgent: 'Mozilla/5.0 (lambda test)' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime()
    },
    ...(req.body === undefined ? {} : { body: req.base64 ? Buffer.from(req.body).toString('base64') : req.body }),
    isBase64Encoded: req.base64 ?? false
  }
}
