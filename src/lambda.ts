// AWS Lambda entry (API Gateway HTTP API or REST API, ALB): the same app as src/server.ts, behind
// @fastify/aws-lambda. Config is read once per cold start; the app is built on the first invocation
// and reused by every later one in the same execution environment. There is no /metrics listener here
// (a function has no port to scrape): set METRICS_TOKEN to read /metrics through the API with a bearer
// token (each read sees one execution environment's counters), or use CloudWatch's Lambda metrics.
import awsLambdaFastify from '@fastify/aws-lambda'
import type { ServiceDeps } from './app.ts'
import { lambdaConfig } from './lambda-config.ts'
import { lambdaHandler, type LambdaHandlerOf } from './lambda-start.ts'

export { LambdaConfigError } from './lambda-config.ts'
// The sender (S3 event notifications for outbox/, an EventBridge schedule) ships in the same bundle.
export { createSenderHandler, senderHandler } from './lambda-sender.ts'

/** The parts of an API Gateway / ALB event and Lambda context the adapter reads. */
export type LambdaEvent = Record<string, unknown>
export type LambdaContext = Record<string, unknown>
export interface LambdaResult {
  statusCode: number
  headers: Record<string, string>
  body: string
  isBase64Encoded?: boolean
  cookies?: string[]
}

export type LambdaHandler = LambdaHandlerOf<LambdaEvent, LambdaContext, LambdaResult>

type Proxy = (event: LambdaEvent, context?: LambdaContext) => Promise<LambdaResult>

/**
 * A handler over `env`. Exported for tests; Lambda uses `handler` below. `deps` are the service
 * dependencies (tests pass credentials for the emulators; on Lambda the SDK's default chain applies).
 */
export function createLambdaHandler (env: Record<string, string | undefined>, deps: ServiceDeps = {}): LambdaHandler {
  // A ConfigError names every bad setting. `handler` creates this on its first invocation, so the
  // error fails that invocation (and is in its log) rather than the module import.
  const config = lambdaConfig(env)
  // Binary bodies would need base64; every response here is text (pages, JSON, redirects).
  return lambdaHandler(config, deps, built => awsLambdaFastify(built, { decorateRequest: false }) as unknown as Proxy,
    async (proxy, event: LambdaEvent, context: LambdaContext | undefined) => await proxy(event, context ?? {}))
}

let cached: LambdaHandler | undefined

/** The Lambda handler, loaded through lambda.mjs at the package root (handler setting `lambda.handler`). */
export async function handler (event: LambdaEvent, context?: LambdaContext): Promise<LambdaResult> {
  cached ??= createLambdaHandler(process.env)
  return await cached(event, context)
}
