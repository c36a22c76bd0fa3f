// Prometheus metrics: request latency per route (fastify-metrics) and the product's own counters, on one
// registry per app. Scraped from the private listener (src/http/metrics-server.ts); the public port answers
// /metrics only to a bearer of METRICS_TOKEN, and everyone else gets the 404 of an unknown URL.
import client from '@prometheus-io/client'
import type { FastifyInstance } from 'fastify'
import { safeEqual } from '../../admin/auth.ts'
import fastifyMetricsModule from 'fastify-metrics'
import fp from 'fastify-plugin'
import { AS_IS } from '../as-is.ts'
import { Type } from 'typebox'
import { toProblem } from '../errors.ts'

/** What became of one POST /subscribe (queued and suppressed come from the signup use case). */
export type SignupOutcome = 'queued' | 'suppressed' | 'cooldown' | 'capped' | 'bot' | 'invalid' | 'rate_limited' | 'rejected' | 'failed'
/** email: the link in a confirmation email; fresh: a "get a fresh link" click (/d/…). */
export type LinkKind = 'email' | 'fresh'

const SIGNUP_OUTCOMES: SignupOutcome[] = ['queued', 'suppressed', 'cooldown', 'capped', 'bot', 'invalid', 'rate_limited', 'rejected', 'failed']
const LINK_KINDS: LinkKind[] = ['email', 'fresh']

export interface AppMetrics {
  /** the registry /metrics serves (request latency, process metrics and the counters below) */
  readonly registry: client.Registry
  signup: (outcome: SignupOutcome) => void
  emailSent: () => void
  /** reason: a bounded word such as the SES error name (Throttling, MessageRejected); anything else counts as "other" */
  emailFailed: (reason: string) => void
  linkMinted: (kind: LinkKind) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    appMetrics: AppMetrics
  }
}

/** The outcome of a failed signup, from the error the route answers with. */
export function signupErrorOutcome (err: unknown): SignupOutcome {
  const { status } = toProblem(err)
  if (status === 422) return 'invalid'
  if (status === 429) return 'rate_limited'
  return status >= 500 ? 'failed' : 'rejected'
}

// Label values come from code, never from a request, so the series stay few (and carry no tokens).
const REASON = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/

export function createMetrics (): AppMetrics {
  const registry = new client.Registry()
  const registers = [registry]
  const signups = new client.Counter({ name: 'leadlink_signups_total', help: 'POST /subscribe by outcome', labelNames: ['outcome'] as const, registers })
  const emailsSent = new client.Counter({ name: 'leadlink_emails_sent_total', help: 'confirmation emails accepted by SES', registers })
  const emailsFailed = new client.Counter({ name: 'leadlink_emails_failed_total', help: 'confirmation emails SES did not accept, by error name', labelNames: ['reason'] as const, registers })
  const linksMinted = new client.Counter({ name: 'leadlink_links_minted_total', help: 'presigned download links minted, by kind', labelNames: ['kind'] as const, registers })
  // Known series start at 0, so a rate() works from the first scrape.
  for (const outcome of SIGNUP_OUTCOMES) signups.inc({ outcome }, 0)
  for (const kind of LINK_KINDS) linksMinted.inc({ kind }, 0)
  return {
    registry,
    signup: outcome => signups.inc({ outcome }),
    emailSent: () => emailsSent.inc(),
    emailFailed: reason => emailsFailed.inc({ reason: REASON.test(reason) ? reason : 'other' }),
    linkMinted: kind => linksMinted.inc({ kind })
  }
}

export interface MetricsOptions {
  /** METRICS_ENABLED: off keeps the counters (callers need not care) but serves no /metrics and times nothing */
  enabled: boolean
}

/** `Authorization: Bearer <token>` (RFC 6750 §2.1) with METRICS_TOKEN, compared in constant time. */
export function hasMetricsToken (authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return false
  const match = /^Bearer +(.+)$/i.exec(authorization ?? '')
  return match !== null && safeEqual(match[1] as string, token)
}

// Seconds; a signup makes a few S3 requests, so the interesting range is a few ms to a few s.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

// A CommonJS module: under Node's ESM interop its plugin is `default` of the exports object.
const fastifyMetrics = fastifyMetricsModule.default

export default fp(async function metrics (app: FastifyInstance, opts: MetricsOptions) {
  const appMetrics = createMetrics()
  app.decorate('appMetrics', appMetrics)
  if (!opts.enabled) return
  const { registry } = appMetrics
  const registers = [registry]
  await app.register(fastifyMetrics, {
    promClient: client,
    // Served below, from this app's registry only (tests build several apps in one process).
    endpoint: null,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      // Labels are route patterns (/d/:token), never raw URLs: tokens sit in paths. Unknown URLs are not timed.
      registeredRoutesOnly: true,
      routeBlacklist: ['/metrics'],
      overrides: {
        histogram: { name: 'http_request_duration_seconds', buckets: LATENCY_BUCKETS, registers },
        // The plugin builds its summary even when off: registered nowhere, it stays out of /metrics.
        summary: { registers: [] }
      }
    }
  })
  // Counters that move with each signup (queued, cooldown, suppressed, bot) would tell whoever reads
  // them before and after posting an address what state it is in: on the public port, /metrics is
  // the very 404 of an unknown URL unless the request bears METRICS_TOKEN.
  app.get('/metrics', {
    ...AS_IS,
    schema: {
      hide: true,
      summary: 'Prometheus metrics',
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }) }
    },
    logLevel: 'warn'
  }, async (request, reply) => {
    if (!hasMetricsToken(request.headers.authorization, app.config.metrics.token)) return reply.callNotFound()
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(await registry.metrics())
  })
}, { name: 'app-metrics' })
