// buildApp: one Fastify instance with every plugin and route registered; it never listens.
import Fastify, { type FastifyServerOptions } from 'fastify'
import formbody from '@fastify/formbody'
import jsonBody from './http/json-body.ts'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { App } from './http/app-type.ts'
import type { Config } from './config.ts'
import healthRoutes from './http/routes/health.ts'
import { NOT_FOUND, replyWithError } from './http/errors.ts'
import { DomainError } from './errors.ts'
import configPlugin from './http/plugins/config.ts'
import awsPlugin, { credentialsWarning } from './http/plugins/aws.ts'
import whitepapers from './http/plugins/whitepapers.ts'
import brand from './http/plugins/brand.ts'
import subscribers from './http/plugins/subscribers.ts'
import delivery from './http/plugins/delivery.ts'
import outbox from './http/plugins/outbox.ts'
import funnel from './http/plugins/funnel.ts'
import sesEvents from './http/plugins/ses-events.ts'
import signup from './http/plugins/signup.ts'
import rights from './http/plugins/rights.ts'
import retention from './http/plugins/retention.ts'
import type { ServiceDeps } from './http/plugins/deps.ts'
import subscribeRoutes from './http/routes/subscribe.ts'
import webRoutes from './http/routes/web.ts'
import linkRoutes from './http/routes/links.ts'
import privacyRoutes from './http/routes/privacy.ts'
import observeOutbox from './http/plugins/observe-outbox.ts'
import securityHeaders from './http/plugins/security-headers.ts'
import rateLimits from './http/plugins/rate-limit.ts'
import { loggerOptions } from './logging.ts'
import metrics from './http/plugins/metrics.ts'
import openapi from './http/plugins/openapi.ts'
import readiness from './http/plugins/readiness.ts'
import { loadPrecompiled, precompiledCompilers, type CompileStats } from './schema/precompiled.ts'

export type { App, ServiceDeps }

declare module 'fastify' {
  interface FastifyInstance {
    /** how many route schemas came precompiled from the build, and how many were compiled at start-up */
    schemaStats: CompileStats
  }
}

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
  /** extra Fastify options owned by the process (timeouts) */
  fastify?: Omit<FastifyServerOptions, 'logger'>
}

export async function buildApp (config: Config, deps: ServiceDeps = {}, options: BuildOptions = {}): Promise<App> {
  // Validators and serializers come from the build (no Ajv or code generation at start-up).
  const { stats, ...compilersFactory } = precompiledCompilers(loadPrecompiled())
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.log.level),
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    // Prototype-pollution keys in JSON bodies are an error, not a silently stripped field.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Signed tokens travel in the path (about 110 characters); longer params are refused by schema.
    routerOptions: { maxParamLength: 512 },
    // Malformed percent-encoding and over-long params fail in the router, before any error handler:
    // answer them like every other error rather than with Fastify's JSON echoing the path.
    frameworkErrors: (err, request, reply) => replyWithError(err, request, reply, { site: new URL(config.http.publicUrl).host }),
    schemaController: { compilersFactory },
    ...options.fastify
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.decorate('schemaStats', stats)
  app.addHook('onReady', async () => {
    if (stats.compiled > 0) {
      app.log.info({ precompiled: stats.precompiled, compiled: stats.compiled }, 'some route schemas were compiled at start-up: `npm run build` precompiles them')
    }
  })

  await app.register(configPlugin, { config })
  await app.register(formbody, { bodyLimit: config.http.bodyLimitBytes })
  await app.register(jsonBody)
  await app.register(securityHeaders, { config })
  // Before the routes: both collect routes as they are added (latency labels, the OpenAPI document).
  await app.register(metrics, { enabled: config.metrics.enabled })
  await app.register(openapi, { publicUrl: config.http.publicUrl })
  // Limits are set per route (POST /subscribe, GET /d/…), counted in Redis when configured; its Redis
  // also remembers used form stamps (signup), so it comes first.
  await app.register(rateLimits, { config })
  // The features, each wiring and closing what it owns, in the order they depend on each other.
  await app.register(awsPlugin, { deps })
  await app.register(whitepapers, { deps })
  await app.register(brand, { deps })
  await app.register(subscribers, { deps })
  await app.register(delivery, { deps })
  await app.register(outbox, { deps })
  await app.register(funnel, { deps })
  await app.register(sesEvents)
  await app.register(signup, { deps })
  await app.register(rights, { deps })
  await app.register(retention, { deps })
  // After the outbox, so that the sender starts first when the app is ready.
  await app.register(credentialsWarning)
  await app.register(observeOutbox)
  await app.register(readiness, { timeoutMs: config.readiness.timeoutMs })
  const { site } = app
  app.setErrorHandler((err, request, reply) => replyWithError(err, request, reply, { site }))
  app.setNotFoundHandler((request, reply) => replyWithError(new DomainError(NOT_FOUND.code, NOT_FOUND.message, 404), request, reply, { site }))

  await app.register(healthRoutes)
  await app.register(webRoutes)
  await app.register(subscribeRoutes)
  await app.register(linkRoutes)
  await app.register(privacyRoutes)
  // Optional features load their code only when configured: start-up time and memory stay low.
  if (config.webhook.snsTopicArns.length > 0) await app.register((await import('./http/routes/ses-webhook.ts')).default)
  // Only when ADMIN_TOKEN is set; otherwise every /admin URL is a 404.
  if (config.admin.token) await app.register((await import('./http/routes/admin.ts')).default)
  return app
}
